//! What the interactive shell asks of a session beyond the one-shot queries:
//! the names it completes, building the model up front, and the user's libraries.
//! Kept apart from session.rs so the shell grows without touching its core.
use crate::session::Session;
use query::functions::all_function_names;
use query::grammar::{KEYWORDS, VIEW_NAMES};
use std::path::{Path, PathBuf};

/// Everything Tab can offer for one session, taken at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompletionWords {
    /// Table names with their column names.
    pub tables: Vec<(String, Vec<String>)>,
    pub keywords: Vec<String>,
    pub functions: Vec<String>,
    pub saved_queries: Vec<String>,
}

/// How one `.etwq` file in a library directory fared.
#[derive(Debug)]
pub struct LibraryLoad {
    pub path: PathBuf,
    /// How many queries it holds, or what is wrong with it.
    pub result: Result<usize, String>,
}

impl Session {
    /// Builds the models now rather than on the first query, so the shell can
    /// show progress around it; each table is built when a query first reads it.
    pub fn prepare(&mut self) {
        // A meter of its own, which nothing stops.
        let _ = self.ensure_models(&progress::Progress::new());
    }

    /// `prepare`, with a stage in `progress` per step (see `ensure_models`).
    /// Ctrl-C (the session's cancel flag) stops it, and a model too big for
    /// the memory etwq may use is not begun (the error says why); the first
    /// query then tries again.
    pub fn prepare_with_progress(&mut self, progress: &progress::Progress) -> Result<(), crate::NotBuilt> {
        progress.stop_when(self.cancel.clone());
        self.ensure_models(progress)
    }

    /// A session of no trace: it has tables of no rows and the built-in saved
    /// queries. The shell holds one while it lends its own to Tab completion.
    pub fn without_traces() -> Session {
        Session::with_traces(Vec::new())
    }

    /// Whether the first query will have to build the model first.
    pub fn is_prepared(&self) -> bool {
        self.models_built
    }

    /// A short name for the prompt: the trace's file name, "demo", or the
    /// first name and how many more.
    pub fn label(&self) -> String {
        match self.traces.as_slice() {
            [] => "etwq".into(),
            [one] => one.name.clone(),
            [first, rest @ ..] => format!("{}+{}", first.name, rest.len()),
        }
    }

    /// The words Tab completes: tables and their columns, keywords,
    /// functions and saved queries.
    pub fn completion_words(&mut self) -> CompletionWords {
        let names: Vec<&str> = model::schema::tables().iter().map(|t| t.name).collect();
        let mut tables: Vec<(String, Vec<String>)> = names
            .into_iter()
            .map(|t| (t.to_string(), self.schema(t).unwrap_or_default().into_iter().map(|c| c.0).collect()))
            .collect();
        tables.sort();
        CompletionWords {
            tables,
            keywords: KEYWORDS.iter().chain(VIEW_NAMES).map(|k| k.to_string()).collect(),
            functions: all_function_names().map(str::to_string).collect(),
            saved_queries: self.saved_queries().iter().map(|q| q.name.clone()).collect(),
        }
    }

    /// Loads every `*.etwq` file of a directory (in name order); a directory
    /// that does not exist holds no libraries. One bad file does not stop the others.
    pub fn load_library_dir(&mut self, dir: &Path) -> Vec<LibraryLoad> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("etwq")))
            .collect();
        files.sort();
        files.into_iter().map(|path| LibraryLoad { result: self.load_library(&path), path }).collect()
    }
}

/// Where the user keeps query libraries: `<config dir>/etwq/` (for example
/// `~/.config/etwq/` on Linux).
pub fn user_library_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("etwq"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_dir_loads_every_etwq_file_and_reports_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.etwq"), "mine = syscalls where ret != 0\n").unwrap();
        std::fs::write(dir.path().join("b.etwq"), "not a query line\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored = x\n").unwrap();
        let mut session = Session::demo();
        let loads = session.load_library_dir(dir.path());
        assert_eq!(loads.len(), 2);
        assert_eq!(loads[0].result, Ok(1));
        assert!(loads[1].result.is_err());
        assert!(session.saved_queries().iter().any(|q| q.name == "mine"));
        assert!(session.load_library_dir(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn label_names_the_trace() {
        assert_eq!(Session::demo().label(), "demo");
    }
}
