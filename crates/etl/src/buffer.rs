//! WMI_BUFFER_HEADER: the 0x48 bytes in front of every buffer of an .etl file.
use super::layout::layout;

pub const BUFFER_HEADER_LEN: usize = fields::LEN;

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

layout! {
    /// WMI_BUFFER_HEADER as stored in the file.
    pub mod fields, len 0x48;
    BUFFER_SIZE: u32 @ 0x00,
    SAVED_OFFSET: u32 @ 0x04,
    CURRENT_OFFSET: u32 @ 0x08,
    REFERENCE_COUNT: u32 @ 0x0C,
    TIMESTAMP: i64 @ 0x10,
    SEQUENCE_NUMBER: i64 @ 0x18,
    CLOCK: u64 @ 0x20,
    /// ProcessorIndex, when the flags say PROC_INDEX.
    PROCESSOR_INDEX: u16 @ 0x28,
    /// Before ProcessorIndex existed: the processor number, then an alignment byte.
    PROCESSOR_NUMBER: u8 @ 0x28,
    LOGGER_ID: u16 @ 0x2A,
    STATE: u32 @ 0x2C,
    OFFSET: u32 @ 0x30,
    FLAGS: u16 @ 0x34,
    BUFFER_TYPE: u16 @ 0x36,
    START_TIME: i64 @ 0x38,
    START_PERF_CLOCK: i64 @ 0x40,
}

impl BufferHeader {
    pub fn parse(data: &[u8]) -> Option<BufferHeader> {
        let data = data.get(..BUFFER_HEADER_LEN)?;
        let flags = fields::FLAGS.read(data)?;
        let processor = if flags & buffer_flags::PROC_INDEX != 0 {
            fields::PROCESSOR_INDEX.read(data)?
        } else {
            u16::from(fields::PROCESSOR_NUMBER.read(data)?)
        };
        Some(BufferHeader {
            buffer_size: fields::BUFFER_SIZE.read(data)?,
            saved_offset: fields::SAVED_OFFSET.read(data)?,
            current_offset: fields::CURRENT_OFFSET.read(data)?,
            reference_count: fields::REFERENCE_COUNT.read(data)?,
            timestamp: fields::TIMESTAMP.read(data)?,
            sequence_number: fields::SEQUENCE_NUMBER.read(data)?,
            clock: fields::CLOCK.read(data)?,
            processor,
            logger_id: fields::LOGGER_ID.read(data)?,
            state: fields::STATE.read(data)?,
            offset: fields::OFFSET.read(data)?,
            flags,
            buffer_type: fields::BUFFER_TYPE.read(data)?,
            reference_time: (fields::START_TIME.read(data)?, fields::START_PERF_CLOCK.read(data)?),
        })
    }

    pub fn encode(&self) -> [u8; BUFFER_HEADER_LEN] {
        let mut out = [0u8; BUFFER_HEADER_LEN];
        fields::BUFFER_SIZE.write(&mut out, self.buffer_size);
        fields::SAVED_OFFSET.write(&mut out, self.saved_offset);
        fields::CURRENT_OFFSET.write(&mut out, self.current_offset);
        fields::REFERENCE_COUNT.write(&mut out, self.reference_count);
        fields::TIMESTAMP.write(&mut out, self.timestamp);
        fields::SEQUENCE_NUMBER.write(&mut out, self.sequence_number);
        fields::CLOCK.write(&mut out, self.clock);
        if self.flags & buffer_flags::PROC_INDEX != 0 {
            fields::PROCESSOR_INDEX.write(&mut out, self.processor);
        } else {
            fields::PROCESSOR_NUMBER.write(&mut out, self.processor as u8);
        }
        fields::LOGGER_ID.write(&mut out, self.logger_id);
        fields::STATE.write(&mut out, self.state);
        fields::OFFSET.write(&mut out, self.offset);
        fields::FLAGS.write(&mut out, self.flags);
        fields::BUFFER_TYPE.write(&mut out, self.buffer_type);
        fields::START_TIME.write(&mut out, self.reference_time.0);
        fields::START_PERF_CLOCK.write(&mut out, self.reference_time.1);
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
        let old = BufferHeader { processor: 7, flags: 0, ..h };
        assert_eq!(BufferHeader::parse(&old.encode()), Some(old));
    }

    #[test]
    fn fields_tile_the_header_once() {
        let unions = [("PROCESSOR_INDEX", "PROCESSOR_NUMBER")];
        assert_eq!(crate::layout::overlapping(fields::FIELDS, &unions), None);
        let covered: usize = fields::FIELDS.iter().filter(|f| f.0 != "PROCESSOR_NUMBER").map(|f| f.2).sum();
        assert_eq!(covered, fields::LEN);
    }
}
