//! `| export speedscope|firefox|chrome FILE`: the files hold what the rows
//! hold, counted again here by plain group-by queries on the demo and on a real
//! trace; and speedscope itself (its npm package, served from a local port)
//! loads the speedscope export in headless chromium and draws a flame chart.
mod common;

use columnar::{DataTable, Value};
use serde_json::Value as Json;
use session::Session;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

fn demo() -> MutexGuard<'static, Session> {
    static DEMO: OnceLock<Mutex<Session>> = OnceLock::new();
    DEMO.get_or_init(|| Mutex::new(Session::demo())).lock().unwrap_or_else(|p| p.into_inner())
}

fn uint(t: &DataTable, column: &str, row: usize) -> u64 {
    match t.column(column).map(|c| c.value(row)) {
        Some(Value::U64(v)) => v,
        Some(Value::I64(v) | Value::Duration(v)) => v as u64,
        Some(Value::Null) => 0,
        other => panic!("{column}: {other:?}"),
    }
}

fn read_json(path: &Path) -> Json {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Per (pid, tid): rows and summed weight in ns, from `QUERY group by pid, tid`.
fn per_thread(s: &mut Session, rows: &str, weight: &str) -> BTreeMap<(u64, u64), (u64, u64)> {
    let t = s.query(&format!("{rows} group by pid, tid select count() as n, sum({weight}) as w")).unwrap();
    (0..t.row_count())
        .map(|r| ((uint(&t, "pid", r), uint(&t, "tid", r)), (uint(&t, "n", r), uint(&t, "w", r))))
        .collect()
}

/// The speedscope file's profiles as (pid, tid) -> (samples, weight in ns), its
/// names `proc (pid) tid N`; and it checks the file's structure on the way.
fn speedscope_threads(file: &Json) -> BTreeMap<(u64, u64), (u64, u64)> {
    assert_eq!(file["$schema"], "https://www.speedscope.app/file-format-schema.json");
    let frames = file["shared"]["frames"].as_array().unwrap();
    assert!(frames.iter().all(|f| f["name"].is_string()));
    let mut out = BTreeMap::new();
    for profile in file["profiles"].as_array().unwrap() {
        assert_eq!(profile["type"], "sampled");
        assert_eq!(profile["unit"], "milliseconds");
        let samples = profile["samples"].as_array().unwrap();
        let weights = profile["weights"].as_array().unwrap();
        assert_eq!(samples.len(), weights.len());
        for stack in samples {
            let stack = stack.as_array().unwrap();
            assert!(!stack.is_empty());
            assert!(stack.iter().all(|i| (i.as_u64().unwrap() as usize) < frames.len()));
        }
        let total_ms: f64 = weights.iter().map(|w| w.as_f64().unwrap()).sum();
        let (start, end) = (profile["startValue"].as_f64().unwrap(), profile["endValue"].as_f64().unwrap());
        assert!((end - start - total_ms).abs() < 1e-6 * total_ms.max(1.0));
        let name = profile["name"].as_str().unwrap();
        let pid = name.split(" (").nth(1).and_then(|r| r.split(')').next()).unwrap().parse().unwrap();
        let tid = name.split(" tid ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
        let previous = out.insert((pid, tid), (samples.len() as u64, (total_ms * 1e6).round() as u64));
        assert!(previous.is_none(), "two profiles for {name}");
    }
    out
}

/// Per leaf module (the frame a sample's stack ends in): summed weight in ns.
fn speedscope_leaf_modules(file: &Json) -> BTreeMap<String, u64> {
    let frames = file["shared"]["frames"].as_array().unwrap();
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for profile in file["profiles"].as_array().unwrap() {
        let weights = profile["weights"].as_array().unwrap();
        for (stack, weight) in profile["samples"].as_array().unwrap().iter().zip(weights) {
            let leaf = stack.as_array().unwrap().last().unwrap().as_u64().unwrap() as usize;
            let name = frames[leaf]["name"].as_str().unwrap();
            let module = if name == "[no stack]" { name.to_string() } else { module_of(name) };
            *out.entry(module).or_default() += weight.as_f64().unwrap();
        }
    }
    out.into_iter().map(|(m, ms)| (m, (ms * 1e6).round() as u64)).collect()
}

/// `ntdll.dll!Foo` and `clr.dll+0x12` name their module; `0x7ff...` names none.
fn module_of(frame: &str) -> String {
    match frame.find(['!', '+']) {
        Some(at) if !frame.starts_with("0x") => frame[..at].to_string(),
        _ => String::new(),
    }
}

fn samples_per_module(s: &mut Session, rows: &str) -> BTreeMap<String, u64> {
    let t = s.query(&format!("{rows} group by module select sum(weight_ns) as w")).unwrap();
    (0..t.row_count())
        .map(|r| {
            let module = match t.column("module").unwrap().value(r) {
                Value::Str(m) => m.to_string(),
                _ => String::new(),
            };
            (module, uint(&t, "w", r))
        })
        .collect()
}

#[test]
fn speedscope_export_of_the_demo_counts_every_sample_per_thread_and_module() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.speedscope.json");
    let mut s = demo();
    let t = s.query(&format!("samples | export speedscope {}", path.display())).unwrap();
    let file = read_json(&path);
    let threads = speedscope_threads(&file);
    let expected = per_thread(&mut s, "samples", "weight_ns");
    assert_eq!(threads, expected);
    assert_eq!(uint(&t, "events", 0), expected.values().map(|v| v.0).sum::<u64>());
    // Every demo sample has a stack whose innermost frame is its IP's.
    assert_eq!(speedscope_leaf_modules(&file), samples_per_module(&mut s, "samples"));
    // The frames are named: the driver and the spinning server's code are there.
    let names: Vec<&str> =
        file["shared"]["frames"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("tedrdrv.sys")) && names.contains(&"KernelBase.dll!SleepEx"),
        "{names:?}"
    );
    // The first profile (the one speedscope opens on) is the heaviest non-idle thread.
    assert!(file["profiles"][0]["name"].as_str().unwrap().starts_with("server.exe (4242) tid "));

    // By process: one profile per pid, the same totals.
    let t = s.query(&format!("samples | export speedscope {} by process", path.display())).unwrap();
    let per_process = s.query("samples group by pid").unwrap();
    assert_eq!(uint(&t, "tracks", 0), per_process.row_count() as u64);
}

