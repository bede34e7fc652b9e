//! What the per-CPU pass takes from the records, as plain rows: context
//! switches, ReadyThread events (as rows), system call enters (as rows) and
//! exits, samples (as rows), stack events and stack-key definitions.
//! The pass fills them; the stack join and the model's build read them.
use super::chunked::Chunked;
use super::{DpcRow, SampleRow, SyscallRow, WakeupRow};
use columnar::Bitmap;
use etl::RecordRef;

/// A stack's index in the model's `StackStore`. The pass leaves it empty;
/// the stack join fills it in.
pub type StackId = u32;

/// A CSwitch event: `new_tid` runs on this CPU from `ts` on.
#[derive(Clone, Copy, Debug)]
pub struct Switch {
    pub ts: i64,
    pub new_tid: u32,
    pub old_tid: u32,
    pub new_priority: i8,
    pub old_wait_reason: i8,
    pub old_state: i8,
}

/// A SysCallExit; the CPU is the one whose pass found it. Which call it ends
/// is found when each thread's events are paired.
#[derive(Clone, Copy, Debug)]
pub struct SyscallExit {
    pub raw_ts: i64,
    /// The thread the timeline says ran on the CPU (exits of no known thread
    /// are only counted); `UNNAMED_THREAD` until a record names it.
    pub tid: u32,
    pub status: u32,
}

/// The thread of an exit logged before anything named the CPU's running
/// thread (`CpuSyscalls::name_thread_since` names it, or it goes).
pub const UNNAMED_THREAD: u32 = u32::MAX;

/// One CPU's system call events: the enters as the rows they become, the
/// exits, and their order (a bit an event) so that the pairing reads them
/// as they were logged.
#[derive(Default)]
pub struct CpuSyscalls {
    /// One row per SysCallEnter, in record order (time: the raw timestamp
    /// until pairing); the stack join and the pairing fill them in.
    pub enters: Chunked<SyscallRow>,
    pub exits: Vec<SyscallExit>,
    /// Per event in record order: set for an enter, clear for an exit.
    pub is_enter: Bitmap,
}

impl CpuSyscalls {
    pub fn push_enter(&mut self, row: SyscallRow) {
        self.enters.push(row);
        self.is_enter.push(true);
    }

    pub fn push_exit(&mut self, exit: SyscallExit) {
        self.exits.push(exit);
        self.is_enter.push(false);
    }

    /// Where the events logged from now on start.
    pub fn mark(&self) -> SyscallMark {
        SyscallMark { events: self.is_enter.len(), enters: self.enters.len(), exits: self.exits.len() }
    }

    /// Gives the events logged since `mark` without a thread the thread a
    /// record named as running through all of them.
    pub fn name_thread_since(&mut self, mark: SyscallMark, tid: u32) {
        for i in mark.enters..self.enters.len() {
            if let Some(row) = self.enters.get_mut(i).filter(|row| row.tid().is_none()) {
                row.set_thread(tid);
            }
        }
        for exit in self.exits.iter_mut().skip(mark.exits).filter(|e| e.tid == UNNAMED_THREAD) {
            exit.tid = tid;
        }
    }

    /// Takes back the thread of the events logged since `mark` (a lost
    /// context switch made it uncertain): the enters keep their rows without
    /// a thread, the exits, which would pair with nothing, go. Returns how
    /// many enters lost their thread and how many exits went.
    pub fn take_back_since(&mut self, mark: SyscallMark) -> (u64, u64) {
        let mut forgotten = 0;
        for i in mark.enters..self.enters.len() {
            if self.enters.get_mut(i).is_some_and(SyscallRow::forget_thread) {
                forgotten += 1;
            }
        }
        let dropped = self.exits.len().saturating_sub(mark.exits);
        if dropped > 0 {
            self.exits.truncate(mark.exits);
            let enters = self.enters.len().saturating_sub(mark.enters);
            self.is_enter.resize(mark.events, true);
            self.is_enter.resize(mark.events + enters, true);
        }
        (forgotten, dropped as u64)
    }
}

/// A place in a CPU's system call events (`CpuSyscalls::mark`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallMark {
    events: usize,
    enters: usize,
    exits: usize,
}

/// A StackWalk event (frames inline) or a stack-caching reference (key).
#[derive(Clone, Debug)]
pub struct StackEvent {
    /// Raw timestamp of the event the stack belongs to.
    pub event_raw_ts: i64,
    pub tid: u32,
    pub pid: u32,
    pub body: StackBody,
}

#[derive(Clone, Debug)]
pub enum StackBody {
    /// Frames in this CPU's frame arena (`CpuOutput::frames`), start and length.
    Frames { start: u32, len: u32 },
    /// StackKeyKernel or StackKeyUser: frames defined by a later key event.
    Key { key: u64, ts: i64 },
}

