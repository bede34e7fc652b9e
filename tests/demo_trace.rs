//! The demo trace and random scenarios read back: header kinds and versions
//! as claimed, counts as written, schedules that cover each CPU, and system
//! calls and samples that a reader can rebuild exactly from the records.
use demo::payloads::{DispatcherHeader, EventType};
use demo::scenario::{random_scenario, GroundTruth, RandomOptions, Scenario, IDLE_TID};
use demo::{demo_facts, demo_incident, demo_symbol_texts, demo_trace_bytes};
use etl::{EtlTrace, Record};
use std::collections::{BTreeMap, HashMap};
use symbols::breakpad::{parse_sym, BreakpadSymbols};

fn u32_at(p: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(p[at..at + 4].try_into().unwrap())
}

fn u64_at(p: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(p[at..at + 8].try_into().unwrap())
}

fn build(s: &Scenario) -> (EtlTrace, GroundTruth) {
    let (bytes, truth) = s.to_bytes().unwrap();
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    (trace, truth)
}

/// The records of one CPU, without the trace header event.
fn cpu_records(trace: &EtlTrace, cpu: u16) -> impl Iterator<Item = Record<'_>> {
    trace.processor_records(cpu).filter(|r| r.id != etl::RecordId::Kernel { group: 0, opcode: 0 })
}

fn event_type(r: &Record) -> EventType {
    EventType::from_id(r.id).unwrap_or_else(|| panic!("unexpected record {:?}", r.id))
}

/// Every record has the header kind and version its event type claims, and
/// the counts per type are those the builder reports.
fn check_kinds_and_counts(trace: &EtlTrace, truth: &GroundTruth) {
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
    let mut counts: BTreeMap<EventType, usize> = BTreeMap::new();
    for r in trace.records().skip(1) {
        let t = event_type(&r);
        assert_eq!((r.kind, r.version), t.header(DispatcherHeader::Compact), "{}", t.name());
        let fixed = match t {
            EventType::CSwitch => Some(24),
            EventType::ReadyThread => Some(8),
            EventType::SampledProfile => Some(16),
            EventType::SysCallEnter => Some(8),
            EventType::SysCallExit => Some(4),
            EventType::ProfileCollectionStart | EventType::ProfileCollectionEnd => Some(24),
            _ => None,
        };
        if let Some(size) = fixed {
            assert_eq!(r.payload.len(), size, "{}", t.name());
        }
        *counts.entry(t).or_default() += 1;
    }
    assert_eq!(counts, truth.event_counts);
    assert_eq!(trace.record_count(), truth.record_count + 1);
    assert_eq!(trace.header.events_lost, truth.events_lost);
}

/// Per CPU the truth's stretches run back to back from the start to the end,
/// and the CSwitch records name exactly those switches.
fn check_schedule(trace: &EtlTrace, truth: &GroundTruth) {
    for cpu in 0..truth.cpu_count {
        let stretches: Vec<_> = truth.intervals.iter().filter(|i| i.cpu == cpu).collect();
        assert_eq!(stretches.first().unwrap().start_ts, truth.start_qpc);
        assert_eq!(stretches.last().unwrap().end_ts, truth.end_qpc);
        for w in stretches.windows(2) {
            assert_eq!(w[0].end_ts, w[1].start_ts, "CPU {cpu}");
            assert_ne!(w[0].tid, w[1].tid, "CPU {cpu}");
        }
        let switches: Vec<(i64, u32, u32)> = cpu_records(trace, cpu)
            .filter(|r| event_type(r) == EventType::CSwitch)
            .map(|r| (r.timestamp, u32_at(r.payload, 0), u32_at(r.payload, 4)))
            .collect();
        let expected: Vec<(i64, u32, u32)> =
            stretches.windows(2).map(|w| (w[1].start_ts, w[1].tid, w[0].tid)).collect();
        assert_eq!(switches, expected, "CPU {cpu}");
    }
}

/// Rebuilds system calls as a reader would: per CPU the running thread comes
/// from CSwitch, enters and exits pair up per thread like a stack.
fn rebuild_syscalls(trace: &EtlTrace, truth: &GroundTruth) -> Vec<(u32, i64, i64, u32, u64, u16, u16)> {
    let first_on_cpu: HashMap<u16, u32> = (0..truth.cpu_count)
        .map(|cpu| (cpu, truth.intervals.iter().find(|i| i.cpu == cpu).map(|i| i.tid).unwrap_or(0)))
        .collect();
    let mut running = first_on_cpu;
    let mut open: HashMap<u32, Vec<(i64, u64, u16)>> = HashMap::new();
    let mut calls = Vec::new();
    for r in trace.records().skip(1) {
        match event_type(&r) {
            EventType::CSwitch => {
                running.insert(r.processor, u32_at(r.payload, 0));
            }
            EventType::SysCallEnter => {
                let tid = running[&r.processor];
                assert_ne!(tid, IDLE_TID, "syscall on an idle CPU at {}", r.timestamp);
                open.entry(tid).or_default().push((r.timestamp, u64_at(r.payload, 0), r.processor));
            }
            EventType::SysCallExit => {
                let tid = running[&r.processor];
                let (enter, address, cpu) = open.get_mut(&tid).and_then(Vec::pop).expect("exit without enter");
                calls.push((tid, enter, r.timestamp, u32_at(r.payload, 0), address, cpu, r.processor));
            }
            _ => {}
        }
    }
    calls.sort();
    calls
}

