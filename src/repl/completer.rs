//! What rustyline asks of the shell while a line is typed: Tab completion,
//! hints from history, and whether Enter ends the input or opens another line.
use super::meta::{HELP_TOPICS, META_COMMANDS};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};
use session::{Session, CLAUSE_WORDS, KEYWORDS, VIEW_NAMES};
use std::borrow::Cow;
use std::cell::RefCell;

/// The most candidates Tab lists: enough to choose from, few enough to read
/// (a column can have thousands of values, and the NTSTATUS names do).
const MAX_CANDIDATES: usize = 200;

pub struct ShellHelper {
    /// The shell's session while a line is read (see `read_line`), else a
    /// session of no trace. Tab asks it for names and values; only Tab borrows it.
    session: RefCell<Session>,
    /// Whether hints may be dimmed with an escape sequence (not under NO_COLOR).
    pub colors: bool,
    files: FilenameCompleter,
    history_hints: HistoryHinter,
}

/// Reads a line with `session` lent to Tab completion, which needs it to look
/// up field names and values (and may build a small table to find them); the
/// session is back in `session` when the line is read.
pub fn read_line(
    editor: &mut Editor<ShellHelper, DefaultHistory>,
    session: &mut Session,
    prompt: &str,
) -> rustyline::Result<String> {
    if let Some(helper) = editor.helper_mut() {
        std::mem::swap(helper.session.get_mut(), session);
    }
    let line = editor.readline(prompt);
    if let Some(helper) = editor.helper_mut() {
        std::mem::swap(helper.session.get_mut(), session);
    }
    line
}

/// What Tab completes at the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot<'a> {
    /// Nothing: a string that holds no column's value, a comment.
    Nothing,
    /// The first word: a table or a saved query.
    Source,
    /// `@name`.
    Saved,
    /// A word right after `|`: a view or a clause.
    View,
    /// `fields.NAME` of the query's events.
    Field,
    /// A `STATUS_` name.
    Status,
    /// A column of the query's table, a keyword or a function.
    Word,
    /// What `| butterfly` looks for: a function or module of the stack frames,
    /// quoted when the user opened a quote.
    FrameName { quote: Option<char> },
    /// A value of `column`, inside the quotes the user opened.
    Value { column: &'a str, quote: char },
    /// A duration column of the query's table, for `| histogram`.
    DurationColumn,
    /// A file to write, for `| flame`, `| diff flame`, `| export FORMAT` (and `to` of `| chart`, `| histogram`).
    File,
    /// One of a view's fixed words: `tree`/`flame` after `| diff`, a format after `| export`.
    Choice(&'static [&'static str]),
    /// What `| chart` draws: cpu, count or a numeric column of the query's table.
    ChartMeasure,
    /// A column of the query's table, for `| chart ... by`.
    Column,
    /// The next option words of a view (`by`, `every`, `top`, `to`).
    ViewOption(&'static [&'static str]),
}

/// The slot at the end of `text` (a query up to the cursor) and where the text it replaces starts.
fn slot_at(text: &str) -> (usize, Slot<'_>) {
    if text.trim_start().starts_with('#') {
        return (text.len(), Slot::Nothing);
    }
    let tokens = lex(text);
    if let Some(found) = view_argument(text, &tokens) {
        return found;
    }
    if let Some(&(at, Token::Text { quote, closed: false })) = tokens.last() {
        let slot =
            value_column(&tokens[..tokens.len() - 1]).map_or(Slot::Nothing, |column| Slot::Value { column, quote });
        return (at, slot);
    }
    let start = text.rfind(|c: char| !is_query_word_char(c)).map_or(0, |i| i + next_char_len(text, i));
    let word = &text[start..];
    let before: Vec<&Token> = tokens.iter().take_while(|(at, _)| *at < start).map(|(_, t)| t).collect();
    let slot = if word.starts_with('@') {
        Slot::Saved
    } else if before.is_empty() {
        Slot::Source
    } else if before.last() == Some(&&Token::Symbol("|")) {
        Slot::View
    } else if word.to_lowercase().starts_with("fields.") {
        Slot::Field
    } else if word.to_uppercase().starts_with("STATUS_") {
        Slot::Status
    } else {
        Slot::Word
    };
    (start, slot)
}

