//! The script engine and the investigation library in scripts/.
//!
//! Every library script runs on the demo trace and must print the planted
//! facts (`demo_facts()`); every one runs on a real trace from the corpus
//! without error and says "nothing found" where that trace lacks its data.
//! Script errors name file:line:col; endless loops stop; Ctrl-C stops.
mod common;

use demo::{demo_facts, DemoFacts};
use etwq::script::{run_script_with, ScriptError, ScriptOptions};
use session::Session;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// One demo session for all tests: building it is the slow part.
fn demo() -> MutexGuard<'static, Session> {
    static DEMO: OnceLock<Mutex<Session>> = OnceLock::new();
    DEMO.get_or_init(|| Mutex::new(Session::demo())).lock().unwrap_or_else(|e| e.into_inner())
}

fn facts() -> &'static DemoFacts {
    static FACTS: OnceLock<DemoFacts> = OnceLock::new();
    FACTS.get_or_init(demo_facts)
}

fn script_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts")).join(name)
}

/// Runs script text, returning what it printed.
fn run_text(session: &mut Session, name: &str, source: &str, args: &[&str]) -> Result<String, ScriptError> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    run_script_with(session, name, source, &args, &ScriptOptions::capturing(buffer.clone()))?;
    let out = buffer.lock().unwrap().clone();
    Ok(out)
}

/// Runs a library script, returning what it printed; an error fails the test.
fn run_library(session: &mut Session, name: &str, args: &[&str]) -> String {
    let source = std::fs::read_to_string(script_path(name)).unwrap();
    match run_text(session, name, &source, args) {
        Ok(out) => out,
        Err(e) => panic!("{e}"),
    }
}

/// The line starting with `prefix`, or a failure showing the whole output.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line '{prefix}...' in:\n{out}"))
}

fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn interval_s(f: &DemoFacts) -> f64 {
    f64::from(f.profile_interval_100ns) * 100e-9
}

#[test]
fn rundown_contention_flags_the_driver_in_the_logging_path() {
    let f = facts();
    let out = run_library(&mut demo(), "rundown_contention.rhai", &[]);
    assert!(out.contains(&format!("share of {} samples", grouped(f.total_samples))), "{out}");
    let flag = line(&out, &format!("FLAG {}:", f.driver_name));
    assert!(flag.contains("third-party driver takes rundown protection inside the ETW logging path"), "{flag}");
    // Rundown samples are the driver's samples minus those in the hook's own body.
    let in_rundown = f.driver_samples - f.driver_exclusive_samples;
    let share = 100.0 * in_rundown as f64 / f.total_samples as f64;
    let expected = format!(
        "{} samples, {:.3} s CPU, {share:.2}% of sampled CPU",
        grouped(in_rundown),
        in_rundown as f64 * interval_s(f)
    );
    assert!(flag.contains(&expected), "{flag}\nexpected {expected}");
    assert_eq!(out.matches("FLAG ").count(), 1, "{out}");
}

#[test]
fn av_cost_measures_the_driver_and_its_energy() {
    let f = facts();
    let out = run_library(&mut demo(), "av_cost.rhai", &["12.5"]);
    let cpu_s = f.driver_samples as f64 * interval_s(f);
    let total = line(&out, "TOTAL");
    let expected = format!(
        "TOTAL {} of {} samples, {cpu_s:.3} CPU-seconds, {:.2}% of sampled CPU",
        grouped(f.driver_samples),
        grouped(f.total_samples),
        100.0 * f.driver_share
    );
    assert!(total.starts_with(&expected), "{total}\nexpected {expected}");
    let machine = 100.0 * cpu_s * 1e9 / (f.duration_ns as f64 * f64::from(f.cpu_count));
    assert!(total.ends_with(&format!("{machine:.2}% of {} CPUs over 20.000 s", f.cpu_count)), "{total}");
    let energy = line(&out, "ENERGY");
    assert!(energy.starts_with(&format!("ENERGY {:.1} J", cpu_s * 12.5)), "{energy}");
    assert!(energy.ends_with("at 12.5 W per busy core"), "{energy}");
    assert!(out.contains(f.driver_name) && out.contains(&format!("server.exe ({})", f.server_pid)), "{out}");
}

