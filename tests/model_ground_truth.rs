//! The model against the scenario builder's ground truth: random machines
//! (several CPUs, many threads, nested and interrupted system calls, lost
//! events) written as traces and read back. Every syscall's thread, pid,
//! duration and return value, and every context switch interval, must come
//! back as written, or be left unknown; never given to the wrong thread.
//! So must every wakeup (ReadyThread): who woke whom, where, when, with the
//! readying thread's stack.
use columnar::Value;
use decode::Decoder;
use demo::{random_scenario, DispatcherHeader, GroundTruth, RandomOptions};
use etl::EtlTrace;
use model::{ModelParts, TraceModel};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

fn build_trace(seed: u64, options: &RandomOptions) -> (EtlTrace, GroundTruth) {
    let mut scenario = random_scenario(seed, options);
    // Small buffers, as a busy machine fills them: a loss then costs a short stretch.
    scenario.buffer_size = 4096;
    let (bytes, truth) = scenario.to_bytes().expect("random scenarios are consistent");
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
    (trace, truth)
}

fn build(seed: u64, options: &RandomOptions) -> (TraceModel, GroundTruth) {
    let (trace, truth) = build_trace(seed, options);
    let model = TraceModel::build(&trace, &mut Decoder::new());
    (model, truth)
}

/// Context switch intervals: every interval the builder switched in by an
/// event comes back exactly, and so does each CPU's first stretch, which its
/// first switch ended (from the trace start, or from a loss before that
/// switch); per CPU they cover the trace without overlap.
fn check_cswitch(model: &TraceModel, truth: &GroundTruth) {
    let mut ours: HashMap<(u16, i64), _> = HashMap::new();
    for row in &model.cswitch {
        assert!(ours.insert((row.cpu, row.ts), row).is_none(), "two intervals start at {} on CPU {}", row.ts, row.cpu);
    }
    let switched_in: Vec<_> = truth.intervals.iter().filter(|i| i.switched_in_by_event).collect();
    let first_stretches: Vec<_> =
        truth.intervals.iter().filter(|i| !i.switched_in_by_event && i.switched_out_by_event).collect();
    assert_eq!(switched_in.len() + first_stretches.len(), model.cswitch.len());
    for want in switched_in {
        let got = ours.get(&(want.cpu, want.start_ns)).unwrap_or_else(|| panic!("no interval for {want:?}"));
        assert_eq!(
            (got.tid, model.cswitch_pid(got), got.end_ts, got.priority),
            (want.tid, Some(want.pid), want.end_ns, Some(want.priority)),
            "{want:?}"
        );
    }
    for want in first_stretches {
        let got = model.cswitch.iter().find(|r| r.cpu == want.cpu && r.prev_tid.is_none());
        let got = got.unwrap_or_else(|| panic!("no first interval for {want:?}"));
        assert_eq!(
            (got.tid, model.cswitch_pid(got), got.end_ts, got.priority),
            (want.tid, Some(want.pid), want.end_ns, None)
        );
        // A loss before the first switch leaves the time before it unknown.
        assert!(got.ts == want.start_ns || (truth.events_lost > 0 && got.ts < got.end_ts), "{want:?} {got:?}");
    }
    let mut by_cpu: HashMap<u16, Vec<_>> = HashMap::new();
    for row in &model.cswitch {
        by_cpu.entry(row.cpu).or_default().push(row);
    }
    for rows in by_cpu.values() {
        for pair in rows.windows(2) {
            assert_eq!(pair[0].end_ts, pair[1].ts, "CPU {}: a gap or an overlap", pair[0].cpu);
        }
        assert_eq!(rows.last().unwrap().end_ts, model.trace_end_ns);
    }
}

/// Syscalls: returns (calls back exactly, calls written with both events logged).
fn check_syscalls(model: &TraceModel, truth: &GroundTruth) -> (usize, usize) {
    let mut ours: HashMap<(u16, i64, u64), Vec<_>> = HashMap::new();
    for row in &model.syscalls {
        ours.entry((row.cpu, row.ts, row.address)).or_default().push(row);
    }
    let (mut exact, mut complete) = (0, 0);
    for want in truth.syscalls.iter().filter(|s| s.enter_logged) {
        let rows =
            ours.get(&(want.enter_cpu, want.enter_ns, want.address)).unwrap_or_else(|| panic!("no row for {want:?}"));
        // Nested calls can share an entry time only on different threads; pick ours by thread.
        let got = rows.iter().find(|r| r.tid() == Some(want.tid)).or_else(|| rows.iter().find(|r| r.tid().is_none()));
        let got = got.unwrap_or_else(|| panic!("{want:?} given to another thread: {rows:?}"));
        if got.tid().is_some() {
            assert_eq!(model.syscall_pid(got), Some(want.pid), "{want:?}");
        }
        if let Some(end) = got.end_ts() {
            // A paired call must carry its own exit.
            assert_eq!((Some(end), got.ret()), (want.exit_ns, Some(want.status)), "{want:?} {got:?}");
        }
        if want.exit_logged {
            complete += 1;
            if got.tid() == Some(want.tid) && got.end_ts() == want.exit_ns && got.duration_ns() == want.duration_ns {
                exact += 1;
            }
        }
    }
    (exact, complete)
}

