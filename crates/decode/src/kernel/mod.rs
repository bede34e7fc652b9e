//! The kernel logger's event classes (MSNT_SystemTrace), by group, opcode and
//! version; pointer-sized fields follow the record's pointer size. Field
//! names follow Microsoft's MOF class pages, or PerfView's where its decoding
//! is the reference the tests compare with (FileKey, PageDirectoryBase, ...).
use super::schema::{Field, Name};
use etl::Guid;

pub mod alpc;
pub mod diskio;
pub mod eventtrace;
pub mod fileio;
pub mod image;
pub mod network;
pub mod pagefault;
pub mod perfinfo;
pub mod process;
pub mod registry;
pub mod stackwalk;
pub mod sysconfig;
pub mod thread;

pub const PROVIDER: &str = "Windows Kernel";

/// One kernel event class: its task and opcode names and its field layout.
#[derive(Clone, Copy, Debug)]
pub struct KernelClass {
    pub task: &'static str,
    pub opcode: &'static str,
    pub fields: &'static [Field],
}

impl KernelClass {
    pub fn event_name(&self) -> Name {
        if self.opcode.is_empty() {
            Name::Static(self.task)
        } else {
            Name::from(format!("{}/{}", self.task, self.opcode))
        }
    }
}

/// What a group module answers for one opcode and version.
pub type Entry = (&'static str, &'static [Field]);

/// The hook id's group byte (EVENT_TRACE_GROUP_* >> 8) and its task name.
pub fn group_task(group: u8) -> Option<&'static str> {
    Some(match group {
        0 => eventtrace::TASK,
        1 => diskio::TASK,
        2 => pagefault::TASK,
        3 => process::TASK,
        4 => fileio::TASK,
        5 => thread::TASK,
        6 => network::TCP_TASK,
        8 => network::UDP_TASK,
        9 => registry::TASK,
        11 => sysconfig::TASK,
        15 => perfinfo::TASK,
        20 => image::TASK,
        24 => stackwalk::TASK,
        26 => alpc::TASK,
        _ => return None,
    })
}

pub fn lookup(group: u8, opcode: u8, version: u16) -> Option<KernelClass> {
    // Image loads are logged in the process group (PERFINFO_LOG_TYPE_IMAGELOAD).
    if group == 3 && opcode == 10 {
        let (name, fields) = image::lookup(opcode, version)?;
        return Some(KernelClass { task: image::TASK, opcode: name, fields });
    }
    let (name, fields) = match group {
        0 => eventtrace::lookup(opcode, version),
        1 => diskio::lookup(opcode, version),
        2 => pagefault::lookup(opcode, version),
        3 => process::lookup(opcode, version),
        4 => fileio::lookup(opcode, version),
        5 => thread::lookup(opcode, version),
        6 => network::tcp_lookup(opcode, version),
        8 => network::udp_lookup(opcode, version),
        9 => registry::lookup(opcode, version),
        11 => sysconfig::lookup(opcode, version),
        15 => perfinfo::lookup(opcode, version),
        20 => image::lookup(opcode, version),
        24 => stackwalk::lookup(opcode, version),
        26 => alpc::lookup(opcode, version),
        _ => None,
    }?;
    Some(KernelClass { task: group_task(group)?, opcode: name, fields })
}

/// Classic (full header) records of the kernel's classes: the class GUIDs of
/// MSNT_SystemTrace, and the system-configuration GUID that rundown uses.
pub fn lookup_classic(guid: &Guid, class_type: u8, version: u16) -> Option<KernelClass> {
    if *guid == sysconfig::SYSCONFIG_EX_GUID {
        let (name, fields) = sysconfig::lookup_ex(class_type, version)?;
        return Some(KernelClass { task: sysconfig::EX_TASK, opcode: name, fields });
    }
    let group = CLASS_GUIDS.iter().find(|(g, _)| g == guid).map(|(_, group)| *group)?;
    lookup(group, class_type, version)
}

/// The task of a kernel class GUID, for naming classic events without a layout.
pub fn classic_task(guid: &Guid) -> Option<&'static str> {
    if *guid == sysconfig::SYSCONFIG_EX_GUID {
        return Some(sysconfig::EX_TASK);
    }
    CLASS_GUIDS.iter().find(|(g, _)| g == guid).and_then(|(_, group)| group_task(*group))
}

/// Class GUIDs of MSNT_SystemTrace, for kernel events logged with classic headers.
const CLASS_GUIDS: &[(Guid, u8)] = &[
    (Guid::from_fields(0x68fdd900, 0x4a3e, 0x11d1, [0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3]), 0),
    (Guid::from_fields(0x3d6fa8d4, 0xfe05, 0x11d0, [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]), 1),
    (Guid::from_fields(0x3d6fa8d3, 0xfe05, 0x11d0, [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]), 2),
    (Guid::from_fields(0x3d6fa8d0, 0xfe05, 0x11d0, [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]), 3),
    (Guid::from_fields(0x90cbdc39, 0x4a3e, 0x11d1, [0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3]), 4),
    (Guid::from_fields(0x3d6fa8d1, 0xfe05, 0x11d0, [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]), 5),
    (Guid::from_fields(0x9a280ac0, 0xc8e0, 0x11d1, [0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2]), 6),
    (Guid::from_fields(0xbf3a50c5, 0xa9c9, 0x4988, [0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80]), 8),
    (Guid::from_fields(0xae53722e, 0xc863, 0x11d2, [0x86, 0x59, 0x00, 0xc0, 0x4f, 0xa3, 0x21, 0xa1]), 9),
    (Guid::from_fields(0x01853a65, 0x418f, 0x4f36, [0xae, 0xfc, 0xdc, 0x0f, 0x1d, 0x2f, 0xd2, 0x35]), 11),
    (Guid::from_fields(0xce1dbfb4, 0x137e, 0x4da6, [0x87, 0xb0, 0x3f, 0x59, 0xaa, 0x10, 0x2c, 0xbc]), 15),
    (Guid::from_fields(0x2cb15d1d, 0x5fc1, 0x11d2, [0xab, 0xe1, 0x00, 0xa0, 0xc9, 0x11, 0xf5, 0x18]), 20),
    (Guid::from_fields(0xdef2fe46, 0x7bd6, 0x4b80, [0xbd, 0x94, 0xf5, 0x7f, 0xe2, 0x0d, 0x0c, 0xe3]), 24),
    (Guid::from_fields(0x45d8cccd, 0x539f, 0x4b72, [0xa8, 0xb7, 0x5c, 0x68, 0x31, 0x42, 0x60, 0x9a]), 26),
];

/// Name of a kernel event without a layout: "Task/Opcode(n)" or "Group(g)/Opcode(n)".
pub fn fallback_name(group: u8, opcode: u8) -> Name {
    match group_task(group) {
        Some(task) => Name::from(format!("{task}/Opcode({opcode})")),
        None => Name::from(format!("Group({group})/Opcode({opcode})")),
    }
}
