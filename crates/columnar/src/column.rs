//! A table's column: contiguous values that tables share (a clone is cheap),
//! seen whole or through a selection of their rows. A query result that keeps
//! some rows of a table is a selection over the table's own values: one list
//! of row numbers instead of a copy of every kept value in every column.
use super::bitmap::Bitmap;
use super::column_type::ColumnType;
use super::dense::{ColumnData, DenseColumn};
use super::field_rows::{FieldRows, LazyFields};
use super::stored::{MakeValues, StoredValues};
use super::uints::UInts;
use super::value::{FieldMap, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// A column: shared values, whole or through a selection of their rows.
/// Reading a row (`value`, `is_valid`) works either way; typed loops take
/// the rows as contiguous values with [`Column::dense`], which copies only
/// when the column is a selection.
#[derive(Clone, Debug)]
pub struct Column {
    values: Arc<StoredValues>,
    /// The rows of `values` this column holds, in order; None = all of them.
    /// An entry past the end of `values` reads as null.
    selection: Option<Arc<[u32]>>,
}

impl From<DenseColumn> for Column {
    fn from(values: DenseColumn) -> Column {
        Column { values: Arc::new(StoredValues::ready(values)), selection: None }
    }
}

/// `outer` row numbers looked up in `inner`; a row past `inner`'s end maps to
/// u32::MAX, which is past the end of any column a u32 row number can address.
fn compose(inner: &[u32], outer: &[u32]) -> Vec<u32> {
    outer.iter().map(|&r| inner.get(r as usize).copied().unwrap_or(u32::MAX)).collect()
}

impl Column {
    pub fn new(data: ColumnData) -> Column {
        Column::from(DenseColumn::new(data))
    }
    pub fn i64(values: Vec<i64>) -> Column {
        Column::new(ColumnData::I64(values))
    }
    /// Stored as narrow as the largest value allows.
    pub fn u64(values: Vec<u64>) -> Column {
        Column::new(ColumnData::U64(UInts::from(values)))
    }
    pub fn uints(values: UInts) -> Column {
        Column::new(ColumnData::U64(values))
    }
    pub fn f64(values: Vec<f64>) -> Column {
        Column::new(ColumnData::F64(values))
    }
    pub fn bool(values: Vec<bool>) -> Column {
        Column::new(ColumnData::Bool(values))
    }
    pub fn timestamps(ns: Vec<i64>) -> Column {
        Column::new(ColumnData::Timestamp(ns))
    }
    pub fn durations(ns: Vec<i64>) -> Column {
        Column::new(ColumnData::Duration(ns))
    }
    pub fn addresses(values: Vec<u64>) -> Column {
        Column::new(ColumnData::Address(values))
    }
    pub fn statuses(values: Vec<u32>) -> Column {
        Column::new(ColumnData::Status(values))
    }
    pub fn fields(maps: Vec<FieldMap>) -> Column {
        Column::new(ColumnData::Fields(FieldRows::Decoded(maps)))
    }

    /// A column of `len` rows of `column_type` whose values `make` makes
    /// the first time anything reads them.
    pub fn deferred(column_type: ColumnType, len: usize, make: MakeValues) -> Column {
        Column { values: Arc::new(StoredValues::deferred(column_type, len, make)), selection: None }
    }

    /// Whether the stored values exist yet (false for a deferred column nothing has read).
    pub fn is_made(&self) -> bool {
        self.values.is_made()
    }

    /// A fields column whose rows are decoded when a query reads them.
    pub fn lazy_fields(rows: LazyFields) -> Column {
        Column::new(ColumnData::Fields(FieldRows::Lazy(rows)))
    }
    /// Marks rows as missing; a mask of another length is cut or padded with "present".
    pub fn with_validity(self, validity: impl Into<Bitmap>) -> Column {
        Column::from(self.into_dense().with_validity(validity))
    }

    pub fn len(&self) -> usize {
        match &self.selection {
            Some(rows) => rows.len(),
            None => self.values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn column_type(&self) -> ColumnType {
        self.values.column_type()
    }

    /// Whether a row holds a value; a row past the end counts as present
    /// (and reads as null), as in [`DenseColumn::is_valid`].
    pub fn is_valid(&self, row: usize) -> bool {
        match &self.selection {
            None => self.values.get().is_valid(row),
            Some(rows) => rows
                .get(row)
                .is_none_or(|&r| (r as usize) < self.values.len() && self.values.get().is_valid(r as usize)),
        }
    }

    /// The value of one row; Null for a missing value or a row out of range.
    pub fn value(&self, row: usize) -> Value {
        match &self.selection {
            None => self.values.get().value(row),
            Some(rows) => rows.get(row).map_or(Value::Null, |&r| self.values.get().value(r as usize)),
        }
    }

    /// The rows as contiguous values: borrowed when the column is whole,
    /// copied out when it is a selection.
    pub fn dense(&self) -> Cow<'_, DenseColumn> {
        match &self.selection {
            None => Cow::Borrowed(self.values.get()),
            Some(rows) => Cow::Owned(self.values.get().gather(rows)),
        }
    }

    /// The rows as contiguous values of their own (copied only when shared or selected).
    pub fn into_dense(self) -> DenseColumn {
        match self.selection {
            None => Arc::try_unwrap(self.values).map_or_else(|shared| shared.get().clone(), StoredValues::into_dense),
            Some(rows) => self.values.get().gather(&rows),
        }
    }

    /// Copies of the rows at `rows`, in that order (rows out of range become nulls).
    pub fn gather(&self, rows: &[u32]) -> DenseColumn {
        match &self.selection {
            None => self.values.get().gather(rows),
            Some(inner) => self.values.get().gather(&compose(inner, rows)),
        }
    }

    /// The rows at `rows`, in that order, sharing this column's values
    /// instead of copying them (rows out of range read as nulls).
    pub fn select(&self, rows: &Arc<[u32]>) -> Column {
        let selection = match &self.selection {
            None => rows.clone(),
            Some(inner) => Arc::from(compose(inner, rows)),
        };
        Column { values: self.values.clone(), selection: Some(selection) }
    }

    /// Copies of rows `start..end` (clamped to the column).
    pub fn slice(&self, start: usize, end: usize) -> DenseColumn {
        match &self.selection {
            None => self.values.get().slice(start, end),
            Some(rows) => {
                let end = end.min(rows.len());
                self.values.get().gather(&rows[start.min(end)..end])
            }
        }
    }

    /// Whether both columns read the same stored values (whatever rows each selects).
    pub fn shares_values_with(&self, other: &Column) -> bool {
        Arc::ptr_eq(&self.values, &other.values)
    }

    /// Whether another column (or a clone of this one) holds the same stored
    /// values, so that they stay in memory whatever becomes of this column.
    pub fn shares_values(&self) -> bool {
        Arc::strong_count(&self.values) > 1
    }

    /// How many rows of stored values this column keeps in memory: its own
    /// length, or more when it is a selection of a longer column.
    pub fn stored_len(&self) -> usize {
        self.values.len()
    }

    /// Room for `additional` more rows without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        self.values_mut().reserve(additional);
    }

    /// The values, made this column's own and whole, for changing in place.
    pub(crate) fn values_mut(&mut self) -> &mut DenseColumn {
        if let Some(rows) = self.selection.take() {
            self.values = Arc::new(StoredValues::ready(self.values.get().gather(&rows)));
        }
        Arc::make_mut(&mut self.values).get_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strings_share_a_dictionary() {
        let c = Column::strs(["a", "b", "a"]);
        let ColumnData::Str(s) = &c.dense().data else { panic!("not a string column") };
        assert_eq!(s.codes.to_u64s(), vec![0, 1, 0]);
        assert_eq!(s.dict.len(), 2);
        assert_eq!(c.gather(&[2, 1, 9]).value(0), Value::Str("a".into()));
        assert_eq!(c.gather(&[2, 1, 9]).value(2), Value::Null);
    }

    #[test]
    fn append_recodes_and_keeps_nulls() {
        let mut a = Column::strs(["x"]);
        let b = Column::strs(["y", "x"]).with_validity(vec![true, false]);
        a.append(&b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.value(1), Value::Str("y".into()));
        assert_eq!(a.value(2), Value::Null);
        let mut n = Column::i64(vec![1]);
        n.append(&Column::u64(vec![2]));
        assert_eq!(n.value(1), Value::I64(2));
    }

    #[test]
    fn a_selection_shares_and_a_change_does_not_leak_into_the_source() {
        let source = Column::i64(vec![10, 20, 30]);
        let rows: Arc<[u32]> = Arc::from(vec![2, 0]);
        let mut picked = source.select(&rows);
        assert!(picked.shares_values_with(&source));
        picked.append(&Column::i64(vec![40]));
        assert!(!picked.shares_values_with(&source));
        assert_eq!((0..3).map(|r| picked.value(r)).collect::<Vec<_>>(), [30, 10, 40].map(Value::I64));
        assert_eq!((0..3).map(|r| source.value(r)).collect::<Vec<_>>(), [10, 20, 30].map(Value::I64));
    }

    #[test]
    fn a_deferred_column_is_made_once_when_first_read() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let make: MakeValues = Box::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            DenseColumn::new(ColumnData::I64(vec![5, 6, 7]))
        });
        let column = Column::deferred(ColumnType::I64, 3, make);
        let picked = column.select(&Arc::from(vec![2u32, 0]));
        assert_eq!((column.len(), column.column_type(), picked.len()), (3, ColumnType::I64, 2));
        assert!(!column.is_made(), "length, type and a selection make nothing");
        assert_eq!(picked.value(0), Value::I64(7));
        assert!(column.is_made());
        assert_eq!(column.value(1), Value::I64(6));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        let mut grown = column.clone();
        grown.append(&Column::i64(vec![8]));
        assert_eq!((grown.len(), column.len()), (4, 3));
    }

    #[test]
    fn a_maker_that_breaks_its_promise_gives_nulls_of_the_promised_shape() {
        let column = Column::deferred(ColumnType::Str, 2, Box::new(|| DenseColumn::new(ColumnData::I64(vec![1]))));
        assert_eq!((column.len(), column.column_type()), (2, ColumnType::Str));
        assert_eq!((column.value(0), column.value(1)), (Value::Null, Value::Null));
    }

    /// Every row (and two past the end) as (value, present).
    fn cells(len: usize, value: impl Fn(usize) -> Value, valid: impl Fn(usize) -> bool) -> Vec<(Value, bool)> {
        (0..len + 2).map(|r| (value(r), valid(r))).collect()
    }

    fn of_column(c: &Column) -> Vec<(Value, bool)> {
        cells(c.len(), |r| c.value(r), |r| c.is_valid(r))
    }

    fn of_dense(c: &DenseColumn) -> Vec<(Value, bool)> {
        cells(c.len(), |r| c.value(r), |r| c.is_valid(r))
    }

    /// Small columns of numbers or strings, some with nulls.
    fn any_column() -> impl Strategy<Value = Column> {
        let numbers = (prop::collection::vec(any::<i64>(), 0..12), prop::collection::vec(any::<bool>(), 0..12))
            .prop_map(|(v, valid)| Column::i64(v).with_validity(valid));
        let texts = (prop::collection::vec("[abc]{0,2}", 0..12), prop::collection::vec(any::<bool>(), 0..12))
            .prop_map(|(v, valid)| Column::strs(v).with_validity(valid));
        prop_oneof![numbers, texts]
    }

    proptest! {
        /// A selection reads, narrows, slices and grows exactly like a copy of
        /// the same rows, including rows out of range (nulls).
        #[test]
        fn a_selection_behaves_as_a_copy_of_its_rows(
            column in any_column(),
            rows in prop::collection::vec(0u32..14, 0..16),
            again in prop::collection::vec(0u32..18, 0..16),
            start in 0usize..18,
            end in 0usize..18,
        ) {
            let rows: Arc<[u32]> = Arc::from(rows);
            let view = column.select(&rows);
            let copy = column.gather(&rows);
            prop_assert_eq!(view.len(), copy.len());
            prop_assert_eq!(of_column(&view), of_dense(&copy));
            prop_assert_eq!(of_dense(&view.dense()), of_dense(&copy));
            prop_assert_eq!(of_dense(&view.gather(&again)), of_dense(&copy.gather(&again)));
            let again: Arc<[u32]> = Arc::from(again);
            prop_assert_eq!(of_column(&view.select(&again)), of_dense(&copy.gather(&again)));
            prop_assert_eq!(of_dense(&view.slice(start, end)), of_dense(&copy.slice(start, end)));
            let mut grown = view.clone();
            grown.append(&view);
            let mut grown_copy = copy.clone();
            prop_assert!(grown_copy.append_same_type(&copy));
            prop_assert_eq!(of_column(&grown), of_dense(&grown_copy));
            prop_assert_eq!(of_dense(&view.into_dense()), of_dense(&copy));
        }
    }
}
