//! What a session offers about symbols: the symbol path and options, the
//! messages symbol loading left, and the demo's texts. The state itself is
//! symbols_state.rs.
use crate::session::Session;

impl Session {
    /// Sets the symbol path (`--symbols`, `.symbols`); frames are named again on the next query.
    pub fn set_symbol_path(&mut self, text: &str) {
        // A new path is new work: a Ctrl-C that stopped earlier work must not stop its downloads.
        self.cancel.store(false, std::sync::atomic::Ordering::SeqCst);
        self.share_cancel_flag();
        self.stack_state.set_path(text);
        self.forget_named_tables();
    }

    /// Where symbols are cached and downloaded to, and how long servers may take;
    /// frames are named again on the next query.
    pub fn set_symbol_options(&mut self, options: symbols::ResolverOptions) {
        self.stack_state.set_options(options);
        self.forget_named_tables();
        self.share_cancel_flag();
    }

    /// Symbol downloads stop on the session's Ctrl-C flag, as queries do.
    pub(crate) fn share_cancel_flag(&mut self) {
        self.stack_state.set_cancel_flag(self.cancel.clone());
    }

    /// The symbol path in force, written the way it is typed; empty when there is none.
    pub fn symbol_path(&self) -> String {
        self.stack_state.path_text()
    }

    /// Messages about symbols since the last call: PDBs refused, servers that failed.
    pub fn take_messages(&mut self) -> Vec<String> {
        self.stack_state.take_messages()
    }

    /// Gives the resolver the demo's Breakpad texts, in memory: the demo writes
    /// nothing into the user's symbol cache or anywhere else.
    pub(crate) fn add_demo_symbols(&mut self) {
        self.stack_state.add_in_memory(demo::demo_symbol_texts());
    }
}
