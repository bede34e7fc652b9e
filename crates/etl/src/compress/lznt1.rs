//! LZNT1 (`COMPRESSION_FORMAT_LZNT1`), [MS-XCA] 2.5.
//!
//! Data is cut into 4096-byte chunks that are compressed independently. Each
//! chunk starts with a u16 header: bits 0..12 hold the chunk's size (header
//! included) minus 3, bits 12..15 the signature 3, bit 15 whether the chunk is
//! compressed. A compressed chunk is a series of flag bytes, each followed by up
//! to eight items (low bit first): 0 = literal byte, 1 = u16 copy token whose
//! split between displacement and length depends on how far into the chunk the
//! decoder is. A header of zero ends the buffer early.

use super::match_finder::MatchFinder;
use super::{copy_match, read_u16_le, CompressionFormat, DecompressError};

const CHUNK_LEN: usize = 4096;
const MIN_MATCH: usize = 3;
const SIGNATURE: u16 = 3;
const CHAIN_DEPTH: usize = 16;

fn corrupt(input_offset: usize, what: &str) -> DecompressError {
    DecompressError::new(CompressionFormat::Lznt1, input_offset, what)
}

/// Bits of a copy token that hold the displacement, given `produced` bytes of
/// the current chunk already decoded: the smallest width of 4..=12 that can
/// reach back to the start of the chunk.
fn displacement_bits(produced: usize) -> u32 {
    // ceil(log2(produced)), for produced >= 2.
    let needed = usize::BITS - produced.saturating_sub(1).leading_zeros();
    needed.clamp(4, 12)
}

pub(super) fn decompress(input: &[u8], expected_len: usize, out: &mut Vec<u8>) -> Result<(), DecompressError> {
    let output_start = out.len();
    let output_end = output_start.checked_add(expected_len).ok_or_else(|| corrupt(0, "expected length overflows"))?;
    let mut pos = 0usize;
    while out.len() < output_end {
        let header =
            read_u16_le(input, pos).ok_or_else(|| corrupt(pos, "input ends before the expected output length"))?;
        if header == 0 {
            return Err(corrupt(pos, "end-of-buffer marker before the expected output length"));
        }
        if (header >> 12) & 7 != SIGNATURE {
            return Err(corrupt(pos, "chunk header has a bad signature"));
        }
        let header_at = pos;
        let data_len = usize::from(header & 0x0FFF) + 1;
        let data_at = pos + 2;
        let data = input
            .get(data_at..data_at + data_len)
            .ok_or_else(|| corrupt(header_at, "chunk runs past the end of input"))?;

        // A chunk that decoded to less than 4096 bytes is padded with zeros when
        // another chunk follows, as Windows does: every chunk starts on a 4096 boundary.
        let into_chunk = (out.len() - output_start) % CHUNK_LEN;
        if into_chunk != 0 {
            let padding = CHUNK_LEN - into_chunk;
            if padding > output_end - out.len() {
                return Err(corrupt(header_at, "short chunk's padding runs past the expected output length"));
            }
            out.resize(out.len() + padding, 0);
            if out.len() == output_end {
                break;
            }
        }

        if header & 0x8000 == 0 {
            if data_len > output_end - out.len() {
                return Err(corrupt(header_at, "uncompressed chunk runs past the expected output length"));
            }
            out.extend_from_slice(data);
        } else {
            decompress_chunk(data, data_at, out, output_end)?;
        }
        pos = data_at + data_len;
    }
    Ok(())
}

/// Decodes one compressed chunk's flag groups (`data`, found at `data_at` in the input).
fn decompress_chunk(data: &[u8], data_at: usize, out: &mut Vec<u8>, output_end: usize) -> Result<(), DecompressError> {
    let chunk_start = out.len();
    let chunk_end = output_end.min(chunk_start + CHUNK_LEN);
    let mut pos = 0usize;
    while let Some(&flags) = data.get(pos) {
        pos += 1;
        for bit in 0..8 {
            if pos >= data.len() || out.len() == output_end {
                return Ok(());
            }
            let produced = out.len() - chunk_start;
            if out.len() == chunk_end {
                return Err(corrupt(data_at + pos, "chunk decompresses to more than 4096 bytes"));
            }
            if flags & (1 << bit) == 0 {
                out.push(data[pos]);
                pos += 1;
                continue;
            }
            let token_at = data_at + pos;
            let token = read_u16_le(data, pos).ok_or_else(|| corrupt(token_at, "chunk ends inside a copy token"))?;
            pos += 2;
            let length_bits = 16 - displacement_bits(produced);
            let displacement = usize::from(token >> length_bits) + 1;
            let length = usize::from(token & ((1 << length_bits) - 1)) + MIN_MATCH;
            if displacement > produced {
                return Err(corrupt(token_at, "match runs before the start of the chunk"));
            }
            if length > chunk_end - out.len() {
                let what = if chunk_end == output_end {
                    "match runs past the expected output length"
                } else {
                    "chunk decompresses to more than 4096 bytes"
                };
                return Err(corrupt(token_at, what));
            }
            copy_match(out, displacement, length);
        }
    }
    Ok(())
}

