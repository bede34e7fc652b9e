//! Symbols and stack views for the Session: the symbol path (`--symbols`,
//! `.symbols`, `_NT_SYMBOL_PATH`), frame names for every trace, the `stacks`
//! table's "has a frame in" filters, and the views that follow a query:
//! `| tree [depth N] [min P]`, `| butterfly FUNC`, `| folded`, `| flame FILE.svg`.
// Query errors are made once per failed query, far from any hot loop (as in query/).
#![allow(clippy::result_large_err)]
use crate::session::Session;
use columnar::{Column, DataTable, StrColumnBuilder, Value};
use model::stacks::StackId;
use model::symbolize::{FrameId, NamedFrames, ResolvedFrame};
use model::TraceModel;
use query::ast::{BinaryOp, Expr, ExprKind, Literal, Query, Source, ViewKind};
use query::error::{ErrorKind, QueryError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use symbols::path::SymbolPathElement;
use symbols::{SymbolPath, SymbolResolver};

/// The symbol side of a session.
pub struct StackState {
    resolver: SymbolResolver,
    /// `--symbols` / `.symbols`; None: `_NT_SYMBOL_PATH`.
    explicit_path: Option<String>,
    /// The demo's Breakpad files, written out once (see `add_demo_symbols`).
    demo_dir: Option<PathBuf>,
    /// Per trace, built with the tables.
    named: Vec<Option<Arc<NamedFrames>>>,
    messages: Vec<String>,
}

impl Default for StackState {
    fn default() -> StackState {
        StackState::new()
    }
}

impl StackState {
    pub fn new() -> StackState {
        StackState {
            resolver: SymbolResolver::new(SymbolPath::choose(None)),
            explicit_path: None,
            demo_dir: None,
            named: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn path(&self) -> SymbolPath {
        let mut path = SymbolPath::choose(self.explicit_path.as_deref());
        if let Some(dir) = &self.demo_dir {
            path.elements.push(SymbolPathElement::Dir(dir.clone()));
        }
        path
    }

    /// The named frames of trace `index`, built on first use.
    pub(crate) fn name_frames(&mut self, index: usize, model: &TraceModel) -> Arc<NamedFrames> {
        if self.named.len() <= index {
            self.named.resize(index + 1, None);
        }
        if let Some(named) = &self.named[index] {
            return named.clone();
        }
        let named = Arc::new(NamedFrames::build(model, &mut self.resolver));
        self.messages.extend(self.resolver.take_messages());
        self.named[index] = Some(named.clone());
        named
    }
}

/// Writes the demo's .sym files under `root` in store layout, unless already there.
fn write_demo_symbols(root: &std::path::Path) -> Result<(), String> {
    for (relative, text) in demo::demo_symbol_files() {
        let path = root.join(&relative);
        if std::fs::read(&path).ok().as_deref() == Some(text.as_bytes()) {
            continue;
        }
        // Written aside and renamed, so that a concurrent session never reads half a file.
        let aside = path.with_extension(format!("sym.{}.tmp", std::process::id()));
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&aside, text))
            .and_then(|()| std::fs::rename(&aside, &path))
            .map_err(|e| format!("demo symbols: {}: {e}", path.display()))?;
    }
    Ok(())
}

/// In the `stacks` table `module = X` and `func = F` mean "has a frame in X / F":
/// the columns hold `|a|b|` lists, so equality becomes a whole-item `contains`.
fn rewrite_stack_filters(expr: &mut Expr) {
    let list_column = |e: &Expr| matches!(&e.kind, ExprKind::Column(c) if c == "module" || c == "func");
    if let ExprKind::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), left, right) = &mut expr.kind {
        if list_column(right) && !list_column(left) {
            std::mem::swap(left, right);
        }
        if list_column(left) {
            if let ExprKind::Literal(Literal::Str(value)) = &mut right.kind {
                *value = format!("|{value}|");
                *op = if *op == BinaryOp::Eq { BinaryOp::Contains } else { BinaryOp::NotContains };
                return;
            }
        }
    }
    match &mut expr.kind {
        ExprKind::Unary(_, inner) => rewrite_stack_filters(inner),
        ExprKind::Binary(_, left, right) => {
            rewrite_stack_filters(left);
            rewrite_stack_filters(right);
        }
        _ => {}
    }
}

