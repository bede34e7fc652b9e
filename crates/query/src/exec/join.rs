//! The join stage: the other side's rows (a plan of their own), the pairs of
//! (left row, right row) that match, then the joined rows: the left's
//! columns and the right's behind one shared row list each, nothing copied.
//! Pairs come in the left's order, and a left row's matches in the right's.
use super::during::during_pairs;
use super::eval::{eval_dense, Memo};
use super::join_keys::{key_pair, KeyGroups, KeyWords, Members, NONE};
use super::{check, execute, Frame, CHUNK};
use crate::ast::JoinKind;
use crate::catalog::Catalog;
use crate::error::{ErrorKind, QueryError};
use crate::plan::JoinStage;
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The most rows a join may make: each costs 8 bytes of row numbers (16
/// while they are put together) before any column is read, and no one reads
/// a result this long. Counted as the pairs are made, so a join on keys
/// that pair everything with everything stops early.
pub const MAX_JOIN_ROWS: usize = 100_000_000;

/// Pairs counted against the budget at least this often.
pub(super) const COUNT_EVERY: usize = 1 << 16;

/// Matching rows: `left[i]` (a place in the left's selection) with `right[i]`
/// (a row of the right, NONE for a left join's unmatched row).
#[derive(Default)]
pub(super) struct Pairs {
    pub(super) left: Vec<u32>,
    pub(super) right: Vec<u32>,
    /// How many of them the budget has counted.
    counted: usize,
}

impl Pairs {
    pub(super) fn with_capacity(rows: usize) -> Pairs {
        Pairs { left: Vec::with_capacity(rows), right: Vec::with_capacity(rows), counted: 0 }
    }

    pub(super) fn push(&mut self, left: u32, right: u32) {
        self.left.push(left);
        self.right.push(right);
    }
}

/// Counts rows made against [`MAX_JOIN_ROWS`] across threads.
pub(super) struct RowBudget(AtomicUsize);

impl RowBudget {
    pub(super) fn new() -> RowBudget {
        RowBudget(AtomicUsize::new(0))
    }

    /// Counts the pairs made since the last count, once there are `at_least`.
    pub(super) fn count(&self, pairs: &mut Pairs, at_least: usize) -> Result<(), QueryError> {
        let new = pairs.left.len() - pairs.counted;
        if new >= at_least.max(1) {
            self.spend(new)?;
            pairs.counted = pairs.left.len();
        }
        Ok(())
    }

    pub(super) fn spend(&self, rows: usize) -> Result<(), QueryError> {
        let total = self.0.fetch_add(rows, Ordering::Relaxed) + rows;
        if total > MAX_JOIN_ROWS {
            return Err(QueryError::new(
                ErrorKind::Limit,
                format!("the join makes more than {MAX_JOIN_ROWS} rows: narrow it first (a where before it, or more keys in 'on')"),
                None,
            ));
        }
        Ok(())
    }
}

pub(super) fn run<'a>(
    join: &JoinStage,
    frame: Frame<'a>,
    catalog: &dyn Catalog,
    cancel: &AtomicBool,
    memo: &Memo,
) -> Result<Frame<'a>, QueryError> {
    let Some(table) = catalog.table(&join.right.table) else {
        let message = format!("unknown table '{}'", join.right.table);
        return Err(QueryError::new(ErrorKind::UnknownName, message, None));
    };
    let right = execute(&join.right, table, catalog, cancel)?;
    let right_frame = Frame::borrowed(&right);
    let right_memo = Memo::default();
    let left_keys =
        join.left_keys.iter().map(|k| eval_dense(k, &frame, cancel, memo)).collect::<Result<Vec<_>, _>>()?;
    let right_keys = join
        .right_keys
        .iter()
        .map(|k| eval_dense(k, &right_frame, cancel, &right_memo))
        .collect::<Result<Vec<_>, _>>()?;
    let (left_words, right_words): (Vec<KeyWords>, Vec<KeyWords>) =
        left_keys.iter().zip(&right_keys).map(|(l, r)| key_pair(l, r)).unzip();
    let (n_left, n_right) = (frame.selected_len(), right.row_count());
    let pairs = match (join.kind, &join.times) {
        (JoinKind::During, Some((left_time, right_time))) => {
            let left_times = super::during::Times::eval(left_time, &frame, cancel, memo)?;
            let right_times = super::during::Times::eval(right_time, &right_frame, cancel, &right_memo)?;
            during_pairs(&left_words, &right_words, &left_times, &right_times, cancel)?
        }
        (kind, _) => hash_join(&left_words, &right_words, n_left, n_right, kind == JoinKind::Left, cancel)?,
    };
    check(cancel)?;
    let Pairs { left, right: right_rows, .. } = pairs;
    let left_rows: Arc<[u32]> = match &frame.selection {
        Some(selection) => left.iter().map(|&k| selection[k as usize]).collect(),
        None => Arc::from(left),
    };
    let right_rows: Arc<[u32]> = Arc::from(right_rows);
    let Frame { mut names, mut docs, columns, .. } = frame;
    let mut joined: Vec<Cow<'a, _>> = columns.iter().map(|c| Cow::Owned(c.as_ref().select(&left_rows))).collect();
    for (column, name) in right.columns.iter().zip(&join.right_names) {
        joined.push(Cow::Owned(column.column.select(&right_rows)));
        names.push(name.clone());
        docs.push(column.doc.clone());
    }
    Ok(Frame { names, docs, columns: joined, len: left_rows.len(), selection: None })
}

