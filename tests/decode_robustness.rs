//! Payloads and schemas that lie must decode what they can and never panic:
//! the same inputs the fuzz targets take, run as property tests in CI.
use decode::manifest::parse_manifest;
use decode::metadata::{parse_event_info, parse_event_map_info};
use decode::schema::decode_payload;
use decode::tracelogging::parse_event_metadata;
use decode::{clr, kernel};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn kernel_layouts_take_any_payload(group in 0u8..32, opcode: u8, version in 0u16..6,
                                       wide: bool, payload in proptest::collection::vec(any::<u8>(), 0..700)) {
        if let Some(class) = kernel::lookup(group, opcode, version) {
            let fields = decode_payload(class.fields, &payload, if wide { 8 } else { 4 });
            for (_, v) in &fields {
                let _ = v.to_json();
            }
        }
    }

    #[test]
    fn built_in_runtime_layouts_take_any_payload(id in 0u16..260, version in 0u8..6, private: bool,
                                                 payload in proptest::collection::vec(any::<u8>(), 0..600)) {
        let provider = if private { clr::PRIVATE_PROVIDER_GUID } else { clr::PROVIDER_GUID };
        if let Some(schema) = clr::lookup(&provider, id, version) {
            for (_, v) in decode_payload(&schema.fields, &payload, 8) {
                let _ = v.to_json();
            }
        }
    }

    #[test]
    fn metadata_parsers_take_any_blob(blob in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(info) = parse_event_info(&blob) {
            let _ = decode_payload(&info.schema.fields, &blob, 8);
        }
        let _ = parse_event_map_info(&blob);
        if let Ok(schema) = parse_event_metadata(&blob) {
            let _ = decode_payload(&schema.fields, &blob, 8);
        }
    }

    #[test]
    fn manifest_parser_takes_any_text(text in ".{0,300}") {
        let _ = parse_manifest(&text);
    }
}

/// Every kernel layout, at both pointer sizes, on every prefix of a payload:
/// a cut payload marks a field bad (or drops a trailing optional one).
#[test]
fn every_kernel_layout_marks_short_payloads() {
    let payload: Vec<u8> = (0..400u32).map(|i| (i * 7 + 1) as u8).collect();
    for group in 0..32u8 {
        for opcode in 0..=255u8 {
            for version in 0..6u16 {
                let Some(class) = kernel::lookup(group, opcode, version) else { continue };
                for ptr in [4u8, 8] {
                    for cut in [0usize, 1, 3, 7, 15, 33] {
                        let fields = decode_payload(class.fields, &payload[..cut], ptr);
                        let required = class.fields.iter().filter(|f| !f.optional).count();
                        if required > 0 && cut == 0 {
                            assert!(
                                fields.iter().any(|(_, v)| v.is_bad()),
                                "{}/{} v{version}: empty payload not marked bad",
                                class.task,
                                class.opcode
                            );
                        }
                    }
                }
            }
        }
    }
}
