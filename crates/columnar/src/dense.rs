//! Values stored contiguously, one per row in row order: the form the model
//! builds and the form typed loops (filters, grouping, sorting) read.
use super::bitmap::Bitmap;
use super::column_type::ColumnType;
use super::dictionary::Dictionary;
use super::field_rows::FieldRows;
use super::uints::UInts;
use super::value::Value;
use std::sync::Arc;

/// Dictionary-encoded strings: one code per row into a shared dictionary,
/// each code as narrow as the dictionary's size allows.
#[derive(Clone, Debug)]
pub struct StrData {
    pub codes: UInts,
    pub dict: Arc<Dictionary>,
}

impl StrData {
    pub fn text(&self, row: usize) -> Option<&Arc<str>> {
        self.codes.get(row).and_then(|code| self.dict.get(code as u32))
    }
}

#[derive(Clone, Debug)]
pub enum ColumnData {
    I64(Vec<i64>),
    /// Counts, ids and codes: stored as narrow as the largest value allows.
    U64(UInts),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    Str(StrData),
    Timestamp(Vec<i64>),
    Duration(Vec<i64>),
    Address(Vec<u64>),
    Status(Vec<u32>),
    Fields(FieldRows),
}

/// Typed values plus, when some are missing, a validity mask (`true` =
/// present). A row past the mask's end counts as present.
#[derive(Clone, Debug)]
pub struct DenseColumn {
    pub data: ColumnData,
    pub validity: Option<Bitmap>,
}

impl DenseColumn {
    pub fn new(data: ColumnData) -> DenseColumn {
        DenseColumn { data, validity: None }
    }

