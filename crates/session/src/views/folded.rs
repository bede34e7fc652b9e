//! `| folded`: collapsed stacks, one line per distinct stack with its count.
use super::no_stack_label;
use super::row_stacks::RowStacks;
use columnar::{Column, DataTable};
use std::collections::HashMap;

/// Collapsed stacks, `outer;...;inner count`, sorted: what flamegraph.pl,
/// inferno and speedscope read.
pub(super) fn folded_lines(stacks: &RowStacks) -> Vec<String> {
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

pub(super) fn folded_table(stacks: &RowStacks) -> DataTable {
    let mut t = DataTable::new("folded");
    let _ = t.push_column("folded", "collapsed stack: outer;...;inner count", Column::strs(folded_lines(stacks)));
    t
}
