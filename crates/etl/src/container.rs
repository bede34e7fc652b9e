//! An open .etl trace: the file's bytes (memory-mapped), its log file
//! header and clock, the indexed buffers (index.rs) and the records in time
//! order (merge.rs).
use super::buffer::{BufferHeader, BUFFER_HEADER_LEN};
use super::clock::Clock;
use super::compress::CompressionFormat;
use super::index::{
    choose_compression, decompression_budget, index_buffer, missing_buffers_warning, record_at, Buffer, RecordRef,
};
use super::locate::locate_buffers;
use super::logfile::LogfileHeader;
use super::merge::{order_streams, Records, Stream};
use super::record::{parse_record, Record, RecordId, RecordWalk};
use super::warning::{Lost, OpenError, Warning};
use progress::Progress;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Bytes of the trace: a memory map of the file, or bytes already in memory.
enum Source {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Source {
    fn bytes(&self) -> &[u8] {
        match self {
            Source::Mapped(map) => map,
            Source::Owned(bytes) => bytes,
        }
    }
}

pub struct EtlTrace {
    source: Source,
    path: Option<PathBuf>,
    pub header: LogfileHeader,
    pub header_pointer_size: u8,
    pub clock: Clock,
    pub compression: Option<CompressionFormat>,
    buffers: Vec<Buffer>,
    streams: Vec<(u16, Stream)>,
    pub warnings: Vec<Warning>,
}

impl EtlTrace {
    pub fn open(path: impl AsRef<Path>) -> Result<EtlTrace, OpenError> {
        EtlTrace::open_with(path.as_ref(), None)
    }

    /// Like `open`, counting into `bytes_read` the bytes of each buffer as it is
    /// indexed: the whole file, for a trace without damage.
    pub fn open_counting(path: impl AsRef<Path>, bytes_read: &Progress) -> Result<EtlTrace, OpenError> {
        EtlTrace::open_with(path.as_ref(), Some(bytes_read))
    }

    fn open_with(path: &Path, bytes_read: Option<&Progress>) -> Result<EtlTrace, OpenError> {
        let io_err = |error| OpenError::Io { path: path.to_path_buf(), error };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len == 0 {
            return Err(OpenError::NotEtl { what: format!("{} is empty", path.display()) });
        }
        // SAFETY: the map is read-only and private to this process; a trace
        // changed underneath by another process can give wrong records but
        // every read is bounds-checked against the map's fixed length.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
        let mut trace = EtlTrace::load(Source::Mapped(map), bytes_read)?;
        trace.path = Some(path.to_path_buf());
        Ok(trace)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<EtlTrace, OpenError> {
        EtlTrace::load(Source::Owned(bytes), None)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn file_len(&self) -> u64 {
        self.source.bytes().len() as u64
    }

    fn load(source: Source, bytes_read: Option<&Progress>) -> Result<EtlTrace, OpenError> {
        let bytes = source.bytes();
        let (header, header_pointer_size, header_timestamp) = read_logfile_header(bytes)?;
        let layout = locate_buffers(bytes, &header);
        let mut warnings: Vec<Warning> = layout
            .damage
            .into_iter()
            .map(|d| {
                let lost = if d.records_lost { Lost::Unknown } else { Lost::Nothing };
                Warning::in_buffer(d.index, d.file_offset, d.what, lost)
            })
            .collect();
        let mut buffers: Vec<Buffer> = layout.buffers.into_iter().map(Buffer::new).collect();
        // The format shows only in compressed data: a trace without any has none to report.
        let has_compressed = buffers.iter().any(|b| b.header.is_compressed());
        let compression = has_compressed.then(|| choose_compression(bytes, &buffers));
        let within_budget = decompression_budget(&buffers, bytes.len() as u64);
        let buffer_warnings: Vec<Warning> = buffers
            .par_iter_mut()
            .zip(within_budget)
            .flat_map_iter(|(buffer, within_budget)| {
                let damage = index_buffer(bytes, buffer, compression, within_budget);
                if let Some(meter) = bytes_read {
                    meter.add(u64::from(buffer.header.buffer_size));
                }
                damage
            })
            .collect();
        warnings.extend(buffer_warnings);
        warnings.sort_by_key(|w| w.file_offset());
        if let Some(missing) = missing_buffers_warning(&layout.missing_sequence_numbers, &header) {
            warnings.push(missing);
        }
        let streams = order_streams(bytes, &buffers);
        let clock = Clock::new(&header, header_timestamp);
        Ok(EtlTrace { source, path: None, header, header_pointer_size, clock, compression, buffers, streams, warnings })
    }

    pub fn buffers(&self) -> &[Buffer] {
        &self.buffers
    }

    pub fn record_count(&self) -> usize {
        self.buffers.iter().map(Buffer::record_count).sum()
    }

    /// The bytes of a buffer as they were in memory, header included.
    #[inline]
    pub fn buffer_data<'a>(&'a self, buffer: &'a Buffer) -> &'a [u8] {
        buffer.data(self.source.bytes())
    }

    /// The records of one buffer in buffer order (for per-buffer parallel work).
    pub fn buffer_records<'a>(&'a self, buffer: &'a Buffer) -> impl Iterator<Item = Record<'a>> + 'a {
        RecordWalk::new(self.buffer_data(buffer), BUFFER_HEADER_LEN, buffer.header.processor)
            .take(buffer.record_count())
            .filter_map(Result::ok)
            .map(|located| located.record)
    }

    #[inline]
    pub fn record_at(&self, at: RecordRef) -> Option<Record<'_>> {
        record_at(self.source.bytes(), &self.buffers, at)
    }