/// StackKeyDelete / StackKeyRundown: the frames of a cache key.
#[derive(Clone, Debug)]
pub struct KeyDefinition {
    pub ts: i64,
    pub key: u64,
    pub frames: Vec<u64>,
}

#[derive(Default)]
pub struct CpuOutput {
    pub cpu: u16,
    pub switches: Vec<Switch>,
    /// One row per ReadyThread event, in record order (time: the raw
    /// timestamp until the build gives each its stack).
    pub readies: Vec<WakeupRow>,
    pub syscalls: CpuSyscalls,
    /// SysCallExit events of no known thread, which pair with nothing.
    pub exits_without_thread: u64,
    /// One row per SampledProfile event, in record order (time: the raw
    /// timestamp until the build gives each its stack and process).
    pub samples: Chunked<SampleRow>,
    pub stacks: Vec<StackEvent>,
    /// The frames of this CPU's inline stack events, one after the other.
    pub frames: Vec<u64>,
    pub key_definitions: Vec<KeyDefinition>,
    /// DPCs and ISRs (times raw until the build), in the order they returned.
    pub dpcs: Vec<DpcRow>,
    /// Process, thread, image and other rare events for the ordered pass.
    pub rare: Vec<RecordRef>,
    /// System call events taken back from a thread when a lost context switch showed up.
    pub unattributed_after_loss: u64,
    /// Where events were lost on this CPU (ns): from the end of the buffer before an
    /// EVENTS_LOST buffer to that buffer's last record.
    pub loss_windows: Vec<(i64, i64)>,
    pub records: u64,
    pub last_ts: i64,
}

impl CpuOutput {
    /// Gives back what the vectors grew past their length: every CPU's output
    /// is held at once until the model is built, and doubling left up to half
    /// of each unused.
    pub fn shrink_to_fit(&mut self) {
        self.switches.shrink_to_fit();
        self.readies.shrink_to_fit();
        self.syscalls.exits.shrink_to_fit();
        self.stacks.shrink_to_fit();
        self.frames.shrink_to_fit();
        self.key_definitions.shrink_to_fit();
        self.dpcs.shrink_to_fit();
        self.rare.shrink_to_fit();
    }

    /// Gives the ReadyThread events logged since `from` without a readying
    /// thread the thread a record named as running through all of them.
    pub fn name_readying_since(&mut self, from: usize, tid: u32) {
        for row in self.readies.iter_mut().skip(from).filter(|r| r.readying_tid().is_none()) {
            row.set_readying_tid(Some(tid));
        }
    }

    /// Takes back the readying thread of the ReadyThread events logged since
    /// `from`: a lost context switch made it uncertain.
    pub fn forget_readying_since(&mut self, from: usize) {
        for row in self.readies.iter_mut().skip(from) {
            row.set_readying_tid(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_back_keeps_the_enters_in_their_order_without_a_thread() {
        let mut calls = CpuSyscalls::default();
        let exit = |raw_ts| SyscallExit { raw_ts, tid: 8, status: 0 };
        calls.push_enter(SyscallRow::entered(1, 0, Some(8), 0x10));
        calls.push_exit(exit(2));
        let mark = calls.mark();
        calls.push_exit(exit(3));
        calls.push_enter(SyscallRow::entered(4, 0, Some(8), 0x20));
        calls.push_exit(exit(5));
        assert_eq!(calls.take_back_since(mark), (1, 2));
        assert_eq!(calls.is_enter.iter().collect::<Vec<_>>(), [true, false, true]);
        assert_eq!((calls.enters.len(), calls.exits.len()), (2, 1));
        let threads: Vec<_> = calls.enters.iter().map(SyscallRow::tid).collect();
        assert_eq!(threads, [Some(8), None]);
        assert_eq!(calls.take_back_since(calls.mark()), (0, 0));
    }

    #[test]
    fn naming_gives_the_unnamed_events_since_the_mark_their_thread() {
        let mut calls = CpuSyscalls::default();
        calls.push_enter(SyscallRow::entered(1, 0, Some(7), 0x10));
        let mark = calls.mark();
        calls.push_enter(SyscallRow::entered(2, 0, None, 0x20));
        calls.push_exit(SyscallExit { raw_ts: 3, tid: UNNAMED_THREAD, status: 0 });
        calls.name_thread_since(mark, 9);
        let threads: Vec<_> = calls.enters.iter().map(SyscallRow::tid).collect();
        assert_eq!(threads, [Some(7), Some(9)]);
        assert_eq!(calls.exits[0].tid, 9);
    }
}
