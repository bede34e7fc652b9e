//! The scheduler's story per thread and per CPU, from the context switch
//! rows: how often a thread was switched in, how long it was ready and how
//! long it waited, how often it was preempted or moved to another CPU; how
//! busy each CPU was, its DPC and ISR time, and its run-queue latency.
use super::{CSwitchRow, DpcKind, TraceModel};

/// KTHREAD_STATE values of CSwitch's OldThreadState.
const READY: i8 = 1;
const STANDBY: i8 = 3;
const WAITING: i8 = 5;

/// One thread's switches, per row of the threads registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadSchedule {
    /// Times it was switched in (a CPU's first stretch, not switched in by an event, not counted).
    pub switches: u64,
    /// Time ready to run: each switch-in's `cswitch.ready_ns`, and a wait
    /// still open at the trace end (left runnable, or readied since).
    pub ready_ns: i64,
    /// Time from a switch-out in the Waiting state to the next switch-in, less the ready time of that switch-in.
    pub wait_ns: i64,
    /// Switch-outs that left it runnable (Ready or Standby): preempted, or it yielded.
    pub preemptions: u64,
    /// Switch-ins on another CPU than its previous one.
    pub migrations: u64,
    /// ReadyThreads that made it ready.
    pub wakeups: u64,
}

/// Per thread (registry row), from the switches in time order.
pub fn thread_schedules(model: &TraceModel) -> Vec<ThreadSchedule> {
    let threads = &model.threads;
    let mut schedules = vec![ThreadSchedule::default(); threads.rows.len()];
    // Per thread: the CPU of its last switch-in, and when and how it last left a CPU.
    let mut last_cpu: Vec<Option<u16>> = vec![None; threads.rows.len()];
    let mut left_waiting: Vec<Option<i64>> = vec![None; threads.rows.len()];
    // Per thread off the CPU: when it left, and whether it was left runnable.
    let mut off_cpu: Vec<Option<(i64, bool)>> = vec![None; threads.rows.len()];
    for row in &model.cswitch {
        if let (Some(prev), Some(state)) = (row.prev_tid, row.prev_state) {
            if let Some(t) = threads.index_at(prev, row.ts) {
                let runnable = matches!(state, READY | STANDBY);
                if runnable {
                    schedules[t].preemptions += 1;
                }
                left_waiting[t] = (state == WAITING).then_some(row.ts);
                off_cpu[t] = Some((row.ts, runnable));
            }
        }
        let Some(t) = threads.index_at(row.tid, row.ts) else { continue };
        if row.prev_tid.is_some() {
            let ready = model.ready_ns(row);
            switched_in(&mut schedules[t], row, ready, last_cpu[t], left_waiting[t].take());
        }
        last_cpu[t] = Some(row.cpu);
        off_cpu[t] = None;
    }
    let last_readied = count_wakeups(model, &mut schedules);
    add_waits_open_at_the_end(model, &mut schedules, &off_cpu, &last_readied);
    schedules
}

/// Counts each thread's wakeups; returns when each was last readied.
fn count_wakeups(model: &TraceModel, schedules: &mut [ThreadSchedule]) -> Vec<Option<i64>> {
    let mut last_readied: Vec<Option<i64>> = vec![None; schedules.len()];
    for w in &model.wakeups {
        if let Some(t) = model.threads.index_at(w.tid, w.ts) {
            last_readied[t] = last_readied[t].max(Some(w.ts));
            schedules[t].wakeups += 1;
        }
    }
    last_readied
}

/// A thread off the CPU at the trace end was ready since it left it
/// runnable, or since a ReadyThread came after it left: until the end.
fn add_waits_open_at_the_end(
    model: &TraceModel,
    schedules: &mut [ThreadSchedule],
    off_cpu: &[Option<(i64, bool)>],
    last_readied: &[Option<i64>],
) {
    for (t, off) in off_cpu.iter().enumerate() {
        let Some((left, runnable)) = *off else { continue };
        let since = if runnable { Some(left) } else { last_readied[t].filter(|&r| r >= left) };
        if let Some(since) = since {
            let open = model.trace_end_ns.saturating_sub(since).max(0);
            schedules[t].ready_ns = schedules[t].ready_ns.saturating_add(open);
        }
    }
}

