//! The one API that the command line (and later the shell and scripts) call.
use crate::decode::{Decoder, SchemaSource};
use crate::etl::clock::filetime_to_utc;
use crate::etl::{EtlTrace, OpenError, Warning};
use crate::summary::{record_counts, SummaryRow};
use crate::table::{Cell, Table};
use std::path::Path;

pub struct Session {
    pub trace: EtlTrace,
    /// Schemas: built in, learned from the trace, and from `--manifest` files.
    pub decoder: Decoder,
}

impl Session {
    pub fn open(path: &Path) -> Result<Session, OpenError> {
        Ok(Session { trace: EtlTrace::open(path)?, decoder: Decoder::new() })
    }

    /// Adds the instrumentation manifests in a file or directory; returns how many providers.
    pub fn add_manifests(&mut self, path: &Path) -> Result<usize, String> {
        self.decoder.add_manifest_path(path)
    }

    pub fn warnings(&self) -> &[Warning] {
        &self.trace.warnings
    }

    /// Header facts, sizes and counts of the trace, as field/value rows.
    pub fn info(&self) -> Table {
        let trace = &self.trace;
        let h = &trace.header;
        let mut t = Table::new(&["field", "value"]);
        let mut row = |field: &str, value: Cell| t.push(vec![field.into(), value]);
        if let Some(path) = trace.path() {
            row("file", path.display().to_string().into());
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
            row("duration_ns", (clock.ns_since_start(last) - clock.ns_since_start(first.min(clock.origin_ticks))).into());
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
        record_counts(&self.trace)
    }

    /// Per record key: the provider and event names the decoder gives it, the
    /// count, and how many of those records found no schema; then per provider.
    pub fn named_summary(&mut self) -> (Table, Table) {
        use std::collections::BTreeMap;
        let mut by_key: std::collections::HashMap<crate::etl::RecordKey, (String, String, u64, u64)> = Default::default();
        let mut by_provider: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for record in self.trace.records() {
            let event = self.decoder.decode(&record);
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
            records.push(vec![kind.into(), id.into(), u64::from(number).into(), provider.into(), event.into(), count.into(), undecoded.into()]);
        }
        let mut providers = Table::new(&["provider", "events", "undecoded"]);
        for (provider, (events, undecoded)) in by_provider {
            providers.push(vec![provider.into(), events.into(), undecoded.into()]);
        }
        (records, providers)
    }

    /// One row per record key with its count, then the total.
    pub fn summary(&self) -> Table {
        let mut t = Table::new(&["kind", "id", "number", "count"]);
        let mut total = 0;
        for row in self.summary_rows() {
            let (kind, id, number) = row.key.columns();
            t.push(vec![kind.into(), id.into(), u64::from(number).into(), row.count.into()]);
            total += row.count;
        }
        t.push(vec!["total".into(), Cell::Empty, Cell::Empty, total.into()]);
        t
    }
}
