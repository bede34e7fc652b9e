//! Plain LZ77 ("XPRESS", `COMPRESSION_FORMAT_XPRESS`), [MS-XCA] 2.3 and 2.4.
//!
//! The stream is a sequence of 32-bit little-endian flag words, each followed by
//! the items it describes, most significant flag bit first: 0 = one literal
//! byte, 1 = a match. A match is a u16 with `offset - 1` in the high 13 bits and
//! `length - 3` in the low 3 bits; a length field of 7 continues into a 4-bit
//! nibble (two long matches share one byte, low nibble first), then a byte, then
//! a u16 or u32 holding the whole `length - 3`.

use super::match_finder::MatchFinder;
use super::{read_u16_le, read_u32_le, CompressionFormat, DecompressError};

const MIN_MATCH: usize = 3;
const MAX_OFFSET: usize = 1 << 13;
/// The longest match the u32 length field can describe.
const MAX_MATCH: usize = u32::MAX as usize;
const CHAIN_DEPTH: usize = 16;

fn corrupt(input_offset: usize, what: &str) -> DecompressError {
    DecompressError::new(CompressionFormat::Xpress, input_offset, what)
}

pub(super) fn decompress(input: &[u8], expected_len: usize, out: &mut Vec<u8>) -> Result<(), DecompressError> {
    // Decoding into a zero-filled slice lets short matches copy a fixed 16 bytes
    // (the surplus is overwritten by what follows), much cheaper than growing a Vec.
    let output_start = out.len();
    out.resize(output_start + expected_len, 0);
    decompress_to_slice(input, &mut out[output_start..])
}

/// Fills `output` completely, or fails.
fn decompress_to_slice(input: &[u8], output: &mut [u8]) -> Result<(), DecompressError> {
    let output_end = output.len();
    let mut produced = 0usize;
    let mut pos = 0usize;
    // Flag bits still to use, aligned so the next one is bit 31.
    let mut flags: u32 = 0;
    let mut flags_left: u32 = 0;
    // Where the byte whose high nibble the next long match uses sits.
    let mut shared_nibble_at: Option<usize> = None;

    while produced < output_end {
        if flags_left == 0 {
            flags = read_u32_le(input, pos).ok_or_else(|| corrupt(pos, "input ends inside a flag word"))?;
            pos += 4;
            flags_left = 32;
        }

        // Zero flags are literals: copy the whole run at once.
        let literal_run = flags.leading_zeros().min(flags_left);
        if literal_run > 0 {
            let count = (literal_run as usize).min(output_end - produced);
            let literals = input
                .get(pos..pos + count)
                .ok_or_else(|| corrupt(input.len(), "input ends inside a run of literals"))?;
            output[produced..produced + count].copy_from_slice(literals);
            produced += count;
            pos += count;
            // count <= 32; a shift by 32 would overflow.
            flags = flags.checked_shl(count as u32).unwrap_or(0);
            flags_left -= count as u32;
            continue;
        }
        flags <<= 1;
        flags_left -= 1;

        let match_at = pos;
        let token =
            read_u16_le(input, pos).ok_or_else(|| corrupt(pos, "input ends before the expected output length"))?;
        pos += 2;
        let offset = usize::from(token >> 3) + 1;
        let mut length = usize::from(token & 7);
        if length == 7 {
            let nibble = match shared_nibble_at.take() {
                None => {
                    let byte = *input.get(pos).ok_or_else(|| corrupt(pos, "input ends inside a match length"))?;
                    shared_nibble_at = Some(pos);
                    pos += 1;
                    byte & 0x0F
                }
                Some(at) => input.get(at).map_or(0, |byte| byte >> 4),
            };
            length = usize::from(nibble);
            if nibble == 15 {
                let byte = *input.get(pos).ok_or_else(|| corrupt(pos, "input ends inside a match length"))?;
                pos += 1;
                if byte == 255 {
                    let mut full = read_u16_le(input, pos)
                        .map(u32::from)
                        .ok_or_else(|| corrupt(pos, "input ends inside a match length"))?;
                    pos += 2;
                    if full == 0 {
                        full =
                            read_u32_le(input, pos).ok_or_else(|| corrupt(pos, "input ends inside a match length"))?;
                        pos += 4;
                    }
                    if full < 15 + 7 {
                        return Err(corrupt(match_at, "long match length is smaller than its encoding allows"));
                    }
                    // `full` is the whole length - 3; undo the additions below.
                    length = usize::try_from(full - (15 + 7)).unwrap_or(usize::MAX);
                } else {
                    length = usize::from(byte);
                }
                length = length.saturating_add(15);
            }
            length = length.saturating_add(7);
        }
        length = length.saturating_add(MIN_MATCH);

        if offset > produced {
            return Err(corrupt(match_at, "match runs before the start of output"));
        }
        if length > output_end - produced {
            return Err(corrupt(match_at, "match runs past the expected output length"));
        }
        let source = produced - offset;
        if length <= SHORT_COPY && offset >= SHORT_COPY && output_end - produced >= SHORT_COPY {
            output.copy_within(source..source + SHORT_COPY, produced);
        } else {
            copy_match_within(output, source, produced, length);
        }
        produced += length;
    }
    Ok(())
}

