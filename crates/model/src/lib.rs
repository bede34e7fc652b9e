//! The trace model: tables built once from the decoded event stream, the
//! way WPA and TraceProcessor present a trace.
pub mod build;
mod chunked;
pub mod cpu_pass;
mod cswitch_rows;
pub mod managed;
pub mod modules;
mod name_pass;
pub mod owners;
pub mod pass_output;
pub mod processes;
pub mod registry;
mod sample_row;
pub mod schedule;
pub mod schema;
mod sorted_runs;
mod stack_join;
pub mod stacks;
pub mod symbolize;
pub mod syscall_objects;
mod syscall_pairing;
mod syscall_row;
mod wakeup_rows;

use modules::ModuleRegistry;
use processes::{ProcessRegistry, ThreadRegistry};
pub use sample_row::SampleRow;
use stacks::{StackId, StackStats, StackStore};
pub use syscall_row::SyscallRow;
pub use wakeup_rows::{adjust_reason_name, WakeupRow, NO_WAKEUP};

/// Times are nanoseconds since the trace start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CSwitchRow {
    /// Switched in.
    pub ts: i64,
    /// Switched out: the next context switch on this CPU, or the trace end.
    pub end_ts: i64,
    /// Since when the thread was ready to run (`NOT_KNOWN` when nothing says): see `TraceModel::ready_ns`.
    pub ready_since: i64,
    pub tid: u32,
    /// None for a CPU's first interval, which began before anything was traced.
    pub prev_tid: Option<u32>,
    /// The ReadyThread that ended the thread's last wait, an index into
    /// `TraceModel::wakeups`, or `NO_WAKEUP` (`TraceModel::wakeup_of`).
    pub wakeup: u32,
    pub cpu: u16,
    /// Why this thread left the CPU at `end_ts` (KWAIT_REASON); None for the last interval.
    pub wait_reason: Option<i8>,
    /// The state the previous thread was left in (KTHREAD_STATE).
    pub prev_state: Option<i8>,
    /// None for a CPU's first interval, whose switch-in was not traced.
    pub priority: Option<i8>,
}

/// `CSwitchRow::ready_since` when nothing says since when the thread was ready.
pub const NOT_KNOWN: i64 = i64::MIN;

/// What ran at raised IRQL, outside any thread: an interrupt service routine or a deferred procedure call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpcKind {
    Dpc,
    ThreadedDpc,
    TimerDpc,
    Isr,
}

impl DpcKind {
    pub fn name(self) -> &'static str {
        match self {
            DpcKind::Dpc => "DPC",
            DpcKind::ThreadedDpc => "ThreadedDPC",
            DpcKind::TimerDpc => "TimerDPC",
            DpcKind::Isr => "ISR",
        }
    }
}

/// One DPC or ISR: the kernel logs it when the routine returns, with the
/// time it was entered (InitialTime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DpcRow {
    /// Entered (ns since the trace start; raw until the build converts it).
    pub ts: i64,
    /// Returned.
    pub end_ts: i64,
    pub routine: u64,
    pub cpu: u16,
    /// The interrupt vector of an ISR.
    pub vector: Option<u16>,
    pub kind: DpcKind,
}

/// A stack joined to the event it belongs to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StackRow {
    pub ts: i64,
    pub tid: u32,
    pub pid: u32,
    pub stack: StackId,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildStats {
    pub records: u64,
    /// Syscall events whose thread became uncertain because a context switch was lost.
    pub unattributed_after_loss: u64,
    /// Syscall events with no thread (no context switch seen on that CPU yet, or lost).
    pub unattributed_syscall_events: u64,
    pub unmatched_syscall_exits: u64,
    /// Stretches where a buffer said events were lost.
    pub loss_windows: u64,
    pub stacks: StackStats,
}

/// What a model build keeps beyond the context switches, wakeups, names,
/// lifetimes and I/O, which every build keeps: a query that reads only system
/// calls need not hold a trace's samples and their stacks, nor a tree its
/// system calls, nor either of them a trace's DPCs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelParts {
    /// System calls, with their stacks.
    pub syscalls: bool,
    /// Samples, with their stacks, and each thread's sample count.
    pub samples: bool,
    /// DPCs and ISRs.
    pub dpcs: bool,
}

impl ModelParts {
    pub const ALL: ModelParts = ModelParts { syscalls: true, samples: true, dpcs: true };
    pub const NONE: ModelParts = ModelParts { syscalls: false, samples: false, dpcs: false };

