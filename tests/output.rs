//! What reaches stdout: results stream in bounded memory, a closed pipe ends
//! the program quietly, text from the trace cannot drive the terminal, and
//! the text dump shows seconds like queries.
mod common;

use demo::payloads::Sid;
use demo::scenario::{ProcessSpec, Scenario, Slice, SwitchOut, ThreadSpec};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ETWQ: &str = env!("CARGO_BIN_EXE_etwq");

/// Clipboard write (OSC 52), window title (OSC 0), clear screen, and a CR/LF
/// that would start a forged line.
const HOSTILE_NAME: &str = "evil\x1b]52;c;ZXZpbA==\x07\x1b]0;pwned\x07\x1b[2J\r\nFORGED.exe";
/// The same in UTF-16 text, with a C1 CSI (U+009B) and DEL.
const HOSTILE_COMMAND_LINE: &str = "cmd /c \x1b]52;c;aGk=\x07\u{9b}2J\x7f\r\n0.000000000 cpu=0 pid=4 forged";

/// A trace through the scenario builder whose process name, command line and
/// thread name hold terminal control sequences.
fn hostile_trace(dir: &Path) -> PathBuf {
    let duration = 10_000_000;
    let mut s = Scenario::new(1, duration);
    let process = |pid, name: &str, command_line: &str| ProcessSpec {
        pid,
        parent_pid: 0,
        name: name.into(),
        command_line: command_line.into(),
        session_id: 1,
        user_sid: Sid::local_system(),
        start: None,
        end: None,
    };
    s.processes = vec![process(0, "Idle", "Idle"), process(1234, HOSTILE_NAME, HOSTILE_COMMAND_LINE)];
    s.threads.push(ThreadSpec {
        tid: 5678,
        pid: 1234,
        start: None,
        end: None,
        base_priority: 8,
        start_address: 0x1000,
        name: HOSTILE_COMMAND_LINE.into(),
    });
    s.schedule.push(Slice { cpu: 0, tid: 5678, start: 0, end: duration, priority: 8, out: SwitchOut::waiting(6) });
    let (bytes, _) = s.to_bytes().expect("consistent scenario");
    let path = dir.join("hostile.etl");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Control bytes a terminal acts on: C0 but the line feed that ends a line
/// (and the tab between TSV fields), DEL, and C1 controls (UTF-8 C2 80..C2 9F).
fn raw_control(out: &[u8], tab_allowed: bool) -> Option<usize> {
    out.iter().enumerate().position(|(i, &b)| {
        (b < 0x20 && b != b'\n' && !(tab_allowed && b == b'\t'))
            || b == 0x7f
            || (b == 0xc2 && out.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

fn run(args: &[&str], trace: &Path) -> String {
    let output = Command::new(ETWQ).args(args).arg(trace).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    let tsv = args.contains(&"tsv");
    if tsv {
        // Tabs only between fields: every line has as many.
        let text = String::from_utf8_lossy(&output.stdout);
        let tabs = text.lines().next().map_or(0, |l| l.matches('\t').count());
        assert!(text.lines().all(|l| l.matches('\t').count() == tabs), "{args:?}: a raw tab in a field");
    }
    if let Some(at) = raw_control(&output.stdout, tsv) {
        let from = at.saturating_sub(60);
        panic!("{args:?}: a raw control byte at {at}: {:?}", String::from_utf8_lossy(&output.stdout[from..at + 10]));
    }
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn terminal_control_from_the_trace_is_escaped_in_every_text_format() {
    let dir = tempfile::tempdir().unwrap();
    let trace = hostile_trace(dir.path());
    for format in ["table", "line", "csv", "tsv", "md", "json"] {
        for query in ["processes", "threads", "events"] {
            let out = run(&["--format", format, "-c", query], &trace);
            // The text is there, visibly escaped: the test sees the hostile rows.
            let escaped_clipboard = if format == "json" { "\\u001b]52;c;" } else { "\\x1b]52;c;" };
            assert!(out.contains(escaped_clipboard), "{format} {query}: {out}");
            assert!(!out.lines().any(|l| l.starts_with("FORGED") || l.starts_with("0.000000000 cpu=0 pid=4 forged")));
        }
    }
    let dump = run(&["dump", "--format", "text"], &trace);
    assert!(dump.contains("\\x1b[2J\\r\\nFORGED.exe"), "{dump}");
    assert!(dump.contains("\\u{9b}2J\\x7f\\r\\n0.000000000 cpu=0 pid=4 forged"), "{dump}");
    // One line per event: none forged. (The JSON dump is counted, not
    // checked: it escapes C0 controls as JSON requires, DEL and C1 it leaves.)
    let json = Command::new(ETWQ).args(["dump", "--format", "json"]).arg(&trace).output().unwrap();
    let events = json.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    assert_eq!(dump.lines().count(), events);
}

/// Seconds as queries show `ts`: whole seconds, a point, nine digits.
fn seconds(ns: i64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

#[test]
fn the_text_dump_shows_seconds_like_queries() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("demo.etl");
    std::fs::write(&trace, demo::demo_trace_bytes()).unwrap();
    let text = run(&["dump", "--format", "text", "--limit", "3000"], &trace);
    let json = run(&["dump", "--format", "json", "--limit", "3000"], &trace);
    let mut past_a_millisecond = 0;
    for (text, json) in text.lines().zip(json.lines()) {
        let ts_ns = serde_json::from_str::<serde_json::Value>(json).unwrap()["ts_ns"].as_i64().unwrap();
        past_a_millisecond += usize::from(ts_ns >= 1_000_000);
        assert_eq!(text.split_whitespace().next(), Some(seconds(ts_ns).as_str()), "{text}");
    }
    assert!(past_a_millisecond > 0, "every event in the first millisecond: seconds and ms would not differ");
    // The same instants as a query's ts column.
    let table = run(&["--format", "table", "-c", "events select ts limit 3000"], &trace);
    let last_dump_second = text.lines().last().unwrap().split_whitespace().next().unwrap().to_string();
    assert!(table.contains(&format!(" {last_dump_second} ")), "{last_dump_second} not a ts of the table");
}

/// Runs etwq with stdout a pipe that is closed before it writes (or after one
/// line, as `| head -1` does): it must end quietly, with success.
fn closes_quietly(args: &[&str], stdin: Option<&str>, read_a_line: bool) {
    let mut child = Command::new(ETWQ)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    if read_a_line {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "{args:?}: no output at all");
    } else {
        drop(stdout);
    }
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {:?} {stderr}", output.status);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
}

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("demo.etl");
    std::fs::write(&trace, demo::demo_trace_bytes()).unwrap();
    let trace = trace.to_str().unwrap();
    for read_a_line in [false, true] {
        closes_quietly(&["--demo", "-c", "samples"], None, read_a_line);
    }
    for format in ["csv", "tsv", "json", "md"] {
        closes_quietly(&["--demo", "--format", format, "-c", "samples"], None, false);
    }
    closes_quietly(&["--demo", "-c", "samples | tree"], None, false);
    closes_quietly(&["--demo", "-c", "samples | folded"], None, true);
    closes_quietly(&["--demo"], Some("samples\nsyscalls\n"), false);
    closes_quietly(&["summary", trace], None, false);
    closes_quietly(&["summary", "--format", "md", trace], None, true);
    closes_quietly(&["info", trace], None, false);
    closes_quietly(&["dump", trace], None, true);
}

/// The peak resident memory of a finished child, in bytes (wait4's rusage).
#[cfg(target_os = "linux")]
fn wait_for_peak_rss(child: std::process::Child) -> (std::process::ExitStatus, u64) {
    use std::os::unix::process::ExitStatusExt;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own unwaited child; status and usage outlive the call.
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    // Linux counts ru_maxrss in KiB.
    (std::process::ExitStatus::from_raw(status), usage.ru_maxrss as u64 * 1024)
}

/// Before results streamed, `events` of this 4.8 MB trace grew to 22 GB in
/// the table format (every row padded to a 278,821-character cell) and to
/// 570 MB in json. The trace's tables take about 170 MB; the bound leaves
/// room for that and nothing like a whole rendering.
#[cfg(target_os = "linux")]
#[test]
fn every_event_of_a_real_trace_prints_in_bounded_memory() {
    const BOUND_BYTES: u64 = 400 << 20;
    let Some(corpus) = common::corpus_dir() else { return };
    let trace = corpus.join("perfview").join("net.4.5.2.x64.etl");
    for format in ["table", "csv", "tsv", "json", "md"] {
        let mut child = Command::new(ETWQ)
            .args(["--format", format, "-c", "events"])
            .arg(&trace)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (mut written, mut buffer, mut longest_line, mut line) = (0usize, vec![0; 1 << 16], 0usize, 0usize);
        loop {
            let n = stdout.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            written += n;
            for &b in &buffer[..n] {
                line = if b == b'\n' { 0 } else { line + 1 };
                longest_line = longest_line.max(line);
            }
        }
        let (status, peak) = wait_for_peak_rss(child);
        eprintln!("{format}: {written} bytes, longest line {longest_line}, peak RSS {} MiB", peak >> 20);
        assert!(status.success(), "{format}: {status:?}");
        assert!(written > 40 << 20, "{format}: only {written} bytes");
        assert!(peak < BOUND_BYTES, "{format}: peak RSS {} MiB", peak >> 20);
        // The 278,821-character GCBulkMovedObjectRanges value: whole in the
        // text formats, cut in the table.
        if format == "table" {
            assert!(longest_line < 20_000, "{format}: a line of {longest_line} bytes");
        } else {
            assert!(longest_line > 278_821, "{format}: the longest line has {longest_line} bytes");
        }
    }
}

/// A stdin line that is not UTF-8 is an error naming its line; the lines after it still run and the
/// exit is a failure.
#[test]
fn a_stdin_line_that_is_not_utf8_is_reported_and_the_rest_still_run() {
    let mut child = Command::new(ETWQ)
        .args(["--demo", "--format", "tsv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: &[u8] =
        b"processes select pid | limit 1\nprocesses where name = '\xff\xfe'\nthreads select tid | limit 1\n";
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "exit must fail; stderr: {stderr}");
    assert!(stderr.contains("line 2") && stderr.contains("UTF-8"), "{stderr}");
    let headers: Vec<&str> = stdout.lines().filter(|l| l.chars().all(char::is_alphabetic)).collect();
    assert_eq!(headers, ["pid", "tid"], "the first and third queries ran: {stdout}");
}

/// Writes the demo trace to `path` through `etwq demo --write`.
fn write_demo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new(ETWQ).args(["demo", "--write"]).arg(path).status().unwrap();
    assert!(status.success());
}

/// `etwq info DIR` shows every trace in the directory, in every format, each named.
#[test]
fn info_on_a_directory_shows_every_trace() {
    let dir = tempfile::tempdir().unwrap();
    write_demo(&dir.path().join("first.etl"));
    write_demo(&dir.path().join("second.etl"));
    for format in ["table", "csv", "tsv", "json", "md"] {
        let output = Command::new(ETWQ).args(["info", "--format", format]).arg(dir.path()).output().unwrap();
        assert!(output.status.success(), "{format}: {}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        for name in ["first.etl", "second.etl"] {
            assert!(stdout.contains(name), "{format} names {name}: {stdout}");
        }
        let records = stdout.matches("logger_name").count();
        assert_eq!(records, 2, "{format}: a logger_name row per trace: {stdout}");
    }
}

/// Two traces with the same file name in different directories keep apart in the `trace` column,
/// each named by its shortest unique path suffix.
#[test]
fn traces_with_the_same_file_name_are_told_apart_by_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_demo(&dir.path().join("a").join("AMSITrace.etl"));
    write_demo(&dir.path().join("b").join("AMSITrace.etl"));
    let output = Command::new(ETWQ)
        .args(["--format", "tsv", "-c", "processes select trace"])
        .arg(dir.path().join("a"))
        .arg(dir.path().join("b"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let names: std::collections::BTreeSet<&str> = stdout.lines().skip(1).collect();
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a/AMSITrace.etl", "b/AMSITrace.etl"]);
}

/// Ctrl-C in a one-shot run (queries on stdin here, as with -c) ends the
/// program with a message and exit code 130, even while it waits on work
/// that cannot stop halfway (a read here, a model build alike).
#[test]
fn sigint_ends_a_one_shot_run_with_130() {
    let mut child = Command::new(ETWQ)
        .arg("--demo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"syscalls select count() as n\n").unwrap();
    stdin.flush().unwrap();
    // A first answer: the handler is in place (it is installed before the demo is built).
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains(char::is_numeric) {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "etwq ended before answering");
    }
    let started = std::time::Instant::now();
    // SAFETY: a signal to our own child, which is alive (it holds stdin open).
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(130), "{status:?}: {stderr}");
    assert!(stderr.contains("etwq: interrupted"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
}

/// A build that would need more memory than etwq may use is refused before it
/// starts, with the estimate and the way out; `off` lifts the check.
#[test]
fn a_build_too_big_for_the_memory_limit_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("demo.etl");
    write_demo(&trace);
    let run_with = |limit: &str, query: &str| {
        Command::new(ETWQ).env("ETWQ_MEMORY_LIMIT", limit).args(["-c", query]).arg(&trace).output().unwrap()
    };
    for query in ["syscalls select count()", "events select count()", "processes"] {
        let refused = run_with("1M", query);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{query}: {stderr}");
        assert!(refused.stdout.is_empty(), "{query}: no partial answer");
        assert!(stderr.contains(" of demo.etl needs about "), "{query}: {stderr}");
        assert!(stderr.contains(" records"), "{query}: {stderr}");
        assert!(stderr.contains("), and ETWQ_MEMORY_LIMIT allows 0.0 GB"), "{query}: {stderr}");
        assert!(stderr.contains("ETWQ_MEMORY_LIMIT=off"), "{query}: {stderr}");
        assert!(!stderr.contains("panicked"), "{query}: {stderr}");
    }
    for limit in ["off", "64G"] {
        let answered = run_with(limit, "syscalls select count()");
        assert!(answered.status.success(), "{limit}: {}", String::from_utf8_lossy(&answered.stderr));
    }
    let bad = run_with("lots", "processes");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ETWQ_MEMORY_LIMIT=lots is not a size"));
}

/// `| folded` prints the lines flamegraph.pl and inferno read, as they are:
/// no table around them, in the table format; csv keeps its header.
#[test]
fn folded_stacks_print_as_bare_lines() {
    let run = |format: &str| {
        let args = ["--demo", "--format", format, "-c", "samples where proc = \"server.exe\" | folded"];
        let output = Command::new(ETWQ).args(args).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let bare = run("table");
    let lines: Vec<&str> = bare.lines().collect();
    assert!(lines.len() > 3, "{bare}");
    for line in &lines {
        let (stack, count) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        assert!(count.parse::<u64>().is_ok() && stack.contains('!') && !stack.contains('|'), "{line}");
    }
    let csv = run("csv");
    assert_eq!(csv.lines().next(), Some("folded"));
    assert_eq!(csv.lines().skip(1).collect::<Vec<_>>(), lines);
}
