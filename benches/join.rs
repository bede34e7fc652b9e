//! Join benchmark: 10 M left rows by 1 M right rows, built in memory.
//!   cargo bench --bench join
//!   ETWQ_BENCH_ROWS=1000000 cargo bench --bench join   # left rows (the right has a tenth)
//!
//! The right ("spans") has one interval per key: 1 M distinct u64 keys, each
//! with ts and end_ts. The left ("events") has a u64 key drawn from those and
//! a time that falls inside its key's interval about half the time. Each case
//! runs in a process of its own (this program again), so that its peak memory
//! (VmHWM, read from /proc/self/status) is its own: the tables' and the
//! join's. Targets on a 2-core machine: each case under 3 s and 2 GB.
use columnar::{Column, DataTable};
use demo::scenario::DemoRng;
use query::{run_query, MemoryCatalog};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

const CASES: [(&str, &str); 3] = [
    ("hash join", "events join spans as s on key = s.key"),
    ("left join", "events left join spans as s on key = s.key"),
    ("during", "events during spans as s on key"),
];

const TARGET_SECONDS: f64 = 3.0;
const TARGET_PEAK_MB: f64 = 2048.0;

fn tables(left_rows: usize) -> MemoryCatalog {
    let right_rows = (left_rows / 10).max(1);
    let mut rng = DemoRng::new(0x9E37_79B9_7F4A_7C15);
    let starts: Vec<i64> = (0..right_rows).map(|_| rng.below(1_000_000_000_000) as i64).collect();
    let lengths: Vec<i64> = (0..right_rows).map(|_| 1_000 + rng.below(1_000_000) as i64).collect();
    let spans = DataTable::new("spans")
        .with_column("key", "", Column::u64((0..right_rows as u64).collect()))
        .and_then(|t| t.with_column("ts", "", Column::timestamps(starts.clone())))
        .and_then(|t| {
            t.with_column("end_ts", "", Column::timestamps(starts.iter().zip(&lengths).map(|(s, l)| s + l).collect()))
        })
        .expect("columns of one length");
    let mut keys = Vec::with_capacity(left_rows);
    let mut ts = Vec::with_capacity(left_rows);
    for _ in 0..left_rows {
        let key = rng.below(right_rows as u64) as usize;
        keys.push(key as u64);
        // Inside the key's interval half the time.
        ts.push(starts[key] + rng.below(2 * lengths[key] as u64) as i64);
    }
    let events = DataTable::new("events")
        .with_column("key", "", Column::u64(keys))
        .and_then(|t| t.with_column("ts", "", Column::timestamps(ts)))
        .expect("columns of one length");
    let mut catalog = MemoryCatalog::new();
    catalog.add_table(spans);
    catalog.add_table(events);
    catalog
}

/// A line of /proc/self/status in MB.
fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// CPU seconds this process has used (all threads, user and system): on a
/// machine shared with other work the wall time alone says little.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills in the plain struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// One case, in this process: build, run once, report.
fn run_case(index: usize, left_rows: usize) {
    let (name, text) = CASES[index];
    let catalog = tables(left_rows);
    let tables_mb = status_mb("VmHWM:");
    let (started, cpu_before) = (Instant::now(), cpu_seconds());
    let result = run_query(text, &catalog, &AtomicBool::new(false)).unwrap_or_else(|e| panic!("{e}"));
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let peak_mb = status_mb("VmHWM:");
    let verdict = if seconds < TARGET_SECONDS && peak_mb < TARGET_PEAK_MB { "ok" } else { "OVER TARGET" };
    println!(
        "{name:<10} {seconds:>6.2} s ({cpu:.2} s CPU)  peak {peak_mb:>5.0} MB (tables {tables_mb:.0} MB)  {:>9} rows  {verdict}  {text}",
        result.row_count()
    );
}

fn main() {
    let left_rows: usize = std::env::var("ETWQ_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    if let Some(case) = std::env::var("ETWQ_BENCH_JOIN_CASE").ok().and_then(|v| v.parse().ok()) {
        run_case(case, left_rows);
        return;
    }
    println!(
        "{left_rows} left rows by {} right rows; targets: under {TARGET_SECONDS} s and {TARGET_PEAK_MB} MB peak",
        (left_rows / 10).max(1)
    );
    let me = std::env::current_exe().expect("this program's path");
    for (case, (name, _)) in CASES.iter().enumerate() {
        // `cargo bench` passes --bench; the child needs no arguments.
        match Command::new(&me).env("ETWQ_BENCH_JOIN_CASE", case.to_string()).status() {
            Ok(status) if status.success() => {}
            other => println!("{name}: failed ({other:?})"),
        }
    }
}
