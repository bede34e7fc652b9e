//! The scenario builder: a machine described as data (CPUs, processes,
//! threads, modules, a per-CPU schedule, system calls, profile samples) and
//! written as a kernel trace, with the ground truth a reader must recover.
//!
//! Times in a scenario are QPC ticks since the trace start. The schedule is
//! checked before anything is written: a system call or a sample can only
//! happen while its thread runs on some CPU, and a thread runs on one CPU at a time.
pub use crate::payloads::DispatcherHeader;
use crate::payloads::{self, EventType, Sid};
use etl::writer::{EtlWriter, WriteError, WriterOptions};
use etl::Guid;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{Cursor, Seek, Write};

/// Every CPU's idle thread has thread id 0 in process 0.
pub const IDLE_TID: u32 = 0;
pub const IDLE_PID: u32 = 0;

/// KTHREAD_STATE values used in CSwitch OldThreadState.
pub mod thread_state {
    pub const READY: u8 = 1;
    pub const RUNNING: u8 = 2;
    pub const TERMINATED: u8 = 4;
    pub const WAITING: u8 = 5;
}

/// KWAIT_REASON values used in CSwitch OldThreadWaitReason.
pub mod wait_reason {
    pub const EXECUTIVE: u8 = 0;
    pub const DELAY_EXECUTION: u8 = 4;
    pub const USER_REQUEST: u8 = 6;
    pub const WR_QUEUE: u8 = 15;
    pub const WR_PREEMPTED: u8 = 32;
    pub const WR_YIELD_EXECUTION: u8 = 33;
}

/// A process of the machine. `start`/`end` None: alive before/after the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    pub pid: u32,
    pub parent_pid: u32,
    /// Image file name as the kernel keeps it ("server.exe").
    pub name: String,
    pub command_line: String,
    pub session_id: u32,
    pub user_sid: Sid,
    pub start: Option<i64>,
    /// End time and exit status.
    pub end: Option<(i64, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadSpec {
    pub tid: u32,
    pub pid: u32,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub base_priority: u8,
    pub start_address: u64,
    pub name: String,
}

/// A PDB identity as KernelTraceControl's DbgID_RSDS gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdbIdentity {
    /// "ntkrnlmp.pdb"
    pub name: String,
    pub guid: Guid,
    pub age: u32,
}

impl PdbIdentity {
    /// The symbol store key: the GUID as 32 uppercase hex digits (Data1, Data2,
    /// Data3 as numbers, then the Data4 bytes) and the age in uppercase hex.
    pub fn store_key(&self) -> String {
        let g = &self.guid.0;
        let mut key = format!(
            "{:08X}{:04X}{:04X}",
            u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
            u16::from_le_bytes([g[4], g[5]]),
            u16::from_le_bytes([g[6], g[7]])
        );
        for b in &g[8..] {
            key.push_str(&format!("{b:02X}"));
        }
        key.push_str(&format!("{:X}", self.age));
        key
    }
}

/// A module mapped in a process; kernel modules belong to pid 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSpec {
    pub pid: u32,
    pub base: u64,
    pub size: u64,
    /// Kernel-style path ("\SystemRoot\system32\ntoskrnl.exe", "\Device\HarddiskVolume3\...").
    pub path: String,
    pub time_date_stamp: u32,
    pub checksum: u32,
    pub pdb: Option<PdbIdentity>,
    /// None: loaded before the trace (rundown).
    pub load: Option<i64>,
    pub unload: Option<i64>,
}

impl ModuleSpec {
    pub fn file_name(&self) -> &str {
        self.path.rsplit('\\').next().unwrap_or(&self.path)
    }

    pub fn contains(&self, address: u64) -> bool {
        address >= self.base && address - self.base < self.size
    }
}

/// How a thread left the CPU at the end of its slice (CSwitch Old* fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwitchOut {
    pub state: u8,
    pub wait_reason: u8,
    /// 0 KernelMode, 1 UserMode.
    pub wait_mode: u8,
}

impl SwitchOut {
    pub const PREEMPTED: SwitchOut =
        SwitchOut { state: thread_state::READY, wait_reason: wait_reason::WR_PREEMPTED, wait_mode: 0 };

    pub fn waiting(wait_reason: u8) -> SwitchOut {
        SwitchOut { state: thread_state::WAITING, wait_reason, wait_mode: 1 }
    }
}

/// A thread running on a CPU from `start` to `end`. Gaps in a CPU's schedule run the idle thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub cpu: u16,
    pub tid: u32,
    pub start: i64,
    pub end: i64,
    pub priority: i8,
    pub out: SwitchOut,
}

/// ReadyThread on `cpu` at `ts`: `tid` is made ready by whatever runs there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadySpec {
    pub cpu: u16,
    pub ts: i64,
    pub tid: u32,
    pub adjust_reason: u8,
    pub adjust_increment: i8,
}

/// A system call of `tid`. `exit` None: still in the call when the trace ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallSpec {
    pub tid: u32,
    pub enter: i64,
    pub exit: Option<i64>,
    pub address: u64,
    pub status: u32,
    /// Drop the SysCallEnter / SysCallExit record as a lost event.
    pub lost_enter: bool,
    pub lost_exit: bool,
}

/// A profile sample on `cpu` at `ts` of the thread `tid` running there. The
/// stack (IP first, then `callers`) follows as a StackWalk event one tick
/// later, when `callers` is not empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleSpec {
    pub cpu: u16,
    pub tid: u32,
    pub ts: i64,
    pub ip: u64,
    pub callers: Vec<u64>,
    /// Drop the sample (and its stack) as lost events.
    pub lost: bool,
}

/// The sampled profile source: CollectionStart at the trace start, CollectionEnd at its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileSpec {
    /// In 100 ns units, as SampledProfileInterval gives it (10000 = 1 ms).
    pub interval_100ns: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub cpu_count: u16,
    /// FILETIME of the trace start.
    pub start_filetime: i64,
    pub qpc_frequency: i64,
    /// Raw QPC value of the trace start; scenario times are offsets from it.
    pub start_qpc: i64,
    /// Length of the trace in ticks.
    pub duration: i64,
    /// Windows build number written to the log file header.
    pub os_build: u32,
    pub processes: Vec<ProcessSpec>,
    pub threads: Vec<ThreadSpec>,
    pub modules: Vec<ModuleSpec>,
    pub schedule: Vec<Slice>,
    pub ready_threads: Vec<ReadySpec>,
    pub syscalls: Vec<SyscallSpec>,
    pub profile: Option<ProfileSpec>,
    pub samples: Vec<SampleSpec>,
    /// Bytes per buffer; smaller buffers localise lost events more tightly.
    pub buffer_size: u32,
    /// The header the dispatcher's events (CSwitch, ReadyThread) are logged with.
    pub dispatcher_header: DispatcherHeader,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub what: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inconsistent scenario: {}", self.what)
    }
}

