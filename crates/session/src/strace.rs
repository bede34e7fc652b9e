//! `etwq strace`: one process's system calls as strace prints them, with
//! the object each call touched as its argument, and `strace -c`'s summary.
// A QueryError is made once per failed query, far from any hot loop (as in session.rs).
#![allow(clippy::result_large_err)]
use crate::session::Session;
use columnar::{format_timestamp_ns, ColumnBuilder, DataTable, Value};
use progress::Progress;
use query::QueryError;
use std::collections::{BTreeMap, BTreeSet};

/// Which calls to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StraceOptions {
    /// The process by id (`-p`).
    pub pid: Option<u32>,
    /// The process by image name, any case (`-n`).
    pub name: Option<String>,
    /// Failures only: NT_ERROR, severity 3 (`--failed`). STATUS_TIMEOUT and
    /// STATUS_PENDING are successes.
    pub failed: bool,
    /// With `failed`: warnings (NT_WARNING) too.
    pub warnings: bool,
    /// The processes the chosen ones started, and theirs (`-f`).
    pub follow_children: bool,
}

/// How a line is printed: with the time since the trace start (`-t`) and the time spent in the call (`-T`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StraceLine {
    pub timestamps: bool,
    pub durations: bool,
}

/// The columns of `Session::strace`'s table, in order.
pub const STRACE_COLUMNS: [&str; 11] =
    ["ts", "proc", "pid", "tid", "func", "object", "object_count", "ret", "status", "severity", "duration_ns"];

/// An unsigned integer cell.
fn unsigned(value: Value) -> Option<u64> {
    match value {
        Value::U64(v) => Some(v),
        Value::Status(v) => Some(v.into()),
        Value::I64(v) => u64::try_from(v).ok(),
        _ => None,
    }
}

/// A query string literal of `text`.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Session {
    /// The calls `options` choose, in time order, one row each (`STRACE_COLUMNS`);
    /// a call whose function has no name is named by its module and offset.
    pub fn strace(&mut self, options: &StraceOptions, progress: &Progress) -> Result<DataTable, QueryError> {
        let mut who = Vec::new();
        if let Some(pid) = options.pid {
            who.push(format!("pid = {pid}"));
        }
        if let Some(name) = &options.name {
            who.push(format!("lower(proc) = {}", quoted(&name.to_lowercase())));
        }
        let mut filter = match who.len() {
            0 => String::from("true"),
            _ => format!("({})", who.join(" or ")),
        };
        if options.follow_children && !who.is_empty() {
            let pids = self.descendants(&filter, progress)?;
            if !pids.is_empty() {
                let list: Vec<String> = pids.iter().map(u32::to_string).collect();
                filter = format!("({filter} or pid in ({}))", list.join(", "));
            }
        }
        if options.failed {
            let severities = if options.warnings { r#"("error", "warning")"# } else { r#"("error")"# };
            filter.push_str(&format!(" and severity in {severities}"));
        }
        let query = format!(
            "syscalls where {filter} order by ts select ts, proc, pid, tid, func, module, offset, address, object, \
             object_count, ret, status, severity, duration_ns"
        );
        let calls = self.query_with_progress(&query, progress)?;
        Ok(with_function_names(&calls))
    }

    /// The processes started by those `filter` chooses, and by theirs, at any depth.
    fn descendants(&mut self, filter: &str, progress: &Progress) -> Result<BTreeSet<u32>, QueryError> {
        let processes = self.query_with_progress("processes select pid, parent_pid, name as proc", progress)?;
        let chosen =
            self.query_with_progress(&format!("processes select pid, name as proc where {filter}"), progress)?;
        let pid_of = |t: &DataTable, row| t.column("pid").and_then(|c| unsigned(c.value(row))).map(|p| p as u32);
        let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for row in 0..processes.row_count() {
            let parent = processes.column("parent_pid").and_then(|c| unsigned(c.value(row)));
            if let (Some(pid), Some(parent)) = (pid_of(&processes, row), parent) {
                children.entry(parent as u32).or_default().push(pid);
            }
        }
        let mut found = BTreeSet::new();
        let mut next: Vec<u32> = (0..chosen.row_count()).filter_map(|row| pid_of(&chosen, row)).collect();
        while let Some(pid) = next.pop() {
            for &child in children.get(&pid).into_iter().flatten() {
                // A pid seen before (a cycle of reused ids) is not followed again.
                if child != pid && found.insert(child) {
                    next.push(child);
                }
            }
        }
        Ok(found)
    }
}

/// The table with `func` filled where symbols gave no name: `module+0xOFFSET`, else the address.
fn with_function_names(calls: &DataTable) -> DataTable {
    let text = |name: &str, row| calls.column(name).map_or(Value::Null, |c| c.value(row));
    let mut functions = Vec::with_capacity(calls.row_count());
    for row in 0..calls.row_count() {
        let name = match (text("func", row), text("module", row), text("offset", row), text("address", row)) {
            (Value::Str(f), ..) if !f.is_empty() => f.to_string(),
            (_, Value::Str(m), Value::Address(o), _) => format!("{m}+0x{o:x}"),
            (.., Value::Address(a)) => format!("0x{a:x}"),
            _ => "?".into(),
        };
        functions.push(Value::Str(name.into()));
    }
    let mut table = DataTable::new("strace");
    for name in STRACE_COLUMNS {
        let column = if name == "func" {
            ColumnBuilder::infer(&functions)
        } else {
            match calls.column(name) {
                Some(c) => c.clone(),
                None => continue,
            }
        };
        let _ = table.push_column(name, "", column);
    }
    table
}

