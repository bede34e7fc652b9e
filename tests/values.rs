//! Values print the way Windows people read them: NTSTATUS results and exit
//! codes in hex beside their names, in every output format, while queries
//! still compare them as numbers.
use demo::scenario::{ProcessSpec, Slice, SwitchOut, ThreadSpec};
use demo::Scenario;
use session::{Session, Value};
use std::collections::BTreeMap;
use std::process::Command;

const ETWQ: &str = env!("CARGO_BIN_EXE_etwq");

fn etwq(args: &[&str]) -> String {
    let output = Command::new(ETWQ).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// strace.exe's failures per status as the demo planted them, keyed by the hex text.
fn planted_failures() -> BTreeMap<String, usize> {
    demo::demo_facts().strace_failures.iter().map(|f| (format!("0x{:08X}", f.status), f.count)).collect()
}

const FAILURES: &str = r#"syscalls where proc = "strace.exe" and ret >= 0xC0000000 group by ret"#;

#[test]
fn ntstatus_results_print_in_hex_in_every_format() {
    let planted = planted_failures();
    let csv = etwq(&["--demo", "--format", "csv", "-c", FAILURES]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("ret,count"));
    let shown: BTreeMap<String, usize> =
        lines.map(|l| l.split_once(',').unwrap()).map(|(code, n)| (code.to_string(), n.parse().unwrap())).collect();
    assert_eq!(shown, planted);

    let table = etwq(&["--demo", "-c", FAILURES]);
    for code in planted.keys() {
        assert!(table.contains(code.as_str()), "{code} in\n{table}");
    }
    assert!(!table.contains("3,221,"), "no decimal NTSTATUS:\n{table}");

    let json = etwq(&["--demo", "--format", "json", "-c", FAILURES]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(planted.contains_key(rows[0]["ret"].as_str().unwrap()), "{json}");
    // serde_json's map sorts its keys, so the order is read from the text.
    let (ret, count) = (json.find("\"ret\"").unwrap(), json.find("\"count\"").unwrap());
    assert!(ret < count, "keys in column order: {json}");
}

#[test]
fn a_status_compares_and_aggregates_as_its_number() {
    let mut demo = Session::demo();
    let facts = demo::demo_facts();
    let worst = facts.strace_failures.iter().max_by_key(|f| f.count).unwrap();
    // By name, by hex literal and by decimal, the same rows.
    for literal in [worst.name.to_string(), format!("0x{:X}", worst.status), worst.status.to_string()] {
        let query = format!(r#"syscalls where proc = "strace.exe" and ret = {literal} select ret, status"#);
        let table = demo.query(&query).unwrap();
        assert_eq!(table.row_count(), worst.count, "{query}");
        assert_eq!(table.column("ret").unwrap().value(0), Value::Status(worst.status));
        assert_eq!(table.column("status").unwrap().value(0), Value::Str(worst.name.into()));
    }
    // min and max keep the type; sum is a plain number.
    let query = r#"syscalls where proc = "strace.exe" and ret >= 0xC0000000 group by proc select min(ret) as lo, max(ret) as hi"#;
    let table = demo.query(query).unwrap();
    let lo = facts.strace_failures.iter().map(|f| f.status).min().unwrap();
    let hi = facts.strace_failures.iter().map(|f| f.status).max().unwrap();
    assert_eq!(table.column("lo").unwrap().value(0), Value::Status(lo));
    assert_eq!(table.column("hi").unwrap().value(0), Value::Status(hi));
}

/// A crash (0xC0000005) exits with a named status; an application's own code 1
/// stays unnamed, since it is no NTSTATUS.
#[test]
fn exit_codes_print_in_hex_with_the_status_name() {
    let duration = 10_000;
    let mut s = Scenario::new(1, duration);
    s.processes = vec![
        ProcessSpec::running(0, 0, "Idle"),
        ProcessSpec { end: Some((8_000, 0xC000_0005)), ..ProcessSpec::running(40, 0, "crash.exe") },
        ProcessSpec { end: Some((9_000, 1)), ..ProcessSpec::running(44, 0, "fails.exe") },
    ];
    s.threads = vec![ThreadSpec::running(100, 40, 0x1000), ThreadSpec::running(104, 44, 0x1000)];
    s.schedule = vec![
        Slice { cpu: 0, tid: 100, start: 0, end: 5_000, priority: 8, out: SwitchOut::waiting(6) },
        Slice { cpu: 0, tid: 104, start: 5_000, end: 7_000, priority: 8, out: SwitchOut::waiting(6) },
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exits.etl");
    std::fs::write(&path, s.to_bytes().unwrap().0).unwrap();
    let csv = etwq(&[
        "--format",
        "csv",
        "-c",
        "processes where end_ts is not null select name, exit_code, exit_status order by name",
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        ["name,exit_code,exit_status", "crash.exe,0xC0000005,STATUS_ACCESS_VIOLATION", "fails.exe,0x00000001,"]
    );
}
