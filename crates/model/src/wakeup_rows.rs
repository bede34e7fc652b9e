//! Wakeups: one row per ReadyThread event, which the kernel logs on the CPU
//! of the thread that readies another, in its context. Packed into 24 bytes:
//! a busy trace holds about as many as it holds context switches. Absent
//! values are sentinels, not `Option`s, which would make it 40.
use super::pass_output::CpuOutput;
use super::sorted_runs;
use super::stacks::StackId;
use etl::clock::Clock;

/// No thread: the readying thread is not known.
const NO_THREAD: u32 = u32::MAX;
/// No stack: no StackWalk was joined to the event.
const NO_STACK: StackId = StackId::MAX;

/// What `cswitch` rows keep of the ReadyThread their ready time counts from:
/// an index into `TraceModel::wakeups`, or none.
pub const NO_WAKEUP: u32 = u32::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WakeupRow {
    /// In ns since the trace start (the raw timestamp while the build joins stacks).
    pub ts: i64,
    /// The thread made ready.
    pub tid: u32,
    readying_tid: u32,
    stack: StackId,
    /// The CPU the event was logged on: the readying thread's.
    pub cpu: u16,
    /// Why and by how much the readied thread's priority was adjusted (ReadyThread AdjustReason, AdjustIncrement).
    pub adjust_reason: i8,
    pub adjust_increment: i8,
}

impl WakeupRow {
    /// `tid` made ready on `cpu` at `raw_ts` by `readying` (None: not known), without a stack yet.
    pub fn readied(raw_ts: i64, cpu: u16, tid: u32, readying: Option<u32>, reason: i8, increment: i8) -> WakeupRow {
        WakeupRow {
            ts: raw_ts,
            tid,
            readying_tid: readying.filter(|&t| t != NO_THREAD).unwrap_or(NO_THREAD),
            stack: NO_STACK,
            cpu,
            adjust_reason: reason,
            adjust_increment: increment,
        }
    }

    /// The thread running on the CPU that logged the event; None when the timeline does not say.
    pub fn readying_tid(&self) -> Option<u32> {
        (self.readying_tid != NO_THREAD).then_some(self.readying_tid)
    }

    pub fn set_readying_tid(&mut self, tid: Option<u32>) {
        self.readying_tid = tid.unwrap_or(NO_THREAD);
    }

    /// The readying thread's stack at the event.
    pub fn stack(&self) -> Option<StackId> {
        (self.stack != NO_STACK).then_some(self.stack)
    }

    pub fn set_stack(&mut self, stack: Option<StackId>) {
        self.stack = stack.unwrap_or(NO_STACK);
    }
}

impl std::fmt::Debug for WakeupRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeupRow")
            .field("ts", &self.ts)
            .field("cpu", &self.cpu)
            .field("tid", &self.tid)
            .field("readying_tid", &self.readying_tid())
            .field("adjust_reason", &self.adjust_reason)
            .field("adjust_increment", &self.adjust_increment)
            .field("stack", &self.stack())
            .finish()
    }
}

/// AdjustReason names, as the ReadyThread class documents them: 0 ignores the
/// increment, 1 applies it (decaying at the end of each quantum, as after a
/// wait), 2 applies it as a boost that decays whole (priority donation).
const ADJUST_REASONS: [&str; 3] = ["None", "Unwait", "Boost"];

pub fn adjust_reason_name(reason: i8) -> String {
    usize::try_from(reason)
        .ok()
        .and_then(|i| ADJUST_REASONS.get(i))
        .map_or_else(|| format!("AdjustReason({reason})"), |s| s.to_string())
}

/// Every CPU's wakeups, their times in ns, merged in time order (CPU order at one time).
pub(super) fn wakeup_rows(cpus: &mut [CpuOutput], clock: &Clock) -> Vec<WakeupRow> {
    let runs = cpus
        .iter_mut()
        .map(|o| {
            let mut rows = std::mem::take(&mut o.readies);
            for row in &mut rows {
                row.ts = clock.ns_since_start(row.ts);
            }
            rows
        })
        .collect();
    sorted_runs::merge(runs, |w: &WakeupRow| (w.ts, w.cpu))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_24_bytes_and_reads_back_what_was_set() {
        assert_eq!(std::mem::size_of::<WakeupRow>(), 24);
        let mut row = WakeupRow::readied(100, 3, 8, Some(12), 1, 2);
        assert_eq!((row.readying_tid(), row.stack()), (Some(12), None));
        row.set_stack(Some(0));
        row.set_readying_tid(None);
        assert_eq!((row.readying_tid(), row.stack(), row.tid, row.cpu), (None, Some(0), 8, 3));
        // -1 names no thread.
        assert_eq!(WakeupRow::readied(100, 3, 8, Some(u32::MAX), 1, 2).readying_tid(), None);
        assert_eq!(row.readying_tid(), None);
        assert_eq!((adjust_reason_name(1), adjust_reason_name(7)), ("Unwait".to_string(), "AdjustReason(7)".into()));
    }
}
