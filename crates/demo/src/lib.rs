//! The scenario builder on top of the ETL writer, the built-in demo incident
//! made with it, and the demo modules' symbols in Breakpad text format.
pub mod incident;
pub mod payloads;
pub mod scenario;

pub use incident::{demo_facts, demo_incident, demo_trace_bytes, DemoFacts, StatusCount};
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

/// The demo's symbol files as a symbol store lays them out:
/// `name.pdb/<GUID+age>/name.sym`, with the file's text.
pub fn demo_symbol_files() -> Vec<(String, &'static str)> {
    SYMBOL_FILES
        .iter()
        .filter_map(|(_, text)| {
            let module = BreakpadModule::header(text)?;
            let stem = module.pdb_name.strip_suffix(".pdb").unwrap_or(&module.pdb_name);
            Some((format!("{}/{}/{stem}.sym", module.pdb_name, module.key), *text))
        })
        .collect()
}

/// The text of one demo symbol file by its stem ("ntkrnlmp", "server", ...).
pub(crate) fn symbol_text(stem: &str) -> &'static str {
    SYMBOL_FILES.iter().find(|(name, _)| *name == stem).map(|(_, text)| *text).unwrap_or("")
}

/// The few facts of a Breakpad text file the demo needs: the MODULE line and
/// the FUNC/PUBLIC symbols with their RVAs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakpadModule {
    pub key: String,
    pub pdb_name: String,
    /// (rva, size, name); PUBLIC symbols have size 0.
    pub symbols: Vec<(u64, u64, String)>,
}

impl BreakpadModule {
    fn header(text: &str) -> Option<BreakpadModule> {
        let first = text.lines().next()?;
        let mut parts = first.split_whitespace();
        if parts.next()? != "MODULE" {
            return None;
        }
        let (_os, _arch) = (parts.next()?, parts.next()?);
        let key = parts.next()?.to_string();
        let pdb_name = parts.collect::<Vec<_>>().join(" ");
        Some(BreakpadModule { key, pdb_name, symbols: Vec::new() })
    }

    /// Parses MODULE, FUNC and PUBLIC lines; other lines are skipped.
    pub fn parse(text: &str) -> Option<BreakpadModule> {
        let mut module = BreakpadModule::header(text)?;
        for line in text.lines() {
            let hex = |s: &str| u64::from_str_radix(s, 16).ok();
            if let Some(rest) = line.strip_prefix("FUNC ") {
                let rest = rest.strip_prefix("m ").unwrap_or(rest);
                let mut f = rest.splitn(4, ' ');
                let (Some(rva), Some(size), Some(_params), Some(name)) =
                    (f.next().and_then(hex), f.next().and_then(hex), f.next(), f.next())
                else {
                    continue;
                };
                module.symbols.push((rva, size, name.to_string()));
            } else if let Some(rest) = line.strip_prefix("PUBLIC ") {
                let rest = rest.strip_prefix("m ").unwrap_or(rest);
                let mut f = rest.splitn(3, ' ');
                let (Some(rva), Some(_params), Some(name)) = (f.next().and_then(hex), f.next(), f.next()) else {
                    continue;
                };
                module.symbols.push((rva, 0, name.to_string()));
            }
        }
        Some(module)
    }

    /// RVA and size of a FUNC by name.
    pub fn function(&self, name: &str) -> Option<(u64, u64)> {
        self.symbols.iter().find(|s| s.2 == name && s.1 > 0).map(|s| (s.0, s.1))
    }

    /// The FUNC that covers an RVA.
    pub fn function_at(&self, rva: u64) -> Option<&str> {
        self.symbols.iter().find(|s| s.1 > 0 && rva >= s.0 && rva - s.0 < s.1).map(|s| s.2.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_files_are_laid_out_as_a_store() {
        let files = demo_symbol_files();
        assert_eq!(files.len(), SYMBOL_FILES.len());
        let (path, text) = &files[0];
        assert_eq!(path, "ntkrnlmp.pdb/3844DBB920174967BE7AA4A2C20430FA1/ntkrnlmp.sym");
        let module = BreakpadModule::parse(text).unwrap();
        assert_eq!(module.function("NtDelayExecution"), Some((0x607c10, 0xa4)));
        assert_eq!(module.function_at(0x607c10 + 0x10), Some("NtDelayExecution"));
        assert_eq!(module.function_at(0x607c10 + 0xa4), None);
    }

    #[test]
    fn parser_skips_what_it_does_not_know() {
        let text =
            "MODULE windows x86_64 ABC0 a.pdb\nFILE 0 a.cpp\nFUNC m 10 20 0 f(int)\n10 4 7 0\nPUBLIC 40 0 g\nFUNC zz\n";
        let m = BreakpadModule::parse(text).unwrap();
        assert_eq!(m.symbols, vec![(0x10, 0x20, "f(int)".to_string()), (0x40, 0, "g".to_string())]);
        assert!(BreakpadModule::parse("").is_none());
        assert!(BreakpadModule::parse("FUNC 1 2 3 x").is_none());
    }
}
