//! etwq: read Windows ETW traces (.etl) natively and ask them questions.
pub mod columnar;
pub mod decode;
pub mod demo;
pub mod dump;
pub mod etl;
pub mod model;
pub mod progress;
pub mod query;
pub mod repl;
pub mod script;
pub mod session;
pub mod session_script;
pub mod session_shell;
pub mod session_stacks;
pub mod summary;
pub mod symbols;
pub mod table;
