//! Query errors as values: what went wrong, where (a caret under the spot),
//! what was expected, and a suggestion for a misspelled name.
use super::ast::Span;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text does not follow the grammar.
    Syntax,
    /// A table, column, function or saved query that does not exist.
    UnknownName,
    /// An operator or function applied to values of the wrong kind.
    Type,
    /// Input beyond what the engine accepts (nesting depth, expansion depth).
    Limit,
    /// The caller asked the running query to stop.
    Cancelled,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueryError {
    pub kind: ErrorKind,
    pub message: String,
    /// The text that `span` points into (a saved query's own text when the error is inside one).
    pub query: String,
    pub span: Option<Span>,
    pub expected: Vec<String>,
    pub suggestion: Option<String>,
    /// Where the text came from when it is not what the user typed, e.g. "in @slow".
    pub context: Option<String>,
}

impl QueryError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, span: Option<Span>) -> QueryError {
        QueryError {
            kind,
            message: message.into(),
            query: String::new(),
            span,
            expected: Vec::new(),
            suggestion: None,
            context: None,
        }
    }

    pub fn at(kind: ErrorKind, message: impl Into<String>, span: Span) -> QueryError {
        QueryError::new(kind, message, Some(span))
    }

    pub fn cancelled() -> QueryError {
        QueryError::new(ErrorKind::Cancelled, "query cancelled", None)
    }

    pub fn with_suggestion(mut self, suggestion: Option<String>) -> QueryError {
        self.suggestion = suggestion;
        self
    }

    pub fn with_expected(mut self, expected: Vec<String>) -> QueryError {
        self.expected = expected;
        self
    }

    /// Attaches the text the span refers to, unless one is attached already.
    pub fn in_query(mut self, text: &str) -> QueryError {
        if self.query.is_empty() {
            self.query = text.to_string();
        }
        self
    }

    /// The one-line summary without the caret picture.
    pub fn headline(&self) -> String {
        let mut line = String::new();
        if let Some(context) = &self.context {
            line.push_str(context);
            line.push_str(": ");
        }
        line.push_str(&self.message);
        if !self.expected.is_empty() {
            line.push_str("; expected ");
            line.push_str(&join_alternatives(&self.expected));
        }
        if let Some(s) = &self.suggestion {
            line.push_str(&format!("; did you mean '{s}'?"));
        }
        line
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.headline())?;
        if let Some(span) = self.span {
            let (line, column, width) = caret_position(&self.query, span);
            let (line, column, width) = window(&line, column, width);
            write!(f, "\n  {line}\n  {}{}", " ".repeat(column), "^".repeat(width.max(1)))?;
        }
        Ok(())
    }
}

impl std::error::Error for QueryError {}

/// `a`, `a or b`, `a, b or c`.
fn join_alternatives(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The line holding `span.start`, the caret's column on it (in characters)
/// and how many characters of the span lie on that line.
fn caret_position(text: &str, span: Span) -> (String, usize, usize) {
    let start = floor_char_boundary(text, span.start);
    let end = floor_char_boundary(text, span.end.max(start));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line: String = text[line_start..line_end].chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
    let column = text[line_start..start].chars().count();
    let width = text[start..end.min(line_end)].chars().count();
    (line, column, width)
}

/// Characters of a long line shown around the caret.
const WINDOW: usize = 100;

/// Cuts a long line to the part around the caret, marking the cuts with `...`.
fn window(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WINDOW {
        return (line.to_string(), column, width);
    }
    let start = column.saturating_sub(WINDOW / 2).min(chars.len().saturating_sub(WINDOW));
    let end = (start + WINDOW).min(chars.len());
    let mut shown = String::new();
    let mut offset = 0;
    if start > 0 {
        shown.push_str("...");
        offset = 3;
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push_str("...");
    }
    let column = column - start + offset;
    (shown, column, width.min(end.saturating_sub(column - offset + start)).max(1))
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut i = index.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The candidate closest to `name` by edit distance, when close enough to be a typo.
pub fn did_you_mean<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
    // Edit distance is quadratic; a name this long is no typo of a real one.
    const LONGEST: usize = 64;
    if name.len() > LONGEST {
        return None;
    }
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= limit && d < c.chars().count().max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c.to_string())
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_spot() {
        let e = QueryError::at(ErrorKind::UnknownName, "unknown column 'retn' in syscalls", Span::new(15, 19))
            .with_suggestion(Some("ret".into()))
            .in_query("syscalls where retn != 0");
        assert_eq!(
            e.to_string(),
            "error: unknown column 'retn' in syscalls; did you mean 'ret'?\n  syscalls where retn != 0\n                 ^^^^"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("retn", ["ret", "pid", "tid"]), Some("ret".into()));
        assert_eq!(did_you_mean("syscals", ["syscalls", "samples"]), Some("syscalls".into()));
        assert_eq!(did_you_mean("zzz", ["ret"]), None);
        assert_eq!(did_you_mean(&"r".repeat(100_000), ["ret"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let text = format!("{}x{}", "a".repeat(500), "b".repeat(500));
        let e = QueryError::at(ErrorKind::Syntax, "x", Span::new(500, 501)).in_query(&text);
        let shown = e.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines[1].len() < 120);
        let caret = lines[2].find('^').unwrap();
        assert_eq!(lines[1].as_bytes()[caret], b'x');
    }

    #[test]
    fn caret_survives_odd_spans() {
        let e = QueryError::at(ErrorKind::Syntax, "x", Span::new(100, 2)).in_query("é\nab");
        assert!(e.to_string().contains('^'));
    }
}