    /// Whether a model with these parts has all of `other`.
    pub fn contains(self, other: ModelParts) -> bool {
        (self.syscalls || !other.syscalls) && (self.samples || !other.samples) && (self.dpcs || !other.dpcs)
    }

    /// Whether every event that claims a stack is kept (the stacks table
    /// lists the stacks none of them claimed).
    pub fn keeps_every_stack(self) -> bool {
        self.syscalls && self.samples
    }

    pub fn union(self, other: ModelParts) -> ModelParts {
        ModelParts {
            syscalls: self.syscalls || other.syscalls,
            samples: self.samples || other.samples,
            dpcs: self.dpcs || other.dpcs,
        }
    }
}

pub struct TraceModel {
    /// What this model holds: with a part left out, its rows are empty, and
    /// so are the stack rows (`stack_rows`), which only the stacks table reads.
    pub parts: ModelParts,
    pub pointer_size: u8,
    pub trace_end_ns: i64,
    /// Process rows, and "which process had pid P at time T".
    pub processes: ProcessRegistry,
    pub threads: ThreadRegistry,
    pub modules: ModuleRegistry,
    /// JIT-compiled .NET methods, for addresses in no image.
    pub managed: managed::ManagedCode,
    pub cswitch: Vec<CSwitchRow>,
    /// One row per ReadyThread, in time order.
    pub wakeups: Vec<WakeupRow>,
    pub syscalls: Vec<SyscallRow>,
    pub samples: Vec<SampleRow>,
    /// What each sample stands for: the profile interval (1 ms when the trace does not say).
    pub sample_weight_ns: i64,
    pub stack_rows: Vec<StackRow>,
    pub stacks: StackStore,
    pub diskio: Vec<io::DiskIoRow>,
    pub fileio: Vec<io::FileIoRow>,
    pub hardfaults: Vec<io::HardFaultRow>,
    pub registry: Vec<registry::RegistryRow>,
    /// DPCs and ISRs, in the order they were entered.
    pub dpcs: Vec<DpcRow>,
    /// Processes and threads created and images loaded, by the thread that did it.
    pub created: Vec<syscall_objects::CreatedObject>,
    /// The file, registry and created objects each system call touched
    /// (empty without the system calls part).
    pub syscall_objects: syscall_objects::SyscallObjects,
    pub stats: BuildStats,
}

impl TraceModel {
    /// The whole model.
    pub fn build(trace: &etl::EtlTrace, decoder: &mut decode::Decoder) -> TraceModel {
        build::build(trace, decoder, &progress::Progress::new(), ModelParts::ALL)
            .expect("nothing can stop a meter of its own")
    }

    /// The model with `parts`, counting into `meter` the records the passes
    /// take; None when the meter was asked to stop before the model was whole.
    pub fn build_counting(
        trace: &etl::EtlTrace,
        decoder: &mut decode::Decoder,
        meter: &progress::Progress,
        parts: ModelParts,
    ) -> Option<TraceModel> {
        build::build(trace, decoder, meter, parts)
    }

    /// The process that made a system call: its thread's at the time.
    pub fn syscall_pid(&self, row: &SyscallRow) -> Option<u32> {
        self.threads.pid_at(row.tid()?, row.ts)
    }

    /// The ReadyThread that ended the wait before a switch-in (see `cswitch_rows::Waits`).
    pub fn wakeup_of(&self, row: &CSwitchRow) -> Option<&WakeupRow> {
        (row.wakeup != NO_WAKEUP).then(|| self.wakeups.get(row.wakeup as usize)).flatten()
    }

    /// How long the thread of a switch-in was ready: since its last switch-out
    /// when that left it runnable (preempted, or it yielded), else since the
    /// ReadyThread that ended its last wait; None when neither says.
    pub fn ready_ns(&self, row: &CSwitchRow) -> Option<i64> {
        (row.ready_since != NOT_KNOWN).then(|| row.ts.saturating_sub(row.ready_since))
    }

    /// The process of a switch-in's thread.
    pub fn cswitch_pid(&self, row: &CSwitchRow) -> Option<u32> {
        self.threads.pid_at(row.tid, row.ts)
    }

    /// The process of the thread a switch-in replaced.
    pub fn cswitch_prev_pid(&self, row: &CSwitchRow) -> Option<u32> {
        self.threads.pid_at(row.prev_tid?, row.ts)
    }

    /// The process of the thread that readied another: its thread's at the time.
    pub fn readying_pid(&self, row: &WakeupRow) -> Option<u32> {
        self.threads.pid_at(row.readying_tid()?, row.ts)
    }
}
pub mod io;
pub mod tables;
