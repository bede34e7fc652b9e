//! The one API that the command line, the shell and scripts call: open
//! traces, ask questions, keep saved queries. None of the front ends touches
//! bytes or the model's internals.
// A QueryError is made once per failed query, far from any hot loop (as in the query crate).
#![allow(clippy::result_large_err)]
use crate::memory_check;
use crate::summary::{record_counts, SummaryRow};
use columnar::{Column, DataTable, Value};
use decode::{Decoder, SchemaSource};
use etl::clock::filetime_to_utc;
use etl::{EtlTrace, OpenError, Warning};
use model::processes::ProcessRegistry;
use model::{tables, ModelParts, TraceModel};
use progress::{Progress, Total};
use query::catalog::{Catalog, MemoryCatalog, SavedQuery};
use query::error::QueryError;
use query::library::parse_library;
use render::Table;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

/// The query library that ships with etwq.
const BUILT_IN_LIBRARY: &str = include_str!("../../../scripts/library.etwq");

/// One open trace with what has been built from it.
pub(crate) struct LoadedTrace {
    /// The file name, or "demo".
    pub(crate) name: String,
    pub(crate) trace: Arc<EtlTrace>,
    /// Schemas: built in, learned from the trace, and from `--manifest` files.
    /// Shared with the events table, which decodes payloads when a query reads them.
    pub(crate) decoder: Arc<Mutex<Decoder>>,
    /// Shared with the tables' deferred columns, which are made from it.
    pub(crate) model: Option<Arc<TraceModel>>,
    /// The processes alone, for a table that needs no more of the model (events).
    processes: Option<ProcessRegistry>,
    /// What its records are, for the memory check: read once, when first asked.
    mix: std::sync::OnceLock<memory_check::RecordMix>,
}

impl LoadedTrace {
    fn new(name: String, trace: EtlTrace) -> LoadedTrace {
        LoadedTrace {
            name,
            trace: Arc::new(trace),
            decoder: Arc::new(Mutex::new(Decoder::new())),
            model: None,
            processes: None,
            mix: std::sync::OnceLock::new(),
        }
    }

    /// What the trace's records are, for the memory check.
    fn mix(&self) -> memory_check::RecordMix {
        *self.mix.get_or_init(|| memory_check::RecordMix::of(&self.trace))
    }

    /// The decoder; a panic elsewhere while it was held leaves its schemas usable.
    pub(crate) fn decoder(&self) -> MutexGuard<'_, Decoder> {
        self.decoder.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The model, built whole on first use; else the one built, with the parts it has.
    pub fn model(&mut self) -> &TraceModel {
        if self.model.is_none() {
            let model = TraceModel::build(&self.trace, &mut self.decoder());
            self.model = Some(Arc::new(model));
        }
        self.model.as_ref().expect("built above")
    }

    /// Whether the model is built with at least `parts`.
    fn has_model(&self, parts: ModelParts) -> bool {
        self.model.as_ref().is_some_and(|m| m.parts.contains(parts))
    }

    /// What a build for `parts` makes: those and the parts the model has.
    fn parts_to_build(&self, parts: ModelParts) -> ModelParts {
        self.model.as_ref().map_or(parts, |m| m.parts.union(parts))
    }

    /// Builds the model with `parts` and those it had, with `meter` counting
    /// the records it reads. Stopped (Ctrl-C), it keeps the model it had.
    fn build_model(&mut self, meter: &Progress, parts: ModelParts) -> Result<(), NotBuilt> {
        if !self.has_model(parts) {
            let parts = self.parts_to_build(parts);
            let model = TraceModel::build_counting(&self.trace, &mut self.decoder(), meter, parts);
            self.model = Some(Arc::new(model.ok_or(NotBuilt::Stopped)?));
        }
        Ok(())
    }

    /// The processes: the model's when it is built, else found by a light
    /// pass of their own (kept, unless it was stopped).
    fn processes(&mut self, meter: &Progress) -> Result<&ProcessRegistry, NotBuilt> {
        if self.model.is_none() && self.processes.is_none() {
            let processes =
                model::build::processes(&self.trace, &mut self.decoder(), meter).ok_or(NotBuilt::Stopped)?;
            self.processes = Some(processes);
        }
        Ok(match &self.model {
            Some(model) => &model.processes,
            None => self.processes.get_or_insert_with(ProcessRegistry::default),
        })
    }
}

