//! Payload encoders for the kernel events the demo writes, laid out as a
//! 64-bit Windows 10 kernel logs them (pointers are 8 bytes), each with the
//! header kind and version Windows uses for it.
//!
//! Verified against real recordings (header kind, version, payload bytes):
//! - Process DCStart/DCEnd: PERFINFO64 v4; Process End: SYSTEM64 v4
//!   (airbus ShutdownPerfDiagLogger.etl, Windows 10); Process Start: SYSTEM64 v4
//!   with the creating thread in the header (perfview net.4.5.2.x64.etl).
//! - Thread Start/End/DCStart/DCEnd: SYSTEM64 v3, 74 bytes with an empty thread
//!   name, header ids = the thread's own (airbus).
//! - Image DCStart: PERFINFO64 v3; Image Unload: SYSTEM64 v3 (airbus). Image Load
//!   is not in the corpus: SYSTEM64 v3 like Unload.
//! - SampledProfile: PERFINFO64 v2, 16 bytes; StackWalk: PERFINFO64 v2,
//!   16 + 8 per frame, frame 0 = the sample's IP (net.4.5.2).
//! - Profile CollectionStart/End: SYSTEM64 v3, 24 bytes: source, new and old
//!   interval, source name "Timer" (net.4.5.2).
//! - KernelTraceControl ImageID (class 0) and DbgID_RSDS (class 36): FULL64 v2,
//!   level 0, thread id 0xFFFFFFFF, written just before the image event with
//!   the same timestamp (net.4.5.2).
//!
//! Not in the corpus, taken from the issue and the MOF pages: CSwitch as
//! COMPACT64 v4 (24 bytes), ReadyThread as COMPACT64 v2 (8 bytes),
//! SysCallEnter/Exit as PERFINFO64 v2 (8 / 4 bytes).
use decode::encode::{EncodeError, Encoder};
use decode::fields::{Layout, Slot};
use decode::schema::{Field, FieldType};
use decode::Value;
use etl::record::Record;
use etl::writer::DEFAULT_MARKER_FLAGS;
use etl::{Guid, HeaderKind, RecordId};
use std::sync::OnceLock;

pub const GROUP_PROCESS: u8 = 3;
pub const GROUP_FILE: u8 = 4;
pub const GROUP_THREAD: u8 = 5;
pub const GROUP_REGISTRY: u8 = 9;
pub const GROUP_PERFINFO: u8 = 15;
pub const GROUP_IMAGE: u8 = 20;
pub const GROUP_STACKWALK: u8 = 24;

/// KernelTraceControl's image identity events (b3e675d7-2554-4f18-830b-2762732560de).
pub const KERNEL_TRACE_CONTROL_IMAGE_ID: Guid =
    Guid::from_fields(0xb3e6_75d7, 0x2554, 0x4f18, [0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde]);

/// STATUS_PENDING: the exit status a process rundown reports for a live process.
pub const STATUS_PENDING: u32 = 0x0000_0103;

/// Every kind of event the scenario writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    ProcessStart,
    ProcessEnd,
    ProcessDcStart,
    ProcessDcEnd,
    ThreadStart,
    ThreadEnd,
    ThreadDcStart,
    ThreadDcEnd,
    CSwitch,
    ReadyThread,
    ImageLoad,
    ImageUnload,
    ImageDcStart,
    SampledProfile,
    SysCallEnter,
    SysCallExit,
    ProfileCollectionStart,
    ProfileCollectionEnd,
    StackWalk,
    ImageId,
    DbgIdRsds,
    /// The IL image's PDB (a managed assembly's own), beside the native one.
    DbgIdIlRsds,
    RegistryCreate,
    RegistryOpen,
    RegistryQuery,
    RegistrySetValue,
    RegistryDeleteValue,
    RegistryQueryValue,
    RegistryEnumerateKey,
    RegistryKcbRundownEnd,
    FileCreate,
    FileOperationEnd,
    Dpc,
    ThreadedDpc,
    TimerDpc,
    Isr,
}

