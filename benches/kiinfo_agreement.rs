//! etwq against HPE LinuxKI's kiinfo on the same built traces (issue 15,
//! "Must show: against kiinfo"):
//!   ETWQ_KIINFO=/path/to/kiinfo cargo bench --bench kiinfo_agreement
//! Without ETWQ_KIINFO it says it is skipped and exits 0.
//!
//! Each trace is built by the scenario builder with its CSwitch and
//! ReadyThread events under PERFINFO headers (the only form kiinfo reads), so
//! the builder's ground truth says what each number should be. kiinfo splits
//! the trace into per-CPU files (`-etldump`), then `-kipid csv` writes one row
//! per thread (kipid.TAG.csv) and `-kirunq` prints its top-10 thread tables,
//! which must repeat kipid's numbers. etwq answers through the session API.
//!
//! What kiinfo's columns count, read from its source (src/kiinfo: Thread.c,
//! PerfInfo.c, winki_util.c, sched.c):
//! - `syscalls`: SysCallExit records, each given to the thread kiinfo believes
//!   runs on that CPU: the last CSwitch's new thread; before a CPU's first
//!   switch, the thread of the last StackWalk logged after a sample, a system
//!   call or a ReadyThread there, else thread 0, which it never reports.
//! - `switch`: the times the thread was switched out.
//! - `runtime`: time in its running state, from a switch-in or, for the
//!   thread a CPU runs when the trace starts, from the first event kiinfo
//!   gives it (its first sample, or a system call event after a StackWalk
//!   named it).
//! - `runqtime`: time in its ready state, from a switch-out that leaves it in
//!   any state but Waiting or Terminated, or from a ReadyThread of it while it
//!   is not running, to its switch-in or the trace end.
//!
//! The table: per quantity the totals of the ground truth, etwq and kiinfo,
//! then how many threads agree (of those either side names) between etwq and
//! kiinfo, etwq and the truth, kiinfo and the truth, and how many processes
//! agree between etwq and kiinfo, each tool grouping threads by its own idea of
//! their process (kiinfo learns it from StackWalk events). Where a quantity has
//! two lines, etwq is asked two ways: as a user would first ask, and under
//! kiinfo's rule. Durations in kiinfo's reports are seconds to six places: a
//! thread agrees when the two differ by at most 500 ns, a process by at most
//! 500 ns per thread kiinfo gives it; counts agree when equal. Thread 0 (idle)
//! is left out: kiinfo never reports it. Calls etwq gives no thread are listed
//! as "(no thread)".
//!
//! Traces, kiinfo's outputs and its working files stay in
//! `$TMPDIR/etwq-kiinfo-agreement/` for a look at the records (`etwq dump`).
use columnar::{DataTable, Value};
use demo::scenario::{
    thread_state, wait_reason, IntervalTruth, ProcessSpec, ProfileSpec, ReadySpec, SampleSpec, Slice, SwitchOut,
    SyscallSpec, ThreadSpec,
};
use demo::{random_scenario, DispatcherHeader, GroundTruth, RandomOptions, Scenario};
use session::Session;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The tag kiinfo names its per-CPU files and reports with.
const TAG: &str = "0101_0000";

/// Disagreeing entities listed per quantity; the rest are counted.
const LISTED: usize = 12;

/// A trace to compare on.
struct Case {
    name: &'static str,
    scenario: Scenario,
}