pub struct Session {
    pub(crate) traces: Vec<LoadedTrace>,
    /// Built on the first query; saved queries live here from the start.
    pub(crate) catalog: MemoryCatalog,
    /// Whether every trace's model is built (tables come later, one by one).
    pub(crate) models_built: bool,
    /// Set by Ctrl-C to stop a running query.
    pub(crate) cancel: Arc<AtomicBool>,
    /// Symbol path, resolver and the named frames of every trace (symbols_state.rs).
    pub(crate) stack_state: crate::symbols_state::SymbolState,
    /// The distinct values Tab has found, by table and column.
    pub(crate) completion_cache: crate::value_cache::ValueCache,
    /// The terminal's width in columns, which `| chart` fits its buckets to.
    pub(crate) chart_width: usize,
}

/// The doc of the column that names the trace when several are open.
const TRACE_DOC: &str = "trace file";

/// `table` with a first column naming the trace its rows come from.
fn with_trace_column(mut table: DataTable, trace_name: &str) -> DataTable {
    let rows = table.row_count();
    let mut with_trace = DataTable::new(&table.name);
    let _ = with_trace.push_column("trace", TRACE_DOC, Column::strs(std::iter::repeat_n(trace_name, rows)));
    for c in table.columns.drain(..) {
        let _ = with_trace.push_column(&c.name, &c.doc, c.column);
    }
    with_trace
}

/// The tables the planner asks for while planning `text` (nothing runs).
fn tables_asked_for(text: &str, catalog: &MemoryCatalog) -> Vec<String> {
    let probe = Probe { inner: catalog, asked: Mutex::new(Vec::new()) };
    if let Ok(parsed) = query::grammar::parse_query(text) {
        let _ = query::plan::plan_query(parsed, text, &probe);
    }
    probe.asked.into_inner().unwrap_or_default()
}

/// A catalog that notes each table asked for.
struct Probe<'c> {
    inner: &'c MemoryCatalog,
    asked: Mutex<Vec<String>>,
}

impl Catalog for Probe<'_> {
    fn table(&self, name: &str) -> Option<&DataTable> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(name.to_string());
        }
        self.inner.table(name)
    }
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }
    fn saved_query(&self, name: &str) -> Option<&SavedQuery> {
        self.inner.saved_query(name)
    }
    fn saved_query_names(&self) -> Vec<String> {
        self.inner.saved_query_names()
    }
    fn constant(&self, name: &str) -> Option<u64> {
        self.inner.constant(name)
    }
    fn constant_names(&self) -> Vec<&str> {
        self.inner.constant_names()
    }
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

/// A catalog of no tables with the NTSTATUS names and the built-in library.
pub(crate) fn built_in_catalog() -> MemoryCatalog {
    let mut catalog = MemoryCatalog::new();
    let statuses = decode::ntstatus::all_names().map(|(name, code)| (name.to_string(), u64::from(code)));
    catalog.constants.extend(statuses);
    if let Ok(queries) = parse_library(BUILT_IN_LIBRARY) {
        for q in queries {
            catalog.add_saved(q);
        }
    }
    catalog
}

impl Session {
    pub(crate) fn with_traces(traces: Vec<LoadedTrace>) -> Session {
        let mut session = Session {
            traces,
            catalog: MemoryCatalog::new(),
            models_built: false,
            cancel: Arc::new(AtomicBool::new(false)),
            stack_state: crate::symbols_state::SymbolState::new(),
            completion_cache: Default::default(),
            chart_width: render::chart::DEFAULT_WIDTH,
        };
        session.catalog = built_in_catalog();
        session.catalog.unbuilt = model::schema::tables().iter().map(|t| t.name.to_string()).collect();
        session
    }

