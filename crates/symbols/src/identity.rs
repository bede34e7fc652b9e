//! Which PDB a module needs: its file name, GUID and age (from KernelTraceControl
//! DbgID_RSDS), the symbol store key built from them, and the checks that keep a
//! name taken from a trace from escaping a cache directory or a server's URL space.
use std::fmt;

use etl::Guid;

/// The identity of one PDB: `ntdll.pdb`, its GUID and its age.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PdbIdentity {
    /// The PDB's file name as the trace gives it (e.g. `ntdll.pdb`). Untrusted:
    /// [`PdbIdentity::checked_name`] validates it before it becomes part of a path or URL.
    pub name: String,
    pub guid: Guid,
    pub age: u32,
}

impl PdbIdentity {
    pub fn new(name: impl Into<String>, guid: Guid, age: u32) -> PdbIdentity {
        PdbIdentity { name: name.into(), guid, age }
    }

    /// Builds the identity from the PDB path recorded in an image's RSDS debug record.
    /// Linkers often write a full path (`C:\build\out\app.pdb`); symbol stores index by
    /// the file name alone, so a well-formed absolute Windows path is reduced to its last
    /// component. Anything else (relative paths, `..`, forward slashes) is kept as given,
    /// so that [`PdbIdentity::checked_name`] refuses it with a message.
    pub fn from_rsds(pdb_path: &str, guid: Guid, age: u32) -> PdbIdentity {
        PdbIdentity::new(rsds_file_name(pdb_path), guid, age)
    }

    /// Parses a Breakpad module id (`MODULE windows x86 <id> <name>`): 32 hex digits of
    /// GUID as symstore prints it, then the age in hex.
    pub fn from_breakpad_id(name: &str, id: &str) -> Option<PdbIdentity> {
        let guid_hex = id.get(..32)?;
        let age_hex = id.get(32..)?;
        if age_hex.is_empty() || age_hex.len() > 8 || !id.is_ascii() {
            return None;
        }
        let dashed = format!(
            "{}-{}-{}-{}-{}",
            &guid_hex[..8],
            &guid_hex[8..12],
            &guid_hex[12..16],
            &guid_hex[16..20],
            &guid_hex[20..]
        );
        let guid = Guid::parse(&dashed)?;
        let age = u32::from_str_radix(age_hex, 16).ok()?;
        Some(PdbIdentity::new(name, guid, age))
    }

    /// The symbol store key: the GUID as 32 uppercase hex digits (Data1..Data3 as numbers,
    /// Data4 as bytes, the way symstore writes it), then the age in uppercase hex.
    pub fn store_key(&self) -> String {
        let b = &self.guid.0;
        let mut key = format!(
            "{:08X}{:04X}{:04X}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]])
        );
        for byte in &b[8..] {
            key.push_str(&format!("{byte:02X}"));
        }
        key.push_str(&format!("{:X}", self.age));
        key
    }

    /// The name, if it is safe to use as one path component and one URL segment.
    pub fn checked_name(&self) -> Result<&str, String> {
        check_file_name(&self.name).map(|()| self.name.as_str())
    }

    /// The name without its extension: `crash.pdb` -> `crash` (for `crash.sym`).
    pub fn stem(&self) -> &str {
        match self.name.rfind('.') {
            Some(dot) if dot > 0 => &self.name[..dot],
            _ => &self.name,
        }
    }

    /// The Breakpad symbol file name beside the PDB name: `crash.pdb` -> `crash.sym`.
    pub fn sym_name(&self) -> String {
        format!("{}.sym", self.stem())
    }
}

impl fmt::Display for PdbIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {{{}}} age {}", self.name.escape_debug(), self.guid, self.age)
    }
}

impl fmt::Debug for PdbIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdbIdentity({self})")
    }
}