    /// Every record of the trace in timestamp order; ties keep processor and buffer order.
    pub fn records(&self) -> Records<'_> {
        self.merge(|_| true)
    }

    fn merge(&self, wanted: impl Fn(u16) -> bool) -> Records<'_> {
        Records::new(self.source.bytes(), &self.buffers, &self.streams, wanted)
    }

    /// The processors that logged records, in the order `processor_records` takes them.
    pub fn processors(&self) -> Vec<u16> {
        self.streams.iter().map(|(processor, _)| *processor).collect()
    }

    /// One processor's records in time order: per-CPU work (context switch
    /// timelines, system call attribution) can run on all cores at once.
    pub fn processor_records(&self, processor: u16) -> Records<'_> {
        self.merge(|p| p == processor)
    }

    /// Records per processor, for `info`.
    pub fn records_per_processor(&self) -> Vec<(u16, usize)> {
        let mut counts: std::collections::BTreeMap<u16, usize> = Default::default();
        for buffer in &self.buffers {
            *counts.entry(buffer.header.processor).or_default() += buffer.record_count();
        }
        counts.into_iter().collect()
    }

    /// Raw timestamps of the earliest and latest record.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let first = self.buffers.iter().filter_map(|b| b.times.min).min()?;
        let last = self.buffers.iter().filter_map(|b| b.times.max).max()?;
        Some((first, last))
    }
}

/// Reads the TRACE_LOGFILE_HEADER from the first record of the first buffer.
fn read_logfile_header(bytes: &[u8]) -> Result<(LogfileHeader, u8, i64), OpenError> {
    let not_etl = |what: String| OpenError::NotEtl { what };
    let Some(first) = BufferHeader::parse(bytes) else {
        return Err(not_etl(format!(
            "{} bytes is too short for a buffer header ({BUFFER_HEADER_LEN} bytes)",
            bytes.len()
        )));
    };
    if first.is_compressed() {
        return Err(not_etl("the first buffer is compressed; it must hold the log file header".into()));
    }
    let size = first.buffer_size as usize;
    let valid = (first.offset as usize).min(size).min(bytes.len());
    if size < BUFFER_HEADER_LEN || valid <= BUFFER_HEADER_LEN {
        return Err(not_etl(format!(
            "the first buffer header gives size {size} and data end {:#x}, not a buffer",
            first.offset
        )));
    }
    let located = match parse_record(&bytes[..valid], BUFFER_HEADER_LEN, first.processor) {
        Ok(Some(located)) => located,
        Ok(None) => return Err(not_etl("the first buffer holds no records".into())),
        Err(e) => return Err(not_etl(format!("the first buffer does not start with a record: {e}"))),
    };
    let record = located.record;
    if record.id != (RecordId::Kernel { group: 0, opcode: 0 }) {
        return Err(not_etl(format!("the first record is {:?}, not the EventTrace header", record.id)));
    }
    let pointer_size = record.pointer_size();
    let header = LogfileHeader::parse(record.payload, pointer_size)
        .ok_or_else(|| not_etl(format!("the log file header is cut short ({} bytes)", record.payload.len())))?;
    Ok((header, pointer_size, record.timestamp))
}