/// Machines small enough for kiinfo to read in seconds: 4 to 16 CPUs, tens
/// of threads, 1 to 3 s, a 1 ms profile as Windows records by default. A
/// random machine starts every CPU idle; the demo and `busy_at_start` do not.
fn cases() -> Vec<Case> {
    let random = |seed, cpus, processes, threads, seconds: i64, short_calls, lost_events| {
        let options = RandomOptions {
            cpus,
            processes,
            threads,
            duration: seconds * 10_000_000,
            profile_interval_100ns: 10_000,
            short_calls,
            lost_events,
            dispatcher_header: DispatcherHeader::PerfInfo,
            ..RandomOptions::default()
        };
        random_scenario(seed, &options)
    };
    let mut incident = demo::demo_incident();
    incident.dispatcher_header = DispatcherHeader::PerfInfo;
    vec![
        Case { name: "random-4cpu", scenario: random(1, 4, 3, 16, 2, None, false) },
        Case { name: "random-8cpu-dense-calls", scenario: random(2, 8, 6, 40, 1, Some(300), false) },
        Case { name: "random-16cpu", scenario: random(3, 16, 8, 64, 3, None, false) },
        Case { name: "random-4cpu-lost-events", scenario: random(4, 4, 3, 16, 2, None, true) },
        Case { name: "busy-at-start", scenario: busy_at_start() },
        Case { name: "demo-incident", scenario: incident },
    ]
}

/// Four CPUs, each busy when the trace starts: its first thread makes a call
/// that returns before the CPU's first sample, is preempted by a second thread
/// (readied by a ReadyThread, later waiting) and runs again to the trace end,
/// in a call still open there. A 1 ms profile with stacks, 200 ms in all.
fn busy_at_start() -> Scenario {
    const MS: i64 = 10_000;
    let cpus = 4;
    let mut s = Scenario::new(cpus, 200 * MS);
    s.dispatcher_header = DispatcherHeader::PerfInfo;
    s.profile = Some(ProfileSpec { interval_100ns: 10_000 });
    s.processes = vec![ProcessSpec::running(0, 0, "Idle"), ProcessSpec::running(100, 0, "busy.exe")];
    let call = |tid, enter, exit| SyscallSpec {
        tid,
        enter,
        exit,
        address: 0xFFFF_F800_61C0_0000,
        status: 0,
        lost_enter: false,
        lost_exit: false,
    };
    for cpu in 0..cpus {
        let (first, second) = (3000 + 8 * u32::from(cpu), 3004 + 8 * u32::from(cpu));
        s.threads.extend([first, second].map(|tid| ThreadSpec::running(tid, 100, 0x7FF6_0000_1000)));
        let switch = (20 + 7 * i64::from(cpu)) * MS;
        let back = switch + 30 * MS;
        let slice = |tid, start, end, out| Slice { cpu, tid, start, end, priority: 8, out };
        s.schedule.push(slice(first, 0, switch, SwitchOut::PREEMPTED));
        s.schedule.push(slice(second, switch, back, SwitchOut::waiting(wait_reason::USER_REQUEST)));
        s.schedule.push(slice(first, back, s.duration, SwitchOut::PREEMPTED));
        s.ready_threads.push(ReadySpec { cpu, ts: switch - 1, tid: second, adjust_reason: 1, adjust_increment: 1 });
        s.syscalls.extend([
            call(first, MS / 10, Some(3 * MS / 10)),
            call(first, 2 * MS, Some(3 * MS)),
            call(second, switch + MS, Some(switch + 2 * MS)),
            call(first, s.duration - MS, None),
        ]);
    }
    // Samples of whatever runs, each with a stack, as the random machines have them.
    if let (Ok(timeline), Some(interval)) = (s.timeline(), s.profile_interval_ticks()) {
        for cpu in 0..cpus {
            let mut ts = interval / 2 + i64::from(cpu) * 7;
            while ts < s.duration {
                if let Some(st) = timeline.stretch_at(cpu, ts).filter(|st| st.start < ts && ts + 1 < st.end) {
                    let ip = if st.tid == 0 { 0xFFFF_F800_61A0_1000 } else { 0x7FFE_1B2E_1000 };
                    s.samples.push(SampleSpec { cpu, tid: st.tid, ts, ip, callers: vec![ip + 0x40], lost: false });
                }
                ts += interval;
            }
        }
    }
    s
}

