//! Tables built lazily, when a query first reads them, hold the same rows as
//! tables built directly from a freshly built model; and the events table's
//! fields, decoded on demand, equal a full decode of every record. On every
//! corpus trace.
mod common;
use decode::Decoder;
use etl::EtlTrace;
use model::{tables, TraceModel};
use session::{Session, Value};
use std::sync::{Arc, Mutex};

/// The tables that need no frame names (those depend on the symbol path).
const PLAIN_TABLES: [&str; 8] =
    ["events", "processes", "threads", "modules", "cswitch", "diskio", "fileio", "hardfaults"];

fn rows(table: &session::DataTable) -> Vec<Vec<Value>> {
    (0..table.row_count()).map(|r| table.row(r)).collect()
}

#[test]
fn lazy_tables_and_on_demand_fields_equal_a_full_decode_on_every_corpus_trace() {
    let Some(corpus) = common::corpus_dir() else { return };
    for path in common::corpus_traces(&corpus) {
        let name = path.display().to_string();
        let Ok(mut session) = Session::open(&path) else { continue };
        let trace = Arc::new(EtlTrace::open(&path).unwrap());
        let decoder = Arc::new(Mutex::new(Decoder::new()));
        let model = TraceModel::build(&trace, &mut decoder.lock().unwrap());
        for table in PLAIN_TABLES {
            let lazy = session.query(table).unwrap_or_else(|e| panic!("{name}: {table}: {e}"));
            let direct = tables::build(table, &model, &trace, &decoder, None).unwrap();
            assert_eq!(lazy.row_count(), direct.row_count(), "{name}: {table} rows");
            assert!(rows(&lazy) == rows(&direct), "{name}: {table} differs from a direct build");
        }
        // The reference decodes every payload up front, with a decoder that has
        // seen the same records (the model's pass, then the events pass).
        let eager = tables::all_fields(&trace, &mut decoder.lock().unwrap());
        let lazy = session.query("events select fields").unwrap();
        assert_eq!(lazy.row_count(), eager.len(), "{name}: events");
        for (row, expected) in eager.into_iter().enumerate() {
            assert_eq!(lazy.row(row), vec![Value::Fields(expected)], "{name}: fields of event {row}");
        }
        // A filter before fields.X reads only the rows it keeps, and finds the same values.
        let some = session.query("events where opcode = 10 select fields").unwrap();
        let all = session.query("events select opcode, fields").unwrap();
        let expected: Vec<Vec<Value>> =
            rows(&all).into_iter().filter(|r| r[0] == Value::U64(10)).map(|r| vec![r[1].clone()]).collect();
        assert!(rows(&some) == expected, "{name}: filtered fields");
    }
}

/// The events table names kernel events without decoding their payloads
/// (their owners read from fixed offsets); every row's process, thread,
/// provider and event must still be those a full decode of the record gives.
#[test]
fn events_named_without_their_payloads_match_a_full_decode_on_every_corpus_trace() {
    let Some(corpus) = common::corpus_dir() else { return };
    for path in common::corpus_traces(&corpus) {
        let name = path.display().to_string();
        let Ok(mut session) = Session::open(&path) else { continue };
        let table = session.query("events select pid, tid, provider, event").unwrap();
        let trace = EtlTrace::open(&path).unwrap();
        let mut decoder = Decoder::new();
        // A decoder that has seen every record once, as the session's has.
        trace.records().for_each(|record| drop(decoder.decode(&record)));
        let mut owners = model::owners::ThreadOwners::default();
        let text = |s: &str| Value::Str(s.into());
        let number = |n: Option<u32>| n.map_or(Value::Null, |n| Value::U64(u64::from(n)));
        let mut checked = 0;
        for (row, record) in trace.records().enumerate() {
            let event = decoder.decode(&record);
            let (pid, tid) = owners.ids(&event);
            let expected = vec![number(pid), number(tid), text(&event.provider), text(&event.name)];
            assert_eq!(table.row(row), expected, "{name}: event {row}");
            checked += 1;
        }
        assert_eq!(checked, table.row_count(), "{name}: rows");
    }
}
