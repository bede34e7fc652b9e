//! Finding a module's symbol file: plain directories (store layout `name.pdb/KEY/name.pdb`
//! and flat), local symbol stores, and symbol servers over HTTP(S), whose downloads land
//! in a local store.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::download::{self, ProgressFn};
use super::identity::PdbIdentity;
use super::path::{SymbolPath, SymbolPathElement, Upstream};
use super::validate::SymbolFileKind;
use super::SymbolError;

/// Limits on symbol server downloads, so that no server can hold a session or fill
/// a disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadLimits {
    /// Off: symbol servers are not asked (local stores and directories still are).
    pub enabled: bool,
    /// One file, from the request to the last byte.
    pub file_deadline: Duration,
    /// All downloads of a session (until the symbol path changes) together.
    pub session_budget: Duration,
    /// Larger files are refused (by `Content-Length`, else when the body passes it).
    pub max_download: u64,
}

impl Default for DownloadLimits {
    /// Enabled unless `ETWQ_SYMBOL_DOWNLOADS=off`; 120 s per file, 300 s per session,
    /// 4 GiB per file.
    fn default() -> DownloadLimits {
        let off = std::env::var("ETWQ_SYMBOL_DOWNLOADS").is_ok_and(|v| is_off(&v));
        DownloadLimits {
            enabled: !off,
            file_deadline: Duration::from_secs(120),
            session_budget: Duration::from_secs(300),
            max_download: 4 << 30,
        }
    }
}

/// `off`, `0`, `no`, `false`, `none` (any case): a setting that turns a thing off.
pub fn is_off(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "off" | "0" | "no" | "false" | "none")
}

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
    /// Connect and read timeout: a server silent this long is given up.
    pub timeout: Duration,
    pub limits: DownloadLimits,
    pub cancel: Arc<AtomicBool>,
    pub progress: Option<ProgressFn>,
    agent: ureq::Agent,
    /// Servers that did not answer: not asked again this session.
    dead: Mutex<HashSet<String>>,
    messages: Mutex<Vec<String>>,
    /// Keys of the messages said once per session (downloads off, budget used up).
    told: Mutex<HashSet<String>>,
    /// Time spent downloading, against `limits.session_budget`.
    budget_used_ms: AtomicU64,
    temp_counter: AtomicU64,
}

impl Locator {
    pub fn new(path: SymbolPath, default_store: Option<PathBuf>, timeout: Duration, limits: DownloadLimits) -> Locator {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout)
            .timeout_read(timeout)
            .timeout_write(timeout)
            .user_agent(concat!("etwq/", env!("CARGO_PKG_VERSION"), " (symbol download)"))
            // Redirects are followed in download.rs, which refuses those without a host
            // (ureq 2.12 panics on them) and those off http(s).
            .redirects(0)
            .build();
        Locator {
            path,
            default_store,
            timeout,
            limits,
            cancel: Arc::new(AtomicBool::new(false)),
            progress: None,
            agent,
            dead: Mutex::new(HashSet::new()),
            messages: Mutex::new(Vec::new()),
            told: Mutex::new(HashSet::new()),
            budget_used_ms: AtomicU64::new(0),
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
                                self.message_once(
                                    format!("nowhere {url}"),
                                    format!(
                                        "symbol server {url}: no directory to download into (the symbol cache \
                                         is off: name one, srv*DIR*{url})"
                                    ),
                                );
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
        if !self.limits.enabled {
            self.message_once(
                format!("off {url}"),
                format!("symbol server {url}: not asked, downloads are off (ETWQ_SYMBOL_DOWNLOADS=off)"),
            );
            return false;
        }
        for (file, kind) in [(name.to_string(), SymbolFileKind::Pdb), (identity.sym_name(), SymbolFileKind::Sym)] {
            if self.cancelled() {
                self.say_cancelled();
                return false;
            }
            if lock(&self.dead).contains(url) {
                return false;
            }
            match self.download(url, identity, &file, dest) {
                Ok(Some(path)) => {
                    if accept(&path, kind) {
                        return true;
                    }
                    // Not this module's symbols after all (another build, damaged
                    // inside): out of the store, so no later session trusts it.
                    if std::fs::remove_file(&path).is_ok() {
                        self.message(format!("{}: removed from the store", path.display()));
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
                Err(SymbolError::Cancelled) => {
                    self.say_cancelled();
                    return false;
                }
                Err(e @ SymbolError::Budget { .. }) => {
                    self.message_once("budget".into(), e.to_string());
                    return false;
                }
                Err(e) => self.message(e.to_string()),
            }
        }
        false
    }

    fn say_cancelled(&self) {
        self.message_once(
            "cancelled".into(),
            "symbol downloads cancelled; frames of the modules not downloaded show <PDB not found> \
             (set the symbol path again to retry)"
                .into(),
        );
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
        let started = Instant::now();
        let (deadline, deadline_text) =
            self.deadline(started).ok_or(SymbolError::Budget { budget: self.limits.session_budget })?;
        let dir = dest.join(name).join(&key);
        std::fs::create_dir_all(&dir).map_err(|e| SymbolError::io(&dir, e))?;
        download::remove_stale_parts(&dir, download::STALE_PART_AGE);
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let kind = if file.to_ascii_lowercase().ends_with(".sym") { SymbolFileKind::Sym } else { SymbolFileKind::Pdb };
        let request = download::Request {
            url,
            temp: dir.join(format!(".{file}.{}.{n}.part", std::process::id())),
            final_path: dir.join(file),
            kind,
            deadline,
            deadline_text,
            max_bytes: self.limits.max_download,
            read_timeout: self.timeout,
        };
        let result = download::fetch(&self.agent, request, &self.cancel, self.progress.clone());
        let spent = started.elapsed().as_millis().min(u64::MAX as u128) as u64;
        self.budget_used_ms.fetch_add(spent, Ordering::Relaxed);
        result
    }

    /// When the next download must end, and how to say why: the per-file deadline or
    /// what is left of the session's budget. None: the budget is used up.
    fn deadline(&self, now: Instant) -> Option<(Instant, String)> {
        let used = Duration::from_millis(self.budget_used_ms.load(Ordering::Relaxed));
        // A few milliseconds left are none: no download could finish in them.
        let left = self.limits.session_budget.checked_sub(used).filter(|d| *d >= Duration::from_millis(20))?;
        if left < self.limits.file_deadline {
            Some((
                now + left,
                format!(
                    "the {:.1} s left of this session's {} s for downloads",
                    left.as_secs_f32(),
                    self.limits.session_budget.as_secs_f32()
                ),
            ))
        } else {
            Some((
                now + self.limits.file_deadline,
                format!("the {} s allowed per file", self.limits.file_deadline.as_secs_f32()),
            ))
        }
    }

    /// Says `text` once per `key` this session.
    fn message_once(&self, key: String, text: String) {
        if lock(&self.told).insert(key) {
            self.message(text);
        }
    }
}

fn offer(candidates: Vec<(PathBuf, SymbolFileKind)>, accept: &mut dyn FnMut(&Path, SymbolFileKind) -> bool) -> bool {
    candidates.into_iter().any(|(path, kind)| accept(&path, kind))
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
