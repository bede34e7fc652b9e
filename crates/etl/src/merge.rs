//! Delivery of records in time order: each processor's buffers put in time
//! order (records sorted where they overlap), and a k-way merge of the
//! processors' streams.
use super::index::{record_at, Buffer, RecordRef};
use super::record::Record;
use progress::Progress;
use std::collections::BinaryHeap;

/// One processor's records in time order.
pub(crate) enum Stream {
    /// Buffers whose records already run in time order, one after the other.
    Ordered(Vec<u32>),
    /// Records that had to be sorted.
    Sorted(Vec<RecordRef>),
}

/// Puts each processor's buffers in time order, and sorts the records of a
/// processor whose buffers overlap in time or are out of order inside.
pub(crate) fn order_streams(file: &[u8], buffers: &[Buffer]) -> Vec<(u16, Stream)> {
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
                    .all(|w| buffers[w[0] as usize].last_timestamp() <= buffers[w[1] as usize].first_timestamp());
            if ordered {
                return (processor, Stream::Ordered(list));
            }
            let mut refs: Vec<RecordRef> = list
                .iter()
                .flat_map(|&i| {
                    let b = &buffers[i as usize];
                    (0..b.record_count()).map(move |r| RecordRef {
                        timestamp: b.timestamp_at(file, r),
                        buffer: i,
                        offset: b.offsets.at(r),
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
    fn peek(&mut self, file: &[u8], buffers: &[Buffer]) -> Option<RecordRef> {
        match self.stream {
            Stream::Sorted(refs) => refs.get(self.record_pos).copied(),
            Stream::Ordered(list) => loop {
                let &index = list.get(self.buffer_pos)?;
                let buffer = &buffers[index as usize];
                if self.record_pos < buffer.offsets.len() {
                    return Some(RecordRef {
                        timestamp: buffer.timestamp_at(file, self.record_pos),
                        buffer: index,
                        offset: buffer.offsets.at(self.record_pos),
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
    /// The trace's bytes, and its buffers, which say where each record lies in them.
    file: &'a [u8],
    buffers: &'a [Buffer],
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
    /// The records of the streams of the processors `wanted` picks, merged.
    pub(crate) fn new(
        file: &'a [u8],
        buffers: &'a [Buffer],
        streams: &'a [(u16, Stream)],
        wanted: impl Fn(u16) -> bool,
    ) -> Records<'a> {
        let mut heap = BinaryHeap::with_capacity(streams.len());
        let mut cursors = Vec::with_capacity(streams.len());
        for (_, stream) in streams.iter().filter(|(p, _)| wanted(*p)) {
            let slot = cursors.len();
            let mut cursor = Cursor { stream, buffer_pos: 0, record_pos: 0 };
            if let Some(at) = cursor.peek(file, buffers) {
                heap.push(HeapEntry { at, stream: slot });
            }
            cursors.push(cursor);
        }
        Records { file, buffers, heap, cursors, meter: None, unreported: 0 }
    }

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
        match cursor.peek(self.file, self.buffers) {
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
            if let Some(record) = record_at(self.file, self.buffers, at) {
                return Some(record);
            }
        }
    }
}