#[test]
fn syscall_overhead_puts_the_tracing_path_against_the_calls_work() {
    let f = facts();
    let out = run_library(&mut demo(), "syscall_overhead.rhai", &[]);
    // Every sample in the driver is in its hook of system-call logging, and
    // nothing else in the demo runs under PerfInfoLogSysCall*.
    let total = line(&out, "TOTAL");
    assert!(total.starts_with(&format!("TOTAL tracing {} samples", grouped(f.driver_samples))), "{total}");
    let row = line(&out, "| NtDelayExecution");
    assert!(row.contains(f.driver_name), "{row}");
    let factor: f64 = total.rsplit("factor ").next().unwrap().parse().unwrap();
    assert!(factor > 1.0, "tracing costs more than the call itself: {total}");
}

#[test]
fn spin_sleep0_finds_the_spinning_workers() {
    let f = facts();
    let out = run_library(&mut demo(), "spin_sleep0.rhai", &[]);
    let spin = line(&out, &format!("SPIN server.exe ({}):", f.server_pid));
    let tids: Vec<String> = f.spinning_tids.iter().map(u32::to_string).collect();
    assert!(spin.contains(&format!("{} threads [{}]", tids.len(), tids.join(", "))), "{spin}");
    assert_eq!(out.matches("SPIN ").count(), 1, "{out}");
    // Calls made before a CPU's first context switch have no thread yet and
    // are not counted: at most one per CPU.
    let calls: usize =
        spin.split(", ").nth(tids.len()).unwrap().trim_end_matches(" calls").replace(',', "").parse().unwrap();
    assert!(
        calls <= f.spin_calls && calls + usize::from(f.cpu_count) * 20 >= f.spin_calls,
        "{calls} vs {}",
        f.spin_calls
    );
    let rate: f64 =
        spin.split(", ").nth(tids.len() + 1).unwrap().trim_end_matches(" calls/s per thread").parse().unwrap();
    assert!(
        (rate - f.spin_calls_per_thread_per_second).abs() < 2.0,
        "{rate} vs {}",
        f.spin_calls_per_thread_per_second
    );
    assert!(out.contains("server.exe!SpinLock::Acquire"), "{out}");
}

#[test]
fn profiling_gaps_finds_the_planted_gap() {
    let f = facts();
    let out = run_library(&mut demo(), "profiling_gaps.rhai", &[]);
    let fmt = |ns: i64| format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
    let gap = line(&out, "GAP ");
    let expected = format!("GAP {} s to {} s", fmt(f.last_sample_before_gap_ns), fmt(f.first_sample_after_gap_ns));
    assert!(gap.starts_with(&expected), "{gap}\nexpected {expected}");
    assert!(f.last_sample_before_gap_ns < f.profile_gap_ns.0 && f.profile_gap_ns.1 <= f.first_sample_after_gap_ns);
    assert!(gap.contains("3.500 s without profile samples"), "{gap}");
    assert_eq!(out.matches("GAP ").count(), 1, "{out}");
    assert!(out.contains("server.exe"), "what ran meanwhile: {out}");
}

