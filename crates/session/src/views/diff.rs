//! `| diff tree [by KEY] [depth N] [min P%]` and `| diff flame FILE.svg [by KEY]`:
//! the stacks of two groups of rows compared, A against B. The groups are the
//! two values of KEY (`trace` by default: two traces open at once), A the
//! first trace opened (or the smaller value), B the other.
use super::folded::folded_lines;
use super::row_stacks::{RowKeys, RowStacks, Totals, Weights};
use super::{ms, no_stack_label, TraceFrames};
use columnar::{Column, DataTable, StrColumnBuilder, Value};
use model::symbolize::HashMap;
use query::ast::Span;
use query::error::{ErrorKind, QueryError};
use std::sync::Arc;

/// The columns a stack view reads, which a group's rows keep.
const STACK_VIEW_COLUMNS: [&str; 7] = ["stack", "pid", "readying_pid", "trace", "weight_ns", "cpu_ns", "duration_ns"];

/// The rows split in two by the values of one column.
pub(super) struct Groups {
    /// The two values, as shown: A first.
    pub(super) names: [String; 2],
    /// Each group's rows, with the columns the stack views read.
    pub(super) rows: [DataTable; 2],
}

impl Groups {
    /// Splits `rows` by column `by` (default `trace`), which must hold exactly two values.
    pub(super) fn split(
        rows: &DataTable,
        by: Option<&str>,
        traces: &[TraceFrames],
        span: Span,
    ) -> Result<Groups, QueryError> {
        let error = |message: String| QueryError::at(ErrorKind::Type, message, span);
        let key = by.unwrap_or("trace");
        let Some(column) = rows.column(key) else {
            if by.is_none() {
                return Err(error(format!(
                    "diff compares two groups of rows: open two traces (`etwq A.etl B.etl`; {} open now), \
                     or split by a column with two values: `| diff tree by COLUMN`",
                    traces.len()
                )));
            }
            return Err(error(format!(
                "diff: the rows have no column `{key}`; they have {}",
                rows.column_names().join(", ")
            )));
        };
        // Each value's rows, in the order values are first met.
        let mut values: Vec<(Value, String, Vec<u32>)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for row in 0..rows.row_count() {
            let value = column.value(row);
            if value.is_null() {
                continue;
            }
            let name = value.to_string();
            let at = *index.entry(name.clone()).or_insert_with(|| {
                values.push((value, name, Vec::new()));
                values.len() - 1
            });
            values[at].2.push(row as u32);
        }
        if values.len() != 2 {
            let mut found: Vec<&str> = values.iter().map(|(_, name, _)| name.as_str()).take(10).collect();
            if values.len() > found.len() {
                found.push("...");
            }
            let found = if found.is_empty() { "none".to_string() } else { found.join(", ") };
            return Err(error(format!(
                "diff needs exactly two values of `{key}` to compare; the rows have {}: {found}",
                values.len()
            )));
        }
        // Traces in the order they were opened; other values in their sort order.
        let trace_order = |name: &str| traces.iter().position(|t| t.name == name).unwrap_or(usize::MAX);
        if key == "trace" {
            values.sort_by_key(|(_, name, _)| trace_order(name));
        } else {
            values.sort_by(|a, b| a.0.sort_order(&b.0));
        }
        let [(_, a_name, a_rows), (_, b_name, b_rows)]: [(Value, String, Vec<u32>); 2] =
            values.try_into().map_err(|_| error("diff: two groups expected".into()))?;
        Ok(Groups { names: [a_name, b_name], rows: [keep_rows(rows, a_rows), keep_rows(rows, b_rows)] })
    }
}

/// The stack-view columns of `rows` at `selected`.
fn keep_rows(rows: &DataTable, selected: Vec<u32>) -> DataTable {
    let selected: Arc<[u32]> = selected.into();
    let mut out = DataTable::new("group");
    for name in STACK_VIEW_COLUMNS {
        if let Some(column) = rows.column(name) {
            let _ = out.push_column(name, "", column.select(&selected));
        }
    }
    out
}