impl EventType {
    pub const ALL: [EventType; 36] = [
        EventType::ProcessStart,
        EventType::ProcessEnd,
        EventType::ProcessDcStart,
        EventType::ProcessDcEnd,
        EventType::ThreadStart,
        EventType::ThreadEnd,
        EventType::ThreadDcStart,
        EventType::ThreadDcEnd,
        EventType::CSwitch,
        EventType::ReadyThread,
        EventType::ImageLoad,
        EventType::ImageUnload,
        EventType::ImageDcStart,
        EventType::SampledProfile,
        EventType::SysCallEnter,
        EventType::SysCallExit,
        EventType::ProfileCollectionStart,
        EventType::ProfileCollectionEnd,
        EventType::StackWalk,
        EventType::ImageId,
        EventType::DbgIdRsds,
        EventType::DbgIdIlRsds,
        EventType::RegistryCreate,
        EventType::RegistryOpen,
        EventType::RegistryQuery,
        EventType::RegistrySetValue,
        EventType::RegistryDeleteValue,
        EventType::RegistryQueryValue,
        EventType::RegistryEnumerateKey,
        EventType::RegistryKcbRundownEnd,
        EventType::FileCreate,
        EventType::FileOperationEnd,
        EventType::Dpc,
        EventType::ThreadedDpc,
        EventType::TimerDpc,
        EventType::Isr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::ProcessStart => "Process/Start",
            EventType::ProcessEnd => "Process/End",
            EventType::ProcessDcStart => "Process/DCStart",
            EventType::ProcessDcEnd => "Process/DCEnd",
            EventType::ThreadStart => "Thread/Start",
            EventType::ThreadEnd => "Thread/End",
            EventType::ThreadDcStart => "Thread/DCStart",
            EventType::ThreadDcEnd => "Thread/DCEnd",
            EventType::CSwitch => "Thread/CSwitch",
            EventType::ReadyThread => "Thread/ReadyThread",
            EventType::ImageLoad => "Image/Load",
            EventType::ImageUnload => "Image/Unload",
            EventType::ImageDcStart => "Image/DCStart",
            EventType::SampledProfile => "PerfInfo/SampledProfile",
            EventType::SysCallEnter => "PerfInfo/SysCallEnter",
            EventType::SysCallExit => "PerfInfo/SysCallExit",
            EventType::ProfileCollectionStart => "PerfInfo/CollectionStart",
            EventType::ProfileCollectionEnd => "PerfInfo/CollectionEnd",
            EventType::StackWalk => "StackWalk/Stack",
            EventType::ImageId => "ImageID/Info",
            EventType::DbgIdRsds => "ImageID/DbgID_RSDS",
            EventType::DbgIdIlRsds => "ImageID/DbgID_ILRSDS",
            EventType::RegistryCreate => "Registry/Create",
            EventType::RegistryOpen => "Registry/Open",
            EventType::RegistryQuery => "Registry/Query",
            EventType::RegistrySetValue => "Registry/SetValue",
            EventType::RegistryDeleteValue => "Registry/DeleteValue",
            EventType::RegistryQueryValue => "Registry/QueryValue",
            EventType::RegistryEnumerateKey => "Registry/EnumerateKey",
            EventType::RegistryKcbRundownEnd => "Registry/KCBRundownEnd",
            EventType::FileCreate => "FileIo/Create",
            EventType::FileOperationEnd => "FileIo/OperationEnd",
            EventType::Dpc => "PerfInfo/DPC",
            EventType::ThreadedDpc => "PerfInfo/ThreadedDPC",
            EventType::TimerDpc => "PerfInfo/TimerDPC",
            EventType::Isr => "PerfInfo/ISR",
        }
    }

    /// The id the record carries.
    pub fn id(self) -> RecordId {
        let kernel = |group, opcode| RecordId::Kernel { group, opcode };
        let ktc = |class_type| RecordId::Classic { guid: KERNEL_TRACE_CONTROL_IMAGE_ID, class_type, level: 0 };
        match self {
            EventType::ProcessStart => kernel(GROUP_PROCESS, 1),
            EventType::ProcessEnd => kernel(GROUP_PROCESS, 2),
            EventType::ProcessDcStart => kernel(GROUP_PROCESS, 3),
            EventType::ProcessDcEnd => kernel(GROUP_PROCESS, 4),
            EventType::ThreadStart => kernel(GROUP_THREAD, 1),
            EventType::ThreadEnd => kernel(GROUP_THREAD, 2),
            EventType::ThreadDcStart => kernel(GROUP_THREAD, 3),
            EventType::ThreadDcEnd => kernel(GROUP_THREAD, 4),
            EventType::CSwitch => kernel(GROUP_THREAD, 36),
            EventType::ReadyThread => kernel(GROUP_THREAD, 50),
            EventType::ImageLoad => kernel(GROUP_IMAGE, 10),
            EventType::ImageUnload => kernel(GROUP_IMAGE, 2),
            EventType::ImageDcStart => kernel(GROUP_IMAGE, 3),
            EventType::SampledProfile => kernel(GROUP_PERFINFO, 46),
            EventType::SysCallEnter => kernel(GROUP_PERFINFO, 51),
            EventType::SysCallExit => kernel(GROUP_PERFINFO, 52),
            EventType::ProfileCollectionStart => kernel(GROUP_PERFINFO, 73),
            EventType::ProfileCollectionEnd => kernel(GROUP_PERFINFO, 74),
            EventType::StackWalk => kernel(GROUP_STACKWALK, 32),
            EventType::ImageId => ktc(0),
            EventType::DbgIdRsds => ktc(36),
            EventType::DbgIdIlRsds => ktc(37),
            EventType::RegistryCreate => kernel(GROUP_REGISTRY, 10),
            EventType::RegistryOpen => kernel(GROUP_REGISTRY, 11),
            EventType::RegistryQuery => kernel(GROUP_REGISTRY, 13),
            EventType::RegistrySetValue => kernel(GROUP_REGISTRY, 14),
            EventType::RegistryDeleteValue => kernel(GROUP_REGISTRY, 15),
            EventType::RegistryQueryValue => kernel(GROUP_REGISTRY, 16),
            EventType::RegistryEnumerateKey => kernel(GROUP_REGISTRY, 17),
            EventType::RegistryKcbRundownEnd => kernel(GROUP_REGISTRY, 25),
            EventType::FileCreate => kernel(GROUP_FILE, 64),
            EventType::FileOperationEnd => kernel(GROUP_FILE, 76),
            EventType::Dpc => kernel(GROUP_PERFINFO, 68),
            EventType::ThreadedDpc => kernel(GROUP_PERFINFO, 66),
            EventType::TimerDpc => kernel(GROUP_PERFINFO, 69),
            EventType::Isr => kernel(GROUP_PERFINFO, 67),
        }
    }

    /// The header kind and version Windows 10 logs the event with (see the
    /// module notes); the dispatcher's events take the form `dispatcher` names.
    pub fn header(self, dispatcher: DispatcherHeader) -> (HeaderKind, u16) {
        use HeaderKind::*;
        let kind = match self {
            EventType::ProcessStart | EventType::ProcessEnd => System64,
            EventType::ProcessDcStart | EventType::ProcessDcEnd => PerfInfo64,
            EventType::ThreadStart | EventType::ThreadEnd | EventType::ThreadDcStart | EventType::ThreadDcEnd => {
                System64
            }
            EventType::CSwitch | EventType::ReadyThread => match dispatcher {
                DispatcherHeader::Compact => Compact64,
                DispatcherHeader::PerfInfo => PerfInfo64,
            },
            EventType::ImageLoad | EventType::ImageUnload => System64,
            EventType::ImageDcStart => PerfInfo64,
            EventType::SampledProfile | EventType::SysCallEnter | EventType::SysCallExit => PerfInfo64,
            EventType::ProfileCollectionStart | EventType::ProfileCollectionEnd => System64,
            EventType::StackWalk => PerfInfo64,
            EventType::ImageId | EventType::DbgIdRsds | EventType::DbgIdIlRsds => Full64,
            // Registry events name their thread in the header; FileIo events in their payload (TTID).
            EventType::RegistryCreate
            | EventType::RegistryOpen
            | EventType::RegistryQuery
            | EventType::RegistrySetValue
            | EventType::RegistryDeleteValue
            | EventType::RegistryQueryValue
            | EventType::RegistryEnumerateKey
            | EventType::RegistryKcbRundownEnd => System64,
            EventType::FileCreate | EventType::FileOperationEnd => PerfInfo64,
            EventType::Dpc | EventType::ThreadedDpc | EventType::TimerDpc | EventType::Isr => PerfInfo64,
        };
        (kind, self.version())
    }

    /// The event's version, which picks its schema.
    pub fn version(self) -> u16 {
        match self {
            EventType::ProcessStart | EventType::ProcessEnd | EventType::ProcessDcStart | EventType::ProcessDcEnd => 4,
            EventType::CSwitch => 4,
            EventType::ThreadStart | EventType::ThreadEnd | EventType::ThreadDcStart | EventType::ThreadDcEnd => 3,
            EventType::ImageLoad | EventType::ImageUnload | EventType::ImageDcStart => 3,
            EventType::ProfileCollectionStart | EventType::ProfileCollectionEnd => 3,
            EventType::ReadyThread
            | EventType::SampledProfile
            | EventType::SysCallEnter
            | EventType::SysCallExit
            | EventType::StackWalk
            | EventType::ImageId
            | EventType::DbgIdRsds
            | EventType::DbgIdIlRsds => 2,
            EventType::RegistryCreate
            | EventType::RegistryOpen
            | EventType::RegistryQuery
            | EventType::RegistrySetValue
            | EventType::RegistryDeleteValue
            | EventType::RegistryQueryValue
            | EventType::RegistryEnumerateKey
            | EventType::RegistryKcbRundownEnd => 2,
            EventType::FileCreate | EventType::FileOperationEnd => 3,
            EventType::Dpc | EventType::ThreadedDpc | EventType::TimerDpc | EventType::Isr => 2,
        }
    }

    /// The schema the reader decodes the event with, which the writer lays
    /// its payload out by: the one definition of the event's layout.
    pub fn schema(self) -> &'static [Field] {
        let version = self.version();
        let class = match self.id() {
            RecordId::Kernel { group, opcode } => decode::kernel::lookup(group, opcode, version),
            RecordId::Classic { guid, class_type, .. } => decode::ktc::lookup(&guid, class_type, version),
            RecordId::Event { .. } => None,
        };
        class.map(|c| c.fields).unwrap_or(&[])
    }

    /// The event a record is, when it is one the scenario writes.
    pub fn from_id(id: RecordId) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| match (t.id(), id) {
            (RecordId::Kernel { .. }, RecordId::Kernel { .. }) => t.id() == id,
            (RecordId::Classic { guid: a, class_type: ca, .. }, RecordId::Classic { guid: b, class_type: cb, .. }) => {
                a == b && ca == cb
            }
            _ => false,
        })
    }
}

