//! `etwq export`: every table of every trace written as Parquet (or Arrow IPC)
//! files under one directory, laid out as a hive-partitioned dataset
//! (`DIR/<table>/trace=<trace id>/part-0.parquet`) that DuckDB, Spark and
//! pandas read whole. Traces are exported two at a time; each trace's tables
//! are built one at a time and dropped once written, so memory stays that of
//! one table of each of two traces (the session's memory check applies).
use crate::setup::SessionSetup;
use export::{FileFormat, TableOptions, TraceRow};
use session::{Progress, Session, Total, TraceHeader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Traces exported at once: each holds its model and one table in memory.
const TRACES_AT_ONCE: usize = 2;

/// What `etwq export` was asked to do.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    /// Trace files and directories (searched for `*.etl`, subdirectories too).
    pub inputs: Vec<PathBuf>,
    pub to: PathBuf,
    /// The tables to write; None: all of them.
    pub tables: Option<Vec<String>>,
    pub format: FileFormat,
    /// Write traces again that were exported already.
    pub force: bool,
    pub setup: SessionSetup,
}

/// How one trace went.
#[derive(Clone, Debug)]
pub enum TraceOutcome {
    Exported { trace_id: String, tables: usize, rows: usize, skipped: Vec<String> },
    AlreadyThere { trace_id: String },
    Failed(String),
}

/// Every trace file under `inputs`: files as given, directories searched for `*.etl`.
pub fn trace_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let before = files.len();
            let mut pending = vec![input.clone()];
            while let Some(dir) = pending.pop() {
                let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                    if path.is_dir() {
                        pending.push(path);
                    } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("etl")) {
                        files.push(path);
                    }
                }
            }
            files[before..].sort();
            if files.len() == before {
                return Err(format!("{} holds no .etl files", input.display()));
            }
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(format!("{}: no such file or directory", input.display()));
        }
    }
    // A file named twice (or found in two of the directories given) is exported once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(files)
}

/// The etwq tables to write: those named (checked), or every one.
pub fn tables_to_write(named: Option<&[String]>) -> Result<Vec<String>, String> {
    let all: Vec<String> = session::table_schemas().iter().map(|t| t.name.to_string()).collect();
    let Some(named) = named else { return Ok(all) };
    let mut chosen = Vec::new();
    for name in named.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if name == export::TRACES_TABLE {
            continue; // always written
        }
        if !all.iter().any(|t| t == name) {
            return Err(format!("no table named '{name}'; the tables are: {}", all.join(", ")));
        }
        if !chosen.iter().any(|t| t == name) {
            chosen.push(name.to_string());
        }
    }
    Ok(chosen)
}

/// Runs the export; each trace's outcome, in the order of `files`. Nothing
/// is written when the target cannot be.
pub fn export_traces(request: &ExportRequest, progress: &Progress) -> Result<Vec<(PathBuf, TraceOutcome)>, String> {
    let files = trace_files(&request.inputs)?;
    let tables = tables_to_write(request.tables.as_deref())?;
    check_writable(&request.to)?;
    let sizes: Vec<u64> = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).collect();
    let what = match files.len() {
        1 => "exporting 1 trace".to_string(),
        n => format!("exporting {n} traces, {TRACES_AT_ONCE} at a time"),
    };
    progress.start(&what, Total::Bytes(sizes.iter().sum()));
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<TraceOutcome>>> = Mutex::new(vec![None; files.len()]);
    std::thread::scope(|scope| {
        for _ in 0..TRACES_AT_ONCE.min(files.len()) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(index) else { return };
                // A bug met on one trace's data fails that trace, not the others.
                let export = || export_trace(file, sizes[index], &tables, request, progress);
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(export)).unwrap_or_else(|_| {
                    TraceOutcome::Failed("etwq failed on this trace (a bug: please report it)".into())
                });
                report(file, &outcome);
                outcomes.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(outcome);
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(files
        .into_iter()
        .zip(outcomes)
        .map(|(file, outcome)| (file, outcome.unwrap_or(TraceOutcome::Failed("not exported".into()))))
        .collect())
}

