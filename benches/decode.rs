//! Events decoded per second: every record of the corpus traces through
//! `Decoder::decode`, and through the JSON dump writer. Run with
//! `cargo bench --bench decode`; the corpus comes from ETWQ_CORPUS.
mod common;
use decode::Decoder;
use etl::EtlTrace;
use session::dump::{write_dump, DumpFormat};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let corpus = common::corpus_dir();
    // The reader benchmark's 1 GB kernel trace, when `cargo bench --bench read` has written it.
    let big = std::env::temp_dir().join("etwq-bench-1g-v1.etl");
    let mut paths: Vec<(String, PathBuf)> = ["perfview/net.4.5.2.x64.etl", "airbus/ShutdownPerfDiagLogger.etl"]
        .into_iter()
        .map(|name| (name.to_string(), corpus.join(name)))
        .collect();
    if big.is_file() {
        paths.push(("1 GB built kernel trace".to_string(), big));
    } else {
        eprintln!("skipped the 1 GB trace: run `cargo bench --bench read` first to write {}", big.display());
    }
    for (name, path) in paths {
        let Ok(trace) = EtlTrace::open(&path) else {
            eprintln!("skipped {}: cannot open", path.display());
            continue;
        };
        let records = trace.record_count();
        // Decoding only (fields built, nothing written).
        let mut best = f64::INFINITY;
        let mut fields = 0usize;
        for _ in 0..3 {
            let mut decoder = Decoder::new();
            let start = Instant::now();
            fields = 0;
            for record in trace.records() {
                fields += decoder.decode(&record).fields.len();
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{name}: decode {records} events, {fields} fields: {:.0} events/s", records as f64 / best);
        // Decoding and writing JSON lines.
        let mut decoder = Decoder::new();
        let mut sink = std::io::sink();
        let start = Instant::now();
        write_dump(&trace, &mut decoder, DumpFormat::Json, None, &mut sink).expect("sink never fails");
        let secs = start.elapsed().as_secs_f64();
        println!("{name}: dump --format json: {:.0} events/s", records as f64 / secs);
    }
}