fn check_syscalls(trace: &EtlTrace, truth: &GroundTruth) {
    let got = rebuild_syscalls(trace, truth);
    let mut want: Vec<_> = truth
        .syscalls
        .iter()
        .filter_map(|c| Some((c.tid, c.enter_ts, c.exit_ts?, c.status, c.address, c.enter_cpu, c.exit_cpu?)))
        .collect();
    want.sort();
    assert_eq!(got, want);
    for c in &truth.syscalls {
        if let (Some(exit_ns), Some(d)) = (c.exit_ns, c.duration_ns) {
            assert_eq!(exit_ns - c.enter_ns, d);
            assert_eq!(trace.clock.ns_since_start(c.exit_ts.unwrap()), exit_ns);
        }
        assert_eq!(trace.clock.ns_since_start(c.enter_ts), c.enter_ns);
    }
}

/// Each sample names its thread, and its stack follows on the same CPU; so
/// does the readying thread's stack of a ReadyThread, with its time.
fn check_samples(trace: &EtlTrace, truth: &GroundTruth) {
    let mut got = Vec::new();
    let mut ready_stacks = Vec::new();
    for cpu in 0..truth.cpu_count {
        let mut last_sample: Option<(i64, u64, u32)> = None;
        let mut last_ready: Option<(i64, u32)> = None;
        for r in cpu_records(trace, cpu) {
            match event_type(&r) {
                EventType::ReadyThread => last_ready = Some((r.timestamp, u32_at(r.payload, 0))),
                EventType::SampledProfile => {
                    let (ip, tid) = (u64_at(r.payload, 0), u32_at(r.payload, 8));
                    got.push((cpu, r.timestamp, tid, ip, 0usize));
                    last_sample = Some((r.timestamp, ip, tid));
                }
                // The stack of the ReadyThread just before, with its time (a sample's comes a tick after it).
                EventType::StackWalk if u64_at(r.payload, 0) as i64 == r.timestamp => {
                    let (ts, readied) = last_ready.take().expect("a stack at its own time without its ReadyThread");
                    assert_eq!(ts, r.timestamp);
                    let frames: Vec<u64> = (16..r.payload.len()).step_by(8).map(|at| u64_at(r.payload, at)).collect();
                    ready_stacks.push((cpu, ts, readied, u32_at(r.payload, 12), frames));
                }
                EventType::StackWalk => {
                    let (ts, ip, tid) = last_sample.take().expect("a stack without its sample");
                    assert_eq!(u64_at(r.payload, 0) as i64, ts);
                    assert_eq!(u32_at(r.payload, 12), tid);
                    assert_eq!(u64_at(r.payload, 16), ip);
                    if let Some(last) = got.last_mut() {
                        last.4 = (r.payload.len() - 16) / 8;
                    }
                }
                _ => {}
            }
        }
    }
    got.sort();
    let mut want: Vec<_> =
        truth.samples.iter().filter(|s| s.logged).map(|s| (s.cpu, s.ts, s.tid, s.ip, s.stack_frames)).collect();
    want.sort();
    assert_eq!(got, want);
    ready_stacks.sort();
    let mut want: Vec<_> = truth
        .wakeups
        .iter()
        .filter(|w| !w.stack.is_empty())
        .map(|w| (w.cpu, w.ts, w.tid, w.readying_tid, w.stack.clone()))
        .collect();
    want.sort();
    assert_eq!(ready_stacks, want);
}

#[test]
fn demo_trace_reads_back_as_built() {
    let scenario = demo_incident();
    let (trace, truth) = build(&scenario);
    assert_eq!(trace.header.number_of_processors, 16);
    assert_eq!(trace.processors().len(), 16);
    check_kinds_and_counts(&trace, &truth);
    check_schedule(&trace, &truth);
    check_syscalls(&trace, &truth);
    check_samples(&trace, &truth);
}

#[test]
fn demo_is_deterministic() {
    assert_eq!(demo_trace_bytes(), demo_trace_bytes());
}

