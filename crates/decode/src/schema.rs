//! Field layouts as data, and the one interpreter that reads a payload by them.
//! Kernel classes, KernelTraceControl, embedded TRACE_EVENT_INFO, manifests and
//! TraceLogging all become a `Vec<Field>`/`&[Field]`; nothing parses by hand.
use super::value::Value;
use etl::bytes::{u16_at, u32_at, u64_at, u8_at};
use etl::Guid;
use std::sync::Arc;

pub use super::name::Name;

/// How one field is stored in the payload.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    /// An address, pointer-sized (4 or 8 bytes by the record).
    Pointer,
    /// A pointer-sized unsigned number (SIZE_T, ULONG_PTR counts).
    PointerUint,
    /// Unsigned integers shown in hex.
    Hex32,
    Hex64,
    Bool8,
    Bool32,
    F32,
    F64,
    /// ANSI/UTF-8 text: NUL-terminated, or `len` bytes when a length is given.
    Ansi,
    /// UTF-16LE text: NUL-terminated, or `len` units when a length is given
    /// (a fixed-size buffer; NUL padding is dropped).
    Utf16,
    /// A u16 byte count, then that many bytes of UTF-16 (TDH COUNTEDSTRING).
    Utf16Counted,
    /// A u16 byte count, then that many bytes of ANSI (TDH COUNTEDANSISTRING).
    AnsiCounted,
    Guid,
    /// A SID as the kernel logs it: 4 zero bytes for none, else a TOKEN_USER
    /// (two pointers) followed by the SID.
    WmiSid,
    /// A plain SID (revision, count, authority, sub-authorities).
    Sid,
    FileTime,
    SystemTime,
    /// A u16 in network byte order (TCP/UDP ports).
    PortBe,
    Ipv4,
    Ipv6,
    /// `len` bytes of binary; without a length, the rest of the payload.
    Binary,
    /// A u16 byte count, then that many bytes (TraceLogging BINARY).
    BinaryCounted,
    /// `len` bytes of a SOCKADDR (IPv4 or IPv6 with port), shown as text.
    SocketAddress,
    /// Padding to skip; produces no field.
    Skip(u16),
    /// The rest of the payload as pointer-sized addresses (stack frames).
    PointerArrayRest,
    /// Nested fields (TDH structs).
    Struct(Vec<Field>),
    /// `width` bits at `shift` of the `size`-byte integer at the current
    /// position, without moving past it (flag bytes split into fields).
    /// One bit reads as a bool.
    Bits {
        size: u8,
        shift: u8,
        width: u8,
    },
}

/// Where a string's or binary's length, or an array's element count, comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Len {
    None,
    Fixed(u32),
    /// The integer value of an earlier field at this index of the same field list.
    Field(usize),
    /// A u16 in the payload right before the data (TraceLogging variable counts).
    Prefixed,
}

/// Names for integer values: a value map or a bit map.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueMap {
    pub bitmap: bool,
    pub entries: Vec<(u64, String)>,
}

impl ValueMap {
    pub fn name_of(&self, value: u64) -> Option<String> {
        map_name(self.bitmap, self.entries.iter().map(|(v, n)| (*v, n.as_str())), value)
    }
}

/// The name of `value` in a value map, or the names of its bits joined by
/// " | " in a bit map (with leftover bits in hex).
fn map_name<'s>(bitmap: bool, entries: impl Iterator<Item = (u64, &'s str)> + Clone, value: u64) -> Option<String> {
    if !bitmap || value == 0 {
        return entries.clone().find(|(v, _)| *v == value).map(|(_, n)| n.to_string());
    }
    let mut names = Vec::new();
    let mut rest = value;
    for (bits, name) in entries {
        if bits != 0 && value & bits == bits {
            names.push(name);
            rest &= !bits;
        }
    }
    if names.is_empty() {
        return None;
    }
    let mut text = names.join(" | ");
    if rest != 0 {
        text.push_str(&format!(" | {rest:#x}"));
    }
    Some(text)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: Name,
    pub ty: FieldType,
    pub len: Len,
    /// Array element count; `Len::None` for a single value.
    pub count: Len,
    pub map: Option<MapRef>,
    /// Absent rather than bad when the payload ends right before it (fields
    /// that later versions of an event appended).
    pub optional: bool,
}

