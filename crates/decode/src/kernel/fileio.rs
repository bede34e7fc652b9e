//! FileIo (group 4): names, rundown, and the I/O request events (V2 and V3 layouts).
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "FileIo";

/// FileIo_Name: the file object (PerfView: FileKey) and its name.
const NAME: &[Field] = &[f("FileKey", Pointer), f("FileName", Utf16)];

const CREATE_V2: &[Field] = &[
    f("IrpPtr", Pointer),
    f("TTID", Pointer),
    f("FileObject", Pointer),
    f("CreateOptions", Hex32),
    f("FileAttributes", Hex32),
    f("ShareAccess", Hex32),
    f("OpenPath", Utf16),
];
const CREATE_V3: &[Field] = &[
    f("IrpPtr", Pointer),
    f("FileObject", Pointer),
    f("TTID", U32),
    f("CreateOptions", Hex32),
    f("FileAttributes", Hex32),
    f("ShareAccess", Hex32),
    f("OpenPath", Utf16),
];

const RW_V2: &[Field] = &[
    f("Offset", U64),
    f("IrpPtr", Pointer),
    f("TTID", Pointer),
    f("FileObject", Pointer),
    f("FileKey", Pointer),
    f("IoSize", U32),
    f("IoFlags", Hex32),
];
const RW_V3: &[Field] = &[
    f("Offset", U64),
    f("IrpPtr", Pointer),
    f("FileObject", Pointer),
    f("FileKey", Pointer),
    f("TTID", U32),
    f("IoSize", U32),
    f("IoFlags", Hex32),
];

const SIMPLE_V2: &[Field] =
    &[f("IrpPtr", Pointer), f("TTID", Pointer), f("FileObject", Pointer), f("FileKey", Pointer)];
const SIMPLE_V3: &[Field] = &[f("IrpPtr", Pointer), f("FileObject", Pointer), f("FileKey", Pointer), f("TTID", U32)];

const INFO_V2: &[Field] = &[
    f("IrpPtr", Pointer),
    f("TTID", Pointer),
    f("FileObject", Pointer),
    f("FileKey", Pointer),
    f("ExtraInfo", Pointer),
    f("InfoClass", U32),
];
const INFO_V3: &[Field] = &[
    f("IrpPtr", Pointer),
    f("FileObject", Pointer),
    f("FileKey", Pointer),
    f("ExtraInfo", Pointer),
    f("TTID", U32),
    f("InfoClass", U32),
];

const DIR_V2: &[Field] = &[
    f("IrpPtr", Pointer),
    f("TTID", Pointer),
    f("FileObject", Pointer),
    f("FileKey", Pointer),
    f("Length", U32),
    f("InfoClass", U32),
    f("FileIndex", U32),
    f("FileName", Utf16),
];
const DIR_V3: &[Field] = &[
    f("IrpPtr", Pointer),
    f("FileObject", Pointer),
    f("FileKey", Pointer),
    f("TTID", U32),
    f("Length", U32),
    f("InfoClass", U32),
    f("FileIndex", U32),
    f("FileName", Utf16),
];

const OP_END: &[Field] = &[f("IrpPtr", Pointer), f("ExtraInfo", Pointer), f("NtStatus", Hex32)];

const MAP_FILE: &[Field] = &[
    f("ViewBase", Pointer),
    f("FileObject", Pointer),
    f("MiscInfo", U64),
    f("ViewSize", PointerUint),
    f("ProcessId", U32),
];

pub fn lookup(opcode: u8, version: u16) -> Option<Entry> {
    let v3 = version >= 3;
    let pick = |v2: &'static [Field], v3_fields: &'static [Field]| if v3 { v3_fields } else { v2 };
    Some(match opcode {
        0 => ("Name", NAME),
        32 => ("FileCreate", NAME),
        35 => ("FileDelete", NAME),
        36 => ("FileRundown", NAME),
        37 => ("MapFile", MAP_FILE),
        38 => ("UnmapFile", MAP_FILE),
        39 => ("MapFileDCStart", MAP_FILE),
        40 => ("MapFileDCEnd", MAP_FILE),
        64 => ("Create", pick(CREATE_V2, CREATE_V3)),
        65 => ("Cleanup", pick(SIMPLE_V2, SIMPLE_V3)),
        66 => ("Close", pick(SIMPLE_V2, SIMPLE_V3)),
        67 => ("Read", pick(RW_V2, RW_V3)),
        68 => ("Write", pick(RW_V2, RW_V3)),
        69 => ("SetInfo", pick(INFO_V2, INFO_V3)),
        70 => ("Delete", pick(INFO_V2, INFO_V3)),
        71 => ("Rename", pick(INFO_V2, INFO_V3)),
        72 => ("DirEnum", pick(DIR_V2, DIR_V3)),
        73 => ("Flush", pick(SIMPLE_V2, SIMPLE_V3)),
        74 => ("QueryInfo", pick(INFO_V2, INFO_V3)),
        75 => ("FSControl", pick(INFO_V2, INFO_V3)),
        76 => ("OperationEnd", OP_END),
        77 => ("DirNotify", pick(DIR_V2, DIR_V3)),
        _ => return None,
    })
}
