//! `| chart` and `| histogram ... to F`: the buckets a chart draws are the
//! sums a group by of the same rows gives, running time is split across
//! buckets exactly, bad input gets a clear error, and the drawings are what
//! they claim (ASCII only when asked, images that decode).
mod common;

use render::{Format, Screen};
use session::{DataTable, Session, Value};
use std::collections::BTreeMap;

const BUCKET_NS: i64 = 100_000_000;

fn number(value: &Value) -> f64 {
    match value {
        Value::I64(v) | Value::Duration(v) | Value::Timestamp(v) => *v as f64,
        Value::U64(v) => *v as f64,
        Value::F64(v) => *v,
        Value::Null => 0.0,
        other => panic!("not a number: {other:?}"),
    }
}

fn column(table: &DataTable, name: &str) -> Vec<Value> {
    let column = table.column(name).unwrap_or_else(|| panic!("no column {name} in {:?}", table.column_names()));
    (0..table.row_count()).map(|r| column.value(r)).collect()
}

/// (bucket start, key) -> value of a chart's long table.
fn chart_cells(table: &DataTable, key: &str, value: &str) -> BTreeMap<(i64, String), f64> {
    let times = column(table, "time");
    let keys = column(table, key);
    let values = column(table, value);
    let mut cells = BTreeMap::new();
    for ((t, k), v) in times.iter().zip(&keys).zip(&values) {
        let previous = cells.insert((number(t) as i64, k.to_string()), number(v));
        assert!(previous.is_none(), "a bucket and key twice: {t:?} {k:?}");
    }
    cells
}

fn processors(session: &Session) -> f64 {
    let info = session.info();
    let row = info.rows.iter().find(|r| r[0].to_string() == "processors").expect("processors");
    number(&row[1])
}

/// The chart of samples by proc against `group by bin(ts, 100ms), proc` of
/// the same rows: the CPU time and the share of all cores of each bucket.
fn samples_chart_matches_group_by(session: &mut Session) -> BTreeMap<(i64, String), f64> {
    let cores = processors(session);
    let chart = session.query("samples | chart cpu by proc every 100ms top 1000").unwrap();
    let cells = chart_cells(&chart, "proc", "cpu_ns");
    let percents = chart_cells(&chart, "proc", "cpu_percent");
    let grouped =
        session.query("samples group by bin(ts, 100ms) as t, proc select sum(weight_ns) as cpu, count() as n").unwrap();
    let mut expected: BTreeMap<(i64, String), f64> = BTreeMap::new();
    for ((t, proc), cpu) in column(&grouped, "t").iter().zip(column(&grouped, "proc")).zip(column(&grouped, "cpu")) {
        expected.insert((number(t) as i64, proc.to_string()), number(&cpu));
    }
    assert!(!expected.is_empty());
    // Every group is a chart cell with the same sum; every other cell is zero.
    for (key, cpu) in &cells {
        assert_eq!(*cpu, expected.get(key).copied().unwrap_or(0.0), "bucket {key:?}");
    }
    for key in expected.keys() {
        assert!(cells.contains_key(key), "the chart lacks the group {key:?}");
    }
    // The share of all cores: the CPU time over the bucket's time on every core
    // (the last bucket may be shorter than the others: skip it).
    let last = cells.keys().map(|(t, _)| *t).max().unwrap();
    for (key, cpu) in &cells {
        if key.0 < last {
            let share = cpu * 100.0 / (BUCKET_NS as f64 * cores);
            assert!((percents[key] - share).abs() < 1e-9, "{key:?}: {} vs {share}", percents[key]);
        }
    }
    cells
}

