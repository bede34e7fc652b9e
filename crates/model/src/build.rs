//! Turns the record stream into the model's tables: per-CPU passes on all
//! cores, then one ordered pass over the rare events that give names and
//! lifetimes, then the joins (stacks, context switches, system calls), each
//! per CPU or per thread on all cores, merged in time order.
use super::cpu_pass::{self, CpuOutput, Switch, SyscallEvent, SyscallKind};
use super::io::IoBuilder;
use super::modules::{Module, ModuleRegistry};
use super::processes::{Lifecycle, Process, ProcessRegistry, ThreadRegistry};
use super::sorted_runs;
use super::stack_join::{self, Claims, StackRef};
use super::stacks::{self, CpuStacks, KeyIndex, StackId, StackStats, StackStore};
use super::{BuildStats, CSwitchRow, SampleRow, StackRow, SyscallRow, TraceModel};
use decode::{Decoder, Event, Value};
use etl::clock::Clock;
use etl::{EtlTrace, RecordRef};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use symbols::PdbIdentity;

/// The profile interval when the trace does not say: 1 ms.
const DEFAULT_SAMPLE_INTERVAL_NS: i64 = 1_000_000;

pub fn build(trace: &EtlTrace, decoder: &mut Decoder) -> TraceModel {
    let mut outputs: Vec<CpuOutput> = trace.processors().into_par_iter().map(|p| cpu_pass::run(trace, p)).collect();
    let trace_end = outputs.iter().map(|o| o.last_ts).max().unwrap_or(0);
    let mut stats = BuildStats {
        records: outputs.iter().map(|o| o.records).sum(),
        unattributed_after_loss: outputs.iter().map(|o| o.unattributed_after_loss).sum(),
        ..Default::default()
    };

    let rare: Vec<RecordRef> = outputs.iter().flat_map(|o| o.rare.iter().copied()).collect();
    let NamePass { processes, mut threads, mut modules, sample_interval_ns, mut io, .. } =
        name_pass(trace, decoder, rare);
    io.finish();
    modules.finish();

    let mut loss_windows = Vec::new();
    for o in &outputs {
        for &(start, end) in &o.loss_windows {
            loss_windows.push(LossWindow { start, end, threads: threads_that_could_lose(&o.switches, start, end) });
        }
    }
    loss_windows.sort_unstable_by_key(|w| (w.start, w.end));
    stats.loss_windows = loss_windows.len() as u64;

    let weight_ns = sample_interval_ns.unwrap_or(DEFAULT_SAMPLE_INTERVAL_NS);
    let stacked = join_stacks(trace, &mut outputs, &mut threads, weight_ns);
    stats.stacks = stacked.stats;
    let cswitch = cswitch_rows(&mut outputs, trace_end, &mut threads);
    let (syscalls, unmatched_exits, unattributed) = pair_syscalls(&outputs, &trace.clock, &threads, &loss_windows);
    stats.unmatched_syscall_exits = unmatched_exits;
    stats.unattributed_syscall_events = unattributed;

    TraceModel {
        pointer_size: trace.header_pointer_size,
        trace_end_ns: trace_end,
        processes,
        threads,
        modules,
        cswitch,
        syscalls,
        samples: stacked.samples,
        stack_rows: stacked.stack_rows,
        stacks: stacked.store,
        diskio: io.disk,
        fileio: io.file,
        hardfaults: io.hard_faults,
        stats,
    }
}

/// The processes of a trace alone, without the rest of the model: one light
/// pass on all cores picks out the rare events, and the ordered pass names them.
pub fn processes(trace: &EtlTrace, decoder: &mut Decoder) -> ProcessRegistry {
    let rare: Vec<RecordRef> =
        trace.processors().into_par_iter().flat_map_iter(|p| cpu_pass::rare_records(trace, p)).collect();
    name_pass(trace, decoder, rare).processes
}

/// The ordered pass over the rare events (`rare`, in any order).
fn name_pass(trace: &EtlTrace, decoder: &mut Decoder, mut rare: Vec<RecordRef>) -> NamePass {
    rare.sort_by_key(|r| (r.timestamp, r.buffer, r.offset));
    let mut names = NamePass { ticks_per_second: trace.clock.frequency, ..Default::default() };
    for at in rare {
        if let Some(record) = trace.record_at(at) {
            let ts = trace.clock.ns_since_start(record.timestamp);
            names.apply(&decoder.decode(&record), ts);
        }
    }
    names
}

