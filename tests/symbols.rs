//! The symbol layer against the corpus: crash.exe, its PDB, and crash.sym, a Breakpad
//! dump of that PDB made by other tools (an independent answer for every lookup).
mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use etl::Guid;
use symbols::pdb_file::{load_pdb, load_pdb_bytes, load_pdb_bytes_with, LoadOptions};
use symbols::{
    format_frame, DownloadEvent, DownloadLimits, InMemorySymbols, Lookup, PdbIdentity, ResolverOptions, ResolverStats,
    SymbolPath, SymbolResolver,
};

fn symbols_dir() -> Option<PathBuf> {
    Some(common::corpus_dir()?.join("symbols"))
}

/// The identity crash.exe asks for, read from its CodeView (RSDS) debug record the way
/// KernelTraceControl's DbgID_RSDS event reports it.
fn rsds_of_exe(exe: &[u8]) -> PdbIdentity {
    let u16_at = |at: usize| u16::from_le_bytes(exe[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(exe[at..at + 4].try_into().unwrap()) as usize;
    let pe = u32_at(0x3c);
    assert_eq!(&exe[pe..pe + 4], b"PE\0\0");
    let sections = u16_at(pe + 6);
    let optional = pe + 24;
    let dirs = optional + if u16_at(optional) == 0x20b { 112 } else { 96 };
    let (debug_rva, debug_size) = (u32_at(dirs + 6 * 8), u32_at(dirs + 6 * 8 + 4));
    let table = optional + u16_at(pe + 20);
    let file_offset = |rva: usize| {
        (0..sections)
            .map(|i| table + i * 40)
            .find(|&s| rva >= u32_at(s + 12) && rva < u32_at(s + 12) + u32_at(s + 8).max(u32_at(s + 16)))
            .map(|s| rva - u32_at(s + 12) + u32_at(s + 20))
            .unwrap()
    };
    let debug = file_offset(debug_rva);
    for entry in (debug..debug + debug_size).step_by(28) {
        if u32_at(entry + 12) == 2 {
            let cv = u32_at(entry + 24);
            assert_eq!(&exe[cv..cv + 4], b"RSDS");
            let guid = Guid::from_bytes(&exe[cv + 4..cv + 20]).unwrap();
            let age = u32_at(cv + 20) as u32;
            let end = exe[cv + 24..].iter().position(|&b| b == 0).unwrap();
            let path = std::str::from_utf8(&exe[cv + 24..cv + 24 + end]).unwrap();
            return PdbIdentity::from_rsds(path, guid, age);
        }
    }
    panic!("no CodeView record in crash.exe");
}

/// One FUNC or PUBLIC line of crash.sym, read here independently of the crate's parser.
struct Expected {
    rva: u32,
    size: Option<u32>,
    multiple: bool,
    name: String,
}

fn expected_functions(sym: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    for line in sym.lines() {
        let mut words: Vec<&str> = line.splitn(2, ' ').collect();
        let (func, rest) = match words.as_slice() {
            ["FUNC", rest] => (true, *rest),
            ["PUBLIC", rest] => (false, *rest),
            _ => continue,
        };
        let multiple = rest.starts_with("m ");
        let rest = rest.strip_prefix("m ").unwrap_or(rest);
        words = rest.splitn(if func { 4 } else { 3 }, ' ').collect();
        let rva = u32::from_str_radix(words[0], 16).unwrap();
        let size = func.then(|| u32::from_str_radix(words[1], 16).unwrap());
        out.push(Expected { rva, size, multiple, name: words.last().unwrap().to_string() });
    }
    out
}

struct Corpus {
    dir: PathBuf,
    identity: PdbIdentity,
    expected: Vec<Expected>,
}

fn corpus() -> Option<Corpus> {
    let dir = symbols_dir()?;
    let identity = rsds_of_exe(&std::fs::read(dir.join("crash.exe")).unwrap());
    let expected = expected_functions(&std::fs::read_to_string(dir.join("crash.sym")).unwrap());
    Some(Corpus { dir, identity, expected })
}

fn resolver(path: &str, cache_root: &Path) -> SymbolResolver {
    let options = ResolverOptions {
        cache_root: Some(cache_root.to_path_buf()),
        download_store: Some(cache_root.join("downloads")),
        timeout: Duration::from_secs(2),
        parallel: 4,
        // Whatever ETWQ_SYMBOL_DOWNLOADS says: these tests need their local servers.
        downloads: DownloadLimits { enabled: true, ..DownloadLimits::default() },
    };
    SymbolResolver::with_options(SymbolPath::parse(path), options)
}

/// Every function crash.sym lists, looked up at its first byte and its last, gives the
/// name crash.sym gives (modulo parameter lists; `FUNC m` folded functions may carry any
/// of the names folded together).
fn assert_resolves_like_breakpad(r: &mut SymbolResolver, c: &Corpus) {
    let mut exact = 0;
    let mut folded = 0;
    for e in &c.expected {
        let last = e.size.unwrap_or(1).saturating_sub(1);
        for offset in if last == 0 { vec![0] } else { vec![0, last] } {
            let rva = (e.rva + offset) as u64;
            match r.lookup(&c.identity, rva) {
                Lookup::Function { name, offset: got } => {
                    assert_eq!(got, offset, "{:x} {}", e.rva, e.name);
                    if &*name == common::without_parameters(&e.name) || *name == e.name {
                        exact += (offset == 0) as usize;
                    } else {
                        assert!(e.multiple, "{rva:#x}: {name} where crash.sym says {}", e.name);
                        folded += (offset == 0) as usize;
                    }
                    let frame =
                        format_frame(Some("crash.exe"), 0x40_0000 + rva, &Lookup::Function { name, offset: got });
                    assert!(frame.starts_with("crash.exe!") && frame.ends_with(&format!("+0x{offset:x}")));
                }
                other => panic!("{rva:#x} ({}): {other:?}", e.name),
            }
        }
    }
    assert_eq!(exact + folded, c.expected.len());
    assert!(folded <= 2, "{folded} folded");
}

#[test]
fn crash_exe_asks_for_crash_pdb() {
    let Some(c) = corpus() else { return };
    assert_eq!(c.identity.name, "crash.pdb");
    assert_eq!(c.identity.store_key(), "3249D99D0C4049318610F4E4FB0B69361");
}

#[test]
fn pdb_agrees_with_the_breakpad_dump() {
    let Some(c) = corpus() else { return };
    let table = load_pdb(&c.dir.join("crash.pdb"), &c.identity).unwrap();
    let (mut same, mut same_without_params, mut folded, mut size_same, mut funcs) = (0, 0, 0, 0, 0);
    for e in &c.expected {
        let (f, offset) = table.lookup(e.rva as u64).unwrap_or_else(|| panic!("{:x} {} not found", e.rva, e.name));
        assert_eq!((f.rva, offset), (e.rva, 0), "{}", e.name);
        if *f.name == e.name {
            same += 1;
        } else if *f.name == *common::without_parameters(&e.name) {
            same_without_params += 1;
        } else {
            assert!(e.multiple, "{:x}: pdb {} vs sym {}", e.rva, f.name, e.name);
            folded += 1;
        }
        if let Some(size) = e.size {
            funcs += 1;
            size_same += (size == f.size) as usize;
        }
    }
    println!(
        "crash.sym: {} functions; PDB names: {same} identical, {same_without_params} identical without the \
         parameter list, {folded} another name of a folded (FUNC m) function; sizes equal {size_same}/{funcs}",
        c.expected.len()
    );
    assert_eq!(size_same, funcs);
    assert_eq!(table.len(), c.expected.len());
}

/// A stripped PDB (what public symbol servers give out) has public symbols only: their
/// demangled names must still be crash.sym's names.
#[test]
fn public_symbols_alone_agree_with_the_breakpad_dump() {
    let Some(c) = corpus() else { return };
    let bytes = std::fs::read(c.dir.join("crash.pdb")).unwrap();
    let table = load_pdb_bytes_with(bytes, Some(&c.identity), LoadOptions { procedures: false }).unwrap();
    let (mut same, mut folded, mut static_functions, mut other) = (0, 0, Vec::new(), Vec::new());
    for e in &c.expected {
        match table.lookup(e.rva as u64) {
            Some((f, 0)) if *f.name == *common::without_parameters(&e.name) || *f.name == e.name => same += 1,
            Some((_, 0)) if e.multiple => folded += 1,
            // A function with no public symbol (static, or the linker kept none) falls
            // inside the public symbol before it, as it does in DbgHelp.
            Some((_, offset)) if offset > 0 => static_functions.push(e.name.as_str()),
            found => other.push(format!("{:x} {} -> {:?}", e.rva, e.name, found.map(|(f, o)| (&*f.name, o)))),
        }
    }
    println!(
        "public symbols only: {same} of {} crash.sym names identical (without parameters), {folded} folded, \
         {} without a public symbol ({}), {} other",
        c.expected.len(),
        static_functions.len(),
        static_functions.join(", "),
        other.len()
    );
    assert!(other.is_empty(), "{other:#?}");
    assert!(static_functions.len() <= 8);
}

#[test]
fn resolves_from_a_plain_directory() {
    let Some(c) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut r = resolver(c.dir.to_str().unwrap(), tmp.path());
    assert_resolves_like_breakpad(&mut r, &c);
    assert_eq!(r.stats().from_pdb, 1);
    assert_eq!(r.take_messages(), Vec::<String>::new());
    assert_eq!(format_frame(Some("crash.exe"), 0x402910 + 5, &r.lookup(&c.identity, 0x2915)), "crash.exe!main+0x5");

    // The next session reads our cache file, not the PDB, even with no symbol path.
    let mut next = resolver("", tmp.path());
    assert_resolves_like_breakpad(&mut next, &c);
    assert_eq!(next.stats().from_cache, 1);
    assert_eq!(next.stats().from_pdb, 0);
}

fn store_with(root: &Path, identity: &PdbIdentity, file: &Path, as_name: &str) -> PathBuf {
    let dir = root.join(&identity.name).join(identity.store_key());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(file, dir.join(as_name)).unwrap();
    root.to_path_buf()
}

#[test]
fn resolves_from_a_symbol_store_and_its_cache_forms() {
    let Some(c) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with(&tmp.path().join("store"), &c.identity, &c.dir.join("crash.pdb"), "crash.pdb");
    for path in [
        format!("{}", store.display()),
        format!("srv*{}", store.display()),
        format!("cache*{}", store.display()),
        format!("srv*{}*http://127.0.0.1:9/unused", store.display()),
    ] {
        let cache = tempfile::tempdir().unwrap();
        let mut r = resolver(&path, cache.path());
        assert_resolves_like_breakpad(&mut r, &c);
        assert_eq!(r.stats().from_pdb, 1, "{path}");
        assert_eq!(r.take_messages(), Vec::<String>::new(), "{path}");
    }
}

#[test]
fn breakpad_sym_files_resolve_in_store_layout_and_flat() {
    let Some(c) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with(&tmp.path().join("store"), &c.identity, &c.dir.join("crash.sym"), "crash.sym");
    let flat = tmp.path().join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    std::fs::copy(c.dir.join("crash.sym"), flat.join("crash.sym")).unwrap();
    for dir in [store, flat] {
        let cache = tempfile::tempdir().unwrap();
        let mut r = resolver(dir.to_str().unwrap(), cache.path());
        let mut exact = 0;
        for e in &c.expected {
            match r.lookup(&c.identity, e.rva as u64) {
                Lookup::Function { name, offset: 0 } if *name == e.name => exact += 1,
                other => panic!("{other:?} for {}", e.name),
            }
        }
        assert_eq!(exact, c.expected.len());
        assert_eq!(r.stats().from_sym, 1);
        assert!(r.take_messages().is_empty());
    }
}

/// Symbols held in memory answer before the symbol path and the cache, and are
/// never written to the cache; set again, they replace what was resolved.
#[test]
fn in_memory_symbols_come_first_and_are_never_cached() {
    let Some(c) = corpus() else { return };
    let text = std::fs::read(c.dir.join("crash.sym")).unwrap();
    let mut memory = InMemorySymbols::default();
    assert_eq!(memory.add_breakpad(&text).unwrap(), c.identity);
    let cache = tempfile::tempdir().unwrap();
    // crash.pdb is on the path too: the PDB would be read (and cached) if memory were not asked first.
    let mut r = resolver(c.dir.to_str().unwrap(), cache.path());
    r.set_in_memory(memory);
    assert_resolves_like_breakpad(&mut r, &c);
    assert_eq!(r.stats(), ResolverStats { from_memory: 1, ..ResolverStats::default() });
    assert!(std::fs::read_dir(cache.path()).unwrap().next().is_none(), "the cache was written");

    // Replacing the memory source looks the identity up again, now on the path.
    r.set_in_memory(InMemorySymbols::default());
    assert!(matches!(r.lookup(&c.identity, c.expected[0].rva as u64), Lookup::Function { .. }));
    let stats = r.stats();
    assert_eq!((stats.from_memory, stats.from_pdb + stats.from_sym), (1, 1), "{stats:?}");
    assert!(std::fs::read_dir(cache.path()).unwrap().next().is_some(), "what the path gave is cached");
}

#[test]
fn a_pdb_of_another_identity_is_refused() {
    let Some(c) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut wrong_age = c.identity.clone();
    wrong_age.age += 1;
    let mut wrong_guid = c.identity.clone();
    wrong_guid.guid.0[0] ^= 1;
    for wrong in [wrong_age, wrong_guid] {
        // The corpus dir holds crash.pdb and crash.sym, both of the real identity.
        let mut r = resolver(c.dir.to_str().unwrap(), tmp.path());
        assert_eq!(r.lookup(&wrong, 0x2910), Lookup::NoSymbols);
        assert_eq!(format_frame(Some("crash.exe"), 0x402910, &Lookup::NoSymbols), "crash.exe!<PDB not found>");
        let messages = r.take_messages();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("crash.pdb: refused"), "{}", messages[0]);
        assert!(messages[0].contains(&c.identity.guid.to_string()) && messages[0].contains(&wrong.guid.to_string()));
        assert!(messages[1].contains("crash.sym: refused"), "{}", messages[1]);
        // Asked again: remembered, no new messages.
        assert_eq!(r.lookup(&wrong, 0x2911), Lookup::NoSymbols);
        assert!(r.take_messages().is_empty());
        assert_eq!(r.stats().missing, 1);
    }
}

#[test]
fn truncated_and_corrupt_pdbs_are_errors_not_panics() {
    let Some(c) = corpus() else { return };
    let bytes = std::fs::read(c.dir.join("crash.pdb")).unwrap();
    let mut cuts: Vec<usize> = (0..64).map(|i| i * bytes.len() / 64).collect();
    cuts.extend([0, 1, 31, 32, 33, 4096, 4097, bytes.len() - 1]);
    let mut failed = 0;
    for cut in cuts {
        failed += load_pdb_bytes(bytes[..cut].to_vec(), Some(&c.identity)).is_err() as usize;
    }
    assert!(failed > 60);
    // Flip bytes all over the file (a fixed pseudo-random walk): never a panic.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..300 {
        let mut damaged = bytes.clone();
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state % bytes.len() as u64) as usize;
            damaged[at] = (state >> 32) as u8;
        }
        let _ = load_pdb_bytes(damaged, None);
    }
    // Through the resolver: a message, <PDB not found>, and the session goes on.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("syms");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("crash.pdb"), &bytes[..bytes.len() / 3]).unwrap();
    let mut r = resolver(dir.to_str().unwrap(), tmp.path());
    assert_eq!(r.lookup(&c.identity, 0x2910), Lookup::NoSymbols);
    let messages = r.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("crash.pdb: damaged"), "{messages:?}");
}

