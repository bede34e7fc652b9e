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

/// A resolver with an empty symbol path: the plain tables name no function.
fn no_symbols() -> tables::SharedResolver {
    Arc::new(Mutex::new(symbols::SymbolResolver::new(symbols::SymbolPath::parse(""))))
}

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
        let model = Arc::new(TraceModel::build(&trace, &mut decoder.lock().unwrap()));
        for table in PLAIN_TABLES {
            let lazy = session.query(table).unwrap_or_else(|e| panic!("{name}: {table}: {e}"));
            let direct = tables::build(table, &model, &trace, &decoder, None, &no_symbols()).unwrap();
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

/// What the part-built tables are compared by: their rows without the stack
/// numbers (which depend on the stacks a model keeps), and their stacks as folded frames.
const PART_QUERIES: [&str; 5] = [
    "syscalls select ts, end_ts, cpu, pid, tid, proc, address, module, func, ret, status",
    "syscalls | folded",
    "samples select ts, cpu, pid, tid, proc, ip, module, func, weight_ns",
    "samples | folded",
    "threads",
];

/// A query builds only the parts of the model it reads: the system calls
/// without the samples and their stacks, the samples without the system
/// calls; a later query that reads another part builds the model again with
/// both. Every answer equals the whole model's, stacks included, on every
/// corpus trace, the demo incident and a random machine with stacked samples.
#[test]
fn tables_from_a_model_of_only_their_parts_equal_the_whole_models() {
    let dir = std::env::temp_dir().join(format!("etwq-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let random = dir.join("random.etl");
    let options = demo::RandomOptions { cpus: 3, threads: 16, ..Default::default() };
    std::fs::write(&random, demo::random_scenario(9, &options).to_bytes().unwrap().0).unwrap();
    let mut traces: Vec<(String, Box<dyn Fn() -> Session>)> = Vec::new();
    traces.push(("demo".into(), Box::new(Session::demo)));
    let mut files = vec![random];
    files.extend(common::corpus_dir().map(|c| common::corpus_traces(&c)).unwrap_or_default());
    for path in files {
        let open = move || Session::open(&path).expect("a trace that opens");
        traces.push((format!("{}", traces.len()), Box::new(open)));
    }
    for (name, open) in &traces {
        let mut whole = open();
        whole.query("stacks select count()").unwrap();
        let expected: Vec<_> = PART_QUERIES.iter().map(|q| rows(&whole.query(q).unwrap())).collect();
        // One query a session, so that each model holds only what its query reads...
        for (query, want) in PART_QUERIES.iter().zip(&expected) {
            let got = rows(&open().query(query).unwrap());
            assert!(got == *want, "trace {name}: {query} differs from the whole model's");
        }
        // ...and in one session, where each new part builds the model again.
        let mut session = open();
        for (query, want) in PART_QUERIES.iter().zip(&expected).chain(PART_QUERIES.iter().zip(&expected)) {
            let got = rows(&session.query(query).unwrap());
            assert!(got == *want, "trace {name}: {query}, after other parts, differs from the whole model's");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model table offers every column but makes only those a query reads:
/// grouping the context switches by process makes `proc` and nothing else,
/// and a later query that reads more makes those (a column it only passes
/// on, when its result is read), with the same values a
/// table made whole at once gives.
#[test]
fn a_query_makes_only_the_columns_it_reads() {
    let trace = Arc::new(EtlTrace::from_bytes(demo::demo_trace_bytes()).unwrap());
    let decoder = Arc::new(Mutex::new(Decoder::new()));
    let model = Arc::new(TraceModel::build(&trace, &mut decoder.lock().unwrap()));
    let mut catalog = query::MemoryCatalog::new();
    catalog.add_table(tables::build("cswitch", &model, &trace, &decoder, None, &no_symbols()).unwrap());
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let made = |catalog: &query::MemoryCatalog| -> Vec<String> {
        let table = &catalog.tables["cswitch"];
        table.columns.iter().filter(|c| c.column.is_made()).map(|c| c.name.clone()).collect()
    };
    assert!(made(&catalog).is_empty(), "made before any query: {:?}", made(&catalog));
    let by_proc = query::run_query("cswitch group by proc", &catalog, &cancel).unwrap();
    assert!(by_proc.row_count() > 1);
    assert_eq!(made(&catalog), ["proc"]);
    let longest = query::run_query("cswitch where cpu_ns > 1ms select tid, cpu_ns", &catalog, &cancel).unwrap();
    // The filter read cpu_ns; the result holds tid as a selection of the
    // table's column, made when the result is read.
    assert_eq!(made(&catalog), ["cpu_ns", "proc"]);
    assert!(longest.row_count() > 0);
    drop(rows(&longest));
    assert_eq!(made(&catalog), ["cpu_ns", "tid", "proc"]);
    // A table whose columns are all made at once gives the same rows.
    let whole = tables::build("cswitch", &model, &trace, &decoder, None, &no_symbols()).unwrap();
    whole.columns.iter().for_each(|c| drop(c.column.dense()));
    let mut eager = query::MemoryCatalog::new();
    eager.add_table(whole);
    for (text, got) in
        [("cswitch group by proc", &by_proc), ("cswitch where cpu_ns > 1ms select tid, cpu_ns", &longest)]
    {
        assert_eq!(rows(got), rows(&query::run_query(text, &eager, &cancel).unwrap()), "{text}");
    }
}
