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
//!
//! A table wider than the screen is not wrapped into cells a few characters
//! wide: its widest text columns are cut with an ellipsis, then trailing
//! columns are left out with a line naming them. Without a screen (a pipe, a
//! file) nothing is cut but the cell limit.
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
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    if ascii {
        table.load_preset(presets::ASCII_FULL_CONDENSED);
    }
    match width {
        // Cells are cut to fit beforehand (see `fit_columns`); wrapping is
        // only the last resort should a later block hold wider cells.
        Some(width) => {
            table.set_content_arrangement(ContentArrangement::Dynamic).set_width(width);
        }
        // No screen (a pipe, a file): every cell whole. Without this comfy_table
        // would fit the table to a terminal on stdout by itself.
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled).force_no_tty();
        }
    }
    table
}

/// Which columns a table too wide for the screen shows, and how wide each may be.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ColumnFit {
    /// Display width each shown column may take; text longer than that is cut with an ellipsis.
    caps: Vec<usize>,
}

/// A text column is cut no narrower than its header (up to this many characters)...
const HEADER_KEPT: usize = 24;
/// ...and never narrower than this.
const NARROWEST_TEXT: usize = 16;

/// The width of a table whose columns hold `widths` characters: a space either
/// side of each cell and a border between and around them.
fn table_width(widths: &[usize]) -> usize {
    widths.iter().map(|w| w + 3).sum::<usize>() + 1
}

/// Fits columns of natural `widths` into `screen` characters: first the widest
/// text columns are cut (all to one cap, as narrow as needed, but not below their
/// floor), then trailing columns are left out. Numbers are never cut. `None`:
/// the table fits as it is.
fn fit_columns(widths: &[usize], header_widths: &[usize], numeric: &[bool], screen: usize) -> Option<ColumnFit> {
    if widths.is_empty() || table_width(widths) <= screen {
        return None;
    }
    let floor: Vec<usize> = (0..widths.len())
        .map(
            |i| if numeric[i] { widths[i] } else { widths[i].min(header_widths[i].clamp(NARROWEST_TEXT, HEADER_KEPT)) },
        )
        .collect();
    // With the first `shown` columns, the widest cap on text columns that fits.
    let capped = |shown: usize, cap: usize| -> Vec<usize> {
        (0..shown).map(|i| if numeric[i] { widths[i] } else { widths[i].min(cap).max(floor[i]) }).collect()
    };
    let widest = widths.iter().copied().max().unwrap_or(0);
    let mut shown = widths.len();
    while shown > 1 && table_width(&floor[..shown]) > screen {
        shown -= 1;
    }
    let cap = (0..=widest).rev().find(|&cap| table_width(&capped(shown, cap)) <= screen);
    let caps = match cap {
        Some(cap) => capped(shown, cap),
        // One column wider than the screen even at its floor: cut it to the screen.
        None => vec![screen.saturating_sub(4).max(1)],
    };
    Some(ColumnFit { caps })
}

/// `text` cut to `width` display columns, its end an ellipsis when cut.
fn cut_to_width(text: &str, width: usize, ascii: bool) -> String {
    let tail = if ascii { "..." } else { "…" };
    console::truncate_str(text, width, tail).into_owned()
}

