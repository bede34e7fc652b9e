//! How far long work has got (reading a trace, building its model), for a
//! front end to show, and whether it should stop (Ctrl-C). Workers on any
//! thread count into it; whoever draws reads it. Knows nothing of terminals.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What makes the current stage whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Total {
    /// Not counted: a front end can show that work goes on, not how far.
    #[default]
    Uncounted,
    Bytes(u64),
    Records(u64),
}

/// One step of the work: what it does and what makes it whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stage {
    pub what: String,
    pub total: Total,
}

/// The stage and count of one piece of long work; clones share them.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    stages: Mutex<Stages>,
    /// How much of the current stage is done.
    done: AtomicU64,
    /// Set (by Ctrl-C) when the work should stop; see `stop_when`.
    stop: Mutex<Option<Arc<AtomicBool>>>,
}

#[derive(Debug, Default)]
struct Stages {
    current: Stage,
    /// Stages that have ended, with how far each got.
    ended: Vec<(Stage, u64)>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Ends the current stage (if one began) and begins another, counting from zero.
    pub fn start(&self, what: &str, total: Total) {
        let mut stages = self.stages();
        let next = Stage { what: what.to_string(), total };
        let ended = std::mem::replace(&mut stages.current, next);
        // Swapped under the lock, so that a snapshot never pairs the new stage with the old count.
        let done = self.shared.done.swap(0, Ordering::Relaxed);
        if ended != Stage::default() {
            stages.ended.push((ended, done));
        }
    }

    /// Counts `n` more units (bytes, records) of the current stage.
    pub fn add(&self, n: u64) {
        self.shared.done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.shared.done.load(Ordering::Relaxed)
    }

    /// The current stage and how much of it is done.
    pub fn snapshot(&self) -> (Stage, u64) {
        let stages = self.stages();
        (stages.current.clone(), self.done())
    }

    /// Every stage so far with how far it got, the current one last.
    pub fn history(&self) -> Vec<(Stage, u64)> {
        let stages = self.stages();
        let mut all = stages.ended.clone();
        all.push((stages.current.clone(), self.done()));
        all
    }

    /// Ties the work to a flag that asks it to stop (Ctrl-C). Loops that count
    /// into this progress end early once it is set, and whoever started them
    /// throws away the half-built result.
    pub fn stop_when(&self, flag: Arc<AtomicBool>) {
        *self.shared.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(flag);
    }

    /// Whether the work was asked to stop.
    pub fn stopped(&self) -> bool {
        let stop = self.shared.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        stop.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// The stages, even if a thread panicked while holding them (each change is made whole).
    fn stages(&self) -> MutexGuard<'_, Stages> {
        self.shared.stages.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_add_up_and_a_new_stage_starts_at_zero() {
        let progress = Progress::new();
        progress.start("reading", Total::Bytes(4_000));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let p = progress.clone();
                scope.spawn(move || (0..1_000).for_each(|_| p.add(1)));
            }
        });
        assert_eq!(progress.snapshot(), (Stage { what: "reading".into(), total: Total::Bytes(4_000) }, 4_000));
        progress.start("naming", Total::Uncounted);
        assert_eq!(progress.snapshot(), (Stage { what: "naming".into(), total: Total::Uncounted }, 0));
        progress.add(2);
        let history: Vec<(String, u64)> = progress.history().into_iter().map(|(s, done)| (s.what, done)).collect();
        assert_eq!(history, [("reading".to_string(), 4_000), ("naming".to_string(), 2)]);
    }

    #[test]
    fn clones_see_the_stop_flag() {
        let progress = Progress::new();
        assert!(!progress.stopped(), "no flag: never stopped");
        let flag = Arc::new(AtomicBool::new(false));
        progress.stop_when(flag.clone());
        let worker = progress.clone();
        assert!(!worker.stopped());
        flag.store(true, Ordering::SeqCst);
        assert!(worker.stopped());
    }
}
