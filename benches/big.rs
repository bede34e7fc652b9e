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
use demo::{random_scenario, DispatcherHeader, RandomOptions};
use session::Session;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const MIB: f64 = 1024.0 * 1024.0;

/// Code paths of the traces' samples, in the kernel and as many in user
/// mode: a 1 GB sample-heavy trace's 13 M samples draw at most 100,000 distinct stacks
/// (a real profile repeats its stacks: PerfView's net.4.5.2 trace has 2,049
/// of 79,528 samples).
const STACK_PATHS: usize = 50_000;

const QUERIES: [&str; 4] = [
    "syscalls group by proc",
    "samples where pid != 0 | tree depth 5",
    "events where event = \"Thread/CSwitch\" select count()",
    "events where event = \"PerfInfo/SysCallEnter\" select fields.SysCallAddress limit 10",
];

#[derive(Clone, Copy)]
enum Kind {
    /// ~470 K system calls a second, context switches, stacked samples.
    SyscallDense,
    /// Stacked samples on every CPU, calls spread over their slices.
    SampleHeavy,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::SyscallDense => "syscall-dense",
            Kind::SampleHeavy => "sample-heavy",
        }
    }

    /// Bytes one second of this machine writes, measured on a 1 s trace.
    fn bytes_per_second(self) -> f64 {
        match self {
            Kind::SyscallDense => 37e6,
            Kind::SampleHeavy => 12e6,
        }
    }

    /// The machine; `write_kind` sets the duration.
    fn options(self) -> RandomOptions {
        match self {
            Kind::SyscallDense => RandomOptions {
                cpus: 16,
                processes: 24,
                threads: 400,
                short_calls: Some(200),
                // Samples repeat stacks, as real profiles do.
                stack_paths: Some(STACK_PATHS),
                ..RandomOptions::default()
            },
            Kind::SampleHeavy => RandomOptions {
                cpus: 16,
                processes: 24,
                threads: 400,
                profile_interval_100ns: 1_000,
                // Samples repeat stacks, as real profiles do.
                stack_paths: Some(STACK_PATHS),
                ..RandomOptions::default()
            },
        }
    }
}

/// A kept trace of another generation is not reused: the name changes with what is written.
const TRACE_GENERATION: u32 = 3;

fn trace_path(kind: Kind, gigabytes: f64) -> PathBuf {
    std::env::temp_dir().join(format!("etwq-big-{}-g{TRACE_GENERATION}-{gigabytes}g.etl", kind.name()))
}

/// Traces up to this size are one scenario; a bigger one repeats a scenario of
/// this size, since the scenario and its truth are held in memory.
const PERIOD_GB: f64 = 1.0;

fn write_trace(kind: Kind, gigabytes: f64, path: &Path) {
    write_kind(&kind.options(), kind.bytes_per_second(), gigabytes, path);
}

/// Writes `gigabytes` of the machine `options` describes (its duration set to
/// fit), which writes `bytes_per_second`, streamed to `path`.
fn write_kind(options: &RandomOptions, bytes_per_second: f64, gigabytes: f64, path: &Path) {
    let started = Instant::now();
    let periods = (gigabytes / PERIOD_GB).ceil().max(1.0);
    let seconds = (gigabytes / periods * 1e9 / bytes_per_second).max(1.0);
    // Repeated periods need threads that live through the whole trace.
    let options =
        RandomOptions { duration: (seconds * 1e7) as i64, thread_lifecycle: periods == 1.0, ..options.clone() };
    let file = std::fs::File::create(path).expect("the temp directory is writable");
    random_scenario(11, &options)
        .write_periods(std::io::BufWriter::with_capacity(1 << 20, file), periods as u32)
        .expect("a consistent scenario");
    // On disk before anything is measured: dirty pages of a trace just written
    // are memory the kernel does not count as available, which the memory
    // check of the first queries would see.
    std::fs::File::open(path).and_then(|f| f.sync_all()).expect("the trace syncs to disk");
    println!(
        "wrote {} ({:.0} MB) in {:.1} s",
        path.display(),
        std::fs::metadata(path).map_or(0, |m| m.len()) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

/// One run: wall seconds, peak resident MB (the mapped trace's pages
/// included), peak anonymous MB (what the process allocated), both sampled
/// every 5 ms from /proc, and whether it succeeded. Output goes to /dev/null.
struct Run {
    seconds: f64,
    peak_mb: f64,
    peak_anon_mb: f64,
    ok: bool,
    /// The last line the program wrote to stderr, when it failed.
    error: Option<String>,
}

fn run_etwq(args: &[&str]) -> Run {
    run_program(Command::new(env!("CARGO_BIN_EXE_etwq")).args(args))
}

fn run_program(command: &mut Command) -> Run {
    let started = Instant::now();
    let stderr_path = std::env::temp_dir().join(format!("etwq-big-stderr-{}", std::process::id()));
    let stderr = std::fs::File::create(&stderr_path).map_or_else(|_| Stdio::null(), Stdio::from);
    // Reaped by waitpid below.
    #[allow(clippy::zombie_processes)]
    let child = command.stdout(Stdio::null()).stderr(stderr).spawn().expect("the program runs");
    let pid = child.id() as libc::pid_t;
    let sampler = std::thread::spawn(move || {
        let status = format!("/proc/{pid}/status");
        let kb = |text: &str, key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        let (mut peak_kb, mut peak_anon_kb) = (0u64, 0u64);
        // Ends when the child is reaped and its status file goes away.
        while let Ok(text) = std::fs::read_to_string(&status) {
            peak_kb = peak_kb.max(kb(&text, "VmHWM:").unwrap_or(0));
            peak_anon_kb = peak_anon_kb.max(kb(&text, "RssAnon:").unwrap_or(0));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        (peak_kb, peak_anon_kb)
    });
    let mut status = 0;
    // SAFETY: pid is our own child, and status a plain integer waitpid fills in.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    let seconds = started.elapsed().as_secs_f64();
    let ok = waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let (peak_kb, peak_anon_kb) = sampler.join().unwrap_or_default();
    // Not ru_maxrss: a child's count starts from this process's size at fork,
    // and the bench holds whole traces it wrote.
    let written = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    let error = (!ok).then(|| written.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string());
    Run { seconds, peak_mb: peak_kb as f64 / 1024.0, peak_anon_mb: peak_anon_kb as f64 / 1024.0, ok, error }
}

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

/// Reads the trace once, so that every command finds it in the page cache,
/// the first as well (writing the bigger traces evicts the smaller ones).
fn warm_page_cache(path: &Path) {
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = std::io::copy(&mut file, &mut std::io::sink());
    }
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