fn rewrite_query(query: &mut Query) {
    let on_stacks = matches!(&query.source, Source::Table { name, .. } if name == "stacks");
    if !on_stacks {
        return;
    }
    for clause in &mut query.clauses {
        if let query::ast::Clause::Where(expr) = clause {
            rewrite_stack_filters(expr);
        }
    }
}

/// The rows' weight: which column, and how to speak of it.
struct Weights {
    values: Vec<Option<i64>>,
}

impl Weights {
    fn of(table: &DataTable) -> Option<Weights> {
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
type Labelled = (Arc<str>, Option<Arc<str>>);

/// One row's stack, outermost first, as labels; None when the row has no stack.
struct RowStacks {
    /// Per row: index into `paths`.
    rows: Vec<Option<usize>>,
    paths: Vec<Vec<Labelled>>,
}

#[derive(Default)]
struct Node {
    label: Arc<str>,
    mark: Option<Arc<str>>,
    children: HashMap<Arc<str>, usize>,
    inclusive: u64,
    inclusive_ns: i64,
    exclusive: u64,
    exclusive_ns: i64,
}

fn ms(ns: i64) -> f64 {
    (ns as f64 / 1e6 * 1000.0).round() / 1000.0
}

impl Session {
    /// Sets the symbol path (`--symbols`, `.symbols`); frames are named again on the next query.
    pub fn set_symbol_path(&mut self, text: &str) {
        let state = &mut self.stack_state;
        state.explicit_path = Some(text.to_string());
        let path = state.path();
        state.resolver.set_path(path);
        state.named.clear();
        self.tables_built = false;
    }

    /// Where symbols are cached and downloaded to, and how long servers may take;
    /// frames are named again on the next query.
    pub fn set_symbol_options(&mut self, options: symbols::ResolverOptions) {
        let state = &mut self.stack_state;
        state.resolver = SymbolResolver::with_options(state.path(), options);
        state.named.clear();
        self.tables_built = false;
    }

    /// The symbol path in force, written the way it is typed; empty when there is none.
    pub fn symbol_path(&self) -> String {
        self.stack_state.path().to_string()
    }

    /// Messages about symbols since the last call: PDBs refused, servers that failed.
    pub fn take_messages(&mut self) -> Vec<String> {
        let state = &mut self.stack_state;
        let mut messages = std::mem::take(&mut state.messages);
        messages.extend(state.resolver.take_messages());
        messages
    }

    /// Writes the demo's Breakpad files in store layout (once per user) and adds
    /// their directory to the symbol path.
    pub(crate) fn add_demo_symbols(&mut self) {
        // The user's cache first; a temp directory when it cannot be written.
        let roots = symbols::default_cache_dir()
            .map(|d| d.join("demo-store"))
            .into_iter()
            .chain([std::env::temp_dir().join("etwq-demo-symbols")]);
        let mut failures = Vec::new();
        for root in roots {
            match write_demo_symbols(&root) {
                Ok(()) => {
                    let state = &mut self.stack_state;
                    state.demo_dir = Some(root);
                    let path = state.path();
                    state.resolver.set_path(path);
                    state.named.clear();
                    return;
                }
                Err(e) => failures.push(e),
            }
        }
        self.stack_state.messages.extend(failures);
    }

    /// The one query pipeline: parse once, run the relational part through the query
    /// engine (in the `stacks` table `module =` and `func =` mean "has a frame in"),
    /// then draw the view that ends the query, if any.
    pub(crate) fn run_pipeline(&mut self, text: &str) -> Result<DataTable, QueryError> {
        let mut query = query::grammar::parse_query(text)?;
        let view = query.view.take();
        rewrite_query(&mut query);
        self.ensure_tables();
        self.cancel.store(false, std::sync::atomic::Ordering::SeqCst);
        let rows = query::run_parsed(query, text, &self.catalog, &self.cancel)?;
        let Some(view) = view else { return Ok(rows) };
        let offsets = matches!(view.kind, ViewKind::Tree { offsets: true, .. });
        let stacks = self.row_stacks(&rows, offsets)?;
        let weights = Weights::of(&rows);
        match view.kind {
            ViewKind::Tree { depth, min_percent, .. } => {
                let depth = depth.map(|d| usize::try_from(d).unwrap_or(usize::MAX));
                Ok(tree(&stacks, weights.as_ref(), depth, min_percent.unwrap_or(1.0)))
            }
            ViewKind::Butterfly { function } => butterfly(&stacks, weights.as_ref(), &function),
            ViewKind::Folded => Ok(folded_table(&stacks)),
            ViewKind::Flame { file } => flame(&stacks, std::path::Path::new(&file)),
        }
    }

    /// Every result row's stack as labels, outermost first.
    fn row_stacks(&self, rows: &DataTable, offsets: bool) -> Result<RowStacks, QueryError> {
        let Some(stack_column) = rows.column("stack") else {
            return Err(QueryError::new(
                ErrorKind::Type,
                "stack views need rows with a `stack` column (samples, syscalls, stacks, frames); keep it in the select",
                None,
            ));
        };
        let pid_column = rows.column("pid");
        let trace_column = rows.column("trace");
        let mut index: HashMap<(usize, u32, StackId), usize> = HashMap::new();
        let mut out = RowStacks { rows: Vec::with_capacity(rows.row_count()), paths: Vec::new() };
        for row in 0..rows.row_count() {
            let stack = match stack_column.value(row) {
                Value::U64(s) => StackId::try_from(s).ok(),
                Value::I64(s) => StackId::try_from(s).ok(),
                _ => None,
            };
            let Some(stack) = stack else {
                out.rows.push(None);
                continue;
            };
            let pid = match pid_column.map(|c| c.value(row)) {
                Some(Value::U64(p)) => u32::try_from(p).unwrap_or(0),
                _ => 0,
            };
            let trace = match trace_column.map(|c| c.value(row)) {
                Some(Value::Str(name)) => self.traces.iter().position(|t| *t.name == *name).unwrap_or(0),
                _ => 0,
            };
            let key = (trace, pid, stack);
            if let Some(&path) = index.get(&key) {
                out.rows.push(Some(path));
                continue;
            }
            let named = self.stack_state.named.get(trace).and_then(Option::as_ref);
            let frames: Option<&[FrameId]> = named.and_then(|n| n.stack(pid, stack).or_else(|| n.stack(0, stack)));
            let path: Vec<Labelled> = match (named, frames) {
                (Some(n), Some(ids)) => ids
                    .iter()
                    .rev()
                    .filter_map(|&id| n.frame(id))
                    .map(|f| (node_label(f, offsets), f.mark.clone()))
                    .collect(),
                _ => Vec::new(),
            };
            out.paths.push(path);
            index.insert(key, out.paths.len() - 1);
            out.rows.push(Some(out.paths.len() - 1));
        }
        Ok(out)
    }
}

fn no_stack_label() -> Arc<str> {
    "[no stack]".into()
}

/// The call tree: from the outermost caller down, inclusive and exclusive weights.
fn tree(stacks: &RowStacks, weights: Option<&Weights>, depth: Option<usize>, min_percent: f64) -> DataTable {
    let mut nodes = vec![Node { label: "[root]".into(), ..Node::default() }];
    for (row, path) in stacks.rows.iter().enumerate() {
        let weight = weights.and_then(|w| w.values.get(row).copied().flatten()).unwrap_or(0);
        let no_stack = vec![(no_stack_label(), None)];
        let labels = match path {
            Some(p) if !stacks.paths[*p].is_empty() => &stacks.paths[*p],
            _ => &no_stack,
        };
        let mut at = 0;
        nodes[0].inclusive += 1;
        nodes[0].inclusive_ns += weight;
        for (label, mark) in labels {
            let next = match nodes[at].children.get(label) {
                Some(&child) => child,
                None => {
                    nodes.push(Node { label: label.clone(), mark: mark.clone(), ..Node::default() });
                    let child = nodes.len() - 1;
                    nodes[at].children.insert(label.clone(), child);
                    child
                }
            };
            at = next;
            nodes[at].inclusive += 1;
            nodes[at].inclusive_ns += weight;
        }
        nodes[at].exclusive += 1;
        nodes[at].exclusive_ns += weight;
    }
    let by_weight = weights.is_some();
    let total = if by_weight { nodes[0].inclusive_ns.max(0) as f64 } else { nodes[0].inclusive as f64 };
    let share = |n: &Node| {
        let value = if by_weight { n.inclusive_ns.max(0) as f64 } else { n.inclusive as f64 };
        if total > 0.0 {
            value / total * 100.0
        } else {
            0.0
        }
    };
    let mut out = TreeRows::default();
    // Depth-first, heaviest child first; an explicit stack keeps deep trees off the call stack.
    let mut pending: Vec<Pending> = Vec::new();
    let walk = Walk { nodes: &nodes, min_percent, by_weight, depth, share: &share };
    walk.push_children(0, 0, &mut pending);
    while let Some(item) = pending.pop() {
        match item {
            Pending::Node(node, level) => {
                let n = &nodes[node];
                out.push(&format!("{}{}", "  ".repeat(level), n.label), n, share(n), n.mark.as_deref());
                walk.push_children(node, level + 1, &mut pending);
            }
            Pending::Folded(n, level) => out.push(&format!("{}{}", "  ".repeat(level), n.label), &n, share(&n), None),
        }
    }
    out.finish(by_weight)
}

enum Pending {
    Node(usize, usize),
    /// The branches below the threshold under one parent, summed into one line.
    Folded(Node, usize),
}

struct Walk<'n> {
    nodes: &'n [Node],
    min_percent: f64,
    by_weight: bool,
    depth: Option<usize>,
    share: &'n dyn Fn(&Node) -> f64,
}

impl Walk<'_> {
    fn push_children(&self, parent: usize, level: usize, pending: &mut Vec<Pending>) {
        if self.depth.is_some_and(|d| level >= d) {
            return;
        }
        let nodes = self.nodes;
        let key = |n: &Node| {
            if self.by_weight {
                (n.inclusive_ns, n.inclusive)
            } else {
                (n.inclusive as i64, n.inclusive)
            }
        };
        let mut children: Vec<usize> = nodes[parent].children.values().copied().collect();
        children
            .sort_by(|&a, &b| key(&nodes[b]).cmp(&key(&nodes[a])).then_with(|| nodes[a].label.cmp(&nodes[b].label)));
        let (kept, folded): (Vec<usize>, Vec<usize>) =
            children.into_iter().partition(|&c| (self.share)(&nodes[c]) >= self.min_percent);
        if !folded.is_empty() {
            let mut sum = Node { label: format!("[{} smaller branches]", folded.len()).into(), ..Node::default() };
            for &c in &folded {
                sum.inclusive += nodes[c].inclusive;
                sum.inclusive_ns += nodes[c].inclusive_ns;
            }
            pending.push(Pending::Folded(sum, level));
        }
        for &c in kept.iter().rev() {
            pending.push(Pending::Node(c, level));
        }
    }
}

