//! Finding a module's symbol file: plain directories (store layout `name.pdb/KEY/name.pdb`
//! and flat), local symbol stores, and symbol servers over HTTP(S), whose downloads land
//! in a local store.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cabinet;
use super::download::{self, Expect, ProgressFn};
use super::identity::PdbIdentity;
use super::layout::{self, FilePointer};
use super::missing;
use super::path::{SymbolPath, SymbolPathElement, Upstream};
use super::report::DownloadReport;
use super::validate::{check_symbol_file, SymbolFileKind};
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
    /// How long a server's "not here" for a module is believed (zero: not remembered).
    pub miss_ttl: Duration,
}

impl Default for DownloadLimits {
    /// Enabled unless `ETWQ_SYMBOL_DOWNLOADS=off`; 120 s per file, 300 s per session,
    /// 4 GiB per file; misses remembered 24 h (`ETWQ_SYMBOL_MISS_TTL` seconds).
    fn default() -> DownloadLimits {
        let off = std::env::var("ETWQ_SYMBOL_DOWNLOADS").is_ok_and(|v| is_off(&v));
        DownloadLimits {
            enabled: !off,
            file_deadline: Duration::from_secs(120),
            session_budget: Duration::from_secs(300),
            max_download: 4 << 30,
            miss_ttl: missing::miss_ttl_from_env(),
        }
    }
}

pub use super::path::is_off;

