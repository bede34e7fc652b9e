//! Thread (group 5): Thread_TypeGroup1, CSwitch, ReadyThread, SetName, AutoBoost.
use super::Entry;
use crate::decode::schema::{f, Field, FieldType::*};

pub const TASK: &str = "Thread";

const V1: &[Field] = &[
    f("TThreadId", U32),
    f("ProcessId", U32),
    f("StackBase", Pointer),
    f("StackLimit", Pointer),
    f("UserStackBase", Pointer),
    f("UserStackLimit", Pointer),
    f("StartAddr", Pointer),
    f("Win32StartAddr", Pointer),
    f("WaitMode", I8),
];

const V2: &[Field] = &[
    f("ProcessId", U32),
    f("TThreadId", U32),
    f("StackBase", Pointer),
    f("StackLimit", Pointer),
    f("UserStackBase", Pointer),
    f("UserStackLimit", Pointer),
    f("StartAddr", Pointer),
    f("Win32StartAddr", Pointer),
    f("TebBase", Pointer),
    f("SubProcessTag", U32),
];

/// V3 (Windows 8) puts the affinity where V2 had StartAddr and adds priorities;
/// V4 appends the thread name.
const V3: &[Field] = &[
    f("ProcessId", U32),
    f("TThreadId", U32),
    f("StackBase", Pointer),
    f("StackLimit", Pointer),
    f("UserStackBase", Pointer),
    f("UserStackLimit", Pointer),
    f("Affinity", Pointer),
    f("Win32StartAddr", Pointer),
    f("TebBase", Pointer),
    f("SubProcessTag", U32),
    f("BasePriority", U8),
    f("PagePriority", U8),
    f("IoPriority", U8),
    f("ThreadFlags", U8),
    f("ThreadName", Utf16).optional(),
];

const CSWITCH: &[Field] = &[
    f("NewThreadId", U32),
    f("OldThreadId", U32),
    f("NewThreadPriority", I8),
    f("OldThreadPriority", I8),
    f("PreviousCState", U8),
    f("SpareByte", I8),
    f("OldThreadWaitReason", I8),
    f("OldThreadWaitMode", I8),
    f("OldThreadState", I8),
    f("OldThreadWaitIdealProcessor", I8),
    f("NewThreadWaitTime", U32),
    f("Reserved", U32),
];

const READY_THREAD: &[Field] =
    &[f("TThreadId", U32), f("AdjustReason", I8), f("AdjustIncrement", I8), f("Flag", I8), f("Reserved", I8)];

const SET_NAME: &[Field] = &[f("ProcessId", U32), f("TThreadId", U32), f("ThreadName", Utf16)];

const AUTOBOOST_SET_FLOOR: &[Field] = &[
    f("Lock", Pointer),
    f("ThreadId", U32),
    f("NewCpuPriorityFloor", U8),
    f("OldCpuPriority", U8),
    f("IoPriorities", U8),
    f("BoostFlags", U8),
];

const AUTOBOOST_CLEAR_FLOOR: &[Field] = &[f("LockAddress", Pointer), f("ThreadId", U32), f("BoostBitmap", Hex32)];

pub fn lookup(opcode: u8, version: u16) -> Option<Entry> {
    let group1 = match version {
        0 | 1 => V1,
        2 => V2,
        _ => V3,
    };
    Some(match opcode {
        1 => ("Start", group1),
        2 => ("End", group1),
        3 => ("DCStart", group1),
        4 => ("DCEnd", group1),
        36 => ("CSwitch", CSWITCH),
        50 => ("ReadyThread", READY_THREAD),
        66 => ("AutoBoostSetFloor", AUTOBOOST_SET_FLOOR),
        67 => ("AutoBoostClearFloor", AUTOBOOST_CLEAR_FLOOR),
        72 => ("SetName", SET_NAME),
        _ => return None,
    })
}
