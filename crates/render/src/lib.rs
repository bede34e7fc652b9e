//! Result tables and their renderings: terminal table (fitted to the screen
//! in the shell), TSV, CSV, JSON, Markdown.
//!
//! Every rendering is written to a `std::io::Write` as it goes (see [`write`]):
//! a result of millions of rows, or with a cell of hundreds of thousands of
//! characters, never sits whole in memory as text. The text formats write
//! the result in chunks of about 64 KiB; the terminal table is rendered in
//! blocks of rows (see `terminal.rs` for how its column widths are chosen, and
//! for the cut of long cells). Control characters from the trace are escaped in
//! every text format (`escape.rs`).
use columnar::{DataTable, Value};
use std::fmt;
use std::io;

pub mod chart;
mod from_columnar;
mod terminal;
mod text;

pub use ::text::{escape_from, escaped, push_escaped, push_json_string};
pub use terminal::{BLOCK_ROWS, CELL_WIDTH_LIMIT};

/// One cell as the writers read it, borrowed from a [`Table`] or straight from
/// a query result's columns.
#[derive(Clone, Copy)]
pub enum Field<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(&'a str),
    Timestamp(i64),
    Duration(i64),
    Address(u64),
    /// NTSTATUS, HRESULT or exit code, in hex as Windows tools show it.
    Status(u32),
    /// Text through its `Display` (a query result's `fields` map): a string in JSON.
    Shown(&'a dyn fmt::Display),
    Empty,
}

impl Field<'_> {
    /// Right-aligned in the terminal table.
    fn is_number(&self) -> bool {
        matches!(
            self,
            Field::Int(_)
                | Field::UInt(_)
                | Field::Float(_)
                | Field::Timestamp(_)
                | Field::Duration(_)
                | Field::Address(_)
                | Field::Status(_)
        )
    }
}

