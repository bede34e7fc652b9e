//! One pass over one processor's records in time order: the context switch
//! timeline, system call events and ReadyThread events attributed to the
//! thread running on that CPU, samples, and stack events. Processors run in parallel.
use super::pass_output::{
    CpuOutput, KeyDefinition, StackBody, StackEvent, Switch, SyscallExit, SyscallMark, UNNAMED_THREAD,
};
use crate::{DpcKind, DpcRow, ModelParts, SampleRow, SyscallRow, WakeupRow};
use decode::fields::{FieldSlots, KernelLayouts, Slot};
use etl::buffer::buffer_flags;
use etl::{EtlTrace, RecordId, RecordRef};
use progress::Progress;
use std::hash::BuildHasher;

/// The fields the pass reads, per event: slots looked up once per version.
struct Events {
    layouts: KernelLayouts,
    cswitch: FieldSlots<5>,
    ready: FieldSlots<3>,
    syscall_enter: FieldSlots<1>,
    syscall_exit: FieldSlots<1>,
    sample: FieldSlots<3>,
    stack_walk: FieldSlots<4>,
    key_kernel: FieldSlots<4>,
    key_user: FieldSlots<4>,
    key_delete: FieldSlots<2>,
    key_rundown: FieldSlots<2>,
    dpc: FieldSlots<2>,
    isr: FieldSlots<3>,
}

impl Events {
    fn new() -> Events {
        let stack_ref =
            |opcode, last| FieldSlots::new(24, opcode, ["EventTimeStamp", "StackProcess", "StackThread", last]);
        Events {
            layouts: KernelLayouts::default(),
            cswitch: FieldSlots::new(
                5,
                36,
                ["NewThreadId", "OldThreadId", "NewThreadPriority", "OldThreadWaitReason", "OldThreadState"],
            ),
            ready: FieldSlots::new(5, 50, ["TThreadId", "AdjustReason", "AdjustIncrement"]),
            syscall_enter: FieldSlots::new(15, 51, ["SysCallAddress"]),
            syscall_exit: FieldSlots::new(15, 52, ["SysCallNtStatus"]),
            sample: FieldSlots::new(15, 46, ["InstructionPointer", "ThreadId", "Count"]),
            stack_walk: stack_ref(32, "Stack"),
            key_kernel: stack_ref(37, "StackKey"),
            key_user: stack_ref(38, "StackKey"),
            key_delete: FieldSlots::new(24, 35, ["StackKey", "Stack"]),
            key_rundown: FieldSlots::new(24, 36, ["StackKey", "Stack"]),
            dpc: FieldSlots::new(15, 68, ["InitialTime", "Routine"]),
            isr: FieldSlots::new(15, 67, ["InitialTime", "Routine", "Vector"]),
        }
    }
}

/// Reads a slot that may be missing from the layout.
fn read(slot: Option<Slot>, payload: &[u8]) -> Option<u64> {
    slot.and_then(|s| s.read(payload))
}

/// Appends the pointer-sized frames at `from` to `into`.
fn read_frames(payload: &[u8], from: usize, pointer_size: u8, into: &mut Vec<u64>) {
    let width = usize::from(pointer_size);
    into.extend(payload.get(from..).unwrap_or(&[]).chunks_exact(width).map(|c| {
        if width == 4 {
            u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        } else {
            u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))
        }
    }));
}

/// The frame runs a CPU's stack walks have written to its arena lately, by
/// hash: a walk that repeats one (most do: a profile's stacks repeat) points
/// at the earlier run instead of adding its frames again. Bounded: cleared
/// when full, so that a trace whose every stack is new costs no more.
#[derive(Default)]
struct RecentRuns {
    runs: rustc_hash::FxHashMap<u64, (u32, u32)>,
}

impl RecentRuns {
    const MAX: usize = 1 << 16;

    /// The run of the frames just read into `frames[start..]`: an earlier
    /// equal run (the new frames dropped), or this one, remembered.
    fn dedup(&mut self, frames: &mut Vec<u64>, start: usize) -> (u32, u32) {
        let new = &frames[start..];
        let hash = rustc_hash::FxBuildHasher.hash_one(new);
        let len = new.len() as u32;
        if let Some(&(at, at_len)) = self.runs.get(&hash) {
            let earlier = frames.get(at as usize..(at + at_len) as usize);
            if earlier == Some(new) {
                frames.truncate(start);
                return (at, at_len);
            }
        }
        if self.runs.len() >= Self::MAX {
            self.runs.clear();
        }
        self.runs.insert(hash, (start as u32, len));
        (start as u32, len)
    }
}

