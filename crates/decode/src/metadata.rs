//! Schemas carried inside the trace by KernelTraceControl MetaData events: a
//! TRACE_EVENT_INFO blob per event type (EventInfo) and an EVENT_MAP_INFO
//! blob, after the provider GUID, per value or bit map (EventMapInfo).
//! Every offset and index in a blob is checked against the blob.
use super::schema::{Field, FieldType, Len, MapRef, Name, ValueMap};
use super::{EventSchema, SchemaKey};
use etl::bytes::{u16_at, u32_at, u8_at};
use etl::Guid;
use std::sync::Arc;

const HEADER_LEN: usize = 112;
const PROPERTY_LEN: usize = 24;
const MAP_HEADER_LEN: usize = 16;

/// PROPERTY_FLAGS.
const PROPERTY_STRUCT: u32 = 0x1;
const PROPERTY_PARAM_LENGTH: u32 = 0x2;
const PROPERTY_PARAM_COUNT: u32 = 0x4;
const PROPERTY_PARAM_FIXED_COUNT: u32 = 0x20;

/// DECODING_SOURCE: MOF classes are found by event GUID and opcode.
const DECODING_SOURCE_WBEM: u32 = 1;

pub struct ParsedEventInfo {
    pub key: SchemaKey,
    pub schema: EventSchema,
}

/// A UTF-16 string at `offset` of the blob; 0 means none.
fn string_at(blob: &[u8], offset: u32) -> Result<Option<String>, String> {
    if offset == 0 {
        return Ok(None);
    }
    let at = offset as usize;
    if at >= blob.len() {
        return Err(format!("string offset {at} is outside the {}-byte blob", blob.len()));
    }
    let mut units = Vec::new();
    let mut pos = at;
    loop {
        match u16_at(blob, pos) {
            Some(0) => break,
            Some(u) => units.push(u),
            None => return Err(format!("string at {at} is not terminated inside the blob")),
        }
        pos += 2;
    }
    Ok(Some(String::from_utf16_lossy(&units).trim().to_string()))
}

fn field_type(in_type: u16, out_type: u16) -> Option<FieldType> {
    use FieldType::*;
    Some(match (in_type, out_type) {
        (1, _) | (304, _) => Utf16,
        (2, _) | (305, _) => Ansi,
        (3, _) | (307, _) => I8,
        (4, 13) => Bool8,
        (4, _) => U8,
        (5, _) => I16,
        (6, 22) => PortBe,
        (6, _) | (306, _) => U16,
        (7, 29..=32) => Hex32,
        (7, _) => I32,
        (8, 18 | 29..=32) => Hex32,
        (8, 23) => Ipv4,
        (8, _) => U32,
        (9, _) => I64,
        (10, 19) => Hex64,
        (10, _) => U64,
        (11, _) => F32,
        (12, _) => F64,
        (13, _) => Bool32,
        (14, 24) => Ipv6,
        (14, 25) => SocketAddress,
        (14, _) | (309, _) => Binary,
        (15, _) => Guid,
        (16, _) => Pointer,
        (17, _) => FileTime,
        (18, _) => SystemTime,
        (19, _) => Sid,
        (310, _) => WmiSid,
        (20, _) => Hex32,
        (21, _) => Hex64,
        (22, _) | (300, _) => Utf16Counted,
        (23, _) | (301, _) => AnsiCounted,
        (25, _) => BinaryCounted,
        (308, _) => PointerUint,
        _ => return None,
    })
}

struct Blob<'a> {
    data: &'a [u8],
    property_count: usize,
    /// Properties parsed so far; bounded by the property count so that
    /// structs sharing ranges cannot make the work explode.
    parsed: usize,
}