#[test]
fn strace_lists_the_failing_calls_per_status() {
    let f = facts();
    let out = run_library(&mut demo(), "strace.rhai", &["strace.exe", "--failed", "--limit", "3"]);
    let failures: usize = f.strace_failures.iter().map(|s| s.count).sum();
    assert!(out.contains(&format!("{} failing calls of strace.exe", grouped(failures))), "{out}");
    for s in &f.strace_failures {
        assert!(out.lines().any(|l| l == format!("FAILED {} {}", s.name, s.count)), "{} in\n{out}", s.name);
    }
    assert_eq!(out.lines().filter(|l| l.starts_with("FAILED ")).count(), f.strace_failures.len(), "{out}");
    for (call, status, count) in &f.strace_failures_by_call {
        let name = decode::ntstatus::status_text(*status);
        assert!(out.lines().any(|l| l == format!("FAILED_CALL {call} {name} {count}")), "{call} {name} in\n{out}");
    }
    // The listing: time, thread, function = status <duration>.
    let first = out.lines().next().unwrap();
    assert!(
        first.contains(&format!(" {} Nt", f.strace_tid)) && first.contains(" = STATUS_") && first.ends_with('>'),
        "{first}"
    );
    assert!(out.contains(&format!("... {} more calls", grouped(failures - 3))), "{out}");
}

#[test]
fn top_cpu_ranks_processes_and_marks_the_driver() {
    let f = facts();
    let out = run_library(&mut demo(), "top_cpu.rhai", &["3"]);
    let first_row = out.lines().skip_while(|l| !l.starts_with("+=")).nth(1).unwrap();
    assert!(first_row.starts_with("| server.exe"), "{out}");
    let mark = line(&out, &format!("THIRD_PARTY {}:", f.driver_name));
    assert!(mark.contains(&format!("{} samples with the IP in it", grouped(f.driver_exclusive_samples))), "{mark}");
    assert!(out.contains("ntoskrnl.exe!ExfAcquireRundownProtection"), "{out}");
}

/// The corpus trace without system calls: each script runs and says what it lacks.
#[test]
fn every_script_runs_on_a_real_trace() {
    let Some(dir) = common::corpus_dir() else { return };
    let path = dir.join("perfview/net.4.5.2.x64.etl");
    let mut session = Session::open(&path).unwrap();
    let nothing = "nothing found";
    for (script, expected) in [
        ("rundown_contention.rhai", "rundown_contention: "),
        ("av_cost.rhai", "TOTAL "),
        ("syscall_overhead.rhai", "syscall_overhead: no system calls in this trace: nothing found"),
        ("spin_sleep0.rhai", "spin_sleep0: no NtDelayExecution system calls in this trace: nothing found"),
        ("profiling_gaps.rhai", nothing),
        ("strace.rhai", "strace: no system calls in this trace: nothing found"),
        ("top_cpu.rhai", "Top 5 processes by sampled CPU"),
    ] {
        let out = run_library(&mut session, script, &[]);
        assert!(out.contains(expected), "{script}:\n{out}");
    }
}

