//! Charts of the tables `| chart` and `| histogram` return: stacked bars over
//! time, a series per key, and a histogram's buckets as bars. The session
//! computes the numbers; this module only reads them back from the table and
//! draws them, in the terminal (`terminal.rs`) or as an SVG or PNG image
//! (`image.rs`, by plotters).
use columnar::{ColumnType, DataTable, Value};

mod image;
mod terminal;

pub use image::{svg, write_image};
pub use terminal::write_terminal;

/// The series that gathers the keys beyond a chart's top N (grey in the drawings).
pub const OTHER_KEY: &str = "other";
/// The width charts fit when the terminal's is not known.
pub const DEFAULT_WIDTH: usize = 100;
/// Columns left of the plot: the value axis and its labels.
const AXIS_WIDTH: usize = 8;

/// How many time buckets fit beside the axis in `width` columns.
pub fn plot_columns(width: usize) -> usize {
    width.saturating_sub(AXIS_WIDTH + 1).max(10)
}

/// What a value means, for axis labels and the legend.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    /// % of all cores.
    Percent,
    /// Nanoseconds, shown in ms.
    Nanoseconds,
    Number,
}

/// A `| chart` table read back: buckets of equal width, a series per key.
#[derive(Debug)]
struct Series {
    title: String,
    unit: Unit,
    /// Each bucket's start, in ns since the trace start.
    starts: Vec<i64>,
    width_ns: i64,
    keys: Vec<String>,
    /// `values[key][bucket]`.
    values: Vec<Vec<f64>>,
}

/// A `| histogram` table read back: a bar per bucket.
#[derive(Debug)]
struct Bars {
    title: String,
    labels: Vec<String>,
    counts: Vec<f64>,
}

#[derive(Debug)]
enum Drawing {
    Series(Series),
    Bars(Bars),
}

/// Whether `table` is one that charts draw: a `| chart` or `| histogram` result.
pub fn is_chart(table: &DataTable) -> bool {
    Drawing::of(table).is_some()
}

fn number(value: &Value) -> f64 {
    match value {
        Value::I64(v) | Value::Duration(v) | Value::Timestamp(v) => *v as f64,
        Value::U64(v) => *v as f64,
        Value::F64(v) => *v,
        _ => 0.0,
    }
}

impl Drawing {
    fn of(table: &DataTable) -> Option<Drawing> {
        match table.name.as_str() {
            "chart" => Series::of(table).map(Drawing::Series),
            "histogram" => Bars::of(table).map(Drawing::Bars),
            _ => None,
        }
    }
}

impl Series {
    /// The long form: `time`, the key, ..., the value last.
    fn of(table: &DataTable) -> Option<Series> {
        let columns = &table.columns;
        if columns.len() < 3 || columns[0].name != "time" || columns[0].column.column_type() != ColumnType::Timestamp {
            return None;
        }
        let key = &columns[1];
        let value = columns.last()?;
        let unit = match (value.name.as_str(), value.column.column_type()) {
            ("cpu_percent", _) => Unit::Percent,
            (_, ColumnType::Duration) => Unit::Nanoseconds,
            _ => Unit::Number,
        };
        let (mut starts, mut keys, mut values) = (Vec::<i64>::new(), Vec::<String>::new(), Vec::<Vec<f64>>::new());
        for row in 0..table.row_count() {
            let Value::Timestamp(start) = columns[0].column.value(row) else { return None };
            if starts.last() != Some(&start) {
                starts.push(start);
                for series in &mut values {
                    series.push(0.0);
                }
            }
            let name = key.column.value(row).to_string();
            let index = match keys.iter().position(|k| *k == name) {
                Some(index) => index,
                None => {
                    keys.push(name);
                    values.push(vec![0.0; starts.len()]);
                    keys.len() - 1
                }
            };
            *values[index].last_mut()? += number(&value.column.value(row));
        }
        let width_ns = match starts.as_slice() {
            [first, second, ..] => second - first,
            _ => 1,
        };
        let measure = match unit {
            Unit::Percent => "CPU (% of all cores)".to_string(),
            _ => value.name.clone(),
        };
        let title = format!("{measure} by {}, every {}", key.name, short_duration(width_ns));
        Some(Series { title, unit, starts, width_ns, keys, values })
    }

