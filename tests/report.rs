//! `etwq report`: the demo's report shows the incident without a query (the
//! expectations come from the demo's planted facts, the driver atlas and
//! queries of our own), its HTML is one self-contained file that a headless
//! Chromium draws, and two traces add a comparison.
mod common;

use session::{Session, Value};
use std::path::Path;
use std::process::Command;

fn etwq(args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_etwq")).args(args).env("ETWQ_ASCII", "1").output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "etwq {args:?} failed: {stderr}");
    (stdout, stderr)
}

fn count(session: &mut Session, query: &str) -> u64 {
    match session.query(query).unwrap().row(0)[0] {
        Value::U64(n) => n,
        ref other => panic!("{query}: {other:?}"),
    }
}

/// What the demo report must say, each computed apart from the report.
fn expected_lines() -> Vec<String> {
    let facts = demo::demo_facts();
    let driver = symbols::drivers::known_driver(facts.driver_name).expect("the atlas knows the demo's driver");
    assert_eq!(driver.category.name(), "antivirus");
    let mut session = Session::demo();
    let failures = count(&mut session, "syscalls where proc = \"strace.exe\" and severity = \"error\" select count()");
    let seconds = facts.duration_ns as f64 / 1e9;
    let (gap_start, gap_end) = facts.profile_gap_ns;
    vec![
        format!("{} (antivirus/EDR, {})", facts.driver_name, driver.company),
        "SleepEx is in".to_string(),
        format!("server.exe calls NtDelayExecution {:.0} times a second", facts.spin_calls as f64 / seconds),
        "a Sleep(0)/SleepEx spin".to_string(),
        format!("strace.exe has {failures} failed system calls"),
        format!("no profile samples from {:.2} s to {:.2} s", gap_start as f64 / 1e9, gap_end as f64 / 1e9),
    ]
}

#[test]
fn the_demo_report_shows_the_incident_as_text() {
    let (text, _) = etwq(&["report", "--demo"]);
    assert!(text.is_ascii(), "ETWQ_ASCII: plain ASCII");
    for line in expected_lines() {
        assert!(text.contains(&line), "the report lacks {line:?}:\n{text}");
    }
    for title in ["CPU over time by process", "Modules without symbols in hot stacks", "System calls", "Hottest stacks"]
    {
        assert!(text.contains(title), "{title}");
    }
    // The chart is drawn, not listed.
    assert!(text.contains("CPU (% of all cores) by proc"));
    // The demo has no disk I/O: the histogram says why it is missing.
    assert!(text.contains("no disk I/O events (DiskIo)"), "{text}");
}

/// Distinct colours of a PNG screenshot, and whether `colour` is among them.
fn screenshot_colours(path: &Path, colour: [u8; 3]) -> (usize, bool) {
    let image = common::browser::Pixels::read(path);
    (image.distinct_colours(), image.rgb.contains(&colour))
}

#[test]
fn the_demo_html_report_is_self_contained_and_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("report.html");
    etwq(&["report", "--demo", "--to", html_path.to_str().unwrap()]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    for id in ["facts", "findings", "cpu", "top", "modules", "functions", "syscalls", "latency", "flame"] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "no section {id}");
    }
    for line in expected_lines() {
        assert!(html.contains(&line), "the HTML lacks {line:?}");
    }
    // Inline charts, the flame graph as an image in the file, and nothing to fetch.
    assert!(html.contains("<div class=\"chart\"><svg"), "an inline SVG chart");
    assert!(html.contains("src=\"data:image/svg+xml;base64,"), "the flame graph inside the file");
    for fetch in ["src=\"http", "href=\"http", "<link", "<script", "@import", "url(http"] {
        assert!(!html.contains(fetch), "the report fetches something: {fetch}");
    }

    let browser = common::browser::chromium();
    if !common::tool_available(browser.is_some(), "chromium", "rendering the HTML report") {
        return;
    }
    let png_path = dir.path().join("report.png");
    let page = format!("file://{}", html_path.display());
    common::browser::screenshot(
        browser.expect("checked above"),
        &page,
        &png_path,
        (1100, 1600),
        &dir.path().join("profile"),
    );
    // Not blank: text, warnings and the chart's first series colour (the
    // first of render's palette, Tableau blue) are drawn.
    let (colours, chart_drawn) = screenshot_colours(&png_path, [78, 121, 167]);
    assert!(colours > 20, "the rendered report looks blank ({colours} colours)");
    assert!(chart_drawn, "the CPU chart's bars are not in the screenshot");
}

#[test]
fn two_traces_add_a_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.etl");
    std::fs::write(&a, session::demo_trace_bytes()).unwrap();
    let b = dir.path().join("b.etl");
    std::fs::write(&b, session::demo_trace_bytes()).unwrap();
    let (text, _) = etwq(&["report", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(text.contains("Comparison"), "{text}");
    assert!(text.contains("change is b.etl minus a.etl"), "{text}");
    // The same trace twice: every change is zero.
    let comparison = &text[text.find("Comparison").unwrap()..];
    let server = comparison.lines().find(|l| l.contains("server.exe")).expect("server.exe row");
    let cells: Vec<&str> = server.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cells.len(), 4, "{server}");
    assert_eq!(cells[1], cells[2]);
    assert_eq!(cells[3].trim_start_matches('-'), "0.000", "{server}");
}

#[test]
fn a_report_of_a_trace_without_the_events_says_why() {
    let Some(corpus) = common::corpus_dir() else { return };
    let path = corpus.join("perfview").join("gcevents.etl");
    let (text, _) = etwq(&["report", path.to_str().unwrap()]);
    // Each empty section says which events the trace lacks.
    assert!(text.contains("Nothing to show: the trace has"), "{text}");
    assert!(
        text.contains("no ready times (CSwitch with ReadyThread events) and no disk I/O events (DiskIo)"),
        "{text}"
    );
}

#[test]
fn two_traces_compare_in_a_differential_flame_graph() {
    // A without the antivirus driver, B with it: the driver's frames are new in B.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, scenario: demo::Scenario| {
        let path = dir.path().join(name);
        std::fs::write(&path, scenario.to_bytes().expect("a consistent scenario").0).unwrap();
        path.to_str().unwrap().to_string()
    };
    let without = write("without.etl", demo::demo_incident_without_driver());
    let with = write("with.etl", demo::demo_incident());
    let html_path = dir.path().join("ab.html");
    etwq(&["report", &without, &with, "--to", html_path.to_str().unwrap()]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    let comparison = &html[html.find("id=\"compare\"").expect("a comparison section")..];
    assert!(comparison.contains("Differential flame graph"), "no differential flame graph");
    let data = comparison.split("data:image/svg+xml;base64,").nth(1).expect("an inline SVG");
    let data = &data[..data.find('"').unwrap()];
    use base64::Engine;
    let svg = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(data).unwrap()).unwrap();
    let driver = svg.lines().find(|l| l.contains("<title>tedrdrv.sys")).expect("a tedrdrv.sys frame");
    assert!(driver.contains("; +"), "the driver's frame is not marked as new in B: {driver}");
}