/// Fails, leaving nothing, when `dir` cannot be made or written into.
fn check_writable(dir: &Path) -> Result<(), String> {
    let cannot = |e: std::io::Error| format!("cannot write into {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(cannot)?;
    let probe = dir.join(format!(".etwq-export-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(cannot)?;
    std::fs::remove_file(&probe).map_err(cannot)
}

/// One line on stderr per trace, as each finishes.
fn report(file: &Path, outcome: &TraceOutcome) {
    let file = file.display();
    match outcome {
        TraceOutcome::Exported { trace_id, tables, rows, skipped } => {
            eprintln!("etwq: exported {file} as {trace_id}: {tables} tables, {rows} rows");
            for what in skipped {
                eprintln!("etwq: {file}: skipped {what}");
            }
        }
        TraceOutcome::AlreadyThere { trace_id } => {
            eprintln!("etwq: {file} is exported already as {trace_id} (--force writes it again)")
        }
        TraceOutcome::Failed(why) => eprintln!("etwq: {file}: not exported: {why}"),
    }
}

/// Exports one trace: every table, then its row of the `traces` table, which
/// is written last and so also says that the trace is complete.
fn export_trace(
    file: &Path,
    size: u64,
    tables: &[String],
    request: &ExportRequest,
    progress: &Progress,
) -> TraceOutcome {
    // Each table's share of the bar, added as it is written; the rest when the trace is done.
    let share = size / (tables.len() as u64 + 1);
    let mut counted = 0;
    let mut count = |n: u64| {
        progress.add(n);
        counted += n;
    };
    let outcome = (|| {
        let mut session =
            Session::open_all_with_progress(&[file.to_path_buf()], &Progress::new()).map_err(|e| e.to_string())?;
        request.setup.apply(&mut session)?;
        let header = session.trace_headers().into_iter().next().ok_or("the file holds no trace")?;
        let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        let file_name = file.file_name().map_or_else(|| header.name.clone(), |n| n.to_string_lossy().to_string());
        let trace_id = export::trace_id(&file_name, &canonical, header.start_unix_ns);
        let part = |table: &str| export::part_path(&request.to, table, &trace_id, request.format);
        let all_there = || tables.iter().chain([&export::TRACES_TABLE.to_string()]).all(|t| part(t).is_file());
        if !request.force && all_there() {
            return Ok(TraceOutcome::AlreadyThere { trace_id });
        }
        let metadata = file_metadata(&trace_id, &header);
        let options = TableOptions {
            start_unix_ns: Some(header.start_unix_ns),
            leave_out: vec!["trace".into()],
            metadata: metadata.clone(),
            status_name: session::status_name,
        };
        let mut skipped: Vec<String> = header.damaged.iter().map(|d| format!("damaged data: {d}")).collect();
        let (mut written, mut rows) = (0, 0);
        // The events table first: it needs no model, so it is written and
        // dropped before the model is built, and the two are never in memory together.
        let mut ordered: Vec<&String> = tables.iter().filter(|t| *t == "events").collect();
        ordered.extend(tables.iter().filter(|t| *t != "events"));
        let mut model_built = false;
        for table in ordered {
            if table != "events" && !model_built {
                // One pass for every table's parts; refused (too big), each table tries with its own.
                let others: Vec<String> = tables.iter().filter(|t| *t != "events").cloned().collect();
                let _ = session.build_model_for(&others, &Progress::new());
                model_built = true;
            }
            let path = part(table);
            make_parent(&path)?;
            match write_one_table(&mut session, table, &path, request.format, &options)? {
                Ok(n) => {
                    written += 1;
                    rows += n;
                }
                Err(why) => skipped.push(format!("the {table} table: {why}")),
            }
            count(share);
        }
        let row = trace_row(&trace_id, file, &file_name, &header);
        let (schema, batch) = export::traces_batch(&[row], &metadata).map_err(|e| e.to_string())?;
        let path = part(export::TRACES_TABLE);
        make_parent(&path)?;
        export::write_batches(&path, schema, request.format, std::iter::once(Ok(batch))).map_err(|e| e.to_string())?;
        Ok(TraceOutcome::Exported { trace_id, tables: written, rows, skipped })
    })();
    progress.add(size.saturating_sub(counted));
    outcome.unwrap_or_else(|why: String| TraceOutcome::Failed(why))
}

fn make_parent(path: &Path) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot write into {}: {e}", dir.display()))
}

/// Builds one table, writes it and drops it. The outer error (the file could
/// not be written) stops the trace; the inner one (the table could not be
/// built: too big, or a bug met on this trace's data) skips the table.
fn write_one_table(
    session: &mut Session,
    table: &str,
    path: &Path,
    format: FileFormat,
    options: &TableOptions,
) -> Result<Result<usize, String>, String> {
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.take_table(table, &Progress::new())));
    let data = match built {
        Ok(Ok(Some(data))) => data,
        Ok(Ok(None)) => return Ok(Err("not built".into())),
        Ok(Err(not_built)) => return Ok(Err(not_built.to_string())),
        Err(_) => return Ok(Err("etwq failed while building it (a bug: please report it)".into())),
    };
    let written =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| export::write_table(&data, path, format, options)));
    match written {
        Ok(result) => result.map(Ok).map_err(|e| e.to_string()),
        Err(_) => Ok(Err("etwq failed while writing it (a bug: please report it)".into())),
    }
}