#[test]
fn speedscope_export_of_a_real_trace_counts_every_sample() {
    let Some(corpus) = common::corpus_dir() else { return };
    let mut s = Session::open(&corpus.join("perfview").join("net.4.5.2.x64.etl")).unwrap();
    s.set_symbol_path("");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.speedscope.json");
    s.query(&format!("samples | export speedscope {}", path.display())).unwrap();
    let file = read_json(&path);
    let threads = speedscope_threads(&file);
    assert_eq!(threads, per_thread(&mut s, "samples", "weight_ns"));
    assert!(threads.len() > 5, "{} threads", threads.len());
    // Rows with a stack end in their IP's module (folded runs of unnamed frames keep theirs).
    let with_stack = speedscope_leaf_modules(&file);
    let expected = samples_per_module(&mut s, "samples");
    let no_stack = with_stack.get("[no stack]").copied().unwrap_or(0);
    let total: u64 = expected.values().sum();
    assert_eq!(with_stack.values().sum::<u64>(), total);
    let matched: u64 = expected.iter().filter(|(m, w)| with_stack.get(*m) == Some(w)).map(|(_, w)| w).sum();
    assert!(matched + no_stack >= total * 9 / 10, "{matched} + {no_stack} of {total}: {with_stack:?} vs {expected:?}");
}

/// The Chrome file's complete events per (pid, tid) -> (events, summed dur in ns),
/// checking that every track is named by metadata events.
fn chrome_threads(file: &Json) -> BTreeMap<(u64, u64), (u64, u64)> {
    let events = file["traceEvents"].as_array().unwrap();
    let mut named_processes = std::collections::BTreeSet::new();
    let mut named_threads = std::collections::BTreeSet::new();
    let mut out: BTreeMap<(u64, u64), (u64, f64)> = BTreeMap::new();
    for e in events {
        let (pid, tid) = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
        match e["ph"].as_str().unwrap() {
            "X" => {
                assert!(e["name"].is_string() && e["ts"].as_f64().unwrap() >= 0.0);
                let entry = out.entry((pid, tid)).or_default();
                entry.0 += 1;
                entry.1 += e["dur"].as_f64().unwrap() * 1e3;
            }
            "M" if e["name"] == "process_name" => assert!(named_processes.insert(pid)),
            "M" if e["name"] == "thread_name" => assert!(named_threads.insert((pid, tid))),
            other => panic!("unexpected phase {other}"),
        }
    }
    assert!(out.keys().all(|(pid, _)| named_processes.contains(pid)));
    assert_eq!(out.keys().copied().collect::<std::collections::BTreeSet<_>>(), named_threads);
    out.into_iter().map(|(k, (n, ns))| (k, (n, ns.round() as u64))).collect()
}

