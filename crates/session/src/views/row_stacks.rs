//! The input of every view: the distinct stacks of the result rows as frame
//! labels, outermost first, each with how many rows draw it and their weight.
//! Rows are read once, straight from their columns: nothing is kept per row,
//! so a view over a hundred million samples holds only its distinct stacks.
use super::TraceFrames;
use columnar::{Column, DataTable, Value};
use model::stacks::StackId;
use model::symbolize::HashMap;
use model::symbolize::{FrameId, NamedFrames, ResolvedFrame};
use query::error::{ErrorKind, QueryError};
use std::sync::Arc;

/// The rows' weights: the first of `weight_ns`, `cpu_ns` and `duration_ns` they have.
pub(super) struct Weights<'t> {
    column: &'t Column,
}

impl<'t> Weights<'t> {
    pub(super) fn of(table: &'t DataTable) -> Option<Weights<'t>> {
        let column = ["weight_ns", "cpu_ns", "duration_ns"].iter().find_map(|name| table.column(name))?;
        Some(Weights { column })
    }

    /// Row `row`'s weight in ns; 0 when it has none.
    pub(super) fn at(&self, row: usize) -> i64 {
        match self.column.value(row) {
            Value::Duration(ns) | Value::I64(ns) | Value::Timestamp(ns) => ns,
            Value::U64(ns) => i64::try_from(ns).unwrap_or(0),
            _ => 0,
        }
    }
}

/// A frame as trees and flame graphs group it: `module!function` (no offset),
/// `module!<PDB not found>`, `module+0xrva` or `0xaddress`.
/// With `offsets`: the frame itself, `module!func+0xoff`, or `module+0xrva` without symbols.
fn node_label(frame: &ResolvedFrame, offsets: bool) -> Arc<str> {
    match (&frame.module, &frame.func, frame.module_offset) {
        (Some(_), Some(_), _) if offsets => frame.text().into(),
        (Some(module), Some(func), _) => format!("{module}!{func}").into(),
        (Some(module), None, Some(rva)) if offsets => format!("{module}+0x{rva:x}").into(),
        _ => frame.text().into(),
    }
}

/// A frame's tree label and its known-driver mark.
pub(super) type Labelled = (Arc<str>, Option<Arc<str>>);

/// Rows and their summed weight in ns.
pub(super) type Totals = (u64, i64);

/// A label's number: two frames with the same label (one function at two
/// offsets) have the same number.
pub(super) type LabelId = u32;

/// The distinct stacks the result rows draw, as labels outermost first.
pub(super) struct RowStacks {
    labels: Vec<Labelled>,
    /// Every path's labels, one path after another.
    steps: Vec<LabelId>,
    /// Where each path's labels end in `steps`.
    ends: Vec<usize>,
    /// Per path: whether frames past the depth asked for were left off.
    pub(super) cut: Vec<bool>,
    /// Per path: the rows that draw it and their weight.
    pub(super) totals: Vec<Totals>,
    /// The rows without a stack, or whose stack has no named frame.
    pub(super) no_stack: Totals,
    /// Per trace, per named stack slot: its path, for views that follow rows one by one.
    slot_paths: Vec<HashMap<u32, usize>>,
}

/// The stack a result row draws: in which trace, as seen in which process.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct StackKey {
    pub(crate) trace: u32,
    pub(crate) pid: u32,
    pub(crate) stack: StackId,
}

/// Each result row's stack key, read from its `stack`, `pid` and `trace`
/// columns when asked, rather than listed for every row. A row with a
/// `readying_pid` (a wakeup) has the readying thread's stack, seen in that process.
pub(crate) struct RowKeys<'t> {
    stack: &'t Column,
    pid: Option<&'t Column>,
    trace: Option<&'t Column>,
    trace_names: Vec<String>,
    rows: usize,
}

