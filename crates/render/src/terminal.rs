//! The terminal table, rendered in blocks of rows.
//!
//! A result of at most [`BLOCK_ROWS`] rows is one table, laid out as before:
//! columns as wide as their widest cell (and fitted to the terminal when
//! stdout is one). A longer result is written block by block as one table:
//! the first block is laid out the same way, and every later block keeps
//! its columns at least as wide as the blocks before. A column widens only
//! where a block holds a wider cell (a row number that gains a digit); a
//! border line marks that step. A block's rendering is all that is ever held
//! in memory.
//!
//! A text cell longer than [`CELL_WIDTH_LIMIT`] characters is cut there
//! with an ellipsis, and a line after the table says so; csv, tsv, json and md
//! carry the full text.
use super::text::{push_readable, Chunks};
use super::{Field, Rows};
use comfy_table::{presets, CellAlignment, ColumnConstraint, ContentArrangement, TableComponent, Width};
use std::fmt;
use std::io;
use text::escape_from;

/// Rows per rendered block of a long table.
pub const BLOCK_ROWS: usize = 1000;

/// Characters a table cell shows at most.
pub const CELL_WIDTH_LIMIT: usize = 200;

fn new_table(width: Option<u16>, ascii: bool) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    if ascii {
        table.load_preset(presets::ASCII_FULL_CONDENSED);
    }
    if let Some(width) = width {
        table.set_width(width);
    }
    table
}

/// The readable text of a cell, escaped, cut at the limit; true when cut.
/// Only the part that can be shown is read: a cell of hundreds of thousands
/// of characters costs no more than one at the limit.
fn cell_text(field: Field<'_>) -> (String, bool) {
    let shown_chars = CELL_WIDTH_LIMIT + 1;
    let mut text = String::new();
    match field {
        Field::Text(s) => push_readable(&mut text, Field::Text(prefix_chars(s, shown_chars))),
        Field::Shown(shown) => {
            let mut bounded = Bounded { out: &mut text, room: shown_chars };
            // Stopping early is an error to the formatter: expected here.
            let _ = fmt::Write::write_fmt(&mut bounded, format_args!("{shown}"));
            escape_from(&mut text, 0);
        }
        other => push_readable(&mut text, other),
    }
    match text.char_indices().nth(CELL_WIDTH_LIMIT - 1) {
        Some((cut, _)) if text[cut..].chars().nth(1).is_some() => {
            text.truncate(cut);
            text.push('…');
            (text, true)
        }
        _ => (text, false),
    }
}

/// Each row as a block, MySQL's `\G`: a `*** row N ***` line, then a line
/// per column, its name right-aligned before the value. Wide rows read
/// without wrapping; cells are escaped and cut as in the table.
pub(crate) fn write_vertical(rows: &(impl Rows + ?Sized), out: &mut dyn io::Write) -> io::Result<()> {
    let names = rows.column_names();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut block = String::new();
    for row in 0..rows.row_count() {
        block.clear();
        block.push_str(&format!("*** row {} ***\n", crate::group_digits(&(row + 1).to_string())));
        let mut column = 0;
        rows.visit_row(row, &mut |field| {
            let name = names.get(column).copied().unwrap_or("");
            block.push_str(&format!("{name:>width$}: {}\n", cell_text(field).0));
            column += 1;
        });
        out.write_all(block.as_bytes())?;
    }
    Ok(())
}

/// The first `chars` characters of `text`.
fn prefix_chars(text: &str, chars: usize) -> &str {
    text.char_indices().nth(chars).map_or(text, |(end, _)| &text[..end])
}

/// A formatter target that takes `room` characters, then refuses the rest.
struct Bounded<'a> {
    out: &'a mut String,
    room: usize,
}