impl std::error::Error for ScenarioError {}

impl From<WriteError> for ScenarioError {
    fn from(e: WriteError) -> Self {
        ScenarioError { what: e.to_string() }
    }
}

impl From<payloads::PayloadError> for ScenarioError {
    fn from(e: payloads::PayloadError) -> Self {
        ScenarioError { what: e.to_string() }
    }
}

fn err<T>(what: String) -> Result<T, ScenarioError> {
    Err(ScenarioError { what })
}

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
    /// Records written per event type (lost ones excluded; the header event not counted).
    pub event_counts: BTreeMap<EventType, usize>,
    pub events_lost: u32,
    /// Records written, the trace header event excluded.
    pub record_count: usize,
}

/// A CPU stretch with its process, built from the schedule and idle filling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stretch {
    pub tid: u32,
    pub pid: u32,
    pub start: i64,
    pub end: i64,
    pub priority: i8,
    pub out: SwitchOut,
}

/// Ordering of events that share a timestamp: lifecycle starts, then the
/// context switch, then what runs after it, then lifecycle ends.
mod class {
    pub const RUNDOWN: u8 = 0;
    pub const BEGIN: u8 = 1;
    pub const CSWITCH: u8 = 2;
    pub const READY: u8 = 3;
    pub const RUNNING: u8 = 4;
    pub const FINISH: u8 = 5;
    pub const END_RUNDOWN: u8 = 6;
}

struct Pending {
    ts: i64,
    class: u8,
    seq: u32,
    cpu: u16,
    item: Item,
}

/// An event waiting to be written. The many small ones are kept as their
/// fields and encoded at write time, to spare an allocation per record.
enum Item {
    Encoded(Box<payloads::Encoded>),
    CSwitch(payloads::CSwitchFields, u32),
    SysCallEnter(u64),
    SysCallExit(u32),
    Sample {
        ip: u64,
        tid: u32,
    },
    /// The stack of `Scenario::samples[sample]`.
    Stack {
        sample: u32,
        pid: u32,
    },
}

impl From<payloads::Encoded> for Item {
    fn from(e: payloads::Encoded) -> Item {
        Item::Encoded(Box::new(e))
    }
}

impl Item {
    fn event(&self) -> EventType {
        match self {
            Item::Encoded(e) => e.event,
            Item::CSwitch(..) => EventType::CSwitch,
            Item::SysCallEnter(_) => EventType::SysCallEnter,
            Item::SysCallExit(_) => EventType::SysCallExit,
            Item::Sample { .. } => EventType::SampledProfile,
            Item::Stack { .. } => EventType::StackWalk,
        }
    }
}

/// The checked shape of a scenario: per-CPU stretches and per-thread slices.
pub struct Timeline {
    cpus: Vec<Vec<Stretch>>,
    /// Slices of each (non-idle) thread in time order: (start, end, cpu).
    runs: HashMap<u32, Vec<(i64, i64, u16)>>,
    pid_of: HashMap<u32, u32>,
}

