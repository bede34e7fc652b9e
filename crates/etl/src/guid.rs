//! GUIDs as ETW stores them: Data1..Data3 little-endian, Data4 as bytes.
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    pub const ZERO: Guid = Guid([0; 16]);

    pub fn from_bytes(bytes: &[u8]) -> Option<Guid> {
        Some(Guid(bytes.get(..16)?.try_into().ok()?))
    }

    /// Builds a GUID from its textual fields, as written in documentation.
    pub const fn from_fields(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Guid {
        let a = data1.to_le_bytes();
        let b = data2.to_le_bytes();
        let c = data3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], data4[0], data4[1], data4[2], data4[3], data4[4], data4[5],
            data4[6], data4[7],
        ])
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, with or without braces.
    pub fn parse(text: &str) -> Option<Guid> {
        let text = text.trim().trim_start_matches('{').trim_end_matches('}');
        let hex: String = text.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 || text.len() != 36 {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok();
        let mut raw = [0u8; 16];
        for (i, slot) in raw.iter_mut().enumerate() {
            *slot = byte(i)?;
        }
        let data1 = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let data2 = u16::from_be_bytes([raw[4], raw[5]]);
        let data3 = u16::from_be_bytes([raw[6], raw[7]]);
        let mut data4 = [0u8; 8];
        data4.copy_from_slice(&raw[8..]);
        Some(Guid::from_fields(data1, data2, data3, data4))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{self}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_matches_windows_byte_order() {
        let g = Guid::parse("{b3e675d7-2554-4f18-830b-2762732560de}").unwrap();
        assert_eq!(&g.0[..4], &[0xd7, 0x75, 0xe6, 0xb3]);
        assert_eq!(g.to_string(), "b3e675d7-2554-4f18-830b-2762732560de");
        assert_eq!(Guid::parse("b3e675d7-2554-4f18-830b-2762732560d"), None);
        assert_eq!(Guid::parse("zze675d7-2554-4f18-830b-2762732560de"), None);
    }
}