/// Fixed size of the over-copy for short matches.
const SHORT_COPY: usize = 16;

/// Copies `length` bytes from `source` to `target` (> source) in `buffer` as a
/// byte-by-byte forward copy would: overlapping bytes repeat with period
/// `target - source`.
fn copy_match_within(buffer: &mut [u8], source: usize, target: usize, length: usize) {
    let offset = target - source;
    if offset >= length {
        buffer.copy_within(source..source + length, target);
    } else if offset == 1 {
        let byte = buffer[source];
        buffer[target..target + length].fill(byte);
    } else {
        // Each round copies everything written since `source`, doubling the
        // repeated pattern; all rounds but the last copy whole periods.
        let mut copied = 0;
        while copied < length {
            let chunk = (offset + copied).min(length - copied);
            buffer.copy_within(source..source + chunk, target + copied);
            copied += chunk;
        }
    }
}

/// Writes flag words: each holds 32 flags, its slot reserved before its items.
struct FlagWriter {
    flags: u32,
    count: u32,
    slot: usize,
}

impl FlagWriter {
    fn start(out: &mut Vec<u8>) -> Self {
        let slot = out.len();
        out.extend_from_slice(&[0; 4]);
        Self { flags: 0, count: 0, slot }
    }

    fn push(&mut self, out: &mut Vec<u8>, is_match: bool) {
        self.flags = (self.flags << 1) | u32::from(is_match);
        self.count += 1;
        if self.count == 32 {
            out[self.slot..self.slot + 4].copy_from_slice(&self.flags.to_le_bytes());
            *self = Self::start(out);
        }
    }

    /// Unused flags are ones: a decoder that runs out of input on a match flag stops.
    fn finish(self, out: &mut [u8]) {
        // count < 32 here: a full word was written by push().
        let unused = 32 - self.count;
        let flags = match self.flags.checked_shl(unused) {
            Some(used) => used | ((1u32 << unused) - 1),
            None => u32::MAX,
        };
        out[self.slot..self.slot + 4].copy_from_slice(&flags.to_le_bytes());
    }
}

pub(super) fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 8);
    let mut flag_writer = FlagWriter::start(&mut out);
    let mut shared_nibble_at: Option<usize> = None;
    let mut finder = MatchFinder::new(MAX_OFFSET, CHAIN_DEPTH);
    let mut pos = 0;
    while pos < input.len() {
        let max_len = (input.len() - pos).min(MAX_MATCH);
        let found = finder.longest_match(input, pos, pos.saturating_sub(MAX_OFFSET), max_len);
        let Some((length, offset)) = found.filter(|&(length, _)| length >= MIN_MATCH) else {
            out.push(input[pos]);
            finder.insert(input, pos);
            pos += 1;
            flag_writer.push(&mut out, false);
            continue;
        };
        write_match(&mut out, &mut shared_nibble_at, offset, length);
        for covered in pos..pos + length {
            finder.insert(input, covered);
        }
        pos += length;
        flag_writer.push(&mut out, true);
    }
    flag_writer.finish(&mut out);
    out
}