/// A value map: built in (kernel tables) or read from a schema.
#[derive(Clone, Debug, PartialEq)]
pub enum MapRef {
    Static {
        bitmap: bool,
        entries: &'static [(u64, &'static str)],
    },
    Dynamic(Arc<ValueMap>),
    /// A map known by name that has not been seen yet (TDH metadata names
    /// maps that arrive in their own events); values show as numbers until then.
    Named(Arc<str>),
}

impl MapRef {
    pub fn name_of(&self, value: u64) -> Option<String> {
        match self {
            MapRef::Static { bitmap, entries } => map_name(*bitmap, entries.iter().map(|(v, n)| (*v, *n)), value),
            MapRef::Dynamic(map) => map.name_of(value),
            MapRef::Named(_) => None,
        }
    }
}

impl Field {
    pub const fn new(name: &'static str, ty: FieldType) -> Field {
        Field { name: Name::Static(name), ty, len: Len::None, count: Len::None, map: None, optional: false }
    }

    /// Marks a field that later versions appended (see `optional`).
    pub const fn optional(mut self) -> Field {
        self.optional = true;
        self
    }

    pub const fn with_map(mut self, bitmap: bool, entries: &'static [(u64, &'static str)]) -> Field {
        // Assignment would drop the old value, which const fns cannot; it is None anyway.
        std::mem::forget(self.map.replace(MapRef::Static { bitmap, entries }));
        self
    }

    /// A UTF-16 string in a fixed buffer of `units` code units.
    pub const fn fixed_utf16(name: &'static str, units: u32) -> Field {
        Field {
            name: Name::Static(name),
            ty: FieldType::Utf16,
            len: Len::Fixed(units),
            count: Len::None,
            map: None,
            optional: false,
        }
    }

    pub fn owned(name: String, ty: FieldType) -> Field {
        Field { name: Name::from(name), ty, len: Len::None, count: Len::None, map: None, optional: false }
    }
}

/// Short constructor for layout tables.
pub const fn f(name: &'static str, ty: FieldType) -> Field {
    Field::new(name, ty)
}

pub const fn skip(bytes: u16) -> Field {
    Field::new("", FieldType::Skip(bytes))
}

/// Bytes of decoded output (values, and the names of struct members) that one
/// event may make per byte of its payload. A value takes at least a byte of
/// payload, except empty structs, bit fields and zero lengths; arrays of
/// structs inside arrays of structs would otherwise multiply their counts
/// (100 bytes of payload asking for 90^7 values). A struct member costs about
/// 60 bytes of output plus its name, so real events stay far below this.
const OUTPUT_PER_PAYLOAD_BYTE: usize = 256;
/// Room for the few values that take no payload bytes in an empty payload.
const OUTPUT_FLOOR: usize = 4096;
/// Struct levels the reader follows; the schema parsers stop well before.
const MAX_STRUCT_DEPTH: u32 = 32;
const VALUE_COST: usize = std::mem::size_of::<Value>();
const MEMBER_COST: usize = std::mem::size_of::<(String, Value)>();

/// Reads fields from a payload.
pub struct PayloadReader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    pub pointer_size: u8,
    /// Decoded output this event may still make (see OUTPUT_PER_PAYLOAD_BYTE).
    budget: usize,
    /// Set when the budget ran out: nothing more is read, every enclosing
    /// struct fails too, so the event shows one clear reason.
    exhausted: bool,
    struct_depth: u32,
}

/// Why a single value could not be read; the caller marks the field bad.
type ReadResult = Result<Value, String>;

impl<'a> PayloadReader<'a> {
    pub fn new(data: &'a [u8], pointer_size: u8) -> Self {
        let budget = data.len().saturating_mul(OUTPUT_PER_PAYLOAD_BYTE).saturating_add(OUTPUT_FLOOR);
        PayloadReader { data, pos: 0, pointer_size, budget, exhausted: false, struct_depth: 0 }
    }

    /// Takes `cost` bytes of decoded output from the budget.
    fn charge(&mut self, cost: usize) -> Result<(), String> {
        match self.budget.checked_sub(cost) {
            Some(left) if !self.exhausted => {
                self.budget = left;
                Ok(())
            }
            _ => Err(self.out_of_budget()),
        }
    }

