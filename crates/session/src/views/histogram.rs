//! `| histogram COLUMN`: a duration column counted in the run-queue latency
//! buckets of LinuxKI's kiinfo (-kirunq), so the two can be read side by side.
use columnar::{ColumnBuilder, DataTable, Value};
use query::ast::Span;
use query::error::{ErrorKind, QueryError};

/// The upper bounds of kiinfo's buckets in microseconds; the last bucket holds the rest.
const BOUNDS_US: [i64; 10] = [5, 10, 20, 50, 100, 500, 1_000, 2_000, 10_000, 20_000];

/// "5 us", "1 ms".
fn bound_text(us: i64) -> String {
    if us >= 1_000 {
        format!("{} ms", us / 1_000)
    } else {
        format!("{us} us")
    }
}

/// The bucket of a duration: the first bound it is under (kiinfo counts a
/// time equal to a bound in the next bucket up).
fn bucket(ns: i64) -> usize {
    BOUNDS_US.iter().position(|&us| ns < us * 1_000).unwrap_or(BOUNDS_US.len())
}

/// Rows per bucket of `column`: bucket, count, percent, cumulative percent;
/// a last row counts the nulls, when there are any.
pub(crate) fn histogram(rows: &DataTable, column: &str, span: Span) -> Result<DataTable, QueryError> {
    let Some(values) = rows.column(column) else {
        let names = rows.column_names().join(", ");
        let message = format!("histogram: no column '{column}' in the result (it has {names})");
        return Err(QueryError::at(ErrorKind::UnknownName, message, span));
    };
    let mut counts = [0u64; BOUNDS_US.len() + 1];
    let mut nulls = 0u64;
    for row in 0..values.len() {
        match values.value(row) {
            Value::Duration(ns) => counts[bucket(ns)] += 1,
            Value::Null => nulls += 1,
            other => {
                let message =
                    format!("histogram: '{column}' holds {other}, not durations (try ready_ns or duration_ns)");
                return Err(QueryError::at(ErrorKind::Type, message, span));
            }
        }
    }
    let total: u64 = counts.iter().sum();
    let mut labels = Vec::new();
    for (i, _) in counts.iter().enumerate() {
        labels.push(match i {
            0 => format!("< {}", bound_text(BOUNDS_US[0])),
            i if i == BOUNDS_US.len() => format!(">= {}", bound_text(BOUNDS_US[i - 1])),
            i => format!("{} - {}", bound_text(BOUNDS_US[i - 1]), bound_text(BOUNDS_US[i])),
        });
    }
    let share =
        |n: u64| if total == 0 { Value::Null } else { Value::F64((n as f64 * 1e5 / total as f64).round() / 1e3) };
    let mut running = 0;
    let mut cells: [Vec<Value>; 4] = Default::default();
    for (label, &count) in labels.iter().zip(&counts) {
        running += count;
        let row = [Value::Str(label.as_str().into()), Value::U64(count), share(count), share(running)];
        for (cell, value) in cells.iter_mut().zip(row) {
            cell.push(value);
        }
    }
    if nulls > 0 {
        let row = [Value::Str("null".into()), Value::U64(nulls), Value::Null, Value::Null];
        for (cell, value) in cells.iter_mut().zip(row) {
            cell.push(value);
        }
    }
    let mut table = DataTable::new("histogram");
    // The bucket column's doc names what was counted: the title of the drawn histogram.
    let title = format!("{column} in kiinfo's buckets");
    let docs = [title.as_str(), "", "", ""];
    for ((name, doc), values) in ["bucket", "count", "percent", "cumulative"].into_iter().zip(docs).zip(cells) {
        let _ = table.push_column(name, doc, ColumnBuilder::infer(&values));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use columnar::Column;

    #[test]
    fn durations_fall_in_kiinfos_buckets() {
        assert_eq!(bucket(4_999), 0);
        assert_eq!(bucket(5_000), 1);
        assert_eq!(bucket(19_999_999), 9);
        assert_eq!(bucket(20_000_000), 10);
        let mut rows = DataTable::new("t");
        let column =
            Column::durations(vec![1_000, 7_000, 7_500, 30_000_000]).with_validity(vec![true, true, true, false]);
        rows.push_column("ready_ns", "", column).unwrap();
        let span = Span { start: 0, end: 1 };
        let table = histogram(&rows, "ready_ns", span).unwrap();
        assert_eq!(table.row_count(), 12);
        assert_eq!(table.row(0), [Value::Str("< 5 us".into()), Value::U64(1), Value::F64(33.333), Value::F64(33.333)]);
        assert_eq!(table.row(1)[..2], [Value::Str("5 us - 10 us".into()), Value::U64(2)]);
        assert_eq!(table.row(10)[..2], [Value::Str(">= 20 ms".into()), Value::U64(0)]);
        assert_eq!(table.row(10)[3], Value::F64(100.0));
        assert_eq!(table.row(11)[..2], [Value::Str("null".into()), Value::U64(1)]);
        assert_eq!(histogram(&rows, "nope", span).unwrap_err().kind, ErrorKind::UnknownName);
    }
}
