//! Columnar execution of a plan. Rows flow as a selection vector over the
//! catalog's columns (borrowed, never copied); the result shares those
//! columns behind its selection. Expressions are evaluated a chunk of rows
//! at a time into contiguous values, and string predicates and functions run
//! once per distinct dictionary value, not once per row. The cancel flag is
//! checked between chunks.
use super::error::QueryError;
use super::functions::{AggFn, ScalarFn};
use super::plan::{AggCall, ArithOp, CmpOp, Output, Plan, Stage, TExpr, TKind};
use super::types::Type;
use columnar::{Column, ColumnBuilder, ColumnData, DataTable, DenseColumn, Dictionary, NamedColumn, StrData, Value};
use rayon::prelude::*;
use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;

/// Rows per chunk: small enough to stay in cache and to notice Ctrl-C quickly.
const CHUNK: usize = 64 * 1024;

fn check(cancel: &AtomicBool) -> Result<(), QueryError> {
    if cancel.load(AtomicOrdering::Relaxed) {
        Err(QueryError::cancelled())
    } else {
        Ok(())
    }
}

/// Per-dictionary results kept for the whole query, so that a regex or a
/// string function runs once per distinct value however many chunks follow.
/// Entries hold the dictionary they were computed from, which keeps its
/// address from being reused by another dictionary while the key is live.
#[derive(Default)]
struct Memo {
    tests: RefCell<MemoTable<Vec<bool>>>,
    mapped: RefCell<MemoTable<Mapped>>,
}

/// (expression address, dictionary address) -> the dictionary and its result.
type MemoTable<T> = HashMap<(usize, usize), (Arc<Dictionary>, Rc<T>)>;

/// A string function's results over a dictionary: new text as a recoded
/// dictionary, or other values one per entry.
enum Mapped {
    Text { dict: Arc<Dictionary>, recode: Vec<u32> },
    Values(Vec<Value>),
}

fn memo_key(expr: &TExpr, dict: &Arc<Dictionary>) -> (usize, usize) {
    (expr as *const TExpr as usize, Arc::as_ptr(dict) as usize)
}

impl Memo {
    /// `test` over every entry of `dict`, computed once per (expression, dictionary).
    fn test(&self, expr: &TExpr, dict: &Arc<Dictionary>, test: impl Fn(&Arc<str>) -> bool) -> Rc<Vec<bool>> {
        let key = memo_key(expr, dict);
        if let Some((_, table)) = self.tests.borrow().get(&key) {
            return table.clone();
        }
        let table = Rc::new(dict.values().iter().map(test).collect::<Vec<bool>>());
        self.tests.borrow_mut().insert(key, (dict.clone(), table.clone()));
        table
    }

    fn map(&self, expr: &TExpr, dict: &Arc<Dictionary>, compute: impl FnOnce() -> Mapped) -> Rc<Mapped> {
        let key = memo_key(expr, dict);
        if let Some((_, mapped)) = self.mapped.borrow().get(&key) {
            return mapped.clone();
        }
        let mapped = Rc::new(compute());
        self.mapped.borrow_mut().insert(key, (dict.clone(), mapped.clone()));
        mapped
    }
}