#[test]
fn a_sym_file_with_garbage_lines_still_resolves() {
    let Some(c) = corpus() else { return };
    let text = std::fs::read_to_string(c.dir.join("crash.sym")).unwrap();
    let mut damaged = String::new();
    for (i, line) in text.lines().enumerate() {
        damaged.push_str(line);
        damaged.push('\n');
        if i % 50 == 7 {
            damaged.push_str("FUNC this is not hex\n\u{1}\u{2} garbage \u{fffd}\nPUBLIC\n");
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("syms");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("crash.sym"), damaged).unwrap();
    let mut r = resolver(dir.to_str().unwrap(), tmp.path());
    assert!(matches!(r.lookup(&c.identity, 0x2910), Lookup::Function { ref name, offset: 0 } if &**name == "main"));
    let messages = r.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("skipped"), "{messages:?}");
}

#[test]
fn a_damaged_cache_file_is_ignored_and_rewritten() {
    let Some(c) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut first = resolver(c.dir.to_str().unwrap(), tmp.path());
    assert!(matches!(first.lookup(&c.identity, 0x2910), Lookup::Function { .. }));
    let file = symbols::cache::cache_file(tmp.path(), &c.identity).unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let mut second = resolver(c.dir.to_str().unwrap(), tmp.path());
    assert_resolves_like_breakpad(&mut second, &c);
    let messages = second.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("checksum"), "{messages:?}");
    assert_eq!(second.stats().from_pdb, 1);
    let mut third = resolver("", tmp.path());
    assert_resolves_like_breakpad(&mut third, &c);
    assert_eq!(third.stats().from_cache, 1);
}