/// Each group's distinct stacks, no deeper than `depth`, and whether rows are weighed.
fn group_stacks(
    groups: &Groups,
    traces: &[TraceFrames],
    depth: Option<usize>,
) -> Result<([RowStacks; 2], bool), QueryError> {
    let names: Vec<&str> = traces.iter().map(|t| t.name).collect();
    let side = |rows: &DataTable| -> Result<(RowStacks, bool), QueryError> {
        let keys = RowKeys::of(rows, &names)?;
        let weights = Weights::of(rows);
        Ok((RowStacks::of(&keys, weights.as_ref(), traces, false, depth), weights.is_some()))
    };
    let (a, weighed) = side(&groups.rows[0])?;
    let (b, _) = side(&groups.rows[1])?;
    Ok(([a, b], weighed))
}

/// One frame of the merged tree: A's and B's rows and weights through it and ending in it.
#[derive(Default)]
struct Node {
    label: Arc<str>,
    mark: Option<Arc<str>>,
    children: HashMap<Arc<str>, usize>,
    inclusive: [Totals; 2],
    exclusive: [Totals; 2],
}

fn add(totals: &mut Totals, more: Totals) {
    totals.0 += more.0;
    totals.1 = totals.1.saturating_add(more.1);
}

/// Both groups' stacks in one tree, keyed by frame label.
fn merged_tree(stacks: &[RowStacks; 2]) -> Vec<Node> {
    let mut nodes = vec![Node { label: "[all]".into(), ..Node::default() }];
    for (side, stacks) in stacks.iter().enumerate() {
        for path in 0..stacks.len() {
            let totals = stacks.totals[path];
            let mut at = 0;
            add(&mut nodes[0].inclusive[side], totals);
            for (label, mark) in stacks.path(path) {
                at = match nodes[at].children.get(label) {
                    Some(&child) => child,
                    None => {
                        nodes.push(Node { label: label.clone(), mark: mark.clone(), ..Node::default() });
                        let child = nodes.len() - 1;
                        nodes[at].children.insert(label.clone(), child);
                        child
                    }
                };
                add(&mut nodes[at].inclusive[side], totals);
            }
            if !stacks.cut[path] {
                add(&mut nodes[at].exclusive[side], totals);
            }
        }
        let no_stack = stacks.no_stack;
        if no_stack.0 > 0 {
            let label = no_stack_label();
            let child = match nodes[0].children.get(&label) {
                Some(&child) => child,
                None => {
                    nodes.push(Node { label: label.clone(), ..Node::default() });
                    let child = nodes.len() - 1;
                    nodes[0].children.insert(label, child);
                    child
                }
            };
            add(&mut nodes[0].inclusive[side], no_stack);
            add(&mut nodes[child].inclusive[side], no_stack);
            add(&mut nodes[child].exclusive[side], no_stack);
        }
    }
    nodes
}

/// `| diff tree`: the merged call tree with A's, B's and the delta (B - A) of
/// inclusive and exclusive weight (ms, else rows), and each as a share of its
/// group's total (the delta in percentage points).
pub(super) fn diff_tree(
    groups: &Groups,
    traces: &[TraceFrames],
    depth: Option<usize>,
    min_percent: f64,
) -> Result<DataTable, QueryError> {
    let (stacks, weighed) = group_stacks(groups, traces, depth)?;
    let nodes = merged_tree(&stacks);
    let value = |t: Totals| if weighed { ms(t.1) } else { t.0 as f64 };
    let totals = [value(nodes[0].inclusive[0]), value(nodes[0].inclusive[1])];
    let share = |v: f64, side: usize| if totals[side] > 0.0 { v / totals[side] * 100.0 } else { 0.0 };
    let mut out = DiffRows::default();
    let all = &nodes[0];
    let title = format!("[all] A = {}, B = {}", groups.names[0], groups.names[1]);
    out.push(title, all, None, &value, &share);
    // Depth-first, the largest change first; an explicit stack keeps deep trees off the call stack.
    let mut pending: Vec<Pending> = Vec::new();
    let walk = Walk { nodes: &nodes, min_percent, value: &value, share: &share };
    walk.push_children(0, 0, &mut pending);
    while let Some(item) = pending.pop() {
        match item {
            Pending::Node(node, level) => {
                let n = &nodes[node];
                out.push(format!("{}{}", "  ".repeat(level), n.label), n, n.mark.as_deref(), &value, &share);
                if depth.is_none_or(|d| level + 1 < d) {
                    walk.push_children(node, level + 1, &mut pending);
                }
            }
            Pending::Folded(sum, level) => {
                out.push(format!("{}{}", "  ".repeat(level), sum.label), &sum, None, &value, &share)
            }
        }
    }
    Ok(out.finish(weighed, &groups.names))
}

