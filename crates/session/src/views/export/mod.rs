//! `| export FORMAT FILE`: the result rows written for the profilers people
//! already open. Sampled stacks go to speedscope (`speedscope.rs`) and the
//! Firefox Profiler (`firefox.rs`), a profile per thread (or `by process`);
//! system calls and running slices go to the Chrome trace event format
//! (`chrome.rs`), which chrome://tracing and Perfetto open.
mod chrome;
mod firefox;
mod speedscope;

use super::row_stacks::{RowKeys, RowStacks, Weights};
use super::TraceFrames;
pub(crate) use chrome::chrome;
use columnar::{Column, DataTable, Value};
use query::ast::{ExportFormat, Span};
use query::error::{ErrorKind, QueryError};
use std::collections::BTreeMap;
use std::path::Path;

/// One sampled row: when, how much it stands for, and which stack path it draws (None: no stack).
pub(super) struct Sample {
    ts_ns: i64,
    weight_ns: i64,
    path: Option<usize>,
}

/// The rows of one thread (or process): a profile of its own.
pub(super) struct Group {
    /// `server.exe (4242) tid 4250`, with the trace's name when several are open.
    name: String,
    pid: u32,
    /// None when grouped by process.
    tid: Option<u32>,
    process_name: String,
    /// The trace's name when several are open, else empty.
    trace: String,
    samples: Vec<Sample>,
}

/// The rows' stacks, grouped into profiles.
pub(super) struct Sampled {
    stacks: RowStacks,
    groups: Vec<Group>,
    /// Rows carry a weight (`weight_ns`, `cpu_ns`, `duration_ns`); else each counts as one.
    weighed: bool,
}

fn error(message: String, span: Span) -> QueryError {
    QueryError::at(ErrorKind::Type, message, span)
}

/// Writes `bytes` to `file`, with the path in the error.
fn write_file(format: &str, file: &Path, bytes: &[u8]) -> Result<(), QueryError> {
    std::fs::write(file, bytes)
        .map_err(|e| QueryError::new(ErrorKind::Type, format!("export {format}: {}: {e}", file.display()), None))
}

/// A row's unsigned value (pid, tid), if it has one.
fn u32_at(column: Option<&Column>, row: usize) -> Option<u32> {
    match column?.value(row) {
        Value::U64(v) => u32::try_from(v).ok(),
        Value::I64(v) => u32::try_from(v).ok(),
        _ => None,
    }
}

fn ns_at(column: Option<&Column>, row: usize) -> Option<i64> {
    match column?.value(row) {
        Value::Timestamp(ns) | Value::Duration(ns) | Value::I64(ns) => Some(ns),
        Value::U64(ns) => i64::try_from(ns).ok(),
        _ => None,
    }
}

