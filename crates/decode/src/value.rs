//! Typed field values of decoded events, and their text and JSON renderings.
use etl::clock::filetime_to_utc;
use etl::Guid;
use std::fmt;

/// One decoded field value. Integers keep their width and sign; addresses are
/// `Pointer` so that they render as hex; a field the payload could not supply
/// is `Bad` with the reason.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    /// An address, 4 or 8 bytes in the trace, widened.
    Pointer(u64),
    /// An unsigned integer that its schema asks to show in hex (HResult, flags).
    Hex(u64),
    Bool(bool),
    F32(f32),
    F64(f64),
    Str(String),
    Guid(Guid),
    /// A SID in its binary form.
    Sid(Vec<u8>),
    /// 100 ns ticks since 1601-01-01 UTC.
    FileTime(i64),
    /// SYSTEMTIME: year, month, day of week, day, hour, minute, second, milliseconds.
    SystemTime([u16; 8]),
    Binary(Vec<u8>),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
    /// An integer with a name from a value map or bit map.
    Enum {
        value: u64,
        name: String,
    },
    /// The payload could not supply this field.
    Bad {
        why: String,
    },
}

impl Value {
    pub fn bad(why: impl Into<String>) -> Value {
        Value::Bad { why: why.into() }
    }

    pub fn is_bad(&self) -> bool {
        match self {
            Value::Bad { .. } => true,
            Value::Array(items) => items.iter().any(Value::is_bad),
            Value::Struct(fields) => fields.iter().any(|(_, v)| v.is_bad()),
            _ => false,
        }
    }

    /// Why the value, or the first bad value inside it, could not be decoded.
    pub fn bad_reason(&self) -> Option<&str> {
        match self {
            Value::Bad { why } => Some(why),
            Value::Array(items) => items.iter().find_map(Value::bad_reason),
            Value::Struct(fields) => fields.iter().find_map(|(_, v)| v.bad_reason()),
            _ => None,
        }
    }

    /// The value as an unsigned integer when it is one (for lengths and counts).
    pub fn as_u64(&self) -> Option<u64> {
        Some(match *self {
            Value::I8(v) => v as u64,
            Value::I16(v) => v as u64,
            Value::I32(v) => v as u64,
            Value::I64(v) => v as u64,
            Value::U8(v) => u64::from(v),
            Value::U16(v) => u64::from(v),
            Value::U32(v) => u64::from(v),
            Value::U64(v) | Value::Pointer(v) | Value::Hex(v) => v,
            Value::Bool(v) => u64::from(v),
            Value::Enum { value, .. } => value,
            _ => return None,
        })
    }

    /// The value as a signed integer when it is one, sign-extended from its width.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Value::I8(v) => i64::from(v),
            Value::I16(v) => i64::from(v),
            Value::I32(v) => i64::from(v),
            Value::I64(v) => v,
            _ => return self.as_u64().map(|v| v as i64),
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Enum { name, .. } => Some(name),
            _ => None,
        }
    }

    /// JSON: integers as numbers, addresses as "0x..." strings, times as
    /// ISO 8601 UTC, binary as a hex string, value maps by name.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::I8(v) => J::from(*v),
            Value::I16(v) => J::from(*v),
            Value::I32(v) => J::from(*v),
            Value::I64(v) => J::from(*v),
            Value::U8(v) => J::from(*v),
            Value::U16(v) => J::from(*v),
            Value::U32(v) => J::from(*v),
            Value::U64(v) => J::from(*v),
            // An address is a string; a number that is merely shown in hex stays a number.
            Value::Pointer(v) => J::from(format!("{v:#x}")),
            Value::Hex(v) => J::from(*v),
            Value::Bool(v) => J::from(*v),
            Value::F32(v) => serde_json::Number::from_f64(f64::from(*v)).map_or(J::Null, J::Number),
            Value::F64(v) => serde_json::Number::from_f64(*v).map_or(J::Null, J::Number),
            Value::Array(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Struct(fields) => {
                J::Object(fields.iter().map(|(name, value)| (name.clone(), value.to_json())).collect())
            }
            Value::Bad { why } => serde_json::json!({ "bad": why }),
            other => J::from(other.to_string()),
        }
    }
}

impl Value {
    /// Appends the value as JSON, as `to_json` renders it, without building
    /// a JSON tree first (the dump writes millions of these).
    pub fn write_json(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Value::I8(v) => write!(out, "{v}"),
            Value::I16(v) => write!(out, "{v}"),
            Value::I32(v) => write!(out, "{v}"),
            Value::I64(v) => write!(out, "{v}"),
            Value::U8(v) => write!(out, "{v}"),
            Value::U16(v) => write!(out, "{v}"),
            Value::U32(v) => write!(out, "{v}"),
            Value::U64(v) | Value::Hex(v) => write!(out, "{v}"),
            Value::Pointer(v) => write!(out, "\"{v:#x}\""),
            Value::Bool(v) => write!(out, "{v}"),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
                Ok(())
            }
            Value::Struct(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    text::push_json_string(out, name);
                    out.push(':');
                    value.write_json(out);
                }
                out.push('}');
                Ok(())
            }
            Value::Str(s) => {
                text::push_json_string(out, s);
                Ok(())
            }
            Value::Enum { name, .. } => {
                text::push_json_string(out, name);
                Ok(())
            }
            // The reason may quote the trace's own names.
            Value::Bad { why } => {
                out.push_str("{\"bad\":");
                text::push_json_string(out, why);
                out.push('}');
                Ok(())
            }
            other => {
                out.push_str(&other.to_json().to_string());
                Ok(())
            }
        }
        .unwrap_or(());
    }
}

