use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let t = Instant::now();
    let trace = etwq::etl::EtlTrace::open(&path).unwrap();
    let opened = t.elapsed();
    let mut decoder = etwq::decode::Decoder::new();
    let model = etwq::model::TraceModel::build(&trace, &mut decoder);
    println!("open {:?} model {:?}", opened, t.elapsed() - opened);
    println!("processes {} threads {} modules {} cswitch {} syscalls {} samples {} stacks {} stack_rows {}",
        model.processes.rows.len(), model.threads.rows.len(), model.modules.rows.len(), model.cswitch.len(),
        model.syscalls.len(), model.samples.len(), model.stacks.len(), model.stack_rows.len());
    let with_stack = model.samples.iter().filter(|s| s.stack.is_some()).count();
    println!("samples with stack {} ({:.1}%)", with_stack, 100.0 * with_stack as f64 / model.samples.len().max(1) as f64);
    println!("{:?}", model.stats);
    println!("diskio {} fileio {} hardfaults {}", model.diskio.len(), model.fileio.len(), model.hardfaults.len());
    for r in model.diskio.iter().take(3) { println!("{r:?}"); }
    for r in model.fileio.iter().take(3) { println!("{r:?}"); }
    for r in model.hardfaults.iter().take(2) { println!("{r:?}"); }
    let named = model.diskio.iter().filter(|r| r.file.is_some()).count();
    println!("diskio with file name {named}");
    let with_pdb = model.modules.rows.iter().filter(|m| m.pdb.is_some()).count();
    println!("modules with pdb {}", with_pdb);
    let mut by: std::collections::BTreeMap<(Option<u32>, bool), usize> = Default::default();
    for s in &model.samples { *by.entry((s.pid, s.stack.is_some())).or_default() += 1; }
    for (k, v) in by.iter().filter(|(_, v)| **v > 200) { println!("pid {:?} stack {} : {}", k.0, k.1, v); }
    let idle = model.samples.iter().filter(|s| s.tid == 0).count();
    println!("tid0 samples {idle}");
    let busy: Vec<_> = model.samples.iter().filter(|s| s.tid != 0).collect();
    let busy_stack = busy.iter().filter(|s| s.stack.is_some()).count();
    println!("non-idle samples {} with stack {} ({:.2}%)", busy.len(), busy_stack, 100.0 * busy_stack as f64 / busy.len() as f64);
    let missing: Vec<_> = busy.iter().filter(|s| s.stack.is_none()).take(5).collect();
    println!("{:?}", missing);
    let (mut eq, mut contains, mut n) = (0, 0, 0);
    for s in busy.iter().filter(|s| s.stack.is_some()) {
        let f = model.stacks.frames(s.stack.unwrap());
        n += 1;
        if f.first() == Some(&s.ip) { eq += 1; }
        if f.contains(&s.ip) { contains += 1; }
    }
    println!("first==ip {eq} contains ip {contains} of {n}");
}
#[allow(dead_code)]
fn _x() {}
