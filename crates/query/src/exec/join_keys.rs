//! Join keys: each key column read as 64-bit words that compare across the
//! two sides (equal values, equal words, whatever their types), and the rows
//! of a side grouped by the words of all its keys.
use super::{check, CHUNK};
use crate::error::QueryError;
use columnar::{ColumnData, DenseColumn};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

/// No row, no group.
pub(super) const NONE: u32 = u32::MAX;

/// How a key column's values become words.
enum Read {
    /// Integers as their bits; with `unsigned_other`, a negative value has no
    /// equal on the other side (nor, for unsigned, one of 2^63 or more).
    Signed {
        unsigned_other: bool,
    },
    Unsigned {
        signed_other: bool,
    },
    /// Either side is a float: both compare as f64.
    Float,
    Bool,
    /// Dictionary codes; `recode` maps this side's codes to the other's (NONE: absent there).
    Str {
        recode: Option<Vec<u32>>,
    },
    /// Values no value of the other side equals.
    Never,
}

/// One key column of one side, read as words.
pub(super) struct KeyWords<'c> {
    column: &'c DenseColumn,
    read: Read,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Signed,
    Unsigned,
    Float,
    Bool,
    Str,
    Other,
}

fn kind(column: &DenseColumn) -> Kind {
    match column.data {
        ColumnData::I64(_) | ColumnData::Timestamp(_) | ColumnData::Duration(_) => Kind::Signed,
        ColumnData::U64(_) | ColumnData::Address(_) | ColumnData::Status(_) => Kind::Unsigned,
        ColumnData::F64(_) => Kind::Float,
        ColumnData::Bool(_) => Kind::Bool,
        ColumnData::Str(_) => Kind::Str,
        ColumnData::Fields(_) => Kind::Other,
    }
}

/// The readers of one key, the left's column and the right's.
pub(super) fn key_pair<'l, 'r>(left: &'l DenseColumn, right: &'r DenseColumn) -> (KeyWords<'l>, KeyWords<'r>) {
    let numeric = |k: Kind| matches!(k, Kind::Signed | Kind::Unsigned | Kind::Float);
    let (l, r) = (kind(left), kind(right));
    let (left_read, right_read) = match (l, r) {
        (Kind::Str, Kind::Str) => {
            let (ColumnData::Str(ls), ColumnData::Str(rs)) = (&left.data, &right.data) else { unreachable!() };
            let recode = ls.dict.values().iter().map(|text| rs.dict.code_of(text).unwrap_or(NONE)).collect();
            (Read::Str { recode: Some(recode) }, Read::Str { recode: None })
        }
        (Kind::Bool, Kind::Bool) => (Read::Bool, Read::Bool),
        (a, b) if numeric(a) && numeric(b) && (a == Kind::Float || b == Kind::Float) => (Read::Float, Read::Float),
        (Kind::Signed, Kind::Signed) => {
            (Read::Signed { unsigned_other: false }, Read::Signed { unsigned_other: false })
        }
        (Kind::Unsigned, Kind::Unsigned) => {
            (Read::Unsigned { signed_other: false }, Read::Unsigned { signed_other: false })
        }
        (Kind::Signed, Kind::Unsigned) => {
            (Read::Signed { unsigned_other: true }, Read::Unsigned { signed_other: true })
        }
        (Kind::Unsigned, Kind::Signed) => {
            (Read::Unsigned { signed_other: true }, Read::Signed { unsigned_other: true })
        }
        _ => (Read::Never, Read::Never),
    };
    (KeyWords { column: left, read: left_read }, KeyWords { column: right, read: right_read })
}

impl KeyWords<'_> {
    /// The word of `row`; None for a null, which matches nothing.
    pub(super) fn word(&self, row: usize) -> Option<u64> {
        if !self.column.is_valid(row) {
            return None;
        }
        match (&self.column.data, &self.read) {
            (
                ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v),
                Read::Signed { unsigned_other },
            ) => v.get(row).filter(|&&x| !(*unsigned_other && x < 0)).map(|&x| x as u64),
            (ColumnData::U64(v), Read::Unsigned { signed_other }) => {
                v.get(row).filter(|&x| !(*signed_other && x > i64::MAX as u64))
            }
            (ColumnData::Address(v), Read::Unsigned { signed_other }) => {
                v.get(row).copied().filter(|&x| !(*signed_other && x > i64::MAX as u64))
            }
            (ColumnData::Status(v), Read::Unsigned { .. }) => v.get(row).map(|&x| u64::from(x)),
            (_, Read::Float) => {
                let x = self.column.value(row).as_f64()?;
                // -0 equals 0, and NaN equals nothing.
                (!x.is_nan()).then(|| if x == 0.0 { 0.0f64 } else { x }.to_bits())
            }
            (ColumnData::Bool(v), Read::Bool) => v.get(row).map(|&b| u64::from(b)),
            (ColumnData::Str(s), Read::Str { recode }) => {
                let code = s.codes.get(row)?;
                match recode {
                    Some(map) => map.get(code as usize).copied().filter(|&c| c != NONE).map(u64::from),
                    None => Some(code),
                }
            }
            _ => None,
        }
    }
}

type Map<K> = HashMap<K, u32, ahash::RandomState>;

