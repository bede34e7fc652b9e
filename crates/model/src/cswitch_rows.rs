//! Context switch rows: one per interval a thread ran on a CPU.
use super::pass_output::{CpuOutput, Switch};
use super::processes::ThreadRegistry;
use super::sorted_runs;
use super::{CSwitchRow, WakeupRow, NOT_KNOWN, NO_WAKEUP};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

/// One row per interval a thread ran on a CPU, from its switch-in to the next
/// switch on that CPU, each with the wakeup (of `wakeups`) that ended its
/// thread's last wait. CPUs run in parallel; each thread's CPU time is summed.
pub(super) fn cswitch_rows(
    cpus: &[CpuOutput],
    trace_end: i64,
    threads: &mut ThreadRegistry,
    wakeups: &[WakeupRow],
) -> Vec<CSwitchRow> {
    let readies = ThreadTimes::new(wakeups.iter().enumerate().map(|(i, w)| (w.ts, w.tid, i as u32)).collect());
    // Numbered 1 when the switch-out left the thread runnable.
    let switch_outs = ThreadTimes::new(
        cpus.iter().flat_map(|o| o.switches.iter().map(|s| (s.ts, s.old_tid, u32::from(left_runnable(s))))).collect(),
    );
    let per_cpu: Vec<(Vec<CSwitchRow>, HashMap<usize, i64>)> = cpus
        .par_iter()
        .map(|o| {
            cpu_switch_rows(
                o.cpu,
                &o.switches,
                traced_since(o),
                &Waits { readies: &readies, switch_outs: &switch_outs },
                trace_end,
                threads,
            )
        })
        .collect();
    let mut runs = Vec::with_capacity(per_cpu.len());
    for (rows, cpu_ns) in per_cpu {
        for (t, ns) in cpu_ns {
            let total = threads.rows[t].cpu_ns.get_or_insert(0);
            *total = total.saturating_add(ns);
        }
        runs.push(rows);
    }
    sorted_runs::merge(runs, |r: &CSwitchRow| (r.ts, r.cpu))
}

/// Times of one kind of event per thread (when it was readied, when it was
/// switched out), per thread in time order, each with a number (which wakeup).
struct ThreadTimes {
    times: Vec<i64>,
    /// Parallel to `times`; empty when every number is 0.
    numbers: Vec<u32>,
    /// Each thread's range of `times`.
    by_thread: HashMap<u32, (usize, usize)>,
}

impl ThreadTimes {
    /// From (time, thread, number); of two at one time, the higher number counts as the later.
    fn new(mut events: Vec<(i64, u32, u32)>) -> ThreadTimes {
        events.par_sort_unstable_by_key(|&(ts, tid, number)| (tid, ts, number));
        let mut by_thread: HashMap<u32, (usize, usize)> = HashMap::default();
        for (i, &(_, tid, _)) in events.iter().enumerate() {
            by_thread.entry(tid).or_insert((i, i)).1 = i + 1;
        }
        let numbers = match events.iter().any(|e| e.2 != 0) {
            true => events.iter().map(|e| e.2).collect(),
            false => Vec::new(),
        };
        ThreadTimes { times: events.into_iter().map(|(ts, _, _)| ts).collect(), numbers, by_thread }
    }

    /// The last time of `tid` at or before `ts`, and its number.
    fn last(&self, tid: u32, ts: i64) -> Option<(i64, u32)> {
        let &(start, end) = self.by_thread.get(&tid)?;
        let times = &self.times[start..end];
        let at = times.partition_point(|&r| r <= ts).checked_sub(1)?;
        Some((times[at], self.numbers.get(start + at).copied().unwrap_or(0)))
    }
}

/// KTHREAD_STATE Ready (1) or Standby (3): preempted, or it yielded; it needs no ReadyThread to run again.
fn left_runnable(switch: &Switch) -> bool {
    matches!(switch.old_state, 1 | 3)
}

/// What a switch-in's ready time is measured from.
struct Waits<'a> {
    readies: &'a ThreadTimes,
    switch_outs: &'a ThreadTimes,
}

