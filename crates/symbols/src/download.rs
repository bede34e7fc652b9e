//! One symbol file over HTTP(S), from a server that may be hostile or broken.
//!
//! - Redirects are followed here, not by ureq: only to `http`/`https` URLs with a host
//!   (ureq 2.12 panics on a redirect to `file:`, `data:` or `mailto:`), at most
//!   [`MAX_REDIRECTS`] of them.
//! - The body streams into a `.part` file beside its final name, is checked (PDB
//!   header, Breakpad `MODULE` line, length), and only then renamed: a store never
//!   holds half a file or an error page.
//! - The transfer runs on its own thread while the caller watches the cancel flag and
//!   the deadline, so Ctrl-C and the deadline take effect at once even while a read
//!   blocks; the abandoned thread removes its `.part` file and ends by itself. The
//!   caller also watches for a server that goes silent for the read timeout.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use super::validate::{check_symbol_file, SymbolFileKind};
use super::SymbolError;

/// A download's progress, for a progress bar drawn by the front end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadEvent {
    Started { url: String, total: Option<u64> },
    Progress { url: String, done: u64, total: Option<u64> },
    Finished { url: String, ok: bool },
}

pub type ProgressFn = Arc<dyn Fn(&DownloadEvent) + Send + Sync>;

/// Redirects followed for one file (symbol servers use one, to blob storage).
pub const MAX_REDIRECTS: usize = 5;

/// `.part` files older than this belong to no running download (a download ends by
/// its deadline) and are removed.
pub const STALE_PART_AGE: Duration = Duration::from_secs(3600);

/// How often the caller looks at the cancel flag and the clock.
const POLL: Duration = Duration::from_millis(50);

/// What a download must be to be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Symbol(SymbolFileKind),
    /// A compressed symbol file (`x.pd_`): a cabinet, checked once unpacked.
    Cabinet,
    /// A `file.ptr`: `PATH:` or `MSG:`.
    Pointer,
}

/// Checks a finished download against what it should be.
fn check_download(path: &Path, expect: Expect) -> Result<(), String> {
    match expect {
        Expect::Symbol(kind) => check_symbol_file(path, kind),
        Expect::Cabinet => {
            let mut head = Vec::with_capacity(4);
            std::fs::File::open(path).and_then(|f| f.take(4).read_to_end(&mut head)).map_err(|e| e.to_string())?;
            crate::cabinet::check_cab_head(&head)
        }
        Expect::Pointer => {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            crate::layout::parse_file_ptr(&String::from_utf8_lossy(&bytes)).map(|_| ())
        }
    }
}

/// What to download, where to, and within what limits.
pub struct Request {
    pub url: String,
    pub temp: PathBuf,
    pub final_path: PathBuf,
    pub expect: Expect,
    pub deadline: Instant,
    /// For the message when the deadline passes ("the 120 s allowed per file").
    pub deadline_text: String,
    pub max_bytes: u64,
    /// The agent's read timeout, for the message when a server stops sending.
    pub read_timeout: Duration,
}