impl Timeline {
    /// Each CPU's stretches in time order; together they cover the trace.
    pub fn cpu(&self, cpu: u16) -> &[Stretch] {
        self.cpus.get(usize::from(cpu)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The CPU `tid` runs on strictly inside one of its slices at `ts`.
    pub fn cpu_running(&self, tid: u32, ts: i64) -> Option<u16> {
        let runs = self.runs.get(&tid)?;
        let i = runs.partition_point(|r| r.0 < ts);
        let (start, end, cpu) = *runs.get(i.checked_sub(1)?)?;
        (start < ts && ts < end).then_some(cpu)
    }

    /// The stretch running on `cpu` at `ts` (start <= ts < end).
    pub fn stretch_at(&self, cpu: u16, ts: i64) -> Option<&Stretch> {
        let list = self.cpus.get(usize::from(cpu))?;
        let i = list.partition_point(|s| s.start <= ts);
        list.get(i.checked_sub(1)?).filter(|s| ts < s.end)
    }
}

impl Scenario {
    /// An empty machine: 10 MHz QPC, a fixed start time, Windows 10 2004.
    pub fn new(cpu_count: u16, duration: i64) -> Scenario {
        Scenario {
            cpu_count,
            // 2024-05-14T09:30:00Z
            start_filetime: 133_601_526_000_000_000,
            qpc_frequency: 10_000_000,
            start_qpc: 98_765_432_100,
            duration,
            os_build: 19041,
            processes: Vec::new(),
            threads: Vec::new(),
            modules: Vec::new(),
            schedule: Vec::new(),
            ready_threads: Vec::new(),
            syscalls: Vec::new(),
            profile: None,
            samples: Vec::new(),
            buffer_size: 64 * 1024,
            dispatcher_header: DispatcherHeader::Compact,
        }
    }

    /// Nanoseconds since the trace start of a tick offset.
    pub fn ns(&self, ticks: i64) -> i64 {
        (i128::from(ticks) * 1_000_000_000 / i128::from(self.qpc_frequency.max(1))) as i64
    }

    /// Ticks for a number of nanoseconds.
    pub fn ticks(&self, ns: i64) -> i64 {
        (i128::from(ns) * i128::from(self.qpc_frequency.max(1)) / 1_000_000_000) as i64
    }

    /// Profile interval in ticks.
    pub fn profile_interval_ticks(&self) -> Option<i64> {
        let p = self.profile.as_ref()?;
        Some(self.ticks(i64::from(p.interval_100ns) * 100).max(1))
    }

    /// The per-CPU stretches (idle filled in) of a consistent schedule.
    pub fn timeline(&self) -> Result<Timeline, ScenarioError> {
        self.check()
    }

    fn check(&self) -> Result<Timeline, ScenarioError> {
        if self.cpu_count == 0 || self.duration <= 0 || self.qpc_frequency <= 0 {
            return err(format!(
                "{} CPUs, duration {} ticks, frequency {}",
                self.cpu_count, self.duration, self.qpc_frequency
            ));
        }
        if self.start_qpc < 0 || self.start_qpc.checked_add(self.duration).is_none() {
            return err(format!("trace from QPC {} for {} ticks overflows the clock", self.start_qpc, self.duration));
        }
        let in_trace = |t: i64| (0..=self.duration).contains(&t);
        let lifecycle = self
            .processes
            .iter()
            .flat_map(|p| [p.start, p.end.map(|e| e.0)])
            .chain(self.threads.iter().flat_map(|t| [t.start, t.end]))
            .chain(self.modules.iter().flat_map(|m| [m.load, m.unload]))
            .chain(self.ready_threads.iter().map(|r| Some(r.ts)))
            .flatten();
        if let Some(t) = lifecycle.into_iter().find(|&t| !in_trace(t)) {
            return err(format!("an event at {t} lies outside the trace (0..={})", self.duration));
        }
        let mut pid_of = HashMap::new();
        pid_of.insert(IDLE_TID, IDLE_PID);
        let mut life = HashMap::new();
        for t in &self.threads {
            if t.tid == IDLE_TID {
                return err("thread id 0 is the idle thread; it is implicit".into());
            }
            if !self.processes.iter().any(|p| p.pid == t.pid) {
                return err(format!("thread {} belongs to unknown process {}", t.tid, t.pid));
            }
            if pid_of.insert(t.tid, t.pid).is_some() {
                return err(format!("thread id {} is used twice", t.tid));
            }
            life.insert(t.tid, (t.start.unwrap_or(0), t.end.unwrap_or(self.duration)));
        }
        let mut per_cpu: Vec<Vec<Slice>> = vec![Vec::new(); usize::from(self.cpu_count)];
        let mut runs: HashMap<u32, Vec<(i64, i64, u16)>> = HashMap::new();
        for s in &self.schedule {
            let Some(list) = per_cpu.get_mut(usize::from(s.cpu)) else {
                return err(format!("slice on CPU {} of a {}-CPU machine", s.cpu, self.cpu_count));
            };
            if s.start < 0 || s.end <= s.start || s.end > self.duration {
                return err(format!("slice of thread {} on CPU {} from {} to {}", s.tid, s.cpu, s.start, s.end));
            }
            if s.tid != IDLE_TID {
                let Some(&(born, dies)) = life.get(&s.tid) else {
                    return err(format!("slice of unknown thread {}", s.tid));
                };
                if s.start < born || s.end > dies {
                    return err(format!("thread {} runs outside its life {born}..{dies}", s.tid));
                }
                runs.entry(s.tid).or_default().push((s.start, s.end, s.cpu));
            }
            list.push(*s);
        }
        for (tid, list) in runs.iter_mut() {
            list.sort_unstable();
            if let Some(w) = list.windows(2).find(|w| w[1].0 < w[0].1) {
                return err(format!("thread {tid} runs on CPUs {} and {} at once at {}", w[0].2, w[1].2, w[1].0));
            }
        }
        let idle = |start, end| Stretch {
            tid: IDLE_TID,
            pid: IDLE_PID,
            start,
            end,
            priority: 0,
            out: SwitchOut { state: thread_state::READY, wait_reason: wait_reason::EXECUTIVE, wait_mode: 0 },
        };
        let mut cpus = Vec::with_capacity(per_cpu.len());
        for (cpu, mut list) in per_cpu.into_iter().enumerate() {
            list.sort_unstable_by_key(|s| s.start);
            let mut stretches: Vec<Stretch> = Vec::with_capacity(list.len() * 2 + 1);
            let mut at = 0i64;
            for s in list {
                if s.start < at {
                    return err(format!("slices overlap on CPU {cpu} at {}", s.start));
                }
                if s.start > at {
                    stretches.push(idle(at, s.start));
                }
                let pid = pid_of.get(&s.tid).copied().unwrap_or(IDLE_PID);
                stretches.push(Stretch {
                    tid: s.tid,
                    pid,
                    start: s.start,
                    end: s.end,
                    priority: s.priority,
                    out: s.out,
                });
                at = s.end;
            }
            if at < self.duration {
                stretches.push(idle(at, self.duration));
            }
            // A switch to the thread already running is no switch: join such stretches.
            let mut joined: Vec<Stretch> = Vec::with_capacity(stretches.len());
            for s in stretches {
                match joined.last_mut() {
                    Some(last) if last.tid == s.tid => {
                        last.end = s.end;
                        last.out = s.out;
                    }
                    _ => joined.push(s),
                }
            }
            cpus.push(joined);
        }
        Ok(Timeline { cpus, runs, pid_of })
    }

    /// Checks the scenario without writing it.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let checked = self.check()?;
        self.check_syscalls(&checked)?;
        self.check_samples(&checked)?;
        Ok(())
    }

    /// Per thread, the calls' events in time order must nest like a stack;
    /// returns each call's depth and CPUs.
    fn check_syscalls(&self, checked: &Timeline) -> Result<Vec<(u32, u16, Option<u16>)>, ScenarioError> {
        let mut by_thread: HashMap<u32, Vec<(i64, bool, usize)>> = HashMap::new();
        let mut placed = Vec::with_capacity(self.syscalls.len());
        for (i, call) in self.syscalls.iter().enumerate() {
            let Some(enter_cpu) = checked.cpu_running(call.tid, call.enter) else {
                return err(format!(
                    "system call {i} enters at {} while thread {} is not running",
                    call.enter, call.tid
                ));
            };
            let exit_cpu = match call.exit {
                Some(exit) if exit <= call.enter => {
                    return err(format!("system call {i} exits at {exit}, not after it enters at {}", call.enter))
                }
                Some(exit) => match checked.cpu_running(call.tid, exit) {
                    Some(cpu) => Some(cpu),
                    None => {
                        return err(format!("system call {i} exits at {exit} while thread {} is not running", call.tid))
                    }
                },
                None => None,
            };
            placed.push((0, enter_cpu, exit_cpu));
            let events = by_thread.entry(call.tid).or_default();
            events.push((call.enter, true, i));
            if let Some(exit) = call.exit {
                events.push((exit, false, i));
            }
        }
        for (tid, mut events) in by_thread {
            events.sort_unstable_by_key(|e| e.0);
            if let Some(w) = events.windows(2).find(|w| w[0].0 == w[1].0) {
                return err(format!("thread {tid} has two system call events at {}", w[0].0));
            }
            let mut open: Vec<usize> = Vec::new();
            for (ts, is_enter, i) in events {
                if is_enter {
                    placed[i].0 = open.len() as u32;
                    open.push(i);
                } else if open.pop() != Some(i) {
                    return err(format!("system call {i} of thread {tid} exits at {ts} before a call nested in it"));
                }
            }
        }
        Ok(placed)
    }

    fn check_samples(&self, checked: &Timeline) -> Result<Vec<u32>, ScenarioError> {
        let mut pids = Vec::with_capacity(self.samples.len());
        for (i, s) in self.samples.iter().enumerate() {
            let Some(stretch) = checked.stretch_at(s.cpu, s.ts) else {
                return err(format!("sample {i} at {} on CPU {} is outside the trace", s.ts, s.cpu));
            };
            let stack_end = if s.callers.is_empty() { s.ts } else { s.ts + 1 };
            if stretch.tid != s.tid || stretch.start >= s.ts || stack_end >= stretch.end {
                return err(format!(
                    "sample {i} of thread {} at {} on CPU {}: thread {} runs there from {} to {}",
                    s.tid, s.ts, s.cpu, stretch.tid, stretch.start, stretch.end
                ));
            }
            pids.push(stretch.pid);
        }
        Ok(pids)
    }

    /// Writes the trace to `out` and returns the ground truth.
    pub fn write<W: Write + Seek>(&self, out: W) -> Result<(W, GroundTruth), ScenarioError> {
        let (bytes, truth) = self.to_bytes()?;
        let mut out = out;
        out.write_all(&bytes).map_err(|e| ScenarioError { what: format!("write failed: {e}") })?;
        Ok((out, truth))
    }

    /// Builds the trace in memory and returns its bytes and the ground truth.
    pub fn to_bytes(&self) -> Result<(Vec<u8>, GroundTruth), ScenarioError> {
        let checked = self.check()?;
        let placed = self.check_syscalls(&checked)?;
        let sample_pids = self.check_samples(&checked)?;
        let mut pending: Vec<Pending> = Vec::with_capacity(2 * self.syscalls.len() + 2 * self.samples.len() + 1024);
        let mut seq = 0u32;
        let mut push = |pending: &mut Vec<Pending>, ts: i64, class: u8, cpu: u16, item: Item| {
            pending.push(Pending { ts, class, seq, cpu, item });
            seq = seq.wrapping_add(1);
        };
        let raw = |ticks: i64| self.start_qpc + ticks;

        // Rundown at the start on CPU 0: processes with their threads, then images.
        for p in self.processes.iter().filter(|p| p.start.is_none()) {
            push(&mut pending, 0, class::RUNDOWN, 0, self.process_event(EventType::ProcessDcStart, p, None)?.into());
            for t in self.threads.iter().filter(|t| t.pid == p.pid && t.start.is_none()) {
                push(&mut pending, 0, class::RUNDOWN, 0, self.thread_event(EventType::ThreadDcStart, t)?.into());
            }
        }
        for m in self.modules.iter().filter(|m| m.load.is_none()) {
            for event in self.image_events(EventType::ImageDcStart, m)? {
                push(&mut pending, 0, class::RUNDOWN, 0, event.into());
            }
        }
        if let Some(p) = &self.profile {
            let event = payloads::profile_interval(
                EventType::ProfileCollectionStart,
                0,
                p.interval_100ns,
                p.interval_100ns,
                "Timer",
            )?;
            push(&mut pending, 0, class::RUNDOWN, 0, event.into());
        }

        // Lifecycle inside the trace, logged on CPU 0.
        for p in &self.processes {
            if let Some(start) = p.start {
                push(
                    &mut pending,
                    start,
                    class::BEGIN,
                    0,
                    self.process_event(EventType::ProcessStart, p, None)?.into(),
                );
            }
            if let Some((end, status)) = p.end {
                push(
                    &mut pending,
                    end,
                    class::FINISH,
                    0,
                    self.process_event(EventType::ProcessEnd, p, Some(status))?.into(),
                );
            }
        }
        for t in &self.threads {
            if let Some(start) = t.start {
                push(&mut pending, start, class::BEGIN, 0, self.thread_event(EventType::ThreadStart, t)?.into());
            }
            if let Some(end) = t.end {
                push(&mut pending, end, class::FINISH, 0, self.thread_event(EventType::ThreadEnd, t)?.into());
            }
        }
        for m in &self.modules {
            if let Some(load) = m.load {
                for event in self.image_events(EventType::ImageLoad, m)? {
                    push(&mut pending, load, class::BEGIN, 0, event.into());
                }
            }
            if let Some(unload) = m.unload {
                let event = payloads::image(EventType::ImageUnload, &image_fields(m), 0, m.pid)?;
                push(&mut pending, unload, class::FINISH, 0, event.into());
            }
        }

        // Context switches and the truth of every stretch.
        let mut intervals = Vec::new();
        for (cpu, stretches) in checked.cpus.iter().enumerate() {
            let cpu = cpu as u16;
            for (i, s) in stretches.iter().enumerate() {
                if i > 0 {
                    let old = &stretches[i - 1];
                    let fields = payloads::CSwitchFields {
                        new_tid: s.tid,
                        old_tid: old.tid,
                        new_priority: s.priority,
                        old_priority: old.priority,
                        previous_cstate: u8::from(old.tid == IDLE_TID),
                        old_wait_reason: old.out.wait_reason,
                        old_wait_mode: old.out.wait_mode,
                        old_state: old.out.state,
                        old_wait_ideal_processor: cpu as u8,
                        new_wait_time: 0,
                    };
                    push(&mut pending, s.start, class::CSWITCH, cpu, Item::CSwitch(fields, s.pid));
                }
                intervals.push(IntervalTruth {
                    cpu,
                    tid: s.tid,
                    pid: s.pid,
                    start_ts: raw(s.start),
                    start_ns: self.ns(s.start),
                    end_ts: raw(s.end),
                    end_ns: self.ns(s.end),
                    priority: s.priority,
                    switched_in_by_event: i > 0,
                    switched_out_by_event: i + 1 < stretches.len(),
                    out: s.out,
                });
            }
        }

        for r in &self.ready_threads {
            let Some(readier) = checked.stretch_at(r.cpu, r.ts) else {
                return err(format!("ReadyThread at {} on CPU {} is outside the trace", r.ts, r.cpu));
            };
            if !checked.pid_of.contains_key(&r.tid) {
                return err(format!("ReadyThread of unknown thread {}", r.tid));
            }
            let fields = payloads::ReadyThreadFields {
                awakened_tid: r.tid,
                adjust_reason: r.adjust_reason,
                adjust_increment: r.adjust_increment,
                flags: 0,
            };
            let event = payloads::ready_thread(&fields, readier.tid, readier.pid)?;
            push(&mut pending, r.ts, class::READY, r.cpu, event.into());
        }

        // System calls, on the CPU their thread runs on.
        let mut lost = Vec::new();
        let mut syscalls = Vec::with_capacity(self.syscalls.len());
        for (i, (call, &(depth, enter_cpu, exit_cpu))) in self.syscalls.iter().zip(&placed).enumerate() {
            if call.lost_enter {
                lost.push((enter_cpu, call.enter));
            } else {
                push(&mut pending, call.enter, class::RUNNING, enter_cpu, Item::SysCallEnter(call.address));
            }
            if let (Some(exit), Some(cpu)) = (call.exit, exit_cpu) {
                if call.lost_exit {
                    lost.push((cpu, exit));
                } else {
                    push(&mut pending, exit, class::RUNNING, cpu, Item::SysCallExit(call.status));
                }
            }
            syscalls.push(SyscallTruth {
                index: i,
                tid: call.tid,
                pid: checked.pid_of.get(&call.tid).copied().unwrap_or(0),
                enter_cpu,
                exit_cpu,
                enter_ts: raw(call.enter),
                enter_ns: self.ns(call.enter),
                exit_ts: call.exit.map(raw),
                exit_ns: call.exit.map(|t| self.ns(t)),
                duration_ns: call.exit.map(|t| self.ns(t) - self.ns(call.enter)),
                address: call.address,
                status: call.status,
                depth,
                enter_logged: !call.lost_enter,
                exit_logged: call.exit.is_some() && !call.lost_exit,
            });
        }

        // Samples, each followed by its stack one tick later on the same CPU.
        let mut samples = Vec::with_capacity(self.samples.len());
        for (i, (s, &pid)) in self.samples.iter().zip(&sample_pids).enumerate() {
            let stack_frames = if s.callers.is_empty() { 0 } else { 1 + s.callers.len() };
            if s.lost {
                lost.push((s.cpu, s.ts));
                if stack_frames > 0 {
                    lost.push((s.cpu, s.ts + 1));
                }
            } else {
                push(&mut pending, s.ts, class::RUNNING, s.cpu, Item::Sample { ip: s.ip, tid: s.tid });
                if stack_frames > 0 {
                    push(&mut pending, s.ts + 1, class::RUNNING, s.cpu, Item::Stack { sample: i as u32, pid });
                }
            }
            samples.push(SampleTruth {
                index: i,
                cpu: s.cpu,
                tid: s.tid,
                pid,
                ts: raw(s.ts),
                ns: self.ns(s.ts),
                ip: s.ip,
                stack_frames,
                logged: !s.lost,
            });
        }

        // The end: profile collection stops, then the end rundown.
        let end = self.duration;
        if let Some(p) = &self.profile {
            let event = payloads::profile_interval(
                EventType::ProfileCollectionEnd,
                0,
                p.interval_100ns,
                p.interval_100ns,
                "Timer",
            )?;
            push(&mut pending, end, class::END_RUNDOWN, 0, event.into());
        }
        for p in self.processes.iter().filter(|p| p.end.is_none()) {
            push(
                &mut pending,
                end,
                class::END_RUNDOWN,
                0,
                self.process_event(EventType::ProcessDcEnd, p, None)?.into(),
            );
            for t in self.threads.iter().filter(|t| t.pid == p.pid && t.end.is_none()) {
                push(&mut pending, end, class::END_RUNDOWN, 0, self.thread_event(EventType::ThreadDcEnd, t)?.into());
            }
        }

        pending.sort_unstable_by_key(|p| (p.ts, p.class, p.seq));
        let mut event_counts = BTreeMap::new();
        for p in &pending {
            *event_counts.entry(p.item.event()).or_insert(0usize) += 1;
        }
        let events_lost = lost.len() as u32;

        let mut options = WriterOptions::new(u32::from(self.cpu_count), self.start_filetime);
        options.header.perf_freq = self.qpc_frequency;
        options.header.provider_version = self.os_build;
        // Version bytes as Windows 10 writes them (10.0, sub 1, sub-minor 5), seen in the airbus trace.
        options.header.version = 0x0501_000A;
        options.header.events_lost = events_lost;
        options.header.buffer_size = self.buffer_size.max(1024);
        options.header.log_file_name = "etwq-demo.etl".into();
        options.start_timestamp = self.start_qpc;
        let mut writer = EtlWriter::new(Cursor::new(Vec::new()), options)?;
        for &(cpu, ts) in &lost {
            writer.events_lost(cpu, raw(ts));
        }
        let dispatcher = self.dispatcher_header;
        // The PERFINFO header of the events below carries no thread or process ids.
        fn record(event: EventType, payload: &[u8], cpu: u16, ts: i64) -> etl::Record<'_> {
            payloads::record(event, 0, 0, payload, cpu, ts, DispatcherHeader::default())
        }
        let mut scratch = Vec::with_capacity(1024);
        let mut frames = Vec::with_capacity(64);
        for p in &pending {
            let (cpu, ts) = (p.cpu, raw(p.ts));
            match &p.item {
                Item::Encoded(e) => writer.write(&e.record(cpu, ts, dispatcher))?,
                Item::CSwitch(fields, pid) => {
                    payloads::cswitch_into(&mut scratch, fields);
                    let (tid, pid) = (fields.new_tid, *pid);
                    writer.write(&payloads::record(EventType::CSwitch, tid, pid, &scratch, cpu, ts, dispatcher))?
                }
                Item::SysCallEnter(address) => {
                    payloads::syscall_enter_into(&mut scratch, *address);
                    writer.write(&record(EventType::SysCallEnter, &scratch, cpu, ts))?
                }
                Item::SysCallExit(status) => {
                    payloads::syscall_exit_into(&mut scratch, *status);
                    writer.write(&record(EventType::SysCallExit, &scratch, cpu, ts))?
                }
                Item::Sample { ip, tid } => {
                    payloads::sampled_profile_into(&mut scratch, *ip, *tid);
                    writer.write(&record(EventType::SampledProfile, &scratch, cpu, ts))?
                }
                Item::Stack { sample, pid } => {
                    let Some(s) = self.samples.get(*sample as usize) else { continue };
                    frames.clear();
                    frames.push(s.ip);
                    frames.extend_from_slice(&s.callers);
                    payloads::stack_walk_into(&mut scratch, raw(s.ts), *pid, s.tid, &frames);
                    writer.write(&record(EventType::StackWalk, &scratch, cpu, ts))?
                }
            }
        }
        let bytes = writer.finish()?.into_inner();

        let truth = GroundTruth {
            cpu_count: self.cpu_count,
            qpc_frequency: self.qpc_frequency,
            start_qpc: self.start_qpc,
            end_qpc: raw(self.duration),
            duration_ns: self.ns(self.duration),
            syscalls,
            intervals,
            samples,
            event_counts,
            events_lost,
            record_count: pending.len(),
        };
        Ok((bytes, truth))
    }

