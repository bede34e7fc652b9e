//! The symbol side of a session: the symbol path (`--symbols`, `.symbols`,
//! `_NT_SYMBOL_PATH`), the resolver, the named frames of every trace, and the
//! demo's Breakpad texts, which the resolver holds in memory.
use crate::session::Session;
use model::stacks::StackId;
use model::symbolize::NamedFrames;
use model::TraceModel;
use std::collections::HashSet;
use symbols::{InMemorySymbols, Lookup, PdbIdentity, SymbolPath, SymbolResolver};

/// The symbol side of a session.
pub struct SymbolState {
    resolver: SymbolResolver,
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
            resolver: SymbolResolver::new(SymbolPath::choose(None)),
            explicit_path: None,
            in_memory: InMemorySymbols::default(),
            named: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn path(&self) -> SymbolPath {
        SymbolPath::choose(self.explicit_path.as_deref())
    }

    /// The function at `rva` in the module with this identity: the lookup that
    /// names the tables' frames, for a single address.
    pub(crate) fn lookup(&mut self, identity: &PdbIdentity, rva: u64) -> Lookup {
        let lookup = self.resolver.lookup(identity, rva);
        self.messages.extend(self.resolver.take_messages());
        lookup
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
        state.resolver.set_in_memory(state.in_memory.clone());
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

    /// Gives the resolver the demo's Breakpad texts, in memory: the demo writes
    /// nothing into the user's symbol cache or anywhere else.
    pub(crate) fn add_demo_symbols(&mut self) {
        let state = &mut self.stack_state;
        for text in demo::demo_symbol_texts() {
            if let Err(e) = state.in_memory.add_breakpad(text.as_bytes()) {
                state.messages.push(format!("demo symbols: {e}"));
            }
        }
        state.resolver.set_in_memory(state.in_memory.clone());
        state.named.clear();
    }
}
