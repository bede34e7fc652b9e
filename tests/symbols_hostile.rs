//! Symbol servers that misbehave, on 127.0.0.1: redirects off http, a trickle, an error
//! page served as 200, a cut-off body, a huge body, a download cancelled or killed
//! midway. Each ends in a clear message within its deadline, never a panic or a hang;
//! nothing bad is kept in a store or cached; memory stays bounded.
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::symbol_server::{files_under, not_found, respond, Server};

use etl::Guid;
use symbols::{DownloadLimits, Lookup, PdbIdentity, ResolverOptions, SymbolPath, SymbolResolver, SymbolTable};

/// Headers claiming `length` bytes, then one byte every 100 ms until the client goes
/// or the test ends.
fn trickle(stream: &mut TcpStream, stopped: &AtomicBool, length: u64) {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    while !stopped.load(Ordering::Relaxed) {
        if stream.write_all(b"M").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn limits(file_deadline: Duration, session_budget: Duration) -> DownloadLimits {
    DownloadLimits { enabled: true, file_deadline, session_budget, max_download: 64 << 20, miss_ttl: Duration::ZERO }
}

fn options(root: &Path, downloads: DownloadLimits) -> ResolverOptions {
    ResolverOptions {
        cache_root: Some(root.join("cache")),
        download_store: Some(root.join("store")),
        timeout: Duration::from_secs(2),
        parallel: 2,
        downloads,
    }
}

fn resolver(path: &str, root: &Path, downloads: DownloadLimits) -> SymbolResolver {
    SymbolResolver::with_options(SymbolPath::parse(path), options(root, downloads))
}

fn identity(name: &str) -> PdbIdentity {
    PdbIdentity::new(name, Guid::from_fields(0x1234_5678, 0x9abc, 0xdef0, [1, 2, 3, 4, 5, 6, 7, 8]), 1)
}

fn part_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir).into_iter().filter(|p| p.to_string_lossy().ends_with(".part")).collect()
}

