//! The rows of a fields column: maps already decoded, or keys to decode them
//! from when a query reads them. A table of millions of events then holds
//! eight bytes a row for its payloads, and only the rows that survive the
//! filters before `fields.X` are ever decoded.
use super::value::FieldMap;
use std::fmt;
use std::sync::Arc;

/// Decodes the fields of the row stored under a key (what the key means is the source's).
pub trait FieldSource: Send + Sync {
    fn fields(&self, key: u64) -> FieldMap;
}

/// Keys carry their source in the top byte, so that tables of several traces
/// can share one column.
const SOURCE_SHIFT: u32 = 56;
const KEY_MASK: u64 = (1 << SOURCE_SHIFT) - 1;
/// The most sources one column can name.
pub const MAX_SOURCES: usize = 1 << (64 - SOURCE_SHIFT);
/// The largest key a source may use.
pub const MAX_KEY: u64 = KEY_MASK;

/// Rows decoded on demand.
#[derive(Clone)]
pub struct LazyFields {
    sources: Vec<Arc<dyn FieldSource>>,
    keys: Vec<u64>,
}

impl fmt::Debug for LazyFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LazyFields({} rows from {} sources)", self.keys.len(), self.sources.len())
    }
}

impl LazyFields {
    /// Rows whose fields `source` decodes from `keys` (each at most MAX_KEY).
    pub fn new(source: Arc<dyn FieldSource>, keys: Vec<u64>) -> LazyFields {
        debug_assert!(keys.iter().all(|&k| k <= MAX_KEY));
        LazyFields { sources: vec![source], keys }
    }

    fn get(&self, row: usize) -> Option<FieldMap> {
        let key = *self.keys.get(row)?;
        let source = self.sources.get((key >> SOURCE_SHIFT) as usize)?;
        Some(source.fields(key & KEY_MASK))
    }

    /// Appends `other`'s rows; false when the two would name more sources than a key can.
    fn append(&mut self, other: &LazyFields) -> bool {
        let base = self.sources.len();
        if base + other.sources.len() > MAX_SOURCES {
            return false;
        }
        self.sources.extend(other.sources.iter().cloned());
        let shift = (base as u64) << SOURCE_SHIFT;
        self.keys.extend(other.keys.iter().map(|&k| k + shift));
        true
    }
}

/// A fields column's rows.
#[derive(Clone, Debug)]
pub enum FieldRows {
    Decoded(Vec<FieldMap>),
    Lazy(LazyFields),
}

impl FieldRows {
    pub fn len(&self) -> usize {
        match self {
            FieldRows::Decoded(v) => v.len(),
            FieldRows::Lazy(l) => l.keys.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fields of one row, decoding them if need be.
    pub fn get(&self, row: usize) -> Option<FieldMap> {
        match self {
            FieldRows::Decoded(v) => v.get(row).cloned(),
            FieldRows::Lazy(l) => l.get(row),
        }
    }

    /// The rows at `rows`, in that order; a lazy column stays lazy (rows out of range: empty maps).
    pub fn gather(&self, rows: &[u32]) -> FieldRows {
        match self {
            FieldRows::Decoded(v) => {
                FieldRows::Decoded(rows.iter().map(|&r| v.get(r as usize).cloned().unwrap_or_else(empty_map)).collect())
            }
            FieldRows::Lazy(l) => match rows.iter().map(|&r| l.keys.get(r as usize).copied()).collect() {
                Some(keys) => FieldRows::Lazy(LazyFields { sources: l.sources.clone(), keys }),
                None => FieldRows::Decoded(rows.iter().map(|&r| l.get(r as usize).unwrap_or_else(empty_map)).collect()),
            },
        }
    }

    /// Rows `start..end`, which the caller has clamped to the column.
    pub fn slice(&self, start: usize, end: usize) -> FieldRows {
        match self {
            FieldRows::Decoded(v) => FieldRows::Decoded(v[start..end].to_vec()),
            FieldRows::Lazy(l) => {
                FieldRows::Lazy(LazyFields { sources: l.sources.clone(), keys: l.keys[start..end].to_vec() })
            }
        }
    }

    pub fn reserve(&mut self, additional: usize) {
        match self {
            FieldRows::Decoded(v) => v.reserve(additional),
            FieldRows::Lazy(l) => l.keys.reserve(additional),
        }
    }

    pub fn push(&mut self, map: FieldMap) {
        self.decoded().push(map);
    }

    /// Appends `other`'s rows; lazy rows stay lazy where both columns are.
    pub fn append(&mut self, other: &FieldRows) {
        if let (FieldRows::Lazy(a), FieldRows::Lazy(b)) = (&mut *self, other) {
            if a.append(b) {
                return;
            }
        }
        let added: Vec<FieldMap> = (0..other.len()).map(|r| other.get(r).unwrap_or_else(empty_map)).collect();
        self.decoded().extend(added);
    }

    /// The rows as decoded maps, decoding every lazy row first.
    fn decoded(&mut self) -> &mut Vec<FieldMap> {
        if let FieldRows::Lazy(l) = self {
            let maps = (0..l.keys.len()).map(|r| l.get(r).unwrap_or_else(empty_map)).collect();
            *self = FieldRows::Decoded(maps);
        }
        match self {
            FieldRows::Decoded(v) => v,
            FieldRows::Lazy(_) => unreachable!("decoded above"),
        }
    }
}

fn empty_map() -> FieldMap {
    Arc::from(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Fields {"key": key}, counting how often it is asked.
    struct Counting(AtomicUsize);

    impl FieldSource for Counting {
        fn fields(&self, key: u64) -> FieldMap {
            self.0.fetch_add(1, Ordering::Relaxed);
            Arc::from(vec![(Arc::from("key"), Value::U64(key))])
        }
    }

    fn key_of(rows: &FieldRows, row: usize) -> Option<Value> {
        rows.get(row).map(|m| Value::Fields(m).field("key"))
    }

    #[test]
    fn only_the_rows_read_are_decoded_and_selections_stay_lazy() {
        let source = Arc::new(Counting(AtomicUsize::new(0)));
        let rows = FieldRows::Lazy(LazyFields::new(source.clone(), (0..1000).collect()));
        let picked = rows.gather(&[999, 5]).slice(0, 2);
        assert!(matches!(picked, FieldRows::Lazy(_)));
        assert_eq!(source.0.load(Ordering::Relaxed), 0);
        assert_eq!(key_of(&picked, 0), Some(Value::U64(999)));
        assert_eq!(key_of(&picked, 1), Some(Value::U64(5)));
        assert_eq!(key_of(&picked, 2), None);
        assert_eq!(source.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn appended_columns_keep_each_rows_source() {
        let (a, b) = (Arc::new(Counting(AtomicUsize::new(0))), Arc::new(Counting(AtomicUsize::new(0))));
        let mut rows = FieldRows::Lazy(LazyFields::new(a.clone(), vec![1, 2]));
        rows.append(&FieldRows::Lazy(LazyFields::new(b.clone(), vec![7])));
        assert_eq!(rows.len(), 3);
        assert_eq!(key_of(&rows, 2), Some(Value::U64(7)));
        assert_eq!((a.0.load(Ordering::Relaxed), b.0.load(Ordering::Relaxed)), (0, 1));
        rows.append(&FieldRows::Decoded(vec![empty_map()]));
        assert!(matches!(rows, FieldRows::Decoded(_)));
        assert_eq!((rows.len(), key_of(&rows, 0)), (4, Some(Value::U64(1))));
    }
}