/// The stacks, stored once, and the rows that refer to them.
struct Stacked {
    store: StackStore,
    samples: Vec<SampleRow>,
    stack_rows: Vec<StackRow>,
    stats: StackStats,
}

/// Resolves every CPU's stacks, gives each to its sample or system call
/// (setting `stack` on the CPUs' system call events), interns them, and
/// builds the sample and stack rows in time order.
fn join_stacks(trace: &EtlTrace, outputs: &mut [CpuOutput], threads: &mut ThreadRegistry, weight_ns: i64) -> Stacked {
    let pointer_size = trace.header_pointer_size;
    let keys = KeyIndex::new(outputs.iter_mut().flat_map(|o| std::mem::take(&mut o.key_definitions)).collect());
    let outputs_read: &[CpuOutput] = outputs;
    let mut cpu_stacks: Vec<CpuStacks> =
        outputs_read.par_iter().map(|o| stacks::resolve_cpu(&o.stacks, &o.frames, &keys, pointer_size)).collect();
    let mut stats = StackStats::default();
    for c in &cpu_stacks {
        stats.add(c.stats);
    }
    let mut claims: Vec<Claims> = outputs_read
        .par_iter()
        .zip(cpu_stacks.par_iter())
        .enumerate()
        .map(|(c, (o, s))| stack_join::claim_on_cpu(c, o, &s.owners))
        .collect();
    stack_join::join_across_cpus(outputs_read, &mut cpu_stacks, &mut claims, pointer_size);
    let (store, stack_ids) = stacks::intern(&cpu_stacks);
    let stack_id = |r: Option<StackRef>| r.and_then(|r| stack_ids.get(r.cpu as usize)?.get(r.index as usize).copied());

    let sample_threads: Vec<SampleThreads> =
        outputs_read.par_iter().map(|o| sample_threads(o, threads, &trace.clock)).collect();
    let lens: Vec<usize> = outputs_read.iter().map(|o| o.samples.len()).collect();
    let samples = sorted_runs::merge_by(
        &lens,
        // Raw timestamps order like ns; ties go by CPU, as `outputs` is in processor order.
        |c, i| outputs_read[c].samples[i].raw_ts,
        |c, i| {
            let s = &outputs_read[c].samples[i];
            let pid = sample_threads[c].pid(s.tid, i, threads);
            let (ts, cpu) = (trace.clock.ns_since_start(s.raw_ts), outputs_read[c].cpu);
            SampleRow { ts, cpu, tid: s.tid, pid, ip: s.ip, weight_ns, stack: stack_id(claims[c].samples[i]) }
        },
    );
    for counts in sample_threads {
        for (row, n) in threads.rows.iter_mut().zip(counts.per_thread) {
            row.samples += n;
        }
    }

    // Stacks whose frames went into another CPU's stack of the same event are left out.
    let kept: Vec<Vec<u32>> = cpu_stacks
        .iter()
        .map(|s| (0..s.owners.len() as u32).filter(|&i| !s.is_removed(i as usize)).collect())
        .collect();
    let lens: Vec<usize> = kept.iter().map(Vec::len).collect();
    let owner = |c: usize, i: usize| (&cpu_stacks[c].owners[kept[c][i] as usize], stack_ids[c][kept[c][i] as usize]);
    let stack_rows = sorted_runs::merge_by(
        &lens,
        |c, i| (owner(c, i).0.event_raw_ts, owner(c, i).0.tid),
        |c, i| {
            let (o, stack) = owner(c, i);
            StackRow { ts: trace.clock.ns_since_start(o.event_raw_ts), tid: o.tid, pid: o.pid, stack }
        },
    );
    let syscall_stacks: Vec<Vec<(usize, Option<StackId>)>> =
        claims.iter().map(|c| c.syscalls.iter().map(|&(i, r)| (i, stack_id(Some(r)))).collect()).collect();
    drop(cpu_stacks);
    for (o, stacks) in outputs.iter_mut().zip(syscall_stacks) {
        for (i, stack) in stacks {
            if let Some(e) = o.syscalls.get_mut(i) {
                e.stack = stack;
            }
        }
    }
    Stacked { store, samples, stack_rows, stats }
}

