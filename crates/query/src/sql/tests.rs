//! The translation's shape; tests/sql_duckdb.rs checks its answers against etwq's.
use super::*;
use crate::catalog::MemoryCatalog;
use columnar::{ColumnBuilder, ColumnType, DataTable};

fn catalog() -> MemoryCatalog {
    let mut catalog = MemoryCatalog::new();
    let table = |name: &str, columns: &[(&str, ColumnType)]| {
        let mut table = DataTable::new(name);
        for (column, ty) in columns {
            table.push_column(column, "", ColumnBuilder::new(*ty).finish()).unwrap();
        }
        table
    };
    use ColumnType::*;
    catalog.add_table(table(
        "syscalls",
        &[
            ("ts", Timestamp),
            ("duration_ns", Duration),
            ("tid", U64),
            ("proc", Str),
            ("func", Str),
            ("ret", Status),
            ("offset", U64),
        ],
    ));
    catalog.add_table(table("threads", &[("tid", U64), ("name", Str)]));
    catalog.add_table(table("events", &[("ts", Timestamp), ("fields", Fields)]));
    catalog.constants.insert("STATUS_ACCESS_DENIED".into(), 0xC000_0022);
    catalog.add_saved(SavedQuery {
        name: "by_proc".into(),
        params: vec!["p".into()],
        text: "syscalls where proc ~ $p group by func".into(),
    });
    catalog
}

use crate::catalog::SavedQuery;

fn duck(text: &str) -> String {
    translate(text, &catalog(), Dialect::DuckDb).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn spark(text: &str) -> String {
    translate(text, &catalog(), Dialect::Spark).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn error(text: &str) -> String {
    translate(text, &catalog(), Dialect::DuckDb).expect_err(text).to_string()
}

#[test]
fn a_bare_group_by_counts_under_the_keys_names() {
    assert_eq!(duck("syscalls group by proc"), "SELECT proc, count(*) AS count\nFROM syscalls\nGROUP BY proc");
}

#[test]
fn rows_list_etwq_columns_in_order_quoting_keywords() {
    assert_eq!(
        duck("syscalls limit 2"),
        "SELECT ts, duration_ns, tid, proc, func, ret, \"offset\"\nFROM syscalls\nLIMIT 2"
    );
    assert!(spark("syscalls limit 2").contains("`offset`"));
}

#[test]
fn statuses_durations_and_strings_become_sql_values() {
    let sql = duck("syscalls where ret = STATUS_ACCESS_DENIED and duration_ns > 10ms and func = \"it's\"");
    assert!(sql.contains(&format!("(ret = {})", 0xC000_0022u32)), "{sql}");
    assert!(sql.contains("(duration_ns > 10000000)"), "{sql}");
    assert!(sql.contains("(func = 'it''s')"), "{sql}");
    assert!(spark("syscalls where func = \"it's\"").contains(r"(func = 'it\'s')"));
}

#[test]
fn like_ignores_case_and_regex_does_not() {
    assert!(duck("syscalls where func like \"nt*file\"").contains("regexp_matches(func, '(?is)^nt.*file$')"));
    assert!(duck("syscalls where func ~ \"^Nt\"").contains("regexp_matches(func, '^Nt')"));
    assert!(spark("syscalls where func !~ \"\\\\d\"").contains(r"(NOT (func RLIKE '\\d'))"));
}

#[test]
fn aggregates_keep_etwq_names_and_nearest_rank_percentiles() {
    let sql = duck("syscalls select count(), p99(duration_ns), avg(duration_ns)");
    assert!(sql.contains("quantile_disc(duration_ns, 0.99) AS \"p99(duration_ns)\""), "{sql}");
    assert!(sql.contains("CAST(round(avg(duration_ns)) AS BIGINT) AS \"avg(duration_ns)\""), "{sql}");
    assert!(!sql.contains("GROUP BY"), "{sql}");
    assert!(
        spark("syscalls select p50(duration_ns)").contains("percentile_disc(0.50) WITHIN GROUP (ORDER BY duration_ns)")
    );
}

#[test]
fn top_orders_descending_with_nulls_last_and_limits() {
    let sql = duck("syscalls group by func | top 3");
    assert!(sql.ends_with("ORDER BY count DESC NULLS LAST\nLIMIT 3"), "{sql}");
}

#[test]
fn a_filter_after_grouping_reads_a_sub_query() {
    let sql = duck("syscalls group by func | where count > 2 | order by func");
    assert!(sql.contains(") AS t1\nWHERE (count > 2)\nORDER BY func ASC NULLS LAST"), "{sql}");
}

#[test]
fn saved_queries_expand_with_their_arguments() {
    assert!(duck("@by_proc(\"svc\")").contains("regexp_matches(proc, 'svc')"));
}

#[test]
fn fields_are_json_members_cast_by_what_they_meet() {
    let sql = duck("events where fields.Size > 10 and fields.Name = \"a\" select fields.Name");
    assert!(sql.contains("(TRY_CAST(json_extract_string(fields, '$.Size') AS DECIMAL(38,6)) > 10)"), "{sql}");
    assert!(sql.contains("(json_extract_string(fields, '$.Name') = 'a')"), "{sql}");
    assert!(spark("events select fields.Name").contains("get_json_object(fields, '$.Name') AS `fields.Name`"));
}

#[test]
fn integer_division_truncates_and_a_zero_divisor_is_null() {
    assert!(duck("syscalls select ts / 1s as s").contains("(ts // NULLIF(1000000000, 0)) AS s"));
    assert!(spark("syscalls select ts / 1s as s").contains("(ts DIV NULLIF(1000000000, 0)) AS s"));
}

#[test]
fn joins_name_the_other_sides_columns_by_alias() {
    let sql = duck("syscalls join threads as t on tid = t.tid select func, t.name");
    assert!(sql.contains("r.name AS \"t.name\""), "{sql}");
    assert!(sql.contains("JOIN threads AS r ON l.tid = r.tid") || sql.contains(") AS r ON l.tid = r.tid"), "{sql}");
}

#[test]
fn constructs_without_a_translation_are_errors_that_name_them() {
    assert!(error("syscalls | tree").contains("'| tree'"));
    assert!(error("syscalls during threads on tid").contains("'during'"));
    assert!(error("syscalls where nope = 1").contains("unknown column 'nope'"));
}
