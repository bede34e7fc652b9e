fn main() {
    let path = std::env::args().nth(1).unwrap();
    let trace = etwq::etl::EtlTrace::open(&path).unwrap();
    let n = trace.records().count();
    println!("{n}");
}