/// The ordered pass over process, thread, image and KernelTraceControl events.
#[derive(Default)]
struct NamePass {
    processes: ProcessRegistry,
    threads: ThreadRegistry,
    modules: ModuleRegistry,
    sample_interval_ns: Option<i64>,
    io: IoBuilder,
    ticks_per_second: i64,
}

fn uint(event: &Event, name: &str) -> Option<u64> {
    event.field(name).and_then(Value::as_u64)
}

fn text(event: &Event, name: &str) -> String {
    event.field(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl NamePass {
    fn apply(&mut self, event: &Event, ts: i64) {
        let Some((task, opcode)) = event.name.split_once('/') else { return };
        match (event.provider.as_ref(), task) {
            ("Windows Kernel", "Process") => self.process(event, opcode, ts),
            ("Windows Kernel", "Thread") => self.thread(event, opcode, ts),
            ("Windows Kernel", "Image") => self.image(event, opcode, ts),
            // Timer source (0): NewInterval counts 100 ns units.
            ("Windows Kernel", "PerfInfo")
                if matches!(opcode, "CollectionStart" | "SetInterval") && uint(event, "SampleSource") == Some(0) =>
            {
                if let Some(interval) = uint(event, "NewInterval").filter(|&i| i > 0) {
                    self.sample_interval_ns = Some(interval as i64 * 100);
                }
            }
            ("KernelTraceControl", "ImageID") if opcode == "DbgID_RSDS" => self.identity(event),
            ("KernelTraceControl", "ImageID") if opcode == "FileVersion" => self.file_version(event),
            ("Windows Kernel", "DiskIo" | "FileIo" | "PageFault" | "SysConfig") => {
                let threads = &self.threads;
                let frequency = i128::from(self.ticks_per_second.max(1));
                self.io.apply(
                    event,
                    ts,
                    |tid| threads.pid_at(tid, ts),
                    |ticks| (i128::from(ticks) * 1_000_000_000 / frequency) as i64,
                );
            }
            _ => {}
        }
    }

    fn process(&mut self, event: &Event, opcode: &str, ts: i64) {
        let lifecycle = match opcode {
            "Start" => Lifecycle::Start,
            "DCStart" => Lifecycle::Rundown,
            "End" => Lifecycle::End,
            "Defunct" => Lifecycle::Defunct,
            "DCEnd" => Lifecycle::RundownEnd,
            _ => return,
        };
        let Some(pid) = uint(event, "ProcessID").or_else(|| uint(event, "ProcessId")) else { return };
        let exit = event.field("ExitStatus").and_then(Value::as_i64).map(|v| v as u32);
        let facts = Process {
            pid: pid as u32,
            name: text(event, "ImageFileName"),
            command_line: text(event, "CommandLine"),
            parent_pid: uint(event, "ParentID").map(|v| v as u32),
            session: uint(event, "SessionID").map(|v| v as u32).filter(|&s| s != u32::MAX),
            start_ts: None,
            end_ts: None,
            // 259 (STILL_ACTIVE) is what a running process reports.
            exit_code: if matches!(lifecycle, Lifecycle::End | Lifecycle::Defunct) { exit } else { None },
            user_sid: event.field("UserSID").filter(|v| !v.is_bad()).map(|v| v.to_string()).filter(|s| !s.is_empty()),
        };
        self.processes.apply(lifecycle, ts, facts);
    }

    fn thread(&mut self, event: &Event, opcode: &str, ts: i64) {
        let lifecycle = match opcode {
            "Start" => Lifecycle::Start,
            "DCStart" => Lifecycle::Rundown,
            "End" => Lifecycle::End,
            "DCEnd" => Lifecycle::RundownEnd,
            "SetName" => {
                if let Some(tid) = uint(event, "TThreadId") {
                    self.threads.set_name(tid as u32, text(event, "ThreadName"));
                }
                return;
            }
            _ => return,
        };
        let (Some(tid), Some(pid)) = (uint(event, "TThreadId"), uint(event, "ProcessId")) else { return };
        let name = event.field("ThreadName").and_then(Value::as_str).map(str::to_string);
        self.threads.apply(lifecycle, ts, tid as u32, pid as u32, name);
    }

    fn image(&mut self, event: &Event, opcode: &str, ts: i64) {
        let (Some(base), Some(size)) = (uint(event, "ImageBase"), uint(event, "ImageSize")) else { return };
        let pid = uint(event, "ProcessId").unwrap_or(0) as u32;
        let module = Module {
            pid,
            base,
            size,
            path: text(event, "FileName"),
            timestamp: uint(event, "TimeDateStamp").map(|v| v as u32).filter(|&v| v != 0),
            checksum: uint(event, "ImageChecksum").map(|v| v as u32),
            pdb: None,
            pdb_guid: None,
            pdb_age: None,
            load_ts: (opcode == "Load").then_some(ts),
            unload_ts: None,
        };
        match opcode {
            "Load" | "DCStart" | "DCEnd" => self.modules.load(module),
            "Unload" => self.modules.unload(pid, base, ts, module),
            _ => {}
        }
    }

    fn file_version(&mut self, event: &Event) {
        // TimeDateStamp is declared signed; the PE field is a u32.
        let stamp = match event.field("TimeDateStamp") {
            Some(Value::I32(v)) => Some(*v as u32),
            Some(other) => other.as_u64().map(|v| v as u32),
            None => None,
        };
        let (Some(size), Some(stamp)) = (uint(event, "ImageSize"), stamp) else { return };
        let version = super::modules::FileVersion {
            company: text(event, "CompanyName"),
            description: text(event, "FileDescription"),
            product: text(event, "ProductName"),
            version: text(event, "FileVersion"),
        };
        self.modules.add_file_version(size, stamp, &text(event, "OrigFileName"), version);
    }

    fn identity(&mut self, event: &Event) {
        let (Some(base), Some(Value::Guid(guid)), Some(age)) =
            (uint(event, "ImageBase"), event.field("GuidSig"), uint(event, "Age"))
        else {
            return;
        };
        // KernelTraceControl names the process in the record header.
        let pid = event.record.process_id.unwrap_or(0);
        let identity = PdbIdentity { name: text(event, "PDBFileName"), guid: *guid, age: age as u32 };
        self.modules.identity(pid, base, identity);
    }
}

/// The thread row of each sample of one CPU, and samples per thread row.
struct SampleThreads {
    /// Parallel to the CPU's samples; `NO_THREAD` where the trace does not know the thread.
    rows: Vec<u32>,
    /// Parallel to the thread rows.
    per_thread: Vec<u64>,
}

const NO_THREAD: u32 = u32::MAX;

impl SampleThreads {
    fn pid(&self, tid: u32, sample: usize, threads: &ThreadRegistry) -> Option<u32> {
        // Every processor's idle thread is tid 0 of the Idle process.
        if tid == 0 {
            return Some(0);
        }
        let row = *self.rows.get(sample)?;
        (row != NO_THREAD).then(|| threads.rows[row as usize].pid)
    }
}

fn sample_threads(cpu: &CpuOutput, threads: &ThreadRegistry, clock: &Clock) -> SampleThreads {
    let mut per_thread = vec![0u64; threads.rows.len()];
    let rows = cpu
        .samples
        .iter()
        .map(|s| match threads.index_at(s.tid, clock.ns_since_start(s.raw_ts)) {
            Some(t) => {
                per_thread[t] += 1;
                t as u32
            }
            None => NO_THREAD,
        })
        .collect();
    SampleThreads { rows, per_thread }
}

/// One row per interval a thread ran on a CPU, from its switch-in to the next
/// switch on that CPU. CPUs run in parallel; each thread's CPU time is summed.
fn cswitch_rows(cpus: &mut [CpuOutput], trace_end: i64, threads: &mut ThreadRegistry) -> Vec<CSwitchRow> {
    let readies = ReadyTimes::new(cpus.iter_mut().flat_map(|o| std::mem::take(&mut o.readies)).collect());
    let per_cpu: Vec<(Vec<CSwitchRow>, HashMap<usize, i64>)> =
        cpus.par_iter().map(|o| cpu_switch_rows(o.cpu, &o.switches, &readies, trace_end, threads)).collect();
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

/// When each thread was readied (ReadyThread events), per thread in time order.
struct ReadyTimes {
    times: Vec<i64>,
    /// Each thread's range of `times`.
    by_thread: HashMap<u32, (usize, usize)>,
}

impl ReadyTimes {
    fn new(mut readies: Vec<(i64, u32)>) -> ReadyTimes {
        readies.par_sort_unstable_by_key(|&(ts, tid)| (tid, ts));
        let mut by_thread: HashMap<u32, (usize, usize)> = HashMap::default();
        for (i, &(_, tid)) in readies.iter().enumerate() {
            by_thread.entry(tid).or_insert((i, i)).1 = i + 1;
        }
        ReadyTimes { times: readies.into_iter().map(|(ts, _)| ts).collect(), by_thread }
    }

    /// The last time `tid` was readied at or before `ts`.
    fn last(&self, tid: u32, ts: i64) -> Option<i64> {
        let &(start, end) = self.by_thread.get(&tid)?;
        let times = &self.times[start..end];
        times.partition_point(|&r| r <= ts).checked_sub(1).map(|i| times[i])
    }
}

fn cpu_switch_rows(
    cpu: u16,
    switches: &[Switch],
    readies: &ReadyTimes,
    trace_end: i64,
    threads: &ThreadRegistry,
) -> (Vec<CSwitchRow>, HashMap<usize, i64>) {
    let mut rows = Vec::with_capacity(switches.len());
    let mut cpu_ns: HashMap<usize, i64> = HashMap::default();
    for (i, s) in switches.iter().enumerate() {
        let next = switches.get(i + 1);
        let end_ts = next.map_or(trace_end.max(s.ts), |n| n.ts);
        let (index, pid) = threads.owner_at(s.new_tid, s.ts);
        if let Some(t) = index {
            let total = cpu_ns.entry(t).or_default();
            *total = total.saturating_add(end_ts.saturating_sub(s.ts));
        }
        rows.push(CSwitchRow {
            cpu,
            ts: s.ts,
            end_ts,
            tid: s.new_tid,
            pid,
            prev_tid: s.old_tid,
            prev_pid: threads.pid_at(s.old_tid, s.ts),
            wait_reason: next.map(|n| n.old_wait_reason),
            prev_state: s.old_state,
            priority: s.new_priority,
            ready_ns: readies.last(s.new_tid, s.ts).map(|r| s.ts.saturating_sub(r)),
        });
    }
    (rows, cpu_ns)
}

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
fn threads_that_could_lose(switches: &[Switch], start: i64, end: i64) -> Option<Vec<u32>> {
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
fn pair_syscalls(
    cpus: &[CpuOutput],
    clock: &Clock,
    threads: &ThreadRegistry,
    loss_windows: &[LossWindow],
) -> (Vec<SyscallRow>, u64, u64) {
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
            pair_thread_syscalls(*tid, events, cpus, clock, threads, loss_windows)
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
        runs.push(rows);
    }
    (sorted_runs::merge(runs, |r: &SyscallRow| (r.ts, r.cpu)), unmatched_exits, unattributed)
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
    let mut rows = Vec::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(ts: i64, new_tid: u32, old_tid: u32) -> Switch {
        Switch { ts, new_tid, old_tid, new_priority: 8, old_wait_reason: 0, old_state: 0 }
    }

    #[test]
    fn extreme_timestamps_saturate_instead_of_overflowing() {
        // Found by fuzzing: a damaged clock puts switches at the ends of i64.
        let mut threads = ThreadRegistry::default();
        threads.apply(Lifecycle::Rundown, 0, 8, 4, None);
        let switches = [switch(i64::MIN, 8, 0), switch(i64::MAX, 0, 8)];
        let readies = ReadyTimes::new(vec![(i64::MIN, 8)]);
        let (rows, cpu_ns) = cpu_switch_rows(0, &switches, &readies, i64::MAX, &threads);
        assert_eq!(rows[0].end_ts, i64::MAX);
        assert_eq!(cpu_ns.values().copied().collect::<Vec<_>>(), [i64::MAX]);
        assert_eq!(rows[0].ready_ns, Some(0));
    }
}