fn main() {
    let Some(kiinfo) = std::env::var_os("ETWQ_KIINFO").map(PathBuf::from) else {
        println!("kiinfo_agreement: skipped (set ETWQ_KIINFO to LinuxKI's kiinfo binary)");
        return;
    };
    let root = std::env::temp_dir().join("etwq-kiinfo-agreement");
    std::fs::create_dir_all(&root).expect("the temp directory is writable");
    println!("etwq and kiinfo ({}) on the same built traces, in {}", kiinfo.display(), root.display());
    for case in cases() {
        compare(&kiinfo, &root, &case);
    }
}

/// Per-thread values of one quantity from one source, keyed by thread id;
/// `NO_THREAD` holds what the source gave to no thread.
type PerThread = BTreeMap<u32, i64>;

const NO_THREAD: u32 = u32::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Count,
    Nanoseconds,
}

impl Unit {
    fn show(self, value: i64) -> String {
        match self {
            Unit::Count => value.to_string(),
            Unit::Nanoseconds => format!("{:.6}", value as f64 / 1e9),
        }
    }
}

/// One quantity as the ground truth, etwq and kiinfo give it per thread.
struct Quantity {
    name: &'static str,
    unit: Unit,
    truth: PerThread,
    etwq: PerThread,
    /// None where kiinfo has no number under this rule.
    kiinfo: Option<PerThread>,
}

/// Everything known about one trace's threads, for grouping and listing.
struct Threads {
    /// Thread id -> process id, by the ground truth, etwq and kiinfo.
    truth_pid: BTreeMap<u32, u32>,
    etwq_pid: BTreeMap<u32, u32>,
    kiinfo_pid: BTreeMap<u32, u32>,
    names: BTreeMap<u32, String>,
}

