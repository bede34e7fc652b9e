//! The inverse of the schema reader: lays values out by a field list, so a
//! writer (the demo's scenarios) encodes events through the very layouts the
//! reader decodes them with, and a layout is written once. Hot paths store
//! by the offsets `fields::Layout` resolves from the same schemas.
use super::fields::fixed_width;
use super::schema::{Field, FieldType, Len};
use super::value::Value;
use std::fmt;

/// Why values could not be laid out by a field list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    pub field: String,
    pub what: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode field {}: {}", self.field, self.what)
    }
}

impl std::error::Error for EncodeError {}

/// How pointer-sized fields and the kernel's TOKEN_USER are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoder {
    /// 4 or 8, as the record's header kind says.
    pub pointer_size: u8,
    /// The kernel address a WmiSid's TOKEN_USER holds for its SID. The reader
    /// skips it, but it must not be 0: a zero there means "no SID".
    pub token_user_sid: u64,
}

impl Encoder {
    pub fn new(pointer_size: u8) -> Encoder {
        Encoder { pointer_size, token_user_sid: 0xFFFF_8000_0000_0010 }
    }

    /// Appends `values` laid out by `fields`: one value per field that the
    /// reader yields one for (padding takes none), in order. Optional fields
    /// at the end may be left out. A bit field stores its value into the
    /// bytes at the current position, which the following fields then cover.
    pub fn encode(&self, fields: &[Field], values: &[Value], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let mut pos = start;
        let mut values = values.iter();
        for field in fields {
            if let FieldType::Skip(n) = field.ty {
                pos += usize::from(n);
                grow(out, pos);
                continue;
            }
            let fail = |what: String| EncodeError { field: field.name.to_string(), what };
            let Some(value) = values.next() else {
                if field.optional {
                    break;
                }
                return Err(fail("no value given".into()));
            };
            if !matches!(field.count, Len::None) {
                return Err(fail("arrays with a count are not supported by the encoder".into()));
            }
            let len = match field.len {
                Len::None => None,
                Len::Fixed(n) => Some(n as usize),
                _ => return Err(fail("lengths from other fields are not supported by the encoder".into())),
            };
            pos = self.encode_one(field, len, value, pos, out).map_err(fail)?;
        }
        if let Some(extra) = values.next() {
            return Err(EncodeError {
                field: "(after the last)".into(),
                what: format!("value {extra:?} has no field"),
            });
        }
        grow(out, pos);
        Ok(())
    }

    /// Writes one value at `pos` and returns the position after it.
    fn encode_one(
        &self,
        field: &Field,
        len: Option<usize>,
        value: &Value,
        pos: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, String> {
        let ty = &field.ty;
        match (ty, len) {
            (FieldType::Bits { size, shift, width }, _) => {
                let size = usize::from(*size).min(8);
                let bits = integer(value, 8)?;
                if *width < 64 && bits >> width != 0 {
                    return Err(format!("{bits} does not fit {width} bits"));
                }
                grow(out, pos + size);
                let mut raw = [0u8; 8];
                raw[..size].copy_from_slice(&out[pos..pos + size]);
                let merged = u64::from_le_bytes(raw) | bits.checked_shl(u32::from(*shift)).unwrap_or(0);
                out[pos..pos + size].copy_from_slice(&merged.to_le_bytes()[..size]);
                // A bit field reads without moving past its bytes.
                Ok(pos)
            }
            (FieldType::Guid, _) => {
                let Value::Guid(guid) = value else { return Err(format!("{value:?} is not a GUID")) };
                Ok(put_bytes(out, pos, &guid.0))
            }
            (FieldType::Ansi | FieldType::Utf16 | FieldType::Binary, Some(units)) => {
                let size = if matches!(ty, FieldType::Utf16) { 2 * units } else { units };
                let mut bytes = text_or_binary_bytes(ty, value)?;
                if bytes.len() > size {
                    return Err(format!("{} bytes do not fit its {size}", bytes.len()));
                }
                bytes.resize(size, 0);
                Ok(put_bytes(out, pos, &bytes))
            }
            (FieldType::Ansi | FieldType::Utf16, None) => {
                let mut bytes = text_or_binary_bytes(ty, value)?;
                let unit = if matches!(ty, FieldType::Utf16) { 2 } else { 1 };
                if bytes.chunks(unit).any(|c| c.iter().all(|b| *b == 0)) {
                    return Err("a NUL inside a terminated string".into());
                }
                bytes.resize(bytes.len() + unit, 0);
                Ok(put_bytes(out, pos, &bytes))
            }
            (FieldType::Binary, None) => Ok(put_bytes(out, pos, &text_or_binary_bytes(ty, value)?)),
            (FieldType::Sid, _) => Ok(put_bytes(out, pos, &sid_bytes(value)?)),
            (FieldType::WmiSid, _) => {
                let sid = sid_bytes(value)?;
                if sid.is_empty() {
                    return Ok(put_bytes(out, pos, &[0; 4]));
                }
                if self.token_user_sid as u32 == 0 {
                    return Err("the TOKEN_USER's SID address must not end in 32 zero bits".into());
                }
                let ptr = usize::from(self.pointer_size);
                let mut token = vec![0u8; 2 * ptr];
                token[..ptr].copy_from_slice(&self.token_user_sid.to_le_bytes()[..ptr]);
                let pos = put_bytes(out, pos, &token);
                Ok(put_bytes(out, pos, &sid))
            }
            (FieldType::PointerArrayRest, _) => {
                let Value::Array(items) = value else { return Err(format!("{value:?} is not an array")) };
                let ptr = usize::from(self.pointer_size);
                let mut pos = pos;
                for item in items {
                    pos = put_bytes(out, pos, &integer(item, ptr)?.to_le_bytes()[..ptr]);
                }
                Ok(pos)
            }
            _ => {
                let Some(size) = fixed_width(field, self.pointer_size) else {
                    return Err(format!("{ty:?} fields are not supported by the encoder"));
                };
                let raw = match (ty, value) {
                    (FieldType::F32, Value::F32(v)) => u64::from(v.to_bits()),
                    (FieldType::F64, Value::F64(v)) => v.to_bits(),
                    (FieldType::F32 | FieldType::F64, _) => return Err(format!("{value:?} is not a float")),
                    (FieldType::FileTime, Value::FileTime(v)) => *v as u64,
                    (FieldType::Bool8 | FieldType::Bool32, Value::Bool(b)) => u64::from(*b),
                    (FieldType::PortBe, _) => u64::from((integer(value, 2)? as u16).swap_bytes()),
                    (FieldType::Ipv4 | FieldType::Ipv6 | FieldType::SystemTime, _) => {
                        return Err(format!("{ty:?} fields are not supported by the encoder"))
                    }
                    _ => integer(value, size)?,
                };
                Ok(put_bytes(out, pos, &raw.to_le_bytes()[..size]))
            }
        }
    }
}

fn grow(out: &mut Vec<u8>, len: usize) {
    if out.len() < len {
        out.resize(len, 0);
    }
}

fn put_bytes(out: &mut Vec<u8>, pos: usize, bytes: &[u8]) -> usize {
    grow(out, pos + bytes.len());
    out[pos..pos + bytes.len()].copy_from_slice(bytes);
    pos + bytes.len()
}

/// An integer value that fits `size` bytes, as unsigned or as signed.
fn integer(value: &Value, size: usize) -> Result<u64, String> {
    let raw = value.as_u64().ok_or_else(|| format!("{value:?} is not an integer"))?;
    if size >= 8 {
        return Ok(raw);
    }
    let bits = 8 * size as u32;
    let signed = matches!(value, Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_));
    let fits = raw >> bits == 0 || (signed && value.as_i64().is_some_and(|v| v < 0 && v >= -(1i64 << (bits - 1))));
    if fits {
        Ok(raw)
    } else {
        Err(format!("{value:?} does not fit {size} bytes"))
    }
}