impl Blob<'_> {
    fn property(&self, index: usize) -> Result<&[u8], String> {
        if index >= self.property_count {
            return Err(format!("property index {index} is not below the count {}", self.property_count));
        }
        let at = HEADER_LEN + index * PROPERTY_LEN;
        self.data
            .get(at..at + PROPERTY_LEN)
            .ok_or_else(|| format!("property {index} lies outside the {}-byte blob", self.data.len()))
    }

    /// Fields for properties `start..start + count`; lengths and counts that
    /// name a property index become indexes into this list.
    fn fields(&mut self, start: usize, count: usize, depth: usize) -> Result<Vec<Field>, String> {
        if depth > 8 {
            return Err("structs nest too deep".into());
        }
        let mut fields = Vec::with_capacity(count.min(self.property_count));
        for index in start..start.saturating_add(count) {
            self.parsed += 1;
            if self.parsed > self.property_count {
                return Err("structs refer to more properties than the blob has".into());
            }
            let p = self.property(index)?;
            let flags = u32_at(p, 0).unwrap_or(0);
            let name = string_at(self.data, u32_at(p, 4).unwrap_or(0))?.unwrap_or_default();
            let a = u16_at(p, 8).unwrap_or(0);
            let b = u16_at(p, 10).unwrap_or(0);
            let map_offset = u32_at(p, 12).unwrap_or(0);
            let count_value = u16_at(p, 16).unwrap_or(0);
            let length_value = u16_at(p, 18).unwrap_or(0);
            let ty = if flags & PROPERTY_STRUCT != 0 {
                FieldType::Struct(self.fields(usize::from(a), usize::from(b), depth + 1)?)
            } else {
                field_type(a, b).ok_or_else(|| format!("property {name:?} has unknown in-type {a}"))?
            };
            let mut field = Field::owned(name, ty);
            let local = |i: u16| -> Result<Len, String> {
                let i = usize::from(i);
                match i.checked_sub(start) {
                    Some(local) if i < index => Ok(Len::Field(local)),
                    _ => Err(format!(
                        "property {index} takes its length or count from property {i}, not an earlier sibling"
                    )),
                }
            };
            if flags & PROPERTY_PARAM_LENGTH != 0 {
                field.len = local(length_value)?;
            } else if length_value > 0 && !matches!(field.ty, FieldType::Struct(_)) && is_sized(&field.ty) {
                field.len = Len::Fixed(u32::from(length_value));
            }
            if flags & PROPERTY_PARAM_COUNT != 0 {
                field.count = local(count_value)?;
            } else if count_value > 1 || flags & PROPERTY_PARAM_FIXED_COUNT != 0 {
                field.count = Len::Fixed(u32::from(count_value));
            }
            if flags & PROPERTY_STRUCT == 0 && map_offset != 0 {
                if let Some(map_name) = string_at(self.data, map_offset)? {
                    field.map = Some(MapRef::Named(Arc::from(map_name.as_str())));
                }
            }
            fields.push(field);
        }
        Ok(fields)
    }
}

/// Types whose TDH length means a size (strings in characters, binary in bytes).
fn is_sized(ty: &FieldType) -> bool {
    matches!(ty, FieldType::Utf16 | FieldType::Ansi | FieldType::Binary | FieldType::SocketAddress | FieldType::Ipv6)
}

