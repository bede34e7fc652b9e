//! Schemas carried inside the trace: TRACE_EVENT_INFO and EVENT_MAP_INFO blobs
//! of KernelTraceControl MetaData events.
use super::schema::{Field, ValueMap};
use super::{EventSchema, SchemaKey};
use std::sync::Arc;

pub struct ParsedEventInfo {
    pub key: SchemaKey,
    pub schema: EventSchema,
}

pub fn parse_event_info(_blob: &[u8]) -> Result<ParsedEventInfo, String> {
    Err("not yet supported".into())
}

pub fn parse_event_map_info(_blob: &[u8]) -> Result<(String, ValueMap), String> {
    Err("not yet supported".into())
}

pub fn uses_map(_schema: &EventSchema, _name: &str) -> bool {
    false
}

pub fn apply_map(_fields: &mut [Field], _name: &str, _map: &Arc<ValueMap>) {}
