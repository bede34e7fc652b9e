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
use etl::record::Record;
use etl::writer::DEFAULT_MARKER_FLAGS;
use etl::{Guid, HeaderKind, RecordId};

pub const GROUP_PROCESS: u8 = 3;
pub const GROUP_THREAD: u8 = 5;
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
}

impl EventType {
    pub const ALL: [EventType; 21] = [
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
        }
    }

    /// The header kind and version Windows 10 logs the event with (see the module notes).
    pub fn header(self) -> (HeaderKind, u16) {
        use HeaderKind::*;
        match self {
            EventType::ProcessStart | EventType::ProcessEnd => (System64, 4),
            EventType::ProcessDcStart | EventType::ProcessDcEnd => (PerfInfo64, 4),
            EventType::ThreadStart | EventType::ThreadEnd | EventType::ThreadDcStart | EventType::ThreadDcEnd => {
                (System64, 3)
            }
            EventType::CSwitch => (Compact64, 4),
            EventType::ReadyThread => (Compact64, 2),
            EventType::ImageLoad | EventType::ImageUnload => (System64, 3),
            EventType::ImageDcStart => (PerfInfo64, 3),
            EventType::SampledProfile | EventType::SysCallEnter | EventType::SysCallExit => (PerfInfo64, 2),
            EventType::ProfileCollectionStart | EventType::ProfileCollectionEnd => (System64, 3),
            EventType::StackWalk => (PerfInfo64, 2),
            EventType::ImageId | EventType::DbgIdRsds => (Full64, 2),
        }
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
    pub fn record(&self, processor: u16, timestamp: i64) -> Record<'_> {
        record(self.event, self.thread_id, self.process_id, &self.payload, processor, timestamp)
    }
}

/// A record of `event` with its header kind and version; PERFINFO headers drop the ids.
pub fn record(
    event: EventType,
    thread_id: u32,
    process_id: u32,
    payload: &[u8],
    processor: u16,
    timestamp: i64,
) -> Record<'_> {
    let (kind, version) = event.header();
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

/// Little-endian payload builder.
#[derive(Default)]
struct Payload(Vec<u8>);

