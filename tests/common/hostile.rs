//! Hostile traces built through the project's writer (issue 18).
use etl::buffer::{buffer_flags, buffer_type, BufferHeader, BUFFER_HEADER_LEN};
use etl::compress::{self, CompressionFormat};
use etl::writer::{encode_record, EtlWriter, WriterOptions};
use etl::{HeaderKind, Record, RecordId};
use std::io::Cursor;

pub const BUFFER: usize = 4096;

pub fn record(i: usize, payload: &[u8], processors: usize) -> Record<'_> {
    Record {
        kind: HeaderKind::Compact64,
        id: RecordId::Kernel { group: 5, opcode: 36 },
        version: 2,
        marker_flags: 0xC0,
        flags: 0,
        event_property: 0,
        thread_id: Some(i as u32),
        process_id: Some(4),
        processor: (i % processors) as u16,
        timestamp: 10 + i as i64,
        cpu_time: 0,
        activity_id: None,
        instance: None,
        extended: Default::default(),
        payload,
    }
}

/// A trace of `n` records over two processors in 4 KB buffers.
pub fn sample_trace(n: usize, compression: Option<CompressionFormat>) -> Vec<u8> {
    let mut options = WriterOptions::new(2, 132_000_000_000_000_000);
    options.header.buffer_size = BUFFER as u32;
    options.compression = compression;
    let mut writer = EtlWriter::new(Cursor::new(Vec::new()), options).unwrap();
    let payload: Vec<u8> = (0..40u8).collect();
    for i in 0..n {
        writer.write(&record(i, &payload, 2)).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// An XPRESS bomb: the writer's header buffer claiming `claimed_buffer_size`
/// buffers, then `count` compressed buffers whose few hundred bytes each
/// decompress to `decompressed` bytes of valid records (one long match).
pub fn xpress_bomb(claimed_buffer_size: u32, decompressed: usize, count: usize) -> Vec<u8> {
    let mut options = WriterOptions::new(1, 132_000_000_000_000_000);
    options.header.buffer_size = claimed_buffer_size;
    options.compression = Some(CompressionFormat::Xpress);
    // The header buffer only: the writer keeps open buffers of the claimed size in memory.
    let mut file = EtlWriter::new(Cursor::new(Vec::new()), options).unwrap().finish().unwrap().into_inner();
    let payload = [0u8; 40];
    let one = encode_record(&record(0, &payload, 1)).unwrap();
    let data: Vec<u8> = one.iter().copied().cycle().take(decompressed - BUFFER_HEADER_LEN).collect();
    let compressed = compress::compress(CompressionFormat::Xpress, &data);
    for sequence in 1..=count as i64 {
        let header = BufferHeader {
            buffer_size: (BUFFER_HEADER_LEN + compressed.len()) as u32,
            saved_offset: decompressed as u32,
            current_offset: decompressed as u32,
            sequence_number: sequence,
            offset: decompressed as u32,
            flags: buffer_flags::PROC_INDEX | buffer_flags::COMPRESSED,
            buffer_type: buffer_type::GENERIC,
            state: 3,
            ..Default::default()
        };
        file.extend_from_slice(&header.encode());
        file.extend_from_slice(&compressed);
    }
    file
}
