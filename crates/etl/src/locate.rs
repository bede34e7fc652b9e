//! Finding the buffers of an .etl file. Each buffer header gives the buffer's
//! size, so one damaged size would lose every later buffer if it were simply
//! believed. A size is believed when it ends at another buffer header (or at
//! the end of the file); otherwise the next buffer header is searched for and
//! the damaged buffer ends there. Buffers that the logger wrote but that are
//! not in the file show as gaps in the sequence numbers.
use super::buffer::{BufferHeader, BufferLimits, BUFFER_HEADER_LEN};
use super::compress::{self, CompressionFormat};
use super::logfile::LogfileHeader;
use std::cell::Cell;

/// A buffer found in the file, with the bytes it takes there.
#[derive(Clone, Copy, Debug)]
pub struct LocatedBuffer {
    pub index: usize,
    pub file_offset: u64,
    /// Its header; `buffer_size` is the size in the file that the next buffer
    /// header confirmed, which differs from the stored one when that was damaged.
    pub header: BufferHeader,
}

/// Damage met while walking the buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub index: usize,
    pub file_offset: u64,
    pub what: String,
    /// Whether the buffer's records are lost (else the buffer was still read).
    pub records_lost: bool,
}

/// The buffers of the file in file order, the damage met on the way, and the
/// sequence numbers of buffers that the logger wrote but the file lacks.
pub struct Layout {
    pub buffers: Vec<LocatedBuffer>,
    pub damage: Vec<Damage>,
    /// Inclusive ranges of sequence numbers.
    pub missing_sequence_numbers: Vec<(i64, i64)>,
}

/// EVENT_TRACE_FILE_MODE_CIRCULAR: old buffers are overwritten, so the first
/// sequence numbers are legitimately absent.
const CIRCULAR_MODE: u32 = 0x0000_0002;

pub fn locate_buffers(bytes: &[u8], header: &LogfileHeader) -> Layout {
    let limits = BufferLimits::from_logfile_buffer_size(header.buffer_size);
    let finder = Finder { bytes, limits, last_search: Cell::new(None) };
    let len = bytes.len() as u64;
    let mut buffers = Vec::new();
    let mut damage = Vec::new();
    // Sequence numbers of the buffers read (a damaged header's number is not trusted).
    let mut sequence_numbers = Vec::new();
    // Those of buffers reported as damaged, where the header still gives one.
    let mut damaged_sequence_numbers = Vec::new();
    let mut offset = 0u64;
    let mut index = 0usize;
    while offset < len {
        let Some(mut h) = BufferHeader::parse(&bytes[offset as usize..]) else {
            damage.push(Damage {
                index,
                file_offset: offset,
                what: format!("{} trailing bytes are too short for a buffer header", len - offset),
                records_lost: false,
            });
            break;
        };
        let claimed_end = offset + u64::from(h.buffer_size);
        if h.looks_valid(finder.limits) && finder.is_boundary(claimed_end) {
            sequence_numbers.push(h.sequence_number);
            buffers.push(LocatedBuffer { index, file_offset: offset, header: h });
            offset = claimed_end;
            index += 1;
            continue;
        }
        // The header is damaged, or its size does not end at a buffer.
        let next = finder.next_buffer(offset + 1);
        let found = match next {
            Some(next) => format!("the next buffer header is at {next:#x}"),
            None => "no buffer header follows".to_string(),
        };
        let valid = h.looks_valid(finder.limits);
        if valid && claimed_end > len && next.is_none() {
            damage.push(Damage {
                index,
                file_offset: offset,
                what: format!(
                    "buffer size {} runs past the end of the file ({} bytes left); the file is truncated",
                    h.buffer_size,
                    len - offset
                ),
                records_lost: true,
            });
            damaged_sequence_numbers.push(h.sequence_number);
            break;
        }
        let end = next.unwrap_or(len);
        // A valid header whose size stops short of the next buffer: either the
        // header after it is damaged (its size is right) or its size shrank.
        if valid && claimed_end <= end {
            let size = finder.size_before(offset, &h, end);
            if size != h.buffer_size {
                damage.push(Damage {
                    index,
                    file_offset: offset,
                    what: format!(
                        "the buffer size {} is damaged: {found}, so the buffer is read as {size} bytes",
                        h.buffer_size
                    ),
                    records_lost: false,
                });
                h.buffer_size = size;
            }
            sequence_numbers.push(h.sequence_number);
            buffers.push(LocatedBuffer { index, file_offset: offset, header: h });
            offset += u64::from(h.buffer_size);
            index += 1;
            continue;
        }
        // The size runs past the next buffer, or the header is damaged: the
        // buffer ends where the next one starts.
        let mut repaired = h;
        repaired.buffer_size = u32::try_from(end - offset).unwrap_or(u32::MAX);
        if repaired.looks_valid(finder.limits) {
            damage.push(Damage {
                index,
                file_offset: offset,
                what: format!(
                    "the buffer size {} is damaged: {found}, so the buffer is read as {} bytes",
                    h.buffer_size, repaired.buffer_size
                ),
                records_lost: false,
            });
            sequence_numbers.push(repaired.sequence_number);
            buffers.push(LocatedBuffer { index, file_offset: offset, header: repaired });
        } else {
            damage.push(Damage {
                index,
                file_offset: offset,
                what: format!(
                    "no valid buffer header (size {}, data end {:#x}, type {}, sequence number {}); \
                     skipped {} bytes: {found}",
                    h.buffer_size,
                    h.offset,
                    h.buffer_type,
                    h.sequence_number,
                    end - offset
                ),
                records_lost: true,
            });
            damaged_sequence_numbers.push(h.sequence_number);
        }
        offset = end;
        index += 1;
    }
    let mut missing_sequence_numbers = missing_sequence_numbers(sequence_numbers, header);
    // A damaged buffer already reported needs no second report as missing.
    missing_sequence_numbers = without(missing_sequence_numbers, &damaged_sequence_numbers);
    Layout { buffers, damage, missing_sequence_numbers }
}

