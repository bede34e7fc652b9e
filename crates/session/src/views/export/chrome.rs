//! The Chrome trace event format (chrome://tracing, Perfetto, and Firefox
//! Profiler import it): a track per thread, named by `process_name` and
//! `thread_name` metadata events, and each system call or running slice a
//! complete ("X") event, its `ts` and `dur` in microseconds.
use super::{error, ns_at, text_at, u32_at, write_file, wrote};
use columnar::{DataTable, Value};
use query::ast::Span;
use query::error::QueryError;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::Path;

/// What kind of rows these are, from the table the query read or else its columns.
#[derive(Clone, Copy, PartialEq)]
enum Rows {
    /// syscalls: a call from entry to return.
    Syscalls,
    /// cswitch: a thread on a CPU from switch-in to switch-out.
    Cswitch,
}

impl Rows {
    fn of(rows: &DataTable, source: Option<&str>) -> Option<Rows> {
        match source {
            Some("syscalls") => Some(Rows::Syscalls),
            Some("cswitch") => Some(Rows::Cswitch),
            Some(_) => None,
            // A saved query: its columns tell.
            None if rows.column("cpu_ns").is_some() => Some(Rows::Cswitch),
            None if rows.column("duration_ns").is_some() && rows.column("address").is_some() => Some(Rows::Syscalls),
            None => None,
        }
    }
}

/// `| export chrome FILE` of cswitch or syscalls rows.
pub(crate) fn chrome(
    rows: &DataTable,
    source: Option<&str>,
    trace_names: &[&str],
    file: &Path,
    span: Span,
) -> Result<DataTable, QueryError> {
    let Some(kind) = Rows::of(rows, source) else {
        let message = "export chrome writes system calls and running slices: \
                       syscalls ... | export chrome F.json, or cswitch ... | export chrome F.json";
        return Err(error(message.into(), span));
    };
    let duration = if kind == Rows::Cswitch { "cpu_ns" } else { "duration_ns" };
    for needed in ["ts", "tid", duration] {
        if rows.column(needed).is_none() {
            return Err(error(format!("export chrome needs the `{needed}` column; keep it in the select"), span));
        }
    }
    if rows.row_count() == 0 {
        return Err(error("export chrome: the query returned no rows; nothing to write".into(), span));
    }
    let column = |name: &str| rows.column(name);
    let (ts, dur, pid, tid, proc, trace) =
        (column("ts"), column(duration), column("pid"), column("tid"), column("proc"), column("trace"));
    let mut events: Vec<Json> = Vec::with_capacity(rows.row_count() + 64);
    // Per track: its process name; tracks of several traces apart by a pid per trace.
    let mut processes: BTreeMap<u64, String> = BTreeMap::new();
    let mut threads: BTreeMap<(u64, u32), ()> = BTreeMap::new();
    for row in 0..rows.row_count() {
        let trace_name = text_at(trace, row);
        let trace_index = trace_name.as_deref().and_then(|t| trace_names.iter().position(|n| *n == t)).unwrap_or(0);
        let pid_in_trace = u32_at(pid, row).unwrap_or(0);
        let track_pid = ((trace_index as u64) << 32) | u64::from(pid_in_trace);
        let tid = u32_at(tid, row).unwrap_or(0);
        // Viewers show the pid and tid beside these names.
        processes.entry(track_pid).or_insert_with(|| {
            let name = text_at(proc, row).unwrap_or_else(|| "?".into());
            match trace_name {
                Some(t) => format!("{name} [{t}]"),
                None => name,
            }
        });
        threads.insert((track_pid, tid), ());
        let start_ns = ns_at(ts, row).unwrap_or(0);
        let dur_ns = ns_at(dur, row);
        let (name, category, args) = match kind {
            Rows::Syscalls => (syscall_name(rows, row), "syscall", syscall_args(rows, row, dur_ns.is_some())),
            Rows::Cswitch => ("running".to_string(), "cswitch", cswitch_args(rows, row)),
        };
        events.push(json!({
            "name": name,
            "cat": category,
            "ph": "X",
            "ts": start_ns as f64 / 1e3,
            "dur": dur_ns.unwrap_or(0).max(0) as f64 / 1e3,
            "pid": track_pid,
            "tid": tid,
            "args": args,
        }));
    }
    let tracks = threads.len();
    for (&pid, name) in &processes {
        events.push(json!({ "name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": { "name": name } }));
    }
    for &(pid, tid) in threads.keys() {
        let process = processes.get(&pid).map_or("?", String::as_str);
        events.push(json!({ "name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": { "name": process } }));
    }
    let file_json = json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": { "exporter": concat!("etwq ", env!("CARGO_PKG_VERSION")), "rows": source.unwrap_or("") },
    });
    let bytes = serde_json::to_vec(&file_json).map_err(|e| error(format!("export chrome: {e}"), span))?;
    write_file("chrome", file, &bytes)?;
    Ok(wrote(file, "chrome", tracks, rows.row_count(), bytes.len()))
}

/// A call's name: its function, else module+offset, else its address.
fn syscall_name(rows: &DataTable, row: usize) -> String {
    if let Some(func) = text_at(rows.column("func"), row) {
        return func;
    }
    match (rows.column("module").map(|c| c.value(row)), rows.column("offset").map(|c| c.value(row))) {
        (Some(Value::Str(module)), Some(offset)) if !offset.is_null() => format!("{module}+{offset}"),
        _ => rows.column("address").map(|c| c.value(row).to_string()).unwrap_or_else(|| "syscall".into()),
    }
}

/// The cell values worth a look in a viewer's details pane, those the rows have.
fn args_of(rows: &DataTable, row: usize, names: &[&str]) -> Json {
    let mut args = serde_json::Map::new();
    for &name in names {
        let Some(value) = rows.column(name).map(|c| c.value(row)) else { continue };
        let json = match value {
            Value::Null => continue,
            Value::U64(v) => json!(v),
            Value::I64(v) | Value::Duration(v) => json!(v),
            Value::F64(v) => json!(v),
            Value::Bool(v) => json!(v),
            other => json!(other.to_string()),
        };
        args.insert(name.to_string(), json);
    }
    Json::Object(args)
}

fn syscall_args(rows: &DataTable, row: usize, returned: bool) -> Json {
    let mut args = args_of(rows, row, &["cpu", "status", "ret", "object", "address"]);
    if !returned {
        args["returned"] = json!(false);
    }
    args
}

fn cswitch_args(rows: &DataTable, row: usize) -> Json {
    args_of(rows, row, &["cpu", "priority", "wait_reason", "prev_tid", "ready_ns", "readying_tid"])
}
