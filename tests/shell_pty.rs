//! The shell end to end, in a real pseudo-terminal: tmux runs `etwq --demo`,
//! the test types into it and reads the screen. A query with a column
//! completed by Tab, history recalled with Up, multi-line input, and `.copy`
//! through OSC 52 (the sequence is also logged to ETWQ_OSC52_LOG, since no
//! screen capture shows a sequence the terminal consumed), `.save` with `@name`
//! completion, `.export`, and history recalled by the next session.
mod common;
use base64::Engine as _;
use common::tmux::{last_table_rows, shell_quote, tmux_available, Tmux};
use std::path::Path;
use std::time::Duration;

#[test]
fn shell_completes_recalls_and_copies() {
    if !tmux_available() {
        return;
    }
    let facts = demo::demo_facts();
    let dir = tempfile::tempdir().expect("temp dir");
    let history = dir.path().join("history");
    let osc52_log = dir.path().join("osc52.log");
    // Empty config and data dirs: no user libraries or history leak in.
    let command = format!(
        "env ETWQ_HISTORY={history} ETWQ_CLIPBOARD=osc52 ETWQ_OSC52_LOG={log} ETWQ_ASCII=1 \
         XDG_CONFIG_HOME={dir} XDG_DATA_HOME={dir} {etwq} --demo; echo \"etwq exited with $?\"; sleep 60",
        history = shell_quote(&history),
        log = shell_quote(&osc52_log),
        dir = shell_quote(dir.path()),
        etwq = shell_quote(Path::new(env!("CARGO_BIN_EXE_etwq"))),
    );
    let tmux = Tmux::start(&command);
    // Building the demo and its model takes a while in a debug build on a busy machine.
    tmux.wait_for("the prompt", Duration::from_secs(180), |s| s.lines().any(|l| l.starts_with("etwq demo>")));
    let step = Duration::from_secs(20);

    // Tab completes the column name.
    tmux.type_text(r#"syscalls where ret >= 0xC0000000 and proc ~ "strace" group by stat"#);
    tmux.press("Tab");
    let typed = r#"etwq demo> syscalls where ret >= 0xC0000000 and proc ~ "strace" group by status"#;
    tmux.wait_for("Tab to complete 'status'", step, |s| s.lines().any(|l| l.trim_end() == typed));
    tmux.press("Enter");
    let screen = tmux.wait_for("the result and the next prompt", step, |s| {
        s.lines().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_end() == "etwq demo>")
    });
    let rows = last_table_rows(&screen);
    let mut shown: Vec<(String, u64)> =
        rows.iter().map(|r| (r[0].clone(), r[1].replace(',', "").parse().expect("a count"))).collect();
    shown.sort();
    let mut planted: Vec<(String, u64)> =
        facts.strace_failures.iter().map(|f| (f.name.to_string(), f.count as u64)).collect();
    planted.sort();
    assert_eq!(shown, planted, "{screen}");
    // Counts are grouped by thousands on screen.
    assert!(screen.contains("1,179") || planted.iter().all(|(_, n)| *n < 1000), "{screen}");

    // Up recalls the query.
    tmux.press("Up");
    tmux.wait_for("Up to recall the query", step, |s| s.lines().filter(|l| l.trim_end() == typed).count() >= 2);
    tmux.press("C-u");

    // .copy sends the result as TSV through OSC 52.
    tmux.type_text(".copy");
    tmux.press("Enter");
    let confirmation = format!("copied {} rows as tsv", rows.len());
    tmux.wait_for(".copy to confirm", step, |s| s.contains(&confirmation));
    let logged = std::fs::read(&osc52_log).expect("the OSC 52 log");
    let logged = String::from_utf8(logged).expect("OSC 52 is ASCII");
    let encoded = logged
        .strip_prefix("\x1b]52;c;")
        .and_then(|rest| rest.strip_suffix('\x07'))
        .unwrap_or_else(|| panic!("not one OSC 52 sequence: {logged:?}"));
    let copied = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    let copied = String::from_utf8(copied).expect("utf-8");
    let mut expected = String::from("status\tcount\n");
    for row in &rows {
        expected.push_str(&format!("{}\t{}\n", row[0], row[1].replace(',', "")));
    }
    assert_eq!(copied, expected);

    // Enter inside an open parenthesis continues the input on the next line.
    tmux.clear();
    tmux.type_text(r#"syscalls where (ret != 0"#);
    tmux.press("Enter");
    tmux.type_text(r#"and proc ~ "strace") group by status select count() as n order by n desc limit 1"#);
    tmux.press("Enter");
    let top_status = facts.strace_failures.iter().max_by_key(|f| f.count).map(|f| f.name).unwrap_or_default();
    tmux.wait_for("the multi-line query's result", step, |s| {
        last_table_rows(s).first().is_some_and(|r| r.first().is_some_and(|c| c == top_status))
    });

    // .save keeps a query; Tab completes its @name; .export writes every row.
    tmux.clear();
    tmux.type_text(r#".save strace_errors = syscalls where ret >= 0xC0000000 and proc ~ "strace" group by status"#);
    tmux.press("Enter");
    tmux.wait_for(".save to confirm", step, |s| s.contains("saved @strace_errors"));
    tmux.type_text("@strace_er");
    tmux.press("Tab");
    tmux.wait_for("Tab to complete '@strace_errors'", step, |s| {
        s.lines().any(|l| l.trim_end() == "etwq demo> @strace_errors")
    });
    tmux.press("Enter");
    tmux.wait_for("the saved query's result", step, |s| last_table_rows(s).len() == planted.len());
    let export = dir.path().join("errors.csv");
    tmux.type_text(&format!(".export {}", export.display()));
    tmux.press("Enter");
    tmux.wait_for(".export to confirm", step, |s| s.contains(&format!("wrote {} rows as csv", planted.len())));
    let exported = std::fs::read_to_string(&export).expect("the exported file");
    let mut lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.remove(0), "status,count");
    let mut exported_rows: Vec<String> = lines.into_iter().map(str::to_string).collect();
    exported_rows.sort();
    let planted_rows: Vec<String> = planted.iter().map(|(name, n)| format!("{name},{n}")).collect();
    assert_eq!(exported_rows, planted_rows);

    // .quit leaves cleanly, and the history file kept the queries.
    tmux.type_text(".quit");
    tmux.press("Enter");
    tmux.wait_for("etwq to exit", step, |s| s.contains("etwq exited with 0"));
    let saved = std::fs::read_to_string(&history).expect("the history file");
    assert!(saved.contains(r#"group by status"#), "{saved}");
    assert!(saved.contains(".copy"), "{saved}");

    // The next session recalls this one's lines: Up gives .quit, then .export.
    drop(tmux);
    let tmux = Tmux::start(&command);
    tmux.wait_for("the second session's prompt", Duration::from_secs(180), |s| {
        s.lines().any(|l| l.starts_with("etwq demo>"))
    });
    tmux.press("Up");
    tmux.wait_for("Up to recall .quit", step, |s| s.lines().any(|l| l.trim_end() == "etwq demo> .quit"));
    tmux.press("Up");
    let export_line = format!("etwq demo> .export {}", export.display());
    tmux.wait_for("Up to recall .export", step, |s| s.lines().any(|l| l.trim_end() == export_line));
}