/// The line after a table whose trailing columns did not fit.
fn left_out_columns_note(names: &[&str], shown: usize, screen: usize) -> Option<String> {
    let left_out = names.get(shown..).filter(|rest| !rest.is_empty())?;
    let mut listed = String::new();
    for name in left_out {
        let room = screen.saturating_sub(60);
        if !listed.is_empty() && listed.len() + name.len() > room {
            listed.push_str(", ...");
            break;
        }
        if !listed.is_empty() {
            listed.push_str(", ");
        }
        listed.push_str(name);
    }
    let count = left_out.len();
    let noun = if count == 1 { "column" } else { "columns" };
    Some(format!("({count} more {noun}: {listed}; .mode line shows every column)\n"))
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

/// Writes `rows` as a terminal table `width` columns wide at most: a table
/// wider than that has its widest text columns cut, then its trailing columns
/// left out (a line after the table names them).
pub(crate) fn write_table(
    rows: &(impl Rows + ?Sized),
    width: Option<u16>,
    ascii: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let total = rows.row_count();
    let names = rows.column_names();
    let header: Vec<String> = names.iter().map(|name| cell_text(Field::Text(name)).0).collect();
    let mut chunks = Chunks::new(out);
    let mut widths_so_far: Option<Vec<u16>> = None;
    let mut fit: Option<ColumnFit> = None;
    let mut any_cut = false;
    let mut start = 0;
    loop {
        let end = total.min(start + BLOCK_ROWS);
        let (first, last) = (start == 0, end == total);
        // The block's cells as text: (text, right-aligned).
        let mut block: Vec<Vec<(String, bool)>> = Vec::with_capacity(end - start);
        for row in start..end {
            let mut cells = Vec::with_capacity(names.len());
            rows.visit_row(row, &mut |field| {
                let (text, cut) = cell_text(field);
                any_cut |= cut;
                cells.push((text, field.is_number()));
            });
            block.push(cells);
        }
        if first {
            if let Some(screen) = width {
                fit = fit_block(&header, &block, usize::from(screen));
            }
        }
        let mut table = new_table(width, ascii);
        let shown = fit.as_ref().map_or(usize::MAX, |f| f.caps.len());
        let cut = |column: usize, text: String| match fit.as_ref().and_then(|f| f.caps.get(column)) {
            Some(&cap) => cut_to_width(&text, cap, ascii),
            None => text,
        };
        if first {
            table.set_header(header.iter().take(shown).enumerate().map(|(i, name)| cut(i, name.clone())));
        }
        for cells in block {
            table.add_row(cells.into_iter().take(shown).enumerate().map(|(i, (text, number))| {
                let cell = comfy_table::Cell::new(cut(i, text));
                if number {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
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
    if let (Some(fit), Some(screen)) = (&fit, width) {
        if let Some(note) = left_out_columns_note(&names, fit.caps.len(), usize::from(screen)) {
            chunks.text.push_str(&note);
        }
    }
    if any_cut {
        chunks.text.push_str(&format!(
            "(cells longer than {CELL_WIDTH_LIMIT} characters are cut here; csv, tsv, json and md carry them in full)\n"
        ));
    }
    chunks.finish()
}

/// How the first block's columns fit `screen`: measured on the header and the block's cells.
fn fit_block(header: &[String], block: &[Vec<(String, bool)>], screen: usize) -> Option<ColumnFit> {
    let header_widths: Vec<usize> = header.iter().map(|h| console::measure_text_width(h)).collect();
    let mut widths = header_widths.clone();
    // A column is a number column when every cell in it is a number (empty cells aside).
    let mut numeric = vec![true; header.len()];
    let mut any_value = vec![false; header.len()];
    for cells in block {
        for (i, (text, number)) in cells.iter().enumerate().take(header.len()) {
            widths[i] = widths[i].max(console::measure_text_width(text));
            if !text.is_empty() {
                any_value[i] = true;
                numeric[i] &= *number;
            }
        }
    }
    for (numeric, any) in numeric.iter_mut().zip(&any_value) {
        *numeric &= *any;
    }
    fit_columns(&widths, &header_widths, &numeric, screen)
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

    /// A table of `columns` text columns, each cell `cell_width` characters, and a number column first.
    fn wide(columns: usize, cell_width: usize) -> Table {
        let mut names = vec!["n".to_string()];
        names.extend((0..columns).map(|c| format!("text{c}")));
        let mut t = Table { columns: names, ..Table::default() };
        for row in 0..3u64 {
            let mut cells = vec![Value::U64(123_456 + row)];
            cells.extend((0..columns).map(|c| Value::Str(format!("{c}{}", "x".repeat(cell_width - 1)).into())));
            t.push(cells);
        }
        t
    }

    fn on_screen(t: &Table, width: u16, ascii: bool) -> String {
        t.render_on_screen(Format::Table, &crate::Screen { width: Some(width), max_lines: None, ascii })
    }

    #[test]
    fn a_wide_table_cuts_its_text_columns_rather_than_wrap_them() {
        // Natural width: 1 + (7 + 3) + 3 * (60 + 3) = 200; the screen has 80.
        let t = wide(3, 60);
        let out = on_screen(&t, 80, true);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3 + 4, "one line per row, none wrapped: {out}");
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{out}");
        // The number is whole; every text cell is cut with the ASCII ellipsis.
        assert!(lines[3].contains("123,456"), "{out}");
        let cells: Vec<&str> = lines[3].trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 4, "{out}");
        for (c, cell) in cells[1..].iter().enumerate() {
            assert!(cell.starts_with(&c.to_string()) && cell.ends_with("..."), "{cell}: {out}");
        }
        // The same table on a roomy screen, or on none, is whole.
        assert!(on_screen(&t, 250, true).contains(&format!("0{}", "x".repeat(59))));
        assert!(t.render(Format::Table).contains(&format!("2{}", "x".repeat(59))));
        // Box-drawing tables end a cut cell with one ellipsis character.
        assert!(on_screen(&t, 80, false).contains("x…"));
    }

    #[test]
    fn columns_that_cannot_fit_even_cut_are_left_out_with_a_note() {
        // 12 text columns cut to their floor (8) take 12 * 11 = 132 characters.
        let t = wide(12, 30);
        let out = on_screen(&t, 100, true);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= 100), "{out}");
        let header: Vec<&str> = lines[1].trim_matches('|').split('|').map(str::trim).collect();
        let shown = header.len();
        assert!((2..13).contains(&shown), "{out}");
        let left_out: Vec<String> = (shown - 1..12).map(|c| format!("text{c}")).collect();
        let note = lines.last().unwrap();
        assert!(note.starts_with(&format!("({} more columns: {}", left_out.len(), left_out[0])), "{out}");
        assert!(note.ends_with("; .mode line shows every column)"), "{out}");
        assert_eq!(lines.len(), 3 + 4 + 1, "{out}");
        // Without a screen every column is there.
        assert!(t.render(Format::Table).lines().nth(1).unwrap().contains("text11"));
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
