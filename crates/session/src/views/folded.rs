//! `| folded`: collapsed stacks, one line per distinct stack with its count.
use super::no_stack_label;
use super::row_stacks::RowStacks;
use columnar::{Column, DataTable};
use std::collections::HashMap;

/// Collapsed stacks, `outer;...;inner count`, sorted: what flamegraph.pl,
/// inferno and speedscope read.
pub(super) fn folded_lines(stacks: &RowStacks) -> Vec<String> {
    let mut merged: HashMap<String, u64> = HashMap::new();
    for path in 0..stacks.len() {
        let count = stacks.totals[path].0;
        if count == 0 {
            continue;
        }
        let line: Vec<String> = stacks.path(path).iter().map(|(label, _)| label.replace([';', '\n'], ":")).collect();
        *merged.entry(line.join(";")).or_default() += count;
    }
    let no_stack = stacks.no_stack.0;
    if no_stack > 0 {
        *merged.entry(no_stack_label().to_string()).or_default() += no_stack;
    }
    let mut lines: Vec<String> = merged.into_iter().map(|(stack, count)| format!("{stack} {count}")).collect();
    lines.sort();
    lines
}

pub(super) fn folded_table(stacks: &RowStacks) -> DataTable {
    let mut t = DataTable::new("folded");
    let _ = t.push_column("folded", "collapsed stack: outer;...;inner count", Column::strs(folded_lines(stacks)));
    t
}
