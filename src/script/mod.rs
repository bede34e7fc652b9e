//! Scripted investigations: rhai scripts that drive the Session API.
//!
//! `etwq -f script.rhai FILE... [-- ARGS]` and the shell's `.run` both end in
//! [`run_script_with`]. The engine is sandboxed: rhai has no file or process
//! access of its own, `import` is switched off, and `export(table, path)` is
//! the only function that writes a file, inside one directory (see
//! [`sandbox`]). Operations, call depth, string, array and map sizes and
//! wall-clock time are limited; Ctrl-C (the session's cancel flag) stops a
//! running script at its next operation.
pub mod api;
pub mod sandbox;

use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope};
use session::Session;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use api::ScriptTable;

/// Default size limits of a script's values. rhai re-counts an array or map
/// (nested values and string bytes included) after every change to it, so
/// growing one element by element costs the square of its length: at these
/// sizes `loop { a.push(x) }` stops within seconds. Tables are not arrays and
/// have no such limit: a script iterates a big table rather than its `rows()`.
pub const ARRAY_LIMIT: usize = 20_000;
/// Entries in a script's maps, nested ones counted.
pub const MAP_LIMIT: usize = 20_000;
/// Bytes of one string, and of all strings inside one array or map.
pub const STRING_LIMIT: usize = 4 << 20;

/// Where `print`, `debug` and `show` write: stdout for the command line, a
/// buffer in tests.
pub type Output = Arc<dyn Fn(&str) + Send + Sync>;

/// Limits and output of one script run.
#[derive(Clone)]
pub struct ScriptOptions {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Wall-clock limit: a loop of queries never reaches the operations limit.
    pub timeout: Option<Duration>,
    /// The one directory `export` writes into (relative paths only).
    pub write_dir: PathBuf,
    /// Set (by a signal handler) to stop the script; unlike the session's
    /// cancel flag, no query clears it.
    pub interrupt: Arc<AtomicBool>,
    pub output: Output,
}

/// The default wall-clock limit of a script.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What the progress callback returns when it stops a script.
const STOP_INTERRUPTED: &str = "interrupted";
const STOP_TIMEOUT: &str = "timeout";

impl Default for ScriptOptions {
    fn default() -> ScriptOptions {
        ScriptOptions {
            // Enough for the library scripts on traces of a few million events;
            // an endless loop still stops within seconds.
            max_operations: 50_000_000,
            max_call_levels: 64,
            max_string_size: STRING_LIMIT,
            max_array_size: ARRAY_LIMIT,
            max_map_size: MAP_LIMIT,
            timeout: Some(DEFAULT_TIMEOUT),
            write_dir: PathBuf::from("."),
            interrupt: Arc::new(AtomicBool::new(false)),
            output: Arc::new(write_stdout),
        }
    }
}

impl ScriptOptions {
    /// Default limits, output collected into `buffer` (for tests and for
    /// front ends that page the output).
    pub fn capturing(buffer: Arc<Mutex<String>>) -> ScriptOptions {
        let output: Output = Arc::new(move |text: &str| {
            buffer.lock().unwrap_or_else(|e| e.into_inner()).push_str(text);
        });
        ScriptOptions { output, ..ScriptOptions::default() }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not worth a panic, so
/// write errors are dropped.
pub(crate) fn write_stdout(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// A script that did not run to its end: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub script: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.script, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.script, self.message),
            _ => write!(f, "{}: {}", self.script, self.message),
        }
    }
}

impl std::error::Error for ScriptError {}

impl ScriptError {
    fn at(script: &str, position: Position, message: String) -> ScriptError {
        ScriptError { script: script.to_string(), line: position.line(), column: position.position(), message }
    }

    /// The innermost error says what went wrong and where; the calls around
    /// it (a script function calling another) are named after it.
    fn from_eval(script: &str, error: &EvalAltResult) -> ScriptError {
        let inner = error.unwrap_inner();
        let inner_position = inner.position();
        let position = if inner_position.is_none() { error.position() } else { inner_position };
        let mut message = match inner {
            EvalAltResult::ErrorTooManyOperations(_) => {
                "stopped: the script reached its limit of operations (an endless loop?)".to_string()
            }
            EvalAltResult::ErrorTerminated(token, _) if token.to_string() == STOP_TIMEOUT => {
                "stopped: the script ran past its time limit (--script-timeout SECONDS)".to_string()
            }
            EvalAltResult::ErrorTerminated(..) => "stopped: interrupted (Ctrl-C)".to_string(),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                format!("stopped: {what} too large: past the script's size limit (an endless loop?)")
            }
            EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
            other => {
                // rhai appends " (line L, position C)"; the prefix already says where.
                let text = other.to_string();
                let suffix = format!(" ({inner_position})");
                text.strip_suffix(&suffix).map_or(text.clone(), str::to_string)
            }
        };
        let mut calls = Vec::new();
        let mut current = error;
        while let EvalAltResult::ErrorInFunctionCall(name, _, next, _) = current {
            calls.push(name.clone());
            current = next;
        }
        if !calls.is_empty() {
            message.push_str(&format!(" (in {})", calls.join(" <- ")));
        }
        ScriptError::at(script, position, message)
    }
}

