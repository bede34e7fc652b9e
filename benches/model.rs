//! Model benchmark: time and memory to build the tables from a trace.
//!   cargo bench --bench model                 # the corpus trace + a ~1 GB built trace
//!   ETWQ_BENCH_GB=0.2 cargo bench --bench model
//! Memory is the growth of the process's resident set while the model builds,
//! divided by the records; the trace's own buffers are not counted.
mod common;
use decode::Decoder;
use demo::{random_scenario, RandomOptions};
use etl::EtlTrace;
use model::TraceModel;
use std::path::Path;
use std::time::Instant;

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn bench(label: &str, path: &Path, runs: usize) {
    let trace = EtlTrace::open(path).unwrap();
    let records = trace.record_count() as f64;
    let mut best = f64::MAX;
    let mut growth = 0u64;
    let mut rows = 0usize;
    for _ in 0..runs {
        let before = resident_bytes();
        let started = Instant::now();
        let model = TraceModel::build(&trace, &mut Decoder::new());
        best = best.min(started.elapsed().as_secs_f64());
        growth = growth.max(resident_bytes().saturating_sub(before));
        rows = model.cswitch.len() + model.syscalls.len() + model.samples.len() + model.stack_rows.len();
        drop(model);
    }
    println!("{label}: {} records, {rows} cswitch+syscall+sample+stack rows", records as u64);
    println!(
        "  model built in {best:.3} s: {:.1} M records/s; resident set grew {:.1} MB: {:.0} bytes per record",
        records / best / 1e6,
        growth as f64 / 1e6,
        growth as f64 / records
    );
}

/// A random machine of 16 CPUs, busy in system calls (~470 K a second, each
/// an enter and an exit record), with context switches (~15 K a second) and
/// stacked samples (10 K a second per CPU), written until the file is about
/// `bytes` long.
fn write_dense_trace(path: &Path, bytes: u64) {
    // Records scale with the duration; 1 s of this machine is about 37 MB.
    let seconds = (bytes as f64 / 37e6).max(1.0);
    let options = RandomOptions {
        cpus: 16,
        processes: 24,
        threads: 400,
        duration: (seconds * 1e7) as i64,
        lost_events: false,
        short_calls: Some(200),
        ..RandomOptions::default()
    };
    let (trace, _) = random_scenario(7, &options).to_bytes().unwrap();
    std::fs::write(path, trace).unwrap();
}

fn main() {
    // As the etwq binary does: freed temporary arrays must not count as model memory.
    etwq::memory::return_large_blocks_to_the_system();
    let corpus = common::corpus_dir();
    let net = corpus.join("perfview/net.4.5.2.x64.etl");
    if net.is_file() {
        bench("net.4.5.2.x64.etl", &net, 10);
    } else {
        println!("skipped the corpus trace: {} not found", net.display());
    }
    let gigabytes: f64 = std::env::var("ETWQ_BENCH_GB").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let path = std::env::temp_dir().join(format!("etwq-model-bench-{gigabytes}g-v2.etl"));
    if !path.is_file() {
        let started = Instant::now();
        write_dense_trace(&path, (gigabytes * 1e9) as u64);
        println!(
            "wrote {} ({:.0} MB) in {:.1} s",
            path.display(),
            std::fs::metadata(&path).unwrap().len() as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    bench("built trace, 16 CPUs: syscalls, context switches, stacked samples", &path, 2);
}
