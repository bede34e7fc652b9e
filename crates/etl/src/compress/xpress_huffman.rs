//! LZ77+Huffman ("XPRESS_HUFF", `COMPRESSION_FORMAT_XPRESS_HUFF`), [MS-XCA] 2.1 and 2.2.
//!
//! Output comes in blocks of 65536 bytes. Each block starts with 256 bytes
//! holding the 4-bit code lengths of 512 symbols (even symbol in the low
//! nibble), followed by a bit stream of canonical Huffman codes read MSB-first
//! from little-endian u16 words. Symbols 0..256 are literals; 256.. are
//! matches: low 4 bits = length - 3 (15 = longer, continued in whole bytes
//! taken from the input between the u16 words), high bits = position of the
//! offset's top bit, the bits below it following the symbol in the bit stream.

use super::match_finder::MatchFinder;
use super::{copy_match, read_u16_le, read_u32_le, CompressionFormat, DecompressError};

const BLOCK_LEN: usize = 1 << 16;
const SYMBOL_COUNT: usize = 512;
const TABLE_LEN: usize = SYMBOL_COUNT / 2;
const MAX_CODE_BITS: u32 = 15;
const END_OF_STREAM: usize = 256;
const MIN_MATCH: usize = 3;
const MAX_OFFSET: usize = (1 << 16) - 1;
const CHAIN_DEPTH: usize = 24;

fn corrupt(input_offset: usize, what: &str) -> DecompressError {
    DecompressError::new(CompressionFormat::XpressHuffman, input_offset, what)
}

/// Direct lookup by the next 15 bits: `code length << 9 | symbol`.
struct DecodeTable {
    entries: Box<[u16; 1 << MAX_CODE_BITS]>,
}

impl DecodeTable {
    fn new() -> Self {
        Self { entries: Box::new([0; 1 << MAX_CODE_BITS]) }
    }

    /// Canonical assignment: codes ordered by length, then by symbol. The code
    /// lengths must fill the code space exactly.
    fn build(&mut self, packed_lengths: &[u8]) -> Result<(), &'static str> {
        let mut lengths = [0u8; SYMBOL_COUNT];
        for (pair, &byte) in lengths.chunks_exact_mut(2).zip(packed_lengths) {
            pair[0] = byte & 0x0F;
            pair[1] = byte >> 4;
        }
        let mut next_entry = 0usize;
        for length in 1..=MAX_CODE_BITS {
            let span = 1usize << (MAX_CODE_BITS - length);
            for (symbol, _) in lengths.iter().enumerate().filter(|&(_, &l)| u32::from(l) == length) {
                let entries = self
                    .entries
                    .get_mut(next_entry..next_entry + span)
                    .ok_or("Huffman code lengths oversubscribe the code space")?;
                entries.fill((length as u16) << 9 | symbol as u16);
                next_entry += span;
            }
        }
        if next_entry != self.entries.len() {
            return Err("Huffman code lengths leave part of the code space unused");
        }
        Ok(())
    }
}

/// The 32-bit window of [MS-XCA] 2.2.4: always holds at least 16 unread bits.
struct BitReader<'a> {
    input: &'a [u8],
    /// Next u16 word, or extra length byte, to read.
    pos: usize,
    bits: u32,
    /// Valid bits in `bits` beyond the guaranteed 16 (negative: refill needed).
    extra_bits: i32,
}

impl<'a> BitReader<'a> {
    fn new(input: &'a [u8], pos: usize) -> Option<Self> {
        let high = read_u16_le(input, pos)?;
        let low = read_u16_le(input, pos + 2)?;
        Some(Self { input, pos: pos + 4, bits: u32::from(high) << 16 | u32::from(low), extra_bits: 16 })
    }

    #[inline]
    fn consume(&mut self, count: u32) -> Result<(), DecompressError> {
        self.bits = self.bits.checked_shl(count).unwrap_or(0);
        self.extra_bits -= count as i32;
        if self.extra_bits < 0 {
            let word = read_u16_le(self.input, self.pos)
                .ok_or_else(|| corrupt(self.pos, "input ends inside the bit stream"))?;
            self.bits |= u32::from(word) << -self.extra_bits;
            self.extra_bits += 16;
            self.pos += 2;
        }
        Ok(())
    }

