//! The ground truth of a written scenario: what a reader must recover.
use super::SwitchOut;
use crate::payloads::EventType;
use std::collections::BTreeMap;

/// One system call as the trace must give it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallTruth {
    /// Index into `Scenario::syscalls`.
    pub index: usize,
    pub tid: u32,
    pub pid: u32,
    pub enter_cpu: u16,
    pub exit_cpu: Option<u16>,
    /// Raw QPC ticks and nanoseconds since the trace start.
    pub enter_ts: i64,
    pub enter_ns: i64,
    pub exit_ts: Option<i64>,
    pub exit_ns: Option<i64>,
    pub duration_ns: Option<i64>,
    pub address: u64,
    pub status: u32,
    /// 0 for a call made from user mode, 1 for a call made inside another, ...
    pub depth: u32,
    pub enter_logged: bool,
    pub exit_logged: bool,
}

/// One stretch of a thread on a CPU, between the context switches that bound it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntervalTruth {
    pub cpu: u16,
    pub tid: u32,
    pub pid: u32,
    pub start_ts: i64,
    pub start_ns: i64,
    pub end_ts: i64,
    pub end_ns: i64,
    pub priority: i8,
    /// False for the first stretch of a CPU: it began before the trace.
    pub switched_in_by_event: bool,
    /// False for the last stretch of a CPU: it was still running at the end.
    pub switched_out_by_event: bool,
    pub out: SwitchOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleTruth {
    /// Index into `Scenario::samples`.
    pub index: usize,
    pub cpu: u16,
    pub tid: u32,
    pub pid: u32,
    pub ts: i64,
    pub ns: i64,
    pub ip: u64,
    /// Frames of the StackWalk event (IP included), 0 when none was written.
    pub stack_frames: usize,
    pub logged: bool,
}

/// One ReadyThread as the trace must give it back: who woke whom, where and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WakeupTruth {
    /// Index into `Scenario::ready_threads`.
    pub index: usize,
    pub cpu: u16,
    /// Raw QPC ticks and nanoseconds since the trace start.
    pub ts: i64,
    pub ns: i64,
    /// The thread made ready, and its process.
    pub tid: u32,
    pub pid: u32,
    /// The thread whose stretch on `cpu` covers the event (idle: 0), and its process.
    pub readying_tid: u32,
    pub readying_pid: u32,
    pub adjust_reason: u8,
    pub adjust_increment: i8,
    /// The frames of the readying thread's StackWalk, innermost first; empty when none was written.
    pub stack: Vec<u64>,
}

/// What the written trace holds, for tests to compare a reader's model against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroundTruth {
    pub cpu_count: u16,
    pub qpc_frequency: i64,
    pub start_qpc: i64,
    pub end_qpc: i64,
    pub duration_ns: i64,
    pub syscalls: Vec<SyscallTruth>,
    /// Per CPU in time order, CPUs in order: each CPU's stretches cover the trace.
    pub intervals: Vec<IntervalTruth>,
    pub samples: Vec<SampleTruth>,
    /// (readied thread, ns since the trace start) of every ReadyThread written.
    pub readies: Vec<(u32, i64)>,
    /// Every ReadyThread written, with the thread that readied it, in `Scenario::ready_threads` order.
    pub wakeups: Vec<WakeupTruth>,
    /// Records written per event type (lost ones excluded; the header event not counted).
    pub event_counts: BTreeMap<EventType, usize>,
    pub events_lost: u32,
    /// Records written, the trace header event excluded.
    pub record_count: usize,
}
