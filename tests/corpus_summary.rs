//! `etwq summary FILE --format tsv` equals the corpus expectation row for row,
//! for every .etl file in the corpus.
mod common;
use std::process::Command;

#[test]
fn summary_matches_independent_counts_for_every_corpus_trace() {
    let Some(corpus) = common::corpus_dir() else { return };
    let traces = common::corpus_traces(&corpus);
    assert!(!traces.is_empty(), "no .etl files under {}", corpus.display());
    for trace in traces {
        let stem = trace.file_stem().unwrap().to_string_lossy().to_string();
        let expected_path = corpus.join("expected").join(format!("{stem}.counts.tsv"));
        let expected =
            std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let output =
            Command::new(env!("CARGO_BIN_EXE_etwq")).args(["summary", "--format", "tsv"]).arg(&trace).output().unwrap();
        assert!(output.status.success(), "{stem}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(output.stderr.is_empty(), "{stem} warned: {}", String::from_utf8_lossy(&output.stderr));
        let got = String::from_utf8(output.stdout).unwrap();
        let got_rows: Vec<&str> = got.lines().collect();
        let want_rows: Vec<&str> = expected.lines().collect();
        for (i, (g, w)) in got_rows.iter().zip(&want_rows).enumerate() {
            assert_eq!(g, w, "{stem}: row {}", i + 1);
        }
        assert_eq!(got_rows.len(), want_rows.len(), "{stem}: row count");
        println!("{stem}: {} rows equal", want_rows.len());
    }
}