/// Whether a record goes to the ordered pass over rare events.
fn is_rare(id: &RecordId) -> bool {
    match *id {
        // EventTrace, process, thread lifetimes and names, images, profile interval.
        RecordId::Kernel { group, opcode } => {
            // ... and disk I/O, file I/O, registry and hard faults, which need names in order.
            matches!(group, 0 | 1 | 3 | 4 | 9 | 11 | 20)
                || (group == 2 && opcode == 32)
                || (group == 5 && opcode != 36 && opcode != 50)
                || (group == 15 && matches!(opcode, 72..=74))
        }
        // KernelTraceControl image identities and kernel classes logged with classic headers.
        RecordId::Classic { .. } => true,
        // Microsoft-Windows-Kernel-File's file operations and names, for the fileio table,
        // and the CLR's method and module events, to name JIT-compiled code.
        RecordId::Event { .. } => crate::io::is_kernel_file(id) || crate::managed::is_managed_code_event(id),
    }
}

/// The rare events of one processor, as `run` finds them, without the rest of its work.
pub fn rare_records(trace: &EtlTrace, processor: u16, meter: &Progress) -> Vec<RecordRef> {
    let mut rare = Vec::new();
    let mut records = trace.processor_records(processor).counting(meter);
    while let Some(at) = records.next_ref() {
        if trace.record_at(at).is_some_and(|record| is_rare(&record.id)) {
            rare.push(at);
        }
    }
    rare
}

/// An event of a part the build leaves out, that would claim the stack of
/// its thread logged at its time.
#[derive(Clone, Copy)]
enum LeftOutEvent {
    /// A sample's row (time: raw).
    Sample(SampleRow),
    /// A SysCallEnter's row (time: raw).
    Syscall(SyscallRow),
}

impl LeftOutEvent {
    fn claim(&self) -> (i64, Option<u32>) {
        match self {
            LeftOutEvent::Sample(s) => (s.ts, Some(s.tid)),
            LeftOutEvent::Syscall(e) => (e.ts, e.tid()),
        }
    }
}

/// What the pass leaves out of a part the build does not keep, and the
/// stacks those events claim with it. The kernel logs an event's stack walk
/// right after it, with the event's time and thread: a stack walk whose
/// (time, thread) is one of the last events left out goes too (one logged
/// much later stays, unclaimed). An event left out whose (time, thread) is
/// also a kept event's stays as a phantom: the join needs it to claim the
/// stack it would take from the kept one, and the build drops it after.
#[derive(Default)]
struct LeftOut {
    /// The last events left out: (raw time, thread, kept as a phantom since).
    recent: [(i64, u32, bool); 16],
    next: usize,
    /// The raw time of the events below.
    group_ts: i64,
    /// Events left out at `group_ts`, and the threads of events kept then.
    group_left: Vec<LeftOutEvent>,
    group_kept: Vec<u32>,
}

impl LeftOut {
    fn start_group(&mut self, raw_ts: i64) {
        if raw_ts != self.group_ts {
            self.group_ts = raw_ts;
            self.group_left.clear();
            self.group_kept.clear();
        }
    }

    /// An event the build does not keep; Some when it must stay as a phantom.
    fn leave_out(&mut self, event: LeftOutEvent) -> Option<LeftOutEvent> {
        let (raw_ts, tid) = event.claim();
        let tid = tid?;
        self.start_group(raw_ts);
        if self.group_kept.contains(&tid) {
            return Some(event);
        }
        self.group_left.push(event);
        self.recent[self.next % self.recent.len()] = (raw_ts, tid, false);
        self.next += 1;
        None
    }

    /// An event kept, at `raw_ts` on thread `tid`: the events left out at that
    /// time and thread come back as phantoms.
    fn keep(&mut self, raw_ts: i64, tid: Option<u32>) -> Vec<LeftOutEvent> {
        let Some(tid) = tid else { return Vec::new() };
        self.start_group(raw_ts);
        self.group_kept.push(tid);
        if !self.group_left.iter().any(|e| e.claim().1 == Some(tid)) {
            return Vec::new();
        }
        for entry in self.recent.iter_mut().filter(|e| (e.0, e.1) == (raw_ts, tid)) {
            entry.2 = true;
        }
        let (phantoms, rest) = self.group_left.drain(..).partition(|e| e.claim().1 == Some(tid));
        self.group_left = rest;
        phantoms
    }

