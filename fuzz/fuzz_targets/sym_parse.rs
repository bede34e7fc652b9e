//! Arbitrary bytes as a Breakpad .sym file: parsed without panicking, and the table it
//! yields answers lookups consistently.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = symbols::breakpad::parse_sym(data);
    let functions = parsed.table.functions();
    assert!(functions.windows(2).all(|w| w[0].rva < w[1].rva));
    for f in functions {
        if f.size > 0 {
            let (found, offset) = parsed.table.lookup(f.rva as u64).expect("a function's first byte");
            assert_eq!((found.rva, offset), (f.rva, 0));
        }
    }
    if let Some(id) = &parsed.identity {
        let _ = id.store_key();
        let _ = id.checked_name();
    }
});