/// One encoded event: what it is, the ids its header carries and its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub event: EventType,
    /// Header ThreadId/ProcessId; ignored by PERFINFO headers, which have none.
    pub thread_id: u32,
    pub process_id: u32,
    pub payload: Vec<u8>,
}

impl Encoded {
    fn new(event: EventType, thread_id: u32, process_id: u32, payload: Vec<u8>) -> Encoded {
        Encoded { event, thread_id, process_id, payload }
    }

    /// The record to hand to the writer.
    pub fn record(&self, processor: u16, timestamp: i64, dispatcher: DispatcherHeader) -> Record<'_> {
        record(self.event, self.thread_id, self.process_id, &self.payload, processor, timestamp, dispatcher)
    }
}

/// The two headers Windows logs the dispatcher's CSwitch and ReadyThread events with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DispatcherHeader {
    /// SYSTEM_TRACE_HEADER in its compact 64-bit form (HeaderType 4), with thread and process ids.
    #[default]
    Compact,
    /// PERFINFO_TRACE_HEADER, 64-bit (HeaderType 0x11): no thread or process ids,
    /// as some Windows versions log them (and the only form kiinfo reads).
    PerfInfo,
}

/// A record of `event` with its header kind and version; PERFINFO headers drop the ids.
pub fn record(
    event: EventType,
    thread_id: u32,
    process_id: u32,
    payload: &[u8],
    processor: u16,
    timestamp: i64,
    dispatcher: DispatcherHeader,
) -> Record<'_> {
    let (kind, version) = event.header(dispatcher);
    let has_ids = kind != HeaderKind::PerfInfo64;
    Record {
        version,
        marker_flags: DEFAULT_MARKER_FLAGS,
        thread_id: has_ids.then_some(thread_id),
        process_id: has_ids.then_some(process_id),
        processor,
        timestamp,
        ..Record::bare(kind, event.id(), payload)
    }
}

/// A manifest event (EVENT_HEADER, 64-bit), such as the CLR's: provider, id
/// and version name its built-in schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEvent {
    pub provider: Guid,
    pub id: u16,
    pub version: u8,
    pub thread_id: u32,
    pub process_id: u32,
    pub payload: Vec<u8>,
}

impl ManifestEvent {
    pub fn record(&self, processor: u16, timestamp: i64) -> Record<'_> {
        let descriptor = etl::record::EventDescriptor { id: self.id, version: self.version, ..Default::default() };
        Record {
            version: u16::from(self.version),
            thread_id: Some(self.thread_id),
            process_id: Some(self.process_id),
            processor,
            timestamp,
            ..Record::bare(
                HeaderKind::EventHeader64,
                RecordId::Event { provider: self.provider, descriptor },
                &self.payload,
            )
        }
    }
}

/// A CLR event laid out by its built-in schema (decode::clr), at version 2.
fn clr_event(provider: Guid, id: u16, values: Vec<Value>, tid: u32, pid: u32) -> Result<ManifestEvent, PayloadError> {
    const VERSION: u8 = 2;
    let schema = decode::clr::lookup(&provider, id, VERSION)
        .ok_or_else(|| EncodeError { field: String::new(), what: format!("no CLR schema for event {id}") })?;
    let mut payload = Vec::with_capacity(256);
    Encoder::new(POINTER_SIZE).encode(&schema.fields, &values, &mut payload)?;
    Ok(ManifestEvent { provider, id, version: VERSION, thread_id: tid, process_id: pid, payload })
}

/// What a JIT-compiled method's event says of it.
pub struct JitMethodFacts<'a> {
    pub start: u64,
    pub size: u32,
    pub module_id: u64,
    pub namespace: &'a str,
    pub name: &'a str,
    pub signature: &'a str,
}

/// MethodLoadVerbose / MethodUnloadVerbose of the runtime provider, or with
/// `rundown` MethodDCStartVerbose / MethodDCEndVerbose of the rundown provider.
pub fn jit_method(
    unload: bool,
    rundown: bool,
    m: &JitMethodFacts<'_>,
    tid: u32,
    pid: u32,
) -> Result<ManifestEvent, PayloadError> {
    use decode::clr::code_events::{METHOD_LOAD_VERBOSE, METHOD_UNLOAD_VERBOSE};
    let provider = if rundown { decode::clr::RUNDOWN_PROVIDER_GUID } else { decode::clr::PROVIDER_GUID };
    let id = if unload { METHOD_UNLOAD_VERBOSE } else { METHOD_LOAD_VERBOSE };
    let values = vec![
        Value::U64(m.start ^ 0x5a5a_0000),
        Value::U64(m.module_id),
        Value::U64(m.start),
        Value::U32(m.size),
        Value::U32(0x0600_0001),
        Value::U32(1),
        Value::Str(m.namespace.into()),
        Value::Str(m.name.into()),
        Value::Str(m.signature.into()),
        Value::U16(9),
        Value::U64(0),
    ];
    clr_event(provider, id, values, tid, pid)
}

/// The rundown provider's ModuleDCStart: a managed module loaded before the trace.
pub fn managed_module(module_id: u64, il_path: &str, pid: u32) -> Result<ManifestEvent, PayloadError> {
    let values = vec![
        Value::U64(module_id),
        Value::U64(module_id + 0x10),
        Value::U32(8),
        Value::U32(0),
        Value::Str(il_path.into()),
        Value::Str(String::new()),
        Value::U16(9),
        Value::Guid(Guid::ZERO),
        Value::U32(1),
        Value::Str(String::new()),
        Value::Guid(Guid::ZERO),
        Value::U32(0),
        Value::Str(String::new()),
    ];
    clr_event(decode::clr::RUNDOWN_PROVIDER_GUID, decode::clr::code_events::MODULE_DC_START, values, 0, pid)
}

/// Pointer size of every payload the demo writes: a 64-bit kernel.
const POINTER_SIZE: u8 = 8;

/// Why a payload could not be laid out by its schema.
pub type PayloadError = EncodeError;

/// `values`, named as the event's schema names its fields, laid out by that
/// schema; a name out of step with the schema is an error.
fn encode(event: EventType, values: &[(&str, Value)], token_user_sid: u64) -> Result<Vec<u8>, PayloadError> {
    let fields = event.schema();
    let named = fields.iter().filter(|f| !matches!(f.ty, FieldType::Skip(_)));
    for (field, (name, _)) in named.zip(values) {
        if field.name != *name {
            return Err(EncodeError {
                field: name.to_string(),
                what: format!("{} has {} in its place", event.name(), field.name),
            });
        }
    }
    let values: Vec<Value> = values.iter().map(|(_, v)| v.clone()).collect();
    let mut out = Vec::with_capacity(128);
    Encoder { token_user_sid, ..Encoder::new(POINTER_SIZE) }.encode(fields, &values, &mut out)?;
    Ok(out)
}

/// Kernel ANSI strings: what cannot be represented (non-ASCII, NUL) becomes '?'.
fn kernel_ansi(text: &str) -> Value {
    Value::Str(text.chars().map(|c| if c.is_ascii() && c != '\0' { c } else { '?' }).collect())
}

/// UTF-16 strings end at a NUL, so one inside is dropped.
fn utf16(text: &str) -> Value {
    Value::Str(text.chars().filter(|&c| c != '\0').collect())
}