    fn stack_left_out(&self, stamp: i64, tid: u32) -> bool {
        let seen = self.next.min(self.recent.len());
        self.recent[..seen].iter().any(|&(ts, t, phantom)| ts == stamp && t == tid && !phantom)
    }
}

/// Puts events back as phantoms (see `LeftOut`).
fn push_phantoms(out: &mut CpuOutput, phantoms: Vec<LeftOutEvent>) {
    for event in phantoms {
        match event {
            LeftOutEvent::Sample(s) => out.samples.push(s),
            LeftOutEvent::Syscall(e) => out.syscalls.push_enter(e),
        }
    }
}

/// Who runs on a CPU before its first context switch, which no switch names.
/// The first record that names the running thread (a sample's thread, a
/// stack walk's, a ReadyThread's header, or the first switch's old thread)
/// names it for every event since the CPU's first record (system calls, and
/// the ReadyThreads it logged as the readying thread): without a switch
/// between them, one thread ran throughout. A second record naming another
/// thread before any switch shows a switch was lost: the events go back to
/// no thread. So do they when a loss comes first, or nothing names the thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prologue {
    /// Nothing has named the running thread yet; exits wait with `UNNAMED_THREAD`.
    Unnamed,
    /// A record named it; the first switch's old thread must agree.
    Named,
    /// A switch or a loss came: from here on, switches say who runs.
    Over,
}

/// A thread id a record gives for the running thread; -1 names none.
fn named(tid: Option<u64>) -> Option<u32> {
    tid.map(|t| t as u32).filter(|&t| t != u32::MAX)
}

/// A record names the thread running on the CPU (see `Prologue`).
fn name_running(out: &mut CpuOutput, running: &mut Option<u32>, prologue: &mut Prologue, tid: u32) {
    match *prologue {
        Prologue::Unnamed => {
            out.syscalls.name_thread_since(SyscallMark::default(), tid);
            out.name_readying_since(0, tid);
            (*running, *prologue) = (Some(tid), Prologue::Named);
        }
        Prologue::Named if *running != Some(tid) => {
            let (enters, exits) = out.syscalls.take_back_since(SyscallMark::default());
            out.unattributed_after_loss += enters + exits;
            out.exits_without_thread += exits;
            out.forget_readying_since(0);
            (*running, *prologue) = (None, Prologue::Over);
        }
        Prologue::Named | Prologue::Over => {}
    }
}