    /// The width `| chart` fits its buckets to when the query does not say `every`
    /// (the front end's terminal).
    pub fn set_chart_width(&mut self, columns: usize) {
        self.chart_width = columns.max(20);
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
        let files = expand(paths)?;
        for (file, name) in files.iter().zip(unique_suffixes(&files)) {
            let total = std::fs::metadata(file).map_or(Total::Uncounted, |m| Total::Bytes(m.len()));
            progress.start(&format!("reading {name}"), total);
            traces.push(LoadedTrace::new(name, EtlTrace::open_counting(file, progress)?));
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
        crate::dump::write_dump(&loaded.trace, &mut loaded.decoder(), format, limit, out)
    }

    /// The first (often the only) trace.
    pub fn trace(&self) -> &EtlTrace {
        &self.traces[0].trace
    }

    pub fn warnings(&self) -> Vec<&Warning> {
        self.traces.iter().flat_map(|t| t.trace.warnings.iter()).collect()
    }

    /// Starts looking, on a thread of its own, for events whose schema from
    /// inside the trace could not decode them; `DecodeCheck::warnings` waits
    /// for the answer. It reads the trace while the queries run, so they do
    /// not wait for it.
    pub fn start_decode_check(&self) -> crate::decode_check::DecodeCheck {
        let several = self.traces.len() > 1;
        let traces = self.traces.iter().map(|t| (several.then(|| t.name.clone()), t.trace.clone())).collect();
        crate::decode_check::DecodeCheck::start(traces)
    }

    /// Adds the instrumentation manifests in a file or directory; returns how many providers.
    pub fn add_manifests(&mut self, path: &Path) -> Result<usize, String> {
        let mut providers = 0;
        for t in &mut self.traces {
            providers = t.decoder().add_manifest_path(path)?;
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
    /// Keeps `NAME = QUERY` (or `NAME(p) = ... $p ...`) as @NAME, once the
    /// query parses (parameters standing for a value).
    pub fn save_query(&mut self, definition: &str) -> Result<String, String> {
        let mut queries = parse_library(definition).map_err(|e| e.to_string())?;
        let Some(q) = queries.pop() else { return Err("expected NAME = QUERY".into()) };
        let mut text = q.text.clone();
        for param in &q.params {
            text = text.replace(&format!("${param}"), "0");
        }
        query::grammar::parse_query(&text).map_err(|e| format!("@{} is not saved: {}", q.name, e.headline()))?;
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

    /// Builds every trace's whole model, once: one pass over its records, and no table yet.
    pub(crate) fn ensure_models(&mut self, progress: &Progress) -> Result<(), NotBuilt> {
        self.ensure_model_parts(progress, ModelParts::ALL)
    }

    /// Builds every trace's model with at least `parts`: one pass over its
    /// records. A model that lacks a part is built again with it, in a pass
    /// of its own, and the tables that named its stacks' frames go with the
    /// old one (stack numbers change with the stacks kept).
    pub(crate) fn ensure_model_parts(&mut self, progress: &Progress, parts: ModelParts) -> Result<(), NotBuilt> {
        let several = self.traces.len() > 1;
        let mut rebuilt = false;
        for (index, loaded) in self.traces.iter_mut().enumerate().filter(|(_, t)| !t.has_model(parts)) {
            let of_trace = if several { format!(" of {}", loaded.name) } else { String::new() };
            let records = loaded.trace.record_count() as u64;
            let need = memory_check::Need::Model(loaded.parts_to_build(parts));
            let build =
                memory_check::Build { what: "the model".into(), trace: &loaded.name, records, mix: loaded.mix(), need };
            memory_check::check(&build).map_err(NotBuilt::TooBig)?;
            progress.start(&format!("building the model{of_trace}"), Total::Records(records));
            let had_model = loaded.model.is_some();
            loaded.build_model(progress, parts)?;
            if had_model {
                self.stack_state.forget_trace(index);
                rebuilt = true;
            }
        }
        if rebuilt {
            self.forget_model_tables();
        }
        self.models_built = self.traces.iter().all(|t| t.has_model(ModelParts::ALL));
        Ok(())
    }

    /// Builds table `name` of every trace, once, when a query first reads it. With
    /// several traces it gains a `trace` column and holds the rows of all of them.
    /// Stopped (Ctrl-C) or refused (too big), it keeps no part of the table.
    pub(crate) fn ensure_table(&mut self, name: &str, progress: &Progress) -> Result<(), NotBuilt> {
        if self.catalog.tables.contains_key(name) || model::schema::table(name).is_none() {
            return Ok(());
        }
        for loaded in &self.traces {
            let records = loaded.trace.record_count() as u64;
            let what = format!("the {name} table");
            let need = memory_check::Need::Table(name);
            let build = memory_check::Build { what, trace: &loaded.name, records, mix: loaded.mix(), need };
            memory_check::check(&build).map_err(NotBuilt::TooBig)?;
        }
        // The events table reads every record and needs only the processes; the others are built from the model.
        let events = name == "events";
        if !events {
            self.ensure_model_parts(progress, tables::parts_for(name))?;
        }
        let several = self.traces.len() > 1;
        let mut merged: Option<DataTable> = None;
        // The events' field names, of every trace.
        let mut field_names: std::collections::BTreeSet<String> = Default::default();
        for (index, loaded) in self.traces.iter_mut().enumerate() {
            let of_trace = if several { format!(" of {}", loaded.name) } else { String::new() };
            let records = Total::Records(loaded.trace.record_count() as u64);
            let built = if events {
                if loaded.model.is_none() && loaded.processes.is_none() {
                    progress.start(&format!("finding the processes{of_trace}"), records);
                    loaded.processes(progress)?;
                }
                progress.start(&format!("building the events table{of_trace}"), records);
                let (trace, decoder) = (loaded.trace.clone(), loaded.decoder.clone());
                let processes = loaded.processes(progress)?;
                let (table, names) = tables::events(processes, &trace, &decoder, progress).ok_or(NotBuilt::Stopped)?;
                field_names.extend(names);
                Some(table)
            } else {
                let LoadedTrace { trace, decoder, model, .. } = &*loaded;
                let model = model.as_ref().expect("built by ensure_models");
                let cancel = &self.cancel;
                let resolver = self.stack_state.shared_resolver();
                let names = tables::NEED_FRAME_NAMES.contains(&name).then(|| {
                    progress.start(&format!("naming stack frames{of_trace}"), Total::Uncounted);
                    let named = self.stack_state.name_every_stack(index, model);
                    // A Ctrl-C while frames were named stopped the symbol downloads:
                    // the query goes on with the names it has (`<PDB not found>`).
                    cancel.store(false, std::sync::atomic::Ordering::SeqCst);
                    named
                });
                progress.start(&format!("building the {name} table{of_trace}"), Total::Uncounted);
                tables::build(name, model, trace, decoder, names, &resolver)
            };
            let trace_name = &loaded.name;
            let Some(mut table) = built else { return Ok(()) };
            if several {
                table = with_trace_column(table, trace_name);
            }
            match &mut merged {
                Some(existing) => {
                    for (into, from) in existing.columns.iter_mut().zip(&table.columns) {
                        into.column.append(&from.column);
                    }
                }
                None => merged = Some(table),
            }
        }
        if let Some(table) = merged {
            if events {
                self.catalog.field_names.insert(name.to_string(), field_names.into_iter().collect());
            }
            self.catalog.add_table(table);
        }
        Ok(())
    }

    /// Builds the tables that `text` reads, and only those. The planner asks the
    /// catalog for each table it meets; a table not built yet is built and the
    /// query planned again (saved queries can lead to other tables).
    pub(crate) fn ensure_tables_for(&mut self, text: &str, progress: &Progress) -> Result<(), NotBuilt> {
        // A join asks for a table only once the tables before it are there, and
        // a build that needs more of the model drops the tables made from the
        // old one: ask again until nothing new is missing.
        let mut missing_before = Vec::new();
        for _ in 0..16 {
            let asked = tables_asked_for(text, &self.catalog);
            let missing: Vec<String> = asked.into_iter().filter(|t| !self.catalog.tables.contains_key(t)).collect();
            if missing.is_empty() || missing == missing_before {
                return Ok(()); // or names the schema does not know: the query reports them
            }
            for table in &missing {
                self.ensure_table(table, progress)?;
            }
            missing_before = missing;
        }
        Ok(())
    }

    /// Drops the tables made from a model that was built again: their stack
    /// ids are the old model's, and their deferred columns would keep it in memory.
    fn forget_model_tables(&mut self) {
        self.catalog.tables.retain(|name, _| name == "events");
        self.completion_cache.clear();
    }

    /// Drops the tables that name functions, after the symbol path changed.
    pub(crate) fn forget_named_tables(&mut self) {
        for name in tables::NAME_FUNCTIONS {
            self.catalog.tables.remove(name);
        }
        self.completion_cache.clear();
    }

    /// Runs a query against the open traces, building what it reads first.
    pub fn query(&mut self, text: &str) -> Result<DataTable, QueryError> {
        self.query_with_progress(text, &Progress::new())
    }

    /// `query`, with a stage in `progress` for each table it has to build first.
    pub fn query_with_progress(&mut self, text: &str, progress: &Progress) -> Result<DataTable, QueryError> {
        // Parse, build what it reads, run, draw the view if any: pipeline.rs.
        self.run_pipeline(text, progress)
    }

    /// The tables and their row counts; counted from the models, nothing is built.
    pub fn tables(&mut self) -> Vec<(String, usize)> {
        // A meter of its own, which nothing stops.
        let _ = self.ensure_models(&Progress::new());
        let mut list: Vec<(String, usize)> = model::schema::tables()
            .iter()
            .map(|t| {
                let rows = match self.catalog.tables.get(t.name) {
                    Some(built) => built.row_count(),
                    None => {
                        self.traces.iter().filter_map(|l| tables::row_count(t.name, l.model.as_ref()?, &l.trace)).sum()
                    }
                };
                (t.name.to_string(), rows)
            })
            .collect();
        list.sort();
        list
    }

    /// A table's columns: name, type, meaning (from the schema; nothing is built).
    pub fn schema(&mut self, table: &str) -> Option<Vec<(String, String, String)>> {
        let schema = model::schema::table(table)?;
        let trace_column = (self.traces.len() > 1).then(|| ("trace".into(), "string".into(), TRACE_DOC.into()));
        let columns = schema.columns.iter().map(|c| (c.name.into(), c.kind.name().into(), c.doc.into()));
        Some(trace_column.into_iter().chain(columns).collect())
    }

    /// Header facts, sizes and counts of each trace, as field/value rows. With several traces every
    /// trace's rows form one block, led by a `trace` column naming it.
    pub fn info(&self) -> Table {
        if self.traces.len() == 1 {
            let mut t = Table::new(&["field", "value"]).headerless();
            self.trace_info(0, &mut |field, value| t.push(vec![field.into(), value]));
            return t;
        }
        let mut t = Table::new(&["trace", "field", "value"]);
        for (index, loaded) in self.traces.iter().enumerate() {
            let trace_name: Value = loaded.name.clone().into();
            self.trace_info(index, &mut |field, value| t.push(vec![trace_name.clone(), field.into(), value]));
        }
        t
    }

    /// The info rows of the trace at `index`, each given to `row`.
    pub(crate) fn trace_info(&self, index: usize, row: &mut dyn FnMut(&str, Value)) {
        let trace = &self.traces[index].trace;
        let h = &trace.header;
        match trace.path() {
            Some(path) => row("file", path.display().to_string().into()),
            None => row("file", self.traces[index].name.clone().into()),
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
        t.push(vec!["total".into(), Value::Null, Value::Null, total.into()]);
        t
    }

    /// Per record key: the provider and event names the decoder gives it, the
    /// count, and how many of those records found no schema; then per provider.
    pub fn named_summary(&mut self) -> (Table, Table) {
        use std::collections::BTreeMap;
        let loaded = &self.traces[0];
        let mut decoder = loaded.decoder();
        let mut by_key: std::collections::HashMap<etl::RecordKey, (String, String, u64, u64)> = Default::default();
        let mut by_provider: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for record in loaded.trace.records() {
            let event = decoder.decode(&record);
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

/// Each path's shortest suffix of whole components (`b/AMSITrace.etl`) that no other path ends with,
/// so traces with the same file name in different directories keep different names.
fn unique_suffixes(paths: &[PathBuf]) -> Vec<String> {
    let components: Vec<Vec<String>> = paths
        .iter()
        .map(|p| p.components().rev().map(|c| c.as_os_str().to_string_lossy().to_string()).collect())
        .collect();
    let suffix = |of: &[String], len: usize| of[..len.min(of.len())].to_vec();
    components
        .iter()
        .enumerate()
        .map(|(index, mine)| {
            let len = (1..=mine.len())
                .find(|&len| {
                    components
                        .iter()
                        .enumerate()
                        .all(|(other, theirs)| other == index || suffix(theirs, len) != suffix(mine, len))
                })
                .unwrap_or(mine.len());
            if len == 0 {
                return paths[index].display().to_string();
            }
            let mut parts = suffix(mine, len);
            parts.reverse();
            parts.join("/")
        })
        .collect()
}

/// Why a model or table was not built; nothing of it was kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotBuilt {
    /// Ctrl-C stopped it.
    Stopped,
    /// It would need more memory than etwq may use: the message says how much.
    TooBig(String),
}

impl std::fmt::Display for NotBuilt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotBuilt::Stopped => f.write_str("stopped"),
            NotBuilt::TooBig(message) => f.write_str(message),
        }
    }
}

impl From<NotBuilt> for QueryError {
    fn from(reason: NotBuilt) -> QueryError {
        match reason {
            NotBuilt::Stopped => QueryError::cancelled(),
            NotBuilt::TooBig(message) => QueryError::new(query::error::ErrorKind::Limit, message, None),
        }
    }
}
