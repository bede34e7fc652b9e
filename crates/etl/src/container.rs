//! The .etl container: buffers of the file, their decompression, the record
//! index of each, and delivery of all records in time order across processors.
use super::buffer::{buffer_flags, BufferHeader, BUFFER_HEADER_LEN, MAX_BUFFER_SIZE};
use super::clock::Clock;
use super::compress::{self, CompressionFormat};
use super::locate::{locate_buffers, LocatedBuffer};
use super::logfile::LogfileHeader;
use super::record::{parse_record, scan_record, Record, RecordError, RecordId, RecordWalk};
use progress::Progress;
use rayon::prelude::*;
use std::collections::BinaryHeap;
use std::fmt;
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

/// A problem that stops the trace from opening at all.
#[derive(Debug)]
pub enum OpenError {
    Io { path: PathBuf, error: std::io::Error },
    NotEtl { what: String },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            OpenError::NotEtl { what } => write!(f, "not an ETL trace: {what}"),
        }
    }
}

impl std::error::Error for OpenError {}

/// Damage the reader met while the rest of the trace still loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub place: Place,
    pub what: String,
    pub lost: Lost,
}

/// Where the damage is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A buffer of the file: its index in file order and its file offset.
    Buffer { index: usize, file_offset: u64 },
    /// Buffers the logger wrote that are not in the file.
    MissingBuffers,
}

/// The records the damage cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    Nothing,
    /// Records were lost; damaged or absent data does not say how many.
    Unknown,
}

impl Warning {
    fn in_buffer(index: usize, file_offset: u64, what: String, lost: Lost) -> Warning {
        Warning { place: Place::Buffer { index, file_offset }, what, lost }
    }

    pub fn buffer_index(&self) -> Option<usize> {
        match self.place {
            Place::Buffer { index, .. } => Some(index),
            Place::MissingBuffers => None,
        }
    }

    pub fn file_offset(&self) -> Option<u64> {
        match self.place {
            Place::Buffer { file_offset, .. } => Some(file_offset),
            Place::MissingBuffers => None,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Place::Buffer { index, file_offset } = self.place {
            write!(f, "buffer {index} at file offset {file_offset:#x}: ")?;
        }
        f.write_str(&self.what)?;
        match self.lost {
            Lost::Nothing => Ok(()),
            Lost::Unknown => f.write_str("; records lost: how many is not known"),
        }
    }
}

/// One buffer of the file with the index of its records.
pub struct Buffer {
    pub index: usize,
    pub file_offset: u64,
    pub header: BufferHeader,
    /// The buffer as it was in memory (header included) when it was compressed on disk.
    decompressed: Option<Vec<u8>>,
    /// Bytes of `data()` that hold records.
    valid_len: usize,
    /// Raw timestamp and buffer offset of each record, in buffer order.
    timestamps: Vec<i64>,
    offsets: Vec<u32>,
}

impl Buffer {
    fn new(located: LocatedBuffer) -> Buffer {
        Buffer {
            index: located.index,
            file_offset: located.file_offset,
            header: located.header,
            decompressed: None,
            valid_len: 0,
            timestamps: Vec::new(),
            offsets: Vec::new(),
        }
    }

    pub fn record_count(&self) -> usize {
        self.offsets.len()
    }

    pub fn first_timestamp(&self) -> Option<i64> {
        self.timestamps.first().copied()
    }

    pub fn last_timestamp(&self) -> Option<i64> {
        self.timestamps.last().copied()
    }

    fn is_time_ordered(&self) -> bool {
        self.timestamps.windows(2).all(|w| w[0] <= w[1])
    }
}

/// A record's place in the trace: enough to find it again without a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordRef {
    pub timestamp: i64,
    pub buffer: u32,
    pub offset: u32,
}

