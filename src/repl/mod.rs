//! The interactive shell: `etwq trace.etl` reads queries and meta-commands
//! line by line and answers with tables. It drives the one Session API like
//! the command line does; it only adds line editing, completion, history,
//! fitting results to the screen and the clipboard.
mod completer;
mod meta;

pub use crate::clipboard::{osc52_sequence, Clipboard, CopiedThrough};
use crate::progress::with_progress;
pub use completer::input_is_incomplete;

use crate::setup::SessionSetup;
use completer::ShellHelper;
use render::{Format, Rows, Screen};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;
use session::{DecodeCheck, Session};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the command line hands the shell.
pub struct ShellOptions {
    /// The first `.format`.
    pub format: Format,
    /// What the session was opened with; `.open` applies it to the next one.
    pub setup: SessionSetup,
    /// The decode check of the first session, still running: its warnings
    /// are shown at a prompt once it is done, so the shell does not wait.
    pub decode_check: Option<DecodeCheck>,
}

/// Whether the shell goes on after a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Quit,
}

/// Where the history lives: `ETWQ_HISTORY`, else `<data dir>/etwq/history`
/// (for example `~/.local/share/etwq/history` on Linux).
pub fn history_path() -> Option<PathBuf> {
    match std::env::var_os("ETWQ_HISTORY") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => dirs::data_dir().map(|d| d.join("etwq").join("history")),
    }
}

pub(crate) struct Shell {
    pub(crate) session: Session,
    pub(crate) format: Format,
    pub(crate) timer: bool,
    /// The last query's result, for `.copy` and `.export`: the result's own
    /// columns (a query result is never copied into cells to be shown).
    pub(crate) last: Option<Box<dyn Rows>>,
    pub(crate) clipboard: Clipboard,
    /// Manifests, libraries, `.save` definitions and the symbol path: what `.open` carries over.
    pub(crate) setup: SessionSetup,
    /// The current session's decode check, until its warnings are shown.
    decode_check: Option<DecodeCheck>,
    /// The cancel flag of the session Ctrl-C should stop; `.open` swaps the session.
    cancel_target: Arc<Mutex<Arc<AtomicBool>>>,
}

/// Writes to stdout; a closed stdout is not worth a panic.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

impl Shell {
    /// A result or listing, fitted to the screen; every row, streamed, when
    /// stdout is not a terminal. A closed stdout is not worth a panic.
    pub(crate) fn show(&self, rows: &(impl Rows + ?Sized)) {
        self.show_as(rows, self.format);
    }

    fn show_as(&self, rows: &(impl Rows + ?Sized), format: Format) {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let _ = render::write_on_screen(rows, format, &Screen::of_stdout(), &mut out).and_then(|()| out.flush());
    }

    /// A line of the shell's own (confirmations, help).
    pub(crate) fn say(&self, text: &str) {
        emit(&format!("{text}\n"));
    }

    fn execute(&mut self, line: &str) -> Flow {
        if line.starts_with('.') {
            return meta::run(self, line).unwrap_or_else(|e| {
                eprintln!("etwq: {e}");
                Flow::Continue
            });
        }
        if !line.starts_with('#') {
            // MySQL's `\G`: this result a row at a time.
            match line.strip_suffix("\\G") {
                Some(query) => self.run_query(query.trim_end(), Format::Line),
                None => self.run_query(line, self.format),
            }
        }
        Flow::Continue
    }

    fn run_query(&mut self, text: &str, format: Format) {
        let started = Instant::now();
        let session = &mut self.session;
        // The error is made once per failed query and moved once: its size costs nothing.
        #[allow(clippy::result_large_err)]
        let result = with_progress(|progress| session.query_with_progress(text, progress));
        let elapsed = started.elapsed();
        self.report_symbol_messages();
        match result {
            Ok(data) => {
                self.show_as(&data, format);
                let rows = data.row_count();
                if rows == 0 {
                    self.say("(no rows)");
                }
                if self.timer {
                    self.say(&format!("{} rows in {:.3} s", count_text(rows), elapsed.as_secs_f64()));
                }
                self.last = Some(Box::new(data));
            }
            // A carriage return first: the terminal echoed ^C where the message goes.
            Err(e) if e.kind == session::ErrorKind::Cancelled => eprintln!("\r{e}"),
            Err(e) => eprintln!("{e}"),
        }
    }

