//! Query text to AST with nom. The grammar is written out in grammar/etwq.ebnf;
//! a test parses every example there so the document stays true.
//!
//! Errors report the furthest point the parser reached and everything it
//! would have accepted there. Nesting is depth-limited so that no input can
//! overflow the stack.
use super::ast::*;
use super::error::{did_you_mean, ErrorKind, QueryError};
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, hex_digit1, multispace0};
use nom::combinator::{opt, recognize};
use nom::sequence::{pair, preceded};
use std::cell::RefCell;

/// The deepest an expression tree may be: parentheses, `not`, unary minus,
/// function arguments and chains of binary operators all count.
pub const MAX_DEPTH: usize = 64;

/// Words that cannot name a column (they start or join clauses and operators).
pub const KEYWORDS: &[&str] = &[
    "where", "between", "and", "or", "not", "group", "by", "select", "order", "asc", "desc", "limit", "top", "as",
    "in", "like", "contains", "is", "null", "true", "false", "join", "left", "during", "on",
];

/// The words that start a clause.
pub const CLAUSE_WORDS: &[&str] =
    &["where", "between", "join", "left", "during", "group", "select", "order", "limit", "top"];

const CLAUSE_EXPECTED: &str = "a clause (where, between, join, during, group by, select, order by, limit, top)";

/// How deeply sub-queries (`join (QUERY) as x`) may nest.
pub const MAX_SUBQUERY_DEPTH: usize = 8;

/// The views that may end a query after `|`; they are not keywords, so columns may bear these names.
pub const VIEW_NAMES: &[&str] =
    &["tree", "butterfly", "folded", "flame", "histogram", "waits", "chart", "diff", "export"];

const VIEW_EXPECTED: &str = "a view (tree, butterfly, folded, flame, histogram, waits, chart, diff, export)";

type NomError<'a> = nom::error::Error<&'a str>;
type PResult<'a, T> = nom::IResult<&'a str, T, NomError<'a>>;

/// Parses one query.
pub fn parse_query(text: &str) -> Result<Query, QueryError> {
    let parser = Parser { src: text, furthest: RefCell::new((0, Vec::new())), fatal: RefCell::new(None) };
    parser.query(text).map_err(|e| e.in_query(text))
}

/// Parses a standalone expression (used for saved-query arguments and tests).
pub fn parse_expression(text: &str) -> Result<Expr, QueryError> {
    let parser = Parser { src: text, furthest: RefCell::new((0, Vec::new())), fatal: RefCell::new(None) };
    let result = match parser.or_expr(text, 0) {
        Ok((rest, expr)) if parser.ws(rest).is_empty() => Ok(expr),
        Ok((rest, _)) => Err(parser.syntax_error(rest, &["an operator or the end of the expression"])),
        Err(_) => Err(parser.take_error()),
    };
    result.map_err(|e| e.in_query(text))
}

struct Parser<'a> {
    src: &'a str,
    /// The furthest offset any token was expected at, and what was expected there.
    furthest: RefCell<(usize, Vec<String>)>,
    /// An error that stops parsing outright (bad literal, too deep).
    fatal: RefCell<Option<QueryError>>,
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A name written in CONSTANT_CASE (letters, digits and `_`, at least one `_`, no lower case)
/// is a named constant such as `STATUS_ACCESS_DENIED`; the catalog gives its value.
fn is_constant_name(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_uppercase())
        && word.contains('_')
        && word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

impl<'a> Parser<'a> {
    fn off(&self, i: &str) -> usize {
        self.src.len().saturating_sub(i.len())
    }

    fn span(&self, from: &str, to: &str) -> Span {
        Span::new(self.off(from), self.off(to))
    }

