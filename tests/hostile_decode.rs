//! Hostile schemas, built with the project's own writer: arrays of structs
//! nested so that their counts multiply (an EventSource manifest in the trace,
//! a `--manifest` file, TraceLogging metadata), and manifest XML nested 20,000
//! elements deep (in the trace and through `--manifest`).
//!
//! Each trace goes through the etwq binary as a child process, as a user would
//! run it. Every case must end with a clear error or a bad-field marker: no
//! panic, no abort, no signal, no hang past DEADLINE, and the child's peak
//! resident memory must stay under PEAK_RSS_LIMIT_KB.
use etl::record::{ext_type, EventDescriptor, ExtendedData, ExtendedItem};
use etl::writer::{EtlWriter, WriterOptions};
use etl::{Guid, HeaderKind, Record, RecordId};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak resident memory a child may reach on any of these inputs.
const PEAK_RSS_LIMIT_KB: u64 = 512 * 1024;
/// A generous bound for a debug build on a loaded machine; the fixed decoder
/// finishes each case in well under a second.
const DEADLINE: Duration = Duration::from_secs(120);

/// Levels of struct arrays; each multiplies the element count by ARRAY_COUNT.
const NESTED_LEVELS: usize = 7;
/// Each level's count: below the payload size, so the old check let it pass.
const ARRAY_COUNT: u16 = 90;
/// The one hostile event's payload; its bytes are never read by empty structs.
const PAYLOAD_LEN: usize = 100;
/// Elements of the deep XML.
const XML_DEPTH: usize = 20_000;

const PROVIDER_GUID: &str = "{6b1d3c6e-8f3a-4a59-9c2e-1f0b7d4e2a11}";

fn provider() -> Guid {
    Guid::parse(PROVIDER_GUID).expect("a valid GUID literal")
}

/// One record to write; owns the bytes a `Record` borrows.
struct Planned {
    descriptor: EventDescriptor,
    extended: Vec<u8>,
    payload: Vec<u8>,
}

fn write_trace(planned: &[Planned]) -> Vec<u8> {
    let mut writer = EtlWriter::new(Cursor::new(Vec::new()), WriterOptions::new(1, 132_000_000_000_000_000))
        .expect("the writer starts");
    for (i, p) in planned.iter().enumerate() {
        let record = Record {
            thread_id: Some(100),
            process_id: Some(10),
            timestamp: 1_000 + i as i64,
            extended: ExtendedData { raw: &p.extended },
            ..Record::bare(
                HeaderKind::EventHeader64,
                RecordId::Event { provider: provider(), descriptor: p.descriptor },
                &p.payload,
            )
        };
        writer.write(&record).expect("the record fits a buffer");
    }
    writer.finish().expect("the trace is written").into_inner()
}

/// The event that a nested schema describes: any bytes do, empty structs read none.
fn hostile_event(id: u16, extended: Vec<u8>) -> Planned {
    Planned {
        descriptor: EventDescriptor { id, ..Default::default() },
        extended,
        payload: (0..PAYLOAD_LEN as u8).collect(),
    }
}

/// EventSource's ManifestData events: the XML split into chunks, each after
/// the 8-byte envelope (format, major, minor, magic, total chunks, chunk number).
fn manifest_data(xml: &str) -> Vec<Planned> {
    let chunks: Vec<&[u8]> = xml.as_bytes().chunks(40_000).collect();
    let total = chunks.len() as u16;
    chunks
        .iter()
        .enumerate()
        .map(|(number, chunk)| {
            let mut payload = vec![1, 1, 0, 0x5B];
            payload.extend_from_slice(&total.to_le_bytes());
            payload.extend_from_slice(&(number as u16).to_le_bytes());
            payload.extend_from_slice(chunk);
            Planned {
                descriptor: EventDescriptor {
                    id: decode::manifest::MANIFEST_EVENT_ID,
                    opcode: decode::manifest::MANIFEST_OPCODE,
                    ..Default::default()
                },
                extended: Vec::new(),
                payload,
            }
        })
        .collect()
}

/// A manifest whose event 1 is NESTED_LEVELS arrays of structs inside each
/// other, the innermost struct empty.
fn nested_struct_manifest() -> String {
    let mut template = String::new();
    for level in 0..NESTED_LEVELS {
        template.push_str(&format!("<struct name=\"L{level}\" count=\"{ARRAY_COUNT}\">"));
    }
    template.push_str(&"</struct>".repeat(NESTED_LEVELS));
    format!(
        r#"<instrumentationManifest xmlns="http://schemas.microsoft.com/win/2004/08/events">
 <instrumentation><events>
  <provider name="Hostile" guid="{PROVIDER_GUID}" symbol="Hostile">
   <templates><template tid="Nest">{template}</template></templates>
   <events><event value="1" version="0" template="Nest"/></events>
  </provider>
 </events></instrumentation>
</instrumentationManifest>"#
    )
}