/// Downloads `request.url` into `request.final_path`. `Ok(None)`: the server does not
/// have the file (404).
pub fn fetch(
    agent: &ureq::Agent,
    request: Request,
    cancel: &AtomicBool,
    progress: Option<ProgressFn>,
) -> Result<Option<PathBuf>, SymbolError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(SymbolError::Cancelled);
    }
    let abort = Arc::new(AtomicBool::new(false));
    let announced = Arc::new(AtomicBool::new(false));
    let activity = Arc::new(Activity::new());
    let (sender, receiver) = mpsc::channel();
    let (url, deadline, deadline_text) = (request.url.clone(), request.deadline, request.deadline_text.clone());
    let read_timeout = request.read_timeout;
    let worker = {
        let (agent, abort, announced, activity, progress) =
            (agent.clone(), abort.clone(), announced.clone(), activity.clone(), progress.clone());
        move || {
            let temp = request.temp.clone();
            let watch = Watch { abort: &abort, announced: &announced, activity: &activity };
            let result = transfer(&agent, &request, &watch, progress.as_ref());
            if result.is_err() || abort.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(&temp);
            }
            let _ = sender.send(result);
        }
    };
    if let Err(e) = std::thread::Builder::new().name("symbol download".into()).spawn(worker) {
        return Err(SymbolError::Network { url, what: format!("could not start a download thread: {e}") });
    }
    let result = loop {
        match receiver.recv_timeout(POLL) {
            Ok(result) => break result,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(SymbolError::Network { url: url.clone(), what: "the download stopped unexpectedly".into() })
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if cancel.load(Ordering::Relaxed) {
                    abort.store(true, Ordering::Relaxed);
                    break Err(SymbolError::Cancelled);
                }
                if Instant::now() >= deadline {
                    abort.store(true, Ordering::Relaxed);
                    break Err(SymbolError::Network {
                        url: url.clone(),
                        what: format!("took longer than {deadline_text}"),
                    });
                }
                if activity.quiet_for() >= read_timeout {
                    abort.store(true, Ordering::Relaxed);
                    let seconds = read_timeout.as_secs_f32();
                    let what = if announced.load(Ordering::Relaxed) {
                        format!("stopped sending for {seconds} s")
                    } else {
                        format!("did not answer within {seconds} s")
                    };
                    break Err(SymbolError::Network { url: url.clone(), what });
                }
            }
        }
    };
    if announced.load(Ordering::Relaxed) {
        if let Some(progress) = &progress {
            progress(&DownloadEvent::Finished { url, ok: matches!(result, Ok(Some(_))) });
        }
    }
    result
}

/// When the transfer last made progress. ureq's own read timeout does not apply once a
/// request has a deadline (ureq waits for the deadline instead), so the caller watches
/// for a silent server itself.
struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { origin: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        let ms = self.origin.elapsed().as_millis().min(u64::MAX as u128) as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        self.origin.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// What the worker shares with its caller.
struct Watch<'a> {
    /// Set by the caller: stop, remove the `.part` file.
    abort: &'a AtomicBool,
    /// Set by the worker once the server answered (a `Started` event went out).
    announced: &'a AtomicBool,
    activity: &'a Activity,
}

/// The worker's part: request (following redirects), stream, check, rename.
fn transfer(
    agent: &ureq::Agent,
    request: &Request,
    watch: &Watch,
    progress: Option<&ProgressFn>,
) -> Result<Option<PathBuf>, SymbolError> {
    let Watch { abort, announced, activity } = *watch;
    let Some((response, url)) = get_following_redirects(agent, request, abort, activity)? else {
        return Ok(None);
    };
    let server = |what: String| SymbolError::Server { url: url.clone(), what };
    let total = response.header("Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(total) = total.filter(|&t| t > request.max_bytes) {
        return Err(server(format!(
            "refused: {total} bytes is more than the {} allowed",
            bytes_text(request.max_bytes)
        )));
    }
    let emit = |event: DownloadEvent| {
        if let Some(progress) = progress.filter(|_| !abort.load(Ordering::Relaxed)) {
            progress(&event);
        }
    };
    announced.store(true, Ordering::Relaxed);
    emit(DownloadEvent::Started { url: url.clone(), total });
    let mut out = std::fs::File::create(&request.temp).map_err(|e| SymbolError::io(&request.temp, e))?;
    let mut body = response.into_reader();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    loop {
        if abort.load(Ordering::Relaxed) {
            return Err(SymbolError::Cancelled);
        }
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let what = if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
                    format!("stopped sending for {} s", request.read_timeout.as_secs_f32())
                } else if let (std::io::ErrorKind::UnexpectedEof, Some(total)) = (e.kind(), total) {
                    format!("got {done} of {total} bytes")
                } else {
                    format!("download broke off after {done} bytes: {e}")
                };
                return Err(SymbolError::Network { url, what });
            }
        };
        done += n as u64;
        activity.touch();
        if done > request.max_bytes {
            return Err(server(format!("refused: more than the {} allowed", bytes_text(request.max_bytes))));
        }
        out.write_all(&buffer[..n]).map_err(|e| SymbolError::io(&request.temp, e))?;
        emit(DownloadEvent::Progress { url: url.clone(), done, total });
    }
    if let Some(total) = total.filter(|&t| t != done) {
        return Err(SymbolError::Network { url, what: format!("got {done} of {total} bytes") });
    }
    out.sync_all().map_err(|e| SymbolError::io(&request.temp, e))?;
    drop(out);
    check_download(&request.temp, request.expect).map_err(|why| server(format!("{why}; not kept")))?;
    if abort.load(Ordering::Relaxed) {
        return Err(SymbolError::Cancelled);
    }
    std::fs::rename(&request.temp, &request.final_path).map_err(|e| SymbolError::io(&request.final_path, e))?;
    Ok(Some(request.final_path.clone()))
}

