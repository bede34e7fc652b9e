//! A result holding a 300,000-character cell renders in every format without
//! its memory growing past a few MB: rows are written in chunks, the terminal
//! table cuts the cell, nothing pads a row to the widest cell. The
//! allocations are counted by this test binary's own global allocator (one
//! test in the binary, so nothing else allocates meanwhile).
use columnar::{Column, DataTable};
use etwq_render::{self as render, write, Format};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: the caller's layout is passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most the render may hold at once beyond its input.
const BOUND_BYTES: usize = 3 << 20;

#[test]
fn a_300_000_character_cell_renders_in_bounded_memory() {
    let long = "GCBulkMovedObjectRanges ".repeat(12_500);
    assert_eq!(long.len(), 300_000);
    // Every row holds the long text (one dictionary entry, so the input
    // itself stays small); the table gets more rows than one block.
    let table_of = |rows: usize| {
        DataTable::new("t")
            .with_column("n", "", Column::u64((0..rows as u64).collect()))
            .and_then(|t| t.with_column("text", "", Column::strs(std::iter::repeat_n(long.as_str(), rows))))
            .unwrap()
    };
    for format in [Format::Table, Format::Line, Format::Csv, Format::Tsv, Format::Json, Format::Markdown] {
        let rows = if format == Format::Table { render::BLOCK_ROWS + 500 } else { 40 };
        let data = table_of(rows);
        let mut written = CountingSink::default();
        let before = LIVE.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        write(&data, format, &mut written).unwrap();
        let growth = PEAK.load(Ordering::SeqCst) - before;
        eprintln!("{format:?}: {rows} rows, {} bytes written, peak growth {growth} bytes", written.bytes);
        assert!(growth < BOUND_BYTES, "{format:?}: memory grew by {growth} bytes");
        // The terminal renderings (the table, a row at a time) cut a cell; the text formats keep it whole.
        let cut = matches!(format, Format::Table | Format::Line);
        let expected_at_least = if cut { rows * render::CELL_WIDTH_LIMIT } else { rows * long.len() };
        assert!(written.bytes >= expected_at_least, "{format:?}: only {} bytes written", written.bytes);
        assert!(
            !cut || written.bytes < rows * 2 * render::CELL_WIDTH_LIMIT,
            "{format:?} cuts the cell: {} bytes",
            written.bytes
        );
    }
}

#[derive(Default)]
struct CountingSink {
    bytes: usize,
}

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