/// The slots of `event`'s fixed-size fields, resolved from its schema once.
fn slots<const N: usize>(event: EventType, names: [&str; N]) -> ([Slot; N], usize) {
    let layout = Layout::new(event.schema(), POINTER_SIZE);
    let slot = |name: &str| {
        let slot = layout.slot(name).filter(|s| s.width > 0);
        slot.unwrap_or_else(|| panic!("{} has no fixed-size field {name}", event.name()))
    };
    (names.map(slot), layout.fixed_len())
}

/// A security identifier: authority and sub-authorities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sid {
    pub authority: u64,
    pub sub_authorities: Vec<u32>,
}

impl Sid {
    /// S-1-5-18, LocalSystem.
    pub fn local_system() -> Sid {
        Sid { authority: 5, sub_authorities: vec![18] }
    }

    /// S-1-5-21-a-b-c-rid, a domain or machine account.
    pub fn account(machine: [u32; 3], rid: u32) -> Sid {
        Sid { authority: 5, sub_authorities: vec![21, machine[0], machine[1], machine[2], rid] }
    }

    /// The SID's binary form: revision, count, 48-bit big-endian authority, sub-authorities.
    pub fn encode(&self) -> Vec<u8> {
        let count = self.sub_authorities.len().min(15);
        let mut out = vec![1, count as u8];
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for sub in &self.sub_authorities[..count] {
            out.extend_from_slice(&sub.to_le_bytes());
        }
        out
    }
}

/// Process_TypeGroup1 version 4 fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessFields<'a> {
    pub unique_process_key: u64,
    pub pid: u32,
    pub parent_pid: u32,
    pub session_id: u32,
    pub exit_status: u32,
    pub directory_table_base: u64,
    pub flags: u32,
    pub user_sid: &'a Sid,
    pub image_file_name: &'a str,
    pub command_line: &'a str,
    pub package_full_name: &'a str,
    pub application_id: &'a str,
}

fn process_values(f: &ProcessFields<'_>) -> Vec<(&'static str, Value)> {
    vec![
        ("UniqueProcessKey", Value::Pointer(f.unique_process_key)),
        ("ProcessID", Value::U32(f.pid)),
        ("ParentID", Value::U32(f.parent_pid)),
        ("SessionID", Value::U32(f.session_id)),
        ("ExitStatus", Value::I32(f.exit_status as i32)),
        ("PageDirectoryBase", Value::Pointer(f.directory_table_base)),
        ("Flags", Value::U32(f.flags)),
        ("UserSID", Value::Sid(f.user_sid.encode())),
        ("ImageFileName", kernel_ansi(f.image_file_name)),
        ("CommandLine", utf16(f.command_line)),
        ("PackageFullName", utf16(f.package_full_name)),
        ("ApplicationID", utf16(f.application_id)),
    ]
}

/// The kernel address of a process's TOKEN_USER copy, which the payload's
/// SID pointer holds (no decoded value shows it; it must not be 0).
fn token_user_sid(f: &ProcessFields<'_>) -> u64 {
    f.unique_process_key.wrapping_add(0x4e0)
}

/// Process Start (1), End (2), DCStart (3) or DCEnd (4). The SID comes as a
/// TOKEN_USER (SID pointer, attributes, padding: 16 bytes with 64-bit
/// pointers) followed by the SID itself, as in the airbus rundown.
/// `header_tid`/`header_pid` are the logging thread (Start: the creator; End: the exiting thread).
pub fn process(
    event: EventType,
    f: &ProcessFields<'_>,
    header_tid: u32,
    header_pid: u32,
) -> Result<Encoded, PayloadError> {
    let payload = encode(event, &process_values(f), token_user_sid(f))?;
    Ok(Encoded::new(event, header_tid, header_pid, payload))
}

/// Thread_TypeGroup1 version 3 fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadFields<'a> {
    pub pid: u32,
    pub tid: u32,
    pub stack_base: u64,
    pub stack_limit: u64,
    pub user_stack_base: u64,
    pub user_stack_limit: u64,
    pub affinity: u64,
    pub win32_start_address: u64,
    pub teb_base: u64,
    pub sub_process_tag: u32,
    pub base_priority: u8,
    pub page_priority: u8,
    pub io_priority: u8,
    pub thread_flags: u8,
    pub thread_name: &'a str,
}

fn thread_values(f: &ThreadFields<'_>) -> Vec<(&'static str, Value)> {
    vec![
        ("ProcessId", Value::U32(f.pid)),
        ("TThreadId", Value::U32(f.tid)),
        ("StackBase", Value::Pointer(f.stack_base)),
        ("StackLimit", Value::Pointer(f.stack_limit)),
        ("UserStackBase", Value::Pointer(f.user_stack_base)),
        ("UserStackLimit", Value::Pointer(f.user_stack_limit)),
        ("Affinity", Value::Pointer(f.affinity)),
        ("Win32StartAddr", Value::Pointer(f.win32_start_address)),
        ("TebBase", Value::Pointer(f.teb_base)),
        ("SubProcessTag", Value::U32(f.sub_process_tag)),
        ("BasePriority", Value::U8(f.base_priority)),
        ("PagePriority", Value::U8(f.page_priority)),
        ("IoPriority", Value::U8(f.io_priority)),
        ("ThreadFlags", Value::U8(f.thread_flags)),
        ("ThreadName", utf16(f.thread_name)),
    ]
}

/// Thread Start (1), End (2), DCStart (3) or DCEnd (4); the header names the thread itself.
pub fn thread(event: EventType, f: &ThreadFields<'_>) -> Result<Encoded, PayloadError> {
    let payload = encode(event, &thread_values(f), 0)?;
    Ok(Encoded::new(event, f.tid, f.pid, payload))
}

/// CSwitch fields (version 4 payload, 24 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CSwitchFields {
    pub new_tid: u32,
    pub old_tid: u32,
    pub new_priority: i8,
    pub old_priority: i8,
    pub previous_cstate: u8,
    pub old_wait_reason: u8,
    pub old_wait_mode: u8,
    pub old_state: u8,
    pub old_wait_ideal_processor: u8,
    pub new_wait_time: u32,
}

fn cswitch_values(f: &CSwitchFields) -> Vec<(&'static str, Value)> {
    vec![
        ("NewThreadId", Value::U32(f.new_tid)),
        ("OldThreadId", Value::U32(f.old_tid)),
        ("NewThreadPriority", Value::I8(f.new_priority)),
        ("OldThreadPriority", Value::I8(f.old_priority)),
        ("PreviousCState", Value::U8(f.previous_cstate)),
        ("SpareByte", Value::I8(0)),
        ("OldThreadWaitReason", Value::I8(f.old_wait_reason as i8)),
        ("OldThreadWaitMode", Value::I8(f.old_wait_mode as i8)),
        ("OldThreadState", Value::I8(f.old_state as i8)),
        ("OldThreadWaitIdealProcessor", Value::I8(f.old_wait_ideal_processor as i8)),
        ("NewThreadWaitTime", Value::U32(f.new_wait_time)),
        ("Reserved", Value::U32(0)),
    ]
}

/// CSwitch (group 5, opcode 36). The compact header carries the new thread and its process.
pub fn cswitch(f: &CSwitchFields, new_pid: u32) -> Result<Encoded, PayloadError> {
    Ok(Encoded::new(EventType::CSwitch, f.new_tid, new_pid, encode(EventType::CSwitch, &cswitch_values(f), 0)?))
}

