//! Saved queries: `@name(args)` becomes the saved query's text with the arguments
//! put in, parsed and flattened into the caller's clauses.
use crate::ast::*;
use crate::catalog::Catalog;
use crate::error::{did_you_mean, ErrorKind, QueryError};
use crate::grammar::parse_query;
use std::sync::Arc;

/// How deep saved queries may call saved queries.
pub const MAX_SAVED_DEPTH: usize = 8;
/// A clause with the text its spans point into.
pub(super) struct SourcedClause {
    pub(super) clause: Clause,
    pub(super) text: Arc<str>,
    pub(super) context: Option<String>,
    /// How many saved queries or sub-queries deep the clause is written.
    pub(super) depth: usize,
}

impl QueryError {
    pub(super) fn with_context(mut self, context: Option<String>) -> QueryError {
        if self.context.is_none() {
            self.context = context;
        }
        self
    }
}

/// Flattens `@saved` sources into the table name and a list of clauses.
pub(super) fn expand(
    query: Query,
    text: Arc<str>,
    context: Option<String>,
    catalog: &dyn Catalog,
    depth: usize,
    out: &mut Vec<SourcedClause>,
) -> Result<(String, Span, Arc<str>, Option<String>), QueryError> {
    let source = match query.source {
        Source::Table { name, span } => (name, span, text.clone(), context.clone()),
        Source::Saved { name, args, span } => {
            let fail = |e: QueryError| e.in_query(&text).with_context(context.clone());
            if depth >= MAX_SAVED_DEPTH {
                return Err(fail(QueryError::at(
                    ErrorKind::Limit,
                    format!("saved queries call each other more than {MAX_SAVED_DEPTH} deep (a cycle?)"),
                    span,
                )));
            }
            let Some(saved) = catalog.saved_query(&name) else {
                let names = catalog.saved_query_names();
                return Err(fail(
                    QueryError::at(ErrorKind::UnknownName, format!("unknown saved query '@{name}'"), span)
                        .with_suggestion(
                            did_you_mean(&name, names.iter().map(String::as_str)).map(|n| format!("@{n}")),
                        ),
                ));
            };
            if saved.params.len() != args.len() {
                return Err(fail(QueryError::at(
                    ErrorKind::Type,
                    format!(
                        "@{name} takes {} argument(s) ({}), got {}",
                        saved.params.len(),
                        saved.params.join(", "),
                        args.len()
                    ),
                    span,
                )));
            }
            let arg_texts: Vec<&str> = args.iter().map(|a| text.get(a.span.start..a.span.end).unwrap_or("")).collect();
            let body = substitute(&saved.text, &saved.params, &arg_texts)
                .map_err(|m| fail(QueryError::at(ErrorKind::UnknownName, m, span)))?;
            let inner_context = Some(format!("in @{name}"));
            let inner = parse_query(&body).map_err(|e| e.with_context(inner_context.clone()))?;
            if let Some(view) = &inner.view {
                let message = format!("a saved query cannot end in a view; write it after the call: @{name} | tree");
                return Err(QueryError::at(ErrorKind::Syntax, message, view.span)
                    .in_query(&body)
                    .with_context(inner_context));
            }
            expand(inner, Arc::from(body.as_str()), inner_context, catalog, depth + 1, out)?
        }
    };
    out.extend(query.clauses.into_iter().map(|clause| SourcedClause {
        clause,
        text: text.clone(),
        context: context.clone(),
        depth,
    }));
    Ok(source)
}

/// Replaces each `$param` in `body` with the argument's text.
fn substitute(body: &str, params: &[String], args: &[&str]) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        let name = &after[..len];
        match params.iter().position(|p| p == name) {
            Some(i) => out.push_str(args.get(i).copied().unwrap_or("")),
            None => return Err(format!("the saved query uses '${name}', which is not one of its parameters")),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution() {
        assert_eq!(substitute("x = $p and $pp", &["p".into(), "pp".into()], &["1", "'a'"]).unwrap(), "x = 1 and 'a'");
        assert!(substitute("x = $q", &["p".into()], &["1"]).is_err());
    }
}
