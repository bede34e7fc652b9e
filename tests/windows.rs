//! Window functions on a real .NET trace: GC pauses paired from the runtime's
//! SuspendEE/RestartEE events with `lead() over (partition by pid order by ts)`,
//! checked against pairs the test makes itself and against PerfView's times.
mod common;
use session::{Session, Value};
use std::collections::BTreeMap;

const SUSPEND: &str = "GarbageCollection/GCSuspendEEBegin";
const RESTART: &str = "GarbageCollection/GCRestartEEEnd";

/// One pause per row: pid, the GC's Count field, start and duration (ns).
fn pauses_by_query(session: &mut Session) -> Vec<(u64, u64, i64, i64)> {
    let query = format!(
        r#"events where event in ("{SUSPEND}", "{RESTART}")
           select ts, pid, event, fields.Count as gc,
                  lead(ts) over (partition by pid order by ts) as end_ts,
                  lead(event) over (partition by pid order by ts) as next
           | where event = "{SUSPEND}" and next = "{RESTART}"
           select pid, gc, ts, end_ts - ts as pause order by ts"#
    );
    let table = session.query(&query).unwrap_or_else(|e| panic!("{e}"));
    let column = |name: &str| table.column(name).unwrap_or_else(|| panic!("no {name}"));
    (0..table.row_count())
        .map(|r| {
            let number = |name: &str| match column(name).value(r) {
                Value::U64(v) => v as i64,
                Value::I64(v) | Value::Timestamp(v) | Value::Duration(v) => v,
                other => panic!("{name}: {other:?}"),
            };
            (number("pid") as u64, number("gc") as u64, number("ts"), number("pause"))
        })
        .collect()
}

/// The same pairs made by hand: each suspend with the next event of its process, when that is a restart.
fn pauses_by_hand(session: &mut Session) -> Vec<(u64, u64, i64, i64)> {
    let query = format!(r#"events where event in ("{SUSPEND}", "{RESTART}") select pid, ts, event, fields.Count"#);
    let table = session.query(&query).unwrap();
    let mut by_pid: BTreeMap<u64, Vec<(i64, String, Value)>> = BTreeMap::new();
    for r in 0..table.row_count() {
        let Value::U64(pid) = table.columns[0].column.value(r) else { panic!() };
        let Value::Timestamp(ts) = table.columns[1].column.value(r) else { panic!() };
        let event = table.columns[2].column.value(r).to_string();
        by_pid.entry(pid).or_default().push((ts, event, table.columns[3].column.value(r)));
    }
    let mut pauses = Vec::new();
    for (pid, mut events) in by_pid {
        events.sort_by_key(|e| e.0);
        for pair in events.windows(2) {
            if pair[0].1 == SUSPEND && pair[1].1 == RESTART {
                let gc = pair[0].2.as_i128().unwrap() as u64;
                pauses.push((pid, gc, pair[0].0, pair[1].0 - pair[0].0));
            }
        }
    }
    pauses.sort_by_key(|p| p.2);
    pauses
}

#[test]
fn gc_pauses_pair_suspend_with_restart_on_a_real_trace() {
    let Some(corpus) = common::corpus_dir() else { return };
    let dir = corpus.join("perfview");
    let mut session = Session::open(&dir.join("net.4.5.2.x64.etl")).unwrap();
    let by_query = pauses_by_query(&mut session);
    assert_eq!(by_query, pauses_by_hand(&mut session));

    // Every suspend is paired: as many pauses as the runtime logged suspends and restarts.
    let counts = session.query(&format!(r#"events where event in ("{SUSPEND}", "{RESTART}") group by event"#)).unwrap();
    for r in 0..counts.row_count() {
        assert_eq!(counts.columns[1].column.value(r), Value::U64(by_query.len() as u64), "{counts:?}");
    }
    assert!(by_query.len() > 200, "{}", by_query.len());
    // A suspend for a GC carries the GC's number, consecutive per process (a process that
    // started before the trace starts past 0), and
    // there are as many as the runtime logged GCs (GarbageCollection/Stop); any other
    // suspend (for shutdown) has Count 0xFFFFFFFF.
    let mut per_process: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &(pid, gc, _, pause) in &by_query {
        assert!(pause > 0, "a pause lasts");
        if gc != u64::from(u32::MAX) {
            per_process.entry(pid).or_default().push(gc);
        }
    }
    let gcs = session.query(r#"events where event = "GarbageCollection/Stop" group by pid"#).unwrap();
    let gcs: BTreeMap<u64, u64> = (0..gcs.row_count())
        .map(|r| match (gcs.columns[0].column.value(r), gcs.columns[1].column.value(r)) {
            (Value::U64(pid), Value::U64(n)) => (pid, n),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(per_process.iter().map(|(pid, n)| (*pid, n.len() as u64)).collect::<BTreeMap<_, _>>(), gcs);
    for (pid, numbers) in per_process {
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "GC numbers of {pid}: {numbers:?}");
    }

    // PerfView's dump lists the first pauses (SuspendEEStart .. RestartEEStop) in ms to 3 decimals.
    let baseline = std::fs::read_to_string(dir.join("net.4.5.2.x64.baseline.txt")).unwrap();
    let starts = baseline_times(&baseline, "/GC/SuspendEEStart ");
    let stops = baseline_times(&baseline, "/GC/RestartEEStop ");
    assert!(starts.len() >= 3, "{starts:?}");
    for start in starts {
        let stop = stops.iter().copied().find(|&t| t > start).expect("a restart after the suspend");
        let ours = by_query.iter().find(|p| (p.2 - start).abs() <= 1_000).expect("PerfView's pause is ours");
        assert!(
            (ours.3 - (stop - start)).abs() <= 2_000,
            "pause at {start}: ours {} PerfView {}",
            ours.3,
            stop - start
        );
    }
}

/// The times (ns) of the events named `event` in PerfView's dump.
fn baseline_times(baseline: &str, event: &str) -> Vec<i64> {
    baseline
        .lines()
        .filter_map(|l| l.strip_prefix("EVENT "))
        .filter(|l| l.contains(event))
        .map(|l| (l.split_once(": ").unwrap().0.replace(',', "").parse::<f64>().unwrap() * 1e6).round() as i64)
        .collect()
}