/// `len` zero bytes in a reused buffer, for the slots to fill.
fn zeroed(out: &mut Vec<u8>, len: usize) -> &mut [u8] {
    out.clear();
    out.resize(len, 0);
    out
}

/// The CSwitch payload into a reused buffer: what `cswitch` lays out, by
/// offsets resolved from the schema once (tens of millions of these make a big trace).
pub fn cswitch_into(out: &mut Vec<u8>, f: &CSwitchFields) {
    static SLOTS: OnceLock<([Slot; 10], usize)> = OnceLock::new();
    let ([new_tid, old_tid, new_prio, old_prio, cstate, reason, mode, state, ideal, wait], len) =
        SLOTS.get_or_init(|| {
            slots(
                EventType::CSwitch,
                [
                    "NewThreadId",
                    "OldThreadId",
                    "NewThreadPriority",
                    "OldThreadPriority",
                    "PreviousCState",
                    "OldThreadWaitReason",
                    "OldThreadWaitMode",
                    "OldThreadState",
                    "OldThreadWaitIdealProcessor",
                    "NewThreadWaitTime",
                ],
            )
        });
    let out = zeroed(out, *len);
    new_tid.put(out, u64::from(f.new_tid));
    old_tid.put(out, u64::from(f.old_tid));
    new_prio.put(out, u64::from(f.new_priority as u8));
    old_prio.put(out, u64::from(f.old_priority as u8));
    cstate.put(out, u64::from(f.previous_cstate));
    reason.put(out, u64::from(f.old_wait_reason));
    mode.put(out, u64::from(f.old_wait_mode));
    state.put(out, u64::from(f.old_state));
    ideal.put(out, u64::from(f.old_wait_ideal_processor));
    wait.put(out, u64::from(f.new_wait_time));
}

/// ReadyThread fields: the awakened thread, adjust reason and increment, flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReadyThreadFields {
    pub awakened_tid: u32,
    pub adjust_reason: u8,
    pub adjust_increment: i8,
    pub flags: u8,
}

fn ready_thread_values(f: &ReadyThreadFields) -> Vec<(&'static str, Value)> {
    vec![
        ("TThreadId", Value::U32(f.awakened_tid)),
        ("AdjustReason", Value::I8(f.adjust_reason as i8)),
        ("AdjustIncrement", Value::I8(f.adjust_increment)),
        ("Flag", Value::I8(f.flags as i8)),
        ("Reserved", Value::I8(0)),
    ]
}

/// ReadyThread (group 5, opcode 50). The header names the thread that readied it.
pub fn ready_thread(f: &ReadyThreadFields, readier_tid: u32, readier_pid: u32) -> Result<Encoded, PayloadError> {
    let payload = encode(EventType::ReadyThread, &ready_thread_values(f), 0)?;
    Ok(Encoded::new(EventType::ReadyThread, readier_tid, readier_pid, payload))
}

/// A Registry_TypeGroup1 event (group 9, version 2), logged by thread `tid`
/// when the operation completes: the key by its KCB address (0: none) and
/// the name relative to it (or a value's name).
pub fn registry(
    event: EventType,
    initial_time: i64,
    status: u32,
    kcb: u64,
    name: &str,
    tid: u32,
    pid: u32,
) -> Result<Encoded, PayloadError> {
    let values = registry_values(initial_time, status, kcb, name);
    Ok(Encoded::new(event, tid, pid, encode(event, &values, 0)?))
}

fn registry_values(initial_time: i64, status: u32, kcb: u64, name: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("InitialTime", Value::I64(initial_time)),
        ("Status", Value::Hex(u64::from(status))),
        ("Index", Value::U32(0)),
        ("KeyHandle", Value::Pointer(kcb)),
        ("KeyName", utf16(name)),
    ]
}

/// FileIo_Create version 3: thread `tid` opens `path` (IRP `irp`).
pub fn file_create(irp: u64, file_object: u64, tid: u32, path: &str) -> Result<Encoded, PayloadError> {
    let values = file_create_values(irp, file_object, tid, path);
    Ok(Encoded::new(EventType::FileCreate, tid, 0, encode(EventType::FileCreate, &values, 0)?))
}

fn file_create_values(irp: u64, file_object: u64, tid: u32, path: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("IrpPtr", Value::Pointer(irp)),
        ("FileObject", Value::Pointer(file_object)),
        ("TTID", Value::U32(tid)),
        ("CreateOptions", Value::Hex(0x0100_0060)),
        ("FileAttributes", Value::Hex(0x80)),
        ("ShareAccess", Value::Hex(3)),
        ("OpenPath", utf16(path)),
    ]
}

/// FileIo_OpEnd: the request `irp` completed with `status`.
pub fn file_operation_end(irp: u64, status: u32) -> Result<Encoded, PayloadError> {
    let values = file_operation_end_values(irp, status);
    Ok(Encoded::new(EventType::FileOperationEnd, 0, 0, encode(EventType::FileOperationEnd, &values, 0)?))
}

fn file_operation_end_values(irp: u64, status: u32) -> Vec<(&'static str, Value)> {
    vec![("IrpPtr", Value::Pointer(irp)), ("ExtraInfo", Value::Pointer(0)), ("NtStatus", Value::Hex(u64::from(status)))]
}

/// A DPC (version 2: DPC, ThreadedDPC or TimerDPC) entered at `initial_time` (raw ticks), logged when it returns.
pub fn dpc(event: EventType, initial_time: i64, routine: u64) -> Result<Encoded, PayloadError> {
    Ok(Encoded::new(event, 0, 0, encode(event, &dpc_values(initial_time, routine), 0)?))
}

fn dpc_values(initial_time: i64, routine: u64) -> Vec<(&'static str, Value)> {
    vec![("InitialTime", Value::U64(initial_time as u64)), ("Routine", Value::Pointer(routine))]
}

/// An ISR (version 2) entered at `initial_time` (raw ticks), logged when it returns.
pub fn isr(initial_time: i64, routine: u64, vector: u16) -> Result<Encoded, PayloadError> {
    Ok(Encoded::new(EventType::Isr, 0, 0, encode(EventType::Isr, &isr_values(initial_time, routine, vector), 0)?))
}

fn isr_values(initial_time: i64, routine: u64, vector: u16) -> Vec<(&'static str, Value)> {
    vec![
        ("InitialTime", Value::U64(initial_time as u64)),
        ("Routine", Value::Pointer(routine)),
        ("ReturnValue", Value::U8(1)),
        ("Vector", Value::U16(vector)),
        ("Reserved", Value::U8(0)),
    ]
}

/// Image_Load version 3 fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFields<'a> {
    pub image_base: u64,
    pub image_size: u64,
    pub pid: u32,
    pub checksum: u32,
    pub time_date_stamp: u32,
    pub signature_level: u8,
    pub signature_type: u8,
    pub default_base: u64,
    pub file_name: &'a str,
}

fn image_values(f: &ImageFields<'_>) -> Vec<(&'static str, Value)> {
    vec![
        ("ImageBase", Value::Pointer(f.image_base)),
        ("ImageSize", Value::U64(f.image_size)),
        ("ProcessId", Value::U32(f.pid)),
        ("ImageChecksum", Value::U32(f.checksum)),
        ("TimeDateStamp", Value::I32(f.time_date_stamp as i32)),
        ("SignatureLevel", Value::U8(f.signature_level)),
        ("SignatureType", Value::U8(f.signature_type)),
        ("Reserved0", Value::U16(0)),
        ("DefaultBase", Value::Pointer(f.default_base)),
        ("Reserved1", Value::U32(0)),
        ("Reserved2", Value::U32(0)),
        ("Reserved3", Value::U32(0)),
        ("Reserved4", Value::U32(0)),
        ("FileName", utf16(f.file_name)),
    ]
}