/// A symbol server on 127.0.0.1 for one test: serves crash.pdb at its store path, 404
/// for unknown files, 500 for `broken.pdb`, and never answers for `slow.pdb`. It serves
/// at most `limit` connections and stops by itself after 60 s or when dropped.
struct TestServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(pdb_path: String, pdb: Vec<u8>, limit: usize) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/symbols", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut held: Vec<TcpStream> = Vec::new();
            let mut served = 0;
            while served < limit && !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                served += 1;
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let request_path = common::read_request_path(&mut stream);
                log.lock().unwrap().push(request_path.clone());
                if request_path.ends_with("/slow.pdb") {
                    held.push(stream); // accepted, never answered
                    continue;
                }
                let (status, body): (&str, &[u8]) = if request_path == pdb_path {
                    ("200 OK", &pdb)
                } else if request_path.contains("/broken.pdb/") {
                    ("500 Internal Server Error", b"oops")
                } else {
                    ("404 Not Found", b"not here")
                };
                let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
            }
        });
        TestServer { url, requests, stop, thread: Some(thread) }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start_server(c: &Corpus, limit: usize) -> TestServer {
    let pdb = std::fs::read(c.dir.join("crash.pdb")).unwrap();
    let path = format!("/symbols/crash.pdb/{}/crash.pdb", c.identity.store_key());
    TestServer::start(path, pdb, limit)
}

