//! The checks a scenario passes before it is written, and the per-CPU
//! timeline (idle filled in) they build.
use super::{err, thread_state, wait_reason, Scenario, ScenarioError, Slice, SwitchOut, IDLE_PID, IDLE_TID};
use std::collections::HashMap;

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

/// The checked shape of a scenario: per-CPU stretches and per-thread slices.
pub struct Timeline {
    pub(super) cpus: Vec<Vec<Stretch>>,
    /// Slices of each (non-idle) thread in time order: (start, end, cpu).
    runs: HashMap<u32, Vec<(i64, i64, u16)>>,
    pub(super) pid_of: HashMap<u32, u32>,
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
    /// The per-CPU stretches (idle filled in) of a consistent schedule.
    pub fn timeline(&self) -> Result<Timeline, ScenarioError> {
        self.check()
    }

    pub(super) fn check(&self) -> Result<Timeline, ScenarioError> {
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
    pub(super) fn check_syscalls(&self, checked: &Timeline) -> Result<Vec<(u32, u16, Option<u16>)>, ScenarioError> {
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

    pub(super) fn check_samples(&self, checked: &Timeline) -> Result<Vec<u32>, ScenarioError> {
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
}