/// Image Load (10), Unload (2) or DCStart (3).
pub fn image(event: EventType, f: &ImageFields<'_>, header_tid: u32, header_pid: u32) -> Result<Encoded, PayloadError> {
    Ok(Encoded::new(event, header_tid, header_pid, encode(event, &image_values(f), 0)?))
}

fn sampled_profile_values(instruction_pointer: u64, tid: u32) -> Vec<(&'static str, Value)> {
    vec![
        ("InstructionPointer", Value::Pointer(instruction_pointer)),
        ("ThreadId", Value::U32(tid)),
        ("Count", Value::U16(1)),
        ("ExecutingDPC", Value::Bool(false)),
        ("ExecutingISR", Value::Bool(false)),
        ("Priority", Value::U32(0)),
        ("Rank", Value::U8(0)),
    ]
}

/// SampledProfile (group 15, opcode 46): one sample of `tid` at `instruction_pointer`.
pub fn sampled_profile(instruction_pointer: u64, tid: u32) -> Result<Encoded, PayloadError> {
    let payload = encode(EventType::SampledProfile, &sampled_profile_values(instruction_pointer, tid), 0)?;
    Ok(Encoded::new(EventType::SampledProfile, 0, 0, payload))
}

/// What `sampled_profile` lays out, into a reused buffer by resolved offsets.
pub fn sampled_profile_into(out: &mut Vec<u8>, instruction_pointer: u64, tid: u32) {
    static SLOTS: OnceLock<([Slot; 3], usize)> = OnceLock::new();
    let ([ip, thread, count], len) =
        SLOTS.get_or_init(|| slots(EventType::SampledProfile, ["InstructionPointer", "ThreadId", "Count"]));
    let out = zeroed(out, *len);
    ip.put(out, instruction_pointer);
    thread.put(out, u64::from(tid));
    count.put(out, 1);
}

/// SysCallEnter (group 15, opcode 51): the service routine's address.
pub fn syscall_enter(syscall_address: u64) -> Result<Encoded, PayloadError> {
    let payload = encode(EventType::SysCallEnter, &[("SysCallAddress", Value::Pointer(syscall_address))], 0)?;
    Ok(Encoded::new(EventType::SysCallEnter, 0, 0, payload))
}

/// What `syscall_enter` lays out, into a reused buffer by resolved offsets.
pub fn syscall_enter_into(out: &mut Vec<u8>, syscall_address: u64) {
    static SLOTS: OnceLock<([Slot; 1], usize)> = OnceLock::new();
    let ([address], len) = SLOTS.get_or_init(|| slots(EventType::SysCallEnter, ["SysCallAddress"]));
    address.put(zeroed(out, *len), syscall_address);
}

/// SysCallExit (group 15, opcode 52): the NTSTATUS the call returned.
pub fn syscall_exit(nt_status: u32) -> Result<Encoded, PayloadError> {
    let payload = encode(EventType::SysCallExit, &[("SysCallNtStatus", Value::Hex(u64::from(nt_status)))], 0)?;
    Ok(Encoded::new(EventType::SysCallExit, 0, 0, payload))
}

/// What `syscall_exit` lays out, into a reused buffer by resolved offsets.
pub fn syscall_exit_into(out: &mut Vec<u8>, nt_status: u32) {
    static SLOTS: OnceLock<([Slot; 1], usize)> = OnceLock::new();
    let ([status], len) = SLOTS.get_or_init(|| slots(EventType::SysCallExit, ["SysCallNtStatus"]));
    status.put(zeroed(out, *len), u64::from(nt_status));
}

/// Profile CollectionStart (73) / CollectionEnd (74), version 3: SampleSource,
/// NewInterval, OldInterval (100 ns units), SourceName.
pub fn profile_interval(
    event: EventType,
    source: u32,
    new_interval: u32,
    old_interval: u32,
    source_name: &str,
) -> Result<Encoded, PayloadError> {
    let values = [
        ("SampleSource", Value::U32(source)),
        ("NewInterval", Value::U32(new_interval)),
        ("OldInterval", Value::U32(old_interval)),
        ("SourceName", utf16(source_name)),
    ];
    Ok(Encoded::new(event, 0, 0, encode(event, &values, 0)?))
}

fn stack_walk_values(event_timestamp: i64, pid: u32, tid: u32, frames: &[u64]) -> Vec<(&'static str, Value)> {
    vec![
        ("EventTimeStamp", Value::U64(event_timestamp as u64)),
        ("StackProcess", Value::U32(pid)),
        ("StackThread", Value::U32(tid)),
        ("Stack", Value::Array(frames.iter().map(|&f| Value::Pointer(f)).collect())),
    ]
}

/// StackWalk_Event (group 24, opcode 32): the stamped event's timestamp, its
/// process and thread, then the frames, innermost first.
pub fn stack_walk(event_timestamp: i64, pid: u32, tid: u32, frames: &[u64]) -> Result<Encoded, PayloadError> {
    let payload = encode(EventType::StackWalk, &stack_walk_values(event_timestamp, pid, tid, frames), 0)?;
    Ok(Encoded::new(EventType::StackWalk, 0, 0, payload))
}

/// What `stack_walk` lays out, into a reused buffer by resolved offsets.
pub fn stack_walk_into(out: &mut Vec<u8>, event_timestamp: i64, pid: u32, tid: u32, frames: &[u64]) {
    static SLOTS: OnceLock<([Slot; 3], usize)> = OnceLock::new();
    let ([stamp, process, thread], len) =
        SLOTS.get_or_init(|| slots(EventType::StackWalk, ["EventTimeStamp", "StackProcess", "StackThread"]));
    let fixed = zeroed(out, *len);
    stamp.put(fixed, event_timestamp as u64);
    process.put(fixed, u64::from(pid));
    thread.put(fixed, u64::from(tid));
    // The rest is the frames, pointer-sized.
    for frame in frames {
        out.extend_from_slice(&frame.to_le_bytes()[..usize::from(POINTER_SIZE)]);
    }
}

/// KernelTraceControl ImageID (class 0): ImageBase, ImageSize (pointer
/// sized), ProcessId, TimeDateStamp, OriginalFileName.
pub fn image_id(
    image_base: u64,
    image_size: u64,
    pid: u32,
    time_date_stamp: u32,
    original_file_name: &str,
) -> Result<Encoded, PayloadError> {
    let values = [
        ("ImageBase", Value::Pointer(image_base)),
        ("ImageSize", Value::U64(image_size)),
        ("ProcessID", Value::U32(pid)),
        ("TimeDateStamp", Value::I32(time_date_stamp as i32)),
        ("OriginalFileName", utf16(original_file_name)),
    ];
    Ok(Encoded::new(EventType::ImageId, u32::MAX, pid, encode(EventType::ImageId, &values, 0)?))
}

/// KernelTraceControl DbgID_RSDS (class 36): ImageBase, ProcessId, the PDB
/// GUID, Age, PdbFileName (ANSI).
pub fn dbgid_rsds(
    image_base: u64,
    pid: u32,
    pdb_guid: Guid,
    age: u32,
    pdb_file_name: &str,
) -> Result<Encoded, PayloadError> {
    rsds(EventType::DbgIdRsds, image_base, pid, pdb_guid, age, pdb_file_name)
}

