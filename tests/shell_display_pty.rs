//! How the shell shows results, end to end in a real pseudo-terminal (tmux):
//! `.mode line` and `\G` a row at a time, a long result through the pager
//! (`less -S`; q returns to the prompt; `.pager off`: a screenful), `.read` of a file of two queries,
//! and a table wider than the terminal cut and trimmed rather than wrapped.
//! What the screen should hold comes from `etwq -c ... --format tsv`.
mod common;
use common::tmux::{last_table_rows, shell_quote, tmux_available, Tmux};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const ETWQ: &str = env!("CARGO_BIN_EXE_etwq");
/// The width of the test's terminal (Tmux::start makes it 120 x 45).
const SCREEN_WIDTH: usize = 120;

/// The rows of a query's result as tsv cells, the header first.
fn tsv_rows(query: &str) -> Vec<Vec<String>> {
    let out = Command::new(ETWQ).args(["--demo", "--format", "tsv", "-c", query]).output().expect("etwq runs");
    assert!(out.status.success(), "{query}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

/// A number as the table shows it: digits grouped by thousands.
fn grouped(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time in ns since the trace start (as tsv gives it) as the table shows it: seconds.
fn seconds(ns: &str) -> String {
    let ns: u64 = ns.parse().expect("a time in ns");
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

fn prompt_is_last(screen: &str) -> bool {
    screen.lines().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_end() == "etwq demo>")
}

#[test]
fn shell_shows_rows_vertically_pages_long_results_reads_files_and_fits_wide_tables() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("two.etwq");
    let processes = "processes select pid, name order by pid";
    let threads = "threads select tid, pid order by tid limit 3";
    std::fs::write(&script, format!("# two queries\n{processes}\n{threads}\n")).unwrap();
    // Empty config and data dirs: no user libraries or history leak in. The pager is
    // named, and LESS emptied, so the user's settings do not change what less does.
    let command = format!(
        "env ETWQ_HISTORY={history} ETWQ_ASCII=1 PAGER='less -S' LESS= \
         XDG_CONFIG_HOME={dir} XDG_DATA_HOME={dir} {etwq} --demo; echo \"etwq exited with $?\"; sleep 60",
        history = shell_quote(&dir.path().join("history")),
        dir = shell_quote(dir.path()),
        etwq = shell_quote(Path::new(ETWQ)),
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("the prompt", Duration::from_secs(180), |s| s.lines().any(|l| l.starts_with("etwq demo>")));
    let step = Duration::from_secs(30);
    let run = |line: &str| {
        tmux.clear();
        tmux.type_text(line);
        tmux.press("Enter");
    };

    // .mode line: a row at a time, each column on its line.
    let expected = tsv_rows("processes select pid, name order by pid limit 2");
    run(".mode line");
    run("processes select pid, name order by pid limit 2");
    let screen = tmux.wait_for(".mode line's rows", step, |s| s.contains("*** row 2 ***") && prompt_is_last(s));
    let lines: Vec<&str> = screen.lines().map(str::trim).collect();
    let first = lines.iter().position(|l| *l == "*** row 1 ***").expect("row 1");
    assert_eq!(lines[first + 1], format!("pid: {}", grouped(&expected[1][0])), "{screen}");
    assert_eq!(lines[first + 2], format!("name: {}", expected[1][1]), "{screen}");
    assert_eq!(lines[first + 3], "*** row 2 ***", "{screen}");
    assert_eq!(lines[first + 5], format!("name: {}", expected[2][1]), "{screen}");

    // Back to tables; \G after a query shows that one result a row at a time.
    run(".mode table");
    run("processes select pid, name order by pid limit 1\\G");
    let screen = tmux.wait_for("\\G's row", step, |s| s.contains("*** row 1 ***") && prompt_is_last(s));
    assert!(screen.lines().any(|l| l.trim() == format!("name: {}", expected[1][1])), "{screen}");
    assert!(last_table_rows(&screen).is_empty(), "no table: {screen}");

    // A result taller than the screen opens the pager; q returns to the prompt.
    let long = "syscalls select ts, func order by ts limit 200";
    let first_rows = tsv_rows(long);
    run(long);
    let screen = tmux.wait_for("less to show the result", step, |s| {
        s.lines().last().is_some_and(|l| l.trim_end() == ":") && s.contains("| ts ")
    });
    assert!(!screen.contains("etwq demo>"), "the pager holds the screen: {screen}");
    assert!(screen.contains(&format!("| {} ", seconds(&first_rows[1][0]))), "the first row: {screen}");
    // A page further, later rows.
    tmux.press("Space");
    tmux.wait_for("less to page on", step, |s| s.contains(&format!("| {} ", seconds(&first_rows[50][0]))));
    tmux.press("q");
    let screen = tmux.wait_for("the prompt after q", step, prompt_is_last);
    for noise in ["Broken pipe", "broken pipe", "error", "etwq:"] {
        assert!(!screen.contains(noise), "{noise}: {screen}");
    }
    // With the pager off, the same result is cut after a screenful.
    run(".pager off");
    run(long);
    let screen =
        tmux.wait_for("a screenful", step, |s| s.contains("more rows (.export FILE for all)") && prompt_is_last(s));
    let left_out = format!("… {} more rows", first_rows.len() - 1 - last_table_rows(&screen).len());
    assert!(screen.contains(&left_out), "{left_out}: {screen}");
    run(".pager on");
    // The shell still answers.
    run("processes select count() as n");
    tmux.wait_for("a query after the pager", step, |s| {
        last_table_rows(s).first().is_some_and(|r| r[0] == (tsv_rows(processes).len() - 1).to_string())
    });

    // .read runs both queries of the file.
    run(&format!(".read {}", script.display()));
    let screen = tmux.wait_for(".read's second result", step, |s| last_table_rows(s).len() == 3 && prompt_is_last(s));
    let shown: Vec<Vec<String>> = last_table_rows(&screen);
    let expected_threads: Vec<Vec<String>> =
        tsv_rows(threads)[1..].iter().map(|r| r.iter().map(|c| grouped(c)).collect()).collect();
    assert_eq!(shown, expected_threads, "{screen}");
    for process in &tsv_rows(processes)[1..] {
        let row = format!("| {:>5} | {:<12} |", grouped(&process[0]), process[1]);
        assert!(screen.contains(&row), "{row}: {screen}");
    }

    // A table wider than the terminal: long text cut with "...", each row one line.
    let all = tsv_rows("processes order by pid");
    run("processes order by pid");
    let screen =
        tmux.wait_for("the wide table", step, |s| last_table_rows(s).len() == all.len() - 1 && prompt_is_last(s));
    assert!(screen.lines().all(|l| l.chars().count() <= SCREEN_WIDTH), "{screen}");
    let shown = last_table_rows(&screen);
    let command_line = all[0].iter().position(|c| c == "command_line").expect("a command_line column");
    let mut cut = 0;
    for (row, expected) in shown.iter().zip(&all[1..]) {
        assert_eq!(row[0], grouped(&expected[0]), "pid whole: {screen}");
        assert_eq!(row[1], expected[1], "name whole: {screen}");
        match row[command_line].strip_suffix("...") {
            Some(start) => {
                assert!(expected[command_line].starts_with(start) && start.len() >= 8, "{start}: {screen}");
                cut += 1;
            }
            None => assert_eq!(row[command_line], expected[command_line]),
        }
    }
    assert!(cut > 0, "some command line is cut: {screen}");

    // Wider still: trailing columns are left out, and a line names them.
    let header = &tsv_rows("threads limit 1")[0];
    run("threads limit 3");
    let screen = tmux.wait_for("the trimmed table", step, |s| last_table_rows(s).len() == 3 && prompt_is_last(s));
    assert!(screen.lines().all(|l| l.chars().count() <= SCREEN_WIDTH), "{screen}");
    let shown_columns = last_table_rows(&screen)[0].len();
    assert!(shown_columns < header.len(), "{screen}");
    let left_out = &header[shown_columns..];
    let note = format!("({} more columns: {}", left_out.len(), left_out.join(", "));
    assert!(
        screen.lines().any(|l| l.starts_with(&note) && l.ends_with(".mode line shows every column)")),
        "{note}: {screen}"
    );

    run(".quit");
    tmux.wait_for("etwq to exit", step, |s| s.contains("etwq exited with 0"));
}
