//! Symbols through a whole trace: a trace built with the scenario builder loads
//! crash.exe with the PDB identity its RSDS record gives and takes samples at the
//! function addresses crash.sym lists; the session must name every sample as
//! crash.sym does, whether crash.pdb sits in a plain directory, a symbol store
//! or behind a symbol server, and say `<PDB not found>` for another identity.
mod common;

use columnar::Value;
use demo::scenario::{
    ModuleSpec, PdbIdentity as ScenarioPdb, ProcessSpec, ProfileSpec, SampleSpec, Scenario, Slice, SwitchOut,
    ThreadSpec,
};
use etl::Guid;
use etwq::script::{run_script_with, ScriptOptions};
use session::Session;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use symbols::pdb_file::pdb_info_of;
use symbols::ResolverOptions;

const BASE: u64 = 0x40_0000;
const PID: u32 = 4242;
const TID: u32 = 4243;

/// FUNC lines of crash.sym (rva, name, folded), read independently of the crate.
fn functions(sym: &str) -> Vec<(u64, String, bool)> {
    sym.lines()
        .filter_map(|line| line.strip_prefix("FUNC "))
        .map(|rest| {
            let folded = rest.starts_with("m ");
            let rest = rest.strip_prefix("m ").unwrap_or(rest);
            let words: Vec<&str> = rest.splitn(4, ' ').collect();
            (u64::from_str_radix(words[0], 16).unwrap(), words[3].to_string(), folded)
        })
        .collect()
}

/// A one-process trace: crash.exe with `identity` (and `il_pdb`, as a precompiled
/// .NET image has), one sample at each function's first byte.
fn crash_trace(dir: &Path, identity: Option<ScenarioPdb>, il_pdb: Option<ScenarioPdb>, rvas: &[u64]) -> PathBuf {
    let duration = 10_000_000; // 1 s of 10 MHz ticks
    let mut s = Scenario::new(1, duration);
    s.profile = Some(ProfileSpec { interval_100ns: 10_000 });
    s.processes = vec![ProcessSpec::running(0, 0, "Idle"), ProcessSpec::running(PID, 0, "crash.exe")];
    s.threads.push(ThreadSpec::running(TID, PID, BASE + 0x1000));
    s.modules.push(ModuleSpec {
        pid: PID,
        base: BASE,
        size: 0x10_0000,
        path: "\\Device\\HarddiskVolume3\\crash\\crash.exe".into(),
        time_date_stamp: 0x5ab3_8077,
        checksum: 0,
        pdb: identity,
        il_pdb,
        load: None,
        unload: None,
    });
    s.schedule.push(Slice { cpu: 0, tid: TID, start: 0, end: duration, priority: 8, out: SwitchOut::waiting(6) });
    for (i, rva) in rvas.iter().enumerate() {
        let ts = 1_000 * (i as i64 + 1);
        s.samples.push(SampleSpec { cpu: 0, tid: TID, ts, ip: BASE + rva, callers: vec![BASE + 0x1000], lost: false });
    }
    let (bytes, _) = s.to_bytes().expect("consistent scenario");
    let path = dir.join("crash.etl");
    std::fs::write(&path, bytes).unwrap();
    path
}

struct Setup {
    tmp: tempfile::TempDir,
    symbols: PathBuf,
    identity: ScenarioPdb,
    functions: Vec<(u64, String, bool)>,
    trace: PathBuf,
}

