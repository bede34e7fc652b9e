//! What Tab asks of a session while a line is typed: the table a query reads,
//! the field names of its events, the distinct values of a text column, the
//! functions and modules of the stack frames, the NTSTATUS names.
//!
//! Tab must answer at once: it cannot show progress, and Ctrl-C at the prompt
//! is a key, not a signal, so nothing could stop a long build. So what Tab reads
//! comes from a table already built, or from one built now only when that is
//! cheap: a small trace (see `CHEAP_RECORDS`) and no symbol server to wait for.
//! Otherwise Tab offers nothing, and the first query that reads the table
//! builds it (with progress and Ctrl-C), after which Tab has its values.
use crate::session::Session;
use crate::value_cache::sort_names;
use model::tables::{NAME_FUNCTIONS, NEED_FRAME_NAMES};
use progress::Progress;
use query::catalog::Catalog;
use std::sync::Arc;

/// The most records (of every trace together) for which Tab builds a table
/// no query has read yet. Through this API, once the model is built, the
/// slowest such build is the events table for `fields.`: 0.28 s for the
/// demo's 494,511 records, 0.38 s for net.4.5.2.x64.etl's 179,474 (more
/// kinds of events to decode); every frame named for `| butterfly`, 0.15 s.
/// About the longest a Tab may keep the user waiting, once per table.
pub const CHEAP_RECORDS: usize = 500_000;

/// How deep `@a` calling `@b` calling ... is followed to find a query's table.
const MAX_SAVED_DEPTH: usize = 8;

impl Session {
    /// The table a query reads, from its first word: a table name, or the table
    /// of the saved query `@name` it starts with (followed through saved
    /// queries that call others). None while the first word names neither.
    pub fn source_table(&self, query: &str) -> Option<String> {
        let mut text = query.to_string();
        for _ in 0..MAX_SAVED_DEPTH {
            let first = first_word(&text);
            if let Some(name) = first.strip_prefix('@') {
                text = self.catalog.saved_query(name)?.text.clone();
                continue;
            }
            return model::schema::table(first).map(|t| t.name.to_string());
        }
        None
    }

    /// The names `fields.X` may take in `table`, sorted: the fields its events
    /// have. Empty for a table without field maps, and while the table is not
    /// built and too costly to build for Tab (see the module's doc).
    pub fn completion_field_names(&mut self, table: &str) -> Vec<String> {
        if self.catalog.field_names(table).is_none() && self.may_build_for_tab(table) {
            let _ = self.ensure_table(table, &Progress::new());
        }
        let mut names = self.catalog.field_names(table).map(<[String]>::to_vec).unwrap_or_default();
        sort_names(&mut names);
        names
    }

    /// The distinct values of a text column, sorted without regard to case, at
    /// most `MAX_VALUES`; found once per table and column. A column of frame
    /// lists (`|a.dll|b.sys|` in stacks) gives the names in the lists. Empty for
    /// a column that is not text, or while the table is not built and too
    /// costly to build for Tab (see the module's doc).
    pub fn completion_values(&mut self, table: &str, column: &str) -> Arc<[String]> {
        if let Some(values) = self.completion_cache.get(table, column) {
            return values;
        }
        if !self.catalog.tables.contains_key(table) && self.may_build_for_tab(table) {
            let _ = self.ensure_table(table, &Progress::new());
        }
        let Some(found) = self.catalog.tables.get(table).and_then(|t| t.column(column)) else {
            return Arc::from(Vec::new());
        };
        // A deferred column nothing has read yet (function names, say) is made
        // when first read: that is a build too.
        if !found.is_made() && !self.may_make_column_for_tab(table, column) {
            return Arc::from(Vec::new());
        }
        let found = found.clone();
        self.completion_cache.keep(table, column, &found)
    }

    /// The functions and modules of the trace's stack frames, sorted: what
    /// `| butterfly NAME` looks for.
    pub fn completion_frame_names(&mut self) -> Vec<String> {
        let mut names: Vec<String> = self.completion_values("frames", "func").to_vec();
        names.extend(self.completion_values("frames", "module").iter().cloned());
        sort_names(&mut names);
        names
    }

    /// The named constants a query may write, sorted: the NTSTATUS names (`STATUS_ACCESS_DENIED`).
    pub fn constant_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.catalog.constant_names().into_iter().map(str::to_string).collect();
        names.sort();
        names
    }

    /// Whether Tab may build `table` now: a small trace, and no symbol server
    /// to wait for when the table names every frame as it is built.
    fn may_build_for_tab(&self, table: &str) -> bool {
        model::schema::table(table).is_some()
            && self.is_cheap_for_tab()
            && !(NEED_FRAME_NAMES.contains(&table) && self.stack_state.may_download())
    }

    /// Whether Tab may make a deferred column of a built table: a small trace,
    /// and no symbol server to wait for when the column is `func`, the one
    /// that looks functions up when first read (`model::tables::later_functions`).
    fn may_make_column_for_tab(&self, table: &str, column: &str) -> bool {
        let names_functions = column == "func" && NAME_FUNCTIONS.contains(&table);
        self.is_cheap_for_tab() && !(names_functions && self.stack_state.may_download())
    }

    fn is_cheap_for_tab(&self) -> bool {
        self.traces.iter().map(|t| t.trace.record_count()).sum::<usize>() <= CHEAP_RECORDS
    }
}

