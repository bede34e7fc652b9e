//! The text formats, written row by row in chunks: TSV, CSV, Markdown, JSON.
//! Every row is written in full (no cut); control characters are escaped
//! (see the text crate), so every record is one line.
use super::{push_grouped, Field, Rows};
use columnar::format_status;
use std::fmt::Write as _;
use std::io;
use text::{escape_from, push_escaped, push_json_string};

/// Rendered text goes to the writer whenever this much has gathered.
const CHUNK_BYTES: usize = 64 * 1024;

/// Text gathered for a writer and handed over in chunks.
pub(crate) struct Chunks<'a> {
    out: &'a mut dyn io::Write,
    pub(crate) text: String,
}

impl<'a> Chunks<'a> {
    pub(crate) fn new(out: &'a mut dyn io::Write) -> Chunks<'a> {
        Chunks { out, text: String::with_capacity(CHUNK_BYTES + 4096) }
    }

    /// Call between rows: writes the gathered text once there is a chunk of it.
    pub(crate) fn row_done(&mut self) -> io::Result<()> {
        if self.text.len() >= CHUNK_BYTES {
            self.out.write_all(self.text.as_bytes())?;
            self.text.clear();
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> io::Result<()> {
        self.out.write_all(self.text.as_bytes())?;
        self.out.flush()
    }
}

/// The value as scripts and other tools read it: integers without grouping,
/// times and durations in raw nanoseconds, addresses in hex.
pub(crate) fn push_plain(out: &mut String, field: Field<'_>) {
    let _ = match field {
        Field::Int(v) | Field::Timestamp(v) | Field::Duration(v) => write!(out, "{v}"),
        Field::UInt(v) => write!(out, "{v}"),
        Field::Float(v) => write!(out, "{v}"),
        Field::Address(v) => write!(out, "{v:#x}"),
        Field::Status(v) => write!(out, "{}", format_status(v)),
        Field::Text(s) => {
            push_escaped(out, s);
            Ok(())
        }
        Field::Shown(shown) => {
            let start = out.len();
            let written = write!(out, "{shown}");
            escape_from(out, start);
            written
        }
        Field::Empty => Ok(()),
    };
}

/// The value as a person reads it: digit groups, seconds, readable durations.
pub(crate) fn push_readable(out: &mut String, field: Field<'_>) {
    let _ = match field {
        Field::Int(v) => {
            push_grouped(out, itoa(&mut [0; 24], v.unsigned_abs(), v < 0));
            Ok(())
        }
        Field::UInt(v) => {
            push_grouped(out, itoa(&mut [0; 24], v, false));
            Ok(())
        }
        Field::Float(v) => write!(out, "{v:.3}"),
        Field::Timestamp(v) => {
            out.push_str(&columnar::format_timestamp_ns(v));
            Ok(())
        }
        Field::Duration(v) => {
            out.push_str(&columnar::format_duration_ns(v));
            Ok(())
        }
        other => {
            push_plain(out, other);
            Ok(())
        }
    };
}

/// Decimal digits of `value` (with a leading '-' when `negative`) in `buffer`.
fn itoa(buffer: &mut [u8; 24], mut value: u64, negative: bool) -> &str {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buffer[at] = b'-';
    }
    std::str::from_utf8(&buffer[at..]).unwrap_or("")
}

/// TSV (tabs in fields are escaped as `\t`, so a tab always separates) or
/// CSV (a field holding a comma or quote is quoted, quotes doubled; control
/// characters, CR and LF included, are escaped rather than quoted raw, so a
/// record is one line and no field can drive the terminal `| head` prints to).
pub(crate) fn write_separated(rows: &(impl Rows + ?Sized), separator: char, out: &mut dyn io::Write) -> io::Result<()> {
    let quote = separator == ',';
    let mut chunks = Chunks::new(out);
    let push_field = |text: &mut String, first: bool, field: Field<'_>| {
        if !first {
            text.push(separator);
        }
        let start = text.len();
        push_plain(text, field);
        if quote && text[start..].contains([',', '"']) {
            let raw = text.split_off(start);
            text.push('"');
            text.push_str(&raw.replace('"', "\"\""));
            text.push('"');
        }
    };
    if !rows.headerless() {
        for (i, name) in rows.column_names().into_iter().enumerate() {
            push_field(&mut chunks.text, i == 0, Field::Text(name));
        }
        chunks.text.push('\n');
    }
    for row in 0..rows.row_count() {
        let mut first = true;
        rows.visit_row(row, &mut |field| {
            push_field(&mut chunks.text, first, field);
            first = false;
        });
        chunks.text.push('\n');
        chunks.row_done()?;
    }
    chunks.finish()
}

pub(crate) fn write_markdown(rows: &(impl Rows + ?Sized), out: &mut dyn io::Write) -> io::Result<()> {
    let mut chunks = Chunks::new(out);
    let push_cell = |text: &mut String, field: Field<'_>| {
        let start = text.len();
        push_readable(text, field);
        if text[start..].contains('|') {
            let raw = text.split_off(start);
            text.push_str(&raw.replace('|', "\\|"));
        }
    };
    let names = rows.column_names();
    chunks.text.push('|');
    for name in &names {
        chunks.text.push(' ');
        push_cell(&mut chunks.text, Field::Text(name));
        chunks.text.push_str(" |");
    }
    chunks.text.push_str("\n|");
    for _ in &names {
        chunks.text.push_str(" --- |");
    }
    chunks.text.push('\n');
    for row in 0..rows.row_count() {
        chunks.text.push('|');
        rows.visit_row(row, &mut |field| {
            chunks.text.push(' ');
            push_cell(&mut chunks.text, field);
            chunks.text.push_str(" |");
        });
        chunks.text.push('\n');
        chunks.row_done()?;
    }
    chunks.finish()
}

