//! The three Windows compression formats of [MS-XCA] that ETW buffers can use:
//! LZNT1, XPRESS (plain LZ77) and XPRESS with Huffman coding.
//!
//! Decompression is written for untrusted input: it never panics, never writes
//! more than the caller's expected length, and reports where the input went wrong.

use std::fmt;

mod lznt1;
mod match_finder;
mod xpress;
mod xpress_huffman;

/// A compression format, numbered as Windows' `COMPRESSION_FORMAT_*` constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompressionFormat {
    Lznt1,
    Xpress,
    XpressHuffman,
}

impl CompressionFormat {
    pub const ALL: [CompressionFormat; 3] = [Self::Lznt1, Self::Xpress, Self::XpressHuffman];

    pub fn name(self) -> &'static str {
        match self {
            Self::Lznt1 => "LZNT1",
            Self::Xpress => "XPRESS",
            Self::XpressHuffman => "XPRESS_HUFF",
        }
    }

    /// Maps `COMPRESSION_FORMAT_LZNT1` (2), `_XPRESS` (3) and `_XPRESS_HUFF` (4).
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            2 => Some(Self::Lznt1),
            3 => Some(Self::Xpress),
            4 => Some(Self::XpressHuffman),
            _ => None,
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Self::Lznt1 => 2,
            Self::Xpress => 3,
            Self::XpressHuffman => 4,
        }
    }
}

impl fmt::Display for CompressionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Compressed data that cannot be decoded to the expected length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecompressError {
    pub format: CompressionFormat,
    /// Position in the compressed input where decoding found the problem.
    pub input_offset: usize,
    pub what: String,
}

impl DecompressError {
    fn new(format: CompressionFormat, input_offset: usize, what: impl Into<String>) -> Self {
        Self { format, input_offset, what: what.into() }
    }
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} data is corrupt at input offset {}: {}", self.format.name(), self.input_offset, self.what)
    }
}

impl std::error::Error for DecompressError {}

/// Decompresses `input` and appends exactly `expected_len` bytes to `out`.
///
/// Decoding stops as soon as `expected_len` bytes are produced; anything after
/// that in `input` is ignored (ETW buffers can carry padding). On error `out` is
/// left as it was. Allocates at most `expected_len` bytes of output capacity.
pub fn decompress_into(
    format: CompressionFormat,
    input: &[u8],
    expected_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    let original_len = out.len();
    // Reserving once up front means the decoders' appends never reallocate,
    // and a failed reservation becomes an error instead of an abort.
    if out.try_reserve_exact(expected_len).is_err() {
        return Err(DecompressError::new(format, 0, format!("cannot allocate {expected_len} bytes of output")));
    }
    let result = match format {
        CompressionFormat::Lznt1 => lznt1::decompress(input, expected_len, out),
        CompressionFormat::Xpress => xpress::decompress(input, expected_len, out),
        CompressionFormat::XpressHuffman => xpress_huffman::decompress(input, expected_len, out),
    };
    match result {
        Ok(()) if out.len() - original_len == expected_len => Ok(()),
        Ok(()) => {
            // The decoders guarantee this; keep the promise even if one is wrong.
            let produced = out.len() - original_len;
            out.truncate(original_len);
            Err(DecompressError::new(
                format,
                input.len(),
                format!("produced {produced} bytes instead of {expected_len}"),
            ))
        }
        Err(error) => {
            out.truncate(original_len);
            Err(error)
        }
    }
}

/// Decompresses `input` into a new vector of exactly `expected_len` bytes.
pub fn decompress(format: CompressionFormat, input: &[u8], expected_len: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    decompress_into(format, input, expected_len, &mut out)?;
    Ok(out)
}

/// Compresses `input` into a stream that Windows' `RtlDecompressBuffer` accepts.
pub fn compress(format: CompressionFormat, input: &[u8]) -> Vec<u8> {
    match format {
        CompressionFormat::Lznt1 => lznt1::compress(input),
        CompressionFormat::Xpress => xpress::compress(input),
        CompressionFormat::XpressHuffman => xpress_huffman::compress(input),
    }
}

/// Appends `length` bytes copied from `offset` bytes back in `out`.
///
/// The caller has checked `1 <= offset <= out.len()`. When the source overlaps
/// the bytes being written (offset < length) the result must equal a
/// byte-by-byte copy, i.e. the last `offset` bytes repeat.
#[inline]
fn copy_match(out: &mut Vec<u8>, offset: usize, length: usize) {
    debug_assert!(offset >= 1 && offset <= out.len());
    let start = out.len() - offset;
    if offset >= length {
        out.extend_from_within(start..start + length);
    } else if offset == 1 {
        if let Some(&byte) = out.last() {
            out.resize(out.len() + length, byte);
        }
    } else {
        // The bytes from `start` onwards repeat with period `offset`. Copying the
        // already-written part of that repetition doubles it each round, and
        // every round before the last copies a multiple of the period.
        let mut remaining = length;
        while remaining > 0 {
            let chunk = (out.len() - start).min(remaining);
            out.extend_from_within(start..start + chunk);
            remaining -= chunk;
        }
    }
}

