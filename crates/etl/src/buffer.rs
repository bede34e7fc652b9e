//! WMI_BUFFER_HEADER: the 0x48 bytes in front of every buffer of an .etl file.
use super::bytes::{i64_at, u16_at, u32_at, u64_at, u8_at};

pub const BUFFER_HEADER_LEN: usize = 0x48;

/// ETW_BUFFER_FLAG_* bits.
pub mod buffer_flags {
    pub const FLUSH_MARKER: u16 = 0x0001;
    pub const EVENTS_LOST: u16 = 0x0002;
    pub const BUFFER_LOST: u16 = 0x0004;
    pub const RTBACKUP_CORRUPT: u16 = 0x0008;
    pub const RTBACKUP: u16 = 0x0010;
    pub const PROC_INDEX: u16 = 0x0020;
    pub const COMPRESSED: u16 = 0x0040;
}

/// ETW_BUFFER_TYPE values.
pub mod buffer_type {
    pub const GENERIC: u16 = 0;
    pub const RUNDOWN: u16 = 1;
    pub const CTX_SWAP: u16 = 2;
    pub const REFTIME: u16 = 3;
    pub const HEADER: u16 = 4;
    pub const BATCHED: u16 = 5;
    pub const EMPTY_MARKER: u16 = 6;
    pub const DBG_INFO: u16 = 7;
    pub const MAXIMUM: u16 = 8;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BufferHeader {
    /// Bytes the buffer takes in the file (its compressed size when compressed).
    pub buffer_size: u32,
    /// Bytes of the buffer in memory, header included (the decompressed size).
    pub saved_offset: u32,
    pub current_offset: u32,
    pub reference_count: u32,
    pub timestamp: i64,
    pub sequence_number: i64,
    /// ClockType (3 bits) and Frequency, or a stale list link: not trusted.
    pub clock: u64,
    pub processor: u16,
    pub logger_id: u16,
    pub state: u32,
    /// End of the buffer's records, measured from the buffer start.
    pub offset: u32,
    pub flags: u16,
    pub buffer_type: u16,
    /// ETW_REF_CLOCK: StartTime and StartPerfClock.
    pub reference_time: (i64, i64),
}

impl BufferHeader {
    pub fn parse(data: &[u8]) -> Option<BufferHeader> {
        if data.len() < BUFFER_HEADER_LEN {
            return None;
        }
        let flags = u16_at(data, 0x34)?;
        // Before ProcessorIndex existed, byte 0x28 was the processor and 0x29 alignment.
        let processor =
            if flags & buffer_flags::PROC_INDEX != 0 { u16_at(data, 0x28)? } else { u16::from(u8_at(data, 0x28)?) };
        Some(BufferHeader {
            buffer_size: u32_at(data, 0)?,
            saved_offset: u32_at(data, 4)?,
            current_offset: u32_at(data, 8)?,
            reference_count: u32_at(data, 0x0C)?,
            timestamp: i64_at(data, 0x10)?,
            sequence_number: i64_at(data, 0x18)?,
            clock: u64_at(data, 0x20)?,
            processor,
            logger_id: u16_at(data, 0x2A)?,
            state: u32_at(data, 0x2C)?,
            offset: u32_at(data, 0x30)?,
            flags,
            buffer_type: u16_at(data, 0x36)?,
            reference_time: (i64_at(data, 0x38)?, i64_at(data, 0x40)?),
        })
    }

