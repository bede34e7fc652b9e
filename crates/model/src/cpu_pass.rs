//! One pass over one processor's records in time order: the context switch
//! timeline, system call events attributed to the thread running on that
//! CPU, samples, and stack events. Processors run in parallel.
use super::pass_output::{
    CpuOutput, KeyDefinition, RawSample, StackBody, StackEvent, Switch, SyscallEvent, SyscallKind,
};
use decode::fields::{FieldSlots, KernelLayouts, Slot};
use etl::buffer::buffer_flags;
use etl::{EtlTrace, RecordId, RecordRef};
use progress::Progress;

/// The fields the pass reads, per event: slots looked up once per version.
struct Events {
    layouts: KernelLayouts,
    cswitch: FieldSlots<5>,
    ready: FieldSlots<1>,
    syscall_enter: FieldSlots<1>,
    syscall_exit: FieldSlots<1>,
    sample: FieldSlots<3>,
    stack_walk: FieldSlots<4>,
    key_kernel: FieldSlots<4>,
    key_user: FieldSlots<4>,
    key_delete: FieldSlots<2>,
    key_rundown: FieldSlots<2>,
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
            ready: FieldSlots::new(5, 50, ["TThreadId"]),
            syscall_enter: FieldSlots::new(15, 51, ["SysCallAddress"]),
            syscall_exit: FieldSlots::new(15, 52, ["SysCallNtStatus"]),
            sample: FieldSlots::new(15, 46, ["InstructionPointer", "ThreadId", "Count"]),
            stack_walk: stack_ref(32, "Stack"),
            key_kernel: stack_ref(37, "StackKey"),
            key_user: stack_ref(38, "StackKey"),
            key_delete: FieldSlots::new(24, 35, ["StackKey", "Stack"]),
            key_rundown: FieldSlots::new(24, 36, ["StackKey", "Stack"]),
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

/// Whether a record goes to the ordered pass over rare events.
fn is_rare(id: &RecordId) -> bool {
    match *id {
        // EventTrace, process, thread lifetimes and names, images, profile interval.
        RecordId::Kernel { group, opcode } => {
            // ... and disk I/O, file I/O and hard faults, which need the file names in order.
            matches!(group, 0 | 1 | 3 | 4 | 11 | 20)
                || (group == 2 && opcode == 32)
                || (group == 5 && opcode != 36 && opcode != 50)
                || (group == 15 && matches!(opcode, 72..=74))
        }
        // KernelTraceControl image identities and kernel classes logged with classic headers.
        RecordId::Classic { .. } => true,
        RecordId::Event { .. } => false,
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

/// The pass over one processor's records, each counted into `meter`.
pub fn run(trace: &EtlTrace, processor: u16, meter: &Progress) -> CpuOutput {
    let mut out = CpuOutput { cpu: processor, ..Default::default() };
    let mut events = Events::new();
    let clock = trace.clock;
    let mut running: Option<u32> = None;
    // First syscall event of the current run interval, to take back on a contradiction.
    let mut interval_start = 0usize;
    let mut records = trace.processor_records(processor).counting(meter);
    let mut current_buffer = u32::MAX;
    // Until this time no context switch can be trusted to name the running thread.
    let mut distrust_until: Option<i64> = None;
    let mut last_ts_seen = 0i64;
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
                if let Some(current) = running {
                    if current != old_tid && distrust_until.is_none_or(|until| ts > until) {
                        // A switch was lost: the interval's thread is not certain.
                        for e in &mut out.syscalls[interval_start..] {
                            if e.tid.take().is_some() {
                                out.unattributed_after_loss += 1;
                            }
                        }
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
                interval_start = out.syscalls.len();
            }
            (5, 50) => {
                if let Some(tid) = events.ready.get(layouts, version, ptr).and_then(|&[tid]| read(tid, payload)) {
                    out.readies.push((ts, tid as u32));
                }
            }
            (15, 51) => {
                let Some(address) = events.syscall_enter.get(layouts, version, ptr).and_then(|&[a]| read(a, payload))
                else {
                    continue;
                };
                let kind = SyscallKind::Enter { address };
                out.syscalls.push(SyscallEvent { raw_ts: record.timestamp, tid: running, kind, stack: None });
            }
            (15, 52) => {
                let Some(status) = events.syscall_exit.get(layouts, version, ptr).and_then(|&[s]| read(s, payload))
                else {
                    continue;
                };
                let kind = SyscallKind::Exit { status: status as u32 };
                out.syscalls.push(SyscallEvent { raw_ts: record.timestamp, tid: running, kind, stack: None });
            }
            (15, 46) => {
                let Some(&[ip, tid, count]) = events.sample.get(layouts, version, ptr) else { continue };
                let (Some(ip), Some(tid)) = (read(ip, payload), read(tid, payload)) else { continue };
                let count = read(count, payload).unwrap_or(1) as u16;
                out.samples.push(RawSample { raw_ts: record.timestamp, ip, tid: tid as u32, count });
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
                let body = if opcode == 32 {
                    let Some(at) = last else { continue };
                    let start = out.frames.len();
                    read_frames(payload, at.offset, ptr, &mut out.frames);
                    StackBody::Frames { start: start as u32, len: (out.frames.len() - start) as u32 }
                } else {
                    let Some(key) = read(last, payload) else { continue };
                    StackBody::Key { key, ts }
                };
                out.stacks.push(StackEvent { event_raw_ts: stamp as i64, tid: tid as u32, pid: pid as u32, body });
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
    out.shrink_to_fit();
    out
}
