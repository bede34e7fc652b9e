//! The demo's symbols live in memory: a demo session names its frames and leaves
//! the symbol cache empty. Alone in its test binary, since it sets the process's
//! environment (`ETWQ_SYMBOL_CACHE`, read by every resolver).
use etwq_session::Session;

#[test]
fn the_demo_names_frames_and_writes_nothing_into_the_symbol_cache() {
    let cache = tempfile::tempdir().unwrap();
    std::env::set_var("ETWQ_SYMBOL_CACHE", cache.path());
    std::env::remove_var("_NT_SYMBOL_PATH");
    let mut session = Session::demo();
    let table = session.query("samples where proc = \"server.exe\" group by func select count() as n").unwrap();
    let funcs = table.column("func").unwrap();
    let named: Vec<String> = (0..table.row_count()).map(|row| funcs.value(row).to_string()).collect();
    assert!(named.iter().any(|f| f == "SpinLock::Acquire"), "{named:?}");
    assert_eq!(session.symbolize(0x1, 1, None), "0x1");
    let written: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().map(|e| e.path()).collect();
    assert!(written.is_empty(), "the demo wrote {written:?}");
    assert!(session.take_messages().is_empty());
}
