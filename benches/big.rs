//! Big traces: time and peak memory of one-shot queries at the sizes people record.
//!   cargo bench --bench big                         # 0.2 and 1 GB, both kinds
//!   ETWQ_BENCH_SIZES=0.2,1,10 cargo bench --bench big
//! Each trace is built once into the temp directory (kept for the next run).
//! Every query runs in a fresh `etwq -c QUERY FILE --format csv > /dev/null`
//! process: its wall time and peak resident set (ru_maxrss) are what a user
//! waits for and what the machine must have. `etwq summary`, which reads every
//! record, is the floor. A second query on a built table runs in-process.
use demo::{random_scenario, RandomOptions};
use session::Session;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

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

    fn options(self, seconds: f64) -> RandomOptions {
        let duration = (seconds * 1e7) as i64;
        match self {
            Kind::SyscallDense => RandomOptions {
                cpus: 16,
                processes: 24,
                threads: 400,
                duration,
                short_calls: Some(200),
                ..RandomOptions::default()
            },
            Kind::SampleHeavy => RandomOptions {
                cpus: 16,
                processes: 24,
                threads: 400,
                duration,
                profile_interval_100ns: 1_000,
                ..RandomOptions::default()
            },
        }
    }
}

fn trace_path(kind: Kind, gigabytes: f64) -> PathBuf {
    std::env::temp_dir().join(format!("etwq-big-{}-{gigabytes}g.etl", kind.name()))
}

fn write_trace(kind: Kind, gigabytes: f64, path: &Path) {
    let started = Instant::now();
    let seconds = (gigabytes * 1e9 / kind.bytes_per_second()).max(1.0);
    let (bytes, _) = random_scenario(11, &kind.options(seconds)).to_bytes().expect("a consistent scenario");
    std::fs::write(path, bytes).expect("the temp directory is writable");
    println!(
        "wrote {} ({:.0} MB) in {:.1} s",
        path.display(),
        std::fs::metadata(path).map_or(0, |m| m.len()) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

/// Wall seconds and peak resident MB of one etwq run; output goes to /dev/null.
fn run_etwq(args: &[&str]) -> (f64, f64, bool) {
    let started = Instant::now();
    // Reaped by wait4 below, which also gives its peak memory.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_etwq"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the etwq binary runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    let ok = waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (seconds, usage.ru_maxrss as f64 / 1024.0, ok)
}

fn bench_trace(kind: Kind, gigabytes: f64) {
    let path = trace_path(kind, gigabytes);
    if !path.is_file() {
        write_trace(kind, gigabytes, &path);
    }
    let file = path.to_str().expect("a UTF-8 temp path");
    let file_mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6;
    println!("\n{} {gigabytes} GB ({file_mb:.0} MB)", kind.name());
    println!("  {:<80} {:>9} {:>11} {:>8}", "command", "seconds", "peak MB", "x file");
    let report = |what: &str, (seconds, peak_mb, ok): (f64, f64, bool)| {
        let failed = if ok { "" } else { "  FAILED" };
        println!("  {what:<80} {seconds:>9.2} {peak_mb:>11.0} {:>8.2}{failed}", peak_mb / file_mb);
    };
    report("etwq summary", run_etwq(&["summary", file]));
    for query in QUERIES {
        report(&format!("-c '{query}'"), run_etwq(&["-c", query, file, "--format", "csv"]));
    }

    // A second query on a table the first one built, in one session.
    let mut session = Session::open(&path).expect("the built trace opens");
    let first = Instant::now();
    let rows = session.query("syscalls select count()").map(|t| t.row_count()).unwrap_or(0);
    let first = first.elapsed().as_secs_f64();
    let second = Instant::now();
    let groups = session.query("syscalls where ret != 0 group by func").map(|t| t.row_count()).unwrap_or(0);
    let second = second.elapsed().as_secs_f64();
    let calls = session.tables().into_iter().find(|(t, _)| t == "syscalls").map_or(0, |(_, n)| n);
    println!(
        "  in one session: first query {first:.2} s ({rows} row); then `syscalls where ret != 0 group by func` \
         over {calls} calls in {:.0} ms ({groups} groups): {:.0} ms per 10 M rows",
        second * 1e3,
        second * 1e3 * 1e7 / calls.max(1) as f64
    );
}

fn main() {
    let sizes: Vec<f64> = std::env::var("ETWQ_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0.2, 1.0]);
    for gigabytes in sizes {
        for kind in [Kind::SyscallDense, Kind::SampleHeavy] {
            bench_trace(kind, gigabytes);
        }
    }
}
