//! Hash-chain search for earlier occurrences of the bytes at a position, shared
//! by the three compressors. Greedy and simple: compression is only used to
//! write traces and in tests, so it favours clarity over ratio.

/// Matches shorter than this never pay off in any of the formats.
const MIN_MATCH: usize = 3;
const HASH_BITS: u32 = 15;

pub(super) struct MatchFinder {
    /// Hash of three bytes -> most recent position with that hash, plus one (0 = none).
    head: Vec<usize>,
    /// Position modulo the window -> previous position with the same hash, plus one.
    previous: Vec<usize>,
    window_mask: usize,
    chain_depth: usize,
}

impl MatchFinder {
    /// `window` is the largest distance the format can encode.
    pub(super) fn new(window: usize, chain_depth: usize) -> Self {
        // A ring at least as long as the window keeps every chain link that a
        // search can still follow from being overwritten.
        let ring_len = window.next_power_of_two();
        Self { head: vec![0; 1 << HASH_BITS], previous: vec![0; ring_len], window_mask: ring_len - 1, chain_depth }
    }

    fn hash(data: &[u8], pos: usize) -> Option<usize> {
        let bytes = data.get(pos..pos + MIN_MATCH)?;
        let key = u32::from(bytes[0]) | u32::from(bytes[1]) << 8 | u32::from(bytes[2]) << 16;
        Some((key.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize)
    }

    /// Makes `pos` findable by later searches. Positions must be inserted in order.
    pub(super) fn insert(&mut self, data: &[u8], pos: usize) {
        if let Some(hash) = Self::hash(data, pos) {
            self.previous[pos & self.window_mask] = self.head[hash];
            self.head[hash] = pos + 1;
        }
    }

    /// The longest earlier occurrence of `data[pos..]`, as `(length, distance)`,
    /// starting at or after `lowest_source` and at most `max_len` long.
    /// Only lengths of at least three are reported.
    pub(super) fn longest_match(
        &self,
        data: &[u8],
        pos: usize,
        lowest_source: usize,
        max_len: usize,
    ) -> Option<(usize, usize)> {
        let max_len = max_len.min(data.len().saturating_sub(pos));
        if max_len < MIN_MATCH {
            return None;
        }
        let hash = Self::hash(data, pos)?;
        let target = &data[pos..pos + max_len];
        let mut best: Option<(usize, usize)> = None;
        let mut link = self.head[hash];
        for _ in 0..self.chain_depth {
            let Some(candidate) = link.checked_sub(1) else {
                break;
            };
            if candidate >= pos || candidate < lowest_source {
                break;
            }
            let best_len = best.map_or(MIN_MATCH - 1, |(length, _)| length);
            // Cheap rejection: a longer match must also agree at the byte just past the best.
            if data.get(candidate + best_len) == target.get(best_len) {
                let length = common_prefix(&data[candidate..], target);
                if length > best_len {
                    best = Some((length, pos - candidate));
                    if length == max_len {
                        break;
                    }
                }
            }
            let next = self.previous[candidate & self.window_mask];
            // Links only ever point backwards; anything else is a stale slot.
            if next > candidate {
                break;
            }
            link = next;
        }
        best
    }
}

/// Length of the common prefix, compared eight bytes at a time.
fn common_prefix(source: &[u8], target: &[u8]) -> usize {
    let limit = source.len().min(target.len());
    let mut length = 0;
    while length + 8 <= limit {
        let a = u64::from_le_bytes(source[length..length + 8].try_into().unwrap_or([0; 8]));
        let b = u64::from_le_bytes(target[length..length + 8].try_into().unwrap_or([0; 8]));
        let difference = a ^ b;
        if difference != 0 {
            return length + (difference.trailing_zeros() / 8) as usize;
        }
        length += 8;
    }
    while length < limit && source[length] == target[length] {
        length += 1;
    }
    length
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_longest_of_several_candidates() {
        let data = b"abcdXabcdeYabcdefZabcdef";
        let mut finder = MatchFinder::new(64, 8);
        for pos in 0..18 {
            finder.insert(data, pos);
        }
        assert_eq!(finder.longest_match(data, 18, 0, 100), Some((6, 7)));
        // Limited by max_len and by the lowest allowed source.
        assert_eq!(finder.longest_match(data, 18, 0, 4), Some((4, 7)));
        assert_eq!(finder.longest_match(data, 18, 12, 100), None);
    }

    #[test]
    fn common_prefix_counts_bytes() {
        assert_eq!(common_prefix(b"0123456789abcdefX", b"0123456789abcdefY"), 16);
        assert_eq!(common_prefix(b"0123456789", b"0123x"), 4);
        assert_eq!(common_prefix(b"", b"abc"), 0);
    }
}
