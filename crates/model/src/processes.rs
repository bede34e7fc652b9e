//! Processes and threads: rundown (DCStart/DCEnd) and live (Start/End) events
//! merged into lifetimes; a reused pid or tid gives a new row.
use rustc_hash::FxHashMap as HashMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub command_line: String,
    pub parent_pid: Option<u32>,
    pub session: Option<u32>,
    /// ns since trace start; None when the process was already running (rundown).
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    pub exit_code: Option<u32>,
    pub user_sid: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Thread {
    pub tid: u32,
    pub pid: u32,
    pub name: Option<String>,
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    /// CPU time from context switches; None when the trace has none.
    pub cpu_ns: Option<i64>,
    pub samples: u64,
}

/// How a process or thread event relates to its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Process/Thread Start: a new lifetime begins at this time.
    Start,
    /// DCStart: it was running when the trace began.
    Rundown,
    /// End: the lifetime ends here.
    End,
    /// Defunct: the kernel drops a process that may have ended already; it ends the lifetime if it
    /// is still open, else it only completes the ended row.
    Defunct,
    /// DCEnd: still running when the trace ended.
    RundownEnd,
}

/// Builds the process table and answers "which process had pid P at time T".
#[derive(Default)]
pub struct ProcessRegistry {
    pub rows: Vec<Process>,
    by_pid: HashMap<u32, Vec<usize>>,
}

impl ProcessRegistry {
    /// Applies one process event (in time order).
    pub fn apply(&mut self, lifecycle: Lifecycle, ts: i64, facts: Process) {
        let pid = facts.pid;
        let current = self.by_pid.get(&pid).and_then(|rows| rows.last().copied());
        let live = current.filter(|&i| self.rows[i].end_ts.is_none());
        match lifecycle {
            Lifecycle::Start => {
                let mut row = facts;
                row.start_ts = Some(ts);
                row.end_ts = None;
                self.push(row);
            }
            Lifecycle::Rundown => match live {
                // The same process seen twice (two rundowns in a merged trace): keep one row.
                Some(i) => merge_facts(&mut self.rows[i], facts),
                None => {
                    let mut row = facts;
                    row.start_ts = None;
                    row.end_ts = None;
                    self.push(row);
                }
            },
            Lifecycle::Defunct if live.is_none() && current.is_some() => {
                let row = &mut self.rows[current.expect("checked")];
                row.exit_code = row.exit_code.or(facts.exit_code);
                merge_facts(row, facts);
            }
            Lifecycle::End | Lifecycle::Defunct => {
                let i = match live {
                    Some(i) => i,
                    None => {
                        let mut row = facts.clone();
                        row.start_ts = None;
                        self.push(row)
                    }
                };
                let row = &mut self.rows[i];
                row.end_ts = Some(ts);
                if facts.exit_code.is_some() {
                    row.exit_code = facts.exit_code;
                }
                merge_facts(row, facts);
            }
            Lifecycle::RundownEnd => match live {
                Some(i) => merge_facts(&mut self.rows[i], facts),
                None => {
                    self.push(facts);
                }
            },
        }
    }

    fn push(&mut self, row: Process) -> usize {
        let i = self.rows.len();
        self.by_pid.entry(row.pid).or_default().push(i);
        self.rows.push(row);
        i
    }

    /// The process that had `pid` at `ts` (ns since start).
    pub fn at(&self, pid: u32, ts: i64) -> Option<&Process> {
        let rows = self.by_pid.get(&pid)?;
        let alive = |p: &&Process| p.start_ts.is_none_or(|s| s <= ts) && p.end_ts.is_none_or(|e| ts <= e);
        rows.iter().rev().map(|&i| &self.rows[i]).find(alive).or_else(|| rows.last().map(|&i| &self.rows[i]))
    }
}

fn merge_facts(row: &mut Process, facts: Process) {
    if row.name.is_empty() {
        row.name = facts.name;
    }
    if row.command_line.is_empty() {
        row.command_line = facts.command_line;
    }
    row.parent_pid = row.parent_pid.or(facts.parent_pid);
    row.session = row.session.or(facts.session);
    row.user_sid = row.user_sid.take().or(facts.user_sid);
}

/// Builds the thread table and maps a tid to its process at a time.
#[derive(Default)]
pub struct ThreadRegistry {
    pub rows: Vec<Thread>,
    by_tid: HashMap<u32, Vec<usize>>,
}

