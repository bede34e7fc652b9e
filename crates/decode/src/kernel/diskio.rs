//! DiskIo (group 1): DiskIo_TypeGroup1 (read/write), TypeGroup2 (init), TypeGroup3 (flush).
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "DiskIo";

/// IRP flags without the I/O priority bits (17..19), which are a field of their own.
pub const IRP_FLAGS: &[(u64, &str)] = &[
    (0x0, "None"),
    (0x1, "Nocache"),
    // IRP_MOUNT_COMPLETION shares this bit; on disk I/O it means paging I/O.
    (0x2, "PagingIo"),
    (0x4, "SynchronousApi"),
    (0x8, "AssociatedIrp"),
    (0x10, "BufferedIo"),
    (0x20, "DeallocateBuffer"),
    // IRP_INPUT_OPERATION shares this bit.
    (0x40, "SynchronousPagingIo"),
    (0x80, "Create"),
    (0x100, "Read"),
    (0x200, "Write"),
    (0x400, "Close"),
    (0x800, "DeferIoCompletion"),
    (0x1000, "ObQueryName"),
    (0x2000, "HoldDeviceQueue"),
];

/// The IRP's priority bits hold the I/O priority hint plus one (0: not set).
const IO_PRIORITY: &[(u64, &str)] =
    &[(0, "Notset"), (1, "Verylow"), (2, "Low"), (3, "Normal"), (4, "High"), (5, "Critical")];

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