    /// What symbol loading had to say (PDBs refused, servers that failed).
    pub(crate) fn report_symbol_messages(&mut self) {
        for message in self.session.take_messages() {
            eprintln!("etwq: symbols: {message}");
        }
    }

    /// The decode check's warnings, once it has ended; nothing while it runs.
    fn report_finished_decode_check(&mut self) {
        if !self.decode_check.as_ref().is_some_and(DecodeCheck::is_finished) {
            return;
        }
        for warning in self.decode_check.take().map(DecodeCheck::warnings).unwrap_or_default() {
            eprintln!("etwq: warning: {warning}");
        }
    }

    /// `.open`: a new session in place of the current one, with the same
    /// manifests, libraries and saved queries.
    pub(crate) fn open(&mut self, path: &Path) -> Result<(), String> {
        let label = path.display().to_string();
        let mut session = self.setup.open(&[path.to_path_buf()])?;
        self.decode_check = Some(session.start_decode_check());
        report_unprepared(with_progress(|progress| session.prepare_with_progress(progress)));
        if let Ok(mut target) = self.cancel_target.lock() {
            *target = session.cancel_flag();
        }
        self.session = session;
        self.last = None;
        let tables = self.session.tables();
        let rows: usize = tables.iter().map(|(_, n)| n).sum();
        self.say(&format!("opened {label}: {} tables, {} rows", tables.len(), count_text(rows)));
        Ok(())
    }
}

/// Why the models were not built up front: the first query will try again.
fn report_unprepared(prepared: Result<(), session::NotBuilt>) {
    match prepared {
        Ok(()) => {}
        Err(session::NotBuilt::Stopped) => eprintln!("\retwq: stopped building the model; the first query builds it"),
        Err(too_big) => eprintln!("etwq: {too_big}"),
    }
}

/// A count with its digits grouped: 326,125.
pub(crate) fn count_text(n: usize) -> String {
    render::group_digits(&n.to_string())
}

/// Runs the shell until `.quit` or Ctrl-D.
pub fn run(session: Session, options: ShellOptions) -> Result<(), String> {
    let mut session = session;
    let cancel_target = Arc::new(Mutex::new(session.cancel_flag()));
    let handler_target = cancel_target.clone();
    // At the prompt the terminal is raw and Ctrl-C reaches rustyline as a key;
    // while the model builds or a query runs it is a signal, and it stops that
    // work, not the shell.
    if let Err(e) = ctrlc::set_handler(move || {
        if let Ok(flag) = handler_target.lock() {
            flag.store(true, Ordering::SeqCst);
        }
    }) {
        eprintln!("etwq: warning: Ctrl-C will not stop a running query: {e}");
    }
    if !session.is_prepared() {
        report_unprepared(with_progress(|progress| session.prepare_with_progress(progress)));
    }
    for message in session.take_messages() {
        eprintln!("etwq: symbols: {message}");
    }
    let colors = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .history_ignore_space(true)
        .max_history_size(10_000)
        .map_err(|e| e.to_string())?
        .history_ignore_dups(true)
        .map_err(|e| e.to_string())?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config).map_err(|e| e.to_string())?;
    editor.set_helper(Some(ShellHelper::new(colors)));
    let history = history_path();
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A missing history file is the first session, not an error.
        let _ = editor.load_history(path);
    }
    let mut shell = Shell {
        session,
        format: options.format,
        timer: false,
        last: None,
        clipboard: Clipboard::default(),
        setup: options.setup,
        decode_check: options.decode_check,
        cancel_target,
    };
    shell.say(".help lists the commands and what a query can say; .quit or Ctrl-D leaves");
    let mut history_warned = false;
    loop {
        shell.report_finished_decode_check();
        let prompt = format!("etwq {}> ", shell.session.label());
        let line = match completer::read_line(&mut editor, &mut shell.session, &prompt) {
            Ok(line) => line,
            // Ctrl-C at the prompt drops the line being typed.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(format!("reading the input: {e}")),
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(text);
        if let Some(path) = &history {
            // Saved line by line so a killed shell loses nothing.
            if let Err(e) = editor.append_history(path) {
                if !history_warned {
                    eprintln!("etwq: warning: history not saved to {}: {e}", path.display());
                    history_warned = true;
                }
            }
        }
        if shell.execute(text) == Flow::Quit {
            break;
        }
    }
    Ok(())
}
