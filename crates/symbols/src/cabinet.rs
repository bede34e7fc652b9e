//! Compressed symbol files: a symbol server may hold `ntdll.pd_` instead of
//! `ntdll.pdb`, a Microsoft cabinet (MSZIP or LZX) holding the one file.
//!
//! The cabinet is read by the `cab` crate; its decoders are fed bytes from a server,
//! so a panic in them is caught and reported like any other damage.
use std::io::{Read, Write};
use std::path::Path;

/// Every cabinet starts with these four bytes.
pub const CAB_MAGIC: &[u8; 4] = b"MSCF";

/// The name a store gives the compressed form of `file`: the last character of its
/// extension replaced by `_` (`ntdll.pdb` -> `ntdll.pd_`). None for a name without
/// an extension or one already compressed.
pub fn compressed_name(file: &str) -> Option<String> {
    let dot = file.rfind('.')?;
    let extension = &file[dot + 1..];
    if extension.is_empty() || extension.ends_with('_') {
        return None;
    }
    let mut name = file[..file.len() - extension.chars().last()?.len_utf8()].to_string();
    name.push('_');
    Some(name)
}

/// Whether `file` is a compressed name (`x.pd_`).
pub fn is_compressed_name(file: &str) -> bool {
    file.rfind('.').is_some_and(|dot| file.len() > dot + 1 && file.ends_with('_'))
}

/// Checks that the head of a download is a cabinet at all (an error page is not).
pub fn check_cab_head(head: &[u8]) -> Result<(), String> {
    if head.starts_with(CAB_MAGIC) {
        Ok(())
    } else {
        let shown: String = String::from_utf8_lossy(&head[..head.len().min(24)])
            .chars()
            .map(|c| if c.is_control() { '.' } else { c })
            .collect();
        Err(format!("not a cabinet (starts with {shown:?})"))
    }
}

/// Extracts the one file in the cabinet at `cab` into `out` (created; removed again on
/// any error), refusing more than `max_bytes`. The file inside should be named
/// `expected` (any case); a cabinet holding one file of another name is still taken,
/// as symsrv does, since stores name the member after the original file.
pub fn extract_single(cab: &Path, expected: &str, out: &Path, max_bytes: u64) -> Result<(), String> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| extract(cab, expected, out, max_bytes)))
        .unwrap_or_else(|_| Err("damaged cabinet (its decoder gave up)".into()));
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

fn extract(cab: &Path, expected: &str, out: &Path, max_bytes: u64) -> Result<(), String> {
    let file = std::fs::File::open(cab).map_err(|e| e.to_string())?;
    let damaged = |e: std::io::Error| format!("damaged cabinet: {e}");
    let mut cabinet = cab::Cabinet::new(std::io::BufReader::new(file)).map_err(damaged)?;
    let mut members = Vec::new();
    for folder in cabinet.folder_entries() {
        let compression = folder.compression_type();
        for entry in folder.file_entries() {
            members.push((entry.name().to_string(), entry.uncompressed_size() as u64, compression));
        }
    }
    let chosen = match members.iter().find(|(name, ..)| name.eq_ignore_ascii_case(expected)) {
        Some(member) => member.clone(),
        None if members.len() == 1 => members[0].clone(),
        None if members.is_empty() => return Err("empty cabinet".into()),
        None => return Err(format!("cabinet holds {} files and none is {expected}", members.len())),
    };
    let (name, size, compression) = chosen;
    if let cab::CompressionType::Quantum(..) = compression {
        return Err("cabinet uses Quantum compression, which no symbol store uses; not read".into());
    }
    if size > max_bytes {
        return Err(format!("refused: {name} unpacks to {size} bytes, more than allowed"));
    }
    let mut reader = cabinet.read_file(&name).map_err(damaged)?;
    let mut writer = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(damaged(e)),
        };
        done += n as u64;
        if done > size {
            return Err("damaged cabinet: more data than its directory says".into());
        }
        writer.write_all(&buffer[..n]).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    if done != size {
        return Err(format!("damaged cabinet: {name} unpacked to {done} of {size} bytes"));
    }
    writer.sync_all().map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_names_replace_the_last_extension_character() {
        assert_eq!(compressed_name("ntdll.pdb").as_deref(), Some("ntdll.pd_"));
        assert_eq!(compressed_name("a.b.sym").as_deref(), Some("a.b.sy_"));
        assert_eq!(compressed_name("noext"), None);
        assert_eq!(compressed_name("x."), None);
        assert_eq!(compressed_name("x.pd_"), None);
        assert!(is_compressed_name("x.pd_") && !is_compressed_name("x.pdb") && !is_compressed_name("x_"));
    }

    #[test]
    fn garbage_is_an_error_and_leaves_no_file() {
        let dir = std::env::temp_dir().join(format!("etwq-cab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cab = dir.join("x.pd_");
        let out = dir.join("x.pdb");
        for bytes in [&b""[..], b"MSCF", b"MSCF\0\0\0\0\xff\xff\xff\xff garbage garbage garbage garbage", b"<html>"] {
            std::fs::write(&cab, bytes).unwrap();
            assert!(extract_single(&cab, "x.pdb", &out, 1 << 20).is_err());
            assert!(!out.exists());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