/// `| diff tree|flame FILE` and `| export FORMAT FILE`: the word, then (for a
/// file-writing choice) the file. `diff tree`'s options complete as any words (columns after `by`).
fn choice_then_file<'a>(view: &str, text: &str, start: usize) -> Option<(usize, Slot<'a>)> {
    const DIFF: &[&str] = &["tree", "flame"];
    const EXPORT: &[&str] = &["speedscope", "firefox", "chrome"];
    let choices = if view == "diff" { DIFF } else { EXPORT };
    let argument = &text[start..];
    let Some(word_end) = argument.find(char::is_whitespace) else {
        return Some((start, Slot::Choice(choices)));
    };
    let word = &argument[..word_end];
    let writes_file = if view == "diff" {
        word.eq_ignore_ascii_case("flame")
    } else {
        EXPORT.contains(&word.to_ascii_lowercase().as_str())
    };
    if !writes_file {
        return None;
    }
    let file = &argument[word_end..];
    let file_start = start + word_end + (file.len() - file.trim_start().len());
    Some((file_start, Slot::File))
}

/// The slot in the words after `| chart` or `| histogram` (from `start`):
/// the measure or column first, then options, a column after `by`, a file after `to`.
fn view_option<'a>(text: &str, start: usize, chart: bool) -> (usize, Slot<'a>) {
    let arguments = &text[start..];
    let words: Vec<&str> = arguments.split_whitespace().collect();
    let typing = !arguments.ends_with(char::is_whitespace);
    // The words before the one being typed (all of them after a space).
    let done = if typing { &words[..words.len().saturating_sub(1)] } else { &words[..] };
    let word_start = if typing { text.len() - words.last().map_or(0, |w| w.len()) } else { text.len() };
    if done.iter().any(|w| w.eq_ignore_ascii_case("to")) {
        let file_start = text[..text.len()].rfind(|c: char| c.is_whitespace()).map_or(word_start, |i| i + 1);
        return match done.last() {
            Some(last) if last.eq_ignore_ascii_case("to") => (file_start, Slot::File),
            _ => (text.len(), Slot::Nothing),
        };
    }
    let slot = match done.last() {
        None if chart => Slot::ChartMeasure,
        None => Slot::DurationColumn,
        Some(last) if chart && last.eq_ignore_ascii_case("by") => Slot::Column,
        Some(last) if ["every", "top"].iter().any(|w| last.eq_ignore_ascii_case(w)) => Slot::Nothing,
        Some(_) if chart => Slot::ViewOption(&["by", "every", "top", "to"]),
        Some(_) => Slot::ViewOption(&["to"]),
    };
    (word_start, slot)
}

/// The slot of a view's argument (`| butterfly NAME`, `| histogram COLUMN`,
/// `| flame FILE`) and where it starts, when the cursor is in it. A view ends
/// the query, so it is the first `|` followed by one of these.
fn view_argument<'a>(text: &str, tokens: &[(usize, Token)]) -> Option<(usize, Slot<'a>)> {
    let (view, end) = tokens.windows(2).find_map(|pair| match pair {
        [(_, Token::Symbol("|")), (at, Token::Word(word))]
            if ["butterfly", "histogram", "flame", "chart", "diff", "export"]
                .iter()
                .any(|v| word.eq_ignore_ascii_case(v)) =>
        {
            Some((word.to_ascii_lowercase(), at + word.len()))
        }
        _ => None,
    })?;
    let argument = &text[end..];
    let start = end + argument.len() - argument.trim_start().len();
    if start == end {
        return None; // no space yet: the view's name is being typed
    }
    if view == "chart" || view == "histogram" {
        return Some(view_option(text, start, view == "chart"));
    }
    if view == "flame" {
        return Some((start, Slot::File));
    }
    if view == "diff" || view == "export" {
        return choice_then_file(&view, text, start);
    }
    Some(match tokens.iter().find(|(at, _)| *at == start) {
        Some(&(_, Token::Text { quote, closed: false })) => (start, Slot::FrameName { quote: Some(quote) }),
        // A string closed: the argument is whole.
        Some((_, Token::Text { closed: true, .. })) => (text.len(), Slot::Nothing),
        _ => (start, Slot::FrameName { quote: None }),
    })
}

/// The column whose value a string opened after `tokens` is: `col = "`,
/// `col != "`, `col ~ "`, `col like "`, `col not contains "`, `col in ("a", "`.
fn value_column<'a>(tokens: &[(usize, Token<'a>)]) -> Option<&'a str> {
    let kinds: Vec<Token<'a>> = tokens.iter().map(|(_, t)| *t).collect();
    let is_word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.eq_ignore_ascii_case(w));
    let mut i = kinds.len().checked_sub(1)?;
    match kinds[i] {
        Token::Symbol("=" | "==" | "!=" | "<>" | "~" | "!~") => {}
        Token::Word(w) if ["like", "contains"].iter().any(|k| w.eq_ignore_ascii_case(k)) => {
            if i > 0 && is_word(&kinds[i - 1], "not") {
                i -= 1;
            }
        }
        Token::Symbol("(" | ",") => {
            // Back over the values already listed, to the list's `(` after `in`.
            while kinds[i] == Token::Symbol(",") {
                i = i.checked_sub(2)?;
                if !matches!(kinds[i + 1], Token::Text { closed: true, .. } | Token::Word(_)) {
                    return None;
                }
            }
            if kinds[i] != Token::Symbol("(") || !is_word(kinds.get(i.checked_sub(1)?)?, "in") {
                return None;
            }
            i -= 1;
            if i > 0 && is_word(&kinds[i - 1], "not") {
                i -= 1;
            }
        }
        _ => return None,
    }
    match kinds.get(i.checked_sub(1)?)? {
        Token::Word(column) if !column.starts_with('@') && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(column)) => {
            Some(column)
        }
        _ => None,
    }
}

