//! The reader's inverse: builds .etl files with every header kind, with or
//! without compression, laid out as Windows writes them. Records go into one
//! buffer per processor; a full buffer is flushed to the file, so buffers
//! land out of time order just as in a recording.
use super::buffer::{buffer_flags, buffer_type, BufferHeader, BUFFER_HEADER_LEN};
use super::bytes::align8;
use super::compress::{self, CompressionFormat};
use super::logfile::LogfileHeader;
use super::record::{classic, event, event_flags, instance, kernel, marker, perfinfo, system};
use super::record::{HeaderFamily, HeaderKind, Record, RecordId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{Seek, SeekFrom, Write};

/// The marker flags byte Windows sets on every record it logs.
pub const DEFAULT_MARKER_FLAGS: u8 = 0xC0;

#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// The log file header; buffer size, processor count, clock and names come from it.
    pub header: LogfileHeader,
    /// Pointer size of the header event (4 or 8).
    pub pointer_size: u8,
    /// Raw timestamp of the header event: the trace start.
    pub start_timestamp: i64,
    pub compression: Option<CompressionFormat>,
    /// Logger id stamped into every buffer header.
    pub logger_id: u16,
}

impl WriterOptions {
    /// A 64-bit QPC trace at 10 MHz with 64 KB buffers, starting at `start_filetime`.
    pub fn new(processors: u32, start_filetime: i64) -> WriterOptions {
        WriterOptions {
            header: LogfileHeader {
                buffer_size: 64 * 1024,
                version: 0x0A00_0A0A,
                provider_version: 19041,
                number_of_processors: processors,
                timer_resolution: 156_250,
                log_file_mode: 0x0000_0001,
                start_buffers: 1,
                pointer_size: 8,
                cpu_speed_mhz: 3000,
                perf_freq: 10_000_000,
                start_time: start_filetime,
                boot_time: start_filetime - 36_000_000_000,
                reserved_flags: 1,
                logger_name: "NT Kernel Logger".into(),
                log_file_name: "etwq.etl".into(),
                ..Default::default()
            },
            pointer_size: 8,
            start_timestamp: 0,
            compression: None,
            logger_id: 0x1c,
        }
    }
}