    fn process_event(
        &self,
        event: EventType,
        p: &ProcessSpec,
        exit_status: Option<u32>,
    ) -> Result<payloads::Encoded, ScenarioError> {
        let key = 0xFFFF_B80C_4000_0000u64 + u64::from(p.pid) * 0x1000;
        let fields = payloads::ProcessFields {
            unique_process_key: if p.pid == IDLE_PID { 0 } else { key },
            pid: p.pid,
            parent_pid: p.parent_pid,
            session_id: p.session_id,
            exit_status: exit_status.unwrap_or(if p.pid == IDLE_PID { 0 } else { payloads::STATUS_PENDING }),
            directory_table_base: 0x1ad000 + u64::from(p.pid) * 0x10_0000,
            flags: 0,
            user_sid: &p.user_sid,
            image_file_name: &p.name,
            command_line: &p.command_line,
            package_full_name: "",
            application_id: "",
        };
        // Start is logged by a thread of the parent, End by the exiting process.
        let first_thread = |pid| self.threads.iter().find(|t| t.pid == pid).map(|t| t.tid).unwrap_or(0);
        let (tid, pid) = match event {
            EventType::ProcessStart => (first_thread(p.parent_pid), p.parent_pid),
            _ => (first_thread(p.pid), p.pid),
        };
        Ok(payloads::process(event, &fields, tid, pid)?)
    }