fn lookup(table: &[bool], codes: &[u32]) -> Vec<bool> {
    codes.iter().map(|&c| table.get(c as usize).copied().unwrap_or(false)).collect()
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

/// Runs `plan` over `table`.
pub fn execute(plan: &Plan, table: &DataTable, cancel: &AtomicBool) -> Result<DataTable, QueryError> {
    let memo = Memo::default();
    let mut frame = Frame::borrowed(table);
    for stage in &plan.stages {
        check(cancel)?;
        frame = run_stage(stage, frame, cancel, &memo)?;
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
    cancel: &AtomicBool,
    memo: &Memo,
) -> Result<Frame<'a>, QueryError> {
    match stage {
        Stage::Filter(predicate) => {
            // Reserved, not touched: pages are faulted in only as rows are kept.
            let mut keep = Vec::with_capacity(frame.selected_len());
            for rows in frame.chunks() {
                check(cancel)?;
                let mask = eval(predicate, &frame, rows, memo);
                match &mask.data {
                    ColumnData::Bool(bits) if mask.validity.is_none() => {
                        // Branch-free compaction: write every row, advance only past kept ones.
                        let base = keep.len();
                        keep.resize(base + bits.len(), 0);
                        let mut written = base;
                        for (k, &b) in bits.iter().enumerate() {
                            keep[written] = rows.row(k) as u32;
                            written += usize::from(b);
                        }
                        keep.truncate(written);
                    }
                    _ => keep.extend(
                        (0..rows.len()).filter(|&k| mask.value(k) == Value::Bool(true)).map(|k| rows.row(k) as u32),
                    ),
                }
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

/// Evaluates over every selected row. A plain column is shared, not copied:
/// whole when every row is selected, behind the selection otherwise.
fn eval_all(expr: &TExpr, frame: &Frame<'_>, cancel: &AtomicBool, memo: &Memo) -> Result<Column, QueryError> {
    if let TKind::Column(index) = expr.kind {
        if let Some(column) = frame.column(index) {
            check(cancel)?;
            return Ok(match &frame.selection {
                None => column.clone(),
                Some(list) => column.select(list),
            });
        }
    }
    eval_chunked(expr, frame, cancel, memo).map(Column::from)
}

/// Evaluates over every selected row as contiguous values, for typed loops:
/// a plain column over all rows is borrowed, over a selection gathered in one pass.
fn eval_dense<'f>(
    expr: &TExpr,
    frame: &'f Frame<'_>,
    cancel: &AtomicBool,
    memo: &Memo,
) -> Result<Cow<'f, DenseColumn>, QueryError> {
    if let TKind::Column(index) = expr.kind {
        if let Some(column) = frame.column(index) {
            check(cancel)?;
            return Ok(match &frame.selection {
                None => column.dense(),
                Some(list) => Cow::Owned(column.gather(list)),
            });
        }
    }
    eval_chunked(expr, frame, cancel, memo).map(Cow::Owned)
}

/// Evaluates chunk by chunk into one run of contiguous values.
fn eval_chunked(expr: &TExpr, frame: &Frame<'_>, cancel: &AtomicBool, memo: &Memo) -> Result<DenseColumn, QueryError> {
    let dynamic = matches!(expr.ty, Type::Any | Type::Null);
    let mut result: Option<DenseColumn> = None;
    let mut values = Vec::new();
    for rows in frame.chunks() {
        check(cancel)?;
        let part = eval(expr, frame, rows, memo);
        if dynamic {
            values.extend((0..part.len()).map(|k| part.value(k)));
            continue;
        }
        match &mut result {
            Some(column) => column.append(&part),
            None => {
                let mut first = part;
                first.reserve(frame.selected_len().saturating_sub(first.len()));
                result = Some(first);
            }
        }
    }
    if dynamic {
        return Ok(ColumnBuilder::infer(&values).into_dense());
    }
    Ok(result.unwrap_or_else(|| empty_column(expr.ty)))
}

fn empty_column(ty: Type) -> DenseColumn {
    ty.column_type().map_or_else(|| ColumnBuilder::infer(&[]), |t| ColumnBuilder::new(t).finish()).into_dense()
}

/// A column of `ty` from per-row values (dynamic types take the values' own kind).
fn build(ty: Type, values: impl Iterator<Item = Value>) -> DenseColumn {
    let column = match ty.column_type() {
        Some(column_type) => {
            let mut builder = ColumnBuilder::new(column_type);
            for v in values {
                builder.push(&v);
            }
            builder.finish()
        }
        None => ColumnBuilder::infer(&values.collect::<Vec<_>>()),
    };
    column.into_dense()
}

fn bools(bits: Vec<bool>, validity: Option<Vec<bool>>) -> DenseColumn {
    DenseColumn { data: ColumnData::Bool(bits), validity }
}

fn truth(column: &DenseColumn, k: usize) -> Option<bool> {
    match &column.data {
        ColumnData::Bool(bits) if column.is_valid(k) => bits.get(k).copied(),
        _ => None,
    }
}

/// Evaluates `expr` for `rows` of `frame`; the result has one value per row.
fn eval(expr: &TExpr, frame: &Frame<'_>, rows: Rows<'_>, memo: &Memo) -> DenseColumn {
    let n = rows.len();
    match &expr.kind {
        TKind::Column(index) => match frame.column(*index) {
            Some(column) => rows.take(column),
            None => build(expr.ty, std::iter::repeat_n(Value::Null, n)),
        },
        TKind::Field { column, name } => {
            let values =
                (0..n).map(|k| frame.column(*column).map_or(Value::Null, |c| c.value(rows.row(k)).field(name)));
            ColumnBuilder::infer(&values.collect::<Vec<_>>()).into_dense()
        }
        TKind::Literal(value) => constant(value, expr.ty, n),
        TKind::Not(inner) => {
            let v = eval(inner, frame, rows, memo);
            match v.data {
                ColumnData::Bool(bits) => bools(bits.into_iter().map(|b| !b).collect(), v.validity),
                _ => build(Type::Bool, (0..n).map(|k| truth(&v, k).map_or(Value::Null, |b| Value::Bool(!b)))),
            }
        }
        TKind::And(l, r) | TKind::Or(l, r) => {
            let is_and = matches!(expr.kind, TKind::And(..));
            let (a, b) = (eval(l, frame, rows, memo), eval(r, frame, rows, memo));
            if let (ColumnData::Bool(x), ColumnData::Bool(y), None, None) = (&a.data, &b.data, &a.validity, &b.validity)
            {
                let bits = x.iter().zip(y).map(|(&p, &q)| if is_and { p && q } else { p || q }).collect();
                return bools(bits, None);
            }
            // Three-valued logic: false and null = false, true or null = true.
            build(
                Type::Bool,
                (0..n).map(|k| {
                    let (p, q) = (truth(&a, k), truth(&b, k));
                    let result = if is_and {
                        match (p, q) {
                            (Some(false), _) | (_, Some(false)) => Some(false),
                            (Some(true), Some(true)) => Some(true),
                            _ => None,
                        }
                    } else {
                        match (p, q) {
                            (Some(true), _) | (_, Some(true)) => Some(true),
                            (Some(false), Some(false)) => Some(false),
                            _ => None,
                        }
                    };
                    result.map_or(Value::Null, Value::Bool)
                }),
            )
        }
        TKind::Compare(op, l, r) => match (&l.kind, &r.kind) {
            (_, TKind::Literal(value)) => compare_with(expr, &eval(l, frame, rows, memo), *op, value, memo),
            (TKind::Literal(value), _) => compare_with(expr, &eval(r, frame, rows, memo), op.flipped(), value, memo),
            _ => {
                let (a, b) = (eval(l, frame, rows, memo), eval(r, frame, rows, memo));
                build(
                    Type::Bool,
                    (0..n).map(|k| a.value(k).compare(&b.value(k)).map_or(Value::Null, |o| Value::Bool(op.holds(o)))),
                )
            }
        },
        TKind::Matches { expr: inner, regex, negated } => {
            let v = eval(inner, frame, rows, memo);
            per_text(expr, &v, *negated, memo, |text| regex.is_match(text))
        }
        TKind::Contains { expr: inner, needle, negated } => {
            let v = eval(inner, frame, rows, memo);
            per_text(expr, &v, *negated, memo, |text| text.to_lowercase().contains(needle.as_str()))
        }
        TKind::In { expr: inner, values, negated } => {
            let v = eval(inner, frame, rows, memo);
            let member = |value: &Value| values.iter().any(|w| value.compare(w) == Some(Ordering::Equal)) != *negated;
            if let ColumnData::Str(s) = &v.data {
                let table = memo.test(expr, &s.dict, |d| member(&Value::Str(d.clone())));
                return bools(lookup(&table, &s.codes), v.validity);
            }
            build(
                Type::Bool,
                (0..n).map(|k| match v.value(k) {
                    Value::Null => Value::Null,
                    value => Value::Bool(member(&value)),
                }),
            )
        }
        TKind::IsNull { expr: inner, negated } => {
            let v = eval(inner, frame, rows, memo);
            bools((0..n).map(|k| v.is_valid(k) == *negated).collect(), None)
        }
        TKind::Neg(inner) => {
            let v = eval(inner, frame, rows, memo);
            build(expr.ty, (0..n).map(|k| negate(&v.value(k))))
        }
        TKind::Arith(op, l, r) => {
            let (a, b) = (eval(l, frame, rows, memo), eval(r, frame, rows, memo));
            build(expr.ty, (0..n).map(|k| arith(*op, &a.value(k), &b.value(k), expr.ty)))
        }
        TKind::Call { func, args } => call(expr, *func, args, frame, rows, memo),
    }
}

fn constant(value: &Value, ty: Type, n: usize) -> DenseColumn {
    if let Value::Str(text) = value {
        let mut dict = columnar::Dictionary::new();
        let code = dict.intern(text);
        return DenseColumn {
            data: ColumnData::Str(StrData { codes: vec![code; n], dict: Arc::new(dict) }),
            validity: None,
        };
    }
    build(ty, std::iter::repeat_n(value.clone(), n))
}

/// `column op literal`, with typed loops for the common cases and a
/// once-per-distinct-value table for strings.
fn compare_with(expr: &TExpr, column: &DenseColumn, op: CmpOp, literal: &Value, memo: &Memo) -> DenseColumn {
    fn typed<T: PartialOrd + Copy>(values: &[T], x: T, op: CmpOp) -> Vec<bool> {
        match op {
            CmpOp::Eq => values.iter().map(|&v| v == x).collect(),
            CmpOp::Ne => values.iter().map(|&v| v != x).collect(),
            CmpOp::Lt => values.iter().map(|&v| v < x).collect(),
            CmpOp::Le => values.iter().map(|&v| v <= x).collect(),
            CmpOp::Gt => values.iter().map(|&v| v > x).collect(),
            CmpOp::Ge => values.iter().map(|&v| v >= x).collect(),
        }
    }
    let integer = literal.is_number() && !matches!(literal, Value::F64(_));
    let wide = literal.as_i128();
    let bits = match (&column.data, literal) {
        (ColumnData::Str(s), Value::Str(text)) => {
            let table = memo.test(expr, &s.dict, |d| op.holds((**d).cmp(&**text)));
            Some(lookup(&table, &s.codes))
        }
        (ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v), _) if integer => {
            wide.and_then(|w| i64::try_from(w).ok()).map(|x| typed(v, x, op))
        }
        (ColumnData::U64(v) | ColumnData::Address(v), _) if integer => {
            wide.and_then(|w| u64::try_from(w).ok()).map(|x| typed(v, x, op))
        }
        (ColumnData::F64(v), _) if literal.is_number() => literal.as_f64().map(|x| typed(v, x, op)),
        _ => None,
    };
    match bits {
        Some(bits) => bools(bits, column.validity.clone()),
        None => build(
            Type::Bool,
            (0..column.len())
                .map(|k| column.value(k).compare(literal).map_or(Value::Null, |o| Value::Bool(op.holds(o)))),
        ),
    }
}

/// A text test, run once per distinct string of a dictionary column.
fn per_text(
    expr: &TExpr,
    column: &DenseColumn,
    negated: bool,
    memo: &Memo,
    test: impl Fn(&str) -> bool,
) -> DenseColumn {
    if let ColumnData::Str(s) = &column.data {
        let table = memo.test(expr, &s.dict, |d| test(d) != negated);
        return bools(lookup(&table, &s.codes), column.validity.clone());
    }
    build(
        Type::Bool,
        (0..column.len()).map(|k| match column.value(k) {
            Value::Null => Value::Null,
            Value::Str(text) => Value::Bool(test(&text) != negated),
            other => Value::Bool(test(&other.to_string()) != negated),
        }),
    )
}

fn call(expr: &TExpr, func: ScalarFn, args: &[TExpr], frame: &Frame<'_>, rows: Rows<'_>, memo: &Memo) -> DenseColumn {
    let ty = expr.ty;
    let evaluated: Vec<DenseColumn> = args.iter().map(|a| eval(a, frame, rows, memo)).collect();
    let n = rows.len();
    let rest_constant = args.iter().skip(1).all(|a| matches!(a.kind, TKind::Literal(_)));
    if let (Some(DenseColumn { data: ColumnData::Str(s), validity }), true) = (evaluated.first(), rest_constant) {
        if func.is_per_string(args.len()) {
            let constants: Vec<Value> = evaluated.iter().skip(1).map(|c| c.value(0)).collect();
            let mapped = memo.map(expr, &s.dict, || {
                let per_entry = s.dict.values().iter().map(|d| {
                    let mut call_args = vec![Value::Str(d.clone())];
                    call_args.extend(constants.iter().cloned());
                    func.apply(&call_args)
                });
                if ty == Type::Str {
                    let mut dict = Dictionary::new();
                    let recode = per_entry.map(|v| dict.intern(v.as_str().unwrap_or(""))).collect();
                    Mapped::Text { dict: Arc::new(dict), recode }
                } else {
                    Mapped::Values(per_entry.collect())
                }
            });
            let column = match &*mapped {
                Mapped::Text { dict, recode } => {
                    let codes = s.codes.iter().map(|&c| recode.get(c as usize).copied().unwrap_or(0)).collect();
                    DenseColumn { data: ColumnData::Str(StrData { codes, dict: dict.clone() }), validity: None }
                }
                Mapped::Values(values) => {
                    build(ty, s.codes.iter().map(|&c| values.get(c as usize).cloned().unwrap_or(Value::Null)))
                }
            };
            return match validity {
                Some(v) => column.with_validity(v.clone()),
                None => column,
            };
        }
    }
    build(
        ty,
        (0..n).map(|k| {
            let values: Vec<Value> = evaluated.iter().map(|c| c.value(k)).collect();
            func.apply(&values)
        }),
    )
}

fn negate(value: &Value) -> Value {
    match *value {
        Value::I64(v) => v.checked_neg().map_or(Value::Null, Value::I64),
        Value::U64(v) | Value::Address(v) => i64::try_from(-(i128::from(v))).map_or(Value::Null, Value::I64),
        Value::F64(v) => Value::F64(-v),
        Value::Duration(v) => v.checked_neg().map_or(Value::Null, Value::Duration),
        Value::Timestamp(v) => v.checked_neg().map_or(Value::Null, Value::Timestamp),
        _ => Value::Null,
    }
}

/// One arithmetic result; overflow and division by zero give null.
fn arith(op: ArithOp, a: &Value, b: &Value, ty: Type) -> Value {
    let float = ty == Type::F64 || (ty == Type::Any && (matches!(a, Value::F64(_)) || matches!(b, Value::F64(_))));
    if float {
        let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
            return Value::Null;
        };
        if matches!(op, ArithOp::Div | ArithOp::Rem) && y == 0.0 {
            return Value::Null;
        }
        return Value::F64(match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            ArithOp::Div => x / y,
            ArithOp::Rem => x % y,
        });
    }
    let (Some(x), Some(y)) = (a.as_i128(), b.as_i128()) else {
        return Value::Null;
    };
    let result = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => x.checked_div(y),
        ArithOp::Rem => x.checked_rem(y),
    };
    let Some(result) = result else {
        return Value::Null;
    };
    let signed = || i64::try_from(result).ok();
    let unsigned = || u64::try_from(result).ok();
    let value = match ty {
        Type::U64 => unsigned().map(Value::U64),
        Type::Address => unsigned().map(Value::Address),
        Type::Duration => signed().map(Value::Duration),
        Type::Timestamp => signed().map(Value::Timestamp),
        _ => signed().map(Value::I64),
    };
    value.unwrap_or(Value::Null)
}

