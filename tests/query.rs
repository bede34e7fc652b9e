//! The query engine against a small in-memory catalog: exact rows for the
//! issue's example queries and for every operator, function and aggregate;
//! error messages for malformed queries; no panic on any input.
#![allow(clippy::result_large_err)]
use columnar::{Column, DataTable, FieldMap, Value};
use proptest::prelude::*;
use query::ast::{View, ViewKind};
use query::{run_query, ErrorKind, MemoryCatalog, QueryError, SavedQuery};
use render::{Format, Table};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const S: i64 = 1_000_000_000;

/// ts (s), duration (ns), cpu, pid, tid, proc, func, ret, status
type SyscallRow = (f64, i64, i64, u64, u64, &'static str, &'static str, u64, &'static str);

fn syscalls() -> DataTable {
    let rows: &[SyscallRow] = &[
        (1.0, 100, 0, 100, 1000, "strace.exe", "NtCreateFile", 0xC000_0022, "STATUS_ACCESS_DENIED"),
        (2.0, 200, 1, 100, 1000, "strace.exe", "NtReadFile", 0, "STATUS_SUCCESS"),
        (3.0, 300, 0, 100, 1001, "strace.exe", "NtCreateFile", 0xC000_0034, "STATUS_OBJECT_NAME_NOT_FOUND"),
        (4.0, 400, 1, 200, 2000, "explorer.exe", "NtOpenKey", 0xC000_0034, "STATUS_OBJECT_NAME_NOT_FOUND"),
        (5.0, 500, 0, 200, 2000, "explorer.exe", "NtReadFile", 0, "STATUS_SUCCESS"),
        (12.5, 1000, 1, 100, 1000, "strace.exe", "NtOpenKey", 0x103, "STATUS_PENDING"),
        (13.0, 2000, 0, 300, 3000, "svchost.exe", "NtWaitForSingleObject", 0x102, "STATUS_TIMEOUT"),
        (14.0, 3000, 1, 100, 1001, "strace.exe", "NtCreateFile", 0, "STATUS_SUCCESS"),
        (14.5, 4000, 0, 300, 3000, "svchost.exe", "NtReadFile", 0, "STATUS_SUCCESS"),
        (20.0, 5000, 1, 200, 2001, "explorer.exe", "NtCreateFile", 0xC000_0022, "STATUS_ACCESS_DENIED"),
    ];
    let ts: Vec<i64> = rows.iter().map(|r| (r.0 * S as f64) as i64).collect();
    DataTable::new("syscalls")
        .with_column("ts", "entry, ns since trace start", Column::timestamps(ts.clone()))
        .and_then(|t| {
            t.with_column("end_ts", "exit", Column::timestamps(rows.iter().zip(&ts).map(|(r, t)| t + r.1).collect()))
        })
        .and_then(|t| t.with_column("duration_ns", "", Column::durations(rows.iter().map(|r| r.1).collect())))
        .and_then(|t| t.with_column("cpu", "", Column::i64(rows.iter().map(|r| r.2).collect())))
        .and_then(|t| t.with_column("pid", "", Column::u64(rows.iter().map(|r| r.3).collect())))
        .and_then(|t| t.with_column("tid", "", Column::u64(rows.iter().map(|r| r.4).collect())))
        .and_then(|t| t.with_column("proc", "", Column::strs(rows.iter().map(|r| r.5))))
        .and_then(|t| t.with_column("func", "", Column::strs(rows.iter().map(|r| r.6))))
        .and_then(|t| t.with_column("ret", "NTSTATUS", Column::u64(rows.iter().map(|r| r.7).collect())))
        .and_then(|t| t.with_column("status", "", Column::strs(rows.iter().map(|r| r.8))))
        .unwrap()
}

fn samples() -> DataTable {
    let rows: &[(f64, u64, &str)] = &[
        (11.0, 1, "tedrdrv.sys"),
        (12.0, 1, "tedrdrv.sys"),
        (12.5, 2, "tedrdrv.sys"),
        (13.0, 1, "ntoskrnl.exe"),
        (13.5, 1, "tedrdrv.sys"),
        (14.5, 2, "tedrdrv.sys"),
        (14.0, 3, "tedrdrv.sys"),
    ];
    DataTable::new("samples")
        .with_column("ts", "", Column::timestamps(rows.iter().map(|r| (r.0 * S as f64) as i64).collect()))
        .and_then(|t| t.with_column("tid", "", Column::u64(rows.iter().map(|r| r.1).collect())))
        .and_then(|t| t.with_column("module", "", Column::strs(rows.iter().map(|r| r.2))))
        .and_then(|t| t.with_column("ip", "", Column::addresses(vec![0xfffff800_00001000; rows.len()])))
        .unwrap()
}

fn cswitch() -> DataTable {
    let rows = [
        ("A", "DelayExecution"),
        ("B", "DelayExecution"),
        ("C", "Executive"),
        ("D", "DelayExecution"),
        ("A", "DelayExecution"),
        ("A", "DelayExecution"),
        ("D", "DelayExecution"),
        ("E", "DelayExecution"),
        ("F", "DelayExecution"),
        ("G", "DelayExecution"),
        ("C", "Executive"),
    ];
    DataTable::new("cswitch")
        .with_column("ts", "", Column::timestamps((0..rows.len() as i64).map(|i| i * S).collect()))
        .and_then(|t| t.with_column("proc", "", Column::strs(rows.iter().map(|r| r.0))))
        .and_then(|t| t.with_column("wait_reason", "", Column::strs(rows.iter().map(|r| r.1))))
        .unwrap()
}

fn fields(pairs: &[(&str, Value)]) -> FieldMap {
    pairs.iter().map(|(n, v)| (Arc::from(*n), v.clone())).collect::<Vec<_>>().into()
}

fn events() -> DataTable {
    let text = |s: &str| Value::Str(Arc::from(s));
    DataTable::new("events")
        .with_column("ts", "", Column::timestamps(vec![S, 2 * S, 3 * S, 4 * S]))
        .and_then(|t| t.with_column("pid", "", Column::u64(vec![4, 100, 100, 200])))
        .and_then(|t| {
            t.with_column(
                "provider",
                "",
                Column::strs(["Windows Kernel", "Windows Kernel", "Windows Kernel", "Microsoft-Windows-Foo"]),
            )
        })
        .and_then(|t| {
            t.with_column("event", "", Column::strs(["Image/Load", "Process/Start", "Image/Load", "Image/Load"]))
        })
        .and_then(|t| {
            t.with_column(
                "fields",
                "decoded payload",
                Column::fields(vec![
                    fields(&[("FileName", text(r"\SystemRoot\tedrdrv.sys")), ("ImageSize", Value::U64(4096))]),
                    fields(&[("ImageFileName", text("strace.exe"))]),
                    fields(&[("FileName", text(r"C:\Windows\ntdll.dll")), ("ImageSize", Value::U64(8192))]),
                    fields(&[("FileName", text("x"))]),
                ]),
            )
        })
        .unwrap()
}

fn catalog() -> MemoryCatalog {
    let mut c = MemoryCatalog::new();
    for t in [syscalls(), samples(), cswitch(), events()] {
        c.add_table(t);
    }
    // Named constants come from the catalog (a session fills in every NTSTATUS name).
    for (name, code) in [
        ("STATUS_SUCCESS", 0),
        ("STATUS_TIMEOUT", 0x102),
        ("STATUS_PENDING", 0x103),
        ("STATUS_ACCESS_DENIED", 0xC000_0022),
        ("STATUS_OBJECT_NAME_NOT_FOUND", 0xC000_0034),
    ] {
        c.constants.insert(name.to_string(), code);
    }
    let saved = |name: &str, params: &[&str], text: &str| SavedQuery {
        name: name.into(),
        params: params.iter().map(|p| p.to_string()).collect(),
        text: text.into(),
    };
    c.add_saved(saved("failing", &[], "syscalls where ret != 0"));
    c.add_saved(saved("by_proc", &["p"], "syscalls where proc = $p"));
    c.add_saved(saved("loop", &[], "@loop"));
    c.add_saved(saved("broken", &[], "syscalls where nope = 1"));
    c
}

fn run(text: &str) -> Result<DataTable, QueryError> {
    run_query(text, &catalog(), &AtomicBool::new(false))
}

/// The result as tab-separated rows (times and durations in raw ns).
fn tsv(text: &str) -> String {
    match run(text) {
        Ok(t) => Table::from(&t).headerless().render(Format::Tsv),
        Err(e) => panic!("{text}\n{e}"),
    }
}

fn columns(text: &str) -> Vec<String> {
    run(text).unwrap().columns.iter().map(|c| c.name.clone()).collect()
}

fn error(text: &str) -> QueryError {
    match run(text) {
        Ok(t) => panic!("{text} should fail, gave {} rows", t.row_count()),
        Err(e) => e,
    }
}

// ---- the issue's examples ----

#[test]
fn failing_strace_calls_by_function() {
    let q = r#"syscalls where ret != 0 and proc ~ "strace" group by func"#;
    assert_eq!(columns(q), ["func", "count"]);
    assert_eq!(tsv(q), "NtCreateFile\t2\nNtOpenKey\t1\n");
}

#[test]
fn totals_by_process_and_status() {
    let q = "syscalls group by proc, status select count() as n, sum(duration_ns) as total, p99(duration_ns) order by total desc limit 10";
    assert_eq!(columns(q), ["proc", "status", "n", "total", "p99(duration_ns)"]);
    assert_eq!(
        tsv(q),
        "explorer.exe\tSTATUS_ACCESS_DENIED\t1\t5000\t5000\n\
         svchost.exe\tSTATUS_SUCCESS\t1\t4000\t4000\n\
         strace.exe\tSTATUS_SUCCESS\t2\t3200\t3000\n\
         svchost.exe\tSTATUS_TIMEOUT\t1\t2000\t2000\n\
         strace.exe\tSTATUS_PENDING\t1\t1000\t1000\n\
         explorer.exe\tSTATUS_SUCCESS\t1\t500\t500\n\
         explorer.exe\tSTATUS_OBJECT_NAME_NOT_FOUND\t1\t400\t400\n\
         strace.exe\tSTATUS_OBJECT_NAME_NOT_FOUND\t1\t300\t300\n\
         strace.exe\tSTATUS_ACCESS_DENIED\t1\t100\t100\n"
    );
}

#[test]
fn samples_in_a_time_window() {
    let q = r#"samples between 12s and 14.5s where module = "tedrdrv.sys" group by tid"#;
    assert_eq!(tsv(q), "1\t2\n2\t1\n3\t1\n");
}

#[test]
fn top_delayed_processes() {
    let q = r#"cswitch where wait_reason = "DelayExecution" | group by proc | top 5 by count"#;
    assert_eq!(tsv(q), "A\t3\nD\t2\nB\t1\nE\t1\nF\t1\n");
    assert_eq!(tsv(r#"cswitch where wait_reason = "DelayExecution" | group by proc | top 1"#), "A\t3\n");
}

#[test]
fn image_loads_with_event_fields() {
    let q = r#"events where provider = "Windows Kernel" and event = "Image/Load" select ts, pid, fields.FileName"#;
    assert_eq!(columns(q), ["ts", "pid", "fields.FileName"]);
    assert_eq!(tsv(q), "1000000000\t4\t\\SystemRoot\\tedrdrv.sys\n3000000000\t100\tC:\\Windows\\ntdll.dll\n");
}

// ---- operators ----

#[test]
fn ntstatus_names() {
    assert_eq!(tsv("syscalls where ret = STATUS_ACCESS_DENIED select ts"), "1000000000\n20000000000\n");
    assert_eq!(tsv("syscalls where status = STATUS_PENDING select pid, tid"), "100\t1000\n");
    assert_eq!(tsv("syscalls where ret in (STATUS_TIMEOUT, 0x103) select tid"), "1000\n3000\n");
}

#[test]
fn comparisons_and_durations() {
    assert_eq!(tsv("syscalls where duration_ns >= 3us and duration_ns < 5000ns select duration_ns"), "3000\n4000\n");
    assert_eq!(tsv("syscalls where ts > 14s select tid"), "3000\n2001\n");
    assert_eq!(tsv("syscalls where 14s < ts select tid"), "3000\n2001\n");
    assert_eq!(tsv("syscalls where ts <= 2s select tid"), "1000\n1000\n");
    assert_eq!(tsv("syscalls where cpu == 1 and pid <> 100 select tid"), "2000\n2001\n");
    assert_eq!(tsv("syscalls where end_ts - ts > 4us select func"), "NtCreateFile\n");
    assert_eq!(tsv("syscalls where proc >= 'svchost' select tid"), "3000\n3000\n");
    assert_eq!(
        tsv("syscalls where pid = tid / 10 select tid"),
        "1000\n1000\n1001\n2000\n2000\n1000\n3000\n1001\n3000\n2001\n"
    );
}

#[test]
fn text_matching() {
    assert_eq!(
        tsv(r#"syscalls where func like "nt*file" select func | limit 3"#),
        "NtCreateFile\nNtReadFile\nNtCreateFile\n"
    );
    assert_eq!(tsv(r#"syscalls where func !~ "File$" select func"#), "NtOpenKey\nNtOpenKey\nNtWaitForSingleObject\n");
    assert_eq!(tsv(r#"syscalls where func ~ "^Nt(Create|Open)" | group by func"#), "NtCreateFile\t4\nNtOpenKey\t2\n");
    assert_eq!(
        tsv(r#"syscalls where proc in ("svchost.exe", 'explorer.exe') and not (func contains "READ") select tid"#),
        "2000\n3000\n2001\n"
    );
    assert_eq!(tsv("syscalls where pid not in (100, 200) select tid"), "3000\n3000\n");
    assert_eq!(
        tsv(r#"syscalls where func not like "Nt*File" and func not contains "key" select func"#),
        "NtWaitForSingleObject\n"
    );
    assert_eq!(tsv(r#"syscalls where func like "NtOpen?ey" select tid"#), "2000\n1000\n");
}

#[test]
fn precedence_and_parentheses() {
    assert_eq!(tsv("syscalls where ret = 0x102 or cpu > 0 and pid = 300 select tid"), "3000\n");
    assert_eq!(tsv("syscalls where (ret = 0x102 or cpu > 0) and pid = 300 select tid"), "3000\n");
    assert_eq!(tsv("syscalls where not not (pid = 300) select tid"), "3000\n3000\n");
    assert_eq!(tsv("syscalls where tid = 3000 select 1 + 2 * 3, (1 + 2) * 3, -2 - -3"), "7\t9\t1\n7\t9\t1\n");
}

#[test]
fn arithmetic() {
    let q = "syscalls where tid = 3000 select end_ts - ts as d, duration_ns * 2 as twice, pid + 1, pid / 7, pid % 7, -pid as neg, duration_ns / 1000.0 as us";
    assert_eq!(columns(q), ["d", "twice", "pid + 1", "pid / 7", "pid % 7", "neg", "us"]);
    assert_eq!(tsv(q), "2000\t4000\t301\t42\t6\t-300\t2\n4000\t8000\t301\t42\t6\t-300\t4\n");
    assert_eq!(tsv("syscalls where tid = 3000 select pid / 0, ts + 1s | limit 1"), "\t14000000000\n");
}

#[test]
fn nulls_and_fields() {
    assert_eq!(tsv("events where fields.ImageSize is null select pid"), "100\n200\n");
    assert_eq!(tsv("events where fields.ImageSize is not null select fields.ImageSize"), "4096\n8192\n");
    assert_eq!(tsv("events where fields.ImageSize > 5000 select pid"), "100\n");
    assert_eq!(tsv(r#"events where fields.FileName ~ "(?i)ntdll" select pid"#), "100\n");
    assert_eq!(tsv("events where fields.Missing is null | select count()"), "4\n");
    assert_eq!(tsv("events group by fields.ImageFileName | order by count"), "strace.exe\t1\n\t3\n");
}

#[test]
fn functions() {
    let q = r#"syscalls where tid = 2001 select lower(proc), upper(func), len(func), hex(ret), abs(-5), round(2.6), startswith(func, "NtCre"), endswith(proc, ".dll"), coalesce(null, pid), str(pid), int("0x10"), float("1.5"), trim("  a "), hex(-1)"#;
    assert_eq!(tsv(q), "explorer.exe\tNTCREATEFILE\t12\t0xc0000022\t5\t3\ttrue\tfalse\t200\t200\t16\t1.5\ta\t-0x1\n");
    assert_eq!(tsv("syscalls where len(lower(func)) = 9 select func"), "NtOpenKey\nNtOpenKey\n");
}

#[test]
fn aggregates_over_the_whole_table() {
    let q = "syscalls select count() as n, dcount(proc) as procs, sum(duration_ns) as total, avg(duration_ns) as mean, min(ts) as t0, max(func) as maxf, p50(duration_ns), p90(duration_ns), p95(duration_ns), p99(duration_ns), first(func), last(tid), count(*), avg(cpu), sum(cpu) * 2";
    assert_eq!(
        tsv(q),
        "10\t3\t16500\t1650\t1000000000\tNtWaitForSingleObject\t500\t4000\t5000\t5000\tNtCreateFile\t2001\t10\t0.5\t10\n"
    );
    assert_eq!(tsv("syscalls where pid = 999 select count(), sum(duration_ns), max(func)"), "0\t\t\n");
}

#[test]
fn grouping() {
    assert_eq!(tsv("syscalls group by proc | order by proc"), "explorer.exe\t3\nstrace.exe\t5\nsvchost.exe\t2\n");
    assert_eq!(
        tsv("syscalls group by lower(proc) as p select max(duration_ns) as longest, count() as n | order by p"),
        "explorer.exe\t5000\t3\nstrace.exe\t3000\t5\nsvchost.exe\t4000\t2\n"
    );
    assert_eq!(tsv("syscalls group by cpu select cpu * 10 as c10, count()"), "0\t0\t5\n1\t10\t5\n");
    assert_eq!(tsv("syscalls group by pid, cpu | order by pid, cpu desc | limit 2"), "100\t1\t3\n100\t0\t2\n");
    assert_eq!(
        tsv("syscalls | where ret != 0 | group by func | order by count desc, func"),
        "NtCreateFile\t3\nNtOpenKey\t2\nNtWaitForSingleObject\t1\n"
    );
    assert_eq!(
        tsv("syscalls group by proc select dcount(func), first(ts), last(ts) | order by proc | limit 1"),
        "explorer.exe\t3\t4000000000\t20000000000\n"
    );
}

#[test]
fn ordering_and_limits() {
    assert_eq!(tsv("syscalls where pid = 200 order by func asc, ts desc select tid"), "2001\n2000\n2000\n");
    assert_eq!(tsv("syscalls top 2 by duration_ns select func"), "NtCreateFile\nNtReadFile\n");
    assert_eq!(tsv("syscalls order by duration_ns desc | limit 1 | select tid"), "2001\n");
    assert_eq!(tsv("syscalls limit 0 | select tid"), "");
    assert_eq!(tsv("syscalls where pid = 300 select tid | limit 100"), "3000\n3000\n");
}

#[test]
fn saved_queries() {
    assert_eq!(
        tsv("@failing group by func | order by func"),
        "NtCreateFile\t3\nNtOpenKey\t2\nNtWaitForSingleObject\t1\n"
    );
    assert_eq!(tsv(r#"@by_proc("svchost.exe") select tid"#), "3000\n3000\n");
    let e = error("@loop");
    assert_eq!(e.kind, ErrorKind::Limit);
    let e = error("@failng");
    assert_eq!(e.suggestion.as_deref(), Some("@failing"));
    let e = error("@broken");
    assert!(e.to_string().contains("in @broken: unknown column 'nope'"), "{e}");
    assert!(error("@by_proc").to_string().contains("takes 1 argument"));
}

#[test]
fn library_file_feeds_the_catalog() {
    let mut c = catalog();
    for q in query::parse_library("# mine\nslow(min) = syscalls where duration_ns >= $min select tid\n").unwrap() {
        c.add_saved(q);
    }
    let t = run_query("@slow(4us)", &c, &AtomicBool::new(false)).unwrap();
    assert_eq!(Table::from(&t).headerless().render(Format::Tsv), "3000\n2001\n");
}

#[test]
fn cancellation() {
    let e = run_query("syscalls where ret != 0", &catalog(), &AtomicBool::new(true)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled);
}

#[test]
fn whole_table_and_readable_rendering() {
    let t = run("samples").unwrap();
    assert_eq!(t.row_count(), 7);
    assert_eq!(t.columns[0].doc, "");
    let screen = Table::from(&run("syscalls where tid = 2001 select ts, duration_ns").unwrap()).render(Format::Table);
    assert!(screen.contains("20.000000000") && screen.contains("5.000 us"), "{screen}");
    assert_eq!(tsv("samples limit 1 | select ip"), "0xfffff80000001000\n");
}

// ---- errors ----

#[test]
fn unknown_column_message() {
    assert_eq!(
        error("syscalls where retn != 0").to_string(),
        "error: unknown column 'retn' in syscalls; did you mean 'ret'?\n  syscalls where retn != 0\n                 ^^^^"
    );
}

#[test]
fn error_messages_say_what_and_where() {
    let e = error("syscals where ret != 0");
    assert_eq!(e.suggestion.as_deref(), Some("syscalls"));
    assert!(e.to_string().contains("unknown table 'syscals'"));

    let e = error("syscalls where lowr(proc) = 'x'");
    assert_eq!(e.suggestion.as_deref(), Some("lower"));

    let e = error("syscalls wher ret = 0");
    assert_eq!(e.suggestion.as_deref(), Some("where"));
    assert!(e.to_string().contains("expected a clause"), "{e}");

    let e = error(r#"syscalls where proc = "strace"#);
    assert!(e.to_string().contains("unterminated string"), "{e}");
    assert!(e.to_string().ends_with("\n                        ^"), "{e}");

    let e = error("syscalls where ret !=");
    assert!(e.to_string().contains("unexpected end of query; expected an expression"), "{e}");

    let e = error("syscalls where proc = 5");
    assert_eq!(e.kind, ErrorKind::Type);
    assert!(e.message.contains("cannot compare 'proc' (string) with '5' (i64)"), "{e}");

    let e = error("syscalls where ret = STATUS_ACESS_DENIED");
    assert_eq!(e.suggestion.as_deref(), Some("STATUS_ACCESS_DENIED"));

    let e = error("syscalls where (ret = 0");
    assert!(e.to_string().contains("expected ')'"), "{e}");

    let e = error("");
    assert!(e.to_string().contains("expected a table name"), "{e}");

    let e = error("syscalls select proc, count()");
    assert!(e.message.contains("neither grouped nor inside an aggregate"), "{e}");

    let e = error("syscalls where proc ~ '('");
    assert!(e.message.contains("invalid pattern"), "{e}");
}

#[test]
fn every_malformed_query_is_an_error() {
    let deep_parens = format!("syscalls where {}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let mut cases: Vec<String> = [
        "",
        "   ",
        "|",
        "syscalls where",
        "syscalls where ret !=",
        "syscalls where proc = \"strace",
        "syscalls where proc = 'x",
        "syscalls where proc = 'x\\",
        "syscals",
        "syscalls where retn != 0",
        "syscalls where lowr(proc) = 'x'",
        "syscalls wher ret = 0",
        "syscalls where proc = 5",
        "syscalls where ret ~ 'x'",
        "syscalls where proc ~ proc",
        "syscalls where proc ~ '('",
        "syscalls where ret = STATUS_ACESS_DENIED",
        "syscalls where 5sec > 1",
        "syscalls where ret = 99999999999999999999999",
        "syscalls where ret = 0xFFFFFFFFFFFFFFFFFF",
        "syscalls where ts > 99999999999999999s",
        "syscalls limit -1",
        "syscalls limit",
        "syscalls limit 99999999999999999999999",
        "syscalls group by",
        "syscalls group",
        "syscalls select",
        "syscalls order by",
        "syscalls order",
        "syscalls top",
        "syscalls top 5 by",
        "syscalls top 5",
        "syscalls where (ret = 0",
        "syscalls where ret = 0)",
        "syscalls where sum(ret) > 0",
        "syscalls select proc, count()",
        "syscalls where ret = null",
        "syscalls between 1 and 2",
        "syscalls between 1s",
        "syscalls between 1s and",
        "cswitch between 'a' and 'b'",
        "events where fields = 1",
        "syscalls join",
        "syscalls join samples on",
        "syscalls join samples on tid",
        "syscalls join samples on tid =",
        "syscalls left samples on tid = tid",
        "syscalls join (",
        "syscalls join ()",
        "syscalls join (samples | tree) as s on tid = s.tid",
        "syscalls during",
        "syscalls during samples on",
        "syscalls during samples on tid =",
        "syscalls during syscalls as s on 1",
        "events group by fields",
        "events order by fields",
        "syscalls where proc.Name = 1",
        "syscalls where nothing.Name = 1",
        "syscalls where 1 +",
        "syscalls where 1 + 'a' = 2",
        "syscalls where -proc = 1",
        "syscalls where not proc",
        "syscalls where proc",
        "syscalls where ret",
        "@",
        "@nothing",
        "@loop",
        "@by_proc",
        "@by_proc(1, 2)",
        "syscalls |",
        "syscalls | | where ret = 0",
        "syscalls where not",
        "syscalls where ret in (pid)",
        "syscalls where ret in (1",
        "syscalls where ret in 1",
        "syscalls where ret not 1",
        "syscalls where ret is 1",
        "syscalls where x = 'a' and",
        "syscalls where ret = 0 = 1",
        "syscalls where ret = 1 select foo(ret)",
        "syscalls select lower(ret)",
        "syscalls select lower(proc, proc)",
        "syscalls select sum(proc)",
        "syscalls select count(ret, pid)",
        "syscalls select p99()",
        "syscalls select hex('a')",
        "syscalls select x as",
        "syscalls select x as where",
        "syscalls select ret as 5",
        "syscalls where proc = ✓",
        "syscalls where ✓",
        "✓",
        "where ret = 0",
        "syscalls where ret = 0 garbage",
        "syscalls where 'abc",
        "syscalls where \"",
        "syscalls where ret = 1.2.3",
        "syscalls where ret = 0x",
        "syscalls where ret = 5 s",
        "syscalls where lower(",
        "syscalls where lower(proc",
        "syscalls where count(*",
        "syscalls group by proc select count( as n",
        "syscalls where ts between 1s and 2s",
        "syscalls where proc like 5",
        "syscalls where proc contains pid",
        "syscalls where ret > 'x' or",
        "syscalls where ret ~",
        "syscalls where )",
        "syscalls where ()",
        "syscalls where ,",
        "syscalls select ,",
        "syscalls select count(),",
        "syscalls where ret = 0 |",
        "syscalls top 1 by count",
        "samples group by tid | where tid.x = 1",
        "\0",
        "syscalls where proc = '\0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    cases.push(deep_parens);
    cases.push(format!("syscalls where {}ret = 0", "not ".repeat(10_000)));
    cases.push(format!("syscalls where ret = {}1", "-".repeat(10_000)));
    cases.push(format!("syscalls where ret = {}1", "- ".repeat(10_000)));
    cases.push(format!("syscalls where ret = 1{}", " + 1".repeat(10_000)));
    cases.push(format!("syscalls where {}", "ret = 1 or ".repeat(10_000)));
    cases.push(format!("syscalls select {}proc{}", "lower(".repeat(10_000), ")".repeat(10_000)));
    cases.push(format!("syscalls where ret in ({}", "(".repeat(10_000)));
    cases.push(format!("syscalls where ret = {}", "(".repeat(10_000)));
    // On a thread with the default 2 MB stack: the parser must refuse depth, not overflow.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let catalog = catalog();
            let mut messages = Vec::new();
            for case in &cases {
                match run_query(case, &catalog, &AtomicBool::new(false)) {
                    Ok(t) => panic!("{:.80} should fail, gave {} rows", case, t.row_count()),
                    Err(e) => {
                        let text = e.to_string();
                        assert!(text.starts_with("error: ") && text.len() > 10, "{case:.80}: {text}");
                        if e.span.is_some() {
                            assert!(text.contains('^'), "{case:.80}: {text}");
                        }
                        messages.push(text);
                    }
                }
            }
            messages
        })
        .unwrap();
    let messages = handle.join().expect("no panic and no stack overflow");
    assert!(messages.iter().any(|m| m.contains("nested too deeply")));
}

#[test]
fn deep_but_allowed_nesting_runs_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let depth = query::grammar::MAX_DEPTH - 2;
            let q = format!("syscalls where {}pid = 300{} select tid", "(".repeat(depth), ")".repeat(depth));
            let t = run_query(&q, &catalog(), &AtomicBool::new(false)).unwrap();
            assert_eq!(t.row_count(), 2);
            let q = format!("syscalls select {}proc{} | limit 1", "lower(".repeat(depth), ")".repeat(depth));
            run_query(&q, &catalog(), &AtomicBool::new(false)).unwrap();
            let q = format!("syscalls where pid = 0{} | limit 1", " + 0".repeat(depth));
            run_query(&q, &catalog(), &AtomicBool::new(false)).unwrap();
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}

/// A flat `or`/`and` chain is not nesting: a thousand terms parse and run on a small stack, while
/// real nesting (parentheses) past the limit is still refused.
#[test]
fn long_flat_or_and_chains_are_not_nesting() {
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let catalog = catalog();
            let terms: Vec<String> = (0..1000).map(|n| format!("pid = {}", 100_000 + n)).collect();
            let q = format!("syscalls where {} or pid = 300 select tid", terms.join(" or "));
            let t = run_query(&q, &catalog, &AtomicBool::new(false)).unwrap();
            assert_eq!(t.row_count(), 2, "the pid 300 rows");
            let q = format!("syscalls where pid = 300 and {} select tid", vec!["ret = ret"; 1000].join(" and "));
            let t = run_query(&q, &catalog, &AtomicBool::new(false)).unwrap();
            assert_eq!(t.row_count(), 2, "the pid 300 rows");
            let deep = format!("syscalls where {}pid = 300{}", "(".repeat(10_000), ")".repeat(10_000));
            let e = run_query(&deep, &catalog, &AtomicBool::new(false)).unwrap_err();
            assert!(e.to_string().contains("nested too deeply"), "{e}");
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}

#[test]
fn grammar_examples_parse() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/etwq.ebnf")).unwrap();
    let examples: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("(* example:"))
        .map(|l| l.trim().trim_end_matches("*)").trim())
        .collect();
    assert!(examples.len() >= 10);
    let (mut views, mut demo) = (std::collections::BTreeSet::new(), None);
    for example in examples {
        let parsed = match query::grammar::parse_query(example) {
            Ok(parsed) => parsed,
            Err(e) => panic!("grammar example does not parse: {example}\n{e}"),
        };
        if let Some(view) = parsed.view {
            run_view_example(demo.get_or_insert_with(session::Session::demo), example, &view);
            views.insert(view.kind.name());
        } else if !example.starts_with('@') {
            match run(example) {
                // Tables this catalog lacks (a join's threads, fileio): the demo has them.
                Err(e) if e.message.starts_with("unknown table") => {
                    let demo = demo.get_or_insert_with(session::Session::demo);
                    let table =
                        demo.query(example).unwrap_or_else(|e| panic!("grammar example does not run: {example}\n{e}"));
                    assert!(table.row_count() > 0, "{example}");
                }
                Err(e) => panic!("grammar example does not run: {example}\n{e}"),
                Ok(_) => {}
            }
        }
    }
    assert_eq!(
        views.into_iter().collect::<Vec<_>>(),
        ["butterfly", "chart", "diff", "export", "flame", "folded", "histogram", "tree", "waits"],
        "an example per view"
    );
}

/// A view needs stacks: the example runs on the demo trace, a flame graph into a temporary directory.
fn run_view_example(demo: &mut session::Session, example: &str, view: &View) {
    let dir = tempfile::tempdir().unwrap();
    let before = &example[..view.span.start];
    let by = |by: &Option<String>| by.as_ref().map(|key| format!(" by {key}")).unwrap_or_default();
    let (text, written) = match &view.kind {
        ViewKind::Flame { file } => (format!("{before}flame {}", dir.path().join(file).display()), Some(file)),
        ViewKind::DiffFlame { file, by: key } => {
            (format!("{before}diff flame {}{}", dir.path().join(file).display(), by(key)), Some(file))
        }
        ViewKind::Export { format, file, by: key } => {
            let path = dir.path().join(file);
            (format!("{before}export {} {}{}", format.name(), path.display(), by(key)), Some(file))
        }
        _ => (example.to_string(), None),
    };
    let result = demo.query(&text);
    let table = result.unwrap_or_else(|e| panic!("grammar example does not run: {example}\n{e}"));
    assert!(table.row_count() > 0, "{example}");
    if let Some(file) = written {
        assert!(dir.path().join(file).is_file(), "{example}");
    }
}

#[test]
fn views_end_a_query_and_keep_their_arguments() {
    let q = query::grammar::parse_query(r#"samples where proc = "a|tree" | TREE depth 3 offsets min 2%"#).unwrap();
    assert_eq!(q.clauses.len(), 1);
    let view = q.view.expect("a view");
    assert_eq!(view.kind, ViewKind::Tree { depth: Some(3), min_percent: Some(2.0), offsets: true });
    let tree = r#"samples where proc = "a|tree" | "#.len();
    assert_eq!(view.span.start, tree);

    let view = |text: &str| query::grammar::parse_query(text).unwrap().view.map(|v| v.kind);
    assert_eq!(view("samples | tree"), Some(ViewKind::Tree { depth: None, min_percent: None, offsets: false }));
    assert_eq!(view("samples | limit 3 | folded "), Some(ViewKind::Folded));
    assert_eq!(
        view("@failing | butterfly ntdll.dll!Nt Delay "),
        Some(ViewKind::Butterfly { function: "ntdll.dll!Nt Delay".into() })
    );
    assert_eq!(view("samples | flame 'my out.svg'"), Some(ViewKind::Flame { file: "my out.svg".into() }));
    assert_eq!(view("cswitch | histogram ready_ns"), Some(ViewKind::Histogram { column: "ready_ns".into(), to: None }));
    let chart = view("samples | chart cpu top 3 by proc every 100ms to 'a b.png'");
    let spec = query::ast::ChartSpec {
        measure: "cpu".into(),
        by: Some("proc".into()),
        every_ns: Some(100_000_000),
        top: Some(3),
        to: Some("a b.png".into()),
    };
    assert_eq!(chart, Some(ViewKind::Chart(spec)));
    assert_eq!(
        view("diskio | histogram duration_ns to d.svg"),
        Some(ViewKind::Histogram { column: "duration_ns".into(), to: Some("d.svg".into()) })
    );
    // Not after a pipe, a view's name is a column's.
    assert_eq!(view("samples where tree = 1 select folded"), None);
    assert_eq!(
        view("samples | DIFF tree min 0.5 by tid depth 4"),
        Some(ViewKind::DiffTree { by: Some("tid".into()), depth: Some(4), min_percent: Some(0.5) })
    );
    assert_eq!(view("samples | diff tree"), Some(ViewKind::DiffTree { by: None, depth: None, min_percent: None }));
    // An unquoted file is the rest of the query, less a trailing `by WORD`.
    assert_eq!(
        view("samples | diff flame my ab.svg by proc"),
        Some(ViewKind::DiffFlame { file: "my ab.svg".into(), by: Some("proc".into()) })
    );
    assert_eq!(
        view("samples | diff flame \"by x.svg\" by trace"),
        Some(ViewKind::DiffFlame { file: "by x.svg".into(), by: Some("trace".into()) })
    );
    assert_eq!(
        view("samples | export Speedscope out.json by process"),
        Some(ViewKind::Export {
            format: query::ast::ExportFormat::Speedscope,
            file: "out.json".into(),
            by: Some("process".into())
        })
    );
    assert_eq!(
        view("syscalls | export chrome t.json"),
        Some(ViewKind::Export { format: query::ast::ExportFormat::Chrome, file: "t.json".into(), by: None })
    );
}

#[test]
fn bad_views_get_carets() {
    let parse_error = |text: &str| query::grammar::parse_query(text).expect_err(text);
    let e = parse_error("samples | tree depth x");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(e.to_string().contains("expected a whole number"), "{e}");
    assert!(e.to_string().ends_with(&format!("\n  {}^", " ".repeat("samples | tree depth ".len()))), "{e}");
    let e = parse_error("samples | tree sideways");
    assert!(e.to_string().contains("expected 'depth', 'min', 'offsets' or the end of the query"), "{e}");
    assert!(e.to_string().ends_with("^^^^^^^^"), "{e}");
    let e = parse_error("samples | tree min 200%");
    assert!(e.to_string().contains("from 0 to 100"), "{e}");
    assert!(e.to_string().ends_with(&format!("\n  {}^^^^", " ".repeat("samples | tree min ".len()))), "{e}");
    let e = parse_error("samples | folded extra");
    assert!(e.to_string().contains("unexpected 'extra'; expected the end of the query"), "{e}");
    let e = parse_error("samples | butterfly  ");
    assert!(e.to_string().contains("expected a function name"), "{e}");
    let e = parse_error("samples | flame \"x.svg");
    assert!(e.to_string().contains("unterminated string"), "{e}");
    let e = parse_error("samples | diff bush");
    assert!(e.to_string().contains("expected 'tree' or 'flame'"), "{e}");
    let e = parse_error("samples | diff tree by 3");
    assert!(e.to_string().contains("the column that splits the rows in two"), "{e}");
    let e = parse_error("samples | export pprof x.pb");
    assert!(e.to_string().contains("an export format (speedscope, firefox, chrome)"), "{e}");
    let e = parse_error("samples | export speedscope ");
    assert!(e.to_string().contains("the JSON file to write"), "{e}");
    let e = parse_error("samples | tre");
    assert_eq!(e.suggestion.as_deref(), Some("tree"));
    assert!(
        e.to_string().contains("or a view (tree, butterfly, folded, flame, histogram, waits, chart, diff, export)"),
        "{e}"
    );
    let e = parse_error("samples | chart cpu every 0ms");
    assert!(e.to_string().contains("every takes a duration above zero"), "{e}");
    let e = parse_error("samples | chart cpu sideways");
    assert!(e.to_string().contains("expected 'by', 'every', 'top', 'to' or the end of the query"), "{e}");
    let e = parse_error("samples | chart");
    assert!(e.to_string().contains("what to chart: cpu, count or a numeric column"), "{e}");
}

#[test]
fn the_engine_alone_draws_no_views() {
    let e = error("syscalls | tree");
    assert!(e.to_string().contains("'| tree' is a view"), "{e}");
    assert!(e.to_string().ends_with(&format!("\n  {}^^^^", " ".repeat("syscalls | ".len()))), "{e}");
    let mut c = catalog();
    c.add_saved(SavedQuery { name: "drawn".into(), params: vec![], text: "syscalls | folded".into() });
    let e = run_query("@drawn", &c, &AtomicBool::new(false)).unwrap_err();
    assert!(e.to_string().contains("in @drawn: a saved query cannot end in a view"), "{e}");
}

// ---- no panic on any input ----

const VOCABULARY: &[&str] = &[
    "syscalls",
    "events",
    "cswitch",
    "samples",
    "@failing",
    "@by_proc",
    "@loop",
    "where",
    "between",
    "and",
    "or",
    "not",
    "group",
    "by",
    "select",
    "order",
    "asc",
    "desc",
    "limit",
    "top",
    "as",
    "in",
    "like",
    "contains",
    "is",
    "null",
    "true",
    "false",
    "|",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "~",
    "!~",
    "+",
    "-",
    "*",
    "/",
    "%",
    "ret",
    "proc",
    "func",
    "ts",
    "pid",
    "duration_ns",
    "fields",
    "fields.FileName",
    "fields.ImageSize",
    "count",
    "count()",
    "sum",
    "p99",
    "lower",
    "hex",
    "dcount",
    "first",
    "min",
    "avg",
    "0",
    "1",
    "0x10",
    "2.5",
    "12s",
    "3ms",
    "'a'",
    "\"strace\"",
    "\"^Nt\"",
    "STATUS_ACCESS_DENIED",
    "STATUS_PENDING",
    "'",
    "\"",
    "@",
    ".",
    "999999999999999999999",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,80}") {
        let _ = run(&text);
    }

    #[test]
    fn random_token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(VOCABULARY), 0..24)) {
        let text = tokens.join(" ");
        if let Err(e) = run(&text) {
            let _ = e.to_string();
        }
    }

    #[test]
    fn valid_prefixes_never_panic(cut in 0usize..200) {
        let q = "syscalls group by proc, status select count() as n, sum(duration_ns) as total, p99(duration_ns) order by total desc limit 10";
        let end = cut.min(q.len());
        let _ = run(&q[..end]);
    }
}

#[test]
#[ignore = "prints messages for a person to read"]
fn show_error_messages() {
    for q in [
        "",
        "syscalls wher ret = 0",
        "syscalls where ret !=",
        "syscalls where proc = 'x",
        "syscalls where proc = 5",
        "syscalls where ret = 0 = 1",
        "syscalls where lowr(proc) = 1",
        "syscalls select proc, count()",
        "syscalls where proc ~ '('",
        "syscalls where 5sec > 1",
        "@broken",
        "syscalls where ret in (1",
        "syscalls where ret = 0 garbage",
        "syscalls select x as",
        "syscalls where ret not 1",
        "syscalls where count > 1",
        "syscalls group by proc | where sum > 1",
    ] {
        println!("{q}\n{}\n", error(q));
    }
    let deep = format!("syscalls where {}1", "(".repeat(100));
    println!("{}", error(&deep));
}

#[test]
fn damaged_tables_give_answers_not_panics() {
    use columnar::{ColumnData, Dictionary, NamedColumn, StrData};
    let mut dict = Dictionary::new();
    dict.intern("only");
    let bad_codes = Column::new(ColumnData::Str(StrData { codes: vec![0, 5, 99, 0].into(), dict: Arc::new(dict) }));
    let mut table = DataTable::new("bad")
        .with_column("ts", "", Column::timestamps(vec![1, 2, 3, 4]))
        .and_then(|t| t.with_column("name", "", bad_codes))
        .unwrap();
    // Bypass the length check: a column shorter than the table.
    table.columns.push(NamedColumn { name: "short".into(), doc: String::new(), column: Column::u64(vec![7]) });
    let mut c = MemoryCatalog::new();
    c.add_table(table);
    for q in [
        "bad",
        "bad where name = 'only'",
        "bad where name ~ 'o' or short > 1",
        "bad group by name",
        "bad group by name, short select count(), sum(short), p50(short), min(name), dcount(name), first(short)",
        "bad order by name desc, short",
        "bad select lower(name), short + 1, hex(short)",
        "bad where short is null select ts",
        "bad top 2 by short",
    ] {
        if let Err(e) = run_query(q, &c, &AtomicBool::new(false)) {
            panic!("{q}: {e}");
        }
    }
}

#[test]
fn messages_name_the_reshaped_rows() {
    let e = error("syscalls group by proc | where cont > 1");
    assert_eq!(e.headline(), "unknown column 'cont' in the result of 'group by'; did you mean 'count'?");
}

#[test]
fn huge_inputs_answer_quickly() {
    let started = std::time::Instant::now();
    let long_name = "x".repeat(1_000_000);
    for q in [
        format!("syscalls where {long_name} = 1"),
        long_name.clone(),
        format!("syscalls where proc = '{long_name}'"),
        format!("syscalls where proc in ({})", vec!["'a'"; 50_000].join(", ")),
        format!("syscalls select {}", vec!["pid"; 5_000].join(", ")),
    ] {
        let _ = run(&q).map_err(|e| e.to_string());
    }
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
}

/// A catalog that raises the cancel flag when the engine first asks for a
/// table: the query is then already running, as when Ctrl-C comes mid-query.
struct CancelOnLookup<'c> {
    inner: MemoryCatalog,
    cancel: &'c AtomicBool,
}

impl query::Catalog for CancelOnLookup<'_> {
    fn table(&self, name: &str) -> Option<&DataTable> {
        self.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        self.inner.table(name)
    }
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }
}

#[test]
fn a_running_query_stops_when_cancelled() {
    let cancel = AtomicBool::new(false);
    let catalog = CancelOnLookup { inner: catalog(), cancel: &cancel };
    let e = run_query("syscalls where func ~ 'Nt' group by func", &catalog, &cancel).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled);
    assert_eq!(e.to_string(), "error: query cancelled");
}

#[test]
fn percentiles_over_a_column_with_nulls_keep_its_kind() {
    let durations = Column::durations(vec![10, 0, 30, 20, 40]).with_validity(vec![true, false, true, true, true]);
    let table = DataTable::new("calls").with_column("duration_ns", "", durations).unwrap();
    let mut catalog = MemoryCatalog::new();
    catalog.add_table(table);
    let result =
        run_query("calls select p50(duration_ns), p99(duration_ns)", &catalog, &AtomicBool::new(false)).unwrap();
    assert_eq!(result.row(0), vec![Value::Duration(20), Value::Duration(40)]);
}

/// A limit after a select is taken before it, so that the select computes
/// only the rows kept (a field decoded on demand, for ten rows rather than
/// millions); the rows are those of the select then the limit.
#[test]
fn a_limit_is_taken_before_the_select_ahead_of_it() {
    use query::plan::{plan_query, Stage};
    let text = "syscalls where ret != 0 select func, duration_ns * 2 as twice limit 3";
    let plan = plan_query(query::grammar::parse_query(text).unwrap(), text, &catalog()).unwrap();
    let kinds: Vec<&str> = plan
        .stages
        .iter()
        .map(|s| match s {
            Stage::Filter(_) => "filter",
            Stage::Project(_) => "project",
            Stage::Limit(_) => "limit",
            Stage::Sort(_) => "sort",
            Stage::Aggregate { .. } => "aggregate",
            Stage::Window { .. } => "window",
            Stage::Join(_) => "join",
        })
        .collect();
    assert_eq!(kinds, ["filter", "limit", "project"]);
    let all = tsv("syscalls where ret != 0 select func, duration_ns * 2 as twice");
    let first_three: Vec<&str> = all.lines().take(3).collect();
    assert_eq!(tsv(text).lines().collect::<Vec<_>>(), first_three);
    // A sort or a group between them keeps its place: the limit applies to its result.
    let sorted = "syscalls select func, duration_ns order by duration_ns desc limit 2";
    assert_eq!(tsv(sorted).lines().count(), 2);
    assert!(tsv(sorted).starts_with("NtCreateFile\t5000"));
}

#[test]
fn time_buckets_count_what_the_times_say() {
    let times: Vec<i64> = tsv("syscalls select ts").lines().map(|l| l.parse().unwrap()).collect();
    let mut want = std::collections::BTreeMap::new();
    for ts in &times {
        *want.entry(ts.div_euclid(10_000_000_000) * 10_000_000_000).or_insert(0) += 1;
        assert_eq!(tsv(&format!("syscalls where ts = {ts} select bin(ts, 10s), ts / 10s, ts % 10s")), {
            let bucket = ts.div_euclid(10_000_000_000);
            format!("{}\t{bucket}\t{}\n", bucket * 10_000_000_000, ts - bucket * 10_000_000_000)
        });
    }
    let got = tsv("syscalls group by bin(ts, 10s) as bucket | order by bucket");
    let want: String = want.iter().map(|(bucket, n)| format!("{bucket}\t{n}\n")).collect();
    assert_eq!(got, want);
    // Durations and integers bin too, keeping their kind; a size of 0 gives null.
    for row in tsv("syscalls select duration_ns, cpu").lines() {
        let (d, cpu) = row.split_once('\t').unwrap();
        let (d, cpu): (i64, i64) = (d.parse().unwrap(), cpu.parse().unwrap());
        let q = format!("syscalls where duration_ns = {d} and cpu = {cpu} | limit 1 select bin(duration_ns, 3us), bin(cpu + 7, 4), bin(cpu, 0)");
        assert_eq!(tsv(&q), format!("{}\t{}\t\n", d / 3000 * 3000, (cpu + 7) / 4 * 4));
    }
    let e = error("syscalls select bin(proc, 1s)");
    assert!(e.to_string().contains("bins a time, a duration or an integer"), "{e}");
    let e = error("syscalls select bin(ts, ts)");
    assert!(e.to_string().contains("needs a bin size"), "{e}");
}

#[test]
fn the_count_column_is_count_wherever_it_is_made() {
    assert_eq!(columns("syscalls group by proc select count()"), ["proc", "count"]);
    assert_eq!(columns("syscalls select count(), count(*) as n"), ["count", "n"]);
    let by_count = tsv("syscalls group by proc | order by count desc, proc");
    assert_eq!(tsv("syscalls group by proc select count() | order by count() desc, proc"), by_count);
    assert_eq!(tsv("syscalls group by proc select count() | order by count desc, proc"), by_count);
    // An aggregate written again after the aggregation names the column it made.
    assert_eq!(
        tsv("syscalls group by proc select sum(duration_ns) | top 1 by sum(duration_ns)"),
        tsv("syscalls group by proc select sum(duration_ns) as total | top 1 by total")
    );
}

#[test]
fn window_functions_follow_each_partition_in_its_order() {
    // The rows, as the test computes the windows itself: (tid, ts, duration).
    let rows: Vec<(u64, i64, i64)> = tsv("syscalls select tid, ts, duration_ns")
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            (cells[0].parse().unwrap(), cells[1].parse().unwrap(), cells[2].parse().unwrap())
        })
        .collect();
    let mut by_tid: std::collections::BTreeMap<u64, Vec<(i64, i64)>> = Default::default();
    for &(tid, ts, d) in &rows {
        by_tid.entry(tid).or_default().push((ts, d));
    }
    let mut want = Vec::new();
    for (tid, list) in &mut by_tid {
        list.sort();
        let mut total = 0;
        for (i, &(ts, d)) in list.iter().enumerate() {
            total += d;
            let gap = i.checked_sub(1).map_or(String::new(), |p| (ts - list[p].0).to_string());
            let next = list.get(i + 1).map_or(String::new(), |n| n.0.to_string());
            let before = i.checked_sub(1).map_or(String::new(), |p| list[p].1.to_string());
            want.push(format!("{tid}\t{ts}\t{gap}\t{}\t{total}\t{before}\t{next}\n", i + 1));
        }
    }
    let q = "syscalls select tid, ts, delta(ts) over (partition by tid order by ts) as gap, \
             row_number() over (partition by tid order by ts) as n, \
             running_sum(duration_ns) over (partition by tid order by ts) as total, \
             lag(duration_ns) over (partition by tid order by ts), lead(ts) over (partition by tid order by ts) \
             | order by tid, ts";
    assert_eq!(tsv(q), want.concat());
    // Over the rows a filter kept, in descending order, with no partition.
    let kept: Vec<i64> = {
        let mut ts: Vec<i64> = rows.iter().filter(|r| r.0 == 2001).map(|r| r.1).collect();
        ts.sort_unstable_by(|a, b| b.cmp(a));
        ts
    };
    let numbered: String = kept.iter().enumerate().map(|(i, ts)| format!("{ts}\t{}\n", i + 1)).collect();
    assert_eq!(
        tsv("syscalls where tid = 2001 select ts, row_number() over (order by ts desc) as n | order by n"),
        numbered
    );
}

#[test]
fn join_mistakes_get_caret_errors() {
    let caret = |text: &str, under: &str, says: &str, kind: ErrorKind| {
        let e = error(text);
        let span = e.span.unwrap_or_else(|| panic!("{text}: no caret\n{e}"));
        assert_eq!(&text[span.start..span.end], under, "{text}\n{e}");
        assert!(e.to_string().contains(says), "{text}\n{e}");
        assert_eq!(e.kind, kind, "{text}\n{e}");
    };
    use ErrorKind::*;
    caret("syscalls join sampels on tid = tid", "sampels", "did you mean 'samples'", UnknownName);
    caret("syscalls join samples on tdi = tid", "tdi", "unknown column 'tdi' in syscalls", UnknownName);
    caret("syscalls join samples on tid = tdi", "tdi", "unknown column 'tdi' in 'samples'", UnknownName);
    caret("syscalls join samples as s on tid = s.tdi", "s.tdi", "unknown column 'tdi' in 'samples'", UnknownName);
    caret("syscalls join samples", "join samples", "needs 'on'", Syntax);
    caret("syscalls left join samples as s", "left join samples as s", "needs 'on'", Syntax);
    caret("syscalls join samples on proc = tid", "proc = tid", "cannot join on 'proc' (string) = 'tid' (u64)", Type);
    caret("syscalls join events on pid = fields", "pid = fields", "(fields)", Type);
    caret("syscalls during samples on tid", "samples", "neither 'end_ts' nor 'duration_ns'", Type);
    caret("syscalls during (samples select tid) as s on tid", "(samples select tid)", "has none", Type);
    caret(
        "syscalls select tid during syscalls as s on tid",
        "during syscalls as s on tid",
        "these rows have none",
        Type,
    );
    caret("syscalls join samples on tid = tid select samples.modul", "samples.modul", "samples.module", UnknownName);
    caret("syscalls join syscalls on tid = tid", "syscalls", "both sides are called 'syscalls'", Type);
    caret("syscalls join (samples where tid = 1) on tid = tid", "(samples where tid = 1)", "needs a name", Syntax);
    caret("syscalls join samples as proc on tid = tid", "proc", "already names", Type);
    caret("syscalls join (samples where tid = 1 on tid = tid", "on", "expected", Syntax);
    caret("syscalls join samples on tid == tid", "=", "expected", Syntax);
    let deep = format!("syscalls{}", " join (syscalls".repeat(10)) + &") as s on tid = s.tid".repeat(10);
    assert_eq!(error(&deep).kind, Limit);
    // Keys typed on their own side: a string against an address compares nothing.
    caret("samples join syscalls as c on ip = c.proc", "ip = c.proc", "cannot join", Type);
}

#[test]
fn window_functions_in_the_wrong_place_get_caret_errors() {
    let e = error("syscalls group by tid select lag(ts) over (order by ts)");
    assert!(e.to_string().contains("belongs in a select without aggregates"), "{e}");
    let e = error("syscalls where delta(ts) over (order by ts) > 0");
    assert!(e.to_string().contains("belongs in a select"), "{e}");
    let e = error("syscalls select lag() over (order by ts)");
    assert!(e.to_string().contains("takes 1 argument"), "{e}");
    let e = error("syscalls select delta(proc) over (order by ts)");
    assert!(e.to_string().contains("needs a number"), "{e}");
    let e = error("syscalls select row_number() over (partition tid)");
    assert_eq!(e.kind, ErrorKind::Syntax);
    let e = error("syscalls select row_number() over (order by ts");
    assert_eq!(e.kind, ErrorKind::Syntax);
}
