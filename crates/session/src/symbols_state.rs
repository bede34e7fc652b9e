//! The symbol side of a session: the symbol path (`--symbols`, `.symbols`,
//! `_NT_SYMBOL_PATH`), the resolver, the named frames of every trace, and the
//! demo's Breakpad texts, which the resolver holds in memory.
use model::symbolize::NamedFrames;
use model::tables::SharedResolver;
use model::TraceModel;
use std::sync::{Arc, Mutex, MutexGuard};
use symbols::{InMemorySymbols, Lookup, PdbIdentity, SymbolPath, SymbolResolver};

/// The resolver; a panic elsewhere while it was held leaves it usable.
fn lock(resolver: &SharedResolver) -> MutexGuard<'_, SymbolResolver> {
    resolver.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The symbol side of a session.
pub struct SymbolState {
    /// Shared with the tables' `func` columns, which look names up when first read.
    resolver: SharedResolver,
    /// `--symbols` / `.symbols`; None: `_NT_SYMBOL_PATH`.
    explicit_path: Option<String>,
    /// Symbols no file holds (the demo's), given to every resolver this state makes.
    in_memory: InMemorySymbols,
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
            resolver: Arc::new(Mutex::new(SymbolResolver::new(SymbolPath::choose(None)))),
            explicit_path: None,
            in_memory: InMemorySymbols::default(),
            named: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn resolver(&self) -> MutexGuard<'_, SymbolResolver> {
        lock(&self.resolver)
    }

    /// The resolver, for the tables that name functions when a query reads them.
    pub(crate) fn shared_resolver(&self) -> SharedResolver {
        self.resolver.clone()
    }

    fn path(&self) -> SymbolPath {
        SymbolPath::choose(self.explicit_path.as_deref())
    }

    /// The function at `rva` in the module with this identity: the lookup that
    /// names the tables' frames, for a single address.
    pub(crate) fn lookup(&mut self, identity: &PdbIdentity, rva: u64) -> Lookup {
        let mut resolver = self.resolver();
        let lookup = resolver.lookup(identity, rva);
        let messages = resolver.take_messages();
        drop(resolver);
        self.messages.extend(messages);
        lookup
    }

    /// The named frames of trace `index`, with every stack named.
    pub(crate) fn name_every_stack(&mut self, index: usize, model: &TraceModel) -> &NamedFrames {
        let mut resolver = lock(&self.resolver);
        let named = Self::named_mut(&mut self.named, index);
        named.name_every_stack(model, &mut resolver);
        self.messages.extend(resolver.take_messages());
        named
    }

    /// Names the stacks `wanted` of trace `index` that are not named yet.
    pub(crate) fn name_stacks(&mut self, index: usize, model: &TraceModel, wanted: &model::symbolize::StackSet) {
        let mut resolver = lock(&self.resolver);
        Self::named_mut(&mut self.named, index).name_stacks(model, &mut resolver, wanted);
        self.messages.extend(resolver.take_messages());
    }

    /// The named frames of trace `index`, none named yet on first use.
    fn named_mut(named: &mut Vec<Option<NamedFrames>>, index: usize) -> &mut NamedFrames {
        if named.len() <= index {
            named.resize_with(index + 1, || None);
        }
        named[index].get_or_insert_with(NamedFrames::default)
    }

    /// Forgets the named frames of trace `index`, whose model was built again.
    pub(crate) fn forget_trace(&mut self, index: usize) {
        if let Some(named) = self.named.get_mut(index) {
            *named = None;
        }
    }

    /// The named frames of trace `index`, if built.
    pub(crate) fn named(&self, index: usize) -> Option<&NamedFrames> {
        self.named.get(index).and_then(Option::as_ref)
    }

    /// A new symbol path (`--symbols`, `.symbols`); every name is made again.
    pub(crate) fn set_path(&mut self, text: &str) {
        self.explicit_path = Some(text.to_string());
        let path = self.path();
        self.resolver().set_path(path);
        self.named.clear();
    }

    /// A new cache, download or timeout setting; every name is made again.
    pub(crate) fn set_options(&mut self, options: symbols::ResolverOptions) {
        let mut resolver = SymbolResolver::with_options(self.path(), options);
        resolver.set_in_memory(self.in_memory.clone());
        *self.resolver() = resolver;
        self.named.clear();
    }

    /// Symbol downloads stop when this flag is set.
    pub(crate) fn set_cancel_flag(&mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.resolver().set_cancel_flag(flag);
    }

    /// Whether naming frames may wait on a download: the path names a symbol server on the web.
    pub(crate) fn may_download(&self) -> bool {
        self.path().elements.iter().any(|e| {
            matches!(e, symbols::path::SymbolPathElement::Server { upstream: symbols::path::Upstream::Url(_), .. })
        })
    }

    /// The symbol path in force, written the way it is typed; empty when there is none.
    pub(crate) fn path_text(&self) -> String {
        self.path().to_string()
    }

    /// Messages about symbols since the last call.
    pub(crate) fn take_messages(&mut self) -> Vec<String> {
        let mut messages = std::mem::take(&mut self.messages);
        let mut resolver = self.resolver();
        messages.extend(resolver.take_messages());
        messages.extend(resolver.take_download_report());
        messages
    }

    /// Breakpad texts the resolver holds in memory (the demo's).
    pub(crate) fn add_in_memory(&mut self, texts: impl IntoIterator<Item = &'static str>) {
        for text in texts {
            if let Err(e) = self.in_memory.add_breakpad(text.as_bytes()) {
                self.messages.push(format!("demo symbols: {e}"));
            }
        }
        self.resolver().set_in_memory(self.in_memory.clone());
        self.named.clear();
    }
}
