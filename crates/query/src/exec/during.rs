//! `during`: the left rows whose time lies inside an interval of the right
//! with the same keys. Per key, both sides sorted by start, one sweep: the
//! right intervals begun so far and not yet ended wait in a set ordered by
//! end, and each left row takes those that end late enough. Nested
//! intervals all contain the row, so each gives a pair.
use super::eval::{eval_dense, Memo};
use super::join::{in_left_order, Pairs, RowBudget, COUNT_EVERY};
use super::join_keys::{KeyGroups, KeyWords, Members, NONE};
use super::{check, Frame, CHUNK};
use crate::error::QueryError;
use crate::plan::{Interval, IntervalEnd, TExpr, TKind};
use crate::types::Type;
use columnar::{ColumnData, DenseColumn};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;

/// Groups of keys swept by one task.
const GROUPS_PER_TASK: usize = 4096;

/// A side's time columns: each row's start, and its end when it has one.
pub(super) struct Times<'f> {
    start: Cow<'f, DenseColumn>,
    end: Option<(Cow<'f, DenseColumn>, bool)>,
}

#[inline]
fn int_at(column: &DenseColumn, row: usize) -> Option<i64> {
    if !column.is_valid(row) {
        return None;
    }
    match &column.data {
        ColumnData::I64(v) | ColumnData::Timestamp(v) | ColumnData::Duration(v) => v.get(row).copied(),
        ColumnData::U64(v) => v.get(row).and_then(|x| i64::try_from(x).ok()),
        ColumnData::Address(v) => v.get(row).and_then(|&x| i64::try_from(x).ok()),
        _ => None,
    }
}

impl<'f> Times<'f> {
    pub(super) fn eval(
        interval: &Interval,
        frame: &'f Frame<'_>,
        cancel: &AtomicBool,
        memo: &Memo,
    ) -> Result<Times<'f>, QueryError> {
        let column = |index: usize| TExpr { kind: TKind::Column(index), ty: Type::Null };
        let start = eval_dense(&column(interval.start), frame, cancel, memo)?;
        let end = match interval.end {
            IntervalEnd::Column(i) => Some((eval_dense(&column(i), frame, cancel, memo)?, false)),
            IntervalEnd::Duration(i) => Some((eval_dense(&column(i), frame, cancel, memo)?, true)),
            IntervalEnd::Point => None,
        };
        Ok(Times { start, end })
    }

    pub(super) fn start(&self, row: usize) -> Option<i64> {
        int_at(&self.start, row)
    }

    /// The end of `row`'s interval: None for a point or a missing end.
    pub(super) fn end(&self, row: usize) -> Option<i64> {
        let (column, is_duration) = self.end.as_ref()?;
        let value = int_at(column, row)?;
        if *is_duration {
            self.start(row).map(|start| start.saturating_add(value))
        } else {
            Some(value)
        }
    }

    /// The least end an interval needs to hold `row`: past its end, or past
    /// its start when it is a point (no end, a missing one, or none after its start).
    fn needed_end(&self, row: usize, start: i64) -> i64 {
        match self.end(row) {
            Some(end) if end > start => end,
            _ => start.saturating_add(1),
        }
    }
}

/// The (left, right) pairs where the left row lies inside the right's
/// interval and their keys are equal, in the left's order.
pub(super) fn during_pairs(
    left_keys: &[KeyWords<'_>],
    right_keys: &[KeyWords<'_>],
    left: &Times<'_>,
    right: &Times<'_>,
    cancel: &AtomicBool,
) -> Result<Pairs, QueryError> {
    let n_right = right.start.len();
    let n_left = left.start.len();
    // An interval without a start or an end holds nothing.
    let no_interval = |r: usize| right.start(r).is_none() || right.end(r).is_none();
    let (groups, group_of) = KeyGroups::build(right_keys, n_right, no_interval, cancel)?;
    let intervals = Members::of(&group_of, groups.count());
    drop(group_of);
    let mut left_group = Vec::with_capacity(n_left);
    for start in (0..n_left).step_by(CHUNK) {
        check(cancel)?;
        for k in start..(start + CHUNK).min(n_left) {
            let group = if left.start(k).is_some() { groups.find(left_keys, k) } else { None };
            left_group.push(group.unwrap_or(NONE));
        }
    }
    let rows = Members::of(&left_group, groups.count());
    drop(left_group);
    let budget = RowBudget::new();
    let batches: Vec<Result<Pairs, QueryError>> = (0..groups.count())
        .step_by(GROUPS_PER_TASK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map_init(Sweep::default, |sweep, first| {
            check(cancel)?;
            let mut pairs = Pairs::default();
            for group in first..(first + GROUPS_PER_TASK).min(groups.count()) {
                let (lefts, rights) = (rows.of_group(group), intervals.of_group(group));
                if !lefts.is_empty() && !rights.is_empty() {
                    sweep.run(lefts, rights, left, right, &mut pairs, &budget)?;
                }
            }
            budget.count(&mut pairs, 0)?;
            Ok(pairs)
        })
        .collect();
    let batches = batches.into_iter().collect::<Result<Vec<_>, _>>()?;
    in_left_order(batches, n_left, false, &budget, cancel)
}

/// One worker's buffers, kept from group to group.
#[derive(Default)]
struct Sweep {
    /// (start, least end a container needs, row) of the key's left rows.
    lefts: Vec<(i64, i64, u32)>,
    /// (start, end, row) of the key's intervals.
    rights: Vec<(i64, i64, u32)>,
    /// The intervals begun and not yet over: (end, row).
    open: BTreeSet<(i64, u32)>,
    found: Vec<u32>,
}

impl Sweep {
    /// The pairs of one key's rows (both in row order, all with a start).
    /// Each row's times are read once into the buffers: the rows of a key lie
    /// scattered over the columns, and sorting reads a time many times.
    fn run(
        &mut self,
        lefts: &[u32],
        rights: &[u32],
        left: &Times<'_>,
        right: &Times<'_>,
        pairs: &mut Pairs,
        budget: &RowBudget,
    ) -> Result<(), QueryError> {
        self.lefts.clear();
        self.lefts.extend(lefts.iter().map(|&k| {
            let start = left.start(k as usize).unwrap_or(i64::MAX);
            (start, left.needed_end(k as usize, start), k)
        }));
        // Stable: a key's rows at one time keep their order.
        if !self.lefts.is_sorted_by_key(|l| l.0) {
            self.lefts.sort_by_key(|l| l.0);
        }
        self.rights.clear();
        self.rights.extend(rights.iter().filter_map(|&r| {
            let (start, end) = (right.start(r as usize)?, right.end(r as usize)?);
            (end > start).then_some((start, end, r))
        }));
        if !self.rights.is_sorted_by_key(|r| r.0) {
            self.rights.sort_by_key(|r| r.0);
        }
        self.open.clear();
        let mut next = 0;
        for &(at, needed, k) in &self.lefts {
            while let Some(&(_, end, r)) = self.rights.get(next).filter(|i| i.0 <= at) {
                self.open.insert((end, r));
                next += 1;
            }
            // Over before this row: over before every later one too.
            while self.open.first().is_some_and(|&(end, _)| end <= at) {
                self.open.pop_first();
            }
            self.found.clear();
            self.found.extend(self.open.range((needed, 0)..).map(|&(_, r)| r));
            self.found.sort_unstable();
            for &r in &self.found {
                pairs.push(k, r);
            }
            budget.count(pairs, COUNT_EVERY)?;
        }
        Ok(())
    }
}