/// A manifest-shaped document nested XML_DEPTH elements deep.
fn deep_manifest() -> String {
    format!(
        "<instrumentationManifest xmlns=\"http://schemas.microsoft.com/win/2004/08/events\">{}{}</instrumentationManifest>",
        "<a>".repeat(XML_DEPTH),
        "</a>".repeat(XML_DEPTH)
    )
}

/// TraceLogging metadata (EVENT_SCHEMA_TL): u16 size, a tag byte, the event
/// name, then NESTED_LEVELS struct fields, each a fixed-count array (in type
/// 24 with the constant-count and chain flags; the out byte holds the member
/// count; the u16 count follows) holding the next.
fn nested_tracelogging_metadata() -> Vec<u8> {
    let mut meta = vec![0, 0, 0];
    meta.extend_from_slice(b"Nest\0");
    for level in 0..NESTED_LEVELS {
        meta.extend_from_slice(format!("L{level}\0").as_bytes());
        let members = u8::from(level + 1 < NESTED_LEVELS);
        meta.extend_from_slice(&[24 | 0x20 | 0x80, members]);
        meta.extend_from_slice(&ARRAY_COUNT.to_le_bytes());
    }
    let size = meta.len() as u16;
    meta[..2].copy_from_slice(&size.to_le_bytes());
    meta
}

fn tracelogging_extended() -> Vec<u8> {
    let meta = nested_tracelogging_metadata();
    let traits = b"\x0b\x00Hostile\0";
    ExtendedData::encode(&[
        ExtendedItem { ext_type: ext_type::EVENT_SCHEMA_TL, data: &meta },
        ExtendedItem { ext_type: ext_type::PROV_TRAITS, data: traits },
    ])
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss_kb: Option<u64>,
}

