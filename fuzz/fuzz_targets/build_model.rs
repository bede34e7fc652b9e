//! Arbitrary bytes as a whole .etl file: open it and build the model and its
//! tables. Seeds: small built traces (see fuzz/README or `etwq demo --write`),
//! so that mutations reach the context switch, system call and stack joins.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(trace) = etl::EtlTrace::from_bytes(data.to_vec()) {
        let model = model::TraceModel::build(&trace, &mut decode::Decoder::new());
        // Every stack id a row names must be in the store.
        for id in model.samples.iter().filter_map(|s| s.stack()) {
            assert!((id as usize) < model.stacks.len());
        }
        for id in model.syscalls.iter().filter_map(|s| s.stack()) {
            assert!((id as usize) < model.stacks.len());
        }
        for s in &model.stack_rows {
            assert!((s.stack as usize) < model.stacks.len());
        }
        for id in model.wakeups.iter().filter_map(|w| w.stack()) {
            assert!((id as usize) < model.stacks.len());
        }
        // A switch-in's wakeup is one of the model's, of its thread, no later than it.
        for c in &model.cswitch {
            if let Some(w) = model.wakeup_of(c) {
                assert!(w.tid == c.tid && w.ts <= c.ts);
            }
        }
    }
});
