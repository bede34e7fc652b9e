//! Joins against the answers of plain nested loops: each side fetched with a
//! simple query, every pair of rows tried, the matching ones kept in the
//! left's order (and a left row's matches in the right's). On the demo trace
//! and on a real recording.
mod common;

use columnar::{DataTable, Value};
use session::Session;

type Row = Vec<Value>;

fn rows(table: &DataTable) -> Vec<Row> {
    (0..table.row_count()).map(|i| table.row(i)).collect()
}

fn query(session: &mut Session, text: &str) -> Vec<Row> {
    rows(&session.query(text).unwrap_or_else(|e| panic!("{text}\n{e}")))
}

/// Two key values equal as the join compares them: nulls equal nothing, and
/// integers of any signedness by their value.
fn same_key(a: &Value, b: &Value) -> bool {
    match (a.as_i128(), b.as_i128()) {
        _ if a.is_null() || b.is_null() => false,
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn int(value: &Value) -> Option<i64> {
    value.as_i128().and_then(|v| i64::try_from(v).ok())
}

/// Whether a left row's time `[start, end)` lies inside `[s, e)`: a row with
/// no end after its start is the point `start`, inside when s <= start < e.
fn inside(start: i64, end: Option<i64>, s: i64, e: i64) -> bool {
    match end {
        Some(end) if end > start => s <= start && end <= e,
        _ => s <= start && start < e,
    }
}

/// `left` rows with `right` rows where `matches`, each pair as `pick` makes it;
/// with `keep_unmatched`, a left row with no match once with `unmatched`.
fn nested_loops(
    left: &[Row],
    right: &[Row],
    matches: impl Fn(&Row, &Row) -> bool,
    pick: impl Fn(&Row, Option<&Row>) -> Row,
    keep_unmatched: bool,
) -> Vec<Row> {
    let mut out = Vec::new();
    for l in left {
        let before = out.len();
        for r in right {
            if matches(l, r) {
                out.push(pick(l, Some(r)));
            }
        }
        if keep_unmatched && out.len() == before {
            out.push(pick(l, None));
        }
    }
    out
}

/// The first difference, for a readable failure.
fn assert_same(got: &[Row], want: &[Row], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: row {i} differs");
    }
    assert_eq!(got.len(), want.len(), "{what}: row count");
}

#[test]
fn file_events_inside_system_calls_on_the_demo() {
    let mut demo = Session::demo();
    let files = query(&mut demo, "fileio select ts, end_ts, tid, op, file");
    let calls = query(&mut demo, "syscalls select ts, end_ts, tid, func");
    let want = nested_loops(
        &files,
        &calls,
        |f, c| {
            let (Some(start), Some(s), Some(e)) = (int(&f[0]), int(&c[0]), int(&c[1])) else { return false };
            same_key(&f[2], &c[2]) && inside(start, int(&f[1]), s, e)
        },
        |f, c| vec![f[0].clone(), f[3].clone(), f[4].clone(), c.map_or(Value::Null, |c| c[3].clone())],
        false,
    );
    assert!(want.len() > 100, "the demo's file events happen in system calls: {}", want.len());
    let got = query(&mut demo, "fileio during syscalls on tid select ts, op, file, syscalls.func");
    assert_same(&got, &want, "fileio during syscalls on tid");
}

#[test]
fn during_without_keys_compares_only_time_and_brings_every_container() {
    let mut demo = Session::demo();
    // Long calls overlap across threads, so a sample sits inside several: one row each.
    let samples = query(&mut demo, "samples select ts, tid");
    let waits = query(
        &mut demo,
        "syscalls where func = 'NtWaitForSingleObject' and duration_ns > 50ms select ts, end_ts, tid, duration_ns",
    );
    let want = nested_loops(
        &samples,
        &waits,
        |p, w| {
            let (Some(t), Some(s), Some(e)) = (int(&p[0]), int(&w[0]), int(&w[1])) else { return false };
            inside(t, None, s, e)
        },
        |p, w| vec![p[0].clone(), p[1].clone(), w.map_or(Value::Null, |w| w[2].clone())],
        false,
    );
    let got = query(
        &mut demo,
        "samples during (syscalls where func = 'NtWaitForSingleObject' and duration_ns > 50ms) as w select ts, tid, w.tid",
    );
    assert!(want.len() > samples.len() / 100, "{} of {}", want.len(), samples.len());
    assert!(want.windows(2).any(|w| w[0][0] == w[1][0]), "some sample inside two waits");
    assert_same(&got, &want, "samples during long waits");
}

#[test]
fn join_and_left_join_on_the_demo() {
    let mut demo = Session::demo();
    let calls = query(&mut demo, "syscalls where duration_ns > 1ms select ts, tid, func");
    let threads = query(&mut demo, "threads select tid, name, proc");
    let want = nested_loops(
        &calls,
        &threads,
        |c, t| same_key(&c[1], &t[0]),
        |c, t| {
            let t = t.expect("inner");
            vec![c[0].clone(), c[1].clone(), c[2].clone(), t[1].clone(), t[2].clone()]
        },
        false,
    );
    assert!(!want.is_empty());
    let got = query(
        &mut demo,
        "syscalls where duration_ns > 1ms join threads on tid = tid select ts, tid, func, threads.name, threads.proc",
    );
    assert_same(&got, &want, "syscalls join threads");
    // The alias on the left of '=' is the other side, and the join may come after a pipe.
    let swapped = query(
        &mut demo,
        "syscalls where duration_ns > 1ms | join threads as t on t.tid = syscalls.tid select ts, tid, func, t.name, t.proc",
    );
    assert_same(&swapped, &want, "join written the other way round");

    // Every thread once at least; those that never made a long call with nulls.
    let long = query(&mut demo, "syscalls where duration_ns > 5ms select tid, func");
    let want = nested_loops(
        &threads,
        &long,
        |t, c| same_key(&t[0], &c[0]),
        |t, c| vec![t[0].clone(), t[1].clone(), c.map_or(Value::Null, |c| c[1].clone())],
        true,
    );
    assert!(want.iter().any(|r| r[2].is_null()) && want.iter().any(|r| !r[2].is_null()));
    let got = query(
        &mut demo,
        "threads left join (syscalls where duration_ns > 5ms select tid, func) as c on tid = c.tid select tid, name, c.func",
    );
    assert_same(&got, &want, "threads left join long calls");
}

#[test]
fn join_against_a_group_by_and_a_window_result() {
    let mut demo = Session::demo();
    // Each call with its thread's call count, from a group-by sub-query.
    let counts = query(&mut demo, "syscalls group by tid");
    let calls = query(&mut demo, "syscalls where func = 'NtReadFile' select ts, tid");
    let want = nested_loops(
        &calls,
        &counts,
        |c, n| same_key(&c[1], &n[0]),
        |c, n| vec![c[0].clone(), n.expect("inner")[1].clone()],
        false,
    );
    let got = query(
        &mut demo,
        "syscalls where func = 'NtReadFile' join (syscalls group by tid) as n on tid = n.tid select ts, n.count",
    );
    assert_same(&got, &want, "join a group by");

    // Gaps between a thread's calls, made with lead(ts): samples in those gaps.
    let gaps_text = "syscalls where tid = 4254 select ts, end_ts as gap_start, lead(ts) over (partition by tid order by ts) as next, tid";
    let gaps = query(&mut demo, gaps_text);
    let samples = query(&mut demo, "samples where tid = 4254 select ts, tid");
    let want = nested_loops(
        &samples,
        &gaps,
        |p, g| {
            let (Some(t), Some(s), Some(e)) = (int(&p[0]), int(&g[1]), int(&g[2])) else { return false };
            same_key(&p[1], &g[3]) && inside(t, None, s, e)
        },
        |p, _| vec![p[0].clone()],
        false,
    );
    let got = query(
        &mut demo,
        "samples where tid = 4254 during (syscalls select end_ts as ts, lead(ts) over (partition by tid order by ts) as end_ts, tid) as gap on tid select ts",
    );
    assert_same(&got, &want, "samples in the gaps between calls");
}

#[test]
fn joins_on_a_real_recording() {
    let Some(corpus) = common::corpus_dir() else { return };
    let mut session = Session::open(&corpus.join("perfview/net.4.5.2.x64.etl")).unwrap();
    let samples = query(&mut session, "samples select ts, tid, pid");
    let threads = query(&mut session, "threads select tid, pid, start_ts, end_ts");
    let want = nested_loops(
        &samples,
        &threads,
        |s, t| same_key(&s[1], &t[0]),
        |s, t| {
            let t = t.expect("inner");
            vec![s[0].clone(), s[1].clone(), t[1].clone()]
        },
        false,
    );
    assert!(want.len() >= samples.len() / 2, "{} of {} samples have their thread", want.len(), samples.len());
    let got = query(&mut session, "samples join threads on tid = tid select ts, tid, threads.pid");
    assert_same(&got, &want, "samples join threads");

    // Events with their process, or nulls: nulls never match.
    let events = query(&mut session, "events select ts, pid");
    let processes = query(&mut session, "processes select pid, name");
    let want = nested_loops(
        &events,
        &processes,
        |e, p| same_key(&e[1], &p[0]),
        |e, p| vec![e[0].clone(), p.map_or(Value::Null, |p| p[1].clone())],
        true,
    );
    let got = query(&mut session, "events left join processes as p on pid = pid select ts, p.name");
    assert_same(&got, &want, "events left join processes");

    // File operations during their thread's life, where the trace saw it start and end.
    let files = query(&mut session, "fileio select ts, end_ts, tid");
    let lives =
        query(&mut session, "threads where start_ts is not null and end_ts is not null select tid, start_ts, end_ts");
    let want = nested_loops(
        &files,
        &lives,
        |f, t| {
            let (Some(start), Some(s), Some(e)) = (int(&f[0]), int(&t[1]), int(&t[2])) else { return false };
            same_key(&f[2], &t[0]) && inside(start, int(&f[1]), s, e)
        },
        |f, _| vec![f[0].clone(), f[2].clone()],
        false,
    );
    let got = query(
        &mut session,
        "fileio during (threads where start_ts is not null and end_ts is not null select tid, start_ts as ts, end_ts) as life on tid select ts, tid",
    );
    assert_same(&got, &want, "fileio during thread lives");
}

#[test]
fn join_errors_point_at_the_mistake() {
    let mut demo = Session::demo();
    let cases: &[(&str, &str, &str)] = &[
        ("syscalls join thredas on tid = tid", "thredas", "unknown table 'thredas'"),
        ("syscalls join threads on nope = tid", "nope", "unknown column 'nope'"),
        ("syscalls join threads on tid = nope", "nope", "unknown column 'nope'"),
        ("syscalls join threads", "join threads", "needs 'on'"),
        ("syscalls left join threads", "left join threads", "needs 'on'"),
        ("syscalls join threads on tid = name", "tid = name", "cannot join on 'tid' (u64) = 'name' (string)"),
        ("threads during syscalls on tid", "during syscalls on tid", "these rows have none"),
        ("syscalls during threads on tid", "threads", "'threads' has none"),
        ("syscalls during samples on tid", "samples", "neither 'end_ts' nor 'duration_ns'"),
        ("syscalls join threads on tid = tid select threads.nme", "threads.nme", "threads.name"),
        ("syscalls join syscalls on tid = tid", "syscalls", "both sides are called 'syscalls'"),
        ("syscalls join (threads) on tid = tid", "(threads)", "a sub-query needs a name"),
        ("fileio during syscalls on func", "func", "unknown column 'func' in fileio"),
        ("syscalls join threads as t on tid = t.tid join threads as t on tid = tid", "t", "'t' already names"),
    ];
    for (text, under, message) in cases {
        let e = demo.query(text).expect_err(text);
        let said = format!("{}; {}", e.message, e.suggestion.as_deref().unwrap_or(""));
        assert!(said.contains(message), "{text}: {said}");
        let span = e.span.unwrap_or_else(|| panic!("{text}: no caret"));
        let marked = &text[span.start..span.end];
        // The caret marks the word itself (the one before, if it occurs twice).
        assert!(marked == *under, "{text}: the caret marks '{marked}', not '{under}'");
    }
}
