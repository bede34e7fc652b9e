//! `| butterfly FUNC`: a function's callers, the function itself (inclusive and
//! exclusive), and its callees; or the same for a whole module.
use super::ms;
use super::row_stacks::{Labelled, RowStacks};
use columnar::{Column, DataTable, StrColumnBuilder};
use query::error::{ErrorKind, QueryError};
use std::collections::HashMap;
use std::sync::Arc;

/// The butterfly's rows, column by column.
#[derive(Default)]
struct Lines {
    role: Vec<String>,
    frame: Vec<String>,
    count: Vec<u64>,
    weight_ms: Vec<f64>,
    marks: Vec<Option<Arc<str>>>,
}

type Neighbours = HashMap<Arc<str>, (u64, i64, Option<Arc<str>>)>;

impl Lines {
    fn add(&mut self, role: &str, frame: String, count: u64, ns: i64, mark: Option<Arc<str>>) {
        self.role.push(role.to_string());
        self.frame.push(frame);
        self.count.push(count);
        self.weight_ms.push(ms(ns));
        self.marks.push(mark);
    }

    /// Neighbours, heaviest first.
    fn section(&mut self, role: &str, map: Neighbours) {
        let mut list: Vec<_> = map.into_iter().collect();
        list.sort_by(|a, b| (b.1 .1, b.1 .0).cmp(&(a.1 .1, a.1 .0)).then_with(|| a.0.cmp(&b.0)));
        for (label, (count, ns, mark)) in list {
            self.add(role, format!("  {label}"), count, ns, mark);
        }
    }
}

/// What `| butterfly NAME` looks for: a function (`func`, `module!func`) or,
/// when no frame has such a function, a whole module (`tedrdrv.sys`, `tedrdrv`).
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Function,
    Module,
}

/// A label's module and function: `module!func`, `module+0xrva`, or neither (`0xaddress`).
fn label_parts(label: &str) -> (Option<&str>, Option<&str>) {
    if let Some((module, func)) = label.split_once('!') {
        (Some(module), Some(func))
    } else if let Some((module, _)) = label.split_once("+0x") {
        (Some(module), None)
    } else {
        (None, None)
    }
}

/// A module named as users type it: any case, with or without its extension.
fn module_matches(module: &str, wanted: &str) -> bool {
    let stem = module.rsplit_once('.').map_or(module, |(stem, _)| stem);
    module.eq_ignore_ascii_case(wanted) || stem.eq_ignore_ascii_case(wanted)
}

/// Whether the frame labelled `label` is `wanted` as a target of that kind.
fn frame_matches(label: &str, wanted: &str, target: Target) -> bool {
    let (module, func) = label_parts(label);
    match target {
        Target::Module => module.is_some_and(|m| module_matches(m, wanted)),
        Target::Function => match wanted.split_once('!') {
            Some((wanted_module, wanted_func)) => {
                module.is_some_and(|m| module_matches(m, wanted_module))
                    && func.is_some_and(|f| f.eq_ignore_ascii_case(wanted_func))
            }
            None => func.is_some_and(|f| f.eq_ignore_ascii_case(wanted)) || label.eq_ignore_ascii_case(wanted),
        },
    }
}

/// The matching frames of one stack as runs `(first, last)`: each function
/// frame alone, a module's consecutive frames together (its inner calls are
/// neither its callers nor its callees).
fn matching_runs(labels: &[&Labelled], wanted: &str, target: Target) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, (label, _)) in labels.iter().enumerate() {
        if !frame_matches(label, wanted, target) {
            continue;
        }
        match runs.last_mut() {
            Some(run) if target == Target::Module && run.1 + 1 == i => run.1 = i,
            _ => runs.push((i, i)),
        }
    }
    runs
}

/// Rows with the target, their weight, and its neighbours.
#[derive(Default)]
struct Found {
    name: Option<Labelled>,
    inclusive: (u64, i64),
    exclusive: (u64, i64),
    callers: Neighbours,
    callees: Neighbours,
}

fn collect(stacks: &RowStacks, wanted: &str, target: Target) -> Found {
    let mut found = Found::default();
    for path in 0..stacks.len() {
        let (rows, weight) = stacks.totals[path];
        let labels = stacks.path(path);
        let runs = matching_runs(&labels, wanted, target);
        let Some(&(first, _)) = runs.first() else { continue };
        found.name.get_or_insert_with(|| match target {
            Target::Function => (*labels[first]).clone(),
            Target::Module => {
                let module = label_parts(&labels[first].0).0.unwrap_or(wanted);
                (Arc::from(module), labels[first].1.clone())
            }
        });
        found.inclusive.0 += rows;
        found.inclusive.1 += weight;
        if runs.last().is_some_and(|&(_, last)| last == labels.len() - 1) {
            found.exclusive.0 += rows;
            found.exclusive.1 += weight;
        }
        // Each distinct neighbour counts once per row, however often the target recurs.
        let mut seen_callers: Vec<&Arc<str>> = Vec::new();
        let mut seen_callees: Vec<&Arc<str>> = Vec::new();
        for &(first, last) in &runs {
            let caller = first.checked_sub(1).map(|c| &labels[c]);
            if let Some((label, mark)) = caller {
                if !seen_callers.contains(&label) {
                    seen_callers.push(label);
                    let e = found.callers.entry(label.clone()).or_insert((0, 0, mark.clone()));
                    e.0 += rows;
                    e.1 += weight;
                }
            }
            if let Some((label, mark)) = labels.get(last + 1) {
                if !seen_callees.contains(&label) {
                    seen_callees.push(label);
                    let e = found.callees.entry(label.clone()).or_insert((0, 0, mark.clone()));
                    e.0 += rows;
                    e.1 += weight;
                }
            }
        }
    }
    found
}

pub(super) fn butterfly(stacks: &RowStacks, by_weight: bool, function: &str) -> Result<DataTable, QueryError> {
    let mut found = collect(stacks, function, Target::Function);
    if found.name.is_none() && !function.contains('!') {
        found = collect(stacks, function, Target::Module);
    }
    let Found { name, inclusive, exclusive, callers, callees } = found;
    let Some((label, mark)) = name else {
        return Err(QueryError::new(
            ErrorKind::UnknownName,
            format!(
                "butterfly: no stack in these rows has a frame in {function:?} (a function, module!function or module)"
            ),
            None,
        ));
    };
    let (inclusive, inclusive_ns) = inclusive;
    let (exclusive, exclusive_ns) = exclusive;
    let mut lines = Lines::default();
    lines.section("caller", callers);
    lines.add("function", label.to_string(), inclusive, inclusive_ns, mark);
    lines.add("self", format!("  {label} (exclusive)"), exclusive, exclusive_ns, None);
    lines.section("callee", callees);
    let Lines { role, frame, count, weight_ms, marks } = lines;
    let mut t = DataTable::new("butterfly");
    let _ = t.push_column("role", "caller, function, self or callee", Column::strs(&role));
    let _ = t.push_column("frame", "the function and its neighbours", Column::strs(&frame));
    let _ = t.push_column("count", "rows whose stack has this edge", Column::u64(count));
    if by_weight {
        let _ = t.push_column("ms", "their weight", Column::f64(weight_ms));
    }
    let mut m = StrColumnBuilder::new();
    for mark in &marks {
        match mark {
            Some(text) => m.push(text),
            None => m.push_null(),
        }
    }
    let _ = t.push_column("mark", "a driver the driver atlas knows: category (company)", m.finish());
    Ok(t)
}
