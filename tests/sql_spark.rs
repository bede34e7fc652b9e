//! `etwq sql --dialect spark` on Spark: a local[2] job reads one exported
//! directory of several traces (the demo and two corpus traces), a temp view
//! per table, and runs the translated queries; the answers equal etwq's with
//! the same traces open together. The queries leave out etwq's `trace`
//! column (the file name; in the dataset, the trace id).
mod common;
use common::sql::{check, etwq, etwq_answers, export, python_with, translations, Case};

const QUERIES: &[&str] = &[
    "syscalls group by proc select count() as n, sum(duration_ns) as total order by n desc, proc",
    "samples where module is not null group by module | top 5",
    "cswitch group by wait_reason select count(), p90(cpu_ns), max(cpu_ns), avg(ready_ns)",
    "processes where name like \"*.exe\" select pid, name order by pid, name",
    "events where fields.ImageSize > 100000 group by provider select count() as n, sum(fields.ImageSize) as total",
    "threads join processes as p on pid = p.pid group by p.name select count() as threads order by threads desc, p.name",
];

#[test]
fn spark_answers_translated_queries_over_a_dataset_of_several_traces() {
    let Some(python) = python_with("pyspark", "ETWQ_REQUIRE_SPARK", "the Spark test") else { return };
    let java = std::process::Command::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    if !java {
        assert!(std::env::var("ETWQ_REQUIRE_SPARK").as_deref() != Ok("1"), "ETWQ_REQUIRE_SPARK=1 but there is no java");
        common::skip("no java; the Spark test needs a JRE (.ci/python-env installs one)");
        return;
    }
    let Some(corpus) = common::corpus_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.etl");
    etwq(&["demo", "--write", demo.to_str().unwrap()]);
    let net = corpus.join("perfview/net.4.5.2.x64.etl");
    let shutdown = corpus.join("airbus/ShutdownPerfDiagLogger.etl");
    let traces = [demo.as_path(), net.as_path(), shutdown.as_path()];
    let dataset = dir.path().join("dataset");
    export(&traces, &dataset);
    let cases: Vec<Case> = QUERIES.iter().map(|q| Case::new(q)).collect();
    let sql = translations(&cases, "spark");
    let results = dir.path().join("results");
    let names: Vec<&str> = traces.iter().map(|t| t.to_str().unwrap()).collect();
    etwq_answers(&names, &cases, &results);
    let report = check(&python, "spark", &[("three traces".into(), dataset, results)], &cases, &sql, dir.path());
    eprintln!("{}", report.trim_end());
    assert!(report.contains(&format!("{} passed, 0 failed", QUERIES.len())), "{report}");
}
