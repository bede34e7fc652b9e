//! KernelTraceControl: the events xperf and PerfView add when they merge a
//! trace: image identities (ImageID, DbgID_RSDS, FileVersion, ...) and the
//! MetaData events that carry other providers' schemas.
use super::kernel::KernelClass;
use super::schema::{f, Field, FieldType::*};
use etl::Guid as ClassGuid;

pub const PROVIDER: &str = "KernelTraceControl";

/// Class GUID of the ImageID task.
pub const IMAGE_ID_GUID: ClassGuid =
    ClassGuid::from_fields(0xb3e675d7, 0x2554, 0x4f18, [0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde]);
/// Class GUID of the MetaData task.
pub const METADATA_GUID: ClassGuid =
    ClassGuid::from_fields(0xbbccf6c1, 0x6cd1, 0x48c4, [0x80, 0xff, 0x83, 0x94, 0x82, 0xe3, 0x76, 0x71]);

pub const METADATA_EVENT_INFO: u8 = 32;
pub const METADATA_EVENT_MAP_INFO: u8 = 33;

const IMAGE_ID: &[Field] = &[
    f("ImageBase", Pointer),
    f("ImageSize", PointerUint),
    f("ProcessID", U32),
    f("TimeDateStamp", I32),
    f("OriginalFileName", Utf16),
];

const NONE: &[Field] = &[f("ImageBase", Pointer), f("ProcessID", U32)];

/// CodeView RSDS record: the PDB's GUID and age identify it on a symbol server.
const RSDS: &[Field] =
    &[f("ImageBase", Pointer), f("ProcessID", U32), f("GuidSig", Guid), f("Age", U32), f("PDBFileName", Ansi)];

const PPDB: &[Field] = &[
    f("ImageBase", Pointer),
    f("ProcessID", U32),
    f("TimeDateStamp", I32),
    f("MajorVersion", U16),
    f("MinorVersion", U16),
    f("PdbFileName", Ansi),
];

const DETERM: &[Field] = &[f("ImageBase", Pointer), f("ProcessID", U32)];

const FILE_VERSION: &[Field] = &[
    f("ImageSize", U32),
    f("TimeDateStamp", I32),
    f("OrigFileName", Utf16),
    f("FileDescription", Utf16),
    f("FileVersion", Utf16),
    f("BinFileVersion", Utf16),
    f("VerLanguage", Utf16),
    f("ProductName", Utf16),
    f("CompanyName", Utf16),
    f("ProductVersion", Utf16),
    f("FileId", Utf16),
    f("ProgramId", Utf16),
];

/// The MetaData blobs are decoded by `metadata`; as an event they show their size only.
const METADATA: &[Field] = &[];

pub fn lookup(guid: &ClassGuid, class_type: u8, _version: u16) -> Option<KernelClass> {
    let (task, opcode, fields): (&'static str, &'static str, &'static [Field]) = if *guid == IMAGE_ID_GUID {
        match class_type {
            0 => ("ImageID", "", IMAGE_ID),
            0x20 => ("ImageID", "None", NONE),
            0x24 => ("ImageID", "DbgID_RSDS", RSDS),
            0x25 => ("ImageID", "DbgID_ILRSDS", RSDS),
            0x26 => ("ImageID", "DbgPPDB", PPDB),
            0x28 => ("ImageID", "DbgDeterm", DETERM),
            0x40 => ("ImageID", "FileVersion", FILE_VERSION),
            _ => return None,
        }
    } else if *guid == METADATA_GUID {
        match class_type {
            METADATA_EVENT_INFO => ("MetaData", "EventInfo", METADATA),
            METADATA_EVENT_MAP_INFO => ("MetaData", "EventMapInfo", METADATA),
            _ => return None,
        }
    } else {
        return None;
    };
    Some(KernelClass { task, opcode, fields })
}
