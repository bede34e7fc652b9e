//! Builds a schema of nested structs and arrays from the input, then decodes
//! the rest of the input by it. The schema bytes come first: each field is an
//! op byte (type in bits 0..3, count kind in bits 4..5) followed, for a fixed
//! count, by a count byte pair, and for a struct by its member count; structs
//! nest up to 40 levels, past the reader's own limit. Whatever the schema asks
//! for, decoding must not panic, and the values it makes must stay within
//! what the payload's size allows (run with -rss_limit_mb and -malloc_limit_mb
//! to catch a runaway allocation).
#![no_main]

use decode::schema::{decode_payload, Field, FieldType, Len};
use decode::Value;
use libfuzzer_sys::fuzz_target;

struct SchemaBytes<'a> {
    data: &'a [u8],
    pos: usize,
    /// Fields made so far; a schema is at most this big.
    fields: usize,
}

impl SchemaBytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn fields(&mut self, count: usize, depth: usize) -> Vec<Field> {
        let mut out = Vec::new();
        for index in 0..count {
            if self.fields >= 256 || self.pos >= self.data.len() {
                break;
            }
            self.fields += 1;
            let op = self.byte();
            let ty = match op & 0x0F {
                0 => FieldType::U8,
                1 => FieldType::I16,
                2 => FieldType::U32,
                3 => FieldType::I64,
                4 => FieldType::Utf16,
                5 => FieldType::Ansi,
                6 => FieldType::Binary,
                7 => FieldType::Bool8,
                _ if depth < 40 => {
                    let members = usize::from(self.byte() % 4);
                    FieldType::Struct(self.fields(members, depth + 1))
                }
                _ => FieldType::U8,
            };
            let mut field = Field::owned(format!("f{depth}_{index}"), ty);
            field.count = match (op >> 4) & 0x3 {
                0 => Len::None,
                1 => Len::Fixed(u32::from(u16::from_le_bytes([self.byte(), self.byte()]))),
                2 if index > 0 => Len::Field(usize::from(self.byte()) % index),
                _ => Len::Prefixed,
            };
            if op & 0x40 != 0 && index > 0 {
                field.len = Len::Field(usize::from(self.byte()) % index);
            }
            out.push(field);
        }
        out
    }
}

/// Values in a decoded value, nested ones included.
fn value_count(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(value_count).sum::<usize>(),
        Value::Struct(members) => 1 + members.iter().map(|(_, v)| value_count(v)).sum::<usize>(),
        _ => 1,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&schema_len, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(schema_len).min(rest.len());
    let (schema, payload) = rest.split_at(split);
    let mut bytes = SchemaBytes { data: schema, pos: 0, fields: 0 };
    let fields = bytes.fields(usize::MAX, 0);
    let decoded = decode_payload(&fields, payload, 8);
    let values: usize = decoded.iter().map(|(_, v)| value_count(v)).sum();
    // Every value costs the reader at least a byte of its 256-per-payload-byte budget.
    assert!(values <= 256 * payload.len() + 4096 + fields.len(), "{values} values from {} bytes", payload.len());
    for (_, value) in &decoded {
        let _ = value.to_string();
        let _ = value.to_json();
    }
});
