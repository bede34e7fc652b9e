//! Builders that fill a column row by row: strings interned as they come,
//! values of any kind converted to the column's type or stored as null.
use super::bitmap::Bitmap;
use super::column::Column;
use super::column_type::{value_type, ColumnType};
use super::dense::{ColumnData, DenseColumn, StrData};
use super::dictionary::Dictionary;
use super::field_rows::FieldRows;
use super::uints::UInts;
use super::value::Value;
use std::sync::Arc;

/// Interns strings while rows are pushed; the fast way to build a string column.
#[derive(Debug, Default)]
pub struct StrColumnBuilder {
    dict: Dictionary,
    codes: UInts,
    validity: Option<Bitmap>,
    null_code: Option<u32>,
}

impl StrColumnBuilder {
    pub fn new() -> StrColumnBuilder {
        StrColumnBuilder::default()
    }

    pub fn with_capacity(rows: usize) -> StrColumnBuilder {
        StrColumnBuilder { codes: UInts::with_capacity(rows), ..StrColumnBuilder::default() }
    }

    pub fn push(&mut self, text: &str) {
        let code = self.dict.intern(text);
        self.codes.push(u64::from(code));
        if let Some(v) = &mut self.validity {
            v.push(true);
        }
    }

    /// The code of `text`, for pushing again with `push_code` without hashing it per row.
    pub fn intern(&mut self, text: &str) -> u32 {
        self.dict.intern(text)
    }

    /// Pushes a code `intern` gave.
    pub fn push_code(&mut self, code: u32) {
        self.codes.push(u64::from(code));
        if let Some(v) = &mut self.validity {
            v.push(true);
        }
    }

    pub fn push_null(&mut self) {
        // A null's code is that of "": found once, not hashed for every null.
        let code = *self.null_code.get_or_insert_with(|| self.dict.intern(""));
        let rows = self.codes.len();
        self.codes.push(u64::from(code));
        self.validity.get_or_insert_with(|| Bitmap::filled(rows, true)).push(false);
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn finish(self) -> Column {
        Column::from(DenseColumn {
            data: ColumnData::Str(StrData { codes: self.codes, dict: Arc::new(self.dict) }),
            validity: self.validity,
        })
    }
}

/// Builds a column of any type from values, converting where the meaning is
/// kept (any integer kind to another that holds it) and storing null otherwise.
#[derive(Debug)]
pub struct ColumnBuilder {
    data: ColumnData,
    dict: Option<Dictionary>,
    validity: Option<Bitmap>,
    rows: usize,
}

impl ColumnBuilder {
    pub fn new(column_type: ColumnType) -> ColumnBuilder {
        let data = match column_type {
            ColumnType::I64 => ColumnData::I64(Vec::new()),
            ColumnType::U64 => ColumnData::U64(UInts::new()),
            ColumnType::F64 => ColumnData::F64(Vec::new()),
            ColumnType::Bool => ColumnData::Bool(Vec::new()),
            ColumnType::Str => ColumnData::Str(StrData { codes: UInts::new(), dict: Arc::new(Dictionary::new()) }),
            ColumnType::Timestamp => ColumnData::Timestamp(Vec::new()),
            ColumnType::Duration => ColumnData::Duration(Vec::new()),
            ColumnType::Address => ColumnData::Address(Vec::new()),
            ColumnType::Status => ColumnData::Status(Vec::new()),
            ColumnType::Fields => ColumnData::Fields(FieldRows::Decoded(Vec::new())),
        };
        let dict = (column_type == ColumnType::Str).then(Dictionary::new);
        ColumnBuilder { data, dict, validity: None, rows: 0 }
    }

    /// Continues filling an existing column.
    pub fn from_column(column: Column) -> ColumnBuilder {
        ColumnBuilder::from_dense(column.into_dense())
    }

    /// Continues filling existing contiguous values.
    pub fn from_dense(column: DenseColumn) -> ColumnBuilder {
        let dict = match &column.data {
            ColumnData::Str(s) => Some((*s.dict).clone()),
            _ => None,
        };
        let rows = column.len();
        ColumnBuilder { data: column.data, dict, validity: column.validity, rows }
    }

    /// A column whose type is that of the first non-null value; text when the
    /// values are of several kinds (as event fields may be).
    pub fn infer(values: &[Value]) -> Column {
        let kinds: Vec<ColumnType> = values.iter().filter_map(value_type).collect();
        let column_type = match kinds.first() {
            None => ColumnType::Str,
            Some(&first) if kinds.iter().all(|&k| k == first) => first,
            Some(_) => ColumnType::Str,
        };
        let mut builder = ColumnBuilder::new(column_type);
        for v in values {
            if column_type == ColumnType::Str && !v.is_null() && v.as_str().is_none() {
                builder.push(&Value::Str(v.to_string().into()));
            } else {
                builder.push(v);
            }
        }
        builder.finish()
    }