    /// Marks rows as missing; a mask of another length is cut or padded with "present".
    pub fn with_validity(mut self, validity: impl Into<Bitmap>) -> DenseColumn {
        let mut validity = validity.into();
        validity.resize(self.len(), true);
        self.validity = if validity.all_set() { None } else { Some(validity) };
        self
    }

    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.len(),
            ColumnData::U64(v) => v.len(),
            ColumnData::Address(v) => v.len(),
            ColumnData::Status(v) => v.len(),
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
            ColumnData::Status(_) => ColumnType::Status,
            ColumnData::Fields(_) => ColumnType::Fields,
        }
    }

    pub fn is_valid(&self, row: usize) -> bool {
        self.validity.as_ref().is_none_or(|v| v.get(row).unwrap_or(true))
    }

    /// The value of one row; Null for a missing value or a row out of range.
    pub fn value(&self, row: usize) -> Value {
        if !self.is_valid(row) {
            return Value::Null;
        }
        let value = match &self.data {
            ColumnData::I64(v) => v.get(row).map(|&x| Value::I64(x)),
            ColumnData::U64(v) => v.get(row).map(Value::U64),
            ColumnData::F64(v) => v.get(row).map(|&x| Value::F64(x)),
            ColumnData::Bool(v) => v.get(row).map(|&x| Value::Bool(x)),
            ColumnData::Str(s) => s.text(row).map(|t| Value::Str(t.clone())),
            ColumnData::Timestamp(v) => v.get(row).map(|&x| Value::Timestamp(x)),
            ColumnData::Duration(v) => v.get(row).map(|&x| Value::Duration(x)),
            ColumnData::Address(v) => v.get(row).map(|&x| Value::Address(x)),
            ColumnData::Status(v) => v.get(row).map(|&x| Value::Status(x)),
            ColumnData::Fields(v) => v.get(row).map(Value::Fields),
        };
        value.unwrap_or(Value::Null)
    }

    /// Copies of the rows at `rows`, in that order (rows out of range become nulls).
    pub fn gather(&self, rows: &[u32]) -> DenseColumn {
        fn pick<T: Clone + Default>(v: &[T], rows: &[u32]) -> Vec<T> {
            rows.iter().map(|&r| v.get(r as usize).cloned().unwrap_or_default()).collect()
        }
        let data = match &self.data {
            ColumnData::I64(v) => ColumnData::I64(pick(v, rows)),
            ColumnData::U64(v) => ColumnData::U64(v.gather(rows)),
            ColumnData::F64(v) => ColumnData::F64(pick(v, rows)),
            ColumnData::Bool(v) => ColumnData::Bool(pick(v, rows)),
            ColumnData::Str(s) => ColumnData::Str(StrData { codes: s.codes.gather(rows), dict: s.dict.clone() }),
            ColumnData::Timestamp(v) => ColumnData::Timestamp(pick(v, rows)),
            ColumnData::Duration(v) => ColumnData::Duration(pick(v, rows)),
            ColumnData::Address(v) => ColumnData::Address(pick(v, rows)),
            ColumnData::Status(v) => ColumnData::Status(pick(v, rows)),
            ColumnData::Fields(v) => ColumnData::Fields(v.gather(rows)),
        };
        let len = self.len();
        let out_of_range = rows.iter().any(|&r| r as usize >= len);
        let validity = if self.validity.is_some() || out_of_range {
            Some(rows.iter().map(|&r| (r as usize) < len && self.is_valid(r as usize)).collect())
        } else {
            None
        };
        DenseColumn { data, validity }
    }

    /// Copies of rows `start..end` (clamped to the column).
    pub fn slice(&self, start: usize, end: usize) -> DenseColumn {
        let end = end.min(self.len());
        let start = start.min(end);
        fn part<T: Clone>(v: &[T], start: usize, end: usize) -> Vec<T> {
            v[start..end].to_vec()
        }
        let data = match &self.data {
            ColumnData::I64(v) => ColumnData::I64(part(v, start, end)),
            ColumnData::U64(v) => ColumnData::U64(v.slice(start, end)),
            ColumnData::F64(v) => ColumnData::F64(part(v, start, end)),
            ColumnData::Bool(v) => ColumnData::Bool(part(v, start, end)),
            ColumnData::Str(s) => ColumnData::Str(StrData { codes: s.codes.slice(start, end), dict: s.dict.clone() }),
            ColumnData::Timestamp(v) => ColumnData::Timestamp(part(v, start, end)),
            ColumnData::Duration(v) => ColumnData::Duration(part(v, start, end)),
            ColumnData::Address(v) => ColumnData::Address(part(v, start, end)),
            ColumnData::Status(v) => ColumnData::Status(part(v, start, end)),
            ColumnData::Fields(v) => ColumnData::Fields(v.slice(start, end)),
        };
        let validity = self.validity.as_ref().map(|v| (start..end).map(|r| v.get(r).unwrap_or(true)).collect());
        DenseColumn { data, validity }
    }

    /// Room for `additional` more rows without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        match &mut self.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.reserve(additional),
            ColumnData::U64(v) => v.reserve(additional),
            ColumnData::Address(v) => v.reserve(additional),
            ColumnData::Status(v) => v.reserve(additional),
            ColumnData::F64(v) => v.reserve(additional),
            ColumnData::Bool(v) => v.reserve(additional),
            ColumnData::Str(s) => s.codes.reserve(additional),
            ColumnData::Fields(v) => v.reserve(additional),
        }
        if let Some(v) = &mut self.validity {
            v.reserve(additional);
        }
    }

    /// Appends `other`'s rows when both hold the same type (strings re-coded
    /// when the dictionaries differ); false, and nothing appended, when not.
    pub(crate) fn append_same_type(&mut self, other: &DenseColumn) -> bool {
        let before = self.len();
        let added = other.len();
        let appended = match (&mut self.data, &other.data) {
            (ColumnData::I64(a), ColumnData::I64(b))
            | (ColumnData::Timestamp(a), ColumnData::Timestamp(b))
            | (ColumnData::Duration(a), ColumnData::Duration(b)) => {
                a.extend_from_slice(b);
                true
            }
            (ColumnData::U64(a), ColumnData::U64(b)) => {
                a.extend(b);
                true
            }
            (ColumnData::Address(a), ColumnData::Address(b)) => {
                a.extend_from_slice(b);
                true
            }
            (ColumnData::Status(a), ColumnData::Status(b)) => {
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
                a.append(b);
                true
            }
            (ColumnData::Str(a), ColumnData::Str(b)) => {
                if Arc::ptr_eq(&a.dict, &b.dict) {
                    a.codes.extend(&b.codes);
                } else {
                    let dict = Arc::make_mut(&mut a.dict);
                    let recode: Vec<u32> = b.dict.values().iter().map(|t| dict.intern(t)).collect();
                    a.codes.reserve(b.codes.len());
                    b.codes.for_each(|c| a.codes.push(u64::from(recode.get(c as usize).copied().unwrap_or(0))));
                }
                true
            }
            _ => false,
        };
        if !appended {
            return false;
        }
        if self.validity.is_some() || other.validity.is_some() {
            let mut validity = self.validity.take().unwrap_or_else(|| Bitmap::filled(before, true));
            validity.resize(before, true);
            validity.extend((0..added).map(|r| other.is_valid(r)));
            self.validity = Some(validity);
        }
        true
    }
}
