//! Query engine benchmark over a 10 M-row syscalls table built in memory
//! (~200 distinct functions, ~50 processes, ~5% failing returns, 1% with no return).
//!   cargo bench --bench query
//!   ETWQ_BENCH_ROWS=1000000 cargo bench --bench query
//!   ETWQ_BENCH_QUERIES='syscalls where pid = 8; syscalls limit 5' cargo bench --bench query
//!
//! Functions are skewed like a real trace, so `^Nt(Create|Open)` keeps about a
//! third of the rows (3.3 M). Its result shares the table's columns behind a
//! 3.3 M-entry row list rather than copying ~225 MB of kept values, so it
//! costs about what the filter alone costs (`| select count()`). Rendering or
//! exporting that many rows is not timed here.
use columnar::{Column, DataTable, StrColumnBuilder};
use demo::scenario::DemoRng;
use query::{run_query, MemoryCatalog};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn syscalls(rows: usize) -> DataTable {
    let verbs = [
        "Create",
        "Open",
        "Query",
        "Set",
        "Read",
        "Write",
        "Close",
        "Delete",
        "Wait",
        "Map",
        "Unmap",
        "Lock",
        "Unlock",
        "Flush",
        "Allocate",
        "Free",
        "Protect",
        "Duplicate",
        "Enumerate",
        "Notify",
    ];
    let nouns = ["File", "Key", "Event", "Section", "Process", "Thread", "Token", "Mutant", "Semaphore", "Timer"];
    let functions: Vec<String> = verbs.iter().flat_map(|v| nouns.iter().map(move |n| format!("Nt{v}{n}"))).collect();
    let processes: Vec<String> = (0..50).map(|i| format!("process{i:02}.exe")).collect();
    let failures = [
        ("STATUS_ACCESS_DENIED", 0xC000_0022u64),
        ("STATUS_OBJECT_NAME_NOT_FOUND", 0xC000_0034),
        ("STATUS_BUFFER_TOO_SMALL", 0xC000_0023),
        ("STATUS_TIMEOUT", 0x102),
    ];
    let mut rng = DemoRng::new(0x9E37_79B9_7F4A_7C15);
    let (mut ts, mut end_ts, mut duration, mut cpu, mut pid, mut tid, mut ret) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    // As in a trace: a call still running at the end, or whose exit was lost, has no return.
    let mut returned = Vec::with_capacity(rows);
    let (mut proc_names, mut func_names, mut status) = (
        StrColumnBuilder::with_capacity(rows),
        StrColumnBuilder::with_capacity(rows),
        StrColumnBuilder::with_capacity(rows),
    );
    let mut now = 0i64;
    for _ in 0..rows {
        now += 1 + rng.below(2_000) as i64;
        let d = 100 + (rng.below(1_000) * rng.below(1_000) / 10) as i64;
        let p = rng.below(50);
        // Skewed like a real trace: a few functions dominate.
        let f = ((rng.below(1_000) * rng.below(1_000)) / 5_000) as usize % functions.len();
        ts.push(now);
        end_ts.push(now + d);
        duration.push(d);
        cpu.push(rng.below(8) as i64);
        pid.push(4 + p * 4);
        tid.push(1_000 + p * 16 + rng.below(8));
        proc_names.push(&processes[p as usize]);
        func_names.push(&functions[f]);
        returned.push(rng.below(100) != 0);
        if rng.below(100) < 5 {
            let (name, code) = failures[rng.below(failures.len() as u64) as usize];
            ret.push(code);
            status.push(name);
        } else {
            ret.push(0);
            status.push("STATUS_SUCCESS");
        }
    }
    DataTable::new("syscalls")
        .with_column("ts", "", Column::timestamps(ts))
        .and_then(|t| t.with_column("end_ts", "", Column::timestamps(end_ts)))
        .and_then(|t| t.with_column("duration_ns", "", Column::durations(duration)))
        .and_then(|t| t.with_column("cpu", "", Column::i64(cpu)))
        .and_then(|t| t.with_column("pid", "", Column::u64(pid)))
        .and_then(|t| t.with_column("tid", "", Column::u64(tid)))
        .and_then(|t| t.with_column("proc", "", proc_names.finish()))
        .and_then(|t| t.with_column("func", "", func_names.finish()))
        .and_then(|t| t.with_column("ret", "", Column::u64(ret).with_validity(returned)))
        .and_then(|t| t.with_column("status", "", status.finish()))
        .expect("columns of one length")
}

fn bench(catalog: &MemoryCatalog, query: &str, runs: usize) {
    let cancel = AtomicBool::new(false);
    let mut best = f64::MAX;
    let mut rows = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let result = run_query(query, catalog, &cancel).unwrap_or_else(|e| panic!("{e}"));
        best = best.min(started.elapsed().as_secs_f64());
        rows = result.row_count();
    }
    println!("{:>8.1} ms  best of {runs}  {rows:>9} result rows  {query}", best * 1e3);
}

fn main() {
    let rows: usize = std::env::var("ETWQ_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let started = Instant::now();
    let mut catalog = MemoryCatalog::new();
    catalog.add_table(syscalls(rows));
    println!("built {rows} syscall rows in {:.2} s", started.elapsed().as_secs_f64());
    // ETWQ_BENCH_QUERIES alone: time only those (for profiling one case).
    let standard: &[&str] = if std::env::var_os("ETWQ_BENCH_QUERIES").is_some() {
        &[]
    } else {
        &[
        "syscalls where ret != 0 group by func",
        r#"syscalls where func ~ "^Nt(Create|Open)""#,
        r#"syscalls where func ~ "^Nt(Create|Open)" | select count()"#,
        "syscalls group by proc, status select count() as n, sum(duration_ns) as total, p99(duration_ns) order by total desc limit 10",
        "syscalls where duration_ns > 50us and proc like 'process1*' group by tid | top 5 by count",
    ]
    };
    for query in standard {
        bench(&catalog, query, 5);
    }
    if let Ok(extra) = std::env::var("ETWQ_BENCH_QUERIES") {
        for query in extra.split(';').filter(|q| !q.trim().is_empty()) {
            bench(&catalog, query.trim(), 5);
        }
    }
}
