//! The `stacks` table's filters: there `module = X` and `func = F` mean "the stack
//! has a frame in X / F", an AST rewrite before the query is planned.
use query::ast::{BinaryOp, Clause, Expr, ExprKind, Literal, Query, Source};

/// In the `stacks` table `module = X` and `func = F` mean "has a frame in X / F":
/// the columns hold `|a|b|` lists, so equality becomes a whole-item `contains`.
fn rewrite_stack_filters(expr: &mut Expr) {
    let list_column = |e: &Expr| matches!(&e.kind, ExprKind::Column(c) if c == "module" || c == "func");
    if let ExprKind::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), left, right) = &mut expr.kind {
        if list_column(right) && !list_column(left) {
            std::mem::swap(left, right);
        }
        if list_column(left) {
            if let ExprKind::Literal(Literal::Str(value)) = &mut right.kind {
                *value = format!("|{value}|");
                *op = if *op == BinaryOp::Eq { BinaryOp::Contains } else { BinaryOp::NotContains };
                return;
            }
        }
    }
    match &mut expr.kind {
        ExprKind::Unary(_, inner) => rewrite_stack_filters(inner),
        ExprKind::Binary(_, left, right) => {
            rewrite_stack_filters(left);
            rewrite_stack_filters(right);
        }
        _ => {}
    }
}

/// Applies `rewrite_stack_filters` to the `where` clauses of a query on the `stacks` table.
pub(crate) fn rewrite_query(query: &mut Query) {
    let on_stacks = matches!(&query.source, Source::Table { name, .. } if name == "stacks");
    if !on_stacks {
        return;
    }
    for clause in &mut query.clauses {
        if let Clause::Where(expr) = clause {
            rewrite_stack_filters(expr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use query::grammar::parse_query;

    fn rewritten(text: &str) -> Query {
        let mut query = parse_query(text).unwrap();
        rewrite_query(&mut query);
        query
    }

    #[test]
    fn equality_on_frame_lists_means_has_a_frame_in() {
        let same_as = |text: &str, expected: &str| {
            let (got, want) = (rewritten(text), parse_query(expected).unwrap());
            let strip = |q: &Query| match &q.clauses[0] {
                Clause::Where(e) => without_spans(e),
                other => panic!("{other:?}"),
            };
            assert_eq!(strip(&got), strip(&want), "{text}");
        };
        same_as(
            "stacks where module = 'a.sys' and \"f\" != func",
            "stacks where module contains '|a.sys|' and func not contains '|f|'",
        );
        same_as("stacks where not (func = 'f' or pid = 4)", "stacks where not (func contains '|f|' or pid = 4)");
        // Elsewhere `module` holds one name, and `=` stays equality.
        same_as("samples where module = 'a.sys'", "samples where module = 'a.sys'");
    }

    /// The expression as text without its spans, to compare trees parsed from different texts.
    fn without_spans(e: &Expr) -> String {
        let text = format!("{e:?}");
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("span: Span {") {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            rest = &rest[rest.find('}').map_or(rest.len(), |i| i + 1)..];
        }
        out.push_str(rest);
        out
    }
}
