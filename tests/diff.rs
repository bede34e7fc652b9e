//! A/B comparison: the demo incident written twice, without the antivirus
//! driver (A) and with it (B), opened in one session. `| diff tree` must put
//! the whole difference on tedrdrv.sys and the rundown protection it takes, by
//! as much as the scenarios' own samples say; `| diff flame` draws inferno's
//! differential flame graph, which a headless browser renders.
mod common;

use columnar::{DataTable, Value};
use demo::Scenario;
use session::Session;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use symbols::breakpad::parse_sym;

struct Ab {
    session: Session,
    /// The two scenarios: A without the driver, B with it.
    without: Scenario,
    with: Scenario,
    _dir: tempfile::TempDir,
}

/// Writes both traces and the demo's symbol files (flat, as `NAME.sym`) and opens them once for all tests.
fn ab() -> MutexGuard<'static, Ab> {
    static AB: OnceLock<Mutex<Ab>> = OnceLock::new();
    AB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (without, with) = (demo::demo_incident_without_driver(), demo::demo_incident());
        let write = |name: &str, s: &Scenario| -> PathBuf {
            let path = dir.path().join(name);
            std::fs::write(&path, s.to_bytes().expect("a consistent scenario").0).unwrap();
            path
        };
        let paths = vec![write("without.etl", &without), write("with.etl", &with)];
        let symbols = dir.path().join("symbols");
        std::fs::create_dir_all(&symbols).unwrap();
        for text in demo::demo_symbol_texts() {
            let pdb = parse_sym(text.as_bytes()).identity.expect("a MODULE line").name;
            std::fs::write(symbols.join(pdb.replace(".pdb", ".sym")), text).unwrap();
        }
        let mut session = Session::open_all(&paths).unwrap();
        session.set_symbol_path(&symbols.display().to_string());
        Mutex::new(Ab { session, without, with, _dir: dir })
    })
    .lock()
    .unwrap_or_else(|p| p.into_inner())
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
        Some(Value::F64(v)) => v,
        Some(Value::U64(v)) => v as f64,
        other => panic!("{column}: {other:?}"),
    }
}

/// The milliseconds a sample stands for in a scenario.
fn sample_ms(s: &Scenario) -> f64 {
    let interval_100ns = s.profile.as_ref().expect("a profiled scenario").interval_100ns;
    f64::from(interval_100ns) * 100.0 / 1e6
}

/// Samples whose IP lies in the kernel's function `name`, found from the scenario's
/// kernel module and the kernel's symbol file.
fn samples_in_kernel_function(s: &Scenario, name: &str) -> usize {
    let nt_text = demo::demo_symbol_texts().find(|t| t.contains("ntkrnlmp.pdb")).unwrap();
    let nt = parse_sym(nt_text.as_bytes());
    let f = nt.table.function_named(name).unwrap_or_else(|| panic!("{name} not in ntkrnlmp.sym"));
    let base = s.modules.iter().find(|m| m.path.ends_with("ntoskrnl.exe")).unwrap().base;
    let range = base + u64::from(f.rva)..base + u64::from(f.rva) + u64::from(f.size);
    s.samples.iter().filter(|x| !x.lost && range.contains(&x.ip)).count()
}

/// The rows of a diff tree whose frame (indentation off) starts with `prefix`.
fn rows_starting(t: &DataTable, prefix: &str) -> Vec<usize> {
    (0..t.row_count()).filter(|&r| text(t, "frame", r).trim_start().starts_with(prefix)).collect()
}

