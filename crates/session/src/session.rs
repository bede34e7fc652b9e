//! The one API that the command line, the shell and scripts call: open
//! traces, ask questions, keep saved queries. None of the front ends touches
//! bytes or the model's internals.
// A QueryError is made once per failed query, far from any hot loop (as in the query crate).
#![allow(clippy::result_large_err)]
use crate::summary::{record_counts, SummaryRow};
use columnar::{Column, DataTable};
use decode::{Decoder, SchemaSource};
use etl::clock::filetime_to_utc;
use etl::{EtlTrace, OpenError, Warning};
use model::{tables, TraceModel};
use progress::{Progress, Total};
use query::catalog::{MemoryCatalog, SavedQuery};
use query::error::QueryError;
use query::library::parse_library;
use render::{Cell, Table};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The query library that ships with etwq.
const BUILT_IN_LIBRARY: &str = include_str!("../../../scripts/library.etwq");

/// One open trace with what has been built from it.
pub(crate) struct LoadedTrace {
    /// The file name, or "demo".
    pub(crate) name: String,
    pub(crate) trace: EtlTrace,
    /// Schemas: built in, learned from the trace, and from `--manifest` files.
    pub(crate) decoder: Decoder,
    pub(crate) model: Option<TraceModel>,
}

impl LoadedTrace {
    fn new(name: String, trace: EtlTrace) -> LoadedTrace {
        LoadedTrace { name, trace, decoder: Decoder::new(), model: None }
    }

    /// The model, built on first use.
    pub fn model(&mut self) -> &TraceModel {
        if self.model.is_none() {
            self.model = Some(TraceModel::build(&self.trace, &mut self.decoder));
        }
        self.model.as_ref().expect("built above")
    }
}

pub struct Session {
    pub(crate) traces: Vec<LoadedTrace>,
    /// Built on the first query; saved queries live here from the start.
    pub(crate) catalog: MemoryCatalog,
    pub(crate) tables_built: bool,
    /// Set by Ctrl-C to stop a running query.
    pub(crate) cancel: Arc<AtomicBool>,
    /// Symbol path, resolver and the named frames of every trace (symbols_state.rs).
    pub(crate) stack_state: crate::symbols_state::SymbolState,
}

/// A trace path: a file, or a directory whose .etl files are all opened.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, OpenError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|error| OpenError::Io { path: path.clone(), error })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("etl")))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(OpenError::NotEtl { what: format!("{} holds no .etl files", path.display()) });
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

impl Session {
    fn with_traces(traces: Vec<LoadedTrace>) -> Session {
        let mut session = Session {
            traces,
            catalog: MemoryCatalog::new(),
            tables_built: false,
            cancel: Arc::new(AtomicBool::new(false)),
            stack_state: crate::symbols_state::SymbolState::new(),
        };
        let statuses = decode::ntstatus::all_names().map(|(name, code)| (name.to_string(), u64::from(code)));
        session.catalog.constants.extend(statuses);
        if let Ok(queries) = parse_library(BUILT_IN_LIBRARY) {
            for q in queries {
                session.catalog.add_saved(q);
            }
        }
        session
    }

    /// Opens one trace file.
    pub fn open(path: &Path) -> Result<Session, OpenError> {
        Session::open_all(&[path.to_path_buf()])
    }

    /// Opens trace files and directories of traces.
    pub fn open_all(paths: &[PathBuf]) -> Result<Session, OpenError> {
        Session::open_all_with_progress(paths, &Progress::new())
    }

