//! NTSTATUS names: the full table of Windows status codes, both ways.
use std::collections::HashMap;
use std::sync::OnceLock;

/// `value<TAB>name` lines, sorted by value then name.
const TABLE: &str = include_str!("ntstatus.tsv");

struct Names {
    by_value: HashMap<u32, &'static str>,
    by_name: HashMap<&'static str, u32>,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut by_value = HashMap::new();
        let mut by_name = HashMap::new();
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let Some((value, name)) = line.split_once('\t') else { continue };
            let Ok(value) = u32::from_str_radix(value.trim_start_matches("0x"), 16) else { continue };
            by_name.insert(name, value);
            // Several names can share a code (STATUS_SUCCESS and STATUS_WAIT_0): the first
            // STATUS_ name in sorted order speaks for the code.
            let entry = by_value.entry(value).or_insert(name);
            if !entry.starts_with("STATUS_") && name.starts_with("STATUS_") {
                *entry = name;
            }
        }
        Names { by_value, by_name }
    })
}

/// The name of a status code, e.g. 0xC0000034 -> STATUS_OBJECT_NAME_NOT_FOUND.
pub fn status_name(code: u32) -> Option<&'static str> {
    names().by_value.get(&code).copied()
}

/// The code of a status name; names are matched exactly, as written in ntstatus.h.
pub fn status_by_name(name: &str) -> Option<u32> {
    names().by_name.get(name).copied()
}

/// Every (name, code) pair of the table, for a query catalog's named constants.
pub fn all_names() -> impl Iterator<Item = (&'static str, u32)> {
    names().by_name.iter().map(|(name, code)| (*name, *code))
}

/// The name, or the code in hex when the table has none.
pub fn status_text(code: u32) -> String {
    status_name(code).map_or_else(|| format!("0x{code:08X}"), str::to_string)
}

/// An NTSTATUS's severity, its top two bits: what NT_SUCCESS,
/// NT_INFORMATION, NT_WARNING and NT_ERROR test.
pub fn severity(code: u32) -> &'static str {
    match code >> 30 {
        0 => "success",
        1 => "informational",
        2 => "warning",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_is_the_top_two_bits() {
        // STATUS_TIMEOUT and STATUS_PENDING are successes, not failures.
        assert_eq!(severity(0x0000_0102), "success");
        assert_eq!(severity(0x0000_0103), "success");
        assert_eq!(severity(0x4000_0000), "informational");
        assert_eq!(severity(0x8000_0005), "warning");
        assert_eq!(severity(0xC000_0034), "error");
    }

    #[test]
    fn names_and_codes_both_ways() {
        assert_eq!(status_name(0xC000_0034), Some("STATUS_OBJECT_NAME_NOT_FOUND"));
        assert_eq!(status_name(0), Some("STATUS_SUCCESS"));
        assert_eq!(status_name(0xC000_0022), Some("STATUS_ACCESS_DENIED"));
        assert_eq!(status_by_name("STATUS_ACCESS_DENIED"), Some(0xC000_0022));
        assert_eq!(status_by_name("STATUS_WAIT_0"), Some(0));
        assert_eq!(status_by_name("status_access_denied"), None);
        assert_eq!(status_text(0xDEAD_BEEF), "0xDEADBEEF");
    }

    #[test]
    fn the_table_is_full() {
        assert!(names().by_name.len() > 2900, "{}", names().by_name.len());
        assert_eq!(status_name(0x8000_0005), Some("STATUS_BUFFER_OVERFLOW"));
        assert_eq!(status_name(0x0000_0102), Some("STATUS_TIMEOUT"));
    }
}
