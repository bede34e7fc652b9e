//! Control characters made visible. Trace text comes from the traced machine:
//! a process name or event field holding ESC ] 52 (clipboard), ESC ] 0 (window
//! title), ESC [ 2 J (clear screen) or CR/LF (forged lines) must not reach the
//! analyst's terminal as control. Every text format (table, csv, tsv, md, the
//! text dump) writes them as visible escapes: `\n`, `\r`, `\t`, `\x1b` for the
//! other C0 controls and DEL, `\u{9b}` for C1 controls (U+0080-U+009F, which
//! some terminals obey as 8-bit escapes). Backslashes are left alone (Windows
//! paths are full of them), so the escapes are for reading, not reversible.

/// Whether `text` holds a control character: a byte below 0x20, DEL, or a C1
/// control (UTF-8 C2 80..C2 9F). 0xC2 also starts harmless Latin-1 letters:
/// those take the slow path and come out unchanged.
fn has_control(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2)
}

/// Appends `text` to `out` with its control characters escaped.
pub fn push_escaped(out: &mut String, text: &str) {
    if !has_control(text) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// `text` with its control characters escaped (borrowed when it has none).
pub fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_control(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    push_escaped(&mut out, text);
    std::borrow::Cow::Owned(out)
}

/// Escapes the control characters of `text[start..]` in place: for a line
/// built with `write!` whose parts came from a trace.
pub fn escape_from(text: &mut String, start: usize) {
    if !has_control(&text[start..]) {
        return;
    }
    let tail = text.split_off(start);
    push_escaped(text, &tail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_become_visible() {
        let hostile = "a\x1b]52;c;ZXZpbA==\x07b\x1b]0;title\x07\x1b[2J\r\nc\td\x7f\u{9b}2J é";
        let shown = escaped(hostile);
        assert_eq!(shown, "a\\x1b]52;c;ZXZpbA==\\x07b\\x1b]0;title\\x07\\x1b[2J\\r\\nc\\td\\x7f\\u{9b}2J é");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert_eq!(escaped("C:\\Windows\\é"), "C:\\Windows\\é");
        let mut line = String::from("keep\n");
        line.push_str("x\ry");
        escape_from(&mut line, 5);
        assert_eq!(line, "keep\nx\\ry");
    }
}
