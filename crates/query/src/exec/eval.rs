//! The expression evaluator: a typed expression over a chunk of rows into one
//! contiguous column, with string tests and functions run once per distinct
//! dictionary value.
use super::{check, Frame, Rows};
use crate::error::QueryError;
use crate::functions::ScalarFn;
use crate::plan::{ArithOp, CmpOp, TExpr, TKind};
use crate::types::Type;
use columnar::{Bitmap, Column, ColumnBuilder, ColumnData, DenseColumn, Dictionary, StrData, UInts, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Per-dictionary results kept for the whole query, so that a regex or a
/// string function runs once per distinct value however many chunks follow.
/// Entries hold the dictionary they were computed from, which keeps its
/// address from being reused by another dictionary while the key is live.
#[derive(Default)]
pub(super) struct Memo {
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

fn lookup(table: &[bool], codes: &UInts) -> Vec<bool> {
    codes.map(|c| table.get(c as usize).copied().unwrap_or(false))
}

/// Evaluates over every selected row. A plain column is shared, not copied:
/// whole when every row is selected, behind the selection otherwise.
pub(super) fn eval_all(
    expr: &TExpr,
    frame: &Frame<'_>,
    cancel: &AtomicBool,
    memo: &Memo,
) -> Result<Column, QueryError> {
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
pub(super) fn eval_dense<'f>(
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
pub(super) fn build(ty: Type, values: impl Iterator<Item = Value>) -> DenseColumn {
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

fn bools(bits: Vec<bool>, validity: Option<Bitmap>) -> DenseColumn {
    DenseColumn { data: ColumnData::Bool(bits), validity }
}

fn truth(column: &DenseColumn, k: usize) -> Option<bool> {
    match &column.data {
        ColumnData::Bool(bits) if column.is_valid(k) => bits.get(k).copied(),
        _ => None,
    }
}

/// Evaluates `expr` for `rows` of `frame`; the result has one value per row.
pub(super) fn eval(expr: &TExpr, frame: &Frame<'_>, rows: Rows<'_>, memo: &Memo) -> DenseColumn {
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
            data: ColumnData::Str(StrData {
                codes: UInts::collect(std::iter::repeat_n(u64::from(code), n)),
                dict: Arc::new(dict),
            }),
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
        (ColumnData::U64(v), _) if integer => wide.and_then(|w| u64::try_from(w).ok()).map(|x| match op {
            CmpOp::Eq => v.map(|v| v == x),
            CmpOp::Ne => v.map(|v| v != x),
            CmpOp::Lt => v.map(|v| v < x),
            CmpOp::Le => v.map(|v| v <= x),
            CmpOp::Gt => v.map(|v| v > x),
            CmpOp::Ge => v.map(|v| v >= x),
        }),
        (ColumnData::Address(v), _) if integer => wide.and_then(|w| u64::try_from(w).ok()).map(|x| typed(v, x, op)),
        (ColumnData::Status(v), _) if integer => wide.and_then(|w| u32::try_from(w).ok()).map(|x| typed(v, x, op)),
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
                    let codes =
                        UInts::collect(s.codes.map(|c| u64::from(recode.get(c as usize).copied().unwrap_or(0))));
                    DenseColumn { data: ColumnData::Str(StrData { codes, dict: dict.clone() }), validity: None }
                }
                Mapped::Values(values) => {
                    build(ty, s.codes.map(|c| values.get(c as usize).cloned().unwrap_or(Value::Null)).into_iter())
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
        Value::Status(v) => Value::I64(-i64::from(v)),
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
        Type::Status => u32::try_from(result).ok().map(Value::Status),
        Type::Duration => signed().map(Value::Duration),
        Type::Timestamp => signed().map(Value::Timestamp),
        _ => signed().map(Value::I64),
    };
    value.unwrap_or(Value::Null)
}