    /// Like `open_all`, with a stage per file that counts its bytes as they are read.
    pub fn open_all_with_progress(paths: &[PathBuf], progress: &Progress) -> Result<Session, OpenError> {
        let mut traces = Vec::new();
        for file in expand(paths)? {
            let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().to_string());
            let total = std::fs::metadata(&file).map_or(Total::Uncounted, |m| Total::Bytes(m.len()));
            progress.start(&format!("reading {name}"), total);
            traces.push(LoadedTrace::new(name, EtlTrace::open_counting(&file, progress)?));
        }
        Ok(Session::with_traces(traces))
    }

    /// The built-in demo trace: the antivirus-driver incident.
    pub fn demo() -> Session {
        let trace = EtlTrace::from_bytes(demo::demo_trace_bytes()).expect("the demo trace is well formed");
        let mut session = Session::with_traces(vec![LoadedTrace::new("demo".into(), trace)]);
        session.add_demo_symbols();
        session
    }

    /// Writes every event of the first trace in time order, decoded (`etwq dump`).
    pub fn dump(
        &mut self,
        format: crate::dump::DumpFormat,
        limit: Option<usize>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let loaded = &mut self.traces[0];
        crate::dump::write_dump(&loaded.trace, &mut loaded.decoder, format, limit, out)
    }

    /// The first (often the only) trace.
    pub fn trace(&self) -> &EtlTrace {
        &self.traces[0].trace
    }

    pub fn warnings(&self) -> Vec<&Warning> {
        self.traces.iter().flat_map(|t| t.trace.warnings.iter()).collect()
    }

    /// Adds the instrumentation manifests in a file or directory; returns how many providers.
    pub fn add_manifests(&mut self, path: &Path) -> Result<usize, String> {
        let mut providers = 0;
        for t in &mut self.traces {
            providers = t.decoder.add_manifest_path(path)?;
        }
        Ok(providers)
    }

    /// Loads a `.etwq` library of saved queries; returns how many.
    pub fn load_library_text(&mut self, text: &str) -> Result<usize, String> {
        let queries = parse_library(text).map_err(|e| e.to_string())?;
        let n = queries.len();
        for q in queries {
            self.catalog.add_saved(q);
        }
        Ok(n)
    }

    pub fn load_library(&mut self, path: &Path) -> Result<usize, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.load_library_text(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Saves `name = query` (or `name(p, q) = query` with `$p`, `$q` in it).
    pub fn save_query(&mut self, definition: &str) -> Result<String, String> {
        let mut queries = parse_library(definition).map_err(|e| e.to_string())?;
        let Some(q) = queries.pop() else { return Err("expected NAME = QUERY".into()) };
        let name = q.name.clone();
        self.catalog.add_saved(q);
        Ok(name)
    }

    pub fn saved_queries(&self) -> Vec<&SavedQuery> {
        let mut all: Vec<&SavedQuery> = self.catalog.saved.values().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The flag that Ctrl-C sets to stop a running query.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Builds every trace's model and tables, once. With several traces every
    /// table gains a `trace` column and holds the rows of all of them.
    pub(crate) fn ensure_tables(&mut self) {
        self.ensure_tables_with_progress(&Progress::new());
    }

    /// `ensure_tables`, with a stage per step: the passes over the records
    /// count them (the model's per-CPU pass, the events table); naming frames
    /// and building the other tables are stages without a count.
    pub(crate) fn ensure_tables_with_progress(&mut self, progress: &Progress) {
        if self.tables_built {
            return;
        }
        let several = self.traces.len() > 1;
        let mut merged: Vec<DataTable> = Vec::new();
        for (index, loaded) in self.traces.iter_mut().enumerate() {
            let of_trace = if several { format!(" of {}", loaded.name) } else { String::new() };
            let records = Total::Records(loaded.trace.record_count() as u64);
            loaded.trace.set_read_meter(Some(progress.clone()));
            if loaded.model.is_none() {
                progress.start(&format!("building the model{of_trace}"), records);
            }
            loaded.model();
            let LoadedTrace { name, trace, decoder, model } = loaded;
            let model = model.as_ref().expect("built by model()");
            progress.start(&format!("naming stack frames{of_trace}"), Total::Uncounted);
            let names = self.stack_state.name_frames(index, model);
            // The events table reads every record; the others are built from the model.
            let mut next_table = |table: &str| {
                let total = if table == "events" { records } else { Total::Uncounted };
                progress.start(&format!("building the {table} table{of_trace}"), total);
            };
            let built = tables::all_announced(model, trace, decoder, &names, &mut next_table);
            trace.set_read_meter(None);
            for mut table in built {
                if several {
                    let rows = table.row_count();
                    let trace_column = Column::strs(std::iter::repeat_n(name.as_str(), rows));
                    let mut with_trace = DataTable::new(&table.name);
                    let _ = with_trace.push_column("trace", "trace file", trace_column);
                    for c in table.columns.drain(..) {
                        let _ = with_trace.push_column(&c.name, &c.doc, c.column);
                    }
                    table = with_trace;
                }
                match merged.iter_mut().find(|t| t.name == table.name) {
                    Some(existing) => {
                        for (into, from) in existing.columns.iter_mut().zip(&table.columns) {
                            into.column.append(&from.column);
                        }
                    }
                    None => merged.push(table),
                }
            }
        }
        for table in merged {
            self.catalog.add_table(table);
        }
        self.tables_built = true;
    }

    /// Runs a query against the open traces.
    pub fn query(&mut self, text: &str) -> Result<DataTable, QueryError> {
        // Parse, run, draw the view if any: pipeline.rs.
        self.run_pipeline(text)
    }

    /// The tables and their row counts.
    pub fn tables(&mut self) -> Vec<(String, usize)> {
        self.ensure_tables();
        let mut list: Vec<(String, usize)> =
            self.catalog.tables.values().map(|t| (t.name.clone(), t.row_count())).collect();
        list.sort();
        list
    }

    /// A table's columns: name, type, meaning.
    pub fn schema(&mut self, table: &str) -> Option<Vec<(String, String, String)>> {
        self.ensure_tables();
        let t = self.catalog.tables.get(table)?;
        Some(
            t.columns
                .iter()
                .map(|c| (c.name.clone(), c.column.column_type().name().to_string(), c.doc.clone()))
                .collect(),
        )
    }

    /// Header facts, sizes and counts of the first trace, as field/value rows.
    pub fn info(&self) -> Table {
        let trace = self.trace();
        let h = &trace.header;
        let mut t = Table::new(&["field", "value"]).headerless();
        let mut row = |field: &str, value: Cell| t.push(vec![field.into(), value]);
        match trace.path() {
            Some(path) => row("file", path.display().to_string().into()),
            None => row("file", self.traces[0].name.clone().into()),
        }
        row("file_size", trace.file_len().into());
        row("logger_name", h.logger_name.clone().into());
        row("log_file_name", h.log_file_name.clone().into());
        row("log_file_mode", format!("{:#010x}", h.log_file_mode).into());
        row("os_version", h.os_version().into());
        row("pointer_size", u64::from(trace.header_pointer_size).into());
        row("processors", u64::from(h.number_of_processors).into());
        row("cpu_speed_mhz", u64::from(h.cpu_speed_mhz).into());
        let clock = &trace.clock;
        row("clock", clock.clock_type.name().into());
        row("clock_frequency", (clock.frequency as u64).into());
        row("start_time", filetime_to_utc(h.start_time).into());
        row("end_time", filetime_to_utc(h.end_time).into());
        row("boot_time", filetime_to_utc(h.boot_time).into());
        if let Some((first, last)) = trace.time_range() {
            row("first_record", clock.to_utc(first).into());
            row("last_record", clock.to_utc(last).into());
            row(
                "duration_ns",
                (clock.ns_since_start(last) - clock.ns_since_start(first.min(clock.origin_ticks))).into(),
            );
        }
        row("buffer_size", u64::from(h.buffer_size).into());
        row("buffers", (trace.buffers().len() as u64).into());
        row("buffers_written", u64::from(h.buffers_written).into());
        let compression = trace.compression.map_or("none".to_string(), |c| c.name().to_string());
        row("compression", compression.into());
        row("records", (trace.record_count() as u64).into());
        row("events_lost", u64::from(h.events_lost).into());
        row("buffers_lost", u64::from(h.buffers_lost).into());
        row("damaged_buffers", (trace.warnings.len() as u64).into());
        for (processor, count) in trace.records_per_processor() {
            row(&format!("records_cpu{processor}"), (count as u64).into());
        }
        t
    }

    pub fn summary_rows(&self) -> Vec<SummaryRow> {
        record_counts(self.trace())
    }

    /// One row per record key with its count, then the total.
    pub fn summary(&self) -> Table {
        let mut t = Table::new(&["kind", "id", "number", "count"]).headerless();
        let mut total = 0;
        for row in self.summary_rows() {
            let (kind, id, number) = row.key.columns();
            t.push(vec![kind.into(), id.into(), u64::from(number).into(), row.count.into()]);
            total += row.count;
        }
        t.push(vec!["total".into(), Cell::Empty, Cell::Empty, total.into()]);
        t
    }

    /// Per record key: the provider and event names the decoder gives it, the
    /// count, and how many of those records found no schema; then per provider.
    pub fn named_summary(&mut self) -> (Table, Table) {
        use std::collections::BTreeMap;
        let loaded = &mut self.traces[0];
        let mut by_key: std::collections::HashMap<etl::RecordKey, (String, String, u64, u64)> = Default::default();
        let mut by_provider: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for record in loaded.trace.records() {
            let event = loaded.decoder.decode(&record);
            let undecoded = u64::from(event.source == SchemaSource::None);
            let entry = by_key
                .entry(record.key())
                .or_insert_with(|| (event.provider.to_string(), event.name.to_string(), 0, 0));
            entry.2 += 1;
            entry.3 += undecoded;
            let p = by_provider.entry(event.provider.to_string()).or_default();
            p.0 += 1;
            p.1 += undecoded;
        }
        let mut keys: Vec<_> = by_key.into_iter().collect();
        keys.sort_by_cached_key(|(key, _)| key.columns());
        let mut records = Table::new(&["kind", "id", "number", "provider", "event", "count", "undecoded"]);
        for (key, (provider, event, count, undecoded)) in keys {
            let (kind, id, number) = key.columns();
            records.push(vec![
                kind.into(),
                id.into(),
                u64::from(number).into(),
                provider.into(),
                event.into(),
                count.into(),
                undecoded.into(),
            ]);
        }
        let mut providers = Table::new(&["provider", "events", "undecoded"]);
        for (provider, (events, undecoded)) in by_provider {
            providers.push(vec![provider.into(), events.into(), undecoded.into()]);
        }
        (records, providers)
    }
}
