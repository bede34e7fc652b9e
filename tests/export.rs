//! `etwq export` and `-c --format parquet|arrow`: the files read back with the
//! arrow crates hold every table's columns, types and values as the session
//! builds them in memory; re-runs skip what is there; a target that cannot be
//! written leaves nothing; two copies of a trace are two traces.
mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampNanosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use session::{Column, DataTable, Progress, Session, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn etwq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_etwq"))
        .args(args)
        .env("ETWQ_SYMBOL_DOWNLOADS", "off")
        .env_remove("_NT_SYMBOL_PATH")
        .output()
        .expect("etwq runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// The demo trace as a file.
fn demo_file(dir: &Path) -> PathBuf {
    let path = dir.join("demo.etl");
    std::fs::write(&path, session::demo_trace_bytes()).unwrap();
    path
}

/// What a file holds: its batches and its key-value metadata.
struct ReadBack {
    batches: Vec<RecordBatch>,
    metadata: HashMap<String, String>,
}

fn read_file(path: &Path) -> ReadBack {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "arrow") {
        let reader = arrow_ipc::reader::FileReader::try_new(file, None).unwrap();
        let metadata = reader.schema().metadata().clone();
        return ReadBack { batches: reader.map(Result::unwrap).collect(), metadata };
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| kv.iter().map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default())).collect())
        .unwrap_or_default();
    ReadBack { batches: builder.build().unwrap().map(Result::unwrap).collect(), metadata }
}

/// The Arrow type the contract gives each etwq type.
fn contract_type(value_type: &str) -> DataType {
    match value_type {
        "i64" | "timestamp" | "duration" => DataType::Int64,
        "u64" | "address" => DataType::UInt64,
        "f64" => DataType::Float64,
        "bool" => DataType::Boolean,
        "string" => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        "status" => DataType::UInt32,
        "fields" => DataType::Utf8,
        other => panic!("an etwq type the contract does not name: {other}"),
    }
}

/// One cell as the test compares it.
#[derive(Debug, PartialEq)]
enum Cell {
    Null,
    Int(i128),
    Float(u64),
    Bool(bool),
    Text(String),
    Json(serde_json::Value),
}

/// A cell of an Arrow array, by its type.
fn arrow_cell(array: &dyn Array, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(row).into()),
        DataType::UInt64 => Cell::Int(array.as_primitive::<UInt64Type>().value(row).into()),
        DataType::UInt32 => Cell::Int(array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(row).to_bits()),
        DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(row).to_string()),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Cell::Int(array.as_primitive::<TimestampNanosecondType>().value(row).into())
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_dictionary::<Int32Type>();
            let key = dict.keys().value(row) as usize;
            Cell::Text(dict.values().as_string::<i32>().value(key).to_string())
        }
        other => panic!("an Arrow type the contract does not use: {other}"),
    }
}

/// An etwq value as the contract writes it.
fn etwq_cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::I64(v) | Value::Timestamp(v) | Value::Duration(v) => Cell::Int((*v).into()),
        Value::U64(v) | Value::Address(v) => Cell::Int((*v).into()),
        Value::Status(v) => Cell::Int((*v).into()),
        Value::F64(v) => Cell::Float(v.to_bits()),
        Value::Bool(v) => Cell::Bool(*v),
        Value::Str(s) => Cell::Text(s.to_string()),
        Value::Fields(map) => {
            let object = map.iter().map(|(name, v)| (name.to_string(), json_of(v))).collect();
            Cell::Json(serde_json::Value::Object(object))
        }
    }
}

/// A field's value in the `fields` JSON: numbers as numbers, text as text, the rest as etwq shows it.
fn json_of(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::I64(v) | Value::Timestamp(v) | Value::Duration(v) => J::from(*v),
        Value::U64(v) | Value::Address(v) => J::from(*v),
        Value::Status(v) => J::from(*v),
        Value::F64(v) => serde_json::Number::from_f64(*v).map_or(J::Null, J::Number),
        Value::Bool(v) => J::Bool(*v),
        Value::Str(s) => J::String(s.to_string()),
        other => J::String(other.to_string()),
    }
}

