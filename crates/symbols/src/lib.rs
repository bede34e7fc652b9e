//! Symbols: frame names for the model and the query engine, asked for lazily and cached.
//!
//! [`SymbolResolver`] owns the symbol path and a table of functions per PDB identity,
//! loaded the first time an identity is asked for (symbols held in memory, else our
//! own cache file, else a `.pdb`
//! or Breakpad `.sym` found on the symbol path, downloading from symbol servers when
//! needed) and remembered, missing ones included. Nothing here prints: what a person
//! should hear (refused PDBs, servers that failed) is collected as messages for the
//! session to show.
pub mod breakpad;
pub mod cabinet;
pub mod cache;
pub mod download;
pub mod drivers;
pub mod identity;
pub mod layout;
pub mod memory;
pub mod missing;
pub mod path;
pub mod pdb_file;
pub mod report;
pub mod store;
pub mod table;
pub mod validate;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

pub use download::{DownloadEvent, ProgressFn};
pub use identity::PdbIdentity;
pub use memory::InMemorySymbols;
pub use path::{default_cache_dir, SymbolPath};
pub use store::DownloadLimits;
pub use table::{Function, SymbolTable};
pub use validate::SymbolFileKind;

use store::Locator;

/// What went wrong with one symbol source, with enough context to say where.
#[derive(Debug)]
pub enum SymbolError {
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file is damaged or not of the kind expected.
    Corrupt {
        path: Option<PathBuf>,
        what: String,
    },
    /// The PDB (or .sym) is another build's: its identity differs from the module's.
    Mismatch {
        path: Option<PathBuf>,
        expected: PdbIdentity,
        found: PdbIdentity,
    },
    /// A name from the trace that may not become a path or URL.
    Refused(String),
    /// The server answered with an error status.
    Server {
        url: String,
        what: String,
    },
    /// The server could not be reached or stopped answering.
    Network {
        url: String,
        what: String,
    },
    Cancelled,
    /// The session's time for downloads is used up.
    Budget {
        budget: Duration,
    },
}

impl SymbolError {
    pub fn io(path: &Path, error: std::io::Error) -> SymbolError {
        SymbolError::Io { path: path.to_path_buf(), error }
    }

    /// Attaches the file's path to an error that did not know it.
    pub fn at(self, path: &Path) -> SymbolError {
        match self {
            SymbolError::Corrupt { path: None, what } => SymbolError::Corrupt { path: Some(path.to_path_buf()), what },
            SymbolError::Mismatch { path: None, expected, found } => {
                SymbolError::Mismatch { path: Some(path.to_path_buf()), expected, found }
            }
            other => other,
        }
    }
}

impl fmt::Display for SymbolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown =
            |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(in memory)".into());
        match self {
            SymbolError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            SymbolError::Corrupt { path, what } => write!(f, "{}: damaged or not a symbol file: {what}", shown(path)),
            SymbolError::Mismatch { path, expected, found } => write!(
                f,
                "{}: refused: it is {{{}}} age {}, the module needs {{{}}} age {}",
                shown(path),
                found.guid,
                found.age,
                expected.guid,
                expected.age
            ),
            SymbolError::Refused(why) => write!(f, "{why}"),
            SymbolError::Server { url, what } => write!(f, "symbol server: {url}: {what}"),
            SymbolError::Network { url, what } => write!(f, "symbol server: {url}: {what}"),
            SymbolError::Cancelled => write!(f, "symbol download cancelled"),
            SymbolError::Budget { budget } => write!(
                f,
                "no more symbol downloads: this session's {} s for downloads are used up \
                 (set the symbol path again for more)",
                budget.as_secs_f32()
            ),
        }
    }
}

impl std::error::Error for SymbolError {}

/// The answer for one address in one module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Function {
        name: Arc<str>,
        offset: u32,
    },
    /// No symbols for the module (none found, refused, or a hostile name).
    NoSymbols,
    /// Symbols, but no function covers the address.
    NotInAnyFunction {
        rva: u64,
    },
}