/// The candidate files for `identity` in one directory, in the order to try them:
/// store layout (two-tier when the store is) before flat, `.pdb` before `.sym`. Only files that exist.
pub fn candidates_in_dir(dir: &Path, identity: &PdbIdentity, flat_too: bool) -> Vec<(PathBuf, SymbolFileKind)> {
    let Ok(name) = identity.checked_name() else {
        return Vec::new();
    };
    let sym = identity.sym_name();
    let keyed = layout::key_dir(dir, name, &identity.store_key());
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
    /// One line per file downloaded and a total, for the session to show.
    pub report: DownloadReport,
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
            report: DownloadReport::default(),
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
                    let unpack_to = cache_store.clone().or_else(|| self.default_store.clone());
                    if self.offer_store(dir, identity, true, unpack_to.as_deref(), accept) {
                        return true;
                    }
                }
                SymbolPathElement::Cache(dir) => {
                    if self.offer_store(dir, identity, false, Some(dir), accept) {
                        return true;
                    }
                    cache_store = Some(dir.clone());
                }
                SymbolPathElement::Server { downstream, upstream } => {
                    for store in downstream {
                        if self.offer_store(store, identity, false, Some(store), accept) {
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
                            if self.offer_store(dir, identity, false, dest.as_deref(), accept) {
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

    /// Offers what a local store (or directory) holds for `identity`: the plain files,
    /// else a compressed `x.pd_` (unpacked into `unpack_to`), else what a `file.ptr`
    /// points to, as symsrv reads a share made by `symstore /compress` or `/p`.
    fn offer_store(
        &self,
        dir: &Path,
        identity: &PdbIdentity,
        flat_too: bool,
        unpack_to: Option<&Path>,
        accept: &mut dyn FnMut(&Path, SymbolFileKind) -> bool,
    ) -> bool {
        if offer(candidates_in_dir(dir, identity, flat_too), accept) {
            return true;
        }
        let Ok(name) = identity.checked_name() else {
            return false;
        };
        let key_dir = layout::key_dir(dir, name, &identity.store_key());
        let compressed = cabinet::compressed_name(name).map(|c| key_dir.join(c)).filter(|c| c.is_file());
        if let Some(cab) = compressed {
            match unpack_to {
                None => self.message(format!("{}: compressed, and no directory to unpack it into", cab.display())),
                Some(unpack_to) => match self.unpack_into_store(&cab, name, unpack_to, identity) {
                    Ok(path) => {
                        if accept(&path, kind_of(name)) {
                            return true;
                        }
                        let _ = std::fs::remove_file(&path);
                    }
                    Err(why) => self.message(format!("{}: {why}; not kept", cab.display())),
                },
            }
        }
        let ptr = key_dir.join(layout::FILE_PTR);
        if !ptr.is_file() {
            return false;
        }
        let text = match std::fs::metadata(&ptr) {
            Ok(meta) if meta.len() > layout::MAX_FILE_PTR => Err(format!("{} bytes, too large", meta.len())),
            _ => std::fs::read(&ptr).map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(|e| e.to_string()),
        };
        match text.and_then(|text| layout::parse_file_ptr(&text)) {
            Err(why) => self.message(format!("{}: {why}", ptr.display())),
            Ok(FilePointer::Message(why)) => {
                self.message(format!("{name} is not available: {why} ({})", ptr.display()))
            }
            Ok(FilePointer::Path(target)) if !target.is_file() => {
                self.message(format!("{}: points to {}, which cannot be read here", ptr.display(), target.display()))
            }
            Ok(FilePointer::Path(target)) => {
                let target_name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if !cabinet::is_compressed_name(&target_name) {
                    return accept(&target, kind_of(&target_name));
                }
                let Some(unpack_to) = unpack_to else { return false };
                match self.unpack_into_store(&target, name, unpack_to, identity) {
                    Ok(path) => return accept(&path, kind_of(name)),
                    Err(why) => self.message(format!("{}: {why}; not kept", target.display())),
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
        if missing::recently_missing(dest, url, identity, self.limits.miss_ttl).is_some() {
            self.message_once(
                format!("missing {url}"),
                format!(
                    "symbol server {url}: not asked again for the PDBs it did not have in the last {} \
                     (ETWQ_SYMBOL_MISS_TTL=0 asks again)",
                    duration_text(self.limits.miss_ttl)
                ),
            );
            return false;
        }
        // symsrv's order: the file, its compressed form, a pointer; then the Breakpad file.
        let mut forms = vec![Form::Plain(name.to_string(), SymbolFileKind::Pdb)];
        if let Some(compressed) = cabinet::compressed_name(name) {
            forms.push(Form::Compressed(compressed));
        }
        forms.push(Form::Pointer);
        forms.push(Form::Plain(identity.sym_name(), SymbolFileKind::Sym));
        let mut all_absent = true;
        let asked_from = Instant::now();
        for form in forms {
            if self.cancelled() {
                self.say_cancelled();
                return false;
            }
            if lock(&self.dead).contains(url) {
                return false;
            }
            let started = Instant::now();
            let fetched = match &form {
                Form::Plain(file, kind) => self
                    .download(url, identity, file, dest, Expect::Symbol(*kind))
                    .map(|found| found.map(|path| Found::Stored(path, *kind))),
                Form::Compressed(file) => self.download_compressed(url, identity, file, dest),
                Form::Pointer => self.follow_pointer(url, identity, dest),
            };
            match fetched {
                Ok(Some(Found::Stored(path, kind))) => {
                    all_absent = false;
                    if accept(&path, kind) {
                        self.report_file(&form, name, &path, url, started);
                        return true;
                    }
                    // Not this module's symbols after all (another build, damaged
                    // inside): out of the store, so no later session trusts it.
                    if std::fs::remove_file(&path).is_ok() {
                        self.message(format!("{}: removed from the store", path.display()));
                    }
                }
                Ok(Some(Found::Elsewhere(path, kind))) => {
                    all_absent = false;
                    if accept(&path, kind) {
                        self.report_file(&form, name, &path, url, started);
                        return true;
                    }
                }
                Ok(Some(Found::Withheld(why))) => {
                    self.message(format!("symbol server {url}: {name} is not available: {why}"));
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
                Err(e) => {
                    all_absent = false;
                    self.message(e.to_string())
                }
            }
        }
        // Only "not here" for every form is remembered: never a timeout or a bad file.
        if all_absent {
            self.report.missing(asked_from);
            if let Err(e) = missing::remember_missing(dest, url, identity, self.limits.miss_ttl) {
                self.message(format!("could not remember that {url} has not got {name}: {e}"));
            }
        }
        false
    }

    /// One line for the report: which form of which file came from where.
    fn report_file(&self, form: &Form, name: &str, path: &Path, url: &str, started: Instant) {
        let what = match form {
            Form::Plain(file, _) => file.clone(),
            Form::Compressed(file) => format!("{file}, unpacked"),
            Form::Pointer => format!("{name} through file.ptr to {}", path.display()),
        };
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        self.report.file(&what, url, bytes, started);
    }

    /// Downloads the compressed form `file` (`x.pd_`) and unpacks it into the store
    /// under the plain name; the cabinet itself is not kept.
    fn download_compressed(
        &self,
        url: &str,
        identity: &PdbIdentity,
        file: &str,
        dest: &Path,
    ) -> Result<Option<Found>, SymbolError> {
        let Some(cab) = self.download(url, identity, file, dest, Expect::Cabinet)? else {
            return Ok(None);
        };
        let name = identity.checked_name().map_err(SymbolError::Refused)?;
        let result = self.unpack_into_store(&cab, name, dest, identity);
        let _ = std::fs::remove_file(&cab);
        let shown_url = format!("{}/{name}/{}/{file}", url.trim_end_matches('/'), identity.store_key());
        result
            .map(|path| Some(Found::Stored(path, SymbolFileKind::Pdb)))
            .map_err(|what| SymbolError::Server { url: shown_url, what: format!("{what}; not kept") })
    }

    /// Unpacks the cabinet at `cab` into `dest` as `name` (checked before it gets its
    /// name, so a store never holds a bad file).
    fn unpack_into_store(
        &self,
        cab: &Path,
        name: &str,
        dest: &Path,
        identity: &PdbIdentity,
    ) -> Result<PathBuf, String> {
        let dir = layout::key_dir(dest, name, &identity.store_key());
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.part", std::process::id()));
        let kind = kind_of(name);
        let unpacked = cabinet::extract_single(cab, name, &temp, self.limits.max_download)
            .and_then(|()| check_symbol_file(&temp, kind).map_err(|why| format!("unpacked {why}")));
        if let Err(why) = unpacked {
            let _ = std::fs::remove_file(&temp);
            return Err(why);
        }
        let path = dir.join(name);
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            format!("{}: {e}", path.display())
        })?;
        Ok(path)
    }

    /// Fetches `file.ptr` and follows it: `PATH:` to a file this machine can read,
    /// `MSG:` as the reason the file is not available.
    fn follow_pointer(&self, url: &str, identity: &PdbIdentity, dest: &Path) -> Result<Option<Found>, SymbolError> {
        let Some(ptr) = self.download(url, identity, layout::FILE_PTR, dest, Expect::Pointer)? else {
            return Ok(None);
        };
        let text = std::fs::read(&ptr).map(|b| String::from_utf8_lossy(&b).into_owned());
        // Pointers are followed, not kept: the store keeps files only.
        let _ = std::fs::remove_file(&ptr);
        let text = text.map_err(|e| SymbolError::io(&ptr, e))?;
        let name = identity.checked_name().map_err(SymbolError::Refused)?;
        let ptr_url = format!("{}/{name}/{}/{}", url.trim_end_matches('/'), identity.store_key(), layout::FILE_PTR);
        let server = |what: String| SymbolError::Server { url: ptr_url.clone(), what };
        match layout::parse_file_ptr(&text).map_err(server)? {
            FilePointer::Message(text) => Ok(Some(Found::Withheld(text))),
            FilePointer::Path(target) => {
                if !target.is_file() {
                    return Err(server(format!("points to {}, which cannot be read here", target.display())));
                }
                let target_name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if cabinet::is_compressed_name(&target_name) {
                    let path = self
                        .unpack_into_store(&target, name, dest, identity)
                        .map_err(|what| server(format!("points to {}: {what}; not kept", target.display())))?;
                    return Ok(Some(Found::Stored(path, kind_of(name))));
                }
                Ok(Some(Found::Elsewhere(target, kind_of(&target_name))))
            }
        }
    }

    fn say_cancelled(&self) {
        self.message_once(
            "cancelled".into(),
            "symbol downloads cancelled; frames of the modules not downloaded show <PDB not found> \
             (set the symbol path again to retry)"
                .into(),
        );
    }

    /// Downloads `URL/name/KEY/file` into `dest/name/KEY/file` (two-tier when `dest`
    /// is). `Ok(None)` on 404.
    pub fn download(
        &self,
        base: &str,
        identity: &PdbIdentity,
        file: &str,
        dest: &Path,
        expect: Expect,
    ) -> Result<Option<PathBuf>, SymbolError> {
        let name = identity.checked_name().map_err(SymbolError::Refused)?;
        super::identity::check_file_name(file).map_err(SymbolError::Refused)?;
        let key = identity.store_key();
        let url = format!("{}/{}/{}/{}", base.trim_end_matches('/'), encode_segment(name), key, encode_segment(file));
        let started = Instant::now();
        let (deadline, deadline_text) =
            self.deadline(started).ok_or(SymbolError::Budget { budget: self.limits.session_budget })?;
        let dir = layout::key_dir(dest, name, &key);
        std::fs::create_dir_all(&dir).map_err(|e| SymbolError::io(&dir, e))?;
        download::remove_stale_parts(&dir, download::STALE_PART_AGE);
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let request = download::Request {
            url,
            temp: dir.join(format!(".{file}.{}.{n}.part", std::process::id())),
            final_path: dir.join(file),
            expect,
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

/// One form in which a server may hold a module's symbols.
enum Form {
    Plain(String, SymbolFileKind),
    /// `x.pd_`: a cabinet holding `x.pdb`.
    Compressed(String),
    /// `file.ptr`.
    Pointer,
}

/// What a server gave for one form.
enum Found {
    /// A file now in the downstream store (removed again if refused).
    Stored(PathBuf, SymbolFileKind),
    /// A file a `file.ptr` pointed to, read where it is.
    Elsewhere(PathBuf, SymbolFileKind),
    /// A `file.ptr` message: the file is not available.
    Withheld(String),
}

/// Which reader a file needs, by its name.
fn kind_of(file: &str) -> SymbolFileKind {
    if file.to_ascii_lowercase().ends_with(".sym") {
        SymbolFileKind::Sym
    } else {
        SymbolFileKind::Pdb
    }
}

/// `24 h`, `90 min`, `30 s`.
fn duration_text(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
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