    /// Reads `count` <= 15 bits as a number.
    #[inline]
    fn take(&mut self, count: u32) -> Result<u32, DecompressError> {
        let value = self.bits.checked_shr(32 - count).unwrap_or(0);
        self.consume(count)?;
        Ok(value)
    }

    fn byte(&mut self) -> Result<u8, DecompressError> {
        let byte = *self.input.get(self.pos).ok_or_else(|| corrupt(self.pos, "input ends inside a match length"))?;
        self.pos += 1;
        Ok(byte)
    }
}

pub(super) fn decompress(input: &[u8], expected_len: usize, out: &mut Vec<u8>) -> Result<(), DecompressError> {
    let output_start = out.len();
    let output_end = output_start.checked_add(expected_len).ok_or_else(|| corrupt(0, "expected length overflows"))?;
    let mut table = DecodeTable::new();
    let mut pos = 0usize;
    while out.len() < output_end {
        let packed_lengths = input
            .get(pos..pos + TABLE_LEN)
            .ok_or_else(|| corrupt(pos, "input ends before the expected output length"))?;
        table.build(packed_lengths).map_err(|what| corrupt(pos, what))?;
        let mut reader = BitReader::new(input, pos + TABLE_LEN)
            .ok_or_else(|| corrupt(pos + TABLE_LEN, "input ends inside the bit stream"))?;
        // A match may end past the block boundary; the next block starts after it.
        let block_end = output_end.min(out.len().saturating_add(BLOCK_LEN));
        while out.len() < block_end {
            let symbol_at = reader.pos;
            let entry = table.entries[(reader.bits >> (32 - MAX_CODE_BITS)) as usize];
            reader.consume(u32::from(entry >> 9))?;
            let symbol = usize::from(entry & 0x1FF);
            if symbol < 256 {
                out.push(symbol as u8);
                continue;
            }
            let match_symbol = symbol - 256;
            let mut length = match_symbol & 15;
            if length == 15 {
                let byte = reader.byte()?;
                length = if byte == 255 {
                    let mut full = read_u16_le(input, reader.pos)
                        .map(u32::from)
                        .ok_or_else(|| corrupt(reader.pos, "input ends inside a match length"))?;
                    reader.pos += 2;
                    if full == 0 {
                        full = read_u32_le(input, reader.pos)
                            .ok_or_else(|| corrupt(reader.pos, "input ends inside a match length"))?;
                        reader.pos += 4;
                    }
                    if full < 15 {
                        return Err(corrupt(symbol_at, "long match length is smaller than its encoding allows"));
                    }
                    // `full` already is the whole length - 3.
                    usize::try_from(full).unwrap_or(usize::MAX)
                } else {
                    usize::from(byte) + 15
                };
            }
            let length = length.saturating_add(MIN_MATCH);
            let offset_bits = (match_symbol >> 4) as u32;
            let offset = (1usize << offset_bits) + reader.take(offset_bits)? as usize;

            if offset > out.len() - output_start {
                return Err(corrupt(symbol_at, "match runs before the start of output"));
            }
            if length > output_end - out.len() {
                return Err(corrupt(symbol_at, "match runs past the expected output length"));
            }
            copy_match(out, offset, length);
        }
        pos = reader.pos;
    }
    Ok(())
}

enum Token {
    Literal(u8),
    Match { length: usize, offset: usize },
}

fn high_bit(value: usize) -> usize {
    (usize::BITS - 1 - value.leading_zeros()) as usize
}

fn match_symbol(length: usize, offset: usize) -> usize {
    256 + (length - MIN_MATCH).min(15) + 16 * high_bit(offset)
}