#[inline]
fn read_u16_le(input: &[u8], pos: usize) -> Option<u16> {
    let bytes = input.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_le_bytes([bytes[0], bytes[1]]))
}

#[inline]
fn read_u32_le(input: &[u8], pos: usize) -> Option<u32> {
    let bytes = input.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Synthetic ETW-like event records: headers with ascending timestamps, a few
    /// provider GUIDs, UTF-16 process names and small integer payloads.
    pub(crate) fn etw_like_data(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let providers: Vec<[u8; 16]> = (0..6).map(|_| (next() as u128 * 0x1_0000_0001).to_le_bytes()).collect();
        let names = ["svchost.exe", "explorer.exe", "MsMpEng.exe", "chrome.exe", "System"];
        let mut data = Vec::with_capacity(len + 512);
        let mut timestamp: u64 = 0x01DA_0000_0000_0000;
        while data.len() < len {
            let r = next();
            let payload_len = 8 + (r % 40) as usize;
            data.extend_from_slice(&(0xC000u16 | (payload_len as u16 + 48)).to_le_bytes());
            data.extend_from_slice(&[0x12, 0x00]);
            data.extend_from_slice(&((r >> 8) as u32 % 8 * 4 + 1000).to_le_bytes());
            data.extend_from_slice(&((r >> 16) as u32 % 64 * 4 + 4000).to_le_bytes());
            timestamp += (r >> 24) % 5000;
            data.extend_from_slice(&timestamp.to_le_bytes());
            data.extend_from_slice(&providers[(r >> 32) as usize % providers.len()]);
            let name = names[(r >> 40) as usize % names.len()];
            for unit in name.encode_utf16() {
                data.extend_from_slice(&unit.to_le_bytes());
            }
            data.extend_from_slice(&[0, 0]);
            for _ in 0..payload_len / 4 {
                let value = next();
                let small = if value % 3 == 0 { value >> 60 } else { value % 1000 };
                data.extend_from_slice(&(small as u32).to_le_bytes());
            }
            // Event records are 8-byte aligned in ETW buffers.
            while data.len() % 8 != 0 {
                data.push(0);
            }
        }
        data.truncate(len);
        data
    }

    #[test]
    fn format_codes_round_trip() {
        for format in CompressionFormat::ALL {
            assert_eq!(CompressionFormat::from_code(format.code()), Some(format));
        }
        assert_eq!(CompressionFormat::from_code(0), None);
        assert_eq!(CompressionFormat::from_code(1), None);
        assert_eq!(CompressionFormat::from_code(5), None);
    }

    #[test]
    fn error_message_names_format_and_offset() {
        let error = DecompressError::new(CompressionFormat::Xpress, 123, "match runs before the start of output");
        assert_eq!(
            error.to_string(),
            "XPRESS data is corrupt at input offset 123: match runs before the start of output"
        );
    }

    #[test]
    fn copy_match_overlapping_equals_byte_by_byte() {
        for offset in 1..12 {
            for length in 0..40 {
                let mut fast = b"0123456789ab".to_vec();
                let mut slow = fast.clone();
                copy_match(&mut fast, offset, length);
                for _ in 0..length {
                    let byte = slow[slow.len() - offset];
                    slow.push(byte);
                }
                assert_eq!(fast, slow, "offset {offset} length {length}");
            }
        }
    }

    #[test]
    fn decompress_into_appends_and_keeps_prefix_on_error() {
        for format in CompressionFormat::ALL {
            let data = b"hello hello hello hello".repeat(20);
            let compressed = compress(format, &data);
            let mut out = b"prefix".to_vec();
            decompress_into(format, &compressed, data.len(), &mut out).unwrap();
            assert_eq!(&out[..6], b"prefix");
            assert_eq!(&out[6..], &data[..]);

            let mut out = b"prefix".to_vec();
            let truncated = &compressed[..compressed.len() / 2];
            let error = decompress_into(format, truncated, data.len(), &mut out).unwrap_err();
            assert_eq!(error.format, format);
            assert_eq!(out, b"prefix");
        }
    }

    #[test]
    fn matches_cannot_reach_into_callers_prefix() {
        // XPRESS: one literal flag word then a match of offset 2 at output position 0.
        let stream = [0xFF, 0xFF, 0xFF, 0xFF, 0x08, 0x00];
        let mut out = b"abc".to_vec();
        let error = decompress_into(CompressionFormat::Xpress, &stream, 3, &mut out).unwrap_err();
        assert_eq!(error.input_offset, 4);
        assert_eq!(out, b"abc");
    }

    #[test]
    fn empty_input_with_zero_expected_length_is_ok() {
        for format in CompressionFormat::ALL {
            assert_eq!(decompress(format, &[], 0).unwrap(), Vec::<u8>::new());
            let compressed = compress(format, &[]);
            assert_eq!(decompress(format, &compressed, 0).unwrap(), Vec::<u8>::new());
        }
    }

    #[test]
    fn more_expected_than_the_stream_holds_is_an_error() {
        for format in CompressionFormat::ALL {
            let data = etw_like_data(10_000, 7);
            let compressed = compress(format, &data);
            let error = decompress(format, &compressed, data.len() + 1).unwrap_err();
            assert_eq!(error.format, format, "{error}");
        }
    }

    #[test]
    fn huge_expected_length_fails_cleanly() {
        for format in CompressionFormat::ALL {
            let error = decompress(format, &[0u8; 8], usize::MAX).unwrap_err();
            assert_eq!(error.format, format);
        }
    }

    fn input_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // random bytes, incompressible
            prop::collection::vec(any::<u8>(), 0..5000),
            // few distinct bytes: many short matches
            prop::collection::vec(0u8..4, 0..20_000),
            // runs of repeated bytes and repeated short patterns
            (prop::collection::vec(any::<u8>(), 1..16), 0usize..20_000)
                .prop_map(|(pattern, len)| { pattern.iter().cycle().take(len).copied().collect() }),
            // text-like
            prop::collection::vec(
                prop::sample::select(vec!["the ", "quick ", "brown ", "fox ", "jumps\n", "Event ", "Provider "]),
                0..3000
            )
            .prop_map(|words| words.concat().into_bytes()),
            // ETW-like records, across the 4096 and 65536 boundaries, up to ~300 KB
            (
                prop::sample::select(vec![1usize, 4095, 4096, 4097, 8192, 65535, 65536, 65537, 131_072, 300_000]),
                any::<u64>()
            )
                .prop_map(|(len, seed)| etw_like_data(len, seed)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn round_trip_all_formats(data in input_strategy()) {
            for format in CompressionFormat::ALL {
                let compressed = compress(format, &data);
                let restored = decompress(format, &compressed, data.len());
                prop_assert_eq!(restored.as_deref(), Ok(&data[..]), "{}", format);
            }
        }

        #[test]
        fn mutated_streams_never_panic(
            data in input_strategy(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            for format in CompressionFormat::ALL {
                let mut compressed = compress(format, &data);
                if compressed.is_empty() {
                    continue;
                }
                for (index, value) in &flips {
                    let at = index.index(compressed.len());
                    compressed[at] ^= value;
                }
                let keep = cut.index(compressed.len() + 1);
                if let Ok(out) = decompress(format, &compressed[..keep], data.len()) {
                    prop_assert_eq!(out.len(), data.len());
                }
            }
        }
    }

    proptest! {
        // Cheap cases, so many more of them.
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..2000),
            expected_len in 0usize..100_000,
        ) {
            for format in CompressionFormat::ALL {
                let mut out = Vec::new();
                match decompress_into(format, &input, expected_len, &mut out) {
                    Ok(()) => prop_assert_eq!(out.len(), expected_len),
                    Err(error) => {
                        prop_assert_eq!(error.format, format);
                        prop_assert!(out.is_empty());
                    }
                }
                prop_assert!(out.capacity() <= expected_len);
            }
        }
    }

    /// Decompression throughput, run by hand:
    /// `cargo test --release --lib etl::compress::tests::throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        use std::time::Instant;
        let buffer_len = 64 * 1024;
        let total_len = 64 * 1024 * 1024;
        let corpora: [(&str, Vec<u8>); 2] = [
            ("ETW-like records", etw_like_data(total_len, 1)),
            ("English-like text", {
                let words = [
                    "the ",
                    "quick ",
                    "brown ",
                    "fox ",
                    "jumps ",
                    "over ",
                    "lazy ",
                    "dog. ",
                    "Event ",
                    "Provider ",
                    "Kernel ",
                    "Process ",
                    "Thread ",
                    "started ",
                    "stopped\n",
                ];
                let mut state = 12345u32;
                let mut text = Vec::with_capacity(total_len);
                while text.len() < total_len {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    text.extend_from_slice(words[(state >> 16) as usize % words.len()].as_bytes());
                }
                text.truncate(total_len);
                text
            }),
        ];
        for (corpus_name, data) in &corpora {
            for format in CompressionFormat::ALL {
                // ETW compresses each buffer separately; so do we.
                let buffers: Vec<(Vec<u8>, usize)> =
                    data.chunks(buffer_len).map(|chunk| (compress(format, chunk), chunk.len())).collect();
                let compressed_len: usize = buffers.iter().map(|(c, _)| c.len()).sum();
                let mut out = Vec::with_capacity(buffer_len);
                let mut best = f64::MAX;
                for _ in 0..5 {
                    let start = Instant::now();
                    for (compressed, len) in &buffers {
                        out.clear();
                        decompress_into(format, compressed, *len, &mut out).unwrap();
                    }
                    best = best.min(start.elapsed().as_secs_f64());
                }
                println!(
                    "{corpus_name:>18} {:>11}: ratio {:5.1}%  decompress {:7.0} MB/s",
                    format.name(),
                    100.0 * compressed_len as f64 / data.len() as f64,
                    data.len() as f64 / best / 1e6
                );
            }
        }
    }
}