    pub fn encode(&self) -> [u8; BUFFER_HEADER_LEN] {
        let mut out = [0u8; BUFFER_HEADER_LEN];
        out[0..4].copy_from_slice(&self.buffer_size.to_le_bytes());
        out[4..8].copy_from_slice(&self.saved_offset.to_le_bytes());
        out[8..0x0C].copy_from_slice(&self.current_offset.to_le_bytes());
        out[0x0C..0x10].copy_from_slice(&self.reference_count.to_le_bytes());
        out[0x10..0x18].copy_from_slice(&self.timestamp.to_le_bytes());
        out[0x18..0x20].copy_from_slice(&self.sequence_number.to_le_bytes());
        out[0x20..0x28].copy_from_slice(&self.clock.to_le_bytes());
        if self.flags & buffer_flags::PROC_INDEX != 0 {
            out[0x28..0x2A].copy_from_slice(&self.processor.to_le_bytes());
        } else {
            out[0x28] = self.processor as u8;
        }
        out[0x2A..0x2C].copy_from_slice(&self.logger_id.to_le_bytes());
        out[0x2C..0x30].copy_from_slice(&self.state.to_le_bytes());
        out[0x30..0x34].copy_from_slice(&self.offset.to_le_bytes());
        out[0x34..0x36].copy_from_slice(&self.flags.to_le_bytes());
        out[0x36..0x38].copy_from_slice(&self.buffer_type.to_le_bytes());
        out[0x38..0x40].copy_from_slice(&self.reference_time.0.to_le_bytes());
        out[0x40..0x48].copy_from_slice(&self.reference_time.1.to_le_bytes());
        out
    }

    pub fn is_compressed(&self) -> bool {
        self.flags & buffer_flags::COMPRESSED != 0
    }

    /// Whether these bytes can be a buffer header of a trace whose buffers
    /// hold at most `limits.buffer_size` bytes in memory, whatever its size
    /// says about where the next buffer starts (that is checked against the file).
    pub fn looks_valid(&self, limits: BufferLimits) -> bool {
        let header = BUFFER_HEADER_LEN as u32;
        let largest = limits.buffer_size.max(header);
        let (memory_size, largest_on_disk) = if self.is_compressed() {
            (self.saved_offset, max_compressed_size(self.saved_offset))
        } else {
            (self.buffer_size, largest)
        };
        self.buffer_size >= header
            && self.buffer_size <= largest_on_disk
            && memory_size <= largest
            && self.offset >= header
            && self.offset <= memory_size
            && self.buffer_type < buffer_type::MAXIMUM
            && self.state < MAX_BUFFER_STATE
            && self.sequence_number >= 0
    }
}

/// ETW_BUFFER_STATE runs from Free (0) to Maximum (7) (Windows XP's bit
/// fields Free, InUse, Flush stay below it too): a check that catches bytes
/// read a few positions off a real header.
const MAX_BUFFER_STATE: u32 = 8;

/// What the log file header allows of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferLimits {
    /// Bytes of a buffer in memory: the log file header's BufferSize, capped
    /// at the largest buffer ETW allows.
    pub buffer_size: u32,
}

/// ETW buffers are at most 16 MiB (1 MiB before Windows 8; EVENT_TRACE_PROPERTIES
/// BufferSize is at most 16384 KB). A header claiming more is damaged, and
/// believing it would let one buffer decompress to any size.
pub const MAX_BUFFER_SIZE: u32 = 16 << 20;

impl BufferLimits {
    pub fn from_logfile_buffer_size(buffer_size: u32) -> BufferLimits {
        BufferLimits { buffer_size: buffer_size.clamp(BUFFER_HEADER_LEN as u32, MAX_BUFFER_SIZE) }
    }
}

/// The most bytes on disk that a compressed buffer of `saved_offset` bytes in
/// memory can take: the formats of [MS-XCA] grow incompressible data by at most
/// one flag word per 32 literals (XPRESS), a 256-byte table per 64 KB (XPRESS
/// Huffman) or a 2-byte header per 4 KB chunk (LZNT1); this allows an eighth more.
pub fn max_compressed_size(saved_offset: u32) -> u32 {
    let data = saved_offset.saturating_sub(BUFFER_HEADER_LEN as u32);
    (BUFFER_HEADER_LEN as u32).saturating_add(data).saturating_add(data / 8).saturating_add(512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_encodes_and_parses_back() {
        let h = BufferHeader {
            buffer_size: 0x10000,
            saved_offset: 0x1234,
            current_offset: 0x1234,
            timestamp: 42,
            sequence_number: 7,
            processor: 300,
            logger_id: 0x1c,
            state: 3,
            offset: 0x1234,
            flags: buffer_flags::PROC_INDEX | buffer_flags::COMPRESSED,
            reference_time: (5, 6),
            ..Default::default()
        };
        assert_eq!(BufferHeader::parse(&h.encode()), Some(h));
        assert_eq!(BufferHeader::parse(&h.encode()[..0x47]), None);
    }
}