#[test]
fn chrome_export_holds_every_system_call_and_running_slice() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo();
    for (rows, weight) in
        [("syscalls", "duration_ns"), ("cswitch", "cpu_ns"), ("syscalls where proc = \"strace.exe\"", "duration_ns")]
    {
        let path = dir.path().join("chrome.json");
        s.query(&format!("{rows} | export chrome {}", path.display())).unwrap();
        let file = read_json(&path);
        let events = chrome_threads(&file);
        let expected = per_thread(&mut s, rows, weight);
        // Rows without a pid or tid (a call no switch placed) land on pid or tid 0, as zeros.
        assert_eq!(events.values().map(|v| v.0).sum::<u64>(), expected.values().map(|v| v.0).sum::<u64>(), "{rows}");
        for ((pid, tid), (n, ns)) in &expected {
            let (got_n, got_ns) = events.get(&(*pid, *tid)).copied().unwrap_or_default();
            assert_eq!(got_n, *n, "{rows}: events of {pid}/{tid}");
            assert!(got_ns.abs_diff(*ns) <= *n, "{rows}: {pid}/{tid} {got_ns} vs {ns} ns");
        }
    }
    let path = dir.path().join("x.json");
    let err = s.query(&format!("samples | export chrome {}", path.display())).unwrap_err().to_string();
    assert!(err.contains("system calls and running slices"), "{err}");
    let err = s.query(&format!("syscalls where pid = 1 | export chrome {}", path.display())).unwrap_err().to_string();
    assert!(err.contains("no rows"), "{err}");
    let err = s.query("syscalls | export chrome /nonexistent-dir/x.json").unwrap_err().to_string();
    assert!(err.contains("/nonexistent-dir/x.json"), "{err}");
    let err = s.query(&format!("cswitch | export speedscope {}", path.display())).unwrap_err().to_string();
    assert!(err.contains("`stack` column"), "{err}");
    let err = s.query(&format!("samples | export pprof {}", path.display())).unwrap_err().to_string();
    assert!(err.contains("speedscope, firefox, chrome"), "{err}");
    assert!(!path.exists());
}

#[test]
fn firefox_export_is_a_processed_profile_with_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("firefox.json");
    let mut s = demo();
    s.query(&format!("samples where proc = \"server.exe\" | export firefox {}", path.display())).unwrap();
    let file = read_json(&path);
    assert!(file["meta"]["preprocessedProfileVersion"].as_u64().unwrap() > 0);
    assert_eq!(file["meta"]["interval"].as_f64(), Some(2.0), "the demo's profile interval, ms");
    let mut per_tid: BTreeMap<(u64, u64), (u64, u64)> = BTreeMap::new();
    for thread in file["threads"].as_array().unwrap() {
        let strings = thread["stringArray"].as_array().unwrap().len() as u64;
        let (stacks, frames, funcs) = (&thread["stackTable"], &thread["frameTable"], &thread["funcTable"]);
        let stack_count = stacks["length"].as_u64().unwrap();
        for (i, prefix) in stacks["prefix"].as_array().unwrap().iter().enumerate() {
            assert!(prefix.is_null() || prefix.as_u64().unwrap() < i as u64, "a stack's prefix comes before it");
        }
        let frame_count = frames["length"].as_u64().unwrap();
        assert!(stacks["frame"].as_array().unwrap().iter().all(|f| f.as_u64().unwrap() < frame_count));
        let func_count = funcs["length"].as_u64().unwrap();
        assert!(frames["func"].as_array().unwrap().iter().all(|f| f.as_u64().unwrap() < func_count));
        assert!(funcs["name"].as_array().unwrap().iter().all(|n| n.as_u64().unwrap() < strings));
        let samples = &thread["samples"];
        let n = samples["length"].as_u64().unwrap();
        assert!(samples["stack"].as_array().unwrap().iter().all(|st| st.as_u64().unwrap() < stack_count));
        assert_eq!(samples["timeDeltas"].as_array().unwrap().len() as u64, n);
        // threadCPUDelta is in microseconds.
        let cpu_us: u64 = samples["threadCPUDelta"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).sum();
        let pid = thread["pid"].as_u64().or_else(|| thread["pid"].as_str().and_then(|p| p.parse().ok())).unwrap();
        let tid = thread["tid"].as_u64().or_else(|| thread["tid"].as_str().and_then(|t| t.parse().ok())).unwrap();
        let key = (pid, tid);
        per_tid.insert(key, (n, cpu_us * 1000));
    }
    assert_eq!(per_tid, per_thread(&mut s, "samples where proc = \"server.exe\"", "weight_ns"));
}

