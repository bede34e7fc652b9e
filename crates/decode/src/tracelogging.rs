//! TraceLogging: events that describe themselves. The EVENT_SCHEMA_TL extended
//! item holds the event's metadata (name and fields with their in/out types),
//! the PROV_TRAITS item the provider's name.
use super::schema::{Field, FieldType, Len, Name};
use etl::bytes::u16_at;
use etl::record::ext_type;
use etl::Record;
use std::collections::HashMap;
use std::sync::Arc;

/// In-type flags of a field's first metadata byte.
const IN_CHAIN: u8 = 0x80;
const IN_COUNT_MASK: u8 = 0x60;
const IN_CCOUNT: u8 = 0x20;
const IN_VCOUNT: u8 = 0x40;
const IN_CUSTOM: u8 = 0x60;
const IN_TYPE_MASK: u8 = 0x1F;
const OUT_CHAIN: u8 = 0x80;

/// A record's schema (or why its metadata is bad) and its provider's name.
pub type Lookup = (Result<Arc<TraceLoggingSchema>, String>, Option<Arc<str>>);

/// A parsed event metadata blob.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceLoggingSchema {
    pub event: Name,
    pub fields: Vec<Field>,
}

/// Metadata blobs repeat on every event; each distinct one is parsed once.
#[derive(Default)]
pub struct Cache {
    schemas: HashMap<Vec<u8>, Result<Arc<TraceLoggingSchema>, String>>,
    providers: HashMap<Vec<u8>, Arc<str>>,
}

impl Cache {
    /// The schema and provider name of a TraceLogging record; None for other records.
    pub fn lookup(&mut self, record: &Record<'_>) -> Option<Lookup> {
        let meta = record.extended.find(ext_type::EVENT_SCHEMA_TL)?;
        let schema =
            self.schemas.entry(meta.to_vec()).or_insert_with(|| parse_event_metadata(meta).map(Arc::new)).clone();
        let provider = record.extended.find(ext_type::PROV_TRAITS).and_then(|traits| {
            if let Some(name) = self.providers.get(traits) {
                return Some(name.clone());
            }
            let name: Arc<str> = Arc::from(provider_name(traits)?.as_str());
            self.providers.insert(traits.to_vec(), name.clone());
            Some(name)
        });
        Some((schema, provider))
    }
}

