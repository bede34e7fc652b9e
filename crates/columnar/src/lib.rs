//! Typed, columnar tables: the shape in which the model hands its tables to
//! the query engine. Knows nothing of ETL or of queries.
//!
//! A table is a list of named, documented columns of equal length. Strings are
//! dictionary-encoded so that a filter can run once per distinct value.
//! Columns share their stored values (a cloned table copies no rows), and a
//! column may be a selection of another's rows: a query that keeps part of a
//! table hands back row numbers over the table's values, not copies of them.
//!
//! A column can be deferred ([`Column::deferred`]): it promises a type and a
//! row count, and its values are made the first time anything reads them, so
//! a table offers every column and builds only those its queries read.
//!
//! Big tables are mostly small integers (CPUs, ids, opcodes, dictionary
//! codes): they are stored in the narrowest width their largest value needs
//! ([`UInts`]), and which rows are missing is one bit a row ([`Bitmap`]).
//!
//! How the model builds a table (plain vectors for numbers, an interning
//! builder for strings, one column at a time):
//!
//! ```
//! use etwq_columnar::{Column, DataTable, StrColumnBuilder, Value};
//! use std::sync::Arc;
//!
//! let mut func = StrColumnBuilder::with_capacity(2);
//! func.push("NtCreateFile");
//! func.push("NtCreateFile"); // stored once, two codes
//! let fields: Vec<etwq_columnar::FieldMap> = vec![
//!     Arc::from(vec![(Arc::from("FileName"), Value::Str(Arc::from("a.sys")))]),
//!     Arc::from(Vec::new()),
//! ];
//! let table = DataTable::new("syscalls")
//!     .with_column("ts", "entry time, ns since trace start", Column::timestamps(vec![10, 20]))?
//!     .with_column("duration_ns", "time in the call", Column::durations(vec![5, 7]))?
//!     .with_column("ret", "NTSTATUS", Column::u64(vec![0, 0xC000_0022]))?
//!     .with_column("func", "system call", func.finish())?
//!     .with_column("address", "", Column::addresses(vec![0xfffff800, 0]).with_validity(vec![true, false]))?
//!     .with_column("fields", "decoded payload", Column::fields(fields))?;
//! assert_eq!(table.row_count(), 2);
//! assert_eq!(table.column("address").unwrap().value(1), Value::Null);
//! # Ok::<(), etwq_columnar::LengthMismatch>(())
//! ```
mod bitmap;
mod builder;
mod column;
mod column_type;
mod dense;
mod dictionary;
mod field_rows;
mod stored;
mod table;
mod uints;
mod value;

pub use bitmap::Bitmap;
pub use builder::{ColumnBuilder, StrColumnBuilder};
pub use column::Column;
pub use column_type::{value_type, ColumnType};
pub use dense::{ColumnData, DenseColumn, StrData};
pub use dictionary::Dictionary;
pub use field_rows::{FieldRows, FieldSource, LazyFields, MAX_KEY};
pub use stored::MakeValues;
pub use table::{DataTable, LengthMismatch, NamedColumn};
pub use uints::UInts;
pub use value::{format_duration_ns, format_status, format_timestamp_ns, FieldMap, Value};
