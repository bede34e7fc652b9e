//! A column's stored values: there from the start, or made the first time
//! anything reads them. A table can then offer every column and build only
//! those a query reads.
use super::column_type::ColumnType;
use super::dense::DenseColumn;
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// Makes a deferred column's values. It runs on whichever thread reads the
/// column first, often a rayon worker inside a query, so it must not use
/// rayon itself: a worker waiting there could take another part of the same
/// query, read the same column and wait for itself.
pub type MakeValues = Box<dyn FnOnce() -> DenseColumn + Send>;

pub(crate) struct StoredValues {
    dense: OnceLock<DenseColumn>,
    /// Taken when the values are first read.
    make: Mutex<Option<MakeValues>>,
    column_type: ColumnType,
    len: usize,
}

impl StoredValues {
    pub(crate) fn ready(dense: DenseColumn) -> StoredValues {
        let (column_type, len) = (dense.column_type(), dense.len());
        StoredValues { dense: OnceLock::from(dense), make: Mutex::new(None), column_type, len }
    }

    /// Values of `column_type` and `len` rows, which `make` makes when first read.
    pub(crate) fn deferred(column_type: ColumnType, len: usize, make: MakeValues) -> StoredValues {
        StoredValues { dense: OnceLock::new(), make: Mutex::new(Some(make)), column_type, len }
    }

    /// The values, made now if they were deferred. Made values of another
    /// type or length than promised are a bug in the maker: they are replaced
    /// by nulls of the promised shape, so a query never reads past them.
    pub(crate) fn get(&self) -> &DenseColumn {
        self.dense.get_or_init(|| {
            let make = self.make.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            let made = make.map(|make| make());
            match made {
                Some(dense) if dense.len() == self.len && dense.column_type() == self.column_type => dense,
                _ => DenseColumn::nulls(self.column_type, self.len),
            }
        })
    }

    /// The values to change in place, made first if deferred.
    pub(crate) fn get_mut(&mut self) -> &mut DenseColumn {
        self.get();
        self.dense.get_mut().expect("made just above")
    }

    // Made values can change in place, so they answer for themselves.
    pub(crate) fn len(&self) -> usize {
        self.dense.get().map_or(self.len, DenseColumn::len)
    }

    pub(crate) fn column_type(&self) -> ColumnType {
        self.dense.get().map_or(self.column_type, DenseColumn::column_type)
    }

    /// Whether the values exist yet.
    pub(crate) fn is_made(&self) -> bool {
        self.dense.get().is_some()
    }

    /// The values, owned (made first if deferred).
    pub(crate) fn into_dense(self) -> DenseColumn {
        self.get();
        self.dense.into_inner().expect("made just above")
    }
}

impl Clone for StoredValues {
    fn clone(&self) -> StoredValues {
        StoredValues::ready(self.get().clone())
    }
}

impl fmt::Debug for StoredValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dense.get() {
            Some(dense) => dense.fmt(f),
            None => write!(f, "Deferred({:?}, {} rows)", self.column_type, self.len),
        }
    }
}
