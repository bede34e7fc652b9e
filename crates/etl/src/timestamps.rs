//! A buffer's record timestamps, kept for the whole session: as 4-byte steps
//! above the buffer's earliest when they all fit (a buffer spans well under
//! the 7 minutes that 2^32 ticks of a 10 MHz clock cover), else whole.

#[derive(Debug)]
pub(crate) enum Timestamps {
    /// Each timestamp as `base + delta`.
    Narrow {
        base: i64,
        deltas: Vec<u32>,
    },
    Wide(Vec<i64>),
}

impl Default for Timestamps {
    fn default() -> Timestamps {
        Timestamps::Wide(Vec::new())
    }
}

impl From<Vec<i64>> for Timestamps {
    fn from(all: Vec<i64>) -> Timestamps {
        let (Some(&min), Some(&max)) = (all.iter().min(), all.iter().max()) else {
            return Timestamps::default();
        };
        // A span past i64::MAX wraps negative, and stays wide.
        match u32::try_from(max.wrapping_sub(min)) {
            Ok(_) => {
                let deltas = all.iter().map(|&t| t.wrapping_sub(min) as u32).collect();
                Timestamps::Narrow { base: min, deltas }
            }
            Err(_) => Timestamps::Wide(all),
        }
    }
}

impl Timestamps {
    pub(crate) fn len(&self) -> usize {
        match self {
            Timestamps::Narrow { deltas, .. } => deltas.len(),
            Timestamps::Wide(all) => all.len(),
        }
    }

    /// The timestamp of record `i`; `i` must be below `len`.
    #[inline]
    pub(crate) fn at(&self, i: usize) -> i64 {
        match self {
            Timestamps::Narrow { base, deltas } => base + i64::from(deltas[i]),
            Timestamps::Wide(all) => all[i],
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<i64> {
        (i < self.len()).then(|| self.at(i))
    }

    pub(crate) fn first(&self) -> Option<i64> {
        self.get(0)
    }

    pub(crate) fn last(&self) -> Option<i64> {
        self.len().checked_sub(1).map(|i| self.at(i))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.at(i))
    }

    pub(crate) fn is_sorted(&self) -> bool {
        match self {
            Timestamps::Narrow { deltas, .. } => deltas.is_sorted(),
            Timestamps::Wide(all) => all.is_sorted(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_come_back_as_given_narrow_or_wide() {
        let close = vec![1_000_000_000_000i64, 1_000_000_000_005, 1_000_000_000_001];
        let far = vec![-5i64, i64::MAX, 0];
        let edge = vec![i64::MIN, i64::MIN + i64::from(u32::MAX)];
        for all in [close, far, edge, vec![], vec![7]] {
            let kept = Timestamps::from(all.clone());
            assert_eq!(kept.iter().collect::<Vec<_>>(), all);
            assert_eq!((kept.first(), kept.last()), (all.first().copied(), all.last().copied()));
            assert_eq!(kept.is_sorted(), all.is_sorted());
            assert_eq!(kept.get(all.len()), None);
        }
        assert!(matches!(Timestamps::from(vec![10, 10 + i64::from(u32::MAX)]), Timestamps::Narrow { .. }));
        assert!(matches!(Timestamps::from(vec![10, 11 + i64::from(u32::MAX)]), Timestamps::Wide(_)));
    }
}