#[test]
fn resolves_from_a_symbol_server_into_the_store_cache() {
    let Some(c) = corpus() else { return };
    let server = start_server(&c, 20);
    let tmp = tempfile::tempdir().unwrap();
    let downstream = tmp.path().join("sym");
    let mut r = resolver(&format!("srv*{}*{}", downstream.display(), server.url), tmp.path());
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    r.set_progress(Arc::new(move |e: &DownloadEvent| seen.lock().unwrap().push(e.clone())));
    assert_resolves_like_breakpad(&mut r, &c);
    assert_eq!(r.take_messages(), Vec::<String>::new());
    assert_eq!(server.requests().len(), 1);
    let stored = downstream.join("crash.pdb").join(c.identity.store_key()).join("crash.pdb");
    assert_eq!(std::fs::read(&stored).unwrap(), std::fs::read(c.dir.join("crash.pdb")).unwrap());
    let events = events.lock().unwrap();
    assert!(matches!(events.first(), Some(DownloadEvent::Started { total: Some(_), .. })));
    assert!(matches!(events.last(), Some(DownloadEvent::Finished { ok: true, .. })));

    // Next session without our cache file: the store copy is used, no new request.
    let other_cache = tempfile::tempdir().unwrap();
    let mut again = resolver(&format!("srv*{}*{}", downstream.display(), server.url), other_cache.path());
    assert_resolves_like_breakpad(&mut again, &c);
    assert_eq!(server.requests().len(), 1);

    // `srv*URL` alone downloads into the default download store.
    let plain = tempfile::tempdir().unwrap();
    let mut r = resolver(&format!("srv*{}", server.url), plain.path());
    assert_resolves_like_breakpad(&mut r, &c);
    assert!(plain.path().join("downloads/crash.pdb").join(c.identity.store_key()).join("crash.pdb").is_file());
}

