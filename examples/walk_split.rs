use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let trace = etwq::etl::EtlTrace::open(&path).unwrap();
    for _ in 0..2 {
        let t = Instant::now();
        let mut it = trace.records();
        let mut n = 0u64;
        while let Some(r) = it.next_ref() { n += r.offset as u64; }
        println!("merge only: {:.3}s {}", t.elapsed().as_secs_f64(), n);
        let t = Instant::now();
        let mut n = 0u64;
        for b in trace.buffers() { for r in trace.buffer_records(b) { n += r.timestamp as u64; } }
        println!("parse only (buffer order): {:.3}s {}", t.elapsed().as_secs_f64(), n);
        let t = Instant::now();
        let n = trace.records().count();
        println!("merge+parse: {:.3}s {}", t.elapsed().as_secs_f64(), n);
    }
}