#[test]
fn demo_plants_the_incident() {
    let facts = demo_facts();
    let (trace, truth) = build(&demo_incident());
    assert_eq!(facts.cpu_count, 16);
    assert_eq!(facts.spinning_tids.len(), 12);
    assert!((0.30..0.40).contains(&facts.driver_share), "driver share {}", facts.driver_share);
    assert!(facts.spin_calls_per_thread_per_second > 200.0, "{}", facts.spin_calls_per_thread_per_second);
    // Sleep(0): every spinning call is NtDelayExecution and succeeds.
    let spinning: Vec<_> = truth.syscalls.iter().filter(|c| facts.spinning_tids.contains(&c.tid)).collect();
    let spins: Vec<_> = spinning.iter().filter(|c| c.address == facts.delay_execution_address).collect();
    assert_eq!(spins.len(), facts.spin_calls);
    assert!(spins.iter().all(|c| c.status == 0));
    assert!(spinning.iter().all(|c| c.pid == facts.server_pid));
    // The rest: waits for the lock, each ended by a ReadyThread, and the calls
    // that wake a waiter (one per wakeup by a worker); almost all of them spin.
    let rest = spinning.len() - spins.len();
    assert_eq!(rest, facts.lock_wakeups + facts.lock_wakeups_by_worker);
    assert!(rest * 50 < spins.len(), "{rest} of {}", spinning.len());
    assert!(facts.lock_wakeups > 100 && facts.lock_wakeups_by_worker * 2 > facts.lock_wakeups, "{facts:?}");

    // The profiling gap: no samples or their stacks, but switches, calls and
    // ReadyThreads (with the readying thread's stack) go on.
    let (gap_start, gap_end) = facts.profile_gap_ns;
    let mut in_gap: BTreeMap<EventType, usize> = BTreeMap::new();
    for r in trace.records().skip(1) {
        let ns = trace.clock.ns_since_start(r.timestamp);
        if (gap_start..gap_end).contains(&ns) {
            *in_gap.entry(event_type(&r)).or_default() += 1;
        }
    }
    assert_eq!(trace.clock.ns_since_start(facts.profile_gap_qpc.0), gap_start);
    assert_eq!(trace.clock.ns_since_start(facts.profile_gap_qpc.1), gap_end);
    assert_eq!(in_gap.get(&EventType::SampledProfile), None);
    let ready_stacks = truth.wakeups.iter().filter(|w| !w.stack.is_empty());
    let ready_stacks_in_gap = ready_stacks.filter(|w| (gap_start..gap_end).contains(&w.ns)).count();
    assert!(ready_stacks_in_gap > 10, "{ready_stacks_in_gap}");
    assert_eq!(in_gap.get(&EventType::StackWalk), Some(&ready_stacks_in_gap));
    assert!(in_gap[&EventType::CSwitch] > 100);
    assert!(in_gap[&EventType::SysCallEnter] > 1000);
    assert!(facts.last_sample_before_gap_ns < gap_start && gap_start - facts.last_sample_before_gap_ns <= 2_000_000);
    assert!(facts.first_sample_after_gap_ns >= gap_end && facts.first_sample_after_gap_ns - gap_end <= 2_000_000);

    // strace.exe's failures, as the truth has them.
    let statuses: Vec<u32> = facts.strace_failures.iter().map(|f| f.status).collect();
    assert_eq!(statuses, vec![0xC000_0022, 0xC000_0034, 0xC000_003A]);
    for f in &facts.strace_failures {
        let n = truth.syscalls.iter().filter(|c| c.pid == facts.strace_pid && c.status == f.status).count();
        assert_eq!(n, f.count);
        assert!(f.count >= 20, "{f:?}");
    }
    let by_call: usize = facts.strace_failures_by_call.iter().map(|x| x.2).sum();
    assert_eq!(by_call, facts.strace_failures.iter().map(|f| f.count).sum::<usize>());
}

