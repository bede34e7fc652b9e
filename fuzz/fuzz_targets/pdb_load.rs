//! Arbitrary bytes as a PDB: an error value or a table, never a panic that escapes.
//! Seed the corpus with crash.pdb from shared/corpus/symbols for useful coverage:
//!   mkdir -p fuzz/corpus/pdb_load && cp ../shared/corpus/symbols/crash.pdb fuzz/corpus/pdb_load/
//!   cargo +nightly fuzz run -O --debug-assertions pdb_load fuzz/corpus/pdb_load -- -max_len=1100000
//!
//! `load_pdb_bytes` catches the pdb crate's own panics (overflow checks, `unreachable!`
//! on damaged data) and turns them into errors. libFuzzer's panic hook would abort on
//! those before the catch, so this target lets panics raised inside the pdb crate
//! unwind to that catch, and aborts on any other panic: a panic in etwq's code is
//! still a crash the fuzzer reports.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::Once;

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_pdb_crate = info.location().is_some_and(|l| l.file().contains("/pdb-0."));
            if !in_pdb_crate {
                fuzzer_hook(info);
            }
        }));
    });
    // The check a download passes before it is kept: never a panic, whatever the length.
    let _ = symbols::validate::check_pdb_head(data, data.len() as u64);
    let _ = symbols::validate::check_pdb_head(data, u64::MAX);
    if let Ok(table) = symbols::pdb_file::load_pdb_bytes(data.to_vec(), None) {
        let functions = table.functions();
        assert!(functions.windows(2).all(|w| w[0].rva < w[1].rva));
        for f in functions.iter().take(1000) {
            let _ = table.lookup(f.rva as u64);
        }
    }
});
