//! Image (group 20, and Load in group 3): Image_Load and KernelBase.
use super::Entry;
use crate::schema::{f, Field, FieldType::*};

pub const TASK: &str = "Image";

const V0: &[Field] = &[f("ImageBase", Pointer), f("ImageSize", PointerUint), f("FileName", Utf16)];

const V1: &[Field] = &[f("ImageBase", Pointer), f("ImageSize", PointerUint), f("ProcessId", U32), f("FileName", Utf16)];

/// V2 (Vista) and V3 (Windows 8, signature bytes in the former reserved word).
const V2: &[Field] = &[
    f("ImageBase", Pointer),
    f("ImageSize", PointerUint),
    f("ProcessId", U32),
    f("ImageChecksum", U32),
    f("TimeDateStamp", I32),
    f("SignatureLevel", U8),
    f("SignatureType", U8),
    f("Reserved0", U16),
    f("DefaultBase", Pointer),
    f("Reserved1", U32),
    f("Reserved2", U32),
    f("Reserved3", U32),
    f("Reserved4", U32),
    f("FileName", Utf16),
];

const KERNEL_BASE: &[Field] = &[f("ImageBase", Pointer)];

const HYPERCALL_PAGE: &[Field] = &[f("HypercallPageVa", Pointer)];

pub fn lookup(opcode: u8, version: u16) -> Option<Entry> {
    let load = match version {
        0 => V0,
        1 => V1,
        _ => V2,
    };
    Some(match opcode {
        10 => ("Load", load),
        2 => ("Unload", load),
        3 => ("DCStart", load),
        4 => ("DCEnd", load),
        33 => ("KernelBase", KERNEL_BASE),
        34 => ("HypercallPage", HYPERCALL_PAGE),
        _ => return None,
    })
}
