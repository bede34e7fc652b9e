//! `| chart MEASURE [by KEY] [every D] [top N]`: the result rows over time in
//! equal buckets, a series per key. The view only computes the buckets; render
//! draws them (terminal bars or an image), so `--format csv` gives the numbers.
use columnar::{Column, ColumnType, DataTable, Value};
use query::ast::{ChartSpec, Span};
use query::error::{ErrorKind, QueryError};
use std::collections::HashMap;

/// More buckets than any screen or image shows: a mistyped `every`.
const MAX_BUCKETS: usize = 100_000;
/// Keys with a series of their own when the query does not say `top N`.
pub(crate) const DEFAULT_TOP: u64 = 6;
/// The series that gathers the keys beyond the top N.
const OTHER: &str = render::chart::OTHER_KEY;

/// What the chart is drawn over: the traces' time and cores.
pub(crate) struct ChartFrame {
    /// The end of the longest open trace, in ns since its start.
    pub(crate) trace_end_ns: i64,
    /// The cores CPU is a share of.
    pub(crate) processors: u32,
    /// How many buckets fit when the query does not say `every`.
    pub(crate) columns: usize,
}

/// What each row adds to its bucket(s).
enum Measure<'a> {
    /// A sample: its weight at its time.
    SampleCpu(&'a Column),
    /// A running interval [ts, end_ts), split across the buckets it spans.
    RunningCpu(&'a Column),
    Count,
    /// A numeric column's value at the row's time.
    Sum(&'a Column, ColumnType),
}

fn error(kind: ErrorKind, message: String, span: Span) -> QueryError {
    QueryError::at(kind, format!("chart: {message}"), span)
}

/// The bucket width: the one asked for, else the smallest 1-2-2.5-5 step that
/// gives no more buckets than fit.
fn bucket_width(spec: &ChartSpec, span_ns: i64, columns: usize) -> i64 {
    if let Some(every) = spec.every_ns {
        return every;
    }
    let wanted = span_ns.max(1) as f64 / columns.max(1) as f64;
    let mut step: i64 = 1_000; // 1 us
    loop {
        // A span near the end of time (a hostile trace): any width that fits.
        if step > i64::MAX / 100 {
            return (wanted.ceil() as i64).max(1);
        }
        for tenths in [10, 20, 25, 50] {
            let width = step.saturating_mul(tenths) / 10;
            if width as f64 >= wanted {
                return width;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// The buckets of `rows` as a long table: a row per bucket and series
/// (`time`, the key column, then the value: `cpu_ns` and `cpu_percent`,
/// `count`, or the summed column), every bucket present, zeros included.
pub(crate) fn chart(
    rows: &DataTable,
    spec: &ChartSpec,
    frame: &ChartFrame,
    span: Span,
) -> Result<DataTable, QueryError> {
    let has = |name: &str| rows.column(name).is_some();
    let names = || rows.column_names().join(", ");
    let Some(ts) = rows.column("ts") else {
        let message = format!("the rows need a ts column to be put in time (they have {})", names());
        return Err(error(ErrorKind::UnknownName, message, span));
    };
    let measure = match spec.measure.to_ascii_lowercase().as_str() {
        "cpu" if has("end_ts") && has("cpu_ns") => Measure::RunningCpu(rows.column("end_ts").expect("checked")),
        "cpu" if has("weight_ns") => Measure::SampleCpu(rows.column("weight_ns").expect("checked")),
        "cpu" => {
            let message = "cpu needs samples (weight_ns) or cswitch rows (ts, end_ts) with their columns kept";
            return Err(error(ErrorKind::Type, message.into(), span));
        }
        "count" => Measure::Count,
        _ => {
            let Some(column) = rows.column(&spec.measure) else {
                let message = format!("no column '{}' in the result (it has {})", spec.measure, names());
                return Err(error(ErrorKind::UnknownName, message, span));
            };
            let kind = column.column_type();
            if !matches!(kind, ColumnType::I64 | ColumnType::U64 | ColumnType::F64 | ColumnType::Duration) {
                let message = format!(
                    "'{}' holds {} values, not numbers: chart cpu, count or a numeric column",
                    spec.measure,
                    kind.name()
                );
                return Err(error(ErrorKind::Type, message, span));
            }
            Measure::Sum(column, kind)
        }
    };
    let key_column = match &spec.by {
        Some(by) => match rows.column(by) {
            Some(column) => Some(column),
            None => {
                let message = format!("no column '{by}' to chart by (the result has {})", names());
                return Err(error(ErrorKind::UnknownName, message, span));
            }
        },
        None => None,
    };
    if rows.row_count() == 0 {
        return Err(error(ErrorKind::Type, "the query found no rows: nothing to draw".into(), span));
    }

    // The span: the trace's, stretched to any row (or running interval) beyond it.
    let mut end_ns = frame.trace_end_ns.max(1);
    let ends = match &measure {
        Measure::RunningCpu(end) => end,
        _ => ts,
    };
    for row in 0..rows.row_count() {
        if let Value::Timestamp(t) = ends.value(row) {
            end_ns = end_ns.max(t.saturating_add(1));
        }
    }
    let width = bucket_width(spec, end_ns, frame.columns);
    let buckets = usize::try_from(end_ns / width + i64::from(end_ns % width != 0)).unwrap_or(usize::MAX);
    if buckets > MAX_BUCKETS {
        let message = format!(
            "{buckets} buckets of {} are too many (at most {MAX_BUCKETS}): ask for a longer every",
            columnar::format_duration_ns(width)
        );
        return Err(error(ErrorKind::Type, message, span));
    }

    // Per key, the sum in each bucket.
    let mut key_index: HashMap<String, usize> = HashMap::new();
    let mut keys: Vec<String> = Vec::new();
    let mut sums: Vec<Vec<f64>> = Vec::new();
    for row in 0..rows.row_count() {
        let Value::Timestamp(start) = ts.value(row) else { continue };
        let start = start.max(0);
        let key = match key_column {
            Some(column) => match column.value(row) {
                Value::Null => "(null)".to_string(),
                Value::Str(s) => s.to_string(),
                other => other.to_string(),
            },
            None => "all".to_string(),
        };
        let index = *key_index.entry(key.clone()).or_insert_with(|| {
            keys.push(key);
            sums.push(vec![0.0; buckets]);
            keys.len() - 1
        });
        let series = &mut sums[index];
        let bucket_of = |t: i64| usize::try_from(t / width).unwrap_or(0).min(buckets - 1);
        match &measure {
            Measure::Count => series[bucket_of(start)] += 1.0,
            Measure::SampleCpu(weight) | Measure::Sum(weight, _) => {
                let value = match weight.value(row) {
                    Value::Duration(v) | Value::I64(v) => v as f64,
                    Value::U64(v) => v as f64,
                    Value::F64(v) => v,
                    _ => 0.0,
                };
                series[bucket_of(start)] += value;
            }
            Measure::RunningCpu(end) => {
                let Value::Timestamp(stop) = end.value(row) else { continue };
                let mut at = start;
                while at < stop {
                    let bucket = bucket_of(at);
                    let bucket_end = (bucket as i64 + 1).saturating_mul(width).max(at + 1);
                    let until = stop.min(bucket_end);
                    series[bucket] += (until - at) as f64;
                    at = until;
                }
            }
        }
    }

    // The top keys by total keep a series; the rest add up to "other".
    let mut order: Vec<usize> = (0..keys.len()).collect();
    let total = |i: usize| sums[i].iter().sum::<f64>();
    order.sort_by(|&a, &b| total(b).total_cmp(&total(a)).then_with(|| keys[a].cmp(&keys[b])));
    let top = usize::try_from(spec.top.unwrap_or(DEFAULT_TOP)).unwrap_or(usize::MAX);
    let mut series: Vec<(String, Vec<f64>)> = Vec::new();
    let mut other: Option<Vec<f64>> = None;
    for (rank, index) in order.into_iter().enumerate() {
        if rank < top || keys.len() == top + 1 {
            series.push((keys[index].clone(), std::mem::take(&mut sums[index])));
        } else {
            let gathered = other.get_or_insert_with(|| vec![0.0; buckets]);
            for (sum, value) in gathered.iter_mut().zip(&sums[index]) {
                *sum += value;
            }
        }
    }
    if let Some(other) = other {
        series.push((OTHER.to_string(), other));
    }

    let key_name = spec.by.as_deref().unwrap_or("series");
    let mut times = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    for bucket in 0..buckets {
        for (name, sums) in &series {
            times.push(bucket as i64 * width);
            names.push(name);
            values.push(sums[bucket]);
        }
    }
    let mut table = DataTable::new("chart");
    let push = |table: &mut DataTable, name: &str, doc: &str, column: Column| {
        table.push_column(name, doc, column).map_err(|e| error(ErrorKind::Type, e.to_string(), span))
    };
    push(&mut table, "time", "start of the bucket", Column::timestamps(times))?;
    push(&mut table, key_name, "the series", Column::strs(names))?;
    let bucket_ns = |bucket: usize| {
        let start = bucket as i64 * width;
        (start + width).min(end_ns.max(start + 1)) - start
    };
    match &measure {
        Measure::SampleCpu(_) | Measure::RunningCpu(_) => {
            let cores = f64::from(frame.processors.max(1));
            let percent: Vec<f64> = values
                .iter()
                .enumerate()
                .map(|(i, &ns)| ns * 100.0 / (bucket_ns(i / series.len()) as f64 * cores))
                .collect();
            let ns: Vec<i64> = values.iter().map(|&v| v.round() as i64).collect();
            push(&mut table, "cpu_ns", "CPU time in the bucket", Column::durations(ns))?;
            push(&mut table, "cpu_percent", "share of all cores in the bucket, in %", Column::f64(percent))?;
        }
        Measure::Count => {
            let counts = values.iter().map(|&v| v as u64).collect();
            push(&mut table, "count", "rows in the bucket", Column::u64(counts))?;
        }
        Measure::Sum(_, kind) => {
            let name = format!("sum_{}", spec.measure);
            let column = match kind {
                ColumnType::Duration => Column::durations(values.iter().map(|&v| v.round() as i64).collect()),
                ColumnType::I64 => Column::i64(values.iter().map(|&v| v.round() as i64).collect()),
                ColumnType::U64 => Column::u64(values.iter().map(|&v| v.round() as u64).collect()),
                _ => Column::f64(values),
            };
            push(&mut table, &name, "sum in the bucket", column)?;
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(measure: &str, every_ns: i64) -> ChartSpec {
        ChartSpec { measure: measure.into(), by: Some("proc".into()), every_ns: Some(every_ns), ..Default::default() }
    }

    #[test]
    fn running_time_is_split_across_buckets() {
        let rows = DataTable::new("cswitch")
            .with_column("ts", "", Column::timestamps(vec![50, 0]))
            .and_then(|t| t.with_column("end_ts", "", Column::timestamps(vec![250, 10])))
            .and_then(|t| t.with_column("cpu_ns", "", Column::durations(vec![200, 10])))
            .and_then(|t| t.with_column("proc", "", Column::strs(["a", "b"])))
            .unwrap();
        let frame = ChartFrame { trace_end_ns: 300, processors: 1, columns: 80 };
        let table = chart(&rows, &spec("cpu", 100), &frame, Span::default()).unwrap();
        let cpu: Vec<Value> = (0..table.row_count()).map(|r| table.row(r)[2].clone()).collect();
        // Buckets 0, 1, 2; series a then b in each.
        let ns = [50, 10, 100, 0, 50, 0].map(Value::Duration);
        assert_eq!(cpu, ns);
        assert_eq!(table.row(0)[3], Value::F64(50.0));
    }

    #[test]
    fn times_at_the_end_of_time_make_an_error_or_a_chart_not_a_panic() {
        let rows = DataTable::new("t")
            .with_column("ts", "", Column::timestamps(vec![-5, i64::MAX - 1, i64::MAX]))
            .and_then(|t| t.with_column("proc", "", Column::strs(["a", "b", "c"])))
            .unwrap();
        let frame = ChartFrame { trace_end_ns: i64::MAX, processors: 1, columns: 1 };
        let auto = ChartSpec { measure: "count".into(), ..Default::default() };
        assert_eq!(chart(&rows, &auto, &frame, Span::default()).unwrap().row_count(), 1);
        let fine = chart(&rows, &spec("count", 1_000), &frame, Span::default()).unwrap_err();
        assert!(fine.message.contains("too many"), "{fine}");
    }

    #[test]
    fn keys_beyond_the_top_are_other_and_bad_input_is_an_error() {
        let rows = DataTable::new("t")
            .with_column("ts", "", Column::timestamps(vec![0, 1, 2, 3]))
            .and_then(|t| t.with_column("proc", "", Column::strs(["a", "a", "b", "c"])))
            .unwrap();
        let frame = ChartFrame { trace_end_ns: 10, processors: 1, columns: 80 };
        let top = ChartSpec { top: Some(1), ..spec("count", 10) };
        let table = chart(&rows, &top, &frame, Span::default()).unwrap();
        assert_eq!(table.row(1), [Value::Timestamp(0), Value::Str("other".into()), Value::U64(2)]);
        assert_eq!(chart(&rows, &spec("proc", 10), &frame, Span::default()).unwrap_err().kind, ErrorKind::Type);
        assert_eq!(chart(&rows, &spec("cpu", 10), &frame, Span::default()).unwrap_err().kind, ErrorKind::Type);
        let by_nothing = ChartSpec { by: Some("nope".into()), ..spec("count", 10) };
        assert_eq!(chart(&rows, &by_nothing, &frame, Span::default()).unwrap_err().kind, ErrorKind::UnknownName);
    }
}
