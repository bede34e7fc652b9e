//! Columnar execution of a plan. Rows flow as a selection vector over the
//! catalog's columns (borrowed, never copied); the result shares those
//! columns behind its selection. Expressions are evaluated a chunk of rows
//! at a time into contiguous values, and string predicates and functions run
//! once per distinct dictionary value, not once per row. The cancel flag is
//! checked between chunks.
//!
//! This module runs the stages; `eval` evaluates expressions, `group` groups rows
//! and computes aggregates.
use super::catalog::Catalog;
use super::error::QueryError;
use super::plan::{Output, Plan, Stage, TExpr, TKind};
use columnar::{Column, ColumnData, DataTable, DenseColumn, NamedColumn, Value};
use rayon::prelude::*;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;

mod during;
mod eval;
mod group;
mod join;
mod join_keys;
mod window;

pub use join::MAX_JOIN_ROWS;

use eval::{eval, eval_all, eval_dense, Memo};
use group::{accumulate, assign_groups};

/// Rows per chunk: small enough to stay in cache and to notice Ctrl-C quickly.
const CHUNK: usize = 64 * 1024;

fn check(cancel: &AtomicBool) -> Result<(), QueryError> {
    if cancel.load(AtomicOrdering::Relaxed) {
        Err(QueryError::cancelled())
    } else {
        Ok(())
    }
}

/// Rows of a frame's columns: a contiguous range or a list of row numbers.
#[derive(Clone, Copy)]
enum Rows<'s> {
    Range(usize, usize),
    List(&'s [u32]),
}

impl Rows<'_> {
    fn len(&self) -> usize {
        match self {
            Rows::Range(start, end) => end - start,
            Rows::List(list) => list.len(),
        }
    }

    fn row(&self, k: usize) -> usize {
        match self {
            Rows::Range(start, _) => start + k,
            Rows::List(list) => list.get(k).map_or(usize::MAX, |&r| r as usize),
        }
    }

    fn take(&self, column: &Column) -> DenseColumn {
        match *self {
            Rows::Range(start, end) => column.slice(start, end),
            Rows::List(list) => column.gather(list),
        }
    }
}

struct Frame<'a> {
    names: Vec<String>,
    docs: Vec<String>,
    columns: Vec<Cow<'a, Column>>,
    /// Rows in the columns.
    len: usize,
    /// The rows still in play, in order; None = all of them. Shared, so that
    /// the result's columns can hold it instead of copies of their rows.
    selection: Option<Arc<[u32]>>,
}

impl<'a> Frame<'a> {
    fn borrowed(table: &'a DataTable) -> Frame<'a> {
        Frame {
            names: table.columns.iter().map(|c| c.name.clone()).collect(),
            docs: table.columns.iter().map(|c| c.doc.clone()).collect(),
            columns: table.columns.iter().map(|c| Cow::Borrowed(&c.column)).collect(),
            len: table.row_count(),
            selection: None,
        }
    }

    fn owned(names: Vec<String>, docs: Vec<String>, columns: Vec<Column>, len: usize) -> Frame<'a> {
        Frame { names, docs, columns: columns.into_iter().map(Cow::Owned).collect(), len, selection: None }
    }

    fn selected_len(&self) -> usize {
        self.selection.as_ref().map_or(self.len, |rows| rows.len())
    }

    fn chunks(&self) -> Vec<Rows<'_>> {
        match &self.selection {
            Some(list) => list.chunks(CHUNK).map(Rows::List).collect(),
            None => (0..self.len).step_by(CHUNK).map(|s| Rows::Range(s, (s + CHUNK).min(self.len))).collect(),
        }
    }

    fn column(&self, index: usize) -> Option<&Column> {
        self.columns.get(index).map(|c| c.as_ref())
    }
}

/// Runs `plan` over `table`; a join reads the other tables it names from `catalog`.
pub fn execute(
    plan: &Plan,
    table: &DataTable,
    catalog: &dyn Catalog,
    cancel: &AtomicBool,
) -> Result<DataTable, QueryError> {
    let memo = Memo::default();
    let mut frame = Frame::borrowed(table);
    for stage in &plan.stages {
        check(cancel)?;
        frame = run_stage(stage, frame, catalog, cancel, &memo)?;
    }
    let mut result = DataTable::new(&plan.table);
    let Frame { names, docs, columns, selection, .. } = frame;
    check(cancel)?;
    // Columns that are copied out gather independently: on all cores, as
    // copying a wide result is mostly page faults.
    let columns: Vec<Column> =
        columns.into_par_iter().map(|column| result_column(column, selection.as_ref())).collect();
    for ((name, doc), column) in names.into_iter().zip(docs).zip(columns) {
        result.columns.push(NamedColumn { name, doc, column });
    }
    Ok(result)
}

