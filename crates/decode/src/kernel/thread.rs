//! Thread (group 5): Thread_TypeGroup1, CSwitch, ReadyThread, SetName, AutoBoost.
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

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

const AUTOBOOST_CLEAR_FLOOR: &[Field] =
    &[f("LockAddress", Pointer), f("ThreadId", U32), f("BoostBitmap", U16), f("Reserved", U16)];

const AUTOBOOST_ENTRY_EXHAUSTION: &[Field] = &[f("LockAddress", Pointer), f("ThreadId", U32)];

/// Thread_SetPriority and its base, page and I/O priority siblings.
const SET_PRIORITY: &[Field] = &[f("ThreadId", U32), f("OldPriority", U8), f("NewPriority", U8), f("Reserved", U16)];

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
        68 => ("AutoBoostEntryExhaustion", AUTOBOOST_ENTRY_EXHAUSTION),
        48 => ("SetPriority", SET_PRIORITY),
        49 => ("SetBasePriority", SET_PRIORITY),
        51 => ("SetPagePriority", SET_PRIORITY),
        52 => ("SetIoPriority", SET_PRIORITY),
        72 => ("SetName", SET_NAME),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::decode_payload;
    use crate::Value;

    #[test]
    fn cswitch_reads_both_threads_and_wait_state() {
        let mut p = Vec::new();
        p.extend_from_slice(&100u32.to_le_bytes());
        p.extend_from_slice(&200u32.to_le_bytes());
        p.extend_from_slice(&[9, 8, 1, 0, 6, 1, 5, 3]);
        p.extend_from_slice(&77u32.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        let (name, fields) = lookup(36, 2).unwrap();
        assert_eq!(name, "CSwitch");
        let v = decode_payload(fields, &p, 8);
        assert_eq!(v[0], ("NewThreadId".into(), Value::U32(100)));
        assert_eq!(v[1], ("OldThreadId".into(), Value::U32(200)));
        assert_eq!(v[6], ("OldThreadWaitReason".into(), Value::I8(6)));
        assert_eq!(v[10], ("NewThreadWaitTime".into(), Value::U32(77)));
        assert!(v.iter().all(|(_, v)| !v.is_bad()));
    }

    #[test]
    fn autoboost_clear_floor_splits_the_bitmap_word() {
        let mut p = 0xffff_e000_0115_5178u64.to_le_bytes().to_vec();
        p.extend_from_slice(&0x1af0u32.to_le_bytes());
        p.extend_from_slice(&[0x00, 0x08, 0, 0]);
        let v = decode_payload(lookup(67, 2).unwrap().1, &p, 8);
        assert_eq!(v[0].1, Value::Pointer(0xffff_e000_0115_5178));
        assert_eq!(v[2].1, Value::U16(0x800));
    }

    #[test]
    fn v3_threads_carry_affinity_and_priorities_and_maybe_a_name() {
        let mut p = vec![4, 0, 0, 0, 0x48, 2, 0, 0];
        p.extend_from_slice(&[0u8; 7 * 8]);
        p.extend_from_slice(&[0, 0, 0, 0, 8, 5, 2, 0]);
        let v = decode_payload(lookup(1, 3).unwrap().1, &p, 8);
        assert_eq!(v.len(), 14, "no ThreadName field when the payload ends");
        assert_eq!(v[10].1, Value::U8(8));
        p.extend_from_slice(&[b'w', 0, 0, 0]);
        let v = decode_payload(lookup(1, 4).unwrap().1, &p, 8);
        assert_eq!(v[14].1, Value::Str("w".into()));
    }
}