/// Calls entered before their CPU's first context switch: the first record
/// that names the running thread names theirs, or the first switch does.
fn entered_before_first_switch(model: &TraceModel, truth: &GroundTruth) -> usize {
    let first_switch: HashMap<u16, i64> =
        model.cswitch.iter().filter(|r| r.prev_tid.is_some()).fold(HashMap::new(), |mut m, r| {
            m.entry(r.cpu).and_modify(|t: &mut i64| *t = (*t).min(r.ts)).or_insert(r.ts);
            m
        });
    truth
        .syscalls
        .iter()
        .filter(|s| s.enter_logged && s.exit_logged)
        .filter(|s| first_switch.get(&s.enter_cpu).is_none_or(|&t| s.enter_ns < t))
        .count()
}

/// A wakeup as a test compares it: (ns, cpu, readied, readying, reason,
/// increment, the readying thread's stack frames: empty without one).
type Edge = (i64, u16, u32, Option<u32>, i8, i8, Vec<u64>);

/// The model's wakeups, in the order `truth_edges` sorts them.
fn model_edges(model: &TraceModel) -> Vec<Edge> {
    let mut edges: Vec<Edge> = model
        .wakeups
        .iter()
        .map(|w| {
            let stack = w.stack().map(|s| model.stacks.frames(s).to_vec()).unwrap_or_default();
            (w.ts, w.cpu, w.tid, w.readying_tid(), w.adjust_reason, w.adjust_increment, stack)
        })
        .collect();
    edges.sort();
    edges
}

fn truth_edges(truth: &GroundTruth) -> Vec<Edge> {
    let mut edges: Vec<Edge> = truth
        .wakeups
        .iter()
        .map(|w| {
            let reason = w.adjust_reason as i8;
            (w.ns, w.cpu, w.tid, Some(w.readying_tid), reason, w.adjust_increment, w.stack.clone())
        })
        .collect();
    edges.sort();
    edges
}

/// Every ReadyThread comes back once, as written: its time and CPU, the thread
/// it readied and the thread that readied it (the one whose stretch on that
/// CPU covers it, idle included), and the readying thread's stack; and the
/// processes of both.
fn check_wakeups(model: &TraceModel, truth: &GroundTruth) {
    assert_eq!(model_edges(model), truth_edges(truth));
    let pids: HashMap<(i64, u16, u32), (u32, u32)> =
        truth.wakeups.iter().map(|w| ((w.ns, w.cpu, w.tid), (w.pid, w.readying_pid))).collect();
    for w in &model.wakeups {
        let want = pids[&(w.ts, w.cpu, w.tid)];
        assert_eq!((model.threads.pid_at(w.tid, w.ts), model.readying_pid(w)), (Some(want.0), Some(want.1)), "{w:?}");
    }
}

/// With events lost, every ReadyThread still comes back (none is lost), and
/// its readying thread is the one written or unknown, never another.
fn check_wakeups_never_wrong(model: &TraceModel, truth: &GroundTruth) -> usize {
    let want: HashMap<(i64, u16, u32), u32> =
        truth.wakeups.iter().map(|w| ((w.ns, w.cpu, w.tid), w.readying_tid)).collect();
    assert_eq!(model.wakeups.len(), want.len());
    let mut known = 0;
    for w in &model.wakeups {
        if let Some(readying) = w.readying_tid() {
            assert_eq!(readying, want[&(w.ts, w.cpu, w.tid)], "{w:?}");
            known += 1;
        }
    }
    known
}

