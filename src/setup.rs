//! Opening a session: the one way the command line, `etwq dump` and the
//! shell's `.open` load traces and give them the user's manifests,
//! libraries, saved queries and symbol path.
use crate::progress::with_progress;
use session::{user_library_dir, Session};
use std::path::PathBuf;

/// What every session is opened with. The shell keeps it, adds to it with
/// `.lib`, `.save` and `.symbols`, and `.open` applies it to the new trace.
#[derive(Clone, Debug, Default)]
pub struct SessionSetup {
    /// `--manifest` files or directories.
    pub manifests: Vec<PathBuf>,
    /// `--lib` and `.lib` files of saved queries.
    pub libraries: Vec<PathBuf>,
    /// `.save` definitions made in the shell.
    pub saved_definitions: Vec<String>,
    /// `--symbols` or the last `.symbols PATH`.
    pub symbols: Option<String>,
}

impl SessionSetup {
    /// Reads the traces with a progress bar, says what the reader warned
    /// about, and applies the setup.
    pub fn open(&self, files: &[PathBuf]) -> Result<Session, String> {
        let mut session =
            with_progress(|progress| Session::open_all_with_progress(files, progress)).map_err(|e| e.to_string())?;
        for warning in session.warnings() {
            eprintln!("etwq: warning: {warning}");
        }
        self.apply(&mut session)?;
        Ok(session)
    }

    /// Gives a session (a file's or the demo's) the manifests, the user's
    /// libraries, the `--lib` libraries, the saved definitions and the symbol
    /// path. A bad user library is a warning; a library asked for by name is
    /// an error.
    pub fn apply(&self, session: &mut Session) -> Result<(), String> {
        for manifest in &self.manifests {
            session.add_manifests(manifest).map_err(|e| format!("manifest {}: {e}", manifest.display()))?;
        }
        load_user_libraries(session);
        for library in &self.libraries {
            session.load_library(library)?;
        }
        for definition in &self.saved_definitions {
            session.save_query(definition)?;
        }
        if let Some(path) = &self.symbols {
            session.set_symbol_path(path);
        }
        Ok(())
    }
}

/// Loads the user's `.etwq` libraries (`<config dir>/etwq/*.etwq`) into a
/// session; a bad file is a warning, not a failure.
fn load_user_libraries(session: &mut Session) {
    let Some(dir) = user_library_dir() else { return };
    for load in session.load_library_dir(&dir) {
        if let Err(e) = load.result {
            eprintln!("etwq: warning: library {e}");
        }
    }
}
