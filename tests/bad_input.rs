//! Damaged and foreign files: a clear error, or a warning naming the buffer
//! and file offset while the good buffers still load. Nothing panics.
use etl::compress::CompressionFormat;
use etl::writer::{EtlWriter, WriterOptions};
use etl::{EtlTrace, HeaderKind, Record, RecordId};
use std::io::Cursor;

const BUFFER: usize = 4096;

/// A trace of `n` records spread over two processors in 4 KB buffers.
fn sample_trace(n: usize, compression: Option<CompressionFormat>) -> Vec<u8> {
    let mut options = WriterOptions::new(2, 132_000_000_000_000_000);
    options.header.buffer_size = BUFFER as u32;
    options.compression = compression;
    let mut writer = EtlWriter::new(Cursor::new(Vec::new()), options).unwrap();
    let payload: Vec<u8> = (0..40u8).collect();
    for i in 0..n {
        let record = Record {
            kind: HeaderKind::Compact64,
            id: RecordId::Kernel { group: 5, opcode: 36 },
            version: 2,
            marker_flags: 0xC0,
            flags: 0,
            event_property: 0,
            thread_id: Some(i as u32),
            process_id: Some(4),
            processor: (i % 2) as u16,
            timestamp: 10 + i as i64,
            cpu_time: 0,
            activity_id: None,
            instance: None,
            extended: Default::default(),
            payload: &payload,
        };
        writer.write(&record).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn open_err(bytes: Vec<u8>) -> String {
    match EtlTrace::from_bytes(bytes) {
        Ok(_) => panic!("a damaged file opened without error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.etl");
    std::fs::write(&path, b"").unwrap();
    let err = EtlTrace::open(&path).err().unwrap().to_string();
    assert!(err.contains("is empty"), "{err}");
    let missing = EtlTrace::open(dir.path().join("missing.etl")).err().unwrap().to_string();
    assert!(missing.contains("cannot read"), "{missing}");
}

#[test]
fn a_file_that_is_not_etl_is_an_error() {
    let err =
        open_err(b"%PDF-1.7 this is not a trace at all, but it is long enough to hold a buffer header....".to_vec());
    assert!(err.starts_with("not an ETL trace"), "{err}");
    let err = open_err(vec![0u8; 10]);
    assert!(err.contains("too short"), "{err}");
    let err = open_err(vec![0u8; 65536]);
    assert!(err.starts_with("not an ETL trace"), "{err}");
}

#[test]
fn a_truncated_file_keeps_its_whole_buffers() {
    let full = sample_trace(600, None);
    let whole = EtlTrace::from_bytes(full.clone()).unwrap();
    assert!(whole.warnings.is_empty());
    let cut = full.len() - BUFFER / 2;
    let trace = EtlTrace::from_bytes(full[..cut].to_vec()).unwrap();
    assert_eq!(trace.warnings.len(), 1, "{:?}", trace.warnings);
    let w = &trace.warnings[0];
    assert_eq!(w.file_offset().unwrap() as usize, full.len() - BUFFER);
    assert_eq!(w.buffer_index().unwrap(), whole.buffers().len() - 1);
    assert!(w.to_string().contains("truncated"), "{w}");
    let lost = whole.buffers().last().unwrap().record_count();
    assert_eq!(trace.record_count(), whole.record_count() - lost);
    assert_eq!(trace.records().count(), trace.record_count());
}

#[test]
fn a_buffer_whose_size_runs_past_the_end_is_read_to_the_end() {
    let mut bytes = sample_trace(600, None);
    let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
    let last = bytes.len() - BUFFER;
    bytes[last..last + 4].copy_from_slice(&(BUFFER as u32 * 4).to_le_bytes());
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    assert_eq!(trace.warnings.len(), 1, "{:?}", trace.warnings);
    assert_eq!(trace.warnings[0].file_offset().unwrap() as usize, last);
    let what = &trace.warnings[0].what;
    assert!(what.contains("buffer size 16384 is damaged") && what.contains("read as 4096 bytes"), "{what}");
    assert_eq!(trace.record_count(), whole.record_count());
}

#[test]
fn a_zeroed_region_costs_only_its_buffers() {
    let mut bytes = sample_trace(600, None);
    let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
    let zeroed = [2usize, 3];
    let lost: usize = zeroed.iter().map(|&i| whole.buffers()[i].record_count()).sum();
    bytes[2 * BUFFER..4 * BUFFER].fill(0);
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    assert_eq!(trace.warnings.len(), 2, "{:?}", trace.warnings);
    assert_eq!(trace.warnings[0].file_offset().unwrap() as usize, 2 * BUFFER);
    assert!(trace.warnings[0].what.contains(&format!("skipped {} bytes", 2 * BUFFER)));
    // The sequence numbers tell which buffers the zeroed bytes held.
    let sequences = zeroed.map(|i| whole.buffers()[i].header.sequence_number);
    let listed = format!("sequence numbers {}-{};", sequences[0], sequences[1]);
    assert!(trace.warnings[1].what.contains(&listed), "{}", trace.warnings[1]);
    assert_eq!(trace.record_count(), whole.record_count() - lost);
}

#[test]
fn a_record_whose_size_runs_past_its_buffer_keeps_the_records_before_it() {
    let mut bytes = sample_trace(600, None);
    let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
    let buffer = &whole.buffers()[1];
    let start = buffer.file_offset as usize;
    // The third record of buffer 1: 0x48 header, then records of 0x18 + 40 = 64 bytes.
    let third = start + 0x48 + 2 * 64;
    bytes[third + 4..third + 6].copy_from_slice(&0xFFF0u16.to_le_bytes());
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    assert_eq!(trace.warnings.len(), 1);
    let w = &trace.warnings[0];
    assert_eq!((w.buffer_index().unwrap(), w.file_offset().unwrap() as usize), (1, start));
    assert!(w.what.contains("runs past the end of the buffer data"), "{w}");
    assert_eq!(trace.buffers()[1].record_count(), 2);
    assert_eq!(trace.record_count(), whole.record_count() - (buffer.record_count() - 2));
}

#[test]
fn a_compressed_buffer_that_does_not_decompress_is_skipped() {
    let mut bytes = sample_trace(600, Some(CompressionFormat::Xpress));
    let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
    assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
    let victim = &whole.buffers()[2];
    let start = victim.file_offset as usize + 0x48;
    let end = victim.file_offset as usize + victim.header.buffer_size as usize;
    bytes[start..end].fill(0xAB);
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    assert_eq!(trace.warnings.len(), 1, "{:?}", trace.warnings);
    let w = &trace.warnings[0];
    assert_eq!((w.buffer_index().unwrap(), w.file_offset().unwrap()), (2, victim.file_offset));
    assert!(w.what.contains("does not decompress") && w.what.contains("XPRESS"), "{w}");
    assert_eq!(trace.record_count(), whole.record_count() - victim.record_count());
}

#[test]
fn random_damage_never_panics() {
    let original = sample_trace(300, None);
    let mut seed = 0x2545F4914F6CDD1Du64;
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % bytes.len();
            bytes[at] = (seed >> 32) as u8;
        }
        if let Ok(trace) = EtlTrace::from_bytes(bytes) {
            assert_eq!(trace.records().count(), trace.record_count());
        }
    }
}

#[test]
fn a_header_claiming_huge_buffers_cannot_make_decompression_reserve_gigabytes() {
    let mut bytes = sample_trace(600, Some(CompressionFormat::Xpress));
    let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
    // The log file header's BufferSize, then a compressed buffer's SavedOffset, both 3 GB.
    let header_payload = 0x48 + 0x20;
    bytes[header_payload..header_payload + 4].copy_from_slice(&0xC000_0000u32.to_le_bytes());
    let victim = whole.buffers()[2].file_offset as usize;
    bytes[victim + 4..victim + 8].copy_from_slice(&0xC000_0000u32.to_le_bytes());
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    assert_eq!(trace.warnings.len(), 1, "{:?}", trace.warnings);
    assert_eq!(trace.warnings[0].file_offset().unwrap() as usize, victim);
    assert_eq!(trace.record_count(), whole.record_count() - whole.buffers()[2].record_count());
}