fn compare(kiinfo: &Path, root: &Path, case: &Case) {
    let path = root.join(format!("{}.etl", case.name));
    let truth = match write_trace(&case.scenario, &path) {
        Ok(truth) => truth,
        Err(e) => {
            println!("\n{}: cannot build the trace: {e}", case.name);
            return;
        }
    };
    let s = &case.scenario;
    println!(
        "\n== {}: {} CPUs, {} threads in {} processes, {:.1} s, {} system calls, {} switches, {} ReadyThreads ({:.1} MiB)",
        case.name,
        s.cpu_count,
        s.threads.len(),
        s.processes.iter().filter(|p| p.pid != 0).count(),
        truth.duration_ns as f64 / 1e9,
        truth.syscalls.len(),
        truth.intervals.iter().filter(|i| i.switched_in_by_event).count(),
        truth.readies.len(),
        std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / (1024.0 * 1024.0),
    );
    let work = root.join(format!("{}.kiinfo", case.name));
    let ki = match run_kiinfo(kiinfo, &path, &work) {
        Ok(ki) => ki,
        Err(e) => {
            println!("kiinfo failed: {e}");
            return;
        }
    };
    println!("kiinfo: {:.2} s for -etldump, -kipid and -kirunq; its outputs are in {}", ki.seconds, work.display());
    let started = Instant::now();
    let et = match ask_etwq(&path) {
        Ok(et) => et,
        Err(e) => {
            println!("etwq failed: {e}");
            return;
        }
    };
    println!("etwq: {:.2} s for its queries", started.elapsed().as_secs_f64());
    match kirunq_repeats_kipid(&ki) {
        Ok(checked) => println!("kirunq's top-10 thread tables repeat kipid's numbers ({checked} values checked)"),
        Err(e) => println!("kirunq and kipid differ: {e}"),
    }

    let Etwq { pid: etwq_pid, calls, returned, rows, switch_outs, cpu_ns, ready_ns, thread_ready_ns } = et;
    let threads = Threads {
        truth_pid: s.threads.iter().map(|t| (t.tid, t.pid)).collect(),
        etwq_pid,
        kiinfo_pid: ki.rows.iter().map(|(&tid, row)| (tid, row.pid)).collect(),
        names: s
            .threads
            .iter()
            .map(|t| {
                let process = s.processes.iter().find(|p| p.pid == t.pid).map_or("?", |p| p.name.as_str());
                (t.tid, process.to_string())
            })
            .collect(),
    };
    let kiinfo_column = |get: fn(&KipidRow) -> i64| ki.rows.iter().map(|(&tid, row)| (tid, get(row))).collect();
    let quantities = [
        Quantity {
            name: "system calls: etwq all calls",
            unit: Unit::Count,
            truth: count_by(truth.syscalls.iter().map(|c| c.tid)),
            etwq: calls,
            kiinfo: Some(kiinfo_column(|r| r.syscalls)),
        },
        Quantity {
            name: "system calls: etwq calls that returned",
            unit: Unit::Count,
            truth: count_by(truth.syscalls.iter().filter(|c| c.exit_logged).map(|c| c.tid)),
            etwq: returned,
            kiinfo: Some(kiinfo_column(|r| r.syscalls)),
        },
        Quantity {
            name: "switches: etwq cswitch rows",
            unit: Unit::Count,
            truth: count_by(truth.intervals.iter().map(|i| i.tid)),
            etwq: rows,
            kiinfo: Some(kiinfo_column(|r| r.switches)),
        },
        Quantity {
            name: "switches: etwq switch-outs (prev_tid)",
            unit: Unit::Count,
            truth: count_by(truth.intervals.iter().filter(|i| i.switched_out_by_event).map(|i| i.tid)),
            etwq: switch_outs,
            kiinfo: Some(kiinfo_column(|r| r.switches)),
        },
        Quantity {
            name: "CPU time (s)",
            unit: Unit::Nanoseconds,
            truth: sum_by(truth.intervals.iter().map(|i| (i.tid, i.end_ns - i.start_ns))),
            etwq: cpu_ns,
            kiinfo: Some(kiinfo_column(|r| r.runtime_ns)),
        },
        Quantity {
            name: "ready time (s): etwq threads.ready_ns",
            unit: Unit::Nanoseconds,
            truth: ready_truth(&truth, ReadyRule::Windows),
            etwq: thread_ready_ns,
            kiinfo: Some(kiinfo_column(|r| r.runqtime_ns)),
        },
        Quantity {
            name: "ready time (s): etwq sum(cswitch.ready_ns)",
            unit: Unit::Nanoseconds,
            truth: ready_truth(&truth, ReadyRule::Windows),
            etwq: ready_ns.clone(),
            kiinfo: Some(kiinfo_column(|r| r.runqtime_ns)),
        },
        Quantity {
            name: "ready time (s), truth by etwq's rule",
            unit: Unit::Nanoseconds,
            truth: ready_truth(&truth, ReadyRule::AtSwitchIns),
            etwq: ready_ns,
            kiinfo: None,
        },
    ];
    print_summary(&quantities, &threads);
    for q in &quantities {
        print_disagreements(q, &threads);
    }
}

/// Writes the scenario to `path` and returns its ground truth.
fn write_trace(scenario: &Scenario, path: &Path) -> Result<GroundTruth, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (_, truth) = scenario.write(std::io::BufWriter::new(file)).map_err(|e| e.to_string())?;
    Ok(truth)
}

fn count_by(tids: impl Iterator<Item = u32>) -> PerThread {
    sum_by(tids.map(|tid| (tid, 1)))
}

