//! A result taller than the screen goes through a pager, as in psql and git:
//! `$PAGER`, else `less -S` (long lines scroll sideways rather than wrap).
//! Output that fits is printed as it is; so is everything when PAGER is
//! empty or its program cannot be found or started.
use std::io::{self, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The pager to run, as words: `$PAGER`, else `less -S`; `None` when PAGER is
/// set but empty or its program is not found.
pub(crate) fn pager_command() -> Option<Vec<String>> {
    let words: Vec<String> = match std::env::var("PAGER") {
        Ok(pager) => pager.split_whitespace().map(str::to_string).collect(),
        Err(_) => vec!["less".into(), "-S".into()],
    };
    let program = words.first()?;
    program_exists(program).then_some(words)
}

/// Whether `program` names a file, or one on the PATH.
fn program_exists(program: &str) -> bool {
    let path = Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    let Some(paths) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&paths).any(|dir| {
        let candidate = dir.join(program);
        candidate.is_file() || (cfg!(windows) && candidate.with_extension("exe").is_file())
    })
}

/// Holds output until it is taller than `room` lines, then starts the pager
/// and streams into it. Once the reader quits the pager, a write is a broken
/// pipe: the renderer stops there.
pub(crate) struct Paged {
    command: Vec<String>,
    room: usize,
    held: Vec<u8>,
    lines: usize,
    pager: Option<Child>,
    /// The pager could not start: the output goes straight to stdout.
    direct: bool,
}

impl Paged {
    pub(crate) fn new(command: Vec<String>, room: usize) -> Paged {
        Paged { command, room, held: Vec::new(), lines: 0, pager: None, direct: false }
    }

    fn start_pager(&mut self) -> io::Result<()> {
        let (program, args) = self.command.split_first().ok_or_else(|| io::Error::other("no pager"))?;
        match Command::new(program).args(args).stdin(Stdio::piped()).spawn() {
            Ok(mut child) => {
                let held = std::mem::take(&mut self.held);
                let written = child.stdin.as_mut().map_or(Ok(()), |stdin| stdin.write_all(&held));
                self.pager = Some(child);
                written
            }
            Err(_) => {
                self.direct = true;
                let mut stdout = io::stdout().lock();
                stdout.write_all(&std::mem::take(&mut self.held))
            }
        }
    }

    /// Prints what was held (output that fit), or lets the pager show the end
    /// and waits until the reader quits it.
    pub(crate) fn finish(mut self) {
        match self.pager.take() {
            Some(mut child) => {
                // Closing its input tells the pager the output is complete.
                drop(child.stdin.take());
                let _ = child.wait();
            }
            None => {
                let mut stdout = io::stdout().lock();
                let _ = stdout.write_all(&self.held).and_then(|()| stdout.flush());
            }
        }
    }
}

impl Write for Paged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.direct {
            return io::stdout().lock().write(buf);
        }
        if let Some(child) = &mut self.pager {
            return match child.stdin.as_mut() {
                Some(stdin) => stdin.write(buf),
                None => Err(io::ErrorKind::BrokenPipe.into()),
            };
        }
        self.held.extend_from_slice(buf);
        self.lines += buf.iter().filter(|&&b| b == b'\n').count();
        if self.lines > self.room {
            self.start_pager()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match (&mut self.pager, self.direct) {
            (Some(child), _) => child.stdin.as_mut().map_or(Ok(()), |stdin| stdin.flush()),
            (None, true) => io::stdout().lock().flush(),
            (None, false) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_no_pager() {
        assert!(!program_exists("etwq-no-such-pager-program"));
        assert!(!program_exists("/no/such/dir/less"));
    }

    #[test]
    fn output_that_fits_is_held_not_paged() {
        let mut paged = Paged::new(vec!["etwq-no-such-pager-program".into()], 3);
        paged.write_all(b"one\ntwo\nthree\n").unwrap();
        assert!(paged.pager.is_none() && !paged.direct);
        assert_eq!(paged.held, b"one\ntwo\nthree\n");
    }
}
