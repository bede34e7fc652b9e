//! DiskIo (group 1): DiskIo_TypeGroup1 (read/write), TypeGroup2 (init), TypeGroup3 (flush).
use super::Entry;
use crate::decode::schema::{f, Field, FieldType::*};

pub const TASK: &str = "DiskIo";

/// IRP flags without the I/O priority bits (17..19), which are a field of their own.
pub const IRP_FLAGS: &[(u64, &str)] = &[
    (0x1, "Nocache"),
    (0x2, "PagingIo"),
    (0x4, "MountCompletion"),
    (0x8, "SynchronousApi"),
    (0x10, "AssociatedIrp"),
    (0x20, "BufferedIo"),
    (0x40, "DeallocateBuffer"),
    (0x80, "InputOperation"),
    (0x100, "SynchronousPagingIo"),
    (0x200, "Create"),
    (0x400, "Read"),
    (0x800, "Write"),
    (0x1000, "Close"),
    (0x2000, "DeferIoCompletion"),
    (0x4000, "ObQueryName"),
    (0x8000, "HoldDeviceQueue"),
    (0x10000, "UmKernelRequest"),
];

const IO_PRIORITY: &[(u64, &str)] =
    &[(0, "Verylow"), (1, "Low"), (2, "Normal"), (3, "High"), (4, "Critical"), (5, "Max")];

const READ_WRITE: &[Field] = &[
    f("DiskNumber", U32),
    f("IrpFlags", Bits { size: 4, shift: 0, width: 17 }).with_map(true, IRP_FLAGS),
    f("Priority", Bits { size: 4, shift: 17, width: 3 }).with_map(false, IO_PRIORITY),
    f("RawIrpFlags", Hex32),
    f("TransferSize", U32),
    f("Reserved", U32),
    f("ByteOffset", I64),
    // MOF: FileObject; PerfView: FileKey.
    f("FileKey", Pointer),
    f("Irp", Pointer),
    f("HighResResponseTime", U64),
    f("IssuingThreadId", U32).optional(),
];

const INIT: &[Field] = &[f("Irp", Pointer), f("IssuingThreadId", U32).optional()];

const FLUSH: &[Field] = &[
    f("DiskNumber", U32),
    f("IrpFlags", Bits { size: 4, shift: 0, width: 17 }).with_map(true, IRP_FLAGS),
    f("RawIrpFlags", Hex32),
    f("HighResResponseTime", U64),
    f("Irp", Pointer),
    f("IssuingThreadId", U32).optional(),
];

pub fn lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        10 => ("Read", READ_WRITE),
        11 => ("Write", READ_WRITE),
        12 => ("ReadInit", INIT),
        13 => ("WriteInit", INIT),
        14 => ("FlushBuffers", FLUSH),
        15 => ("FlushInit", INIT),
        _ => return None,
    })
}