/// Parses a TRACE_EVENT_INFO blob into the schema of one event type.
pub fn parse_event_info(blob: &[u8]) -> Result<ParsedEventInfo, String> {
    if blob.len() < HEADER_LEN {
        return Err(format!("{} bytes is shorter than the {HEADER_LEN}-byte TRACE_EVENT_INFO header", blob.len()));
    }
    let word = |at: usize| u32_at(blob, at).unwrap_or(0);
    let provider_guid = Guid::from_bytes(&blob[0..16]).unwrap_or(Guid::ZERO);
    let event_guid = Guid::from_bytes(&blob[16..32]).unwrap_or(Guid::ZERO);
    let id = u16_at(blob, 32).unwrap_or(0);
    let version = u8_at(blob, 34).unwrap_or(0);
    let opcode = u8_at(blob, 37).unwrap_or(0);
    let decoding_source = word(48);
    let provider = string_at(blob, word(52))?.unwrap_or_else(|| provider_guid.to_string());
    let task = string_at(blob, word(68))?;
    let opcode_name = string_at(blob, word(72))?.map(|o| o.trim_start_matches("win:").to_string());
    let property_count = word(100) as usize;
    let top_level = word(104) as usize;
    if top_level > property_count {
        return Err(format!("{top_level} top-level properties but only {property_count} in all"));
    }
    let needed = property_count.checked_mul(PROPERTY_LEN).and_then(|n| n.checked_add(HEADER_LEN));
    if needed.is_none_or(|n| n > blob.len()) {
        return Err(format!("{property_count} properties do not fit the {}-byte blob", blob.len()));
    }
    let mut reader = Blob { data: blob, property_count, parsed: 0 };
    let fields = reader.fields(0, top_level, 0)?;
    let name = match (task.filter(|t| !t.is_empty()), opcode_name.filter(|o| !o.is_empty() && o != "Info")) {
        (Some(t), Some(o)) => format!("{t}/{o}"),
        (Some(t), None) => t,
        (None, Some(o)) => o,
        (None, None) => format!("EventID({id})"),
    };
    let key = if decoding_source == DECODING_SOURCE_WBEM {
        SchemaKey { guid: event_guid, id: 0, opcode, version }
    } else {
        SchemaKey { guid: provider_guid, id, opcode, version }
    };
    Ok(ParsedEventInfo { key, schema: EventSchema { provider: Name::from(provider), name: Name::from(name), fields } })
}

/// Parses an EventMapInfo payload: the provider GUID, then EVENT_MAP_INFO.
pub fn parse_event_map_info(payload: &[u8]) -> Result<(Guid, String, ValueMap), String> {
    let provider = Guid::from_bytes(payload).ok_or("EventMapInfo shorter than its provider GUID")?;
    let blob = &payload[16..];
    if blob.len() < MAP_HEADER_LEN {
        return Err(format!("{} bytes is shorter than an EVENT_MAP_INFO header", blob.len()));
    }
    let name = string_at(blob, u32_at(blob, 0).unwrap_or(0))?.ok_or("map without a name")?;
    let flags = u32_at(blob, 4).unwrap_or(0);
    let count = u32_at(blob, 8).unwrap_or(0) as usize;
    if count.checked_mul(8).and_then(|n| n.checked_add(MAP_HEADER_LEN)).is_none_or(|n| n > blob.len()) {
        return Err(format!("{count} map entries do not fit the {}-byte blob", blob.len()));
    }
    // MANIFEST_BITMAP and WBEM_BITMAP.
    let bitmap = flags & (0x2 | 0x10) != 0;
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let at = MAP_HEADER_LEN + i * 8;
        let text = string_at(blob, u32_at(blob, at).unwrap_or(0))?.unwrap_or_default();
        entries.push((u64::from(u32_at(blob, at + 4).unwrap_or(0)), text));
    }
    Ok((provider, name, ValueMap { bitmap, entries }))
}

/// Whether any field of `fields` waits for the map `name`.
pub fn uses_map(fields: &[Field], name: &str) -> bool {
    fields.iter().any(|f| {
        matches!(&f.map, Some(MapRef::Named(n)) if &**n == name)
            || matches!(&f.ty, FieldType::Struct(inner) if uses_map(inner, name))
    })
}

