//! The one API that the command line, the shell and scripts call: open
//! traces, ask questions, name stack frames, keep saved queries.
mod completion;
mod decode_check;
pub mod dump;
mod export_source;
mod memory_check;
mod pipeline;
mod session;
mod session_script;
mod session_shell;
mod session_sql;
mod session_symbols;
mod stack_filter;
pub mod strace;
pub mod summary;
mod symbols_state;
mod value_cache;
mod views;

pub use completion::CHEAP_RECORDS;
pub use decode_check::{DecodeCheck, DecodeFailure};
pub use export_source::TraceHeader;
pub use session::{NotBuilt, Session};
pub use value_cache::MAX_VALUES;

// The vocabulary of the API, so that a front end needs no crate below this one.
/// What a query returns and the values in it.
pub use columnar::{format_duration_ns, format_timestamp_ns, Column, ColumnBuilder, DataTable, Value};
/// The name of an NTSTATUS code, if it has one (`STATUS_ACCESS_DENIED`).
pub use decode::ntstatus::status_name;
/// The name of an NTSTATUS code, or the code in hex.
pub use decode::ntstatus::status_text;
/// The built-in demo trace, for `etwq demo --write`.
pub use demo::demo_trace_bytes;
/// The tables and their columns: names, types and docs.
pub use model::schema::{tables as table_schemas, ColumnSchema, TableSchema};
/// How far opening a trace and building its tables has got.
pub use progress::{Progress, Stage, Total};
/// The query language's function names and their one-line help, for completion and `.help`.
pub use query::functions::{all_function_names, function_help};
/// The words that cannot name a column, those that start a clause, and the views that may end a query after `|`.
pub use query::grammar::{CLAUSE_WORDS, KEYWORDS, VIEW_NAMES};
pub use query::{ErrorKind, QueryError};
pub use session_script::*;
pub use session_shell::*;
pub use session_sql::Dialect;
