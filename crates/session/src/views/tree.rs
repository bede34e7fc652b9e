//! `| tree [depth N] [min P%] [offsets]`: the call tree from the outermost caller
//! down, with inclusive and exclusive counts and weights.
use super::row_stacks::{LabelId, RowStacks};
use super::{ms, no_stack_label};
use columnar::{Column, DataTable, StrColumnBuilder};
use model::symbolize::HashMap;
use std::sync::Arc;

#[derive(Default)]
struct Node {
    label: Arc<str>,
    mark: Option<Arc<str>>,
    children: HashMap<LabelId, usize>,
    inclusive: u64,
    inclusive_ns: i64,
    exclusive: u64,
    exclusive_ns: i64,
}

/// The call tree: from the outermost caller down, inclusive and exclusive weights.
pub(super) fn tree(stacks: &RowStacks, by_weight: bool, depth: Option<usize>, min_percent: f64) -> DataTable {
    // Rows come summed per distinct path: millions of rows share far fewer
    // paths, and each path is walked down the tree once.
    let mut nodes = vec![Node { label: "[root]".into(), ..Node::default() }];
    for path in 0..stacks.len() {
        let (rows, weight) = stacks.totals[path];
        if rows == 0 {
            continue;
        }
        let mut at = 0;
        nodes[0].inclusive += rows;
        nodes[0].inclusive_ns += weight;
        for &label in stacks.steps(path) {
            let next = match nodes[at].children.get(&label) {
                Some(&child) => child,
                None => {
                    let (text, mark) = stacks.label(label).clone();
                    nodes.push(Node { label: text, mark, ..Node::default() });
                    let child = nodes.len() - 1;
                    nodes[at].children.insert(label, child);
                    child
                }
            };
            at = next;
            nodes[at].inclusive += rows;
            nodes[at].inclusive_ns += weight;
        }
        // A path cut at the depth asked for goes on below its last node: not exclusive there.
        if !stacks.cut[path] {
            nodes[at].exclusive += rows;
            nodes[at].exclusive_ns += weight;
        }
    }
    let (rows, weight) = stacks.no_stack;
    if rows > 0 {
        nodes.push(Node { label: no_stack_label(), ..Node::default() });
        let child = nodes.len() - 1;
        nodes[0].children.insert(LabelId::MAX, child);
        for at in [0, child] {
            nodes[at].inclusive += rows;
            nodes[at].inclusive_ns += weight;
        }
        nodes[child].exclusive += rows;
        nodes[child].exclusive_ns += weight;
    }
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
        let _ = t.push_column("mark", "a driver the driver atlas knows: category (company)", mark.finish());
        t
    }
}
