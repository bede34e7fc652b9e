//! Joins: `[left] join OTHER on A = B` and `during OTHER on COL`. The other
//! side is planned as a query of its own, each key is typed on its side, and
//! the other's columns join the rows as `ALIAS.col` for the clauses after.
use super::check::Planner;
use super::saved::SourcedClause;
use super::{plan_rows, Interval, IntervalEnd, JoinStage, Plan, Stage};
use crate::ast::*;
use crate::error::{did_you_mean, ErrorKind, QueryError};
use crate::types::Type;

fn type_error(message: String, span: Span) -> QueryError {
    QueryError::at(ErrorKind::Type, message, span)
}

impl Planner<'_> {
    pub(super) fn join(
        &self,
        join: Join,
        sourced: &SourcedClause,
        schema: &mut Vec<(String, Type)>,
        stages: &mut Vec<Stage>,
    ) -> Result<(), QueryError> {
        let Join { kind, other, alias, on, span } = join;
        let other_span = other.span();
        let (right, right_schema, other_name) = match other {
            JoinSource::Table { name, span } => {
                let Some(table) = self.catalog.table(&name) else {
                    let names = self.catalog.table_names();
                    return Err(QueryError::at(ErrorKind::UnknownName, format!("unknown table '{name}'"), span)
                        .with_suggestion(did_you_mean(&name, names.iter().map(String::as_str))));
                };
                let columns =
                    table.columns.iter().map(|c| (c.name.clone(), Type::of_column(c.column.column_type()))).collect();
                (Plan { table: name.clone(), stages: Vec::new() }, columns, name)
            }
            JoinSource::Query { query, span } => {
                let Some((alias, _)) = &alias else {
                    let message = format!("a sub-query needs a name for its columns: {} (...) as x", kind.words());
                    return Err(QueryError::at(ErrorKind::Syntax, message, span));
                };
                let (plan, columns) =
                    plan_rows(*query, sourced.text.clone(), sourced.context.clone(), self.catalog, sourced.depth + 1)?;
                (plan, columns, alias.clone())
            }
        };
        let (alias, alias_span) = alias.unwrap_or((other_name.clone(), other_span));
        if alias.eq_ignore_ascii_case(self.source) {
            let message = format!(
                "both sides are called '{alias}', so '{alias}.col' would mean either: name the joined rows with 'as', e.g. {} {} as {alias}2",
                kind.words(),
                self.source_text(other_span)
            );
            return Err(QueryError::at(ErrorKind::Type, message, alias_span));
        }
        let prefix = format!("{alias}.");
        if schema.iter().any(|(n, _)| *n == alias || n.starts_with(&prefix)) {
            let message = format!("'{alias}' already names columns of these rows: pick another name with 'as'");
            return Err(QueryError::at(ErrorKind::Type, message, alias_span));
        }
        if on.is_empty() && kind != JoinKind::During {
            let message =
                format!("'{}' needs 'on' and the keys to match: {} threads on tid = tid", kind.words(), kind.words());
            return Err(QueryError::at(ErrorKind::Syntax, message, span));
        }
        // On the other side `ALIAS.col` (and plain `col`) name its own columns.
        let other_label = format!("'{other_name}'");
        let right_planner = Planner { text: self.text, table: &other_label, source: &alias, catalog: self.catalog };
        let (mut left_keys, mut right_keys) = (Vec::new(), Vec::new());
        for key in on {
            // `on t.tid = tid` is written the other way round.
            let swap = mentions(&key.left, &alias) && !mentions(&key.right, &alias);
            let (left, right) = if swap { (&key.right, &key.left) } else { (&key.left, &key.right) };
            let left_key = self.row_expr(left, schema)?;
            let right_key = right_planner.row_expr(right, &right_schema)?;
            let keyable = |t: Type| !matches!(t, Type::Fields | Type::Null);
            if !(keyable(left_key.ty) && keyable(right_key.ty) && left_key.ty.comparable(right_key.ty)) {
                let message = format!(
                    "cannot join on '{}' ({}) = '{}' ({})",
                    self.source_text(left.span),
                    left_key.ty,
                    self.source_text(right.span),
                    right_key.ty
                );
                return Err(type_error(message, key.span));
            }
            left_keys.push(left_key);
            right_keys.push(right_key);
        }
        let times = if kind == JoinKind::During {
            let left = interval(schema).map_err(|ty| {
                let message = match ty {
                    None => "'during' reads each row's time from its 'ts' column, and these rows have none".into(),
                    Some(ty) => format!("'during' reads each row's time from its 'ts' column, and here it is a {ty}"),
                };
                type_error(message, span)
            })?;
            let right = interval(&right_schema).map_err(|ty| {
                let message = match ty {
                    None => format!("'during' needs intervals with a 'ts' column, and {other_label} has none"),
                    Some(ty) => format!("'during' needs intervals with a 'ts' time, and in {other_label} it is a {ty}"),
                };
                type_error(message, other_span)
            })?;
            if right.end == IntervalEnd::Point {
                let message =
                    format!("'during' needs intervals: {other_label} has 'ts' but neither 'end_ts' nor 'duration_ns'");
                return Err(type_error(message, other_span));
            }
            Some((left, right))
        } else {
            None
        };
        let right_names: Vec<String> = right_schema.iter().map(|(n, _)| format!("{prefix}{n}")).collect();
        schema.extend(right_names.iter().cloned().zip(right_schema.iter().map(|(_, t)| *t)));
        stages.push(Stage::Join(Box::new(JoinStage { kind, right, left_keys, right_keys, times, right_names })));
        Ok(())
    }
}

/// Whether `e` names a column as `alias.col`.
fn mentions(e: &Expr, alias: &str) -> bool {
    match &e.kind {
        ExprKind::Field { column, .. } => column.eq_ignore_ascii_case(alias),
        ExprKind::Unary(_, inner) => mentions(inner, alias),
        ExprKind::Binary(_, l, r) => mentions(l, alias) || mentions(r, alias),
        ExprKind::Call { args, .. } => args.iter().any(|a| mentions(a, alias)),
        ExprKind::In { expr, list, .. } => mentions(expr, alias) || list.iter().any(|a| mentions(a, alias)),
        ExprKind::IsNull { expr, .. } => mentions(expr, alias),
        ExprKind::Literal(_) | ExprKind::Column(_) => false,
    }
}

/// A time column's type: a time, or a number of nanoseconds.
fn is_time(t: Type) -> bool {
    matches!(t, Type::Timestamp | Type::I64 | Type::U64)
}

/// Where rows with these columns keep their interval: `ts`, and `end_ts`,
/// else `ts + duration_ns`, else the point `ts`. Err: no `ts`, or its type.
fn interval(schema: &[(String, Type)]) -> Result<Interval, Option<Type>> {
    let find = |name: &str| schema.iter().position(|(n, _)| n == name);
    let start = find("ts").ok_or(None)?;
    if !is_time(schema[start].1) {
        return Err(Some(schema[start].1));
    }
    let end = match (find("end_ts"), find("duration_ns")) {
        (Some(end), _) if is_time(schema[end].1) => IntervalEnd::Column(end),
        (_, Some(d)) if matches!(schema[d].1, Type::Duration | Type::I64 | Type::U64) => IntervalEnd::Duration(d),
        _ => IntervalEnd::Point,
    };
    Ok(Interval { start, end })
}
