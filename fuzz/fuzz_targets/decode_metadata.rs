//! Feeds arbitrary bytes to the parsers of schemas carried in traces:
//! TRACE_EVENT_INFO (MetaData EventInfo), EVENT_MAP_INFO (EventMapInfo) and
//! TraceLogging event metadata; a schema that parses then decodes the same
//! bytes as a payload. Lying offsets and counts must be errors, not panics.
#![no_main]

use decode::metadata::{parse_event_info, parse_event_map_info};
use decode::schema::decode_payload;
use decode::tracelogging::parse_event_metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = parse_event_info(data) {
        for (_, v) in decode_payload(&info.schema.fields, data, 8) {
            let _ = v.to_json();
        }
    }
    if let Ok((_, _, map)) = parse_event_map_info(data) {
        let _ = map.name_of(u64::from(data.len() as u32));
    }
    if let Ok(schema) = parse_event_metadata(data) {
        for (_, v) in decode_payload(&schema.fields, data, 4) {
            let _ = v.to_string();
        }
    }
});