/// A row's key as a number: dictionary code, integer bits or float bits.
fn key_bits(column: &DenseColumn, row: usize) -> Option<u64> {
    if !column.is_valid(row) {
        return None;
    }
    match &column.data {
        ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.get(row).map(|&x| x as u64),
        ColumnData::U64(v) | ColumnData::Address(v) => v.get(row).copied(),
        ColumnData::F64(v) => v.get(row).map(|x| x.to_bits()),
        ColumnData::Bool(v) => v.get(row).map(|&b| u64::from(b)),
        ColumnData::Str(s) => s.codes.get(row).map(|&c| u64::from(c)),
        ColumnData::Fields(_) => Some(0),
    }
}

/// For keys that are all strings or booleans with few combinations: each
/// key's (stride, size) in a dense slot table; slot 0 of a key is its null.
fn dense_strides(keys: &[&DenseColumn]) -> Option<Vec<(usize, usize)>> {
    const MAX_SLOTS: usize = 1 << 22;
    let mut strides = Vec::with_capacity(keys.len());
    let mut stride = 1usize;
    for key in keys {
        let size = match &key.data {
            ColumnData::Str(s) => s.dict.len() + 1,
            ColumnData::Bool(_) => 3,
            _ => return None,
        };
        strides.push((stride, size));
        stride = stride.checked_mul(size).filter(|&total| total <= MAX_SLOTS)?;
    }
    Some(strides)
}

