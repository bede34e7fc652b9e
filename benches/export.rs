//! `etwq export` at the sizes people record: throughput in MB of .etl per
//! second, peak memory, and the Parquet dataset's size as a fraction of the
//! trace's.
//!   cargo bench --bench export                    # net.4.5.2 and 1 GB built traces of both kinds
//!   ETWQ_BENCH_SIZES=0.2,1 cargo bench --bench export
//! Each export runs in a fresh `etwq export FILE --to DIR` process, as in
//! `big`: wall time (and MiB/s by it), CPU seconds (and MiB per CPU second: on
//! a shared machine, what the export costs apart from waiting), peak resident set (VmHWM, the mapped trace's pages
//! included) and peak anonymous memory (RssAnon, what it allocated), sampled
//! every 5 ms. The dataset is deleted after each run.
#[path = "common/big_traces.rs"]
#[allow(dead_code)]
mod big_traces;
mod common;

use big_traces::{run_etwq, trace_path, warm_page_cache, write_trace, Kind, MIB};
use std::path::Path;

/// Bytes of the files under `dir`.
fn size_of(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                total += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

fn bench_export(what: &str, trace: &Path, format: &str) {
    let file_mb = std::fs::metadata(trace).map_or(0, |m| m.len()) as f64 / MIB;
    warm_page_cache(trace);
    let out = std::env::temp_dir().join(format!("etwq-bench-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run =
        run_etwq(&["export", trace.to_str().expect("a UTF-8 path"), "--to", out.to_str().unwrap(), "--format", format]);
    let written_mb = size_of(&out) as f64 / MIB;
    let _ = std::fs::remove_dir_all(&out);
    let failed = if run.ok { "" } else { "  FAILED" };
    println!(
        "  {what:<44} {format:<8} {file_mb:>9.0} {:>9.2} {:>9.1} {:>9.2} {:>9.1} {:>10.0} {:>10.0} {written_mb:>10.1} {:>9.3}{failed}",
        run.seconds,
        file_mb / run.seconds,
        run.cpu_seconds,
        file_mb / run.cpu_seconds,
        run.peak_mb,
        run.peak_anon_mb,
        written_mb / file_mb,
    );
    if let Some(error) = &run.error {
        println!("    {error}");
    }
}

fn main() {
    let sizes: Vec<f64> = std::env::var("ETWQ_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1.0]);
    println!(
        "  {:<44} {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>9}",
        "trace",
        "format",
        "etl MiB",
        "seconds",
        "MiB/s",
        "CPU s",
        "MiB/CPU s",
        "peak MiB",
        "anon MiB",
        "out MiB",
        "out/etl"
    );
    let net = common::corpus_dir().join("perfview/net.4.5.2.x64.etl");
    if net.is_file() {
        for format in ["parquet", "arrow"] {
            bench_export("net.4.5.2.x64.etl", &net, format);
        }
    } else {
        println!("  (no corpus at {}: set ETWQ_CORPUS)", net.display());
    }
    for gigabytes in sizes {
        for kind in [Kind::SyscallDense, Kind::SampleHeavy] {
            let path = trace_path(kind, gigabytes);
            if !path.is_file() {
                write_trace(kind, gigabytes, &path);
            }
            bench_export(&format!("{} {gigabytes} GB", kind.name()), &path, "parquet");
        }
    }
}