/// What the writers render: named columns and rows read one at a time, so a
/// query result is rendered from its columns without a copy into cells.
pub trait Rows {
    fn column_names(&self) -> Vec<&str>;
    fn row_count(&self) -> usize;
    /// Calls `visit` with each cell of `row`, in column order.
    fn visit_row(&self, row: usize, visit: &mut dyn FnMut(Field<'_>));
    /// TSV/CSV without the header line.
    fn headerless(&self) -> bool {
        false
    }
    /// Lines to print as they are, not a table: one text column (`| folded`).
    fn bare_lines(&self) -> bool {
        false
    }
    /// A `| chart` or `| histogram` result, which the terminal format draws as a chart.
    fn chart(&self) -> Option<&DataTable> {
        None
    }
}

/// Groups of three digits in a number written out: "-1234567" -> "-1,234,567".
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    push_grouped(&mut out, digits);
    out
}

/// Appends a decimal integer with a comma between groups of three digits.
fn push_grouped(out: &mut String, digits: &str) {
    let (sign, digits) = digits.strip_prefix('-').map_or(("", digits), |d| ("-", d));
    out.push_str(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    /// A row at a time, a line per column (`.mode line`, MySQL's `\G`): for wide rows.
    Line,
    Tsv,
    Csv,
    Json,
    Markdown,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "table" => Some(Format::Table),
            "line" => Some(Format::Line),
            "tsv" => Some(Format::Tsv),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// Plain ASCII borders: when stdout is not a terminal, or NO_COLOR or
/// ETWQ_ASCII is set (terminals and fonts without box-drawing characters).
pub fn plain_ascii_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::var_os("ETWQ_ASCII").is_some_and(|v| !v.is_empty())
        || !std::io::IsTerminal::is_terminal(&std::io::stdout())
}

/// The room a result has on the screen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Screen {
    /// Columns; the table is fitted to it.
    pub width: Option<u16>,
    /// Lines the whole rendering may take, the "more rows" line included;
    /// rows beyond it are left out.
    pub max_lines: Option<usize>,
    pub ascii: bool,
}

impl Screen {
    /// The terminal on stdout; no limits when stdout is not one.
    pub fn of_stdout() -> Screen {
        let ascii = plain_ascii_wanted();
        match console::Term::stdout().size_checked() {
            // The prompt line stays on screen below the result.
            // A terminal that reports no size (0 x 0) gets no limits either.
            Some((rows, cols)) if rows > 0 && cols > 0 => {
                Screen { width: Some(cols), max_lines: Some(usize::from(rows).saturating_sub(2).max(8)), ascii }
            }
            _ => Screen { width: None, max_lines: None, ascii },
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    /// A small table's rows, as query values (a query result renders from its columns instead).
    pub rows: Vec<Vec<Value>>,
    /// TSV/CSV without the header line (summary rows compared with other tools).
    pub headerless: bool,
}

impl Table {
    pub fn new(columns: &[&str]) -> Table {
        Table { columns: columns.iter().map(|c| c.to_string()).collect(), rows: Vec::new(), headerless: false }
    }

    pub fn headerless(mut self) -> Table {
        self.headerless = true;
        self
    }

    pub fn push(&mut self, row: Vec<Value>) {
        self.rows.push(row);
    }

    pub fn render(&self, format: Format) -> String {
        render(self, format)
    }

    /// Writes the rendering to `out` as it goes.
    pub fn write(&self, format: Format, out: &mut dyn io::Write) -> io::Result<()> {
        write(self, format, out)
    }

    pub fn render_on_screen(&self, format: Format, screen: &Screen) -> String {
        render_on_screen(self, format, screen)
    }
}

impl Rows for Table {
    fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(String::as_str).collect()
    }

    fn row_count(&self) -> usize {
        self.rows.len()
    }

    fn visit_row(&self, row: usize, visit: &mut dyn FnMut(Field<'_>)) {
        for cell in self.rows.get(row).into_iter().flatten() {
            visit(Field::from(cell));
        }
    }

    fn headerless(&self) -> bool {
        self.headerless
    }
}

/// Writes `rows` in `format` to `out`, in chunks: memory stays bounded by a
/// block of rows, whatever the size of the result. The terminal table is
/// fitted to the terminal when stdout is one, and plain ASCII when
/// [`plain_ascii_wanted`].
pub fn write(rows: &(impl Rows + ?Sized), format: Format, out: &mut dyn io::Write) -> io::Result<()> {
    match format {
        Format::Table if rows.bare_lines() => write_bare_lines(rows, out),
        Format::Table if rows.chart().is_some() => write_chart(rows, None, plain_ascii_wanted(), out),
        Format::Table => terminal::write_table(rows, None, plain_ascii_wanted(), out),
        Format::Line => terminal::write_vertical(rows, out),
        Format::Tsv => text::write_separated(rows, '\t', out),
        Format::Csv => text::write_separated(rows, ',', out),
        Format::Json => text::write_json(rows, out),
        Format::Markdown => text::write_markdown(rows, out),
    }
}

/// The whole rendering as a string: for small results (listings, the shell's
/// screenful, the clipboard).
pub fn render(rows: &(impl Rows + ?Sized), format: Format) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write(rows, format, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The first `count` rows of a result.
struct Head<'a, R: ?Sized> {
    rows: &'a R,
    count: usize,
}

impl<R: Rows + ?Sized> Rows for Head<'_, R> {
    fn column_names(&self) -> Vec<&str> {
        self.rows.column_names()
    }
    fn row_count(&self) -> usize {
        self.count.min(self.rows.row_count())
    }
    fn visit_row(&self, row: usize, visit: &mut dyn FnMut(Field<'_>)) {
        if row < self.count {
            self.rows.visit_row(row, visit);
        }
    }
    fn headerless(&self) -> bool {
        self.rows.headerless()
    }
    fn bare_lines(&self) -> bool {
        self.rows.bare_lines()
    }
    fn chart(&self) -> Option<&DataTable> {
        self.rows.chart()
    }
}

/// The rendering the shell shows: at most a screenful of lines (rows that
/// do not fit are left out, and a last line says how many) and a table no
/// wider than the screen. Without a screen height every row is rendered:
/// use [`write_on_screen`] to stream those.
pub fn render_on_screen(rows: &(impl Rows + ?Sized), format: Format, screen: &Screen) -> String {
    let mut out = Vec::new();
    let _ = write_on_screen(rows, format, screen, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`render_on_screen`] written to `out`; streamed when the screen has no height.
pub fn write_on_screen(
    rows: &(impl Rows + ?Sized),
    format: Format,
    screen: &Screen,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let Some(max_lines) = screen.max_lines else { return write_screen_format(rows, format, screen, out) };
    // A chart is as tall as it is drawn, whatever the rows.
    if format == Format::Table && rows.chart().is_some() {
        return write_chart(rows, screen.width, screen.ascii, out);
    }
    let total = rows.row_count();
    // Three borders, the header and the "more rows" line take five lines.
    let mut shown = total.min(max_lines.saturating_sub(5).max(1));
    loop {
        let left_out = total - shown;
        let mut text = Vec::new();
        write_screen_format(&Head { rows, count: shown }, format, screen, &mut text)?;
        let mut text = String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        if left_out > 0 {
            let _ = fmt::Write::write_fmt(
                &mut text,
                format_args!("… {} more rows (.export FILE for all)\n", group_digits(&left_out.to_string())),
            );
        }
        let lines = text.lines().count();
        // Cells wrapped to fit the width take several lines: show fewer rows.
        if lines <= max_lines || shown <= 1 {
            return out.write_all(text.as_bytes());
        }
        let excess = lines - max_lines;
        let lines_per_row = lines.div_ceil(shown + 5).max(1);
        shown = shown.saturating_sub(excess.div_ceil(lines_per_row).max(1)).max(1);
    }
}

fn write_screen_format(
    rows: &(impl Rows + ?Sized),
    format: Format,
    screen: &Screen,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Table if rows.bare_lines() => write_bare_lines(rows, out),
        Format::Table if rows.chart().is_some() => write_chart(rows, screen.width, screen.ascii, out),
        Format::Table => terminal::write_table(rows, screen.width, screen.ascii, out),
        other => write(rows, other, out),
    }
}

/// A chart result drawn in `width` columns.
fn write_chart(
    rows: &(impl Rows + ?Sized),
    width: Option<u16>,
    ascii: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match rows.chart() {
        Some(table) => chart::write_terminal(table, width, ascii, out).map(|_| ()),
        None => Ok(()),
    }
}

/// Each row's cells as a line, control characters escaped, nothing around them.
fn write_bare_lines(rows: &(impl Rows + ?Sized), out: &mut dyn io::Write) -> io::Result<()> {
    let mut line = String::new();
    for row in 0..rows.row_count() {
        line.clear();
        rows.visit_row(row, &mut |field| {
            if !line.is_empty() {
                line.push(' ');
            }
            match field {
                Field::Text(text) => push_escaped(&mut line, text),
                Field::Int(v) => line.push_str(&v.to_string()),
                Field::UInt(v) => line.push_str(&v.to_string()),
                _ => {}
            }
        });
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits("1234567"), "1,234,567");
        assert_eq!(group_digits("-1000"), "-1,000");
        assert_eq!(group_digits("999"), "999");
    }

    #[test]
    fn renderings() {
        let mut t = Table::new(&["name", "n"]);
        t.push(vec!["a,b".into(), Value::U64(1200)]);
        assert_eq!(t.render(Format::Tsv), "name\tn\na,b\t1200\n");
        assert_eq!(t.render(Format::Csv), "name,n\n\"a,b\",1200\n");
        assert_eq!(t.render(Format::Markdown), "| name | n |\n| --- | --- |\n| a,b | 1,200 |\n");
        t.push(vec!["tab\there".into(), Value::Null]);
        assert_eq!(
            t.render(Format::Line),
            "*** row 1 ***\nname: a,b\n   n: 1,200\n*** row 2 ***\nname: tab\\there\n   n: \n"
        );
        t.rows.pop();
        assert_eq!(t.clone().headerless().render(Format::Tsv), "a,b\t1200\n");
        assert!(t.render(Format::Json).contains("\"n\": 1200"));
        assert!(t.render(Format::Table).contains("1,200"));
    }

    #[test]
    fn screen_cuts_long_results_and_fits_the_width() {
        let mut t = Table::new(&["name", "n"]);
        for i in 0..1500u64 {
            t.push(vec![format!("a rather long name number {i}").into(), Value::U64(i)]);
        }
        let wide = Screen { width: Some(80), max_lines: Some(14), ascii: true };
        let out = t.render_on_screen(Format::Table, &wide);
        assert!(out.ends_with("… 1,491 more rows (.export FILE for all)\n"), "{out}");
        assert_eq!(out.lines().count(), 14, "{out}");
        assert!(out.contains("number 8 ") && !out.contains("number 9 "), "{out}");
        // Narrow: cells wrap, so fewer rows fit in the same lines.
        let narrow = Screen { width: Some(24), max_lines: Some(14), ascii: true };
        let out = t.render_on_screen(Format::Table, &narrow);
        assert!(out.lines().count() <= 14, "{out}");
        assert!(out.lines().filter(|l| !l.starts_with('…')).all(|l| l.chars().count() <= 24), "{out}");
        assert!(out.lines().last().is_some_and(|l| l.starts_with('…') && l.contains("more rows")), "{out}");
        let all = Screen { width: None, max_lines: None, ascii: true };
        assert_eq!(t.render_on_screen(Format::Tsv, &all), t.render(Format::Tsv));
        let roomy = Screen { width: None, max_lines: Some(2000), ascii: false };
        assert!(!t.render_on_screen(Format::Table, &roomy).contains("more rows"));
    }
}