/// The group of every row (in first-appearance order) and each group's first row.
fn assign_groups(keys: &[&DenseColumn], n: usize, cancel: &AtomicBool) -> Result<(Vec<u32>, Vec<u32>), QueryError> {
    let mut group_of = Vec::with_capacity(n);
    let mut first_rows: Vec<u32> = Vec::new();
    if keys.is_empty() {
        return Ok((vec![0; n], Vec::new()));
    }
    let new_group = |row: usize, first_rows: &mut Vec<u32>| {
        first_rows.push(row as u32);
        (first_rows.len() - 1) as u32
    };
    if let [DenseColumn { data: ColumnData::Str(s), validity: None }] = keys {
        // One string key: the dictionary code indexes the groups directly.
        let mut slot = vec![u32::MAX; s.dict.len()];
        for (start, chunk) in s.codes.chunks(CHUNK).enumerate() {
            check(cancel)?;
            for (k, &code) in chunk.iter().enumerate() {
                let row = start * CHUNK + k;
                let group = match slot.get_mut(code as usize) {
                    Some(g) if *g != u32::MAX => *g,
                    Some(g) => {
                        *g = new_group(row, &mut first_rows);
                        *g
                    }
                    None => 0,
                };
                group_of.push(group);
            }
        }
        return Ok((group_of, first_rows));
    }
    if let [key] = keys {
        let mut groups: HashMap<Option<u64>, u32> = HashMap::new();
        for row in 0..n {
            if row % CHUNK == 0 {
                check(cancel)?;
            }
            let bits = key_bits(key, row);
            let group = *groups.entry(bits).or_insert_with(|| new_group(row, &mut first_rows));
            group_of.push(group);
        }
        return Ok((group_of, first_rows));
    }
    if let Some(strides) = dense_strides(keys) {
        // Several low-cardinality keys (strings, booleans): one slot per combination.
        let slots: usize = strides.last().map_or(1, |&(stride, size)| stride * size);
        let mut slot = vec![u32::MAX; slots];
        for row in 0..n {
            if row % CHUNK == 0 {
                check(cancel)?;
            }
            let index: usize = keys
                .iter()
                .zip(&strides)
                .map(|(k, &(stride, _))| key_bits(k, row).map_or(0, |b| b as usize + 1) * stride)
                .sum();
            let group = match slot.get_mut(index) {
                Some(g) if *g != u32::MAX => *g,
                Some(g) => {
                    *g = new_group(row, &mut first_rows);
                    *g
                }
                None => 0,
            };
            group_of.push(group);
        }
        return Ok((group_of, first_rows));
    }
    let mut groups: HashMap<Vec<Option<u64>>, u32> = HashMap::new();
    let mut probe = Vec::with_capacity(keys.len());
    for row in 0..n {
        if row % CHUNK == 0 {
            check(cancel)?;
        }
        probe.clear();
        probe.extend(keys.iter().map(|k| key_bits(k, row)));
        let group = match groups.get(&probe) {
            Some(&g) => g,
            None => {
                let g = new_group(row, &mut first_rows);
                groups.insert(probe.clone(), g);
                g
            }
        };
        group_of.push(group);
    }
    Ok((group_of, first_rows))
}