/// The provider name in a PROV_TRAITS blob: u16 total size, then UTF-8 name, NUL.
pub fn provider_name(traits: &[u8]) -> Option<String> {
    let rest = traits.get(2..)?;
    let end = rest.iter().position(|b| *b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

struct MetaReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl MetaReader<'_> {
    fn u8(&mut self) -> Result<u8, String> {
        let b = *self.data.get(self.pos).ok_or_else(|| format!("metadata ends at {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, String> {
        let v = u16_at(self.data, self.pos).ok_or_else(|| format!("metadata ends at {}", self.pos))?;
        self.pos += 2;
        Ok(v)
    }

    fn cstr(&mut self) -> Result<String, String> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let end = rest.iter().position(|b| *b == 0).ok_or_else(|| format!("unterminated name at {}", self.pos))?;
        self.pos += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    /// Skips a tag chain: bytes with the high bit meaning "another follows".
    fn skip_tags(&mut self) -> Result<(), String> {
        for _ in 0..4 {
            if self.u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Parses an EVENT_SCHEMA_TL blob: u16 size, tags, event name, then fields.
pub fn parse_event_metadata(meta: &[u8]) -> Result<TraceLoggingSchema, String> {
    let size = usize::from(u16_at(meta, 0).ok_or("metadata shorter than its size field")?);
    if size > meta.len() || size < 2 {
        return Err(format!("metadata size {size} does not fit its {} bytes", meta.len()));
    }
    let mut r = MetaReader { data: &meta[..size], pos: 2 };
    r.skip_tags()?;
    let event = r.cstr()?;
    let mut fields = Vec::new();
    while r.pos < r.data.len() {
        fields.push(read_field(&mut r, 0)?);
    }
    Ok(TraceLoggingSchema { event: Name::from(event), fields })
}

fn read_field(r: &mut MetaReader<'_>, depth: usize) -> Result<Field, String> {
    if depth > 16 {
        return Err("structs nest too deep".into());
    }
    let name = r.cstr()?;
    let in_byte = r.u8()?;
    let mut out_type = 0u8;
    if in_byte & IN_CHAIN != 0 {
        let out_byte = r.u8()?;
        out_type = out_byte & !OUT_CHAIN;
        if out_byte & OUT_CHAIN != 0 {
            r.skip_tags()?;
        }
    }
    let count_kind = in_byte & IN_COUNT_MASK;
    let mut count = Len::None;
    if count_kind == IN_CCOUNT {
        count = Len::Fixed(u32::from(r.u16()?));
    } else if count_kind == IN_VCOUNT {
        count = Len::Prefixed;
    } else if count_kind == IN_CUSTOM {
        let schema_len = usize::from(r.u16()?);
        r.pos = r.pos.saturating_add(schema_len);
        // A custom-serialized field: a u16 byte count and opaque bytes.
        return Ok(Field::owned(name, FieldType::BinaryCounted));
    }
    let in_type = in_byte & IN_TYPE_MASK;
    let ty = if in_type == 24 {
        // A struct: the out type holds its member count; the members follow.
        let members = (0..out_type).map(|_| read_field(r, depth + 1)).collect::<Result<Vec<_>, _>>()?;
        FieldType::Struct(members)
    } else {
        field_type(in_type, out_type).ok_or_else(|| format!("field {name:?} has unknown in-type {in_type}"))?
    };
    let mut field = Field::owned(name, ty);
    // Arrays of characters are strings; arrays of bytes are binary.
    if count == Len::Prefixed && out_type == 2 && matches!(field.ty, FieldType::U16 | FieldType::I16) {
        field.ty = FieldType::Utf16;
        field.len = Len::Prefixed;
    } else if count == Len::Prefixed && matches!(field.ty, FieldType::U8 | FieldType::I8) && out_type != 3 {
        field.ty = if out_type == 2 || out_type == 35 { FieldType::Ansi } else { FieldType::Binary };
        field.len = Len::Prefixed;
    } else {
        field.count = count;
    }
    Ok(field)
}

/// TlgIn* types with the TlgOut* hints that change how a value reads.
fn field_type(in_type: u8, out_type: u8) -> Option<FieldType> {
    use FieldType::*;
    Some(match (in_type, out_type) {
        (1, _) => Utf16,
        (2, _) => Ansi,
        (3, _) => I8,
        (4, 3) => Bool8,
        (4, _) => U8,
        (5, _) => I16,
        (6, 7) => PortBe,
        (6, _) => U16,
        (7, 13..=15) => Hex32,
        (7, _) => I32,
        (8, 3) => Bool32,
        (8, 4 | 13..=15) => Hex32,
        (8, 8) => Ipv4,
        (8, _) => U32,
        (9, _) => I64,
        (10, 4) => Hex64,
        (10, 16) => FileTime,
        (10, 37) => Pointer,
        (10, _) => U64,
        (11, _) => F32,
        (12, _) => F64,
        (13, _) => Bool32,
        (14, _) | (25, _) => BinaryCounted,
        (15, _) => Guid,
        (17, _) => FileTime,
        (18, _) => SystemTime,
        (19, _) => Sid,
        (20, _) => Hex32,
        (21, _) => Hex64,
        (22, _) => Utf16Counted,
        (23, _) => AnsiCounted,
        _ => return None,
    })
}

/// The event name as TraceLogging gives it.
pub fn event_name(schema: &TraceLoggingSchema) -> Name {
    schema.event.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_event_metadata_with_chained_out_types_and_counts() {
        let mut meta = vec![0u8, 0, 0];
        meta.extend_from_slice(b"Ev\0a\0\x02b\0\x84\x03c\0\xc6\x02d\0\x28\x03\x00");
        let size = meta.len() as u16;
        meta[..2].copy_from_slice(&size.to_le_bytes());
        let s = parse_event_metadata(&meta).unwrap();
        assert_eq!(s.event, "Ev");
        assert_eq!(s.fields[0].ty, FieldType::Ansi);
        assert_eq!(s.fields[1].ty, FieldType::Bool8);
        assert_eq!((s.fields[2].ty.clone(), s.fields[2].len.clone()), (FieldType::Utf16, Len::Prefixed));
        assert_eq!((s.fields[3].ty.clone(), s.fields[3].count.clone()), (FieldType::U32, Len::Fixed(3)));
    }

    #[test]
    fn signed_in_types_read_signed() {
        // TlgInINT8, INT16, INT32, INT64; in the order a payload holds them.
        let mut meta = vec![0u8, 0, 0];
        meta.extend_from_slice(b"Ev\0a\0\x03b\0\x05c\0\x07d\0\x09");
        let size = meta.len() as u16;
        meta[..2].copy_from_slice(&size.to_le_bytes());
        let schema = parse_event_metadata(&meta).unwrap();
        let mut payload = vec![0xFF];
        payload.extend_from_slice(&(-2i16).to_le_bytes());
        payload.extend_from_slice(&(-3i32).to_le_bytes());
        payload.extend_from_slice(&(-204i64).to_le_bytes());
        let values: Vec<_> =
            crate::schema::decode_payload(&schema.fields, &payload, 8).into_iter().map(|(_, v)| v).collect();
        use crate::Value;
        assert_eq!(values, [Value::I8(-1), Value::I16(-2), Value::I32(-3), Value::I64(-204)]);
    }

    #[test]
    fn lying_metadata_is_an_error_not_a_panic() {
        assert!(parse_event_metadata(&[0xff, 0xff, 0]).is_err());
        assert!(parse_event_metadata(&[5, 0, 0, b'x', b'y']).is_err());
        assert!(parse_event_metadata(&[7, 0, 0, b'E', 0, b'f', 0]).is_err());
    }
}