#[derive(Debug)]
pub enum WriteError {
    Io(std::io::Error),
    /// The record cannot be represented: its size does not fit the header's u16.
    RecordTooLarge {
        size: usize,
        limit: usize,
    },
    /// The record's id is not the kind its header can carry.
    IdDoesNotFitHeader {
        kind: HeaderKind,
        id: RecordId,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Io(e) => write!(f, "write failed: {e}"),
            WriteError::RecordTooLarge { size, limit } => {
                write!(f, "a record of {size} bytes does not fit an ETW buffer (at most {limit})")
            }
            WriteError::IdDoesNotFitHeader { kind, id } => write!(f, "a {} header cannot carry {id:?}", kind.name()),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// Encodes one record with its kind's header, unpadded.
pub fn encode_record(record: &Record<'_>) -> Result<Vec<u8>, WriteError> {
    let kind = record.kind;
    let header_len = kind.header_len();
    let size = header_len + record.extended.raw.len() + record.payload.len();
    if size > usize::from(u16::MAX) {
        return Err(WriteError::RecordTooLarge { size, limit: usize::from(u16::MAX) });
    }
    let mut out = vec![0u8; header_len];
    marker::HEADER_TYPE.write(&mut out, kind.type_byte());
    marker::MARKER_FLAGS.write(&mut out, record.marker_flags);
    let size = size as u16;
    let thread_id = record.thread_id.unwrap_or(0);
    let process_id = record.process_id.unwrap_or(0);
    let timestamp = record.timestamp;
    match kind.family() {
        family @ (HeaderFamily::System | HeaderFamily::Compact | HeaderFamily::PerfInfo) => {
            let RecordId::Kernel { group, opcode } = record.id else {
                return Err(WriteError::IdDoesNotFitHeader { kind, id: record.id });
            };
            kernel::VERSION.write(&mut out, record.version);
            kernel::SIZE.write(&mut out, size);
            kernel::HOOK_ID.write(&mut out, u16::from(group) << 8 | u16::from(opcode));
            if family == HeaderFamily::PerfInfo {
                perfinfo::TIMESTAMP.write(&mut out, timestamp);
            } else {
                system::THREAD_ID.write(&mut out, thread_id);
                system::PROCESS_ID.write(&mut out, process_id);
                system::TIMESTAMP.write(&mut out, timestamp);
                if family == HeaderFamily::System {
                    system::CPU_TIME.write(&mut out, record.cpu_time);
                }
            }
        }
        family @ (HeaderFamily::Full | HeaderFamily::Instance) => {
            let RecordId::Classic { guid, class_type, level } = record.id else {
                return Err(WriteError::IdDoesNotFitHeader { kind, id: record.id });
            };
            classic::SIZE.write(&mut out, size);
            classic::CLASS_TYPE.write(&mut out, class_type);
            classic::LEVEL.write(&mut out, level);
            classic::VERSION.write(&mut out, record.version);
            classic::THREAD_ID.write(&mut out, thread_id);
            classic::PROCESS_ID.write(&mut out, process_id);
            classic::TIMESTAMP.write(&mut out, timestamp);
            classic::GUID.write(&mut out, guid);
            classic::CPU_TIME.write(&mut out, record.cpu_time);
            if family == HeaderFamily::Instance {
                let info = record.instance.unwrap_or_default();
                instance::INSTANCE_ID.write(&mut out, info.instance_id);
                instance::PARENT_INSTANCE_ID.write(&mut out, info.parent_instance_id);
                instance::PARENT_GUID.write(&mut out, info.parent_guid);
            }
        }
        HeaderFamily::Event => {
            let RecordId::Event { provider, descriptor } = record.id else {
                return Err(WriteError::IdDoesNotFitHeader { kind, id: record.id });
            };
            // The reader finds extended items through this flag; keep it truthful.
            let mut flags = record.flags & !event_flags::EXTENDED_INFO;
            if !record.extended.is_empty() {
                flags |= event_flags::EXTENDED_INFO;
            }
            event::SIZE.write(&mut out, size);
            event::FLAGS.write(&mut out, flags);
            event::EVENT_PROPERTY.write(&mut out, record.event_property);
            event::THREAD_ID.write(&mut out, thread_id);
            event::PROCESS_ID.write(&mut out, process_id);
            event::TIMESTAMP.write(&mut out, timestamp);
            event::PROVIDER.write(&mut out, provider);
            event::ID.write(&mut out, descriptor.id);
            event::VERSION.write(&mut out, descriptor.version);
            event::CHANNEL.write(&mut out, descriptor.channel);
            event::LEVEL.write(&mut out, descriptor.level);
            event::OPCODE.write(&mut out, descriptor.opcode);
            event::TASK.write(&mut out, descriptor.task);
            event::KEYWORDS.write(&mut out, descriptor.keywords);
            event::CPU_TIME.write(&mut out, record.cpu_time);
            event::ACTIVITY_ID.write(&mut out, record.activity_id.unwrap_or_default());
            out.extend_from_slice(record.extended.raw);
        }
    }
    out.extend_from_slice(record.payload);
    Ok(out)
}

struct OpenBuffer {
    data: Vec<u8>,
    /// Raw timestamp of the last record, stamped into the buffer header.
    last_timestamp: i64,
}

pub struct EtlWriter<W: Write + Seek> {
    out: W,
    options: WriterOptions,
    open: Vec<Option<OpenBuffer>>,
    /// Per processor, the times of lost events whose buffer is not yet flushed.
    lost: Vec<BinaryHeap<Reverse<i64>>>,
    sequence: i64,
    buffers_written: u32,
    last_timestamp: i64,
    header_buffer_len: u64,
}

impl<W: Write + Seek> EtlWriter<W> {
    /// Writes the header buffer now; its counts are patched by `finish`.
    pub fn new(mut out: W, options: WriterOptions) -> Result<Self, WriteError> {
        let header_buffer = header_buffer(&options, 0, options.start_timestamp)?;
        out.write_all(&header_buffer)?;
        let header_buffer_len = header_buffer.len() as u64;
        Ok(EtlWriter {
            out,
            open: Vec::new(),
            lost: Vec::new(),
            sequence: 1,
            buffers_written: 1,
            last_timestamp: options.start_timestamp,
            header_buffer_len,
            options,
        })
    }

    fn buffer_size(&self) -> usize {
        self.options.header.buffer_size as usize
    }

    /// Appends a record to its processor's buffer, flushing that buffer first when full.
    pub fn write(&mut self, record: &Record<'_>) -> Result<(), WriteError> {
        let encoded = encode_record(record)?;
        let padded = align8(encoded.len());
        let limit = self.buffer_size() - BUFFER_HEADER_LEN;
        if padded > limit {
            return Err(WriteError::RecordTooLarge { size: encoded.len(), limit });
        }
        let cpu = usize::from(record.processor);
        if self.open.len() <= cpu {
            self.open.resize_with(cpu + 1, || None);
        }
        let fits = self.open[cpu].as_ref().is_some_and(|b| b.data.len() + padded <= self.buffer_size());
        if !fits {
            if let Some(full) = self.open[cpu].take() {
                self.flush_buffer(record.processor, full, false)?;
            }
            let mut data = Vec::with_capacity(self.buffer_size());
            data.resize(BUFFER_HEADER_LEN, 0);
            self.open[cpu] = Some(OpenBuffer { data, last_timestamp: record.timestamp });
        }
        let buffer = self.open[cpu].as_mut().expect("opened above");
        buffer.data.extend_from_slice(&encoded);
        buffer.data.resize(buffer.data.len() + padded - encoded.len(), 0);
        buffer.last_timestamp = record.timestamp;
        self.last_timestamp = self.last_timestamp.max(record.timestamp);
        Ok(())
    }

    /// Notes that an event of `processor` at raw time `timestamp` was lost.
    /// The logger flags the buffer it was filling then with EVENTS_LOST: here
    /// the first of the processor's buffers flushed from now on whose last
    /// record is at or after `timestamp`, or else its last buffer. A processor
    /// that never gets a record has no buffer to flag.
    pub fn events_lost(&mut self, processor: u16, timestamp: i64) {
        let cpu = usize::from(processor);
        if self.lost.len() <= cpu {
            self.lost.resize_with(cpu + 1, BinaryHeap::new);
        }
        self.lost[cpu].push(Reverse(timestamp));
    }

    /// Whether the buffer of `processor` being flushed takes lost events:
    /// those at or before its last record, or all that are left when it is the last.
    fn takes_lost_events(&mut self, processor: u16, last_timestamp: i64, last_buffer: bool) -> bool {
        let Some(pending) = self.lost.get_mut(usize::from(processor)) else { return false };
        let mut takes = false;
        while let Some(&Reverse(ts)) = pending.peek() {
            if ts > last_timestamp && !last_buffer {
                break;
            }
            pending.pop();
            takes = true;
        }
        takes
    }

    fn flush_buffer(&mut self, processor: u16, mut buffer: OpenBuffer, last_buffer: bool) -> Result<(), WriteError> {
        let filled = buffer.data.len() as u32;
        let lost = if self.takes_lost_events(processor, buffer.last_timestamp, last_buffer) {
            buffer_flags::EVENTS_LOST
        } else {
            0
        };
        let mut header = BufferHeader {
            buffer_size: self.buffer_size() as u32,
            saved_offset: filled,
            current_offset: self.buffer_size() as u32 + filled,
            timestamp: buffer.last_timestamp,
            sequence_number: self.sequence,
            processor,
            logger_id: self.options.logger_id,
            state: 3,
            offset: filled,
            flags: buffer_flags::PROC_INDEX | lost,
            buffer_type: buffer_type::GENERIC,
            ..Default::default()
        };
        self.sequence += 1;
        self.buffers_written += 1;
        match self.options.compression {
            Some(format) => {
                let compressed = compress::compress(format, &buffer.data[BUFFER_HEADER_LEN..]);
                header.buffer_size = (BUFFER_HEADER_LEN + compressed.len()) as u32;
                header.flags |= buffer_flags::COMPRESSED;
                self.out.write_all(&header.encode())?;
                self.out.write_all(&compressed)?;
            }
            None => {
                buffer.data[..BUFFER_HEADER_LEN].copy_from_slice(&header.encode());
                buffer.data.resize(self.buffer_size(), 0xFF);
                self.out.write_all(&buffer.data)?;
            }
        }
        Ok(())
    }

    /// Flushes every open buffer (in processor order) and patches the header
    /// buffer with the final counts and end time, as the logger does at stop.
    pub fn finish(mut self) -> Result<W, WriteError> {
        for cpu in 0..self.open.len() {
            if let Some(buffer) = self.open[cpu].take() {
                self.flush_buffer(cpu as u16, buffer, true)?;
            }
        }
        let header = header_buffer(&self.options, self.buffers_written, self.last_timestamp)?;
        debug_assert_eq!(header.len() as u64, self.header_buffer_len);
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The first buffer: the EventTrace header event with TRACE_LOGFILE_HEADER.
fn header_buffer(options: &WriterOptions, buffers_written: u32, end_timestamp: i64) -> Result<Vec<u8>, WriteError> {
    let mut header = options.header.clone();
    header.buffers_written = buffers_written;
    header.pointer_size = u32::from(options.pointer_size);
    if options.compression.is_some() {
        header.log_file_mode |= super::logfile::COMPRESSED_MODE;
    }
    let ns = |raw: i64| {
        let freq = header.perf_freq.max(1) as i128;
        (i128::from(raw - options.start_timestamp) * 1_000_000_000 / freq) as i64
    };
    header.end_time = header.start_time + ns(end_timestamp) / 100;
    let payload = header.encode(options.pointer_size);
    let kind = if options.pointer_size == 4 { HeaderKind::System32 } else { HeaderKind::System64 };
    let record = Record {
        kind,
        id: RecordId::Kernel { group: 0, opcode: 0 },
        version: 2,
        marker_flags: DEFAULT_MARKER_FLAGS,
        flags: 0,
        event_property: 0,
        thread_id: Some(0),
        process_id: Some(0),
        processor: 0,
        timestamp: options.start_timestamp,
        cpu_time: 0,
        activity_id: None,
        instance: None,
        extended: Default::default(),
        payload: &payload,
    };
    let encoded = encode_record(&record)?;
    let filled = BUFFER_HEADER_LEN + align8(encoded.len());
    // A compressed file keeps its uncompressed header buffer small, in 512-byte steps.
    let size = match options.compression {
        Some(_) => filled.div_ceil(512) * 512,
        None => options.header.buffer_size as usize,
    };
    let buffer = BufferHeader {
        buffer_size: size as u32,
        saved_offset: filled as u32,
        current_offset: filled as u32,
        processor: 0,
        logger_id: options.logger_id,
        state: 3,
        offset: filled as u32,
        flags: if options.compression.is_some() {
            buffer_flags::FLUSH_MARKER
        } else {
            buffer_flags::FLUSH_MARKER | buffer_flags::PROC_INDEX
        },
        buffer_type: buffer_type::HEADER,
        ..Default::default()
    };
    let mut out = buffer.encode().to_vec();
    out.extend_from_slice(&encoded);
    out.resize(filled, 0);
    out.resize(size, 0xFF);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// The flags of each data buffer of a file written with 1 KB buffers, in file order.
    fn data_buffer_flags(bytes: &[u8]) -> Vec<(u16, u16)> {
        bytes
            .chunks(1024)
            .skip(1)
            .filter_map(BufferHeader::parse)
            .map(|h| (h.processor, h.flags & buffer_flags::EVENTS_LOST))
            .collect()
    }

    #[test]
    fn lost_events_flag_the_buffer_that_was_filling() {
        let mut options = WriterOptions::new(2, 0);
        options.header.buffer_size = 1024;
        let mut writer = EtlWriter::new(Cursor::new(Vec::new()), options).unwrap();
        // 100 records of 0x30 bytes on CPU 0: 19 to a buffer, so buffers end at 18, 37, ...
        writer.events_lost(0, 20);
        writer.events_lost(0, 37);
        writer.events_lost(0, 1_000);
        writer.events_lost(1, 5);
        let payload = [7u8; 0x10];
        for ts in 0..100 {
            let id = RecordId::Kernel { group: 15, opcode: 46 };
            let record = Record { timestamp: ts, ..Record::bare(HeaderKind::System64, id, &payload) };
            writer.write(&record).unwrap();
        }
        let bytes = writer.finish().unwrap().into_inner();
        let lost = buffer_flags::EVENTS_LOST;
        // 20 and 37 fall in the second buffer (ts 19..=37); 1000 after the last record, so the last buffer.
        assert_eq!(data_buffer_flags(&bytes), vec![(0, 0), (0, lost), (0, 0), (0, 0), (0, 0), (0, lost)]);
    }
}
