//! What symbol downloads did, for the person waiting: one line per file fetched from
//! a server and a total, handed to the session with its other symbol messages.
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The downloads since the last report. Shared by the threads that download at once.
#[derive(Default)]
pub struct DownloadReport {
    inner: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    lines: Vec<String>,
    files: usize,
    bytes: u64,
    missing: usize,
    /// When the first download of this report began and the last one ended: the wall
    /// time, which is less than the sum when downloads run at once.
    first: Option<Instant>,
    last: Option<Instant>,
}

impl DownloadReport {
    /// A file that came from a server and was taken: `what` says which and how
    /// (`crash.pdb`, `crash.pd_, unpacked`), `from` the server.
    pub fn file(&self, what: &str, from: &str, bytes: u64, started: Instant) {
        let mut tally = self.lock();
        let took = started.elapsed();
        tally.lines.push(format!("downloaded {what} ({} in {}) from {from}", size_text(bytes), seconds_text(took)));
        tally.files += 1;
        tally.bytes += bytes;
        tally.span(started);
    }

    /// A module no server had in any form.
    pub fn missing(&self, started: Instant) {
        let mut tally = self.lock();
        tally.missing += 1;
        tally.span(started);
    }

    /// The lines since the last call: one per file, then the total (none when nothing
    /// was downloaded or missing). `parallel`: how many modules are resolved at once.
    pub fn take_lines(&self, parallel: usize) -> Vec<String> {
        let tally = std::mem::take(&mut *self.lock());
        let mut lines = tally.lines;
        if tally.files + tally.missing == 0 {
            return lines;
        }
        let wall = match (tally.first, tally.last) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        };
        let mut total = format!(
            "symbol downloads: {} file{}, {} in {} (up to {parallel} at a time)",
            tally.files,
            if tally.files == 1 { "" } else { "s" },
            size_text(tally.bytes),
            seconds_text(wall)
        );
        if tally.missing > 0 {
            total.push_str(&format!("; {} not on any server", tally.missing));
        }
        lines.push(total);
        lines
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Tally {
    fn span(&mut self, started: Instant) {
        self.first = Some(self.first.map_or(started, |first| first.min(started)));
        self.last = Some(Instant::now());
    }
}

/// `512 bytes`, `3.4 KiB`, `12.0 MiB`, `1.5 GiB`.
pub fn size_text(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    }
}

fn seconds_text(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_file_then_a_total() {
        let report = DownloadReport::default();
        assert!(report.take_lines(4).is_empty());
        let started = Instant::now();
        report.file("a.pdb", "http://s", 2048, started);
        report.file("b.pd_, unpacked", "http://s", 100, started);
        report.missing(started);
        let lines = report.take_lines(4);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("downloaded a.pdb (2.0 KiB in "), "{lines:?}");
        assert!(lines[1].starts_with("downloaded b.pd_, unpacked (100 bytes in "), "{lines:?}");
        assert!(lines[2].starts_with("symbol downloads: 2 files, 2.1 KiB in "), "{lines:?}");
        assert!(lines[2].ends_with("(up to 4 at a time); 1 not on any server"), "{lines:?}");
        assert!(report.take_lines(4).is_empty(), "a report is given once");
        assert_eq!(size_text(3 << 20), "3.0 MiB");
    }
}