enum Pending {
    Node(usize, usize),
    /// The branches too small to show under one parent, summed into one line.
    Folded(Node, usize),
}

struct Walk<'n> {
    nodes: &'n [Node],
    min_percent: f64,
    value: &'n dyn Fn(Totals) -> f64,
    share: &'n dyn Fn(f64, usize) -> f64,
}

impl Walk<'_> {
    /// Shown: a branch at least `min_percent` of either group, or that changed by as much.
    fn big(&self, n: &Node) -> bool {
        let (a, b) = ((self.share)((self.value)(n.inclusive[0]), 0), (self.share)((self.value)(n.inclusive[1]), 1));
        a.max(b) >= self.min_percent || (b - a).abs() >= self.min_percent
    }

    /// How much a branch changed, then how large it is: the order siblings are shown in.
    fn size(&self, n: &Node) -> (f64, f64) {
        let (a, b) = ((self.value)(n.inclusive[0]), (self.value)(n.inclusive[1]));
        ((b - a).abs(), a.max(b))
    }

    fn push_children(&self, parent: usize, level: usize, pending: &mut Vec<Pending>) {
        let nodes = self.nodes;
        let mut children: Vec<usize> = nodes[parent].children.values().copied().collect();
        children.sort_by(|&x, &y| {
            let (sx, sy) = (self.size(&nodes[x]), self.size(&nodes[y]));
            sy.partial_cmp(&sx).unwrap_or(std::cmp::Ordering::Equal).then_with(|| nodes[x].label.cmp(&nodes[y].label))
        });
        let (kept, folded): (Vec<usize>, Vec<usize>) = children.into_iter().partition(|&c| self.big(&nodes[c]));
        if !folded.is_empty() {
            let mut sum = Node { label: format!("[{} smaller branches]", folded.len()).into(), ..Node::default() };
            for &c in &folded {
                for side in 0..2 {
                    add(&mut sum.inclusive[side], nodes[c].inclusive[side]);
                }
            }
            pending.push(Pending::Folded(sum, level));
        }
        for &c in kept.iter().rev() {
            pending.push(Pending::Node(c, level));
        }
    }
}

#[derive(Default)]
struct DiffRows {
    frame: Vec<String>,
    /// Per measure (inclusive, exclusive): A, B, delta, and their shares.
    values: [[Vec<f64>; 6]; 2],
    mark: Vec<Option<String>>,
}

impl DiffRows {
    fn push(
        &mut self,
        frame: String,
        n: &Node,
        mark: Option<&str>,
        value: &dyn Fn(Totals) -> f64,
        share: &dyn Fn(f64, usize) -> f64,
    ) {
        self.frame.push(frame);
        for (measure, totals) in [n.inclusive, n.exclusive].into_iter().enumerate() {
            let (a, b) = (value(totals[0]), value(totals[1]));
            let (a_pct, b_pct) = (share(a, 0), share(b, 1));
            let round = |v: f64| (v * 1000.0).round() / 1000.0;
            let pct = |v: f64| (v * 100.0).round() / 100.0;
            let row = [round(a), round(b), round(b - a), pct(a_pct), pct(b_pct), pct(b_pct - a_pct)];
            for (column, v) in self.values[measure].iter_mut().zip(row) {
                column.push(v);
            }
        }
        self.mark.push(mark.map(str::to_string));
    }

