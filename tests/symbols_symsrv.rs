//! Symbol servers and stores as Microsoft's really are, on 127.0.0.1: `x.pd_` cabinets
//! (made by gcab) instead of `x.pdb`, `file.ptr` pointers, two-tier stores
//! (`index2.txt`), several servers in order, a slow answer and a dropped connection,
//! and misses remembered so that a second session does not ask again.
mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::symbol_server::{files_under, not_found, respond, Server};
use etl::Guid;
use symbols::{DownloadLimits, PdbIdentity, ResolverOptions, SymbolPath, SymbolResolver};

struct Crash {
    pdb_path: PathBuf,
    identity: PdbIdentity,
    bytes: Vec<u8>,
}

fn crash() -> Option<Crash> {
    let pdb_path = common::corpus_dir()?.join("symbols").join("crash.pdb");
    let bytes = std::fs::read(&pdb_path).unwrap();
    let info = symbols::pdb_file::pdb_info_of(&pdb_path).unwrap();
    Some(Crash { identity: PdbIdentity::new("crash.pdb", info.guid, info.age), pdb_path, bytes })
}

/// `crash.pd_`, made by gcab with MSZIP compression from the corpus PDB.
fn crash_cab(c: &Crash, work: &Path) -> Option<Vec<u8>> {
    let found = Command::new("gcab").arg("--version").output().is_ok_and(|o| o.status.success());
    if !common::tool_available(found, "gcab", "the compressed symbol file (.pd_) tests") {
        return None;
    }
    let dir = work.join("cab-input");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("crash.pdb"), &c.bytes).unwrap();
    let cab = work.join("crash.pd_");
    let status = Command::new("gcab").args(["-c", "-z", "-n"]).arg(&cab).arg(dir.join("crash.pdb")).status().unwrap();
    assert!(status.success(), "gcab failed");
    Some(std::fs::read(&cab).unwrap())
}

fn limits(miss_ttl: Duration) -> DownloadLimits {
    DownloadLimits {
        enabled: true,
        file_deadline: Duration::from_secs(10),
        session_budget: Duration::from_secs(60),
        max_download: 64 << 20,
        miss_ttl,
    }
}

fn resolver_with(path: &str, root: &Path, downloads: DownloadLimits) -> SymbolResolver {
    let options = ResolverOptions {
        cache_root: Some(root.join("cache")),
        download_store: Some(root.join("store")),
        timeout: Duration::from_secs(1),
        parallel: 2,
        downloads,
    };
    SymbolResolver::with_options(SymbolPath::parse(path), options)
}

fn resolver(path: &str, root: &Path) -> SymbolResolver {
    resolver_with(path, root, limits(Duration::from_secs(24 * 3600)))
}

/// The function count of crash.pdb, read by the PDB reader straight from the corpus:
/// what any route to the same file must give.
fn expected_functions(c: &Crash) -> usize {
    symbols::pdb_file::load_pdb(&c.pdb_path, &c.identity).unwrap().functions().len()
}

fn resolves(r: &mut SymbolResolver, c: &Crash) -> bool {
    let table = r.table(&c.identity);
    table.is_some_and(|t| t.functions().len() == expected_functions(c))
}

/// The request path of `file` for crash.pdb on the test server.
fn request(c: &Crash, file: &str) -> String {
    format!("/symbols/crash.pdb/{}/{file}", c.identity.store_key())
}

