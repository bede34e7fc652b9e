//! `| waits` on a trace whose wait chain is known: thread A waits on a
//! queue and is readied by B, which had waited for a user request and was
//! readied by an interrupt on its idle CPU.
use demo::scenario::{wait_reason, ProcessSpec, ReadySpec, Slice, SwitchOut, ThreadSpec};
use demo::Scenario;
use session::{Session, Value};

const A: u32 = 100;
const B: u32 = 200;

fn chain_trace(dir: &std::path::Path) -> std::path::PathBuf {
    let duration = 10_000; // 1 ms of 10 MHz ticks
    let mut s = Scenario::new(2, duration);
    s.processes = vec![ProcessSpec::running(0, 0, "Idle"), ProcessSpec::running(40, 0, "app.exe")];
    s.threads = [A, B].map(|tid| ThreadSpec::running(tid, 40, 0x1000)).to_vec();
    let slice =
        |cpu, tid, start, end, reason| Slice { cpu, tid, start, end, priority: 8, out: SwitchOut::waiting(reason) };
    s.schedule = vec![
        slice(0, B, 0, 2_000, wait_reason::USER_REQUEST),
        slice(0, B, 3_000, 6_000, wait_reason::USER_REQUEST),
        slice(1, A, 0, 1_000, wait_reason::WR_QUEUE),
        slice(1, A, 4_100, duration, wait_reason::WR_QUEUE),
    ];
    let ready = |cpu, ts, tid| ReadySpec { cpu, ts, tid, adjust_reason: 1, adjust_increment: 1 };
    // The idle CPU 0 readies B (a DPC); B, running, readies A.
    s.ready_threads = vec![ready(0, 2_900, B), ready(0, 4_000, A)];
    let (bytes, _) = s.to_bytes().unwrap();
    let path = dir.join("chain.etl");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_wait_chain_follows_the_readying_threads_to_the_interrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = Session::open(&chain_trace(dir.path())).unwrap();
    let table = session.query(&format!("cswitch where tid = {A} and readying_tid is not null | waits")).unwrap();
    let rows: Vec<Vec<String>> = (0..table.row_count()).map(|r| table.row(r).iter().map(text).collect()).collect();
    let want = [
        // A waited on its queue from 100 us to B's ReadyThread at 400 us, then 10 us ready.
        ["app.exe(40) 100 waited: WrQueue", "U64(1)", "F64(0.3)", "F64(0.01)"],
        // B had waited for a user request from 200 us to the ReadyThread at 290 us, then 10 us ready.
        ["  app.exe(40) 200 waited: UserRequest", "U64(1)", "F64(0.09)", "F64(0.01)"],
        ["    readied by Idle (0): an interrupt, DPC or timer", "U64(1)", "F64(0.0)", "F64(0.0)"],
    ];
    let got: Vec<Vec<&str>> = rows.iter().map(|r| r[..4].iter().map(String::as_str).collect()).collect();
    assert_eq!(got, want.map(|r| r.to_vec()));
    assert_eq!(table.column_names(), ["chain", "count", "waited_ms", "ready_ms", "percent"]);
}

#[test]
fn waits_wants_switch_ins() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = Session::open(&chain_trace(dir.path())).unwrap();
    let e = session.query("syscalls | waits").unwrap_err();
    assert!(e.to_string().contains("waits draws the wait chains of switch-ins"), "{e}");
    let e = session.query("cswitch select tid | waits").unwrap_err();
    assert!(e.to_string().contains("ts and cpu"), "{e}");
}
