//! Ctrl-C in the one-shot front ends (`-c`, queries on stdin, `-f`): it asks
//! the running work to stop, and the program ends with a message and exit
//! code 130. A query stops at its next check of the session's cancel flag and
//! a script at its next operation; a model or table build cannot stop
//! halfway, so the program ends after a short grace instead. (The shell has
//! its own handler: there Ctrl-C stops a query, not the program.)
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the work has to stop by itself before the program ends.
pub const GRACE: Duration = Duration::from_secs(1);

/// The exit code of a program stopped by SIGINT, as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Clones share the one handler's state.
#[derive(Clone)]
pub struct Interrupt {
    interrupted: Arc<AtomicBool>,
    reported: Arc<AtomicBool>,
    /// The session's cancel flag, once there is a session (Ctrl-C may come while the trace loads).
    cancel: Arc<Mutex<Option<Arc<AtomicBool>>>>,
    message: &'static str,
}

impl Interrupt {
    /// Installs the handler: Ctrl-C sets `interrupted` (which nothing clears)
    /// and the attached session's cancel flag, then ends the program after
    /// GRACE unless it ended first. `message` follows `etwq: ` on stderr.
    pub fn install(interrupted: Arc<AtomicBool>, message: &'static str) -> Interrupt {
        let interrupt =
            Interrupt { interrupted, reported: Arc::default(), cancel: Arc::new(Mutex::new(None)), message };
        let (flag, reported, cancel) =
            (interrupt.interrupted.clone(), interrupt.reported.clone(), interrupt.cancel.clone());
        let handler = move || {
            flag.store(true, Ordering::SeqCst);
            if let Some(cancel) = cancel.lock().ok().and_then(|c| c.clone()) {
                cancel.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(GRACE);
            report(&reported, message);
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        };
        if let Err(e) = ctrlc::set_handler(handler) {
            eprintln!("etwq: warning: Ctrl-C will only kill the program: {e}");
        }
        interrupt
    }

    /// Ctrl-C also stops the query running in this session (its cancel flag).
    pub fn attach(&self, cancel: Arc<AtomicBool>) {
        if self.happened() {
            cancel.store(true, Ordering::SeqCst);
        }
        if let Ok(mut slot) = self.cancel.lock() {
            *slot = Some(cancel);
        }
    }

    /// The flag Ctrl-C sets, for a script to poll.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.interrupted.clone()
    }

    /// Whether Ctrl-C was pressed.
    pub fn happened(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// After the work: `Err(130)`, with the message, when Ctrl-C stopped it;
    /// otherwise `result` as it is.
    pub fn outcome<T>(&self, result: Result<T, ExitCode>) -> Result<T, ExitCode> {
        if self.happened() {
            report(&self.reported, self.message);
            return Err(ExitCode::from(EXIT_INTERRUPTED));
        }
        result
    }
}

/// Prints the message once, whoever gets there first.
fn report(reported: &AtomicBool, message: &str) {
    if !reported.swap(true, Ordering::SeqCst) {
        eprintln!("etwq: {message}");
    }
}