/// A piece of a query as Tab sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    /// A name, keyword or number: `fields.FileName`, `@failing`, `0x10`.
    Word(&'a str),
    /// A quoted string, `closed` unless the text ends inside it.
    Text { quote: char, closed: bool },
    /// An operator or punctuation: `!=` and the like are one symbol.
    Symbol(&'a str),
}

/// The tokens of `text` with their offsets; whatever the text, it never fails.
fn lex(text: &str) -> Vec<(usize, Token<'_>)> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '"' || c == '\'' {
            let mut closed = false;
            while let Some((_, inner)) = chars.next() {
                if inner == '\\' {
                    chars.next();
                } else if inner == c {
                    closed = true;
                    break;
                }
            }
            tokens.push((at, Token::Text { quote: c, closed }));
        } else if is_query_word_char(c) {
            let mut end = at + c.len_utf8();
            while let Some(&(i, next)) = chars.peek() {
                if !is_query_word_char(next) {
                    break;
                }
                end = i + next.len_utf8();
                chars.next();
            }
            tokens.push((at, Token::Word(&text[at..end])));
        } else {
            let two = text.get(at..at + 2).filter(|s| ["==", "!=", "<>", "<=", ">=", "!~"].contains(s));
            let symbol = match two {
                Some(two) => {
                    chars.next();
                    two
                }
                None => &text[at..at + c.len_utf8()],
            };
            tokens.push((at, Token::Symbol(symbol)));
        }
    }
    tokens
}

/// `text` as a string literal of the grammar, in `quote`s.
fn quoted(text: &str, quote: char) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

impl ShellHelper {
    /// A helper with a session of no trace until `read_line` lends it the shell's.
    pub fn new(colors: bool) -> ShellHelper {
        ShellHelper::with_session(Session::without_traces(), colors)
    }

    fn with_session(session: Session, colors: bool) -> ShellHelper {
        ShellHelper {
            session: RefCell::new(session),
            colors,
            files: FilenameCompleter::new(),
            history_hints: HistoryHinter::new(),
        }
    }

    /// Completes inside a query: the table first, then its columns,
    /// keywords and functions; `@` starts a saved query; `fields.`, a view
    /// after `|`, a value inside quotes, `STATUS_` names.
    fn complete_query(&self, text: &str) -> (usize, Vec<Pair>) {
        let Ok(mut session) = self.session.try_borrow_mut() else { return (text.len(), Vec::new()) };
        let (start, slot) = slot_at(text);
        let word = &text[start..];
        let saved = |session: &Session| -> Vec<String> {
            session.saved_queries().iter().map(|q| format!("@{}", q.name)).collect()
        };
        let candidates: Vec<String> = match slot {
            Slot::Nothing => Vec::new(),
            Slot::Saved => saved(&session),
            Slot::Source => {
                let tables = session::table_schemas().iter().map(|t| t.name.to_string());
                tables.chain(saved(&session)).collect()
            }
            Slot::View => VIEW_NAMES.iter().chain(CLAUSE_WORDS).map(|w| w.to_string()).collect(),
            Slot::Choice(words) => words.iter().map(|w| w.to_string()).collect(),
            Slot::Field => match session.source_table(text) {
                Some(table) => {
                    session.completion_field_names(&table).into_iter().map(|name| format!("fields.{name}")).collect()
                }
                None => Vec::new(),
            },
            Slot::Status => session.constant_names().into_iter().filter(|n| n.starts_with("STATUS_")).collect(),
            Slot::Word => {
                let words = session.completion_words();
                let table = session.source_table(text).unwrap_or_default();
                let columns = words.tables.into_iter().filter(|(name, _)| *name == table).flat_map(|(_, c)| c);
                columns.chain(words.keywords).chain(words.functions).collect()
            }
            Slot::FrameName { quote } => {
                let names = session.completion_frame_names().into_iter();
                match quote {
                    Some(quote) => names.map(|name| quoted(&name, quote)).collect(),
                    None => names.collect(),
                }
            }
            Slot::DurationColumn => {
                let table = session.source_table(text).unwrap_or_default();
                let columns = session.schema(&table).unwrap_or_default().into_iter();
                columns.filter(|(_, kind, _)| kind == "duration").map(|(name, _, _)| name).collect()
            }
            Slot::ChartMeasure | Slot::Column => {
                let table = session.source_table(text).unwrap_or_default();
                let columns = session.schema(&table).unwrap_or_default().into_iter();
                let numeric = |kind: &str| ["duration", "i64", "u64", "f64"].contains(&kind);
                match slot {
                    Slot::ChartMeasure => ["cpu".to_string(), "count".to_string()]
                        .into_iter()
                        .chain(columns.filter(|(_, kind, _)| numeric(kind)).map(|(name, _, _)| name))
                        .collect(),
                    _ => columns.map(|(name, _, _)| name).collect(),
                }
            }
            Slot::ViewOption(words) => words.iter().map(|w| w.to_string()).collect(),
            Slot::File => {
                drop(session);
                return self.files.complete_path(text, text.len()).unwrap_or((text.len(), Vec::new()));
            }
            Slot::Value { column, quote } => match session.source_table(text) {
                Some(table) => {
                    session.completion_values(&table, column).iter().map(|value| quoted(value, quote)).collect()
                }
                None => Vec::new(),
            },
        };
        (start, matching(word, candidates.into_iter()))
    }