#[test]
fn api_tables_rows_and_helpers() {
    let source = r#"
        let t = query("syscalls where ret != 0 group by status select count() as n order by n desc");
        print(t.columns);
        print(t.len() == t.row_count);
        let big = t.filter(|r| r.n > 200).sort("n").top(2);
        print(big.column("status"));
        print(t[0].status + " " + status_name(0xC0000034) + " " + fmt_ns(1500000) + " " + fmt_n(1234567));
        let s = query("samples where module = \"tedrdrv.sys\" limit 1");
        print(symbolize(s[0].ip, s[0].pid));
        print(stack_frames(s[0].stack).len() > 1);
        print(saved_queries().contains("failing"));
        save_query("mine = syscalls where ret != 0 | limit 2");
        print(query("@mine").len());
        print(trace.cpus + " " + trace.duration_s);
        show(table([#{ a: 1, b: "x" }], ["b", "a"]));
        for r in big { print(r.n); }
    "#;
    let out = run_text(&mut demo(), "api.rhai", source, &[]).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"["status", "n"]"#);
    assert_eq!(lines[1], "true");
    // The two smallest over 200: strace.exe's missing paths, and server.exe's waits for its lock that a worker ended.
    assert_eq!(lines[2], r#"["STATUS_OBJECT_PATH_NOT_FOUND", "STATUS_ALERTED"]"#);
    assert_eq!(lines[3], "STATUS_TIMEOUT STATUS_OBJECT_NAME_NOT_FOUND 1.500 ms 1,234,567");
    assert!(lines[4].starts_with("tedrdrv.sys+0x"), "{out}");
    assert_eq!(&lines[5..9], ["true", "true", "2", "16 20.0"]);
    assert!(lines[10].starts_with("| b ") || lines[10].starts_with("| b"), "{out}");
}

/// `symbolize()` and `frame_func()` name an address as the tables' `func` column
/// does: one resolver behind both. Each distinct (process, address) of the demo's
/// samples and system calls, at its first time.
#[test]
fn scripts_name_addresses_as_the_tables_do() {
    let source = r#"
        for q in [
            "samples group by pid, ip, module, func select min(ts) as ts, ip as address",
            "syscalls group by pid, address, module, func select min(ts) as ts",
        ] {
            for r in query(q) {
                let pid = r.pid ?? 0;
                print(`${r["module"] ?? ""}|${r.func ?? ""}|${frame_func(r.address, pid, r.ts)}|${symbolize(r.address, pid, r.ts)}`);
            }
        }
    "#;
    let out = run_text(&mut demo(), "same_names.rhai", source, &[]).unwrap();
    let mut named = 0;
    for line in out.lines() {
        let [module, table_func, script_func, symbolized]: [&str; 4] =
            line.split('|').collect::<Vec<_>>().try_into().unwrap_or_else(|_| panic!("{line}"));
        assert_eq!(table_func, script_func, "{line}");
        if !table_func.is_empty() {
            named += 1;
            assert_eq!(symbolized, format!("{module}!{table_func}"), "{line}");
        }
    }
    assert!(named > 20 && out.lines().count() > named, "{named} named of:\n{out}");
}

/// Options that write into `dir` and print into a buffer.
fn writing_in(dir: &std::path::Path) -> ScriptOptions {
    ScriptOptions { write_dir: dir.to_path_buf(), ..ScriptOptions::capturing(Arc::new(Mutex::new(String::new()))) }
}

#[test]
fn export_writes_the_one_file_and_import_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        "export(query(\"syscalls where ret != 0 group by status select count() as n order by n desc\"), \"out.csv\");";
    run_script_with(&mut demo(), "export.rhai", source, &[], &writing_in(dir.path())).unwrap();
    let text = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(text.starts_with("status,n\nSTATUS_TIMEOUT,"), "{text}");
    let err = run_text(&mut demo(), "bad.rhai", "\nexport(query(\"syscalls limit 1\"), \"x.exe\");", &[]).unwrap_err();
    assert!(err.message.contains(".csv, .tsv, .json or .md") && err.line == Some(2), "{err}");
    let err = run_text(&mut demo(), "bad.rhai", "export(42, \"x.csv\");", &[]).unwrap_err();
    assert_eq!(err.to_string(), "bad.rhai:1:8: export expects a table from query(), not i64");
    let err = run_text(&mut demo(), "import.rhai", "import \"secrets\" as s;", &[]).unwrap_err();
    assert!(err.message.contains("Module not found") && err.line == Some(1), "{err}");
}

/// `export` writes inside its directory only, through no link, over nothing
/// unless through `export_over`.
#[test]
fn export_stays_in_its_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("work");
    std::fs::create_dir(&dir).unwrap();
    let options = writing_in(&dir);
    let export = |path: &str| {
        let source = format!("export(query(\"syscalls limit 2\"), \"{path}\");");
        run_script_with(&mut demo(), "x.rhai", &source, &[], &options)
    };
    let err = export("../escape.csv").unwrap_err();
    assert!(err.message.contains("outside the script's directory"), "{err}");
    assert!(!root.path().join("escape.csv").exists());
    let absolute = root.path().join("abs.csv");
    let err = export(&absolute.display().to_string()).unwrap_err();
    assert!(err.message.contains("outside the script's directory"), "{err}");
    assert!(!absolute.exists());

    // A link to outside, as the file or as a directory on the way.
    let outside = root.path().join("victim.csv");
    std::fs::write(&outside, "precious").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("link.csv")).unwrap();
    std::os::unix::fs::symlink(root.path(), dir.join("up")).unwrap();
    for path in ["link.csv", "up/victim.csv", "up/new.csv"] {
        let err = export(path).unwrap_err();
        assert!(err.message.contains("symbolic link"), "{path}: {err}");
    }
    let err = run_script_with(
        &mut demo(),
        "x.rhai",
        "export_over(query(\"syscalls limit 2\"), \"link.csv\");",
        &[],
        &options,
    )
    .unwrap_err();
    assert!(err.message.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
    assert!(!root.path().join("new.csv").exists());

    // No overwrite unless asked.
    export("t.csv").unwrap();
    std::fs::write(dir.join("t.csv"), "old").unwrap();
    let err = export("t.csv").unwrap_err();
    assert!(err.message.contains("exists"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("t.csv")).unwrap(), "old");
    let source = "export_over(query(\"syscalls limit 2\"), \"t.csv\");";
    run_script_with(&mut demo(), "x.rhai", source, &[], &options).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("t.csv")).unwrap().lines().count(), 3);

    // A flame view would write its SVG anywhere: refused in scripts.
    let target = root.path().join("flame.svg");
    let source = format!("query(\"samples | flame {}\");", target.display());
    let err = run_script_with(&mut demo(), "x.rhai", &source, &[], &options).unwrap_err();
    assert!(err.message.contains("flame"), "{err}");
    assert!(!target.exists());
}

