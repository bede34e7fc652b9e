//! The ordered pass over the rare events: process, thread, image and
//! KernelTraceControl records, in time order, give names and lifetimes; the
//! I/O events (kernel DiskIo, FileIo, hard faults, and Microsoft-Windows-Kernel-File)
//! need the file names in the same order.
use super::io::IoBuilder;
use super::managed::{is_managed_code_event, ManagedCode};
use super::modules::{Module, ModuleRegistry};
use super::processes::{Lifecycle, Process, ProcessRegistry, ThreadRegistry};
use super::registry::RegistryBuilder;
use super::syscall_objects::{CreatedObject, ObjectKind};
use decode::{Decoder, Event, Value};
use etl::{EtlTrace, RecordRef};
use symbols::PdbIdentity;

/// The ordered pass over process, thread, image and KernelTraceControl events.
#[derive(Default)]
pub(super) struct NamePass {
    pub(super) processes: ProcessRegistry,
    pub(super) threads: ThreadRegistry,
    pub(super) modules: ModuleRegistry,
    pub(super) managed: ManagedCode,
    pub(super) sample_interval_ns: Option<i64>,
    pub(super) io: IoBuilder,
    pub(super) registry: RegistryBuilder,
    pub(super) created: Vec<CreatedObject>,
    ticks_per_second: i64,
}

fn uint(event: &Event, name: &str) -> Option<u64> {
    event.field(name).and_then(Value::as_u64)
}

