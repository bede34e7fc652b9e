//! Reader benchmark: open a trace (buffers located, decompressed and indexed
//! on all cores) and walk every record in global time order.
//!   cargo bench --bench read            # corpus trace + a 1 GB trace it writes itself
//!   ETWQ_BENCH_GB=2 cargo bench --bench read
mod common;
use etl::compress::{self, CompressionFormat};
use etl::writer::{EtlWriter, WriterOptions};
use etl::{EtlTrace, HeaderKind, Record, RecordId};
use rayon::prelude::*;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

fn main() {
    let corpus = common::corpus_dir();
    let net = corpus.join("perfview/net.4.5.2.x64.etl");
    if net.is_file() {
        bench_file("net.4.5.2.x64.etl (XPRESS)", &net, 20);
        bench_decompression(&net);
    } else {
        println!("skipped the corpus trace: {} not found", net.display());
    }
    let gigabytes: f64 = std::env::var("ETWQ_BENCH_GB").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let big = std::env::temp_dir().join(format!("etwq-bench-{gigabytes}g-v1.etl"));
    let size = (gigabytes * 1e9) as u64;
    if std::fs::metadata(&big).map(|m| m.len() < size).unwrap_or(true) {
        let started = Instant::now();
        write_dense_trace(&big, size);
        println!("wrote {} in {:.1} s", big.display(), started.elapsed().as_secs_f64());
    }
    bench_file("built kernel trace (uncompressed)", &big, 3);
}

/// Opens and walks the trace `runs` times; prints the best run.
fn bench_file(label: &str, path: &Path, runs: usize) {
    let file_bytes = std::fs::metadata(path).unwrap().len() as f64;
    let mut best = f64::MAX;
    let mut best_open = 0.0;
    let mut records = 0usize;
    let mut memory_bytes = 0f64;
    let mut best_per_cpu = f64::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        let trace = EtlTrace::open(path).unwrap();
        let opened = started.elapsed().as_secs_f64();
        let mut count = 0usize;
        let mut checksum = 0i64;
        for record in trace.records() {
            count += 1;
            checksum = checksum.wrapping_add(record.timestamp);
        }
        std::hint::black_box(checksum);
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed < best {
            best = elapsed;
            best_open = opened;
        }
        records = count;
        // Per-processor time order, processors on all cores: the shape of per-CPU model work.
        let started = Instant::now();
        let per_cpu: usize = trace
            .processors()
            .into_par_iter()
            .map(|p| {
                trace
                    .processor_records(p)
                    .fold(0usize, |n, r| n + usize::from(std::hint::black_box(r.timestamp) != i64::MIN))
            })
            .sum();
        assert_eq!(per_cpu, count);
        best_per_cpu = best_per_cpu.min(opened + started.elapsed().as_secs_f64());
        memory_bytes = trace.buffers().iter().map(|b| trace.buffer_data(b).len() as f64).sum();
    }
    println!(
        "{label}: {records} records, {:.1} MB on disk, {:.1} MB of buffers in memory",
        file_bytes / 1e6,
        memory_bytes / 1e6
    );
    println!(
        "  open+index {:.3} s, open+index+ordered walk {:.3} s: {:.1} M records/s, {:.0} MB/s of file, {:.0} MB/s of buffer data",
        best_open,
        best,
        records as f64 / best / 1e6,
        file_bytes / best / 1e6,
        memory_bytes / best / 1e6
    );
    println!(
        "  open+index+per-processor ordered walk on all cores {:.3} s: {:.1} M records/s, {:.0} MB/s of file",
        best_per_cpu,
        records as f64 / best_per_cpu / 1e6,
        file_bytes / best_per_cpu / 1e6
    );
    println!(
        "  open+index alone (every record read, checked and counted): {:.0} MB/s of file",
        file_bytes / best_open / 1e6
    );
}

/// XPRESS decompression alone, on one core: output bytes per second.
fn bench_decompression(path: &Path) {
    let trace = EtlTrace::open(path).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let jobs: Vec<(&[u8], usize)> = trace
        .buffers()
        .iter()
        .filter(|b| b.header.is_compressed())
        .map(|b| {
            let start = b.file_offset as usize + 0x48;
            (
                &bytes[start..b.file_offset as usize + b.header.buffer_size as usize],
                b.header.saved_offset as usize - 0x48,
            )
        })
        .collect();
    let mut best = f64::MAX;
    let mut out_bytes = 0usize;
    let mut out = Vec::with_capacity(1 << 16);
    for _ in 0..20 {
        let started = Instant::now();
        out_bytes = 0;
        for (input, expected) in &jobs {
            out.clear();
            compress::decompress_into(CompressionFormat::Xpress, input, *expected, &mut out).unwrap();
            out_bytes += out.len();
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "  XPRESS decompression, one core: {} buffers, {:.1} MB out in {:.4} s: {:.0} MB/s",
        jobs.len(),
        out_bytes as f64 / 1e6,
        best,
        out_bytes as f64 / best / 1e6
    );
}

/// A kernel trace dense in context switches, system calls, samples and stacks
/// across 16 processors, the mix a CPU investigation records.
fn write_dense_trace(path: &Path, target_bytes: u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut options = WriterOptions::new(16, 132_404_548_343_502_666);
    options.start_timestamp = 1_000_000;
    let mut writer = EtlWriter::new(BufWriter::with_capacity(1 << 20, file), options).unwrap();
    let cswitch = [0u8; 24];
    let syscall_enter = [0u8; 8];
    let syscall_exit = [0u8; 4];
    let sample = [0u8; 16];
    let stack = [0u8; 16 + 14 * 8];
    let mut written = 0u64;
    let mut ts = 1_000_000i64;
    let mut i = 0u64;
    while written < target_bytes {
        i += 1;
        ts += 3;
        let (kind, group, opcode, payload): (HeaderKind, u8, u8, &[u8]) = match i % 8 {
            0 => (HeaderKind::Compact64, 5, 36, &cswitch),
            1 | 3 | 5 => (HeaderKind::PerfInfo64, 15, 51, &syscall_enter),
            2 | 4 | 6 => (HeaderKind::PerfInfo64, 15, 52, &syscall_exit),
            _ if i % 16 == 7 => (HeaderKind::PerfInfo64, 15, 46, &sample),
            _ => (HeaderKind::Compact64, 24, 32, &stack),
        };
        let record = Record {
            kind,
            id: RecordId::Kernel { group, opcode },
            version: 2,
            marker_flags: 0xC0,
            flags: 0,
            event_property: 0,
            thread_id: Some((i % 977) as u32),
            process_id: Some((i % 61) as u32),
            processor: ((i / 3) % 16) as u16,
            timestamp: ts,
            cpu_time: 0,
            activity_id: None,
            instance: None,
            extended: Default::default(),
            payload,
        };
        writer.write(&record).unwrap();
        written += ((kind.header_len() + payload.len() + 7) & !7) as u64;
    }
    writer.finish().unwrap();
}
