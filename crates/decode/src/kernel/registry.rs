//! Registry (group 9): Registry_TypeGroup1 (V2).
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "Registry";

const GROUP1: &[Field] =
    &[f("InitialTime", I64), f("Status", Hex32), f("Index", U32), f("KeyHandle", Pointer), f("KeyName", Utf16)];

pub fn lookup(opcode: u8, _version: u16) -> Option<Entry> {
    let name = match opcode {
        10 => "Create",
        11 => "Open",
        12 => "Delete",
        13 => "Query",
        14 => "SetValue",
        15 => "DeleteValue",
        16 => "QueryValue",
        17 => "EnumerateKey",
        18 => "EnumerateValueKey",
        19 => "QueryMultipleValue",
        20 => "SetInformation",
        21 => "Flush",
        22 => "KCBCreate",
        23 => "KCBDelete",
        24 => "KCBRundownBegin",
        25 => "KCBRundownEnd",
        26 => "Virtualize",
        27 => "Close",
        _ => return None,
    };
    Some((name, GROUP1))
}
