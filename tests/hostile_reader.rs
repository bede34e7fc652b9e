//! Hostile input for the reader (issue 18): decompression bombs, damaged
//! buffer sizes and removed buffers. Every case ends in a clear error or
//! warning, never a panic, abort or hang; memory stays within a stated bound;
//! one damaged buffer costs at most its own records.
mod common;
use common::hostile::{sample_trace, xpress_bomb};
use etl::buffer::BUFFER_HEADER_LEN;
use etl::compress::CompressionFormat;
use etl::{EtlTrace, Lost, Place};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `etwq info FILE` in a child process; fails if it does not end within
/// `deadline`. Returns whether it succeeded, and its stderr.
fn etwq_info(path: &Path, deadline: Duration) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_etwq"))
        .arg("info")
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            child.kill().unwrap();
            panic!("etwq info {} did not finish within {deadline:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.success(), reader.join().unwrap())
}

#[test]
fn etwq_reads_an_xpress_bomb_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    // 64 MiB claimed everywhere (past the 16 MiB ETW allows), then the largest real claim.
    for (claimed, decompressed, explanation) in
        [(64u32 << 20, 64usize << 20, "no valid buffer header"), (16 << 20, 16 << 20, "32 times the file size")]
    {
        let path = dir.path().join("bomb.etl");
        std::fs::write(&path, xpress_bomb(claimed, decompressed, 100)).unwrap();
        let (ok, stderr) = etwq_info(&path, Duration::from_secs(120));
        assert!(ok, "{stderr}");
        assert!(stderr.contains("etwq: warning: buffer 1 at file offset 0x200"), "{stderr}");
        assert!(stderr.contains(explanation), "{stderr}");
    }
}

#[test]
fn an_xpress_bomb_reads_in_process_with_a_warning_per_refused_buffer() {
    let bomb = xpress_bomb(16 << 20, 16 << 20, 100);
    let trace = EtlTrace::from_bytes(bomb.clone()).unwrap();
    // 16 MiB + 32 x the file admits one buffer of 16 MiB; the other 99 are refused by name.
    let refused: Vec<_> = trace.warnings.iter().filter(|w| w.what.contains("32 times the file size")).collect();
    assert_eq!(refused.len(), 99, "{:?}", trace.warnings.first());
    assert!(refused.iter().all(|w| w.lost == Lost::Unknown && w.buffer_index().is_some()));
    let per_buffer = (16usize << 20) - BUFFER_HEADER_LEN;
    // The admitted buffer's whole records, and the header event.
    assert_eq!(trace.record_count(), per_buffer / 64 + 1);
    assert_eq!(trace.records().count(), trace.record_count());
}

/// Opens `bytes`, which hold `whole` with buffer `victim` damaged, and checks
/// that at most the victim's records are lost and that any loss is reported
/// naming the victim's index and offset.
fn assert_costs_at_most_one_buffer(bytes: Vec<u8>, whole: &EtlTrace, victim: usize, case: &str) -> usize {
    let trace = match EtlTrace::from_bytes(bytes) {
        Ok(trace) => trace,
        Err(e) => panic!("{case}: {e}"),
    };
    let victim_buffer = &whole.buffers()[victim];
    let lost = whole.record_count() - trace.record_count().min(whole.record_count());
    assert!(
        lost <= victim_buffer.record_count(),
        "{case}: lost {lost} records, buffer {victim} holds {}: {:?}",
        victim_buffer.record_count(),
        trace.warnings
    );
    assert_eq!(trace.records().count(), trace.record_count(), "{case}");
    if lost > 0 {
        let named = trace.warnings.iter().any(|w| {
            w.place == Place::Buffer { index: victim, file_offset: victim_buffer.file_offset }
                && w.lost != Lost::Nothing
        });
        assert!(named, "{case}: {lost} records lost without a warning naming buffer {victim}: {:?}", trace.warnings);
    }
    lost
}

fn flip_buffer_size_bits(bytes: &[u8], whole: &EtlTrace, victim: usize, name: &str) -> usize {
    let at = whole.buffers()[victim].file_offset as usize;
    let mut buffers_lost = 0;
    for bit in 0..32 {
        let mut damaged = bytes.to_vec();
        damaged[at + bit / 8] ^= 1 << (bit % 8);
        let case = format!("{name}: bit {bit} of buffer {victim}'s BufferSize");
        let lost = assert_costs_at_most_one_buffer(damaged, whole, victim, &case);
        buffers_lost += usize::from(lost > 0);
    }
    buffers_lost
}

#[test]
fn a_flipped_buffer_size_bit_costs_at_most_that_buffer() {
    for compression in [None, Some(CompressionFormat::Xpress)] {
        let bytes = sample_trace(2000, compression);
        let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
        assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
        assert!(whole.buffers().len() > 20);
        for victim in [1, 5, whole.buffers().len() - 2] {
            let lost = flip_buffer_size_bits(&bytes, &whole, victim, &format!("{compression:?}"));
            // The next buffer header shows where the damaged one ends, so its records stay readable.
            assert_eq!(lost, 0, "{compression:?} buffer {victim}: {lost} of 32 flips lost records");
        }
    }
}