fn text(event: &Event, name: &str) -> String {
    event.field(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl NamePass {
    fn apply(&mut self, event: &Event, ts: i64) {
        // Manifest events are named "Task" (or "Task/Opcode"): Kernel-File's go by their id.
        if super::io::is_kernel_file(&event.record.id) {
            return self.io(event, ts);
        }
        if is_managed_code_event(&event.record.id) {
            if let Some(pid) = event.record.process_id {
                self.managed.apply(event, pid, ts);
            }
            return;
        }
        let Some((task, opcode)) = event.name.split_once('/') else { return };
        match (event.provider.as_ref(), task) {
            ("Windows Kernel", "Process") => self.process(event, opcode, ts),
            ("Windows Kernel", "Thread") => self.thread(event, opcode, ts),
            ("Windows Kernel", "Image") => self.image(event, opcode, ts),
            // Timer source (0): NewInterval counts 100 ns units.
            ("Windows Kernel", "PerfInfo")
                if matches!(opcode, "CollectionStart" | "SetInterval") && uint(event, "SampleSource") == Some(0) =>
            {
                if let Some(interval) = uint(event, "NewInterval").filter(|&i| i > 0) {
                    self.sample_interval_ns = Some(interval as i64 * 100);
                }
            }
            ("KernelTraceControl", "ImageID") if opcode == "DbgID_RSDS" => self.identity(event),
            ("KernelTraceControl", "ImageID") if opcode == "FileVersion" => self.file_version(event),
            ("Windows Kernel", "Registry") => {
                let threads = &self.threads;
                self.registry.apply(event, opcode, ts, |tid| threads.pid_at(tid, ts));
            }
            ("Windows Kernel", "DiskIo" | "FileIo" | "PageFault" | "SysConfig") => self.io(event, ts),
            _ => {}
        }
    }

    /// An object the thread in the event's header created or loaded (headers without one name none).
    fn created_by_header(&mut self, event: &Event, ts: i64, kind: ObjectKind, name: String) {
        if let Some(tid) = event.record.thread_id.filter(|&t| t != u32::MAX) {
            self.created.push(CreatedObject { ts, tid, kind, name });
        }
    }

    /// Disk and file I/O, hard faults, and what names their files.
    fn io(&mut self, event: &Event, ts: i64) {
        let threads = &self.threads;
        let frequency = i128::from(self.ticks_per_second.max(1));
        self.io.apply(
            event,
            ts,
            |tid| threads.pid_at(tid, ts),
            |ticks| (i128::from(ticks) * 1_000_000_000 / frequency) as i64,
        );
    }

    fn process(&mut self, event: &Event, opcode: &str, ts: i64) {
        let lifecycle = match opcode {
            "Start" => Lifecycle::Start,
            "DCStart" => Lifecycle::Rundown,
            "End" => Lifecycle::End,
            "Defunct" => Lifecycle::Defunct,
            "DCEnd" => Lifecycle::RundownEnd,
            _ => return,
        };
        let Some(pid) = uint(event, "ProcessID").or_else(|| uint(event, "ProcessId")) else { return };
        if lifecycle == Lifecycle::Start {
            let name = format!("{}({pid})", text(event, "ImageFileName"));
            self.created_by_header(event, ts, ObjectKind::Process, name);
        }
        let exit = event.field("ExitStatus").and_then(Value::as_i64).map(|v| v as u32);
        let facts = Process {
            pid: pid as u32,
            name: text(event, "ImageFileName"),
            command_line: text(event, "CommandLine"),
            parent_pid: uint(event, "ParentID").map(|v| v as u32),
            session: uint(event, "SessionID").map(|v| v as u32).filter(|&s| s != u32::MAX),
            start_ts: None,
            end_ts: None,
            // 259 (STILL_ACTIVE) is what a running process reports.
            exit_code: if matches!(lifecycle, Lifecycle::End | Lifecycle::Defunct) { exit } else { None },
            user_sid: event.field("UserSID").filter(|v| !v.is_bad()).map(|v| v.to_string()).filter(|s| !s.is_empty()),
        };
        self.processes.apply(lifecycle, ts, facts);
    }

    fn thread(&mut self, event: &Event, opcode: &str, ts: i64) {
        let lifecycle = match opcode {
            "Start" => Lifecycle::Start,
            "DCStart" => Lifecycle::Rundown,
            "End" => Lifecycle::End,
            "DCEnd" => Lifecycle::RundownEnd,
            "SetName" => {
                if let Some(tid) = uint(event, "TThreadId") {
                    self.threads.set_name(tid as u32, text(event, "ThreadName"));
                }
                return;
            }
            _ => return,
        };
        let (Some(tid), Some(pid)) = (uint(event, "TThreadId"), uint(event, "ProcessId")) else { return };
        if lifecycle == Lifecycle::Start {
            self.created_by_header(event, ts, ObjectKind::Thread, format!("thread {tid} of process {pid}"));
        }
        let name = event.field("ThreadName").and_then(Value::as_str).map(str::to_string);
        self.threads.apply(lifecycle, ts, tid as u32, pid as u32, name);
    }

    fn image(&mut self, event: &Event, opcode: &str, ts: i64) {
        let (Some(base), Some(size)) = (uint(event, "ImageBase"), uint(event, "ImageSize")) else { return };
        let pid = uint(event, "ProcessId").unwrap_or(0) as u32;
        let module = Module {
            pid,
            base,
            size,
            path: text(event, "FileName"),
            timestamp: uint(event, "TimeDateStamp").map(|v| v as u32).filter(|&v| v != 0),
            checksum: uint(event, "ImageChecksum").map(|v| v as u32),
            pdb: None,
            pdb_guid: None,
            pdb_age: None,
            load_ts: (opcode == "Load").then_some(ts),
            unload_ts: None,
        };
        if opcode == "Load" {
            self.created_by_header(event, ts, ObjectKind::Image, module.path.clone());
        }
        match opcode {
            "Load" | "DCStart" | "DCEnd" => self.modules.load(module),
            "Unload" => self.modules.unload(pid, base, ts, module),
            _ => {}
        }
    }

    fn file_version(&mut self, event: &Event) {
        // TimeDateStamp is declared signed; the PE field is a u32.
        let stamp = match event.field("TimeDateStamp") {
            Some(Value::I32(v)) => Some(*v as u32),
            Some(other) => other.as_u64().map(|v| v as u32),
            None => None,
        };
        let (Some(size), Some(stamp)) = (uint(event, "ImageSize"), stamp) else { return };
        let version = super::modules::FileVersion {
            company: text(event, "CompanyName"),
            description: text(event, "FileDescription"),
            product: text(event, "ProductName"),
            version: text(event, "FileVersion"),
        };
        self.modules.add_file_version(size, stamp, &text(event, "OrigFileName"), version);
    }

    fn identity(&mut self, event: &Event) {
        let (Some(base), Some(Value::Guid(guid)), Some(age)) =
            (uint(event, "ImageBase"), event.field("GuidSig"), uint(event, "Age"))
        else {
            return;
        };
        // KernelTraceControl names the process in the record header.
        let pid = event.record.process_id.unwrap_or(0);
        let identity = PdbIdentity { name: text(event, "PDBFileName"), guid: *guid, age: age as u32 };
        self.modules.identity(pid, base, identity);
    }
}

/// Runs the ordered pass over the rare events (`rare`, in any order).
pub(super) fn run(trace: &EtlTrace, decoder: &mut Decoder, mut rare: Vec<RecordRef>) -> NamePass {
    rare.sort_by_key(|r| (r.timestamp, r.buffer, r.offset));
    let mut names = NamePass { ticks_per_second: trace.clock.frequency, ..Default::default() };
    for at in rare {
        if let Some(record) = trace.record_at(at) {
            let ts = trace.clock.ns_since_start(record.timestamp);
            names.apply(&decoder.decode(&record), ts);
        }
    }
    names
}