    fn out_of_budget(&mut self) -> String {
        self.exhausted = true;
        self.budget = 0;
        format!(
            "the schema asks for more decoded values than a {}-byte payload can hold; decoding stopped",
            self.data.len()
        )
    }

    fn need(&self, n: usize, what: &str) -> Result<usize, String> {
        let at = self.pos;
        match at.checked_add(n) {
            Some(end) if end <= self.data.len() => Ok(at),
            _ => Err(format!("{what} needs {n} bytes at payload offset {at}, the payload has {}", self.data.len())),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let at = self.need(n, what)?;
        self.pos = at + n;
        Ok(&self.data[at..at + n])
    }

    fn u8(&mut self) -> Result<u8, String> {
        let at = self.need(1, "u8")?;
        self.pos += 1;
        u8_at(self.data, at).ok_or_else(|| "u8".to_string())
    }

    fn u16(&mut self) -> Result<u16, String> {
        let at = self.need(2, "u16")?;
        self.pos += 2;
        u16_at(self.data, at).ok_or_else(|| "u16".to_string())
    }

    fn u32(&mut self) -> Result<u32, String> {
        let at = self.need(4, "u32")?;
        self.pos += 4;
        u32_at(self.data, at).ok_or_else(|| "u32".to_string())
    }

    fn u64(&mut self) -> Result<u64, String> {
        let at = self.need(8, "u64")?;
        self.pos += 8;
        u64_at(self.data, at).ok_or_else(|| "u64".to_string())
    }

    fn pointer(&mut self) -> Result<u64, String> {
        if self.pointer_size == 4 {
            self.u32().map(u64::from)
        } else {
            self.u64()
        }
    }

    /// UTF-16 up to a NUL; an unterminated string is an error carrying its text.
    fn utf16z(&mut self) -> ReadResult {
        let mut units = Vec::new();
        loop {
            match u16_at(self.data, self.pos) {
                Some(0) => {
                    self.pos += 2;
                    return Ok(Value::Str(String::from_utf16_lossy(&units)));
                }
                Some(unit) => {
                    units.push(unit);
                    self.pos += 2;
                }
                None => {
                    let text = String::from_utf16_lossy(&units);
                    self.pos = self.data.len();
                    return Err(format!("unterminated UTF-16 string {text:?}"));
                }
            }
        }
    }

    fn ansiz(&mut self) -> ReadResult {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        match rest.iter().position(|b| *b == 0) {
            Some(n) => {
                self.pos += n + 1;
                Ok(Value::Str(String::from_utf8_lossy(&rest[..n]).into_owned()))
            }
            None => {
                self.pos = self.data.len();
                Err(format!("unterminated string {:?}", String::from_utf8_lossy(rest)))
            }
        }
    }

    fn utf16_units(&mut self, units: usize) -> ReadResult {
        let bytes = self.take(units.checked_mul(2).ok_or("string length overflows")?, "UTF-16 string")?;
        let mut text: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        if let Some(nul) = text.iter().position(|u| *u == 0) {
            text.truncate(nul);
        }
        Ok(Value::Str(String::from_utf16_lossy(&text)))
    }

    fn ansi_bytes(&mut self, n: usize) -> ReadResult {
        let bytes = self.take(n, "string")?;
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        Ok(Value::Str(String::from_utf8_lossy(&bytes[..end]).into_owned()))
    }

    fn sid(&mut self) -> ReadResult {
        let at = self.need(8, "SID")?;
        let count = usize::from(self.data[at + 1]);
        let bytes = self.take(8 + 4 * count, "SID")?;
        Ok(Value::Sid(bytes.to_vec()))
    }

    /// Reads one value of `ty`; `len` is the resolved length when the field has one.
    fn read_one(&mut self, ty: &FieldType, len: Option<u64>, map: Option<&MapRef>) -> ReadResult {
        self.charge(VALUE_COST)?;
        let value = match ty {
            FieldType::I8 => Value::I8(self.u8()? as i8),
            FieldType::U8 => Value::U8(self.u8()?),
            FieldType::I16 => Value::I16(self.u16()? as i16),
            FieldType::U16 => Value::U16(self.u16()?),
            FieldType::I32 => Value::I32(self.u32()? as i32),
            FieldType::U32 => Value::U32(self.u32()?),
            FieldType::I64 => Value::I64(self.u64()? as i64),
            FieldType::U64 => Value::U64(self.u64()?),
            FieldType::Pointer => Value::Pointer(self.pointer()?),
            FieldType::PointerUint => Value::U64(self.pointer()?),
            FieldType::Hex32 => Value::Hex(u64::from(self.u32()?)),
            FieldType::Hex64 => Value::Hex(self.u64()?),
            FieldType::Bool8 => Value::Bool(self.u8()? != 0),
            FieldType::Bool32 => Value::Bool(self.u32()? != 0),
            FieldType::F32 => Value::F32(f32::from_bits(self.u32()?)),
            FieldType::F64 => Value::F64(f64::from_bits(self.u64()?)),
            FieldType::Ansi => match len {
                Some(n) => self.ansi_bytes(usize::try_from(n).map_err(|_| "length overflows")?)?,
                None => self.ansiz()?,
            },
            FieldType::Utf16 => match len {
                Some(n) => self.utf16_units(usize::try_from(n).map_err(|_| "length overflows")?)?,
                None => self.utf16z()?,
            },
            FieldType::Utf16Counted => {
                let bytes = usize::from(self.u16()?);
                self.utf16_units(bytes / 2)?
            }
            FieldType::AnsiCounted => {
                let bytes = usize::from(self.u16()?);
                self.ansi_bytes(bytes)?
            }
            FieldType::Guid => Value::Guid(Guid::from_bytes(self.take(16, "GUID")?).unwrap_or(Guid::ZERO)),
            FieldType::WmiSid => {
                let at = self.need(4, "SID")?;
                if u32_at(self.data, at) == Some(0) {
                    self.pos += 4;
                    Value::Sid(Vec::new())
                } else {
                    self.take(2 * usize::from(self.pointer_size), "TOKEN_USER")?;
                    self.sid()?
                }
            }
            FieldType::Sid => self.sid()?,
            FieldType::FileTime => Value::FileTime(self.u64()? as i64),
            FieldType::SystemTime => {
                let mut parts = [0u16; 8];
                for part in &mut parts {
                    *part = self.u16()?;
                }
                Value::SystemTime(parts)
            }
            FieldType::PortBe => {
                let b = self.take(2, "port")?;
                Value::U16(u16::from_be_bytes([b[0], b[1]]))
            }
            FieldType::Ipv4 => {
                let b = self.take(4, "IPv4 address")?;
                Value::Str(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
            }
            FieldType::Ipv6 => {
                let b = self.take(16, "IPv6 address")?;
                let mut octets = [0u8; 16];
                octets.copy_from_slice(b);
                Value::Str(std::net::Ipv6Addr::from(octets).to_string())
            }
            FieldType::Binary => {
                let n = match len {
                    Some(n) => usize::try_from(n).map_err(|_| "length overflows")?,
                    None => self.data.len().saturating_sub(self.pos),
                };
                Value::Binary(self.take(n, "binary")?.to_vec())
            }
            FieldType::Skip(n) => {
                self.take(usize::from(*n), "padding")?;
                return Ok(Value::Bad { why: String::new() });
            }
            FieldType::SocketAddress => {
                let n = match len {
                    Some(n) => usize::try_from(n).map_err(|_| "length overflows")?,
                    None => self.data.len().saturating_sub(self.pos),
                };
                socket_address(self.take(n, "socket address")?)
            }
            FieldType::BinaryCounted => {
                let n = usize::from(self.u16()?);
                Value::Binary(self.take(n, "binary")?.to_vec())
            }
            FieldType::PointerArrayRest => {
                let mut frames = Vec::new();
                while self.pos + usize::from(self.pointer_size) <= self.data.len() {
                    frames.push(Value::Pointer(self.pointer()?));
                }
                Value::Array(frames)
            }
            FieldType::Bits { size, shift, width } => {
                let at = self.need(usize::from(*size), "bit field")?;
                let raw = match size {
                    1 => u64::from(self.data[at]),
                    2 => u64::from(u16_at(self.data, at).unwrap_or(0)),
                    4 => u64::from(u32_at(self.data, at).unwrap_or(0)),
                    _ => u64_at(self.data, at).unwrap_or(0),
                };
                let mask = if *width >= 64 { u64::MAX } else { (1u64 << width) - 1 };
                let bits = raw.checked_shr(u32::from(*shift)).unwrap_or(0) & mask;
                if *width == 1 {
                    Value::Bool(bits != 0)
                } else {
                    Value::U32(bits as u32)
                }
            }
            FieldType::Struct(fields) => self.read_struct(fields)?,
        };
        Ok(match (map, value.as_u64()) {
            (Some(map), Some(n)) if !matches!(ty, FieldType::Pointer) => match map.name_of(n) {
                Some(name) => Value::Enum { value: n, name },
                None => value,
            },
            _ => value,
        })
    }

    fn read_struct(&mut self, fields: &[Field]) -> ReadResult {
        if self.struct_depth >= MAX_STRUCT_DEPTH {
            return Err(format!("structs nest deeper than {MAX_STRUCT_DEPTH} levels"));
        }
        // Each element of an array of structs copies the member names.
        let names: usize = fields.iter().map(|f| f.name.len()).sum();
        self.charge(names.saturating_add(fields.len().saturating_mul(MEMBER_COST)))?;
        self.struct_depth += 1;
        let members = self.read_fields(fields);
        self.struct_depth -= 1;
        if self.exhausted {
            return Err(self.out_of_budget());
        }
        Ok(Value::Struct(members.into_iter().map(|(name, value)| (name.to_string(), value)).collect()))
    }

    fn resolve(&mut self, len: &Len, decoded: &[Option<u64>]) -> Result<Option<u64>, String> {
        match len {
            Len::Prefixed => Ok(Some(u64::from(self.u16()?))),
            Len::None => Ok(None),
            Len::Fixed(n) => Ok(Some(u64::from(*n))),
            Len::Field(i) => match decoded.get(*i).copied().flatten() {
                Some(n) => Ok(Some(n)),
                None => Err(format!("length field #{i} is not an integer that was read")),
            },
        }
    }

    /// Reads a field list. A field that cannot be read is `Value::Bad`; the
    /// fields after it are bad too, since their place is no longer known.
    pub fn read_fields(&mut self, fields: &[Field]) -> Vec<(Name, Value)> {
        let mut out = Vec::with_capacity(fields.len());
        // Integer values by field index, for lengths and counts of later fields.
        let mut integers: Vec<Option<u64>> = Vec::with_capacity(fields.len());
        let mut broken = false;
        for field in fields {
            if field.optional && self.pos >= self.data.len() {
                integers.push(None);
                continue;
            }
            if broken {
                integers.push(None);
                if !matches!(field.ty, FieldType::Skip(_)) {
                    out.push((field.name.clone(), Value::bad("follows a bad field")));
                }
                continue;
            }
            let result = self.read_field(field, &integers);
            integers.push(result.as_ref().ok().and_then(Value::as_u64));
            if matches!(field.ty, FieldType::Skip(_)) && result.is_ok() {
                continue;
            }
            let value = result.unwrap_or_else(|why| {
                broken = true;
                Value::Bad { why }
            });
            out.push((field.name.clone(), value));
        }
        out
    }

    fn read_field(&mut self, field: &Field, integers: &[Option<u64>]) -> ReadResult {
        let count = self.resolve(&field.count, integers)?;
        let map = field.map.as_ref();
        match count {
            None => {
                let len = self.resolve(&field.len, integers)?;
                self.read_one(&field.ty, len, map)
            }
            Some(count) => {
                // Every element takes at least a byte, so a count larger than
                // the rest of the payload is a lie; do not allocate for it.
                let left = self.data.len().saturating_sub(self.pos) as u64;
                // (An empty struct takes no bytes; its count is capped instead.)
                let empty_struct = matches!(field.ty, FieldType::Struct(ref f) if f.is_empty());
                if (count > left && !empty_struct) || count > u64::from(u16::MAX) + 1 {
                    return Err(format!("array count {count} exceeds the {left} bytes left"));
                }
                // Every element costs at least a value: refuse before allocating.
                if count > (self.budget / VALUE_COST) as u64 {
                    return Err(self.out_of_budget());
                }
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    // A prefixed length belongs to each element.
                    let len = self.resolve(&field.len, integers)?;
                    items.push(self.read_one(&field.ty, len, map)?);
                }
                Ok(Value::Array(items))
            }
        }
    }
}

/// SOCKADDR_IN / SOCKADDR_IN6 as "a.b.c.d:port" or "[v6]:port"; other families as hex.
fn socket_address(bytes: &[u8]) -> Value {
    let family = u16_at(bytes, 0);
    let port = bytes.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    match (family, port) {
        (Some(2), Some(port)) if bytes.len() >= 8 => {
            Value::Str(format!("{}.{}.{}.{}:{port}", bytes[4], bytes[5], bytes[6], bytes[7]))
        }
        (Some(23), Some(port)) if bytes.len() >= 24 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&bytes[8..24]);
            Value::Str(format!("[{}]:{port}", std::net::Ipv6Addr::from(octets)))
        }
        _ => Value::Binary(bytes.to_vec()),
    }
}