/// A Microsoft-like server: `files` maps a request path's last segment to a body;
/// anything else is 404.
fn serving(files: Vec<(&'static str, Vec<u8>)>) -> Server {
    Server::start(move |path, stream, _| {
        let last = path.rsplit('/').next().unwrap_or("");
        match files.iter().find(|(name, _)| *name == last) {
            Some((_, body)) => respond(stream, "200 OK", &format!("Content-Length: {}\r\n", body.len()), body),
            None => not_found(stream),
        }
    })
}

#[test]
fn a_compressed_pdb_is_unpacked_into_the_store_under_its_plain_name() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(cab) = crash_cab(&c, tmp.path()) else { return };
    assert_ne!(cab, c.bytes);
    let server = serving(vec![("crash.pd_", cab)]);
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path());
    assert!(resolves(&mut r, &c), "{:?}", r.take_messages());
    // The plain name first, then the compressed one.
    assert_eq!(server.requests(), vec![request(&c, "crash.pdb"), request(&c, "crash.pd_")]);
    let stored = tmp.path().join("store/crash.pdb").join(c.identity.store_key()).join("crash.pdb");
    assert_eq!(std::fs::read(&stored).unwrap(), c.bytes, "the store holds the unpacked PDB");
    let store_files = files_under(&tmp.path().join("store"));
    assert_eq!(store_files, vec![stored], "no cabinet or .part file is left");
}

#[test]
fn a_damaged_cabinet_is_a_clear_error_and_leaves_nothing() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(cab) = crash_cab(&c, tmp.path()) else { return };
    let mut damaged_body = cab.clone();
    for i in (200..damaged_body.len()).step_by(97) {
        damaged_body[i] ^= 0x5a;
    }
    let mut wrong_member = cab.clone();
    // The member's name in the CFFILE entry: a cabinet of another file, same length.
    let at = wrong_member.windows(9).position(|w| w == b"crash.pdb").unwrap();
    wrong_member[at..at + 9].copy_from_slice(b"other.pdb");
    for (what, body) in [
        ("truncated", cab[..cab.len() / 2].to_vec()),
        ("bytes flipped", damaged_body),
        ("header only", cab[..40].to_vec()),
        ("not a cabinet", b"<html><body>oops</body></html>".to_vec()),
    ] {
        let root = tmp.path().join(what.replace(' ', "-"));
        let server = serving(vec![("crash.pd_", body)]);
        let started = Instant::now();
        let mut r = resolver(&format!("srv*{}", server.url), &root);
        assert!(r.table(&c.identity).is_none(), "{what}: resolved from a damaged cabinet");
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: took {:?}", started.elapsed());
        let messages = r.take_messages().join("\n");
        assert!(messages.contains("crash.pd_") && messages.contains("not kept"), "{what}: {messages}");
        assert!(files_under(&root.join("store")).is_empty(), "{what}: left {:?}", files_under(&root.join("store")));
        // A damaged answer is no "not here": the next session asks again.
        let before = server.requests().len();
        let mut again = resolver(&format!("srv*{}", server.url), &root);
        assert!(again.table(&c.identity).is_none());
        assert!(server.requests().len() > before, "{what}: a damaged cabinet was remembered as missing");
    }
    // One file of another name in the cabinet is still the file (symsrv takes it too).
    let server = serving(vec![("crash.pd_", wrong_member)]);
    let mut r = resolver(&format!("srv*{}", server.url), &tmp.path().join("renamed"));
    assert!(resolves(&mut r, &c), "{:?}", r.take_messages());
}

#[test]
fn file_ptr_paths_are_followed_and_messages_shown() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let pointer = format!("PATH:{}\r\n", c.pdb_path.display()).into_bytes();
    let server = serving(vec![("file.ptr", pointer)]);
    let mut r = resolver(&format!("srv*{}", server.url), tmp.path());
    assert!(resolves(&mut r, &c), "{:?}", r.take_messages());
    assert_eq!(
        server.requests(),
        vec![request(&c, "crash.pdb"), request(&c, "crash.pd_"), request(&c, "file.ptr")],
        "symsrv's order: plain, compressed, pointer"
    );
    // Pointers are followed, not kept in the store.
    assert!(files_under(&tmp.path().join("store")).iter().all(|p| !p.ends_with("file.ptr")));

    let root = tmp.path().join("msg");
    let server = serving(vec![("file.ptr", b"MSG: withheld by the build lab".to_vec())]);
    let mut r = resolver(&format!("srv*{}", server.url), &root);
    assert!(r.table(&c.identity).is_none());
    let messages = r.take_messages().join("\n");
    assert!(messages.contains("crash.pdb is not available: withheld by the build lab"), "{messages}");

    let root = tmp.path().join("nowhere");
    let server = serving(vec![("file.ptr", b"PATH:\\\\buildshare\\syms\\crash.pdb".to_vec())]);
    let mut r = resolver(&format!("srv*{}", server.url), &root);
    assert!(r.table(&c.identity).is_none());
    let messages = r.take_messages().join("\n");
    assert!(messages.contains("cannot be read here"), "{messages}");
}

