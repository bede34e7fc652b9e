//! The types the planner checks expressions with.
use columnar::ColumnType;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// The `null` literal.
    Null,
    Bool,
    I64,
    U64,
    F64,
    Str,
    Timestamp,
    Duration,
    Address,
    Status,
    Fields,
    /// A value from an event's field map: its kind is known only per row.
    Any,
}

impl Type {
    pub fn of_column(column_type: ColumnType) -> Type {
        match column_type {
            ColumnType::I64 => Type::I64,
            ColumnType::U64 => Type::U64,
            ColumnType::F64 => Type::F64,
            ColumnType::Bool => Type::Bool,
            ColumnType::Str => Type::Str,
            ColumnType::Timestamp => Type::Timestamp,
            ColumnType::Duration => Type::Duration,
            ColumnType::Address => Type::Address,
            ColumnType::Status => Type::Status,
            ColumnType::Fields => Type::Fields,
        }
    }

    /// The column type a result of this type is stored in.
    pub fn column_type(self) -> Option<ColumnType> {
        Some(match self {
            Type::Bool => ColumnType::Bool,
            Type::I64 => ColumnType::I64,
            Type::U64 => ColumnType::U64,
            Type::F64 => ColumnType::F64,
            Type::Str => ColumnType::Str,
            Type::Timestamp => ColumnType::Timestamp,
            Type::Duration => ColumnType::Duration,
            Type::Address => ColumnType::Address,
            Type::Status => ColumnType::Status,
            Type::Fields => ColumnType::Fields,
            Type::Null | Type::Any => return None,
        })
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Type::I64 | Type::U64 | Type::F64 | Type::Timestamp | Type::Duration | Type::Address | Type::Status
        )
    }

    pub fn is_integer(self) -> bool {
        matches!(self, Type::I64 | Type::U64 | Type::Timestamp | Type::Duration | Type::Address | Type::Status)
    }

    /// Whether values of the two types can be compared (Any and Null match anything).
    pub fn comparable(self, other: Type) -> bool {
        matches!(self, Type::Any | Type::Null)
            || matches!(other, Type::Any | Type::Null)
            || (self.is_numeric() && other.is_numeric())
            || self == other
    }

    /// Usable where text is expected.
    pub fn is_text(self) -> bool {
        matches!(self, Type::Str | Type::Any | Type::Null)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Null => "null",
            Type::Bool => "bool",
            Type::I64 => "i64",
            Type::U64 => "u64",
            Type::F64 => "f64",
            Type::Str => "string",
            Type::Timestamp => "timestamp",
            Type::Duration => "duration",
            Type::Address => "address",
            Type::Status => "status",
            Type::Fields => "fields",
            Type::Any => "any",
        })
    }
}
