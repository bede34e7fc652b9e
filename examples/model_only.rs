fn main() {
    let path = std::env::args().nth(1).unwrap();
    let trace = etwq::etl::EtlTrace::open(&path).unwrap();
    let t = std::time::Instant::now();
    let model = etwq::model::TraceModel::build(&trace, &mut etwq::decode::Decoder::new());
    eprintln!("{:?} {}", t.elapsed(), model.syscalls.len());
}
