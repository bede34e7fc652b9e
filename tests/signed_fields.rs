//! Signed integers stay signed from the schema to the query: a field whose
//! schema says Int8..Int64 decodes to a negative number that `where x < 0`
//! finds; a field whose schema says unsigned keeps its unsigned value.
mod common;
use decode::schema::FieldType;
use decode::tracelogging::parse_event_metadata;
use decode::{Decoder, Value};
use etl::record::{ext_type, EventDescriptor, ExtendedData, ExtendedItem};
use etl::writer::{EtlWriter, WriterOptions};
use etl::{EtlTrace, Guid, HeaderKind, Record, RecordId};
use std::collections::HashMap;
use std::io::Cursor;
use std::process::Command;

/// PerfView's fields of one event line of a baseline: `name=value; ...`.
fn baseline_fields(line: &str) -> HashMap<String, String> {
    let Some(pid_at) = line.find(" PID=") else { return HashMap::new() };
    line[pid_at + 1..]
        .split("; ")
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches(';').trim_end().to_string()))
        .collect()
}

/// The declared type of a TraceLogging field, from the record's own metadata.
fn tracelogging_type(record: &Record<'_>, field: &str) -> Option<FieldType> {
    let meta = record.extended.find(ext_type::EVENT_SCHEMA_TL)?;
    let schema = parse_event_metadata(meta).ok()?;
    schema.fields.into_iter().find(|f| &*f.name == field).map(|f| f.ty)
}

fn is_signed(value: &Value) -> bool {
    matches!(value, Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_))
}

/// Every field PerfView shows negative in primitive-types.etl: where the
/// schema in the trace declares a signed type, ours is that signed value;
/// where it declares an unsigned one, ours is the same bits, unsigned.
///
/// int64_type is such a field: its TraceLogging metadata says in-type 10
/// (TlgInUINT64), not 9 (INT64); PerfView shows -204 because TraceEvent reads
/// every 8-byte integer as a C# long (microsoft/perfview#2097), while TDH
/// and etwq follow the declared type.
#[test]
fn negative_fields_of_the_perfview_baseline_follow_their_declared_types() {
    let Some(corpus) = common::corpus_dir() else { return };
    let baseline = std::fs::read_to_string(corpus.join("perfview/primitive-types.baseline.txt")).unwrap();
    let trace = EtlTrace::open(corpus.join("perfview/primitive-types.etl")).unwrap();
    let mut decoder = Decoder::new();
    // Our events by their one unique text field (the planet), and the header event.
    let mut ours = HashMap::new();
    for record in trace.records() {
        let event = decoder.decode(&record);
        let key = match event.field("string_type") {
            Some(Value::Str(planet)) => planet.clone(),
            _ => event.name.to_string(),
        };
        let fields: Vec<(String, Value)> = event.fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        ours.insert(key, (record, fields));
    }
    let (mut signed_checked, mut unsigned_checked) = (0, 0);
    for line in baseline.lines().filter(|l| l.starts_with("EVENT ")) {
        let theirs = baseline_fields(line);
        let key = match theirs.get("string_type") {
            Some(planet) => planet.clone(),
            // "EVENT 0.000: Windows Kernel/EventTrace PID=...": the event name.
            None => line
                .split_once(": ")
                .and_then(|(_, r)| r.split_once(" PID="))
                .map_or("", |(n, _)| n)
                .replace("Windows Kernel/", ""),
        };
        let (record, fields) = ours.get(&key).unwrap_or_else(|| panic!("no event of ours for {key:?}"));
        for (name, text) in &theirs {
            let Ok(number) = text.replace(',', "").parse::<i64>() else { continue };
            if number >= 0 || name == "PID" || name == "TID" {
                continue;
            }
            let value = &fields.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{key}: no field {name}")).1;
            match tracelogging_type(record, name) {
                Some(FieldType::U8 | FieldType::U16 | FieldType::U32 | FieldType::U64) => {
                    assert!(!is_signed(value), "{key}.{name}: declared unsigned, decoded {value:?}");
                    assert_eq!(value.as_i64(), Some(number), "{key}.{name}: not the same bits as PerfView's");
                    unsigned_checked += 1;
                }
                _ => {
                    assert!(is_signed(value), "{key}.{name}: PerfView shows {number}, we decoded {value:?}");
                    assert_eq!(value.as_i64(), Some(number), "{key}.{name}");
                    signed_checked += 1;
                }
            }
        }
    }
    // int16_type and int32_type of five events, and the header's UtcOffsetMinutes.
    assert_eq!(signed_checked, 11, "signed fields compared");
    // int64_type of five events.
    assert_eq!(unsigned_checked, 5, "unsigned fields compared");
}

/// TraceLogging metadata of one event: each field a name and an in type.
fn metadata(fields: &[(&str, u8)]) -> Vec<u8> {
    let mut meta = vec![0, 0, 0];
    meta.extend_from_slice(b"Signed\0");
    for (name, in_type) in fields {
        meta.extend_from_slice(name.as_bytes());
        meta.extend_from_slice(&[0, *in_type]);
    }
    let size = meta.len() as u16;
    meta[..2].copy_from_slice(&size.to_le_bytes());
    meta
}

/// A TraceLogging event with every signed in type negative, written with the
/// project's writer, queried through the etwq binary.
#[test]
fn negative_tracelogging_integers_are_found_by_less_than_zero() {
    let meta = metadata(&[("i8", 3), ("i16", 5), ("i32", 7), ("i64", 9), ("u64", 10)]);
    let mut payload = vec![(-1i8) as u8];
    payload.extend_from_slice(&(-2i16).to_le_bytes());
    payload.extend_from_slice(&(-3i32).to_le_bytes());
    payload.extend_from_slice(&(-204i64).to_le_bytes());
    payload.extend_from_slice(&u64::MAX.to_le_bytes());
    let extended = ExtendedData::encode(&[
        ExtendedItem { ext_type: ext_type::EVENT_SCHEMA_TL, data: &meta },
        ExtendedItem { ext_type: ext_type::PROV_TRAITS, data: b"\x0a\x00Signed\0" },
    ]);
    let provider = Guid::parse("{0d1f1e2a-3b4c-4d5e-8f60-718293a4b5c6}").unwrap();
    let record = Record {
        thread_id: Some(100),
        process_id: Some(10),
        timestamp: 1_000,
        extended: ExtendedData { raw: &extended },
        ..Record::bare(
            HeaderKind::EventHeader64,
            RecordId::Event { provider, descriptor: EventDescriptor::default() },
            &payload,
        )
    };
    let mut writer = EtlWriter::new(Cursor::new(Vec::new()), WriterOptions::new(1, 132_000_000_000_000_000)).unwrap();
    writer.write(&record).unwrap();
    let bytes = writer.finish().unwrap().into_inner();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.etl");
    std::fs::write(&path, bytes).unwrap();

    let count = |condition: &str| -> String {
        let query = format!("events where {condition} select count()");
        let out = Command::new(env!("CARGO_BIN_EXE_etwq"))
            .args(["--format", "csv", "-c", &query, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{query}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").trim().to_string()
    };
    for (field, value) in [("i8", -1), ("i16", -2), ("i32", -3), ("i64", -204)] {
        assert_eq!(count(&format!("fields.{field} < 0")), "1", "{field}");
        assert_eq!(count(&format!("fields.{field} = {value}")), "1", "{field}");
    }
    // An unsigned field keeps its full value.
    assert_eq!(count("fields.u64 < 0"), "0");
    assert_eq!(count(&format!("fields.u64 = {}", u64::MAX)), "1");
}
