//! Joins over small in-memory tables: nesting, empty sides, nulls and left
//! joins by hand, and random tables against nested loops (both build sides
//! of the hash join, keys of mixed types, nested and overlapping intervals).
use columnar::{Column, DataTable, Value};
use etwq_query::{run_query, MemoryCatalog};
use proptest::prelude::*;
use std::sync::atomic::AtomicBool;

/// (key, ts, end) of a row; its id is its place.
type Row = (Option<u64>, Option<i64>, Option<i64>);
type Rows = Vec<Row>;

fn table(name: &str, rows: &Rows, signed_keys: bool) -> DataTable {
    let keys: Vec<u64> = rows.iter().map(|r| r.0.unwrap_or(0)).collect();
    let key_column =
        if signed_keys { Column::i64(keys.iter().map(|&k| k as i64).collect()) } else { Column::u64(keys.clone()) };
    let valid = |f: &dyn Fn(&Row) -> bool| rows.iter().map(f).collect::<Vec<_>>();
    DataTable::new(name)
        .with_column("id", "", Column::u64((0..rows.len() as u64).collect()))
        .and_then(|t| t.with_column("k", "", key_column.with_validity(valid(&|r| r.0.is_some()))))
        .and_then(|t| {
            t.with_column(
                "name",
                "",
                Column::strs(keys.iter().map(|k| format!("n{}", k % 4))).with_validity(valid(&|r| r.0.is_some())),
            )
        })
        .and_then(|t| {
            let ts = Column::timestamps(rows.iter().map(|r| r.1.unwrap_or(0)).collect());
            t.with_column("ts", "", ts.with_validity(valid(&|r| r.1.is_some())))
        })
        .and_then(|t| {
            let end = Column::timestamps(rows.iter().map(|r| r.2.unwrap_or(0)).collect());
            t.with_column("end_ts", "", end.with_validity(valid(&|r| r.2.is_some())))
        })
        .unwrap()
}

fn catalog(left: &Rows, right: &Rows) -> MemoryCatalog {
    let mut catalog = MemoryCatalog::new();
    catalog.add_table(table("lefts", left, false));
    // Signed keys on the right: u64 = i64 compares values.
    catalog.add_table(table("rights", right, true));
    catalog
}

/// (left id, right id or None) of each result row.
fn pairs(catalog: &MemoryCatalog, text: &str) -> Vec<(u64, Option<u64>)> {
    let result = run_query(text, catalog, &AtomicBool::new(false)).unwrap_or_else(|e| panic!("{text}\n{e}"));
    let id = |value: Value| match value {
        Value::U64(v) => Some(v),
        Value::Null => None,
        other => panic!("an id, not {other:?}"),
    };
    (0..result.row_count())
        .map(|i| {
            let row = result.row(i);
            (id(row[0].clone()).expect("left id"), id(row[1].clone()))
        })
        .collect()
}

/// A point, or an interval whose end is after its start, inside [s, e).
fn inside(start: i64, end: Option<i64>, s: i64, e: i64) -> bool {
    match end {
        Some(end) if end > start => s <= start && end <= e,
        _ => s <= start && start < e,
    }
}

fn nested_loops(
    left: &Rows,
    right: &Rows,
    matches: impl Fn(usize, usize) -> bool,
    keep_unmatched: bool,
) -> Vec<(u64, Option<u64>)> {
    let mut out = Vec::new();
    for l in 0..left.len() {
        let before = out.len();
        out.extend((0..right.len()).filter(|&r| matches(l, r)).map(|r| (l as u64, Some(r as u64))));
        if keep_unmatched && out.len() == before {
            out.push((l as u64, None));
        }
    }
    out
}

fn same_key(a: Option<u64>, b: Option<u64>) -> bool {
    a.is_some() && a == b
}

fn during_matches<'a>(left: &'a Rows, right: &'a Rows, keyed: bool) -> impl Fn(usize, usize) -> bool + 'a {
    move |l, r| {
        let (lk, ls, le) = left[l];
        let (rk, rs, re) = right[r];
        let (Some(ls), Some(rs), Some(re)) = (ls, rs, re) else { return false };
        (!keyed || same_key(lk, rk)) && inside(ls, le, rs, re)
    }
}

#[test]
fn nested_intervals_each_give_a_row_in_the_right_order() {
    // Three nested calls on key 1, one on key 2, one with no end (skipped).
    let right: Rows = vec![
        (Some(1), Some(0), Some(100)),
        (Some(1), Some(10), Some(50)),
        (Some(1), Some(20), Some(30)),
        (Some(2), Some(0), Some(100)),
        (Some(1), Some(0), None),
    ];
    let left: Rows = vec![
        (Some(1), Some(25), None),     // inside all three
        (Some(1), Some(30), None),     // [20, 30) is over at 30
        (Some(1), Some(20), Some(30)), // an interval that fits all three exactly
        (Some(1), Some(45), Some(60)), // sticks out of [10, 50)
        (Some(2), Some(99), None),
        (Some(1), None, Some(5)),        // no time: dropped
        (None, Some(25), None),          // no key: matches nothing
        (Some(1), Some(100), Some(100)), // a point at the end: outside
    ];
    let c = catalog(&left, &right);
    let got = pairs(&c, "lefts during rights as r on k select id, r.id");
    let want = vec![
        (0, Some(0)),
        (0, Some(1)),
        (0, Some(2)),
        (1, Some(0)),
        (1, Some(1)),
        (2, Some(0)),
        (2, Some(1)),
        (2, Some(2)),
        (3, Some(0)),
        (4, Some(3)),
    ];
    assert_eq!(got, want);
    // Without keys only time counts: key 2's interval holds key-1 rows too.
    let got = pairs(&c, "lefts during rights as r select id, r.id");
    assert_eq!(got.iter().filter(|p| p.0 == 0).count(), 4);
    assert!(got.contains(&(6, Some(3))));
}

