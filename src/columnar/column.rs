//! Typed columns with optional nulls, and the builders that fill them.
use super::dictionary::Dictionary;
use super::value::{FieldMap, Value};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    I64,
    U64,
    F64,
    Bool,
    Str,
    /// i64 nanoseconds since trace start.
    Timestamp,
    /// i64 nanoseconds.
    Duration,
    /// u64 shown as 0x...
    Address,
    /// A per-row map of decoded event fields (`fields.Name` in queries).
    Fields,
}

impl ColumnType {
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::I64 => "i64",
            ColumnType::U64 => "u64",
            ColumnType::F64 => "f64",
            ColumnType::Bool => "bool",
            ColumnType::Str => "string",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Duration => "duration",
            ColumnType::Address => "address",
            ColumnType::Fields => "fields",
        }
    }
}

/// Dictionary-encoded strings: one code per row into a shared dictionary.
#[derive(Clone, Debug)]
pub struct StrData {
    pub codes: Vec<u32>,
    pub dict: Arc<Dictionary>,
}

impl StrData {
    pub fn text(&self, row: usize) -> Option<&Arc<str>> {
        self.codes.get(row).and_then(|&code| self.dict.get(code))
    }
}

#[derive(Clone, Debug)]
pub enum ColumnData {
    I64(Vec<i64>),
    U64(Vec<u64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    Str(StrData),
    Timestamp(Vec<i64>),
    Duration(Vec<i64>),
    Address(Vec<u64>),
    Fields(Vec<FieldMap>),
}

/// A column: typed values plus, when some are missing, a validity mask
/// (`true` = present). A row past the mask's end counts as present.
#[derive(Clone, Debug)]
pub struct Column {
    pub data: ColumnData,
    pub validity: Option<Vec<bool>>,
}

impl Column {
    pub fn new(data: ColumnData) -> Column {
        Column { data, validity: None }
    }
    pub fn i64(values: Vec<i64>) -> Column {
        Column::new(ColumnData::I64(values))
    }
    pub fn u64(values: Vec<u64>) -> Column {
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
    pub fn fields(maps: Vec<FieldMap>) -> Column {
        Column::new(ColumnData::Fields(maps))
    }
    /// Interns every string; for building from a list in tests and small tables.
    pub fn strs<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Column {
        let mut builder = StrColumnBuilder::new();
        for v in values {
            builder.push(v.as_ref());
        }
        builder.finish()
    }

    /// Marks rows as missing; a mask of another length is cut or padded with "present".
    pub fn with_validity(mut self, mut validity: Vec<bool>) -> Column {
        validity.resize(self.len(), true);
        self.validity = if validity.iter().all(|&v| v) { None } else { Some(validity) };
        self
    }

    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.len(),
            ColumnData::U64(v) | ColumnData::Address(v) => v.len(),
            ColumnData::F64(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Str(s) => s.codes.len(),
            ColumnData::Fields(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn column_type(&self) -> ColumnType {
        match &self.data {
            ColumnData::I64(_) => ColumnType::I64,
            ColumnData::U64(_) => ColumnType::U64,
            ColumnData::F64(_) => ColumnType::F64,
            ColumnData::Bool(_) => ColumnType::Bool,
            ColumnData::Str(_) => ColumnType::Str,
            ColumnData::Timestamp(_) => ColumnType::Timestamp,
            ColumnData::Duration(_) => ColumnType::Duration,
            ColumnData::Address(_) => ColumnType::Address,
            ColumnData::Fields(_) => ColumnType::Fields,
        }
    }

    pub fn is_valid(&self, row: usize) -> bool {
        self.validity.as_ref().is_none_or(|v| v.get(row).copied().unwrap_or(true))
    }

    /// The value of one row; Null for a missing value or a row out of range.
    pub fn value(&self, row: usize) -> Value {
        if !self.is_valid(row) {
            return Value::Null;
        }
        let value = match &self.data {
            ColumnData::I64(v) => v.get(row).map(|&x| Value::I64(x)),
            ColumnData::U64(v) => v.get(row).map(|&x| Value::U64(x)),
            ColumnData::F64(v) => v.get(row).map(|&x| Value::F64(x)),
            ColumnData::Bool(v) => v.get(row).map(|&x| Value::Bool(x)),
            ColumnData::Str(s) => s.text(row).map(|t| Value::Str(t.clone())),
            ColumnData::Timestamp(v) => v.get(row).map(|&x| Value::Timestamp(x)),
            ColumnData::Duration(v) => v.get(row).map(|&x| Value::Duration(x)),
            ColumnData::Address(v) => v.get(row).map(|&x| Value::Address(x)),
            ColumnData::Fields(v) => v.get(row).map(|m| Value::Fields(m.clone())),
        };
        value.unwrap_or(Value::Null)
    }

    /// The rows at `rows`, in that order (rows out of range become nulls).
    pub fn gather(&self, rows: &[u32]) -> Column {
        fn pick<T: Clone + Default>(v: &[T], rows: &[u32]) -> Vec<T> {
            rows.iter().map(|&r| v.get(r as usize).cloned().unwrap_or_default()).collect()
        }
        let data = match &self.data {
            ColumnData::I64(v) => ColumnData::I64(pick(v, rows)),
            ColumnData::U64(v) => ColumnData::U64(pick(v, rows)),
            ColumnData::F64(v) => ColumnData::F64(pick(v, rows)),
            ColumnData::Bool(v) => ColumnData::Bool(pick(v, rows)),
            ColumnData::Str(s) => ColumnData::Str(StrData { codes: pick(&s.codes, rows), dict: s.dict.clone() }),
            ColumnData::Timestamp(v) => ColumnData::Timestamp(pick(v, rows)),
            ColumnData::Duration(v) => ColumnData::Duration(pick(v, rows)),
            ColumnData::Address(v) => ColumnData::Address(pick(v, rows)),
            ColumnData::Fields(v) => ColumnData::Fields(
                rows.iter().map(|&r| v.get(r as usize).cloned().unwrap_or_else(|| Arc::from(Vec::new()))).collect(),
            ),
        };
        let len = self.len();
        let out_of_range = rows.iter().any(|&r| r as usize >= len);
        let validity = if self.validity.is_some() || out_of_range {
            Some(rows.iter().map(|&r| (r as usize) < len && self.is_valid(r as usize)).collect())
        } else {
            None
        };
        Column { data, validity }
    }

    /// Rows `start..end` (clamped to the column).
    pub fn slice(&self, start: usize, end: usize) -> Column {
        let end = end.min(self.len());
        let start = start.min(end);
        fn part<T: Clone>(v: &[T], start: usize, end: usize) -> Vec<T> {
            v[start..end].to_vec()
        }
        let data = match &self.data {
            ColumnData::I64(v) => ColumnData::I64(part(v, start, end)),
            ColumnData::U64(v) => ColumnData::U64(part(v, start, end)),
            ColumnData::F64(v) => ColumnData::F64(part(v, start, end)),
            ColumnData::Bool(v) => ColumnData::Bool(part(v, start, end)),
            ColumnData::Str(s) => ColumnData::Str(StrData { codes: part(&s.codes, start, end), dict: s.dict.clone() }),
            ColumnData::Timestamp(v) => ColumnData::Timestamp(part(v, start, end)),
            ColumnData::Duration(v) => ColumnData::Duration(part(v, start, end)),
            ColumnData::Address(v) => ColumnData::Address(part(v, start, end)),
            ColumnData::Fields(v) => ColumnData::Fields(part(v, start, end)),
        };
        let validity =
            self.validity.as_ref().map(|v| (start..end).map(|r| v.get(r).copied().unwrap_or(true)).collect());
        Column { data, validity }
    }

    /// Room for `additional` more rows without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        match &mut self.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.reserve(additional),
            ColumnData::U64(v) | ColumnData::Address(v) => v.reserve(additional),
            ColumnData::F64(v) => v.reserve(additional),
            ColumnData::Bool(v) => v.reserve(additional),
            ColumnData::Str(s) => s.codes.reserve(additional),
            ColumnData::Fields(v) => v.reserve(additional),
        }
        if let Some(v) = &mut self.validity {
            v.reserve(additional);
        }
    }

    /// Appends `other`'s rows. Same-typed columns are copied directly (strings
    /// re-coded when the dictionaries differ); other kinds go through values.
    pub fn append(&mut self, other: &Column) {
        let before = self.len();
        let added = other.len();
        let appended = match (&mut self.data, &other.data) {
            (ColumnData::I64(a), ColumnData::I64(b))
            | (ColumnData::Timestamp(a), ColumnData::Timestamp(b))
            | (ColumnData::Duration(a), ColumnData::Duration(b)) => {
                a.extend_from_slice(b);
                true
            }
            (ColumnData::U64(a), ColumnData::U64(b)) | (ColumnData::Address(a), ColumnData::Address(b)) => {
                a.extend_from_slice(b);
                true
            }
            (ColumnData::F64(a), ColumnData::F64(b)) => {
                a.extend_from_slice(b);
                true
            }
            (ColumnData::Bool(a), ColumnData::Bool(b)) => {
                a.extend_from_slice(b);
                true
            }
            (ColumnData::Fields(a), ColumnData::Fields(b)) => {
                a.extend_from_slice(b);
                true
            }
            (ColumnData::Str(a), ColumnData::Str(b)) => {
                if Arc::ptr_eq(&a.dict, &b.dict) {
                    a.codes.extend_from_slice(&b.codes);
                } else {
                    let dict = Arc::make_mut(&mut a.dict);
                    let recode: Vec<u32> = b.dict.values().iter().map(|t| dict.intern(t)).collect();
                    a.codes.extend(b.codes.iter().map(|&c| recode.get(c as usize).copied().unwrap_or(0)));
                }
                true
            }
            _ => false,
        };
        if !appended {
            let mut builder = ColumnBuilder::from_column(std::mem::replace(self, Column::i64(Vec::new())));
            for row in 0..added {
                builder.push(&other.value(row));
            }
            *self = builder.finish();
            return;
        }
        if self.validity.is_some() || other.validity.is_some() {
            let mut validity = self.validity.take().unwrap_or_else(|| vec![true; before]);
            validity.resize(before, true);
            validity.extend((0..added).map(|r| other.is_valid(r)));
            self.validity = Some(validity);
        }
    }
}

/// Interns strings while rows are pushed; the fast way to build a string column.
#[derive(Debug, Default)]
pub struct StrColumnBuilder {
    dict: Dictionary,
    codes: Vec<u32>,
    validity: Option<Vec<bool>>,
}

impl StrColumnBuilder {
    pub fn new() -> StrColumnBuilder {
        StrColumnBuilder::default()
    }

