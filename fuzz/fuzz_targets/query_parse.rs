//! Arbitrary text as a query: the parser, planner and executor must answer
//! with a result or an error, never a panic or a stack overflow. Two tables,
//! so that joins (`join`, `left join`, `during`, sub-queries) run too; the
//! language's words are in fuzz/query_parse.dict:
//!   cargo +nightly fuzz run -O query_parse -- -dict=query_parse.dict
#![no_main]
use columnar::{Column, DataTable};
use query::{grammar::parse_query, run_query, MemoryCatalog};
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

fn catalog() -> &'static MemoryCatalog {
    static CATALOG: OnceLock<MemoryCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let table = DataTable::new("syscalls")
            .with_column("ts", "", Column::timestamps(vec![1, 2, 3]))
            .and_then(|t| t.with_column("duration_ns", "", Column::durations(vec![10, 20, 30])))
            .and_then(|t| t.with_column("pid", "", Column::u64(vec![4, 4, 8])))
            .and_then(|t| t.with_column("proc", "", Column::strs(["a.exe", "a.exe", "b.exe"])))
            .and_then(|t| t.with_column("func", "", Column::strs(["NtCreateFile", "NtOpenKey", "NtClose"])))
            .and_then(|t| t.with_column("ret", "", Column::u64(vec![0, 0xC000_0022, 0])))
            .expect("columns of one length");
        // Intervals for `during`, and keys of another type (i64) for `join`.
        let threads = DataTable::new("threads")
            .with_column("ts", "", Column::timestamps(vec![0, 2, 5]))
            .and_then(|t| t.with_column("end_ts", "", Column::timestamps(vec![10, 3, 5])))
            .and_then(|t| t.with_column("pid", "", Column::i64(vec![4, 8, -1])))
            .and_then(|t| t.with_column("name", "", Column::strs(["a.exe", "main", "b.exe"])))
            .expect("columns of one length");
        let mut catalog = MemoryCatalog::new();
        catalog.add_table(table);
        catalog.add_table(threads);
        catalog
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = parse_query(text) {
        std::hint::black_box(e.to_string());
        return;
    }
    if let Err(e) = run_query(text, catalog(), &AtomicBool::new(false)) {
        std::hint::black_box(e.to_string());
    }
});
