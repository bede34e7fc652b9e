//! The big traces the benches build, and how they time a command: shared by
//! `big` (queries) and `export` (`etwq export`), which include it by path.
//! Each trace is built once into the temp directory and kept for the next run.
use demo::{random_scenario, RandomOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// Code paths of the traces' samples, in the kernel and as many in user
/// mode: a 1 GB sample-heavy trace's 13 M samples draw at most 100,000 distinct stacks
/// (a real profile repeats its stacks: PerfView's net.4.5.2 trace has 2,049
/// of 79,528 samples).
pub(crate) const STACK_PATHS: usize = 50_000;

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// ~470 K system calls a second, context switches, stacked samples.
    SyscallDense,
    /// Stacked samples on every CPU, calls spread over their slices.
    SampleHeavy,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::SyscallDense => "syscall-dense",
            Kind::SampleHeavy => "sample-heavy",
        }
    }

    /// Bytes one second of this machine writes, measured on a 1 s trace.
    pub(crate) fn bytes_per_second(self) -> f64 {
        match self {
            Kind::SyscallDense => 37e6,
            Kind::SampleHeavy => 12e6,
        }
    }

    /// The machine; `write_kind` sets the duration.
    pub(crate) fn options(self) -> RandomOptions {
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
pub(crate) const TRACE_GENERATION: u32 = 3;

pub(crate) fn trace_path(kind: Kind, gigabytes: f64) -> PathBuf {
    std::env::temp_dir().join(format!("etwq-big-{}-g{TRACE_GENERATION}-{gigabytes}g.etl", kind.name()))
}

/// Traces up to this size are one scenario; a bigger one repeats a scenario of
/// this size, since the scenario and its truth are held in memory.
pub(crate) const PERIOD_GB: f64 = 1.0;

pub(crate) fn write_trace(kind: Kind, gigabytes: f64, path: &Path) {
    write_kind(&kind.options(), kind.bytes_per_second(), gigabytes, path);
}

/// Writes `gigabytes` of the machine `options` describes (its duration set to
/// fit), which writes `bytes_per_second`, streamed to `path`.
pub(crate) fn write_kind(options: &RandomOptions, bytes_per_second: f64, gigabytes: f64, path: &Path) {
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
pub(crate) struct Run {
    pub(crate) seconds: f64,
    pub(crate) peak_mb: f64,
    pub(crate) peak_anon_mb: f64,
    pub(crate) ok: bool,
    /// The last line the program wrote to stderr, when it failed.
    pub(crate) error: Option<String>,
    /// User and system CPU seconds: on a machine shared with other work, what
    /// the command cost apart from waiting for a CPU.
    pub(crate) cpu_seconds: f64,
}

pub(crate) fn run_etwq(args: &[&str]) -> Run {
    run_program(Command::new(env!("CARGO_BIN_EXE_etwq")).args(args))
}

pub(crate) fn run_program(command: &mut Command) -> Run {
    let started = Instant::now();
    let stderr_path = std::env::temp_dir().join(format!("etwq-big-stderr-{}", std::process::id()));
    let stderr = std::fs::File::create(&stderr_path).map_or_else(|_| Stdio::null(), Stdio::from);
    // Reaped by wait4 below.
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
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child; status and usage are plain values wait4 fills in.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds_of = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu_seconds = seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime);
    let seconds = started.elapsed().as_secs_f64();
    let ok = waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let (peak_kb, peak_anon_kb) = sampler.join().unwrap_or_default();
    // Not ru_maxrss: a child's count starts from this process's size at fork,
    // and the bench holds whole traces it wrote.
    let written = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    let error = (!ok).then(|| written.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string());
    Run {
        seconds,
        peak_mb: peak_kb as f64 / 1024.0,
        peak_anon_mb: peak_anon_kb as f64 / 1024.0,
        ok,
        error,
        cpu_seconds,
    }
}

/// Reads the trace once, so that every command finds it in the page cache,
/// the first as well (writing the bigger traces evicts the smaller ones).
pub(crate) fn warm_page_cache(path: &Path) {
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = std::io::copy(&mut file, &mut std::io::sink());
    }
}