/// Every address in the demo lands on a function of its module's symbol
/// file, except the driver's, which has none; image identities match the store.
#[test]
fn demo_addresses_resolve_with_the_symbol_files() {
    let scenario = demo_incident();
    let by_pdb: HashMap<String, BreakpadSymbols> = demo_symbol_texts()
        .map(|text| parse_sym(text.as_bytes()))
        .map(|sym| (sym.identity.as_ref().unwrap().name.clone(), sym))
        .collect();
    for m in &scenario.modules {
        match &m.pdb {
            Some(pdb) => assert_eq!(by_pdb[&pdb.name].identity.as_ref(), Some(pdb), "{}", m.path),
            None => assert!(m.path.ends_with("tedrdrv.sys"), "{}", m.path),
        }
    }
    let resolve = |pid: u32, address: u64| -> Option<String> {
        let m = scenario.module_at(pid, address).unwrap_or_else(|| panic!("{address:#x} is in no module of {pid}"));
        let pdb = m.pdb.as_ref()?;
        let (function, _) =
            by_pdb[&pdb.name].table.lookup(address - m.base).unwrap_or_else(|| panic!("{address:#x} in {}", m.path));
        Some(function.name.to_string())
    };
    let timeline = scenario.timeline().unwrap();
    for s in &scenario.samples {
        let pid = timeline.stretch_at(s.cpu, s.ts).unwrap().pid;
        for &a in std::iter::once(&s.ip).chain(&s.callers) {
            resolve(pid, a);
        }
    }
    for c in &scenario.syscalls {
        let name = resolve(0, c.address).unwrap();
        assert!(name.starts_with("Nt"), "{name}");
    }
    // The readying threads' stacks: each readies in KiReadyThread.
    for (&i, frames) in &scenario.ready_stacks {
        let r = scenario.ready_threads[i];
        let pid = timeline.stretch_at(r.cpu, r.ts).unwrap().pid;
        let names: Vec<_> = frames.iter().map(|&a| resolve(pid, a)).collect();
        assert_eq!(names[0].as_deref(), Some("KiReadyThread"), "{names:?}");
    }
    // The driver's frames sit between EtwpLogKernelEvent and the rundown protection calls.
    let facts = demo_facts();
    let driver_frames = scenario
        .samples
        .iter()
        .flat_map(|s| std::iter::once(&s.ip).chain(&s.callers))
        .filter(|&&a| a >= facts.driver_base && a < facts.driver_base + facts.driver_size)
        .count();
    assert!(driver_frames >= facts.driver_samples);
}

/// KernelTraceControl identities come before each image event, and the
/// driver has an ImageID but no DbgID_RSDS.
#[test]
fn image_identities_precede_their_images() {
    let (trace, _) = build(&demo_incident());
    let records: Vec<Record> = cpu_records(&trace, 0).collect();
    let mut dbgids = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if event_type(r) == EventType::ImageDcStart {
            let base = u64_at(r.payload, 0);
            assert!(matches!(event_type(&records[i - 1]), EventType::DbgIdRsds | EventType::ImageId));
            let id = records[..i].iter().rev().find(|x| event_type(x) == EventType::ImageId).unwrap();
            assert_eq!(u64_at(id.payload, 0), base);
            assert_eq!(id.timestamp, r.timestamp);
        }
        if event_type(r) == EventType::DbgIdRsds {
            dbgids.push(u64_at(r.payload, 0));
        }
    }
    let facts = demo_facts();
    assert!(!dbgids.contains(&facts.driver_base));
    assert_eq!(dbgids.len(), demo_incident().modules.iter().filter(|m| m.pdb.is_some()).count());
}

#[test]
fn random_scenarios_read_back_exactly() {
    for seed in 0..40u64 {
        let (cpus, threads, ready_stacks) = (1 + (seed % 6) as u16, 4 + (seed as usize * 7) % 40, seed % 2 == 0);
        let options = RandomOptions { cpus, threads, ready_stacks, ..Default::default() };
        let s = random_scenario(seed, &options);
        s.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let (trace, truth) = build(&s);
        check_kinds_and_counts(&trace, &truth);
        check_schedule(&trace, &truth);
        check_syscalls(&trace, &truth);
        check_samples(&trace, &truth);
        let nested = truth.syscalls.iter().filter(|c| c.depth > 0).count();
        let moved = truth.syscalls.iter().filter(|c| c.exit_cpu.is_some_and(|x| x != c.enter_cpu)).count();
        if options.cpus > 1 && options.threads > 8 {
            assert!(nested > 0 && moved > 0, "seed {seed}: nested {nested}, migrated {moved}");
        }
    }
}

#[test]
fn random_scenarios_with_lost_events_count_them() {
    for seed in 100..115u64 {
        let options = RandomOptions { lost_events: true, ..Default::default() };
        let (trace, truth) = build(&random_scenario(seed, &options));
        check_kinds_and_counts(&trace, &truth);
        check_schedule(&trace, &truth);
        let dropped = truth.syscalls.iter().filter(|c| !c.enter_logged).count()
            + truth.syscalls.iter().filter(|c| c.exit_ts.is_some() && !c.exit_logged).count()
            + truth.samples.iter().filter(|s| !s.logged).map(|s| 1 + usize::from(s.stack_frames > 0)).sum::<usize>();
        assert_eq!(truth.events_lost as usize, dropped);
        assert!(dropped > 0);
        let flagged = trace.buffers().iter().filter(|b| b.header.flags & 0x0002 != 0).count();
        assert!(flagged > 0, "seed {seed}: no buffer says events were lost");
    }
}

#[test]
fn random_scenarios_are_deterministic() {
    let options = RandomOptions::default();
    let a = random_scenario(7, &options).to_bytes().unwrap().0;
    let b = random_scenario(7, &options).to_bytes().unwrap().0;
    assert_eq!(a, b);
    assert_ne!(a, random_scenario(8, &options).to_bytes().unwrap().0);
}
