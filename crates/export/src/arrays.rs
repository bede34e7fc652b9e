//! A batch of a table's rows as Arrow arrays. Each etwq column's rows of the
//! batch are copied out once (`Column::slice`), typed, and handed to Arrow as
//! they are: no row becomes a `Value`, except the rows of a fields column,
//! which are decoded to be written as JSON.
use crate::fields_json::push_fields_json;
use crate::layout::Source;
use arrow_array::builder::StringBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt32Array, UInt64Array,
};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, SchemaRef};
use columnar::{ColumnData, DataTable, DenseColumn, Dictionary};
use std::sync::Arc;

/// What a batch needs beyond its rows: made once per table.
pub(crate) struct BatchMaker<'t> {
    pub(crate) table: &'t DataTable,
    pub(crate) sources: Vec<Source>,
    pub(crate) schema: SchemaRef,
    /// Added to a timestamp to make it absolute (ns since 1970 UTC).
    pub(crate) start_unix_ns: i64,
    pub(crate) status_name: fn(u32) -> Option<&'static str>,
    /// Each string column's dictionary as an Arrow array, made on first use and
    /// shared by every batch: an Arrow IPC file allows one dictionary per
    /// column, and a shared array is seen to be that one without comparing.
    dictionaries: Vec<Option<(Arc<Dictionary>, ArrayRef)>>,
}

impl<'t> BatchMaker<'t> {
    pub(crate) fn new(
        table: &'t DataTable,
        sources: Vec<Source>,
        schema: SchemaRef,
        start_unix_ns: i64,
        status_name: fn(u32) -> Option<&'static str>,
    ) -> BatchMaker<'t> {
        let dictionaries = vec![None; table.columns.len()];
        BatchMaker { table, sources, schema, start_unix_ns, status_name, dictionaries }
    }

    /// Rows `start..end` as one record batch.
    pub(crate) fn batch(&mut self, start: usize, end: usize) -> Result<RecordBatch, ArrowError> {
        // Each etwq column the batch reads, copied out once even when two Arrow columns read it.
        let mut slices: Vec<Option<DenseColumn>> = vec![None; self.table.columns.len()];
        for source in &self.sources {
            let i = source.column();
            if slices[i].is_none() {
                slices[i] = Some(self.table.columns[i].column.slice(start, end));
            }
        }
        let mut arrays = Vec::with_capacity(self.sources.len());
        for &source in &self.sources.clone() {
            let dense = slices[source.column()].as_ref().expect("sliced above");
            let array = match source {
                Source::Same(i) => self.same(i, dense)?,
                Source::Utc(_) => utc(dense, self.start_unix_ns),
                Source::StatusName(_) => status_names(dense, self.status_name),
            };
            arrays.push(array);
        }
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(end - start));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
    }

    fn same(&mut self, column: usize, dense: &DenseColumn) -> Result<ArrayRef, ArrowError> {
        let nulls = nulls(dense);
        Ok(match &dense.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => {
                Arc::new(Int64Array::new(ScalarBuffer::from(v.clone()), nulls))
            }
            ColumnData::U64(v) => Arc::new(UInt64Array::new(ScalarBuffer::from(v.to_u64s()), nulls)),
            ColumnData::Address(v) => Arc::new(UInt64Array::new(ScalarBuffer::from(v.clone()), nulls)),
            ColumnData::F64(v) => Arc::new(Float64Array::new(ScalarBuffer::from(v.clone()), nulls)),
            ColumnData::Bool(v) => Arc::new(BooleanArray::new(BooleanBuffer::from_iter(v.iter().copied()), nulls)),
            ColumnData::Status(v) => Arc::new(UInt32Array::new(ScalarBuffer::from(v.clone()), nulls)),
            ColumnData::Str(s) => {
                let values = self.dictionary(column, &s.dict);
                let size = s.dict.len() as u64;
                // A code past the dictionary reads as null in etwq: so it does here.
                let mut present = Vec::with_capacity(dense.len());
                let keys: Vec<i32> = s.codes.map(|code| {
                    let key = if code < size { i32::try_from(code).ok() } else { None };
                    present.push(key.is_some());
                    key.unwrap_or(0)
                });
                let valid = (0..dense.len()).map(|row| present[row] && dense.is_valid(row));
                let nulls = Some(NullBuffer::new(BooleanBuffer::from_iter(valid))).filter(|n| n.null_count() > 0);
                Arc::new(DictionaryArray::<Int32Type>::try_new(
                    Int32Array::new(ScalarBuffer::from(keys), nulls),
                    values,
                )?)
            }
            ColumnData::Fields(rows) => {
                let mut out = StringBuilder::with_capacity(rows.len(), rows.len() * 64);
                let mut json = String::new();
                for row in 0..rows.len() {
                    match rows.get(row).filter(|_| dense.is_valid(row)) {
                        Some(map) => {
                            json.clear();
                            push_fields_json(&mut json, &map);
                            out.append_value(&json);
                        }
                        None => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
        })
    }

    /// The Arrow array of a string column's dictionary, made once.
    fn dictionary(&mut self, column: usize, dict: &Arc<Dictionary>) -> ArrayRef {
        match &self.dictionaries[column] {
            Some((made_from, array)) if Arc::ptr_eq(made_from, dict) => array.clone(),
            _ => {
                let array: ArrayRef = Arc::new(StringArray::from_iter_values(dict.values().iter().map(|s| &**s)));
                self.dictionaries[column] = Some((dict.clone(), array.clone()));
                array
            }
        }
    }
}

/// Which rows hold a value, as Arrow keeps it; None when all do.
fn nulls(dense: &DenseColumn) -> Option<NullBuffer> {
    let bits = dense.validity.as_ref()?;
    let valid = (0..dense.len()).map(|row| bits.get(row).unwrap_or(true));
    Some(NullBuffer::new(BooleanBuffer::from_iter(valid))).filter(|n| n.null_count() > 0)
}

/// A timestamp column made absolute (ns since 1970 UTC).
fn utc(dense: &DenseColumn, start_unix_ns: i64) -> ArrayRef {
    let ColumnData::Timestamp(ns) = &dense.data else {
        return Arc::new(TimestampNanosecondArray::new_null(dense.len()).with_timezone("UTC"));
    };
    let absolute: Vec<i64> = ns.iter().map(|&t| start_unix_ns.saturating_add(t)).collect();
    Arc::new(TimestampNanosecondArray::new(ScalarBuffer::from(absolute), nulls(dense)).with_timezone("UTC"))
}

/// A status column's names; null for a code without one.
fn status_names(dense: &DenseColumn, status_name: fn(u32) -> Option<&'static str>) -> ArrayRef {
    let ColumnData::Status(codes) = &dense.data else {
        return Arc::new(StringArray::new_null(dense.len()));
    };
    let names = codes.iter().enumerate().map(|(row, &code)| dense.is_valid(row).then(|| status_name(code)).flatten());
    Arc::new(StringArray::from_iter(names))
}
