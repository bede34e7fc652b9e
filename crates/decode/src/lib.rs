//! Records to events: a provider name, an event name and typed, named fields.
//!
//! Schema sources, in the order a lookup tries them: the kernel logger's MOF
//! classes, KernelTraceControl, schemas carried inside the trace (MetaData
//! EventInfo, EventSource ManifestData, TraceLogging), manifests the user
//! hands over; otherwise the event stays undecoded with its payload as hex.
//! Decoding knows records only; it knows nothing of the model above it.
pub mod clr;
pub mod encode;
pub mod fields;
pub mod kernel;
pub mod ktc;
pub mod manifest;
pub mod metadata;
pub mod name;
pub mod ntstatus;
pub mod schema;
pub mod tracelogging;
pub mod value;
pub mod xml_depth;

use etl::record::RecordId;
use etl::{Guid, Record};
use schema::{decode_payload, Field, Name};
use std::collections::HashMap;
use std::sync::Arc;
pub use value::Value;

/// Where an event's schema came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaSource {
    Kernel,
    KernelTraceControl,
    /// TRACE_EVENT_INFO from KernelTraceControl MetaData events.
    EmbeddedMetadata,
    EventSourceManifest,
    TraceLogging,
    UserManifest,
    /// The runtime's events that etwq knows without a schema in the trace.
    BuiltInClr,
    /// No schema: the payload is kept as hex.
    None,
}

/// One decoded event, borrowing its record.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub record: Record<'a>,
    pub provider: Name,
    /// "Task/Opcode", "Task", or the TraceLogging event name.
    pub name: Name,
    pub fields: Vec<(Name, Value)>,
    pub source: SchemaSource,
}

impl Event<'_> {
    pub fn is_decoded(&self) -> bool {
        self.source != SchemaSource::None
    }

    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The event id: the descriptor id of manifest events, the hook id
    /// (group << 8 | opcode) of kernel events, none for classic events.
    pub fn id(&self) -> Option<u32> {
        match self.record.id {
            RecordId::Kernel { group, opcode } => Some(u32::from(group) << 8 | u32::from(opcode)),
            RecordId::Classic { .. } => None,
            RecordId::Event { descriptor, .. } => Some(u32::from(descriptor.id)),
        }
    }

    pub fn opcode(&self) -> u8 {
        match self.record.id {
            RecordId::Kernel { opcode, .. } => opcode,
            RecordId::Classic { class_type, .. } => class_type,
            RecordId::Event { descriptor, .. } => descriptor.opcode,
        }
    }
}

/// A schema found for one event: names and field layout.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSchema {
    pub provider: Name,
    pub name: Name,
    pub fields: Vec<Field>,
}

/// Key of schemas learned at run time: provider (or classic event GUID), event
/// id (0 for classic events), opcode (the class type of classic events), version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchemaKey {
    pub guid: Guid,
    pub id: u16,
    pub opcode: u8,
    pub version: u8,
}

/// Counts of what decoding saw, for `summary`.
#[derive(Clone, Debug, Default)]
pub struct DecodeStats {
    /// Bad metadata or manifests that were skipped, with what was wrong.
    pub schema_errors: Vec<String>,
}

/// Holds the schema registries; `decode` learns from the events that carry
/// schemas (MetaData, ManifestData) as it goes, so feed it records in order.
#[derive(Default)]
pub struct Decoder {
    /// From MetaData EventInfo (TRACE_EVENT_INFO) events.
    embedded: HashMap<SchemaKey, Arc<EventSchema>>,
    /// The providers and classic event GUIDs of `embedded`, for a quick test.
    embedded_guids: std::collections::HashSet<Guid>,
    /// Value maps from MetaData EventMapInfo events, by provider and map name.
    maps: HashMap<(Guid, String), Arc<schema::ValueMap>>,
    /// Provider names learned from any source, for events that have no schema.
    provider_names: HashMap<Guid, Arc<str>>,
    /// From EventSource ManifestData events.
    eventsource: manifest::Registry,
    eventsource_chunks: manifest::ChunkAssembler,
    /// From `--manifest` files.
    user: manifest::Registry,
    tracelogging: tracelogging::Cache,
    /// "Task/Opcode" of built-in classes, made once.
    class_names: HashMap<(&'static str, &'static str), Name>,
    pub stats: DecodeStats,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Adds an instrumentation manifest (XML text) the user handed over.
    pub fn add_manifest_xml(&mut self, xml: &str) -> Result<usize, String> {
        let providers = manifest::parse_manifest(xml)?;
        let n = providers.len();
        for provider in providers {
            self.provider_names.insert(provider.guid, Arc::from(provider.name.as_str()));
            self.user.add(provider);
        }
        Ok(n)
    }

