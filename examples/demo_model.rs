fn main() {
    let t = std::time::Instant::now();
    let bytes = etwq::demo::demo_trace_bytes();
    println!("demo built in {:?}, {} bytes", t.elapsed(), bytes.len());
    let trace = etwq::etl::EtlTrace::from_bytes(bytes).unwrap();
    println!("warnings {:?}", trace.warnings);
    let mut decoder = etwq::decode::Decoder::new();
    let t = std::time::Instant::now();
    let model = etwq::model::TraceModel::build(&trace, &mut decoder);
    println!("model in {:?}", t.elapsed());
    println!("processes {} threads {} modules {} cswitch {} syscalls {} samples {} stacks {}",
        model.processes.rows.len(), model.threads.rows.len(), model.modules.rows.len(), model.cswitch.len(),
        model.syscalls.len(), model.samples.len(), model.stacks.len());
    println!("{:?}", model.stats);
    let with_stack = model.samples.iter().filter(|s| s.stack.is_some()).count();
    println!("samples with stack {with_stack}");
    let unattributed = model.syscalls.iter().filter(|s| s.tid.is_none()).count();
    let unended = model.syscalls.iter().filter(|s| s.end_ts.is_none()).count();
    println!("syscalls unattributed {unattributed} unended {unended}");
}
