//! Which rows of a column hold a value: one bit a row, not one byte. A big
//! table has a dozen columns that may be missing, so bytes added up to more
//! than the values of the narrow columns beside them.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
    len: usize,
}

impl Bitmap {
    pub fn new() -> Bitmap {
        Bitmap::default()
    }

    pub fn with_capacity(rows: usize) -> Bitmap {
        Bitmap { words: Vec::with_capacity(rows.div_ceil(64)), len: 0 }
    }

    /// `rows` bits, all set to `value`.
    pub fn filled(rows: usize, value: bool) -> Bitmap {
        let mut bits = Bitmap::with_capacity(rows);
        bits.resize(rows, value);
        bits
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(&self, row: usize) -> Option<bool> {
        (row < self.len).then(|| self.words[row / 64] >> (row % 64) & 1 == 1)
    }

    #[inline]
    pub fn push(&mut self, value: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        if value {
            self.words[self.len / 64] |= 1 << (self.len % 64);
        }
        self.len += 1;
    }

    /// Sets bit `row` to `value`; a row past the end is left alone.
    pub fn set(&mut self, row: usize, value: bool) {
        if row >= self.len {
            return;
        }
        let (word, bit) = (&mut self.words[row / 64], 1u64 << (row % 64));
        if value {
            *word |= bit;
        } else {
            *word &= !bit;
        }
    }

    /// Cuts or pads (with `value`) to `rows` bits.
    pub fn resize(&mut self, rows: usize, value: bool) {
        if rows <= self.len {
            self.len = rows;
            self.words.truncate(rows.div_ceil(64));
            if let Some(last) = self.words.last_mut().filter(|_| !rows.is_multiple_of(64)) {
                *last &= (1u64 << (rows % 64)) - 1;
            }
            return;
        }
        while self.len < rows {
            self.push(value);
        }
    }

    pub fn reserve(&mut self, additional: usize) {
        self.words.reserve((self.len + additional).div_ceil(64).saturating_sub(self.words.len()));
    }

    pub fn all_set(&self) -> bool {
        self.iter().all(|b| b)
    }

    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|row| self.words[row / 64] >> (row % 64) & 1 == 1)
    }
}

impl FromIterator<bool> for Bitmap {
    fn from_iter<I: IntoIterator<Item = bool>>(values: I) -> Bitmap {
        let values = values.into_iter();
        let mut bits = Bitmap::with_capacity(values.size_hint().0);
        for v in values {
            bits.push(v);
        }
        bits
    }
}

impl Extend<bool> for Bitmap {
    fn extend<I: IntoIterator<Item = bool>>(&mut self, values: I) {
        for v in values {
            self.push(v);
        }
    }
}

impl From<Vec<bool>> for Bitmap {
    fn from(values: Vec<bool>) -> Bitmap {
        values.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn reads_what_a_vector_of_bools_would(
            values in proptest::collection::vec(any::<bool>(), 0..200),
            rows in 0usize..260,
            pad in any::<bool>(),
        ) {
            let bits = Bitmap::from(values.clone());
            prop_assert_eq!(bits.len(), values.len());
            prop_assert_eq!(bits.iter().collect::<Vec<_>>(), values.clone());
            for (row, &v) in values.iter().enumerate() {
                prop_assert_eq!(bits.get(row), Some(v));
            }
            prop_assert_eq!(bits.get(values.len()), None);
            let mut resized = bits.clone();
            resized.resize(rows, pad);
            let mut expected = values.clone();
            expected.resize(rows, pad);
            prop_assert_eq!(resized.iter().collect::<Vec<_>>(), expected.clone());
            // Bits cut off and padded again read as the pad, not as what was there.
            let mut again = resized.clone();
            again.resize(rows + 70, false);
            expected.resize(rows + 70, false);
            prop_assert_eq!(again.iter().collect::<Vec<_>>(), expected);
            prop_assert_eq!(bits.all_set(), values.iter().all(|&v| v));
        }

        #[test]
        fn set_changes_one_bit_and_nothing_past_the_end(
            values in proptest::collection::vec(any::<bool>(), 0..200),
            row in 0usize..220,
            value in any::<bool>(),
        ) {
            let mut bits = Bitmap::from(values.clone());
            bits.set(row, value);
            let mut expected = values.clone();
            if let Some(v) = expected.get_mut(row) {
                *v = value;
            }
            prop_assert_eq!(bits.iter().collect::<Vec<_>>(), expected);
            prop_assert_eq!(bits.len(), values.len());
        }
    }
}