/// SID text form: S-1-<authority>-<sub>-<sub>...
pub fn sid_to_string(sid: &[u8]) -> String {
    if sid.is_empty() {
        // The kernel logs no SID as four zero bytes.
        return String::new();
    }
    let (Some(&revision), Some(&count)) = (sid.first(), sid.get(1)) else {
        return String::from("S-?");
    };
    let authority = sid.get(2..8).map_or(0u64, |a| a.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)));
    let mut out = format!("S-{revision}-{authority}");
    for i in 0..usize::from(count) {
        match etl::bytes::u32_at(sid, 8 + 4 * i) {
            Some(sub) => out.push_str(&format!("-{sub}")),
            None => break,
        }
    }
    out
}

pub fn hex_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I8(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::U8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::Pointer(v) | Value::Hex(v) => write!(f, "{v:#x}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::Guid(g) => write!(f, "{g}"),
            Value::Sid(s) => write!(f, "{}", sid_to_string(s)),
            Value::FileTime(t) => write!(f, "{}", filetime_to_utc(*t)),
            Value::SystemTime(t) => {
                write!(f, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}", t[0], t[1], t[3], t[4], t[5], t[6], t[7])
            }
            Value::Binary(b) => write!(f, "{}", hex_bytes(b)),
            Value::Array(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
            Value::Struct(fields) => {
                write!(f, "{{")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{name}={value}")?;
                }
                write!(f, "}}")
            }
            Value::Enum { name, .. } => write!(f, "{name}"),
            Value::Bad { why } => write!(f, "<bad: {why}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_numbers_and_writes_addresses_as_hex() {
        assert_eq!(Value::U64(u64::MAX).to_json(), serde_json::json!(u64::MAX));
        assert_eq!(Value::I32(-5).to_json(), serde_json::json!(-5));
        assert_eq!(Value::Pointer(0x7ff0).to_json(), serde_json::json!("0x7ff0"));
        assert_eq!(Value::F64(f64::NAN).to_json(), serde_json::Value::Null);
        assert_eq!(Value::FileTime(0).to_json(), serde_json::json!("1601-01-01T00:00:00.0000000Z"));
        let s = Value::Struct(vec![("a".into(), Value::Bool(true))]);
        assert_eq!(s.to_json(), serde_json::json!({"a": true}));
        assert_eq!(Value::bad("short").to_json(), serde_json::json!({"bad": "short"}));
    }

    #[test]
    fn written_json_is_what_to_json_gives() {
        let values = [
            Value::I64(-3),
            Value::Hex(255),
            Value::Pointer(16),
            Value::Str("a\"b\\c\n\u{1}é".into()),
            Value::Enum { value: 1, name: "One".into() },
            Value::Array(vec![Value::Bool(true), Value::F64(0.5), Value::F32(f32::NAN)]),
            Value::Struct(vec![("k\"".into(), Value::Guid(etl::Guid::ZERO))]),
            Value::Binary(vec![1, 2]),
            Value::bad("why"),
            Value::SystemTime([2021, 9, 4, 9, 14, 59, 35, 799]),
        ];
        for v in values {
            let mut out = String::new();
            v.write_json(&mut out);
            let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(parsed, v.to_json(), "{v:?}");
        }
    }

    /// DEL and C1 controls from a trace leave as escapes, like C0 ones, and parse back.
    #[test]
    fn json_strings_escape_del_and_c1_controls() {
        let hostile = "a\u{1b}]52;c;x\u{7}b\u{7f}c\u{80}d\u{9b}2Je\u{9f}é\u{a0}";
        for v in
            [Value::Str(hostile.into()), Value::bad(hostile), Value::Struct(vec![(hostile.into(), Value::Bool(true))])]
        {
            let mut out = String::new();
            v.write_json(&mut out);
            for raw in ['\u{1b}', '\u{7}', '\u{7f}', '\u{80}', '\u{9b}', '\u{9f}'] {
                assert!(!out.contains(raw), "{raw:?} raw in {out}");
            }
            for escape in ["\\u001b", "\\u007f", "\\u0080", "\\u009b", "\\u009f"] {
                assert!(out.contains(escape), "no {escape} in {out}");
            }
            // Printable text beyond C1 stays as it is.
            assert!(out.contains("é\u{a0}"), "{out}");
            let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(parsed, v.to_json(), "{v:?}");
        }
    }

    #[test]
    fn sids_render_in_text_form() {
        let sid = [1u8, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0];
        assert_eq!(sid_to_string(&sid), "S-1-5-32-544");
        assert_eq!(sid_to_string(&[1]), "S-?");
    }
}
