//! The one API that the command line, the shell and scripts call: open
//! traces, ask questions, name stack frames, keep saved queries.
pub mod dump;
mod session;
mod session_script;
mod session_shell;
mod session_stacks;
pub mod summary;

pub use session::{LoadedTrace, Session};
pub use session_script::*;
pub use session_shell::*;
