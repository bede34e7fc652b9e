//! A tmux server of our own for the shell's end-to-end tests: start etwq in
//! it, type, press keys and read the screen.
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed when the test ends.
pub struct Tmux {
    socket: String,
}

pub const TARGET: &str = "etwq-shell-test";

impl Tmux {
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux {args:?}: {e}"))
    }

    /// Starts a tmux server running `command`. A tmux server can die while starting
    /// ("server exited unexpectedly", seen once on a loaded CI machine): that is
    /// tmux, not etwq, so starting is tried again on a fresh socket.
    pub fn start(command: &str) -> Tmux {
        let mut failures = Vec::new();
        for attempt in 0..3 {
            let tmux = Tmux { socket: format!("etwq-test-{}-{attempt}", std::process::id()) };
            let out = tmux.run(&["new-session", "-d", "-s", TARGET, "-x", "120", "-y", "45", command]);
            if out.status.success() {
                return tmux;
            }
            failures.push(String::from_utf8_lossy(&out.stderr).trim().to_string());
            let _ = tmux.run(&["kill-server"]);
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("tmux new-session failed three times: {failures:?}");
    }

    /// Text typed as is.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", TARGET, "-l", text]);
    }

    /// Named keys: Enter, Tab, Up, C-u.
    pub fn press(&self, key: &str) {
        self.run(&["send-keys", "-t", TARGET, key]);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", TARGET]).stdout).into_owned()
    }

    /// Polls the screen until `done` holds; fails with the screen after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("waited {limit:?} for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn clear(&self) {
        self.run(&["clear-history", "-t", TARGET]);
        self.press("C-l");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Whether tmux runs here; CI (ETWQ_REQUIRE_TOOLS=1) must have it.
pub fn tmux_available() -> bool {
    let found = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    super::tool_available(found, "tmux", "the shell's end-to-end test")
}

pub fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The data rows of the last ASCII table on the screen, as cells.
pub fn last_table_rows(screen: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(header_rule) = lines.iter().rposition(|l| l.starts_with("+=")) else { return Vec::new() };
    lines[header_rule + 1..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}