/// A JSON string literal. Beyond what JSON requires, DEL and the C1 controls
/// are escaped too: JSON output also reaches terminals.
fn push_json(out: &mut String, field: Field<'_>) {
    let _ = match field {
        Field::Int(v) | Field::Timestamp(v) | Field::Duration(v) => write!(out, "{v}"),
        Field::UInt(v) => write!(out, "{v}"),
        Field::Float(v) => match serde_json::Number::from_f64(v) {
            Some(number) => write!(out, "{number}"),
            None => write!(out, "null"),
        },
        Field::Address(v) => write!(out, "\"{v:#x}\""),
        Field::Status(v) => write!(out, "\"{}\"", format_status(v)),
        Field::Text(s) => {
            push_json_string(out, s);
            Ok(())
        }
        Field::Shown(shown) => {
            push_json_string(out, &shown.to_string());
            Ok(())
        }
        Field::Empty => write!(out, "null"),
    };
}

/// An array of one object per row, keys in column order, laid out as
/// serde_json's pretty printer does.
pub(crate) fn write_json(rows: &(impl Rows + ?Sized), out: &mut dyn io::Write) -> io::Result<()> {
    let mut chunks = Chunks::new(out);
    let mut keys = Vec::new();
    for name in rows.column_names() {
        let mut key = String::new();
        push_json_string(&mut key, name);
        keys.push(key);
    }
    let count = rows.row_count();
    if count == 0 {
        chunks.text.push_str("[]\n");
        return chunks.finish();
    }
    chunks.text.push_str("[\n");
    for row in 0..count {
        chunks.text.push_str("  {");
        let mut column = 0;
        rows.visit_row(row, &mut |field| {
            let text = &mut chunks.text;
            text.push_str(if column == 0 { "\n    " } else { ",\n    " });
            text.push_str(keys.get(column).map_or("\"\"", String::as_str));
            text.push_str(": ");
            push_json(text, field);
            column += 1;
        });
        chunks.text.push_str(if column == 0 { "}" } else { "\n  }" });
        chunks.text.push_str(if row + 1 < count { ",\n" } else { "\n" });
        chunks.row_done()?;
    }
    chunks.text.push_str("]\n");
    chunks.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, Table};
    use columnar::Value;

    #[test]
    fn json_matches_the_pretty_printer_and_parses() {
        let mut t = Table::new(&["name", "n", "f", "none"]);
        t.push(vec!["a\"b\u{9b}".into(), Value::I64(-3), Value::F64(1.5), Value::Null]);
        t.push(vec!["c".into(), Value::U64(7), Value::F64(f64::NAN), Value::Address(255)]);
        let out = t.render(Format::Json);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed[0]["name"], "a\"b\u{9b}");
        assert_eq!(parsed[0]["n"], -3);
        assert_eq!(parsed[1]["f"], serde_json::Value::Null);
        assert_eq!(parsed[1]["none"], "0xff");
        // Keys in column order, as serde_json lays out a pretty array.
        let expected = serde_json::to_string_pretty(&serde_json::json!([{"a": 1}, {"a": 2}])).unwrap() + "\n";
        let mut ordered = Table::new(&["a"]);
        ordered.push(vec![Value::I64(1)]);
        ordered.push(vec![Value::I64(2)]);
        assert_eq!(ordered.render(Format::Json), expected);
        assert_eq!(Table::new(&["a"]).render(Format::Json), "[]\n");
        assert!(!out.contains('\u{9b}'), "{out}");
    }

    /// DEL and the C1 controls leave as \u escapes (JSON allows them raw, a terminal obeys them).
    #[test]
    fn json_escapes_del_and_c1_controls() {
        let hostile = "a\u{1b}[2Jb\u{7f}c\u{80}d\u{9b}2Je\u{9f}f\u{a0}é";
        let mut t = Table::new(&[hostile]);
        t.push(vec![hostile.into()]);
        let out = t.render(Format::Json);
        for raw in ['\u{1b}', '\u{7f}', '\u{80}', '\u{9b}', '\u{9f}'] {
            assert!(!out.contains(raw), "{raw:?} raw in {out}");
        }
        for escape in ["\\u001b", "\\u007f", "\\u0080", "\\u009b", "\\u009f"] {
            assert!(out.contains(escape), "no {escape} in {out}");
        }
        assert!(out.contains("f\u{a0}é"), "printable text stays: {out}");
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed[0][hostile], hostile);
    }

    #[test]
    fn readable_integers_are_grouped() {
        let mut out = String::new();
        push_readable(&mut out, Field::Int(i64::MIN));
        push_readable(&mut out, Field::UInt(1000));
        assert_eq!(out, "-9,223,372,036,854,775,8081,000");
    }
}