#[derive(Default)]
struct TreeRows {
    frame: Vec<String>,
    inclusive: Vec<u64>,
    inclusive_ms: Vec<f64>,
    exclusive: Vec<u64>,
    exclusive_ms: Vec<f64>,
    percent: Vec<f64>,
    mark: Vec<Option<String>>,
}

impl TreeRows {
    fn push(&mut self, frame: &str, n: &Node, percent: f64, mark: Option<&str>) {
        self.frame.push(frame.to_string());
        self.inclusive.push(n.inclusive);
        self.inclusive_ms.push(ms(n.inclusive_ns));
        self.exclusive.push(n.exclusive);
        self.exclusive_ms.push(ms(n.exclusive_ns));
        self.percent.push((percent * 100.0).round() / 100.0);
        self.mark.push(mark.map(str::to_string));
    }

    fn finish(self, by_weight: bool) -> DataTable {
        let mut t = DataTable::new("tree");
        let mut frame = StrColumnBuilder::new();
        for f in &self.frame {
            frame.push(f);
        }
        let mut mark = StrColumnBuilder::new();
        for m in &self.mark {
            match m {
                Some(m) => mark.push(m),
                None => mark.push_null(),
            }
        }
        let _ = t.push_column("frame", "the call tree, outermost caller first; indentation is depth", frame.finish());
        let _ = t.push_column("inclusive", "rows whose stack passes through here", Column::u64(self.inclusive));
        if by_weight {
            let _ = t.push_column("inclusive_ms", "their weight", Column::f64(self.inclusive_ms));
        }
        let _ = t.push_column("exclusive", "rows whose stack ends here", Column::u64(self.exclusive));
        if by_weight {
            let _ = t.push_column("exclusive_ms", "their weight", Column::f64(self.exclusive_ms));
        }
        let _ = t.push_column("percent", "inclusive share of the total", Column::f64(self.percent));
        let _ = t.push_column("mark", "well-known third-party driver", mark.finish());
        t
    }
}

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