/// GETs `request.url`, following redirects that stay on http(s). `None`: 404. Also
/// returns the URL finally answered, for messages.
fn get_following_redirects(
    agent: &ureq::Agent,
    request: &Request,
    abort: &AtomicBool,
    activity: &Activity,
) -> Result<Option<(ureq::Response, String)>, SymbolError> {
    let mut url = request.url.clone();
    for _ in 0..=MAX_REDIRECTS {
        if abort.load(Ordering::Relaxed) {
            return Err(SymbolError::Cancelled);
        }
        // ureq's own deadline a little after ours: the caller notices ours first and
        // says so; this one only ends the abandoned thread.
        let left = request.deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1);
        let response = match agent.get(&url).timeout(left).call() {
            Ok(response) => response,
            Err(ureq::Error::Status(404, _)) => return Ok(None),
            Err(ureq::Error::Status(code, response)) => {
                return Err(SymbolError::Server { url, what: format!("HTTP {code} {}", response.status_text()) })
            }
            Err(ureq::Error::Transport(t)) => {
                let what = describe_transport(&t, request.read_timeout);
                return Err(match t.kind() {
                    ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => SymbolError::Server { url, what },
                    _ => SymbolError::Network { url, what },
                });
            }
        };
        activity.touch();
        if !(300..400).contains(&response.status()) {
            return Ok(Some((response, url)));
        }
        let status = response.status();
        let Some(location) = response.header("Location") else {
            return Err(SymbolError::Server { url, what: format!("HTTP {status} redirect without a Location") });
        };
        url = redirect_target(&url, location)
            .map_err(|what| SymbolError::Server { url: url.clone(), what: format!("HTTP {status}: {what}") })?;
    }
    Err(SymbolError::Server { url, what: format!("more than {MAX_REDIRECTS} redirects") })
}

/// The URL a `Location:` header points to from `base`: absolute, scheme-relative
/// (`//host/...`), absolute-path (`/...`) or relative. Only http and https with a
/// host are followed.
pub fn redirect_target(base: &str, location: &str) -> Result<String, String> {
    let location = location.trim();
    let shown: String = location.chars().take(80).collect();
    if location.is_empty() || location.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!("refused a redirect to {shown:?}"));
    }
    let (base_scheme, base_rest) = base.split_once("://").ok_or("not an absolute URL")?;
    let base_host_end = base_rest.find(['/', '?', '#']).unwrap_or(base_rest.len());
    let origin = &base[..base_scheme.len() + 3 + base_host_end];
    let target = match scheme_of(location) {
        Some(scheme) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(format!("refused a redirect to a {scheme}: URL ({shown:?}); only http and https"));
            }
            location.to_string()
        }
        None if location.starts_with("//") => format!("{base_scheme}:{location}"),
        None if location.starts_with('/') => format!("{origin}{location}"),
        None => {
            let path_end = base.find(['?', '#']).unwrap_or(base.len());
            let dir_end = base[..path_end].rfind('/').filter(|&i| i >= origin.len()).map(|i| i + 1);
            match dir_end {
                Some(end) => format!("{}{location}", &base[..end]),
                None => format!("{origin}/{location}"),
            }
        }
    };
    let after_scheme = target.split_once(':').map(|(_, rest)| rest).unwrap_or("");
    let authority = after_scheme
        .strip_prefix("//")
        .map(|rest| &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
        .unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    let host = if authority.contains('[') { authority } else { host };
    if host.is_empty() {
        return Err(format!("refused a redirect to a URL without a host ({shown:?})"));
    }
    Ok(target)
}