    /// Records that `label` would have been accepted at `i`, and fails softly.
    fn expected(&self, i: &'a str, label: &str) -> nom::Err<NomError<'a>> {
        let at = self.off(i);
        let mut furthest = self.furthest.borrow_mut();
        if at > furthest.0 {
            *furthest = (at, Vec::new());
        }
        if at == furthest.0 && !furthest.1.iter().any(|l| l == label) {
            furthest.1.push(label.to_string());
        }
        nom::Err::Error(NomError::new(i, nom::error::ErrorKind::Tag))
    }

    /// Stops parsing with `error`.
    fn fail(&self, i: &'a str, error: QueryError) -> nom::Err<NomError<'a>> {
        self.fatal.borrow_mut().get_or_insert(error);
        nom::Err::Failure(NomError::new(i, nom::error::ErrorKind::Verify))
    }

    fn too_deep(&self, i: &'a str) -> nom::Err<NomError<'a>> {
        let at = self.off(i);
        self.fail(
            i,
            QueryError::at(
                ErrorKind::Limit,
                format!("expression nested too deeply (the limit is {MAX_DEPTH} levels)"),
                Span::new(at, at + 1),
            ),
        )
    }

    /// The error to report once parsing failed: a fatal one, else the furthest expectation.
    fn take_error(&self) -> QueryError {
        if let Some(error) = self.fatal.borrow_mut().take() {
            return error;
        }
        let (at, labels) = self.furthest.borrow().clone();
        let rest = self.src.get(at..).unwrap_or("");
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        self.syntax_error(rest, &labels)
    }

    fn syntax_error(&self, rest: &'a str, expected: &[&str]) -> QueryError {
        let at = self.off(rest);
        let (token, _) = self.next_token(rest);
        let error = if token.is_empty() {
            QueryError::at(ErrorKind::Syntax, "unexpected end of query", Span::new(at, at + 1))
        } else {
            QueryError::at(ErrorKind::Syntax, format!("unexpected '{token}'"), Span::new(at, at + token.len()))
        };
        let clause_expected = expected.iter().any(|l| l.starts_with("a clause"));
        let view_expected = expected.contains(&VIEW_EXPECTED);
        let suggestion = if (clause_expected || view_expected) && token.chars().all(is_word_char) {
            let views = if view_expected { VIEW_NAMES } else { &[] };
            did_you_mean(token, CLAUSE_WORDS.iter().chain(views).copied())
        } else {
            None
        };
        error.with_expected(expected.iter().map(|s| s.to_string()).collect()).with_suggestion(suggestion)
    }

    /// The word or single character at `i` (no whitespace skipping).
    fn next_token(&self, i: &'a str) -> (&'a str, &'a str) {
        let word: PResult<&str> = take_while1(is_word_char)(i);
        match word {
            Ok((rest, w)) => (w, rest),
            Err(_) => {
                let len = i.chars().next().map_or(0, char::len_utf8);
                (&i[..len], &i[len..])
            }
        }
    }

    fn ws(&self, i: &'a str) -> &'a str {
        let skipped: PResult<&str> = multispace0(i);
        skipped.map_or(i, |(rest, _)| rest)
    }

    /// The next word, whatever it is, without consuming it.
    fn peek_word(&self, i: &'a str) -> Option<(&'a str, &'a str)> {
        let i = self.ws(i);
        let word: PResult<&str> = recognize(pair(take_while1(is_word_start), take_while(is_word_char)))(i);
        word.ok().map(|(rest, w)| (w, rest))
    }

    /// A keyword, case-insensitively, as a whole word; silent when absent.
    fn try_kw(&self, i: &'a str, keyword: &str) -> Option<&'a str> {
        match self.peek_word(i) {
            Some((word, rest)) if word.eq_ignore_ascii_case(keyword) => Some(rest),
            _ => None,
        }
    }

    fn kw(&self, i: &'a str, keyword: &str) -> PResult<'a, ()> {
        match self.try_kw(i, keyword) {
            Some(rest) => Ok((rest, ())),
            None => Err(self.expected(self.ws(i), &format!("'{keyword}'"))),
        }
    }

    fn try_sym(&self, i: &'a str, symbol: &str) -> Option<&'a str> {
        let found: PResult<&str> = tag(symbol)(self.ws(i));
        found.ok().map(|(rest, _)| rest)
    }

    fn sym(&self, i: &'a str, symbol: &str) -> PResult<'a, ()> {
        match self.try_sym(i, symbol) {
            Some(rest) => Ok((rest, ())),
            None => Err(self.expected(self.ws(i), &format!("'{symbol}'"))),
        }
    }

    /// A name that is not a keyword.
    fn ident(&self, i: &'a str, label: &str) -> PResult<'a, (String, Span)> {
        let start = self.ws(i);
        match self.peek_word(start) {
            Some((word, rest)) if !is_keyword(word) => Ok((rest, (word.to_string(), self.span(start, rest)))),
            _ => Err(self.expected(start, label)),
        }
    }

    fn unsigned(&self, i: &'a str) -> PResult<'a, (u64, Span)> {
        let start = self.ws(i);
        let digits: PResult<&str> = digit1(start);
        let Ok((rest, digits)) = digits else {
            return Err(self.expected(start, "a whole number"));
        };
        match digits.parse::<u64>() {
            Ok(n) => Ok((rest, (n, self.span(start, rest)))),
            Err(_) => {
                Err(self.fail(start, QueryError::at(ErrorKind::Syntax, "number too large", self.span(start, rest))))
            }
        }
    }

    // ---- queries and clauses ----

    fn query(&self, i: &'a str) -> Result<Query, QueryError> {
        let (mut i, source) = self.source(i).map_err(|_| self.take_error())?;
        let mut clauses = Vec::new();
        loop {
            let before = self.ws(i);
            if before.is_empty() {
                break;
            }
            let after_pipe = self.try_sym(before, "|");
            if let Some(at) = after_pipe.filter(|&at| self.starts_view(at)) {
                let view = self.view_to_end(at)?;
                return Ok(Query { source, clauses, view: Some(view) });
            }
            let at = after_pipe.unwrap_or(before);
            match self.clause(at, 0) {
                Ok((rest, clause)) => {
                    clauses.push(clause);
                    i = rest;
                }
                Err(nom::Err::Failure(_)) => return Err(self.take_error()),
                Err(_) => {
                    match after_pipe {
                        Some(at) => self.expected(self.ws(at), VIEW_EXPECTED),
                        None => self.expected(before, "the end of the query"),
                    };
                    return Err(self.take_error());
                }
            }
        }
        Ok(Query { source, clauses, view: None })
    }

    // ---- views: how they are written, not what they draw ----

    fn starts_view(&self, i: &'a str) -> bool {
        self.peek_word(i).is_some_and(|(word, _)| VIEW_NAMES.iter().any(|v| v.eq_ignore_ascii_case(word)))
    }

    /// A view, which ends the query.
    fn view_to_end(&self, i: &'a str) -> Result<View, QueryError> {
        let (rest, view) = self.view(i).map_err(|_| self.take_error())?;
        let rest = self.ws(rest);
        if !rest.is_empty() {
            self.expected(rest, "the end of the query");
            return Err(self.take_error());
        }
        Ok(view)
    }

    fn view(&self, i: &'a str) -> PResult<'a, View> {
        let start = self.ws(i);
        let word = self.peek_word(start).map(|(w, rest)| (w.to_ascii_lowercase(), rest));
        let Some((word, rest)) = word else {
            return Err(self.expected(start, VIEW_EXPECTED));
        };
        let (rest, kind) = match word.as_str() {
            "tree" => self.tree_options(rest)?,
            "butterfly" => {
                let (rest, function) = self.view_text(rest, "a function name, e.g. SleepEx")?;
                (rest, ViewKind::Butterfly { function })
            }
            "folded" => (rest, ViewKind::Folded),
            "waits" => (rest, ViewKind::Waits),
            "flame" => {
                let (rest, file) = self.view_text(rest, "the SVG file to write, e.g. out.svg")?;
                (rest, ViewKind::Flame { file })
            }
            "histogram" => {
                let (rest, (column, _)) = self.ident(rest, "a duration column, e.g. ready_ns")?;
                let (rest, to) = match self.try_kw(rest, "to") {
                    Some(after) => {
                        let (after, file) = self.view_text(after, "the image to write, e.g. out.svg or out.png")?;
                        (after, Some(file))
                    }
                    None => (rest, None),
                };
                (rest, ViewKind::Histogram { column, to })
            }
            "diff" => self.diff_view(rest)?,
            "export" => self.export_view(rest)?,
            "chart" => self.chart_options(rest)?,
            _ => return Err(self.expected(start, VIEW_EXPECTED)),
        };
        Ok((rest, View { kind, span: self.span(start, rest) }))
    }

    /// `depth N`, `min P%` and `offsets`, in any order; a repeated option counts once, the last.
    fn tree_options(&self, i: &'a str) -> PResult<'a, ViewKind> {
        let (mut depth, mut min_percent, mut offsets) = (None, None, false);
        let mut rest = i;
        loop {
            if let Some(after) = self.try_kw(rest, "depth") {
                let (after, (n, _)) = self.unsigned(after)?;
                depth = Some(n);
                rest = after;
            } else if let Some(after) = self.try_kw(rest, "min") {
                let (after, percent) = self.percent(after)?;
                min_percent = Some(percent);
                rest = after;
            } else if let Some(after) = self.try_kw(rest, "offsets") {
                offsets = true;
                rest = after;
            } else {
                for option in ["'depth'", "'min'", "'offsets'"] {
                    self.expected(self.ws(rest), option);
                }
                return Ok((rest, ViewKind::Tree { depth, min_percent, offsets }));
            }
        }
    }

    /// `tree [by KEY] [depth N] [min P%]` or `flame FILE.svg [by KEY]`, after `diff`.
    fn diff_view(&self, i: &'a str) -> PResult<'a, ViewKind> {
        if let Some(mut rest) = self.try_kw(i, "tree") {
            let (mut by, mut depth, mut min_percent) = (None, None, None);
            loop {
                if let Some(after) = self.try_kw(rest, "by") {
                    let (after, (key, _)) = self.ident(after, "the column that splits the rows in two, e.g. trace")?;
                    (by, rest) = (Some(key), after);
                } else if let Some(after) = self.try_kw(rest, "depth") {
                    let (after, (n, _)) = self.unsigned(after)?;
                    (depth, rest) = (Some(n), after);
                } else if let Some(after) = self.try_kw(rest, "min") {
                    let (after, percent) = self.percent(after)?;
                    (min_percent, rest) = (Some(percent), after);
                } else {
                    for option in ["'by'", "'depth'", "'min'"] {
                        self.expected(self.ws(rest), option);
                    }
                    return Ok((rest, ViewKind::DiffTree { by, depth, min_percent }));
                }
            }
        }
        if let Some(rest) = self.try_kw(i, "flame") {
            let (rest, (file, by)) = self.file_then_by(rest, "the SVG file to write, e.g. diff.svg")?;
            return Ok((rest, ViewKind::DiffFlame { file, by }));
        }
        Err(self.expected(self.ws(i), "'tree' or 'flame'"))
    }

    /// `FORMAT FILE [by thread|process]`, after `export`.
    fn export_view(&self, i: &'a str) -> PResult<'a, ViewKind> {
        let start = self.ws(i);
        let word = self.peek_word(start);
        let format = word.and_then(|(w, rest)| {
            ExportFormat::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(w)).map(|f| (f, rest))
        });
        let Some((format, rest)) = format else {
            return Err(self.expected(start, "an export format (speedscope, firefox, chrome)"));
        };
        let (rest, (file, by)) = self.file_then_by(rest, "the JSON file to write, e.g. profile.json")?;
        Ok((rest, ViewKind::Export { format, file, by }))
    }

    /// A file name (quoted, or the rest of the query) and an optional `by WORD` after it.
    fn file_then_by(&self, i: &'a str, label: &str) -> PResult<'a, (String, Option<String>)> {
        let start = self.ws(i);
        if start.starts_with(['"', '\'']) {
            let (rest, file) = self.view_text(start, label)?;
            let Some(after) = self.try_kw(rest, "by") else { return Ok((rest, (file, None))) };
            let (rest, (key, _)) = self.ident(after, "a column name, e.g. trace")?;
            return Ok((rest, (file, Some(key))));
        }
        let (rest, text) = self.view_text(start, label)?;
        // Unquoted, a trailing `by WORD` is the option, not part of the file name.
        let words: Vec<&str> = text.split_whitespace().collect();
        if let [.., by, key] = words.as_slice() {
            if by.eq_ignore_ascii_case("by") && key.chars().all(is_word_char) && words.len() > 2 {
                let file = text[..text.len() - key.len()].trim_end();
                let file = file[..file.len() - by.len()].trim_end();
                return Ok((rest, (file.to_string(), Some(key.to_string()))));
            }
        }
        if words.len() == 2 && words[0].eq_ignore_ascii_case("by") {
            return Err(self.expected(start, label));
        }
        Ok((rest, (text, None)))
    }

    /// `chart MEASURE` then `by KEY`, `every DURATION`, `top N` in any order, and `to FILE` last
    /// (a file name may hold any character).
    fn chart_options(&self, i: &'a str) -> PResult<'a, ViewKind> {
        let (mut rest, (measure, _)) = self.ident(i, "what to chart: cpu, count or a numeric column")?;
        let mut spec = ChartSpec { measure, ..ChartSpec::default() };
        loop {
            if let Some(after) = self.try_kw(rest, "by") {
                let (after, (key, _)) = self.ident(after, "the column whose values are the series, e.g. proc")?;
                spec.by = Some(key);
                rest = after;
            } else if let Some(after) = self.try_kw(rest, "every") {
                let start = self.ws(after);
                let (after, literal) = self.number(start)?;
                match literal {
                    Literal::Duration(ns) if ns > 0 => spec.every_ns = Some(ns),
                    _ => {
                        let span = self.span(start, after);
                        let message = "every takes a duration above zero: every 100ms";
                        return Err(self.fail(start, QueryError::at(ErrorKind::Syntax, message, span)));
                    }
                }
                rest = after;
            } else if let Some(after) = self.try_kw(rest, "top") {
                let (after, (n, span)) = self.unsigned(after)?;
                if n == 0 {
                    let message = "top takes at least 1 series";
                    return Err(self.fail(after, QueryError::at(ErrorKind::Syntax, message, span)));
                }
                spec.top = Some(n);
                rest = after;
            } else if let Some(after) = self.try_kw(rest, "to") {
                let (after, file) = self.view_text(after, "the image to write, e.g. out.svg or out.png")?;
                spec.to = Some(file);
                return Ok((after, ViewKind::Chart(spec)));
            } else {
                for option in ["'by'", "'every'", "'top'", "'to'"] {
                    self.expected(self.ws(rest), option);
                }
                return Ok((rest, ViewKind::Chart(spec)));
            }
        }
    }

    /// `2`, `2.5` or `2.5%`: a share from 0 to 100.
    fn percent(&self, i: &'a str) -> PResult<'a, f64> {
        let start = self.ws(i);
        let number: PResult<&str> = recognize(pair(digit1, opt(pair(char('.'), digit1))))(start);
        let Ok((rest, digits)) = number else {
            return Err(self.expected(start, "a percentage from 0 to 100"));
        };
        let with_sign: PResult<&str> = tag("%")(rest);
        let rest = with_sign.map_or(rest, |(after, _)| after);
        match digits.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok((rest, p)),
            _ => Err(self.fail(
                start,
                QueryError::at(ErrorKind::Syntax, "a percentage is from 0 to 100", self.span(start, rest)),
            )),
        }
    }

    /// A quoted string, or else the rest of the query as written (a function or file name
    /// may hold any character but a leading quote).
    fn view_text(&self, i: &'a str, label: &str) -> PResult<'a, String> {
        let start = self.ws(i);
        let (rest, text) = if start.starts_with(['"', '\'']) {
            self.string(start)?
        } else {
            let text = start.trim_end();
            (&start[text.len()..], text.to_string())
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(self.expected(start, label));
        }
        Ok((rest, text.to_string()))
    }

    fn source(&self, i: &'a str) -> PResult<'a, Source> {
        let start = self.ws(i);
        if let Some(rest) = self.try_sym(start, "@") {
            let (rest, (name, name_span)) = self.ident(rest, "the name of a saved query")?;
            let mut args = Vec::new();
            let mut rest = rest;
            if let Some(open) = self.try_sym(rest, "(") {
                let (after, list) = self.expr_list(open, 1)?;
                args = list;
                rest = after;
            }
            let span = Span::new(self.off(start), name_span.end.max(self.off(rest)));
            return Ok((rest, Source::Saved { name, args, span }));
        }
        match self.peek_word(start) {
            Some((word, rest)) if !is_keyword(word) => {
                Ok((rest, Source::Table { name: word.to_string(), span: self.span(start, rest) }))
            }
            _ => Err(self.expected(start, "a table name or @saved query")),
        }
    }

    /// `depth`: how many sub-queries this clause is inside.
    fn clause(&self, i: &'a str, depth: usize) -> PResult<'a, Clause> {
        let start = self.ws(i);
        let word = self.peek_word(start).map(|(w, rest)| (w.to_ascii_lowercase(), rest));
        let Some((word, rest)) = word else {
            return Err(self.expected(start, CLAUSE_EXPECTED));
        };
        match word.as_str() {
            "where" => {
                let (rest, e) = self.or_expr(rest, 0)?;
                Ok((rest, Clause::Where(e)))
            }
            "between" => {
                let (rest, from) = self.add_expr(rest, 0)?;
                let (rest, ()) = self.kw(rest, "and")?;
                let (rest, to) = self.add_expr(rest, 0)?;
                Ok((rest, Clause::Between { from, to, span: self.span(start, rest) }))
            }
            "group" => {
                let (rest, ()) = self.kw(rest, "by")?;
                let (rest, keys) = self.select_items(rest)?;
                let (rest, aggregates) = match self.try_kw(rest, "select") {
                    Some(after) => {
                        let (after, items) = self.select_items(after)?;
                        (after, Some(items))
                    }
                    None => (rest, None),
                };
                Ok((rest, Clause::GroupBy { keys, aggregates, span: self.span(start, rest) }))
            }
            "select" => {
                let (rest, items) = self.select_items(rest)?;
                Ok((rest, Clause::Select { items, span: self.span(start, rest) }))
            }
            "order" => {
                let (mut rest, ()) = self.kw(rest, "by")?;
                let mut keys = Vec::new();
                loop {
                    let (after, expr) = self.or_expr(rest, 0)?;
                    let (after, descending) = if let Some(a) = self.try_kw(after, "desc") {
                        (a, true)
                    } else {
                        (self.try_kw(after, "asc").unwrap_or(after), false)
                    };
                    keys.push(OrderKey { expr, descending });
                    match self.try_sym(after, ",") {
                        Some(next) => rest = next,
                        None => return Ok((after, Clause::OrderBy(keys))),
                    }
                }
            }
            "limit" => {
                let (rest, (count, _)) = self.unsigned(rest)?;
                Ok((rest, Clause::Limit { count, span: self.span(start, rest) }))
            }
            "top" => {
                let (rest, (count, _)) = self.unsigned(rest)?;
                let (rest, by) = match self.try_kw(rest, "by") {
                    Some(after) => {
                        let (after, e) = self.or_expr(after, 0)?;
                        (after, Some(e))
                    }
                    None => (rest, None),
                };
                Ok((rest, Clause::Top { count, by, span: self.span(start, rest) }))
            }
            "join" => self.join(rest, start, JoinKind::Inner, depth),
            "left" => {
                let (rest, ()) = self.kw(rest, "join")?;
                self.join(rest, start, JoinKind::Left, depth)
            }
            "during" => self.join(rest, start, JoinKind::During, depth),
            _ => Err(self.expected(start, CLAUSE_EXPECTED)),
        }
    }

    /// The rest of a join clause after its words (`join`, `left join`, `during`).
    fn join(&self, i: &'a str, start: &'a str, kind: JoinKind, depth: usize) -> PResult<'a, Clause> {
        let other_start = self.ws(i);
        let (rest, other) = if let Some(open) = self.try_sym(other_start, "(") {
            if depth >= MAX_SUBQUERY_DEPTH {
                let at = self.off(other_start);
                let message = format!("sub-queries nested too deeply (the limit is {MAX_SUBQUERY_DEPTH})");
                return Err(self.fail(other_start, QueryError::at(ErrorKind::Limit, message, Span::new(at, at + 1))));
            }
            let (rest, query) = self.sub_query(open, depth + 1)?;
            let (rest, ()) = self.sym(rest, ")")?;
            (rest, JoinSource::Query { query: Box::new(query), span: self.span(other_start, rest) })
        } else {
            match self.peek_word(other_start) {
                Some((word, rest)) if !is_keyword(word) => {
                    (rest, JoinSource::Table { name: word.to_string(), span: self.span(other_start, rest) })
                }
                _ => return Err(self.expected(other_start, "a table name or a (sub-query)")),
            }
        };
        let (rest, alias) = match self.try_kw(rest, "as") {
            Some(after) => {
                let (after, (name, span)) = self.ident(after, "a name after 'as'")?;
                (after, Some((name, span)))
            }
            None => (rest, None),
        };
        let mut on = Vec::new();
        let mut rest = rest;
        if let Some(after) = self.try_kw(rest, "on") {
            let mut at = after;
            loop {
                let (after, key) = if kind == JoinKind::During { self.during_key(at)? } else { self.join_key(at)? };
                on.push(key);
                match self.try_kw(after, "and") {
                    Some(more) => at = more,
                    None => {
                        rest = after;
                        break;
                    }
                }
            }
        } else {
            self.expected(self.ws(rest), "'on'");
        }
        let span = self.span(start, rest);
        Ok((rest, Clause::Join(Box::new(Join { kind, other, alias, on, span }))))
    }

    /// `A = B` of a join's `on`.
    fn join_key(&self, i: &'a str) -> PResult<'a, JoinKey> {
        let (rest, left) = self.add_expr(i, 0)?;
        let (rest, ()) = self.sym(rest, "=")?;
        let (rest, right) = self.add_expr(rest, 0)?;
        let span = left.span.to(right.span);
        Ok((rest, JoinKey { left, right, span }))
    }

    /// A column both sides of a `during` have.
    fn during_key(&self, i: &'a str) -> PResult<'a, JoinKey> {
        let (rest, (name, span)) = self.ident(i, "a column both sides have")?;
        let column = Expr { kind: ExprKind::Column(name), span };
        Ok((rest, JoinKey { left: column.clone(), right: column, span }))
    }

    /// A query inside parentheses: a source and its clauses, up to the `)`.
    fn sub_query(&self, i: &'a str, depth: usize) -> PResult<'a, Query> {
        let (mut rest, source) = self.source(i)?;
        let mut clauses = Vec::new();
        loop {
            let before = self.ws(rest);
            let at = self.try_sym(before, "|").unwrap_or(before);
            match self.clause(at, depth) {
                Ok((after, clause)) => {
                    clauses.push(clause);
                    rest = after;
                }
                Err(nom::Err::Error(_)) if at.len() == before.len() => {
                    return Ok((before, Query { source, clauses, view: None }))
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn select_items(&self, i: &'a str) -> PResult<'a, Vec<SelectItem>> {
        let mut items = Vec::new();
        let mut rest = i;
        loop {
            let (after, expr) = self.or_expr(rest, 0)?;
            let (after, alias) = match self.try_kw(after, "as") {
                Some(a) => {
                    let (a, (name, _)) = self.ident(a, "a name after 'as'")?;
                    (a, Some(name))
                }
                None => (after, None),
            };
            items.push(SelectItem { expr, alias });
            match self.try_sym(after, ",") {
                Some(next) => rest = next,
                None => return Ok((after, items)),
            }
        }
    }

    /// `expr, expr, ... )` after an opening parenthesis; may be empty.
    fn expr_list(&self, i: &'a str, depth: usize) -> PResult<'a, Vec<Expr>> {
        if let Some(rest) = self.try_sym(i, ")") {
            return Ok((rest, Vec::new()));
        }
        let mut list = Vec::new();
        let mut rest = i;
        loop {
            let (after, e) = self.or_expr(rest, depth)?;
            list.push(e);
            if let Some(next) = self.try_sym(after, ",") {
                rest = next;
                continue;
            }
            let (after, ()) = self.sym(after, ")").inspect_err(|_| {
                self.expected(self.ws(after), "','");
            })?;
            return Ok((after, list));
        }
    }

    // ---- expressions, loosest binding first ----

    fn or_expr(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        self.flat_chain(i, depth, "or", BinaryOp::Or, Self::and_expr)
    }

    fn and_expr(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        self.flat_chain(i, depth, "and", BinaryOp::And, Self::not_expr)
    }

    fn add_expr(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        self.left_assoc(i, depth, &[("+", BinaryOp::Add), ("-", BinaryOp::Sub)], Self::mul_expr)
    }

    fn mul_expr(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        self.left_assoc(i, depth, &[("*", BinaryOp::Mul), ("/", BinaryOp::Div), ("%", BinaryOp::Rem)], Self::unary_expr)
    }

    /// `operand { keyword operand }` for an associative operator (`or`, `and`). A flat chain is not
    /// nesting: it is read in a loop, every operand at the same depth, and built into a balanced tree
    /// so that the later passes recurse only log2(terms) deep however long the chain is.
    fn flat_chain(
        &self,
        i: &'a str,
        depth: usize,
        keyword: &str,
        op: BinaryOp,
        operand: fn(&Self, &'a str, usize) -> PResult<'a, Expr>,
    ) -> PResult<'a, Expr> {
        let (mut rest, first) = operand(self, i, depth)?;
        let mut terms = vec![first];
        while let Some(after) = self.try_kw(rest, keyword) {
            let (after, term) = operand(self, after, depth)?;
            terms.push(term);
            rest = after;
        }
        Ok((rest, balanced(op, terms)))
    }

    /// `operand { op operand }`; each link of the chain counts as a level of depth.
    fn left_assoc(
        &self,
        i: &'a str,
        depth: usize,
        ops: &[(&str, BinaryOp)],
        operand: fn(&Self, &'a str, usize) -> PResult<'a, Expr>,
    ) -> PResult<'a, Expr> {
        let (mut rest, mut left) = operand(self, i, depth)?;
        let mut links = 0;
        loop {
            let found = ops.iter().find_map(|(token, op)| {
                let after =
                    if token.chars().all(is_word_char) { self.try_kw(rest, token) } else { self.try_sym(rest, token) };
                after.map(|a| (a, *op))
            });
            let Some((after, op)) = found else {
                return Ok((rest, left));
            };
            links += 1;
            if depth + links > MAX_DEPTH {
                return Err(self.too_deep(self.ws(rest)));
            }
            let (after, right) = operand(self, after, depth + links)?;
            let span = left.span.to(right.span);
            left = Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span };
            rest = after;
        }
    }

    fn not_expr(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        let start = self.ws(i);
        if let Some(rest) = self.try_kw(start, "not") {
            if depth >= MAX_DEPTH {
                return Err(self.too_deep(start));
            }
            let (rest, inner) = self.not_expr(rest, depth + 1)?;
            let span = Span::new(self.off(start), inner.span.end);
            return Ok((rest, Expr { kind: ExprKind::Unary(UnaryOp::Not, Box::new(inner)), span }));
        }
        self.comparison(start, depth)
    }

    /// One comparison at most: `a = b = c` is not accepted.
    fn comparison(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        let (rest, left) = self.add_expr(i, depth)?;
        let binary = |rest: &'a str, op: BinaryOp, left: Expr| -> PResult<'a, Expr> {
            if depth >= MAX_DEPTH {
                return Err(self.too_deep(self.ws(rest)));
            }
            let (rest, right) = self.add_expr(rest, depth + 1)?;
            let span = left.span.to(right.span);
            Ok((rest, Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span }))
        };
        const SYMBOLS: &[(&str, BinaryOp)] = &[
            ("<=", BinaryOp::Le),
            (">=", BinaryOp::Ge),
            ("!=", BinaryOp::Ne),
            ("<>", BinaryOp::Ne),
            ("!~", BinaryOp::NotMatch),
            ("==", BinaryOp::Eq),
            ("=", BinaryOp::Eq),
            ("<", BinaryOp::Lt),
            (">", BinaryOp::Gt),
            ("~", BinaryOp::Match),
        ];
        for (symbol, op) in SYMBOLS {
            if let Some(after) = self.try_sym(rest, symbol) {
                return binary(after, *op, left);
            }
        }
        let (after_not, negated) = match self.try_kw(rest, "not") {
            Some(after) => (after, true),
            None => (rest, false),
        };
        if let Some(after) = self.try_kw(after_not, "like") {
            return binary(after, if negated { BinaryOp::NotLike } else { BinaryOp::Like }, left);
        }
        if let Some(after) = self.try_kw(after_not, "contains") {
            return binary(after, if negated { BinaryOp::NotContains } else { BinaryOp::Contains }, left);
        }
        if let Some(after) = self.try_kw(after_not, "in") {
            if depth >= MAX_DEPTH {
                return Err(self.too_deep(self.ws(after)));
            }
            let (after, ()) = self.sym(after, "(")?;
            let (after, list) = self.expr_list(after, depth + 1)?;
            let span = Span::new(left.span.start, self.off(after));
            return Ok((after, Expr { kind: ExprKind::In { expr: Box::new(left), list, negated }, span }));
        }
        if negated {
            return Err(self.expected(self.ws(after_not), "'like', 'contains' or 'in' after 'not'"));
        }
        if let Some(after) = self.try_kw(rest, "is") {
            let (after, negated) = match self.try_kw(after, "not") {
                Some(a) => (a, true),
                None => (after, false),
            };
            let (after, ()) = self.kw(after, "null")?;
            let span = Span::new(left.span.start, self.off(after));
            return Ok((after, Expr { kind: ExprKind::IsNull { expr: Box::new(left), negated }, span }));
        }
        Ok((rest, left))
    }

    fn unary_expr(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        let start = self.ws(i);
        if let Some(rest) = self.try_sym(start, "-") {
            if depth >= MAX_DEPTH {
                return Err(self.too_deep(start));
            }
            let (rest, inner) = self.unary_expr(rest, depth + 1)?;
            let span = Span::new(self.off(start), inner.span.end);
            return Ok((rest, Expr { kind: ExprKind::Unary(UnaryOp::Neg, Box::new(inner)), span }));
        }
        self.primary(start, depth)
    }

    fn primary(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        let start = self.ws(i);
        let literal = |rest: &'a str, literal: Literal| {
            Ok((rest, Expr { kind: ExprKind::Literal(literal), span: self.span(start, rest) }))
        };
        let Some(first) = start.chars().next() else {
            return Err(self.expected(start, "an expression"));
        };
        if first == '(' {
            if depth >= MAX_DEPTH {
                return Err(self.too_deep(start));
            }
            let (rest, mut inner) = self.or_expr(&start[1..], depth + 1)?;
            let (rest, ()) = self.sym(rest, ")")?;
            inner.span = self.span(start, rest);
            return Ok((rest, inner));
        }
        if first == '"' || first == '\'' {
            let (rest, text) = self.string(start)?;
            return literal(rest, Literal::Str(text));
        }
        if first.is_ascii_digit() {
            let (rest, lit) = self.number(start)?;
            return literal(rest, lit);
        }
        let Some((word, rest)) = self.peek_word(start) else {
            return Err(self.expected(start, "an expression"));
        };
        match word.to_ascii_lowercase().as_str() {
            "true" => return literal(rest, Literal::Bool(true)),
            "false" => return literal(rest, Literal::Bool(false)),
            "null" => return literal(rest, Literal::Null),
            _ if is_keyword(word) => return Err(self.expected(start, "an expression")),
            _ => {}
        }
        if is_constant_name(word) {
            return literal(rest, Literal::Named(word.to_string()));
        }
        let name_span = self.span(start, rest);
        if let Some(open) = self.try_sym(rest, "(") {
            if depth >= MAX_DEPTH {
                return Err(self.too_deep(start));
            }
            let (after, args) = match self.try_sym(open, "*") {
                Some(star) => {
                    let (after, ()) = self.sym(star, ")")?;
                    (after, Vec::new())
                }
                None => self.expr_list(open, depth + 1)?,
            };
            let (after, over) = match self.try_kw(after, "over") {
                Some(over) => {
                    let (rest, window) = self.over(over, depth + 1)?;
                    (rest, Some(Box::new(window)))
                }
                None => (after, None),
            };
            let kind = ExprKind::Call { name: word.to_string(), name_span, args, over };
            return Ok((after, Expr { kind, span: self.span(start, after) }));
        }
        // `a.b`, or `a.b.c` (a joined field map: `alias.fields.Name`): the last part is the name.
        let mut parts = vec![word];
        let mut after = rest;
        loop {
            let field: PResult<&str> = preceded(char('.'), take_while1(is_word_char))(after);
            let Ok((next, name)) = field else { break };
            parts.push(name);
            after = next;
        }
        if let Some((name, column)) = parts.split_last().filter(|_| parts.len() > 1) {
            let kind = ExprKind::Field { column: column.join("."), name: name.to_string() };
            return Ok((after, Expr { kind, span: self.span(start, after) }));
        }
        Ok((rest, Expr { kind: ExprKind::Column(word.to_string()), span: name_span }))
    }

    /// `( [partition by EXPR, ...] [order by EXPR [asc|desc], ...] )` after `over`.
    fn over(&self, i: &'a str, depth: usize) -> PResult<'a, Over> {
        let (mut rest, ()) = self.sym(i, "(")?;
        let mut window = Over::default();
        if let Some(after) = self.try_kw(rest, "partition") {
            let (after, ()) = self.kw(after, "by")?;
            let (after, keys) = self.expr_list_until(after, depth)?;
            window.partition = keys;
            rest = after;
        }
        if let Some(after) = self.try_kw(rest, "order") {
            let (mut after, ()) = self.kw(after, "by")?;
            loop {
                let (next, expr) = self.or_expr(after, depth)?;
                let (next, descending) = match self.try_kw(next, "desc") {
                    Some(a) => (a, true),
                    None => (self.try_kw(next, "asc").unwrap_or(next), false),
                };
                window.order.push(OrderKey { expr, descending });
                match self.try_sym(next, ",") {
                    Some(more) => after = more,
                    None => {
                        rest = next;
                        break;
                    }
                }
            }
        }
        if window.partition.is_empty() && window.order.is_empty() {
            for option in ["'partition by'", "'order by'"] {
                self.expected(self.ws(rest), option);
            }
        }
        let (rest, ()) = self.sym(rest, ")")?;
        Ok((rest, window))
    }

    /// Expressions separated by commas, as many as there are.
    fn expr_list_until(&self, i: &'a str, depth: usize) -> PResult<'a, Vec<Expr>> {
        let mut list = Vec::new();
        let mut rest = i;
        loop {
            let (after, expr) = self.or_expr(rest, depth)?;
            list.push(expr);
            match self.try_sym(after, ",") {
                Some(more) => rest = more,
                None => return Ok((after, list)),
            }
        }
    }

    /// Single- or double-quoted; backslash escapes `\\ \" \' \n \t \r`, any
    /// other backslash is kept as written (so regexes read naturally: "\d+").
    fn string(&self, i: &'a str) -> PResult<'a, String> {
        let mut chars = i.char_indices();
        let Some((_, quote)) = chars.next() else {
            return Err(self.expected(i, "a string"));
        };
        let mut text = String::new();
        while let Some((at, c)) = chars.next() {
            if c == quote {
                return Ok((&i[at + c.len_utf8()..], text));
            }
            if c != '\\' {
                text.push(c);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                Some((_, 'r')) => text.push('\r'),
                Some((_, e @ ('\\' | '"' | '\''))) => text.push(e),
                Some((_, other)) => {
                    text.push('\\');
                    text.push(other);
                }
                None => break,
            }
        }
        let at = self.off(i);
        Err(self.fail(
            i,
            QueryError::at(
                ErrorKind::Syntax,
                format!("unterminated string: no closing {quote}"),
                Span::new(at, at + 1),
            ),
        ))
    }

    /// `42`, `0x1F`, `2.5`, and durations `5ns 10us 3ms 2.5s`.
    fn number(&self, start: &'a str) -> PResult<'a, Literal> {
        let too_large = |rest: &'a str| {
            self.fail(start, QueryError::at(ErrorKind::Syntax, "number too large", self.span(start, rest)))
        };
        let hex: PResult<&str> = preceded(tag_no_case("0x"), hex_digit1)(start);
        if let Ok((rest, digits)) = hex {
            self.no_word_after(start, rest)?;
            return match u64::from_str_radix(digits, 16) {
                Ok(v) => Ok((rest, Literal::Int(v))),
                Err(_) => Err(too_large(rest)),
            };
        }
        let number: PResult<&str> = recognize(pair(digit1, opt(pair(char('.'), digit1))))(start);
        let Ok((rest, text)) = number else {
            return Err(self.expected(start, "a number"));
        };
        let unit: PResult<&str> = take_while(|c: char| is_word_char(c) || c == 'µ')(rest);
        let (after, unit) = unit.unwrap_or((rest, ""));
        let scale: i64 = match unit {
            "" => {
                return if text.contains('.') {
                    text.parse().map(|v| (rest, Literal::Float(v))).map_err(|_| too_large(rest))
                } else {
                    text.parse().map(|v| (rest, Literal::Int(v))).map_err(|_| too_large(rest))
                };
            }
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            other => {
                return Err(self.fail(
                    rest,
                    QueryError::at(
                        ErrorKind::Syntax,
                        format!("unknown unit '{other}' after a number"),
                        self.span(rest, after),
                    )
                    .with_expected(vec!["ns, us, ms or s".into()])
                    .with_suggestion(did_you_mean(other, ["ns", "us", "ms", "s"])),
                ));
            }
        };
        let ns = if text.contains('.') {
            let value = text.parse::<f64>().unwrap_or(f64::INFINITY) * scale as f64;
            (value.is_finite() && value.abs() < 9.2e18).then(|| value.round() as i64)
        } else {
            text.parse::<i64>().ok().and_then(|v| v.checked_mul(scale))
        };
        match ns {
            Some(ns) => Ok((after, Literal::Duration(ns))),
            None => Err(too_large(after)),
        }
    }

    fn no_word_after(&self, start: &'a str, rest: &'a str) -> Result<(), nom::Err<NomError<'a>>> {
        match rest.chars().next() {
            Some(c) if is_word_char(c) => {
                let (token, after) = self.next_token(rest);
                Err(self.fail(
                    start,
                    QueryError::at(
                        ErrorKind::Syntax,
                        format!("unexpected '{token}' after a number"),
                        self.span(rest, after),
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// `terms` joined by the associative `op` into a tree of depth log2(terms), in their order.
fn balanced(op: BinaryOp, mut terms: Vec<Expr>) -> Expr {
    if terms.len() == 1 {
        return terms.pop().expect("one term");
    }
    let right_terms = terms.split_off(terms.len() / 2);
    let (left, right) = (balanced(op, terms), balanced(op, right_terms));
    let span = left.span.to(right.span);
    Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span }
}