/// The key-value metadata of every file of a trace: the etwq version, the
/// trace id and the header facts `.info` shows (`etwq.trace.<field>`).
fn file_metadata(trace_id: &str, header: &TraceHeader) -> Vec<(String, String)> {
    let mut metadata = vec![
        ("etwq.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("etwq.trace_id".to_string(), trace_id.to_string()),
        ("etwq.trace.start_unix_ns".to_string(), header.start_unix_ns.to_string()),
    ];
    metadata.extend(header.info.iter().map(|(field, value)| (format!("etwq.trace.{field}"), value.clone())));
    metadata
}

fn trace_row(trace_id: &str, file: &Path, file_name: &str, header: &TraceHeader) -> TraceRow {
    TraceRow {
        trace_id: trace_id.to_string(),
        file: file_name.to_string(),
        path: file.display().to_string(),
        start_unix_ns: header.start_unix_ns,
        duration_ns: header.duration_ns,
        cpus: u64::from(header.processors),
        pointer_size: u64::from(header.pointer_size),
        os_build: header.os_version.clone(),
        events_lost: u64::from(header.events_lost),
        buffers_lost: u64::from(header.buffers_lost),
        damaged_buffers: header.damaged.len() as u64,
        etwq_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// `-c QUERY --format parquet|arrow --output FILE`: one result as one file.
/// With one trace open, timestamps gain their absolute `_utc` columns.
pub fn write_result(
    session: &Session,
    result: &session::DataTable,
    path: &Path,
    format: FileFormat,
) -> Result<usize, String> {
    let headers = session.trace_headers();
    let mut metadata = vec![("etwq.version".to_string(), env!("CARGO_PKG_VERSION").to_string())];
    if let [header] = headers.as_slice() {
        metadata.extend(header.info.iter().map(|(field, value)| (format!("etwq.trace.{field}"), value.clone())));
    }
    let options = TableOptions {
        start_unix_ns: (headers.len() == 1).then(|| headers[0].start_unix_ns),
        leave_out: Vec::new(),
        metadata,
        status_name: session::status_name,
    };
    export::write_table(result, path, format, &options).map_err(|e| e.to_string())
}