    fn thread_event(&self, event: EventType, t: &ThreadSpec) -> Result<payloads::Encoded, ScenarioError> {
        let kernel_stack = 0xFFFF_F806_4000_0000u64.wrapping_add(u64::from(t.tid & 0xF_FFFF) * 0x8000);
        let user_stack = 0x0000_00A0_0000_0000u64 + u64::from(t.tid) * 0x10_0000;
        let fields = payloads::ThreadFields {
            pid: t.pid,
            tid: t.tid,
            stack_base: kernel_stack,
            stack_limit: kernel_stack - 0x6000,
            user_stack_base: if t.pid == 4 { 0 } else { user_stack },
            user_stack_limit: if t.pid == 4 { 0 } else { user_stack - 0x10_0000 },
            affinity: (1u64 << self.cpu_count.min(63)) - 1,
            win32_start_address: t.start_address,
            teb_base: if t.pid == 4 { 0 } else { 0x0000_00F0_0000_0000 + u64::from(t.tid) * 0x2000 },
            sub_process_tag: 0,
            base_priority: t.base_priority,
            page_priority: 5,
            io_priority: 2,
            thread_flags: 0,
            thread_name: &t.name,
        };
        Ok(payloads::thread(event, &fields)?)
    }

    /// KernelTraceControl identities, then the image event itself.
    fn image_events(&self, event: EventType, m: &ModuleSpec) -> Result<Vec<payloads::Encoded>, ScenarioError> {
        let mut out = vec![payloads::image_id(m.base, m.size, m.pid, m.time_date_stamp, m.file_name())?];
        if let Some(pdb) = &m.pdb {
            out.push(payloads::dbgid_rsds(m.base, m.pid, pdb.guid, pdb.age, &pdb.name)?);
        }
        out.push(payloads::image(event, &image_fields(m), 0, m.pid)?);
        Ok(out)
    }