#[test]
fn errors_name_the_line_and_column() {
    let err = run_text(&mut demo(), "q.rhai", "let a = 1;\nlet t = query(\"syscalls whre\");\n", &[]).unwrap_err();
    assert_eq!(err.to_string().lines().next().unwrap(), "q.rhai:2:9: query failed: error: unexpected 'whre'; expected a clause (where, between, join, during, group by, select, order by, limit, top) or the end of the query; did you mean 'where'?");
    let err = run_text(&mut demo(), "t.rhai", "query(\"syscalls limit 1\")[5];", &[]).unwrap_err();
    assert!(err.message.contains("row 5 is out of range"), "{err}");
}

#[test]
fn an_endless_loop_stops_at_the_operations_limit() {
    let buffer = Arc::new(Mutex::new(String::new()));
    let options = ScriptOptions { max_operations: 100_000, ..ScriptOptions::capturing(buffer) };
    let err =
        run_script_with(&mut demo(), "loop.rhai", "let i = 0;\nloop {\n  i += 1;\n}\n", &[], &options).unwrap_err();
    assert_eq!(err.script, "loop.rhai");
    assert_eq!(err.line, Some(3));
    assert!(err.message.contains("limit of operations"), "{err}");
    // Deep recursion and huge strings are refused too, as errors.
    let err = run_text(&mut demo(), "deep.rhai", "fn f(n) { f(n + 1) }\nf(0);", &[]).unwrap_err();
    assert!(err.message.to_lowercase().contains("stack overflow"), "{err}");
    let err = run_text(&mut demo(), "big.rhai", "let s = \"x\";\nloop { s += s; }", &[]).unwrap_err();
    assert!(err.message.to_lowercase().contains("too large"), "{err}");
}