/// One column of the result. A column whose values something else holds (the
/// catalog's, or a computed column that shares them) is shared behind the
/// selection: its values stay in memory anyway, and a filter that keeps
/// millions of rows then costs one row list instead of a copy of every kept
/// value. A column only this query holds is shared while the selection keeps
/// at least half of it, and copied out otherwise, so that a short result does
/// not keep a long computed column alive.
fn result_column(column: Cow<'_, Column>, selection: Option<&Arc<[u32]>>) -> Column {
    match (column, selection) {
        (column, None) => column.into_owned(),
        (Cow::Borrowed(column), Some(rows)) => column.select(rows),
        (Cow::Owned(column), Some(rows)) if column.shares_values() || rows.len().saturating_mul(2) >= column.len() => {
            column.select(rows)
        }
        (Cow::Owned(column), Some(rows)) => Column::from(column.gather(rows)),
    }
}

fn run_stage<'a>(
    stage: &Stage,
    mut frame: Frame<'a>,
    catalog: &dyn Catalog,
    cancel: &AtomicBool,
    memo: &Memo,
) -> Result<Frame<'a>, QueryError> {
    match stage {
        Stage::Join(join) => join::run(join, frame, catalog, cancel, memo),
        Stage::Filter(predicate) => {
            // Chunks are tested on all cores, each worker with a memo of its own.
            let kept: Vec<Result<Vec<u32>, QueryError>> = frame
                .chunks()
                .into_par_iter()
                .map_init(Memo::default, |memo, rows| {
                    check(cancel)?;
                    Ok(kept_rows(&eval(predicate, &frame, rows, memo), rows))
                })
                .collect();
            let mut keep = Vec::with_capacity(kept.iter().map(|k| k.as_ref().map_or(0, Vec::len)).sum());
            for rows in kept {
                keep.extend_from_slice(&rows?);
            }
            frame.selection = Some(Arc::from(keep));
            Ok(frame)
        }
        Stage::Project(outputs) => project(outputs, &frame, cancel, memo),
        Stage::Aggregate { keys, aggregates, outputs } => {
            let n = frame.selected_len();
            let key_columns =
                keys.iter().map(|k| eval_dense(k, &frame, cancel, memo)).collect::<Result<Vec<_>, _>>()?;
            let key_refs: Vec<&DenseColumn> = key_columns.iter().map(|c| c.as_ref()).collect();
            let (group_of, first_rows) = assign_groups(&key_refs, n, cancel)?;
            let groups = if keys.is_empty() { 1 } else { first_rows.len() };
            let mut columns: Vec<Column> = key_refs.iter().map(|c| Column::from(c.gather(&first_rows))).collect();
            for aggregate in aggregates {
                let arg = match &aggregate.arg {
                    Some(a) => Some(eval_dense(a, &frame, cancel, memo)?),
                    None => None,
                };
                columns.push(Column::from(accumulate(aggregate, arg.as_deref(), &group_of, groups, cancel)?));
            }
            let names = (0..columns.len()).map(|i| format!("#{i}")).collect();
            let docs = vec![String::new(); columns.len()];
            let grouped = Frame::owned(names, docs, columns, groups);
            project(outputs, &grouped, cancel, memo)
        }
        Stage::Window { name, func, arg, partition, order, ty } => {
            // Rows sorted by partition, then by the window's order: a partition's rows are adjacent.
            let keys: Vec<(TExpr, bool)> =
                partition.iter().map(|p| (p.clone(), false)).chain(order.iter().cloned()).collect();
            let sorted = sorted_order(&keys, &frame, cancel, memo)?;
            let parts = partition.iter().map(|p| eval_dense(p, &frame, cancel, memo)).collect::<Result<Vec<_>, _>>()?;
            let arg = arg.as_ref().map(|a| eval_dense(a, &frame, cancel, memo)).transpose()?;
            check(cancel)?;
            let values = window::values(*func, &sorted, &parts, arg.as_deref(), *ty);
            let column = window::aligned(values, frame.len, frame.selection.as_deref(), *ty);
            frame.columns.push(Cow::Owned(column));
            frame.names.push(name.clone());
            frame.docs.push(String::new());
            Ok(frame)
        }
        Stage::Sort(keys) => {
            let order = sorted_order(keys, &frame, cancel, memo)?;
            frame.selection = Some(match &frame.selection {
                Some(list) => order.iter().map(|&k| list.get(k as usize).copied().unwrap_or(0)).collect(),
                None => Arc::from(order),
            });
            Ok(frame)
        }
        Stage::Limit(count) => {
            let count = usize::try_from(*count).unwrap_or(usize::MAX);
            match &mut frame.selection {
                Some(list) if list.len() > count => *list = Arc::from(&list[..count]),
                Some(_) => {}
                None if count < frame.len => frame.selection = Some((0..count as u32).collect()),
                None => {}
            }
            Ok(frame)
        }
    }
}