/// The pass over one processor's records, each counted into `meter`, keeping
/// the system calls and samples only when `parts` asks for them. A stack walk
/// of an event left out is left out when it follows it closely on its CPU, as
/// the kernel logs it; one logged later stays, unclaimed.
pub fn run(trace: &EtlTrace, processor: u16, meter: &Progress, parts: ModelParts) -> CpuOutput {
    let mut out = CpuOutput { cpu: processor, ..Default::default() };
    let mut left_out = LeftOut::default();
    let mut recent_runs = RecentRuns::default();
    let mut events = Events::new();
    let clock = trace.clock;
    let mut running: Option<u32> = None;
    // First syscall event and ReadyThread of the current run interval, to take back on a contradiction.
    let mut interval_start = SyscallMark::default();
    let mut interval_readies = 0;
    let mut records = trace.processor_records(processor).counting(meter);
    let mut current_buffer = u32::MAX;
    // Until this time no context switch can be trusted to name the running thread.
    let mut distrust_until: Option<i64> = None;
    let mut last_ts_seen = 0i64;
    let mut prologue = Prologue::Unnamed;
    while let Some(at) = records.next_ref() {
        let Some(record) = trace.record_at(at) else { continue };
        out.records += 1;
        let ts = clock.ns_since_start(record.timestamp);
        out.last_ts = out.last_ts.max(ts);
        if at.buffer != current_buffer {
            current_buffer = at.buffer;
            let buffer = &trace.buffers()[at.buffer as usize];
            if buffer.header.flags & buffer_flags::EVENTS_LOST != 0 {
                let end = buffer.last_timestamp().map_or(ts, |raw| clock.ns_since_start(raw));
                out.loss_windows.push((last_ts_seen, end));
                distrust_until = Some(end);
                running = None;
                if prologue == Prologue::Unnamed {
                    out.exits_without_thread += out.syscalls.take_back_since(SyscallMark::default()).1;
                }
                prologue = Prologue::Over;
            }
        }
        last_ts_seen = ts;
        let RecordId::Kernel { group, opcode } = record.id else {
            if is_rare(&record.id) {
                out.rare.push(at);
            }
            continue;
        };
        let ptr = record.pointer_size();
        let payload = record.payload;
        let (version, layouts) = (record.version, &mut events.layouts);
        match (group, opcode) {
            (5, 36) => {
                let Some(&[new_tid, old_tid, priority, wait_reason, state]) = events.cswitch.get(layouts, version, ptr)
                else {
                    continue;
                };
                let (Some(new_tid), Some(old_tid)) = (read(new_tid, payload), read(old_tid, payload)) else { continue };
                let (new_tid, old_tid) = (new_tid as u32, old_tid as u32);
                if prologue == Prologue::Unnamed {
                    out.syscalls.name_thread_since(SyscallMark::default(), old_tid);
                    out.name_readying_since(0, old_tid);
                }
                prologue = Prologue::Over;
                if let Some(current) = running {
                    if current != old_tid && distrust_until.is_none_or(|until| ts > until) {
                        // A switch was lost: the interval's thread is not certain.
                        let (enters, exits) = out.syscalls.take_back_since(interval_start);
                        out.unattributed_after_loss += enters + exits;
                        out.exits_without_thread += exits;
                        out.forget_readying_since(interval_readies);
                    }
                }
                let signed = |slot: Option<Slot>| slot.and_then(|s| s.read_i8(payload)).unwrap_or(0);
                out.switches.push(Switch {
                    ts,
                    new_tid,
                    old_tid,
                    new_priority: signed(priority),
                    old_wait_reason: signed(wait_reason),
                    old_state: signed(state),
                });
                running = match distrust_until {
                    Some(until) if ts <= until => None,
                    _ => Some(new_tid),
                };
                interval_start = out.syscalls.mark();
                interval_readies = out.readies.len();
            }
            (5, 50) => {
                // Logged in the context of the thread that readies: the running one.
                let header = named(record.thread_id.map(u64::from));
                if let Some(readying) = header {
                    name_running(&mut out, &mut running, &mut prologue, readying);
                }
                let Some(&[tid, reason, increment]) = events.ready.get(layouts, version, ptr) else { continue };
                let Some(tid) = read(tid, payload) else { continue };
                // A header naming another thread than the timeline's leaves it unknown.
                let readying = running.filter(|&r| header.is_none_or(|h| h == r));
                if !parts.keeps_every_stack() {
                    // Its stack walk stays for it, not for an event left out at its time.
                    push_phantoms(&mut out, left_out.keep(record.timestamp, readying));
                }
                let signed = |slot: Option<Slot>| slot.and_then(|s| s.read_i8(payload)).unwrap_or(0);
                let (reason, increment) = (signed(reason), signed(increment));
                out.readies.push(WakeupRow::readied(
                    record.timestamp,
                    processor,
                    tid as u32,
                    readying,
                    reason,
                    increment,
                ));
            }
            (15, 51) => {
                let Some(address) = events.syscall_enter.get(layouts, version, ptr).and_then(|&[a]| read(a, payload))
                else {
                    continue;
                };
                let event = SyscallRow::entered(record.timestamp, processor, running, address);
                if parts.syscalls {
                    if !parts.samples {
                        push_phantoms(&mut out, left_out.keep(record.timestamp, running));
                    }
                    out.syscalls.push_enter(event);
                } else if let Some(phantom) = left_out.leave_out(LeftOutEvent::Syscall(event)) {
                    push_phantoms(&mut out, vec![phantom]);
                }
            }
            (15, 52) if !parts.syscalls => {}
            (15, 52) => {
                let Some(status) = events.syscall_exit.get(layouts, version, ptr).and_then(|&[s]| read(s, payload))
                else {
                    continue;
                };
                let tid = match (running, prologue) {
                    (Some(tid), _) => tid,
                    (None, Prologue::Unnamed) => UNNAMED_THREAD,
                    (None, _) => {
                        out.exits_without_thread += 1;
                        continue;
                    }
                };
                out.syscalls.push_exit(SyscallExit { raw_ts: record.timestamp, tid, status: status as u32 });
            }
            (15, 46) => {
                let Some(&[ip, tid, _count]) = events.sample.get(layouts, version, ptr) else { continue };
                let (Some(ip), Some(tid)) = (read(ip, payload), read(tid, payload)) else { continue };
                let (ts, tid) = (record.timestamp, tid as u32);
                if let Some(tid) = named(Some(u64::from(tid))) {
                    name_running(&mut out, &mut running, &mut prologue, tid);
                }
                let sample = SampleRow::new(ts, processor, tid, ip);
                if parts.samples {
                    if !parts.syscalls {
                        push_phantoms(&mut out, left_out.keep(record.timestamp, Some(sample.tid)));
                    }
                    out.samples.push(sample);
                } else if let Some(phantom) = left_out.leave_out(LeftOutEvent::Sample(sample)) {
                    push_phantoms(&mut out, vec![phantom]);
                }
            }
            (24, 32) | (24, 37) | (24, 38) => {
                let slots = match opcode {
                    32 => &mut events.stack_walk,
                    37 => &mut events.key_kernel,
                    _ => &mut events.key_user,
                };
                let Some(&[stamp, pid, tid, last]) = slots.get(layouts, version, ptr) else { continue };
                let (Some(stamp), Some(pid), Some(tid)) =
                    (read(stamp, payload), read(pid, payload), read(tid, payload))
                else {
                    continue;
                };
                // The kernel walks the stack of the thread running on this CPU.
                if let Some(tid) = named(Some(tid)) {
                    name_running(&mut out, &mut running, &mut prologue, tid);
                }
                if left_out.stack_left_out(stamp as i64, tid as u32) {
                    continue;
                }
                let body = if opcode == 32 {
                    let Some(at) = last else { continue };
                    let start = out.frames.len();
                    read_frames(payload, at.offset, ptr, &mut out.frames);
                    let (start, len) = recent_runs.dedup(&mut out.frames, start);
                    StackBody::Frames { start, len }
                } else {
                    let Some(key) = read(last, payload) else { continue };
                    StackBody::Key { key, ts }
                };
                out.stacks.push(StackEvent { event_raw_ts: stamp as i64, tid: tid as u32, pid: pid as u32, body });
            }
            (15, 66 | 68 | 69) | (15, 50 | 67) if parts.dpcs => {
                let isr = matches!(opcode, 50 | 67);
                let (start, routine, vector) = if isr {
                    let Some(&[start, routine, vector]) = events.isr.get(layouts, version, ptr) else { continue };
                    (read(start, payload), read(routine, payload), read(vector, payload))
                } else {
                    let Some(&[start, routine]) = events.dpc.get(layouts, version, ptr) else { continue };
                    (read(start, payload), read(routine, payload), None)
                };
                let (Some(start), Some(routine)) = (start, routine) else { continue };
                let kind = match opcode {
                    66 => DpcKind::ThreadedDpc,
                    68 => DpcKind::Dpc,
                    69 => DpcKind::TimerDpc,
                    _ => DpcKind::Isr,
                };
                let vector = vector.map(|v| v as u16);
                let row = DpcRow { ts: start as i64, end_ts: record.timestamp, routine, cpu: processor, vector, kind };
                out.dpcs.push(row);
            }
            (24, 35) | (24, 36) => {
                let slots = if opcode == 35 { &mut events.key_delete } else { &mut events.key_rundown };
                let Some(&[key, stack]) = slots.get(layouts, version, ptr) else { continue };
                let (Some(key), Some(at)) = (read(key, payload), stack) else { continue };
                let mut frames = Vec::new();
                read_frames(payload, at.offset, ptr, &mut frames);
                out.key_definitions.push(KeyDefinition { ts, key, frames });
            }
            _ => {
                if is_rare(&record.id) {
                    out.rare.push(at);
                }
            }
        }
    }
    if prologue == Prologue::Unnamed {
        out.exits_without_thread += out.syscalls.take_back_since(SyscallMark::default()).1;
    }
    out.shrink_to_fit();
    out
}
