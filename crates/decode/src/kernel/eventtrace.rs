//! EventTrace: the log file header and its extensions (group 0).
use super::Entry;
use crate::schema::{f, skip, Field, FieldType::*};

pub const TASK: &str = "EventTrace";

/// TRACE_LOGFILE_HEADER as the header event carries it (EventTrace_Header).
const HEADER: &[Field] = &[
    f("BufferSize", U32),
    f("Version", U32),
    f("ProviderVersion", U32),
    f("NumberOfProcessors", U32),
    f("EndTime", FileTime),
    f("TimerResolution", U32),
    f("MaxFileSize", U32),
    f("LogFileMode", U32),
    f("BuffersWritten", U32),
    f("StartBuffers", U32),
    f("PointerSize", U32),
    f("EventsLost", U32),
    f("CPUSpeed", U32),
    f("LoggerName", Pointer),
    f("LogFileNamePtr", Pointer),
    // TIME_ZONE_INFORMATION: Bias is minutes to add to local time for UTC.
    f("UtcOffsetMinutes", I32),
    Field::fixed_utf16("StandardName", 32),
    f("StandardDate", SystemTime),
    f("StandardBias", I32),
    Field::fixed_utf16("DaylightName", 32),
    f("DaylightDate", SystemTime),
    f("DaylightBias", I32),
    // The time zone (172 bytes) ends 4 bytes short of 8-byte alignment in both pointer sizes.
    skip(4),
    f("BootTime", FileTime),
    f("PerfFreq", I64),
    f("StartTime", FileTime),
    f("ReservedFlags", U32),
    f("BuffersLost", U32),
    f("SessionName", Utf16),
    f("LogFileName", Utf16),
];

const EXTENSION: &[Field] = &[
    f("GroupMask1", U32),
    f("GroupMask2", U32),
    f("GroupMask3", U32),
    f("GroupMask4", U32),
    f("GroupMask5", U32),
    f("GroupMask6", U32),
    f("GroupMask7", U32),
    f("GroupMask8", U32),
    f("KernelEventVersion", U32).optional(),
];

/// Partition information of the logging machine (Windows 10+), EventTrace_PartitionInfoExtension.
const PARTITION_INFO: &[Field] =
    &[f("PartitionId", Guid), f("ParentId", Guid), f("QpcOffsetFromRoot", I64), f("PartitionType", U32)];

pub fn lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        0 => ("", HEADER),
        5 => ("Extension", EXTENSION),
        8 => ("RundownComplete", &[]),
        32 => ("EndExtension", EXTENSION),
        80 => ("PartitionInfoExtension", PARTITION_INFO),
        _ => return None,
    })
}
