//! Each buffer of the file and the index of its records: decompression
//! (within a budget against decompression bombs), the compression format, and
//! where each record lies, so that a record is found again without a copy.
use super::buffer::{buffer_flags, BufferHeader, BUFFER_HEADER_LEN, MAX_BUFFER_SIZE};
use super::compress::{self, CompressionFormat};
use super::locate::LocatedBuffer;
use super::logfile::LogfileHeader;
use super::offsets::Offsets;
use super::record::{indexed_timestamp, parse_record, scan_record, Record, RecordError};
use super::warning::{Lost, Place, Warning};

/// One buffer of the file with the index of its records.
pub struct Buffer {
    pub index: usize,
    pub file_offset: u64,
    pub header: BufferHeader,
    /// The buffer as it was in memory (header included) when it was compressed on disk.
    pub(crate) decompressed: Option<Vec<u8>>,
    /// Bytes of `data()` that hold records.
    pub(crate) valid_len: usize,
    /// The buffer offset of each record, in buffer order. A record's time is
    /// read from its header when asked (`timestamp_at`): kept for every
    /// record of a 10 GB trace, it would be another 4 bytes a record.
    pub(crate) offsets: Offsets,
    pub(crate) times: BufferTimes,
}

impl Buffer {
    pub(crate) fn new(located: LocatedBuffer) -> Buffer {
        Buffer {
            index: located.index,
            file_offset: located.file_offset,
            header: located.header,
            decompressed: None,
            valid_len: 0,
            offsets: Offsets::default(),
            times: BufferTimes::default(),
        }
    }

    pub fn record_count(&self) -> usize {
        self.offsets.len()
    }

    pub fn first_timestamp(&self) -> Option<i64> {
        self.times.first
    }

    pub fn last_timestamp(&self) -> Option<i64> {
        self.times.last
    }

    pub(crate) fn is_time_ordered(&self) -> bool {
        self.times.sorted
    }

    /// The raw timestamp of record `i` (below `record_count`), from its header.
    #[inline]
    pub(crate) fn timestamp_at(&self, file: &[u8], i: usize) -> i64 {
        indexed_timestamp(self.data(file), self.offsets.at(i) as usize)
    }

    /// The buffer's bytes as they were in memory, header included; `file` is
    /// the whole trace's bytes.
    #[inline]
    pub(crate) fn data<'a>(&'a self, file: &'a [u8]) -> &'a [u8] {
        match &self.decompressed {
            Some(data) => &data[..self.valid_len],
            None => {
                let start = self.file_offset as usize;
                &file[start..start + self.valid_len]
            }
        }
    }
}

/// What the index keeps of a buffer's record times.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BufferTimes {
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
    pub(crate) min: Option<i64>,
    pub(crate) max: Option<i64>,
    /// Whether the records run in time order.
    pub(crate) sorted: bool,
}

impl BufferTimes {
    fn of(all: &[i64]) -> BufferTimes {
        BufferTimes {
            first: all.first().copied(),
            last: all.last().copied(),
            min: all.iter().min().copied(),
            max: all.iter().max().copied(),
            sorted: all.is_sorted(),
        }
    }
}

/// A record's place in the trace: enough to find it again without a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordRef {
    pub timestamp: i64,
    pub buffer: u32,
    pub offset: u32,
}

/// The record at `at`, parsed from its buffer.
#[inline]
pub(crate) fn record_at<'a>(file: &'a [u8], buffers: &'a [Buffer], at: RecordRef) -> Option<Record<'a>> {
    let buffer = buffers.get(at.buffer as usize)?;
    let located = parse_record(buffer.data(file), at.offset as usize, buffer.header.processor).ok()??;
    Some(located.record)
}

/// Decompressed buffers are kept in memory while the trace is open; a buffer
/// decompresses to at most 16 MiB but its file bytes can be a few dozen. Real
/// ETW buffers compress about 3 to 10 times, so the decompressed data may be
/// this many times the file (plus one largest buffer); past that a file is a
/// decompression bomb and its further compressed buffers are not read.
pub const MAX_DECOMPRESSION_RATIO: u64 = 32;

/// Whether each buffer fits the decompression budget, in file order so the
/// answer does not depend on thread timing.
pub(crate) fn decompression_budget(buffers: &[Buffer], file_len: u64) -> Vec<bool> {
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

pub(crate) fn missing_buffers_warning(gaps: &[(i64, i64)], header: &LogfileHeader) -> Option<Warning> {
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
pub(crate) fn choose_compression(bytes: &[u8], buffers: &[Buffer]) -> CompressionFormat {
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
pub(crate) fn scan_records(data: &[u8]) -> (Vec<i64>, Vec<u32>, Option<RecordError>) {
    let estimate = data.len() / 64;
    let mut timestamps = Vec::with_capacity(estimate);
    let mut offsets = Vec::with_capacity(estimate);
    let mut offset = BUFFER_HEADER_LEN;
    let damage = loop {
        match scan_record(data, offset) {
            Ok(Some((timestamp, next))) => {
                timestamps.push(timestamp);
                offsets.push(offset as u32);
                offset = next;
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    // Every buffer's offsets are kept for the whole session: no room to spare
    // (the timestamps only while the buffer is indexed).
    offsets.shrink_to_fit();
    (timestamps, offsets, damage)
}

fn compressed_payload<'a>(bytes: &'a [u8], buffer: &Buffer) -> &'a [u8] {
    let start = buffer.file_offset as usize + BUFFER_HEADER_LEN;
    let end = buffer.file_offset as usize + buffer.header.buffer_size as usize;
    &bytes[start..end]
}

/// Decompresses the buffer if needed and indexes its records. Returns the
/// damage found; what comes before the damage stays usable.
pub(crate) fn index_buffer(
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
    buffer.times = BufferTimes::of(&timestamps);
    buffer.offsets = Offsets::from(offsets);
    if h.flags & buffer_flags::BUFFER_LOST != 0 {
        warnings.push(warn("the logger marked this buffer as lost".into(), Lost::Nothing));
    }
    warnings
}
