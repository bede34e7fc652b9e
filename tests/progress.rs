//! Progress while a trace loads: reading counts every byte of the file's
//! buffers, the passes over the records count every record, each stage of a
//! session's load reaches its total, and nothing is drawn when stderr is not
//! a terminal.
mod common;
use decode::Decoder;
use etl::EtlTrace;
use model::{ModelParts, TraceModel};
use progress::{Progress, Total};
use session::Session;
use std::path::{Path, PathBuf};
use std::process::Command;

fn demo_file(dir: &Path) -> PathBuf {
    let path = dir.join("demo.etl");
    std::fs::write(&path, demo::demo_trace_bytes()).unwrap();
    path
}

/// The demo trace, and the corpus's traces when the corpus is there.
fn traces(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![demo_file(dir)];
    if let Some(corpus) = common::corpus_dir() {
        all.extend(common::corpus_traces(&corpus));
    }
    all
}

#[test]
fn reading_a_trace_counts_every_byte_of_its_buffers() {
    let dir = tempfile::tempdir().unwrap();
    for path in traces(dir.path()) {
        let progress = Progress::new();
        let trace = EtlTrace::open_counting(&path, &progress).unwrap();
        assert!(trace.warnings.is_empty(), "{}: {:?}", path.display(), trace.warnings);
        assert_eq!(progress.done(), trace.file_len(), "{}", path.display());
    }
}

#[test]
fn passes_over_the_records_count_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    for path in traces(dir.path()) {
        let trace = EtlTrace::open(&path).unwrap();
        let records = trace.record_count() as u64;
        let progress = Progress::new();
        assert_eq!(trace.records().counting(&progress).count() as u64, records);
        assert_eq!(progress.done(), records, "one pass in time order: {}", path.display());

        progress.start("per processor", Total::Records(records));
        std::thread::scope(|scope| {
            for processor in trace.processors() {
                let trace = &trace;
                let progress = &progress;
                scope.spawn(move || trace.processor_records(processor).counting(progress).count());
            }
        });
        assert_eq!(progress.done(), records, "per-processor passes: {}", path.display());

        progress.start("the model's passes", Total::Records(records));
        TraceModel::build_counting(&trace, &mut Decoder::new(), &progress, ModelParts::ALL);
        assert_eq!(progress.done(), records, "the model's per-CPU pass: {}", path.display());

        progress.start("not counted", Total::Uncounted);
        let _ = trace.records().count();
        assert_eq!(progress.done(), 0, "{}", path.display());
    }
}

#[test]
fn every_stage_of_a_session_load_reaches_its_total() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo_file(dir.path());
    let progress = Progress::new();
    let mut session = Session::open_all_with_progress(std::slice::from_ref(&path), &progress).unwrap();
    session.prepare_with_progress(&progress).unwrap();
    // Preparing builds the model only; each table is built, with its own stage,
    // when a query first reads it.
    let names_now =
        |progress: &Progress| -> Vec<String> { progress.history().into_iter().map(|(s, _)| s.what).collect() };
    assert_eq!(names_now(&progress), ["reading demo.etl", "building the model"]);
    session.query_with_progress("events select count()", &progress).unwrap();
    session.query_with_progress("samples where pid != 0 | tree depth 2", &progress).unwrap();
    session.query_with_progress("frames select count()", &progress).unwrap();
    let stages = progress.history();
    let names: Vec<&str> = stages.iter().map(|(s, _)| s.what.as_str()).collect();
    assert_eq!(
        names[..6],
        [
            "reading demo.etl",
            "building the model",
            "building the events table",
            // The samples' functions are named when a query reads them; the tree names its stacks.
            "building the samples table",
            "naming stack frames",
            "naming stack frames"
        ]
    );
    assert!(names.contains(&"building the frames table"), "{names:?}");
    assert!(!names.contains(&"building the syscalls table"), "a table no query read was built: {names:?}");
    let records = session.trace().record_count() as u64;
    for (stage, done) in &stages {
        match stage.total {
            Total::Bytes(total) => assert_eq!((total, *done), (std::fs::metadata(&path).unwrap().len(), total)),
            Total::Records(total) => assert_eq!((total, *done), (records, records), "{}", stage.what),
            Total::Uncounted => {}
        }
    }
    assert_eq!(stages.iter().filter(|(s, _)| s.total != Total::Uncounted).count(), 3, "{stages:?}");
    assert!(session.is_prepared());
}

#[test]
fn no_progress_is_drawn_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo_file(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_etwq"))
        .args(["--format", "tsv", "-c", "syscalls select count()"])
        .arg(&path)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!output.stdout.is_empty());
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "stderr of a one-shot query on a clean trace");
}

/// Ctrl-C sets the session's cancel flag; a build that counts into a
/// progress tied to it stops, keeps nothing, and the next query builds again.
#[test]
fn a_stopped_build_keeps_nothing_and_the_session_stays_usable() {
    let Some(corpus) = common::corpus_dir() else { return };
    let path = corpus.join("perfview").join("net.4.5.2.x64.etl");
    let trace = EtlTrace::open(&path).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let stopped = Progress::new();
    stopped.stop_when(stop);
    // A walk ends at its first look at the flag, long before the 179,474 records.
    let walked = trace.records().counting(&stopped).count();
    assert!(walked < trace.record_count() / 4, "{walked} of {} records walked", trace.record_count());
    assert!(TraceModel::build_counting(&trace, &mut Decoder::new(), &stopped, ModelParts::ALL).is_none());
    assert!(model::build::processes(&trace, &mut Decoder::new(), &stopped).is_none());

    let mut session = Session::open_all(std::slice::from_ref(&path)).unwrap();
    session.cancel_flag().store(true, std::sync::atomic::Ordering::SeqCst);
    let stopped = session.prepare_with_progress(&Progress::new()).unwrap_err();
    assert_eq!(stopped, session::NotBuilt::Stopped);
    assert!(!session.is_prepared(), "a stopped model build is not kept");
    // The next query clears the flag, builds what it reads and answers as a fresh session does.
    let query = "threads select count()";
    let after = session.query(query).unwrap();
    let fresh = Session::open_all(&[path]).unwrap().query(query).unwrap();
    let count = after.column("count").unwrap().value(0);
    assert_eq!(count, fresh.column("count").unwrap().value(0));
    assert_ne!(count, columnar::Value::U64(0), "the trace's threads were found");
    // The query built only the parts of the model it reads; preparing builds the rest.
    assert!(!session.is_prepared(), "threads read the samples, not the system calls");
    session.prepare_with_progress(&Progress::new()).unwrap();
    assert!(session.is_prepared());
}
