//! Grouping and aggregates: each row's group from its key columns, then every
//! aggregate over every group.
use super::eval::build;
use super::{check, CHUNK};
use crate::error::QueryError;
use crate::functions::AggFn;
use crate::plan::AggCall;
use crate::types::Type;
use columnar::{ColumnData, DenseColumn, UInts, Value};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

/// Group numbers by key: aHash, as SipHash costs more than the rest of a
/// group-by over millions of rows (the keys are the trace's, and aHash is seeded at run time).
type Groups<K> = HashMap<K, u32, ahash::RandomState>;

/// A row's key as a number: dictionary code, integer bits or float bits.
fn key_bits(column: &DenseColumn, row: usize) -> Option<u64> {
    if !column.is_valid(row) {
        return None;
    }
    match &column.data {
        ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.get(row).map(|&x| x as u64),
        ColumnData::U64(v) => v.get(row),
        ColumnData::Address(v) => v.get(row).copied(),
        ColumnData::Status(v) => v.get(row).map(|&x| u64::from(x)),
        ColumnData::F64(v) => v.get(row).map(|x| x.to_bits()),
        ColumnData::Bool(v) => v.get(row).map(|&b| u64::from(b)),
        ColumnData::Str(s) => s.codes.get(row),
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
pub(super) fn assign_groups(
    keys: &[&DenseColumn],
    n: usize,
    cancel: &AtomicBool,
) -> Result<(Vec<u32>, Vec<u32>), QueryError> {
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
        for start in (0..s.codes.len()).step_by(CHUNK) {
            check(cancel)?;
            let mut row = start;
            s.codes.for_each_in(start, start + CHUNK, |code| {
                let group = match slot.get_mut(code as usize) {
                    Some(g) if *g != u32::MAX => *g,
                    Some(g) => {
                        *g = new_group(row, &mut first_rows);
                        *g
                    }
                    None => 0,
                };
                group_of.push(group);
                row += 1;
            });
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
    if let [key] = keys {
        // Rows in a run often share their key: the last one is tried before the map.
        let mut groups: Groups<Option<u64>> = Groups::default();
        let mut last: Option<(Option<u64>, u32)> = None;
        for row in 0..n {
            if row % CHUNK == 0 {
                check(cancel)?;
            }
            let bits = key_bits(key, row);
            let group = match last {
                Some((key, group)) if key == bits => group,
                _ => *groups.entry(bits).or_insert_with(|| new_group(row, &mut first_rows)),
            };
            last = Some((bits, group));
            group_of.push(group);
        }
        return Ok((group_of, first_rows));
    }
    let mut groups: Groups<Vec<Option<u64>>> = Groups::default();
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
pub(super) fn accumulate(
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
            Ok(DenseColumn::new(ColumnData::U64(counts.into())))
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
            Ok(DenseColumn::new(ColumnData::U64(UInts::collect(seen.iter().map(|s| s.len() as u64)))))
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
                    ColumnData::U64(v) => {
                        for start in (0..v.len()).step_by(CHUNK) {
                            check(cancel)?;
                            let mut row = start;
                            v.for_each_in(start, start + CHUNK, |x| {
                                if let Some(&g) = group_of.get(row) {
                                    add(g, x.into());
                                }
                                row += 1;
                            });
                        }
                        true
                    }
                    ColumnData::Address(v) => {
                        for_each_row(group_of, v, cancel, |g, &x| add(g, x.into()))?;
                        true
                    }
                    ColumnData::Status(v) => {
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
                (ColumnData::U64(v), true) => {
                    percentile_by_group(&v.to_u64s(), group_of, groups, p, |a, b| a.cmp(b), cancel)?
                        .into_iter()
                        .map(|x| x.map_or(Value::Null, Value::U64))
                        .collect()
                }
                (ColumnData::Address(v), true) => percentile_by_group(v, group_of, groups, p, |a, b| a.cmp(b), cancel)?
                    .into_iter()
                    .map(|x| x.map_or(Value::Null, Value::U64))
                    .collect(),
                (ColumnData::Status(v), true) => percentile_by_group(v, group_of, groups, p, |a, b| a.cmp(b), cancel)?
                    .into_iter()
                    .map(|x| x.map_or(Value::Null, Value::Status))
                    .collect(),
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