/// Decodes `payload` by `fields`.
pub fn decode_payload(fields: &[Field], payload: &[u8], pointer_size: u8) -> Vec<(Name, Value)> {
    PayloadReader::new(payload, pointer_size).read_fields(fields)
}

#[cfg(test)]
mod tests {
    use super::FieldType::*;
    use super::*;

    #[test]
    fn reads_pointer_sized_fields_by_the_record() {
        const LAYOUT: &[Field] = &[f("Base", Pointer), f("Size", U32)];
        let data = [1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0];
        let v = decode_payload(LAYOUT, &data, 8);
        assert_eq!(v[0].1, Value::Pointer(1));
        assert_eq!(v[1].1, Value::U32(7));
        let v = decode_payload(LAYOUT, &data, 4);
        assert_eq!(v[0].1, Value::Pointer(1));
        assert_eq!(v[1].1, Value::U32(0));
    }

    #[test]
    fn short_payloads_mark_the_bad_field_and_the_rest() {
        const LAYOUT: &[Field] = &[f("A", U16), f("B", U32), f("C", U8)];
        let v = decode_payload(LAYOUT, &[1, 0, 2], 8);
        assert_eq!(v[0].1, Value::U16(1));
        assert!(v[1].1.is_bad());
        assert!(v[2].1.is_bad());
    }

