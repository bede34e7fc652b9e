//! etwq's front ends: the interactive shell and rhai scripts. The one-shot
//! command line is main.rs. All of them drive the session crate's API.
/// `.copy` in the shell and `copy()` in scripts: the system clipboard or OSC 52.
pub mod clipboard;
/// `etwq export` and `-c --format parquet|arrow`: tables as files for other engines.
pub mod export;
pub mod interrupt;
pub mod memory;
pub mod progress;
pub mod repl;
/// `etwq report`: a one-page overview of a trace, as text or HTML.
pub mod report;
pub mod script;
pub mod setup;