impl Waits<'_> {
    /// Since when `tid`, switched in at `ts`, was ready, and the wakeup that
    /// readied it. From its last switch-out (on any CPU) when that left it
    /// runnable (preempted or yielding: no ReadyThread comes then). Else from
    /// its last ReadyThread, if that came at or after its last switch-out: an
    /// earlier one readied it for an earlier wait. Else `NOT_KNOWN`.
    fn ready(&self, tid: u32, ts: i64) -> (i64, u32) {
        let out = self.switch_outs.last(tid, ts);
        if let Some((out, 1)) = out {
            return (out, NO_WAKEUP);
        }
        match self.readies.last(tid, ts) {
            Some((readied, wakeup)) if out.is_none_or(|(out, _)| readied >= out) => (readied, wakeup),
            _ => (NOT_KNOWN, NO_WAKEUP),
        }
    }
}

/// Since when a CPU's first switch-out is known to end one stretch of its old
/// thread: the trace start, or the end of the last loss before that switch.
fn traced_since(cpu: &CpuOutput) -> i64 {
    let first_switch = cpu.switches.first().map_or(i64::MAX, |s| s.ts);
    cpu.loss_windows.iter().filter(|&&(_, end)| end < first_switch).map(|&(_, end)| end).max().unwrap_or(0)
}

/// The rows of one CPU: the stretch its first switch ended (from `since`),
/// then one per switch.
fn cpu_switch_rows(
    cpu: u16,
    switches: &[Switch],
    since: i64,
    waits: &Waits<'_>,
    trace_end: i64,
    threads: &ThreadRegistry,
) -> (Vec<CSwitchRow>, HashMap<usize, i64>) {
    let mut rows = Vec::with_capacity(switches.len() + 1);
    let mut cpu_ns: HashMap<usize, i64> = HashMap::default();
    if let Some(first) = switches.first().filter(|first| first.ts > since) {
        if let Some(t) = threads.index_at(first.old_tid, since) {
            cpu_ns.insert(t, first.ts.saturating_sub(since));
        }
        rows.push(CSwitchRow {
            cpu,
            ts: since,
            end_ts: first.ts,
            ready_since: NOT_KNOWN,
            tid: first.old_tid,
            prev_tid: None,
            wait_reason: Some(first.old_wait_reason),
            prev_state: None,
            priority: None,
            wakeup: NO_WAKEUP,
        });
    }
    for (i, s) in switches.iter().enumerate() {
        let next = switches.get(i + 1);
        let end_ts = next.map_or(trace_end.max(s.ts), |n| n.ts);
        if let Some(t) = threads.index_at(s.new_tid, s.ts) {
            let total = cpu_ns.entry(t).or_default();
            *total = total.saturating_add(end_ts.saturating_sub(s.ts));
        }
        let (ready_since, wakeup) = waits.ready(s.new_tid, s.ts);
        rows.push(CSwitchRow {
            cpu,
            ts: s.ts,
            end_ts,
            ready_since,
            tid: s.new_tid,
            prev_tid: Some(s.old_tid),
            wait_reason: next.map(|n| n.old_wait_reason),
            prev_state: Some(s.old_state),
            priority: Some(s.new_priority),
            wakeup,
        });
    }
    (rows, cpu_ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processes::Lifecycle;

    fn switch(ts: i64, new_tid: u32, old_tid: u32) -> Switch {
        Switch { ts, new_tid, old_tid, new_priority: 8, old_wait_reason: 0, old_state: 0 }
    }

    #[test]
    fn a_row_is_48_bytes() {
        // Its wakeup is an index: the readying side is looked up when a column
        // is made; so are the processes, from the threads and the time.
        assert_eq!(std::mem::size_of::<CSwitchRow>(), 48);
    }

    #[test]
    fn extreme_timestamps_saturate_instead_of_overflowing() {
        // Found by fuzzing: a damaged clock puts switches at the ends of i64.
        let mut threads = ThreadRegistry::default();
        threads.apply(Lifecycle::Rundown, 0, 8, 4, None);
        let switches = [switch(i64::MIN, 8, 0), switch(i64::MAX, 0, 8)];
        let readies = ThreadTimes::new(vec![(i64::MIN, 8, 0)]);
        let switch_outs = ThreadTimes::new(vec![(i64::MIN, 0, 0), (i64::MAX, 8, 0)]);
        let waits = Waits { readies: &readies, switch_outs: &switch_outs };
        let (rows, cpu_ns) = cpu_switch_rows(0, &switches, 0, &waits, i64::MAX, &threads);
        assert_eq!(rows[0].end_ts, i64::MAX);
        assert_eq!(cpu_ns.values().copied().collect::<Vec<_>>(), [i64::MAX]);
        assert_eq!(rows[0].wakeup, 0);
    }
}
