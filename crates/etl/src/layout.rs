//! Header layouts as data: each header is one `layout!` list of
//! `NAME: type @ offset`, and both the reader (bounds-checked `read`) and the
//! writer (`write`) go through those constants, so an offset is written once.
use super::guid::Guid;
use std::marker::PhantomData;

/// A value stored little-endian at a fixed size.
pub trait Le: Copy {
    const SIZE: usize;
    fn from_le(bytes: &[u8]) -> Self;
    fn put_le(self, out: &mut [u8]);
}

macro_rules! le_int {
    ($($t:ty),*) => {$(
        impl Le for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn from_le(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
            #[inline]
            fn put_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
le_int!(u8, u16, u32, u64, i64);

impl Le for Guid {
    const SIZE: usize = 16;
    #[inline]
    fn from_le(bytes: &[u8]) -> Self {
        let mut raw = [0u8; 16];
        raw.copy_from_slice(bytes);
        Guid(raw)
    }
    #[inline]
    fn put_le(self, out: &mut [u8]) {
        out.copy_from_slice(&self.0);
    }
}

/// One field of a header: its type and its offset from the header start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<T> {
    pub offset: usize,
    ty: PhantomData<T>,
}

impl<T: Le> Field<T> {
    pub const fn at(offset: usize) -> Field<T> {
        Field { offset, ty: PhantomData }
    }

    /// The offset just past the field.
    pub const fn end(self) -> usize {
        self.offset + T::SIZE
    }

    /// The field's value in `data`, or None when `data` ends before it.
    #[inline]
    pub fn read(self, data: &[u8]) -> Option<T> {
        data.get(self.offset..self.offset.checked_add(T::SIZE)?).map(T::from_le)
    }

    /// Stores `value` into `out`, which the writer sizes to the header's
    /// length; every layout's fields are checked to fit it at compile time.
    #[inline]
    pub fn write(self, out: &mut [u8], value: T) {
        value.put_le(&mut out[self.offset..self.offset + T::SIZE]);
    }
}

/// Declares a header layout: a module with `LEN` and one `Field` constant per
/// field, checked at compile time to lie inside `LEN`.
macro_rules! layout {
    (
        $(#[$meta:meta])*
        $vis:vis mod $name:ident, len $len:expr;
        $( $(#[$field_meta:meta])* $field:ident: $ty:ident @ $offset:expr ),* $(,)?
    ) => {
        $(#[$meta])*
        #[allow(dead_code)]
        $vis mod $name {
            #[allow(unused_imports)]
            use $crate::guid::Guid;
            use $crate::layout::Field;

            pub const LEN: usize = $len;
            $( $(#[$field_meta])* pub const $field: Field<$ty> = Field::at($offset); )*

            /// Every field as (name, offset, size), for checks.
            pub const FIELDS: &[(&str, usize, usize)] =
                &[$( (stringify!($field), $offset, <$ty as $crate::layout::Le>::SIZE) ),*];

            const _: () = { $( assert!($field.end() <= LEN); )* };
        }
    };
}
pub(crate) use layout;

/// Whether the fields of a layout overlap, other than the pairs in `unions`
/// (two views of the same bytes): a check for tests.
pub fn overlapping<'a>(fields: &[(&'a str, usize, usize)], unions: &[(&str, &str)]) -> Option<(&'a str, &'a str)> {
    for (i, a) in fields.iter().enumerate() {
        for b in &fields[i + 1..] {
            let meet = a.1 < b.1 + b.2 && b.1 < a.1 + a.2;
            let allowed = unions.iter().any(|&(x, y)| (x, y) == (a.0, b.0) || (y, x) == (a.0, b.0));
            if meet && !allowed {
                return Some((a.0, b.0));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    layout! {
        mod sample, len 8;
        A: u16 @ 0,
        B: u32 @ 2,
        C: u8 @ 6,
    }

    #[test]
    fn fields_read_and_write_where_declared() {
        let mut out = [0u8; sample::LEN];
        sample::A.write(&mut out, 0x0102);
        sample::B.write(&mut out, 0x0304_0506);
        sample::C.write(&mut out, 7);
        assert_eq!(out, [2, 1, 6, 5, 4, 3, 7, 0]);
        assert_eq!(sample::B.read(&out), Some(0x0304_0506));
        assert_eq!(sample::B.read(&out[..5]), None);
        assert_eq!(overlapping(sample::FIELDS, &[]), None);
        assert_eq!(overlapping(&[("X", 0, 4), ("Y", 3, 1)], &[]), Some(("X", "Y")));
        assert_eq!(overlapping(&[("X", 0, 4), ("Y", 3, 1)], &[("Y", "X")]), None);
    }
}
