//! `.copy`: text onto the system clipboard. The platform clipboard where one
//! answers; otherwise (over SSH, on a bare console) the OSC 52 terminal
//! sequence, which asks the terminal itself to set its clipboard.
use base64::Engine as _;
use std::io::Write;

/// How the text reached the clipboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopiedThrough {
    Platform,
    Osc52,
}

impl CopiedThrough {
    pub fn describe(self) -> &'static str {
        match self {
            CopiedThrough::Platform => "the system clipboard",
            CopiedThrough::Osc52 => "the terminal's clipboard (OSC 52)",
        }
    }
}

/// `ESC ] 52 ; c ; <base64 of the text> BEL`: set the clipboard ("c") to the text.
pub fn osc52_sequence(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text))
}

/// Writes the OSC 52 sequence to the terminal; with `ETWQ_OSC52_LOG=path` it is
/// also appended to that file, byte for byte (tests read it there, as no
/// screen capture shows an escape sequence the terminal swallowed).
pub fn copy_osc52(text: &str, terminal: &mut dyn Write) -> Result<(), String> {
    let sequence = osc52_sequence(text);
    terminal.write_all(sequence.as_bytes()).and_then(|()| terminal.flush()).map_err(|e| format!("terminal: {e}"))?;
    if let Some(log) = std::env::var_os("ETWQ_OSC52_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("{}: {e}", std::path::Path::new(&log).display()))?;
        file.write_all(sequence.as_bytes()).map_err(|e| format!("{}: {e}", std::path::Path::new(&log).display()))?;
    }
    Ok(())
}

/// The platform clipboard, kept for the whole session: on X11 the text is
/// served by this process, so dropping the handle would empty the clipboard.
#[derive(Default)]
pub struct Clipboard {
    platform: Option<arboard::Clipboard>,
    /// The platform clipboard failed once; do not retry (and wait) every time.
    platform_failed: bool,
}

impl Clipboard {
    /// Puts `text` on the clipboard. `ETWQ_CLIPBOARD=osc52` skips the platform
    /// clipboard; `ETWQ_CLIPBOARD=system` never falls back to OSC 52.
    pub fn copy(&mut self, text: &str) -> Result<CopiedThrough, String> {
        let choice = std::env::var("ETWQ_CLIPBOARD").unwrap_or_default();
        if choice != "osc52" {
            match self.copy_platform(text) {
                Ok(()) => return Ok(CopiedThrough::Platform),
                Err(e) if choice == "system" => return Err(format!("system clipboard: {e}")),
                Err(_) => {}
            }
        }
        copy_osc52(text, &mut std::io::stdout())?;
        Ok(CopiedThrough::Osc52)
    }

    fn copy_platform(&mut self, text: &str) -> Result<(), String> {
        if self.platform_failed {
            return Err("not available".into());
        }
        if self.platform.is_none() {
            match arboard::Clipboard::new() {
                Ok(clipboard) => self.platform = Some(clipboard),
                Err(e) => {
                    self.platform_failed = true;
                    return Err(e.to_string());
                }
            }
        }
        let Some(clipboard) = self.platform.as_mut() else { return Err("not available".into()) };
        clipboard.set_text(text.to_string()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_carries_the_text_in_base64() {
        assert_eq!(osc52_sequence("a\tb\n"), "\x1b]52;c;YQliCg==\x07");
        let mut terminal = Vec::new();
        copy_osc52("hi", &mut terminal).unwrap();
        assert_eq!(terminal, b"\x1b]52;c;aGk=\x07");
    }
}