/// Waits (at most `limit`) until `done` holds; whether it did.
fn eventually(limit: Duration, done: impl Fn() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

fn crash_pdb() -> Option<(PathBuf, PdbIdentity, Vec<u8>)> {
    let dir = common::corpus_dir()?.join("symbols");
    let bytes = std::fs::read(dir.join("crash.pdb")).unwrap();
    let info = symbols::pdb_file::pdb_info_of(&dir.join("crash.pdb")).unwrap();
    Some((dir, PdbIdentity::new("crash.pdb", info.guid, info.age), bytes))
}

#[test]
fn redirects_off_http_end_in_a_message_not_a_panic() {
    let good = identity("moved.pdb");
    let sym = format!("MODULE windows x86_64 {} moved.pdb\nFUNC 1000 20 0 Moved\n", good.store_key());
    let server = Server::start(move |path, stream, _| {
        let redirect = |stream: &mut TcpStream, status: &str, to: &str| {
            respond(stream, status, &format!("Location: {to}\r\nContent-Length: 0\r\n"), b"")
        };
        if path.contains("/file.pdb/") {
            redirect(stream, "302 Found", "file:///etc/passwd")
        } else if path.contains("/data.pdb/") {
            redirect(stream, "301 Moved Permanently", "data:text/plain,MODULE")
        } else if path.contains("/mailto.pdb/") {
            redirect(stream, "307 Temporary Redirect", "mailto:root@example.com")
        } else if path.contains("/nohost.pdb/") {
            redirect(stream, "308 Permanent Redirect", "http:///etc/passwd")
        } else if path.contains("/loop.pdb/") {
            redirect(stream, "302 Found", path)
        } else if path.starts_with("/blob/") {
            respond(stream, "200 OK", &format!("Content-Length: {}\r\n", sym.len()), sym.as_bytes())
        } else if path.contains("/moved.pdb/") && path.ends_with(".sym") {
            redirect(stream, "302 Found", &format!("/blob{path}"))
        } else {
            not_found(stream)
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let path = format!("srv*{}", server.url);
    for (name, expected) in [
        ("file.pdb", "refused a redirect to a file: URL"),
        ("data.pdb", "refused a redirect to a data: URL"),
        ("mailto.pdb", "refused a redirect to a mailto: URL"),
        ("nohost.pdb", "refused a redirect to a URL without a host"),
        ("loop.pdb", "more than 5 redirects"),
    ] {
        let started = Instant::now();
        let mut r = resolver(&path, tmp.path(), limits(Duration::from_secs(10), Duration::from_secs(60)));
        assert_eq!(r.lookup(&identity(name), 0x1000), Lookup::NoSymbols);
        let messages = r.take_messages();
        // One message per form asked (.pdb, .pd_, file.ptr, .sym), each naming the refusal.
        assert_eq!(messages.len(), 4, "{name}: {messages:?}");
        assert!(messages.iter().all(|m| m.contains(expected)), "{name}: {messages:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{name}: {:?}", started.elapsed());
    }
    assert_eq!(files_under(&tmp.path().join("store")), Vec::<PathBuf>::new());
    // A redirect within http is followed.
    let mut r = resolver(&path, tmp.path(), limits(Duration::from_secs(10), Duration::from_secs(60)));
    assert!(matches!(r.lookup(&good, 0x1004), Lookup::Function { ref name, offset: 4 } if &**name == "Moved"));
    assert!(server.requests().iter().any(|p| p.starts_with("/blob/symbols/moved.pdb/")));
}

#[test]
fn a_trickling_server_is_cut_off_at_the_file_deadline() {
    let server = Server::start(|path, stream, stopped| {
        if path.contains("/headers.pdb/") {
            // The status line, then a header that never ends.
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
            while !stopped.load(Ordering::Relaxed) && stream.write_all(b"a").is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
        } else {
            trickle(stream, stopped, 1 << 20)
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let path = format!("srv*{}", server.url);
    for name in ["body.pdb", "headers.pdb"] {
        let mut r = resolver(&path, tmp.path(), limits(Duration::from_secs(1), Duration::from_secs(60)));
        let started = Instant::now();
        assert_eq!(r.lookup(&identity(name), 0x1000), Lookup::NoSymbols);
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(3), "{name}: {took:?}");
        let messages = r.take_messages();
        assert!(
            messages.len() == 1
                && messages[0].contains("took longer than the 1 s allowed per file")
                && messages[0].contains("not asked again this session"),
            "{name}: {messages:?}"
        );
        // Left alone from now on: no request, no wait, no message.
        let asked = server.requests().len();
        let started = Instant::now();
        assert_eq!(r.lookup(&identity("other.pdb"), 0x1000), Lookup::NoSymbols);
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(server.requests().len(), asked);
        assert!(r.take_messages().is_empty());
    }
    // The abandoned transfers remove their .part files as soon as their reads return.
    let store = tmp.path().join("store");
    assert!(eventually(Duration::from_secs(3), || part_files(&store).is_empty()), "{:?}", part_files(&store));
    assert_eq!(files_under(&store), Vec::<PathBuf>::new());
}

#[test]
fn the_session_budget_bounds_all_downloads_together() {
    let servers: Vec<Server> = (0..3).map(|_| Server::start(|_, s, stopped| trickle(s, stopped, 1 << 20))).collect();
    let tmp = tempfile::tempdir().unwrap();
    let path: Vec<String> = servers.iter().map(|s| format!("srv*{}", s.url)).collect();
    let path = path.join(";");
    let mut r = resolver(&path, tmp.path(), limits(Duration::from_secs(1), Duration::from_millis(1500)));
    let started = Instant::now();
    assert_eq!(r.lookup(&identity("a.pdb"), 0x1000), Lookup::NoSymbols);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(3), "{took:?}");
    let messages = r.take_messages();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].contains("took longer than the 1 s allowed per file"), "{messages:?}");
    assert!(messages[1].contains("s left of this session's 1.5 s for downloads"), "{messages:?}");
    assert!(messages[2].contains("this session's 1.5 s for downloads are used up"), "{messages:?}");
    assert!(servers[2].requests().is_empty());
    // Said once: a second module costs neither time nor another message.
    let started = Instant::now();
    assert_eq!(r.lookup(&identity("b.pdb"), 0x1000), Lookup::NoSymbols);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(r.take_messages().is_empty());
    // A new symbol path is a new budget.
    r.set_path(SymbolPath::parse(&path));
    assert_eq!(r.lookup(&identity("c.pdb"), 0x1000), Lookup::NoSymbols);
    assert!(servers[0].requests().iter().any(|p| p.contains("/c.pdb/")));
}

#[test]
fn an_error_page_served_as_200_is_never_kept_or_cached() {
    let Some((corpus, crash, _)) = crash_pdb() else { return };
    let page = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n";
    let server = Server::start(move |_, stream, _| {
        respond(stream, "200 OK", &format!("Content-Length: {}\r\n", page.len()), page)
    });
    let tmp = tempfile::tempdir().unwrap();
    let downloads = || limits(Duration::from_secs(10), Duration::from_secs(60));
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path(), downloads());
    assert_eq!(r.lookup(&crash, 0x2910), Lookup::NoSymbols);
    let messages = r.take_messages();
    // One per form asked: the PDB, its compressed form, file.ptr, the Breakpad file.
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages[0].contains("crash.pdb: not a PDB (an HTML page); not kept"), "{messages:?}");
    assert!(messages[1].contains("crash.pd_: not a cabinet"), "{messages:?}");
    assert!(messages[2].contains("file.ptr: neither PATH: nor MSG:"), "{messages:?}");
    assert!(
        messages[3].contains("crash.sym: not a Breakpad symbol file: no MODULE line (an HTML page); not kept"),
        "{messages:?}"
    );
    assert_eq!(files_under(tmp.path()), Vec::<PathBuf>::new(), "nothing stored, nothing cached");
    // The next session finds the good PDB behind the bad server, and caches it.
    let path = format!("srv*{};{}", server.url, corpus.display());
    let mut r = resolver(&path, tmp.path(), downloads());
    assert!(matches!(r.lookup(&crash, 0x2910), Lookup::Function { ref name, offset: 0 } if &**name == "main"));
    assert_eq!(r.stats().from_pdb, 1);
    let mut r = resolver("", tmp.path(), downloads());
    assert!(matches!(r.lookup(&crash, 0x2910), Lookup::Function { ref name, .. } if &**name == "main"));
    assert_eq!(r.stats().from_cache, 1);
}

#[test]
fn a_poisoned_cache_or_store_is_discarded_and_fetched_again() {
    let Some((_, crash, pdb)) = crash_pdb() else { return };
    let pdb_path = format!("/symbols/crash.pdb/{}/crash.pdb", crash.store_key());
    let server = Server::start(move |path, stream, _| {
        if path == pdb_path {
            respond(stream, "200 OK", &format!("Content-Length: {}\r\n", pdb.len()), &pdb)
        } else {
            not_found(stream)
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    // What an older etwq left: an empty table in our cache, an error page in the store.
    let cache = tmp.path().join("cache");
    let cached = symbols::cache::write(&cache, &crash, &SymbolTable::default()).unwrap();
    let store = tmp.path().join("store");
    let bad_sym = store.join("crash.pdb").join(crash.store_key()).join("crash.sym");
    std::fs::create_dir_all(bad_sym.parent().unwrap()).unwrap();
    std::fs::write(&bad_sym, "<html><body>404 Not Found</body></html>\n").unwrap();

    let downloads = || limits(Duration::from_secs(10), Duration::from_secs(60));
    let path = format!("srv*{}*{}", store.display(), server.url);
    let mut r = resolver(&path, tmp.path(), downloads());
    assert!(matches!(r.lookup(&crash, 0x2910), Lookup::Function { ref name, offset: 0 } if &**name == "main"));
    let messages = r.take_messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("holds no functions; discarded, reading the symbols again"), "{messages:?}");
    assert!(messages[1].contains("crash.sym: damaged or not a symbol file: no FUNC or PUBLIC record"), "{messages:?}");
    assert_eq!(r.stats().from_pdb, 1);
    assert_eq!(server.requests(), [format!("/symbols/crash.pdb/{}/crash.pdb", crash.store_key())]);
    // The cache now holds the functions: the next session reads it, quietly.
    let mut r = resolver("", tmp.path(), downloads());
    assert!(matches!(r.lookup(&crash, 0x2910), Lookup::Function { ref name, .. } if &**name == "main"));
    assert_eq!(r.stats().from_cache, 1);
    assert!(r.take_messages().is_empty());
    assert!(std::fs::metadata(&cached).unwrap().len() > 1000);
}

#[test]
fn a_truncated_body_is_an_error_and_leaves_nothing() {
    let Some((_, crash, pdb)) = crash_pdb() else { return };
    let half = pdb[..pdb.len() / 2].to_vec();
    let full_length = pdb.len();
    let server = Server::start(move |path, stream, _| {
        if !path.ends_with("/crash.pdb") {
            not_found(stream)
        } else if path.starts_with("/symbols/") {
            // Says the whole length, sends half, hangs up.
            respond(stream, "200 OK", &format!("Content-Length: {full_length}\r\n"), &half)
        } else {
            // No length at all: the body ends where the connection does.
            respond(stream, "200 OK", "", &half)
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let downloads = || limits(Duration::from_secs(10), Duration::from_secs(60));
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path(), downloads());
    assert_eq!(r.lookup(&crash, 0x2910), Lookup::NoSymbols);
    let messages = r.take_messages();
    let expected = format!("got {} of {full_length} bytes", full_length / 2);
    assert!(messages.len() == 1 && messages[0].contains(&expected), "{messages:?}");

    let without_length = server.url.replace("/symbols", "/unsized");
    let mut r = resolver(&format!("srv*{without_length}"), tmp.path(), downloads());
    assert_eq!(r.lookup(&crash, 0x2910), Lookup::NoSymbols);
    let messages = r.take_messages();
    let expected = format!("truncated PDB: {} bytes of {full_length}; not kept", full_length / 2);
    assert!(messages.len() == 1 && messages[0].contains(&expected), "{messages:?}");
    assert_eq!(files_under(tmp.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_huge_body_is_refused_by_its_length_or_when_it_passes_the_limit() {
    let server = Server::start(|path, stream, stopped| {
        if path.contains("/claims.pdb/") {
            respond(stream, "200 OK", "Content-Length: 2147483648\r\n", b"Microsoft C/C++ MSF 7.00\r\n")
        } else if path.contains("/endless.pdb/") {
            // No length, and no end: zeros as fast as the client takes them.
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let block = vec![0u8; 64 * 1024];
            while !stopped.load(Ordering::Relaxed) && stream.write_all(&block).is_ok() {}
        } else {
            not_found(stream)
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let downloads =
        DownloadLimits { max_download: 1 << 20, ..limits(Duration::from_secs(10), Duration::from_secs(60)) };
    let path = format!("srv*{}", server.url);
    for (name, expected) in [
        ("claims.pdb", "refused: 2147483648 bytes is more than the 1 MiB allowed"),
        ("endless.pdb", "refused: more than the 1 MiB allowed"),
    ] {
        let started = Instant::now();
        let mut r = resolver(&path, tmp.path(), downloads.clone());
        assert_eq!(r.lookup(&identity(name), 0x1000), Lookup::NoSymbols);
        assert!(started.elapsed() < Duration::from_secs(5), "{name}: {:?}", started.elapsed());
        let messages = r.take_messages();
        assert!(messages.iter().any(|m| m.contains(expected)), "{name}: {messages:?}");
    }
    assert_eq!(files_under(tmp.path()), Vec::<PathBuf>::new());
}

/// Peak resident memory of this process (Linux), in KiB.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Downloading 128 MiB (refused only past the limit) streams to disk: the peak
/// memory grows by far less than the body. Measured in a child process of its own,
/// so that no other test's memory counts.
#[test]
fn a_large_download_streams_to_disk_in_bounded_memory() {
    const BODY: u64 = 128 << 20;
    if std::env::var_os("ETWQ_HOSTILE_CHILD").is_some() {
        let server = Server::start(|_, stream, stopped| {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let block = vec![0u8; 64 * 1024];
            let mut sent = 0;
            while sent < BODY + (1 << 20) && !stopped.load(Ordering::Relaxed) && stream.write_all(&block).is_ok() {
                sent += block.len() as u64;
            }
        });
        let tmp = tempfile::tempdir().unwrap();
        let before = peak_kib().unwrap_or(0);
        let downloads =
            DownloadLimits { max_download: BODY, ..limits(Duration::from_secs(60), Duration::from_secs(60)) };
        let mut r = resolver(&format!("srv*{}", server.url), tmp.path(), downloads);
        assert_eq!(r.lookup(&identity("big.pdb"), 0x1000), Lookup::NoSymbols);
        let messages = r.take_messages();
        assert!(messages.iter().any(|m| m.contains("more than the 128 MiB allowed")), "{messages:?}");
        println!("PEAK_KIB {before} {}", peak_kib().unwrap_or(0));
        return;
    }
    if peak_kib().is_none() {
        eprintln!("skipped: no /proc/self/status");
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["a_large_download_streams_to_disk_in_bounded_memory", "--exact", "--nocapture", "--test-threads=1"])
        .env("ETWQ_HOSTILE_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let numbers: Vec<u64> = stdout
        .lines()
        .find_map(|l| l.split_once("PEAK_KIB ").map(|(_, numbers)| numbers))
        .unwrap_or_else(|| panic!("no PEAK_KIB line in {stdout}"))
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let growth_mib = numbers[1].saturating_sub(numbers[0]) / 1024;
    println!(
        "128 MiB download: peak memory {} MiB before, {} MiB after (+{growth_mib} MiB)",
        numbers[0] / 1024,
        numbers[1] / 1024
    );
    assert!(growth_mib < 32, "peak memory grew by {growth_mib} MiB for a 128 MiB body");
}

#[test]
fn a_cancelled_download_stops_at_once_and_leaves_no_part_file() {
    let server = Server::start(|_, stream, stopped| trickle(stream, stopped, 1 << 20));
    let tmp = tempfile::tempdir().unwrap();
    let mut r =
        resolver(&format!("srv*{}", server.url), tmp.path(), limits(Duration::from_secs(30), Duration::from_secs(60)));
    let flag = r.cancel_flag();
    let ctrl_c = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        flag.store(true, Ordering::SeqCst);
    });
    let started = Instant::now();
    assert_eq!(r.lookup(&identity("a.pdb"), 0x1000), Lookup::NoSymbols);
    let took = started.elapsed();
    ctrl_c.join().unwrap();
    assert!(took >= Duration::from_millis(400) && took < Duration::from_millis(1500), "{took:?}");
    let messages = r.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("symbol downloads cancelled"), "{messages:?}");
    // While cancelled nothing more is asked, and the message is not repeated.
    let asked = server.requests().len();
    assert_eq!(r.lookup(&identity("b.pdb"), 0x1000), Lookup::NoSymbols);
    assert_eq!(server.requests().len(), asked);
    assert!(r.take_messages().is_empty());
    let store = tmp.path().join("store");
    assert!(eventually(Duration::from_secs(3), || part_files(&store).is_empty()), "{:?}", part_files(&store));
    assert_eq!(files_under(&store), Vec::<PathBuf>::new());
}

/// A process killed mid-download leaves its `.part` file; a later download into the
/// same directory removes it once it is old enough to belong to no running download,
/// and leaves a fresh one (another process's download in progress) alone.
#[test]
fn a_killed_download_leaves_a_part_file_that_a_later_one_removes() {
    if let Some(root) = std::env::var_os("ETWQ_HOSTILE_KILL_ROOT") {
        let url = std::env::var("ETWQ_HOSTILE_URL").unwrap();
        let mut r =
            resolver(&format!("srv*{url}"), Path::new(&root), limits(Duration::from_secs(30), Duration::from_secs(60)));
        r.lookup(&identity("a.pdb"), 0x1000);
        return;
    }
    // The first request (the child's) trickles; later ones are told "not found".
    let first = AtomicBool::new(true);
    let server = Server::start(move |path, stream, stopped| {
        if path.contains("/a.pdb/") && first.swap(false, Ordering::SeqCst) {
            trickle(stream, stopped, 1 << 20)
        } else {
            not_found(stream)
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["a_killed_download_leaves_a_part_file_that_a_later_one_removes", "--exact", "--test-threads=1"])
        .env("ETWQ_HOSTILE_KILL_ROOT", tmp.path())
        .env("ETWQ_HOSTILE_URL", &server.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let appeared = eventually(Duration::from_secs(10), || !part_files(&store).is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(appeared, "the child's download never started");
    let left = part_files(&store);
    assert_eq!(left.len(), 1, "{left:?}");
    let dir = left[0].parent().unwrap().to_path_buf();
    // Another process downloading into the same directory right now.
    let live = dir.join(".a.pdb.999999.0.part");
    std::fs::write(&live, b"MSF").unwrap();

    // A download moments later leaves both: either could belong to a running download.
    let downloads = || limits(Duration::from_secs(5), Duration::from_secs(60));
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path(), downloads());
    assert_eq!(r.lookup(&identity("a.pdb"), 0x1000), Lookup::NoSymbols);
    assert!(left[0].exists() && live.exists());

    // An hour later the killed one is stale and goes; the live one stays.
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3700);
    std::fs::File::options().write(true).open(&left[0]).unwrap().set_modified(an_hour_ago).unwrap();
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path(), downloads());
    assert_eq!(r.lookup(&identity("a.pdb"), 0x1000), Lookup::NoSymbols);
    assert!(!left[0].exists(), "the stale .part file was not removed");
    assert!(live.exists());
}

#[test]
fn downloads_can_be_turned_off() {
    let server = Server::start(|_, stream, _| not_found(stream));
    let tmp = tempfile::tempdir().unwrap();
    let off = DownloadLimits { enabled: false, ..limits(Duration::from_secs(5), Duration::from_secs(5)) };
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path(), off);
    for name in ["a.pdb", "b.pdb"] {
        assert_eq!(r.lookup(&identity(name), 0x1000), Lookup::NoSymbols);
    }
    let messages = r.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("downloads are off"), "{messages:?}");
    assert!(server.requests().is_empty());
}

/// `ETWQ_SYMBOL_CACHE=DIR|off` chooses the cache (and where `srv*URL` downloads land)
/// or turns it off; `ETWQ_SYMBOL_DOWNLOADS=off` keeps symbol servers out. Read in a
/// child process each, since the environment is the whole process's.
#[test]
fn the_environment_chooses_the_cache_and_turns_downloads_off() {
    if std::env::var_os("ETWQ_HOSTILE_PRINT_OPTIONS").is_some() {
        let options = ResolverOptions::default();
        println!(
            "OPTIONS cache={:?} store={:?} downloads={}",
            options.cache_root, options.download_store, options.downloads.enabled
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    let chosen = tmp.path().join("chosen");
    let options = |vars: &[(&str, &Path)]| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["the_environment_chooses_the_cache_and_turns_downloads_off", "--exact", "--nocapture"])
            .env("ETWQ_HOSTILE_PRINT_OPTIONS", "1")
            .env("XDG_CACHE_HOME", &xdg)
            .env("HOME", tmp.path())
            .env_remove("ETWQ_SYMBOL_CACHE")
            .env_remove("ETWQ_SYMBOL_DOWNLOADS");
        for (name, value) in vars {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let at = stdout.find("OPTIONS ").unwrap_or_else(|| panic!("{stdout}"));
        stdout[at + 8..].lines().next().unwrap().to_string()
    };
    let default = xdg.join("etwq").join("symbols");
    assert_eq!(options(&[]), format!("cache=Some({default:?}) store=Some({default:?}) downloads=true"));
    assert_eq!(
        options(&[("ETWQ_SYMBOL_CACHE", &chosen)]),
        format!("cache=Some({chosen:?}) store=Some({chosen:?}) downloads=true")
    );
    for off in ["off", "OFF", " Off "] {
        assert_eq!(options(&[("ETWQ_SYMBOL_CACHE", Path::new(off))]), "cache=None store=None downloads=true");
    }
    assert_eq!(
        options(&[("ETWQ_SYMBOL_DOWNLOADS", Path::new("off"))]),
        format!("cache=Some({default:?}) store=Some({default:?}) downloads=false")
    );
}

/// `--symbol-cache DIR` overrides the environment: symbols read from the symbol path
/// are cached there. (A random scenario's kernel has the identity of the demo's
/// ntkrnlmp.pdb, whose .sym text is put in a plain directory on the path.)
#[test]
fn the_symbol_cache_flag_chooses_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    let chosen = tmp.path().join("chosen");
    let trace = tmp.path().join("random.etl");
    std::fs::write(&trace, demo::random_scenario(3, &demo::RandomOptions::default()).to_bytes().unwrap().0).unwrap();
    let kernel_sym = demo::demo_symbol_texts().find(|text| text.contains(" ntkrnlmp.pdb")).unwrap();
    let identity = symbols::breakpad::parse_sym(kernel_sym.as_bytes()).identity.unwrap();
    let sym_dir = tmp.path().join("syms");
    std::fs::create_dir(&sym_dir).unwrap();
    std::fs::write(sym_dir.join("ntkrnlmp.sym"), kernel_sym).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_etwq"))
        .arg(&trace)
        .arg("--symbols")
        .arg(&sym_dir)
        .arg("--symbol-cache")
        .arg(&chosen)
        .args(["-c", "samples where module = \"ntoskrnl.exe\" group by func select count() as n"])
        .env("XDG_CACHE_HOME", &xdg)
        .env("ETWQ_SYMBOL_CACHE", "off")
        .env_remove("_NT_SYMBOL_PATH")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(symbols::cache::cache_file(&chosen, &identity).unwrap().is_file(), "{:?}", files_under(&chosen));
    assert!(!xdg.exists(), "the default cache was written");
}

/// The demo's symbols are held in memory: `etwq --demo` names its frames and writes
/// nothing into the symbol cache, the default one or one chosen with `--symbol-cache`.
#[test]
fn the_demo_names_frames_without_writing_a_symbol_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    let chosen = tmp.path().join("chosen");
    for flag in [None, Some(&chosen)] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_etwq"));
        command.arg("--demo");
        if let Some(dir) = flag {
            command.arg("--symbol-cache").arg(dir);
        }
        let output = command
            .args(["-c", "samples where proc = \"server.exe\" | folded"])
            .env("XDG_CACHE_HOME", &xdg)
            .env("HOME", tmp.path())
            .env_remove("ETWQ_SYMBOL_CACHE")
            .env_remove("_NT_SYMBOL_PATH")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("server.exe!SpinLock::Acquire"), "{stdout}");
        assert!(!xdg.exists() && !chosen.exists(), "written: {:?}", files_under(tmp.path()));
    }
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "{:?}", files_under(tmp.path()));
}

/// A server that sends the start of a body and then nothing: given up after the read
/// timeout (2 s here), long before the per-file deadline.
#[test]
fn a_server_that_goes_silent_is_given_up_after_the_read_timeout() {
    let server = Server::start(|_, stream, stopped| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nMicrosoft");
        while !stopped.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut r =
        resolver(&format!("srv*{}", server.url), tmp.path(), limits(Duration::from_secs(30), Duration::from_secs(60)));
    let started = Instant::now();
    assert_eq!(r.lookup(&identity("a.pdb"), 0x1000), Lookup::NoSymbols);
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(4), "{took:?}");
    let messages = r.take_messages();
    assert!(messages.len() == 1 && messages[0].contains("stopped sending for 2 s"), "{messages:?}");
}
