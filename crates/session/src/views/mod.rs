//! The views that may end a query, drawn from its result rows' stacks:
//! `| tree`, `| butterfly FUNC`, `| folded` and `| flame FILE.svg`; and
//! `| histogram COLUMN` and `| chart`, from columns, and `| waits`, from the switches; `| diff tree`
//! and `| diff flame FILE.svg`, two groups of rows compared; `| export FORMAT FILE`, for other
//! profilers. The grammar has parsed them; this runner picks the renderer.
// Query errors are made once per failed query, far from any hot loop (as in query/).
#![allow(clippy::result_large_err)]
mod butterfly;
mod chart;
mod diff;
mod export;
mod flame;
mod folded;
mod histogram;
mod row_stacks;
mod tree;
mod waits;

pub(crate) use chart::{chart, ChartFrame};
use columnar::DataTable;
pub(crate) use export::{check_sampled_rows, chrome as export_chrome};
pub(crate) use histogram::histogram;
use model::symbolize::NamedFrames;
use query::ast::{Span, ViewKind};
use query::error::QueryError;
pub(crate) use row_stacks::RowKeys;
use row_stacks::{RowStacks, Weights};
use std::sync::Arc;
pub(crate) use waits::waits;

/// What the views need of one open trace: its name (as the `trace` column has it) and its named frames.
pub(crate) struct TraceFrames<'s> {
    pub(crate) name: &'s str,
    pub(crate) named: Option<&'s NamedFrames>,
}

/// Draws `view` from `rows`, whose stacks (`keys`) are named by the frames of `traces`;
/// `span` is where the view is written, for its errors.
pub(crate) fn draw(
    view: ViewKind,
    rows: &DataTable,
    keys: &RowKeys,
    traces: &[TraceFrames],
    span: Span,
) -> Result<DataTable, QueryError> {
    let offsets = matches!(view, ViewKind::Tree { offsets: true, .. });
    let weights = Weights::of(rows);
    let by_weight = weights.is_some();
    let stacks = |depth| RowStacks::of(keys, weights.as_ref(), traces, offsets, depth);
    match view {
        ViewKind::Tree { depth, min_percent, .. } => {
            let depth = depth.map(|d| usize::try_from(d).unwrap_or(usize::MAX));
            Ok(tree::tree(&stacks(depth), by_weight, depth, min_percent.unwrap_or(1.0)))
        }
        ViewKind::Butterfly { function } => butterfly::butterfly(&stacks(None), by_weight, &function),
        ViewKind::Folded => Ok(folded::folded_table(&stacks(None))),
        ViewKind::Flame { file } => flame::flame(&stacks(None), std::path::Path::new(&file)),
        ViewKind::DiffTree { by, depth, min_percent } => {
            let groups = diff::Groups::split(rows, by.as_deref(), traces, span)?;
            let depth = depth.map(|d| usize::try_from(d).unwrap_or(usize::MAX));
            diff::diff_tree(&groups, traces, depth, min_percent.unwrap_or(1.0))
        }
        ViewKind::DiffFlame { file, by } => {
            let groups = diff::Groups::split(rows, by.as_deref(), traces, span)?;
            diff::diff_flame(&groups, traces, std::path::Path::new(&file))
        }
        ViewKind::Export { format, file, by } => {
            export::export_stacks(format, rows, traces, std::path::Path::new(&file), by.as_deref(), span)
        }
        // Drawn before any stack is looked at (see the pipeline).
        ViewKind::Histogram { .. } | ViewKind::Waits | ViewKind::Chart(_) => {
            Err(QueryError::new(query::error::ErrorKind::Type, "not a stack view", None))
        }
    }
}

/// Nanoseconds as milliseconds to three decimals.
pub(super) fn ms(ns: i64) -> f64 {
    (ns as f64 / 1e6 * 1000.0).round() / 1000.0
}

/// What trees and folded stacks call a row without a stack.
pub(super) fn no_stack_label() -> Arc<str> {
    "[no stack]".into()
}
