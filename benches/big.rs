//! Big traces: time and peak memory of one-shot queries at the sizes people record.
//!   cargo bench --bench big                         # 0.2 and 1 GB, both kinds
//!   ETWQ_BENCH_SIZES=0.2,1,10 cargo bench --bench big
//!   ETWQ_KIINFO=/path/to/kiinfo cargo bench --bench big   # and LinuxKI's kiinfo beside it
//!   ETWQ_BENCH_KIINFO_ONLY=1 ...                          # only that comparison
//! Each trace is built once into the temp directory (kept for the next run),
//! and read once before its commands, so that all of them find it in the page cache.
//! Every query runs in a fresh `etwq -c QUERY FILE --format csv > /dev/null`
//! process: its wall time, its peak resident set (VmHWM, which counts the
//! mapped trace's pages) and its peak anonymous memory (RssAnon: what it
//! allocated, the target's measure), both sampled every 5 ms from /proc, are what a user waits for and what the machine must have.
//! `etwq summary`, which reads every record, is the floor; `etwq report` runs all its queries
//! in one process. A second query on a
//! built table runs in-process, twice: first making the columns it reads
//! (deferred until a query reads them), then with them made.
#[path = "common/big_traces.rs"]
mod big_traces;

use big_traces::{
    run_etwq, run_program, trace_path, warm_page_cache, write_kind, write_trace, Kind, Run, MIB, TRACE_GENERATION,
};
use demo::{DispatcherHeader, RandomOptions};
use session::Session;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const QUERIES: [&str; 4] = [
    "syscalls group by proc",
    "samples where pid != 0 | tree depth 5",
    "events where event = \"Thread/CSwitch\" select count()",
    "events where event = \"PerfInfo/SysCallEnter\" select fields.SysCallAddress limit 10",
];

fn bench_trace(kind: Kind, gigabytes: f64) {
    let path = trace_path(kind, gigabytes);
    if !path.is_file() {
        write_trace(kind, gigabytes, &path);
    }
    let file = path.to_str().expect("a UTF-8 temp path");
    // MiB, as the memory columns are (the ratio compares like with like).
    let file_mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / MIB;
    warm_page_cache(&path);
    println!("\n{} {gigabytes} GB ({file_mb:.0} MiB)", kind.name());
    println!("  {:<80} {:>9} {:>11} {:>11} {:>8}", "command", "seconds", "peak MiB", "anon MiB", "anon/file");
    let report = |what: &str, run: Run| {
        let failed = if run.ok { "" } else { "  FAILED" };
        println!(
            "  {what:<80} {:>9.2} {:>11.0} {:>11.0} {:>8.2}{failed}",
            run.seconds,
            run.peak_mb,
            run.peak_anon_mb,
            run.peak_anon_mb / file_mb
        );
        if let Some(error) = &run.error {
            println!("    {error}");
        }
    };
    report("etwq summary", run_etwq(&["summary", file]));
    for query in QUERIES {
        report(&format!("-c '{query}'"), run_etwq(&["-c", query, file, "--format", "csv"]));
    }
    // The one-page report runs some twenty queries over samples, system calls and switches.
    let html = std::env::temp_dir().join(format!("etwq-big-report-{}.html", std::process::id()));
    report("etwq report --to report.html", run_etwq(&["report", file, "--to", &html.display().to_string()]));
    let _ = std::fs::remove_file(&html);

    // A second query on a table the first one built, in one session: the
    // table this kind of trace has most rows in.
    let (table, second_query) = match kind {
        Kind::SyscallDense => ("syscalls", "syscalls where ret != 0 group by func"),
        Kind::SampleHeavy => ("samples", "samples where pid != 0 group by module"),
    };
    let mut session = Session::open(&path).expect("the built trace opens");
    let first = Instant::now();
    let rows = match session.query(&format!("{table} select count()")).map(|t| t.row(0)) {
        Ok(row) => match row.first() {
            Some(session::Value::U64(n)) => *n,
            _ => 0,
        },
        Err(e) => {
            println!("  in one session: {table} not built: {e}");
            return;
        }
    };
    let first = first.elapsed().as_secs_f64();
    // The first run makes the columns the query reads (deferred until then);
    // the second finds them made.
    let mut timed = || {
        let start = Instant::now();
        let groups = session.query(second_query).map(|t| t.row_count()).unwrap_or(0);
        (start.elapsed().as_secs_f64(), groups)
    };
    let ((making, groups), (made, _)) = (timed(), timed());
    let per_10m = |seconds: f64| seconds * 1e3 * 1e7 / rows.max(1) as f64;
    println!(
        "  in one session: first query {first:.2} s; then `{second_query}` over {rows} rows ({groups} groups): \
         {:.0} ms making its columns ({:.0} ms per 10 M rows), {:.0} ms again ({:.0} ms per 10 M rows)",
        making * 1e3,
        per_10m(making),
        made * 1e3,
        per_10m(made)
    );
}

