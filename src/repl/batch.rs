//! Scripts of shell lines: queries piped on stdin, `-c` values and `.read FILE`.
//! Lines are gathered into statements the way the interactive shell gathers
//! them (a line continues while a parenthesis or a quote is open), and also
//! when a line ends with `\`; a line ending with `;` ends its statement
//! whatever is open. Blank lines and comments (`#`, `--`) are skipped. A
//! dot-command is one line.
use super::input_is_incomplete;
use std::io::BufRead;

/// One statement of a script: its text and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub line: usize,
    pub text: String,
}

/// A line that could not be read: its number and why.
pub type Unreadable = (usize, String);

/// The statements of a script whose lines are `lines` (an `Err` line could not
/// be read: it comes out as an error at its number, and the statement it
/// interrupted is dropped). A statement still open at the end is given as it is:
/// running it says what is missing.
pub struct Statements<I> {
    lines: I,
    number: usize,
}

impl<I: Iterator<Item = Result<String, String>>> Statements<I> {
    pub fn new(lines: I) -> Statements<I> {
        Statements { lines, number: 0 }
    }
}

impl<I: Iterator<Item = Result<String, String>>> Iterator for Statements<I> {
    type Item = Result<Statement, Unreadable>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut pending: Option<Statement> = None;
        loop {
            let Some(line) = self.lines.next() else { return pending.map(Ok) };
            self.number += 1;
            let line = match line {
                Ok(line) => line,
                Err(message) => return Some(Err((self.number, message))),
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("--") {
                continue;
            }
            if pending.is_none() && line.starts_with('.') {
                return Some(Ok(Statement { line: self.number, text: line.to_string() }));
            }
            let (line, ends) = match (line.strip_suffix(';'), line.strip_suffix('\\')) {
                (Some(before), _) => (before.trim_end(), Some(true)),
                (_, Some(before)) => (before.trim_end(), Some(false)),
                _ => (line, None),
            };
            let statement = pending.get_or_insert_with(|| Statement { line: self.number, text: String::new() });
            if !statement.text.is_empty() {
                statement.text.push('\n');
            }
            statement.text.push_str(line);
            let complete = ends.unwrap_or_else(|| !input_is_incomplete(&statement.text));
            if complete {
                return pending.filter(|s| !s.text.is_empty()).map(Ok).or_else(|| self.next());
            }
        }
    }
}

/// The lines of `input`: a line that is not UTF-8 is an error (the later lines
/// still come), and a read error ends the input after reporting it. A CR before
/// the LF (a file from Windows) is not part of the line.
pub fn lines_of(input: impl BufRead) -> impl Iterator<Item = Result<String, String>> {
    let mut ended = false;
    input.split(b'\n').map_while(move |line| {
        if ended {
            return None;
        }
        Some(match line {
            Ok(mut bytes) => {
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                String::from_utf8(bytes)
                    .map_err(|e| format!("not valid UTF-8 (byte {}); line skipped", e.utf8_error().valid_up_to() + 1))
            }
            Err(e) => {
                ended = true;
                Err(format!("reading the input: {e}"))
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(script: &str) -> Vec<(usize, String)> {
        Statements::new(lines_of(script.as_bytes()))
            .map(|s| s.map(|s| (s.line, s.text)).unwrap_or_else(|(line, e)| (line, format!("ERR {e}"))))
            .collect()
    }

    fn owned(expected: &[(usize, &str)]) -> Vec<(usize, String)> {
        expected.iter().map(|(line, text)| (*line, text.to_string())).collect()
    }

    #[test]
    fn a_statement_continues_while_a_parenthesis_or_quote_is_open() {
        let script = "syscalls where (ret != 0\n  and proc ~ \"x\")\n.tables\nsamples where module = \"a\nb\"\n";
        assert_eq!(
            statements(script),
            owned(&[
                (1, "syscalls where (ret != 0\nand proc ~ \"x\")"),
                (3, ".tables"),
                (4, "samples where module = \"a\nb\"")
            ])
        );
    }

    #[test]
    fn backslash_continues_and_semicolon_ends() {
        let script = "syscalls \\\n  where ret != 0 \\\n  limit 2\nsamples where (tid = 1;\nthreads;\n";
        assert_eq!(
            statements(script),
            owned(&[(1, "syscalls\nwhere ret != 0\nlimit 2"), (4, "samples where (tid = 1"), (5, "threads")])
        );
    }

    #[test]
    fn blank_lines_and_comments_are_skipped_and_line_numbers_kept() {
        let script = "\n# a comment\n-- another\r\nthreads\r\n\n  .schema syscalls  \n;\n";
        assert_eq!(statements(script), owned(&[(4, "threads"), (6, ".schema syscalls")]));
    }

    #[test]
    fn an_unreadable_line_is_an_error_at_its_number() {
        let mut script = b"threads\nprocesses where name = '".to_vec();
        script.extend_from_slice(b"\xff'\ncswitch\n");
        let found: Vec<(usize, String)> = Statements::new(lines_of(&script[..]))
            .map(|s| s.map(|s| (s.line, s.text)).unwrap_or_else(|(line, e)| (line, format!("ERR {e}"))))
            .collect();
        assert_eq!(found[0], (1, "threads".to_string()));
        assert!(found[1].0 == 2 && found[1].1.starts_with("ERR not valid UTF-8"), "{found:?}");
        assert_eq!(found[2], (3, "cswitch".to_string()));
    }

    #[test]
    fn an_open_statement_at_the_end_is_given_as_it_is() {
        assert_eq!(statements("syscalls where (ret"), owned(&[(1, "syscalls where (ret")]));
    }
}
