//! Hand test of decoding: `cargo run --example dump -- FILE [json|text|counts] [LIMIT]`.
use etwq::decode::Decoder;
use etwq::dump::{event_counts, undecoded_by_provider, write_dump, DumpFormat};
use etwq::etl::EtlTrace;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: dump FILE [json|text|counts] [LIMIT]");
        std::process::exit(2);
    };
    let trace = match EtlTrace::open(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut decoder = Decoder::new();
    let mode = args.get(2).map(String::as_str).unwrap_or("text");
    let limit = args.get(3).and_then(|n| n.parse().ok());
    if mode == "counts" {
        let counts = event_counts(&trace, &mut decoder);
        for ((provider, event), count) in &counts {
            println!("{provider}\t{event}\t{}\t{}", count.events, count.undecoded);
        }
        for (provider, n) in undecoded_by_provider(&counts) {
            eprintln!("undecoded: {provider}: {n}");
        }
        for e in &decoder.stats.schema_errors {
            eprintln!("schema error: {e}");
        }
        return;
    }
    let format = if mode == "json" { DumpFormat::Json } else { DumpFormat::Text };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Err(e) = write_dump(&trace, &mut decoder, format, limit, &mut out) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("{e}");
        }
    }
}