fn write_match(out: &mut Vec<u8>, shared_nibble_at: &mut Option<usize>, offset: usize, length: usize) {
    debug_assert!((1..=MAX_OFFSET).contains(&offset) && (MIN_MATCH..=MAX_MATCH).contains(&length));
    let offset_field = ((offset - 1) as u16) << 3;
    let length_code = length - MIN_MATCH;
    if length_code < 7 {
        out.extend_from_slice(&(offset_field | length_code as u16).to_le_bytes());
        return;
    }
    out.extend_from_slice(&(offset_field | 7).to_le_bytes());
    let beyond_field = length_code - 7;
    let nibble = beyond_field.min(15) as u8;
    // The first long match writes a byte holding its nibble low; the next long
    // match puts its nibble in that byte's high half.
    match shared_nibble_at.take() {
        None => {
            *shared_nibble_at = Some(out.len());
            out.push(nibble);
        }
        Some(at) => out[at] |= nibble << 4,
    }
    if beyond_field < 15 {
        return;
    }
    let beyond_nibble = beyond_field - 15;
    if beyond_nibble < 255 {
        out.push(beyond_nibble as u8);
    } else {
        out.push(255);
        match u16::try_from(length_code) {
            Ok(short) => out.extend_from_slice(&short.to_le_bytes()),
            Err(_) => {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&(length_code as u32).to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{compress as compress_any, decompress as decompress_any, CompressionFormat};
    use super::*;

    fn decode(input: &[u8], expected_len: usize) -> Result<Vec<u8>, DecompressError> {
        decompress_any(CompressionFormat::Xpress, input, expected_len)
    }

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace().map(|byte| u8::from_str_radix(byte, 16).unwrap()).collect()
    }

    /// [MS-XCA] 3.1, first example.
    #[test]
    fn spec_example_alphabet() {
        let plain = b"abcdefghijklmnopqrstuvwxyz";
        let encoded = hex("3f 00 00 00 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 71 72 73 74 75 76 77 78 79 7a");
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
        assert_eq!(compress(plain), encoded);
    }

    /// [MS-XCA] 3.1, second example: abc[match: distance 3, length 297].
    #[test]
    fn spec_example_abc_repeated() {
        let plain = b"abc".repeat(100);
        let encoded = hex("ff ff ff 1f 61 62 63 17 00 0f ff 26 01");
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
        assert_eq!(compress(&plain), encoded);
    }

    #[test]
    fn shared_nibble_between_two_long_matches() {
        // 'x', match(1, 14), 'y', match(1, 14): both nibbles (14-10=4) share one byte.
        let plain = [vec![b'x'; 15], vec![b'y'; 15]].concat();
        let encoded = hex("ff ff ff 5f 78 07 00 44 79 07 00");
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
        assert_eq!(compress(&plain), encoded);
    }

    #[test]
    fn every_length_encoding_round_trips() {
        // Lengths around each field boundary: 3-bit, nibble, byte, u16, u32.
        for length in [3, 9, 10, 24, 25, 26, 279, 280, 281, 65_538, 65_539, 65_540, 200_000] {
            let plain = [b"q".to_vec(), vec![b'z'; length + 1], b"tail".to_vec()].concat();
            let encoded = compress(&plain);
            assert_eq!(decode(&encoded, plain.len()).unwrap(), plain, "length {length}");
        }
    }

    #[test]
    fn match_at_largest_offset() {
        let mut plain: Vec<u8> = (0..MAX_OFFSET).map(|i| (i * 7 % 251) as u8).collect();
        plain.extend_from_within(0..100);
        let encoded = compress(&plain);
        assert!(encoded.len() < plain.len(), "the repeat at offset 8192 was found");
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
    }

    #[test]
    fn corrupt_inputs_are_errors() {
        let cases: &[(&[u8], usize, usize, &str)] = &[
            (&[], 1, 0, "input ends inside a flag word"),
            (&[0, 0, 0], 1, 0, "input ends inside a flag word"),
            (&[0, 0, 0, 0, b'a'], 2, 5, "input ends inside a run of literals"),
            (&[0xFF, 0xFF, 0xFF, 0xFF], 1, 4, "input ends before the expected output length"),
            (&[0xFF, 0xFF, 0xFF, 0xFF, 0x00], 1, 4, "input ends before the expected output length"),
            // match offset 2 with one byte of output
            (&[0xFF, 0xFF, 0xFF, 0x7F, b'a', 0x08, 0x00], 4, 5, "match runs before the start of output"),
            // match of length 3 with only 2 bytes still expected
            (&[0xFF, 0xFF, 0xFF, 0x7F, b'a', 0x00, 0x00], 3, 5, "match runs past the expected output length"),
            // long match whose nibble byte is missing
            (&[0xFF, 0xFF, 0xFF, 0x7F, b'a', 0x07, 0x00], 100, 7, "input ends inside a match length"),
            // u16 length of 5 is below the 22 the encoding implies
            (
                &[0xFF, 0xFF, 0xFF, 0x7F, b'a', 0x07, 0x00, 0x0F, 0xFF, 0x05, 0x00],
                100,
                5,
                "long match length is smaller than its encoding allows",
            ),
            // u32 length of 4 billion with 100 bytes expected
            (
                &[0xFF, 0xFF, 0xFF, 0x7F, b'a', 0x07, 0x00, 0x0F, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0],
                100,
                5,
                "match runs past the expected output length",
            ),
        ];
        for &(input, expected_len, offset, what) in cases {
            let error = decode(input, expected_len).unwrap_err();
            assert_eq!(error.format, CompressionFormat::Xpress);
            assert_eq!((error.input_offset, error.what.as_str()), (offset, what), "input {input:02x?}");
        }
    }

    #[test]
    fn trailing_input_after_expected_length_is_ignored() {
        let plain = b"hello, hello, hello";
        let mut encoded = compress_any(CompressionFormat::Xpress, plain);
        encoded.extend_from_slice(&[0xAB; 16]);
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
    }
}
