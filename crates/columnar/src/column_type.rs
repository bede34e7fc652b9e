//! The types a column can hold, and which one holds a given value.
use super::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    I64,
    U64,
    F64,
    Bool,
    Str,
    /// i64 nanoseconds since trace start.
    Timestamp,
    /// i64 nanoseconds.
    Duration,
    /// u64 shown as 0x...
    Address,
    /// u32 NTSTATUS, HRESULT or exit code, shown as 0xC0000034.
    Status,
    /// A per-row map of decoded event fields (`fields.Name` in queries).
    Fields,
}

impl ColumnType {
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::I64 => "i64",
            ColumnType::U64 => "u64",
            ColumnType::F64 => "f64",
            ColumnType::Bool => "bool",
            ColumnType::Str => "string",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Duration => "duration",
            ColumnType::Address => "address",
            ColumnType::Status => "status",
            ColumnType::Fields => "fields",
        }
    }
}

/// The column type that holds a value; None for null.
pub fn value_type(value: &Value) -> Option<ColumnType> {
    Some(match value {
        Value::Null => return None,
        Value::I64(_) => ColumnType::I64,
        Value::U64(_) => ColumnType::U64,
        Value::F64(_) => ColumnType::F64,
        Value::Bool(_) => ColumnType::Bool,
        Value::Str(_) => ColumnType::Str,
        Value::Timestamp(_) => ColumnType::Timestamp,
        Value::Duration(_) => ColumnType::Duration,
        Value::Address(_) => ColumnType::Address,
        Value::Status(_) => ColumnType::Status,
        Value::Fields(_) => ColumnType::Fields,
    })
}
