//! Events that a schema carried inside the trace could not decode: an
//! EventSource manifest or MetaData refused, TraceLogging metadata refused,
//! a schema asking for more values than its payload can hold. Queries that
//! never read those events would pass over them without a word, so one pass
//! decodes just the records that learn or use such schemas and counts the
//! failures per provider and event.
use decode::{Decoder, SchemaSource};
use etl::EtlTrace;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The check of every open trace, running on its own thread.
pub struct DecodeCheck {
    running: Option<JoinHandle<Vec<String>>>,
}

impl DecodeCheck {
    /// Checks each trace, named when several are open.
    pub(crate) fn start(traces: Vec<(Option<String>, Arc<EtlTrace>)>) -> DecodeCheck {
        let check = move || {
            let mut lines = Vec::new();
            for (name, trace) in traces {
                for failure in in_trace_schema_failures(&trace) {
                    lines.push(match &name {
                        Some(name) => format!("{name}: {failure}"),
                        None => failure.to_string(),
                    });
                }
            }
            lines
        };
        let running = std::thread::Builder::new().name("decode-check".into()).spawn(check).ok();
        DecodeCheck { running }
    }

    /// Whether the check has ended, so `warnings` would not wait.
    pub fn is_finished(&self) -> bool {
        self.running.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// One line per provider and event whose in-trace schema failed, with a
    /// count; waits for the check to end. Nothing when the thread could not start.
    pub fn warnings(self) -> Vec<String> {
        self.running.and_then(|thread| thread.join().ok()).unwrap_or_default()
    }
}

/// One provider and event whose in-trace schema failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeFailure {
    pub provider: String,
    pub event: String,
    /// Events that failed.
    pub count: u64,
    /// The reason the first of them gave.
    pub reason: String,
}

impl std::fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let events = if self.count == 1 { "event" } else { "events" };
        let count = render::group_digits(&self.count.to_string());
        write!(f, "{}/{}: {count} {events} not decoded: {}", self.provider, self.event, self.reason)
    }
}

/// How the events of one schema have decoded so far.
#[derive(Clone, Copy, PartialEq)]
enum Seen {
    /// With their schema and no failure: later ones are skipped.
    Decoded,
    /// A failure: every later one is decoded and counted.
    Failing,
}

/// The events that share a schema: the record key and version, and for
/// TraceLogging (whose schema travels with each event) its metadata.
type SchemaOf = (etl::RecordKey, u8, u64);

fn schema_of(record: &etl::Record<'_>) -> SchemaOf {
    use std::hash::{Hash, Hasher};
    let metadata = record.extended.find(etl::record::ext_type::EVENT_SCHEMA_TL).map_or(0, |meta| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        meta.hash(&mut hasher);
        hasher.finish()
    });
    (record.key(), record.version as u8, metadata)
}

/// Records that teach the decoder a schema: always decoded, in time order.
fn teaches_a_schema(record: &etl::Record<'_>) -> bool {
    match record.id {
        etl::RecordId::Classic { guid, .. } => guid == decode::ktc::METADATA_GUID,
        etl::RecordId::Event { descriptor, .. } => {
            descriptor.id == decode::manifest::MANIFEST_EVENT_ID
                && descriptor.opcode == decode::manifest::MANIFEST_OPCODE
        }
        etl::RecordId::Kernel { .. } => false,
    }
}

/// The failures of one trace, in provider and event order. A decoder of its
/// own learns the in-trace schemas again, so the counts cover the whole trace
/// once whatever the session decoded before. For speed, the events of a
/// schema whose first event decoded cleanly are skipped: a schema that fails
/// is counted in full, a later event that fails alone under a good schema is
/// left to the queries that read it (they show it as a bad field).
pub fn in_trace_schema_failures(trace: &EtlTrace) -> Vec<DecodeFailure> {
    let mut decoder = Decoder::new();
    let mut seen: std::collections::HashMap<SchemaOf, Seen> = Default::default();
    let mut failures: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
    for record in trace.records() {
        if !decoder.may_use_in_trace_schema(&record) {
            continue;
        }
        let teaches = teaches_a_schema(&record);
        let schema = schema_of(&record);
        if !teaches && seen.get(&schema) == Some(&Seen::Decoded) {
            continue;
        }
        let event = decoder.decode(&record);
        let reason = event.fields.iter().find_map(|(_, value)| value.bad_reason());
        // The built-in schemas are not the trace's doing; an event without a
        // schema yet may find one later.
        let in_trace = !matches!(event.source, SchemaSource::Kernel | SchemaSource::BuiltInClr);
        match reason {
            Some(reason) if in_trace => {
                seen.insert(schema, Seen::Failing);
                let entry = failures
                    .entry((event.provider.to_string(), event.name.to_string()))
                    .or_insert_with(|| (0, reason.to_string()));
                entry.0 += 1;
            }
            _ if event.source != SchemaSource::None && !teaches => {
                seen.entry(schema).or_insert(Seen::Decoded);
            }
            _ => {}
        }
    }
    failures
        .into_iter()
        .map(|((provider, event), (count, reason))| DecodeFailure { provider, event, count, reason })
        .collect()
}