    /// Adds a manifest file, or every *.man / *.xml file of a directory.
    pub fn add_manifest_path(&mut self, path: &std::path::Path) -> Result<usize, String> {
        let mut files = Vec::new();
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            for entry in entries.flatten() {
                let p = entry.path();
                if matches!(p.extension().and_then(|e| e.to_str()), Some("man" | "xml")) {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut total = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            total += self.add_manifest_xml(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        }
        Ok(total)
    }

    /// A kernel event of a known class with its names and no fields: what
    /// `decode` gives but the payload, at a fraction of the cost. None for any
    /// other record, which only `decode` names.
    pub fn decode_names<'a>(&mut self, record: &Record<'a>) -> Option<Event<'a>> {
        let RecordId::Kernel { group, opcode } = record.id else { return None };
        let class = kernel::lookup(group, opcode, record.version)?;
        Some(Event {
            record: *record,
            provider: Name::Static(kernel::PROVIDER),
            name: self.class_name(&class),
            fields: Vec::new(),
            source: SchemaSource::Kernel,
        })
    }

    pub fn decode<'a>(&mut self, record: &Record<'a>) -> Event<'a> {
        let ptr = record.pointer_size();
        match record.id {
            RecordId::Kernel { group, opcode } => {
                if let Some(class) = kernel::lookup(group, opcode, record.version) {
                    return Event {
                        record: *record,
                        provider: Name::Static(kernel::PROVIDER),
                        name: self.class_name(&class),
                        fields: decode_payload(class.fields, record.payload, ptr),
                        source: SchemaSource::Kernel,
                    };
                }
                self.undecoded(record, Name::Static(kernel::PROVIDER), kernel::fallback_name(group, opcode))
            }
            RecordId::Classic { guid, class_type, .. } => {
                if let Some(class) = kernel::lookup_classic(&guid, class_type, record.version) {
                    return Event {
                        record: *record,
                        provider: Name::Static(kernel::PROVIDER),
                        name: self.class_name(&class),
                        fields: decode_payload(class.fields, record.payload, ptr),
                        source: SchemaSource::Kernel,
                    };
                }
                if let Some(class) = ktc::lookup(&guid, class_type, record.version) {
                    let fields = if guid == ktc::METADATA_GUID {
                        self.learn_metadata(class_type, record.payload)
                    } else {
                        decode_payload(class.fields, record.payload, ptr)
                    };
                    return Event {
                        record: *record,
                        provider: Name::Static(ktc::PROVIDER),
                        name: self.class_name(&class),
                        fields,
                        source: SchemaSource::KernelTraceControl,
                    };
                }
                let key = SchemaKey { guid, id: 0, opcode: class_type, version: record.version as u8 };
                if let Some(schema) = self.embedded.get(&key).or_else(|| self.embedded_any_version(key)) {
                    return self.with_schema(record, &schema.clone(), SchemaSource::EmbeddedMetadata);
                }
                if let Some(task) = kernel::classic_task(&guid) {
                    let name = Name::from(format!("{task}/Opcode({class_type})"));
                    return self.undecoded(record, Name::Static(kernel::PROVIDER), name);
                }
                let provider = self.provider_name(&guid);
                self.undecoded(record, provider, Name::from(format!("Opcode({class_type})")))
            }
            RecordId::Event { provider, descriptor } => {
                if descriptor.id == manifest::MANIFEST_EVENT_ID && descriptor.opcode == manifest::MANIFEST_OPCODE {
                    return self.learn_eventsource(record, provider);
                }
                if let Some((schema, provider_name)) = self.tracelogging.lookup(record) {
                    let provider_name = match provider_name {
                        Some(name) => {
                            self.provider_names.entry(provider).or_insert_with(|| name.clone());
                            Name::from(name)
                        }
                        None => self.provider_name(&provider),
                    };
                    return match schema {
                        Ok(schema) => Event {
                            record: *record,
                            provider: provider_name,
                            name: tracelogging::event_name(&schema),
                            fields: decode_payload(&schema.fields, record.payload, ptr),
                            source: SchemaSource::TraceLogging,
                        },
                        Err(why) => {
                            let mut event = self.undecoded(
                                record,
                                provider_name,
                                Name::from(format!("EventID({})", descriptor.id)),
                            );
                            event.fields.push((Name::Static("metadata"), Value::Bad { why }));
                            event
                        }
                    };
                }
                let key = SchemaKey {
                    guid: provider,
                    id: descriptor.id,
                    opcode: descriptor.opcode,
                    version: descriptor.version,
                };
                if let Some(schema) = self.embedded.get(&key).or_else(|| self.embedded_any_version(key)) {
                    return self.with_schema(record, &schema.clone(), SchemaSource::EmbeddedMetadata);
                }
                if let Some(schema) = self.eventsource.lookup(&provider, descriptor.id, descriptor.version) {
                    return self.with_schema(record, &schema, SchemaSource::EventSourceManifest);
                }
                if let Some(schema) = self.user.lookup(&provider, descriptor.id, descriptor.version) {
                    return self.with_schema(record, &schema, SchemaSource::UserManifest);
                }
                if let Some(schema) = clr::lookup(&provider, descriptor.id, descriptor.version) {
                    return self.with_schema(record, schema, SchemaSource::BuiltInClr);
                }
                let name = self.provider_name(&provider);
                self.undecoded(record, name, Name::from(format!("EventID({})", descriptor.id)))
            }
        }
    }

    /// Whether decoding `record` learns a schema carried inside the trace
    /// (MetaData, ManifestData, TraceLogging metadata) or may use one: a cheap
    /// test, so that a pass over the trace decodes only those records. It may
    /// say yes for a record another schema decodes first, never no for one
    /// that an in-trace schema decodes.
    pub fn may_use_in_trace_schema(&self, record: &Record<'_>) -> bool {
        match record.id {
            RecordId::Kernel { .. } => false,
            RecordId::Classic { guid, .. } => guid == ktc::METADATA_GUID || self.embedded_guids.contains(&guid),
            RecordId::Event { provider, descriptor } => {
                (descriptor.id == manifest::MANIFEST_EVENT_ID && descriptor.opcode == manifest::MANIFEST_OPCODE)
                    || record.extended.find(etl::record::ext_type::EVENT_SCHEMA_TL).is_some()
                    || self.embedded_guids.contains(&provider)
                    || self.eventsource.lookup(&provider, descriptor.id, descriptor.version).is_some()
            }
        }
    }

    fn class_name(&mut self, class: &kernel::KernelClass) -> Name {
        self.class_names.entry((class.task, class.opcode)).or_insert_with(|| class.event_name()).clone()
    }

    /// A schema of the same event at another version: better than hex when a
    /// merge carried only one version's metadata.
    fn embedded_any_version(&self, key: SchemaKey) -> Option<&Arc<EventSchema>> {
        self.embedded
            .iter()
            .filter(|(k, _)| k.guid == key.guid && k.id == key.id && k.opcode == key.opcode)
            .max_by_key(|(k, _)| k.version)
            .map(|(_, s)| s)
    }

    fn with_schema<'a>(&self, record: &Record<'a>, schema: &EventSchema, source: SchemaSource) -> Event<'a> {
        Event {
            record: *record,
            provider: schema.provider.clone(),
            name: schema.name.clone(),
            fields: decode_payload(&schema.fields, record.payload, record.pointer_size()),
            source,
        }
    }

    fn provider_name(&self, guid: &Guid) -> Name {
        match self.provider_names.get(guid) {
            Some(name) => Name::from(name.clone()),
            None => Name::from(guid.to_string()),
        }
    }

    fn undecoded<'a>(&self, record: &Record<'a>, provider: Name, name: Name) -> Event<'a> {
        Event {
            record: *record,
            provider,
            name,
            fields: vec![(Name::Static("payload"), Value::Binary(record.payload.to_vec()))],
            source: SchemaSource::None,
        }
    }

    /// Learns a schema or value map from a MetaData event; its fields say what
    /// was learned, or carry the reason a bad blob was skipped.
    fn learn_metadata(&mut self, class_type: u8, payload: &[u8]) -> Vec<(Name, Value)> {
        match class_type {
            ktc::METADATA_EVENT_INFO => match metadata::parse_event_info(payload) {
                Ok(mut info) => {
                    let fields = vec![
                        (Name::Static("ProviderName"), Value::Str(info.schema.provider.to_string())),
                        (Name::Static("EventName"), Value::Str(info.schema.name.to_string())),
                        (Name::Static("EventId"), Value::U16(info.key.id)),
                        (Name::Static("Version"), Value::U8(info.key.version)),
                        (Name::Static("FieldCount"), Value::U32(info.schema.fields.len() as u32)),
                    ];
                    // Maps that came first apply now; later ones when they come.
                    for ((provider, name), map) in &self.maps {
                        if *provider == info.key.guid {
                            metadata::apply_map(&mut info.schema.fields, name, map);
                        }
                    }
                    self.provider_names.insert(info.key.guid, Arc::from(info.schema.provider.as_ref()));
                    self.embedded_guids.insert(info.key.guid);
                    self.embedded.insert(info.key, Arc::new(info.schema));
                    fields
                }
                Err(e) => {
                    self.stats.schema_errors.push(format!("MetaData EventInfo: {e}"));
                    vec![(Name::Static("EventInfo"), Value::Bad { why: e })]
                }
            },
            ktc::METADATA_EVENT_MAP_INFO => match metadata::parse_event_map_info(payload) {
                Ok((provider, name, map)) => {
                    let fields = vec![
                        (Name::Static("ProviderGuid"), Value::Guid(provider)),
                        (Name::Static("MapName"), Value::Str(name.clone())),
                        (Name::Static("EntryCount"), Value::U32(map.entries.len() as u32)),
                    ];
                    let map = Arc::new(map);
                    for (key, schema) in self.embedded.iter_mut() {
                        if key.guid == provider && metadata::uses_map(&schema.fields, &name) {
                            let mut updated = (**schema).clone();
                            metadata::apply_map(&mut updated.fields, &name, &map);
                            *schema = Arc::new(updated);
                        }
                    }
                    self.maps.insert((provider, name), map);
                    fields
                }
                Err(e) => {
                    self.stats.schema_errors.push(format!("MetaData EventMapInfo: {e}"));
                    vec![(Name::Static("EventMapInfo"), Value::Bad { why: e })]
                }
            },
            _ => Vec::new(),
        }
    }

    fn learn_eventsource<'a>(&mut self, record: &Record<'a>, provider: Guid) -> Event<'a> {
        let mut fields = decode_payload(manifest::MANIFEST_DATA_LAYOUT, record.payload, record.pointer_size());
        if let Some(xml) = self.eventsource_chunks.add(provider, record.payload) {
            match manifest::parse_manifest(&xml) {
                Ok(providers) => {
                    for p in providers {
                        self.provider_names.insert(p.guid, Arc::from(p.name.as_str()));
                        self.eventsource.add(p);
                    }
                }
                Err(e) => {
                    self.stats.schema_errors.push(format!("EventSource manifest of {provider}: {e}"));
                    fields.push((Name::Static("Manifest"), Value::Bad { why: e }));
                }
            }
        }
        Event {
            record: *record,
            provider: self.provider_name(&provider),
            name: Name::Static("ManifestData"),
            fields,
            source: SchemaSource::EventSourceManifest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etl::record::{EventDescriptor, HeaderKind};

    fn record<'a>(kind: HeaderKind, id: RecordId, payload: &'a [u8]) -> Record<'a> {
        Record { thread_id: Some(1), process_id: Some(2), ..Record::bare(kind, id, payload) }
    }

    #[test]
    fn metadata_events_teach_the_schema_of_later_events() {
        let blob = metadata::tests::event_info_blob("Prov", "Work", &[("Size", 8, 0, 0, 1, 0)]);
        let mut decoder = Decoder::new();
        let meta = record(
            HeaderKind::Full64,
            RecordId::Classic { guid: ktc::METADATA_GUID, class_type: ktc::METADATA_EVENT_INFO, level: 0 },
            &blob,
        );
        let taught = decoder.decode(&meta);
        assert_eq!(taught.name, "MetaData/EventInfo");
        assert_eq!(taught.field("EventName"), Some(&Value::Str("Work".into())));
        let provider = Guid::from_bytes(&blob[..16]).unwrap();
        let descriptor = EventDescriptor { id: 7, ..Default::default() };
        let payload = 42u32.to_le_bytes();
        let event =
            decoder.decode(&record(HeaderKind::EventHeader64, RecordId::Event { provider, descriptor }, &payload));
        assert_eq!((event.provider.as_ref(), event.name.as_ref()), ("Prov", "Work"));
        assert_eq!(event.field("Size"), Some(&Value::U32(42)));
        assert_eq!(event.source, SchemaSource::EmbeddedMetadata);
    }

    #[test]
    fn unknown_events_stay_undecoded_with_their_payload() {
        let mut decoder = Decoder::new();
        let descriptor = EventDescriptor { id: 9, ..Default::default() };
        let provider = Guid::from_fields(1, 2, 3, [4; 8]);
        let event =
            decoder.decode(&record(HeaderKind::EventHeader64, RecordId::Event { provider, descriptor }, &[0xab]));
        assert!(!event.is_decoded());
        assert_eq!(event.provider, provider.to_string());
        assert_eq!(event.name, "EventID(9)");
        assert_eq!(event.field("payload"), Some(&Value::Binary(vec![0xab])));
        let bad = record(
            HeaderKind::Full64,
            RecordId::Classic { guid: ktc::METADATA_GUID, class_type: ktc::METADATA_EVENT_INFO, level: 0 },
            &[1, 2, 3],
        );
        let taught = decoder.decode(&bad);
        assert!(taught.field("EventInfo").is_some_and(Value::is_bad));
        assert_eq!(decoder.stats.schema_errors.len(), 1);
    }
}