    #[test]
    fn strings_terminated_counted_fixed_and_unterminated() {
        let layout = vec![f("A", Utf16), f("B", Ansi), Field::fixed_utf16("C", 3), f("D", Utf16Counted), f("E", Utf16)];
        let mut data = vec![b'h', 0, b'i', 0, 0, 0, b'x', 0, b'y', 0, 0, 0, 0, 0, 4, 0, b'o', 0, b'k', 0];
        data.extend_from_slice(&[b'z', 0]);
        let v = decode_payload(&layout, &data, 8);
        assert_eq!(v[0].1, Value::Str("hi".into()));
        assert_eq!(v[1].1, Value::Str("x".into()));
        assert_eq!(v[2].1, Value::Str("y".into()));
        assert_eq!(v[3].1, Value::Str("ok".into()));
        assert!(matches!(&v[4].1, Value::Bad { why } if why.contains("unterminated")));
    }

    #[test]
    fn lengths_and_counts_from_other_fields() {
        let mut arr = Field::owned("Items".into(), U16);
        arr.count = Len::Field(0);
        let mut bin = Field::owned("Blob".into(), Binary);
        bin.len = Len::Field(0);
        let layout = vec![f("N", U8), arr, bin];
        let v = decode_payload(&layout, &[2, 5, 0, 6, 0, 0xAA, 0xBB], 8);
        assert_eq!(v[1].1, Value::Array(vec![Value::U16(5), Value::U16(6)]));
        assert_eq!(v[2].1, Value::Binary(vec![0xAA, 0xBB]));
        // A count that cannot fit is refused without allocating.
        let v = decode_payload(&layout, &[255, 1], 8);
        assert!(v[1].1.is_bad());
    }