/// The first word of a query: its table or `@saved` name.
fn first_word(text: &str) -> &str {
    let text = text.trim_start();
    let end = text.char_indices().find(|&(i, c)| !(c.is_alphanumeric() || c == '_' || (c == '@' && i == 0)));
    &text[..end.map_or(text.len(), |(i, _)| i)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use columnar::Value;
    use std::collections::BTreeSet;

    /// The distinct non-null texts of a query's first column, as the query engine sees them.
    fn queried(session: &mut Session, query: &str) -> BTreeSet<String> {
        let table = session.query(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        (0..table.row_count())
            .filter_map(|r| match table.row(r).into_iter().next() {
                Some(Value::Str(s)) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn source_table_follows_saved_queries() {
        let mut session = Session::demo();
        assert_eq!(session.source_table("syscalls where ret != 0").as_deref(), Some("syscalls"));
        assert_eq!(session.source_table("  samples|tree").as_deref(), Some("samples"));
        assert_eq!(session.source_table("nosuch where x"), None);
        assert_eq!(session.source_table(""), None);
        session.save_query("mine = cswitch where ready_ns > 0").unwrap();
        session.save_query("again = @mine | limit 3").unwrap();
        assert_eq!(session.source_table("@again where tid = 1").as_deref(), Some("cswitch"));
        assert_eq!(session.source_table("@missing"), None);
        session.save_query("loop = @loop").unwrap();
        assert_eq!(session.source_table("@loop"), None);
    }

    #[test]
    fn values_are_the_distinct_texts_of_the_column_sorted() {
        let mut session = Session::demo();
        let values = session.completion_values("syscalls", "proc");
        let expected = queried(&mut session, "syscalls group by proc");
        assert_eq!(values.iter().cloned().collect::<BTreeSet<_>>(), expected);
        let mut sorted = values.to_vec();
        sort_names(&mut sorted);
        assert_eq!(values.to_vec(), sorted);
        // Asked again, the same list, from the cache.
        assert!(Arc::ptr_eq(&values, &session.completion_values("syscalls", "proc")));
        assert!(session.completion_values("syscalls", "ret").is_empty(), "not a text column");
        assert!(session.completion_values("syscalls", "nosuch").is_empty());
        assert!(session.completion_values("nosuch", "proc").is_empty());
    }

    #[test]
    fn frame_lists_give_each_name() {
        let mut session = Session::demo();
        let modules = session.completion_values("stacks", "module");
        let expected = queried(&mut session, "frames where module is not null group by module");
        assert_eq!(modules.iter().cloned().collect::<BTreeSet<_>>(), expected);
        assert!(modules.iter().all(|m| !m.contains('|')));
    }

    #[test]
    fn frame_names_are_the_functions_and_modules_of_the_frames() {
        let mut session = Session::demo();
        let names: BTreeSet<String> = session.completion_frame_names().into_iter().collect();
        let mut expected = queried(&mut session, "frames where func is not null group by func");
        expected.extend(queried(&mut session, "frames where module is not null group by module"));
        assert_eq!(names, expected);
    }

    #[test]
    fn field_names_are_those_the_events_have() {
        let mut session = Session::demo();
        let names = session.completion_field_names("events");
        assert!(!names.is_empty());
        // Every field a decoded event has is offered ...
        let all = session.query("events select fields").unwrap();
        let fields = all.column("fields").unwrap();
        let mut seen = BTreeSet::new();
        for row in 0..all.row_count() {
            if let Value::Fields(map) = fields.value(row) {
                seen.extend(map.iter().map(|(name, _)| name.to_string()));
            }
        }
        let offered: BTreeSet<String> = names.iter().cloned().collect();
        assert!(seen.is_subset(&offered), "{:?}", seen.difference(&offered).collect::<Vec<_>>());
        // ... and every name offered is one a query accepts.
        for name in &names {
            let query = format!("events where false select fields.{name}");
            session.query(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
        }
        assert!(session.completion_field_names("syscalls").is_empty());
    }

    #[test]
    fn tab_builds_nothing_for_a_big_trace_but_reads_what_a_query_built() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<std::path::PathBuf> = (0..2).map(|i| dir.path().join(format!("demo{i}.etl"))).collect();
        for path in &paths {
            std::fs::write(path, demo::demo_trace_bytes()).unwrap();
        }
        let mut session = Session::open_all(&paths).unwrap();
        let records: usize = session.traces.iter().map(|t| t.trace.record_count()).sum();
        assert!(records > CHEAP_RECORDS, "two demos, {records} records");
        assert!(session.completion_values("syscalls", "proc").is_empty());
        assert!(session.completion_field_names("events").is_empty());
        assert!(session.catalog.tables.is_empty(), "Tab built no table");
        // A query reads the table and its column: Tab finds them.
        let expected = queried(&mut session, "syscalls group by proc");
        let values = session.completion_values("syscalls", "proc");
        assert_eq!(values.iter().cloned().collect::<BTreeSet<_>>(), expected);
    }

    #[test]
    fn tab_never_waits_on_a_symbol_server() {
        let mut session = Session::demo();
        // Nothing listens on the discard port: a lookup would fail, after a wait.
        session.set_symbol_path("srv*http://127.0.0.1:9/symbols");
        assert!(session.completion_frame_names().is_empty(), "frames would name every frame");
        assert!(session.completion_values("syscalls", "func").is_empty(), "func looks names up");
        assert!(!session.catalog.tables.contains_key("frames"));
        let expected = queried(&mut session, "syscalls group by proc");
        let values = session.completion_values("syscalls", "proc");
        assert_eq!(values.iter().cloned().collect::<BTreeSet<_>>(), expected, "proc needs no symbols");
    }

    #[test]
    fn constants_are_the_status_names() {
        let names = Session::demo().constant_names();
        let mut session = Session::demo();
        for name in names.iter().filter(|n| n.starts_with("STATUS_")).take(50) {
            session.query(&format!("syscalls where ret = {name} | limit 1")).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(names.iter().any(|n| n == "STATUS_ACCESS_DENIED"));
        assert!(names.windows(2).all(|w| w[0] < w[1]));
    }
}
