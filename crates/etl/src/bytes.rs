//! Bounds-checked little-endian reads from a borrowed byte slice.
//! Every read returns `None` past the end; callers turn that into an error with context.

#[inline]
pub fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

#[inline]
pub fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

#[inline]
pub fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[inline]
pub fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

#[inline]
pub fn i64_at(data: &[u8], at: usize) -> Option<i64> {
    u64_at(data, at).map(|v| v as i64)
}

/// A pointer-sized value (4 or 8 bytes), widened to u64.
#[inline]
pub fn pointer_at(data: &[u8], at: usize, pointer_size: u8) -> Option<u64> {
    if pointer_size == 4 {
        u32_at(data, at).map(u64::from)
    } else {
        u64_at(data, at)
    }
}

/// A NUL-terminated UTF-16LE string starting at `at`; returns the text and the
/// offset just past its terminator (or the end of `data` when unterminated).
pub fn utf16z_at(data: &[u8], at: usize) -> (String, usize) {
    let mut units = Vec::new();
    let mut pos = at;
    while let Some(unit) = u16_at(data, pos) {
        pos += 2;
        if unit == 0 {
            return (String::from_utf16_lossy(&units), pos);
        }
        units.push(unit);
    }
    (String::from_utf16_lossy(&units), data.len().max(at))
}

#[inline]
pub fn align8(n: usize) -> usize {
    (n + 7) & !7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let d = [1u8, 2, 3, 4, 5];
        assert_eq!(u32_at(&d, 0), Some(0x04030201));
        assert_eq!(u32_at(&d, 2), None);
        assert_eq!(u64_at(&d, usize::MAX - 2), None);
        assert_eq!(pointer_at(&d, 1, 4), Some(0x05040302));
    }

    #[test]
    fn utf16_strings_terminate_or_run_to_the_end() {
        let d = [b'a', 0, b'b', 0, 0, 0, b'c', 0];
        assert_eq!(utf16z_at(&d, 0), ("ab".to_string(), 6));
        assert_eq!(utf16z_at(&d, 6), ("c".to_string(), 8));
        assert_eq!(utf16z_at(&d, 9), (String::new(), 9));
    }
}
