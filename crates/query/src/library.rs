//! `.etwq` query library files: one saved query per line.
//!
//! ```text
//! # comment
//! failing = syscalls where ret != 0
//! by_proc(p) = syscalls where proc = $p group by func
//! ```
use super::catalog::SavedQuery;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LibraryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LibraryError {}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a library; the query texts themselves are checked when they run.
pub fn parse_library(text: &str) -> Result<Vec<SavedQuery>, LibraryError> {
    let mut queries: Vec<SavedQuery> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: String| LibraryError { line: index + 1, message };
        let Some((head, body)) = line.split_once('=') else {
            return Err(error("expected 'name = query' or 'name(params) = query'".into()));
        };
        let head = head.trim();
        let (name, params) = match head.split_once('(') {
            None => (head, Vec::new()),
            Some((name, rest)) => {
                let Some(list) = rest.trim_end().strip_suffix(')') else {
                    return Err(error(format!("missing ')' after the parameters of '{}'", name.trim())));
                };
                let params: Vec<String> = list
                    .split(',')
                    .map(|p| p.trim().trim_start_matches('$').to_string())
                    .filter(|p| !p.is_empty())
                    .collect();
                if let Some(bad) = params.iter().find(|p| !is_name(p)) {
                    return Err(error(format!("'{bad}' is not a parameter name")));
                }
                (name.trim(), params)
            }
        };
        if !is_name(name) {
            return Err(error(format!("'{name}' is not a query name")));
        }
        if queries.iter().any(|q| q.name == name) {
            return Err(error(format!("'{name}' is defined twice")));
        }
        let body = body.trim();
        if body.is_empty() {
            return Err(error(format!("'{name}' has no query after '='")));
        }
        queries.push(SavedQuery { name: name.to_string(), params, text: body.to_string() });
    }
    Ok(queries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_params() {
        let lib = parse_library("# saved\n\nfailing = syscalls where ret != 0\nby(p, $q) = syscalls where proc = $p\n")
            .unwrap();
        assert_eq!(lib.len(), 2);
        assert_eq!(lib[1].params, vec!["p", "q"]);
        assert_eq!(lib[0].text, "syscalls where ret != 0");
        assert_eq!(parse_library("x syscalls").unwrap_err().line, 1);
        assert!(parse_library("a = s\na = t").is_err());
        assert!(parse_library("f(1) = s").is_err());
        assert!(parse_library("g = ").is_err());
    }
}