#[test]
fn server_failures_cost_a_message_each_and_the_session_goes_on() {
    let Some(c) = corpus() else { return };
    let server = start_server(&c, 30);
    let tmp = tempfile::tempdir().unwrap();
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path());
    let id = |name: &str| PdbIdentity::new(name, c.identity.guid, 1);

    // 404 for the .pdb and the .sym: not found, no message but the plain miss.
    assert_eq!(r.lookup(&id("missing.pdb"), 0x1000), Lookup::NoSymbols);
    assert!(r.take_messages().is_empty());
    // 500: one message per file asked.
    assert_eq!(r.lookup(&id("broken.pdb"), 0x1000), Lookup::NoSymbols);
    let messages = r.take_messages();
    assert!(messages.iter().all(|m| m.contains("HTTP 500")) && !messages.is_empty(), "{messages:?}");
    // Hostile names: refused before any request.
    let before = server.requests().len();
    for hostile in ["../crash.pdb", "..\\..\\crash.pdb", "C:\\crash.pdb", "c:crash.pdb", "a/crash.pdb", "", "x\0.pdb"] {
        assert_eq!(r.lookup(&id(hostile), 0x1000), Lookup::NoSymbols);
        let messages = r.take_messages();
        assert!(messages.len() == 1 && messages[0].starts_with("refused PDB name"), "{messages:?}");
    }
    assert_eq!(server.requests().len(), before);
    // Hangs: one timeout, one message, then the server is left alone.
    let started = Instant::now();
    assert_eq!(r.lookup(&id("slow.pdb"), 0x1000), Lookup::NoSymbols);
    let messages = r.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("did not answer within 2 s"), "{messages:?}");
    assert_eq!(r.lookup(&id("other.pdb"), 0x1000), Lookup::NoSymbols);
    assert!(r.take_messages().is_empty());
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // The session goes on: a local directory later on the path still resolves.
    r.set_path(SymbolPath::parse(&format!("srv*{};{}", server.url, c.dir.display())));
    assert!(matches!(r.lookup(&c.identity, 0x2910), Lookup::Function { ref name, .. } if &**name == "main"));
}