/// Runs etwq with `args`, its output going to files (no pipe can fill up),
/// and waits for it with a deadline; the peak memory comes from its rusage.
fn run_etwq(dir: &Path, args: &[&str]) -> Outcome {
    let out_path = dir.join(format!("stdout-{}", args.join("_").replace(['/', ' '], "")));
    let err_path = out_path.with_extension("err");
    let child = Command::new(env!("CARGO_BIN_EXE_etwq"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("etwq starts");
    let (code, peak_rss_kb) = wait_with_deadline(child, args);
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Outcome { code, stdout: read(&out_path), stderr: read(&err_path), peak_rss_kb }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn wait_with_deadline(mut child: std::process::Child, args: &[&str]) -> (Option<i32>, Option<u64>) {
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: plain FFI calls with pointers to live locals; the pid is our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            if libc::WIFSIGNALED(status) {
                panic!("etwq {args:?} died of signal {}", libc::WTERMSIG(status));
            }
            // ru_maxrss is in kilobytes on Linux.
            return (code, Some(usage.ru_maxrss as u64));
        }
        assert!(reaped == 0, "wait4 failed for etwq {args:?}");
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("etwq {args:?} ran past {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Elsewhere the memory bound is not measured; the deadline and exit still are.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn wait_with_deadline(mut child: std::process::Child, args: &[&str]) -> (Option<i32>, Option<u64>) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for etwq") {
            assert!(status.code().is_some(), "etwq {args:?} was killed: {status}");
            return (status.code(), None);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("etwq {args:?} ran past {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What no run may ever print or do, whatever it was given.
fn assert_contained(outcome: &Outcome, args: &[&str]) {
    for fatal in ["panicked", "stack overflow", "memory allocation", "fatal runtime error"] {
        assert!(!outcome.stderr.contains(fatal), "etwq {args:?}: {fatal}:\n{}", outcome.stderr);
    }
    if let Some(peak) = outcome.peak_rss_kb {
        assert!(peak < PEAK_RSS_LIMIT_KB, "etwq {args:?} peaked at {peak} KB, above {PEAK_RSS_LIMIT_KB} KB");
        eprintln!("etwq {args:?}: peak RSS {peak} KB");
    }
}

fn save(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `-c processes` and `dump` over a trace: both succeed; the dump shows the
/// hostile event with a bad field whose reason contains `marker`.
fn assert_decodes_with_marker(dir: &Path, trace: &Path, manifest: Option<&Path>, marker: &str) {
    let trace = trace.to_str().unwrap();
    let mut manifest_args: Vec<&str> = Vec::new();
    if let Some(m) = manifest {
        manifest_args = vec!["--manifest", m.to_str().unwrap()];
    }
    let mut processes: Vec<&str> = manifest_args.clone();
    processes.extend(["-c", "processes", trace]);
    let outcome = run_etwq(dir, &processes);
    assert_contained(&outcome, &processes);
    assert_eq!(outcome.code, Some(0), "etwq {processes:?} failed:\n{}", outcome.stderr);

    let mut dump = vec!["dump"];
    dump.extend(&manifest_args);
    dump.push(trace);
    let outcome = run_etwq(dir, &dump);
    assert_contained(&outcome, &dump);
    assert_eq!(outcome.code, Some(0), "etwq {dump:?} failed:\n{}", outcome.stderr);
    assert!(
        outcome.stdout.lines().any(|line| line.contains("<bad:") && line.contains(marker)),
        "etwq {dump:?} shows no bad field saying {marker:?}:\n{}",
        outcome.stdout.chars().take(4000).collect::<String>()
    );
}

/// The decoder's words for an event whose schema asks for more than its payload can give.
const TOO_MANY_VALUES: &str = "more decoded values than";
/// The manifest parser's words for XML nested too deep.
const TOO_DEEP: &str = "nests deeper than";

#[test]
fn nested_struct_arrays_in_an_eventsource_manifest_in_the_trace_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut planned = manifest_data(&nested_struct_manifest());
    planned.push(hostile_event(1, Vec::new()));
    let trace = save(dir.path(), "eventsource.etl", &write_trace(&planned));
    assert_decodes_with_marker(dir.path(), &trace, None, TOO_MANY_VALUES);
}

#[test]
fn nested_struct_arrays_in_a_manifest_file_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = save(dir.path(), "nested.man", nested_struct_manifest().as_bytes());
    let trace = save(dir.path(), "user-manifest.etl", &write_trace(&[hostile_event(1, Vec::new())]));
    assert_decodes_with_marker(dir.path(), &trace, Some(&manifest), TOO_MANY_VALUES);
}

#[test]
fn nested_struct_arrays_in_tracelogging_metadata_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let trace = save(dir.path(), "tracelogging.etl", &write_trace(&[hostile_event(0, tracelogging_extended())]));
    assert_decodes_with_marker(dir.path(), &trace, None, TOO_MANY_VALUES);
}

/// `-c processes` never decodes these events, yet it says once per event,
/// with the count, why the trace's own schema could not decode them.
#[test]
fn in_trace_schema_failures_are_warnings_of_every_query() {
    const HOSTILE_EVENTS: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let mut eventsource = manifest_data(&nested_struct_manifest());
    eventsource.extend((0..HOSTILE_EVENTS).map(|_| hostile_event(1, Vec::new())));
    let tracelogging: Vec<Planned> = (0..HOSTILE_EVENTS).map(|_| hostile_event(0, tracelogging_extended())).collect();
    let mut deep = manifest_data(&deep_manifest());
    deep.push(hostile_event(1, Vec::new()));
    let cases = [
        ("eventsource.etl", eventsource, "Hostile/", TOO_MANY_VALUES, HOSTILE_EVENTS),
        ("tracelogging.etl", tracelogging, "Hostile/Nest", TOO_MANY_VALUES, HOSTILE_EVENTS),
        ("deep.etl", deep, "/ManifestData", TOO_DEEP, 1),
    ];
    for (name, planned, event, reason, count) in cases {
        let trace = save(dir.path(), name, &write_trace(&planned));
        let args = ["-c", "processes", trace.to_str().unwrap()];
        let outcome = run_etwq(dir.path(), &args);
        assert_contained(&outcome, &args);
        assert_eq!(outcome.code, Some(0), "etwq {args:?} failed:\n{}", outcome.stderr);
        let warnings: Vec<&str> = outcome.stderr.lines().filter(|l| l.starts_with("etwq: warning:")).collect();
        assert_eq!(warnings.len(), 1, "{name}: one warning for one failing event:\n{}", outcome.stderr);
        let warning = warnings[0];
        eprintln!("{name}: {warning}");
        assert!(warning.contains(event) && warning.contains(reason), "{name}: {warning}");
        let events = if count == 1 { "event" } else { "events" };
        assert!(warning.contains(&format!(": {count} {events} not decoded:")), "{name}: {warning}");
    }
    // A trace whose schemas decode has no such warning.
    let clean = save(dir.path(), "demo.etl", &session::demo_trace_bytes());
    let args = ["-c", "processes", clean.to_str().unwrap()];
    let outcome = run_etwq(dir.path(), &args);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(!outcome.stderr.contains("not decoded"), "{}", outcome.stderr);
}

#[test]
fn xml_nested_20000_deep_in_the_trace_is_a_manifest_error() {
    let dir = tempfile::tempdir().unwrap();
    let planned = manifest_data(&deep_manifest());
    assert!(planned.len() > 1, "the deep manifest spans several ManifestData chunks");
    let trace = save(dir.path(), "deep.etl", &write_trace(&planned));
    assert_decodes_with_marker(dir.path(), &trace, None, TOO_DEEP);
}

#[test]
fn xml_nested_20000_deep_in_a_manifest_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = save(dir.path(), "deep.man", deep_manifest().as_bytes());
    let trace = save(dir.path(), "plain.etl", &write_trace(&[hostile_event(1, Vec::new())]));
    let (manifest, trace) = (manifest.to_str().unwrap(), trace.to_str().unwrap());
    for args in [vec!["--manifest", manifest, "-c", "processes", trace], vec!["dump", "--manifest", manifest, trace]] {
        let outcome = run_etwq(dir.path(), &args);
        assert_contained(&outcome, &args);
        assert!(outcome.code.is_some_and(|c| c != 0), "etwq {args:?} accepted a 20,000-deep manifest");
        assert!(outcome.stderr.contains(TOO_DEEP), "etwq {args:?} gave no clear error:\n{}", outcome.stderr);
    }
}