fn sum_by(values: impl Iterator<Item = (u32, i64)>) -> PerThread {
    let mut out = PerThread::new();
    for (tid, value) in values.filter(|&(tid, _)| tid != 0) {
        *out.entry(tid).or_default() += value;
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReadyRule {
    /// The time the thread spent ready in the trace: from a switch-out that
    /// left it ready (preempted, or yielding), else from the ReadyThread that
    /// ended its wait, to its next switch-in or the trace end.
    Windows,
    /// etwq's `cswitch.ready_ns`: the same, measured at each switch-in, so
    /// without a wait still open at the trace end.
    AtSwitchIns,
}

/// Each thread's total ready time by the ground truth, under `rule`.
fn ready_truth(truth: &GroundTruth, rule: ReadyRule) -> PerThread {
    let mut stretches: BTreeMap<u32, Vec<&IntervalTruth>> = BTreeMap::new();
    for i in truth.intervals.iter().filter(|i| i.tid != 0) {
        stretches.entry(i.tid).or_default().push(i);
    }
    let mut readies: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for &(tid, ns) in &truth.readies {
        readies.entry(tid).or_default().push(ns);
    }
    let mut out = PerThread::new();
    for (&tid, list) in stretches.iter_mut() {
        list.sort_by_key(|i| i.start_ns);
        let times = readies.get(&tid).map_or(&[][..], Vec::as_slice);
        // The waits between stretches, the one before the first and, by the
        // Windows rule, one still open at the trace end: (after, until).
        let mut waits: Vec<(Option<&IntervalTruth>, i64)> = Vec::new();
        for (k, stretch) in list.iter().enumerate().filter(|(_, s)| s.switched_in_by_event) {
            waits.push((k.checked_sub(1).map(|p| list[p]), stretch.start_ns));
        }
        if let Some(last) = list.last().filter(|l| rule == ReadyRule::Windows && l.switched_out_by_event) {
            waits.push((Some(last), truth.duration_ns));
        }
        let mut total = 0;
        for (before, until) in waits {
            let since_switch_out = before.filter(|b| b.out.state == thread_state::READY).map(|b| b.end_ns);
            let readied = times.iter().copied().filter(|&r| r <= until && before.is_none_or(|b| r >= b.end_ns)).max();
            if let Some(from) = since_switch_out.or(readied) {
                total += until - from;
            }
        }
        out.insert(tid, total);
    }
    out
}

/// One thread's row of `kiinfo -kipid csv`.
struct KipidRow {
    pid: u32,
    syscalls: i64,
    switches: i64,
    runtime_ns: i64,
    runqtime_ns: i64,
}

struct Kiinfo {
    rows: BTreeMap<u32, KipidRow>,
    kirunq: String,
    seconds: f64,
}

/// Runs kiinfo's three steps in a fresh working directory and reads its reports.
fn run_kiinfo(kiinfo: &Path, trace: &Path, work: &Path) -> Result<Kiinfo, String> {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let started = Instant::now();
    let file = format!("file={}", trace.display());
    let steps: [(&str, Vec<&str>); 3] = [
        ("etldump", vec!["-etldump", &file, "-ts", TAG]),
        ("kipid", vec!["-kipid", "csv", "-ts", TAG]),
        ("kirunq", vec!["-kirunq", "-ts", TAG]),
    ];
    for (name, args) in &steps {
        let output = Command::new(kiinfo)
            .args(args)
            .current_dir(work)
            .output()
            .map_err(|e| format!("{}: {e}", kiinfo.display()))?;
        std::fs::write(work.join(format!("{name}.out")), &output.stdout).map_err(|e| e.to_string())?;
        std::fs::write(work.join(format!("{name}.err")), &output.stderr).map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!("kiinfo {}: {}", args.join(" "), output.status));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let csv_path = work.join(format!("kipid.{TAG}.csv"));
    let csv = std::fs::read_to_string(&csv_path).map_err(|e| format!("{}: {e}", csv_path.display()))?;
    let kirunq = std::fs::read_to_string(work.join("kirunq.out")).map_err(|e| e.to_string())?;
    Ok(Kiinfo { rows: parse_kipid_csv(&csv)?, kirunq, seconds })
}

/// The threads of kipid.TAG.csv. Its header names the columns; rows that are
/// all zeros are process ids kiinfo met in stack walks, not threads.
fn parse_kipid_csv(csv: &str) -> Result<BTreeMap<u32, KipidRow>, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().ok_or("kipid csv is empty")?.split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).ok_or(format!("kipid csv has no column {name}"));
    let (tid, pid, syscalls) = (at("TID")?, at("PID")?, at("syscalls")?);
    let (runtime, runqtime, switches) = (at("runtime")?, at("runqtime")?, at("switch")?);
    let mut rows = BTreeMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        let field = |i: usize| fields.get(i).copied().ok_or(format!("short kipid row: {line}"));
        let int = |i: usize| field(i)?.trim().parse::<i64>().map_err(|e| format!("{e}: {line}"));
        let row = KipidRow {
            pid: int(pid)? as u32,
            syscalls: int(syscalls)?,
            switches: int(switches)?,
            runtime_ns: seconds_to_ns(field(runtime)?)?,
            runqtime_ns: seconds_to_ns(field(runqtime)?)?,
        };
        if row.syscalls != 0 || row.switches != 0 || row.runtime_ns != 0 || row.runqtime_ns != 0 {
            rows.insert(int(tid)? as u32, row);
        }
    }
    Ok(rows)
}