fn text_or_binary_bytes(ty: &FieldType, value: &Value) -> Result<Vec<u8>, String> {
    match (ty, value) {
        (FieldType::Ansi, Value::Str(text)) => Ok(text.as_bytes().to_vec()),
        (FieldType::Utf16, Value::Str(text)) => Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
        (FieldType::Binary, Value::Binary(bytes)) => Ok(bytes.clone()),
        _ => Err(format!("{value:?} does not fit a {ty:?} field")),
    }
}

fn sid_bytes(value: &Value) -> Result<Vec<u8>, String> {
    match value {
        Value::Sid(bytes) if bytes.is_empty() || (bytes.len() >= 8 && bytes.len() == 8 + 4 * usize::from(bytes[1])) => {
            Ok(bytes.clone())
        }
        _ => Err(format!("{value:?} is not a SID in binary form")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{decode_payload, f, skip, FieldType::*};

    #[test]
    fn values_round_trip_through_a_layout() {
        const LAYOUT: &[Field] = &[
            f("P", Pointer),
            f("S", I8),
            f("Dpc", Bits { size: 1, shift: 0, width: 1 }),
            f("Priority", Bits { size: 1, shift: 3, width: 5 }),
            skip(1),
            f("Name", Utf16),
            f("A", Ansi),
            f("Sid", WmiSid),
            f("Later", U32).optional(),
        ];
        let values = vec![
            Value::Pointer(0x1234_5678),
            Value::I8(-3),
            Value::Bool(true),
            Value::U32(14),
            Value::Str("hé".into()),
            Value::Str("x".into()),
            Value::Sid(vec![1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]),
        ];
        for pointer_size in [4, 8] {
            let mut out = Vec::new();
            Encoder::new(pointer_size).encode(LAYOUT, &values, &mut out).unwrap();
            let decoded: Vec<Value> = decode_payload(LAYOUT, &out, pointer_size).into_iter().map(|(_, v)| v).collect();
            assert_eq!(decoded, values);
        }
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        let encoder = Encoder::new(8);
        let mut out = Vec::new();
        let err = encoder.encode(&[f("X", U8)], &[Value::U32(300)], &mut out).unwrap_err();
        assert_eq!(err.field, "X");
        assert!(encoder.encode(&[f("X", U8)], &[], &mut out).is_err());
        assert!(encoder.encode(&[f("X", U8)], &[Value::U8(1), Value::U8(2)], &mut out).is_err());
        assert!(encoder.encode(&[f("X", Utf16)], &[Value::Str("a\0b".into())], &mut out).is_err());
        assert!(encoder.encode(&[f("X", I8)], &[Value::I8(-128)], &mut out).is_ok());
    }
}