/// Growing an array or map costs rhai the square of its size (it re-counts
/// the value after each change), far below the operations limit: the default
/// size limits stop every endless growth within seconds.
#[test]
fn endless_growth_stops_at_the_size_limits() {
    let cases = [
        ("let a = [];\nloop { a.push(1) }", "array"),
        ("let a = [];\nloop { a.push(\"a string\") }", "array"),
        ("let a = [];\nloop { a.push(#{ x: 1 }) }", "array"),
        ("let a = [];\nloop { a += [1, 2, 3]; }", "array"),
        ("let m = #{}; let i = 0;\nloop { let n = #{}; n[`k${i}`] = i; m.mixin(n); i += 1; }", "map"),
        ("let s = \"\";\nloop { s += \"x\"; }", "string"),
        // 256-byte strings: their bytes pass the string limit before the count passes the array limit.
        (
            "let a = []; let x = \"0123456789abcdef\"; x += x; x += x; x += x; x += x;\nloop { a.push(x.to_upper()) }",
            "string",
        ),
    ];
    for (source, what) in cases {
        let started = std::time::Instant::now();
        let err = run_text(&mut demo(), "grow.rhai", source, &[]).unwrap_err();
        let took = started.elapsed();
        eprintln!("{source:?}: {took:?}: {err}");
        assert!(err.message.to_lowercase().contains(what) && err.message.contains("too large"), "{source}: {err}");
        assert_eq!(err.line, Some(2), "{source}");
        assert!(took < std::time::Duration::from_secs(30), "{source}: took {took:?}");
    }
}

/// rhai checks only the value assigned to `m[key]`, never the map it grows:
/// the operations limit (and the clock) bound that growth instead.
#[test]
fn map_growth_by_index_stops_at_the_operations_limit() {
    let options =
        ScriptOptions { max_operations: 1_000_000, ..ScriptOptions::capturing(Arc::new(Mutex::new(String::new()))) };
    let source = "let m = #{}; let i = 0;\nloop { m[`k${i}`] = i; i += 1; }";
    let err = run_script_with(&mut demo(), "grow.rhai", source, &[], &options).unwrap_err();
    assert!(err.message.contains("limit of operations"), "{err}");
}

