//! ALPC (group 26).
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "ALPC";

const MESSAGE: &[Field] = &[f("MessageID", U32)];
const WAIT_NEW: &[Field] = &[f("IsServerPort", U32), f("PortName", Ansi)];
const UNWAIT: &[Field] = &[f("Status", Hex32)];

pub fn lookup(opcode: u8, _version: u16) -> Option<Entry> {
    Some(match opcode {
        33 => ("SendMessage", MESSAGE),
        34 => ("ReceiveMessage", MESSAGE),
        35 => ("WaitForReply", MESSAGE),
        36 => ("WaitForNewMessage", WAIT_NEW),
        37 => ("Unwait", UNWAIT),
        _ => return None,
    })
}