/// The rows of `rows` where `mask` is true. A null (a missing value
/// compared) keeps nothing.
fn kept_rows(mask: &DenseColumn, rows: Rows<'_>) -> Vec<u32> {
    let ColumnData::Bool(bits) = &mask.data else {
        return (0..rows.len()).filter(|&k| mask.value(k) == Value::Bool(true)).map(|k| rows.row(k) as u32).collect();
    };
    // Branch-free compaction: write every row, advance only past kept ones.
    let mut keep = vec![0u32; bits.len()];
    let mut written = 0;
    match &mask.validity {
        None => {
            for (k, &b) in bits.iter().enumerate() {
                keep[written] = rows.row(k) as u32;
                written += usize::from(b);
            }
        }
        Some(valid) => {
            for ((k, &b), v) in bits.iter().enumerate().zip(valid.iter().chain(std::iter::repeat(true))) {
                keep[written] = rows.row(k) as u32;
                written += usize::from(b && v);
            }
        }
    }
    keep.truncate(written);
    keep
}

/// The selected rows' positions (0..n) in the order of the sort keys.
fn sorted_order(
    keys: &[(TExpr, bool)],
    frame: &Frame<'_>,
    cancel: &AtomicBool,
    memo: &Memo,
) -> Result<Vec<u32>, QueryError> {
    let n = frame.selected_len();
    let mut sort_keys = Vec::new();
    for (expr, descending) in keys {
        sort_keys.push((SortKey::new(eval_dense(expr, frame, cancel, memo)?), *descending));
    }
    check(cancel)?;
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by(|&a, &b| {
        for (key, descending) in &sort_keys {
            let ordering = key.compare(a as usize, b as usize, *descending);
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
    Ok(order)
}

fn project<'a>(
    outputs: &[Output],
    frame: &Frame<'_>,
    cancel: &AtomicBool,
    memo: &Memo,
) -> Result<Frame<'a>, QueryError> {
    let mut columns = Vec::new();
    let mut docs = Vec::new();
    for output in outputs {
        columns.push(eval_all(&output.expr, frame, cancel, memo)?);
        docs.push(match output.expr.kind {
            TKind::Column(i) => frame.docs.get(i).cloned().unwrap_or_default(),
            _ => String::new(),
        });
    }
    let names = outputs.iter().map(|o| o.name.clone()).collect();
    Ok(Frame::owned(names, docs, columns, frame.selected_len()))
}

/// A sort key column, with strings replaced by their rank in the dictionary.
struct SortKey<'f> {
    column: Cow<'f, DenseColumn>,
    ranks: Option<Vec<u32>>,
}

impl<'f> SortKey<'f> {
    fn new(column: Cow<'f, DenseColumn>) -> SortKey<'f> {
        let ranks = match &column.data {
            ColumnData::Str(s) => {
                let mut order: Vec<u32> = (0..s.dict.len() as u32).collect();
                order.sort_by(|&a, &b| s.dict.get(a).cmp(&s.dict.get(b)));
                let mut ranks = vec![0u32; order.len()];
                for (rank, &code) in order.iter().enumerate() {
                    ranks[code as usize] = rank as u32;
                }
                Some(ranks)
            }
            _ => None,
        };
        SortKey { column, ranks }
    }

    /// Nulls last in both directions.
    fn compare(&self, a: usize, b: usize, descending: bool) -> Ordering {
        let c = &self.column;
        match (c.is_valid(a), c.is_valid(b)) {
            (false, false) => return Ordering::Equal,
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        let ordering = match &c.data {
            ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.get(a).cmp(&v.get(b)),
            ColumnData::U64(v) => v.get(a).cmp(&v.get(b)),
            ColumnData::Address(v) => v.get(a).cmp(&v.get(b)),
            ColumnData::Status(v) => v.get(a).cmp(&v.get(b)),
            ColumnData::F64(v) => match (v.get(a), v.get(b)) {
                (Some(x), Some(y)) => x.total_cmp(y),
                _ => Ordering::Equal,
            },
            ColumnData::Bool(v) => v.get(a).cmp(&v.get(b)),
            ColumnData::Str(s) => {
                let rank = |row: usize| {
                    let code = s.codes.get(row).unwrap_or(0) as usize;
                    self.ranks.as_ref().and_then(|r| r.get(code)).copied()
                };
                rank(a).cmp(&rank(b))
            }
            ColumnData::Fields(_) => Ordering::Equal,
        };
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}
