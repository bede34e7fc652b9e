//! Turns the record stream into the model's tables: per-CPU passes on all
//! cores, then one ordered pass over the rare events that give names and
//! lifetimes (`name_pass`), then the joins, each per CPU or per thread on all
//! cores and merged in time order: stacks (here), wakeups (`wakeup_rows`),
//! context switches (`cswitch_rows`) and system calls (`syscall_pairing`).
use super::cpu_pass;
use super::cswitch_rows::cswitch_rows;
use super::io::FileIoRow;
use super::name_pass::{self, NamePass};
use super::pass_output::{CpuOutput, StackEvent};
use super::processes::{ProcessRegistry, ThreadRegistry};
use super::registry::RegistryRow;
use super::sorted_runs;
use super::stack_join::{self, Claims, StackRef};
use super::stacks::{self, CpuStacks, KeyIndex, StackId, StackStats, StackStore};
use super::syscall_objects::{CreatedObject, ObjectEvent, ObjectKind, SyscallObjects};
use super::syscall_pairing::{pair_syscalls, threads_that_could_lose, LossWindow};
use super::wakeup_rows::wakeup_rows;
use super::{BuildStats, DpcRow, ModelParts, SampleRow, StackRow, TraceModel};
use decode::Decoder;
use etl::{EtlTrace, RecordRef};
use progress::Progress;
use rayon::prelude::*;

/// The profile interval when the trace does not say: 1 ms.
const DEFAULT_SAMPLE_INTERVAL_NS: i64 = 1_000_000;

/// Builds the model with `parts`; `meter` counts the records as the per-CPU
/// passes take them. None when the meter was asked to stop.
pub fn build(trace: &EtlTrace, decoder: &mut Decoder, meter: &Progress, parts: ModelParts) -> Option<TraceModel> {
    let mut outputs: Vec<CpuOutput> =
        trace.processors().into_par_iter().map(|p| cpu_pass::run(trace, p, meter, parts)).collect();
    if meter.stopped() {
        return None;
    }
    let trace_end = outputs.iter().map(|o| o.last_ts).max().unwrap_or(0);
    let mut stats = BuildStats {
        records: outputs.iter().map(|o| o.records).sum(),
        unattributed_after_loss: outputs.iter().map(|o| o.unattributed_after_loss).sum(),
        ..Default::default()
    };

    let rare: Vec<RecordRef> = outputs.iter().flat_map(|o| o.rare.iter().copied()).collect();
    let NamePass {
        processes,
        mut threads,
        mut modules,
        mut managed,
        sample_interval_ns,
        mut io,
        mut registry,
        created,
        ..
    } = name_pass::run(trace, decoder, rare);
    io.finish();
    registry.finish();
    modules.finish();
    managed.finish();

    let mut loss_windows = Vec::new();
    for o in &outputs {
        for &(start, end) in &o.loss_windows {
            loss_windows.push(LossWindow { start, end, threads: threads_that_could_lose(&o.switches, start, end) });
        }
    }
    loss_windows.sort_unstable_by_key(|w| (w.start, w.end));
    stats.loss_windows = loss_windows.len() as u64;

    let dpcs = dpc_rows(&mut outputs, &trace.clock);
    let weight_ns = sample_interval_ns.unwrap_or(DEFAULT_SAMPLE_INTERVAL_NS);
    let mut stacked = join_stacks(trace, &mut outputs, &mut threads, parts.keeps_every_stack());
    stats.stacks = stacked.stats;
    let wakeups = wakeup_rows(&mut outputs, &trace.clock);
    let cswitch = cswitch_rows(&outputs, trace_end, &mut threads, &wakeups);
    // Without a part, the pass kept only phantoms of it, to claim their stacks.
    if !parts.samples {
        stacked.samples = Vec::new();
    }
    let syscalls = if parts.syscalls {
        let (syscalls, unmatched_exits, unattributed) = pair_syscalls(outputs, &trace.clock, &loss_windows);
        stats.unmatched_syscall_exits = unmatched_exits;
        stats.unattributed_syscall_events = unattributed;
        syscalls
    } else {
        Vec::new()
    };
    let syscall_objects = SyscallObjects::link(&syscalls, object_events(&io.file, &registry.rows, &created));

    Some(TraceModel {
        parts,
        pointer_size: trace.header_pointer_size,
        trace_end_ns: trace_end,
        processes,
        threads,
        modules,
        managed,
        cswitch,
        wakeups,
        syscalls,
        samples: stacked.samples,
        sample_weight_ns: weight_ns,
        stack_rows: stacked.stack_rows,
        stacks: stacked.store,
        diskio: io.disk,
        fileio: io.file,
        hardfaults: io.hard_faults,
        registry: registry.rows,
        dpcs,
        created,
        syscall_objects,
        stats,
    })
}