    fn finish(self, weighed: bool, names: &[String; 2]) -> DataTable {
        let mut t = DataTable::new("diff");
        let mut frame = StrColumnBuilder::new();
        for f in &self.frame {
            frame.push(f);
        }
        let _ = t.push_column("frame", "the merged call tree of A and B, outermost caller first", frame.finish());
        let unit = if weighed { "_ms" } else { "" };
        let what = if weighed { "weight in ms" } else { "rows" };
        let [a, b] = names;
        for (measure, values) in self.values.into_iter().enumerate() {
            let (suffix, through) = if measure == 0 { ("", "through here") } else { ("_excl", "ending here") };
            let docs = [
                format!("A ({a}): {what} {through}"),
                format!("B ({b}): {what} {through}"),
                format!("B - A: {what} {through}"),
                format!("A's share of its total {through}, %"),
                format!("B's share of its total {through}, %"),
                "B's share - A's share, percentage points".to_string(),
            ];
            let names = [
                format!("a{suffix}{unit}"),
                format!("b{suffix}{unit}"),
                format!("delta{suffix}{unit}"),
                format!("a{suffix}_pct"),
                format!("b{suffix}_pct"),
                format!("delta{suffix}_pct"),
            ];
            for ((name, doc), column) in names.iter().zip(&docs).zip(values) {
                let _ = t.push_column(name, doc, Column::f64(column));
            }
        }
        let mut mark = StrColumnBuilder::new();
        for m in &self.mark {
            match m {
                Some(m) => mark.push(m),
                None => mark.push_null(),
            }
        }
        let _ = t.push_column("mark", "a driver the driver atlas knows: category (company)", mark.finish());
        t
    }
}

/// `| diff flame FILE.svg`: inferno's differential flame graph. Widths are B's
/// rows, colours B - A: red where B has more, blue where it has less.
pub(super) fn diff_flame(
    groups: &Groups,
    traces: &[TraceFrames],
    file: &std::path::Path,
) -> Result<DataTable, QueryError> {
    let error = |message: String| QueryError::new(ErrorKind::Type, message, None);
    let (stacks, _) = group_stacks(groups, traces, None)?;
    let [a, b] = [folded_lines(&stacks[0]), folded_lines(&stacks[1])];
    if a.is_empty() && b.is_empty() {
        return Err(error("diff flame: no rows, nothing to draw".into()));
    }
    let mut merged = Vec::new();
    let (a_text, b_text) = (a.join("\n"), b.join("\n"));
    inferno::differential::from_readers(
        inferno::differential::Options::default(),
        a_text.as_bytes(),
        b_text.as_bytes(),
        &mut merged,
    )
    .map_err(|e| error(format!("diff flame: {e}")))?;
    let merged = String::from_utf8_lossy(&merged);
    let lines: Vec<&str> = merged.lines().collect();
    let mut options = inferno::flamegraph::Options::default();
    options.title = format!("etwq diff: A = {}, B = {}", groups.names[0], groups.names[1]);
    options.subtitle = Some("widths: B; red: more in B than in A, blue: less".to_string());
    options.count_name = "samples".to_string();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines.iter().copied(), &mut svg)
        .map_err(|e| error(format!("diff flame: {e}")))?;
    std::fs::write(file, &svg).map_err(|e| error(format!("diff flame: {}: {e}", file.display())))?;
    let mut t = DataTable::new("diff flame");
    let _ = t.push_column("wrote", "the SVG file", Column::strs([file.display().to_string()]));
    let _ = t.push_column("a", "group A", Column::strs([groups.names[0].clone()]));
    let _ = t.push_column("b", "group B", Column::strs([groups.names[1].clone()]));
    let _ = t.push_column("stacks", "distinct stacks drawn", Column::u64(vec![lines.len() as u64]));
    let _ = t.push_column("bytes", "file size", Column::u64(vec![svg.len() as u64]));
    Ok(t)
}