/// The reports of kiinfo (LinuxKI) and etwq's queries for the same answers,
/// on a syscall-dense trace whose context switches carry PERFINFO headers, the
/// only form kiinfo reads. `ETWQ_KIINFO` names the kiinfo binary.
fn compare_with_kiinfo(kiinfo: &Path, gigabytes: f64) {
    let path = std::env::temp_dir().join(format!("etwq-big-kiinfo-g{TRACE_GENERATION}-{gigabytes}g.etl"));
    if !path.is_file() {
        let kind = Kind::SyscallDense;
        let options = RandomOptions { dispatcher_header: DispatcherHeader::PerfInfo, ..kind.options() };
        write_kind(&options, kind.bytes_per_second(), gigabytes, &path);
    }
    let file = path.to_str().expect("a UTF-8 temp path");
    let file_mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / MIB;
    warm_page_cache(&path);
    println!("\nkiinfo and etwq on one trace, {gigabytes} GB ({file_mb:.0} MiB), CSwitch with PERFINFO headers");
    println!("  {:<100} {:>9} {:>11} {:>11}", "command", "seconds", "peak MiB", "anon MiB");
    let report = |what: &str, run: Run| {
        let failed = if run.ok { "" } else { "  FAILED" };
        println!("  {what:<100} {:>9.2} {:>11.0} {:>11.0}{failed}", run.seconds, run.peak_mb, run.peak_anon_mb);
        if let Some(error) = &run.error {
            println!("    {error}");
        }
    };
    // kiinfo splits the trace into per-CPU files in its working directory first.
    let work = std::env::temp_dir().join(format!("etwq-big-kiinfo-{gigabytes}g.d"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("the temp directory is writable");
    let tag = "0101_0000";
    let dump = run_in(kiinfo, &["-etldump", &format!("file={file}"), "-ts", tag], &work);
    let kipid = run_in(kiinfo, &["-kipid", "-ts", tag], &work);
    let kirunq = run_in(kiinfo, &["-kirunq", "-ts", tag], &work);
    let total = Run {
        seconds: dump.seconds + kipid.seconds + kirunq.seconds,
        peak_mb: dump.peak_mb.max(kipid.peak_mb).max(kirunq.peak_mb),
        peak_anon_mb: dump.peak_anon_mb.max(kipid.peak_anon_mb).max(kirunq.peak_anon_mb),
        ok: dump.ok && kipid.ok && kirunq.ok,
        error: None,
        cpu_seconds: dump.cpu_seconds + kipid.cpu_seconds + kirunq.cpu_seconds,
    };
    report("kiinfo -etldump (split into per-CPU files)", dump);
    report("kiinfo -kipid", kipid);
    report("kiinfo -kirunq", kirunq);
    report("kiinfo, all three", total);
    let _ = std::fs::remove_dir_all(&work);
    let per_process = [
        "syscalls group by pid, proc, func select count() as calls, sum(duration_ns) as time",
        "cswitch group by pid, proc select count() as switches, sum(cpu_ns) as run, sum(ready_ns) as ready",
    ];
    let run_queue = [
        "cswitch group by cpu select count() as switches, sum(cpu_ns) as busy, avg(ready_ns) as ready",
        "cswitch group by tid, proc select count() as switches, avg(ready_ns) as ready, max(ready_ns) as worst",
    ];
    let with_queries = |queries: &[&str]| {
        let mut args: Vec<&str> = queries.iter().flat_map(|q| ["-c", q]).collect();
        args.extend([file, "--format", "csv"]);
        run_etwq(&args)
    };
    report("etwq, as -kipid: per process syscalls and switches", with_queries(&per_process));
    report("etwq, as -kirunq: per CPU and per thread run queue", with_queries(&run_queue));
    report("etwq, all four in one process", with_queries(&[per_process, run_queue].concat()));
}

/// Runs `program` in `dir` as `run_etwq` runs etwq.
fn run_in(program: &Path, args: &[&str], dir: &Path) -> Run {
    run_program(Command::new(program).args(args).current_dir(dir))
}

fn main() {
    let sizes: Vec<f64> = std::env::var("ETWQ_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0.2, 1.0]);
    let kiinfo = std::env::var_os("ETWQ_KIINFO").map(PathBuf::from);
    // ETWQ_BENCH_KIINFO_ONLY=1: only the comparison with kiinfo.
    let kinds = match std::env::var_os("ETWQ_BENCH_KIINFO_ONLY") {
        Some(_) => vec![],
        None => vec![Kind::SyscallDense, Kind::SampleHeavy],
    };
    for gigabytes in sizes {
        for &kind in &kinds {
            bench_trace(kind, gigabytes);
        }
        match &kiinfo {
            Some(kiinfo) => compare_with_kiinfo(kiinfo, gigabytes),
            None => println!("(no kiinfo comparison: set ETWQ_KIINFO to LinuxKI's kiinfo binary)"),
        }
    }
}
