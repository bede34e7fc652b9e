//! Process (group 3): Process_TypeGroup1 and Process_V2_TypeGroup2 (counters).
use super::Entry;
use crate::decode::schema::{f, Field, FieldType::*};

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
