//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::path::PathBuf;

pub mod browser;
pub mod hostile;
pub mod symbol_server;
// Not every test binary asks a symbol server.
#[allow(unused_imports)]
pub use symbol_server::read_request_path;
pub mod sql;
pub mod tmux;

/// The corpus of real traces: `ETWQ_CORPUS`, or ../shared/corpus beside the crate.
/// `None` (with a message) when it is absent, unless ETWQ_REQUIRE_CORPUS=1 demands it.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ETWQ_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")));
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    if std::env::var("ETWQ_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("ETWQ_REQUIRE_CORPUS=1 but no corpus at {}", dir.display());
    }
    skip(&format!("no corpus at {} (set ETWQ_CORPUS)", dir.display()));
    None
}

/// Says that a test skipped its work, where `cargo test` shows it: straight to
/// the process's stderr, which the test harness does not capture (eprintln! is).
pub fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {why}");
}

/// Whether a tool the test needs is here. Missing, it is a visible skip, or a
/// failure under ETWQ_REQUIRE_TOOLS=1 (CI, whose .ci/run installs the tools).
pub fn tool_available(found: bool, tool: &str, needed_for: &str) -> bool {
    if !found {
        if std::env::var("ETWQ_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("ETWQ_REQUIRE_TOOLS=1 but {tool} is missing; {needed_for} needs it (.ci/run installs it)");
        }
        skip(&format!("{tool} is not installed; {needed_for} needs it"));
    }
    found
}

/// Every .etl file under the corpus, sorted.
pub fn corpus_traces(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "etl") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The count that expected/NAME.counts.tsv gives for a key (`kind\tid\tnumber`).
pub fn expected_count(corpus: &std::path::Path, name: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(corpus.join("expected").join(format!("{name}.counts.tsv"))).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('\t')))
        .unwrap_or_else(|| panic!("{key} not in {name}.counts.tsv"))
        .parse()
        .unwrap()
}

/// Breakpad writes C++ names with their parameter lists (DIA's undecorated form); the
/// PDB's procedure records and WPA don't. Drops a trailing `(...)` (and ` const`).
pub fn without_parameters(name: &str) -> &str {
    let name = name.strip_suffix(" const").unwrap_or(name);
    if !name.ends_with(')') {
        return name;
    }
    let mut depth = 0;
    for (i, c) in name.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return &name[..i];
                }
            }
            _ => {}
        }
    }
    name
}
