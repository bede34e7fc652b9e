//! Progress on stderr while something long runs (reading a trace, building
//! its model): a bar for a stage that is counted, a spinner for one that is
//! not. Drawn only when stderr is a terminal, so logs and pipes stay clean;
//! plain ASCII without colour under NO_COLOR or ETWQ_ASCII.
use indicatif::{ProgressBar, ProgressStyle};
use session::{Progress, Stage, Total};
use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How often the bar catches up with the count (and the spinner turns).
const REFRESH: Duration = Duration::from_millis(100);

/// Runs `work` with a spinner saying `message`, then clears the spinner.
pub fn with_spinner<T>(message: &str, work: impl FnOnce() -> T) -> T {
    with_progress(|progress| {
        progress.start(message, Total::Uncounted);
        work()
    })
}

/// Runs `work`, drawing the stages it reports in its `Progress` until it
/// returns; then clears the line.
pub fn with_progress<T>(work: impl FnOnce(&Progress) -> T) -> T {
    let progress = Progress::new();
    if !std::io::stderr().is_terminal() {
        return work(&progress);
    }
    let look = Look::from_env();
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(REFRESH);
    let result = std::thread::scope(|scope| {
        let (finished, wait) = mpsc::channel::<()>();
        let (progress, bar) = (&progress, &bar);
        scope.spawn(move || follow(progress, bar, look, wait));
        let result = work(progress);
        // Hanging up ends the drawer; the scope waits for it.
        drop(finished);
        result
    });
    bar.finish_and_clear();
    result
}

/// How the bar may draw itself on this terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Look {
    /// ASCII characters and no colour.
    plain: bool,
}

impl Look {
    fn from_env() -> Look {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        Look { plain: set("NO_COLOR") || set("ETWQ_ASCII") }
    }
}

/// Redraws `bar` from `progress` every REFRESH until `finished` hangs up.
fn follow(progress: &Progress, bar: &ProgressBar, look: Look, finished: mpsc::Receiver<()>) {
    let mut shown: Option<(Stage, Total)> = None;
    loop {
        let (stage, done) = progress.snapshot();
        let drawn = drawn_total(stage.total, done);
        if shown.as_ref() != Some(&(stage.clone(), drawn)) {
            bar.set_style(style(drawn, look));
            match drawn {
                Total::Bytes(n) | Total::Records(n) => bar.set_length(n),
                Total::Uncounted => bar.unset_length(),
            }
            bar.set_message(stage.what.clone());
            shown = Some((stage, drawn));
        }
        bar.set_position(done);
        if finished.recv_timeout(REFRESH) != Err(RecvTimeoutError::Timeout) {
            return;
        }
    }
}

/// How a stage is drawn: a bar while its count runs, a spinner once the
/// count is complete but the stage goes on (a full bar would look stuck).
fn drawn_total(total: Total, done: u64) -> Total {
    match total {
        Total::Bytes(n) | Total::Records(n) if done >= n => Total::Uncounted,
        counted => counted,
    }
}

fn template(total: Total, look: Look) -> &'static str {
    match (total, look.plain) {
        (Total::Uncounted, _) => "{spinner} {msg} {elapsed}",
        (Total::Bytes(_), true) => "{msg} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {elapsed}",
        (Total::Bytes(_), false) => "{msg} {bar:30.cyan/blue} {percent:>3}% {bytes}/{total_bytes} {elapsed}",
        (Total::Records(_), true) => "{msg} [{bar:30}] {percent:>3}% {human_pos}/{human_len} records {elapsed}",
        (Total::Records(_), false) => {
            "{msg} {bar:30.cyan/blue} {percent:>3}% {human_pos}/{human_len} records {elapsed}"
        }
    }
}

fn style(total: Total, look: Look) -> ProgressStyle {
    let fallback = || match total {
        Total::Uncounted => ProgressStyle::default_spinner(),
        _ => ProgressStyle::default_bar(),
    };
    let style = ProgressStyle::with_template(template(total, look)).unwrap_or_else(|_| fallback());
    if look.plain {
        style.progress_chars("=> ").tick_chars("|/-\\ ")
    } else {
        style
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOTALS: [Total; 3] = [Total::Uncounted, Total::Bytes(10), Total::Records(10)];

    #[test]
    fn a_complete_count_whose_stage_goes_on_spins() {
        assert_eq!(drawn_total(Total::Records(10), 9), Total::Records(10));
        assert_eq!(drawn_total(Total::Records(10), 10), Total::Uncounted);
        assert_eq!(drawn_total(Total::Bytes(10), 11), Total::Uncounted);
        assert_eq!(drawn_total(Total::Uncounted, 0), Total::Uncounted);
    }

    #[test]
    fn every_template_parses() {
        for total in TOTALS {
            for plain in [false, true] {
                let t = template(total, Look { plain });
                assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
            }
        }
    }

    #[test]
    fn plain_look_has_no_colour_and_counted_stages_show_how_far() {
        for total in TOTALS {
            let t = template(total, Look { plain: true });
            assert!(!t.contains('.'), "colour in {t}");
        }
        for total in [Total::Bytes(10), Total::Records(10)] {
            for plain in [false, true] {
                let t = template(total, Look { plain });
                assert!(t.contains("{bar") && t.contains("{percent"), "{t}");
            }
        }
        assert!(template(Total::Records(1), Look { plain: true }).contains("records"));
        assert!(template(Total::Bytes(1), Look { plain: true }).contains("{total_bytes}"));
    }
}