/// One processor's records in time order.
enum Stream {
    /// Buffers whose records already run in time order, one after the other.
    Ordered(Vec<u32>),
    /// Records that had to be sorted.
    Sorted(Vec<RecordRef>),
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
        let streams = order_streams(&buffers);
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
        match &buffer.decompressed {
            Some(data) => &data[..buffer.valid_len],
            None => {
                let start = buffer.file_offset as usize;
                &self.source.bytes()[start..start + buffer.valid_len]
            }
        }
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
        let buffer = self.buffers.get(at.buffer as usize)?;
        let located = parse_record(self.buffer_data(buffer), at.offset as usize, buffer.header.processor).ok()??;
        Some(located.record)
    }

    /// Every record of the trace in timestamp order; ties keep processor and buffer order.
    pub fn records(&self) -> Records<'_> {
        self.merge(|_| true)
    }

    fn merge(&self, wanted: impl Fn(u16) -> bool) -> Records<'_> {
        let mut heap = BinaryHeap::with_capacity(self.streams.len());
        let mut cursors = Vec::with_capacity(self.streams.len());
        for (_, stream) in self.streams.iter().filter(|(p, _)| wanted(*p)) {
            let slot = cursors.len();
            let mut cursor = Cursor { stream, buffer_pos: 0, record_pos: 0 };
            if let Some(at) = cursor.peek(&self.buffers) {
                heap.push(HeapEntry { at, stream: slot });
            }
            cursors.push(cursor);
        }
        Records { trace: self, heap, cursors, meter: None, unreported: 0 }
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
        let first = self.buffers.iter().filter_map(|b| b.timestamps.iter().min()).min()?;
        let last = self.buffers.iter().filter_map(|b| b.timestamps.iter().max()).max()?;
        Some((*first, *last))
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

/// Decompressed buffers are kept in memory while the trace is open; a buffer
/// decompresses to at most 16 MiB but its file bytes can be a few dozen. Real
/// ETW buffers compress about 3 to 10 times, so the decompressed data may be
/// this many times the file (plus one largest buffer); past that a file is a
/// decompression bomb and its further compressed buffers are not read.
pub const MAX_DECOMPRESSION_RATIO: u64 = 32;

/// Whether each buffer fits the decompression budget, in file order so the
/// answer does not depend on thread timing.
fn decompression_budget(buffers: &[Buffer], file_len: u64) -> Vec<bool> {
    let budget = u64::from(MAX_BUFFER_SIZE) + MAX_DECOMPRESSION_RATIO.saturating_mul(file_len);
    let mut spent = 0u64;
    buffers
        .iter()
        .map(|b| {
            if !b.header.is_compressed() {
                return true;
            }
            let need = u64::from(b.header.saved_offset);
            let fits = spent + need <= budget;
            if fits {
                spent += need;
            }
            fits
        })
        .collect()
}

fn missing_buffers_warning(gaps: &[(i64, i64)], header: &LogfileHeader) -> Option<Warning> {
    if gaps.is_empty() {
        return None;
    }
    let count: i64 = gaps.iter().map(|(first, last)| last - first + 1).sum();
    let listed: Vec<String> = gaps
        .iter()
        .take(20)
        .map(|&(first, last)| if first == last { first.to_string() } else { format!("{first}-{last}") })
        .collect();
    let more = if gaps.len() > 20 { ", ..." } else { "" };
    let what = format!(
        "{count} buffers the logger wrote are not among those read (BuffersWritten {}): sequence numbers {}{more}; \
         they were removed from the file or are among the damaged buffers reported",
        header.buffers_written,
        listed.join(", ")
    );
    Some(Warning { place: Place::MissingBuffers, what, lost: Lost::Unknown })
}

/// The compression format of the file. No header field names it: Windows
/// writes XPRESS (plain LZ77), so that is tried first on the first compressed
/// buffer, then the other two formats Windows has.
fn choose_compression(bytes: &[u8], buffers: &[Buffer]) -> CompressionFormat {
    const CANDIDATES: [CompressionFormat; 3] =
        [CompressionFormat::Xpress, CompressionFormat::XpressHuffman, CompressionFormat::Lznt1];
    let Some(sample) = buffers.iter().find(|b| b.header.is_compressed()) else {
        return CompressionFormat::Xpress;
    };
    let input = compressed_payload(bytes, sample);
    let expected = (sample.header.saved_offset as usize).saturating_sub(BUFFER_HEADER_LEN);
    let start = sample.file_offset as usize;
    let valid_len = sample.header.offset as usize;
    // A stream can decode without error in the wrong format; the right one
    // also gives records that parse. One decoded sample is held at a time.
    let mut first_decoded = None;
    let mut data = Vec::new();
    for format in CANDIDATES {
        data.clear();
        data.extend_from_slice(&bytes[start..start + BUFFER_HEADER_LEN]);
        if compress::decompress_into(format, input, expected, &mut data).is_err() {
            continue;
        }
        if scan_records(&data[..valid_len.min(data.len())]).2.is_none() {
            return format;
        }
        first_decoded.get_or_insert(format);
    }
    first_decoded.unwrap_or(CompressionFormat::Xpress)
}

