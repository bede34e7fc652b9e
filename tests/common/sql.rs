//! The differential SQL tests' plumbing: the Python with DuckDB and pyspark,
//! traces exported with `etwq export`, etwq's own answers, and the job that
//! tests/python/sql_check.py runs.
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ETWQ: &str = env!("CARGO_BIN_EXE_etwq");

/// The Python of the repository's venv (ETWQ_PYTHON, set by .ci/run, else
/// .venv/bin/python) when it imports `module`; None, with a skip message, when not.
pub fn python_with(module: &str, required_by: &str, needed_for: &str) -> Option<PathBuf> {
    let python = std::env::var_os("ETWQ_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python")));
    let found =
        Command::new(&python).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    if std::env::var(required_by).as_deref() == Ok("1") {
        panic!(
            "{required_by}=1 but {} cannot import {module}; {needed_for} needs it (.ci/python-env installs it)",
            python.display()
        );
    }
    super::skip(&format!("{} cannot import {module} (run .ci/python-env); {needed_for} needs it", python.display()));
    None
}

/// Runs etwq with `args`; panics with its stderr when it fails.
pub fn etwq(args: &[&str]) -> String {
    let out = Command::new(ETWQ).args(args).output().expect("etwq runs");
    assert!(out.status.success(), "etwq {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `etwq export TRACES --to DIR`.
pub fn export(traces: &[&Path], to: &Path) {
    let mut args: Vec<String> = vec!["export".into()];
    args.extend(traces.iter().map(|t| t.display().to_string()));
    args.extend(["--to".into(), to.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    etwq(&args);
}

/// One query of a differential test.
pub struct Case {
    pub text: String,
    /// The result columns its rows are ordered by (name, descending); empty: any order.
    pub order: Vec<(String, bool)>,
    /// Whether a limit cuts the rows (ties at the cut may be other rows in SQL).
    pub limited: bool,
}

impl Case {
    /// A query whose order and limit are read from its text: the last
    /// `order by` keys that are result columns, `top N [by X]`, `limit N`.
    pub fn new(text: &str) -> Case {
        let mut order = Vec::new();
        let lower = text.to_ascii_lowercase();
        let last_order = lower
            .rfind("order by ")
            .filter(|&at| !lower[..at].ends_with("partition by ") && !inside_parens(&lower, at));
        let last_top = lower.rfind(" top ");
        match (last_order, last_top) {
            (Some(at), top) if top.is_none_or(|t| t < at) => {
                let keys = &text[at + "order by ".len()..];
                let keys = keys.split(" limit ").next().unwrap_or("").split('|').next().unwrap_or("");
                for key in keys.split(',') {
                    let mut words = key.split_whitespace();
                    let (Some(name), direction) = (words.next(), words.next()) else { continue };
                    let name = if name.eq_ignore_ascii_case("count()") { "count" } else { name };
                    order.push((name.to_string(), direction.is_some_and(|d| d.eq_ignore_ascii_case("desc"))));
                }
            }
            (_, Some(at)) => {
                let rest: Vec<&str> = text[at + " top ".len()..].split_whitespace().collect();
                let name = match rest.as_slice() {
                    [_, by, key, ..] if by.eq_ignore_ascii_case("by") => key.trim_end_matches('|').to_string(),
                    _ => "count".to_string(),
                };
                order.push((name, true));
            }
            _ => {}
        }
        let limited = lower.contains(" limit ") || last_top.is_some();
        Case { text: text.to_string(), order, limited }
    }
}

fn inside_parens(text: &str, at: usize) -> bool {
    let before = &text[..at];
    before.matches('(').count() > before.matches(')').count()
}

/// etwq's answer to each case on `trace` (or the demo), as RESULTS/q<i>.json,
/// in one etwq process: a script of `.output FILE` and the query.
pub fn etwq_answers(traces: &[&str], cases: &[Case], results: &Path) {
    std::fs::create_dir_all(results).unwrap();
    let mut script = String::from(".format json\n");
    for (i, case) in cases.iter().enumerate() {
        script.push_str(&format!(".output {}\n{}\n", results.join(format!("q{i}.json")).display(), case.text));
    }
    script.push_str(".output\n");
    let mut child = Command::new(ETWQ)
        .args(traces)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    // Refusals (a field no event of this trace has) are reported and leave an empty file.
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.lines().filter(|l| l.contains("error:")) {
        assert!(line.contains("unknown field"), "etwq refused a query on {traces:?}: {line}\n{stderr}");
    }
}

/// Each case's SQL in `dialect`, by `etwq sql`.
pub fn translations(cases: &[Case], dialect: &str) -> Vec<String> {
    cases.iter().map(|c| etwq(&["sql", &c.text, "--dialect", dialect])).collect()
}

/// Writes the job, runs tests/python/sql_check.py and returns its output; panics on a mismatch.
pub fn check(
    python: &Path,
    engine: &str,
    traces: &[(String, PathBuf, PathBuf)],
    cases: &[Case],
    sql: &[String],
    dir: &Path,
) -> String {
    let queries: Vec<serde_json::Value> = cases
        .iter()
        .zip(sql)
        .enumerate()
        .map(|(i, (case, sql))| {
            serde_json::json!({
                "id": i,
                "text": case.text,
                "sql": sql.trim_end().trim_end_matches(';'),
                "order": case.order.iter().map(|(c, d)| serde_json::json!([c, d])).collect::<Vec<_>>(),
                "limited": case.limited,
            })
        })
        .collect();
    let traces: Vec<serde_json::Value> = traces
        .iter()
        .map(|(name, export, results)| serde_json::json!({"name": name, "export": export, "results": results}))
        .collect();
    let job = serde_json::json!({"engine": engine, "traces": traces, "queries": queries});
    let job_path = dir.join("job.json");
    std::fs::write(&job_path, serde_json::to_string_pretty(&job).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sql_check.py");
    let out = Command::new(python).arg(script).arg(&job_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "SQL answers differ from etwq's:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