    pub fn with_capacity(rows: usize) -> StrColumnBuilder {
        StrColumnBuilder { codes: Vec::with_capacity(rows), ..StrColumnBuilder::default() }
    }

    pub fn push(&mut self, text: &str) {
        let code = self.dict.intern(text);
        self.codes.push(code);
        if let Some(v) = &mut self.validity {
            v.push(true);
        }
    }

    pub fn push_null(&mut self) {
        let code = self.dict.intern("");
        let rows = self.codes.len();
        self.codes.push(code);
        self.validity.get_or_insert_with(|| vec![true; rows]).push(false);
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn finish(self) -> Column {
        Column {
            data: ColumnData::Str(StrData { codes: self.codes, dict: Arc::new(self.dict) }),
            validity: self.validity,
        }
    }
}

/// Builds a column of any type from values, converting where the meaning is
/// kept (any integer kind to another that holds it) and storing null otherwise.
#[derive(Debug)]
pub struct ColumnBuilder {
    data: ColumnData,
    dict: Option<Dictionary>,
    validity: Option<Vec<bool>>,
    rows: usize,
}

impl ColumnBuilder {
    pub fn new(column_type: ColumnType) -> ColumnBuilder {
        let data = match column_type {
            ColumnType::I64 => ColumnData::I64(Vec::new()),
            ColumnType::U64 => ColumnData::U64(Vec::new()),
            ColumnType::F64 => ColumnData::F64(Vec::new()),
            ColumnType::Bool => ColumnData::Bool(Vec::new()),
            ColumnType::Str => ColumnData::Str(StrData { codes: Vec::new(), dict: Arc::new(Dictionary::new()) }),
            ColumnType::Timestamp => ColumnData::Timestamp(Vec::new()),
            ColumnType::Duration => ColumnData::Duration(Vec::new()),
            ColumnType::Address => ColumnData::Address(Vec::new()),
            ColumnType::Fields => ColumnData::Fields(Vec::new()),
        };
        let dict = (column_type == ColumnType::Str).then(Dictionary::new);
        ColumnBuilder { data, dict, validity: None, rows: 0 }
    }