#[test]
fn several_modules_download_at_once() {
    let Some(c) = corpus() else { return };
    let server = start_server(&c, 30);
    let tmp = tempfile::tempdir().unwrap();
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path());
    let ids: Vec<PdbIdentity> = ["a.pdb", "b.pdb", "broken.pdb"]
        .iter()
        .map(|n| PdbIdentity::new(*n, c.identity.guid, 1))
        .chain([c.identity.clone()])
        .collect();
    r.prefetch(&ids);
    let stats = r.stats();
    assert_eq!((stats.from_pdb, stats.missing), (1, 3));
    let requests = server.requests().len();
    assert_resolves_like_breakpad(&mut r, &c);
    assert_eq!(r.lookup(&ids[0], 0x10), Lookup::NoSymbols);
    assert_eq!(server.requests().len(), requests, "prefetched results are remembered");
}

#[test]
fn a_cancelled_session_downloads_nothing() {
    let Some(c) = corpus() else { return };
    let server = start_server(&c, 5);
    let tmp = tempfile::tempdir().unwrap();
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path());
    r.cancel_flag().store(true, Ordering::Relaxed);
    assert_eq!(r.lookup(&c.identity, 0x2910), Lookup::NoSymbols);
    assert!(server.requests().is_empty());
}

#[test]
fn a_server_nobody_listens_on_costs_one_message() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let mut r = resolver(&format!("srv*http://127.0.0.1:{port}/symbols"), tmp.path());
    for name in ["a.pdb", "b.pdb", "c.pdb"] {
        assert_eq!(r.lookup(&PdbIdentity::new(name, Guid::ZERO, 1), 0x1000), Lookup::NoSymbols);
    }
    let messages = r.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("unreachable"), "{messages:?}");
    assert!(messages[0].contains("not asked again"), "{messages:?}");
}