fn sum(t: &DataTable, column: &str, rows: &[usize]) -> f64 {
    rows.iter().map(|&r| number(t, column, r)).sum()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn the_diff_tree_puts_the_difference_on_the_driver_and_its_rundown_protection() {
    let mut ab = ab();
    let with_facts = demo::facts_of(&ab.with);
    let without_facts = demo::facts_of(&ab.without);
    // The two machines sampled the same moments: only where the samples landed differs.
    assert_eq!(with_facts.total_samples, without_facts.total_samples);
    assert_eq!(without_facts.driver_samples, 0);
    assert!(with_facts.driver_samples > 1000, "{}", with_facts.driver_samples);
    let ms = sample_ms(&ab.with);
    let rundown: usize = ["ExfAcquireRundownProtection", "ExfReleaseRundownProtection"]
        .iter()
        .map(|f| samples_in_kernel_function(&ab.with, f))
        .sum();
    assert_eq!(
        ["ExfAcquireRundownProtection", "ExfReleaseRundownProtection"]
            .iter()
            .map(|f| samples_in_kernel_function(&ab.without, f))
            .sum::<usize>(),
        0
    );

    let t = ab.session.query("samples | diff tree min 0").unwrap();
    // The first row names the groups and sums them: A the first trace opened.
    assert_eq!(text(&t, "frame", 0), "[all] A = without.etl, B = with.etl");
    let total_ms = with_facts.total_samples as f64 * ms;
    assert!(close(number(&t, "a_ms", 0), total_ms), "{} vs {total_ms}", number(&t, "a_ms", 0));
    assert!(close(number(&t, "delta_ms", 0), 0.0));

    // Every tedrdrv.sys node is new in B, and together they hold every driver sample.
    let driver = rows_starting(&t, "tedrdrv.sys");
    assert!(!driver.is_empty());
    let expected = with_facts.driver_samples as f64 * ms;
    assert!(close(sum(&t, "a_ms", &driver), 0.0));
    assert!(close(sum(&t, "delta_ms", &driver), expected), "{} vs {expected}", sum(&t, "delta_ms", &driver));
    let share = with_facts.driver_samples as f64 / with_facts.total_samples as f64 * 100.0;
    let delta_pct = sum(&t, "delta_pct", &driver);
    assert!((delta_pct - share).abs() < 0.01 * driver.len() as f64, "{delta_pct} vs {share}");
    // Under the hook, the rundown protection holds its own samples, exclusively.
    let rundown_rows = rows_starting(&t, "ntoskrnl.exe!Exf");
    assert!(!rundown_rows.is_empty());
    assert!(close(sum(&t, "delta_excl_ms", &rundown_rows), rundown as f64 * ms));
    assert!(close(sum(&t, "a_excl_ms", &rundown_rows), 0.0));

    // The same samples in A ended in the kernel's own Sleep(0) path; nowhere else changed.
    let mut grew = 0.0;
    let mut shrank = 0.0;
    for row in 1..t.row_count() {
        let frame = text(&t, "frame", row);
        let delta = number(&t, "delta_excl_ms", row);
        if delta > 0.0 {
            grew += delta;
            assert!(frame.contains("tedrdrv.sys") || frame.contains("RundownProtection"), "{frame} grew by {delta}");
        } else if delta < 0.0 {
            shrank -= delta;
            let label = frame.trim_start();
            assert!(
                ["ntoskrnl.exe!KeDelayExecutionThread", "ntoskrnl.exe!KiSystemServiceExitPico"].contains(&label),
                "{frame} shrank by {delta}"
            );
        }
    }
    assert!(close(grew, expected), "{grew} vs {expected}");
    assert!(close(shrank, expected), "{shrank} vs {expected}");
    // The largest change comes first at each level: the server's threads lead.
    let first_level: Vec<usize> = (1..t.row_count()).filter(|&r| !text(&t, "frame", r).starts_with(' ')).collect();
    let deltas: Vec<f64> = first_level.iter().map(|&r| number(&t, "delta_ms", r).abs()).collect();
    assert!(deltas.windows(2).all(|w| w[0] >= w[1]), "{deltas:?}");
}

#[test]
fn diff_tree_options_and_bad_keys() {
    let mut ab = ab();
    let t = ab.session.query("samples where proc = \"server.exe\" | diff tree depth 2").unwrap();
    assert!((1..t.row_count()).all(|r| !text(&t, "frame", r).starts_with("    ")), "depth 2 goes two levels deep");
    // Any column with two values splits the rows: two threads of one trace.
    let t = ab
        .session
        .query("samples where trace = \"with.etl\" and tid in (4250, 4254) | diff tree by tid min 0")
        .unwrap();
    assert_eq!(text(&t, "frame", 0), "[all] A = 4250, B = 4254");
    // More than two values: the error names them.
    let err = ab.session.query("samples where tid in (4250, 4254, 4258) | diff tree by tid").unwrap_err().to_string();
    assert!(err.contains("exactly two values of `tid`") && err.contains("4250") && err.contains("4258"), "{err}");
    let err = ab.session.query("samples | diff tree by nosuch").unwrap_err().to_string();
    assert!(err.contains("no column `nosuch`"), "{err}");
    let err = ab.session.query("samples where trace = \"with.etl\" | diff tree").unwrap_err().to_string();
    assert!(err.contains("exactly two values of `trace`") && err.contains("with.etl"), "{err}");
    let err = ab.session.query("samples | diff").unwrap_err().to_string();
    assert!(err.contains("'tree' or 'flame'"), "{err}");
    // One trace open: the message says how to get two groups.
    let mut demo = Session::demo();
    let err = demo.query("samples | diff tree").unwrap_err().to_string();
    assert!(err.contains("open two traces"), "{err}");
}

/// Pixels of the screenshot that are strongly red or blue (a differential flame graph's colours).
fn red_and_blue_pixels(png_path: &Path) -> (usize, usize) {
    let (mut red, mut blue) = (0, 0);
    for [r, g, b] in common::browser::Pixels::read(png_path).rgb {
        let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
        if r > 180 && r - b > 60 && r - g > 60 {
            red += 1;
        } else if b > 180 && b - r > 60 && b - g > 60 {
            blue += 1;
        }
    }
    (red, blue)
}

#[test]
fn the_differential_flame_graph_renders_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("diff.svg");
    {
        let mut ab = ab();
        let t =
            ab.session.query(&format!("samples where proc = \"server.exe\" | diff flame {}", svg.display())).unwrap();
        assert_eq!((text(&t, "a", 0), text(&t, "b", 0)), ("without.etl".to_string(), "with.etl".to_string()));
        let err = ab.session.query("samples | diff flame /nonexistent-dir/x.svg").unwrap_err().to_string();
        assert!(err.contains("/nonexistent-dir/x.svg"), "{err}");
    }
    let body = std::fs::read_to_string(&svg).unwrap();
    assert!(body.starts_with("<?xml") && body.contains("<svg"));
    // B's driver frames are new: they carry a positive delta in their titles.
    let driver_title = body.lines().find(|l| l.contains("<title>tedrdrv.sys")).expect("a tedrdrv.sys frame");
    assert!(driver_title.contains("; +"), "{driver_title}");
    let browser = common::browser::chromium();
    if !common::tool_available(browser.is_some(), "chromium", "rendering the differential flame graph") {
        return;
    }
    let png_path = dir.path().join("diff.png");
    let page = format!("file://{}", svg.display());
    common::browser::screenshot(
        browser.expect("checked above"),
        &page,
        &png_path,
        (1200, 800),
        &dir.path().join("profile"),
    );
    if let Ok(keep) = std::env::var("ETWQ_KEEP_SCREENSHOTS") {
        let _ = std::fs::copy(&png_path, Path::new(&keep).join("diff-flame.png"));
    }
    // Red where B (with the driver) has more, blue where it has less: both are drawn.
    let (red, blue) = red_and_blue_pixels(&png_path);
    assert!(red > 500 && blue > 500, "red {red}, blue {blue} pixels: not a differential flame graph");
}