/// With no size limits the clock still stops an endless growth.
#[test]
fn the_time_limit_stops_an_endless_push() {
    let options = ScriptOptions {
        max_array_size: 0,
        max_map_size: 0,
        max_string_size: 0,
        max_operations: 0,
        timeout: Some(std::time::Duration::from_millis(500)),
        ..ScriptOptions::capturing(Arc::new(Mutex::new(String::new())))
    };
    let started = std::time::Instant::now();
    let err = run_script_with(&mut demo(), "push.rhai", "let a = [];\nloop { a.push(1) }", &[], &options).unwrap_err();
    assert!(err.message.contains("time limit"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
    // A size limit too high to be reached in time: the clock stops the quadratic growth.
    let options = ScriptOptions { max_array_size: 10_000_000, ..options };
    let started = std::time::Instant::now();
    let err = run_script_with(&mut demo(), "push.rhai", "let a = [];\nloop { a.push(1) }", &[], &options).unwrap_err();
    assert!(err.message.contains("time limit"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
}

/// A table too big for an array says how to walk it instead; walking it works.
#[test]
fn a_big_table_is_iterated_not_copied_into_an_array() {
    let rows = facts().total_samples;
    assert!(rows > etwq::script::ARRAY_LIMIT, "the demo has {rows} samples");
    let err =
        run_text(&mut demo(), "col.rhai", "let ts = query(\"samples select ts\").column(\"ts\");", &[]).unwrap_err();
    assert!(
        err.message.contains("for row in table")
            && err.message.contains(&format!("{} rows", render::group_digits(&rows.to_string()))),
        "{err}"
    );
    let err = run_text(&mut demo(), "rows.rhai", "query(\"samples\").rows();", &[]).unwrap_err();
    assert!(err.message.contains("rows()"), "{err}");
    let out = run_text(
        &mut demo(),
        "walk.rhai",
        "let n = 0;\nfor r in query(\"samples select ts\") { n += 1; }\nprint(n);",
        &[],
    )
    .unwrap();
    assert_eq!(out.trim(), rows.to_string());
}

/// A loop of queries never reaches the operations limit; the clock stops it.
#[test]
fn a_script_past_its_time_limit_stops() {
    let buffer = Arc::new(Mutex::new(String::new()));
    let options = ScriptOptions {
        max_operations: 0,
        timeout: Some(std::time::Duration::from_millis(300)),
        ..ScriptOptions::capturing(buffer)
    };
    let started = std::time::Instant::now();
    let err =
        run_script_with(&mut demo(), "slow.rhai", "loop { query(\"syscalls limit 1\"); }", &[], &options).unwrap_err();
    assert!(err.message.contains("time limit"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "took {:?}", started.elapsed());
}

/// `etwq -f`: SIGINT stops the script, says so, and exits with 130.
#[test]
fn sigint_stops_the_script_of_the_binary() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("spin.rhai");
    std::fs::write(&script, "print(\"started\");\nloop { }\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_etwq"))
        .args(["--demo", "-f"])
        .arg(&script)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The script runs once it has printed: the handler is in place by then.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"started\n");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("script interrupted"), "{stderr}");
}

/// Malformed and hostile scripts end in an error value, never a panic.
#[test]
fn bad_scripts_are_errors_not_panics() {
    let deep_parens = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let deep_blocks = format!("{}{}", "{".repeat(5000), "}".repeat(5000));
    let sources = [
        "\"unterminated",
        "let = 5;",
        "fn (",
        "\u{0}\u{ffff}é😀",
        &deep_parens,
        &deep_blocks,
        "query(42)",
        "query(\"\")",
        "stack_frames(-1)",
        "frame_module(-1, -1, -1)",
        "symbolize(0, 99999999999)",
        "query(\"syscalls limit 1\").sort(\"nope\")",
        "table([1, 2])",
        "export(query(\"syscalls limit 1\"), \"/nonexistent/dir/x.csv\")",
        "let a = []; a.pad(100000000, 0);",
        "status_name(-1); fmt_ns(-9223372036854775808); fmt_f(1.0, 999); hex(-1)",
    ];
    for source in sources {
        let result = std::panic::catch_unwind(|| {
            let mut session = demo();
            run_text(&mut session, "bad.rhai", source, &[]).map(|_| ())
        });
        assert!(result.is_ok(), "panicked on {:?}", &source[..source.len().min(40)]);
    }
}

#[test]
fn ctrl_c_stops_a_running_script() {
    let mut session = demo();
    let cancel = session.cancel_flag();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        cancel.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let options = ScriptOptions { max_operations: 0, ..ScriptOptions::default() };
    let err = run_script_with(&mut session, "spin.rhai", "loop { }", &[], &options).unwrap_err();
    interrupter.join().unwrap();
    assert!(err.message.contains("interrupted"), "{err}");
    // The session is back and answers queries.
    assert!(session.query("syscalls limit 1").is_ok());
}

/// The command line: `-f SCRIPT -- ARGS`, errors on stderr with file:line:col, exit code.
#[test]
fn the_binary_runs_scripts_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_etwq");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let syntax = write("syntax.rhai", "let x = 1;\nlet y = ;\n");
    let out = std::process::Command::new(bin).arg("--demo").arg("-f").arg(&syntax).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("{}:2:9: ", syntax.display())), "{stderr}");

    let runtime = write("runtime.rhai", "let x = 1;\nfn f(a) { a.nope() }\nf(x);\n");
    let out = std::process::Command::new(bin).arg("--demo").arg("-f").arg(&runtime).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("{}:2:13: Function not found: nope", runtime.display())), "{stderr}");

    let ok = write("ok.rhai", "print(`${args} ${trace.cpus}`);\n");
    let out =
        std::process::Command::new(bin).args(["--demo", "-f"]).arg(&ok).args(["--", "a", "--failed"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[\"a\", \"--failed\"] 16\n");
}
