//! NTSTATUS names usable as literals. A small built-in list for now; the
//! model's full table will replace `ntstatus_by_name`'s source.

pub const NTSTATUS_NAMES: &[(&str, u32)] = &[
    ("STATUS_SUCCESS", 0),
    ("STATUS_TIMEOUT", 0x102),
    ("STATUS_PENDING", 0x103),
    ("STATUS_BUFFER_OVERFLOW", 0x8000_0005),
    ("STATUS_NO_MORE_FILES", 0x8000_0006),
    ("STATUS_INVALID_PARAMETER", 0xC000_000D),
    ("STATUS_ACCESS_DENIED", 0xC000_0022),
    ("STATUS_BUFFER_TOO_SMALL", 0xC000_0023),
    ("STATUS_OBJECT_NAME_NOT_FOUND", 0xC000_0034),
    ("STATUS_OBJECT_PATH_NOT_FOUND", 0xC000_003A),
    ("STATUS_NOT_FOUND", 0xC000_0225),
];

pub fn ntstatus_by_name(name: &str) -> Option<u32> {
    NTSTATUS_NAMES.iter().find(|(n, _)| *n == name).map(|&(_, code)| code)
}