/// Every CPU's DPCs and ISRs, their times in ns, in the order they were entered.
fn dpc_rows(outputs: &mut [CpuOutput], clock: &etl::clock::Clock) -> Vec<DpcRow> {
    let mut runs: Vec<Vec<DpcRow>> = outputs.iter_mut().map(|o| std::mem::take(&mut o.dpcs)).collect();
    for run in &mut runs {
        for row in run.iter_mut() {
            (row.ts, row.end_ts) = (clock.ns_since_start(row.ts), clock.ns_since_start(row.end_ts));
        }
        // Logged as they return: a DPC interrupted by an ISR returns after it.
        run.sort_by_key(|r| r.ts);
    }
    sorted_runs::merge(runs, |r: &DpcRow| (r.ts, r.cpu))
}

/// The events of known threads that name an object a system call touched.
fn object_events(files: &[FileIoRow], keys: &[RegistryRow], created: &[CreatedObject]) -> Vec<ObjectEvent> {
    let event = |kind, row: usize, ts, tid: Option<u32>| Some(ObjectEvent { ts, tid: tid?, kind, row: row as u32 });
    let files = files.iter().enumerate().filter_map(|(i, f)| event(ObjectKind::File, i, f.ts, f.tid));
    let keys = keys.iter().enumerate().filter_map(|(i, k)| event(ObjectKind::Key, i, k.ts, k.tid));
    let created = created.iter().enumerate().filter_map(|(i, c)| event(c.kind, i, c.ts, Some(c.tid)));
    files.chain(keys).chain(created).collect()
}

/// The processes of a trace alone, without the rest of the model: one light
/// pass on all cores picks out the rare events, and the ordered pass names
/// them. None when the meter was asked to stop.
pub fn processes(trace: &EtlTrace, decoder: &mut Decoder, meter: &Progress) -> Option<ProcessRegistry> {
    let rare: Vec<RecordRef> =
        trace.processors().into_par_iter().flat_map_iter(|p| cpu_pass::rare_records(trace, p, meter)).collect();
    if meter.stopped() {
        return None;
    }
    Some(name_pass::run(trace, decoder, rare).processes)
}

/// The stacks, stored once, and the rows that refer to them.
struct Stacked {
    store: StackStore,
    samples: Vec<SampleRow>,
    stack_rows: Vec<StackRow>,
    stats: StackStats,
}