pub(super) fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 16 + 300);
    let mut finder = MatchFinder::new(MAX_OFFSET, CHAIN_DEPTH);
    let mut tokens = Vec::new();
    let mut block_start = 0;
    loop {
        let block_end = (block_start + BLOCK_LEN).min(input.len());
        let is_last = block_end == input.len();
        tokens.clear();
        let mut frequencies = [0u32; SYMBOL_COUNT];
        let mut pos = block_start;
        while pos < block_end {
            // Matches stop at the block end so that encoder and decoder agree
            // on where the next block's table starts.
            match finder.longest_match(input, pos, pos.saturating_sub(MAX_OFFSET), block_end - pos) {
                Some((length, offset)) => {
                    frequencies[match_symbol(length, offset)] += 1;
                    tokens.push(Token::Match { length, offset });
                    for covered in pos..pos + length {
                        finder.insert(input, covered);
                    }
                    pos += length;
                }
                None => {
                    frequencies[usize::from(input[pos])] += 1;
                    tokens.push(Token::Literal(input[pos]));
                    finder.insert(input, pos);
                    pos += 1;
                }
            }
        }
        if is_last {
            frequencies[END_OF_STREAM] += 1;
        }
        encode_block(&tokens, &frequencies, is_last, &mut out);
        if is_last {
            return out;
        }
        block_start = block_end;
    }
}

fn encode_block(tokens: &[Token], frequencies: &[u32; SYMBOL_COUNT], is_last: bool, out: &mut Vec<u8>) {
    let lengths = code_lengths(frequencies);
    let codes = canonical_codes(&lengths);
    for pair in lengths.chunks_exact(2) {
        out.push(pair[0] | pair[1] << 4);
    }
    let mut writer = BitWriter::new(out);
    for token in tokens {
        match *token {
            Token::Literal(byte) => {
                writer.write_bits(u32::from(lengths[usize::from(byte)]), u32::from(codes[usize::from(byte)]))
            }
            Token::Match { length, offset } => {
                let symbol = match_symbol(length, offset);
                writer.write_bits(u32::from(lengths[symbol]), u32::from(codes[symbol]));
                let length_code = length - MIN_MATCH;
                if length_code >= 15 {
                    // Extra length bytes go where the decoder reads its next word.
                    match u8::try_from(length_code - 15) {
                        Ok(byte) if byte < 255 => writer.out.push(byte),
                        _ => {
                            writer.out.push(255);
                            match u16::try_from(length_code) {
                                Ok(short) => writer.out.extend_from_slice(&short.to_le_bytes()),
                                Err(_) => {
                                    writer.out.extend_from_slice(&[0, 0]);
                                    writer.out.extend_from_slice(&(length_code as u32).to_le_bytes());
                                }
                            }
                        }
                    }
                }
                let offset_bits = high_bit(offset);
                writer.write_bits(offset_bits as u32, (offset - (1 << offset_bits)) as u32);
            }
        }
    }
    if is_last {
        writer.write_bits(u32::from(lengths[END_OF_STREAM]), u32::from(codes[END_OF_STREAM]));
    }
    writer.flush();
}

/// The writer side of the decoder's 32-bit window ([MS-XCA] 2.1.4.3): bits fill
/// the word at `current_word`; the decoder has already read the word after it,
/// so bytes written meanwhile (long lengths) land after that one.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    bits: u32,
    free_bits: u32,
    current_word: usize,
    next_word: usize,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let current_word = out.len();
        out.extend_from_slice(&[0; 4]);
        Self { out, bits: 0, free_bits: 16, current_word, next_word: current_word + 2 }
    }

    /// Appends the low `count` (<= 16) bits of `value`, most significant first.
    fn write_bits(&mut self, count: u32, value: u32) {
        if count <= self.free_bits {
            self.bits = self.bits.checked_shl(count).unwrap_or(0) | value;
            self.free_bits -= count;
            return;
        }
        let spill = count - self.free_bits;
        let word = (self.bits << self.free_bits) | (value >> spill);
        self.out[self.current_word..self.current_word + 2].copy_from_slice(&(word as u16).to_le_bytes());
        self.current_word = self.next_word;
        self.next_word = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        self.free_bits = 16 - spill;
        // Bits above the ones still pending are shifted out before the word is written.
        self.bits = value;
    }

    fn flush(self) {
        let word = self.bits.checked_shl(self.free_bits).unwrap_or(0);
        self.out[self.current_word..self.current_word + 2].copy_from_slice(&(word as u16).to_le_bytes());
    }
}