fn text_at(column: Option<&Column>, row: usize) -> Option<String> {
    match column?.value(row) {
        Value::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

/// `by thread` (the default) or `by process`.
fn per_process(by: Option<&str>, format: &str, span: Span) -> Result<bool, QueryError> {
    match by.map(str::to_ascii_lowercase).as_deref() {
        None | Some("thread") | Some("tid") => Ok(false),
        Some("process") | Some("proc") | Some("pid") => Ok(true),
        Some(other) => {
            Err(error(format!("export {format}: a profile per `thread` or per `process`, not `{other}`"), span))
        }
    }
}

impl Sampled {
    /// The rows' stacks, a group per thread (or process) in each trace, samples in time order.
    fn of(rows: &DataTable, keys: &RowKeys, traces: &[TraceFrames], by_process: bool) -> Sampled {
        let weights = Weights::of(rows);
        let stacks = RowStacks::of(keys, weights.as_ref(), traces, false, None);
        let (pid, tid, proc, ts, trace) =
            (rows.column("pid"), rows.column("tid"), rows.column("proc"), rows.column("ts"), rows.column("trace"));
        let mut groups: BTreeMap<(String, u32, Option<u32>), Group> = BTreeMap::new();
        for row in 0..rows.row_count() {
            let trace_name = text_at(trace, row).unwrap_or_default();
            let (pid, tid) = (u32_at(pid, row).unwrap_or(0), u32_at(tid, row).filter(|_| !by_process));
            let group = groups.entry((trace_name.clone(), pid, tid)).or_insert_with(|| {
                let process_name = text_at(proc, row).unwrap_or_else(|| "?".to_string());
                let mut name = format!("{process_name} ({pid})");
                if let Some(tid) = tid {
                    name.push_str(&format!(" tid {tid}"));
                }
                if !trace_name.is_empty() {
                    name.push_str(&format!(" [{trace_name}]"));
                }
                Group { name, pid, tid, process_name, trace: trace_name.clone(), samples: Vec::new() }
            });
            group.samples.push(Sample {
                ts_ns: ns_at(ts, row).unwrap_or(0),
                weight_ns: weights.as_ref().map_or(0, |w| w.at(row)),
                path: stacks.path_of_row(keys, row, traces),
            });
        }
        let mut groups: Vec<Group> = groups.into_values().collect();
        for g in &mut groups {
            g.samples.sort_by_key(|s| s.ts_ns);
        }
        // The heaviest first, the idle process last: the first is the profile a viewer opens on.
        let weight = |g: &Group| -> (bool, i64, usize) {
            (g.pid != 0, g.samples.iter().map(|s| s.weight_ns).sum(), g.samples.len())
        };
        groups.sort_by(|a, b| weight(b).cmp(&weight(a)).then_with(|| a.name.cmp(&b.name)));
        Sampled { stacks, groups, weighed: weights.is_some() }
    }
}

/// Whether `rows` can be written as sampled profiles: a `stack` column, and rows.
/// Asked before the stacks are read, so that the message says what the export needs.
pub(crate) fn check_sampled_rows(format: ExportFormat, rows: &DataTable, span: Span) -> Result<(), QueryError> {
    let name = format.name();
    if rows.column("stack").is_none() {
        return Err(error(
            format!(
                "export {name} writes sampled stacks: rows with a `stack` column, e.g. \
                 samples where proc = \"server.exe\" | export {name} profile.json"
            ),
            span,
        ));
    }
    if rows.row_count() == 0 {
        return Err(error(format!("export {name}: the query returned no rows; nothing to write"), span));
    }
    Ok(())
}

/// `| export speedscope FILE` and `| export firefox FILE`: the rows' stacks as sampled profiles.
pub(super) fn export_stacks(
    format: ExportFormat,
    rows: &DataTable,
    traces: &[TraceFrames],
    file: &Path,
    by: Option<&str>,
    span: Span,
) -> Result<DataTable, QueryError> {
    let name = format.name();
    check_sampled_rows(format, rows, span)?;
    let by_process = per_process(by, name, span)?;
    let names: Vec<&str> = traces.iter().map(|t| t.name).collect();
    let keys = RowKeys::of(rows, &names)?;
    let sampled = Sampled::of(rows, &keys, traces, by_process);
    let bytes = match format {
        ExportFormat::Speedscope => speedscope::speedscope(&sampled),
        ExportFormat::Firefox => firefox::firefox(&sampled),
        ExportFormat::Chrome => return Err(error("export chrome writes cswitch or syscalls rows".into(), span)),
    }
    .map_err(|e| error(format!("export {name}: {e}"), span))?;
    write_file(name, file, &bytes)?;
    let samples: usize = sampled.groups.iter().map(|g| g.samples.len()).sum();
    Ok(wrote(file, name, sampled.groups.len(), samples, bytes.len()))
}

/// The one-row answer of an export.
fn wrote(file: &Path, format: &str, profiles: usize, events: usize, bytes: usize) -> DataTable {
    let mut t = DataTable::new("export");
    let _ = t.push_column("wrote", "the file written", Column::strs([file.display().to_string()]));
    let _ = t.push_column("format", "its format", Column::strs([format.to_string()]));
    let _ = t.push_column("tracks", "profiles (threads or processes) in it", Column::u64(vec![profiles as u64]));
    let _ = t.push_column("events", "samples or events in it", Column::u64(vec![events as u64]));
    let _ = t.push_column("bytes", "file size", Column::u64(vec![bytes as u64]));
    t
}