impl Payload {
    fn with_capacity(n: usize) -> Payload {
        Payload(Vec::with_capacity(n))
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    fn ansiz(mut self, text: &str) -> Self {
        // Kernel ANSI strings: non-ASCII cannot be represented, so it becomes '?'.
        self.0.extend(text.chars().map(|c| if c.is_ascii() && c != '\0' { c as u8 } else { b'?' }));
        self.0.push(0);
        self
    }
    fn utf16z(mut self, text: &str) -> Self {
        for unit in text.encode_utf16().filter(|&u| u != 0) {
            self.0.extend_from_slice(&unit.to_le_bytes());
        }
        self.0.extend_from_slice(&[0, 0]);
        self
    }
    fn done(self) -> Vec<u8> {
        self.0
    }
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

/// Process Start (1), End (2), DCStart (3) or DCEnd (4). The SID comes as a
/// TOKEN_USER (SID pointer, attributes, padding: 16 bytes with 64-bit
/// pointers) followed by the SID itself, as in the airbus rundown.
/// `header_tid`/`header_pid` are the logging thread (Start: the creator; End: the exiting thread).
pub fn process(event: EventType, f: &ProcessFields<'_>, header_tid: u32, header_pid: u32) -> Encoded {
    let payload = Payload::with_capacity(128)
        .u64(f.unique_process_key)
        .u32(f.pid)
        .u32(f.parent_pid)
        .u32(f.session_id)
        .u32(f.exit_status)
        .u64(f.directory_table_base)
        .u32(f.flags)
        .u64(f.unique_process_key.wrapping_add(0x4e0))
        .u32(0)
        .u32(0)
        .bytes(&f.user_sid.encode())
        .ansiz(f.image_file_name)
        .utf16z(f.command_line)
        .utf16z(f.package_full_name)
        .utf16z(f.application_id)
        .done();
    Encoded::new(event, header_tid, header_pid, payload)
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

/// Thread Start (1), End (2), DCStart (3) or DCEnd (4); the header names the thread itself.
pub fn thread(event: EventType, f: &ThreadFields<'_>) -> Encoded {
    let payload = Payload::with_capacity(80)
        .u32(f.pid)
        .u32(f.tid)
        .u64(f.stack_base)
        .u64(f.stack_limit)
        .u64(f.user_stack_base)
        .u64(f.user_stack_limit)
        .u64(f.affinity)
        .u64(f.win32_start_address)
        .u64(f.teb_base)
        .u32(f.sub_process_tag)
        .u8(f.base_priority)
        .u8(f.page_priority)
        .u8(f.io_priority)
        .u8(f.thread_flags)
        .utf16z(f.thread_name)
        .done();
    Encoded::new(event, f.tid, f.pid, payload)
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

/// CSwitch (group 5, opcode 36). The compact header carries the new thread and its process.
pub fn cswitch(f: &CSwitchFields, new_pid: u32) -> Encoded {
    Encoded::new(EventType::CSwitch, f.new_tid, new_pid, cswitch_payload(f).to_vec())
}

/// The 24 bytes of a version 4 CSwitch payload.
pub fn cswitch_payload(f: &CSwitchFields) -> [u8; 24] {
    let payload = Payload::with_capacity(24)
        .u32(f.new_tid)
        .u32(f.old_tid)
        .u8(f.new_priority as u8)
        .u8(f.old_priority as u8)
        .u8(f.previous_cstate)
        .u8(0)
        .u8(f.old_wait_reason)
        .u8(f.old_wait_mode)
        .u8(f.old_state)
        .u8(f.old_wait_ideal_processor)
        .u32(f.new_wait_time)
        .u32(0)
        .done();
    payload.try_into().unwrap_or([0; 24])
}

/// ReadyThread (group 5, opcode 50): the awakened thread, adjust reason and
/// increment, flags, reserved. The header names the thread that readied it.
pub fn ready_thread(
    awakened_tid: u32,
    adjust_reason: u8,
    adjust_increment: i8,
    flags: u8,
    readier_tid: u32,
    readier_pid: u32,
) -> Encoded {
    let payload =
        Payload::with_capacity(8).u32(awakened_tid).u8(adjust_reason).u8(adjust_increment as u8).u8(flags).u8(0).done();
    Encoded::new(EventType::ReadyThread, readier_tid, readier_pid, payload)
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

/// Image Load (10), Unload (2) or DCStart (3): ImageBase, ImageSize, ProcessId,
/// ImageCheckSum, TimeDateStamp, SignatureLevel/Type + reserved u16,
/// DefaultBase, Reserved1..4, FileName (UTF-16 from offset 56).
pub fn image(event: EventType, f: &ImageFields<'_>, header_tid: u32, header_pid: u32) -> Encoded {
    let payload = Payload::with_capacity(56 + 2 * f.file_name.len() + 2)
        .u64(f.image_base)
        .u64(f.image_size)
        .u32(f.pid)
        .u32(f.checksum)
        .u32(f.time_date_stamp)
        .u8(f.signature_level)
        .u8(f.signature_type)
        .u16(0)
        .u64(f.default_base)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .utf16z(f.file_name)
        .done();
    Encoded::new(event, header_tid, header_pid, payload)
}

/// SampledProfile (group 15, opcode 46): InstructionPointer, ThreadId, Count, Reserved.
pub fn sampled_profile(instruction_pointer: u64, tid: u32) -> Encoded {
    Encoded::new(EventType::SampledProfile, 0, 0, sampled_profile_payload(instruction_pointer, tid).to_vec())
}

pub fn sampled_profile_payload(instruction_pointer: u64, tid: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&instruction_pointer.to_le_bytes());
    out[8..12].copy_from_slice(&tid.to_le_bytes());
    out[12..14].copy_from_slice(&1u16.to_le_bytes());
    out
}

/// SysCallEnter (group 15, opcode 51): the service routine's address.
pub fn syscall_enter(syscall_address: u64) -> Encoded {
    Encoded::new(EventType::SysCallEnter, 0, 0, Payload::with_capacity(8).u64(syscall_address).done())
}

/// SysCallExit (group 15, opcode 52): the NTSTATUS the call returned.
pub fn syscall_exit(nt_status: u32) -> Encoded {
    Encoded::new(EventType::SysCallExit, 0, 0, Payload::with_capacity(4).u32(nt_status).done())
}

/// Profile CollectionStart (73) / CollectionEnd (74), version 3: SampleSource,
/// NewInterval, OldInterval (100 ns units), SourceName.
pub fn profile_interval(
    event: EventType,
    source: u32,
    new_interval: u32,
    old_interval: u32,
    source_name: &str,
) -> Encoded {
    let payload = Payload::with_capacity(24).u32(source).u32(new_interval).u32(old_interval).utf16z(source_name).done();
    Encoded::new(event, 0, 0, payload)
}

/// StackWalk_Event (group 24, opcode 32): the stamped event's timestamp, its
/// process and thread, then the frames, innermost first.
pub fn stack_walk(event_timestamp: i64, pid: u32, tid: u32, frames: &[u64]) -> Encoded {
    let mut payload = Vec::with_capacity(16 + 8 * frames.len());
    stack_walk_into(&mut payload, event_timestamp, pid, tid, frames);
    Encoded::new(EventType::StackWalk, 0, 0, payload)
}

/// StackWalk payload into a reused buffer.
pub fn stack_walk_into(out: &mut Vec<u8>, event_timestamp: i64, pid: u32, tid: u32, frames: &[u64]) {
    out.clear();
    out.extend_from_slice(&event_timestamp.to_le_bytes());
    out.extend_from_slice(&pid.to_le_bytes());
    out.extend_from_slice(&tid.to_le_bytes());
    for frame in frames {
        out.extend_from_slice(&frame.to_le_bytes());
    }
}

/// KernelTraceControl ImageID (class 0): ImageBase, ImageSize (pointer
/// sized), ProcessId, TimeDateStamp, OriginalFileName.
pub fn image_id(image_base: u64, image_size: u64, pid: u32, time_date_stamp: u32, original_file_name: &str) -> Encoded {
    let payload = Payload::with_capacity(24 + 2 * original_file_name.len() + 2)
        .u64(image_base)
        .u64(image_size)
        .u32(pid)
        .u32(time_date_stamp)
        .utf16z(original_file_name)
        .done();
    Encoded::new(EventType::ImageId, u32::MAX, pid, payload)
}

/// KernelTraceControl DbgID_RSDS (class 36): ImageBase, ProcessId, the PDB
/// GUID, Age, PdbFileName (ANSI).
pub fn dbgid_rsds(image_base: u64, pid: u32, pdb_guid: Guid, age: u32, pdb_file_name: &str) -> Encoded {
    let payload = Payload::with_capacity(32 + pdb_file_name.len() + 1)
        .u64(image_base)
        .u32(pid)
        .bytes(&pdb_guid.0)
        .u32(age)
        .ansiz(pdb_file_name)
        .done();
    Encoded::new(EventType::DbgIdRsds, u32::MAX, pid, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = process(EventType::ProcessDcStart, &f, 0, 0);
        assert_eq!(e.payload.len(), 75);
        assert_eq!(&e.payload[52..64], &[1, 1, 0, 0, 0, 0, 0, 5, 0x12, 0, 0, 0]);
        assert_eq!(&e.payload[64..69], b"Idle\0");
        assert_eq!(&e.payload[8..24], &[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    }

    #[test]
    fn fixed_size_payloads_have_the_sizes_of_real_records() {
        let thread_fields = ThreadFields {
            pid: 4,
            tid: 12,
            stack_base: 0,
            stack_limit: 0,
            user_stack_base: 0,
            user_stack_limit: 0,
            affinity: 1,
            win32_start_address: 0,
            teb_base: 0,
            sub_process_tag: 0,
            base_priority: 13,
            page_priority: 5,
            io_priority: 2,
            thread_flags: 0,
            thread_name: "",
        };
        assert_eq!(thread(EventType::ThreadDcStart, &thread_fields).payload.len(), 74);
        assert_eq!(cswitch(&CSwitchFields::default(), 0).payload.len(), 24);
        assert_eq!(ready_thread(1, 0, 0, 0, 0, 0).payload.len(), 8);
        assert_eq!(sampled_profile(1, 2).payload.len(), 16);
        assert_eq!(syscall_enter(1).payload.len(), 8);
        assert_eq!(syscall_exit(1).payload.len(), 4);
        assert_eq!(profile_interval(EventType::ProfileCollectionStart, 0, 10000, 10000, "Timer").payload.len(), 24);
        assert_eq!(stack_walk(5, 1, 2, &[1, 2, 3]).payload.len(), 40);
        // ntdll.dll in net.4.5.2.x64.etl: 44 and 43 bytes.
        assert_eq!(image_id(0x7771_0000, 0x157000, 4, 0x5010_ae7a, "ntdll.dll").payload.len(), 44);
        assert_eq!(dbgid_rsds(0x7771_0000, 4, Guid::ZERO, 2, "wntdll.pdb").payload.len(), 43);
    }

    #[test]
    fn image_payload_puts_the_file_name_at_56() {
        let f = ImageFields {
            image_base: 0x7762_0000,
            image_size: 0x19a000,
            pid: 4,
            checksum: 0x19ff10,
            time_date_stamp: 0,
            signature_level: 0x0c,
            signature_type: 2,
            default_base: 0x7762_0000,
            file_name: "\\Windows\\ntdll.dll",
        };
        let e = image(EventType::ImageDcStart, &f, 0, 0);
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
}