/// Huffman code lengths, at most 15 bits, for the symbols that occur. Ties are
/// broken so that lower symbols get the longer codes, as Windows does.
fn code_lengths(frequencies: &[u32; SYMBOL_COUNT]) -> [u8; SYMBOL_COUNT] {
    let mut lengths = [0u8; SYMBOL_COUNT];
    let mut leaves: Vec<usize> = (0..SYMBOL_COUNT).filter(|&s| frequencies[s] > 0).collect();
    match leaves.len() {
        0 => {}
        1 => {
            // A lone symbol still needs a complete code: pair it with an unused one.
            let only = leaves[0];
            lengths[only] = 1;
            lengths[if only == 0 { 1 } else { 0 }] = 1;
        }
        _ => {
            leaves.sort_by_key(|&s| frequencies[s]); // stable: ties stay in symbol order
            let depths = huffman_depths(&leaves.iter().map(|&s| u64::from(frequencies[s])).collect::<Vec<_>>());
            for (&symbol, &depth) in leaves.iter().zip(&depths) {
                lengths[symbol] = depth.min(255) as u8;
            }
            limit_lengths(&mut lengths, frequencies);
        }
    }
    lengths
}

/// Depth of each leaf in a Huffman tree over `weights` (sorted ascending),
/// built with the two-queue method; on equal weights a leaf is taken before a
/// merged node.
fn huffman_depths(weights: &[u64]) -> Vec<u32> {
    let leaf_count = weights.len();
    let mut node_weights: Vec<u64> = weights.to_vec();
    let mut parents = vec![0usize; 2 * leaf_count - 1];
    let mut next_leaf = 0;
    let mut next_merged = leaf_count;
    for _ in 0..leaf_count - 1 {
        let mut pick = || {
            let take_leaf = next_leaf < leaf_count
                && (next_merged >= node_weights.len() || node_weights[next_leaf] <= node_weights[next_merged]);
            if take_leaf {
                next_leaf += 1;
                next_leaf - 1
            } else {
                next_merged += 1;
                next_merged - 1
            }
        };
        let first = pick();
        let second = pick();
        let merged = node_weights.len();
        node_weights.push(node_weights[first] + node_weights[second]);
        parents[first] = merged;
        parents[second] = merged;
    }
    // Parents come after their children, so one backward pass fixes all depths.
    let root = node_weights.len() - 1;
    let mut depths = vec![0u32; node_weights.len()];
    for node in (0..root).rev() {
        depths[node] = depths[parents[node]] + 1;
    }
    depths.truncate(leaf_count);
    depths
}

/// Caps code lengths at 15 while keeping the code complete (Kraft sum exactly 1).
fn limit_lengths(lengths: &mut [u8; SYMBOL_COUNT], frequencies: &[u32; SYMBOL_COUNT]) {
    const LIMIT: u8 = MAX_CODE_BITS as u8;
    if lengths.iter().all(|&length| length <= LIMIT) {
        return;
    }
    let full: u32 = 1 << MAX_CODE_BITS;
    let weight = |length: u8| 1u32 << (LIMIT - length);
    for length in lengths.iter_mut().filter(|length| **length > LIMIT) {
        *length = LIMIT;
    }
    let mut kraft: u32 = lengths.iter().filter(|&&l| l > 0).map(|&l| weight(l)).sum();
    // Over-full: lengthen the deepest codes that can still grow, rarest first.
    while kraft > full {
        let symbol = (0..SYMBOL_COUNT)
            .filter(|&s| lengths[s] > 0 && lengths[s] < LIMIT)
            .max_by_key(|&s| (lengths[s], std::cmp::Reverse(frequencies[s])));
        // Unreachable: 512 codes of 15 bits fill only 1/64 of the code space.
        let Some(symbol) = symbol else { break };
        kraft -= weight(lengths[symbol] + 1);
        lengths[symbol] += 1;
    }
    // Under-full: shorten the deepest code whose gain still fits, commonest first.
    while kraft < full {
        let slack = full - kraft;
        let symbol = (0..SYMBOL_COUNT)
            .filter(|&s| lengths[s] > 1 && weight(lengths[s]) <= slack)
            .max_by_key(|&s| (lengths[s], frequencies[s]));
        // Unreachable: the slack is a multiple of the deepest code's weight.
        let Some(symbol) = symbol else { break };
        kraft += weight(lengths[symbol]);
        lengths[symbol] -= 1;
    }
}