/// A switch-in of the thread: its ready time, the wait before it (since a
/// switch-out in the Waiting state), and whether it moved to another CPU.
fn switched_in(
    schedule: &mut ThreadSchedule,
    row: &CSwitchRow,
    ready: Option<i64>,
    last_cpu: Option<u16>,
    waiting_since: Option<i64>,
) {
    schedule.switches += 1;
    let ready = ready.unwrap_or(0);
    schedule.ready_ns = schedule.ready_ns.saturating_add(ready);
    if let Some(since) = waiting_since {
        let gap = row.ts.saturating_sub(since).saturating_sub(ready);
        schedule.wait_ns = schedule.wait_ns.saturating_add(gap.max(0));
    }
    if last_cpu.is_some_and(|cpu| cpu != row.cpu) {
        schedule.migrations += 1;
    }
}

/// One CPU's time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CpuSchedule {
    pub cpu: u16,
    /// Time threads other than the idle thread ran.
    pub busy_ns: i64,
    /// Time the idle thread ran.
    pub idle_ns: i64,
    /// Time in DPCs (all kinds) and in ISRs; a DPC's time includes the ISRs that interrupted it.
    pub dpc_ns: i64,
    pub isr_ns: i64,
    /// Context switches (switch-ins logged on this CPU).
    pub switches: u64,
    /// The ready times of the switch-ins on this CPU that have one, sorted.
    pub ready_ns: Vec<i64>,
}

impl CpuSchedule {
    /// The `p`th percentile (0..=100) of the ready times, nearest rank.
    pub fn ready_percentile(&self, p: f64) -> Option<i64> {
        let n = self.ready_ns.len();
        let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n.max(1));
        self.ready_ns.get(rank - 1).copied()
    }
}

/// How many CPUs `cpu_schedules` gives: up to the highest with a context switch or a DPC.
pub fn cpu_count(model: &TraceModel) -> usize {
    let highest = model.cswitch.iter().map(|r| r.cpu).chain(model.dpcs.iter().map(|d| d.cpu)).max();
    highest.map_or(0, |c| usize::from(c) + 1)
}

/// Per CPU up to the highest that has a context switch or a DPC, in CPU order.
pub fn cpu_schedules(model: &TraceModel) -> Vec<CpuSchedule> {
    let mut schedules: Vec<CpuSchedule> =
        (0..cpu_count(model)).map(|cpu| CpuSchedule { cpu: cpu as u16, ..Default::default() }).collect();
    for row in &model.cswitch {
        let cpu = &mut schedules[usize::from(row.cpu)];
        let ran = row.end_ts.saturating_sub(row.ts);
        if row.tid == 0 {
            cpu.idle_ns = cpu.idle_ns.saturating_add(ran);
        } else {
            cpu.busy_ns = cpu.busy_ns.saturating_add(ran);
        }
        if row.prev_tid.is_some() {
            cpu.switches += 1;
        }
        cpu.ready_ns.extend(model.ready_ns(row));
    }
    for d in &model.dpcs {
        let cpu = &mut schedules[usize::from(d.cpu)];
        let time = d.end_ts.saturating_sub(d.ts);
        match d.kind {
            DpcKind::Isr => cpu.isr_ns = cpu.isr_ns.saturating_add(time),
            _ => cpu.dpc_ns = cpu.dpc_ns.saturating_add(time),
        }
    }
    for cpu in &mut schedules {
        cpu.ready_ns.sort_unstable();
    }
    schedules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let cpu = CpuSchedule { ready_ns: (1..=100).collect(), ..Default::default() };
        assert_eq!(
            (cpu.ready_percentile(50.0), cpu.ready_percentile(99.0), cpu.ready_percentile(100.0)),
            (Some(50), Some(99), Some(100))
        );
        assert_eq!(CpuSchedule::default().ready_percentile(50.0), None);
    }
}