fn setup() -> Option<Setup> {
    let symbols = common::corpus_dir()?.join("symbols");
    let info = pdb_info_of(&symbols.join("crash.pdb")).unwrap();
    let identity = ScenarioPdb { name: "crash.pdb".into(), guid: info.guid, age: info.age };
    let functions = functions(&std::fs::read_to_string(symbols.join("crash.sym")).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let rvas: Vec<u64> = functions.iter().map(|f| f.0).collect();
    let trace = crash_trace(tmp.path(), Some(identity.clone()), None, &rvas);
    Some(Setup { tmp, symbols, identity, functions, trace })
}

/// A session over the trace with its own (empty) cache, so each source is really used.
fn session(setup: &Setup, path: &str, cache: &Path) -> Session {
    let mut session = Session::open(&setup.trace).unwrap();
    session.set_symbol_options(ResolverOptions {
        cache_root: Some(cache.to_path_buf()),
        download_store: Some(cache.join("downloads")),
        timeout: Duration::from_secs(5),
        parallel: 2,
        ..ResolverOptions::default()
    });
    session.set_symbol_path(path);
    session
}

fn sample_funcs(session: &mut Session) -> Vec<(u64, Option<String>, String)> {
    let t = session.query("samples where module = \"crash.exe\" order by ts select ip, func, proc").unwrap();
    let (ip, func, proc) = (t.column("ip").unwrap(), t.column("func").unwrap(), t.column("proc").unwrap());
    (0..t.row_count())
        .map(|row| {
            let ip = match ip.value(row) {
                Value::Address(a) | Value::U64(a) => a,
                other => panic!("ip {other:?}"),
            };
            let func = match func.value(row) {
                Value::Str(s) => Some(s.to_string()),
                _ => None,
            };
            (ip, func, proc.value(row).to_string())
        })
        .collect()
}

fn assert_every_sample_named(setup: &Setup, session: &mut Session) {
    let rows = sample_funcs(session);
    assert_eq!(rows.len(), setup.functions.len(), "one sample per FUNC");
    let mut folded = 0;
    for ((ip, func, _), (rva, name, multiple)) in rows.iter().zip(&setup.functions) {
        assert_eq!(*ip, BASE + rva);
        let func = func.as_deref().unwrap_or_else(|| panic!("{rva:#x} ({name}) has no name"));
        if func != common::without_parameters(name) && func != name {
            assert!(multiple, "{rva:#x}: {func} where crash.sym says {name}");
            folded += 1;
        }
    }
    assert!(folded <= 2, "{folded} folded functions");
    let frames = session.query("frames where module = \"crash.exe\" and depth = 0 select frame").unwrap();
    assert!(frames.row_count() > 0);
    for row in 0..frames.row_count() {
        let text = frames.column("frame").unwrap().value(row).to_string();
        assert!(text.starts_with("crash.exe!") && text.ends_with("+0x0"), "{text}");
    }
}

#[test]
fn samples_resolve_from_a_plain_directory() {
    let Some(setup) = setup() else { return };
    let cache = setup.tmp.path().join("cache");
    let mut s = session(&setup, &setup.symbols.display().to_string(), &cache);
    assert_every_sample_named(&setup, &mut s);
}

/// Scripts name frames through the session's resolver: with crash.pdb on the path,
/// `symbolize()` and `frame_func()` give every sample the table's `func`.
#[test]
fn scripts_name_frames_as_the_tables_do() {
    let Some(setup) = setup() else { return };
    let cache = setup.tmp.path().join("cache");
    let mut s = session(&setup, &setup.symbols.display().to_string(), &cache);
    let source = r#"
        for r in query("samples where module = \"crash.exe\" order by ts") {
            print(`${r.func}|${frame_func(r.ip, r.pid, r.ts)}|${symbolize(r.ip, r.pid)}`);
        }
    "#;
    let printed = Arc::new(Mutex::new(String::new()));
    run_script_with(&mut s, "names.rhai", source, &[], &ScriptOptions::capturing(printed.clone())).unwrap();
    let printed = printed.lock().unwrap().clone();
    let tables = sample_funcs(&mut s);
    assert_eq!(printed.lines().count(), tables.len());
    for (line, (_, func, _)) in printed.lines().zip(&tables) {
        let func = func.as_deref().unwrap_or_else(|| panic!("unnamed sample: {line}"));
        assert_eq!(line, format!("{func}|{func}|crash.exe!{func}"));
    }
}

#[test]
fn samples_resolve_from_a_symbol_store_cache() {
    let Some(setup) = setup() else { return };
    let store = setup.tmp.path().join("store");
    let key_dir = store
        .join("crash.pdb")
        .join(symbols::PdbIdentity::new("crash.pdb", setup.identity.guid, setup.identity.age).store_key());
    std::fs::create_dir_all(&key_dir).unwrap();
    std::fs::copy(setup.symbols.join("crash.pdb"), key_dir.join("crash.pdb")).unwrap();
    let cache = setup.tmp.path().join("cache");
    let mut s = session(&setup, &format!("cache*{}", store.display()), &cache);
    assert_every_sample_named(&setup, &mut s);
}

#[test]
fn samples_resolve_from_a_symbol_server_on_localhost() {
    let Some(setup) = setup() else { return };
    let pdb = std::fs::read(setup.symbols.join("crash.pdb")).unwrap();
    let key = symbols::PdbIdentity::new("crash.pdb", setup.identity.guid, setup.identity.age).store_key();
    let wanted = format!("/symbols/crash.pdb/{key}/crash.pdb");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/symbols", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        // Serves the PDB at its store path, 404 for anything else; a few requests at most.
        let mut served = Vec::new();
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { break };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let path = common::read_request_path(&mut stream);
            let (status, body): (&str, &[u8]) =
                if path == wanted { ("200 OK", &pdb) } else { ("404 Not Found", b"no") };
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
            let found = path == wanted;
            served.push(path);
            if found {
                break;
            }
        }
        served
    });
    let cache = setup.tmp.path().join("cache");
    let downstream = setup.tmp.path().join("downstream");
    let mut s = session(&setup, &format!("srv*{}*{url}", downstream.display()), &cache);
    assert_every_sample_named(&setup, &mut s);
    let served = server.join().unwrap();
    assert!(served.iter().any(|p| p.ends_with("/crash.pdb")), "{served:?}");
    assert!(downstream.join("crash.pdb").join(&key).join("crash.pdb").is_file(), "the download lands in the store");
}

