//! Window functions: each row's value from its partition's rows in the
//! window's order (row_number, lag, lead, delta, running_sum).
use crate::functions::WindowFn;
use crate::types::Type;
use columnar::{Column, ColumnBuilder, DenseColumn, Value};

/// The function's value for each selected row (by its place in the
/// selection), given the rows in partition-then-window order (`sorted`).
pub(super) fn values(
    func: WindowFn,
    sorted: &[u32],
    partition: &[std::borrow::Cow<'_, DenseColumn>],
    arg: Option<&DenseColumn>,
    ty: Type,
) -> Vec<Value> {
    let mut out = vec![Value::Null; sorted.len()];
    let x = |row: usize| arg.map_or(Value::Null, |a| a.value(row));
    let (mut previous, mut number, mut running): (Option<usize>, u64, Option<Value>) = (None, 0, None);
    for &row in sorted {
        let row = row as usize;
        let same = previous.is_some_and(|p| partition.iter().all(|c| c.value(p) == c.value(row)));
        if !same {
            (number, running) = (0, None);
        }
        number += 1;
        out[row] = match func {
            WindowFn::RowNumber => Value::U64(number),
            WindowFn::Lag => previous.filter(|_| same).map_or(Value::Null, x),
            WindowFn::Lead => {
                if let Some(p) = previous.filter(|_| same) {
                    out[p] = x(row);
                }
                Value::Null
            }
            WindowFn::Delta => previous.filter(|_| same).map_or(Value::Null, |p| difference(&x(row), &x(p), ty)),
            WindowFn::RunningSum => {
                let sum = match (&running, x(row)) {
                    (_, Value::Null) => running.clone().unwrap_or(Value::Null),
                    (None, v) => sum_of(&Value::I64(0), &v, ty),
                    (Some(total), v) => sum_of(total, &v, ty),
                };
                running = Some(sum.clone()).filter(|s| !s.is_null());
                sum
            }
        };
        previous = Some(row);
    }
    out
}

/// `a - b` as a value of `ty`.
fn difference(a: &Value, b: &Value, ty: Type) -> Value {
    if ty == Type::F64 {
        return match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => Value::F64(a - b),
            _ => Value::Null,
        };
    }
    match (a.as_i128(), b.as_i128()) {
        (Some(a), Some(b)) => typed(a - b, ty),
        _ => Value::Null,
    }
}

/// `total + v` as a value of `ty`.
fn sum_of(total: &Value, v: &Value, ty: Type) -> Value {
    if ty == Type::F64 {
        return match (total.as_f64(), v.as_f64()) {
            (Some(t), Some(v)) => Value::F64(t + v),
            _ => Value::Null,
        };
    }
    match (total.as_i128(), v.as_i128()) {
        (Some(t), Some(v)) => typed(t.saturating_add(v), ty),
        _ => Value::Null,
    }
}

/// An integer result as a value of `ty`; null when it does not fit.
fn typed(v: i128, ty: Type) -> Value {
    let signed = i64::try_from(v).ok();
    let value = match ty {
        Type::Duration => signed.map(Value::Duration),
        Type::Timestamp => signed.map(Value::Timestamp),
        Type::U64 => u64::try_from(v).ok().map(Value::U64),
        Type::Address => u64::try_from(v).ok().map(Value::Address),
        Type::Status => u32::try_from(v).ok().map(Value::Status),
        _ => signed.map(Value::I64),
    };
    value.unwrap_or(Value::Null)
}

/// A column of the frame's length holding each selected row's value at its row.
pub(super) fn aligned(values: Vec<Value>, len: usize, selection: Option<&[u32]>, ty: Type) -> Column {
    let mut at = vec![None; len];
    match selection {
        Some(rows) => {
            for (k, &row) in rows.iter().enumerate() {
                if let Some(slot) = at.get_mut(row as usize) {
                    *slot = Some(k);
                }
            }
        }
        None => at.iter_mut().enumerate().for_each(|(row, slot)| *slot = Some(row)),
    }
    let mut builder = match ty.column_type() {
        Some(column_type) => ColumnBuilder::new(column_type),
        None => {
            return ColumnBuilder::infer(
                &at.iter().map(|k| k.map_or(Value::Null, |k| values[k].clone())).collect::<Vec<_>>(),
            )
        }
    };
    for slot in at {
        match slot.and_then(|k| values.get(k)) {
            Some(value) => builder.push(value),
            None => builder.push_null(),
        }
    }
    builder.finish()
}