/// Resolves every CPU's stacks, gives each to its sample, system call or
/// ReadyThread (setting `stack` on the CPUs' rows), interns them, and merges the sample
/// rows in time order; with `with_stack_rows` (a model of every part, which
/// the stacks table reads) every stack's row too.
fn join_stacks(
    trace: &EtlTrace,
    outputs: &mut [CpuOutput],
    threads: &mut ThreadRegistry,
    with_stack_rows: bool,
) -> Stacked {
    let pointer_size = trace.header_pointer_size;
    let keys = KeyIndex::new(outputs.iter_mut().flat_map(|o| std::mem::take(&mut o.key_definitions)).collect());
    // Each CPU's stack events go as soon as its stacks are resolved.
    let events: Vec<Vec<StackEvent>> = outputs.iter_mut().map(|o| std::mem::take(&mut o.stacks)).collect();
    let outputs_read: &[CpuOutput] = outputs;
    let mut cpu_stacks: Vec<CpuStacks> = events
        .into_par_iter()
        .zip(outputs_read.par_iter())
        .map(|(events, o)| stacks::resolve_cpu(&events, &o.frames, &keys, pointer_size))
        .collect();
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

    // Every stack joined to its event, for the stacks table, which only a
    // model of every part serves. Stacks whose frames went into another CPU's
    // stack of the same event are left out.
    let stack_rows = if with_stack_rows {
        let kept: Vec<Vec<u32>> = cpu_stacks
            .iter()
            .map(|s| (0..s.owners.len() as u32).filter(|&i| !s.is_removed(i as usize)).collect())
            .collect();
        let lens: Vec<usize> = kept.iter().map(Vec::len).collect();
        let owner =
            |c: usize, i: usize| (&cpu_stacks[c].owners[kept[c][i] as usize], stack_ids[c][kept[c][i] as usize]);
        sorted_runs::merge_by(
            &lens,
            |c, i| (owner(c, i).0.event_raw_ts, owner(c, i).0.tid),
            |c, i| {
                let (o, stack) = owner(c, i);
                StackRow { ts: trace.clock.ns_since_start(o.event_raw_ts), tid: o.tid, pid: o.pid, stack }
            },
        )
    } else {
        Vec::new()
    };
    let syscall_stacks: Vec<Vec<(usize, Option<StackId>)>> =
        claims.iter().map(|c| c.syscalls.iter().map(|&(i, r)| (i, stack_id(Some(r)))).collect()).collect();
    let ready_stacks: Vec<Vec<(usize, Option<StackId>)>> =
        claims.iter().map(|c| c.readies.iter().map(|&(i, r)| (i, stack_id(Some(r)))).collect()).collect();
    drop(cpu_stacks);
    for o in outputs.iter_mut() {
        // Every stack is interned: the frames the pass read go.
        o.frames = Vec::new();
    }
    for (o, stacks) in outputs.iter_mut().zip(syscall_stacks) {
        for (i, stack) in stacks {
            if let Some(row) = o.syscalls.enters.get_mut(i) {
                row.set_stack(stack);
            }
        }
    }
    for (o, stacks) in outputs.iter_mut().zip(ready_stacks) {
        for (i, stack) in stacks {
            if let Some(row) = o.readies.get_mut(i) {
                row.set_stack(stack);
            }
        }
    }
    // Each sample row gets its stack, its process and its time in ns in
    // place; then every CPU's rows are merged in time order.
    let clock = &trace.clock;
    let threads_read: &ThreadRegistry = threads;
    let per_thread: Vec<Vec<u64>> = outputs
        .par_iter_mut()
        .zip(claims.par_iter())
        .enumerate()
        .map(|(c, (o, claim))| {
            let mut per_thread = vec![0u64; threads_read.rows.len()];
            for (i, row) in o.samples.iter_mut().enumerate() {
                row.set_stack(stack_id(claim.sample(c, i)));
                row.ts = clock.ns_since_start(row.ts);
                let thread = threads_read.index_at(row.tid, row.ts);
                if let Some(t) = thread {
                    per_thread[t] += 1;
                }
                // Every processor's idle thread is tid 0 of the Idle process.
                row.set_pid(if row.tid == 0 { Some(0) } else { thread.map(|t| threads_read.rows[t].pid) });
            }
            per_thread
        })
        .collect();
    drop(claims);
    for counts in per_thread {
        for (row, n) in threads.rows.iter_mut().zip(counts) {
            row.samples += n;
        }
    }
    let runs = outputs.iter_mut().map(|o| std::mem::take(&mut o.samples)).collect();
    let samples = sorted_runs::merge_chunked(runs, |s: &SampleRow| (s.ts, s.cpu));
    Stacked { store, samples, stack_rows, stats }
}