/// `<first two characters>/<name>/<KEY>/<name>` under a store with `index2.txt`.
fn two_tier_path(store: &Path, c: &Crash) -> PathBuf {
    store.join("cr").join("crash.pdb").join(c.identity.store_key()).join("crash.pdb")
}

#[test]
fn two_tier_stores_are_read_and_written() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("local");
    std::fs::create_dir_all(two_tier_path(&local, &c).parent().unwrap()).unwrap();
    std::fs::copy(&c.pdb_path, two_tier_path(&local, &c)).unwrap();
    // Without index2.txt the store is one-tier and the file is not where it looks.
    for path in [format!("srv*{}", local.display()), local.display().to_string()] {
        let mut r = resolver(&path, &tmp.path().join("a"));
        assert!(r.table(&c.identity).is_none(), "{path}: found without index2.txt");
    }
    std::fs::write(local.join("index2.txt"), b"").unwrap();
    for (i, path) in [format!("srv*{}", local.display()), local.display().to_string()].iter().enumerate() {
        let mut r = resolver(path, &tmp.path().join(format!("b{i}")));
        assert!(resolves(&mut r, &c), "{path}: {:?}", r.take_messages());
    }

    // A two-tier downstream store receives downloads two-tier.
    let down = tmp.path().join("down");
    std::fs::create_dir_all(&down).unwrap();
    std::fs::write(down.join("index2.txt"), b"").unwrap();
    let server = serving(vec![("crash.pdb", c.bytes.clone())]);
    let mut r = resolver(&format!("srv*{}*{}", down.display(), server.url), &tmp.path().join("c"));
    assert!(resolves(&mut r, &c), "{:?}", r.take_messages());
    assert_eq!(std::fs::read(two_tier_path(&down, &c)).unwrap(), c.bytes);
    // And is read two-tier by the next session, which asks no server.
    let mut again = resolver(&format!("srv*{}*{}", down.display(), server.url), &tmp.path().join("d"));
    assert!(resolves(&mut again, &c));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn several_servers_are_asked_in_order_until_one_has_it() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let server_with = |label: &'static str, has_it: bool, body: Vec<u8>| {
        let order = order.clone();
        Server::start(move |path, stream: &mut TcpStream, _| {
            order.lock().unwrap().push(label);
            if has_it && path.ends_with("/crash.pdb") {
                respond(stream, "200 OK", &format!("Content-Length: {}\r\n", body.len()), &body)
            } else {
                not_found(stream)
            }
        })
    };
    let a = server_with("a", false, Vec::new());
    let b = server_with("b", true, c.bytes.clone());
    let (sa, sb) = (tmp.path().join("sa"), tmp.path().join("sb"));
    let path = format!("srv*{}*{};srv*{}*{}", sa.display(), a.url, sb.display(), b.url);
    let mut r = resolver(&path, tmp.path());
    assert!(resolves(&mut r, &c), "{:?}", r.take_messages());
    // Every form from the first server (it said 404 to each) before the second is asked.
    assert_eq!(*order.lock().unwrap(), vec!["a", "a", "a", "a", "b"]);
    assert!(files_under(&sa).iter().all(|p| !p.ends_with("crash.pdb")));
    assert!(files_under(&sb).iter().any(|p| p.ends_with("crash.pdb")));

    // When the first has it, the second is never asked.
    order.lock().unwrap().clear();
    let a = server_with("a", true, c.bytes.clone());
    let path = format!("srv*{}*{};srv*{}*{}", tmp.path().join("sc").display(), a.url, sb.display(), b.url);
    let mut r = resolver(&path, &tmp.path().join("second"));
    assert!(resolves(&mut r, &c));
    assert_eq!(*order.lock().unwrap(), vec!["a"]);
}