fn butterfly(stacks: &RowStacks, weights: Option<&Weights>, function: &str) -> Result<DataTable, QueryError> {
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

/// Collapsed stacks, `outer;...;inner count`, sorted: what flamegraph.pl,
/// inferno and speedscope read.
fn folded_lines(stacks: &RowStacks) -> Vec<String> {
    let mut counts: HashMap<usize, u64> = HashMap::new();
    let mut no_stack = 0u64;
    for path in &stacks.rows {
        match path {
            Some(p) if !stacks.paths[*p].is_empty() => *counts.entry(*p).or_default() += 1,
            _ => no_stack += 1,
        }
    }
    let mut merged: HashMap<String, u64> = HashMap::new();
    for (path, count) in counts {
        let line: Vec<String> = stacks.paths[path].iter().map(|(label, _)| label.replace([';', '\n'], ":")).collect();
        *merged.entry(line.join(";")).or_default() += count;
    }
    if no_stack > 0 {
        *merged.entry(no_stack_label().to_string()).or_default() += no_stack;
    }
    let mut lines: Vec<String> = merged.into_iter().map(|(stack, count)| format!("{stack} {count}")).collect();
    lines.sort();
    lines
}

fn folded_table(stacks: &RowStacks) -> DataTable {
    let mut t = DataTable::new("folded");
    let _ = t.push_column("folded", "collapsed stack: outer;...;inner count", Column::strs(folded_lines(stacks)));
    t
}

fn flame(stacks: &RowStacks, file: &std::path::Path) -> Result<DataTable, QueryError> {
    let lines = folded_lines(stacks);
    if lines.is_empty() {
        return Err(QueryError::new(ErrorKind::Type, "flame: no rows, nothing to draw", None));
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = "etwq".to_string();
    options.count_name = "samples".to_string();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
        .map_err(|e| QueryError::new(ErrorKind::Type, format!("flame: {e}"), None))?;
    std::fs::write(file, &svg)
        .map_err(|e| QueryError::new(ErrorKind::Type, format!("flame: {}: {e}", file.display()), None))?;
    let mut t = DataTable::new("flame");
    let _ = t.push_column("wrote", "the SVG file", Column::strs([file.display().to_string()]));
    let _ = t.push_column("stacks", "distinct stacks drawn", Column::u64(vec![lines.len() as u64]));
    let _ = t.push_column("bytes", "file size", Column::u64(vec![svg.len() as u64]));
    Ok(t)
}
