//! Unsigned integers kept in the narrowest width that holds the largest of
//! them. CPU numbers, opcodes, process and thread ids and dictionary codes
//! are small: stored as u64 they made most of a big table's bytes.
//!
//! Loops over every value dispatch on the width once ([`UInts::map`],
//! [`UInts::for_each`]), so the inner loop is as tight as over a plain slice.

/// One width of storage for the whole column; pushing a value that does not
/// fit widens every value already stored, once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UInts {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
}

impl Default for UInts {
    fn default() -> UInts {
        UInts::U8(Vec::new())
    }
}

/// Runs `$body` with `$v` bound to the column's vector, whatever its width.
macro_rules! each_width {
    ($self:expr, $v:ident => $body:expr) => {
        match $self {
            UInts::U8($v) => $body,
            UInts::U16($v) => $body,
            UInts::U32($v) => $body,
            // The widest arm converts u64 to itself.
            #[allow(clippy::useless_conversion)]
            UInts::U64($v) => $body,
        }
    };
}

/// The narrowest storage for values up to `max`, with room for `capacity`.
fn empty_for(max: u64, capacity: usize) -> UInts {
    if max <= u64::from(u8::MAX) {
        UInts::U8(Vec::with_capacity(capacity))
    } else if max <= u64::from(u16::MAX) {
        UInts::U16(Vec::with_capacity(capacity))
    } else if max <= u64::from(u32::MAX) {
        UInts::U32(Vec::with_capacity(capacity))
    } else {
        UInts::U64(Vec::with_capacity(capacity))
    }
}

impl UInts {
    pub fn new() -> UInts {
        UInts::default()
    }

    /// Room for `rows` values of the narrowest width.
    pub fn with_capacity(rows: usize) -> UInts {
        UInts::U8(Vec::with_capacity(rows))
    }

    /// The values, narrowed to fit the largest.
    pub fn from_u64s(values: &[u64]) -> UInts {
        let max = values.iter().copied().max().unwrap_or(0);
        let mut narrow = empty_for(max, values.len());
        // Every value fits the width chosen for the largest, so `as` never truncates.
        match &mut narrow {
            UInts::U8(v) => v.extend(values.iter().map(|&x| x as u8)),
            UInts::U16(v) => v.extend(values.iter().map(|&x| x as u16)),
            UInts::U32(v) => v.extend(values.iter().map(|&x| x as u32)),
            UInts::U64(v) => v.extend_from_slice(values),
        }
        narrow
    }

    /// Values from an iterator, widened as they come.
    pub fn collect(values: impl IntoIterator<Item = u64>) -> UInts {
        let values = values.into_iter();
        let mut narrow = UInts::with_capacity(values.size_hint().0);
        for x in values {
            narrow.push(x);
        }
        narrow
    }

    pub fn len(&self) -> usize {
        each_width!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes each value takes.
    pub fn width(&self) -> usize {
        match self {
            UInts::U8(_) => 1,
            UInts::U16(_) => 2,
            UInts::U32(_) => 4,
            UInts::U64(_) => 8,
        }
    }

    #[inline]
    pub fn get(&self, row: usize) -> Option<u64> {
        each_width!(self, v => v.get(row).map(|&x| u64::from(x)))
    }

    /// The largest value the current width holds.
    fn capacity_max(&self) -> u64 {
        match self {
            UInts::U8(_) => u64::from(u8::MAX),
            UInts::U16(_) => u64::from(u16::MAX),
            UInts::U32(_) => u64::from(u32::MAX),
            UInts::U64(_) => u64::MAX,
        }
    }

    /// Stores every value in a width that also holds `max`.
    fn widen_for(&mut self, max: u64) {
        if max <= self.capacity_max() {
            return;
        }
        // The room reserved for the narrow values, reserved again at the new width.
        let room = each_width!(self, v => v.capacity()).max(self.len() + 1);
        let mut wider = empty_for(max, room);
        self.for_each(|x| wider.push_fitting(x));
        *self = wider;
    }

    /// Appends a value the current width is known to hold.
    #[inline]
    fn push_fitting(&mut self, x: u64) {
        match self {
            UInts::U8(v) => v.push(x as u8),
            UInts::U16(v) => v.push(x as u16),
            UInts::U32(v) => v.push(x as u32),
            UInts::U64(v) => v.push(x),
        }
    }

    #[inline]
    pub fn push(&mut self, x: u64) {
        if x > self.capacity_max() {
            self.widen_for(x);
        }
        self.push_fitting(x);
    }

    pub fn reserve(&mut self, additional: usize) {
        each_width!(self, v => v.reserve(additional))
    }

    /// Calls `f` with every value in order; the width is matched once.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(u64)) {
        each_width!(self, v => v.iter().for_each(|&x| f(u64::from(x))))
    }

