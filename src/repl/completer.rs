//! What rustyline asks of the shell while a line is typed: Tab completion,
//! hints from history, and whether Enter ends the input or opens another line.
use super::meta::{HELP_TOPICS, META_COMMANDS};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use session::CompletionWords;
use std::borrow::Cow;

pub struct ShellHelper {
    /// Refreshed after every command: `.open`, `.save` and `.lib` change them.
    pub words: CompletionWords,
    /// Whether hints may be dimmed with an escape sequence (not under NO_COLOR).
    pub colors: bool,
    files: FilenameCompleter,
    history_hints: HistoryHinter,
}

impl ShellHelper {
    pub fn new(words: CompletionWords, colors: bool) -> ShellHelper {
        ShellHelper { words, colors, files: FilenameCompleter::new(), history_hints: HistoryHinter::new() }
    }

    fn columns_of(&self, table: &str) -> &[String] {
        self.words.tables.iter().find(|(name, _)| name == table).map_or(&[], |(_, columns)| columns.as_slice())
    }

    /// Completes inside a query: the table first, then its columns,
    /// keywords and functions; `@` starts a saved query.
    fn complete_query(&self, text: &str) -> (usize, Vec<Pair>) {
        let start = text.rfind(|c: char| !is_query_word_char(c)).map_or(0, |i| i + next_char_len(text, i));
        let word = &text[start..];
        if in_string(&text[..start]) {
            return (start, Vec::new());
        }
        if let Some(name) = word.strip_prefix('@') {
            let saved = self.words.saved_queries.iter().map(|q| format!("@{q}"));
            return (start, matching(&format!("@{name}"), saved));
        }
        let before = text[..start].trim();
        if before.is_empty() {
            let tables = self.words.tables.iter().map(|(name, _)| name.clone());
            let saved = self.words.saved_queries.iter().map(|q| format!("@{q}"));
            return (start, matching(word, tables.chain(saved)));
        }
        let table = text.trim_start().split(|c: char| !is_query_word_char(c)).next().unwrap_or("");
        let columns = self.columns_of(table).iter().cloned();
        let keywords = self.words.keywords.iter().cloned();
        let functions = self.words.functions.iter().cloned();
        (start, matching(word, columns.chain(keywords).chain(functions)))
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
        let choices: Vec<String> = match command {
            ".open" | ".export" | ".lib" | ".run" => return self.files.complete_path(line, pos),
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
            ".schema" => self.words.tables.iter().map(|(name, _)| name.clone()).collect(),
            ".format" => ["table", "csv", "tsv", "json", "md"].iter().map(|s| s.to_string()).collect(),
            ".copy" => ["tsv", "csv", "md"].iter().map(|s| s.to_string()).collect(),
            ".timer" => ["on", "off"].iter().map(|s| s.to_string()).collect(),
            ".help" => HELP_TOPICS
                .iter()
                .map(|s| s.to_string())
                .chain(META_COMMANDS.iter().map(|m| m.name.trim_start_matches('.').to_string()))
                .chain(self.words.tables.iter().map(|(name, _)| name.clone()))
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

/// Candidates starting with `word` (case aside), each once, in the given order.
fn matching(word: &str, candidates: impl Iterator<Item = String>) -> Vec<Pair> {
    let lower = word.to_lowercase();
    let mut seen = std::collections::HashSet::new();
    candidates
        .filter(|c| c.to_lowercase().starts_with(&lower) && seen.insert(c.clone()))
        .map(|c| Pair { display: c.clone(), replacement: c })
        .collect()
}

/// Whether the text ends inside a quoted string.
fn in_string(text: &str) -> bool {
    open_delimiters(text).1.is_some()
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
    use rustyline::history::DefaultHistory;

    fn helper() -> ShellHelper {
        let words = CompletionWords {
            tables: vec![
                ("samples".into(), vec!["ts".into(), "module".into()]),
                ("syscalls".into(), vec!["ts".into(), "status".into(), "stack".into(), "proc".into()]),
            ],
            keywords: vec!["where".into(), "group".into(), "by".into(), "select".into()],
            functions: vec!["count".into(), "sum".into(), "startswith".into()],
            saved_queries: vec!["failing".into(), "failing_in".into()],
        };
        ShellHelper::new(words, false)
    }

    fn complete(line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, pairs) = helper().complete(line, line.len(), &ctx).unwrap();
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn tables_then_columns_keywords_and_functions() {
        assert_eq!(complete("sy"), (0, vec!["syscalls".to_string()]));
        assert_eq!(complete("syscalls group by sta").1, vec!["status", "stack", "startswith"]);
        assert_eq!(complete("syscalls group by stat"), (18, vec!["status".to_string()]));
        assert_eq!(complete("samples wh").1, vec!["where"]);
        assert_eq!(complete("samples where mod").1, vec!["module"]);
        assert_eq!(complete("syscalls select cou").1, vec!["count"]);
        assert_eq!(complete("syscalls select count(st").1, vec!["status", "stack", "startswith"]);
        assert!(complete("syscalls where proc = \"sta").1.is_empty());
    }

    #[test]
    fn saved_queries_and_meta_commands() {
        assert_eq!(complete("@fail").1, vec!["@failing", "@failing_in"]);
        assert_eq!(complete("@failing_i"), (0, vec!["@failing_in".to_string()]));
        assert_eq!(complete(".sch"), (0, vec![".schema".to_string()]));
        assert_eq!(complete(".schema sy"), (8, vec!["syscalls".to_string()]));
        assert_eq!(complete(".format j").1, vec!["json"]);
        assert_eq!(complete(".save x = syscalls where sta").1, vec!["status", "stack", "startswith"]);
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
    fn any_line_at_any_position_completes_without_panicking() {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let helper = helper();
        for line in
            ["", ".", ". ", "é", "syscalls where proc = \"é", "@", "@é(", ".save =", ".open ", "(((", "\\", "a|b"]
        {
            for pos in 0..=line.len() + 2 {
                let _ = helper.complete(line, pos, &ctx);
            }
        }
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
