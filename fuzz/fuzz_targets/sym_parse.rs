//! Arbitrary bytes as a Breakpad .sym file: parsed without panicking, and the table it
//! yields answers lookups consistently; the download check of a .sym (its MODULE line)
//! and of a redirect's Location (the bytes as text) never panic either.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = symbols::validate::check_sym_head(data);
    if let Ok(location) = std::str::from_utf8(data) {
        if let Ok(target) = symbols::download::redirect_target("http://127.0.0.1:1/s/a.pdb/K/a.pdb", location) {
            assert!(target.to_ascii_lowercase().starts_with("http"));
        }
    }
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
