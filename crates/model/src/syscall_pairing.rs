//! System call rows: each thread's enters and exits paired in time order,
//! and nothing paired where events could have been lost.
use super::chunked::Chunked;
use super::pass_output::{CpuOutput, CpuSyscalls, Switch};
use super::sorted_runs;
use super::SyscallRow;
use etl::clock::Clock;
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A stretch of one CPU where events were lost, and whose events could be among them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LossWindow {
    pub start: i64,
    pub end: i64,
    /// The threads that ran on the CPU during the window; None when the context
    /// switches there do not chain (a switch was lost too), so any thread could be.
    pub threads: Option<Vec<u32>>,
}

/// The threads that ran on a CPU during [start, end], if its context switches
/// account for all of that time: each switch's old thread is the previous one's new.
pub(super) fn threads_that_could_lose(switches: &[Switch], start: i64, end: i64) -> Option<Vec<u32>> {
    let before = switches.partition_point(|s| s.ts <= start);
    let running = switches.get(before.checked_sub(1)?)?;
    let mut threads = vec![running.new_tid];
    let mut current = running.new_tid;
    // The switches inside the window, and the first one after it, must chain.
    for s in &switches[before..] {
        if s.old_tid != current {
            return None;
        }
        if s.ts > end {
            break;
        }
        threads.push(s.new_tid);
        current = s.new_tid;
    }
    threads.sort_unstable();
    threads.dedup();
    Some(threads)
}

/// Which of `windows` (sorted) have started by `ts`, and whether `ts` is inside one.
fn loss_epoch(windows: &[(i64, i64)], ts: i64) -> (usize, bool) {
    let started = windows.partition_point(|&(start, _)| start < ts);
    let inside = windows[..started].iter().any(|&(_, end)| ts <= end);
    (started, inside)
}

/// Pairs each thread's enters and exits in time order, innermost first, so
/// nested calls and calls that migrate between CPUs pair correctly. Around
/// lost events nothing is paired: a call whose enter or exit could have been
/// lost keeps an unknown end rather than borrowing another call's exit.
/// Takes the CPU outputs, whose last use this is. The enters are the rows:
/// an exit fills in the row of its enter, and the rows of every CPU are then
/// merged in time order, each chunk freed as it is merged, so that the rows
/// are held about once. Returns the rows, the exits that had no enter and the
/// events of no known thread.
pub(super) fn pair_syscalls(
    cpus: Vec<CpuOutput>,
    clock: &Clock,
    loss_windows: &[LossWindow],
) -> (Vec<SyscallRow>, u64, u64) {
    let mut without_thread = 0;
    let mut events = Vec::with_capacity(cpus.len());
    for o in cpus {
        without_thread += o.exits_without_thread;
        events.push(o.syscalls);
    }
    let unmatched_exits = pair_in_time_order(&mut events, clock, loss_windows);
    let mut enters: Vec<Chunked<SyscallRow>> = events.into_iter().map(|e| e.enters).collect();
    without_thread += enters.iter().flat_map(Chunked::iter).filter(|r| r.tid().is_none()).count() as u64;
    enters.par_iter_mut().for_each(|rows| rows.iter_mut().for_each(|r| r.ts = clock.ns_since_start(r.ts)));
    (sorted_runs::merge_chunked(enters, |r| (r.ts, r.cpu)), unmatched_exits, without_thread)
}

/// One thread's calls still open, and the loss windows that could hold its events.
#[derive(Default)]
struct ThreadCalls {
    /// Rows (CPU, index) entered and not exited yet, innermost last.
    open: Vec<(usize, usize)>,
    /// Loss windows started before its last event.
    epoch: usize,
    windows: Vec<(i64, i64)>,
}

/// Walks every CPU's enters and exits in time order (ties in CPU order, each
/// CPU's in its record order) and gives each exit to the innermost open call
/// of its thread; returns how many exits had no enter.
fn pair_in_time_order(cpus: &mut [CpuSyscalls], clock: &Clock, loss_windows: &[LossWindow]) -> u64 {
    // Each CPU's next event, enter and exit.
    let mut next = vec![(0usize, 0usize, 0usize); cpus.len()];
    // The time of each CPU's next event, and whether it is an exit.
    let peek = |cpus: &[CpuSyscalls], cpu: usize, (event, enter, exit): (usize, usize, usize)| {
        let c = &cpus[cpu];
        match c.is_enter.get(event)? {
            true => Some((c.enters.get(enter)?.ts, false)),
            false => Some((c.exits.get(exit)?.raw_ts, true)),
        }
    };
    let mut heap: BinaryHeap<Reverse<(i64, usize, bool)>> = (0..cpus.len())
        .filter_map(|cpu| peek(cpus, cpu, next[cpu]).map(|(ts, exit)| Reverse((ts, cpu, exit))))
        .collect();
    let mut threads: HashMap<u32, ThreadCalls> = HashMap::default();
    let mut unmatched_exits = 0u64;
    while let Some(Reverse((raw_ts, cpu, is_exit))) = heap.pop() {
        let (_, enter, exit) = next[cpu];
        next[cpu].0 += 1;
        let tid = if is_exit {
            next[cpu].2 += 1;
            cpus[cpu].exits.get(exit).map(|x| x.tid)
        } else {
            next[cpu].1 += 1;
            cpus[cpu].enters.get(enter).and_then(SyscallRow::tid)
        };
        if let Some((ts, exit)) = peek(cpus, cpu, next[cpu]) {
            heap.push(Reverse((ts, cpu, exit)));
        }
        // A call of no known thread pairs with nothing.
        let Some(tid) = tid else { continue };
        let calls = threads.entry(tid).or_insert_with(|| ThreadCalls {
            windows: loss_windows
                .iter()
                .filter(|w| w.threads.as_ref().is_none_or(|t| t.binary_search(&tid).is_ok()))
                .map(|w| (w.start, w.end))
                .collect(),
            ..ThreadCalls::default()
        });
        let ts = clock.ns_since_start(raw_ts);
        let (event_epoch, in_loss) = loss_epoch(&calls.windows, ts);
        if event_epoch != calls.epoch || in_loss {
            // A loss lies between this event and the calls still open.
            calls.open.clear();
            calls.epoch = event_epoch;
        }
        if !is_exit {
            if !in_loss {
                calls.open.push((cpu, enter));
            }
            continue;
        }
        match calls.open.pop().filter(|_| !in_loss) {
            Some((at_cpu, at)) => {
                let status = cpus[cpu].exits.get(exit).map_or(0, |x| x.status);
                if let Some(row) = cpus[at_cpu].enters.get_mut(at) {
                    row.set_exit(ts, status);
                }
            }
            None => unmatched_exits += 1,
        }
    }
    unmatched_exits
}
