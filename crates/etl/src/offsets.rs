//! Where a buffer's records start, kept for the whole session: in 2 bytes a
//! record when the buffer allows (every buffer of 64 KiB, and up to 512 KiB
//! when records are 8-byte aligned, as ETW lays them), else in 4.

#[derive(Debug)]
pub(crate) enum Offsets {
    /// Each offset as `value << shift`.
    Narrow {
        shift: u32,
        values: Vec<u16>,
    },
    Wide(Vec<u32>),
}

impl Default for Offsets {
    fn default() -> Offsets {
        Offsets::Wide(Vec::new())
    }
}

impl From<Vec<u32>> for Offsets {
    fn from(all: Vec<u32>) -> Offsets {
        let max = all.iter().copied().max().unwrap_or(0);
        let aligned = all.iter().all(|&o| o % 8 == 0);
        let shift = match (max <= u32::from(u16::MAX), aligned && max >> 3 <= u32::from(u16::MAX)) {
            (true, _) => 0,
            (false, true) => 3,
            (false, false) => return Offsets::Wide(all),
        };
        Offsets::Narrow { shift, values: all.iter().map(|&o| (o >> shift) as u16).collect() }
    }
}

impl Offsets {
    pub(crate) fn len(&self) -> usize {
        match self {
            Offsets::Narrow { values, .. } => values.len(),
            Offsets::Wide(all) => all.len(),
        }
    }

    /// The offset of record `i`; `i` must be below `len`.
    #[inline]
    pub(crate) fn at(&self, i: usize) -> u32 {
        match self {
            Offsets::Narrow { shift, values } => u32::from(values[i]) << shift,
            Offsets::Wide(all) => all[i],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_come_back_as_given_in_the_narrowest_form_that_holds_them() {
        let small = vec![0, 72, 65_535];
        let aligned = vec![0, 8, 524_280];
        let odd = vec![0, 65_537];
        let far = vec![0, 524_288];
        for (all, narrow) in [(small, true), (aligned, true), (odd, false), (far, false), (vec![], true)] {
            let kept = Offsets::from(all.clone());
            assert_eq!((0..kept.len()).map(|i| kept.at(i)).collect::<Vec<_>>(), all);
            assert_eq!(matches!(kept, Offsets::Narrow { .. }), narrow, "{all:?}");
        }
    }
}
