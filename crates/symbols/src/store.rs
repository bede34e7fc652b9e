//! Finding a module's symbol file: plain directories (store layout `name.pdb/KEY/name.pdb`
//! and flat), local symbol stores, and symbol servers over HTTP(S), whose downloads land
//! in a local store.
use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::identity::PdbIdentity;
use super::path::{SymbolPath, SymbolPathElement, Upstream};
use super::SymbolError;

/// Which reader a file needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolFileKind {
    Pdb,
    Sym,
}

/// A download's progress, for a progress bar drawn by the front end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadEvent {
    Started { url: String, total: Option<u64> },
    Progress { url: String, done: u64, total: Option<u64> },
    Finished { url: String, ok: bool },
}

pub type ProgressFn = Arc<dyn Fn(&DownloadEvent) + Send + Sync>;

/// Refuse downloads larger than this: no PDB is that big, a hostile server could be.
const MAX_DOWNLOAD: u64 = 4 << 30;

/// The candidate files for `identity` in one directory, in the order to try them:
/// store layout before flat, `.pdb` before `.sym`. Only files that exist.
pub fn candidates_in_dir(dir: &Path, identity: &PdbIdentity, flat_too: bool) -> Vec<(PathBuf, SymbolFileKind)> {
    let Ok(name) = identity.checked_name() else {
        return Vec::new();
    };
    let sym = identity.sym_name();
    let keyed = dir.join(name).join(identity.store_key());
    let mut all = vec![(keyed.join(name), SymbolFileKind::Pdb), (keyed.join(&sym), SymbolFileKind::Sym)];
    if flat_too {
        all.push((dir.join(name), SymbolFileKind::Pdb));
        all.push((dir.join(&sym), SymbolFileKind::Sym));
    }
    all.into_iter().filter(|(p, _)| p.is_file()).collect()
}

/// Walks the symbol path for one identity. Shared by the threads that resolve several
/// modules at once, so everything in it is behind `&self`.
pub struct Locator {
    pub path: SymbolPath,
    /// Where downloads land when the path names no store for them.
    pub default_store: Option<PathBuf>,
    pub timeout: Duration,
    pub cancel: Arc<AtomicBool>,
    pub progress: Option<ProgressFn>,
    agent: ureq::Agent,
    /// Servers that did not answer: not asked again this session.
    dead: Mutex<HashSet<String>>,
    messages: Mutex<Vec<String>>,
    temp_counter: AtomicU64,
}

