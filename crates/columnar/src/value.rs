//! One cell of a table, for row access and for the per-row `fields` maps.
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// The decoded fields of one event, by name, in payload order.
pub type FieldMap = Arc<[(Arc<str>, Value)]>;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(Arc<str>),
    /// Nanoseconds since the start of the trace.
    Timestamp(i64),
    /// A span of nanoseconds.
    Duration(i64),
    /// A pointer-sized value shown in hex.
    Address(u64),
    /// An NTSTATUS, HRESULT or exit code: 32 bits shown as 0xC0000022.
    Status(u32),
    Fields(FieldMap),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as an exact integer, for numbers of any integer kind.
    pub fn as_i128(&self) -> Option<i128> {
        match *self {
            Value::I64(v) | Value::Timestamp(v) | Value::Duration(v) => Some(v.into()),
            Value::U64(v) | Value::Address(v) => Some(v.into()),
            Value::Status(v) => Some(v.into()),
            Value::Bool(b) => Some(b.into()),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F64(v) => Some(v),
            _ => self.as_i128().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Value::I64(_)
                | Value::U64(_)
                | Value::F64(_)
                | Value::Timestamp(_)
                | Value::Duration(_)
                | Value::Address(_)
                | Value::Status(_)
        )
    }

    /// Ordering across kinds where it means something: numbers of any kind with
    /// each other, strings with strings, booleans with booleans. Null and
    /// mismatched kinds have no order.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::F64(_), b) | (b, Value::F64(_)) if b.is_number() => {
                self.as_f64().zip(other.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
            }
            (a, b) if a.is_number() && b.is_number() => a.as_i128().zip(b.as_i128()).map(|(a, b)| a.cmp(&b)),
            _ => None,
        }
    }

    /// A total order for sorting: nulls last, then by kind where kinds differ.
    pub fn sort_order(&self, other: &Value) -> Ordering {
        match (self.is_null(), other.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => self.compare(other).unwrap_or_else(|| self.kind_rank().cmp(&other.kind_rank())),
        }
    }

    fn kind_rank(&self) -> u8 {
        match self {
            Value::Bool(_) => 0,
            v if v.is_number() => 1,
            Value::Str(_) => 2,
            Value::Fields(_) => 3,
            _ => 4,
        }
    }

    /// Looks a field up by name in a `Fields` value: as written, else without
    /// regard to case (as PerfView matches field names).
    pub fn field(&self, name: &str) -> Value {
        match self {
            Value::Fields(map) => map
                .iter()
                .find(|(n, _)| &**n == name)
                .or_else(|| map.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
                .map_or(Value::Null, |(_, v)| v.clone()),
            _ => Value::Null,
        }
    }
}

/// A status code as Windows tools print it: `0xC0000034`.
pub fn format_status(code: u32) -> String {
    format!("0x{code:08X}")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::I64(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Str(s) => f.write_str(s),
            Value::Timestamp(ns) => f.write_str(&format_timestamp_ns(*ns)),
            Value::Duration(ns) => f.write_str(&format_duration_ns(*ns)),
            Value::Address(v) => write!(f, "{v:#x}"),
            Value::Status(v) => write!(f, "{}", format_status(*v)),
            Value::Fields(map) => {
                for (i, (name, value)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}={value}")?;
                }
                Ok(())
            }
        }
    }
}

/// Seconds since trace start with nanosecond digits: `12.500000000`.
pub fn format_timestamp_ns(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
}

/// A duration in the largest unit that keeps it above one: `1.500 ms`.
pub fn format_duration_ns(ns: i64) -> String {
    let abs = ns.unsigned_abs();
    let (scale, unit) = match abs {
        0..=999 => return format!("{ns} ns"),
        1_000..=999_999 => (1e3, "us"),
        1_000_000..=999_999_999 => (1e6, "ms"),
        _ => (1e9, "s"),
    };
    format!("{:.3} {unit}", ns as f64 / scale)
}

/// Text and integers as values, for small tables built by hand.
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Arc::from(s))
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::U64(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_across_kinds() {
        assert_eq!(Value::U64(5).compare(&Value::I64(-1)), Some(Ordering::Greater));
        assert_eq!(Value::F64(1.5).compare(&Value::Duration(2)), Some(Ordering::Less));
        assert_eq!(Value::Str("a".into()).compare(&Value::I64(1)), None);
        assert_eq!(Value::Null.sort_order(&Value::I64(1)), Ordering::Greater);
    }

    #[test]
    fn readable_times() {
        assert_eq!(format_timestamp_ns(12_500_000_000), "12.500000000");
        assert_eq!(format_duration_ns(1_500_000), "1.500 ms");
        assert_eq!(format_duration_ns(999), "999 ns");
        assert!(!format_duration_ns(i64::MIN).is_empty());
    }
}
