//! PerfInfo (group 15): samples, system calls, interrupts, DPCs, profile intervals.
use super::Entry;
use crate::schema::{f, skip, Field, FieldType::*};

pub const TASK: &str = "PerfInfo";

/// PerfInfo_SampledProfile; the word after Count carries flags that PerfView
/// splits into fields: bit 0 DPC, bit 1 ISR, bits 3..7 priority, then a rank byte.
const SAMPLED_PROFILE: &[Field] = &[
    f("InstructionPointer", Pointer),
    f("ThreadId", U32),
    f("Count", U16),
    f("ExecutingDPC", Bits { size: 1, shift: 0, width: 1 }),
    f("ExecutingISR", Bits { size: 1, shift: 1, width: 1 }),
    f("Priority", Bits { size: 1, shift: 3, width: 5 }),
    skip(1),
    f("Rank", U8),
];

const SYSCALL_ENTER: &[Field] = &[f("SysCallAddress", Pointer)];
const SYSCALL_EXIT: &[Field] = &[f("SysCallNtStatus", Hex32)];

const ISR: &[Field] =
    &[f("InitialTime", U64), f("Routine", Pointer), f("ReturnValue", U8), f("Vector", U16), f("Reserved", U8)];

const DPC: &[Field] = &[f("InitialTime", U64), f("Routine", Pointer)];

/// PerfInfo_SampledProfileInterval; Windows 8 appends the source's name.
const INTERVAL: &[Field] =
    &[f("SampleSource", U32), f("NewInterval", U32), f("OldInterval", U32), f("SourceName", Utf16).optional()];

const PMC_SAMPLE: &[Field] =
    &[f("InstructionPointer", Pointer), f("ThreadId", U32), f("ProfileSource", U16), f("Reserved", U16)];

pub fn lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        46 => ("SampledProfile", SAMPLED_PROFILE),
        47 => ("PMCSample", PMC_SAMPLE),
        50 | 67 => ("ISR", ISR),
        51 => ("SysCallEnter", SYSCALL_ENTER),
        52 => ("SysCallExit", SYSCALL_EXIT),
        66 => ("ThreadedDPC", DPC),
        68 => ("DPC", DPC),
        69 => ("TimerDPC", DPC),
        72 => ("SetInterval", INTERVAL),
        73 => ("CollectionStart", INTERVAL),
        74 => ("CollectionEnd", INTERVAL),
        _ => return None,
    })
}