/// The gaps less the numbers in `known`.
fn without(gaps: Vec<(i64, i64)>, known: &[i64]) -> Vec<(i64, i64)> {
    let mut known = known.to_vec();
    known.sort_unstable();
    known.dedup();
    let mut out = Vec::new();
    for (gap_first, last) in gaps {
        let mut first = gap_first;
        for &n in known.iter().filter(|&&n| n >= gap_first && n <= last) {
            if n > first {
                out.push((first, n - 1));
            }
            first = n + 1;
        }
        if first <= last {
            out.push((first, last));
        }
    }
    out
}

struct Finder<'a> {
    bytes: &'a [u8],
    limits: BufferLimits,
    /// The last search: where it started and what it found. A search from a
    /// later offset up to that answer finds the same, so a damaged region is
    /// scanned once however many false starts lie in it.
    last_search: Cell<Option<(u64, Option<u64>)>>,
}

impl Finder<'_> {
    fn header_at(&self, at: u64) -> Option<BufferHeader> {
        BufferHeader::parse(self.bytes.get(at as usize..)?).filter(|h| h.looks_valid(self.limits))
    }

    /// Whether a buffer can end at `at`: the end of the file or a buffer header.
    fn is_boundary(&self, at: u64) -> bool {
        at == self.bytes.len() as u64 || self.header_at(at).is_some()
    }

    /// The first offset at or after `from` where a buffer starts whose own
    /// size ends at the end of the file or at another buffer header.
    /// Uncompressed buffers sit at multiples of the buffer size; compressed
    /// ones are packed, so every byte is tried.
    fn next_buffer(&self, from: u64) -> Option<u64> {
        if let Some((start, found)) = self.last_search.get() {
            if from >= start && found.is_none_or(|at| from <= at) {
                return found;
            }
        }
        let len = self.bytes.len() as u64;
        let step = u64::from(self.limits.buffer_size);
        let last = len.checked_sub(BUFFER_HEADER_LEN as u64)?;
        let found = (from..=last).find(|&at| {
            self.header_at(at).is_some_and(|h| {
                let end = at + u64::from(h.buffer_size);
                (h.is_compressed() || at % step == 0) && end <= len && self.is_boundary(end)
            })
        });
        self.last_search.set(Some((from, found)));
        found
    }

    /// The size of the valid buffer `h` at `offset`, whose stored size ends
    /// before `end` (the next buffer or the end of the file) at bytes that are
    /// not a buffer header. Either those bytes are damage and the size is
    /// right, or the size shrank and the buffer runs to `end`. A compressed
    /// buffer's size is right when its data decompresses; an uncompressed
    /// one's is kept, as it still holds the records up to its data end.
    fn size_before(&self, offset: u64, h: &BufferHeader, end: u64) -> u32 {
        if !h.is_compressed() {
            return h.buffer_size;
        }
        let to_end = u32::try_from(end - offset).unwrap_or(u32::MAX);
        let start = offset as usize + BUFFER_HEADER_LEN;
        let expected = (h.saved_offset as usize).saturating_sub(BUFFER_HEADER_LEN);
        let decompresses = |size: u32| {
            let input = &self.bytes[start..offset as usize + size as usize];
            CompressionFormat::ALL.iter().any(|&format| compress::decompress(format, input, expected).is_ok())
        };
        if decompresses(h.buffer_size) || !decompresses(to_end) {
            h.buffer_size
        } else {
            to_end
        }
    }
}