#[test]
fn a_missing_pdb_is_not_asked_for_again_until_the_memory_expires() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let server = serving(Vec::new());
    let path = format!("srv*{}", server.url);
    let mut first = resolver(&path, tmp.path());
    assert!(first.table(&c.identity).is_none());
    let asked = server.requests();
    let forms: Vec<String> =
        ["crash.pdb", "crash.pd_", "file.ptr", "crash.sym"].iter().map(|f| request(&c, f)).collect();
    assert_eq!(asked, forms, "every form asked once");
    // A second session in the same store asks nothing and says why.
    let mut second = resolver(&path, tmp.path());
    assert!(second.table(&c.identity).is_none());
    assert_eq!(server.requests().len(), asked.len(), "the second session asked again");
    let messages = second.take_messages().join("\n");
    assert!(messages.contains("not asked again") && messages.contains("24 h"), "{messages}");
    // Another server is asked: the memory is per server.
    let other = serving(Vec::new());
    let mut third = resolver(&format!("srv*{}", other.url), tmp.path());
    assert!(third.table(&c.identity).is_none());
    assert_eq!(other.requests().len(), 4);
    // With a short memory, a later session asks again.
    let short = limits(Duration::from_secs(1));
    let mut fourth = resolver_with(&path, &tmp.path().join("short"), short.clone());
    assert!(fourth.table(&c.identity).is_none());
    let before = server.requests().len();
    std::thread::sleep(Duration::from_millis(1100));
    let mut fifth = resolver_with(&path, &tmp.path().join("short"), short);
    assert!(fifth.table(&c.identity).is_none());
    assert_eq!(server.requests().len(), before + 4, "an expired miss was not asked again");
    // Zero remembers nothing.
    let mut none = resolver_with(&path, &tmp.path().join("zero"), limits(Duration::ZERO));
    assert!(none.table(&c.identity).is_none());
    assert!(!tmp.path().join("zero/store/etwq-missing").exists());
}