/// The `cswitch` table's readying columns say what the `wakeups` table says of
/// the wakeup its `ready_ns` counts from, and are null where it counts from
/// none (a switch-out that left the thread runnable, or nothing).
fn check_cswitch_agrees_with_wakeups(model: TraceModel) -> usize {
    let model = Arc::new(model);
    let (cswitch, wakeups) = (model::tables::cswitch(&model), model::tables::wakeups(&model));
    let column = |table: &columnar::DataTable, name: &str, row: usize| table.column(name).unwrap().value(row);
    let mut by_edge: HashMap<(i64, u64), Vec<usize>> = HashMap::new();
    for row in 0..wakeups.row_count() {
        let (Value::Timestamp(ts), Value::U64(tid)) = (column(&wakeups, "ts", row), column(&wakeups, "tid", row))
        else {
            panic!("wakeup {row} without a time or thread");
        };
        by_edge.entry((ts, tid)).or_default().push(row);
    }
    let mut with_wakeup = 0;
    for row in 0..cswitch.row_count() {
        let side = ["readying_tid", "readying_pid", "readying_proc", "readying_cpu", "readying_stack"];
        let got: Vec<Value> = side.iter().map(|c| column(&cswitch, c, row)).collect();
        let (Value::Timestamp(ts), Value::U64(tid)) = (column(&cswitch, "ts", row), column(&cswitch, "tid", row))
        else {
            panic!("cswitch {row} without a time or thread");
        };
        let ready_ns = column(&cswitch, "ready_ns", row);
        let (Value::Duration(ready_ns), Some(_)) = (ready_ns, model.wakeup_of(&model.cswitch[row])) else {
            assert!(got.iter().all(Value::is_null), "cswitch {row}: {got:?} without a wakeup");
            continue;
        };
        with_wakeup += 1;
        let rows = &by_edge[&(ts - ready_ns, tid)];
        let want = |w: usize| -> Vec<Value> {
            ["readying_tid", "readying_pid", "readying_proc", "cpu", "stack"]
                .iter()
                .map(|c| column(&wakeups, c, w))
                .collect()
        };
        assert!(
            rows.iter().any(|&w| want(w) == got),
            "cswitch {row}: {got:?}, wakeups {:?}",
            rows.iter().map(|&w| want(w)).collect::<Vec<_>>()
        );
    }
    with_wakeup
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Who woke whom, with either header Windows logs ReadyThread with (the
    /// compact one names the readying thread; PERFINFO does not, and the
    /// timeline must), in a model of every part and of none (whose samples
    /// and system calls, left out, must not take the wakeups' stacks).
    #[test]
    fn every_wakeup_edge_comes_back_exactly(seed in any::<u64>(), cpus in 1u16..6, threads in 2usize..30, perfinfo in any::<bool>()) {
        let dispatcher_header = if perfinfo { DispatcherHeader::PerfInfo } else { DispatcherHeader::Compact };
        let options = RandomOptions { cpus, threads, dispatcher_header, ready_stacks: true, ..RandomOptions::default() };
        let (trace, truth) = build_trace(seed, &options);
        prop_assert!(truth.wakeups.iter().any(|w| !w.stack.is_empty()) || truth.wakeups.len() < 4);
        let all = TraceModel::build(&trace, &mut Decoder::new());
        check_wakeups(&all, &truth);
        let none = TraceModel::build_counting(&trace, &mut Decoder::new(), &progress::Progress::new(), ModelParts::NONE).unwrap();
        prop_assert_eq!(model_edges(&none), model_edges(&all));
        let switched_in = check_cswitch_agrees_with_wakeups(all);
        prop_assert!(switched_in <= truth.wakeups.len());
    }

    #[test]
    fn without_lost_events_everything_comes_back(seed in any::<u64>(), cpus in 1u16..6, threads in 2usize..40, dense in any::<bool>(), perfinfo in any::<bool>()) {
        // Dense: many short calls per slice, as on a machine busy in system calls.
        let short_calls = dense.then_some(200);
        // Context switches with either header Windows logs them with.
        let dispatcher_header = if perfinfo { DispatcherHeader::PerfInfo } else { DispatcherHeader::Compact };
        let options = RandomOptions { cpus, threads, lost_events: false, short_calls, dispatcher_header, ..RandomOptions::default() };
        let (model, truth) = build(seed, &options);
        check_cswitch(&model, &truth);
        let (exact, complete) = check_syscalls(&model, &truth);
        // Calls made before a CPU's first context switch too.
        prop_assert_eq!(exact, complete, "{} before a first switch", entered_before_first_switch(&model, &truth));
        prop_assert_eq!(model.samples.len(), truth.samples.iter().filter(|s| s.logged).count());
    }

    #[test]
    fn every_call_gets_the_objects_its_thread_touched_inside_it(seed in any::<u64>(), cpus in 1u16..5, dense in any::<bool>(), lost_events in any::<bool>()) {
        let options = RandomOptions { cpus, threads: 12, objects: true, lost_events, loss_chance: 0.01, short_calls: dense.then_some(200), ..RandomOptions::default() };
        let mut scenario = random_scenario(seed, &options);
        scenario.buffer_size = 4096;
        let (bytes, _) = scenario.to_bytes().expect("random scenarios are consistent");
        let model = TraceModel::build(&EtlTrace::from_bytes(bytes).unwrap(), &mut Decoder::new());
        let written = scenario.registry.len() + scenario.file_opens.len();
        let checked = check_objects(&model, &scenario);
        prop_assert!(lost_events || written == 0 || checked > 0, "{checked} calls with objects of {written} written");
    }

    #[test]
    fn with_lost_events_nothing_goes_to_the_wrong_thread(seed in any::<u64>(), cpus in 1u16..6, loss_chance in 0.0005f64..0.05, dense in any::<bool>()) {
        let options = RandomOptions { cpus, lost_events: true, loss_chance, short_calls: dense.then_some(200), ..RandomOptions::default() };
        let (model, truth) = build(seed, &options);
        check_cswitch(&model, &truth);
        // The checks inside: a call that comes back attributed or paired is exactly right.
        check_syscalls(&model, &truth);
        check_wakeups_never_wrong(&model, &truth);
    }

    #[test]
    fn rare_losses_cost_only_the_calls_around_them(seed in any::<u64>(), cpus in 2u16..6) {
        let options = RandomOptions { cpus, lost_events: true, loss_chance: 0.001, ..RandomOptions::default() };
        let (model, truth) = build(seed, &options);
        let (exact, complete) = check_syscalls(&model, &truth);
        prop_assert!(complete == 0 || 2 * exact >= complete, "{exact} of {complete}; {:?}", model.stats);
    }
}

#[test]
fn the_demo_incident_comes_back_as_written() {
    let (bytes, truth) = demo::demo_incident().to_bytes().unwrap();
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    let model = TraceModel::build(&trace, &mut Decoder::new());
    check_cswitch(&model, &truth);
    let (exact, complete) = check_syscalls(&model, &truth);
    let before_first_switch = entered_before_first_switch(&model, &truth);
    // Those before a CPU's first switch too: a sample, a stack walk or the switch names their thread.
    assert!(before_first_switch > 100, "{before_first_switch}");
    assert_eq!(exact, complete, "{before_first_switch} before a CPU's first switch");
    // Who woke whom: server.exe's spinning workers, when they wait for the lock, too.
    check_wakeups(&model, &truth);
    let workers = demo::demo_facts().spinning_tids;
    let woken: Vec<_> =
        model.cswitch.iter().filter(|c| workers.contains(&c.tid)).filter_map(|c| model.wakeup_of(c)).collect();
    assert!(woken.len() > 100, "{}", woken.len());
    assert!(woken.iter().all(|w| w.stack().is_some() && w.readying_tid().is_some()));
    check_cswitch_agrees_with_wakeups(model);
}

/// A scenario written three times over (the big-trace benchmark's way to a
/// 10 GB trace) reads back as three copies of its calls, samples and switches,
/// one period after another, with a switch at each seam where a CPU's thread changes.
#[test]
fn a_scenario_repeated_in_periods_reads_back_as_each_period() {
    let options = RandomOptions { cpus: 3, threads: 12, thread_lifecycle: false, ..RandomOptions::default() };
    let (once, truth) = build(5, &options);
    let scenario = random_scenario(5, &options);
    let (cursor, _) = scenario.write_periods(std::io::Cursor::new(Vec::new()), 3).unwrap();
    let trace = EtlTrace::from_bytes(cursor.into_inner()).unwrap();
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
    let thrice = TraceModel::build(&trace, &mut Decoder::new());

    let period_ns = truth.duration_ns;
    assert_eq!(thrice.trace_end_ns, 3 * period_ns);
    assert_eq!(thrice.samples.len(), 3 * once.samples.len());
    assert_eq!(thrice.syscalls.len(), 3 * once.syscalls.len());
    for period in 0..3 {
        let shift = period * period_ns;
        let in_period = |ts: i64| (shift..shift + period_ns).contains(&ts);
        let samples: Vec<_> =
            thrice.samples.iter().filter(|s| in_period(s.ts)).map(|s| (s.ts - shift, s.tid, s.ip)).collect();
        let want: Vec<_> = once.samples.iter().map(|s| (s.ts, s.tid, s.ip)).collect();
        assert_eq!(samples, want, "the samples of period {period}");
    }
    // Each seam switches every CPU whose thread changes: the switches of one
    // period three times, and one more per such CPU and seam.
    let changes = (0..3u16)
        .filter(|&cpu| {
            let of_cpu: Vec<_> = truth.intervals.iter().filter(|i| i.cpu == cpu).collect();
            of_cpu.first().map(|i| i.tid) != of_cpu.last().map(|i| i.tid)
        })
        .count();
    // The stretch before each CPU's first switch is a row once, in the first period.
    let first_rows = once.cswitch.iter().filter(|r| r.prev_tid.is_none()).count();
    assert_eq!(thrice.cswitch.len(), 3 * (once.cswitch.len() - first_rows) + first_rows + 2 * changes);
    // A trace whose threads end cannot repeat.
    let ending = random_scenario(5, &RandomOptions { thread_lifecycle: true, ..options });
    if ending.threads.iter().any(|t| t.start.is_some() || t.end.is_some()) {
        assert!(ending.write_periods(std::io::Cursor::new(Vec::new()), 2).is_err());
    }
    assert!(scenario.write_periods(std::io::Cursor::new(Vec::new()), 0).is_err());
}

/// A switch-in's ready time counts from the thread's last ReadyThread only if
/// that came at or after the thread's last switch-out (on any CPU): an earlier
/// one readied it for an earlier wait. Checked against the scenario's own
/// stretches and ReadyThread events, which know every thread's waits: with
/// threads that wait and are readied again many times, the rule matters on
/// most switch-ins. The readying side of the switch-in is that ReadyThread's.
#[test]
fn ready_time_counts_only_the_ready_that_ended_the_last_wait() {
    let options = RandomOptions { cpus: 3, threads: 12, ..RandomOptions::default() };
    let mut checked = (0, 0);
    for seed in 0..6 {
        let (model, truth) = build(seed, &options);
        let mut readies: HashMap<u32, Vec<i64>> = HashMap::new();
        for &(tid, ns) in &truth.readies {
            readies.entry(tid).or_default().push(ns);
        }
        let readying: HashMap<(u32, i64), (u32, u16)> =
            truth.wakeups.iter().map(|w| ((w.tid, w.ns), (w.readying_tid, w.cpu))).collect();
        for list in readies.values_mut() {
            list.sort_unstable();
        }
        let rows: HashMap<(u16, i64), _> = model.cswitch.iter().map(|r| ((r.cpu, r.ts), r)).collect();
        for want in truth.intervals.iter().filter(|i| i.switched_in_by_event) {
            // The thread's latest stretch before this one, on any CPU.
            let last_out = truth
                .intervals
                .iter()
                .filter(|i| i.tid == want.tid && i.switched_out_by_event && i.end_ns <= want.start_ns)
                .max_by_key(|i| i.end_ns);
            let runnable = last_out.filter(|i| matches!(i.out.state, 1 | 3)).map(|i| i.end_ns);
            let readied = readies
                .get(&want.tid)
                .and_then(|list| list.iter().rev().find(|&&r| r <= want.start_ns))
                .copied()
                .filter(|&r| runnable.is_none() && last_out.is_none_or(|out| r >= out.end_ns));
            let expected = runnable.or(readied).map(|r| want.start_ns - r);
            let got = rows.get(&(want.cpu, want.start_ns)).unwrap_or_else(|| panic!("no row for {want:?}"));
            assert_eq!(model.ready_ns(got), expected, "{want:?}");
            let side = model.wakeup_of(got).map(|w| (w.readying_tid(), w.cpu));
            let want_side = readied.map(|r| readying[&(want.tid, r)]).map(|(tid, cpu)| (Some(tid), cpu));
            assert_eq!(side, want_side, "{want:?}");
            checked.0 += 1;
            // How often the old rule (the last ReadyThread, whenever it was) would differ.
            let any_ready = readies.get(&want.tid).and_then(|l| l.iter().rev().find(|&&r| r <= want.start_ns));
            if any_ready.is_some() && expected.is_none() {
                checked.1 += 1;
            }
        }
    }
    let (rows, stale) = checked;
    assert!(rows > 100 && stale * 10 > rows, "{stale} of {rows} switch-ins had only a stale ReadyThread");
}

/// Before a CPU's first context switch, the first record that names the
/// running thread names the thread of the system calls since the CPU's first
/// record: a sample logged after them on CPU 0, the first switch's old thread
/// on CPU 2. CPU 1 never switches and logs no sample: its calls stay unknown.
#[test]
fn calls_before_the_first_switch_take_the_thread_a_record_names() {
    use demo::scenario::{ProcessSpec, SampleSpec, Slice, SwitchOut, SyscallSpec, ThreadSpec};
    const NT_CLOSE: u64 = 0xffff_f800_0060_1000;
    let duration = 10_000;
    let mut s = demo::Scenario::new(3, duration);
    s.processes = vec![ProcessSpec::running(0, 0, "Idle"), ProcessSpec::running(40, 0, "app.exe")];
    s.threads = [100, 200, 300, 301].map(|tid| ThreadSpec::running(tid, 40, 0x1000)).to_vec();
    let slice = |cpu, tid, start, end| Slice { cpu, tid, start, end, priority: 8, out: SwitchOut::waiting(6) };
    s.schedule = vec![
        slice(0, 100, 0, duration),
        slice(1, 200, 0, duration),
        slice(2, 300, 0, 6_000),
        slice(2, 301, 6_000, duration),
    ];
    for (tid, enter) in [(100, 1_000), (100, 3_000), (200, 1_000), (300, 1_000), (300, 4_000)] {
        let call = SyscallSpec {
            tid,
            enter,
            exit: Some(enter + 500),
            address: NT_CLOSE,
            status: 0,
            lost_enter: false,
            lost_exit: false,
        };
        s.syscalls.push(call);
    }
    s.samples.push(SampleSpec { cpu: 0, tid: 100, ts: 5_000, ip: 0x1010, callers: Vec::new(), lost: false });
    let (bytes, truth) = s.to_bytes().unwrap();
    let model = TraceModel::build(&EtlTrace::from_bytes(bytes).unwrap(), &mut Decoder::new());
    let calls: Vec<_> = model.syscalls.iter().map(|c| (c.cpu, c.tid(), c.duration_ns())).collect();
    let took_500_ticks = Some(truth.syscalls[0].duration_ns.unwrap());
    assert_eq!(
        calls,
        [
            (0, Some(100), took_500_ticks),
            (1, None, None),
            (2, Some(300), took_500_ticks),
            (0, Some(100), took_500_ticks),
            (2, Some(300), took_500_ticks),
        ]
    );
    // CPU 2's stretch before its first switch is a row; CPUs 0 and 1 never switch.
    let rows: Vec<_> = model.cswitch.iter().map(|r| (r.cpu, r.ts, r.tid, r.prev_tid)).collect();
    let switched_at = truth.intervals.iter().find(|i| i.tid == 301).unwrap().start_ns;
    assert_eq!(rows, [(2, 0, 300, None), (2, switched_at, 301, Some(300))]);
}

/// Every system call's object: the first registry key or file its thread
/// touched inside it, where no nested call holds that time, with the status
/// written and the count; a call whose thread is unknown gets none.
fn check_objects(model: &TraceModel, scenario: &demo::Scenario) -> usize {
    // (thread, time, name, kind, status) of every object written.
    let mut written: Vec<(u32, i64, String, &str, u32)> = Vec::new();
    for r in &scenario.registry {
        written.push((r.tid, scenario.ns(r.ts), r.key.clone(), "key", r.status));
    }
    for f in &scenario.file_opens {
        written.push((f.tid, scenario.ns(f.ts), f.path.clone(), "file", f.status));
    }
    written.sort_by_key(|w| w.1);
    // A call holds its thread's events until its exit; with none, until the thread's next call.
    let until = |row: usize| {
        let call = &model.syscalls[row];
        call.end_ts().unwrap_or_else(|| {
            let next = model.syscalls[row + 1..].iter().find(|o| o.tid() == call.tid() && o.ts > call.ts);
            next.map_or(i64::MAX, |o| o.ts)
        })
    };
    let mut checked = 0;
    for (row, call) in model.syscalls.iter().enumerate() {
        let got = model.syscall_objects.of_call(row);
        let Some(tid) = call.tid() else {
            assert!(got.is_none(), "{call:?} has no thread, yet an object");
            continue;
        };
        let end = until(row);
        let inside: Vec<_> = written.iter().filter(|w| w.0 == tid && call.ts <= w.1 && w.1 <= end).collect();
        let mine: Vec<_> = inside
            .iter()
            .filter(|w| {
                // No call of the thread entered later holds it.
                !model
                    .syscalls
                    .iter()
                    .enumerate()
                    .any(|(other, o)| o.tid() == Some(tid) && o.ts > call.ts && o.ts <= w.1 && w.1 <= until(other))
            })
            .collect();
        match (mine.first(), got) {
            (None, None) => {}
            (Some(want), Some(got)) => {
                let (name, status) = match got.first.kind {
                    model::syscall_objects::ObjectKind::File => {
                        let f = &model.fileio[got.first.row as usize];
                        (f.file.clone(), f.status)
                    }
                    _ => {
                        let k = &model.registry[got.first.row as usize];
                        (k.key.clone(), k.status)
                    }
                };
                assert_eq!(
                    (name.as_deref(), got.first.kind.name(), status, got.count as usize),
                    (Some(want.2.as_str()), want.3, Some(want.4), mine.len()),
                    "{call:?}"
                );
                checked += 1;
            }
            (want, got) => panic!("{call:?}: wanted {want:?}, got {got:?}"),
        }
    }
    checked
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Every DPC and ISR comes back with the CPU, times, kind, routine and
    /// vector written, whatever header the dispatcher's events use.
    #[test]
    fn every_dpc_and_isr_comes_back_as_written(seed in any::<u64>(), cpus in 1u16..5, perfinfo in any::<bool>()) {
        let dispatcher_header = if perfinfo { DispatcherHeader::PerfInfo } else { DispatcherHeader::Compact };
        let options = RandomOptions { cpus, threads: 8, dpcs: true, dispatcher_header, ..RandomOptions::default() };
        let scenario = random_scenario(seed, &options);
        let (bytes, _) = scenario.to_bytes().expect("random scenarios are consistent");
        let model = TraceModel::build(&EtlTrace::from_bytes(bytes).unwrap(), &mut Decoder::new());
        let kind = |k: demo::scenario::InterruptKind| match k {
            demo::scenario::InterruptKind::Dpc => model::DpcKind::Dpc,
            demo::scenario::InterruptKind::ThreadedDpc => model::DpcKind::ThreadedDpc,
            demo::scenario::InterruptKind::TimerDpc => model::DpcKind::TimerDpc,
            demo::scenario::InterruptKind::Isr => model::DpcKind::Isr,
        };
        let mut want: Vec<_> = scenario
            .dpcs
            .iter()
            .map(|d| {
                let vector = (d.kind == demo::scenario::InterruptKind::Isr).then_some(d.vector);
                (scenario.ns(d.start), d.cpu, scenario.ns(d.end), kind(d.kind), d.routine, vector)
            })
            .collect();
        want.sort_by_key(|w| (w.0, w.1));
        let got: Vec<_> = model.dpcs.iter().map(|d| (d.ts, d.cpu, d.end_ts, d.kind, d.routine, d.vector)).collect();
        prop_assert!(!want.is_empty());
        prop_assert_eq!(got, want);
    }
}

/// The ready time the rule gives a switch-in (`want`): since the thread's
/// last switch-out on any CPU if that left it runnable (Ready, Standby),
/// else since its last ReadyThread, if that came at or after that switch-out.
fn expected_ready(
    truth: &GroundTruth,
    readies: &HashMap<u32, Vec<i64>>,
    want: &demo::scenario::IntervalTruth,
) -> Option<i64> {
    let last_out = truth
        .intervals
        .iter()
        .filter(|i| i.tid == want.tid && i.switched_out_by_event && i.end_ns <= want.start_ns)
        .max_by_key(|i| i.end_ns);
    if let Some(out) = last_out.filter(|i| matches!(i.out.state, 1 | 3)) {
        return Some(want.start_ns - out.end_ns);
    }
    let readied = readies.get(&want.tid).and_then(|list| list.iter().rev().find(|&&r| r <= want.start_ns)).copied();
    readied.filter(|&r| last_out.is_none_or(|out| r >= out.end_ns)).map(|r| want.start_ns - r)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Every thread's switches, preemptions, migrations, ready time (a wait
    /// still open at the end included) and wait time, and every CPU's busy and
    /// idle time and switches, as the schedule wrote them.
    #[test]
    fn the_scheduler_columns_follow_the_schedule(seed in any::<u64>(), cpus in 1u16..5, threads in 2usize..20) {
        let options = RandomOptions { cpus, threads, ..RandomOptions::default() };
        let (model, truth) = build(seed, &options);
        let mut readies: HashMap<u32, Vec<i64>> = HashMap::new();
        for &(tid, ns) in &truth.readies {
            readies.entry(tid).or_default().push(ns);
        }
        for list in readies.values_mut() {
            list.sort_unstable();
        }
        // Per thread: (switches, preemptions, migrations, ready, wait), from the intervals in time order.
        let mut intervals: Vec<_> = truth.intervals.iter().filter(|i| i.tid != 0).collect();
        intervals.sort_by_key(|i| (i.start_ns, i.cpu));
        let mut want: HashMap<u32, (u64, u64, u64, i64, i64)> = HashMap::new();
        let mut previous: HashMap<u32, &demo::scenario::IntervalTruth> = HashMap::new();
        for i in intervals {
            let entry = want.entry(i.tid).or_default();
            if i.switched_in_by_event {
                entry.0 += 1;
                let ready = expected_ready(&truth, &readies, i).unwrap_or(0);
                entry.3 += ready;
                if let Some(p) = previous.get(&i.tid) {
                    entry.2 += u64::from(p.cpu != i.cpu);
                    if p.switched_out_by_event && p.out.state == demo::scenario::thread_state::WAITING {
                        entry.4 += (i.start_ns - p.end_ns - ready).max(0);
                    }
                }
            }
            if i.switched_out_by_event && matches!(i.out.state, 1 | 3) {
                entry.1 += 1;
            }
            previous.insert(i.tid, i);
        }
        // A wait still open at the end: ready since a runnable switch-out, or a ReadyThread after one.
        for (tid, last) in &previous {
            if !last.switched_out_by_event {
                continue;
            }
            let readied = readies.get(tid).and_then(|l| l.iter().copied().filter(|&r| r >= last.end_ns).max());
            let since = if matches!(last.out.state, 1 | 3) { Some(last.end_ns) } else { readied };
            if let Some(since) = since {
                want.entry(*tid).or_default().3 += truth.duration_ns - since;
            }
        }
        let got = model::schedule::thread_schedules(&model);
        for (row, s) in model.threads.rows.iter().zip(&got) {
            let w = want.get(&row.tid).copied().unwrap_or_default();
            prop_assert_eq!((s.switches, s.preemptions, s.migrations, s.ready_ns, s.wait_ns), w, "thread {}", row.tid);
            let wakeups = truth.readies.iter().filter(|(tid, _)| *tid == row.tid).count() as u64;
            prop_assert_eq!(s.wakeups, wakeups, "thread {}", row.tid);
        }
        for cpu in model::schedule::cpu_schedules(&model) {
            let of_cpu: Vec<_> = truth.intervals.iter().filter(|i| i.cpu == cpu.cpu).collect();
            let time = |idle: bool| of_cpu.iter().filter(|i| (i.tid == 0) == idle).map(|i| i.end_ns - i.start_ns).sum::<i64>();
            let switches = of_cpu.iter().filter(|i| i.switched_in_by_event).count() as u64;
            prop_assert_eq!((cpu.busy_ns, cpu.idle_ns, cpu.switches), (time(false), time(true), switches));
        }
    }
}

/// ReadyThreads logged before their CPU's first context switch take the
/// readying thread the way calls do: with the PERFINFO header, which names
/// no thread, the first record that names the running thread names it (a
/// sample later on CPU 0, the first switch's old thread on CPU 2), and CPU 1,
/// which never switches and logs no sample, leaves it unknown; the compact
/// header names it itself.
#[test]
fn readies_before_the_first_switch_take_the_thread_a_record_names() {
    use demo::scenario::{ProcessSpec, ReadySpec, SampleSpec, Slice, SwitchOut, ThreadSpec};
    let duration = 10_000;
    let mut s = demo::Scenario::new(3, duration);
    s.processes = vec![ProcessSpec::running(0, 0, "Idle"), ProcessSpec::running(40, 0, "app.exe")];
    s.threads = [100, 200, 300, 301, 400].map(|tid| ThreadSpec::running(tid, 40, 0x1000)).to_vec();
    let slice = |cpu, tid, start, end| Slice { cpu, tid, start, end, priority: 8, out: SwitchOut::waiting(6) };
    s.schedule = vec![
        slice(0, 100, 0, duration),
        slice(1, 200, 0, duration),
        slice(2, 300, 0, 6_000),
        slice(2, 301, 6_000, duration),
    ];
    let ready = |cpu, ts| ReadySpec { cpu, ts, tid: 400, adjust_reason: 1, adjust_increment: 2 };
    s.ready_threads = vec![ready(0, 1_000), ready(1, 1_500), ready(2, 2_000), ready(2, 7_000)];
    // After the switch: a stack walk before it would name CPU 2's thread itself.
    s.ready_stacks.insert(3, vec![0xffff_f800_0060_2000, 0x7ff6_0000_1000]);
    s.samples.push(SampleSpec { cpu: 0, tid: 100, ts: 5_000, ip: 0x1010, callers: Vec::new(), lost: false });
    for (header, cpu1) in [(DispatcherHeader::PerfInfo, None), (DispatcherHeader::Compact, Some(200))] {
        s.dispatcher_header = header;
        let (bytes, truth) = s.to_bytes().unwrap();
        let model = TraceModel::build(&EtlTrace::from_bytes(bytes).unwrap(), &mut Decoder::new());
        let readying: Vec<_> = model.wakeups.iter().map(|w| (w.cpu, w.readying_tid())).collect();
        assert_eq!(readying, [(0, Some(100)), (1, cpu1), (2, Some(300)), (2, Some(301))], "{header:?}");
        let stack = model.wakeups[3].stack().map(|id| model.stacks.frames(id).to_vec());
        assert_eq!(stack.as_deref(), Some(&truth.wakeups[3].stack[..]), "{header:?}");
        assert_eq!(model.readying_pid(&model.wakeups[3]), Some(40));
    }
}