/// `2024-05-14T09:30:00.0000000Z` (as `etwq info` prints the start) as ns since 1970.
fn unix_ns(utc: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| utc[range].parse::<i64>().unwrap();
    let (y, m, d) = (number(0..4), number(5..7), number(8..10));
    let (hh, mm, ss) = (number(11..13), number(14..16), number(17..19));
    let fraction = &utc[20..utc.len() - 1];
    let fraction_ns = format!("{fraction:0<9}")[..9].parse::<i64>().unwrap();
    // Days from 1970-01-01, counted day by year and month.
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days: i64 = (1970..y).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let month_days = [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    days += month_days[..(m - 1) as usize].iter().sum::<i64>() + d - 1;
    ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000_000) + fraction_ns
}

/// The trace's start as `etwq info` reports it, in ns since 1970.
fn start_of(trace: &Path) -> i64 {
    let info = etwq(&["info", trace.to_str().unwrap(), "--format", "tsv"]);
    let text = String::from_utf8(info.stdout).unwrap();
    let start = text.lines().find_map(|l| l.strip_prefix("start_time\t")).expect("a start_time row");
    unix_ns(start.trim())
}

/// The one partition directory each table has under `dir`.
fn partition_of(dir: &Path, table: &str) -> PathBuf {
    let mut found: Vec<PathBuf> =
        std::fs::read_dir(dir.join(table)).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    assert_eq!(found.len(), 1, "{table}: {found:?}");
    found.pop().unwrap()
}

/// Every file's columns, types and values equal the table the session builds.
fn assert_round_trip(trace: &Path, dir: &Path, extension: &str) {
    let start = start_of(trace);
    let mut session = Session::open(trace).unwrap();
    let mut checked = 0;
    for schema in session::table_schemas() {
        let partition = partition_of(dir, schema.name);
        let trace_id = partition.file_name().unwrap().to_str().unwrap().strip_prefix("trace=").unwrap().to_string();
        let file = partition.join(format!("part-0.{extension}"));
        let read = read_file(&file);
        let table = session.take_table(schema.name, &Progress::new()).unwrap().unwrap();
        assert_table_equals(&table, &read, start, &file);
        assert_eq!(read.metadata.get("etwq.version").map(String::as_str), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(read.metadata.get("etwq.trace_id"), Some(&trace_id));
        assert!(read.metadata.contains_key("etwq.trace.start_time"), "{}: {:?}", file.display(), read.metadata);
        checked += table.row_count();
    }
    assert!(checked > 1000, "only {checked} rows checked");
}

/// An expected Arrow column: its name, its type, and its value at a row.
type ExpectedColumn<'t> = (String, DataType, Box<dyn Fn(usize) -> Cell + 't>);

fn assert_table_equals(table: &DataTable, read: &ReadBack, start: i64, file: &Path) {
    let name = &table.name;
    let rows: usize = read.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, table.row_count(), "{name}: rows");
    // Expected columns: etwq's in order, then `_utc` after each timestamp and `_name` after each status.
    let mut expected: Vec<ExpectedColumn> = Vec::new();
    for c in &table.columns {
        let column: &Column = &c.column;
        let kind = column.column_type().name();
        expected.push((c.name.clone(), contract_type(kind), Box::new(move |row| etwq_cell(&column.value(row)))));
    }
    for c in &table.columns {
        let column: &Column = &c.column;
        match column.column_type().name() {
            "timestamp" => expected.push((
                format!("{}_utc", c.name),
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                Box::new(move |row| match column.value(row) {
                    Value::Timestamp(ns) => Cell::Int((start + ns).into()),
                    _ => Cell::Null,
                }),
            )),
            "status" => expected.push((
                format!("{}_name", c.name),
                DataType::Utf8,
                Box::new(move |row| match column.value(row) {
                    Value::Status(code) => session::status_name(code).map_or(Cell::Null, |n| Cell::Text(n.into())),
                    _ => Cell::Null,
                }),
            )),
            _ => {}
        }
    }
    let Some(first) = read.batches.first() else {
        assert_eq!(table.row_count(), 0);
        return;
    };
    let schema = first.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let expected_names: Vec<&str> = expected.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, expected_names, "{name}: columns of {}", file.display());
    for (field, (column, data_type, _)) in schema.fields().iter().zip(&expected) {
        assert_eq!(field.data_type(), data_type, "{name}.{column}: type");
    }
    let mut row = 0;
    for batch in &read.batches {
        for in_batch in 0..batch.num_rows() {
            for (index, (column, _, value)) in expected.iter().enumerate() {
                let mut got = arrow_cell(batch.column(index).as_ref(), in_batch);
                if let (Cell::Text(text), Some(c)) = (&got, table.column(column)) {
                    if c.column_type().name() == "fields" {
                        got = Cell::Json(serde_json::from_str(text).expect("fields hold JSON"));
                    }
                }
                assert_eq!(got, value(row), "{name}.{column} row {row} of {}", file.display());
            }
            row += 1;
        }
    }
}

