//! Who a kernel event belongs to: PerfInfo headers carry no thread or
//! process, so the payload's ids and the thread's last known process stand in.
use decode::{Event, SchemaSource, Value};
use etl::record::{Record, RecordId};
use std::collections::HashMap;

/// Fills in what a record header leaves out: PerfInfo headers carry no
/// thread or process, so the payload's thread and the process that thread
/// was last seen in stand in, as PerfView and WPA show them.
#[derive(Default)]
pub struct ThreadOwners {
    process_of_thread: HashMap<u32, u32>,
}

impl ThreadOwners {
    /// Learns thread→process from thread events; returns the event's (pid, tid).
    /// Kernel events that name a process or thread in their payload (process,
    /// thread and image events, TCP/UDP, samples, disk I/O, hard faults) are
    /// shown under it rather than under the thread that logged them.
    pub fn ids(&mut self, event: &Event<'_>) -> (Option<u32>, Option<u32>) {
        let kernel_schema = event.source == SchemaSource::Kernel;
        self.ids_with(&event.record, kernel_schema, |name| field_u32(event, name))
    }

    /// `ids` for a kernel event of a known class whose payload was not
    /// decoded: `fields` holds the `OWNER_FIELDS` that `KernelFieldReader` read.
    pub fn ids_of_kernel_event(&mut self, record: &Record<'_>, fields: &OwnerFields) -> (Option<u32>, Option<u32>) {
        self.ids_with(record, true, |name| {
            let at = OWNER_FIELDS.iter().position(|&n| n == name)?;
            fields[at].map(|v| v as u32)
        })
    }

    fn ids_with(
        &mut self,
        record: &Record<'_>,
        kernel_schema: bool,
        field: impl Fn(&str) -> Option<u32>,
    ) -> (Option<u32>, Option<u32>) {
        let mut pid = record.process_id;
        let mut tid = record.thread_id;
        if kernel_schema {
            let payload_pid = PID_FIELDS.iter().find_map(|n| field(n));
            let payload_tid = TID_FIELDS.iter().find_map(|n| field(n));
            if let RecordId::Kernel { group: 5, opcode: 1..=4 } = record.id {
                if let (Some(p), Some(t)) = (payload_pid, payload_tid) {
                    self.process_of_thread.insert(t, p);
                }
            }
            if payload_tid.is_some() {
                tid = payload_tid;
            }
            if payload_pid.is_some() {
                pid = payload_pid;
            } else if payload_tid.is_some() || pid.is_none() {
                pid = tid.and_then(|t| self.process_of_thread.get(&t).copied()).or(pid);
            }
        }
        // Windows writes -1 (0xFFFFFFFF) for "no thread" or "no process": unknown, not an id.
        let (pid, tid) = (pid.filter(|&p| p != u32::MAX), tid.filter(|&t| t != u32::MAX));
        if let (Some(t), Some(p)) = (tid, pid) {
            if record.kind.is_kernel() {
                self.process_of_thread.entry(t).or_insert(p);
            }
        }
        (pid, tid)
    }
}

/// Payload fields that name the process an event belongs to, first found first.
const PID_FIELDS: [&str; 4] = ["ProcessID", "ProcessId", "PID", "StackProcess"];
/// Payload fields that name the thread an event belongs to, first found first.
const TID_FIELDS: [&str; 4] = ["TThreadId", "ThreadId", "IssuingThreadId", "StackThread"];
/// Every field `ThreadOwners` reads, for `KernelFieldReader`.
pub const OWNER_FIELDS: [&str; 8] = [
    PID_FIELDS[0],
    PID_FIELDS[1],
    PID_FIELDS[2],
    PID_FIELDS[3],
    TID_FIELDS[0],
    TID_FIELDS[1],
    TID_FIELDS[2],
    TID_FIELDS[3],
];
/// The values of `OWNER_FIELDS` in one event.
pub type OwnerFields = [Option<u64>; 8];

fn field_u32(event: &Event<'_>, name: &str) -> Option<u32> {
    event.field(name).and_then(Value::as_u64).map(|v| v as u32)
}
