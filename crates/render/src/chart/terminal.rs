//! Charts as text: a column per time bucket, its series stacked upward in
//! colour with Unicode eighth blocks, a legend below; a histogram as a bar per
//! line. Plain ASCII (a character per series instead of a colour) when asked.
use super::{nice_top, seconds_label, Bars, Drawing, Series, Unit, AXIS_WIDTH, DEFAULT_WIDTH};
use columnar::DataTable;
use console::Style;
use std::io;

/// Rows of the stacked chart.
const HEIGHT: usize = 12;
/// Eighths of a cell, from empty to full.
const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Horizontal eighths, for histogram bars.
const LEFT_EIGHTHS: [char; 9] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
/// 256-colour codes of the series, in order; "other" is grey.
const COLOURS: [u8; 8] = [33, 208, 160, 35, 170, 220, 51, 94];
const OTHER_COLOUR: u8 = 246;
/// ASCII: a character per series.
const SYMBOLS: [char; 8] = ['#', '=', '+', '*', '%', '@', 'o', 'x'];
const OTHER_SYMBOL: char = ':';

/// How one series looks: its colour and its ASCII character.
struct Look {
    colour: u8,
    symbol: char,
}

fn looks(keys: &[String]) -> Vec<Look> {
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            if key == super::OTHER_KEY {
                Look { colour: OTHER_COLOUR, symbol: OTHER_SYMBOL }
            } else {
                Look { colour: COLOURS[i % COLOURS.len()], symbol: SYMBOLS[i % SYMBOLS.len()] }
            }
        })
        .collect()
}

fn paint(text: &str, colour: u8, ascii: bool) -> String {
    if ascii {
        text.to_string()
    } else {
        Style::new().color256(colour).force_styling(true).apply_to(text).to_string()
    }
}

/// Draws a chart or histogram table in `width` columns (default 100); false
/// when the table is neither.
pub fn write_terminal(table: &DataTable, width: Option<u16>, ascii: bool, out: &mut dyn io::Write) -> io::Result<bool> {
    let width = width.map_or(DEFAULT_WIDTH, usize::from).max(30);
    match Drawing::of(table) {
        Some(Drawing::Series(series)) => write_series(&series.fitted(super::plot_columns(width)), width, ascii, out)?,
        Some(Drawing::Bars(bars)) => write_bars(&bars, width, ascii, out)?,
        None => return Ok(false),
    }
    Ok(true)
}

impl Series {
    /// At most `columns` buckets: adjacent buckets merged (a share averaged, anything else added).
    fn fitted(&self, columns: usize) -> Series {
        let per = self.starts.len().div_ceil(columns.max(1)).max(1);
        if per == 1 {
            return Series {
                title: self.title.clone(),
                keys: self.keys.clone(),
                values: self.values.clone(),
                starts: self.starts.clone(),
                ..*self
            };
        }
        let merge = |values: &Vec<f64>| -> Vec<f64> {
            values
                .chunks(per)
                .map(|chunk| {
                    let sum: f64 = chunk.iter().sum();
                    if self.unit == Unit::Percent {
                        sum / chunk.len() as f64
                    } else {
                        sum
                    }
                })
                .collect()
        };
        Series {
            title: format!("{} (shown merged {per} to a column)", self.title),
            unit: self.unit,
            starts: self.starts.iter().step_by(per).copied().collect(),
            width_ns: self.width_ns * per as i64,
            keys: self.keys.clone(),
            values: self.values.iter().map(merge).collect(),
        }
    }
}

/// A key from the trace made safe to show: control characters escaped, and
/// under ASCII anything else outside ASCII as `?`.
fn shown_key(key: &str, ascii: bool) -> String {
    let escaped = crate::escaped(key);
    if ascii {
        escaped.chars().map(|c| if c.is_ascii() { c } else { '?' }).collect()
    } else {
        escaped.into_owned()
    }
}

fn axis_label(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => format!("{}%", trim_number(value)),
        Unit::Nanoseconds => format!("{}ms", trim_number(value / 1e6)),
        Unit::Number => trim_number(value),
    }
}

