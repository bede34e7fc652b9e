//! How symsrv lays out a symbol store and points elsewhere from it.
//!
//! - A store whose root holds `index2.txt` is two-tier: `nt/ntdll.pdb/KEY/ntdll.pdb`
//!   (the first two characters of the name first); otherwise `ntdll.pdb/KEY/ntdll.pdb`.
//! - A key directory may hold `file.ptr` instead of the file: `PATH:<path>` (read the
//!   file from there, often a share) or `MSG:<text>` (the file is not available, and why).
use std::path::{Path, PathBuf};

/// The file whose presence at a store's root makes it two-tier.
pub const TWO_TIER_MARKER: &str = "index2.txt";

/// The name of a pointer file in a key directory.
pub const FILE_PTR: &str = "file.ptr";

/// Pointer files are a line of text; anything larger is not one.
pub const MAX_FILE_PTR: u64 = 64 * 1024;

/// Whether the store at `root` is two-tier.
pub fn is_two_tier(root: &Path) -> bool {
    root.join(TWO_TIER_MARKER).is_file()
}

/// The directory that holds `name`'s files for `key` in the store at `root`, in the
/// layout the store uses.
pub fn key_dir(root: &Path, name: &str, key: &str) -> PathBuf {
    name_dir(root, name, is_two_tier(root)).join(key)
}

fn name_dir(root: &Path, name: &str, two_tier: bool) -> PathBuf {
    if two_tier {
        let prefix: String = name.chars().take(2).collect();
        root.join(prefix).join(name)
    } else {
        root.join(name)
    }
}

/// What a `file.ptr` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilePointer {
    /// Read the file from this path.
    Path(PathBuf),
    /// The file is not available; the text says why.
    Message(String),
}

/// Reads a `file.ptr`'s text: `PATH:<path>` or `MSG:<text>` (prefix in any case, the
/// first such line counts; a UTF-8 byte order mark is ignored).
pub fn parse_file_ptr(text: &str) -> Result<FilePointer, String> {
    let text = text.trim_start_matches('\u{feff}');
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((head, rest)) = line.split_once(':') else { continue };
        let rest = rest.trim();
        if head.trim().eq_ignore_ascii_case("PATH") && !rest.is_empty() {
            return Ok(FilePointer::Path(PathBuf::from(rest)));
        }
        if head.trim().eq_ignore_ascii_case("MSG") {
            let shown: String = rest.chars().filter(|c| !c.is_control()).take(300).collect();
            return Ok(FilePointer::Message(shown));
        }
    }
    let shown: String = text.chars().take(40).map(|c| if c.is_control() { '.' } else { c }).collect();
    Err(format!("neither PATH: nor MSG: ({shown:?})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_as_symsrv_writes_them() {
        assert_eq!(
            parse_file_ptr("PATH:\\\\share\\syms\\a.pdb\r\n").unwrap(),
            FilePointer::Path(PathBuf::from("\\\\share\\syms\\a.pdb"))
        );
        assert_eq!(parse_file_ptr("\u{feff}path: /x/a.pdb").unwrap(), FilePointer::Path(PathBuf::from("/x/a.pdb")));
        assert_eq!(
            parse_file_ptr("MSG: withheld for legal reasons").unwrap(),
            FilePointer::Message("withheld for legal reasons".into())
        );
        assert!(parse_file_ptr("").is_err());
        assert!(parse_file_ptr("<html>404</html>").is_err());
        assert!(parse_file_ptr("PATH:").is_err());
    }

    #[test]
    fn two_tier_stores_put_two_characters_first() {
        let dir = std::env::temp_dir().join(format!("etwq-layout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(key_dir(&dir, "ntdll.pdb", "K1"), dir.join("ntdll.pdb").join("K1"));
        std::fs::write(dir.join(TWO_TIER_MARKER), b"").unwrap();
        assert_eq!(key_dir(&dir, "ntdll.pdb", "K1"), dir.join("nt").join("ntdll.pdb").join("K1"));
        assert_eq!(key_dir(&dir, "a", "K1"), dir.join("a").join("a").join("K1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
