//! System call rows: each thread's enters and exits paired in time order,
//! and nothing paired where events could have been lost.
use super::pass_output::{CpuOutput, Switch, SyscallEvent, SyscallKind};
use super::processes::ThreadRegistry;
use super::sorted_runs;
use super::SyscallRow;
use etl::clock::Clock;
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

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
/// Takes the CPU outputs, whose last use this is: they are freed before the
/// threads' rows are merged, so that events, rows and the merged list are
/// never all in memory at once.
pub(super) fn pair_syscalls(
    cpus: Vec<CpuOutput>,
    clock: &Clock,
    threads: &ThreadRegistry,
    loss_windows: &[LossWindow],
) -> (Vec<SyscallRow>, u64, u64) {
    let (runs, unmatched_exits, unattributed) = thread_rows(&cpus, clock, threads, loss_windows);
    drop(cpus);
    (sorted_runs::merge(runs, |r: &SyscallRow| (r.ts, r.cpu)), unmatched_exits, unattributed)
}

/// Each thread's calls, sorted by time (the calls of no known thread first),
/// with the count of exits that had no enter and of events with no thread.
fn thread_rows(
    cpus: &[CpuOutput],
    clock: &Clock,
    threads: &ThreadRegistry,
    loss_windows: &[LossWindow],
) -> (Vec<Vec<SyscallRow>>, u64, u64) {
    // Each CPU's events grouped by thread; a stable sort keeps each group in time order.
    let grouped: Vec<Vec<u32>> = cpus
        .par_iter()
        .map(|o| {
            let mut order: Vec<u32> = (0..o.syscalls.len() as u32).collect();
            order.sort_by_key(|&i| o.syscalls[i as usize].tid);
            order
        })
        .collect();
    let mut by_thread: HashMap<Option<u32>, Vec<ThreadPart>> = HashMap::default();
    for (cpu, order) in grouped.iter().enumerate() {
        let events = &cpus[cpu].syscalls;
        let mut start = 0;
        while let Some(&first) = order.get(start) {
            let tid = events[first as usize].tid;
            let end = start + order[start..].partition_point(|&i| events[i as usize].tid == tid);
            by_thread.entry(tid).or_default().push(ThreadPart { cpu, events, order: &order[start..end] });
            start = end;
        }
    }
    let unknown = by_thread.remove(&None).unwrap_or_default();
    let mut known: Vec<(u32, Vec<ThreadPart>)> =
        by_thread.into_iter().filter_map(|(tid, parts)| Some((tid?, parts))).collect();
    known.sort_unstable_by_key(|(tid, _)| *tid);
    let paired: Vec<(Vec<SyscallRow>, u64)> = known
        .par_iter()
        .map(|(tid, parts)| {
            // The thread's events from all its CPUs in time order (ties in CPU order).
            let event = |p: usize, k: usize| &parts[p].events[parts[p].order[k] as usize];
            let ranges: Vec<(usize, usize)> = parts.iter().map(|p| (0, p.order.len())).collect();
            let raw_ts = |p: usize, k: usize| event(p, k).raw_ts;
            let events = sorted_runs::in_key_order(&ranges, &raw_ts).map(|(p, k)| (parts[p].cpu, event(p, k)));
            // One row per enter: sized once, as every thread's rows are held at once.
            let enters = (0..parts.len())
                .flat_map(|p| (0..parts[p].order.len()).map(move |k| (p, k)))
                .filter(|&(p, k)| matches!(event(p, k).kind, SyscallKind::Enter { .. }))
                .count();
            pair_thread_syscalls(*tid, events, enters, cpus, clock, threads, loss_windows)
        })
        .collect();

    let unattributed = unknown.iter().map(|p| p.order.len() as u64).sum();
    let mut unknown_rows: Vec<SyscallRow> = unknown
        .iter()
        .flat_map(|p| p.order.iter().map(move |&i| (p.cpu, &p.events[i as usize])))
        .filter_map(|(cpu, e)| match e.kind {
            SyscallKind::Enter { address } => Some(SyscallRow {
                ts: clock.ns_since_start(e.raw_ts),
                end_ts: None,
                cpu: cpus[cpu].cpu,
                tid: None,
                pid: None,
                address,
                ret: None,
                stack: None,
            }),
            SyscallKind::Exit { .. } => None,
        })
        .collect();
    unknown_rows.sort_by_key(|r| (r.ts, r.cpu));
    let mut unmatched_exits = 0u64;
    let mut runs = Vec::with_capacity(paired.len() + 1);
    runs.push(unknown_rows);
    for (mut rows, unmatched) in paired {
        unmatched_exits += unmatched;
        rows.sort_by_key(|r| (r.ts, r.cpu));
        rows.shrink_to_fit();
        runs.push(rows);
    }
    (runs, unmatched_exits, unattributed)
}

/// One thread's system call events on one CPU, in time order.
struct ThreadPart<'a> {
    /// Index in the CPU outputs.
    cpu: usize,
    events: &'a [SyscallEvent],
    /// Indexes into `events`.
    order: &'a [u32],
}

/// One thread's calls from its events in time order; and how many exits had no enter.
fn pair_thread_syscalls<'a>(
    tid: u32,
    events: impl Iterator<Item = (usize, &'a SyscallEvent)>,
    enters: usize,
    cpus: &[CpuOutput],
    clock: &Clock,
    threads: &ThreadRegistry,
    loss_windows: &[LossWindow],
) -> (Vec<SyscallRow>, u64) {
    // The windows whose lost events could be this thread's.
    let windows: Vec<(i64, i64)> = loss_windows
        .iter()
        .filter(|w| w.threads.as_ref().is_none_or(|t| t.binary_search(&tid).is_ok()))
        .map(|w| (w.start, w.end))
        .collect();
    let mut rows = Vec::with_capacity(enters);
    let mut unmatched_exits = 0u64;
    let mut open: Vec<usize> = Vec::new();
    let mut epoch = 0usize;
    for (cpu, e) in events {
        let ts = clock.ns_since_start(e.raw_ts);
        let (event_epoch, in_loss) = loss_epoch(&windows, ts);
        if event_epoch != epoch || in_loss {
            // A loss lies between this event and the calls still open.
            open.clear();
            epoch = event_epoch;
        }
        match e.kind {
            SyscallKind::Enter { address } => {
                if !in_loss {
                    open.push(rows.len());
                }
                let pid = threads.pid_at(tid, ts);
                let cpu = cpus[cpu].cpu;
                rows.push(SyscallRow {
                    ts,
                    end_ts: None,
                    cpu,
                    tid: Some(tid),
                    pid,
                    address,
                    ret: None,
                    stack: e.stack,
                });
            }
            SyscallKind::Exit { .. } if in_loss => unmatched_exits += 1,
            SyscallKind::Exit { status } => match open.pop() {
                Some(i) => {
                    rows[i].end_ts = Some(ts);
                    rows[i].ret = Some(status);
                }
                None => unmatched_exits += 1,
            },
        }
    }
    (rows, unmatched_exits)
}