    /// The module of `pid` (or the kernel's) that holds `address`.
    pub fn module_at(&self, pid: u32, address: u64) -> Option<&ModuleSpec> {
        self.modules.iter().find(|m| (m.pid == pid || m.pid == 0) && m.contains(address))
    }
}

fn image_fields(m: &ModuleSpec) -> payloads::ImageFields<'_> {
    payloads::ImageFields {
        image_base: m.base,
        image_size: m.size,
        pid: m.pid,
        checksum: m.checksum,
        time_date_stamp: m.time_date_stamp,
        signature_level: 0x0c,
        signature_type: 1,
        default_base: m.base,
        file_name: &m.path,
    }
}

/// SplitMix64: a small deterministic generator, so scenarios need no crate.
#[derive(Clone, Debug)]
pub struct DemoRng(u64);

impl DemoRng {
    pub fn new(seed: u64) -> DemoRng {
        DemoRng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }

    /// Uniform in lo..hi (lo when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo.wrapping_add(self.below(hi.wrapping_sub(lo) as u64) as i64)
        }
    }

    /// A point strictly between a and b, when there is one.
    pub fn strictly_between(&mut self, a: i64, b: i64) -> Option<i64> {
        (b - a >= 2).then(|| self.range(a + 1, b))
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= probability && probability > 0.0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// Knobs of `random_scenario`.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomOptions {
    pub cpus: u16,
    pub processes: usize,
    pub threads: usize,
    pub duration: i64,
    /// Drop some syscall and sample records as lost events.
    pub lost_events: bool,
    /// With `lost_events`: the chance that a syscall's enter (or exit) is lost.
    pub loss_chance: f64,
    pub profile_interval_100ns: u32,
    /// When set, a call that returns in its own slice starts and ends within
    /// this many ticks (100 ns), so that each slice holds many calls: a machine
    /// dense in system calls. None: calls spread over their slices.
    pub short_calls: Option<i64>,
    pub dispatcher_header: DispatcherHeader,
}

impl Default for RandomOptions {
    fn default() -> Self {
        RandomOptions {
            cpus: 4,
            processes: 4,
            threads: 24,
            duration: 2_000_000,
            lost_events: false,
            loss_chance: 0.03,
            profile_interval_100ns: 1_000,
            short_calls: None,
            dispatcher_header: DispatcherHeader::Compact,
        }
    }
}