/// kiinfo's "0.063320" (seconds to six places) in nanoseconds, exactly.
fn seconds_to_ns(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{fraction:0<9}");
    let whole: i64 = whole.parse().map_err(|e| format!("{e}: {text}"))?;
    let fraction: i64 = digits.get(..9).unwrap_or("0").parse().map_err(|e| format!("{e}: {text}"))?;
    Ok(whole * 1_000_000_000 + fraction)
}

/// kirunq's "Top TIDs Waiting on RunQ" and "Top TIDs using most CPU" tables
/// must give the RunTime and RunqTime kipid gives the same threads.
fn kirunq_repeats_kipid(ki: &Kiinfo) -> Result<usize, String> {
    let mut checked = 0;
    for title in ["Top TIDs Waiting on RunQ", "Top TIDs using most CPU "] {
        let section = ki.kirunq.split(title).nth(1).ok_or(format!("kirunq has no \"{}\"", title.trim()))?;
        // The title line, the column names, then a row per thread up to a blank line.
        for line in section.lines().skip(2).take_while(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(tid), Some(run), Some(runq)) = (fields.first(), fields.get(1), fields.get(4)) else {
                return Err(format!("unexpected kirunq line: {line}"));
            };
            let tid: u32 = tid.parse().map_err(|e| format!("{e}: {line}"))?;
            let row = ki.rows.get(&tid).ok_or(format!("kirunq names thread {tid}, kipid does not"))?;
            if (seconds_to_ns(run)?, seconds_to_ns(runq)?) != (row.runtime_ns, row.runqtime_ns) {
                return Err(format!("thread {tid}: kirunq {run} {runq}"));
            }
            checked += 2;
        }
    }
    Ok(checked)
}

/// etwq's answers per thread.
struct Etwq {
    pid: BTreeMap<u32, u32>,
    calls: PerThread,
    returned: PerThread,
    rows: PerThread,
    switch_outs: PerThread,
    cpu_ns: PerThread,
    ready_ns: PerThread,
    thread_ready_ns: PerThread,
}

fn ask_etwq(path: &Path) -> Result<Etwq, String> {
    let mut session = Session::open(path).map_err(|e| e.to_string())?;
    let mut ask = |query: &str| session.query(query).map_err(|e| format!("{query}: {e}"));
    let threads = ask("threads select tid, pid, cpu_ns, ready_ns")?;
    let mut pid = BTreeMap::new();
    for row in 0..threads.row_count() {
        if let (Some(tid), Some(p)) = (number(&threads, "tid", row), number(&threads, "pid", row)) {
            pid.insert(tid as u32, p as u32);
        }
    }
    Ok(Etwq {
        pid,
        calls: per_thread(&ask("syscalls group by pid, tid select count() as n")?, "tid", "n"),
        returned: per_thread(
            &ask("syscalls where end_ts is not null group by pid, tid select count() as n")?,
            "tid",
            "n",
        ),
        rows: per_thread(&ask("cswitch group by pid, tid select count() as n")?, "tid", "n"),
        switch_outs: per_thread(
            &ask("cswitch where prev_tid is not null group by prev_pid, prev_tid select count() as n")?,
            "prev_tid",
            "n",
        ),
        cpu_ns: per_thread(&threads, "tid", "cpu_ns"),
        ready_ns: per_thread(&ask("cswitch group by pid, tid select sum(ready_ns) as ready")?, "tid", "ready"),
        thread_ready_ns: per_thread(&threads, "tid", "ready_ns"),
    })
}

