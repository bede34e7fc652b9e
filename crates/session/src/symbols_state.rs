//! The symbol side of a session: the symbol path (`--symbols`, `.symbols`,
//! `_NT_SYMBOL_PATH`), the resolver, the named frames of every trace, and the
//! demo's Breakpad files.
use crate::session::Session;
use model::stacks::StackId;
use model::symbolize::NamedFrames;
use model::TraceModel;
use std::collections::HashSet;
use std::path::PathBuf;
use symbols::path::SymbolPathElement;
use symbols::{SymbolPath, SymbolResolver};

/// The symbol side of a session.
pub struct SymbolState {
    resolver: SymbolResolver,
    /// `--symbols` / `.symbols`; None: `_NT_SYMBOL_PATH`.
    explicit_path: Option<String>,
    /// The demo's Breakpad files, written out once (see `add_demo_symbols`).
    demo_dir: Option<PathBuf>,
    /// Per trace, built with the tables.
    named: Vec<Option<NamedFrames>>,
    messages: Vec<String>,
}

impl Default for SymbolState {
    fn default() -> SymbolState {
        SymbolState::new()
    }
}

impl SymbolState {
    pub fn new() -> SymbolState {
        SymbolState {
            resolver: SymbolResolver::new(SymbolPath::choose(None)),
            explicit_path: None,
            demo_dir: None,
            named: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn path(&self) -> SymbolPath {
        let mut path = SymbolPath::choose(self.explicit_path.as_deref());
        if let Some(dir) = &self.demo_dir {
            path.elements.push(SymbolPathElement::Dir(dir.clone()));
        }
        path
    }

    /// The named frames of trace `index`: its samples' and system calls' frames
    /// named on first use, and with `every_stack` all its stacks too.
    pub(crate) fn name_frames(&mut self, index: usize, model: &TraceModel, every_stack: bool) -> &NamedFrames {
        if self.named.len() <= index {
            self.named.resize_with(index + 1, || None);
        }
        let resolver = &mut self.resolver;
        let named = self.named[index].get_or_insert_with(|| NamedFrames::build(model, resolver));
        if every_stack {
            named.name_every_stack(model, resolver);
        }
        self.messages.extend(resolver.take_messages());
        named
    }

    /// Names the stacks `wanted` of trace `index` that are not named yet.
    pub(crate) fn name_stacks(&mut self, index: usize, model: &TraceModel, wanted: &HashSet<(u32, StackId)>) {
        self.name_frames(index, model, false);
        if let Some(named) = &mut self.named[index] {
            named.name_stacks(model, &mut self.resolver, wanted);
        }
        self.messages.extend(self.resolver.take_messages());
    }

    /// The named frames of trace `index`, if built.
    pub(crate) fn named(&self, index: usize) -> Option<&NamedFrames> {
        self.named.get(index).and_then(Option::as_ref)
    }
}

/// Writes the demo's .sym files under `root` in store layout, unless already there.
fn write_demo_symbols(root: &std::path::Path) -> Result<(), String> {
    for (relative, text) in demo::demo_symbol_files() {
        let path = root.join(&relative);
        if std::fs::read(&path).ok().as_deref() == Some(text.as_bytes()) {
            continue;
        }
        // Written aside and renamed, so that a concurrent session never reads half a file.
        let aside = path.with_extension(format!("sym.{}.tmp", std::process::id()));
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&aside, text))
            .and_then(|()| std::fs::rename(&aside, &path))
            .map_err(|e| format!("demo symbols: {}: {e}", path.display()))?;
    }
    Ok(())
}

impl Session {
    /// Sets the symbol path (`--symbols`, `.symbols`); frames are named again on the next query.
    pub fn set_symbol_path(&mut self, text: &str) {
        // A new path is new work: a Ctrl-C that stopped earlier work must not stop its downloads.
        self.cancel.store(false, std::sync::atomic::Ordering::SeqCst);
        self.share_cancel_flag();
        let state = &mut self.stack_state;
        state.explicit_path = Some(text.to_string());
        let path = state.path();
        state.resolver.set_path(path);
        state.named.clear();
        self.forget_named_tables();
    }

    /// Where symbols are cached and downloaded to, and how long servers may take;
    /// frames are named again on the next query.
    pub fn set_symbol_options(&mut self, options: symbols::ResolverOptions) {
        let state = &mut self.stack_state;
        state.resolver = SymbolResolver::with_options(state.path(), options);
        state.named.clear();
        self.forget_named_tables();
        self.share_cancel_flag();
    }

    /// Symbol downloads stop on the session's Ctrl-C flag, as queries do.
    pub(crate) fn share_cancel_flag(&mut self) {
        self.stack_state.resolver.set_cancel_flag(self.cancel.clone());
    }

    /// The symbol path in force, written the way it is typed; empty when there is none.
    pub fn symbol_path(&self) -> String {
        self.stack_state.path().to_string()
    }

    /// Messages about symbols since the last call: PDBs refused, servers that failed.
    pub fn take_messages(&mut self) -> Vec<String> {
        let state = &mut self.stack_state;
        let mut messages = std::mem::take(&mut state.messages);
        messages.extend(state.resolver.take_messages());
        messages
    }

    /// Writes the demo's Breakpad files in store layout (once per user) and adds
    /// their directory to the symbol path.
    pub(crate) fn add_demo_symbols(&mut self) {
        // The user's cache first; a temp directory when it cannot be written.
        let roots = symbols::default_cache_dir()
            .map(|d| d.join("demo-store"))
            .into_iter()
            .chain([std::env::temp_dir().join("etwq-demo-symbols")]);
        let mut failures = Vec::new();
        for root in roots {
            match write_demo_symbols(&root) {
                Ok(()) => {
                    self.share_cancel_flag();
                    let state = &mut self.stack_state;
                    state.demo_dir = Some(root);
                    let path = state.path();
                    state.resolver.set_path(path);
                    state.named.clear();
                    return;
                }
                Err(e) => failures.push(e),
            }
        }
        self.stack_state.messages.extend(failures);
    }
}