#[test]
fn demo_chart_buckets_are_the_group_by_sums_and_the_gap_is_a_hole() {
    let mut session = Session::demo();
    let cells = samples_chart_matches_group_by(&mut session);
    let facts = demo::demo_facts();
    let (gap_start, gap_end) = facts.profile_gap_ns;
    let mut by_bucket: BTreeMap<i64, f64> = BTreeMap::new();
    for ((t, _), cpu) in &cells {
        *by_bucket.entry(*t).or_default() += cpu;
    }
    // The chart spans the whole trace, the gap included.
    assert_eq!(by_bucket.len() as i64, (facts.duration_ns + BUCKET_NS - 1) / BUCKET_NS);
    let inside = by_bucket.iter().filter(|(t, _)| **t >= gap_start && **t + BUCKET_NS <= gap_end);
    let inside: Vec<f64> = inside.map(|(_, cpu)| *cpu).collect();
    assert_eq!(inside.len() as i64, (gap_end - gap_start) / BUCKET_NS);
    assert!(inside.iter().all(|cpu| *cpu == 0.0), "the gap is a hole");
    assert!(by_bucket.iter().filter(|(t, _)| **t + BUCKET_NS <= gap_start).all(|(_, cpu)| *cpu > 0.0));

    // top 2: the rest is "other", bucket by bucket.
    let top = session.query("samples | chart cpu by proc every 100ms top 2").unwrap();
    let top = chart_cells(&top, "proc", "cpu_ns");
    let keys: std::collections::BTreeSet<&str> = top.keys().map(|(_, k)| k.as_str()).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.contains("other"));
    for (t, total) in &by_bucket {
        let sum: f64 = top.iter().filter(|((bucket, _), _)| bucket == t).map(|(_, v)| v).sum();
        assert_eq!(sum, *total, "bucket {t}");
    }
}

#[test]
fn real_trace_chart_buckets_are_the_group_by_sums() {
    let Some(corpus) = common::corpus_dir() else { return };
    let mut session = Session::open(&corpus.join("perfview").join("net.4.5.2.x64.etl")).unwrap();
    let cells = samples_chart_matches_group_by(&mut session);
    assert!(cells.values().sum::<f64>() > 0.0);
}

#[test]
fn cswitch_cpu_is_the_running_time_split_across_buckets() {
    let mut session = Session::demo();
    let chart = session.query("cswitch | chart cpu by proc every 100ms top 1000").unwrap();
    let cells = chart_cells(&chart, "proc", "cpu_ns");
    // Independently: each interval [ts, end_ts) cut at every 100 ms boundary.
    let rows = session.query("cswitch select ts, end_ts, proc").unwrap();
    let mut expected: BTreeMap<(i64, String), f64> = BTreeMap::new();
    for ((ts, end), proc) in column(&rows, "ts").iter().zip(column(&rows, "end_ts")).zip(column(&rows, "proc")) {
        let (mut at, end) = (number(ts) as i64, number(&end) as i64);
        while at < end {
            let bucket = at / BUCKET_NS * BUCKET_NS;
            let until = end.min(bucket + BUCKET_NS);
            *expected.entry((bucket, proc.to_string())).or_default() += (until - at) as f64;
            at = until;
        }
    }
    for (key, ns) in &expected {
        assert_eq!(cells.get(key).copied().unwrap_or(-1.0), *ns, "{key:?}");
    }
    assert_eq!(cells.values().sum::<f64>(), expected.values().sum::<f64>());
    // And in total, each process's cpu_ns.
    let totals = session.query("cswitch group by proc select sum(cpu_ns) as cpu").unwrap();
    for (proc, cpu) in column(&totals, "proc").iter().zip(column(&totals, "cpu")) {
        let charted: f64 = cells.iter().filter(|((_, k), _)| *k == proc.to_string()).map(|(_, v)| v).sum();
        assert_eq!(charted, number(&cpu), "{proc}");
    }
}

#[test]
fn counts_and_sums_by_any_column() {
    let mut session = Session::demo();
    let chart = session.query("syscalls | chart count by status every 1s top 1000").unwrap();
    let cells = chart_cells(&chart, "status", "count");
    let grouped = session.query("syscalls group by bin(ts, 1s) as t, status").unwrap();
    let statuses = column(&grouped, "status");
    for ((t, status), n) in column(&grouped, "t").iter().zip(&statuses).zip(column(&grouped, "count")) {
        let key = (number(t) as i64, if *status == Value::Null { "(null)".into() } else { status.to_string() });
        assert_eq!(cells[&key], number(&n), "{key:?}");
    }
    let sums = session.query("syscalls where proc = \"strace.exe\" | chart duration_ns every 1s").unwrap();
    let total: f64 = column(&sums, "sum_duration_ns").iter().map(number).sum();
    let expected = session.query("syscalls where proc = \"strace.exe\" select sum(duration_ns) as d").unwrap();
    assert_eq!(total, number(&expected.row(0)[0]));
}