    /// Continues filling an existing column.
    pub fn from_column(column: Column) -> ColumnBuilder {
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
            ColumnData::U64(v) | ColumnData::Address(v) => v.push(0),
            ColumnData::F64(v) => v.push(0.0),
            ColumnData::Bool(v) => v.push(false),
            ColumnData::Str(s) => s.codes.push(self.dict.as_mut().map_or(0, |d| d.intern(""))),
            ColumnData::Fields(v) => v.push(Arc::from(Vec::new())),
        }
        self.validity.get_or_insert_with(|| vec![true; rows]).push(false);
    }

    pub fn push(&mut self, value: &Value) {
        let wide = value.as_i128();
        let pushed = match &mut self.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => {
                wide.and_then(|w| i64::try_from(w).ok()).map(|x| v.push(x)).is_some()
            }
            ColumnData::U64(v) | ColumnData::Address(v) => {
                wide.and_then(|w| u64::try_from(w).ok()).map(|x| v.push(x)).is_some()
            }
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
                    s.codes.push(dict.intern(t));
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
        Column { data: self.data, validity: self.validity }
    }
}

/// The column type that holds a value; None for null.
pub fn value_type(value: &Value) -> Option<ColumnType> {
    Some(match value {
        Value::Null => return None,
        Value::I64(_) => ColumnType::I64,
        Value::U64(_) => ColumnType::U64,
        Value::F64(_) => ColumnType::F64,
        Value::Bool(_) => ColumnType::Bool,
        Value::Str(_) => ColumnType::Str,
        Value::Timestamp(_) => ColumnType::Timestamp,
        Value::Duration(_) => ColumnType::Duration,
        Value::Address(_) => ColumnType::Address,
        Value::Fields(_) => ColumnType::Fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_share_a_dictionary() {
        let c = Column::strs(["a", "b", "a"]);
        let ColumnData::Str(s) = &c.data else { panic!("not a string column") };
        assert_eq!(s.codes, vec![0, 1, 0]);
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