/// Formats one frame as WPA does: `module!function+0xoffset`, `module!<PDB not found>`,
/// `module+0xrva` when no function covers the address, and `0xaddress` in no module.
pub fn format_frame(module_file_name: Option<&str>, address: u64, lookup: &Lookup) -> String {
    match (module_file_name, lookup) {
        (None, _) => format!("0x{address:x}"),
        (Some(module), Lookup::Function { name, offset }) => format!("{module}!{name}+0x{offset:x}"),
        (Some(module), Lookup::NoSymbols) => format!("{module}!<PDB not found>"),
        (Some(module), Lookup::NotInAnyFunction { rva }) => format!("{module}+0x{rva:x}"),
    }
}

/// Where each resolved module's symbols came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolverStats {
    pub from_memory: usize,
    pub from_cache: usize,
    pub from_pdb: usize,
    pub from_sym: usize,
    pub missing: usize,
}

/// How the resolver works; [`ResolverOptions::default`] is what a session uses.
#[derive(Clone, Debug)]
pub struct ResolverOptions {
    /// Root of our own cache (`<root>/etwq/<name>/<KEY>.etwqsym`); `None`: no cache.
    pub cache_root: Option<PathBuf>,
    /// Where symbol server downloads land when the path names no store for them.
    pub download_store: Option<PathBuf>,
    /// Connect and read timeout for symbol servers.
    pub timeout: Duration,
    /// Modules resolved at once by [`SymbolResolver::prefetch`].
    pub parallel: usize,
    /// Whether symbol servers are asked, and the deadlines and size limit of downloads.
    pub downloads: DownloadLimits,
}

impl Default for ResolverOptions {
    /// The cache in [`default_cache_dir`] (`ETWQ_SYMBOL_CACHE=DIR|off`), downloads as
    /// [`DownloadLimits::default`] (`ETWQ_SYMBOL_DOWNLOADS=off`).
    fn default() -> ResolverOptions {
        let dir = default_cache_dir();
        ResolverOptions {
            cache_root: dir.clone(),
            download_store: dir,
            timeout: Duration::from_secs(20),
            parallel: 4,
            downloads: DownloadLimits::default(),
        }
    }
}

/// Frame names for the session: symbol path, cache, and one memoized table per identity.
pub struct SymbolResolver {
    locator: Locator,
    options: ResolverOptions,
    memory: InMemorySymbols,
    tables: HashMap<PdbIdentity, Option<Arc<SymbolTable>>>,
    last: Option<(PdbIdentity, Option<Arc<SymbolTable>>)>,
    stats: ResolverStats,
}

impl SymbolResolver {
    pub fn new(path: SymbolPath) -> SymbolResolver {
        SymbolResolver::with_options(path, ResolverOptions::default())
    }

    pub fn with_options(path: SymbolPath, options: ResolverOptions) -> SymbolResolver {
        let locator = Locator::new(path, options.download_store.clone(), options.timeout, options.downloads.clone());
        SymbolResolver {
            locator,
            options,
            memory: InMemorySymbols::default(),
            tables: HashMap::new(),
            last: None,
            stats: ResolverStats::default(),
        }
    }

    /// Symbols held in memory, asked before the cache and the symbol path. The
    /// identities the old or the new ones cover are looked up again.
    pub fn set_in_memory(&mut self, memory: InMemorySymbols) {
        let old = std::mem::take(&mut self.memory);
        self.tables.retain(|identity, _| !memory.contains(identity) && !old.contains(identity));
        self.last = None;
        self.memory = memory;
    }

    pub fn path(&self) -> &SymbolPath {
        &self.locator.path
    }

    /// A new symbol path (`.symbols`): modules without symbols are looked for again;
    /// those already resolved stay.
    pub fn set_path(&mut self, path: SymbolPath) {
        let keep_progress = self.locator.progress.clone();
        let cancel = self.locator.cancel.clone();
        let messages = self.locator.take_messages();
        let report = std::mem::take(&mut self.locator.report);
        self.locator = Locator::new(
            path,
            self.options.download_store.clone(),
            self.options.timeout,
            self.options.downloads.clone(),
        );
        self.locator.progress = keep_progress;
        self.locator.cancel = cancel;
        self.locator.report = report;
        for m in messages {
            self.locator.message(m);
        }
        self.tables.retain(|_, table| table.is_some());
        self.last = None;
    }

