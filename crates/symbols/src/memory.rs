//! Symbols held in memory instead of on the symbol path: Breakpad texts that a
//! program carries with it (the demo's). The resolver asks them before its cache
//! and the path, and never writes them to the cache.
use std::collections::HashMap;
use std::sync::Arc;

use super::breakpad::parse_sym;
use super::identity::PdbIdentity;
use super::table::SymbolTable;
use super::SymbolError;

/// Function tables by PDB identity, parsed once when added.
#[derive(Clone, Debug, Default)]
pub struct InMemorySymbols {
    tables: HashMap<PdbIdentity, Arc<SymbolTable>>,
}

impl InMemorySymbols {
    /// Adds a Breakpad `.sym` text under the identity its `MODULE` line names.
    /// Lines that fit no record are skipped, as on the path; a text with no usable
    /// `MODULE` line, a name that may not be a file name, or no function is refused.
    pub fn add_breakpad(&mut self, text: &[u8]) -> Result<PdbIdentity, SymbolError> {
        let parsed = parse_sym(text);
        let Some(identity) = parsed.identity else {
            return Err(SymbolError::Corrupt {
                path: None,
                what: "no MODULE line to tell whose symbols these are".into(),
            });
        };
        identity.checked_name().map_err(SymbolError::Refused)?;
        if parsed.table.is_empty() {
            return Err(SymbolError::Corrupt { path: None, what: "no FUNC or PUBLIC record in it".into() });
        }
        self.tables.insert(identity.clone(), Arc::new(parsed.table));
        Ok(identity)
    }

    pub fn get(&self, identity: &PdbIdentity) -> Option<Arc<SymbolTable>> {
        self.tables.get(identity).cloned()
    }

    pub fn contains(&self, identity: &PdbIdentity) -> bool {
        self.tables.contains_key(identity)
    }

    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_kept_by_the_identity_they_name() {
        let mut memory = InMemorySymbols::default();
        let text = b"MODULE windows x86_64 3249D99D0C4049318610F4E4FB0B69361 demo.pdb\nFUNC 1000 20 0 Alpha\n";
        let identity = memory.add_breakpad(text).unwrap();
        assert_eq!(identity.store_key(), "3249D99D0C4049318610F4E4FB0B69361");
        let table = memory.get(&identity).unwrap();
        assert_eq!(table.lookup(0x1010).map(|(f, offset)| (&*f.name, offset)), Some(("Alpha", 0x10)));
        let mut other_age = identity.clone();
        other_age.age = 2;
        assert!(memory.get(&other_age).is_none());
        assert_eq!(memory.len(), 1);
    }

    #[test]
    fn texts_without_an_owner_or_functions_are_refused() {
        let mut memory = InMemorySymbols::default();
        assert!(matches!(memory.add_breakpad(b"FUNC 1000 20 0 Alpha\n"), Err(SymbolError::Corrupt { .. })));
        assert!(matches!(
            memory.add_breakpad(b"MODULE windows x86_64 3249D99D0C4049318610F4E4FB0B69361 a.pdb\nINFO x\n"),
            Err(SymbolError::Corrupt { .. })
        ));
        assert!(matches!(
            memory.add_breakpad(b"MODULE windows x86_64 3249D99D0C4049318610F4E4FB0B69361 ../a.pdb\nFUNC 1 2 0 f\n"),
            Err(SymbolError::Refused(_))
        ));
        assert!(memory.add_breakpad(b"").is_err());
        assert!(memory.is_empty());
    }
}
