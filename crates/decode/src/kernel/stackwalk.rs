//! StackWalk (group 24): stacks, and the compressed-stack key events.
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "StackWalk";

/// StackWalk_Event: the stamped event's time and thread, then the frames.
const STACK: &[Field] =
    &[f("EventTimeStamp", U64), f("StackProcess", U32), f("StackThread", U32), f("Stack", PointerArrayRest)];

/// A stack given by key: the frames come in a key definition event.
const STACK_KEY: &[Field] =
    &[f("EventTimeStamp", U64), f("StackProcess", U32), f("StackThread", U32), f("StackKey", Pointer)];

/// A key definition (rundown) or its deletion: the key, then its frames.
const KEY_DEFINITION: &[Field] = &[f("StackKey", Pointer), f("Stack", PointerArrayRest)];

pub fn lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        32 => ("Stack", STACK),
        35 => ("StackKeyDelete", KEY_DEFINITION),
        36 => ("StackKeyRundown", KEY_DEFINITION),
        37 => ("StackKeyKernel", STACK_KEY),
        38 => ("StackKeyUser", STACK_KEY),
        _ => return None,
    })
}