impl fmt::Write for Bounded<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let part = prefix_chars(s, self.room);
        self.out.push_str(part);
        self.room -= part.chars().count();
        if part.len() < s.len() {
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// The column widths (padding included) a rendered table's top border shows.
fn widths_of_top_border(border: &str, intersection: char) -> Vec<u16> {
    let mut inner = border.chars();
    inner.next();
    inner.next_back();
    inner.as_str().split(intersection).map(|segment| segment.chars().count() as u16).collect()
}

/// Writes `rows` as a terminal table `width` columns wide at most.
pub(crate) fn write_table(
    rows: &(impl Rows + ?Sized),
    width: Option<u16>,
    ascii: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let total = rows.row_count();
    let mut chunks = Chunks::new(out);
    let mut widths_so_far: Option<Vec<u16>> = None;
    let mut any_cut = false;
    let mut start = 0;
    loop {
        let end = total.min(start + BLOCK_ROWS);
        let (first, last) = (start == 0, end == total);
        let mut table = new_table(width, ascii);
        if first {
            let names = rows.column_names();
            table.set_header(names.into_iter().map(|name| cell_text(Field::Text(name)).0));
        }
        for row in start..end {
            let mut cells = Vec::new();
            rows.visit_row(row, &mut |field| {
                let (text, cut) = cell_text(field);
                any_cut |= cut;
                let cell = comfy_table::Cell::new(text);
                cells.push(if field.is_number() { cell.set_alignment(CellAlignment::Right) } else { cell });
            });
            table.add_row(cells);
        }
        if let Some(widths) = &widths_so_far {
            table.set_constraints(widths.iter().map(|&w| ColumnConstraint::LowerBoundary(Width::Fixed(w))));
        }
        let lines: Vec<String> = table.lines().collect();
        let intersection = table.style(TableComponent::TopBorderIntersections).unwrap_or('+');
        let widths = lines.first().map(|border| widths_of_top_border(border, intersection));
        // Blocks join into one table: no bottom border before a following
        // block, no top border after a preceding one unless the columns
        // widened there (the border then marks the step).
        let widened = !first && widths != widths_so_far;
        let from = usize::from(!first && !widened);
        let to = if last { lines.len() } else { lines.len().saturating_sub(1) };
        for line in lines.get(from..to).unwrap_or_default() {
            chunks.text.push_str(line);
            chunks.text.push('\n');
        }
        widths_so_far = widths;
        chunks.row_done()?;
        if last {
            break;
        }
        start = end;
    }
    if any_cut {
        chunks.text.push_str(&format!(
            "(cells longer than {CELL_WIDTH_LIMIT} characters are cut here; csv, tsv, json and md carry them in full)\n"
        ));
    }
    chunks.finish()
}

#[cfg(test)]
mod tests {
    use crate::{Format, Table};
    use columnar::Value;

    fn numbered(rows: usize) -> Table {
        let mut t = Table::new(&["name", "n"]);
        for i in 0..rows {
            t.push(vec![format!("row {i:05}").into(), Value::U64(i as u64 % 1000)]);
        }
        t
    }

    #[test]
    fn a_long_table_is_one_table_in_blocks_whose_columns_only_widen() {
        let t = numbered(2 * super::BLOCK_ROWS + 5);
        let out = t.render(Format::Table);
        let lines: Vec<&str> = out.lines().collect();
        // Top border, header, rule, every row, bottom border: the blocks'
        // cells are as wide, so they join without a step.
        assert_eq!(lines.len(), t.rows.len() + 4, "{}", &out[..400]);
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "ragged lines");
        assert!(
            lines[3].contains("row 00000 ")
                && lines[lines.len() - 2].contains(&format!("row {:05} ", t.rows.len() - 1))
        );
        // A later block's wider cell widens its column from there on, whole.
        let mut wide = numbered(super::BLOCK_ROWS + 1);
        wide.rows[super::BLOCK_ROWS][0] = Value::Str("x".repeat(40).into());
        let out = wide.render(Format::Table);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), wide.rows.len() + 5, "a border marks the step");
        assert!(lines[lines.len() - 2].contains(&"x".repeat(40)));
        assert_eq!(lines[lines.len() - 1].chars().count(), lines[lines.len() - 2].chars().count());
        assert!(lines[lines.len() - 1].chars().count() > lines[0].chars().count());
    }

    #[test]
    fn a_small_table_looks_as_comfy_table_lays_it_out() {
        let t = numbered(3);
        let mut plain = comfy_table::Table::new();
        plain.load_preset(comfy_table::presets::ASCII_FULL_CONDENSED);
        plain.set_header(vec!["name", "n"]);
        for i in 0..3 {
            plain.add_row(vec![
                comfy_table::Cell::new(format!("row {i:05}")),
                comfy_table::Cell::new(i).set_alignment(comfy_table::CellAlignment::Right),
            ]);
        }
        let screen = crate::Screen { width: None, max_lines: None, ascii: true };
        assert_eq!(t.render_on_screen(Format::Table, &screen), format!("{plain}\n"));
    }

    #[test]
    fn long_cells_are_cut_with_a_note() {
        let mut t = Table::new(&["text"]);
        t.push(vec![Value::Str("y".repeat(300_000).into())]);
        t.push(vec![Value::Str("z".repeat(super::CELL_WIDTH_LIMIT).into())]);
        let out = t.render(Format::Table);
        let (table, _note) = out.rsplit_once("(cells").unwrap();
        assert_eq!(table.matches('y').count(), super::CELL_WIDTH_LIMIT - 1);
        assert!(out.contains(&format!("{}…", "y".repeat(super::CELL_WIDTH_LIMIT - 1))));
        assert_eq!(out.matches('z').count(), super::CELL_WIDTH_LIMIT, "a cell at the limit is whole");
        assert!(out.ends_with("csv, tsv, json and md carry them in full)\n"), "{out}");
        assert!(t.render(Format::Csv).contains(&"y".repeat(300_000)));
    }
}