/// A number of a result row; None for null.
fn number(table: &DataTable, column: &str, row: usize) -> Option<i64> {
    match table.column(column)?.value(row) {
        Value::I64(v) | Value::Duration(v) | Value::Timestamp(v) => Some(v),
        Value::U64(v) | Value::Address(v) => i64::try_from(v).ok(),
        _ => None,
    }
}

/// `value` per `key` thread of a result; a null key is `NO_THREAD`, thread 0 is left out.
fn per_thread(table: &DataTable, key: &str, value: &str) -> PerThread {
    let mut out = PerThread::new();
    for row in 0..table.row_count() {
        let tid = number(table, key, row).map_or(NO_THREAD, |t| t as u32);
        if tid != 0 {
            *out.entry(tid).or_default() += number(table, value, row).unwrap_or(0);
        }
    }
    out
}

/// How many of `entities` have equal values on both sides, and which do not.
fn agreement(a: &PerThread, b: &PerThread, tolerance: impl Fn(u32) -> i64) -> (usize, Vec<u32>) {
    let keys: BTreeSet<u32> = a.keys().chain(b.keys()).copied().collect();
    let (mut equal, mut differ) = (0, Vec::new());
    for key in keys {
        let (x, y) = (a.get(&key).copied().unwrap_or(0), b.get(&key).copied().unwrap_or(0));
        if (x - y).abs() <= tolerance(key) {
            equal += 1;
        } else {
            differ.push(key);
        }
    }
    (equal, differ)
}

/// Sums per process, each side by its own idea of a thread's process
/// (`NO_THREAD` stays apart; a thread of no known process goes under 0).
fn per_process(values: &PerThread, pid_of: &BTreeMap<u32, u32>) -> PerThread {
    let mut out = PerThread::new();
    for (&tid, &value) in values {
        let pid = if tid == NO_THREAD { NO_THREAD } else { pid_of.get(&tid).copied().unwrap_or(0) };
        *out.entry(pid).or_default() += value;
    }
    out
}

/// A duration agrees within half of kiinfo's printed microsecond per thread summed.
fn tolerance(unit: Unit, threads: usize) -> i64 {
    match unit {
        Unit::Count => 0,
        Unit::Nanoseconds => 500 * threads.max(1) as i64,
    }
}

fn kiinfo_threads_per_process(threads: &Threads) -> BTreeMap<u32, usize> {
    let mut out = BTreeMap::new();
    for &pid in threads.kiinfo_pid.values() {
        *out.entry(pid).or_default() += 1;
    }
    out
}

