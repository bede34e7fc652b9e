//! Typed, columnar tables: the shape in which the model hands its tables to
//! the query engine. Knows nothing of ETL or of queries.
//!
//! A table is a list of named, documented columns of equal length. Strings are
//! dictionary-encoded so that a filter can run once per distinct value.
mod column;
mod dictionary;
mod table;
mod value;

pub use column::{value_type, Column, ColumnBuilder, ColumnData, ColumnType, StrColumnBuilder, StrData};
pub use dictionary::Dictionary;
pub use table::{DataTable, LengthMismatch, NamedColumn};
pub use value::{format_duration_ns, format_timestamp_ns, FieldMap, Value};