#[test]
fn empty_sides_nulls_and_left_joins() {
    let left: Rows = vec![(Some(1), Some(0), None), (None, Some(1), None), (Some(3), Some(2), None)];
    let right: Rows = vec![(Some(3), Some(0), Some(9)), (None, Some(0), Some(9)), (Some(3), Some(1), Some(9))];
    let c = catalog(&left, &right);
    assert_eq!(pairs(&c, "lefts join rights as r on k = r.k select id, r.id"), vec![(2, Some(0)), (2, Some(2))]);
    assert_eq!(
        pairs(&c, "lefts left join rights as r on k = r.k select id, r.id"),
        vec![(0, None), (1, None), (2, Some(0)), (2, Some(2))]
    );
    // Empty right: a join keeps nothing, a left join every left row once.
    let c = catalog(&left, &Vec::new());
    assert!(pairs(&c, "lefts join rights as r on k = r.k select id, r.id").is_empty());
    assert!(pairs(&c, "lefts during rights as r on k select id, r.id").is_empty());
    assert_eq!(
        pairs(&c, "lefts left join rights as r on k = r.k select id, r.id"),
        vec![(0, None), (1, None), (2, None)]
    );
    // Empty left.
    let c = catalog(&Vec::new(), &right);
    assert!(pairs(&c, "lefts left join rights as r on k = r.k select id, r.id").is_empty());
    // A where before the join, and one after it on the joined column.
    let c = catalog(&left, &right);
    assert_eq!(
        pairs(&c, "lefts where id > 0 left join rights as r on k = r.k where r.id is null select id, r.id"),
        vec![(1, None)]
    );
}

#[test]
fn keys_of_mixed_types_compare_by_value() {
    let c = catalog(&vec![(Some(5), Some(0), None)], &vec![(Some(5), Some(0), None)]);
    // u64 against i64, a string key from two dictionaries, and an expression as a key.
    assert_eq!(pairs(&c, "lefts join rights as r on k = r.k select id, r.id"), vec![(0, Some(0))]);
    assert_eq!(pairs(&c, "lefts join rights as r on name = r.name select id, r.id"), vec![(0, Some(0))]);
    assert_eq!(
        pairs(&c, "lefts join rights as r on k + 1 = r.k + 1 and name = r.name select id, r.id"),
        vec![(0, Some(0))]
    );
    assert!(pairs(&c, "lefts join rights as r on k = r.k - 1 select id, r.id").is_empty());
    // A negative i64 equals no u64, even one with the same bits.
    let c = catalog(&vec![(Some(u64::MAX), Some(0), None)], &vec![(Some(u64::MAX), Some(0), None)]);
    assert!(pairs(&c, "lefts join rights as r on k = r.k select id, r.id").is_empty());
}

fn rows_strategy(max: usize) -> impl Strategy<Value = Rows> {
    let row = (
        prop::option::weighted(0.9, 0u64..6),
        prop::option::weighted(0.95, 0i64..60),
        prop::option::weighted(0.8, 0i64..40),
    )
        .prop_map(|(k, ts, len)| (k, ts, ts.and_then(|t| len.map(|l| t + l))));
    prop::collection::vec(row, 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn joins_agree_with_nested_loops(left in rows_strategy(60), right in rows_strategy(60)) {
        let c = catalog(&left, &right);
        let key = |l: usize, r: usize| same_key(left[l].0, right[r].0);
        prop_assert_eq!(pairs(&c, "lefts join rights as r on k = r.k select id, r.id"), nested_loops(&left, &right, key, false));
        prop_assert_eq!(pairs(&c, "lefts left join rights as r on r.k = k select id, r.id"), nested_loops(&left, &right, key, true));
        let two_keys = |l: usize, r: usize| key(l, r) && left[l].1.is_some() && left[l].1 == right[r].1;
        prop_assert_eq!(
            pairs(&c, "lefts join rights as r on k = r.k and ts = r.ts select id, r.id"),
            nested_loops(&left, &right, two_keys, false)
        );
        prop_assert_eq!(
            pairs(&c, "lefts during rights as r on k select id, r.id"),
            nested_loops(&left, &right, during_matches(&left, &right, true), false)
        );
        prop_assert_eq!(
            pairs(&c, "lefts during rights as r select id, r.id"),
            nested_loops(&left, &right, during_matches(&left, &right, false), false)
        );
    }
}