/// Serves speedscope's built files from `root`, and the files of `profiles` under /profiles/, on a local port.
fn serve(root: PathBuf, profiles: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (root, profiles) = (root.clone(), profiles.clone());
            std::thread::spawn(move || {
                let mut request = String::new();
                let mut reader = BufReader::new(&stream);
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                // The rest of the header, up to the blank line.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let target = request.split_whitespace().nth(1).unwrap_or("/");
                let target = target.split(['?', '#']).next().unwrap_or("/");
                let file = match target.strip_prefix("/profiles/") {
                    _ if target.contains("..") => root.join("missing"),
                    Some(name) => profiles.join(name),
                    None if target == "/" => root.join("index.html"),
                    None => root.join(target.trim_start_matches('/')),
                };
                let mut stream = &stream;
                match std::fs::read(&file) {
                    Ok(body) => {
                        let kind = match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
                            "html" => "text/html",
                            "js" => "text/javascript",
                            "json" => "application/json",
                            "css" => "text/css",
                            "wasm" => "application/wasm",
                            "png" => "image/png",
                            _ => "application/octet-stream",
                        };
                        let header = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(header.as_bytes()).and_then(|_| stream.write_all(&body));
                    }
                    Err(_) => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
            });
        }
    });
    port
}

/// Pixels neither white-ish nor grey: the flame chart's coloured frames.
fn colourful_pixels(png_path: &Path) -> usize {
    let mut colours: HashMap<[u8; 3], usize> = HashMap::new();
    let mut colourful = 0;
    for [r, g, b] in common::browser::Pixels::read(png_path).rgb {
        let spread = r.max(g).max(b) - r.min(g).min(b);
        if spread > 40 {
            colourful += 1;
            *colours.entry([r, g, b]).or_default() += 1;
        }
    }
    // A flame chart has many hues, not one accent colour.
    if colours.len() < 10 {
        return 0;
    }
    colourful
}

#[test]
fn speedscope_loads_the_export_and_draws_a_flame_chart() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("web");
    let release = web.join("node_modules").join("speedscope").join("dist").join("release");
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let chromium = common::browser::chromium();
    let installed = release.join("index.html").is_file() && web.join("node_modules").join("playwright-core").is_dir();
    if !common::tool_available(node, "node", "loading the export in speedscope")
        || !common::tool_available(chromium.is_some(), "chromium", "loading the export in speedscope")
        || !common::tool_available(installed, "tests/web's npm packages (npm ci in tests/web)", "speedscope")
    {
        return;
    }
    let chromium_path = Command::new("sh")
        .args(["-c", &format!("command -v {}", chromium.expect("checked above"))])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    {
        let mut s = demo();
        let samples = profiles.join("samples.speedscope.json");
        s.query(&format!("samples where proc = \"server.exe\" | export speedscope {}", samples.display())).unwrap();
        // speedscope imports the Chrome trace event format too: a check of that export by another reader.
        let calls = profiles.join("strace.trace.json");
        s.query(&format!("syscalls where proc = \"strace.exe\" | export chrome {}", calls.display())).unwrap();
    }
    let port = serve(release, profiles);
    let open = |profile: &str| -> (String, usize) {
        let png_path = dir.path().join(format!("{profile}.png"));
        let url = format!("http://127.0.0.1:{port}/index.html#profileURL=http://127.0.0.1:{port}/profiles/{profile}");
        let output = Command::new("node")
            .current_dir(&web)
            .args(["screenshot.mjs", &url, png_path.to_str().unwrap(), &chromium_path])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        let page: Json = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
        if let Ok(keep) = std::env::var("ETWQ_KEEP_SCREENSHOTS") {
            let _ = std::fs::copy(&png_path, Path::new(&keep).join(format!("speedscope-{profile}.png")));
        }
        let text = page["text"].as_str().unwrap().to_string();
        assert!(!text.to_ascii_lowercase().contains("went wrong"), "speedscope failed on {profile}: {text}");
        assert!(page["errors"].as_array().unwrap().is_empty(), "{profile}: {}", page["errors"]);
        assert!(page["canvases"].as_u64().unwrap() > 0, "{profile}: no flame chart canvas: {text}");
        (text, colourful_pixels(&png_path))
    };
    // The profile's name, the heaviest thread, is in speedscope's toolbar.
    let (text, colourful) = open("samples.speedscope.json");
    assert!(text.contains("server.exe (4242) tid"), "{text}");
    assert!(colourful > 20_000, "{colourful} colourful pixels: no flame chart drawn");
    let (text, colourful) = open("strace.trace.json");
    assert!(text.contains("strace.exe") && text.contains("5152"), "{text}");
    assert!(colourful > 5_000, "{colourful} colourful pixels: no system calls drawn");
}