/// One call as strace prints it:
/// `strace.exe(17016) 4242 NtOpenKey("\REGISTRY\...") = 0xC0000034 STATUS_OBJECT_NAME_NOT_FOUND <0.000012>`.
pub fn strace_line(calls: &DataTable, row: usize, how: StraceLine) -> String {
    let value = |name: &str| calls.column(name).map_or(Value::Null, |c| c.value(row));
    let text = |name: &str| match value(name) {
        Value::Str(s) => Some(s),
        _ => None,
    };
    let number = |name: &str| unsigned(value(name));
    let mut line = String::new();
    if how.timestamps {
        if let Value::Timestamp(ts) = value("ts") {
            line.push_str(&format_timestamp_ns(ts));
            line.push(' ');
        }
    }
    let unknown = || "?".to_string();
    let proc = text("proc").map_or_else(unknown, |p| p.to_string());
    let pid = number("pid").map_or_else(unknown, |p| p.to_string());
    let tid = number("tid").map_or_else(unknown, |t| t.to_string());
    line.push_str(&format!("{proc}({pid}) {tid} {}(", text("func").map_or_else(unknown, |f| f.to_string())));
    if let Some(object) = text("object") {
        line.push_str(&format!("\"{object}\""));
        let more = number("object_count").unwrap_or(1).saturating_sub(1);
        if more > 0 {
            line.push_str(&format!(", +{more} more"));
        }
    }
    line.push_str(") = ");
    match number("ret") {
        Some(ret) => {
            line.push_str(&columnar::format_status(ret as u32));
            if let Some(name) = text("status").filter(|s| !s.starts_with("0x")) {
                line.push_str(&format!(" {name}"));
            }
        }
        None => line.push('?'),
    }
    if how.durations {
        match value("duration_ns") {
            Value::Duration(ns) => {
                line.push_str(&format!(" <{}.{:06}>", ns / 1_000_000_000, (ns % 1_000_000_000) / 1000))
            }
            _ => line.push_str(" <?>"),
        }
    }
    // Names come from the trace: a control character in one must not reach the terminal.
    render::escaped(&line).into_owned()
}

/// `strace -c`: per function, its calls, errors (NT_ERROR), and the total,
/// average and longest time in it, busiest first.
pub fn strace_summary(calls: &DataTable) -> DataTable {
    #[derive(Default)]
    struct Totals {
        calls: u64,
        errors: u64,
        timed: u64,
        total_ns: i64,
        max_ns: i64,
    }
    let mut by_function: BTreeMap<String, Totals> = BTreeMap::new();
    let value = |name: &str, row| calls.column(name).map_or(Value::Null, |c| c.value(row));
    for row in 0..calls.row_count() {
        let function = match value("func", row) {
            Value::Str(f) => f.to_string(),
            _ => "?".into(),
        };
        let totals = by_function.entry(function).or_default();
        totals.calls += 1;
        if matches!(value("severity", row), Value::Str(s) if &*s == "error") {
            totals.errors += 1;
        }
        if let Value::Duration(ns) = value("duration_ns", row) {
            totals.timed += 1;
            totals.total_ns = totals.total_ns.saturating_add(ns);
            totals.max_ns = totals.max_ns.max(ns);
        }
    }
    let mut rows: Vec<(String, Totals)> = by_function.into_iter().collect();
    rows.sort_by(|a, b| b.1.total_ns.cmp(&a.1.total_ns).then(b.1.calls.cmp(&a.1.calls)).then(a.0.cmp(&b.0)));
    let column = |values: Vec<Value>| ColumnBuilder::infer(&values);
    let durations = |f: &dyn Fn(&Totals) -> Option<i64>| {
        column(rows.iter().map(|(_, t)| f(t).map_or(Value::Null, Value::Duration)).collect())
    };
    let mut table = DataTable::new("strace -c");
    let columns = [
        ("func", column(rows.iter().map(|(f, _)| Value::Str(f.as_str().into())).collect())),
        ("calls", column(rows.iter().map(|(_, t)| Value::U64(t.calls)).collect())),
        ("errors", column(rows.iter().map(|(_, t)| Value::U64(t.errors)).collect())),
        ("total", durations(&|t| (t.timed > 0).then_some(t.total_ns))),
        ("average", durations(&|t| (t.timed > 0).then(|| t.total_ns / t.timed as i64))),
        ("max", durations(&|t| (t.timed > 0).then_some(t.max_ns))),
    ];
    for (name, values) in columns {
        let _ = table.push_column(name, "", values);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_for_the_query_language() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