    #[test]
    fn maps_name_values_and_bits() {
        let map = Arc::new(ValueMap { bitmap: true, entries: vec![(1, "A".into()), (4, "C".into())] });
        let mut field = Field::owned("Flags".into(), U32);
        field.map = Some(MapRef::Dynamic(map));
        let v = decode_payload(&[field], &[5 | 8, 0, 0, 0], 8);
        assert_eq!(v[0].1, Value::Enum { value: 13, name: "A | C | 0x8".into() });
    }

    #[test]
    fn bit_fields_and_optional_tails() {
        const LAYOUT: &[Field] = &[
            f("Dpc", Bits { size: 1, shift: 0, width: 1 }),
            f("Priority", Bits { size: 1, shift: 3, width: 5 }),
            skip(1),
            f("Rank", U8),
            f("Later", U32).optional(),
        ];
        let v = decode_payload(LAYOUT, &[(14 << 3) | 1, 2], 8);
        assert_eq!(
            v,
            vec![("Dpc".into(), Value::Bool(true)), ("Priority".into(), Value::U32(14)), ("Rank".into(), Value::U8(2))]
        );
    }

    /// `levels` arrays of `count` structs inside each other, the innermost empty.
    fn nested_struct_arrays(levels: usize, count: u32) -> Vec<Field> {
        let mut fields = Vec::new();
        for level in (0..levels).rev() {
            let mut array = Field::owned(format!("L{level}"), Struct(fields));
            array.count = Len::Fixed(count);
            fields = vec![array];
        }
        fields
    }