/// The raw timestamps and offsets of the records of a buffer's `data` (header
/// included), and the damage that ended the walk early, if any.
fn scan_records(data: &[u8]) -> (Vec<i64>, Vec<u32>, Option<RecordError>) {
    let estimate = data.len() / 64;
    let mut timestamps = Vec::with_capacity(estimate);
    let mut offsets = Vec::with_capacity(estimate);
    let mut offset = BUFFER_HEADER_LEN;
    loop {
        match scan_record(data, offset) {
            Ok(Some((timestamp, next))) => {
                timestamps.push(timestamp);
                offsets.push(offset as u32);
                offset = next;
            }
            Ok(None) => return (timestamps, offsets, None),
            Err(e) => return (timestamps, offsets, Some(e)),
        }
    }
}

fn compressed_payload<'a>(bytes: &'a [u8], buffer: &Buffer) -> &'a [u8] {
    let start = buffer.file_offset as usize + BUFFER_HEADER_LEN;
    let end = buffer.file_offset as usize + buffer.header.buffer_size as usize;
    &bytes[start..end]
}

/// Decompresses the buffer if needed and indexes its records. Returns the
/// damage found; what comes before the damage stays usable.
fn index_buffer(
    bytes: &[u8],
    buffer: &mut Buffer,
    compression: Option<CompressionFormat>,
    within_budget: bool,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let warn = |what: String, lost: Lost| Warning::in_buffer(buffer.index, buffer.file_offset, what, lost);
    let h = buffer.header;
    let start = buffer.file_offset as usize;
    if h.is_compressed() {
        let expected = (h.saved_offset as usize).saturating_sub(BUFFER_HEADER_LEN);
        if !within_budget {
            warnings.push(warn(
                format!(
                    "not decompressed: its {} bytes would take the trace's decompressed data past \
                     {MAX_DECOMPRESSION_RATIO} times the file size, more than real ETW data compresses",
                    h.saved_offset
                ),
                Lost::Unknown,
            ));
            return warnings;
        }
        let format = compression.unwrap_or(CompressionFormat::Xpress);
        // Fallible: the size comes from the file.
        let mut data = Vec::new();
        if data.try_reserve_exact(BUFFER_HEADER_LEN + expected).is_err() {
            warnings.push(warn(format!("cannot allocate {} bytes to decompress it", h.saved_offset), Lost::Unknown));
            return warnings;
        }
        data.extend_from_slice(&bytes[start..start + BUFFER_HEADER_LEN]);
        if let Err(e) = compress::decompress_into(format, compressed_payload(bytes, buffer), expected, &mut data) {
            warnings.push(warn(format!("compressed buffer does not decompress: {e}"), Lost::Unknown));
            return warnings;
        }
        buffer.valid_len = (h.offset as usize).min(data.len());
        buffer.decompressed = Some(data);
    } else {
        buffer.valid_len = (h.offset as usize).min(h.buffer_size as usize);
    }
    let data = match &buffer.decompressed {
        Some(data) => &data[..buffer.valid_len],
        None => &bytes[start..start + buffer.valid_len],
    };
    let (timestamps, offsets, damage) = scan_records(data);
    if let Some(e) = damage {
        warnings.push(warn(
            format!("{e}; the rest of this buffer is skipped ({} records before it kept)", offsets.len()),
            Lost::Unknown,
        ));
    }
    buffer.timestamps = timestamps;
    buffer.offsets = offsets;
    if h.flags & buffer_flags::BUFFER_LOST != 0 {
        warnings.push(warn("the logger marked this buffer as lost".into(), Lost::Nothing));
    }
    warnings
}

