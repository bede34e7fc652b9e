//! Is a file what it claims to be? Checked before a download is moved into a symbol
//! store, so that an error page served with status 200 or a cut-off body never
//! becomes a "symbol file" that later sessions trust.
use std::io::Read;
use std::path::Path;

/// Which reader a file needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolFileKind {
    Pdb,
    Sym,
}

/// The first 32 bytes of every PDB (an MSF 7.00 container).
pub const PDB_MAGIC: &[u8; 32] = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0";

/// How much of a file the checks read.
const HEAD: usize = 4096;

/// Checks the file at `path` against its kind: a PDB's MSF header and length, a
/// Breakpad file's `MODULE` line. The error says what the file looks like instead.
pub fn check_symbol_file(path: &Path, kind: SymbolFileKind) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = Vec::with_capacity(HEAD);
    file.by_ref().take(HEAD as u64).read_to_end(&mut head).map_err(|e| e.to_string())?;
    match kind {
        SymbolFileKind::Pdb => check_pdb_head(&head, len),
        SymbolFileKind::Sym => check_sym_head(&head),
    }
}

/// A PDB starts with the MSF magic, then its block size and block count: a file
/// shorter than blocks x size was cut off.
pub fn check_pdb_head(head: &[u8], len: u64) -> Result<(), String> {
    if head.len() < 56 || &head[..32] != PDB_MAGIC {
        return Err(format!("not a PDB ({})", looks_like(head)));
    }
    let u32_at = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]) as u64;
    let (block_size, blocks) = (u32_at(32), u32_at(40));
    if !block_size.is_power_of_two() || !(512..=65536).contains(&block_size) {
        return Err(format!("not a PDB: block size {block_size}"));
    }
    let needed = block_size * blocks;
    if len < needed {
        return Err(format!("truncated PDB: {len} bytes of {needed}"));
    }
    Ok(())
}

/// A Breakpad file starts with its `MODULE` line.
pub fn check_sym_head(head: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(head);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if first.starts_with("MODULE ") {
        Ok(())
    } else {
        Err(format!("not a Breakpad symbol file: no MODULE line ({})", looks_like(head)))
    }
}

/// A few words on what the bytes are, for the message.
fn looks_like(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    let start = text.trim_start();
    if head.is_empty() {
        "empty".into()
    } else if start.starts_with("<!doctype html") || start.starts_with("<html") || text.contains("<body") {
        "an HTML page".into()
    } else if start.starts_with('<') {
        "XML or HTML".into()
    } else {
        let shown: String = String::from_utf8_lossy(&head[..head.len().min(24)])
            .chars()
            .map(|c| if c.is_control() { '.' } else { c })
            .collect();
        format!("starts with {shown:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdb_head(block_size: u32, blocks: u32) -> Vec<u8> {
        let mut head = PDB_MAGIC.to_vec();
        head.extend_from_slice(&block_size.to_le_bytes());
        head.extend_from_slice(&1u32.to_le_bytes());
        head.extend_from_slice(&blocks.to_le_bytes());
        head.resize(64, 0);
        head
    }

    #[test]
    fn pdb_headers_and_lengths() {
        assert!(check_pdb_head(&pdb_head(4096, 3), 3 * 4096).is_ok());
        assert!(check_pdb_head(&pdb_head(4096, 3), 3 * 4096 - 1).unwrap_err().contains("truncated"));
        assert!(check_pdb_head(&pdb_head(1000, 3), 3000).unwrap_err().contains("block size"));
        assert!(check_pdb_head(&pdb_head(4096, 3)[..40], 40).is_err());
        let html = b"<!DOCTYPE html><html><body>404 Not Found</body></html>";
        assert!(check_pdb_head(html, html.len() as u64).unwrap_err().contains("HTML page"));
        assert!(check_pdb_head(b"", 0).unwrap_err().contains("empty"));
    }

    #[test]
    fn sym_files_need_their_module_line() {
        assert!(check_sym_head(b"\r\nMODULE windows x86 ABC0 a.pdb\nFUNC 1 2 3 f\n").is_ok());
        assert!(check_sym_head(b"<html><body>404</body></html>").unwrap_err().contains("HTML"));
        assert!(check_sym_head(b"FUNC 1 2 3 f\n").unwrap_err().contains("no MODULE line"));
        assert!(check_sym_head(b"").is_err());
    }
}