/// Sequence numbers count the buffers the logger wrote, from 0 (the header
/// buffer) to BuffersWritten - 1, whatever order they reach the file in. Only
/// when the numbers found fit that scheme (no repeats, none past BuffersWritten)
/// are gaps reported: a file merged from several loggers may number its
/// buffers otherwise. Gaps come as inclusive ranges, so a damaged count cannot
/// make the list large.
fn missing_sequence_numbers(mut found: Vec<i64>, header: &LogfileHeader) -> Vec<(i64, i64)> {
    found.retain(|&n| n >= 0);
    found.sort_unstable();
    let count = found.len() as i64;
    found.dedup();
    let Some(&highest) = found.last() else {
        return Vec::new();
    };
    let written = i64::from(header.buffers_written);
    let fits = found.len() as i64 == count
        && if written > 0 {
            highest < written
        } else {
            // A header never updated at stop: the numbers found must be nearly dense.
            highest < 2 * count + 64
        };
    if !fits {
        return Vec::new();
    }
    let end = if written > 0 { written } else { highest + 1 };
    // A circular file overwrote its oldest buffers: count from the oldest kept after the header buffer.
    let circular = header.log_file_mode & CIRCULAR_MODE != 0;
    let mut expected = if circular { found.iter().copied().find(|&n| n > 0).unwrap_or(end) } else { 0 };
    let mut gaps = Vec::new();
    for &n in found.iter().chain(std::iter::once(&end)) {
        if n > expected {
            gaps.push((expected, n - 1));
        }
        expected = expected.max(n + 1);
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(buffers_written: u32) -> LogfileHeader {
        LogfileHeader { buffers_written, ..Default::default() }
    }

    #[test]
    fn gaps_in_the_sequence_numbers_are_the_missing_buffers() {
        assert_eq!(missing_sequence_numbers(vec![0, 3, 1, 5], &header(7)), vec![(2, 2), (4, 4), (6, 6)]);
        assert_eq!(missing_sequence_numbers(vec![0, 2, 1], &header(3)), vec![]);
        assert_eq!(missing_sequence_numbers(vec![0, 1], &header(u32::MAX)), vec![(2, i64::from(u32::MAX) - 1)]);
        // A header never updated at stop: only the gaps before the highest number show.
        assert_eq!(missing_sequence_numbers(vec![0, 4, 2], &header(0)), vec![(1, 1), (3, 3)]);
    }

    #[test]
    fn damaged_buffers_reported_already_leave_the_gaps() {
        assert_eq!(without(vec![(2, 6), (9, 9)], &[4, 9, 2, 30]), vec![(3, 3), (5, 6)]);
    }

    #[test]
    fn numbering_that_is_not_one_counter_reports_nothing() {
        assert_eq!(missing_sequence_numbers(vec![0, 1, 1, 5], &header(7)), vec![]);
        assert_eq!(missing_sequence_numbers(vec![0, 1, 3], &header(3)), vec![]);
        assert_eq!(missing_sequence_numbers(vec![0, 1, 1 << 40], &header(0)), vec![]);
    }

    #[test]
    fn a_circular_file_starts_at_its_oldest_buffer() {
        let circular = LogfileHeader { buffers_written: 20, log_file_mode: CIRCULAR_MODE, ..Default::default() };
        assert_eq!(missing_sequence_numbers(vec![0, 15, 17, 16, 19], &circular), vec![(18, 18)]);
    }
}