#[test]
fn a_damaged_buffer_size_is_reported_even_when_the_records_survive() {
    let bytes = sample_trace(2000, Some(CompressionFormat::Xpress));
    let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
    let victim = &whole.buffers()[3];
    let at = victim.file_offset as usize;
    // Stretched to the end of the file: decompression alone would not notice.
    let mut damaged = bytes.clone();
    damaged[at..at + 4].copy_from_slice(&((bytes.len() - at) as u32).to_le_bytes());
    let trace = EtlTrace::from_bytes(damaged).unwrap();
    assert_eq!(trace.record_count(), whole.record_count());
    assert_eq!(trace.warnings.len(), 1, "{:?}", trace.warnings);
    let w = &trace.warnings[0];
    assert_eq!(w.place, Place::Buffer { index: 3, file_offset: victim.file_offset });
    assert_eq!(w.lost, Lost::Nothing);
    assert!(w.what.contains("buffer size") && w.what.contains("damaged"), "{w}");
    // Zero, and a size just short of the real one.
    for size in [0u32, victim.header.buffer_size - 8] {
        let mut damaged = bytes.clone();
        damaged[at..at + 4].copy_from_slice(&size.to_le_bytes());
        let trace = EtlTrace::from_bytes(damaged).unwrap();
        assert_eq!(trace.record_count(), whole.record_count(), "size {size}");
        assert_eq!(trace.warnings.len(), 1, "size {size}: {:?}", trace.warnings);
    }
}

#[test]
fn a_destroyed_buffer_header_loses_that_buffer_and_says_so() {
    for compression in [None, Some(CompressionFormat::Xpress)] {
        let bytes = sample_trace(2000, compression);
        let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
        let victim = 4;
        let at = whole.buffers()[victim].file_offset as usize;
        let mut damaged = bytes.clone();
        damaged[at..at + BUFFER_HEADER_LEN].fill(0xEE);
        let lost = assert_costs_at_most_one_buffer(damaged, &whole, victim, &format!("{compression:?}"));
        assert_eq!(lost, whole.buffers()[victim].record_count());
    }
}

fn remove_buffer(bytes: &[u8], whole: &EtlTrace, victim: usize) -> Vec<u8> {
    let b = &whole.buffers()[victim];
    let start = b.file_offset as usize;
    let end = start + b.header.buffer_size as usize;
    [&bytes[..start], &bytes[end..]].concat()
}

#[test]
fn removed_buffers_are_reported_by_sequence_number() {
    for compression in [None, Some(CompressionFormat::Xpress)] {
        let bytes = sample_trace(2000, compression);
        let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
        let last = whole.buffers().len() - 1;
        // One in the middle, then the last one (only BuffersWritten shows that one).
        for victims in [vec![6], vec![6, 7, 9], vec![last]] {
            let mut cut = bytes.clone();
            for &victim in victims.iter().rev() {
                cut = remove_buffer(&cut, &whole, victim);
            }
            let trace = EtlTrace::from_bytes(cut).unwrap();
            let removed: usize = victims.iter().map(|&v| whole.buffers()[v].record_count()).sum();
            assert_eq!(trace.record_count(), whole.record_count() - removed);
            assert_eq!(trace.warnings.len(), 1, "{compression:?} {victims:?}: {:?}", trace.warnings);
            let w = &trace.warnings[0];
            assert_eq!(w.place, Place::MissingBuffers);
            let sequences: Vec<String> =
                victims.iter().map(|&v| whole.buffers()[v].header.sequence_number.to_string()).collect();
            for sequence in &sequences {
                assert!(w.what.contains(sequence.as_str()), "{w}");
            }
            assert!(w.what.starts_with(&format!("{} buffers", victims.len())), "{w}");
            assert!(w.to_string().contains("records lost"), "{w}");
        }
    }
}

/// A real trace from the corpus, or None when the corpus is absent.
fn corpus_trace(relative: &str) -> Option<(Vec<u8>, EtlTrace)> {
    let path = common::corpus_dir()?.join(relative);
    let bytes = std::fs::read(&path).unwrap();
    let whole = EtlTrace::from_bytes(bytes.clone()).unwrap();
    assert!(whole.warnings.is_empty(), "{relative}: {:?}", whole.warnings);
    Some((bytes, whole))
}

#[test]
fn corpus_traces_survive_a_flipped_buffer_size_bit() {
    for (name, victims) in [("airbus/ShutdownPerfDiagLogger.etl", [5, 30]), ("perfview/net.4.5.2.x64.etl", [5, 200])] {
        let Some((bytes, whole)) = corpus_trace(name) else {
            return;
        };
        for victim in victims {
            let lost = flip_buffer_size_bits(&bytes, &whole, victim, name);
            eprintln!("{name}: 32 flips of buffer {victim}'s BufferSize lost records in {lost}");
        }
    }
}

#[test]
fn corpus_traces_report_a_removed_buffer() {
    for name in ["airbus/ShutdownPerfDiagLogger.etl", "perfview/net.4.5.2.x64.etl"] {
        let Some((bytes, whole)) = corpus_trace(name) else {
            return;
        };
        let victim = 7;
        let trace = EtlTrace::from_bytes(remove_buffer(&bytes, &whole, victim)).unwrap();
        assert_eq!(trace.record_count(), whole.record_count() - whole.buffers()[victim].record_count());
        assert_eq!(trace.warnings.len(), 1, "{name}: {:?}", trace.warnings);
        let sequence = whole.buffers()[victim].header.sequence_number;
        assert!(trace.warnings[0].what.contains(&format!("sequence numbers {sequence};")), "{}", trace.warnings[0]);
    }
}