/// Points the fields that wait for map `name` at it.
pub fn apply_map(fields: &mut [Field], name: &str, map: &Arc<ValueMap>) {
    for f in fields {
        if matches!(&f.map, Some(MapRef::Named(n)) if &**n == name) {
            f.map = Some(MapRef::Dynamic(map.clone()));
        }
        if let FieldType::Struct(inner) = &mut f.ty {
            apply_map(inner, name, map);
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Builds a TRACE_EVENT_INFO blob: properties are (name, in type, out type,
    /// flags, count, length); strings go after the property array.
    pub fn event_info_blob(provider: &str, task: &str, props: &[(&str, u16, u16, u32, u16, u16)]) -> Vec<u8> {
        let mut blob = vec![0u8; HEADER_LEN + props.len() * PROPERTY_LEN];
        blob[0] = 0x11;
        blob[32] = 7; // event id
        let put_str = |blob: &mut Vec<u8>, text: &str| -> u32 {
            let at = blob.len() as u32;
            for u in text.encode_utf16().chain([0]) {
                blob.extend_from_slice(&u.to_le_bytes());
            }
            at
        };
        let p = put_str(&mut blob, provider);
        blob[52..56].copy_from_slice(&p.to_le_bytes());
        let t = put_str(&mut blob, task);
        blob[68..72].copy_from_slice(&t.to_le_bytes());
        blob[100..104].copy_from_slice(&(props.len() as u32).to_le_bytes());
        blob[104..108].copy_from_slice(&(props.len() as u32).to_le_bytes());
        for (i, (name, in_t, out_t, flags, count, length)) in props.iter().enumerate() {
            let n = put_str(&mut blob, name);
            let at = HEADER_LEN + i * PROPERTY_LEN;
            blob[at..at + 4].copy_from_slice(&flags.to_le_bytes());
            blob[at + 4..at + 8].copy_from_slice(&n.to_le_bytes());
            blob[at + 8..at + 10].copy_from_slice(&in_t.to_le_bytes());
            blob[at + 10..at + 12].copy_from_slice(&out_t.to_le_bytes());
            blob[at + 16..at + 18].copy_from_slice(&count.to_le_bytes());
            blob[at + 18..at + 20].copy_from_slice(&length.to_le_bytes());
        }
        blob
    }

    #[test]
    fn event_info_gives_names_and_fields_with_lengths_from_other_fields() {
        let blob =
            event_info_blob("Prov", "GC", &[("Size", 8, 0, 0, 1, 0), ("Data", 14, 0, PROPERTY_PARAM_LENGTH, 1, 0)]);
        let info = parse_event_info(&blob).unwrap();
        assert_eq!(info.schema.provider, "Prov");
        assert_eq!(info.schema.name, "GC");
        assert_eq!(info.key.id, 7);
        assert_eq!(info.schema.fields[1].len, Len::Field(0));
    }

    #[test]
    fn signed_in_types_read_signed() {
        // TDH_INTYPE_INT8, INT16, INT32, INT64.
        let props = [("A", 3, 0, 0, 1, 0), ("B", 5, 0, 0, 1, 0), ("C", 7, 0, 0, 1, 0), ("D", 9, 0, 0, 1, 0)];
        let info = parse_event_info(&event_info_blob("P", "T", &props)).unwrap();
        let mut payload = vec![0xFF];
        payload.extend_from_slice(&(-2i16).to_le_bytes());
        payload.extend_from_slice(&(-3i32).to_le_bytes());
        payload.extend_from_slice(&(-204i64).to_le_bytes());
        let values: Vec<_> =
            crate::schema::decode_payload(&info.schema.fields, &payload, 8).into_iter().map(|(_, v)| v).collect();
        use crate::Value;
        assert_eq!(values, [Value::I8(-1), Value::I16(-2), Value::I32(-3), Value::I64(-204)]);
    }

    #[test]
    fn lying_blobs_are_errors() {
        let mut blob = event_info_blob("P", "T", &[("A", 8, 0, 0, 1, 0)]);
        blob[100] = 200; // more properties than fit
        assert!(parse_event_info(&blob).is_err());
        let mut blob = event_info_blob("P", "T", &[("A", 8, 0, 0, 1, 0)]);
        blob[52..56].copy_from_slice(&9999u32.to_le_bytes()); // name outside
        assert!(parse_event_info(&blob).is_err());
        let blob = event_info_blob("P", "T", &[("A", 14, 0, PROPERTY_PARAM_LENGTH, 1, 5)]);
        assert!(parse_event_info(&blob).is_err(), "length from a later property");
        // A struct that contains itself.
        let mut blob = event_info_blob("P", "T", &[("S", 0, 1, PROPERTY_STRUCT, 1, 0)]);
        blob[HEADER_LEN + 8] = 0;
        assert!(parse_event_info(&blob).is_err());
        assert!(parse_event_info(&[0; 10]).is_err());
        assert!(parse_event_map_info(&[0; 20]).is_err());
    }
}
