//! PageFault (group 2): PageFault_TypeGroup1, HardFault, VirtualAlloc.
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "PageFault";

const FAULT: &[Field] = &[f("VirtualAddress", Pointer), f("ProgramCounter", Pointer)];

const HARD_FAULT: &[Field] = &[
    f("InitialTime", U64),
    f("ReadOffset", U64),
    f("VirtualAddress", Pointer),
    // MOF: FileObject; PerfView: FileKey.
    f("FileKey", Pointer),
    f("TThreadId", U32),
    f("ByteCount", U32),
];

const VIRTUAL_ALLOC: &[Field] =
    &[f("BaseAddress", Pointer), f("RegionSize", PointerUint), f("ProcessId", U32), f("Flags", Hex32)];

const IMAGE_LOAD_BACKED: &[Field] =
    &[f("FileObject", Pointer), f("DeviceChar", U32), f("FileChar", U16), f("LoadFlags", U16)];

pub fn lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        10 => ("TransitionFault", FAULT),
        11 => ("DemandZeroFault", FAULT),
        12 => ("CopyOnWrite", FAULT),
        13 => ("GuardPageFault", FAULT),
        14 => ("HardPageFault", FAULT),
        15 => ("AccessViolation", FAULT),
        32 => ("HardFault", HARD_FAULT),
        98 => ("VirtualAlloc", VIRTUAL_ALLOC),
        99 => ("VirtualFree", VIRTUAL_ALLOC),
        105 => ("ImageLoadBacked", IMAGE_LOAD_BACKED),
        _ => return None,
    })
}