    /// Called with every download's progress (for a progress bar); from worker threads.
    pub fn set_progress(&mut self, progress: ProgressFn) {
        self.locator.progress = Some(progress);
    }

    /// Set it (from a Ctrl-C handler) to stop downloads; clear it to allow them again.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.locator.cancel.clone()
    }

    /// Downloads stop when `flag` is set: the session's Ctrl-C flag, so that one
    /// Ctrl-C stops a query and the downloads that its frame names wait for.
    pub fn set_cancel_flag(&mut self, flag: Arc<AtomicBool>) {
        self.locator.cancel = flag;
    }

    /// Messages gathered since the last call: refused PDBs, damaged files, servers.
    pub fn take_messages(&mut self) -> Vec<String> {
        self.locator.take_messages()
    }

    /// What downloads did since the last call: a line per file fetched from a symbol
    /// server, then a total (files, bytes, wall time, modules no server had).
    pub fn take_download_report(&mut self) -> Vec<String> {
        self.locator.report.take_lines(self.options.parallel.clamp(1, 16))
    }

    pub fn stats(&self) -> ResolverStats {
        self.stats
    }

    /// The functions of the module with this PDB identity, loaded on first use.
    pub fn table(&mut self, identity: &PdbIdentity) -> Option<Arc<SymbolTable>> {
        if let Some((last_id, table)) = &self.last {
            if last_id == identity {
                return table.clone();
            }
        }
        let table = match self.tables.get(identity) {
            Some(table) => table.clone(),
            None => {
                let (table, source) =
                    resolve(&self.locator, &self.memory, self.options.cache_root.as_deref(), identity);
                self.count(source);
                self.tables.insert(identity.clone(), table.clone());
                table
            }
        };
        self.last = Some((identity.clone(), table.clone()));
        table
    }

    /// The function containing `rva` in the module with this PDB identity.
    pub fn lookup(&mut self, identity: &PdbIdentity, rva: u64) -> Lookup {
        match self.table(identity) {
            None => Lookup::NoSymbols,
            Some(table) => match table.lookup(rva) {
                Some((function, offset)) => Lookup::Function { name: function.name.clone(), offset },
                None => Lookup::NotInAnyFunction { rva },
            },
        }
    }

    /// Resolves several modules at once (downloads and PDB parsing in parallel), so
    /// that later lookups find them loaded.
    pub fn prefetch(&mut self, identities: &[PdbIdentity]) {
        let mut wanted: Vec<&PdbIdentity> = identities.iter().filter(|id| !self.tables.contains_key(*id)).collect();
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            return;
        }
        let workers = self.options.parallel.clamp(1, 16).min(wanted.len());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::new());
        let (locator, memory, cache_root) = (&self.locator, &self.memory, self.options.cache_root.as_deref());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(identity) = wanted.get(i) else { break };
                    let (table, source) = resolve(locator, memory, cache_root, identity);
                    results.lock().unwrap_or_else(|p| p.into_inner()).push(((*identity).clone(), table, source));
                });
            }
        });
        for (identity, table, source) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
            self.count(source);
            self.tables.insert(identity, table);
        }
    }

    fn count(&mut self, source: Source) {
        match source {
            Source::Memory => self.stats.from_memory += 1,
            Source::Cache => self.stats.from_cache += 1,
            Source::Pdb => self.stats.from_pdb += 1,
            Source::Sym => self.stats.from_sym += 1,
            Source::Missing => self.stats.missing += 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Memory,
    Cache,
    Pdb,
    Sym,
    Missing,
}

/// One identity, start to end: symbols in memory, else our cache, else the symbol
/// path; writes the cache for what the path gave.
fn resolve(
    locator: &Locator,
    memory: &InMemorySymbols,
    cache_root: Option<&Path>,
    identity: &PdbIdentity,
) -> (Option<Arc<SymbolTable>>, Source) {
    if let Err(why) = identity.checked_name() {
        locator.message(why);
        return (None, Source::Missing);
    }
    if let Some(table) = memory.get(identity) {
        return (Some(table), Source::Memory);
    }
    if let Some(root) = cache_root {
        match cache::read(root, identity) {
            Ok(Some(table)) => return (Some(Arc::new(table)), Source::Cache),
            Ok(None) => {}
            Err(e) => {
                // Discarded, so that a bad file costs one message, not one per session.
                if let Ok(path) = cache::cache_file(root, identity) {
                    let _ = std::fs::remove_file(path);
                }
                locator.message(format!("{e}; discarded, reading the symbols again"))
            }
        }
    }
    let mut found: Option<(SymbolTable, Source)> = None;
    locator.locate(identity, &mut |path, kind| match load_file(path, kind, identity) {
        Ok((table, notes)) => {
            for note in notes {
                locator.message(note);
            }
            found = Some((table, if kind == SymbolFileKind::Pdb { Source::Pdb } else { Source::Sym }));
            true
        }
        Err(e) => {
            locator.message(e.to_string());
            false
        }
    });
    let Some((table, source)) = found else {
        return (None, Source::Missing);
    };
    // An empty table is never cached: it would hide good symbols found later.
    if let Some(root) = cache_root.filter(|_| !table.is_empty()) {
        if let Err(e) = cache::write(root, identity, &table) {
            locator.message(format!("could not write the symbol cache: {e}"));
        }
    }
    (Some(Arc::new(table)), source)
}

/// Reads one candidate file, checking that it is `identity`'s. Notes are messages
/// about a file that was still used (garbage lines in a .sym).
pub fn load_file(
    path: &Path,
    kind: SymbolFileKind,
    identity: &PdbIdentity,
) -> Result<(SymbolTable, Vec<String>), SymbolError> {
    match kind {
        SymbolFileKind::Pdb => pdb_file::load_pdb(path, identity).map(|t| (t, Vec::new())),
        SymbolFileKind::Sym => {
            let bytes = std::fs::read(path).map_err(|e| SymbolError::io(path, e))?;
            let parsed = breakpad::parse_sym(&bytes);
            match &parsed.identity {
                Some(found) if found.guid != identity.guid || found.age != identity.age => {
                    return Err(SymbolError::Mismatch {
                        path: Some(path.to_path_buf()),
                        expected: identity.clone(),
                        found: found.clone(),
                    })
                }
                Some(_) => {}
                None => {
                    // Without a MODULE line only the store layout vouches for the file.
                    let key = identity.store_key();
                    let in_store = path.parent().and_then(Path::file_name).is_some_and(|dir| dir == key.as_str());
                    if !in_store {
                        return Err(SymbolError::Corrupt {
                            path: Some(path.to_path_buf()),
                            what: "no MODULE line to tell whose symbols these are".into(),
                        });
                    }
                }
            }
            if parsed.table.is_empty() {
                return Err(SymbolError::Corrupt {
                    path: Some(path.to_path_buf()),
                    what: "no FUNC or PUBLIC record in it".into(),
                });
            }
            let mut notes = Vec::new();
            if parsed.garbage_lines > 0 {
                let (line, text) = parsed.first_garbage.clone().unwrap_or_default();
                notes.push(format!(
                    "{}: skipped {} line(s) that are no Breakpad record (first, line {line}: {text:?})",
                    path.display(),
                    parsed.garbage_lines
                ));
            }
            Ok((parsed.table, notes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_print_as_wpa_does() {
        let f = Lookup::Function { name: "RtlUserThreadStart".into(), offset: 0x21 };
        assert_eq!(format_frame(Some("ntdll.dll"), 0x7ff0_0000_1021, &f), "ntdll.dll!RtlUserThreadStart+0x21");
        assert_eq!(format_frame(Some("foo.dll"), 1, &Lookup::NoSymbols), "foo.dll!<PDB not found>");
        assert_eq!(format_frame(Some("foo.dll"), 1, &Lookup::NotInAnyFunction { rva: 0x10 }), "foo.dll+0x10");
        assert_eq!(format_frame(None, 0xfffff80012345678, &Lookup::NoSymbols), "0xfffff80012345678");
    }
}
