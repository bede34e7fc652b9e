//! etwq's front ends: the interactive shell and rhai scripts. The one-shot
//! command line is main.rs. All of them drive the session crate's API.
pub mod memory;
pub mod repl;
pub mod script;