/// One aggregate over every group.
fn accumulate(
    aggregate: &AggCall,
    arg: Option<&DenseColumn>,
    group_of: &[u32],
    groups: usize,
    cancel: &AtomicBool,
) -> Result<DenseColumn, QueryError> {
    let valid = |k: usize| arg.is_none_or(|c| c.is_valid(k));
    let each = |f: &mut dyn FnMut(usize, usize)| -> Result<(), QueryError> {
        for (start, chunk) in group_of.chunks(CHUNK).enumerate() {
            check(cancel)?;
            for (k, &g) in chunk.iter().enumerate() {
                let row = start * CHUNK + k;
                // A group id is always below `groups`; the check keeps a bad
                // dictionary code in the input from ever indexing out of range.
                if valid(row) && (g as usize) < groups {
                    f(row, g as usize);
                }
            }
        }
        Ok(())
    };
    let ty = aggregate.ty;
    match aggregate.func {
        AggFn::Count => {
            let mut counts = vec![0u64; groups];
            if arg.is_none() && groups > 0 {
                for chunk in group_of.chunks(CHUNK) {
                    check(cancel)?;
                    for &g in chunk {
                        if let Some(c) = counts.get_mut(g as usize) {
                            *c += 1;
                        }
                    }
                }
            } else {
                each(&mut |_, g| counts[g] += 1)?;
            }
            Ok(DenseColumn::new(ColumnData::U64(counts)))
        }
        AggFn::Dcount => {
            let mut seen: Vec<HashSet<u64>> = vec![HashSet::new(); groups];
            if let Some(column) = arg {
                each(&mut |row, g| {
                    if let Some(bits) = key_bits(column, row) {
                        seen[g].insert(bits);
                    }
                })?;
            }
            Ok(DenseColumn::new(ColumnData::U64(seen.iter().map(|s| s.len() as u64).collect())))
        }
        AggFn::Sum | AggFn::Avg => {
            let Some(column) = arg else { return Ok(build(ty, std::iter::repeat_n(Value::Null, groups))) };
            let mut counts = vec![0u64; groups];
            let float =
                ty == Type::F64 && aggregate.func == AggFn::Sum || column.column_type() == columnar::ColumnType::F64;
            let mut int_sums = vec![0i128; groups];
            let mut float_sums = vec![0f64; groups];
            let typed = column.validity.is_none() && !float && aggregate.func == AggFn::Sum;
            let summed_typed = typed && {
                let mut add = |g: u32, x: i128| {
                    if let (Some(count), Some(sum)) = (counts.get_mut(g as usize), int_sums.get_mut(g as usize)) {
                        *count += 1;
                        *sum = sum.saturating_add(x);
                    }
                };
                match &column.data {
                    ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => {
                        for_each_row(group_of, v, cancel, |g, &x| add(g, x.into()))?;
                        true
                    }
                    ColumnData::U64(v) | ColumnData::Address(v) => {
                        for_each_row(group_of, v, cancel, |g, &x| add(g, x.into()))?;
                        true
                    }
                    _ => false,
                }
            };
            if !summed_typed {
                each(&mut |row, g| {
                    let value = column.value(row);
                    counts[g] += 1;
                    if float || aggregate.func == AggFn::Avg {
                        float_sums[g] += value.as_f64().unwrap_or(0.0);
                    }
                    if !float {
                        int_sums[g] = int_sums[g].saturating_add(value.as_i128().unwrap_or(0));
                    }
                })?;
            }
            let values = (0..groups).map(|g| {
                if counts[g] == 0 {
                    return Value::Null;
                }
                match (aggregate.func, ty) {
                    (AggFn::Avg, Type::Duration) => Value::Duration((float_sums[g] / counts[g] as f64).round() as i64),
                    (AggFn::Avg, _) => Value::F64(float_sums[g] / counts[g] as f64),
                    (_, Type::F64) if float => Value::F64(float_sums[g]),
                    (_, Type::F64) => Value::F64(int_sums[g] as f64),
                    _ => wide_value(int_sums[g]),
                }
            });
            Ok(build(ty, values))
        }
        AggFn::Min | AggFn::Max => {
            let Some(column) = arg else { return Ok(build(ty, std::iter::repeat_n(Value::Null, groups))) };
            let mut best: Vec<Option<Value>> = vec![None; groups];
            let want = if aggregate.func == AggFn::Min { Ordering::Less } else { Ordering::Greater };
            each(&mut |row, g| {
                let value = column.value(row);
                let better = match &best[g] {
                    None => true,
                    Some(current) => value.sort_order(current) == want,
                };
                if better {
                    best[g] = Some(value);
                }
            })?;
            Ok(build(ty, best.into_iter().map(|v| v.unwrap_or(Value::Null))))
        }
        AggFn::First | AggFn::Last => {
            let Some(column) = arg else { return Ok(build(ty, std::iter::repeat_n(Value::Null, groups))) };
            let mut picked: Vec<Option<usize>> = vec![None; groups];
            let first = aggregate.func == AggFn::First;
            each(&mut |row, g| {
                if !first || picked[g].is_none() {
                    picked[g] = Some(row);
                }
            })?;
            Ok(build(ty, picked.into_iter().map(|r| r.map_or(Value::Null, |r| column.value(r)))))
        }
        AggFn::Percentile(p) => {
            let Some(column) = arg else { return Ok(build(ty, std::iter::repeat_n(Value::Null, groups))) };
            let values: Vec<Value> = match (&column.data, column.validity.is_none()) {
                (ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v), true) => {
                    percentile_by_group(v, group_of, groups, p, |a, b| a.cmp(b), cancel)?
                        .into_iter()
                        .map(|x| x.map_or(Value::Null, Value::I64))
                        .collect()
                }
                (ColumnData::U64(v) | ColumnData::Address(v), true) => {
                    percentile_by_group(v, group_of, groups, p, |a, b| a.cmp(b), cancel)?
                        .into_iter()
                        .map(|x| x.map_or(Value::Null, Value::U64))
                        .collect()
                }
                _ => {
                    // Nulls and dynamic values: through values, as floats.
                    let floats: Vec<f64> =
                        (0..column.len()).map(|r| column.value(r).as_f64().unwrap_or(f64::NAN)).collect();
                    let keep: Vec<u32> = group_of
                        .iter()
                        .enumerate()
                        .map(|(r, &g)| if floats[r].is_nan() { u32::MAX } else { g })
                        .collect();
                    // The result keeps the column's kind, so a duration stays a duration.
                    let back = |x: f64| match &column.data {
                        ColumnData::I64(_) | ColumnData::Timestamp(_) | ColumnData::Duration(_) => Value::I64(x as i64),
                        ColumnData::U64(_) | ColumnData::Address(_) => Value::U64(x as u64),
                        _ => Value::F64(x),
                    };
                    percentile_by_group(&floats, &keep, groups, p, f64::total_cmp, cancel)?
                        .into_iter()
                        .map(|x| x.map_or(Value::Null, back))
                        .collect()
                }
            };
            Ok(build(ty, values.into_iter()))
        }
    }
}

