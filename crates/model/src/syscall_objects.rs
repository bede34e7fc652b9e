//! The objects a system call touched. A file, registry, process, thread or
//! image operation is logged by the thread that asked for it, inside its
//! system call: an event of a thread between a call's enter and exit belongs
//! to that call (the innermost one when calls nest). A call with no exit
//! holds its thread's events until the thread enters its next call. Calls and
//! events of no known thread get nothing.
use super::SyscallRow;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// What kind of object an event names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    File,
    Key,
    Process,
    Thread,
    Image,
}

impl ObjectKind {
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::File => "file",
            ObjectKind::Key => "key",
            ObjectKind::Process => "process",
            ObjectKind::Thread => "thread",
            ObjectKind::Image => "image",
        }
    }
}

/// A process or thread created, or an image loaded, by a thread (`tid`).
#[derive(Clone, Debug, PartialEq)]
pub struct CreatedObject {
    pub ts: i64,
    pub tid: u32,
    pub kind: ObjectKind,
    pub name: String,
}

/// An event that names an object: its row in `fileio`, `registry` or the created objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectEvent {
    pub ts: i64,
    pub tid: u32,
    pub kind: ObjectKind,
    pub row: u32,
}

/// The first object event of a call, and how many it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallObjects {
    pub first: ObjectEvent,
    pub count: u32,
}

/// Which call each object event belongs to, and each call's objects.
#[derive(Default)]
pub struct SyscallObjects {
    /// By call row, sorted.
    calls: Vec<(u32, CallObjects)>,
    /// The call of each (kind, row): an object event's system call.
    call_of: HashMap<(u8, u32), u32>,
}

impl SyscallObjects {
    /// The objects of the call in row `row` of the syscalls.
    pub fn of_call(&self, row: usize) -> Option<&CallObjects> {
        let at = self.calls.binary_search_by_key(&(row as u32), |(r, _)| *r).ok()?;
        Some(&self.calls[at].1)
    }

    /// The call (its row) an object event belongs to.
    pub fn call_of(&self, kind: ObjectKind, row: usize) -> Option<usize> {
        self.call_of.get(&(kind as u8, row as u32)).map(|&r| r as usize)
    }

    /// Links `events` (any order) to the calls (in time order) that hold them.
    pub fn link(calls: &[SyscallRow], mut events: Vec<ObjectEvent>) -> SyscallObjects {
        events.sort_by_key(|e| (e.tid, e.ts, e.kind as u8, e.row));
        let threads: HashSet<u32> = events.iter().map(|e| e.tid).collect();
        // The calls of those threads: (thread, entered, row), by thread then time.
        let mut of_threads: Vec<(u32, i64, u32)> = calls
            .iter()
            .enumerate()
            .filter_map(|(row, c)| Some((c.tid().filter(|t| threads.contains(t))?, c.ts, row as u32)))
            .collect();
        of_threads.sort_unstable();
        let mut linked = SyscallObjects::default();
        let mut by_call: HashMap<u32, CallObjects> = HashMap::default();
        let mut next_call = 0;
        let mut open: Vec<(u32, i64)> = Vec::new(); // (row, holds until), innermost last
        let mut thread = None;
        for event in events {
            if thread != Some(event.tid) {
                thread = Some(event.tid);
                open.clear();
                while of_threads.get(next_call).is_some_and(|c| c.0 < event.tid) {
                    next_call += 1;
                }
            }
            // Open every call of this thread entered by the event's time.
            while let Some(&(tid, entered, row)) = of_threads.get(next_call) {
                if tid != event.tid || entered > event.ts {
                    break;
                }
                next_call += 1;
                open.retain(|&(_, until)| until >= entered);
                let until = calls[row as usize].end_ts().unwrap_or_else(|| {
                    // No exit: until the thread's next call.
                    of_threads.get(next_call).filter(|c| c.0 == tid).map_or(i64::MAX, |c| c.1)
                });
                open.push((row, until));
            }
            open.retain(|&(_, until)| until >= event.ts);
            let Some(&(row, _)) = open.last() else { continue };
            linked.call_of.insert((event.kind as u8, event.row), row);
            by_call.entry(row).and_modify(|o| o.count += 1).or_insert(CallObjects { first: event, count: 1 });
        }
        linked.calls = by_call.into_iter().collect();
        linked.calls.sort_unstable_by_key(|(row, _)| *row);
        linked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(ts: i64, end: Option<i64>, tid: u32) -> SyscallRow {
        let mut row = SyscallRow::entered(ts, 0, Some(tid), 0x10);
        if let Some(end) = end {
            row.set_exit(end, 0);
        }
        row
    }

    fn file(ts: i64, tid: u32, row: u32) -> ObjectEvent {
        ObjectEvent { ts, tid, kind: ObjectKind::File, row }
    }

    #[test]
    fn an_event_goes_to_the_innermost_call_of_its_thread_that_holds_it() {
        let calls = [
            call(10, Some(100), 1), // 0: outer
            call(20, Some(30), 1),  // 1: nested
            call(25, Some(40), 2),  // 2: another thread
            call(50, None, 1),      // 3: no exit: until the thread's next call
            call(70, Some(80), 1),  // 4
            SyscallRow::entered(90, 0, None, 0x10),
        ];
        let events = vec![
            file(22, 1, 0),
            file(35, 1, 1),
            file(28, 1, 2),
            file(26, 2, 3),
            file(60, 1, 4),
            file(75, 1, 5),
            file(95, 1, 6),
            file(5, 1, 7),
            file(95, 3, 8),
        ];
        let linked = SyscallObjects::link(&calls, events);
        let call_of: Vec<_> = (0..9).map(|row| linked.call_of(ObjectKind::File, row)).collect();
        // 60 is in call 0 (10..100), and call 3 (50, until 70): the innermost wins.
        assert_eq!(call_of, [Some(1), Some(0), Some(1), Some(2), Some(3), Some(4), Some(0), None, None]);
        let first = |row| linked.of_call(row).map(|o| (o.first.row, o.count));
        assert_eq!((first(0), first(1), first(3), first(5)), (Some((1, 2)), Some((0, 2)), Some((4, 1)), None));
    }
}
