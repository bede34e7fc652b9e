//! Result tables and their renderings: terminal table (fitted to the screen
//! in the shell), TSV, CSV, JSON, Markdown.
use comfy_table::{presets, CellAlignment, ContentArrangement};
use std::fmt::Write as _;

mod from_columnar;

#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Int(i64),
    UInt(u64),
    Text(String),
    Float(f64),
    /// Nanoseconds since trace start: raw in csv/json, seconds on screen.
    Timestamp(i64),
    /// Nanoseconds: raw in csv/json, in a readable unit on screen.
    Duration(i64),
    /// Shown as 0x... everywhere.
    Address(u64),
    Empty,
}

impl Cell {
    fn plain(&self) -> String {
        match self {
            Cell::Int(v) => v.to_string(),
            Cell::UInt(v) => v.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Float(v) => v.to_string(),
            Cell::Timestamp(v) | Cell::Duration(v) => v.to_string(),
            Cell::Address(v) => format!("{v:#x}"),
            Cell::Empty => String::new(),
        }
    }

    /// Numbers with digit grouping, as a person reads them.
    fn readable(&self) -> String {
        match self {
            Cell::Int(v) => group_digits(&v.to_string()),
            Cell::UInt(v) => group_digits(&v.to_string()),
            Cell::Float(v) => format!("{v:.3}"),
            Cell::Timestamp(v) => columnar::format_timestamp_ns(*v),
            Cell::Duration(v) => columnar::format_duration_ns(*v),
            other => other.plain(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Int(v) => (*v).into(),
            Cell::UInt(v) => (*v).into(),
            Cell::Text(s) => s.clone().into(),
            Cell::Float(v) => {
                serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
            Cell::Timestamp(v) | Cell::Duration(v) => (*v).into(),
            Cell::Address(v) => format!("{v:#x}").into(),
            Cell::Empty => serde_json::Value::Null,
        }
    }

    fn is_number(&self) -> bool {
        matches!(
            self,
            Cell::Int(_) | Cell::UInt(_) | Cell::Float(_) | Cell::Timestamp(_) | Cell::Duration(_) | Cell::Address(_)
        )
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<u64> for Cell {
    fn from(v: u64) -> Cell {
        Cell::UInt(v)
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(v)
    }
}

/// Groups of three digits in a number written out: "-1234567" -> "-1,234,567".
pub fn group_digits(digits: &str) -> String {
    let (sign, digits) = digits.strip_prefix('-').map_or(("", digits), |d| ("-", d));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Tsv,
    Csv,
    Json,
    Markdown,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "table" => Some(Format::Table),
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
    pub rows: Vec<Vec<Cell>>,
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

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.render_table(),
            Format::Tsv => self.render_separated('\t', false),
            Format::Csv => self.render_separated(',', true),
            Format::Json => self.render_json(),
            Format::Markdown => self.render_markdown(),
        }
    }

    fn render_markdown(&self) -> String {
        let escape = |s: String| s.replace('|', "\\|").replace('\n', " ");
        let mut out = format!("| {} |\n", self.columns.join(" | "));
        let rules: Vec<&str> = self.columns.iter().map(|_| "---").collect();
        let _ = writeln!(out, "| {} |", rules.join(" | "));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| escape(c.readable())).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }

    fn render_table(&self) -> String {
        self.render_table_fitted(None, plain_ascii_wanted())
    }

    /// The terminal table, fitted to `width` columns when given.
    fn render_table_fitted(&self, width: Option<u16>, ascii: bool) -> String {
        let mut table = comfy_table::Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
        if ascii {
            table.load_preset(presets::ASCII_FULL_CONDENSED);
        }
        if let Some(width) = width {
            table.set_width(width);
        }
        table.set_header(&self.columns);
        for row in &self.rows {
            table.add_row(row.iter().map(|cell| {
                let c = comfy_table::Cell::new(cell.readable());
                if cell.is_number() {
                    c.set_alignment(CellAlignment::Right)
                } else {
                    c
                }
            }));
        }
        format!("{table}\n")
    }

    /// The rendering the shell shows: at most a screenful of lines (rows that
    /// do not fit are left out, and a last line says how many) and a table no
    /// wider than the screen.
    pub fn render_on_screen(&self, format: Format, screen: &Screen) -> String {
        let Some(max_lines) = screen.max_lines else { return self.render_screen_format(format, screen) };
        // Three borders, the header and the "more rows" line take five lines.
        let mut shown = self.rows.len().min(max_lines.saturating_sub(5).max(1));
        loop {
            let left_out = self.rows.len() - shown;
            let mut out = if left_out == 0 {
                self.render_screen_format(format, screen)
            } else {
                let head = Table {
                    columns: self.columns.clone(),
                    rows: self.rows[..shown].to_vec(),
                    headerless: self.headerless,
                };
                head.render_screen_format(format, screen)
            };
            if left_out > 0 {
                let _ = writeln!(out, "… {} more rows (.export FILE for all)", group_digits(&left_out.to_string()));
            }
            let lines = out.lines().count();
            // Cells wrapped to fit the width take several lines: show fewer rows.
            if lines <= max_lines || shown <= 1 {
                return out;
            }
            let excess = lines - max_lines;
            let lines_per_row = lines.div_ceil(shown + 5).max(1);
            shown = shown.saturating_sub(excess.div_ceil(lines_per_row).max(1)).max(1);
        }
    }

    fn render_screen_format(&self, format: Format, screen: &Screen) -> String {
        match format {
            Format::Table => self.render_table_fitted(screen.width, screen.ascii),
            other => self.render(other),
        }
    }

    /// Plain rows without a header line: what scripts and the corpus expectations read.
    fn render_separated(&self, separator: char, quote: bool) -> String {
        let mut out = String::new();
        let header = (!self.headerless).then(|| self.columns.iter().map(|c| Cell::Text(c.clone())).collect::<Vec<_>>());
        for row in header.iter().chain(&self.rows) {
            let fields: Vec<String> = row
                .iter()
                .map(|cell| {
                    let text = cell.plain();
                    if quote && (text.contains(separator) || text.contains('"') || text.contains('\n')) {
                        format!("\"{}\"", text.replace('"', "\"\""))
                    } else {
                        text
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", fields.join(&separator.to_string()));
        }
        out
    }

    fn render_json(&self) -> String {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                let object: serde_json::Map<String, serde_json::Value> =
                    self.columns.iter().cloned().zip(row.iter().map(Cell::json)).collect();
                serde_json::Value::Object(object)
            })
            .collect();
        let mut out = serde_json::to_string_pretty(&rows).unwrap_or_default();
        out.push('\n');
        out
    }
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
        t.push(vec!["a,b".into(), Cell::UInt(1200)]);
        assert_eq!(t.render(Format::Tsv), "name\tn\na,b\t1200\n");
        assert_eq!(t.render(Format::Csv), "name,n\n\"a,b\",1200\n");
        assert_eq!(t.render(Format::Markdown), "| name | n |\n| --- | --- |\n| a,b | 1,200 |\n");
        assert_eq!(t.clone().headerless().render(Format::Tsv), "a,b\t1200\n");
        assert!(t.render(Format::Json).contains("\"n\": 1200"));
        assert!(t.render(Format::Table).contains("1,200"));
    }

    #[test]
    fn screen_cuts_long_results_and_fits_the_width() {
        let mut t = Table::new(&["name", "n"]);
        for i in 0..1500u64 {
            t.push(vec![format!("a rather long name number {i}").into(), Cell::UInt(i)]);
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