/// Equal keys: a hash of the smaller side's keys, probed with the other's.
fn hash_join(
    left: &[KeyWords<'_>],
    right: &[KeyWords<'_>],
    n_left: usize,
    n_right: usize,
    keep_unmatched: bool,
    cancel: &AtomicBool,
) -> Result<Pairs, QueryError> {
    let budget = RowBudget::new();
    if n_right <= n_left {
        let (mut groups, group_of) = KeyGroups::build(right, n_right, |_| false, cancel)?;
        let members = Members::of(&group_of, groups.count());
        drop(group_of);
        // Unique keys (an id): `find` gives the one right row itself.
        let unique = groups.find_rows_directly(&members);
        let chunks = probe_in_chunks(n_left, &budget, cancel, |k, pairs| match groups.find(left, k) {
            Some(row) if unique => pairs.push(k as u32, row),
            // One push per match: most keys have one or two, too few for a copy.
            Some(group) => members.of_group(group as usize).iter().for_each(|&r| pairs.push(k as u32, r)),
            None if keep_unmatched => pairs.push(k as u32, NONE),
            None => {}
        });
        concatenate(chunks)
    } else {
        // The left is smaller: hash it, probe with the right, then put the pairs in the left's order.
        let (groups, group_of) = KeyGroups::build(left, n_left, |_| false, cancel)?;
        let members = Members::of(&group_of, groups.count());
        drop(group_of);
        let chunks = probe_in_chunks(n_right, &budget, cancel, |r, pairs| {
            let matches = groups.find(right, r).map_or(&[][..], |g| members.of_group(g as usize));
            for &k in matches {
                pairs.push(k, r as u32);
            }
        });
        let batches = chunks.into_iter().collect::<Result<Vec<_>, _>>()?;
        in_left_order(batches, n_left, keep_unmatched, &budget, cancel)
    }
}

/// Rows `0..n` probed in chunks on all cores: `probe` adds each row's pairs, and
/// the budget is counted as they grow. One result per chunk, in row order.
fn probe_in_chunks(
    n: usize,
    budget: &RowBudget,
    cancel: &AtomicBool,
    probe: impl Fn(usize, &mut Pairs) + Sync,
) -> Vec<Result<Pairs, QueryError>> {
    (0..n)
        .step_by(CHUNK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            check(cancel)?;
            let mut pairs = Pairs::with_capacity(CHUNK);
            for row in start..(start + CHUNK).min(n) {
                probe(row, &mut pairs);
                budget.count(&mut pairs, COUNT_EVERY)?;
            }
            budget.count(&mut pairs, 0)?;
            Ok(pairs)
        })
        .collect()
}

fn concatenate(chunks: Vec<Result<Pairs, QueryError>>) -> Result<Pairs, QueryError> {
    let mut all = Pairs::default();
    let total = chunks.iter().map(|c| c.as_ref().map_or(0, |p| p.left.len())).sum();
    all.left.reserve_exact(total);
    all.right.reserve_exact(total);
    for chunk in chunks {
        let chunk = chunk?;
        all.left.extend_from_slice(&chunk.left);
        all.right.extend_from_slice(&chunk.right);
    }
    Ok(all)
}

/// Pairs from batches in any order of left rows, put in the left's order
/// (stable: a left row's pairs keep the order the batches give them). With
/// `keep_unmatched`, a left row in no pair gets one with NONE.
pub(super) fn in_left_order(
    batches: Vec<Pairs>,
    n_left: usize,
    keep_unmatched: bool,
    budget: &RowBudget,
    cancel: &AtomicBool,
) -> Result<Pairs, QueryError> {
    let mut next = vec![0u32; n_left + 1];
    for batch in &batches {
        for &k in &batch.left {
            next[k as usize + 1] += 1;
        }
    }
    if keep_unmatched {
        let unmatched = next[1..].iter().filter(|&&c| c == 0).count();
        budget.spend(unmatched)?;
        next[1..].iter_mut().filter(|c| **c == 0).for_each(|c| *c = 1);
    }
    check(cancel)?;
    for k in 0..n_left {
        next[k + 1] += next[k];
    }
    let total = next[n_left] as usize;
    let mut left = Vec::with_capacity(total);
    for k in 0..n_left {
        left.extend(std::iter::repeat_n(k as u32, (next[k + 1] - next[k]) as usize));
    }
    let mut right = vec![NONE; total];
    for batch in batches {
        for (&k, &r) in batch.left.iter().zip(&batch.right) {
            let at = &mut next[k as usize];
            right[*at as usize] = r;
            *at += 1;
        }
    }
    Ok(Pairs { left, right, counted: total })
}