    pub fn push_null(&mut self) {
        let rows = self.rows;
        self.rows += 1;
        match &mut self.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.push(0),
            ColumnData::U64(v) => v.push(0),
            ColumnData::Address(v) => v.push(0),
            ColumnData::Status(v) => v.push(0),
            ColumnData::F64(v) => v.push(0.0),
            ColumnData::Bool(v) => v.push(false),
            ColumnData::Str(s) => s.codes.push(u64::from(self.dict.as_mut().map_or(0, |d| d.intern("")))),
            ColumnData::Fields(v) => v.push(Arc::from(Vec::new())),
        }
        self.validity.get_or_insert_with(|| Bitmap::filled(rows, true)).push(false);
    }

    pub fn push(&mut self, value: &Value) {
        let wide = value.as_i128();
        let pushed = match &mut self.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => {
                wide.and_then(|w| i64::try_from(w).ok()).map(|x| v.push(x)).is_some()
            }
            ColumnData::U64(v) => wide.and_then(|w| u64::try_from(w).ok()).map(|x| v.push(x)).is_some(),
            ColumnData::Address(v) => wide.and_then(|w| u64::try_from(w).ok()).map(|x| v.push(x)).is_some(),
            ColumnData::Status(v) => wide.and_then(|w| u32::try_from(w).ok()).map(|x| v.push(x)).is_some(),
            ColumnData::F64(v) => value.as_f64().map(|x| v.push(x)).is_some(),
            ColumnData::Bool(v) => match value {
                Value::Bool(b) => {
                    v.push(*b);
                    true
                }
                _ => false,
            },
            ColumnData::Str(s) => match (value, self.dict.as_mut()) {
                (Value::Str(t), Some(dict)) => {
                    s.codes.push(u64::from(dict.intern(t)));
                    true
                }
                _ => false,
            },
            ColumnData::Fields(v) => match value {
                Value::Fields(m) => {
                    v.push(m.clone());
                    true
                }
                _ => false,
            },
        };
        if !pushed {
            self.push_null();
            return;
        }
        self.rows += 1;
        if let Some(v) = &mut self.validity {
            v.push(true);
        }
    }

    pub fn finish(mut self) -> Column {
        if let (ColumnData::Str(s), Some(dict)) = (&mut self.data, self.dict.take()) {
            s.dict = Arc::new(dict);
        }
        Column::from(DenseColumn { data: self.data, validity: self.validity })
    }
}

/// The column constructors and operations that need a builder.
impl Column {
    /// Interns every string; for building from a list in tests and small tables.
    pub fn strs<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Column {
        let mut builder = StrColumnBuilder::new();
        for v in values {
            builder.push(v.as_ref());
        }
        builder.finish()
    }

    /// Appends `other`'s rows. Same-typed columns are copied directly (strings
    /// re-coded when the dictionaries differ); other kinds go through values.
    pub fn append(&mut self, other: &Column) {
        self.values_mut().append(&other.dense());
    }
}

/// Appending, which needs a builder when the types differ.
impl DenseColumn {
    /// `len` missing values of `column_type`.
    pub fn nulls(column_type: ColumnType, len: usize) -> DenseColumn {
        let mut builder = ColumnBuilder::new(column_type);
        for _ in 0..len {
            builder.push(&Value::Null);
        }
        builder.finish().into_dense()
    }

    /// Appends `other`'s rows: copied directly when both hold the same type,
    /// through values (the builder widens the type) when not.
    pub fn append(&mut self, other: &DenseColumn) {
        if self.append_same_type(other) {
            return;
        }
        let empty = DenseColumn::new(ColumnData::I64(Vec::new()));
        let mut builder = ColumnBuilder::from_dense(std::mem::replace(self, empty));
        for row in 0..other.len() {
            builder.push(&other.value(row));
        }
        *self = builder.finish().into_dense();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_converts_or_stores_null() {
        let mut b = ColumnBuilder::new(ColumnType::U64);
        b.push(&Value::I64(3));
        b.push(&Value::I64(-3));
        let c = b.finish();
        assert_eq!(c.value(0), Value::U64(3));
        assert_eq!(c.value(1), Value::Null);
        let mixed = ColumnBuilder::infer(&[Value::I64(1), Value::Str("a".into()), Value::Null]);
        assert_eq!(mixed.value(0), Value::Str("1".into()));
        assert_eq!(mixed.value(2), Value::Null);
    }
}