/// The scheme of an absolute URL (`scheme:` with RFC 3986 scheme characters).
fn scheme_of(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let scheme = &text[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(scheme)
}

/// Removes `.part` files in `dir` that no running download can own any more: left by
/// a process that was killed. Returns how many.
pub fn remove_stale_parts(dir: &Path, older_than: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".part")) {
            continue;
        }
        let age =
            entry.metadata().and_then(|m| m.modified()).ok().and_then(|modified| now.duration_since(modified).ok());
        if age.is_some_and(|age| age >= older_than) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn describe_transport(t: &ureq::Transport, timeout: Duration) -> String {
    let text = t.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("timed out") || lower.contains("timeout") || lower.contains("would block") {
        format!("did not answer within {} s", timeout.as_secs_f32())
    } else {
        format!("unreachable: {text}")
    }
}

/// `4 GiB`, `512 MiB`, `1000 bytes`.
pub fn bytes_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_http_with_a_host() {
        let base = "http://127.0.0.1:8080/symbols/a.pdb/KEY/a.pdb";
        for (location, expected) in [
            ("https://blob.example/x?sig=1", "https://blob.example/x?sig=1"),
            ("HTTP://h:1/x", "HTTP://h:1/x"),
            ("//cdn.example/y", "http://cdn.example/y"),
            ("/other/a.pdb", "http://127.0.0.1:8080/other/a.pdb"),
            ("b.pdb", "http://127.0.0.1:8080/symbols/a.pdb/KEY/b.pdb"),
            ("http://[::1]:9/x", "http://[::1]:9/x"),
        ] {
            assert_eq!(redirect_target(base, location).as_deref(), Ok(expected), "{location}");
        }
        for (location, why) in [
            ("file:///etc/passwd", "file: URL"),
            ("data:text/plain,hello", "data: URL"),
            ("mailto:root@example.com", "mailto: URL"),
            ("javascript:alert(1)", "javascript: URL"),
            ("http:///nohost", "without a host"),
            ("http://", "without a host"),
            ("https://user@/x", "without a host"),
            ("https:x", "without a host"),
            ("", "refused a redirect"),
            ("http://a b/", "refused a redirect"),
            ("/x\r\nSet-Cookie: y", "refused a redirect"),
        ] {
            let err = redirect_target(base, location).unwrap_err();
            assert!(err.contains(why), "{location}: {err}");
        }
    }

    #[test]
    fn only_old_part_files_are_removed() {
        let dir = tempfile_dir();
        let old = dir.join(".a.pdb.1.0.part");
        let fresh = dir.join(".a.pdb.2.0.part");
        let other = dir.join("a.pdb");
        for f in [&old, &fresh, &other] {
            std::fs::write(f, b"x").unwrap();
        }
        let past = SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options().write(true).open(&old).unwrap().set_modified(past).unwrap();
        assert_eq!(remove_stale_parts(&dir, STALE_PART_AGE), 1);
        assert!(!old.exists() && fresh.exists() && other.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("etwq-parts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes_text(4 << 30), "4 GiB");
        assert_eq!(bytes_text(512 << 20), "512 MiB");
        assert_eq!(bytes_text(1000), "1000 bytes");
    }
}
