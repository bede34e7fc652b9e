//! What the benchmarks share.
use std::path::PathBuf;

/// The corpus of real traces: `ETWQ_CORPUS`, or ../shared/corpus beside the crate.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("ETWQ_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")))
}
