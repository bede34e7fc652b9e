//! etwq's tables as Parquet and Arrow IPC files, for engines that read a whole
//! directory of traces as one dataset (DuckDB, Spark, Trino, pandas). Knows
//! nothing of ETW: it writes [`DataTable`]s, and the caller says where and with
//! which facts about the trace.
//!
//! Each etwq column becomes one Arrow column of the same name, in the same
//! order; some add a column after all of etwq's (see [`layout`]):
//!
//! | etwq type | Arrow type | added after etwq's columns |
//! | --- | --- | --- |
//! | i64, u64, f64, bool | Int64, UInt64, Float64, Boolean | |
//! | address | UInt64 | |
//! | string | Dictionary(Int32, Utf8) | |
//! | timestamp (ns since trace start) | Int64 | `<name>_utc`: Timestamp(ns, UTC) |
//! | duration | Int64 nanoseconds | |
//! | status | UInt32 | `<name>_name`: Utf8, the NTSTATUS name or null |
//! | fields | Utf8: one JSON object a row | |
//!
//! Tables are written a batch of rows at a time ([`ROWS_PER_BATCH`]): only
//! that many rows of a column are ever converted at once, so the memory an
//! export takes beyond the table itself stays small.
//!
//! [`DataTable`]: columnar::DataTable
mod arrays;
mod dataset;
mod fields_json;
mod files;
pub mod layout;

pub use dataset::{part_path, trace_id, traces_batch, TraceRow, TRACES_TABLE};
pub use fields_json::push_fields_json;
pub use files::{write_batches, write_table, ExportError, FileFormat, TableOptions, ROWS_PER_BATCH};
