//! The scenario builder on top of the ETL writer, the built-in demo incident
//! made with it, and the demo modules' symbols in Breakpad text format.
pub mod incident;
pub mod payloads;
pub mod scenario;

pub use incident::{
    demo_facts, demo_incident, demo_incident_without_driver, demo_trace_bytes, facts_of, DemoFacts, StatusCount,
};
pub use scenario::{random_scenario, DispatcherHeader, GroundTruth, RandomOptions, Scenario, ScenarioError};

/// The Breakpad .sym files of the demo modules that have a PDB identity,
/// keyed by file name (without `.sym`).
const SYMBOL_FILES: [(&str, &str); 8] = [
    ("ntkrnlmp", include_str!("symbols/ntkrnlmp.sym")),
    ("ntdll", include_str!("symbols/ntdll.sym")),
    ("kernelbase", include_str!("symbols/kernelbase.sym")),
    ("kernel32", include_str!("symbols/kernel32.sym")),
    ("server", include_str!("symbols/server.sym")),
    ("strace", include_str!("symbols/strace.sym")),
    ("svchost", include_str!("symbols/svchost.sym")),
    ("explorer", include_str!("symbols/explorer.sym")),
];

/// The texts of the demo's symbol files, for a session to hand to its symbol
/// resolver (they are never written to disk).
pub fn demo_symbol_texts() -> impl Iterator<Item = &'static str> {
    SYMBOL_FILES.iter().map(|(_, text)| *text)
}

/// The text of one demo symbol file by its stem ("ntkrnlmp", "server", ...).
pub(crate) fn symbol_text(stem: &str) -> &'static str {
    SYMBOL_FILES.iter().find(|(name, _)| *name == stem).map(|(_, text)| *text).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbols::breakpad::parse_sym;

    #[test]
    fn every_symbol_file_is_whole_and_names_its_pdb() {
        for (stem, text) in SYMBOL_FILES {
            let parsed = parse_sym(text.as_bytes());
            assert_eq!(parsed.garbage_lines, 0, "{stem}: {:?}", parsed.first_garbage);
            assert!(!parsed.table.is_empty(), "{stem}");
            let identity = parsed.identity.unwrap_or_else(|| panic!("{stem} has no MODULE line"));
            assert_eq!(identity.name, format!("{stem}.pdb"));
        }
        let nt = parse_sym(symbol_text("ntkrnlmp").as_bytes());
        assert_eq!(nt.identity.unwrap().store_key(), "3844DBB920174967BE7AA4A2C20430FA1");
        let delay = nt.table.function_named("NtDelayExecution").unwrap();
        assert_eq!((delay.rva, delay.size), (0x607c10, 0xa4));
        assert_eq!(
            nt.table.lookup(0x607c10 + 0x10).map(|(f, offset)| (&*f.name, offset)),
            Some(("NtDelayExecution", 0x10))
        );
        assert_eq!(symbol_text("no such module"), "");
    }
}