    /// `f` of every value in order, collected; the width is matched once.
    #[inline]
    pub fn map<T>(&self, mut f: impl FnMut(u64) -> T) -> Vec<T> {
        each_width!(self, v => v.iter().map(|&x| f(u64::from(x))).collect())
    }

    /// `f` of the values of rows `start..end` (clamped), in order.
    pub fn for_each_in(&self, start: usize, end: usize, mut f: impl FnMut(u64)) {
        let end = end.min(self.len());
        let start = start.min(end);
        each_width!(self, v => v[start..end].iter().for_each(|&x| f(u64::from(x))))
    }

    pub fn to_u64s(&self) -> Vec<u64> {
        self.map(|x| x)
    }

    /// The values at `rows`, in that order; a row out of range reads 0.
    pub fn gather(&self, rows: &[u32]) -> UInts {
        fn pick<T: Copy + Default>(v: &[T], rows: &[u32]) -> Vec<T> {
            rows.iter().map(|&r| v.get(r as usize).copied().unwrap_or_default()).collect()
        }
        match self {
            UInts::U8(v) => UInts::U8(pick(v, rows)),
            UInts::U16(v) => UInts::U16(pick(v, rows)),
            UInts::U32(v) => UInts::U32(pick(v, rows)),
            UInts::U64(v) => UInts::U64(pick(v, rows)),
        }
    }

    /// Copies of rows `start..end` (clamped).
    pub fn slice(&self, start: usize, end: usize) -> UInts {
        let end = end.min(self.len());
        let start = start.min(end);
        match self {
            UInts::U8(v) => UInts::U8(v[start..end].to_vec()),
            UInts::U16(v) => UInts::U16(v[start..end].to_vec()),
            UInts::U32(v) => UInts::U32(v[start..end].to_vec()),
            UInts::U64(v) => UInts::U64(v[start..end].to_vec()),
        }
    }

    /// Appends `other`'s values, widening this column when they need it.
    pub fn extend(&mut self, other: &UInts) {
        self.widen_for(other.max());
        self.reserve(other.len());
        other.for_each(|x| self.push_fitting(x));
    }

    /// The largest value; 0 when empty.
    pub fn max(&self) -> u64 {
        each_width!(self, v => v.iter().max().map_or(0, |&x| u64::from(x)))
    }
}

impl From<Vec<u64>> for UInts {
    fn from(values: Vec<u64>) -> UInts {
        UInts::from_u64s(&values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn narrowest_width_that_holds_the_largest_value() {
        assert_eq!(UInts::from_u64s(&[1, 255]).width(), 1);
        assert_eq!(UInts::from_u64s(&[1, 256]).width(), 2);
        assert_eq!(UInts::from_u64s(&[70_000]).width(), 4);
        assert_eq!(UInts::from_u64s(&[u64::from(u32::MAX) + 1]).width(), 8);
        assert_eq!(UInts::from_u64s(&[]).width(), 1);
    }

    #[test]
    fn pushing_a_wider_value_widens_what_is_stored() {
        let mut v = UInts::new();
        v.push(7);
        v.push(300);
        v.push(1 << 40);
        assert_eq!(v.width(), 8);
        assert_eq!(v.to_u64s(), vec![7, 300, 1 << 40]);
    }

    proptest! {
        #[test]
        fn every_operation_reads_what_a_plain_vector_would(
            a in proptest::collection::vec(prop_oneof![0u64..300, 0u64..70_000, any::<u64>()], 0..40),
            b in proptest::collection::vec(prop_oneof![0u64..300, any::<u64>()], 0..40),
            rows in proptest::collection::vec(0u32..90, 0..20),
            start in 0usize..50, end in 0usize..50,
        ) {
            let narrow = UInts::from_u64s(&a);
            prop_assert_eq!(narrow.to_u64s(), a.clone());
            prop_assert_eq!(UInts::collect(a.iter().copied()), narrow.clone());
            let gathered: Vec<u64> = rows.iter().map(|&r| a.get(r as usize).copied().unwrap_or(0)).collect();
            prop_assert_eq!(narrow.gather(&rows).to_u64s(), gathered);
            let (s, e) = (start.min(end).min(a.len()), end.min(a.len()));
            prop_assert_eq!(narrow.slice(start, end).to_u64s(), a[s.min(e)..e].to_vec());
            let mut joined = narrow.clone();
            joined.extend(&UInts::from_u64s(&b));
            prop_assert_eq!(joined.to_u64s(), [a.clone(), b.clone()].concat());
            prop_assert_eq!(narrow.max(), a.iter().copied().max().unwrap_or(0));
        }
    }
}