/// Calls `f(group, value)` for each row of a column without nulls, a chunk at a time.
fn for_each_row<T>(
    group_of: &[u32],
    values: &[T],
    cancel: &AtomicBool,
    mut f: impl FnMut(u32, &T),
) -> Result<(), QueryError> {
    for (groups, values) in group_of.chunks(CHUNK).zip(values.chunks(CHUNK)) {
        check(cancel)?;
        for (&g, v) in groups.iter().zip(values) {
            f(g, v);
        }
    }
    Ok(())
}

/// Nearest-rank percentile `p` of each group's values (rows whose group is
/// out of range are skipped), by selection rather than a full sort.
fn percentile_by_group<T: Copy>(
    values: &[T],
    group_of: &[u32],
    groups: usize,
    p: u8,
    order: impl Fn(&T, &T) -> Ordering + Copy,
    cancel: &AtomicBool,
) -> Result<Vec<Option<T>>, QueryError> {
    let mut by_group: Vec<Vec<T>> = vec![Vec::new(); groups];
    for (chunk_index, chunk) in group_of.chunks(CHUNK).enumerate() {
        check(cancel)?;
        for (k, &g) in chunk.iter().enumerate() {
            if let (Some(list), Some(&v)) = (by_group.get_mut(g as usize), values.get(chunk_index * CHUNK + k)) {
                list.push(v);
            }
        }
    }
    check(cancel)?;
    Ok(by_group
        .iter_mut()
        .map(|list| {
            if list.is_empty() {
                return None;
            }
            let rank = ((f64::from(p) / 100.0 * list.len() as f64).ceil() as usize).clamp(1, list.len()) - 1;
            let (_, nth, _) = list.select_nth_unstable_by(rank, order);
            Some(*nth)
        })
        .collect())
}

/// An exact integer as the narrowest value that holds it (the builder then
/// stores it in the column's own kind).
fn wide_value(v: i128) -> Value {
    i64::try_from(v).map(Value::I64).or_else(|_| u64::try_from(v).map(Value::U64)).unwrap_or(Value::Null)
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
            ColumnData::U64(v) | ColumnData::Address(v) => v.get(a).cmp(&v.get(b)),
            ColumnData::F64(v) => match (v.get(a), v.get(b)) {
                (Some(x), Some(y)) => x.total_cmp(y),
                _ => Ordering::Equal,
            },
            ColumnData::Bool(v) => v.get(a).cmp(&v.get(b)),
            ColumnData::Str(s) => {
                let rank = |row: usize| {
                    let code = s.codes.get(row).copied().unwrap_or(0) as usize;
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
