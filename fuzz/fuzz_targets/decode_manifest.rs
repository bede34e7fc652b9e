//! Feeds arbitrary text to the instrumentation manifest parser, and arbitrary
//! ManifestData chunks to the chunk assembler. A manifest that parses decodes
//! the input bytes as a payload of each of its events.
#![no_main]

use decode::manifest::{parse_manifest, ChunkAssembler};
use decode::schema::decode_payload;
use etl::Guid;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut chunks = ChunkAssembler::default();
    let _ = chunks.add(Guid::ZERO, data);
    let text = String::from_utf8_lossy(data);
    if let Ok(providers) = parse_manifest(&text) {
        for provider in providers {
            for schema in provider.events.values() {
                for (_, v) in decode_payload(&schema.fields, data, 8) {
                    let _ = v.to_json();
                }
            }
        }
    }
});