    /// Each bucket's total over the series.
    fn totals(&self) -> Vec<f64> {
        (0..self.starts.len()).map(|b| self.values.iter().map(|s| s[b]).sum()).collect()
    }

    /// Each key's mean (percent) or total (counts, sums) over the chart, as the legend shows it.
    fn summary(&self, key: usize) -> String {
        let sum: f64 = self.values[key].iter().sum();
        match self.unit {
            Unit::Percent => format!("{:.1}%", sum / self.starts.len().max(1) as f64),
            Unit::Nanoseconds => format!("{:.1} ms", sum / 1e6),
            Unit::Number => crate::group_digits(&format!("{}", sum.round() as i64)),
        }
    }
}

impl Bars {
    /// `bucket, count, percent, cumulative`.
    fn of(table: &DataTable) -> Option<Bars> {
        let label = table.column("bucket")?;
        let count = table.column("count")?;
        let labels = (0..table.row_count()).map(|r| label.value(r).to_string()).collect();
        let counts = (0..table.row_count()).map(|r| number(&count.value(r))).collect();
        // The session names the column it counted in the bucket column's doc.
        let doc = &table.columns.iter().find(|c| c.name == "bucket")?.doc;
        let title = if doc.is_empty() { "histogram".to_string() } else { doc.clone() };
        Some(Bars { title, labels, counts })
    }
}

/// 250 ms, 2 s, 2.5 s: a bucket's width as people write it.
fn short_duration(ns: i64) -> String {
    let (value, unit) = match ns {
        n if n >= 1_000_000_000 => (n as f64 / 1e9, "s"),
        n if n >= 1_000_000 => (n as f64 / 1e6, "ms"),
        n if n >= 1_000 => (n as f64 / 1e3, "us"),
        n => (n as f64, "ns"),
    };
    let text = format!("{value:.3}");
    format!("{} {unit}", text.trim_end_matches('0').trim_end_matches('.'))
}

/// A round top for a value axis: 1, 2, 2.5 or 5 times a power of ten, at least `max`.
fn nice_top(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    for factor in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if factor * power >= max * 0.999_999 {
            return factor * power;
        }
    }
    10.0 * power
}

/// A time in seconds since the trace start, as short as its step allows.
fn seconds_label(ns: i64, step_ns: i64) -> String {
    let seconds = ns as f64 / 1e9;
    if step_ns >= 1_000_000_000 {
        format!("{seconds:.0}s")
    } else if step_ns >= 100_000_000 {
        format!("{seconds:.1}s")
    } else if step_ns >= 10_000_000 {
        format!("{seconds:.2}s")
    } else {
        format!("{seconds:.3}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use columnar::Column;

    pub(super) fn two_series() -> DataTable {
        DataTable::new("chart")
            .with_column("time", "", Column::timestamps(vec![0, 0, 1_000_000_000, 1_000_000_000]))
            .and_then(|t| t.with_column("proc", "", Column::strs(["a.exe", "b.exe", "a.exe", "b.exe"])))
            .and_then(|t| t.with_column("cpu_percent", "", Column::f64(vec![50.0, 25.0, 0.0, 10.0])))
            .unwrap()
    }

    #[test]
    fn a_chart_table_reads_back_as_series() {
        let Some(Drawing::Series(series)) = Drawing::of(&two_series()) else { panic!("a chart") };
        assert_eq!(series.keys, ["a.exe", "b.exe"]);
        assert_eq!(series.values, [vec![50.0, 0.0], vec![25.0, 10.0]]);
        assert_eq!(series.width_ns, 1_000_000_000);
        assert_eq!(series.totals(), [75.0, 10.0]);
        assert_eq!(series.summary(0), "25.0%");
        assert_eq!(nice_top(75.0), 100.0);
        assert_eq!(nice_top(0.3), 0.5);
        assert!(!is_chart(&DataTable::new("chart")));
    }
}