fn print_summary(quantities: &[Quantity], threads: &Threads) {
    let per_process_threads = kiinfo_threads_per_process(threads);
    println!(
        "{:<40} {:>14} {:>14} {:>14} | {:>16} {:>16} {:>16} | {:>14}",
        "quantity", "truth", "etwq", "kiinfo", "threads etwq=ki", "etwq=truth", "kiinfo=truth", "procs etwq=ki"
    );
    let total = |values: &PerThread| values.values().sum::<i64>();
    for q in quantities {
        let thread_tolerance = |_| tolerance(q.unit, 1);
        let (etwq_truth, etwq_wrong) = agreement(&q.etwq, &q.truth, thread_tolerance);
        let of = |equal: usize, differ: &[u32]| format!("{equal}/{}", equal + differ.len());
        let (kiinfo_total, versus_kiinfo, kiinfo_truth, processes) = match &q.kiinfo {
            Some(kiinfo) => {
                let (equal, differ) = agreement(&q.etwq, kiinfo, thread_tolerance);
                let (right, wrong) = agreement(kiinfo, &q.truth, thread_tolerance);
                let (etwq_p, kiinfo_p) =
                    (per_process(&q.etwq, &threads.etwq_pid), per_process(kiinfo, &threads.kiinfo_pid));
                let (p_equal, p_differ) = agreement(&etwq_p, &kiinfo_p, |pid| {
                    tolerance(q.unit, per_process_threads.get(&pid).copied().unwrap_or(1))
                });
                (q.unit.show(total(kiinfo)), of(equal, &differ), of(right, &wrong), of(p_equal, &p_differ))
            }
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<40} {:>14} {:>14} {:>14} | {:>16} {:>16} {:>16} | {:>14}",
            q.name,
            q.unit.show(total(&q.truth)),
            q.unit.show(total(&q.etwq)),
            kiinfo_total,
            versus_kiinfo,
            of(etwq_truth, &etwq_wrong),
            kiinfo_truth,
            processes,
        );
    }
}

/// The threads and processes where etwq and kiinfo differ (or, with no
/// kiinfo number, where etwq and the truth differ), with the truth beside them.
fn print_disagreements(q: &Quantity, threads: &Threads) {
    let other = q.kiinfo.as_ref().unwrap_or(&q.truth);
    let (_, differ) = agreement(&q.etwq, other, |_| tolerance(q.unit, 1));
    let per_process_threads = kiinfo_threads_per_process(threads);
    let (etwq_p, other_p) = match &q.kiinfo {
        Some(kiinfo) => (per_process(&q.etwq, &threads.etwq_pid), per_process(kiinfo, &threads.kiinfo_pid)),
        None => (per_process(&q.etwq, &threads.etwq_pid), per_process(&q.truth, &threads.truth_pid)),
    };
    let (_, differ_p) =
        agreement(&etwq_p, &other_p, |pid| tolerance(q.unit, per_process_threads.get(&pid).copied().unwrap_or(1)));
    if differ.is_empty() && differ_p.is_empty() {
        return;
    }
    let versus = if q.kiinfo.is_some() { "kiinfo" } else { "truth" };
    println!("  {}: etwq and {versus} differ on {} threads, {} processes", q.name, differ.len(), differ_p.len());
    let truth_p = per_process(&q.truth, &threads.truth_pid);
    let value = |map: &PerThread, key: u32| q.unit.show(map.get(&key).copied().unwrap_or(0));
    let name = |tid: u32| match tid {
        NO_THREAD => "(no thread)".to_string(),
        _ => {
            let pid = threads.truth_pid.get(&tid).map_or("?".into(), |p| p.to_string());
            format!("tid {tid} pid {pid} {}", threads.names.get(&tid).map_or("?", String::as_str))
        }
    };
    for &tid in differ.iter().take(LISTED) {
        println!(
            "    {:<36} truth {:>12}  etwq {:>12}  {versus} {:>12}",
            name(tid),
            value(&q.truth, tid),
            value(&q.etwq, tid),
            value(other, tid)
        );
    }
    if differ.len() > LISTED {
        println!("    ... and {} more threads", differ.len() - LISTED);
    }
    for &pid in differ_p.iter().take(LISTED) {
        let shown = if pid == NO_THREAD { "(no thread)".to_string() } else { format!("process {pid}") };
        println!(
            "    {:<36} truth {:>12}  etwq {:>12}  {versus} {:>12}",
            shown,
            value(&truth_p, pid),
            value(&etwq_p, pid),
            value(&other_p, pid)
        );
    }
    if differ_p.len() > LISTED {
        println!("    ... and {} more processes", differ_p.len() - LISTED);
    }
}