/// KernelTraceControl DbgID_ILRSDS (class 37): a managed image's IL PDB, laid out as DbgID_RSDS.
pub fn dbgid_ilrsds(
    image_base: u64,
    pid: u32,
    pdb_guid: Guid,
    age: u32,
    pdb_file_name: &str,
) -> Result<Encoded, PayloadError> {
    rsds(EventType::DbgIdIlRsds, image_base, pid, pdb_guid, age, pdb_file_name)
}

fn rsds(
    event: EventType,
    image_base: u64,
    pid: u32,
    pdb_guid: Guid,
    age: u32,
    pdb_file_name: &str,
) -> Result<Encoded, PayloadError> {
    let values = [
        ("ImageBase", Value::Pointer(image_base)),
        ("ProcessID", Value::U32(pid)),
        ("GuidSig", Value::Guid(pdb_guid)),
        ("Age", Value::U32(age)),
        ("PDBFileName", kernel_ansi(pdb_file_name)),
    ];
    Ok(Encoded::new(event, u32::MAX, pid, encode(event, &values, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use decode::schema::decode_payload;

    fn sample_thread() -> ThreadFields<'static> {
        ThreadFields {
            pid: 4,
            tid: 12,
            stack_base: 0xFFFF_F806_4000_8000,
            stack_limit: 0xFFFF_F806_4000_2000,
            user_stack_base: 0,
            user_stack_limit: 0,
            affinity: 0xF,
            win32_start_address: 0x7FF6_1234_0000,
            teb_base: 0,
            sub_process_tag: 0,
            base_priority: 13,
            page_priority: 5,
            io_priority: 2,
            thread_flags: 0,
            thread_name: "worker",
        }
    }

    fn sample_image() -> ImageFields<'static> {
        ImageFields {
            image_base: 0x7762_0000,
            image_size: 0x19a000,
            pid: 4,
            checksum: 0x19ff10,
            time_date_stamp: 0x9000_0001,
            signature_level: 0x0c,
            signature_type: 2,
            default_base: 0x7762_0000,
            file_name: "\\Windows\\ntdll.dll",
        }
    }

    fn sample_cswitch() -> CSwitchFields {
        CSwitchFields {
            new_tid: 100,
            old_tid: 200,
            new_priority: -2,
            old_priority: 9,
            previous_cstate: 1,
            old_wait_reason: 32,
            old_wait_mode: 1,
            old_state: 5,
            old_wait_ideal_processor: 3,
            new_wait_time: 77,
        }
    }

    /// Every event type as its builder encodes it, with the values it was given.
    fn every_event() -> Vec<(Encoded, Vec<(&'static str, Value)>)> {
        let sid = Sid::account([1, 2, 3], 1001);
        let process_fields = ProcessFields {
            unique_process_key: 0xFFFF_B80C_4000_4000,
            pid: 4321,
            parent_pid: 4,
            session_id: 1,
            exit_status: 0xC000_0005,
            directory_table_base: 0x1ad000,
            flags: 2,
            user_sid: &sid,
            image_file_name: "server.exe",
            command_line: "server.exe --port 80",
            package_full_name: "",
            application_id: "app",
        };
        let ready = ReadyThreadFields { awakened_tid: 7, adjust_reason: 2, adjust_increment: -1, flags: 1 };
        let frames = [0x7FF6_0000_1000, 0xFFFF_F806_0000_2000, 0x10];
        let guid = Guid::from_fields(1, 2, 3, [4, 5, 6, 7, 8, 9, 10, 11]);
        let interval = |event| {
            let values = vec![
                ("SampleSource", Value::U32(0)),
                ("NewInterval", Value::U32(10000)),
                ("OldInterval", Value::U32(5000)),
                ("SourceName", Value::Str("Timer".into())),
            ];
            (profile_interval(event, 0, 10000, 5000, "Timer").unwrap(), values)
        };
        let mut all = Vec::new();
        for event in
            [EventType::ProcessStart, EventType::ProcessEnd, EventType::ProcessDcStart, EventType::ProcessDcEnd]
        {
            all.push((process(event, &process_fields, 1, 2).unwrap(), process_values(&process_fields)));
        }
        for event in [EventType::ThreadStart, EventType::ThreadEnd, EventType::ThreadDcStart, EventType::ThreadDcEnd] {
            all.push((thread(event, &sample_thread()).unwrap(), thread_values(&sample_thread())));
        }
        all.push((cswitch(&sample_cswitch(), 9).unwrap(), cswitch_values(&sample_cswitch())));
        all.push((ready_thread(&ready, 1, 2).unwrap(), ready_thread_values(&ready)));
        for event in [EventType::ImageLoad, EventType::ImageUnload, EventType::ImageDcStart] {
            all.push((image(event, &sample_image(), 0, 4).unwrap(), image_values(&sample_image())));
        }
        all.push((sampled_profile(0x7FF6_0000_1234, 12).unwrap(), sampled_profile_values(0x7FF6_0000_1234, 12)));
        all.push((
            syscall_enter(0xFFFF_F806_1000_0000).unwrap(),
            vec![("SysCallAddress", Value::Pointer(0xFFFF_F806_1000_0000))],
        ));
        all.push((syscall_exit(0xC000_0034).unwrap(), vec![("SysCallNtStatus", Value::Hex(0xC000_0034))]));
        all.push(interval(EventType::ProfileCollectionStart));
        all.push(interval(EventType::ProfileCollectionEnd));
        all.push((stack_walk(-5, 4321, 12, &frames).unwrap(), stack_walk_values(-5, 4321, 12, &frames)));
        all.push((
            image_id(0x7771_0000, 0x157000, 4, 0x5010_ae7a, "ntdll.dll").unwrap(),
            vec![
                ("ImageBase", Value::Pointer(0x7771_0000)),
                ("ImageSize", Value::U64(0x157000)),
                ("ProcessID", Value::U32(4)),
                ("TimeDateStamp", Value::I32(0x5010_ae7a)),
                ("OriginalFileName", Value::Str("ntdll.dll".into())),
            ],
        ));
        all.push((
            dbgid_rsds(0x7771_0000, 4, guid, 2, "wntdll.pdb").unwrap(),
            vec![
                ("ImageBase", Value::Pointer(0x7771_0000)),
                ("ProcessID", Value::U32(4)),
                ("GuidSig", Value::Guid(guid)),
                ("Age", Value::U32(2)),
                ("PDBFileName", Value::Str("wntdll.pdb".into())),
            ],
        ));
        all.push((
            dbgid_ilrsds(0x7ff9_0000, 40, guid, 1, "App.pdb").unwrap(),
            vec![
                ("ImageBase", Value::Pointer(0x7ff9_0000)),
                ("ProcessID", Value::U32(40)),
                ("GuidSig", Value::Guid(guid)),
                ("Age", Value::U32(1)),
                ("PDBFileName", Value::Str("App.pdb".into())),
            ],
        ));
        let key = "\\REGISTRY\\MACHINE\\SOFTWARE";
        for event in EventType::ALL.into_iter().filter(|e| e.name().starts_with("Registry/")) {
            let encoded = registry(event, 77, 0xC000_0034, 0xFFFF_C001_0000_0100, key, 12, 4).unwrap();
            all.push((encoded, registry_values(77, 0xC000_0034, 0xFFFF_C001_0000_0100, key)));
        }
        let path = "\\Device\\HarddiskVolume3\\x.dat";
        all.push((file_create(0x10, 0x20, 12, path).unwrap(), file_create_values(0x10, 0x20, 12, path)));
        all.push((file_operation_end(0x10, 0xC000_0022).unwrap(), file_operation_end_values(0x10, 0xC000_0022)));
        for event in [EventType::Dpc, EventType::ThreadedDpc, EventType::TimerDpc] {
            all.push((dpc(event, 1234, 0xFFFF_F806_1000_0040).unwrap(), dpc_values(1234, 0xFFFF_F806_1000_0040)));
        }
        all.push((isr(99, 0xFFFF_F806_1000_0080, 0x81).unwrap(), isr_values(99, 0xFFFF_F806_1000_0080, 0x81)));
        all
    }

    /// Values the reader names from a value map compare by their number.
    fn plain(value: Value) -> Value {
        match value {
            Value::Enum { value, .. } => Value::U32(value as u32),
            other => other,
        }
    }

    #[test]
    fn every_event_type_round_trips_through_its_schema() {
        let all = every_event();
        for t in EventType::ALL {
            assert!(all.iter().any(|(e, _)| e.event == t), "{} is not covered", t.name());
        }
        for (encoded, values) in all {
            let t = encoded.event;
            let decoded = decode_payload(t.schema(), &encoded.payload, POINTER_SIZE);
            let decoded: Vec<(String, Value)> = decoded.into_iter().map(|(n, v)| (n.to_string(), plain(v))).collect();
            let given: Vec<(String, Value)> = values.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
            assert_eq!(decoded, given, "{}", t.name());
        }
    }

    #[test]
    fn hot_paths_lay_out_what_the_schema_walk_does() {
        let mut out = Vec::new();
        cswitch_into(&mut out, &sample_cswitch());
        assert_eq!(out, cswitch(&sample_cswitch(), 0).unwrap().payload);
        sampled_profile_into(&mut out, 0x7FF6_0000_1234, 12);
        assert_eq!(out, sampled_profile(0x7FF6_0000_1234, 12).unwrap().payload);
        syscall_enter_into(&mut out, 0xFFFF_F806_1000_0000);
        assert_eq!(out, syscall_enter(0xFFFF_F806_1000_0000).unwrap().payload);
        syscall_exit_into(&mut out, 0xC000_0034);
        assert_eq!(out, syscall_exit(0xC000_0034).unwrap().payload);
        let frames = [1, 2, 3];
        stack_walk_into(&mut out, 5, 1, 2, &frames);
        assert_eq!(out, stack_walk(5, 1, 2, &frames).unwrap().payload);
    }

    #[test]
    fn values_out_of_step_with_the_schema_are_refused() {
        let err = encode(EventType::SysCallEnter, &[("Address", Value::Pointer(1))], 0).unwrap_err();
        assert!(err.to_string().contains("SysCallAddress"), "{err}");
        let mut values = cswitch_values(&sample_cswitch());
        values.swap(0, 1);
        assert!(encode(EventType::CSwitch, &values, 0).is_err());
    }

    #[test]
    fn kernel_strings_replace_what_they_cannot_hold() {
        let sid = Sid::local_system();
        let f = ProcessFields {
            unique_process_key: 1,
            pid: 1,
            parent_pid: 0,
            session_id: 0,
            exit_status: 0,
            directory_table_base: 0,
            flags: 0,
            user_sid: &sid,
            image_file_name: "café\0.exe",
            command_line: "a\0b",
            package_full_name: "",
            application_id: "",
        };
        let e = process(EventType::ProcessStart, &f, 0, 0).unwrap();
        let v = decode_payload(EventType::ProcessStart.schema(), &e.payload, 8);
        assert_eq!(v[8].1, Value::Str("caf??.exe".into()));
        assert_eq!(v[9].1, Value::Str("ab".into()));
    }

    /// The Idle process rundown of ShutdownPerfDiagLogger.etl, byte for byte
    /// except the kernel addresses.
    #[test]
    fn idle_process_rundown_matches_the_airbus_trace() {
        let sid = Sid::local_system();
        let f = ProcessFields {
            unique_process_key: 0,
            pid: 0,
            parent_pid: 0,
            session_id: u32::MAX,
            exit_status: 0,
            directory_table_base: 0x1ad000,
            flags: 0,
            user_sid: &sid,
            image_file_name: "Idle",
            command_line: "",
            package_full_name: "",
            application_id: "",
        };
        let e = process(EventType::ProcessDcStart, &f, 0, 0).unwrap();
        assert_eq!(e.payload.len(), 75);
        assert_eq!(&e.payload[52..64], &[1, 1, 0, 0, 0, 0, 0, 5, 0x12, 0, 0, 0]);
        assert_eq!(&e.payload[64..69], b"Idle\0");
        assert_eq!(&e.payload[8..24], &[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    }

    #[test]
    fn fixed_size_payloads_have_the_sizes_of_real_records() {
        let thread_fields = ThreadFields { thread_name: "", ..sample_thread() };
        assert_eq!(thread(EventType::ThreadDcStart, &thread_fields).unwrap().payload.len(), 74);
        assert_eq!(cswitch(&CSwitchFields::default(), 0).unwrap().payload.len(), 24);
        assert_eq!(ready_thread(&ReadyThreadFields::default(), 0, 0).unwrap().payload.len(), 8);
        assert_eq!(sampled_profile(1, 2).unwrap().payload.len(), 16);
        assert_eq!(syscall_enter(1).unwrap().payload.len(), 8);
        assert_eq!(syscall_exit(1).unwrap().payload.len(), 4);
        let interval = profile_interval(EventType::ProfileCollectionStart, 0, 10000, 10000, "Timer").unwrap();
        assert_eq!(interval.payload.len(), 24);
        assert_eq!(stack_walk(5, 1, 2, &[1, 2, 3]).unwrap().payload.len(), 40);
        // ntdll.dll in net.4.5.2.x64.etl: 44 and 43 bytes.
        assert_eq!(image_id(0x7771_0000, 0x157000, 4, 0x5010_ae7a, "ntdll.dll").unwrap().payload.len(), 44);
        assert_eq!(dbgid_rsds(0x7771_0000, 4, Guid::ZERO, 2, "wntdll.pdb").unwrap().payload.len(), 43);
    }

    #[test]
    fn image_payload_puts_the_file_name_at_56() {
        let e = image(EventType::ImageDcStart, &sample_image(), 0, 0).unwrap();
        assert_eq!(&e.payload[28..32], &[0x0c, 0x02, 0, 0]);
        assert_eq!(&e.payload[56..58], &[b'\\', 0]);
        assert_eq!(e.payload.len(), 56 + 2 * 18 + 2);
    }

    #[test]
    fn every_event_type_maps_back_from_its_id() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_id(t.id()), Some(t), "{}", t.name());
        }
    }

    #[test]
    fn only_the_dispatcher_events_change_header_with_the_option() {
        for t in EventType::ALL {
            let (compact, perfinfo) = (t.header(DispatcherHeader::Compact), t.header(DispatcherHeader::PerfInfo));
            let dispatcher = matches!(t, EventType::CSwitch | EventType::ReadyThread);
            assert_eq!(compact != perfinfo, dispatcher, "{}", t.name());
        }
        assert_eq!(EventType::CSwitch.header(DispatcherHeader::PerfInfo), (HeaderKind::PerfInfo64, 4));
    }
}
