//! Stack views on the demo incident and a real trace: the call tree, the
//! butterfly, folded stacks and a flame graph a browser renders; `stacks` and
//! `frames` queries; bad view arguments are messages, never panics.
mod common;

use columnar::{DataTable, Value};
use session::Session;
use std::sync::OnceLock;

/// One demo session for all tests (building it is the slow part).
fn demo() -> std::sync::MutexGuard<'static, Session> {
    static DEMO: OnceLock<std::sync::Mutex<Session>> = OnceLock::new();
    DEMO.get_or_init(|| std::sync::Mutex::new(Session::demo())).lock().unwrap_or_else(|p| p.into_inner())
}

fn text(t: &DataTable, column: &str, row: usize) -> String {
    match t.column(column).map(|c| c.value(row)) {
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn number(t: &DataTable, column: &str, row: usize) -> f64 {
    match t.column(column).map(|c| c.value(row)) {
        Some(Value::U64(v)) => v as f64,
        Some(Value::I64(v)) => v as f64,
        Some(Value::F64(v)) => v,
        other => panic!("{column}: {other:?}"),
    }
}

/// Rows of a tree as (depth, frame label, row).
fn tree_rows(t: &DataTable) -> Vec<(usize, String, usize)> {
    (0..t.row_count())
        .map(|row| {
            let frame = text(t, "frame", row);
            let label = frame.trim_start();
            ((frame.len() - label.len()) / 2, label.to_string(), row)
        })
        .collect()
}

/// From `start`, follows the heaviest child (the first row one level deeper) down.
fn heaviest_path(rows: &[(usize, String, usize)], start: usize) -> Vec<String> {
    let mut path = vec![rows[start].1.clone()];
    let mut at = start;
    while let Some(next) = rows.get(at + 1).filter(|r| r.0 == rows[at].0 + 1) {
        path.push(next.1.clone());
        at += 1;
    }
    path
}

#[test]
fn the_demo_tree_leads_from_sleepex_to_the_driver() {
    let mut s = demo();
    let t = s.query("samples where proc = \"server.exe\" | tree").unwrap();
    let rows = tree_rows(&t);
    let sleep = rows.iter().position(|r| r.1 == "KernelBase.dll!SleepEx").expect("SleepEx in the tree");
    let path = heaviest_path(&rows, sleep);
    assert_eq!(path[1], "ntdll.dll!NtDelayExecution", "{path:?}");
    let driver = path.iter().position(|f| f == "tedrdrv.sys!<PDB not found>").unwrap_or_else(|| panic!("{path:?}"));
    let driver_row = rows[sleep + driver].2;
    assert_eq!(text(&t, "mark", driver_row), atlas_mark("tedrdrv.sys"));
    // Function names come from the demo's .sym files; inclusive >= exclusive everywhere,
    // and a child never outweighs its parent.
    assert!(rows.iter().any(|r| r.1 == "server.exe!SpinLock::Acquire"));
    for (i, r) in rows.iter().enumerate() {
        assert!(number(&t, "inclusive", r.2) >= number(&t, "exclusive", r.2));
        if let Some(parent) = rows[..i].iter().rev().find(|p| p.0 + 1 == r.0) {
            assert!(number(&t, "inclusive_ms", parent.2) >= number(&t, "inclusive_ms", r.2));
        }
    }
    // The heaviest way out of SleepEx goes through the driver.
    assert!(driver <= 8, "{path:?}");
}

#[test]
fn syscall_trees_weigh_by_duration_and_depth_limits() {
    let mut s = demo();
    let t = s.query("syscalls where proc = \"server.exe\" | tree depth 3 min 0").unwrap();
    let rows = tree_rows(&t);
    assert!(rows.iter().all(|r| r.0 < 3), "depth 3 shows levels 0..2");
    assert!(t.column("inclusive_ms").is_some());
    let total: f64 = rows.iter().filter(|r| r.0 == 0).map(|r| number(&t, "inclusive_ms", r.2)).sum();
    let expected = s.query("syscalls where proc = \"server.exe\" select sum(duration_ns) as d").unwrap();
    let ns = match expected.column("d").unwrap().value(0) {
        Value::Duration(v) | Value::I64(v) => v as f64,
        Value::U64(v) => v as f64,
        other => panic!("{other:?}"),
    };
    assert!((total - ns / 1e6).abs() < 1.0 + ns / 1e9, "tree {total} ms, table {} ms", ns / 1e6);
}

#[test]
fn butterfly_shows_callers_and_callees() {
    let mut s = demo();
    let t = s.query("samples where proc = \"server.exe\" | butterfly NtDelayExecution").unwrap();
    let roles: Vec<(String, String)> =
        (0..t.row_count()).map(|r| (text(&t, "role", r), text(&t, "frame", r).trim().to_string())).collect();
    assert!(roles.contains(&("caller".into(), "KernelBase.dll!SleepEx".into())), "{roles:?}");
    assert!(roles.iter().any(|(role, _)| role == "function"));
    assert!(roles.iter().any(|(role, _)| role == "callee"), "{roles:?}");
    let err = s.query("samples | butterfly NoSuchFunction").unwrap_err();
    assert!(err.to_string().contains("NoSuchFunction"), "{err}");
}

/// The count of the butterfly's first row with this role.
fn butterfly_count(t: &DataTable, role: &str) -> u64 {
    let row = (0..t.row_count()).find(|&r| text(t, "role", r) == role).unwrap_or_else(|| panic!("no {role} row"));
    number(t, "count", row) as u64
}

/// A module is a butterfly target as users type it (issue 18: `butterfly
/// tedrdrv.sys` found no frame); its counts are the demo's planted ones.
#[test]
fn butterfly_of_a_module_counts_every_sample_in_it() {
    let facts = demo::demo_facts();
    let mut s = demo();
    for name in ["tedrdrv.sys", "TEDRDRV.SYS", "tedrdrv"] {
        let t = s.query(&format!("samples | butterfly {name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(butterfly_count(&t, "function"), facts.driver_samples as u64, "{name}");
        assert_eq!(butterfly_count(&t, "self"), facts.driver_exclusive_samples as u64, "{name}");
        let function = (0..t.row_count()).find(|&r| text(&t, "role", r) == "function").unwrap();
        assert_eq!(text(&t, "frame", function), facts.driver_name, "{name}");
        // Callers and callees are frames outside the module.
        for r in 0..t.row_count() {
            let role = text(&t, "role", r);
            if role == "caller" || role == "callee" {
                let frame = text(&t, "frame", r);
                assert!(!frame.trim().to_lowercase().starts_with("tedrdrv"), "{name}: {role} {frame}");
            }
        }
    }
    // module!function, with or without the extension, is the function alone.
    let plain = s.query("samples | butterfly NtDelayExecution").unwrap();
    for name in ["ntdll.dll!NtDelayExecution", "NTDLL!ntdelayexecution"] {
        let t = s.query(&format!("samples | butterfly {name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(butterfly_count(&t, "function"), butterfly_count(&plain, "function"), "{name}");
    }
    let err = s.query("samples | butterfly kernel32.dll!NtDelayExecution").unwrap_err();
    assert!(err.to_string().contains("no stack"), "{err}");
    let err = s.query("samples | butterfly nosuch.sys").unwrap_err();
    assert!(err.to_string().contains("nosuch.sys"), "{err}");
}

#[test]
fn stacks_filter_by_module_and_function_and_frames_list_them() {
    let mut s = demo();
    let in_driver = s.query("stacks where module = \"tedrdrv.sys\"").unwrap();
    assert!(in_driver.row_count() > 0);
    for row in 0..in_driver.row_count() {
        assert!(text(&in_driver, "module", row).contains("|tedrdrv.sys|"));
    }
    let not_in_driver = s.query("stacks where module != \"tedrdrv.sys\" select count() as n").unwrap();
    let all = s.query("stacks select count() as n").unwrap();
    assert_eq!(number(&not_in_driver, "n", 0) + in_driver.row_count() as f64, number(&all, "n", 0));
    let sleepers = s.query("stacks where func ~ \"SleepEx\"").unwrap();
    assert!(sleepers.row_count() > 0);
    assert!(text(&sleepers, "frames", 0).contains("KernelBase.dll!SleepEx+0x"));
    let frames = s.query("frames where module = \"tedrdrv.sys\" select frame, mark | limit 1").unwrap();
    assert_eq!(text(&frames, "frame", 0), "tedrdrv.sys!<PDB not found>");
    assert_eq!(text(&frames, "mark", 0), atlas_mark("tedrdrv.sys"));
    let driver = s.query("modules where file = \"tedrdrv.sys\" select vendor, category").unwrap();
    assert_eq!(text(&driver, "category", 0), "antivirus");
    let named = s.query("samples where func = \"SpinLock::Acquire\" select count() as n").unwrap();
    assert!(number(&named, "n", 0) > 0.0);
    let stack_tree = s.query("stacks where module = \"tedrdrv.sys\" | tree depth 2").unwrap();
    assert!(stack_tree.row_count() > 0);
}

#[test]
fn folded_stacks_are_outer_first_with_counts() {
    let mut s = demo();
    let t = s.query("samples where proc = \"server.exe\" | folded").unwrap();
    let lines: Vec<String> = (0..t.row_count()).map(|r| text(&t, "folded", r)).collect();
    let total: u64 = lines.iter().map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap()).sum();
    let n = s.query("samples where proc = \"server.exe\" select count() as n").unwrap();
    assert_eq!(total as f64, number(&n, "n", 0));
    assert!(lines.iter().any(|l| l.starts_with("ntdll.dll!RtlUserThreadStart;kernel32.dll!BaseThreadInitThunk;")));
    assert!(lines.iter().any(|l| l.contains("KernelBase.dll!SleepEx;ntdll.dll!NtDelayExecution;")));
}

#[test]
fn bad_view_arguments_are_messages() {
    let mut s = demo();
    for bad in [
        "samples | tree depth",
        "samples | tree depth -1",
        "samples | tree min 200%",
        "samples | tree sideways",
        "samples | butterfly",
        "samples | flame",
        "samples | folded extra",
        "processes | tree",
        "samples | flame /nonexistent-dir/x/y.svg",
        "samples where | tree",
        "nosuchtable | tree",
        "samples where pid = 999999 | flame /tmp/etwq-empty.svg",
    ] {
        let err = s.query(bad).expect_err(bad);
        assert!(!err.to_string().is_empty(), "{bad}");
    }
    // The grammar reads views: a mistake in one gets a caret under the spot.
    let err = s.query("samples | tree depth -1").unwrap_err();
    assert_eq!(err.kind, session::ErrorKind::Syntax);
    assert!(err.to_string().ends_with(&format!("\n  {}^", " ".repeat("samples | tree depth ".len()))), "{err}");
    // Empty results still make a (root-less) tree, and the session goes on.
    assert!(s.query("samples where pid = 999999 | tree").is_ok());
    assert!(s.query("samples | limit 1").is_ok());
}

#[test]
fn the_flame_graph_renders_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("flame.svg");
    {
        let mut s = demo();
        let t = s.query(&format!("samples where proc = \"server.exe\" | flame {}", svg.display())).unwrap();
        assert!(number(&t, "stacks", 0) > 1.0);
    }
    let body = std::fs::read_to_string(&svg).unwrap();
    assert!(body.starts_with("<?xml") && body.contains("<svg") && body.contains("SleepEx"));
    let browser = common::browser::chromium();
    if !common::tool_available(browser.is_some(), "chromium", "rendering the flame graph") {
        return;
    }
    let browser = browser.expect("checked above");
    let png_path = dir.path().join("flame.png");
    let page = format!("file://{}", svg.display());
    common::browser::screenshot(browser, &page, &png_path, (1200, 800), &dir.path().join("profile"));
    let colors = common::browser::Pixels::read(&png_path).distinct_colours();
    assert!(colors > 1, "the rendered flame graph is blank ({colors} color)");
}

#[test]
fn real_trace_trees_work_without_symbols() {
    let Some(corpus) = common::corpus_dir() else { return };
    let path = corpus.join("perfview").join("net.4.5.2.x64.etl");
    let mut s = Session::open(&path).unwrap();
    // No symbol path at all: frames name their module.
    s.set_symbol_path("");
    let t = s.query("samples where stack is not null | tree depth 4").unwrap();
    let rows = tree_rows(&t);
    assert!(rows.iter().any(|r| r.1 == "ntdll.dll!<PDB not found>"), "{:?}", &rows[..rows.len().min(10)]);
    // `offsets`: one node per module+offset, so a tree still tells code apart.
    let by_offset = s.query("samples where stack is not null | tree depth 3 offsets min 0").unwrap();
    let by_offset = tree_rows(&by_offset);
    assert!(by_offset.iter().any(|r| r.1.starts_with("ntdll.dll+0x")), "{:?}", &by_offset[..by_offset.len().min(10)]);
    assert!(by_offset.len() > rows.len());
    let clr = s.query("stacks where module = \"clr.dll\" select count() as n").unwrap();
    assert!(number(&clr, "n", 0) > 0.0);
    let frames = s.query("frames where module = \"clr.dll\" select offset | limit 1").unwrap();
    assert!(matches!(frames.column("offset").unwrap().value(0), Value::Address(_)));
    let folded = s.query("samples | folded").unwrap();
    assert!(folded.row_count() > 10);
}

/// Every cell of a table as text, row by row.
fn cells(t: &DataTable) -> Vec<Vec<String>> {
    (0..t.row_count()).map(|row| t.columns.iter().map(|c| c.column.value(row).to_string()).collect()).collect()
}

/// A view names only the stacks its rows need; the answer must be the one it
/// gives when every stack was named first (by the `frames` table).
#[test]
fn views_name_their_stacks_lazily_with_the_same_answer() {
    let Some(corpus) = common::corpus_dir() else { return };
    let path = corpus.join("perfview").join("net.4.5.2.x64.etl");
    let queries = [
        "samples where stack is not null | tree depth 6 min 0",
        "samples where tid = 3000 | folded",
        "syscalls | tree",
        "stacks | tree depth 4 min 0",
    ];
    let mut lazily = Session::open(&path).unwrap();
    let mut eagerly = Session::open(&path).unwrap();
    for s in [&mut lazily, &mut eagerly] {
        s.set_symbol_path("");
    }
    eagerly.query("frames select count()").unwrap();
    for query in queries {
        let lazy = lazily.query(query).unwrap();
        let eager = eagerly.query(query).unwrap();
        assert_eq!(cells(&lazy), cells(&eager), "{query}");
    }
    // The tree of a few rows named only a few stacks: the full table still lists them all.
    let all = lazily.query("frames select count() as n").unwrap();
    let all_eager = eagerly.query("frames select count() as n").unwrap();
    assert_eq!(cells(&all), cells(&all_eager));
}

/// A tree cut at a depth reads only that many frames of each stack: its rows
/// must be the full tree's rows down to that depth, exclusive counts included.
#[test]
fn a_tree_cut_at_a_depth_is_the_top_of_the_full_tree() {
    let mut s = demo();
    let full = s.query("samples | tree min 0").unwrap();
    let cut = s.query("samples | tree depth 4 min 0").unwrap();
    // Indentation depth 0 is the outermost frame: four levels are depths 0 to 3.
    let top: Vec<Vec<String>> = cells(&full)
        .into_iter()
        .zip(tree_rows(&full))
        .filter(|(_, (depth, _, _))| *depth < 4)
        .map(|(c, _)| c)
        .collect();
    assert!(top.len() > 10, "{top:?}");
    let cut = cells(&cut);
    // The deepest nodes shown keep their exclusive counts only for stacks ending there.
    for (row, (want, got)) in top.iter().zip(&cut).enumerate() {
        assert_eq!(want, got, "row {row}");
    }
    assert_eq!(top.len(), cut.len());
}

/// `category (vendor)` of `file`, read from the driver atlas's data file itself.
fn atlas_mark(file: &str) -> String {
    let atlas =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/crates/symbols/data/drivers.tsv")).unwrap();
    let line =
        atlas.lines().find(|l| l.split('\t').next() == Some(file)).unwrap_or_else(|| panic!("{file} in the atlas"));
    let cells: Vec<&str> = line.split('\t').collect();
    format!("{} ({})", cells[2], cells[1])
}
