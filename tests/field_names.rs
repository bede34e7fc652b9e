//! `fields.X` on a real trace: names match without regard to case, as
//! PerfView's do, and a name no event has is an error that says which one
//! was meant, not a column of nulls.
mod common;
use session::{ErrorKind, Session, Value};
use std::collections::BTreeSet;

#[test]
fn field_names_are_checked_and_match_without_regard_to_case() {
    let Some(corpus) = common::corpus_dir() else { return };
    let mut session = Session::open(&corpus.join("perfview/net.4.5.2.x64.etl")).unwrap();
    let column = |session: &mut Session, query: &str| -> Vec<Value> {
        let table = session.query(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        (0..table.row_count()).map(|r| table.row(r)[0].clone()).collect()
    };
    let exact = column(&mut session, "events where event = \"Image/Load\" select fields.FileName");
    assert!(exact.iter().all(|v| matches!(v, Value::Str(_))), "every image load names its file");
    assert_eq!(column(&mut session, "events where event = \"Image/Load\" select fields.filename"), exact);
    assert_eq!(column(&mut session, "events where event = \"Image/Load\" select fields.FILENAME"), exact);

    let e = session.query("events select fields.FileNam").unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownName);
    assert_eq!(e.suggestion.as_deref(), Some("FileName"));
    assert!(e.to_string().contains("unknown field 'FileNam'"), "{e}");
}

/// Every field an event of a corpus trace has is known: the names of every
/// decoded map, on every trace.
#[test]
fn every_field_of_every_corpus_trace_is_known() {
    let Some(corpus) = common::corpus_dir() else { return };
    let mut checked = 0;
    for path in common::corpus_traces(&corpus) {
        let mut session = Session::open(&path).unwrap();
        let all = session.query("events select fields").unwrap();
        let fields = all.column("fields").unwrap();
        let mut names = BTreeSet::new();
        for row in 0..all.row_count() {
            if let Value::Fields(map) = fields.value(row) {
                names.extend(map.iter().map(|(name, _)| name.to_string()));
            }
        }
        for name in names.iter().filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
            let query = format!("events select fields.{name} limit 1");
            session.query(&query).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} names checked");
}