/// 100, 2.5, 0.25: no trailing zeros.
pub(super) fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn write_series(series: &Series, width: usize, ascii: bool, out: &mut dyn io::Write) -> io::Result<()> {
    let looks = looks(&series.keys);
    let totals = series.totals();
    let top = nice_top(totals.iter().copied().fold(0.0, f64::max));
    let columns = series.starts.len();
    writeln!(out, "{}", shown_key(&series.title, ascii).chars().take(width).collect::<String>())?;
    let (vertical, corner, horizontal) = if ascii { ('|', '+', '-') } else { ('┤', '└', '─') };
    for line in (0..HEIGHT).rev() {
        let label = match line {
            l if l == HEIGHT - 1 => axis_label(top, series.unit),
            l if l == HEIGHT / 2 - 1 => axis_label(top / 2.0, series.unit),
            _ => String::new(),
        };
        let mut text = format!("{label:>width$} {vertical}", width = AXIS_WIDTH - 2);
        // Runs of one colour are painted at once: fewer escapes to send.
        let cells: Vec<(char, u8)> =
            (0..columns).map(|bucket| cell(series, &looks, bucket, line, top, ascii)).collect();
        let cells = &cells[..cells.iter().rposition(|(c, _)| *c != ' ').map_or(0, |last| last + 1)];
        for run in cells.chunk_by(|a, b| a.1 == b.1 || b.0 == ' ' && a.0 == ' ') {
            let run_text: String = run.iter().map(|(c, _)| c).collect();
            let blank = run.iter().all(|(c, _)| *c == ' ');
            text.push_str(&if blank { run_text } else { paint(&run_text, run[0].1, ascii) });
        }
        writeln!(out, "{}", text.trim_end())?;
    }
    writeln!(out, "{:>width$} {corner}{}", "0", horizontal.to_string().repeat(columns), width = AXIS_WIDTH - 2)?;
    // Time labels under the axis, where they fit.
    let mut labels = " ".repeat(AXIS_WIDTH);
    let step = (columns / 6).max(8);
    let mut column = 0;
    while column < columns {
        let label = seconds_label(series.starts[column], series.width_ns * step as i64);
        if AXIS_WIDTH + column >= labels.chars().count() {
            labels.push_str(&" ".repeat(AXIS_WIDTH + column - labels.chars().count()));
            labels.push_str(&label);
        }
        column += step;
    }
    writeln!(out, "{}", labels.trim_end())?;
    // The legend, wrapped to the width.
    let mut line = String::new();
    let mut line_len = 0;
    for (index, (key, look)) in series.keys.iter().zip(&looks).enumerate() {
        let mark = if ascii { look.symbol.to_string() } else { '█'.to_string() };
        let item = format!("{} {}", shown_key(key, ascii), series.summary(index));
        let item_len = item.chars().count() + 4;
        if line_len > 0 && line_len + item_len > width {
            writeln!(out, "{}", line.trim_end())?;
            line.clear();
            line_len = 0;
        }
        line.push_str(&format!("  {} {item}", paint(&mark, look.colour, ascii)));
        line_len += item_len;
    }
    if !line.is_empty() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The character of one bucket's column at `line` (0: the bottom) and its
/// colour: the filled part of the cell in eighths, in the colour of the series
/// at its middle.
fn cell(series: &Series, looks: &[Look], bucket: usize, line: usize, top: f64, ascii: bool) -> (char, u8) {
    let scale = HEIGHT as f64 / top;
    let total: f64 = series.values.iter().map(|s| s[bucket]).sum::<f64>() * scale;
    let fill = (total - line as f64).clamp(0.0, 1.0);
    let eighths = (fill * 8.0).round() as usize;
    if eighths == 0 || (ascii && eighths < 4) {
        return (' ', 0);
    }
    // The series under the middle of the filled part.
    let middle = line as f64 + fill / 2.0;
    let mut base = 0.0;
    let mut owner = looks.len().saturating_sub(1);
    for (index, values) in series.values.iter().enumerate() {
        base += values[bucket] * scale;
        if middle < base {
            owner = index;
            break;
        }
    }
    let look = &looks[owner];
    if ascii {
        (look.symbol, look.colour)
    } else {
        (EIGHTHS[eighths], look.colour)
    }
}

fn write_bars(bars: &Bars, width: usize, ascii: bool, out: &mut dyn io::Write) -> io::Result<()> {
    let labels: Vec<String> = bars.labels.iter().map(|l| shown_key(l, ascii)).collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let total: f64 = bars.counts.iter().sum();
    let largest = bars.counts.iter().copied().fold(0.0, f64::max).max(1.0);
    let numbers: Vec<String> = bars
        .counts
        .iter()
        .map(|&c| {
            let share = if total > 0.0 { c * 100.0 / total } else { 0.0 };
            format!("{} {share:5.1}%", crate::group_digits(&format!("{}", c.round() as i64)))
        })
        .collect();
    let number_width = numbers.iter().map(String::len).max().unwrap_or(0);
    let room = width.saturating_sub(label_width + number_width + 4).max(10);
    writeln!(out, "{}", shown_key(&bars.title, ascii))?;
    let separator = if ascii { '|' } else { '│' };
    for ((label, &count), number) in labels.iter().zip(&bars.counts).zip(&numbers) {
        let eighths = (count / largest * room as f64 * 8.0).round() as usize;
        let bar = if ascii {
            "#".repeat((eighths + 4) / 8)
        } else {
            let mut bar = "█".repeat(eighths / 8);
            if !eighths.is_multiple_of(8) {
                bar.push(LEFT_EIGHTHS[eighths % 8]);
            }
            paint(&bar, COLOURS[0], false)
        };
        let shown = if ascii { (eighths + 4) / 8 } else { eighths.div_ceil(8) };
        let pad = " ".repeat(room.saturating_sub(shown));
        writeln!(out, "{label:>label_width$} {separator}{bar}{pad} {number:>number_width$}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_charts_are_ascii_and_fit_the_width() {
        let table = super::super::tests::two_series();
        let mut out = Vec::new();
        assert!(write_terminal(&table, Some(40), true, &mut out).unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(text.is_ascii(), "{text}");
        assert!(text.lines().all(|l| l.len() <= 40), "{text}");
        assert!(text.contains("# a.exe 25.0%") && text.contains("= b.exe 17.5%"), "{text}");
        let mut out = Vec::new();
        write_terminal(&table, Some(40), false, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().contains('█'));
    }
}