    fn complete_meta(&self, line: &str, pos: usize) -> rustyline::Result<(usize, Vec<Pair>)> {
        let text = &line[..pos];
        let dot = text.len() - text.trim_start().len();
        let Some(space) = text[dot..].find(char::is_whitespace).map(|i| i + dot) else {
            let names = META_COMMANDS.iter().map(|m| m.name.to_string());
            return Ok((dot, matching(&text[dot..], names)));
        };
        let command = &text[dot..space];
        let argument_start = text.len() - text[space..].trim_start().len();
        let argument = &text[argument_start..];
        let tables = || session::table_schemas().iter().map(|t| t.name.to_string());
        let choices: Vec<String> = match command {
            ".open" | ".export" | ".lib" | ".run" | ".read" | ".output" => return self.files.complete_path(line, pos),
            ".save" => {
                // After `NAME =` comes a query.
                return Ok(match text.find('=') {
                    Some(eq) => {
                        let query_start = eq + 1;
                        let (start, pairs) = self.complete_query(&text[query_start..]);
                        (start + query_start, pairs)
                    }
                    None => (pos, Vec::new()),
                });
            }
            ".schema" => tables().collect(),
            ".format" => ["table", "line", "csv", "tsv", "json", "md"].iter().map(|s| s.to_string()).collect(),
            ".copy" => ["tsv", "csv", "md"].iter().map(|s| s.to_string()).collect(),
            ".timer" => ["on", "off"].iter().map(|s| s.to_string()).collect(),
            ".help" => HELP_TOPICS
                .iter()
                .map(|s| s.to_string())
                .chain(META_COMMANDS.iter().map(|m| m.name.trim_start_matches('.').to_string()))
                .chain(tables())
                .collect(),
            _ => Vec::new(),
        };
        Ok((argument_start, matching(argument, choices.into_iter())))
    }
}

fn next_char_len(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(1, char::len_utf8)
}

/// Letters of a name as Tab sees them: `fields.FileName` and `@failing` are one word.
fn is_query_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '@'
}

/// Candidates starting with `word` (case aside), sorted (case aside), each
/// once, at most `MAX_CANDIDATES`. Cut short, the list keeps the candidate
/// that shares the least with the first, so that the prefix rustyline puts in
/// for them all is no longer than the one all matches share.
fn matching(word: &str, candidates: impl Iterator<Item = String>) -> Vec<Pair> {
    let lower = word.to_lowercase();
    let mut found: Vec<String> = candidates.filter(|c| c.to_lowercase().starts_with(&lower)).collect();
    found.sort_by_cached_key(|c| (c.to_lowercase(), c.clone()));
    found.dedup();
    if found.len() > MAX_CANDIDATES {
        let shared = |c: &String| c.bytes().zip(found[0].bytes()).take_while(|(a, b)| a == b).count();
        let least = found.iter().enumerate().min_by_key(|(_, c)| shared(c)).map_or(0, |(i, _)| i);
        if least >= MAX_CANDIDATES {
            let kept = found.remove(least);
            found.truncate(MAX_CANDIDATES - 1);
            found.push(kept);
        }
        found.truncate(MAX_CANDIDATES);
    }
    found.into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect()
}