/// Canonical codes: by length, then by symbol, counting up.
fn canonical_codes(lengths: &[u8; SYMBOL_COUNT]) -> [u16; SYMBOL_COUNT] {
    let mut codes = [0u16; SYMBOL_COUNT];
    let mut next_entry: u32 = 0;
    for length in 1..=MAX_CODE_BITS as u8 {
        for symbol in (0..SYMBOL_COUNT).filter(|&s| lengths[s] == length) {
            let shift = MAX_CODE_BITS - u32::from(length);
            codes[symbol] = (next_entry >> shift) as u16;
            next_entry += 1 << shift;
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::super::{decompress as decompress_any, CompressionFormat};
    use super::*;

    fn decode(input: &[u8], expected_len: usize) -> Result<Vec<u8>, DecompressError> {
        decompress_any(CompressionFormat::XpressHuffman, input, expected_len)
    }

    /// A 256-byte length table with the given (symbol, length) pairs, then `stream`.
    fn with_table(lengths: &[(usize, u8)], stream: &[u8]) -> Vec<u8> {
        let mut encoded = vec![0u8; TABLE_LEN];
        for &(symbol, length) in lengths {
            encoded[symbol / 2] |= length << (4 * (symbol % 2));
        }
        encoded.extend_from_slice(stream);
        encoded
    }

    /// [MS-XCA] 3.2, first example: 26 literals and the end-of-stream symbol.
    #[test]
    fn spec_example_alphabet() {
        let plain = b"abcdefghijklmnopqrstuvwxyz";
        let mut encoded = vec![0u8; TABLE_LEN];
        encoded[48..62]
            .copy_from_slice(&[0x50, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x45, 0x44, 0x04]);
        encoded[128] = 0x04;
        encoded.extend_from_slice(&[
            0xd8, 0x52, 0x3e, 0xd7, 0x94, 0x11, 0x5b, 0xe9, 0x19, 0x5f, 0xf9, 0xd6, 0x7c, 0xdf, 0x8d, 0x04, 0x00, 0x00,
            0x00, 0x00,
        ]);
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
        assert_eq!(compress(plain), encoded);
    }

    /// [MS-XCA] 3.2, second example: abc[match: distance 3, length 297][EOF].
    #[test]
    fn spec_example_abc_repeated() {
        let plain = b"abc".repeat(100);
        let mut encoded = vec![0u8; TABLE_LEN];
        encoded[48] = 0x30;
        encoded[49] = 0x23;
        encoded[128] = 0x02;
        encoded[143] = 0x20;
        encoded.extend_from_slice(&[0xa8, 0xdc, 0x00, 0x00, 0xff, 0x26, 0x01]);
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
        assert_eq!(compress(&plain), encoded);
    }

    #[test]
    fn blocks_after_the_first_have_their_own_tables() {
        // Three blocks with different statistics; the second repeats the first.
        let mut plain: Vec<u8> = (0..BLOCK_LEN).map(|i| (i % 7) as u8 + b'a').collect();
        plain.extend_from_within(0..BLOCK_LEN);
        plain.extend((0..1000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
        let encoded = compress(&plain);
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
    }

    #[test]
    fn long_match_lengths_round_trip() {
        // Length fields around 18 (byte), 270 (u16), and a whole block of one byte.
        for length in [17, 18, 19, 272, 273, 274, BLOCK_LEN - 1, 3 * BLOCK_LEN] {
            let plain = [b"A".to_vec(), vec![b'B'; length], b"C".to_vec()].concat();
            let encoded = compress(&plain);
            assert_eq!(decode(&encoded, plain.len()).unwrap(), plain, "length {length}");
        }
    }

    #[test]
    fn u32_match_length_decodes() {
        // 'a' (code 0), then match symbol 256+15 (code 1) with length 100_003 in
        // u16 0 + u32, offset bits 0.
        let encoded = with_table(
            &[(b'a' as usize, 1), (271, 1)],
            &[0x00, 0x40, 0x00, 0x00, 0xFF, 0x00, 0x00, 0xA0, 0x86, 0x01, 0x00],
        );
        let decoded = decode(&encoded, 100_004).unwrap();
        assert!(decoded.iter().all(|&byte| byte == b'a'));
    }

    #[test]
    fn code_lengths_are_limited_and_complete() {
        // Fibonacci frequencies make an unlimited Huffman tree 30 levels deep.
        let mut frequencies = [0u32; SYMBOL_COUNT];
        let (mut a, mut b) = (1u32, 1u32);
        for frequency in frequencies.iter_mut().take(30) {
            *frequency = a;
            (a, b) = (b, a + b);
        }
        frequencies[300] = 5;
        let lengths = code_lengths(&frequencies);
        assert!(lengths.iter().all(|&length| length <= 15));
        let kraft: u32 = lengths.iter().filter(|&&l| l > 0).map(|&l| 1 << (15 - l)).sum();
        assert_eq!(kraft, 1 << 15);
        assert!(frequencies.iter().zip(&lengths).all(|(&f, &l)| (f > 0) == (l > 0)));
        let mut table = DecodeTable::new();
        let packed: Vec<u8> = lengths.chunks_exact(2).map(|pair| pair[0] | pair[1] << 4).collect();
        table.build(&packed).unwrap();
    }

    #[test]
    fn skewed_block_round_trips() {
        // Symbol counts spread over many orders of magnitude force length limiting.
        let mut plain = Vec::new();
        let mut count = 1usize;
        for symbol in 0u8..20 {
            plain.extend((0..count).map(|i| if i % 2 == 0 { symbol } else { 255 - symbol }));
            count = count * 17 / 10 + 1;
        }
        let mut state = 99u32;
        for byte in plain.iter_mut() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            if state >> 28 == 0 {
                *byte ^= (state >> 8) as u8;
            }
        }
        let encoded = compress(&plain);
        assert_eq!(decode(&encoded, plain.len()).unwrap(), plain);
    }

    #[test]
    fn corrupt_inputs_are_errors() {
        let two_literals = [(b'a' as usize, 1), (b'b' as usize, 1)];
        let cases: Vec<(Vec<u8>, usize, usize, &str)> = vec![
            (vec![], 1, 0, "input ends before the expected output length"),
            (vec![0; 255], 1, 0, "input ends before the expected output length"),
            (vec![0; 300], 1, 0, "Huffman code lengths leave part of the code space unused"),
            (with_table(&[(1, 1), (2, 1), (3, 1)], &[0; 4]), 1, 0, "Huffman code lengths oversubscribe the code space"),
            (with_table(&two_literals, &[0, 0]), 1, 256, "input ends inside the bit stream"),
            // the 17th one-bit literal needs a third word
            (with_table(&two_literals, &[0, 0, 0, 0]), 33, 260, "input ends inside the bit stream"),
            // match symbol 256 (length 3, offset 1) before any output
            (
                with_table(&[(b'a' as usize, 1), (256, 1)], &[0x00, 0x80, 0, 0]),
                10,
                260,
                "match runs before the start of output",
            ),
            // 'a' then match symbol 271 whose length byte is missing
            (
                with_table(&[(b'a' as usize, 1), (271, 1)], &[0x00, 0x40, 0, 0]),
                10,
                260,
                "input ends inside a match length",
            ),
            // 'a' then 'a' + match of 3 with 3 expected
            (
                with_table(&[(b'a' as usize, 1), (256, 1)], &[0x00, 0x40, 0, 0]),
                3,
                260,
                "match runs past the expected output length",
            ),
            // u16 length 3 is below the 15 the encoding implies
            (
                with_table(&[(b'a' as usize, 1), (271, 1)], &[0x00, 0x40, 0, 0, 0xFF, 0x03, 0x00]),
                100,
                260,
                "long match length is smaller than its encoding allows",
            ),
        ];
        for (input, expected_len, offset, what) in cases {
            let error = decode(&input, expected_len).unwrap_err();
            assert_eq!(error.format, CompressionFormat::XpressHuffman);
            assert_eq!((error.input_offset, error.what.as_str()), (offset, what), "input {input:02x?}");
        }
    }
}