#[test]
fn slow_and_dropped_answers_fail_in_time_and_are_not_remembered() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let slow = Server::start(|_, stream, _| {
        std::thread::sleep(Duration::from_secs(3));
        not_found(stream)
    });
    let dropped = Server::start(|_, stream, _| {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    for (what, server, expected) in
        [("slow", &slow, "did not answer within 1 s"), ("dropped", &dropped, "symbol server")]
    {
        let root = tmp.path().join(what);
        let path = format!("srv*{}", server.url);
        let started = Instant::now();
        let mut r = resolver(&path, &root);
        assert!(r.table(&c.identity).is_none());
        // The 1 s read timeout, with room for a loaded machine.
        assert!(started.elapsed() < Duration::from_secs(3), "{what}: took {:?}", started.elapsed());
        let messages = r.take_messages().join("\n");
        assert!(messages.contains(expected) && messages.contains("not asked again this session"), "{what}: {messages}");
        assert!(!root.join("store/etwq-missing").exists(), "{what}: remembered as missing");
        let before = server.requests().len();
        let mut again = resolver(&path, &root);
        assert!(again.table(&c.identity).is_none());
        assert!(server.requests().len() > before, "{what}: the next session did not ask again");
    }
}

/// A module of our own making, served as a Breakpad file.
fn made_up(i: u32) -> (PdbIdentity, String) {
    let name = format!("m{i}.pdb");
    let identity = PdbIdentity::new(&name, Guid::from_fields(0x5eed_0000 + i, 1, 2, [3; 8]), 1);
    let sym = format!("MODULE windows x86_64 {} {name}\nFUNC 1000 20 0 Function{i}\n", identity.store_key());
    (identity, sym)
}

#[test]
fn downloads_run_at_once_with_a_line_each_and_a_total() {
    let modules: Vec<(PdbIdentity, String)> = (0..6).map(made_up).collect();
    // m5 is on no server.
    let served: Vec<(String, Vec<u8>)> = modules[..5]
        .iter()
        .map(|(id, sym)| (format!("{}.sym", id.name.trim_end_matches(".pdb")), sym.clone().into_bytes()))
        .collect();
    let expected_bytes: usize = served.iter().map(|(_, body)| body.len()).sum();
    let busy = Arc::new(Mutex::new((0usize, 0usize))); // (now, most at once)
    let counter = busy.clone();
    let server = Server::start(move |path, stream, _| {
        let last = path.rsplit('/').next().unwrap_or("").to_string();
        let Some((_, body)) = served.iter().find(|(name, _)| *name == last) else {
            return not_found(stream);
        };
        {
            let mut b = counter.lock().unwrap();
            b.0 += 1;
            b.1 = b.1.max(b.0);
        }
        std::thread::sleep(Duration::from_millis(200));
        respond(stream, "200 OK", &format!("Content-Length: {}\r\n", body.len()), body);
        counter.lock().unwrap().0 -= 1;
    });
    let tmp = tempfile::tempdir().unwrap();
    let options = ResolverOptions {
        cache_root: Some(tmp.path().join("cache")),
        download_store: Some(tmp.path().join("store")),
        timeout: Duration::from_secs(5),
        parallel: 3,
        downloads: limits(Duration::from_secs(3600)),
    };
    let mut r = SymbolResolver::with_options(SymbolPath::parse(&format!("srv*{}", server.url)), options);
    let ids: Vec<PdbIdentity> = modules.iter().map(|(id, _)| id.clone()).collect();
    r.prefetch(&ids);
    assert!(busy.lock().unwrap().1 > 1, "the downloads ran one at a time");
    for (i, (id, _)) in modules.iter().enumerate() {
        assert_eq!(r.table(id).is_some(), i < 5, "{}", id.name);
    }
    let lines = r.take_download_report();
    assert_eq!(lines.len(), 6, "{lines:?}");
    for i in 0..5 {
        let line = format!("downloaded m{i}.sym (");
        assert!(lines[..5].iter().any(|l| l.starts_with(&line) && l.ends_with(&server.url)), "{line}: {lines:?}");
    }
    let total = &lines[5];
    assert!(total.starts_with(&format!("symbol downloads: 5 files, {expected_bytes} bytes in ")), "{total}");
    assert!(total.ends_with("(up to 3 at a time); 1 not on any server"), "{total}");
    assert!(r.take_download_report().is_empty());
}

/// A share made by `symstore /compress` or `/p`: `.pd_` and `file.ptr` in a local store.
#[test]
fn local_stores_hold_compressed_files_and_pointers_too() {
    let Some(c) = crash() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(cab) = crash_cab(&c, tmp.path()) else { return };
    let share = tmp.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("index2.txt"), b"").unwrap();
    let key_dir = two_tier_path(&share, &c).parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&key_dir).unwrap();
    std::fs::write(key_dir.join("crash.pd_"), &cab).unwrap();
    let down = tmp.path().join("down");
    let mut r = resolver(&format!("srv*{}*{}", down.display(), share.display()), &tmp.path().join("a"));
    assert!(resolves(&mut r, &c), "{:?}", r.take_messages());
    let unpacked = down.join("crash.pdb").join(c.identity.store_key()).join("crash.pdb");
    assert_eq!(std::fs::read(unpacked).unwrap(), c.bytes, "unpacked into the downstream store");

    std::fs::remove_file(key_dir.join("crash.pd_")).unwrap();
    std::fs::write(key_dir.join("file.ptr"), format!("PATH:{}", c.pdb_path.display())).unwrap();
    let mut r = resolver(&share.display().to_string(), &tmp.path().join("b"));
    assert!(resolves(&mut r, &c), "{:?}", r.take_messages());

    std::fs::write(key_dir.join("file.ptr"), "MSG:private symbols only").unwrap();
    let mut r = resolver(&share.display().to_string(), &tmp.path().join("c"));
    assert!(r.table(&c.identity).is_none());
    let messages = r.take_messages().join("\n");
    assert!(messages.contains("crash.pdb is not available: private symbols only"), "{messages}");
}
