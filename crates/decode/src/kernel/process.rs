//! Process (group 3): Process_TypeGroup1 and Process_V2_TypeGroup2 (counters).
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "Process";

const PROCESS_FLAGS: &[(u64, &str)] = &[(0, "None"), (1, "PackageFullName"), (2, "Wow64"), (4, "Protected")];

const V1: &[Field] = &[
    f("PageDirectoryBase", Pointer),
    f("ProcessID", U32),
    f("ParentID", U32),
    f("SessionID", U32),
    f("ExitStatus", I32),
    f("UserSID", WmiSid),
    f("ImageFileName", Ansi),
];

const V2: &[Field] = &[
    f("UniqueProcessKey", Pointer),
    f("ProcessID", U32),
    f("ParentID", U32),
    f("SessionID", U32),
    f("ExitStatus", I32),
    f("UserSID", WmiSid),
    f("ImageFileName", Ansi),
    f("CommandLine", Utf16),
];

const V3: &[Field] = &[
    f("UniqueProcessKey", Pointer),
    f("ProcessID", U32),
    f("ParentID", U32),
    f("SessionID", U32),
    f("ExitStatus", I32),
    f("PageDirectoryBase", Pointer),
    f("UserSID", WmiSid),
    f("ImageFileName", Ansi),
    f("CommandLine", Utf16),
];

/// V4 (Windows 8) adds Flags and the package identity; V5 and later append
/// fields after these that are left undecoded.
const V4: &[Field] = &[
    f("UniqueProcessKey", Pointer),
    f("ProcessID", U32),
    f("ParentID", U32),
    f("SessionID", U32),
    f("ExitStatus", I32),
    f("PageDirectoryBase", Pointer),
    f("Flags", U32).with_map(true, PROCESS_FLAGS),
    f("UserSID", WmiSid),
    f("ImageFileName", Ansi),
    f("CommandLine", Utf16),
    f("PackageFullName", Utf16),
    f("ApplicationID", Utf16),
];

/// Process_V2_TypeGroup2: memory counters at process end and in rundown.
const PERF_CTR: &[Field] = &[
    f("ProcessID", U32),
    // MOF: PageFaultCount; named as PerfView shows it.
    f("MemoryCount", U32),
    f("HandleCount", U32),
    f("Reserved", U32),
    f("PeakVirtualSize", PointerUint),
    f("PeakWorkingSetSize", PointerUint),
    f("PeakPagefileUsage", PointerUint),
    f("QuotaPeakPagedPoolUsage", PointerUint),
    f("QuotaPeakNonPagedPoolUsage", PointerUint),
    f("VirtualSize", PointerUint),
    f("WorkingSetSize", PointerUint),
    f("PagefileUsage", PointerUint),
    f("QuotaPagedPoolUsage", PointerUint),
    f("QuotaNonPagedPoolUsage", PointerUint),
    f("PrivatePageCount", PointerUint),
];

/// Process_Terminate: the process that was terminated (the header names the one that did it).
const TERMINATE: &[Field] = &[f("ProcessId", U32)];

pub fn lookup(opcode: u8, version: u16) -> Option<Entry> {
    let name = match opcode {
        11 => return Some(("Terminate", TERMINATE)),
        1 => "Start",
        2 => "End",
        3 => "DCStart",
        4 => "DCEnd",
        39 => "Defunct",
        32 => return Some(("PerfCtr", PERF_CTR)),
        33 => return Some(("PerfCtrRundown", PERF_CTR)),
        _ => return None,
    };
    let fields = match version {
        0 | 1 => V1,
        2 => V2,
        3 => V3,
        _ => V4,
    };
    Some((name, fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::decode_payload;
    use crate::Value;

    /// A V4 process event as a 32-bit kernel logs it: 4-byte pointers, and a
    /// SID after a TOKEN_USER of two 4-byte pointers.
    #[test]
    fn v4_process_on_a_32_bit_kernel() {
        let mut p = Vec::new();
        p.extend_from_slice(&0x8123_4000u32.to_le_bytes()); // UniqueProcessKey
        p.extend_from_slice(&3676u32.to_le_bytes());
        p.extend_from_slice(&3508u32.to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&259u32.to_le_bytes());
        p.extend_from_slice(&0x558f_b000u32.to_le_bytes()); // PageDirectoryBase
        p.extend_from_slice(&0u32.to_le_bytes()); // Flags
        p.extend_from_slice(&[0x11; 8]); // TOKEN_USER
        p.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]); // S-1-5-18
        p.extend_from_slice(b"Test.x64.exe\0");
        for s in ["Test.x64.exe", "", ""] {
            for u in s.encode_utf16().chain([0]) {
                p.extend_from_slice(&u.to_le_bytes());
            }
        }
        let (name, fields) = lookup(1, 4).unwrap();
        assert_eq!(name, "Start");
        let v = decode_payload(fields, &p, 4);
        let get = |n: &str| v.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("ProcessID"), Value::U32(3676));
        assert_eq!(get("ParentID"), Value::U32(3508));
        assert_eq!(get("ExitStatus"), Value::I32(259));
        assert_eq!(get("PageDirectoryBase"), Value::Pointer(0x558f_b000));
        assert_eq!(get("Flags"), Value::Enum { value: 0, name: "None".into() });
        assert_eq!(get("UserSID").to_string(), "S-1-5-18");
        assert_eq!(get("ImageFileName"), Value::Str("Test.x64.exe".into()));
        assert_eq!(get("CommandLine"), Value::Str("Test.x64.exe".into()));
        assert!(v.iter().all(|(_, v)| !v.is_bad()));
    }
}