/// Precompiled .NET code (ReadyToRun, NGEN) lies in an image with two identities:
/// DbgID_ILRSDS names the IL PDB, DbgID_RSDS the native one. Frames resolve through the
/// native PDB; an image with only an IL PDB has no native symbols to offer.
#[test]
fn precompiled_code_resolves_through_the_native_pdb_not_the_il_one() {
    let Some(setup) = setup() else { return };
    let il = ScenarioPdb { name: "crash.il.pdb".into(), guid: Guid([7; 16]), age: 1 };
    let rvas: Vec<u64> = setup.functions.iter().map(|f| f.0).collect();
    let dir = setup.tmp.path().join("r2r");
    std::fs::create_dir_all(&dir).unwrap();
    let both = Setup {
        trace: crash_trace(&dir, Some(setup.identity.clone()), Some(il.clone()), &rvas),
        tmp: tempfile::tempdir().unwrap(),
        symbols: setup.symbols.clone(),
        identity: setup.identity.clone(),
        functions: setup.functions.clone(),
    };
    let mut s = session(&both, &both.symbols.display().to_string(), &both.tmp.path().join("cache"));
    assert_every_sample_named(&both, &mut s);
    let pdb = s.query("modules where file = \"crash.exe\" select pdb").unwrap();
    assert_eq!(pdb.column("pdb").unwrap().value(0).to_string(), "crash.pdb");

    let il_only_dir = setup.tmp.path().join("il");
    std::fs::create_dir_all(&il_only_dir).unwrap();
    let il_only = Setup { trace: crash_trace(&il_only_dir, None, Some(il), &rvas), ..both };
    let mut s = session(&il_only, &il_only.symbols.display().to_string(), &il_only.tmp.path().join("cache2"));
    assert!(sample_funcs(&mut s).iter().all(|(_, func, _)| func.is_none()));
    let pdb = s.query("modules where file = \"crash.exe\" select pdb").unwrap();
    assert!(pdb.column("pdb").unwrap().value(0).is_null(), "the IL PDB is no native identity");
}

#[test]
fn a_pdb_of_another_identity_shows_pdb_not_found() {
    let Some(setup) = setup() else { return };
    let mut other = setup.identity.clone();
    other.guid = Guid::from_fields(0x1234_5678, 0x9abc, 0xdef0, [1, 2, 3, 4, 5, 6, 7, 8]);
    let trace = crash_trace(setup.tmp.path(), Some(other), None, &[setup.functions[0].0]);
    let mut s = Session::open(&trace).unwrap();
    let cache = setup.tmp.path().join("cache");
    s.set_symbol_options(ResolverOptions {
        cache_root: Some(cache.clone()),
        download_store: Some(cache),
        timeout: Duration::from_secs(2),
        parallel: 1,
        ..ResolverOptions::default()
    });
    s.set_symbol_path(&setup.symbols.display().to_string());
    let t = s.query("frames where module = \"crash.exe\" and depth = 0 select frame, func").unwrap();
    assert!(t.row_count() > 0);
    for row in 0..t.row_count() {
        assert_eq!(t.column("frame").unwrap().value(row).to_string(), "crash.exe!<PDB not found>");
        assert!(matches!(t.column("func").unwrap().value(row), Value::Null));
    }
    let messages = s.take_messages();
    assert!(messages.iter().any(|m| m.contains("refused")), "{messages:?}");
    // The session goes on.
    assert!(s.query("samples | tree").is_ok());
}

/// Ctrl-C (the session's cancel flag) stops the symbol downloads that naming the frames
/// waits for, at once: the query answers with `<PDB not found>` and a message, long
/// before the server's trickle or the per-file deadline would end.
#[test]
fn ctrl_c_stops_the_downloads_a_query_waits_for() {
    let Some(setup) = setup() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/symbols", listener.local_addr().unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let server = std::thread::spawn(move || {
        // One request: headers promising a megabyte, then a byte every 100 ms.
        let Ok((mut stream, _)) = listener.accept() else { return };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        common::read_request_path(&mut stream);
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n";
        let _ = stream.write_all(head.as_bytes());
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) && stream.write_all(b"M").is_ok() {
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let cache = setup.tmp.path().join("cache");
    let mut s = Session::open(&setup.trace).unwrap();
    s.set_symbol_options(ResolverOptions {
        cache_root: Some(cache.clone()),
        download_store: Some(cache.join("downloads")),
        timeout: Duration::from_secs(30),
        parallel: 1,
        ..ResolverOptions::default()
    });
    s.set_symbol_path(&format!("srv*{url}"));
    let flag = s.cancel_flag();
    let ctrl_c = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let started = std::time::Instant::now();
    let t = s.query("frames where module = \"crash.exe\" and depth = 0 select frame").unwrap();
    let took = started.elapsed();
    ctrl_c.join().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(t.row_count() > 0);
    assert_eq!(t.column("frame").unwrap().value(0).to_string(), "crash.exe!<PDB not found>");
    let messages = s.take_messages();
    assert!(messages.iter().any(|m| m.contains("symbol downloads cancelled")), "{messages:?}");
}
