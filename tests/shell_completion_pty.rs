//! Tab completion in the shell end to end, in a real pseudo-terminal: tmux
//! runs `etwq --demo`, the test types part of a word, presses Tab and reads
//! the line back. `fields.` of the events, a quoted value of a column, an
//! NTSTATUS name, a view after `|`, and a listing of several candidates.
//! What each should complete to comes from the session's own answers to
//! queries (and its decoded events), not from the completer.
mod common;
use common::tmux::{last_table_rows, shell_quote, tmux_available, Tmux};
use session::{Session, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// The distinct texts of a query's first column.
fn queried(session: &mut Session, query: &str) -> BTreeSet<String> {
    let table = session.query(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    (0..table.row_count())
        .filter_map(|r| match table.row(r).into_iter().next() {
            Some(Value::Str(s)) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// A field of the demo's decoded events and the shortest lowercase prefix
/// that no other field name the session knows for events starts with.
fn field_with_unique_prefix(session: &mut Session) -> (String, String) {
    let all = session.query("events select fields").unwrap();
    let fields = all.column("fields").unwrap();
    let mut decoded = BTreeSet::new();
    for row in 0..all.row_count() {
        if let Value::Fields(map) = fields.value(row) {
            decoded.extend(map.iter().map(|(name, _)| name.to_string()));
        }
    }
    let known = session.completion_field_names("events");
    for name in &decoded {
        for len in 2..name.len() {
            let prefix = name[..len].to_lowercase();
            let matching = known.iter().filter(|k| k.to_lowercase().starts_with(&prefix)).count();
            if matching == 1 && name.is_char_boundary(len) {
                return (name.clone(), prefix);
            }
        }
    }
    panic!("no decoded field has a prefix of its own among {known:?}");
}

#[test]
fn tab_completes_fields_values_statuses_and_views() {
    if !tmux_available() {
        return;
    }
    let mut session = Session::demo();
    let (field, field_prefix) = field_with_unique_prefix(&mut session);
    let procs: Vec<String> =
        queried(&mut session, "syscalls group by proc").into_iter().filter(|p| p.starts_with("stra")).collect();
    assert_eq!(procs, vec!["strace.exe".to_string()], "the demo's planted process");
    let access_denied = session::status_text(0xC000_0022);

    let dir = tempfile::tempdir().expect("temp dir");
    // Empty config and data dirs: no user libraries or history leak in.
    let command = format!(
        "env ETWQ_HISTORY={history} ETWQ_ASCII=1 XDG_CONFIG_HOME={dir} XDG_DATA_HOME={dir} {etwq} --demo; \
         echo \"etwq exited with $?\"; sleep 60",
        history = shell_quote(&dir.path().join("history")),
        dir = shell_quote(dir.path()),
        etwq = shell_quote(Path::new(env!("CARGO_BIN_EXE_etwq"))),
    );
    let tmux = Tmux::start(&command);
    // Building the demo and its model takes a while in a debug build on a busy machine.
    tmux.wait_for("the prompt", Duration::from_secs(180), |s| s.lines().any(|l| l.starts_with("etwq demo>")));
    // The first Tab for a table builds it (the demo is small enough): allow for that.
    let step = Duration::from_secs(30);
    let shows_line = |line: String| move |s: &str| s.lines().any(|l| l.trim_end() == line);

    // fields. completes a field of the events, in its own spelling.
    tmux.type_text(&format!("events where fields.{field_prefix}"));
    tmux.press("Tab");
    let completed = format!("etwq demo> events where fields.{field}");
    tmux.wait_for(&format!("Tab to complete fields.{field}"), step, shows_line(completed));
    tmux.press("C-u");

    // Inside quotes after `proc =`: the process, with the closing quote; the query then runs.
    tmux.clear();
    tmux.type_text(r#"syscalls where proc = "stra"#);
    tmux.press("Tab");
    let completed = r#"etwq demo> syscalls where proc = "strace.exe""#.to_string();
    tmux.wait_for("Tab to complete \"strace.exe\"", step, shows_line(completed));
    tmux.type_text(" group by proc");
    tmux.press("Enter");
    tmux.wait_for("the completed query's result", step, |s| {
        last_table_rows(s).first().is_some_and(|r| r.first().is_some_and(|c| c == "strace.exe"))
    });

    // A STATUS_ name.
    tmux.clear();
    tmux.type_text("syscalls where ret = status_access_den");
    tmux.press("Tab");
    let completed = format!("etwq demo> syscalls where ret = {access_denied}");
    tmux.wait_for(&format!("Tab to complete {access_denied}"), step, shows_line(completed));
    tmux.press("C-u");

    // A view after `|`.
    tmux.clear();
    tmux.type_text("samples | tr");
    tmux.press("Tab");
    tmux.wait_for("Tab to complete the tree view", step, shows_line("etwq demo> samples | tree".into()));
    tmux.press("C-u");

    // Several candidates: a second Tab lists them, sorted.
    tmux.clear();
    tmux.type_text("samples | f");
    tmux.press("Tab");
    tmux.press("Tab");
    let listed = tmux.wait_for("Tab Tab to list flame and folded", step, |s| {
        s.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["flame", "folded"])
    });
    assert!(!listed.contains("histogram"), "{listed}");
    tmux.press("C-u");

    tmux.type_text(".quit");
    tmux.press("Enter");
    tmux.wait_for("etwq to exit", step, |s| s.contains("etwq exited with 0"));
}