#[test]
fn bad_charts_get_clear_errors() {
    let mut session = Session::demo();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("samples | chart cpu by nope", "no column 'nope' to chart by"),
        ("syscalls | chart status by proc", "'status' holds string values, not numbers"),
        ("syscalls | chart cpu by proc", "cpu needs samples (weight_ns) or cswitch rows"),
        ("samples where pid = 999999 | chart cpu by proc", "found no rows: nothing to draw"),
        ("samples select proc | chart count by proc", "need a ts column"),
        ("cswitch | histogram proc", "holds"),
    ];
    for (query, message) in cases {
        let e = session.query(query).unwrap_err();
        assert!(e.to_string().contains(message), "{query}: {e}");
        assert!(e.to_string().contains('^'), "a caret under the view: {e}");
    }
    let unwritable = dir.path().join("no such dir").join("x.svg");
    let e = session.query(&format!("samples | chart cpu by proc to {}", unwritable.display())).unwrap_err();
    assert!(e.to_string().contains(&unwritable.display().to_string()), "{e}");
    let e = session.query(&format!("samples | chart cpu to {}", dir.path().join("x.gif").display())).unwrap_err();
    assert!(e.to_string().contains("must end in .svg or .png"), "{e}");
    // The session goes on.
    assert!(session.query("samples | chart cpu every 1s").is_ok());
}

#[test]
fn terminal_charts_fit_and_are_ascii_when_asked() {
    let mut session = Session::demo();
    let chart = session.query("samples where pid != 0 | chart cpu by proc").unwrap();
    let histogram = session.query("cswitch where ready_ns is not null | histogram ready_ns").unwrap();
    for table in [&chart, &histogram] {
        for width in [60u16, 120] {
            let ascii = Screen { width: Some(width), max_lines: Some(40), ascii: true };
            let text = render::render_on_screen(table, Format::Table, &ascii);
            assert!(text.is_ascii(), "{text}");
            assert!(text.lines().all(|l| l.len() <= usize::from(width)), "{text}");
            assert!(text.lines().count() > 5, "{text}");
            let unicode = render::render_on_screen(table, Format::Table, &Screen { ascii: false, ..ascii });
            assert!(unicode.contains('█'), "{unicode}");
        }
        // The data stays data in other formats.
        let csv = render::render(table, Format::Csv);
        assert_eq!(csv.lines().count(), table.row_count() + 1);
    }
    // The shell's width decides the buckets when `every` is not given.
    session.set_chart_width(60);
    let narrow = session.query("samples | chart cpu").unwrap();
    session.set_chart_width(200);
    let wide = session.query("samples | chart cpu").unwrap();
    assert!(narrow.row_count() <= render::chart::plot_columns(60), "{}", narrow.row_count());
    assert!(wide.row_count() > narrow.row_count());
}

#[test]
fn images_are_written_and_decode() {
    let mut session = Session::demo();
    let dir = tempfile::tempdir().unwrap();
    for (query, file) in [
        ("samples | chart cpu by proc", "cpu.png"),
        ("samples | chart cpu by proc", "cpu.svg"),
        ("cswitch where ready_ns is not null | histogram ready_ns", "ready.png"),
        ("diskio | histogram duration_ns", "disk.svg"),
    ] {
        let path = dir.path().join(file);
        let wrote = session.query(&format!("{query} to {}", path.display())).unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert_eq!(number(&wrote.row(0)[1]) as u64, bytes);
        if file.ends_with(".png") {
            let image = common::browser::Pixels::read(&path);
            let colours = image.distinct_colours();
            assert!(colours > 5, "{file}: {colours} colours");
            assert_eq!((image.width, image.height), (960, 440));
        } else {
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(svg.contains("<svg") && svg.contains("</svg>"), "{file}");
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("cpu.svg")).unwrap();
    assert!(svg.contains("server.exe") && svg.contains("% of all cores"));
}

#[test]
fn no_color_draws_plain_ascii_from_the_command_line() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_etwq"))
        .args(["--demo", "-c", "samples | chart cpu by proc", "-c", "cswitch | histogram ready_ns"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("CPU (% of all cores) by proc") && text.contains("ready_ns in kiinfo's buckets"), "{text}");
    // The legend names the top process with its mean share, computed apart.
    let mut session = Session::demo();
    let chart = session.query("samples | chart cpu by proc").unwrap();
    let server: Vec<f64> = column(&chart, "cpu_percent")
        .iter()
        .zip(column(&chart, "proc"))
        .filter(|(_, p)| p.to_string() == "server.exe")
        .map(|(v, _)| number(v))
        .collect();
    let mean = server.iter().sum::<f64>() / server.len() as f64;
    assert!(text.contains(&format!("# server.exe {mean:.1}%")), "{text}");
}