/// The distinct keys of one side, numbered: the first key's words, then
/// each further key's word with the group so far.
pub(super) struct KeyGroups {
    first: Map<u64>,
    /// With one key whose words are small (ids, dictionary codes): the group
    /// of each word by index, a lookup without hashing or a cache miss in a map.
    direct: Option<Vec<u32>>,
    more: Vec<Map<(u32, u64)>>,
    /// With no keys every row is in group 0.
    count: u32,
}

impl KeyGroups {
    /// Groups rows `0..rows` of the keys (all of them in one group when there are none);
    /// `skip` leaves rows out. Returns the groups and each row's group (NONE: left out or a null key).
    pub(super) fn build(
        keys: &[KeyWords<'_>],
        rows: usize,
        skip: impl Fn(usize) -> bool,
        cancel: &AtomicBool,
    ) -> Result<(KeyGroups, Vec<u32>), QueryError> {
        let mut groups = KeyGroups {
            first: Map::default(),
            direct: None,
            more: (1..keys.len()).map(|_| Map::default()).collect(),
            count: 0,
        };
        let mut group_of = Vec::with_capacity(rows);
        if keys.is_empty() {
            groups.count = 1;
        }
        for start in (0..rows).step_by(CHUNK) {
            check(cancel)?;
            for row in start..(start + CHUNK).min(rows) {
                let group = if skip(row) { None } else { groups.insert(keys, row) };
                group_of.push(group.unwrap_or(NONE));
            }
        }
        groups.index_directly();
        Ok((groups, group_of))
    }

    /// Makes `direct` when there is one key and its largest word is at most a
    /// few times the number of groups.
    fn index_directly(&mut self) {
        let largest = self.first.keys().max().copied().unwrap_or(0);
        let small = largest <= 4 * self.first.len() as u64 + 1024;
        if !self.more.is_empty() || self.first.is_empty() || !small {
            return;
        }
        let mut direct = vec![NONE; largest as usize + 1];
        for (&word, &group) in &self.first {
            direct[word as usize] = group;
        }
        self.direct = Some(direct);
    }

    fn insert(&mut self, keys: &[KeyWords<'_>], row: usize) -> Option<u32> {
        let Some((first, rest)) = keys.split_first() else { return Some(0) };
        let next = &mut self.count;
        let new = |next: &mut u32| {
            *next += 1;
            *next - 1
        };
        let mut group = *self.first.entry(first.word(row)?).or_insert_with(|| new(next));
        for (key, map) in rest.iter().zip(&mut self.more) {
            group = *map.entry((group, key.word(row)?)).or_insert_with(|| new(next));
        }
        Some(group)
    }

    /// The group of `row` of the other side's keys, if this side has its key.
    pub(super) fn find(&self, keys: &[KeyWords<'_>], row: usize) -> Option<u32> {
        let Some((first, rest)) = keys.split_first() else { return Some(0) };
        if let Some(direct) = &self.direct {
            let word = first.word(row)?;
            return usize::try_from(word).ok().and_then(|w| direct.get(w)).copied().filter(|&g| g != NONE);
        }
        let mut group = *self.first.get(&first.word(row)?)?;
        for (key, map) in rest.iter().zip(&self.more) {
            group = *map.get(&(group, key.word(row)?))?;
        }
        Some(group)
    }

    /// With one key whose groups each hold one row: makes `find` give that
    /// row instead of the group (one lookup fewer per probe, and probes are
    /// cache misses). True when it did.
    pub(super) fn find_rows_directly(&mut self, members: &Members) -> bool {
        let unique = (0..self.count()).all(|g| members.of_group(g).len() == 1);
        if !self.more.is_empty() || !unique {
            return false;
        }
        let row_of = |group: u32| members.rows[members.offsets[group as usize] as usize];
        self.first.values_mut().for_each(|g| *g = row_of(*g));
        if let Some(direct) = &mut self.direct {
            direct.iter_mut().filter(|g| **g != NONE).for_each(|g| *g = row_of(*g));
        }
        true
    }

    /// Group numbers run below this (intermediate groups of several keys included).
    pub(super) fn count(&self) -> usize {
        self.count as usize
    }
}

/// The rows of each group, in row order: group g's rows are
/// `rows[offsets[g]..offsets[g + 1]]` (a stable counting sort).
pub(super) struct Members {
    pub(super) offsets: Vec<u32>,
    pub(super) rows: Vec<u32>,
}

impl Members {
    pub(super) fn of(group_of: &[u32], groups: usize) -> Members {
        let mut offsets = vec![0u32; groups + 1];
        for &g in group_of.iter().filter(|&&g| g != NONE) {
            offsets[g as usize + 1] += 1;
        }
        for g in 0..groups {
            offsets[g + 1] += offsets[g];
        }
        let mut next = offsets.clone();
        let mut rows = vec![0u32; offsets[groups] as usize];
        for (row, &g) in group_of.iter().enumerate().filter(|(_, &g)| g != NONE) {
            rows[next[g as usize] as usize] = row as u32;
            next[g as usize] += 1;
        }
        Members { offsets, rows }
    }

    pub(super) fn of_group(&self, group: usize) -> &[u32] {
        &self.rows[self.offsets[group] as usize..self.offsets[group + 1] as usize]
    }
}
