//! The input of every view: each result row's stack as frame labels, outermost
//! first, and the rows' weights.
use super::TraceFrames;
use columnar::{DataTable, Value};
use model::stacks::StackId;
use model::symbolize::HashMap;
use model::symbolize::{FrameId, ResolvedFrame};
use query::error::{ErrorKind, QueryError};
use std::sync::Arc;

/// The rows' weights, from the first of `weight_ns`, `cpu_ns` and `duration_ns` they have.
pub(super) struct Weights {
    pub(super) values: Vec<Option<i64>>,
}

impl Weights {
    pub(super) fn of(table: &DataTable) -> Option<Weights> {
        let column = ["weight_ns", "cpu_ns", "duration_ns"].iter().find_map(|name| table.column(name))?;
        let values = (0..column.len())
            .map(|row| match column.value(row) {
                Value::Duration(ns) | Value::I64(ns) | Value::Timestamp(ns) => Some(ns),
                Value::U64(ns) => i64::try_from(ns).ok(),
                _ => None,
            })
            .collect();
        Some(Weights { values })
    }
}

/// A frame as trees and flame graphs group it: `module!function` (no offset),
/// `module!<PDB not found>`, `module+0xrva` or `0xaddress`.
/// With `offsets`: the frame itself, `module!func+0xoff`, or `module+0xrva` without symbols.
fn node_label(frame: &ResolvedFrame, offsets: bool) -> Arc<str> {
    match (&frame.module, &frame.func, frame.module_offset) {
        (Some(_), Some(_), _) if offsets => frame.text.clone(),
        (Some(module), Some(func), _) => format!("{module}!{func}").into(),
        (Some(module), None, Some(rva)) if offsets => format!("{module}+0x{rva:x}").into(),
        _ => frame.text.clone(),
    }
}

/// A frame's tree label and its known-driver mark.
pub(super) type Labelled = (Arc<str>, Option<Arc<str>>);

/// One row's stack, outermost first, as labels; None when the row has no stack.
pub(super) struct RowStacks {
    /// Per row: index into `paths`.
    pub(super) rows: Vec<Option<usize>>,
    pub(super) paths: Vec<Vec<Labelled>>,
    /// Per path: whether frames past the depth asked for were left off.
    pub(super) cut: Vec<bool>,
}

/// The stack a result row draws: in which trace, as seen in which process.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) struct StackKey {
    pub(crate) trace: usize,
    pub(crate) pid: u32,
    pub(crate) stack: StackId,
}

/// Per result row, its stack's key (None for a row without a stack). A row's
/// `trace` column picks the trace among `trace_names` (the first when there is none).
pub(crate) fn stack_keys(rows: &DataTable, trace_names: &[&str]) -> Result<Vec<Option<StackKey>>, QueryError> {
    let Some(stack_column) = rows.column("stack") else {
        return Err(QueryError::new(
            ErrorKind::Type,
            "stack views need rows with a `stack` column (samples, syscalls, stacks, frames); keep it in the select",
            None,
        ));
    };
    let pid_column = rows.column("pid");
    let trace_column = rows.column("trace");
    let key = |row: usize| {
        let stack = match stack_column.value(row) {
            Value::U64(s) => StackId::try_from(s).ok(),
            Value::I64(s) => StackId::try_from(s).ok(),
            _ => None,
        }?;
        let pid = match pid_column.map(|c| c.value(row)) {
            Some(Value::U64(p)) => u32::try_from(p).unwrap_or(0),
            _ => 0,
        };
        let trace = match trace_column.map(|c| c.value(row)) {
            Some(Value::Str(name)) => trace_names.iter().position(|t| **t == *name).unwrap_or(0),
            _ => 0,
        };
        Some(StackKey { trace, pid, stack })
    };
    Ok((0..rows.row_count()).map(key).collect())
}

impl RowStacks {
    /// Every result row's stack (`keys`, from `stack_keys`) as labels, outermost
    /// first, and no deeper than `depth` frames (a tree of that depth reads no more).
    pub(super) fn of(
        keys: &[Option<StackKey>],
        traces: &[TraceFrames],
        offsets: bool,
        depth: Option<usize>,
    ) -> RowStacks {
        let mut index: HashMap<StackKey, usize> = HashMap::default();
        // A frame's label is made once and shared by every path through it.
        let mut labels: HashMap<(usize, FrameId), Labelled> = HashMap::default();
        let mut out = RowStacks { rows: Vec::with_capacity(keys.len()), paths: Vec::new(), cut: Vec::new() };
        for key in keys {
            let Some(key) = *key else {
                out.rows.push(None);
                continue;
            };
            if let Some(&path) = index.get(&key) {
                out.rows.push(Some(path));
                continue;
            }
            let named = traces.get(key.trace).and_then(|t| t.named);
            let frames: Option<&[FrameId]> =
                named.and_then(|n| n.stack(key.pid, key.stack).or_else(|| n.stack(0, key.stack)));
            let (path, cut): (Vec<Labelled>, bool) = match (named, frames) {
                (Some(n), Some(ids)) => {
                    let kept = depth.map_or(ids.len(), |d| d.min(ids.len()));
                    let path = ids
                        .iter()
                        .rev()
                        .take(kept)
                        .filter_map(|&id| {
                            let frame = n.frame(id)?;
                            let label = labels
                                .entry((key.trace, id))
                                .or_insert_with(|| (node_label(frame, offsets), frame.mark.clone()));
                            Some(label.clone())
                        })
                        .collect();
                    (path, kept < ids.len())
                }
                _ => (Vec::new(), false),
            };
            out.paths.push(path);
            out.cut.push(cut);
            index.insert(key, out.paths.len() - 1);
            out.rows.push(Some(out.paths.len() - 1));
        }
        out
    }
}