pub(super) fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 2048 * 2 + 2);
    let mut finder = MatchFinder::new(CHUNK_LEN, CHAIN_DEPTH);
    let mut chunk_start = 0;
    while chunk_start < input.len() {
        let chunk_end = (chunk_start + CHUNK_LEN).min(input.len());
        let header_at = out.len();
        out.extend_from_slice(&[0, 0]);
        compress_chunk(input, chunk_start, chunk_end, &mut finder, &mut out);
        let compressed_len = out.len() - header_at;
        let uncompressed_len = chunk_end - chunk_start + 2;
        // Store the chunk as is when compressing does not make it smaller.
        let header = if compressed_len < uncompressed_len {
            0x8000 | SIGNATURE << 12 | (compressed_len - 3) as u16
        } else {
            out.truncate(header_at + 2);
            out.extend_from_slice(&input[chunk_start..chunk_end]);
            SIGNATURE << 12 | (uncompressed_len - 3) as u16
        };
        out[header_at..header_at + 2].copy_from_slice(&header.to_le_bytes());
        chunk_start = chunk_end;
    }
    out
}

fn compress_chunk(input: &[u8], chunk_start: usize, chunk_end: usize, finder: &mut MatchFinder, out: &mut Vec<u8>) {
    let mut pos = chunk_start;
    let mut flags_at = out.len();
    let mut items_in_group = 0;
    while pos < chunk_end {
        if items_in_group == 8 {
            flags_at = out.len();
            items_in_group = 0;
        }
        if items_in_group == 0 {
            out.push(0);
        }
        let produced = pos - chunk_start;
        let length_bits = 16 - displacement_bits(produced);
        let max_len = ((1usize << length_bits) - 1 + MIN_MATCH).min(chunk_end - pos);
        // Matches may not reach before the chunk: chunks decompress independently.
        match finder.longest_match(input, pos, chunk_start, max_len) {
            Some((length, displacement)) => {
                let token = ((displacement - 1) << length_bits) | (length - MIN_MATCH);
                out.extend_from_slice(&(token as u16).to_le_bytes());
                out[flags_at] |= 1 << items_in_group;
                for covered in pos..pos + length {
                    finder.insert(input, covered);
                }
                pos += length;
            }
            None => {
                out.push(input[pos]);
                finder.insert(input, pos);
                pos += 1;
            }
        }
        items_in_group += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decompress as decompress_any, CompressionFormat};
    use super::*;

    fn decode(input: &[u8], expected_len: usize) -> Result<Vec<u8>, DecompressError> {
        decompress_any(CompressionFormat::Lznt1, input, expected_len)
    }

    /// The 142-byte string of [MS-XCA] 3.3, terminal NUL included.
    fn spec_example_plain() -> Vec<u8> {
        let mut plain = b"F# F# G A A G F# E D D E F# F# E E F# F# G A A G F# E D D E F# E D D E E F# D E F# G F# D E \
F# G F# E D E A F# F# G A A G F# E D D E F# E D D"
            .to_vec();
        plain.push(0);
        plain
    }

    const SPEC_EXAMPLE_ENCODED: [u8; 59] = [
        0x38, 0xb0, 0x88, 0x46, 0x23, 0x20, 0x00, 0x20, 0x47, 0x20, 0x41, 0x00, 0x10, 0xa2, 0x47, 0x01, //
        0xa0, 0x45, 0x20, 0x44, 0x00, 0x08, 0x45, 0x01, 0x50, 0x79, 0x00, 0xc0, 0x45, 0x20, 0x05, 0x24, //
        0x13, 0x88, 0x05, 0xb4, 0x02, 0x4a, 0x44, 0xef, 0x03, 0x58, 0x02, 0x8c, 0x09, 0x16, 0x01, 0x48, //
        0x45, 0x00, 0xbe, 0x00, 0x9e, 0x00, 0x04, 0x01, 0x18, 0x90, 0x00,
    ];

    #[test]
    fn spec_example_decodes() {
        let plain = spec_example_plain();
        assert_eq!(plain.len(), 142);
        assert_eq!(decode(&SPEC_EXAMPLE_ENCODED, plain.len()).unwrap(), plain);
    }

    /// Windows' standard engine keeps one earlier position per 3-byte hash and
    /// produces the 59 bytes above; searching longer chains finds longer
    /// matches, so our output differs but must decode the same and be no larger.
    #[test]
    fn spec_example_compresses_at_least_as_well_as_windows() {
        let plain = spec_example_plain();
        let encoded = compress(&plain);
        assert!(encoded.len() <= SPEC_EXAMPLE_ENCODED.len(), "{} bytes", encoded.len());
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
    }

    #[test]
    fn displacement_width_follows_position_in_chunk() {
        // M is the largest of 4..=12 with 2^(M-1) < U, or 4.
        for produced in 1..=CHUNK_LEN {
            let expected = (4..=12).rev().find(|&m| (1usize << (m - 1)) < produced).unwrap_or(4);
            assert_eq!(displacement_bits(produced), expected, "U = {produced}");
        }
    }

    #[test]
    fn incompressible_chunks_are_stored() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let plain: Vec<u8> = (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        let encoded = compress(&plain);
        assert_eq!(&encoded[..2], &0x3FFFu16.to_le_bytes(), "first chunk stored, 4096 bytes");
        assert_eq!(encoded.len(), 2 + 4096 + 2 + 904);
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
    }

    #[test]
    fn short_chunk_followed_by_another_is_zero_padded() {
        // Stored chunk of 3 bytes, then a stored chunk of 2 bytes.
        let encoded = [0x02, 0x30, b'a', b'b', b'c', 0x01, 0x30, b'x', b'y'];
        let decoded = decode(&encoded, 4098).unwrap();
        assert_eq!(&decoded[..3], b"abc");
        assert!(decoded[3..4096].iter().all(|&byte| byte == 0));
        assert_eq!(&decoded[4096..], b"xy");
    }

    #[test]
    fn corrupt_inputs_are_errors() {
        let cases: &[(&[u8], usize, usize, &str)] = &[
            (&[], 1, 0, "input ends before the expected output length"),
            (&[0x05], 1, 0, "input ends before the expected output length"),
            (&[0x00, 0x00, 0x01], 1, 0, "end-of-buffer marker before the expected output length"),
            (&[0x00, 0xA0, 0x00, 0x61], 1, 0, "chunk header has a bad signature"),
            (&[0x05, 0xB0, 0x00, 0x61], 1, 0, "chunk runs past the end of input"),
            // compressed chunk: literal 'a', then a token of displacement 2
            (&[0x03, 0xB0, 0x02, 0x61, 0x00, 0x10], 10, 4, "match runs before the start of the chunk"),
            // literal 'a', then displacement 1 length 3 with only 2 bytes still expected
            (&[0x03, 0xB0, 0x02, 0x61, 0x00, 0x00], 3, 4, "match runs past the expected output length"),
            // token cut in half by the chunk size
            (&[0x02, 0xB0, 0x02, 0x61, 0x00], 10, 4, "chunk ends inside a copy token"),
            // literal 'a', then displacement 1 length 4098: more than a chunk holds
            (&[0x03, 0xB0, 0x02, 0x61, 0xFF, 0x0F], 10_000, 4, "chunk decompresses to more than 4096 bytes"),
            // stored chunk of 3 bytes with 2 expected
            (&[0x02, 0x30, b'a', b'b', b'c'], 2, 0, "uncompressed chunk runs past the expected output length"),
            // short chunk followed by another, but padding overshoots the expected length
            (
                &[0x02, 0x30, b'a', b'b', b'c', 0x01, 0x30, b'x', b'y'],
                100,
                5,
                "short chunk's padding runs past the expected output length",
            ),
        ];
        for &(input, expected_len, offset, what) in cases {
            let error = decode(input, expected_len).unwrap_err();
            assert_eq!(error.format, CompressionFormat::Lznt1);
            assert_eq!((error.input_offset, error.what.as_str()), (offset, what), "input {input:02x?}");
        }
    }
}
