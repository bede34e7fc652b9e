//! `| waits`: the wait chains of the switch-ins a `cswitch` query chose. For
//! each: what its thread waited on (the reason it left the CPU) and for how
//! long, which thread readied it (the ReadyThread that ended the wait), how
//! long it then stood ready; then the same for that readying thread's own
//! last wait before it ran, and so on: PerfView's "Thread Time (with
//! ReadyThread)", WPA's Readying Thread. A chain ends at a thread readied by
//! an interrupt (the idle thread: a DPC or a timer), at one that was
//! preempted or yielded (ready without a ReadyThread), where the trace does
//! not say, or after `MAX_DEPTH` links. Chains are merged into a tree by
//! thread and reason, heaviest wait first.
use super::ms;
use columnar::{ColumnBuilder, DataTable, Value};
use model::tables::wait_reason_name;
use model::{CSwitchRow, TraceModel};
use query::ast::Span;
use query::error::{ErrorKind, QueryError};
use std::collections::HashMap;

/// How many readying threads a chain follows.
const MAX_DEPTH: usize = 8;

/// The rows of one trace's switches, per thread and per CPU, in time order.
struct Switches<'m> {
    model: &'m TraceModel,
    by_thread: HashMap<u32, Vec<u32>>,
    by_cpu: HashMap<u16, Vec<u32>>,
}

impl<'m> Switches<'m> {
    fn new(model: &'m TraceModel) -> Switches<'m> {
        let (mut by_thread, mut by_cpu): (HashMap<u32, Vec<u32>>, HashMap<u16, Vec<u32>>) = Default::default();
        for (i, row) in model.cswitch.iter().enumerate() {
            by_thread.entry(row.tid).or_default().push(i as u32);
            by_cpu.entry(row.cpu).or_default().push(i as u32);
        }
        Switches { model, by_thread, by_cpu }
    }

    fn row(&self, index: u32) -> &'m CSwitchRow {
        &self.model.cswitch[index as usize]
    }

    /// The switch-in at `ts` on `cpu`.
    fn at(&self, cpu: u16, ts: i64) -> Option<u32> {
        let rows = self.by_cpu.get(&cpu)?;
        let i = rows.partition_point(|&r| self.row(r).ts < ts);
        rows.get(i).copied().filter(|&r| self.row(r).ts == ts)
    }

    /// The stretch `tid` ran before the one at `index`.
    fn previous_run(&self, tid: u32, index: u32) -> Option<&'m CSwitchRow> {
        let rows = self.by_thread.get(&tid)?;
        let i = rows.partition_point(|&r| r < index);
        i.checked_sub(1).map(|p| self.row(rows[p]))
    }

    /// The stretch of `tid` running on `cpu` at `ts`.
    fn running(&self, cpu: u16, ts: i64, tid: u32) -> Option<u32> {
        let rows = self.by_cpu.get(&cpu)?;
        let i = rows.partition_point(|&r| self.row(r).ts <= ts).checked_sub(1)?;
        Some(rows[i]).filter(|&r| self.row(r).tid == tid && ts <= self.row(r).end_ts)
    }

    fn thread_label(&self, tid: u32, ts: i64) -> String {
        if tid == 0 {
            return "Idle (0): an interrupt, DPC or timer".into();
        }
        let pid = self.model.threads.pid_at(tid, ts);
        let name = pid.and_then(|p| self.model.processes.at(p, ts)).map_or("?", |p| p.name.as_str());
        match pid {
            Some(pid) => format!("{name}({pid}) {tid}"),
            None => format!("? {tid}"),
        }
    }
}

/// A node of the merged tree: one thread's wait, for one reason, at one place in the chains.
#[derive(Default)]
struct Node {
    label: String,
    count: u64,
    waited_ns: i64,
    ready_ns: i64,
    children: Vec<usize>,
    by_label: HashMap<String, usize>,
}

struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn child(&mut self, parent: usize, label: String) -> usize {
        if let Some(&i) = self.nodes[parent].by_label.get(&label) {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(Node { label: label.clone(), ..Default::default() });
        self.nodes[parent].children.push(i);
        self.nodes[parent].by_label.insert(label, i);
        i
    }

    /// Adds the chain of the switch-in at `index` under `parent`.
    fn add_chain(&mut self, s: &Switches, parent: usize, index: u32, depth: usize) {
        let row = s.row(index);
        let who = s.thread_label(row.tid, row.ts);
        let before = s.previous_run(row.tid, index);
        let (label, waited, ready, readier) = match (s.model.wakeup_of(row), before) {
            (Some(w), before) => {
                let reason = before.and_then(|b| b.wait_reason).map_or("?".to_string(), wait_reason_name);
                let waited = before.map_or(0, |b| w.ts.saturating_sub(b.end_ts).max(0));
                (format!("{who} waited: {reason}"), waited, row.ts.saturating_sub(w.ts), Some(w))
            }
            (None, _) => match s.model.ready_ns(row) {
                Some(ready) => (format!("{who} ready: preempted or yielded"), 0, ready, None),
                None => (format!("{who}: the trace does not say what it waited on"), 0, 0, None),
            },
        };
        let node = self.child(parent, label);
        let n = &mut self.nodes[node];
        n.count += 1;
        n.waited_ns = n.waited_ns.saturating_add(waited);
        n.ready_ns = n.ready_ns.saturating_add(ready);
        let Some(w) = readier else { return };
        let readying = match w.readying_tid() {
            None => Err("readied by a thread the trace does not name"),
            Some(0) => Err("readied by Idle (0): an interrupt, DPC or timer"),
            Some(_) if depth + 1 >= MAX_DEPTH => Err("... (the chain goes on)"),
            Some(tid) => s.running(w.cpu, w.ts, tid).ok_or("readied by a thread not seen running then"),
        };
        match readying {
            Ok(next) => self.add_chain(s, node, next, depth + 1),
            Err(end) => {
                let leaf = self.child(node, end.to_string());
                self.nodes[leaf].count += 1;
            }
        }
    }

    /// Depth-first, heaviest wait first: (depth, node).
    fn walk(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, 0usize)];
        while let Some((depth, node)) = stack.pop() {
            if node != 0 {
                out.push((depth, node));
            }
            let mut children = self.nodes[node].children.clone();
            children.sort_by_key(|&c| {
                let n = &self.nodes[c];
                (std::cmp::Reverse(n.waited_ns.saturating_add(n.ready_ns)), std::cmp::Reverse(n.count))
            });
            stack.extend(children.into_iter().rev().map(|c| (depth + 1, c)));
        }
        out
    }
}

/// The wait chains of `rows`, a `cswitch` result with its `ts` and `cpu`
/// columns (and `trace` with several traces), over the traces' models.
pub(crate) fn waits(rows: &DataTable, models: &[(&str, &TraceModel)], span: Span) -> Result<DataTable, QueryError> {
    let column = |name: &str| {
        rows.column(name).ok_or_else(|| {
            let message =
                format!("waits draws switch-ins: the rows need the cswitch columns ts and cpu ({name} is missing)");
            QueryError::at(ErrorKind::Type, message, span)
        })
    };
    let (ts, cpu) = (column("ts")?, column("cpu")?);
    let trace = rows.column("trace");
    let switches: Vec<Switches> = models.iter().map(|(_, m)| Switches::new(m)).collect();
    let mut tree = Tree { nodes: vec![Node::default()] };
    for row in 0..rows.row_count() {
        let (Value::Timestamp(ts), Value::U64(cpu)) = (ts.value(row), cpu.value(row)) else { continue };
        let index = match trace.map(|t| t.value(row)) {
            Some(Value::Str(name)) => models.iter().position(|(n, _)| **n == *name),
            _ => (models.len() == 1).then_some(0),
        };
        let Some(s) = index.and_then(|i| switches.get(i)) else { continue };
        if let Some(switch_in) = s.at(cpu as u16, ts) {
            tree.add_chain(s, 0, switch_in, 0);
        }
    }
    let walked = tree.walk();
    let total: i64 = tree.nodes[0].children.iter().map(|&c| tree.nodes[c].waited_ns + tree.nodes[c].ready_ns).sum();
    let mut cells: [Vec<Value>; 5] = Default::default();
    for (depth, node) in walked {
        let n = &tree.nodes[node];
        let time = n.waited_ns.saturating_add(n.ready_ns);
        let percent =
            if total > 0 { Value::F64((time as f64 * 1e4 / total as f64).round() / 100.0) } else { Value::Null };
        let row = [
            Value::Str(format!("{}{}", "  ".repeat(depth - 1), n.label).into()),
            Value::U64(n.count),
            Value::F64(ms(n.waited_ns)),
            Value::F64(ms(n.ready_ns)),
            percent,
        ];
        for (cell, value) in cells.iter_mut().zip(row) {
            cell.push(value);
        }
    }
    let mut table = DataTable::new("waits");
    for (name, values) in ["chain", "count", "waited_ms", "ready_ms", "percent"].into_iter().zip(cells) {
        let _ = table.push_column(name, "", ColumnBuilder::infer(&values));
    }
    Ok(table)
}