impl Locator {
    pub fn new(path: SymbolPath, default_store: Option<PathBuf>, timeout: Duration) -> Locator {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout)
            .timeout_read(timeout)
            .timeout_write(timeout)
            .user_agent(concat!("etwq/", env!("CARGO_PKG_VERSION"), " (symbol download)"))
            .redirects(4)
            .build();
        Locator {
            path,
            default_store,
            timeout,
            cancel: Arc::new(AtomicBool::new(false)),
            progress: None,
            agent,
            dead: Mutex::new(HashSet::new()),
            messages: Mutex::new(Vec::new()),
            temp_counter: AtomicU64::new(0),
        }
    }

    pub fn message(&self, text: String) {
        lock(&self.messages).push(text);
    }

    pub fn take_messages(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.messages))
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Offers each candidate file to `accept` in symbol path order, downloading from
    /// servers only when nothing before them was accepted. Returns whether one was.
    pub fn locate(&self, identity: &PdbIdentity, accept: &mut dyn FnMut(&Path, SymbolFileKind) -> bool) -> bool {
        let mut cache_store: Option<PathBuf> = None;
        for element in &self.path.elements {
            match element {
                SymbolPathElement::Dir(dir) => {
                    if offer(candidates_in_dir(dir, identity, true), accept) {
                        return true;
                    }
                }
                SymbolPathElement::Cache(dir) => {
                    if offer(candidates_in_dir(dir, identity, false), accept) {
                        return true;
                    }
                    cache_store = Some(dir.clone());
                }
                SymbolPathElement::Server { downstream, upstream } => {
                    for store in downstream {
                        if offer(candidates_in_dir(store, identity, false), accept) {
                            return true;
                        }
                    }
                    let dest = downstream
                        .first()
                        .cloned()
                        .or_else(|| cache_store.clone())
                        .or_else(|| self.default_store.clone());
                    match upstream {
                        Upstream::Dir(dir) => {
                            if offer(candidates_in_dir(dir, identity, false), accept) {
                                return true;
                            }
                        }
                        Upstream::Url(url) => {
                            let Some(dest) = dest else {
                                self.message(format!("symbol server {url}: no cache directory to download into"));
                                continue;
                            };
                            if downstream.is_empty() && offer(candidates_in_dir(&dest, identity, false), accept) {
                                return true;
                            }
                            if self.download_from(url, identity, &dest, accept) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    fn download_from(
        &self,
        url: &str,
        identity: &PdbIdentity,
        dest: &Path,
        accept: &mut dyn FnMut(&Path, SymbolFileKind) -> bool,
    ) -> bool {
        let Ok(name) = identity.checked_name() else {
            return false;
        };
        for (file, kind) in [(name.to_string(), SymbolFileKind::Pdb), (identity.sym_name(), SymbolFileKind::Sym)] {
            if self.cancelled() || lock(&self.dead).contains(url) {
                return false;
            }
            match self.download(url, identity, &file, dest) {
                Ok(Some(path)) => {
                    if accept(&path, kind) {
                        return true;
                    }
                }
                Ok(None) => {}
                Err(e @ SymbolError::Network { .. }) => {
                    // A server that does not answer costs one message, then is left alone.
                    if lock(&self.dead).insert(url.to_string()) {
                        self.message(format!("{e}; not asked again this session"));
                    }
                    return false;
                }
                Err(SymbolError::Cancelled) => return false,
                Err(e) => self.message(e.to_string()),
            }
        }
        false
    }

    /// Downloads `URL/name/KEY/file` into `dest/name/KEY/file`. `Ok(None)` on 404.
    pub fn download(
        &self,
        base: &str,
        identity: &PdbIdentity,
        file: &str,
        dest: &Path,
    ) -> Result<Option<PathBuf>, SymbolError> {
        let name = identity.checked_name().map_err(SymbolError::Refused)?;
        super::identity::check_file_name(file).map_err(SymbolError::Refused)?;
        let key = identity.store_key();
        let url = format!("{}/{}/{}/{}", base.trim_end_matches('/'), encode_segment(name), key, encode_segment(file));
        let network = |what: String| SymbolError::Network { url: url.clone(), what };
        let response = match self.agent.get(&url).call() {
            Ok(response) => response,
            Err(ureq::Error::Status(404, _)) => return Ok(None),
            Err(ureq::Error::Status(code, response)) => {
                return Err(SymbolError::Server {
                    url: url.clone(),
                    what: format!("HTTP {code} {}", response.status_text()),
                })
            }
            Err(ureq::Error::Transport(t)) => return Err(network(describe_transport(&t, self.timeout))),
        };
        let total = response.header("Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
        if total.is_some_and(|t| t > MAX_DOWNLOAD) {
            return Err(SymbolError::Server {
                url,
                what: format!("refused: {} bytes is too large", total.unwrap_or(0)),
            });
        }
        let dir = dest.join(name).join(&key);
        std::fs::create_dir_all(&dir).map_err(|e| SymbolError::io(&dir, e))?;
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{file}.{}.{n}.part", std::process::id()));
        let final_path = dir.join(file);
        self.emit(DownloadEvent::Started { url: url.clone(), total });
        let result = self.stream_to(response.into_reader(), &temp, &url, total);
        let result =
            result.and_then(|()| std::fs::rename(&temp, &final_path).map_err(|e| SymbolError::io(&final_path, e)));
        self.emit(DownloadEvent::Finished { url: url.clone(), ok: result.is_ok() });
        match result {
            Ok(()) => Ok(Some(final_path)),
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        }
    }

    fn stream_to(&self, mut body: impl Read, temp: &Path, url: &str, total: Option<u64>) -> Result<(), SymbolError> {
        let mut out = std::fs::File::create(temp).map_err(|e| SymbolError::io(temp, e))?;
        let mut buffer = vec![0u8; 64 * 1024];
        let mut done = 0u64;
        loop {
            if self.cancelled() {
                return Err(SymbolError::Cancelled);
            }
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let what = if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
                        format!("stopped sending for {} s", self.timeout.as_secs_f32())
                    } else {
                        format!("download broke off: {e}")
                    };
                    return Err(SymbolError::Network { url: url.to_string(), what });
                }
            };
            done += n as u64;
            if done > MAX_DOWNLOAD {
                return Err(SymbolError::Server { url: url.to_string(), what: "refused: larger than 4 GiB".into() });
            }
            out.write_all(&buffer[..n]).map_err(|e| SymbolError::io(temp, e))?;
            self.emit(DownloadEvent::Progress { url: url.to_string(), done, total });
        }
        if total.is_some_and(|t| t != done) {
            return Err(SymbolError::Network {
                url: url.to_string(),
                what: format!("got {done} of {} bytes", total.unwrap_or(0)),
            });
        }
        out.sync_all().map_err(|e| SymbolError::io(temp, e))
    }

    fn emit(&self, event: DownloadEvent) {
        if let Some(progress) = &self.progress {
            progress(&event);
        }
    }
}

fn offer(candidates: Vec<(PathBuf, SymbolFileKind)>, accept: &mut dyn FnMut(&Path, SymbolFileKind) -> bool) -> bool {
    candidates.into_iter().any(|(path, kind)| accept(&path, kind))
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

/// Percent-encodes everything but unreserved characters (names are checked already;
/// this handles spaces and the like).
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("my app.pdb"), "my%20app.pdb");
        assert_eq!(encode_segment("ntdll.pdb"), "ntdll.pdb");
    }
}