/// Unclosed parentheses, and the quote still open at the end (backslash
/// escapes inside strings, as the grammar has them).
fn open_delimiters(text: &str) -> (i64, Option<char>) {
    let mut depth = 0i64;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => {
                chars.next();
            }
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            },
        }
    }
    (depth, quote)
}

/// Whether Enter should open another line: a `(` or a quote is still open.
pub fn input_is_incomplete(text: &str) -> bool {
    let (depth, quote) = open_delimiters(text);
    depth > 0 || quote.is_some()
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let pos = pos.min(line.len());
        if !line.is_char_boundary(pos) {
            return Ok((pos, Vec::new()));
        }
        if line[..pos].trim_start().starts_with('.') {
            return self.complete_meta(line, pos);
        }
        Ok(self.complete_query(&line[..pos]))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.history_hints.hint(line, pos, ctx)
    }
}

impl Highlighter for ShellHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colors {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if input_is_incomplete(ctx.input()) { ValidationResult::Incomplete } else { ValidationResult::Valid(None) })
    }
}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;
    use session::Value;
    use std::collections::BTreeSet;

    fn helper() -> ShellHelper {
        let mut session = Session::demo();
        session.save_query("failing = syscalls where ret >= 0xC0000000").unwrap();
        session.save_query("failing_in(p) = @failing where proc = $p").unwrap();
        session.save_query("loads = events where event = \"Image/DCStart\"").unwrap();
        ShellHelper::with_session(session, false)
    }

    fn complete_with(helper: &ShellHelper, line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, pairs) = helper.complete(line, line.len(), &ctx).unwrap();
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    fn complete(line: &str) -> (usize, Vec<String>) {
        complete_with(&helper(), line)
    }

    /// The distinct texts of a query's first column, as the query engine gives them.
    fn queried(query: &str) -> BTreeSet<String> {
        let table = Session::demo().query(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        (0..table.row_count())
            .filter_map(|r| match table.row(r).into_iter().next() {
                Some(Value::Str(s)) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_slot_at_the_cursor() {
        let value = |column, quote| Slot::Value { column, quote };
        let cases: &[(&str, usize, Slot)] = &[
            ("", 0, Slot::Source),
            ("sys", 0, Slot::Source),
            ("  sys", 2, Slot::Source),
            ("@fail", 0, Slot::Saved),
            ("syscalls where @f", 15, Slot::Saved),
            ("syscalls where pr", 15, Slot::Word),
            ("syscalls where ", 15, Slot::Word),
            ("syscalls | ", 11, Slot::View),
            ("syscalls | tr", 11, Slot::View),
            ("syscalls|tr", 9, Slot::View),
            ("syscalls where proc = \"a|b\" | fl", 30, Slot::View),
            ("syscalls | where proc = \"a|", 24, value("proc", '"')),
            ("events where fields.", 13, Slot::Field),
            ("events select FIELDS.fi", 14, Slot::Field),
            ("syscalls where ret = STATUS_ACC", 21, Slot::Status),
            ("syscalls where ret = status_", 21, Slot::Status),
            ("syscalls where status", 15, Slot::Word),
            ("samples | butterfly ", 20, Slot::FrameName { quote: None }),
            ("samples | butterfly Nt", 20, Slot::FrameName { quote: None }),
            ("samples | butterfly  ntdll.dll!Nt", 21, Slot::FrameName { quote: None }),
            ("samples | BUTTERFLY 'Sle", 20, Slot::FrameName { quote: Some('\'') }),
            ("samples | butterfly \"Sleep\" ", 28, Slot::Nothing),
            ("samples | butterfly", 10, Slot::View),
            ("cswitch | histogram ", 20, Slot::DurationColumn),
            ("cswitch | histogram rea", 20, Slot::DurationColumn),
            ("cswitch | histogram ready_ns ", 29, Slot::ViewOption(&["to"])),
            ("cswitch | histogram ready_ns to x", 32, Slot::File),
            ("samples | chart ", 16, Slot::ChartMeasure),
            ("samples | chart c", 16, Slot::ChartMeasure),
            ("samples | chart cpu ", 20, Slot::ViewOption(&["by", "every", "top", "to"])),
            ("samples | chart cpu by pr", 23, Slot::Column),
            ("samples | chart cpu by proc every ", 34, Slot::Nothing),
            ("samples | chart cpu by proc to out", 31, Slot::File),
            ("samples | flame out", 16, Slot::File),
            ("samples | where module = \"x\" | butterfly a | b", 41, Slot::FrameName { quote: None }),
            ("syscalls where proc = \"stra", 22, value("proc", '"')),
            ("syscalls where proc == 'stra", 23, value("proc", '\'')),
            ("syscalls where proc != \"", 23, value("proc", '"')),
            ("syscalls where proc<>\"", 21, value("proc", '"')),
            ("syscalls where func ~ \"^Nt", 22, value("func", '"')),
            ("syscalls where func !~ \"", 23, value("func", '"')),
            ("syscalls where module like \"ted*", 27, value("module", '"')),
            ("syscalls where module not like \"", 31, value("module", '"')),
            ("syscalls where proc contains \"", 29, value("proc", '"')),
            ("syscalls where status in (\"", 26, value("status", '"')),
            ("syscalls where status not in (\"STATUS_TIMEOUT\", 'x', \"", 53, value("status", '"')),
            ("syscalls where status in (STATUS_TIMEOUT, \"", 42, value("status", '"')),
            ("registry where op = \"Op", 20, value("op", '"')),
            ("syscalls where proc = \"a\\\"b", 22, value("proc", '"')),
            ("syscalls where \"", 15, Slot::Nothing),
            ("syscalls where proc > \"", 22, Slot::Nothing),
            ("syscalls where in (\"", 19, Slot::Nothing),
            ("syscalls where f(\"", 17, Slot::Nothing),
            ("syscalls where proc = \"x\" and func = \"", 37, value("func", '"')),
            ("\"", 0, Slot::Nothing),
            ("# syscalls where proc = \"", 25, Slot::Nothing),
        ];
        for (text, start, slot) in cases {
            assert_eq!(slot_at(text), (*start, *slot), "{text:?}");
        }
    }

    #[test]
    fn tables_then_columns_keywords_and_functions_sorted() {
        assert_eq!(complete("sy"), (0, vec!["syscalls".to_string()]));
        assert_eq!(complete("syscalls group by sta").1, vec!["stack", "startswith", "status"]);
        assert_eq!(complete("syscalls group by stat"), (18, vec!["status".to_string()]));
        assert_eq!(complete("samples wh").1, vec!["where"]);
        assert_eq!(complete("samples where mod").1, vec!["module"]);
        assert_eq!(complete("syscalls select cou").1, vec!["count"]);
        // The columns of a saved query's table.
        assert_eq!(complete("@failing where object_k").1, vec!["object_kind"]);
        assert_eq!(complete("@failing_in(\"x\") where sever").1, vec!["severity"]);
        // Case aside, then each once.
        let listed = complete("syscalls select s").1;
        let mut sorted = listed.clone();
        sorted.sort_by_key(|c| c.to_lowercase());
        sorted.dedup();
        assert_eq!(listed, sorted);
    }

    #[test]
    fn fields_of_the_events_the_query_reads() {
        // The field names of the demo's decoded events, by the query engine.
        let all = Session::demo().query("events select fields").unwrap();
        let fields = all.column("fields").unwrap();
        let mut names = BTreeSet::new();
        for row in 0..all.row_count() {
            if let Value::Fields(map) = fields.value(row) {
                names.extend(map.iter().map(|(name, _)| name.to_string()));
            }
        }
        assert!(!names.is_empty());
        let helper = helper();
        for name in &names {
            let typed: String = name.chars().take(3).collect::<String>().to_lowercase();
            let (start, found) = complete_with(&helper, &format!("events where fields.{typed}"));
            assert_eq!(start, 13);
            assert!(found.contains(&format!("fields.{name}")), "{typed}: {found:?}");
            assert!(found.iter().all(|f| f.to_lowercase().starts_with(&format!("fields.{typed}"))), "{found:?}");
        }
        // Through a saved query, and in any case.
        let name = names.iter().next().unwrap();
        assert!(complete_with(&helper, "@loads select Fields.").1.contains(&format!("fields.{name}")));
        // A table without field maps has none.
        assert!(complete_with(&helper, "syscalls where fields.").1.is_empty());
    }

    #[test]
    fn views_and_clauses_after_a_pipe() {
        assert_eq!(complete("samples | tr").1, vec!["tree"]);
        assert_eq!(complete("samples |f").1, vec!["flame", "folded"]);
        assert_eq!(complete("samples where proc = \"a\" | h"), (27, vec!["histogram".to_string()]));
        let all = complete("samples | ").1;
        for view in VIEW_NAMES {
            assert!(all.contains(&view.to_string()), "{view}: {all:?}");
        }
        assert!(all.contains(&"where".to_string()));
        assert_eq!(complete("samples | diff ").1, vec!["flame", "tree"]);
        assert_eq!(complete("samples | diff t"), (15, vec!["tree".to_string()]));
        assert_eq!(complete("samples | export ").1, vec!["chrome", "firefox", "speedscope"]);
        assert_eq!(complete("samples | export sp").1, vec!["speedscope"]);
        assert_eq!(slot_at("samples | export speedscope out"), (28, Slot::File));
        assert_eq!(slot_at("samples | diff flame a"), (21, Slot::File));
    }

    #[test]
    fn butterfly_offers_the_functions_and_modules_of_the_frames() {
        let funcs = queried("frames where func is not null group by func");
        let modules = queried("frames where module is not null group by module");
        let line = "samples | butterfly ";
        let (start, all) = complete(line);
        assert_eq!(start, line.len());
        let all: BTreeSet<String> = all.into_iter().collect();
        assert_eq!(all, funcs.union(&modules).cloned().collect());
        let sleep: Vec<String> = funcs.iter().filter(|f| f.to_lowercase().starts_with("sle")).cloned().collect();
        assert!(!sleep.is_empty());
        assert_eq!(complete("samples | butterfly sle").1, sleep);
        let quoted: Vec<String> = sleep.iter().map(|f| format!("\"{f}\"")).collect();
        assert_eq!(complete("samples | butterfly \"Sle").1, quoted);
    }

    #[test]
    fn duration_columns_after_histogram_and_files_after_flame() {
        let durations: Vec<String> = Session::demo()
            .schema("cswitch")
            .unwrap()
            .into_iter()
            .filter(|(_, kind, _)| kind == "duration")
            .map(|(name, _, _)| name)
            .collect();
        assert!(!durations.is_empty());
        let (start, found) = complete("cswitch where cpu = 1 | histogram ");
        assert_eq!(start, 34);
        assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), durations.into_iter().collect());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("flame_one.svg"), b"").unwrap();
        let (_, found) = complete(&format!("samples | flame {}/flame_o", dir.path().display()));
        assert_eq!(found.len(), 1);
        assert!(found[0].ends_with("flame_one.svg"), "{found:?}");
    }

    #[test]
    fn values_of_the_column_inside_quotes() {
        let procs = queried("syscalls group by proc");
        let strace: Vec<String> = procs.iter().filter(|p| p.starts_with("stra")).map(|p| format!("\"{p}\"")).collect();
        assert_eq!(strace, vec!["\"strace.exe\""], "the demo's planted process");
        assert_eq!(complete("syscalls where proc = \"stra"), (22, strace.clone()));
        assert_eq!(complete("syscalls where proc = \"STRA").1, strace);
        assert_eq!(complete("@failing where proc != \"stra").1, strace);
        let every: BTreeSet<String> = complete("syscalls where proc in ('x', '").1.into_iter().collect();
        assert_eq!(every, procs.iter().map(|p| format!("'{p}'")).collect());
        let statuses = queried("syscalls group by status");
        let found: BTreeSet<String> = complete("syscalls where status = \"STATUS_").1.into_iter().collect();
        assert_eq!(found, statuses.iter().map(|s| format!("\"{s}\"")).collect());
        let ops = queried("registry group by op");
        let found: BTreeSet<String> = complete("registry where op like \"").1.into_iter().collect();
        assert_eq!(found, ops.iter().map(|s| format!("\"{s}\"")).collect());
        // A string that holds no column's value, or a column that is not text.
        assert!(complete("syscalls where proc = \"x\" and \"").1.is_empty());
        assert!(complete("syscalls where ret = \"").1.is_empty());
        assert!(complete("nosuch where proc = \"").1.is_empty());
    }

    #[test]
    fn status_names() {
        let (start, found) = complete("syscalls where ret = STATUS_ACCESS_DEN");
        assert_eq!(start, 21);
        assert_eq!(found, vec!["STATUS_ACCESS_DENIED"]);
        assert_eq!(complete("syscalls where ret = status_access_den").1, vec!["STATUS_ACCESS_DENIED"]);
        let each = complete("syscalls where ret = STATUS_").1;
        assert_eq!(each.len(), MAX_CANDIDATES, "thousands of names, cut short");
        assert!(each.iter().all(|n| n.starts_with("STATUS_")));
    }

    #[test]
    fn a_long_list_is_cut_but_keeps_the_prefix_all_share() {
        let many = (0..1000).map(|i| format!("STATUS_A{i:04}")).chain(["STATUS_B".to_string()]);
        let found: Vec<String> = matching("status_", many).into_iter().map(|p| p.replacement).collect();
        assert_eq!(found.len(), MAX_CANDIDATES);
        assert_eq!(found.last().map(String::as_str), Some("STATUS_B"));
        let sorted = found.windows(2).all(|w| w[0].to_lowercase() <= w[1].to_lowercase());
        assert!(sorted, "{found:?}");
    }

    #[test]
    fn saved_queries_and_meta_commands() {
        assert_eq!(complete("@fail").1, vec!["@failing", "@failing_in"]);
        assert_eq!(complete("@failing_i"), (0, vec!["@failing_in".to_string()]));
        assert_eq!(complete(".sch"), (0, vec![".schema".to_string()]));
        assert_eq!(complete(".schema sy"), (8, vec!["syscalls".to_string()]));
        assert_eq!(complete(".format j").1, vec!["json"]);
        assert_eq!(complete(".format l").1, vec!["line"]);
        assert_eq!(complete(".save x = syscalls where sta").1, vec!["stack", "startswith", "status"]);
        assert_eq!(complete(".save x = syscalls where proc = \"stra").1, vec!["\"strace.exe\""]);
    }

    #[test]
    fn file_paths_after_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("trace_one.etl"), b"").unwrap();
        let line = format!(".open {}/trace_o", dir.path().display());
        let (_, found) = complete(&line);
        assert_eq!(found.len(), 1);
        assert!(found[0].ends_with("trace_one.etl"), "{found:?}");
    }

    #[test]
    fn a_session_of_no_trace_offers_names_but_no_values() {
        let helper = ShellHelper::new(false);
        assert_eq!(complete_with(&helper, "sysc").1, vec!["syscalls"]);
        assert!(complete_with(&helper, "syscalls where proc = \"").1.is_empty());
        assert!(complete_with(&helper, "events where fields.").1.is_empty());
    }

    #[test]
    fn any_line_at_any_position_completes_without_panicking() {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let helper = helper();
        let long = format!("syscalls where proc = \"{}", "é\"|(".repeat(20_000));
        let lines = [
            "",
            ".",
            ". ",
            "é",
            "syscalls where proc = \"é",
            "syscalls where proc in (,,,\"",
            "syscalls where , in (\"",
            "( in (\"",
            "= \"",
            "@",
            "@é(",
            "@@@",
            ".save =",
            ".save x = @",
            ".open ",
            "(((",
            "\\",
            "\"\\",
            "a|b",
            "|",
            "| butterfly",
            "| butterfly \"",
            "samples | butterfly 'é",
            "events where fields.é",
            "STATUS_",
            "x STATUS_\u{1F600}",
            "😀 | 😀 = \"😀",
            &long,
        ];
        for line in lines {
            for pos in 0..=line.len().min(400) + 2 {
                let _ = helper.complete(line, pos, &ctx);
            }
            let started = std::time::Instant::now();
            let _ = helper.complete(line, line.len(), &ctx);
            assert!(started.elapsed() < std::time::Duration::from_secs(2), "{} bytes", line.len());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 300, ..Default::default() })]
        /// Lines made of the pieces that steer completion, in any order, with
        /// the cursor anywhere: an answer, never a panic, and a start inside the line.
        #[test]
        fn pieces_of_queries_in_any_order_complete(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "syscalls", "events", "samples", "@failing", "@", " ", "where", "proc", "=", "!=", "~", "like",
                "not", "in", "(", ")", ",", "\"", "'", "\\", "|", "butterfly", "tree", "fields.", "fields.File",
                "STATUS_", "status_acc", "stra", "é", "😀", "\n", ".", ".save x =", "#",
            ]), 0..14),
            cut in 0usize..200,
        ) {
            let line: String = pieces.concat();
            let mut pos = cut.min(line.len());
            while !line.is_char_boundary(pos) {
                pos -= 1;
            }
            let (start, _) = slot_at(&line[..pos]);
            proptest::prop_assert!(start <= pos && line.is_char_boundary(start));
            let history = DefaultHistory::new();
            let ctx = Context::new(&history);
            let (start, pairs) = HELPER.with(|helper| helper.complete(&line, pos, &ctx)).unwrap();
            proptest::prop_assert!(start <= pos);
            proptest::prop_assert!(pairs.len() <= MAX_CANDIDATES);
        }
    }

    thread_local! {
        /// One demo session for the property test's hundreds of lines.
        static HELPER: ShellHelper = helper();
    }

    #[test]
    fn open_parentheses_and_quotes_continue_the_input() {
        assert!(input_is_incomplete("syscalls where (ret != 0"));
        assert!(input_is_incomplete("syscalls where proc = \"str"));
        assert!(input_is_incomplete("syscalls where proc = 'a\\'"));
        assert!(!input_is_incomplete("syscalls where proc = \"(\""));
        assert!(!input_is_incomplete("syscalls where (ret != 0)"));
        assert!(!input_is_incomplete("syscalls where ret != 0)"));
    }
}
