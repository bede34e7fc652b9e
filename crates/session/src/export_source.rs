//! What a front end needs to write a trace's tables elsewhere (`etwq export`):
//! the trace's header facts, and each table handed over whole, to be dropped
//! once written, so that a trace's tables are in memory one at a time.
use crate::session::{NotBuilt, Session};
use columnar::DataTable;
use progress::Progress;
use std::path::PathBuf;

/// FILETIME ticks (100 ns) between 1601-01-01 and 1970-01-01.
const FILETIME_OF_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

/// One open trace's header facts.
#[derive(Clone, Debug)]
pub struct TraceHeader {
    /// As queries name it (the file name, or "demo").
    pub name: String,
    /// The file it was read from; None for the demo.
    pub path: Option<PathBuf>,
    /// The trace start (the instant `ts` 0 stands for), ns since 1970 UTC.
    pub start_unix_ns: i64,
    /// From the trace start to its last record.
    pub duration_ns: Option<i64>,
    pub processors: u32,
    pub pointer_size: u8,
    /// `10.0 build 19041`.
    pub os_version: String,
    pub events_lost: u32,
    pub buffers_lost: u32,
    /// What the reader skipped as damaged, one line each.
    pub damaged: Vec<String>,
    /// Every row `.info` shows, as text.
    pub info: Vec<(String, String)>,
}

impl Session {
    /// The header facts of each open trace.
    pub fn trace_headers(&self) -> Vec<TraceHeader> {
        (0..self.traces.len()).map(|index| self.header_of(index)).collect()
    }

    fn header_of(&self, index: usize) -> TraceHeader {
        let loaded = &self.traces[index];
        let trace = &loaded.trace;
        let clock = &trace.clock;
        let start_unix_ns = clock.origin_filetime.saturating_sub(FILETIME_OF_UNIX_EPOCH).saturating_mul(100);
        let duration_ns = trace
            .time_range()
            .map(|(first, last)| clock.ns_since_start(last) - clock.ns_since_start(first.min(clock.origin_ticks)));
        let mut info = Vec::new();
        self.trace_info(index, &mut |field, value| info.push((field.to_string(), value.to_string())));
        TraceHeader {
            name: loaded.name.clone(),
            path: trace.path().map(|p| p.to_path_buf()),
            start_unix_ns,
            duration_ns,
            processors: trace.header.number_of_processors,
            pointer_size: trace.header_pointer_size,
            os_version: trace.header.os_version(),
            events_lost: trace.header.events_lost,
            buffers_lost: trace.header.buffers_lost,
            damaged: trace.warnings.iter().map(|w| w.to_string()).collect(),
            info,
        }
    }

    /// Builds every trace's model with the parts that `tables` need, in one
    /// pass over the records, so that building them one after the other does
    /// not build it again for each new part (as queries met one by one may).
    /// The events table needs no model: alone, it builds none.
    pub fn build_model_for(&mut self, tables: &[String], progress: &Progress) -> Result<(), NotBuilt> {
        let tables: Vec<&String> =
            tables.iter().filter(|t| model::schema::table(t).is_some() && *t != "events").collect();
        if tables.is_empty() {
            return Ok(());
        }
        let parts = tables.iter().fold(model::ModelParts::NONE, |parts, t| parts.union(model::tables::parts_for(t)));
        self.ensure_model_parts(progress, parts)
    }

    /// Builds table `name` (as a query would: memory check, progress, Ctrl-C)
    /// and hands it over instead of keeping it: dropping it frees what it
    /// made. None for a name that is no table.
    pub fn take_table(&mut self, name: &str, progress: &Progress) -> Result<Option<DataTable>, NotBuilt> {
        self.ensure_table(name, progress)?;
        Ok(self.catalog.tables.remove(name))
    }
}