fn export_to(trace: &Path, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["export", trace.to_str().unwrap(), "--to", dir.to_str().unwrap()];
    args.extend(extra);
    etwq(&args)
}

#[test]
fn the_demo_round_trips_through_parquet_and_arrow() {
    let temp = tempfile::tempdir().unwrap();
    let trace = demo_file(temp.path());
    for (format, extension) in [("parquet", "parquet"), ("arrow", "arrow")] {
        let dir = temp.path().join(format);
        let out = export_to(&trace, &dir, &["--format", format]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_round_trip(&trace, &dir, extension);
        let traces = read_file(&partition_of(&dir, "traces").join(format!("part-0.{extension}")));
        let batch = &traces.batches[0];
        assert_eq!(batch.num_rows(), 1);
        let column = |name: &str| arrow_cell(batch.column_by_name(name).unwrap().as_ref(), 0);
        assert_eq!(column("file"), Cell::Text("demo.etl".into()));
        assert_eq!(column("path"), Cell::Text(trace.display().to_string()));
        assert_eq!(column("start_time"), Cell::Int(start_of(&trace).into()));
        assert_eq!(column("etwq_version"), Cell::Text(env!("CARGO_PKG_VERSION").into()));
    }
}

#[test]
fn a_corpus_trace_round_trips_through_parquet_and_arrow() {
    let Some(corpus) = common::corpus_dir() else { return };
    let trace = corpus.join("perfview/net.4.5.2.x64.etl");
    let temp = tempfile::tempdir().unwrap();
    for (format, extension) in [("parquet", "parquet"), ("arrow", "arrow")] {
        let dir = temp.path().join(format);
        let out = export_to(&trace, &dir, &["--format", format]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_round_trip(&trace, &dir, extension);
    }
}

/// Every file under `dir` with its inode: a rewritten file is a new one (written, then renamed).
fn files_under(dir: &Path) -> Vec<(PathBuf, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let inode = std::fs::metadata(&path).unwrap().ino();
                found.push((path, inode));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_second_run_skips_what_is_exported_and_force_writes_it_again() {
    let temp = tempfile::tempdir().unwrap();
    let trace = demo_file(temp.path());
    let dir = temp.path().join("out");
    let tables = ["--tables", "processes,syscalls"];
    assert!(export_to(&trace, &dir, &tables).status.success());
    let first = files_under(&dir);
    // Two tables and the traces table.
    assert_eq!(first.len(), 3, "{first:?}");

    let again = export_to(&trace, &dir, &tables);
    assert!(again.status.success());
    assert!(stderr(&again).contains("exported already"), "{}", stderr(&again));
    assert_eq!(files_under(&dir), first, "a skipped trace leaves its files alone");

    // A table not exported yet is reason enough to write the trace.
    let more = export_to(&trace, &dir, &["--tables", "processes,syscalls,threads"]);
    assert!(stderr(&more).contains("3 tables"), "{}", stderr(&more));
    assert_eq!(files_under(&dir).len(), 4);

    let forced = export_to(&trace, &dir, &["--tables", "processes,syscalls", "--force"]);
    assert!(forced.status.success() && !stderr(&forced).contains("exported already"), "{}", stderr(&forced));
    let rewritten = files_under(&dir);
    for (path, inode) in &first {
        let now = rewritten.iter().find(|(p, _)| p == path).map(|(_, i)| *i);
        assert!(now.is_some_and(|i| i != *inode), "{} was not written again", path.display());
    }
}

#[test]
fn an_unwritable_target_is_a_clear_error_and_leaves_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let trace = demo_file(temp.path());
    // A regular file where the directory should be (root may write anywhere else).
    let blocker = temp.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let out = export_to(&trace, &blocker.join("out"), &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot write into"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&blocker).unwrap(), b"");

    // A table's directory that is a file: that trace fails; no temporary or half file is left,
    // and no `traces` row says it is complete.
    let dir = temp.path().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("syscalls"), b"").unwrap();
    let out = export_to(&trace, &dir, &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not exported") && stderr(&out).contains("syscalls"), "{}", stderr(&out));
    let left: Vec<PathBuf> = files_under(&dir).into_iter().map(|(p, _)| p).collect();
    assert!(left.iter().all(|p| !p.to_string_lossy().contains(".tmp-")), "{left:?}");
    assert!(!dir.join("traces").exists(), "{left:?}");
    for path in left.iter().filter(|p| p.extension().is_some_and(|e| e == "parquet")) {
        read_file(path); // every file left is whole
    }
}

#[test]
fn two_copies_of_one_trace_in_two_places_are_two_traces() {
    let temp = tempfile::tempdir().unwrap();
    let trace = demo_file(temp.path());
    for place in ["a", "b"] {
        std::fs::create_dir_all(temp.path().join("in").join(place)).unwrap();
        std::fs::copy(&trace, temp.path().join("in").join(place).join("same.etl")).unwrap();
    }
    let dir = temp.path().join("out");
    let input = temp.path().join("in");
    let out = etwq(&["export", input.to_str().unwrap(), "--to", dir.to_str().unwrap(), "--tables", "processes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<String> = std::fs::read_dir(dir.join("traces"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(|id| id.starts_with("trace=same-")), "{ids:?}");
    // Stable: a second run finds both.
    let again = etwq(&["export", input.to_str().unwrap(), "--to", dir.to_str().unwrap(), "--tables", "processes"]);
    assert_eq!(stderr(&again).matches("exported already").count(), 2, "{}", stderr(&again));
}

#[test]
fn a_query_result_is_written_as_parquet_or_arrow() {
    let temp = tempfile::tempdir().unwrap();
    let trace = demo_file(temp.path());
    let query = "syscalls where ret != 0 select ts, proc, func, ret, duration_ns limit 500";
    let mut session = Session::open(&trace).unwrap();
    let result = session.query(query).unwrap();
    for extension in ["parquet", "arrow"] {
        let file = temp.path().join(format!("result.{extension}"));
        let out =
            etwq(&[trace.to_str().unwrap(), "-c", query, "--format", extension, "--output", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_table_equals(&result, &read_file(&file), start_of(&trace), &file);
    }
    let missing = etwq(&[trace.to_str().unwrap(), "-c", query, "--format", "parquet"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("--output FILE"), "{}", stderr(&missing));
    let two = etwq(&[trace.to_str().unwrap(), "-c", query, "-c", query, "--format", "arrow", "--output", "x.arrow"]);
    assert!(!two.status.success() && stderr(&two).contains("exactly one -c"), "{}", stderr(&two));
    let bad = etwq(&[trace.to_str().unwrap(), "-c", "syscalls where nope = 1", "--format", "parquet", "--output", "y"]);
    assert!(!bad.status.success() && stderr(&bad).contains('^'), "{}", stderr(&bad));
    assert!(!Path::new("y").exists() && !Path::new("x.arrow").exists());
}

#[test]
fn a_damaged_trace_exports_what_it_can_and_says_what_it_skipped() {
    let temp = tempfile::tempdir().unwrap();
    let whole = session::demo_trace_bytes();
    // Cut off mid-buffer: the reader keeps the whole buffers before the cut.
    let cut = temp.path().join("cut.etl");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3 + 1000]).unwrap();
    let dir = temp.path().join("out");
    let out = export_to(&cut, &dir, &["--tables", "processes,syscalls,events"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("skipped damaged data"), "{}", stderr(&out));
    let rows: usize =
        read_file(&partition_of(&dir, "events").join("part-0.parquet")).batches.iter().map(|b| b.num_rows()).sum();
    let events = Session::open(&cut).unwrap().query("events select count()").unwrap().row(0)[0].clone();
    assert_eq!(Value::U64(rows as u64), events);
    assert!(rows > 0);
}