/// Puts each processor's buffers in time order, and sorts the records of a
/// processor whose buffers overlap in time or are out of order inside.
fn order_streams(buffers: &[Buffer]) -> Vec<(u16, Stream)> {
    let mut by_processor: std::collections::BTreeMap<u16, Vec<u32>> = Default::default();
    for (i, buffer) in buffers.iter().enumerate() {
        if buffer.record_count() > 0 {
            by_processor.entry(buffer.header.processor).or_default().push(i as u32);
        }
    }
    by_processor
        .into_iter()
        .map(|(processor, mut list)| {
            list.sort_by_key(|&i| {
                let b = &buffers[i as usize];
                (b.first_timestamp(), b.header.sequence_number, i)
            });
            let ordered = list.iter().all(|&i| buffers[i as usize].is_time_ordered())
                && list
                    .windows(2)
                    .all(|w| buffers[w[0] as usize].timestamps.last() <= buffers[w[1] as usize].timestamps.first());
            if ordered {
                return (processor, Stream::Ordered(list));
            }
            let mut refs: Vec<RecordRef> = list
                .iter()
                .flat_map(|&i| {
                    let b = &buffers[i as usize];
                    b.timestamps.iter().zip(&b.offsets).map(move |(&timestamp, &offset)| RecordRef {
                        timestamp,
                        buffer: i,
                        offset,
                    })
                })
                .collect();
            // Stable: equal timestamps keep buffer order.
            refs.sort_by_key(|r| r.timestamp);
            (processor, Stream::Sorted(refs))
        })
        .collect()
}

struct Cursor<'a> {
    stream: &'a Stream,
    buffer_pos: usize,
    record_pos: usize,
}

impl Cursor<'_> {
    #[inline]
    fn peek(&mut self, buffers: &[Buffer]) -> Option<RecordRef> {
        match self.stream {
            Stream::Sorted(refs) => refs.get(self.record_pos).copied(),
            Stream::Ordered(list) => loop {
                let &index = list.get(self.buffer_pos)?;
                let buffer = &buffers[index as usize];
                if self.record_pos < buffer.offsets.len() {
                    return Some(RecordRef {
                        timestamp: buffer.timestamps[self.record_pos],
                        buffer: index,
                        offset: buffer.offsets[self.record_pos],
                    });
                }
                self.buffer_pos += 1;
                self.record_pos = 0;
            },
        }
    }
}

#[derive(PartialEq, Eq)]
struct HeapEntry {
    at: RecordRef,
    stream: usize,
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // BinaryHeap is a max-heap: the earliest record, then the lowest stream, wins.
        (other.at.timestamp, other.stream).cmp(&(self.at.timestamp, self.stream))
    }
}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Records taken between two additions to the trace's read meter: a shared
/// counter is touched, and the stop flag read, once per this many records.
const METER_EVERY: u64 = 16 * 1024;

/// K-way merge of the processor streams.
pub struct Records<'a> {
    trace: &'a EtlTrace,
    heap: BinaryHeap<HeapEntry>,
    cursors: Vec<Cursor<'a>>,
    meter: Option<Progress>,
    /// Records taken and not yet added to `meter`.
    unreported: u64,
}

impl Drop for Records<'_> {
    fn drop(&mut self) {
        if let Some(meter) = &self.meter {
            meter.add(self.unreported);
        }
    }
}

impl<'a> Records<'a> {
    /// Counts every record taken into `meter`, so a front end can show how
    /// far a pass over the trace has got; the walk ends early once the meter
    /// is asked to stop (`Progress::stopped`), and the caller checks that.
    pub fn counting(mut self, meter: &Progress) -> Records<'a> {
        self.meter = Some(meter.clone());
        self
    }

    /// The next record's place, without parsing it.
    #[inline]
    pub fn next_ref(&mut self) -> Option<RecordRef> {
        if let Some(meter) = &self.meter {
            if self.unreported == METER_EVERY {
                meter.add(METER_EVERY);
                self.unreported = 0;
                if meter.stopped() {
                    self.heap.clear();
                }
            }
        }
        let mut top = self.heap.peek_mut()?;
        let at = top.at;
        self.unreported += 1;
        let cursor = &mut self.cursors[top.stream];
        cursor.record_pos += 1;
        match cursor.peek(&self.trace.buffers) {
            Some(next) => top.at = next,
            None => {
                std::collections::binary_heap::PeekMut::pop(top);
            }
        }
        Some(at)
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        loop {
            let at = self.next_ref()?;
            // Indexed records parse again; a failure here would mean the bytes changed.
            if let Some(record) = self.trace.record_at(at) {
                return Some(record);
            }
        }
    }
}