impl ThreadRegistry {
    pub fn apply(&mut self, lifecycle: Lifecycle, ts: i64, tid: u32, pid: u32, name: Option<String>) {
        let current = self.by_tid.get(&tid).and_then(|rows| rows.last().copied());
        let live = current.filter(|&i| self.rows[i].end_ts.is_none() && self.rows[i].pid == pid);
        let new_row = |start_ts| Thread { tid, pid, name: None, start_ts, end_ts: None, cpu_ns: None, samples: 0 };
        let i = match (lifecycle, live) {
            (Lifecycle::Start, _) => self.push(new_row(Some(ts))),
            (_, Some(i)) => i,
            (_, None) => self.push(new_row(None)),
        };
        if matches!(lifecycle, Lifecycle::End | Lifecycle::Defunct) {
            self.rows[i].end_ts = Some(ts);
        }
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            self.rows[i].name = Some(name);
        }
    }

    /// A thread seen only in context switches or samples: known by tid alone.
    pub fn ensure(&mut self, tid: u32, pid: u32) -> usize {
        if let Some(&i) = self.by_tid.get(&tid).and_then(|rows| rows.last()) {
            return i;
        }
        self.push(Thread { tid, pid, name: None, start_ts: None, end_ts: None, cpu_ns: None, samples: 0 })
    }

    pub fn set_name(&mut self, tid: u32, name: String) {
        if let Some(&i) = self.by_tid.get(&tid).and_then(|rows| rows.last()) {
            self.rows[i].name = Some(name);
        }
    }

    fn push(&mut self, row: Thread) -> usize {
        let i = self.rows.len();
        self.by_tid.entry(row.tid).or_default().push(i);
        self.rows.push(row);
        i
    }

    /// The row of `tid` alive at `ts`, else its latest row.
    pub fn index_at(&self, tid: u32, ts: i64) -> Option<usize> {
        let rows = self.by_tid.get(&tid)?;
        rows.iter()
            .rev()
            .copied()
            .find(|&i| {
                let t = &self.rows[i];
                t.start_ts.is_none_or(|s| s <= ts) && t.end_ts.is_none_or(|e| ts <= e)
            })
            .or_else(|| rows.last().copied())
    }

    /// The thread's row and its process at `ts`: `index_at` and `pid_at` in one lookup.
    pub fn owner_at(&self, tid: u32, ts: i64) -> (Option<usize>, Option<u32>) {
        let index = self.index_at(tid, ts);
        let pid = if tid == 0 { Some(0) } else { index.map(|i| self.rows[i].pid) };
        (index, pid)
    }

    pub fn pid_at(&self, tid: u32, ts: i64) -> Option<u32> {
        // Every processor's idle thread is tid 0 of the Idle process, rundown or not.
        if tid == 0 {
            return Some(0);
        }
        self.index_at(tid, ts).map(|i| self.rows[i].pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pid: u32, name: &str) -> Process {
        Process {
            pid,
            name: name.into(),
            command_line: String::new(),
            parent_pid: None,
            session: None,
            start_ts: None,
            end_ts: None,
            exit_code: None,
            user_sid: None,
        }
    }

    #[test]
    fn a_reused_pid_gives_two_rows() {
        let mut r = ProcessRegistry::default();
        r.apply(Lifecycle::Rundown, 0, facts(10, "a.exe"));
        r.apply(Lifecycle::End, 50, Process { exit_code: Some(1), ..facts(10, "a.exe") });
        // A Defunct after the End completes that row, not a second one with no command line.
        r.apply(Lifecycle::Defunct, 60, Process { command_line: String::new(), ..facts(10, "a.exe") });
        assert_eq!(r.rows.iter().filter(|p| p.pid == 10).count(), 1);
        assert_eq!(r.at(10, 55).map(|p| p.end_ts), Some(Some(50)));
        r.apply(Lifecycle::Start, 60, facts(10, "b.exe"));
        r.apply(Lifecycle::RundownEnd, 100, facts(10, "b.exe"));
        assert_eq!(r.rows.len(), 2);
        assert_eq!((r.rows[0].end_ts, r.rows[0].exit_code), (Some(50), Some(1)));
        assert_eq!(r.at(10, 20).unwrap().name, "a.exe");
        assert_eq!(r.at(10, 70).unwrap().name, "b.exe");
    }

    #[test]
    fn threads_map_to_their_process_over_time() {
        let mut t = ThreadRegistry::default();
        t.apply(Lifecycle::Rundown, 0, 7, 10, None);
        t.apply(Lifecycle::End, 40, 7, 10, None);
        t.apply(Lifecycle::Start, 45, 7, 20, Some("worker".into()));
        assert_eq!(t.pid_at(7, 10), Some(10));
        assert_eq!(t.pid_at(7, 50), Some(20));
        assert_eq!(t.rows[1].name.as_deref(), Some("worker"));
    }
}
