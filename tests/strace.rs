//! `etwq strace` on the demo: strace.exe's failing calls, a line each with
//! the file or registry key the call touched, checked against what the
//! scenario builder wrote; `--failed` is NT_ERROR; `-c` sums per function.
use std::process::Command;

const ETWQ: &str = env!("CARGO_BIN_EXE_etwq");

fn strace(args: &[&str]) -> String {
    let output = Command::new(ETWQ).arg("strace").arg("--demo").args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// (object, status) of each of strace.exe's calls, in time order, that `keep` keeps.
fn written(keep: impl Fn(u32) -> bool) -> Vec<(Option<String>, u32)> {
    let scenario = demo::demo_incident();
    let facts = demo::demo_facts();
    let mut calls: Vec<_> = scenario.syscalls.iter().filter(|c| c.tid == facts.strace_tid && keep(c.status)).collect();
    calls.sort_by_key(|c| c.enter);
    let objects: Vec<(i64, &str)> = scenario
        .registry
        .iter()
        .map(|r| (r.ts, r.key.as_str()))
        .chain(scenario.file_opens.iter().map(|f| (f.ts, f.path.as_str())))
        .collect();
    calls
        .iter()
        .map(|c| {
            let exit = c.exit.unwrap_or(i64::MAX);
            let object = objects.iter().find(|(ts, _)| c.enter <= *ts && *ts <= exit).map(|(_, o)| o.to_string());
            (object, c.status)
        })
        .collect()
}

/// (object, status) of a line: `proc(pid) tid func("object") = 0xSTATUS NAME`.
fn parsed(line: &str) -> (Option<String>, u32) {
    let (call, result) = line.rsplit_once(" = ").unwrap_or_else(|| panic!("{line}"));
    let arguments = &call[call.find('(').unwrap()..];
    let arguments = &arguments[arguments[1..].find('(').map_or(0, |i| i + 1)..];
    let object = arguments.strip_prefix("(\"").and_then(|a| a.strip_suffix("\")")).map(str::to_string);
    let code = result.split(' ').next().unwrap().trim_start_matches("0x");
    (object, u32::from_str_radix(code, 16).unwrap_or_else(|_| panic!("{line}")))
}

#[test]
fn failing_calls_print_with_the_keys_and_files_they_touched() {
    let out = strace(&["-n", "strace.exe", "--failed"]);
    let lines: Vec<&str> = out.lines().collect();
    let want = written(|status| status >= 0xC000_0000);
    assert_eq!(lines.len(), want.len());
    let got: Vec<_> = lines.iter().map(|l| parsed(l)).collect();
    assert_eq!(got, want);
    // The war story's kind of line: process(pid) thread function("argument") = code name.
    let facts = demo::demo_facts();
    let head = format!("strace.exe({}) {} ", facts.strace_pid, facts.strace_tid);
    assert!(lines.iter().all(|l| l.starts_with(&head)), "{}", lines[0]);
    let key_not_found =
        lines.iter().find(|l| l.contains("(\"\\REGISTRY\\") && l.ends_with("STATUS_OBJECT_NAME_NOT_FOUND"));
    assert!(key_not_found.is_some(), "{}", lines[0]);
    assert!(got.iter().filter(|(object, _)| object.is_some()).count() * 2 > got.len());
}

#[test]
fn warnings_show_on_request_and_timeouts_are_not_failures() {
    let with_warnings = strace(&["-n", "STRACE.EXE", "--failed", "--warnings", "-T"]);
    let want = written(|status| status >= 0x8000_0000);
    assert_eq!(with_warnings.lines().count(), want.len());
    assert!(want.iter().any(|(_, s)| *s < 0xC000_0000), "the demo has warnings");
    assert!(with_warnings.lines().all(|l| l.ends_with('>')), "-T adds <seconds>");
    let all = strace(&["-n", "strace.exe"]);
    assert_eq!(all.lines().count(), written(|_| true).len());
    assert!(all.contains("= 0x00000102 STATUS_TIMEOUT"));
    assert!(!strace(&["-n", "strace.exe", "--failed"]).contains("STATUS_TIMEOUT"));
}

#[test]
fn the_summary_counts_calls_and_errors_per_function() {
    let csv = strace(&["-n", "strace.exe", "-c", "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("func,calls,errors,total,average,max"));
    let (mut calls, mut errors) = (0, 0);
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        calls += cells[1].parse::<usize>().unwrap();
        errors += cells[2].parse::<usize>().unwrap();
    }
    assert_eq!(calls, written(|_| true).len());
    assert_eq!(errors, written(|status| status >= 0xC000_0000).len());
}

#[test]
fn a_process_by_id_and_a_missing_one() {
    let facts = demo::demo_facts();
    let by_id = strace(&["-p", &facts.strace_pid.to_string()]);
    assert_eq!(by_id, strace(&["-n", "strace.exe"]));
    assert_eq!(strace(&["-n", "no-such.exe"]), "");
    let output = Command::new(ETWQ).args(["strace", "--demo", "--warnings"]).output().unwrap();
    assert!(!output.status.success(), "--warnings needs --failed");
}

/// A machine where pid 10 starts 20, which starts 30; pid 40 is unrelated.
/// Each has one thread making one call.
fn family_trace(dir: &std::path::Path) -> std::path::PathBuf {
    use demo::scenario::{ProcessSpec, Slice, SwitchOut, SyscallSpec, ThreadSpec};
    let duration = 40_000;
    let mut s = demo::Scenario::new(1, duration);
    let process =
        |pid, parent_pid, name: &str, start| ProcessSpec { start, ..ProcessSpec::running(pid, parent_pid, name) };
    s.processes = vec![
        process(0, 0, "Idle", None),
        process(10, 0, "parent.exe", None),
        process(20, 10, "child.exe", Some(5_000)),
        process(30, 20, "grandchild.exe", Some(10_000)),
        process(40, 0, "other.exe", None),
    ];
    for (i, pid) in [10u32, 20, 30, 40].into_iter().enumerate() {
        let tid = pid * 10;
        let start = (pid != 10 && pid != 40).then_some(5_000 * (i as i64));
        s.threads.push(ThreadSpec { start, ..ThreadSpec::running(tid, pid, 0x1000) });
        let from = 15_000 + 5_000 * i as i64;
        s.schedule.push(Slice { cpu: 0, tid, start: from, end: from + 4_000, priority: 8, out: SwitchOut::waiting(6) });
        let call = SyscallSpec {
            tid,
            enter: from + 1_000,
            exit: Some(from + 2_000),
            address: 0xFFFF_F800_0060_1000,
            status: 0xC000_0034,
            lost_enter: false,
            lost_exit: false,
        };
        s.syscalls.push(call);
    }
    let (bytes, _) = s.to_bytes().expect("a consistent machine");
    let path = dir.join("family.etl");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn follow_lists_the_calls_of_the_children_and_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let trace = family_trace(dir.path());
    let run = |args: &[&str]| {
        let output = Command::new(ETWQ).arg("strace").arg(&trace).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        let out = String::from_utf8(output.stdout).unwrap();
        out.lines().map(|l| l.split(')').next().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(run(&["-p", "10"]), ["parent.exe(10"]);
    assert_eq!(run(&["-p", "10", "-f"]), ["parent.exe(10", "child.exe(20", "grandchild.exe(30"]);
    assert_eq!(run(&["-n", "child.exe", "-f"]), ["child.exe(20", "grandchild.exe(30"]);
}