impl<'t> RowKeys<'t> {
    /// The keys of `rows`. A row's `trace` column picks the trace among
    /// `trace_names` (the first when there is none).
    pub(crate) fn of(rows: &'t DataTable, trace_names: &[&str]) -> Result<RowKeys<'t>, QueryError> {
        let Some(stack) = rows.column("stack") else {
            return Err(QueryError::new(
                ErrorKind::Type,
                "stack views need rows with a `stack` column (samples, syscalls, wakeups, stacks, frames); keep it in the select",
                None,
            ));
        };
        Ok(RowKeys {
            stack,
            pid: rows.column("readying_pid").or_else(|| rows.column("pid")),
            trace: rows.column("trace"),
            trace_names: trace_names.iter().map(|t| t.to_string()).collect(),
            rows: rows.row_count(),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Row `row`'s stack key; None for a row without a stack.
    pub(crate) fn key(&self, row: usize) -> Option<StackKey> {
        let stack = match self.stack.value(row) {
            Value::U64(s) => StackId::try_from(s).ok(),
            Value::I64(s) => StackId::try_from(s).ok(),
            _ => None,
        }?;
        let pid = match self.pid.map(|c| c.value(row)) {
            Some(Value::U64(p)) => u32::try_from(p).unwrap_or(0),
            _ => 0,
        };
        let trace = match self.trace.map(|c| c.value(row)) {
            Some(Value::Str(name)) => self.trace_names.iter().position(|t| **t == *name).unwrap_or(0),
            _ => 0,
        };
        Some(StackKey { trace: trace as u32, pid, stack })
    }
}

/// Labels made once per frame, and numbered once per distinct text.
struct LabelMaker {
    /// Labels with offsets (`tree offsets`).
    offsets: bool,
    /// Per trace, per frame id: its label, or NO_LABEL before it is made.
    of_frame: Vec<Vec<LabelId>>,
    of_text: HashMap<Arc<str>, LabelId>,
    labels: Vec<Labelled>,
    /// Per label: how it folds with its unnamed neighbours of the same module, if it does.
    unnamed: Vec<Option<Unnamed>>,
}

/// A frame in a module that names no function there: a run of them folds into
/// one node (`clr.dll!<PDB not found> (8 frames)`), since eight identical lines say nothing.
#[derive(Clone, PartialEq, Eq)]
struct Unnamed {
    module: Arc<str>,
    /// The module's PDB was not found (else it was, and covers no function here).
    pdb_missing: bool,
}

impl Unnamed {
    fn of(frame: &ResolvedFrame) -> Option<Unnamed> {
        match (&frame.module, &frame.func) {
            (Some(module), None) => {
                let pdb_missing = frame.text().ends_with("!<PDB not found>");
                Some(Unnamed { module: module.clone(), pdb_missing })
            }
            _ => None,
        }
    }

    /// `clr.dll!<PDB not found> (8 frames)`, or `clr.dll!? (8 frames)` where the PDB names nothing.
    fn folded_label(&self, frames: usize) -> Arc<str> {
        let what = if self.pdb_missing { "<PDB not found>" } else { "?" };
        format!("{}!{what} ({frames} frames)", self.module).into()
    }
}

const NO_LABEL: LabelId = LabelId::MAX;

impl LabelMaker {
    /// The label of frame `id` of trace `trace`; None for an id `named` does not know.
    fn label(&mut self, trace: u32, id: FrameId, named: &NamedFrames) -> Option<LabelId> {
        let of_frame = self.of_frame.get_mut(trace as usize)?;
        if of_frame.is_empty() {
            of_frame.resize(named.frame_count(), NO_LABEL);
        }
        let known = of_frame.get(id as usize).copied()?;
        if known != NO_LABEL {
            return Some(known);
        }
        let frame = named.frame(id)?;
        let text = node_label(&frame, self.offsets);
        let unnamed = if self.offsets { None } else { Unnamed::of(&frame) };
        let label = self.numbered(text, frame.mark.clone(), unnamed);
        self.of_frame[trace as usize][id as usize] = label;
        Some(label)
    }

    /// The number of the label `text`, made the first time it is seen.
    fn numbered(&mut self, text: Arc<str>, mark: Option<Arc<str>>, unnamed: Option<Unnamed>) -> LabelId {
        if let Some(&label) = self.of_text.get(&text) {
            return label;
        }
        let label = self.labels.len() as LabelId;
        self.labels.push((text.clone(), mark));
        self.unnamed.push(unnamed);
        self.of_text.insert(text, label);
        label
    }

    /// Folds each run of two or more unnamed frames of one module in `steps[start..]` into one label.
    fn fold_unnamed(&mut self, steps: &mut Vec<LabelId>, start: usize) {
        let unnamed = &self.unnamed;
        let kind = |l: LabelId| unnamed[l as usize].as_ref();
        // Most paths have no such run: leave them as they are, without a copy.
        if !steps[start..].windows(2).any(|w| kind(w[0]).is_some() && kind(w[0]) == kind(w[1])) {
            return;
        }
        let tail = steps.split_off(start);
        let mut at = 0;
        while at < tail.len() {
            let unnamed = &self.unnamed;
            let kind = |l: LabelId| unnamed[l as usize].as_ref();
            let run = match kind(tail[at]) {
                Some(k) => tail[at..].iter().take_while(|&&l| kind(l) == Some(k)).count(),
                None => 1,
            };
            match self.unnamed[tail[at] as usize].clone().filter(|_| run > 1) {
                Some(k) => {
                    let mark = self.labels[tail[at] as usize].1.clone();
                    steps.push(self.numbered(k.folded_label(run), mark, None));
                }
                None => steps.extend_from_slice(&tail[at..at + run]),
            }
            at += run;
        }
    }
}

impl RowStacks {
    /// The distinct stacks of the rows `keys` reads, no deeper than `depth`
    /// frames (a tree of that depth reads no more), with their rows' totals.
    pub(super) fn of(
        keys: &RowKeys,
        weights: Option<&Weights>,
        traces: &[TraceFrames],
        offsets: bool,
        depth: Option<usize>,
    ) -> RowStacks {
        // Rows are summed per named stack, by the slot the named frames keep it in.
        let mut per_slot: Vec<Vec<Totals>> =
            traces.iter().map(|t| vec![(0, 0); t.named.map_or(0, |n| n.stack_count())]).collect();
        let mut out = RowStacks {
            labels: Vec::new(),
            steps: Vec::new(),
            ends: Vec::new(),
            cut: Vec::new(),
            totals: Vec::new(),
            no_stack: (0, 0),
            slot_paths: vec![HashMap::default(); traces.len()],
        };
        for row in 0..keys.len() {
            let weight = weights.map_or(0, |w| w.at(row));
            let slot = keys.key(row).and_then(|key| {
                let named = traces.get(key.trace as usize)?.named?;
                let slot = named.stack_slot(key.pid, key.stack).or_else(|| named.stack_slot(0, key.stack))?;
                per_slot.get_mut(key.trace as usize)?.get_mut(slot as usize)
            });
            let totals = slot.unwrap_or(&mut out.no_stack);
            totals.0 += 1;
            totals.1 = totals.1.saturating_add(weight);
        }
        let mut maker = LabelMaker {
            offsets,
            of_frame: vec![Vec::new(); traces.len()],
            of_text: HashMap::default(),
            labels: Vec::new(),
            unnamed: Vec::new(),
        };
        for (trace, slots) in per_slot.into_iter().enumerate() {
            let Some(named) = traces[trace].named else { continue };
            for (slot, totals) in slots.into_iter().enumerate().filter(|(_, t)| t.0 > 0) {
                if out.add_path(trace as u32, named.stack_at(slot), totals, named, depth, &mut maker) {
                    let path = out.len() - 1;
                    out.slot_paths[trace].insert(slot as u32, path);
                } else {
                    out.no_stack.0 += totals.0;
                    out.no_stack.1 = out.no_stack.1.saturating_add(totals.1);
                }
            }
        }
        out.labels = maker.labels;
        out
    }

    /// Adds the stack of frames `ids` (innermost first) as a path that `totals`
    /// rows draw; false when it has no named frame.
    fn add_path(
        &mut self,
        trace: u32,
        ids: &[FrameId],
        totals: Totals,
        named: &NamedFrames,
        depth: Option<usize>,
        maker: &mut LabelMaker,
    ) -> bool {
        let kept = depth.map_or(ids.len(), |d| d.min(ids.len()));
        let start = self.steps.len();
        for &id in ids.iter().rev().take(kept) {
            self.steps.extend(maker.label(trace, id, named));
        }
        if self.steps.len() == start {
            return false;
        }
        maker.fold_unnamed(&mut self.steps, start);
        self.ends.push(self.steps.len());
        self.cut.push(kept < ids.len());
        self.totals.push(totals);
        true
    }

    /// The path row `row` of `keys` draws (as `of` found it); None for a row in `no_stack`.
    pub(super) fn path_of_row(&self, keys: &RowKeys, row: usize, traces: &[TraceFrames]) -> Option<usize> {
        let key = keys.key(row)?;
        let named = traces.get(key.trace as usize)?.named?;
        let slot = named.stack_slot(key.pid, key.stack).or_else(|| named.stack_slot(0, key.stack))?;
        self.slot_paths.get(key.trace as usize)?.get(&slot).copied()
    }

    /// How many labels there are: label ids run from 0 below this.
    pub(super) fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// How many distinct paths there are.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Path `path`'s labels, outermost first, as numbers.
    pub(super) fn steps(&self, path: usize) -> &[LabelId] {
        let start = path.checked_sub(1).map_or(0, |p| self.ends[p]);
        &self.steps[start..self.ends[path]]
    }

    /// Path `path`'s labels, outermost first.
    pub(super) fn path(&self, path: usize) -> Vec<&Labelled> {
        self.steps(path).iter().map(|&l| self.label(l)).collect()
    }

    pub(super) fn label(&self, id: LabelId) -> &Labelled {
        &self.labels[id as usize]
    }
}
