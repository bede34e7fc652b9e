//! Rendering throughput: a query-result-shaped table (timestamp, pid, process
//! name, event name, duration) of ROWS rows (env ETWQ_BENCH_ROWS, default
//! 10,000,000; the table format gets a tenth) written to a sink in every
//! format: rows per second and MB per second.
use columnar::{Column, DataTable};
use etwq_render::{write, Format};
use std::time::Instant;

fn result_table(rows: usize) -> DataTable {
    let names = ["svchost.exe", "explorer.exe", "MsMpEng.exe", "chrome.exe"];
    let events = ["Process/Start", "FileIO/Read", "DiskIO/Write", "PerfInfo/SampledProfile"];
    DataTable::new("events")
        .with_column("ts", "", Column::timestamps((0..rows as i64).map(|i| i * 1_337).collect()))
        .and_then(|t| t.with_column("pid", "", Column::u64((0..rows as u64).map(|i| 4 + (i % 97) * 4).collect())))
        .and_then(|t| t.with_column("proc", "", Column::strs((0..rows).map(|i| names[i % names.len()]))))
        .and_then(|t| t.with_column("event", "", Column::strs((0..rows).map(|i| events[i % events.len()]))))
        .and_then(|t| {
            t.with_column("duration", "", Column::durations((0..rows as i64).map(|i| i % 5_000_000).collect()))
        })
        .expect("columns of one length")
}

struct CountingSink(usize);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let rows: usize = std::env::var("ETWQ_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let full = result_table(rows);
    let tenth = result_table(rows / 10);
    for format in [Format::Csv, Format::Tsv, Format::Json, Format::Markdown, Format::Table] {
        let data = if format == Format::Table { &tenth } else { &full };
        let mut sink = CountingSink(0);
        let started = Instant::now();
        write(data, format, &mut sink).expect("a sink never fails");
        let seconds = started.elapsed().as_secs_f64();
        let count = data.row_count();
        println!(
            "{format:?}: {count} rows in {seconds:.2} s: {:.1} M rows/s, {:.0} MB/s",
            count as f64 / seconds / 1e6,
            sink.0 as f64 / seconds / 1e6
        );
    }
}
