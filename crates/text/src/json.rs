//! JSON string literals.
use std::fmt::Write as _;

/// Appends `text` as a JSON string literal. JSON requires C0 controls to be
/// escaped; DEL and C1 (U+0080-U+009F) are escaped too, so that a trace's
/// text cannot reach a terminal as control sequences through a JSON file.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_is_escaped_and_the_literal_parses_back() {
        let hostile = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1b}]52;c;x\u{7}\u{7f}\u{80}\u{9b}2J\u{9f}é\u{a0}";
        let mut out = String::new();
        push_json_string(&mut out, hostile);
        assert!(!out.chars().any(char::is_control), "{out}");
        for escape in ["\\u001b", "\\u007f", "\\u0080", "\\u009b", "\\u009f", "\\b", "\\f"] {
            assert!(out.contains(escape), "no {escape} in {out}");
        }
        assert!(out.contains("é\u{a0}"), "printable text beyond C1 stays: {out}");
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, hostile);
    }
}
