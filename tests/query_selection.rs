//! A filtered result shares the table's columns behind a selection of rows
//! instead of copying them. These tests check that everything done with such
//! a result after the filter (more filters, sorting, limits, grouping,
//! projections, rendering) gives the rows an independent computation over
//! the source rows gives, and that a table made of selections answers every
//! query exactly as its copied-out twin does.
#![allow(clippy::result_large_err)]
use columnar::{Column, DataTable};
use proptest::prelude::*;
use query::{run_query, MemoryCatalog};
use render::{Format, Table};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// num (nullable i64), cat (u64), tag (nullable string), dur (duration ns)
type Row = (Option<i64>, u64, Option<&'static str>, i64);

fn table(name: &str, rows: &[Row]) -> DataTable {
    let num = Column::i64(rows.iter().map(|r| r.0.unwrap_or(0)).collect())
        .with_validity(rows.iter().map(|r| r.0.is_some()).collect::<Vec<_>>());
    let tag = Column::strs(rows.iter().map(|r| r.2.unwrap_or("")))
        .with_validity(rows.iter().map(|r| r.2.is_some()).collect::<Vec<_>>());
    DataTable::new(name)
        .with_column("num", "", num)
        .and_then(|t| t.with_column("cat", "", Column::u64(rows.iter().map(|r| r.1).collect())))
        .and_then(|t| t.with_column("tag", "", tag))
        .and_then(|t| t.with_column("dur", "", Column::durations(rows.iter().map(|r| r.3).collect())))
        .expect("columns of one length")
}

fn catalog_of(tables: Vec<DataTable>) -> MemoryCatalog {
    let mut catalog = MemoryCatalog::new();
    for t in tables {
        catalog.add_table(t);
    }
    catalog
}

fn run(catalog: &MemoryCatalog, text: &str) -> DataTable {
    run_query(text, catalog, &AtomicBool::new(false)).unwrap_or_else(|e| panic!("{text}\n{e}"))
}

fn tsv(catalog: &MemoryCatalog, text: &str) -> String {
    Table::from(&run(catalog, text)).headerless().render(Format::Tsv)
}

/// Optional cells as TSV shows them: nulls are empty.
fn cell<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

fn line(cells: &[String]) -> String {
    cells.join("\t") + "\n"
}

fn whole_row(r: &Row) -> String {
    line(&[cell(r.0), r.1.to_string(), cell(r.2), r.3.to_string()])
}

fn above(rows: &[Row], threshold: i64) -> Vec<Row> {
    rows.iter().filter(|r| r.0.is_some_and(|n| n > threshold)).copied().collect()
}

fn any_rows() -> impl Strategy<Value = Vec<Row>> {
    let row = (
        prop::option::weighted(0.8, -5i64..5),
        0u64..4,
        prop::option::weighted(0.8, prop::sample::select(vec!["a", "b", "c"])),
        0i64..1_000,
    );
    prop::collection::vec(row, 0..40)
}

proptest! {
    #[test]
    fn a_filtered_result_reads_like_the_rows_it_kept(
        rows in any_rows(),
        threshold in -6i64..6,
        limit in 0usize..8,
    ) {
        let catalog = catalog_of(vec![table("t", &rows)]);
        let kept = above(&rows, threshold);
        let q = |rest: &str| format!("t where num > {threshold}{rest}");

        prop_assert_eq!(tsv(&catalog, &q("")), kept.iter().map(whole_row).collect::<String>());

        let tagged_b: String = kept.iter().filter(|r| r.2 == Some("b")).map(whole_row).collect();
        prop_assert_eq!(tsv(&catalog, &q(r#" | where tag = "b""#)), tagged_b);

        let mut sorted = kept.clone();
        sorted.sort_by(|a, b| b.3.cmp(&a.3).then(a.1.cmp(&b.1)));
        let top: String = sorted.iter().take(limit).map(whole_row).collect();
        prop_assert_eq!(tsv(&catalog, &q(&format!(" order by dur desc, cat limit {limit}"))), top);

        let projected: String =
            kept.iter().map(|r| line(&[cell(r.2), (r.3 * 2).to_string(), cell(r.0)])).collect();
        prop_assert_eq!(tsv(&catalog, &q(" select tag, dur * 2 as twice, num")), projected);

        // Groups come in the order of their first row.
        let mut groups: Vec<(Option<&str>, u64, i64)> = Vec::new();
        for r in &kept {
            match groups.iter_mut().find(|g| g.0 == r.2) {
                Some(g) => {
                    g.1 += 1;
                    g.2 += r.3;
                }
                None => groups.push((r.2, 1, r.3)),
            }
        }
        let grouped: String = groups.iter().map(|g| line(&[cell(g.0), g.1.to_string(), g.2.to_string()])).collect();
        prop_assert_eq!(tsv(&catalog, &q(" group by tag select count() as n, sum(dur) as total")), grouped);

        let few = kept.iter().filter(|r| r.1 < 2).count();
        prop_assert_eq!(tsv(&catalog, &q(" | where cat < 2 select count()")), format!("{few}\n"));

        // A filter over a sorted selection keeps the sort order.
        let mut by_dur = rows.clone();
        by_dur.sort_by_key(|r| r.3);
        let after_sort: String = above(&by_dur, threshold).iter().take(limit).map(whole_row).collect();
        prop_assert_eq!(tsv(&catalog, &format!("t order by dur | where num > {threshold} | limit {limit}")), after_sort);
    }

    /// A table whose columns are selections of another table's columns (as a
    /// filtered result is) answers like a table holding copies of those rows.
    #[test]
    fn a_table_of_selections_answers_like_its_copy(
        rows in any_rows(),
        picks in prop::collection::vec(0u32..45, 0..30),
        threshold in -6i64..6,
    ) {
        let source = table("t", &rows);
        let picks: Arc<[u32]> = Arc::from(picks);
        let mut selected = DataTable::new("selected");
        let mut copied = DataTable::new("copied");
        for c in &source.columns {
            selected.push_column(&c.name, &c.doc, c.column.select(&picks)).expect("same length");
            copied.push_column(&c.name, &c.doc, Column::from(c.column.gather(&picks))).expect("same length");
        }
        let catalog = catalog_of(vec![selected, copied]);
        let queries = [
            "",
            " where num > {k}",
            " where num > {k} | where tag ~ \"^[ab]\"",
            " where tag in (\"a\", \"c\") or num < {k}",
            " where num is null or cat = 1",
            " order by tag desc, dur",
            " where num != {k} order by num, cat desc limit 5",
            " group by tag, cat | order by tag, cat",
            " group by cat select count() as n, sum(dur), min(tag), max(num), p50(dur), dcount(tag) | order by cat",
            " where num > {k} select upper(tag) as t, num * cat as product, dur + 1 as later",
            " select count(), avg(num), first(tag), last(dur)",
            " limit 3 | where num > {k}",
        ];
        for rest in queries {
            let rest = rest.replace("{k}", &threshold.to_string());
            prop_assert_eq!(
                tsv(&catalog, &format!("selected{rest}")),
                tsv(&catalog, &format!("copied{rest}")),
                "query: ...{}", rest
            );
        }
    }
}

#[test]
fn a_filtered_result_shares_the_tables_values() {
    let rows: Vec<Row> = (0..100).map(|i| (Some(i % 7), (i % 3) as u64, Some("a"), i)).collect();
    let catalog = catalog_of(vec![table("t", &rows)]);
    let source = &catalog.tables["t"];
    let result = run(&catalog, "t where num > 3 | where cat != 1");
    assert_eq!(result.row_count(), above(&rows, 3).iter().filter(|r| r.1 != 1).count());
    for name in ["num", "cat", "tag", "dur"] {
        let (kept, original) = (result.column(name).unwrap(), source.column(name).unwrap());
        assert!(kept.shares_values_with(original), "column {name} was copied");
    }
    // A column computed by the query is copied out when the result keeps
    // only a little of it, so the result does not keep all of it in memory.
    let q = "t select dur * 2 as twice, tag | where twice < 10";
    assert_eq!(tsv(&catalog, q), "0\ta\n2\ta\n4\ta\n6\ta\n8\ta\n");
    let short = run(&catalog, q);
    assert_eq!(short.column("twice").unwrap().stored_len(), 5);
    assert!(short.column("tag").unwrap().shares_values_with(source.column("tag").unwrap()));
    let long = run(&catalog, "t select dur * 2 as twice | where twice >= 10");
    assert_eq!(long.column("twice").unwrap().stored_len(), 100);
}