/// Refuses anything that is not one plain file name: empty, `.`/`..`, path separators,
/// drive letters or other colons, control characters, and names a URL would need to
/// escape (`?`, `#`, `%`, spaces are allowed but nothing that changes a URL's structure).
pub fn check_file_name(name: &str) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("refused PDB name {:?}: {why}", name));
    if name.is_empty() {
        return refuse("empty");
    }
    if name.len() > 255 {
        return refuse("longer than 255 bytes");
    }
    if name == "." || name == ".." || name.contains("..") {
        return refuse("contains '..'");
    }
    if name.contains('/') || name.contains('\\') {
        return refuse("contains a path separator");
    }
    if name.contains(':') {
        return refuse("contains a drive letter or ':'");
    }
    if name.chars().any(|c| c.is_control()) {
        return refuse("contains control characters");
    }
    if name.chars().any(|c| matches!(c, '?' | '#' | '%' | '*' | '"' | '<' | '>' | '|')) {
        return refuse("contains characters not allowed in a file name or URL segment");
    }
    if name.starts_with(' ') || name.ends_with(' ') || name.ends_with('.') {
        return refuse("starts or ends with a space or ends with a dot");
    }
    Ok(())
}

fn rsds_file_name(path: &str) -> &str {
    let bytes = path.as_bytes();
    let absolute = (bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\')
        || path.starts_with("\\\\");
    let clean = !path.contains('/') && !path.split('\\').any(|part| part == ".." || part == ".");
    if absolute && clean {
        if let Some(last) = path.rsplit('\\').next() {
            if !last.is_empty() {
                return last;
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash() -> PdbIdentity {
        PdbIdentity::from_breakpad_id("crash.pdb", "3249D99D0C4049318610F4E4FB0B69361").unwrap()
    }

    #[test]
    fn store_key_round_trips_breakpad_id() {
        let id = crash();
        assert_eq!(id.guid.to_string(), "3249d99d-0c40-4931-8610-f4e4fb0b6936");
        assert_eq!(id.age, 1);
        assert_eq!(id.store_key(), "3249D99D0C4049318610F4E4FB0B69361");
        assert_eq!(id.sym_name(), "crash.sym");
        let mut big = crash();
        big.age = 0x2a;
        assert_eq!(big.store_key(), "3249D99D0C4049318610F4E4FB0B69362A");
        assert!(PdbIdentity::from_breakpad_id("x.pdb", "3249D99D").is_none());
        assert!(PdbIdentity::from_breakpad_id("x.pdb", "3249D99D0C4049318610F4E4FB0B6936").is_none());
        assert!(PdbIdentity::from_breakpad_id("x.pdb", "3249D99D0C4049318610F4E4FB0B6936ZZ").is_none());
        assert!(PdbIdentity::from_breakpad_id("x.pdb", "3249D99D0C40493é8610F4E4FB0B6936").is_none());
    }

    #[test]
    fn hostile_names_are_refused() {
        for bad in [
            "",
            "..",
            ".",
            "../evil.pdb",
            "..\\evil.pdb",
            "a/b.pdb",
            "a\\b.pdb",
            "C:evil.pdb",
            "C:\\x\\evil.pdb",
            "evil\0.pdb",
            "evil\n.pdb",
            "x..pdb",
            "a?b.pdb",
            "a#b.pdb",
            "%2e%2e.pdb",
            "trailing.",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["ntdll.pdb", "crash.pdb", "Microsoft.VisualStudio.pdb", "my app.pdb"] {
            assert!(check_file_name(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn rsds_paths_keep_only_a_clean_file_name() {
        let g = Guid::ZERO;
        assert_eq!(PdbIdentity::from_rsds("C:\\build\\out\\app.pdb", g, 1).name, "app.pdb");
        assert_eq!(PdbIdentity::from_rsds("ntdll.pdb", g, 1).name, "ntdll.pdb");
        assert_eq!(PdbIdentity::from_rsds("C:\\x\\..\\..\\evil.pdb", g, 1).name, "C:\\x\\..\\..\\evil.pdb");
        assert_eq!(PdbIdentity::from_rsds("../evil.pdb", g, 1).name, "../evil.pdb");
        assert!(PdbIdentity::from_rsds("C:\\x\\..\\evil.pdb", g, 1).checked_name().is_err());
    }
}