/// Runs a script file with default limits, printing to stdout: what the
/// shell's `.run FILE ARGS...` calls.
pub fn run_script_file(session: &mut Session, path: &Path, args: &[String]) -> Result<(), ScriptError> {
    run_script_file_with(session, path, args, &ScriptOptions::default())
}

/// Runs a script file with the limits and output of `options`.
pub fn run_script_file_with(
    session: &mut Session,
    path: &Path,
    args: &[String],
    options: &ScriptOptions,
) -> Result<(), ScriptError> {
    let name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| ScriptError {
        script: name.clone(),
        line: None,
        column: None,
        message: e.to_string(),
    })?;
    run_script_with(session, &name, &source, args, options)
}

/// Runs script text with default limits, printing to stdout.
pub fn run_script(session: &mut Session, name: &str, source: &str, args: &[String]) -> Result<(), ScriptError> {
    run_script_with(session, name, source, args, &ScriptOptions::default())
}

/// Runs script text against the session. `name` is what errors are prefixed
/// with (the file name). The session is lent to the script and given back
/// whatever the outcome.
pub fn run_script_with(
    session: &mut Session,
    name: &str,
    source: &str,
    args: &[String],
    options: &ScriptOptions,
) -> Result<(), ScriptError> {
    let cancel = session.cancel_flag();
    cancel.store(false, Ordering::SeqCst);
    let facts = session.trace_facts();
    // The script holds the session while it runs; a session of no traces
    // (built through the public API, whatever fields Session grows) stands in.
    let Ok(stand_in) = Session::open_all(&[]) else {
        return Err(ScriptError {
            script: name.to_string(),
            line: None,
            column: None,
            message: "could not start".into(),
        });
    };
    let shared = Arc::new(Mutex::new(std::mem::replace(session, stand_in)));
    let result = {
        let engine = build_engine(shared.clone(), options);
        let mut scope = Scope::new();
        scope.push_constant("args", api::string_array(args));
        scope.push_constant("trace", api::facts_map(&facts));
        match engine.compile(source) {
            Err(e) => Err(ScriptError::at(name, e.position(), e.0.to_string())),
            Ok(ast) => engine.run_ast_with_scope(&mut scope, &ast).map_err(|e| ScriptError::from_eval(name, &e)),
        }
    };
    std::mem::swap(session, &mut shared.lock().unwrap_or_else(|e| e.into_inner()));
    result
}

/// A sandboxed engine with the script API registered.
fn build_engine(session: Arc<Mutex<Session>>, options: &ScriptOptions) -> Engine {
    let mut engine = Engine::new();
    // No `import`: a script reads nothing from disk but what the session opened.
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.set_max_operations(options.max_operations);
    engine.set_max_call_levels(options.max_call_levels);
    engine.set_max_string_size(options.max_string_size);
    engine.set_max_array_size(options.max_array_size);
    engine.set_max_map_size(options.max_map_size);
    engine.set_max_expr_depths(128, 64);
    let cancel = session.lock().unwrap_or_else(|e| e.into_inner()).cancel_flag();
    let deadline = options.timeout.map(|t| Instant::now() + t);
    let interrupt = options.interrupt.clone();
    engine.on_progress(move |operations| {
        if cancel.load(Ordering::Relaxed) || interrupt.load(Ordering::Relaxed) {
            return Some(Dynamic::from(STOP_INTERRUPTED));
        }
        // Reading the clock every operation would cost more than the operation.
        let past_deadline = deadline.is_some_and(|d| operations % 256 == 0 && Instant::now() >= d);
        past_deadline.then(|| Dynamic::from(STOP_TIMEOUT))
    });
    let out = options.output.clone();
    engine.on_print(move |text| out(&format!("{text}\n")));
    let out = options.output.clone();
    engine.on_debug(move |text, _, _| out(&format!("{text}\n")));
    api::register(&mut engine, session, options.output.clone(), options.write_dir.clone());
    engine
}
