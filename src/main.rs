use etwq::etl::EtlTrace;
use etwq::summary::record_counts;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let trace = match EtlTrace::open(&args[2]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("etwq: {e}");
            std::process::exit(1);
        }
    };
    for w in &trace.warnings {
        eprintln!("warning: {w}");
    }
    let rows = record_counts(&trace);
    let mut total = 0;
    for r in rows {
        println!("{}\t{}", r.key, r.count);
        total += r.count;
    }
    println!("total\t\t\t{total}");
}
