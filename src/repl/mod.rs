//! The interactive shell: `etwq trace.etl` reads queries and meta-commands
//! line by line and answers with tables. It drives the one Session API like
//! the command line does; it only adds line editing, completion, history,
//! fitting results to the screen, a pager and the clipboard. The same shell
//! without line editing runs scripts of lines: stdin, `-c` and `.read`
//! (batch.rs).
mod batch;
mod completer;
mod meta;
mod pager;

pub use crate::clipboard::{osc52_sequence, Clipboard, CopiedThrough};
use crate::interrupt::Interrupt;
use crate::progress::with_progress;
pub use completer::input_is_incomplete;

use crate::setup::SessionSetup;
use batch::{lines_of, Statement, Statements, Unreadable};
use completer::ShellHelper;
use render::{Format, Rows, Screen};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;
use session::{DecodeCheck, Session};
use std::io::{BufWriter, Write};
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
    /// Results taller than the screen go through $PAGER (the shell only; `.pager`).
    pub pager: bool,
    /// Stop at the first failed line (stdin, -c, .read).
    pub bail: bool,
}

/// What a script of lines runs from (not the terminal).
pub enum BatchInput {
    /// The lines of stdin.
    Stdin,
    /// `-c` values, a statement each.
    Commands(Vec<String>),
}

/// How deep `.read` files may read others: a file that reads itself stops here.
pub const READ_DEPTH_LIMIT: usize = 16;

/// Whether the shell goes on after a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Quit,
    /// Stop the script being run (--bail after an error, Ctrl-C, a closed stdout); the shell goes on.
    Stop,
}

/// Why a line failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A command's own message: `etwq: ` goes before it.
    Command(String),
    /// A query's error, which says `error:` itself (with a caret under the place).
    Query(String),
    /// Stopped by Ctrl-C.
    Cancelled(String),
}

/// Where results go: stdout (the terminal, or whatever it is), or a file after `.output FILE`.
pub(crate) enum Output {
    Stdout,
    File { path: String, writer: BufWriter<std::fs::File> },
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
    pub(crate) output: Output,
    /// Typed at a terminal (the prompt), rather than a script of lines.
    interactive: bool,
    pub(crate) pager: bool,
    bail: bool,
    /// How many `.read` files are being read, one inside the other.
    read_depth: usize,
    /// Lines that failed so far: a script's exit status.
    failures: usize,
    /// Ctrl-C in a script run, which ends the program (the shell's own handler cancels the query instead).
    interrupt: Option<Interrupt>,
    /// Stdout was closed (`| head`): a script stops quietly.
    stdout_closed: bool,
}

/// Writes to stdout; a closed stdout is not worth a panic.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

impl Shell {
    pub(crate) fn new(mut session: Session, options: ShellOptions, interactive: bool) -> Shell {
        // `| chart` fits its buckets to the terminal the results are shown on.
        if let Some(width) = Screen::of_stdout().width {
            session.set_chart_width(usize::from(width));
        }
        let cancel_target = Arc::new(Mutex::new(session.cancel_flag()));
        Shell {
            session,
            format: options.format,
            timer: false,
            last: None,
            clipboard: Clipboard::default(),
            setup: options.setup,
            decode_check: options.decode_check,
            cancel_target,
            output: Output::Stdout,
            interactive,
            pager: options.pager,
            bail: options.bail,
            read_depth: 0,
            failures: 0,
            interrupt: None,
            stdout_closed: false,
        }
    }

    /// A result or listing in the current format, where `.output` sends it:
    /// at the terminal fitted to the screen (or through the pager), otherwise every row, streamed.
    pub(crate) fn show(&mut self, rows: &(impl Rows + ?Sized)) -> Result<(), String> {
        self.show_as(rows, self.format)
    }

