//! The machine as data: processes, threads, modules, the schedule, system
//! calls and samples, in QPC ticks since the trace start.
use super::DispatcherHeader;
use crate::payloads::Sid;
use std::collections::BTreeMap;

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
    pub const WR_ALERT_BY_THREAD_ID: u8 = 37;
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

impl ProcessSpec {
    /// A process alive through the whole trace: LocalSystem's, in session 1,
    /// its command line its name.
    pub fn running(pid: u32, parent_pid: u32, name: &str) -> ProcessSpec {
        ProcessSpec {
            pid,
            parent_pid,
            name: name.into(),
            command_line: name.into(),
            session_id: 1,
            user_sid: Sid::local_system(),
            start: None,
            end: None,
        }
    }
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

impl ThreadSpec {
    /// A thread alive through the whole trace, at base priority 8, without a name.
    pub fn running(tid: u32, pid: u32, start_address: u64) -> ThreadSpec {
        ThreadSpec { tid, pid, start: None, end: None, base_priority: 8, start_address, name: String::new() }
    }
}

/// A module's PDB identity as KernelTraceControl's DbgID_RSDS gives it.
pub use symbols::PdbIdentity;

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
    /// A managed image's IL PDB (DbgID_ILRSDS), logged after the native one.
    pub il_pdb: Option<PdbIdentity>,
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

/// ReadyThread on `cpu` at `ts`: `tid` is made ready by whatever runs there
/// (the readying thread: the kernel logs the event in its context).
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

/// The registry operations a scenario writes (Registry_TypeGroup1 opcodes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryOp {
    Create,
    Open,
    Query,
    SetValue,
    DeleteValue,
    QueryValue,
    EnumerateKey,
}

impl RegistryOp {
    pub fn name(self) -> &'static str {
        match self {
            RegistryOp::Create => "Create",
            RegistryOp::Open => "Open",
            RegistryOp::Query => "Query",
            RegistryOp::SetValue => "SetValue",
            RegistryOp::DeleteValue => "DeleteValue",
            RegistryOp::QueryValue => "QueryValue",
            RegistryOp::EnumerateKey => "EnumerateKey",
        }
    }
}

/// A registry operation of `tid`, logged when it completes at `ts`, on the
/// CPU the thread runs on. The key's parent is named by its KCB (a
/// KCBRundownEnd at the trace end), the last part by the event itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySpec {
    pub tid: u32,
    pub ts: i64,
    pub op: RegistryOp,
    /// The full name ("\REGISTRY\MACHINE\SOFTWARE\Foo"); a value operation adds the value's name.
    pub key: String,
    pub status: u32,
}

/// A file `tid` opens at `ts` (FileIo Create, on the CPU the thread runs
/// on); the request completes with `status` at `end` (OperationEnd, logged
/// where the thread then runs, or CPU 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOpenSpec {
    pub tid: u32,
    pub ts: i64,
    pub end: i64,
    /// The path as the kernel names it ("\Device\HarddiskVolume3\...").
    pub path: String,
    pub status: u32,
}

/// A .NET method the JIT compiled in process `pid`, on thread `tid`: the runtime
/// logs MethodLoadVerbose at `load` and MethodUnloadVerbose at `unload`. One
/// compiled before the trace (`load` None) is named by the start rundown's
/// MethodDCStartVerbose; one alive at the end by the end rundown's MethodDCEndVerbose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitMethodSpec {
    pub pid: u32,
    pub tid: u32,
    pub start: u64,
    pub size: u32,
    /// The assembly's file path (its ModuleDCStart names it).
    pub module: String,
    pub namespace: String,
    pub name: String,
    pub signature: String,
    pub load: Option<i64>,
    pub unload: Option<i64>,
}

/// What runs at raised IRQL, outside any thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptKind {
    Dpc,
    ThreadedDpc,
    TimerDpc,
    Isr,
}

/// A DPC or ISR on `cpu` from `start` to `end`, logged when it returns with
/// its start (InitialTime); it interrupts whatever thread runs there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DpcSpec {
    pub cpu: u16,
    pub start: i64,
    pub end: i64,
    pub kind: InterruptKind,
    pub routine: u64,
    /// The interrupt vector of an ISR.
    pub vector: u16,
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
    /// The readying thread's stack walked for `ready_threads[i]`, innermost
    /// frame first, by `i`: a StackWalk right after the ReadyThread, with its
    /// time, as the kernel logs it when stack walking is on for ReadyThread.
    pub ready_stacks: BTreeMap<usize, Vec<u64>>,
    pub syscalls: Vec<SyscallSpec>,
    pub profile: Option<ProfileSpec>,
    pub samples: Vec<SampleSpec>,
    pub registry: Vec<RegistrySpec>,
    pub file_opens: Vec<FileOpenSpec>,
    pub dpcs: Vec<DpcSpec>,
    pub jit_methods: Vec<JitMethodSpec>,
    /// Bytes per buffer; smaller buffers localise lost events more tightly.
    pub buffer_size: u32,
    /// The header the dispatcher's events (CSwitch, ReadyThread) are logged with.
    pub dispatcher_header: DispatcherHeader,
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
            ready_stacks: BTreeMap::new(),
            syscalls: Vec::new(),
            profile: None,
            samples: Vec::new(),
            registry: Vec::new(),
            file_opens: Vec::new(),
            dpcs: Vec::new(),
            jit_methods: Vec::new(),
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

    /// The module of `pid` (or the kernel's) that holds `address`.
    pub fn module_at(&self, pid: u32, address: u64) -> Option<&ModuleSpec> {
        self.modules.iter().find(|m| (m.pid == pid || m.pid == 0) && m.contains(address))
    }
}