/// A random but consistent machine: threads migrate between CPUs, system
/// calls nest and span context switches, some threads start or end inside
/// the trace, and with `lost_events` some records are dropped.
pub fn random_scenario(seed: u64, options: &RandomOptions) -> Scenario {
    let mut rng = DemoRng::new(seed);
    let cpus = options.cpus.max(1);
    let duration = options.duration.max(10_000);
    let mut s = Scenario::new(cpus, duration);
    s.dispatcher_header = options.dispatcher_header;
    let machine = [rng.next_u64() as u32, rng.next_u64() as u32, rng.next_u64() as u32];

    let nt = ModuleSpec {
        pid: 0,
        base: 0xFFFF_F800_61A0_0000,
        size: 0x104_6000,
        path: "\\SystemRoot\\system32\\ntoskrnl.exe".into(),
        time_date_stamp: 0x5f8e_9a11,
        checksum: 0x00a3_b9c4,
        pdb: Some(PdbIdentity {
            name: "ntkrnlmp.pdb".into(),
            guid: Guid::from_fields(0x3844_dbb9, 0x2017, 0x4967, [0xbe, 0x7a, 0xa4, 0xa2, 0xc2, 0x04, 0x30, 0xfa]),
            age: 1,
        }),
        load: None,
        unload: None,
    };
    s.modules.push(nt);
    s.processes.push(ProcessSpec {
        pid: IDLE_PID,
        parent_pid: 0,
        name: "Idle".into(),
        command_line: String::new(),
        session_id: u32::MAX,
        user_sid: Sid::local_system(),
        start: None,
        end: None,
    });
    let process_count = options.processes.max(1);
    for k in 0..process_count {
        let pid = 1000 + 4 * k as u32;
        s.processes.push(ProcessSpec {
            pid,
            parent_pid: 4,
            name: format!("proc{k}.exe"),
            command_line: format!("C:\\bin\\proc{k}.exe --seed {seed}"),
            session_id: 1,
            user_sid: Sid::account(machine, 1001),
            start: None,
            end: None,
        });
        for (i, name) in [format!("proc{k}.exe"), "ntdll.dll".to_string()].iter().enumerate() {
            let base = if i == 0 { 0x7FF6_0000_0000 + u64::from(pid) * 0x100_0000 } else { 0x7FFE_1B2E_0000 };
            s.modules.push(ModuleSpec {
                pid,
                base,
                size: 0x20_0000,
                path: format!("\\Device\\HarddiskVolume3\\Windows\\System32\\{name}"),
                time_date_stamp: rng.next_u64() as u32,
                checksum: rng.next_u64() as u32 & 0x00ff_ffff,
                pdb: Some(PdbIdentity {
                    name: name.replace(".exe", ".pdb").replace(".dll", ".pdb"),
                    guid: Guid(rng.next_u64().to_le_bytes().repeat(2).try_into().unwrap_or([0; 16])),
                    age: 1 + rng.below(3) as u32,
                }),
                load: None,
                unload: None,
            });
        }
    }
    for k in 0..options.threads.max(1) {
        let pid = 1000 + 4 * (k % process_count) as u32;
        let (start, end) = match rng.below(6) {
            0 => (Some(rng.range(1, duration / 2)), None),
            1 => (None, Some(rng.range(duration / 2, duration - 1))),
            _ => (None, None),
        };
        s.threads.push(ThreadSpec {
            tid: 2000 + 4 * k as u32,
            pid,
            start,
            end,
            base_priority: 8 + rng.below(8) as u8,
            start_address: 0x7FF6_0000_1000 + u64::from(pid) * 0x100_0000,
            name: String::new(),
        });
    }

    // Schedule: the CPU whose current slice ends first picks the next thread
    // among those not running elsewhere (with a tick of gap, so that a thread
    // never leaves one CPU and enters another at the same timestamp).
    let mut free_at: Vec<i64> = s.threads.iter().map(|t| t.start.unwrap_or(0)).collect();
    let mut cpu_at = vec![0i64; usize::from(cpus)];
    let mut last_on_cpu = vec![u32::MAX; usize::from(cpus)];
    while let Some((cpu, &t)) = cpu_at.iter().enumerate().filter(|(_, &t)| t < duration).min_by_key(|(_, &t)| t) {
        let length = rng.range(40, 20_000);
        let candidates: Vec<usize> = (0..s.threads.len())
            .filter(|&i| {
                let th = &s.threads[i];
                let dies = th.end.unwrap_or(duration);
                free_at[i] < t && t + 40 < dies && th.tid != last_on_cpu[cpu]
            })
            .collect();
        let choice = if rng.chance(0.2) { None } else { rng.pick(&candidates).copied() };
        match choice {
            None => {
                cpu_at[cpu] = (t + length).min(duration);
                last_on_cpu[cpu] = IDLE_TID;
            }
            Some(i) => {
                let th = &s.threads[i];
                let end = (t + length).min(th.end.unwrap_or(duration)).min(duration);
                let out = if th.end == Some(end) {
                    SwitchOut { state: thread_state::TERMINATED, wait_reason: wait_reason::EXECUTIVE, wait_mode: 0 }
                } else if rng.chance(0.3) {
                    SwitchOut::PREEMPTED
                } else {
                    let reasons = [
                        wait_reason::EXECUTIVE,
                        wait_reason::DELAY_EXECUTION,
                        wait_reason::USER_REQUEST,
                        wait_reason::WR_QUEUE,
                    ];
                    SwitchOut::waiting(*rng.pick(&reasons).unwrap_or(&0))
                };
                if t > 0 && rng.chance(0.5) {
                    s.ready_threads.push(ReadySpec {
                        cpu: cpu as u16,
                        ts: t - 1,
                        tid: th.tid,
                        adjust_reason: 1,
                        adjust_increment: 1,
                    });
                }
                s.schedule.push(Slice {
                    cpu: cpu as u16,
                    tid: th.tid,
                    start: t,
                    end,
                    priority: th.base_priority as i8,
                    out,
                });
                free_at[i] = end;
                cpu_at[cpu] = end;
                last_on_cpu[cpu] = th.tid;
            }
        }
    }

    // System calls per thread along its slices: some short, some spanning
    // context switches, some with a nested call, the last maybe left open.
    let mut runs: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    for slice in &s.schedule {
        runs.entry(slice.tid).or_default().push((slice.start, slice.end));
    }
    let addresses: Vec<u64> = (0..24).map(|i| 0xFFFF_F800_61C0_0000 + i * 0x1_0340).collect();
    let statuses = [0u32, 0, 0, 0, 0x0000_0102, 0xC000_0034, 0xC000_0022, 0x8000_0005];
    let lives_on: Vec<u32> = s.threads.iter().filter(|t| t.end.is_none()).map(|t| t.tid).collect();
    let mut tids: Vec<u32> = runs.keys().copied().collect();
    tids.sort_unstable();
    for tid in tids {
        let mut list = runs.remove(&tid).unwrap_or_default();
        list.sort_unstable();
        let mut pos = i64::MIN;
        let mut i = 0;
        while i < list.len() {
            let (start, end) = list[i];
            let from = start.max(pos);
            // Short calls leave room to return before the slice ends.
            let Some(enter) =
                rng.strictly_between(from, options.short_calls.map_or(end, |gap| (end - 1).min(from + gap)))
            else {
                i += 1;
                continue;
            };
            // Dense machines still have some calls that block across switches.
            let spans = rng.chance(if options.short_calls.is_some() { 0.01 } else { 0.25 });
            let (exit, exit_slice) = if spans && i + 1 < list.len() {
                let j = (i + 1 + rng.below(2) as usize).min(list.len() - 1);
                (rng.strictly_between(list[j].0, list[j].1), j)
            } else if i + 1 == list.len() && lives_on.contains(&tid) && rng.chance(0.3) {
                (None, i)
            } else {
                (rng.strictly_between(enter, options.short_calls.map_or(end, |length| end.min(enter + length))), i)
            };
            let mut call = SyscallSpec {
                tid,
                enter,
                exit,
                address: *rng.pick(&addresses).unwrap_or(&0),
                status: *rng.pick(&statuses).unwrap_or(&0),
                lost_enter: false,
                lost_exit: false,
            };
            if options.lost_events {
                call.lost_enter = rng.chance(options.loss_chance);
                call.lost_exit = rng.chance(options.loss_chance);
            }
            // A nested call inside the first slice of this one.
            let inner_end = exit.filter(|_| exit_slice == i).unwrap_or(end);
            if rng.chance(0.3) {
                if let Some(inner_enter) = rng.strictly_between(enter, inner_end - 1) {
                    if let Some(inner_exit) = rng.strictly_between(inner_enter, inner_end) {
                        s.syscalls.push(SyscallSpec {
                            tid,
                            enter: inner_enter,
                            exit: Some(inner_exit),
                            address: *rng.pick(&addresses).unwrap_or(&0),
                            status: *rng.pick(&statuses).unwrap_or(&0),
                            lost_enter: false,
                            lost_exit: false,
                        });
                    }
                }
            }
            s.syscalls.push(call);
            match exit {
                Some(exit) => {
                    pos = exit;
                    i = exit_slice;
                }
                None => break,
            }
        }
    }

    // Profile samples on every CPU at every interval, of whatever runs there.
    s.profile = Some(ProfileSpec { interval_100ns: options.profile_interval_100ns.max(1) });
    let interval = s.profile_interval_ticks().unwrap_or(1_000);
    let checked = match s.check() {
        Ok(c) => c,
        Err(_) => return s,
    };
    for cpu in 0..cpus {
        let mut ts = interval / 2 + i64::from(cpu) * 7;
        while ts < duration {
            if let Some(st) = checked.stretch_at(cpu, ts) {
                if st.start < ts && ts + 1 < st.end {
                    let module_base =
                        if st.tid == IDLE_TID || rng.chance(0.4) { 0xFFFF_F800_61A0_0000 } else { 0x7FFE_1B2E_0000 };
                    let ip = module_base + rng.below(0x10_0000);
                    let callers = (0..rng.below(6)).map(|_| module_base + rng.below(0x10_0000)).collect();
                    s.samples.push(SampleSpec {
                        cpu,
                        tid: st.tid,
                        ts,
                        ip,
                        callers,
                        lost: options.lost_events && rng.chance(options.loss_chance * 2.0 / 3.0),
                    });
                }
            }
            ts += interval;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_cpu_machine() -> Scenario {
        let mut s = Scenario::new(2, 10_000);
        s.processes.push(ProcessSpec {
            pid: 100,
            parent_pid: 4,
            name: "a.exe".into(),
            command_line: "a.exe".into(),
            session_id: 1,
            user_sid: Sid::local_system(),
            start: None,
            end: None,
        });
        for tid in [104, 108] {
            s.threads.push(ThreadSpec {
                tid,
                pid: 100,
                start: None,
                end: None,
                base_priority: 8,
                start_address: 0,
                name: String::new(),
            });
        }
        let slice = |cpu, tid, start, end| Slice { cpu, tid, start, end, priority: 8, out: SwitchOut::PREEMPTED };
        s.schedule = vec![slice(0, 104, 100, 2_000), slice(1, 104, 3_000, 6_000), slice(0, 108, 2_000, 9_000)];
        s
    }

    fn call(tid: u32, enter: i64, exit: Option<i64>) -> SyscallSpec {
        SyscallSpec { tid, enter, exit, address: 0x1000, status: 0, lost_enter: false, lost_exit: false }
    }

    #[test]
    fn a_call_cut_by_a_switch_resumes_on_the_other_cpu() {
        let mut s = two_cpu_machine();
        s.syscalls = vec![call(104, 500, Some(4_000)), call(104, 600, Some(700))];
        let (_, truth) = s.to_bytes().unwrap();
        let outer = truth.syscalls[0];
        assert_eq!((outer.enter_cpu, outer.exit_cpu, outer.depth), (0, Some(1), 0));
        assert_eq!(outer.duration_ns, Some(350_000));
        assert_eq!(truth.syscalls[1].depth, 1);
        // CPU 0: idle, 104, 108, idle; CPU 1: idle, 104, idle.
        let tids: Vec<(u16, u32)> = truth.intervals.iter().map(|i| (i.cpu, i.tid)).collect();
        assert_eq!(tids, vec![(0, 0), (0, 104), (0, 108), (0, 0), (1, 0), (1, 104), (1, 0)]);
    }

    #[test]
    fn inconsistent_scenarios_are_refused() {
        let refuse = |s: &Scenario, what: &str| {
            let e = s.to_bytes().err().unwrap_or_else(|| panic!("{what} was accepted"));
            assert!(!e.what.is_empty());
        };
        let mut s = two_cpu_machine();
        s.syscalls = vec![call(104, 2_500, Some(4_000))];
        refuse(&s, "a call entered while the thread waits");
        s.syscalls = vec![call(104, 500, Some(800)), call(104, 600, Some(900))];
        refuse(&s, "calls that overlap without nesting");
        s.syscalls = vec![call(104, 500, Some(500))];
        refuse(&s, "an exit at the enter time");
        let mut s = two_cpu_machine();
        s.schedule[1].start = 1_500;
        refuse(&s, "a thread on two CPUs at once");
        let mut s = two_cpu_machine();
        s.schedule[2].start = 1_900;
        refuse(&s, "overlapping slices on a CPU");
        let mut s = two_cpu_machine();
        s.schedule[0].tid = 999;
        refuse(&s, "an unknown thread");
        let mut s = two_cpu_machine();
        s.samples.push(SampleSpec { cpu: 0, tid: 108, ts: 150, ip: 1, callers: vec![], lost: false });
        refuse(&s, "a sample of a thread that is not running");
        let mut s = two_cpu_machine();
        s.start_qpc = i64::MAX - 5;
        refuse(&s, "a clock that overflows");
        let mut s = two_cpu_machine();
        s.threads[0].end = Some(20_000);
        refuse(&s, "a thread ending after the trace");
        refuse(&Scenario::new(0, 10), "no CPUs");
    }

    #[test]
    fn store_key_prints_guid_fields_then_age() {
        let pdb = PdbIdentity {
            name: "ntkrnlmp.pdb".into(),
            guid: Guid::parse("3844dbb9-2017-4967-be7a-a4a2c20430fa").unwrap(),
            age: 0x1a,
        };
        assert_eq!(pdb.store_key(), "3844DBB920174967BE7AA4A2C20430FA1A");
    }

    #[test]
    fn random_schedules_are_consistent() {
        for seed in 0..20 {
            let s = random_scenario(seed, &RandomOptions { cpus: 3, threads: 10, ..Default::default() });
            s.validate().unwrap();
            let timeline = s.timeline().unwrap();
            for cpu in 0..3 {
                let stretches = timeline.cpu(cpu);
                assert_eq!(stretches.first().map(|x| x.start), Some(0));
                assert_eq!(stretches.last().map(|x| x.end), Some(s.duration));
                assert!(stretches.windows(2).all(|w| w[0].end == w[1].start));
            }
        }
    }
}