    fn show_as(&mut self, rows: &(impl Rows + ?Sized), format: Format) -> Result<(), String> {
        match &mut self.output {
            Output::File { path, writer } => {
                // A file is not a screen: every row, every column, no colour or box drawing.
                let screen = Screen { width: None, max_lines: None, ascii: true };
                render::write_on_screen(rows, format, &screen, writer)
                    .and_then(|()| writer.flush())
                    .map_err(|e| format!("writing to {path}: {e}"))
            }
            Output::Stdout if self.interactive => {
                self.show_on_terminal(rows, format);
                Ok(())
            }
            Output::Stdout => {
                // Every row; a table fitted to the width of a terminal, whole in a pipe.
                let screen = Screen { max_lines: None, ..Screen::of_stdout() };
                let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
                match render::write_on_screen(rows, format, &screen, &mut out).and_then(|()| out.flush()) {
                    Ok(()) => Ok(()),
                    // `| head` has what it wanted: the script ends quietly, as grep does.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        self.stdout_closed = true;
                        Ok(())
                    }
                    Err(e) => Err(format!("writing the output: {e}")),
                }
            }
        }
    }

    /// At the prompt: a screenful, the rest counted; with the pager on, a
    /// result taller than the screen is paged whole instead.
    fn show_on_terminal(&self, rows: &(impl Rows + ?Sized), format: Format) {
        let screen = Screen::of_stdout();
        if self.pager {
            if let (Some(room), Some(command)) = (screen.max_lines, pager::pager_command()) {
                let mut paged = pager::Paged::new(command, room + 1);
                let every_row = Screen { max_lines: None, ..screen };
                // A pager quit early is a broken pipe here: the reader has seen enough.
                let _ = render::write_on_screen(rows, format, &every_row, &mut paged);
                paged.finish();
                return;
            }
        }
        let mut out = BufWriter::new(std::io::stdout().lock());
        let _ = render::write_on_screen(rows, format, &screen, &mut out).and_then(|()| out.flush());
    }

    /// Text asked for (help, a setting's value): where results go.
    pub(crate) fn say(&mut self, text: &str) {
        match &mut self.output {
            Output::File { writer, .. } => {
                let _ = writeln!(writer, "{text}").and_then(|()| writer.flush());
            }
            Output::Stdout => emit(&format!("{text}\n")),
        }
    }

    /// A confirmation or remark for the person at the terminal (saved, wrote,
    /// timings): stdout in the shell, stderr in a script so that stdout holds
    /// only results.
    pub(crate) fn note(&self, text: &str) {
        if self.interactive {
            emit(&format!("{text}\n"));
        } else {
            eprintln!("{text}");
        }
    }

    fn execute(&mut self, line: &str) -> Result<Flow, Failure> {
        if line.starts_with('.') {
            return meta::run(self, line).map_err(Failure::Command);
        }
        // sqlite3 and psql end a statement with `;`: the same here.
        let line = line.strip_suffix(';').unwrap_or(line).trim_end();
        if !line.starts_with('#') && !line.is_empty() {
            // MySQL's `\G`: this result a row at a time.
            match line.strip_suffix("\\G") {
                Some(query) => self.run_query(query.trim_end(), Format::Line)?,
                None => self.run_query(line, self.format)?,
            }
        }
        Ok(Flow::Continue)
    }

    /// Runs a script's statements; each failure is reported at `source` line N.
    /// Ends early on `.quit`, or with `Flow::Stop` after an error under --bail,
    /// Ctrl-C or a closed stdout.
    pub(crate) fn run_statements(
        &mut self,
        source: &str,
        statements: impl Iterator<Item = Result<Statement, Unreadable>>,
    ) -> Flow {
        for statement in statements {
            if self.should_stop() {
                return Flow::Stop;
            }
            let (line, outcome) = match statement {
                Ok(statement) => (statement.line, self.execute(&statement.text)),
                Err((line, message)) => (line, Err(Failure::Command(message))),
            };
            match outcome {
                Ok(Flow::Continue) => {}
                Ok(flow) => return flow,
                Err(failure) => {
                    let cancelled = matches!(failure, Failure::Cancelled(_));
                    self.report(Some((source, line)), failure);
                    // Ctrl-C stops the whole script, in the shell too.
                    if self.bail || cancelled {
                        return Flow::Stop;
                    }
                }
            }
        }
        if self.should_stop() {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn should_stop(&self) -> bool {
        self.stdout_closed || self.interrupt.as_ref().is_some_and(Interrupt::happened)
    }

    /// Reports a failed line on stderr, prefixed with where it was (`FILE line N: `), and counts it.
    fn report(&mut self, location: Option<(&str, usize)>, failure: Failure) {
        self.failures += 1;
        let at = location.map(|(source, line)| format!("{source} line {line}: ")).unwrap_or_default();
        match failure {
            Failure::Command(message) => eprintln!("etwq: {at}{message}"),
            Failure::Query(message) => eprintln!("{at}{message}"),
            // Ctrl-C in a script ends the program, which says so.
            Failure::Cancelled(_) if self.interrupt.is_some() => {}
            // A carriage return first: the terminal echoed ^C where the message goes.
            Failure::Cancelled(message) => eprintln!("\r{at}{message}"),
        }
    }

    /// `.read FILE`: its lines as if typed, errors reported with the file's name and line.
    pub(crate) fn read_file(&mut self, path: &Path) -> Result<Flow, String> {
        let name = path.display().to_string();
        if self.read_depth >= READ_DEPTH_LIMIT {
            return Err(format!(
                "{name}: not read: .read files nest {READ_DEPTH_LIMIT} deep already (does a file read itself?)"
            ));
        }
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
        self.read_depth += 1;
        let flow = self.run_statements(&name, Statements::new(lines_of(std::io::BufReader::new(file))));
        self.read_depth -= 1;
        Ok(flow)
    }

    /// `.output FILE` (created or emptied) or `.output stdout`. A file that cannot be
    /// written is an error, and the output stays where it was.
    pub(crate) fn redirect(&mut self, target: &str) -> Result<(), String> {
        if target.is_empty() || target == "stdout" {
            self.output = Output::Stdout;
            return Ok(());
        }
        let file = std::fs::File::create(target).map_err(|e| {
            let now = match &self.output {
                Output::Stdout => "stdout".to_string(),
                Output::File { path, .. } => path.clone(),
            };
            format!("{target}: {e}; output still goes to {now}")
        })?;
        self.output = Output::File { path: target.to_string(), writer: BufWriter::new(file) };
        Ok(())
    }

    fn run_query(&mut self, text: &str, format: Format) -> Result<(), Failure> {
        let started = Instant::now();
        let session = &mut self.session;
        // The error is made once per failed query and moved once: its size costs nothing.
        #[allow(clippy::result_large_err)]
        let result = with_progress(|progress| session.query_with_progress(text, progress));
        let elapsed = started.elapsed();
        self.report_symbol_messages();
        match result {
            Ok(data) => {
                let shown = self.show_as(&data, format);
                let rows = data.row_count();
                // A script's output is the results alone (a header shows an empty one).
                if rows == 0 && self.interactive {
                    self.note("(no rows)");
                }
                if self.timer {
                    self.note(&format!("{} rows in {:.3} s", count_text(rows), elapsed.as_secs_f64()));
                }
                self.last = Some(Box::new(data));
                shown.map_err(Failure::Command)
            }
            Err(e) if e.kind == session::ErrorKind::Cancelled => Err(Failure::Cancelled(e.to_string())),
            Err(e) => Err(Failure::Query(e.to_string())),
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
        if let Some(interrupt) = &self.interrupt {
            interrupt.attach(session.cancel_flag());
        }
        self.session = session;
        self.last = None;
        let tables = self.session.tables();
        let rows: usize = tables.iter().map(|(_, n)| n).sum();
        self.note(&format!("opened {label}: {} tables, {} rows", tables.len(), count_text(rows)));
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
    let mut shell = Shell::new(session, options, true);
    shell.cancel_target = cancel_target;
    shell.note(".help lists the commands and what a query can say; .quit or Ctrl-D leaves");
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
        match shell.execute(text) {
            Ok(Flow::Quit) => break,
            Ok(Flow::Continue | Flow::Stop) => {}
            Err(failure) => shell.report(None, failure),
        }
    }
    Ok(())
}

/// Runs a script of lines (stdin, or `-c` values) through the shell without
/// line editing: every line runs and every error is reported with its line
/// (`--bail`: the first error stops). Returns how many lines failed.
pub fn run_batch(session: Session, options: ShellOptions, input: BatchInput, interrupt: &Interrupt) -> usize {
    let mut shell = Shell::new(session, options, false);
    shell.interrupt = Some(interrupt.clone());
    match input {
        BatchInput::Stdin => {
            shell.run_statements("stdin", Statements::new(lines_of(std::io::stdin().lock())));
        }
        BatchInput::Commands(commands) => {
            // One -c needs no number; several are told apart by theirs.
            let source = if commands.len() == 1 { None } else { Some("-c") };
            let statements = commands.into_iter().enumerate().map(|(index, text)| {
                let text = text.trim();
                let text = text.strip_suffix(';').unwrap_or(text).trim_end();
                Ok(Statement { line: index + 1, text: text.to_string() })
            });
            match source {
                Some(source) => {
                    shell.run_statements(source, statements);
                }
                None => {
                    for statement in statements.flatten() {
                        if let Err(failure) = shell.execute(&statement.text) {
                            shell.report(None, failure);
                        }
                    }
                }
            }
        }
    }
    if let Output::File { writer, .. } = &mut shell.output {
        let _ = writer.flush();
    }
    // `.open` started a check of its own trace's decoding: its warnings end the output.
    for warning in shell.decode_check.take().map(DecodeCheck::warnings).unwrap_or_default() {
        eprintln!("etwq: warning: {warning}");
    }
    shell.failures
}
