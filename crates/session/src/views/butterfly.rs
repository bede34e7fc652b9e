//! `| butterfly FUNC`: a function's callers, the function itself (inclusive and
//! exclusive), and its callees.
use super::ms;
use super::row_stacks::{RowStacks, Weights};
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

pub(super) fn butterfly(
    stacks: &RowStacks,
    weights: Option<&Weights>,
    function: &str,
) -> Result<DataTable, QueryError> {
    let wanted = function.to_ascii_lowercase();
    // A label matches `module!func`, `func`, or the function name without its module.
    let matches = |label: &str| {
        let lower = label.to_ascii_lowercase();
        lower == wanted || lower.rsplit_once('!').is_some_and(|(_, f)| f == wanted)
    };
    let mut callers: Neighbours = HashMap::new();
    let mut callees: Neighbours = HashMap::new();
    let (mut inclusive, mut inclusive_ns, mut exclusive, mut exclusive_ns) = (0u64, 0i64, 0u64, 0i64);
    let mut name: Option<(Arc<str>, Option<Arc<str>>)> = None;
    for (row, path) in stacks.rows.iter().enumerate() {
        let Some(path) = path else { continue };
        let labels = &stacks.paths[*path];
        let weight = weights.and_then(|w| w.values.get(row).copied().flatten()).unwrap_or(0);
        let hits: Vec<usize> = (0..labels.len()).filter(|&i| matches(&labels[i].0)).collect();
        if hits.is_empty() {
            continue;
        }
        name.get_or_insert_with(|| labels[hits[0]].clone());
        inclusive += 1;
        inclusive_ns += weight;
        if hits.last() == Some(&(labels.len() - 1)) {
            exclusive += 1;
            exclusive_ns += weight;
        }
        // Each distinct neighbour counts once per row, however often the function recurs.
        let mut seen_callers: Vec<&Arc<str>> = Vec::new();
        let mut seen_callees: Vec<&Arc<str>> = Vec::new();
        for &i in &hits {
            let caller = i.checked_sub(1).map(|c| &labels[c]);
            if let Some((label, mark)) = caller {
                if !seen_callers.contains(&label) {
                    seen_callers.push(label);
                    let e = callers.entry(label.clone()).or_insert((0, 0, mark.clone()));
                    e.0 += 1;
                    e.1 += weight;
                }
            }
            if let Some((label, mark)) = labels.get(i + 1) {
                if !seen_callees.contains(&label) {
                    seen_callees.push(label);
                    let e = callees.entry(label.clone()).or_insert((0, 0, mark.clone()));
                    e.0 += 1;
                    e.1 += weight;
                }
            }
        }
    }
    let Some((label, mark)) = name else {
        return Err(QueryError::new(
            ErrorKind::UnknownName,
            format!("butterfly: no stack in these rows has a frame in {function:?}"),
            None,
        ));
    };
    let by_weight = weights.is_some();
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
    let _ = t.push_column("mark", "well-known third-party driver", m.finish());
    Ok(t)
}