    #[test]
    fn nested_struct_arrays_stop_at_a_budget_the_payload_sets() {
        // 90^7 empty structs from 100 bytes: one bad field, quickly, not gigabytes.
        let payload = [7u8; 100];
        let v = decode_payload(&nested_struct_arrays(7, 90), &payload, 8);
        assert_eq!(v.len(), 1);
        assert!(matches!(&v[0].1, Value::Bad { why } if why.contains("more decoded values than a 100-byte payload")));
        // A field after the runaway one is marked too.
        let mut layout = nested_struct_arrays(7, 90);
        layout.push(Field::owned("After".into(), U8));
        let v = decode_payload(&layout, &payload, 8);
        assert!(v[1].1.is_bad());
        // Modest nesting still decodes in full: 2 x 3 x 4 structs.
        let mut fields = vec![Field::owned("X".into(), U8)];
        for (level, count) in [(2, 4), (1, 3), (0, 2)] {
            let mut array = Field::owned(format!("L{level}"), Struct(fields));
            array.count = Len::Fixed(count);
            fields = vec![array];
        }
        let v = decode_payload(&fields, &[1u8; 24], 8);
        let Value::Array(outer) = &v[0].1 else { panic!("{v:?}") };
        assert_eq!(outer.len(), 2);
        assert!(!v[0].1.is_bad());
        assert_eq!(v[0].1.to_string().matches("X=1").count(), 24);
    }

    #[test]
    fn structs_nested_past_the_limit_are_bad_not_a_stack_overflow() {
        let mut fields = vec![Field::owned("X".into(), U8)];
        for level in 0..1_000 {
            fields = vec![Field::owned(format!("S{level}"), Struct(fields))];
        }
        let v = decode_payload(&fields, &[1], 8);
        let shown = v[0].1.to_string();
        assert!(v[0].1.is_bad() && shown.contains("structs nest deeper than 32 levels"), "{shown}");
    }

    #[test]
    fn socket_addresses_show_as_text() {
        let mut v4 = vec![2, 0, 0x01, 0xbb, 10, 0, 0, 1];
        v4.extend_from_slice(&[0; 8]);
        assert_eq!(socket_address(&v4), Value::Str("10.0.0.1:443".into()));
        let mut v6 = vec![23, 0, 0, 80, 0, 0, 0, 0];
        v6.extend_from_slice(&[0x20, 0x01, 0x48, 0x98, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(socket_address(&v6), Value::Str("[2001:4898::1]:80".into()));
        assert_eq!(socket_address(&[9]), Value::Binary(vec![9]));
    }

    #[test]
    fn wmi_sids_are_empty_or_follow_a_token() {
        let v = decode_payload(&[f("S", WmiSid), f("X", U8)], &[0, 0, 0, 0, 9], 8);
        assert_eq!(v[0].1, Value::Sid(vec![]));
        assert_eq!(v[1].1, Value::U8(9));
        let mut data = vec![1u8; 16];
        data.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0, 7]);
        let v = decode_payload(&[f("S", WmiSid), f("X", U8)], &data, 8);
        assert_eq!(v[0].1.to_string(), "S-1-5-18");
        assert_eq!(v[1].1, Value::U8(7));
    }
}
