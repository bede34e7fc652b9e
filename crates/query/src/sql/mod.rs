//! Translation of a planned query to SQL text (DuckDB or Spark SQL) that runs
//! the same query over the tables `etwq export` writes, each registered as a
//! table or view of its own name (`FROM syscalls`).
//!
//! The plan's stages are folded into as few `SELECT`s as keep their meaning:
//! a filter, grouping or projection, an order and a limit share one `SELECT`
//! while SQL evaluates them in that order; anything after is a `SELECT` over
//! the previous one. Columns keep etwq's names and order. Where the engines
//! cannot do what etwq does, the translation is an error that names the
//! construct (a view after `|`, `during`).
//!
//! Differences that remain, documented in the README: `first`/`last` pick by
//! the smallest/largest `ts` (etwq: the first/last row in table order), ties
//! in an order are broken arbitrarily (etwq keeps the rows' order), and `~`
//! runs on the engine's regex flavour (RE2 for DuckDB, Java's for Spark).
mod dialect;
mod expr;

pub use dialect::Dialect;

use crate::ast::{JoinKind, Query};
use crate::catalog::Catalog;
use crate::error::QueryError;
use crate::functions::AggFn;
use crate::grammar::parse_query;
use crate::plan::{plan_query, AggCall, JoinStage, Output, Plan, Stage, TExpr, TKind};
use crate::types::Type;
use expr::{untranslatable, untranslatable_at, ExprWriter};

/// The SQL text that runs query `text` (planned against `catalog`) over the
/// exported tables in `dialect`.
pub fn translate(text: &str, catalog: &dyn Catalog, dialect: Dialect) -> Result<String, QueryError> {
    let query = parse_query(text)?;
    translate_parsed(query, text, catalog, dialect)
}

/// Like [`translate`], for a query parsed from `text` already.
pub fn translate_parsed(
    query: Query,
    text: &str,
    catalog: &dyn Catalog,
    dialect: Dialect,
) -> Result<String, QueryError> {
    if let Some(view) = &query.view {
        let what = format!("'| {}' (a view that only etwq draws)", view.kind.name());
        return Err(untranslatable_at(what, view.span).in_query(text));
    }
    if let Some(span) = during_span(&query) {
        let what = "'during' (an interval join: etwq pairs each row with the intervals that hold its time)";
        return Err(untranslatable_at(what, span).in_query(text));
    }
    let plan = plan_query(query, text, catalog)?;
    let mut counter = 0;
    let (sql, _) = Translator { dialect, catalog, aliases: &mut counter }.plan(&plan)?;
    Ok(sql)
}

/// The span of a `during` clause anywhere in the query, sub-queries included.
fn during_span(query: &Query) -> Option<crate::ast::Span> {
    use crate::ast::{Clause, JoinSource};
    query.clauses.iter().find_map(|clause| match clause {
        Clause::Join(join) if join.kind == JoinKind::During => Some(join.span),
        Clause::Join(join) => match &join.other {
            JoinSource::Query { query, .. } => during_span(query),
            JoinSource::Table { .. } => None,
        },
        _ => None,
    })
}

struct Translator<'c> {
    dialect: Dialect,
    catalog: &'c dyn Catalog,
    /// Numbers the sub-queries' aliases.
    aliases: &'c mut usize,
}

/// One key of an ORDER BY: its SQL and, when it is a plain column, its name.
#[derive(Clone)]
struct OrderKey {
    sql: String,
    column: Option<String>,
    descending: bool,
}

/// One `SELECT` being built: its rows come from `from`, whose columns are
/// `input`; `outputs`, when set, are the columns it gives (else `input`).
struct Level {
    from: String,
    input: Vec<(String, Type)>,
    filters: Vec<String>,
    group_by: Option<Vec<String>>,
    outputs: Option<Vec<(String, String)>>,
    order: Vec<OrderKey>,
    limit: Option<u64>,
    /// How many of `outputs` are window functions after the input's columns.
    windows: usize,
}

impl Level {
    fn over(from: String, input: Vec<(String, Type)>) -> Level {
        Level {
            from,
            input,
            filters: Vec::new(),
            group_by: None,
            outputs: None,
            order: Vec::new(),
            limit: None,
            windows: 0,
        }
    }

    /// Whether a clause that reads each input row (a filter, grouping,
    /// projection) can still be added to this SELECT.
    /// Whether the SELECT would read its FROM as it is.
    fn is_plain(&self) -> bool {
        self.takes_rows() && self.filters.is_empty() && !self.from.contains(char::is_whitespace)
    }

    fn takes_rows(&self) -> bool {
        self.outputs.is_none() && self.order.is_empty() && self.limit.is_none()
    }
}

impl Translator<'_> {
    /// The SQL of a plan and the names and types of its result columns.
    fn plan(&mut self, plan: &Plan) -> Result<(String, Vec<(String, Type)>), QueryError> {
        let Some(table) = self.catalog.table(&plan.table) else {
            return Err(untranslatable(format!("table '{}'", plan.table)));
        };
        let input: Vec<(String, Type)> =
            table.columns.iter().map(|c| (c.name.clone(), Type::of_column(c.column.column_type()))).collect();
        let mut level = Level::over(self.dialect.ident(&plan.table), input);
        // The current columns: the level's outputs when it has them, else its input.
        let mut schema = level.input.clone();
        for stage in &plan.stages {
            match stage {
                Stage::Filter(predicate) => {
                    if !(level.outputs.is_none() && level.limit.is_none()) {
                        level = self.wrap(level, &schema)?;
                    }
                    let sql = self.writer(&schema).expr(predicate)?;
                    level.filters.push(sql);
                }
                Stage::Aggregate { keys, aggregates, outputs } => {
                    if !level.takes_rows() {
                        level = self.wrap_unordered(level, &schema);
                    }
                    let writer = self.writer(&schema);
                    let keys = keys.iter().map(|k| writer.expr(k)).collect::<Result<Vec<_>, _>>()?;
                    let has_ts = schema.iter().position(|(n, _)| n == "ts").map(|i| self.column_sql(&schema, i));
                    let aggregates = aggregates
                        .iter()
                        .map(|a| self.aggregate(a, &writer, has_ts.as_deref()))
                        .collect::<Result<Vec<_>, _>>()?;
                    let frame: Vec<String> = keys.iter().chain(&aggregates).cloned().collect();
                    let resolve = |i: usize| frame.get(i).cloned().unwrap_or_else(|| "NULL".into());
                    let over_frame = ExprWriter { dialect: self.dialect, resolve: Box::new(resolve) };
                    level.outputs = Some(self.outputs(outputs, &over_frame)?);
                    level.group_by = Some(keys);
                    drop(over_frame);
                    drop(writer);
                    schema = outputs.iter().map(|o| (o.name.clone(), o.expr.ty)).collect();
                }
                Stage::Project(outputs) => {
                    // A projection works row by row, so it may join a SELECT that orders and limits.
                    let order_names: Vec<&str> = level.order.iter().filter_map(|k| k.column.as_deref()).collect();
                    let renames_an_order_column = outputs.iter().any(|o| {
                        order_names.contains(&o.name.as_str())
                            && !matches!(o.expr.kind, TKind::Column(i) if schema.get(i).is_some_and(|(n, _)| *n == o.name))
                    });
                    let order_by_expression = level.order.iter().any(|k| k.column.is_none());
                    if level.outputs.is_some() || renames_an_order_column || order_by_expression {
                        level = self.wrap(level, &schema)?;
                    }
                    let written = self.outputs(outputs, &self.writer(&schema))?;
                    level.outputs = Some(written);
                    schema = outputs.iter().map(|o| (o.name.clone(), o.expr.ty)).collect();
                }
                Stage::Window { name, func, arg, partition, order, ty } => {
                    // Windows side by side share a SELECT that passes the rows' columns through.
                    let windows_so_far = level.windows;
                    let first_window = schema.len() - windows_so_far;
                    let reads_a_window = |e: &TExpr| reads_from(e, first_window);
                    let reads_earlier = arg.as_ref().is_some_and(reads_a_window)
                        || partition.iter().any(reads_a_window)
                        || order.iter().any(|(k, _)| reads_a_window(k));
                    if !level.takes_rows() && (windows_so_far == 0 || reads_earlier) {
                        level = self.wrap(level, &schema)?;
                    }
                    // Over the columns before this SELECT's windows.
                    let base = schema.len() - level.windows;
                    let call = self.window(*func, arg.as_ref(), partition, order, &self.writer(&schema[..base]))?;
                    let mut outputs = level.outputs.take().unwrap_or_else(|| {
                        (0..schema.len()).map(|i| (self.column_sql(&schema, i), schema[i].0.clone())).collect()
                    });
                    outputs.push((call, name.clone()));
                    level.outputs = Some(outputs);
                    level.windows += 1;
                    schema.push((name.clone(), *ty));
                }
                Stage::Sort(keys) => {
                    let plain = keys.iter().all(|(k, _)| matches!(k.kind, TKind::Column(_)));
                    if level.limit.is_some() || (level.outputs.is_some() && !plain) {
                        level = self.wrap(level, &schema)?;
                    }
                    let writer = self.writer(&schema);
                    let mut new_keys = Vec::new();
                    for (key, descending) in keys {
                        let column = match key.kind {
                            TKind::Column(i) => schema.get(i).map(|(n, _)| n.clone()),
                            _ => None,
                        };
                        new_keys.push(OrderKey { sql: writer.expr(key)?, column, descending: *descending });
                    }
                    // etwq's sort is stable: the earlier order breaks the new one's ties.
                    new_keys.append(&mut level.order);
                    level.order = new_keys;
                }
                Stage::Limit(n) => {
                    level.limit = Some(level.limit.map_or(*n, |m| m.min(*n)));
                }
                Stage::Join(join) => {
                    let (from, columns) = self.join(join, level, &schema)?;
                    schema = columns;
                    level = Level::over(from, schema.clone());
                }
            }
        }
        Ok((self.render(&level, &schema, true), schema))
    }

    /// Writes expressions over rows whose columns are `schema`, by name.
    fn writer<'s>(&self, schema: &'s [(String, Type)]) -> ExprWriter<'s> {
        let dialect = self.dialect;
        let resolve = move |i: usize| schema.get(i).map_or_else(|| "NULL".into(), |(n, _)| dialect.ident(n));
        ExprWriter { dialect, resolve: Box::new(resolve) }
    }

    fn column_sql(&self, schema: &[(String, Type)], i: usize) -> String {
        schema.get(i).map_or_else(|| "NULL".into(), |(n, _)| self.dialect.ident(n))
    }

    fn outputs(&self, outputs: &[Output], writer: &ExprWriter<'_>) -> Result<Vec<(String, String)>, QueryError> {
        outputs.iter().map(|o| Ok((writer.expr(&o.expr)?, o.name.clone()))).collect()
    }

    fn aggregate(&self, a: &AggCall, writer: &ExprWriter<'_>, ts: Option<&str>) -> Result<String, QueryError> {
        let d = self.dialect;
        let Some(arg) = &a.arg else {
            return match a.func {
                AggFn::Count => Ok("count(*)".into()),
                other => Err(untranslatable(format!("{}() without an argument", other.name()))),
            };
        };
        let x = writer.expr(arg)?;
        // A field's JSON text is a number to the aggregates that add or rank.
        let number = if arg.ty == Type::Any { d.try_cast(&x, "DOUBLE") } else { x.clone() };
        Ok(match a.func {
            AggFn::Count => format!("count({x})"),
            AggFn::Dcount => format!("count(DISTINCT {x})"),
            AggFn::Sum if a.ty == Type::F64 => format!("sum(CAST({number} AS DOUBLE))"),
            AggFn::Sum => format!("sum({number})"),
            AggFn::Avg if a.ty == Type::Duration => format!("CAST(round(avg({number})) AS BIGINT)"),
            AggFn::Avg => format!("avg({number})"),
            AggFn::Min => format!("min({x})"),
            AggFn::Max => format!("max({x})"),
            AggFn::Percentile(p) => d.percentile(&number, p),
            AggFn::First | AggFn::Last => {
                let Some(ts) = ts else {
                    return Err(untranslatable(format!(
                        "{}() over rows without a 'ts' column (SQL rows have no order to take it by)",
                        a.func.name()
                    )));
                };
                let by = format!("CASE WHEN {x} IS NOT NULL THEN {ts} END");
                d.value_by(&x, &by, a.func == AggFn::First)
            }
        })
    }

    fn window(
        &self,
        func: crate::functions::WindowFn,
        arg: Option<&TExpr>,
        partition: &[TExpr],
        order: &[(TExpr, bool)],
        writer: &ExprWriter<'_>,
    ) -> Result<String, QueryError> {
        use crate::functions::WindowFn;
        let mut over = Vec::new();
        if !partition.is_empty() {
            let keys = partition.iter().map(|p| writer.expr(p)).collect::<Result<Vec<_>, _>>()?;
            over.push(format!("PARTITION BY {}", keys.join(", ")));
        }
        if !order.is_empty() {
            let keys = order
                .iter()
                .map(|(k, desc)| Ok(format!("{} {}", writer.expr(k)?, direction(*desc))))
                .collect::<Result<Vec<_>, QueryError>>()?;
            over.push(format!("ORDER BY {}", keys.join(", ")));
        }
        let over = over.join(" ");
        let x = || -> Result<String, QueryError> {
            match arg {
                Some(a) => writer.expr(a),
                None => Err(untranslatable("a window function without its argument")),
            }
        };
        let signed = |sql: String| match arg.map(|a| a.ty) {
            Some(Type::U64 | Type::Address | Type::Status) => format!("CAST({sql} AS BIGINT)"),
            Some(Type::Any) => self.dialect.try_cast(&sql, "DOUBLE"),
            _ => sql,
        };
        Ok(match func {
            WindowFn::RowNumber => format!("row_number() OVER ({over})"),
            WindowFn::Lag => format!("lag({}) OVER ({over})", x()?),
            WindowFn::Lead => format!("lead({}) OVER ({over})", x()?),
            WindowFn::Delta => {
                let v = signed(x()?);
                format!("({v} - lag({v}) OVER ({over}))")
            }
            WindowFn::RunningSum => {
                let v = signed(x()?);
                let frame = if order.is_empty() { "" } else { " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW" };
                format!("sum({v}) OVER ({over}{frame})")
            }
        })
    }

    /// The join of the rows so far (`left`, a sub-query) with the other side,
    /// as a FROM item whose columns are the left's then the other's under their prefixed names.
    fn join(
        &mut self,
        join: &JoinStage,
        left: Level,
        left_schema: &[(String, Type)],
    ) -> Result<(String, Vec<(String, Type)>), QueryError> {
        if join.times.is_some() || join.kind == JoinKind::During {
            return Err(untranslatable("'during'"));
        }
        let d = self.dialect;
        let left_sql = if left.is_plain() { left.from.clone() } else { self.render(&left, left_schema, false) };
        let (right_sql, right_schema) = self.plan(&join.right)?;
        let alias = self.next_alias();
        let l_resolve = |i: usize| format!("l.{}", self.column_sql(left_schema, i));
        let r_resolve = |i: usize| format!("r.{}", self.column_sql(&right_schema, i));
        let l = ExprWriter { dialect: d, resolve: Box::new(l_resolve) };
        let r = ExprWriter { dialect: d, resolve: Box::new(r_resolve) };
        let mut on = Vec::new();
        for (a, b) in join.left_keys.iter().zip(&join.right_keys) {
            on.push(format!("{} = {}", l.expr(a)?, r.expr(b)?));
        }
        let mut select: Vec<String> = (0..left_schema.len()).map(&l_resolve).collect();
        let mut columns = left_schema.to_vec();
        for (i, name) in join.right_names.iter().enumerate() {
            select.push(format!("{} AS {}", r_resolve(i), d.ident(name)));
            columns.push((name.clone(), right_schema.get(i).map_or(Type::Null, |(_, t)| *t)));
        }
        let kind = if join.kind == JoinKind::Left { "LEFT JOIN" } else { "JOIN" };
        let on = if on.is_empty() { "TRUE".to_string() } else { on.join(" AND ") };
        let from = format!(
            "(\n  SELECT {}\n  FROM {} AS l\n  {kind} {} AS r ON {on}\n) AS {alias}",
            select.join(", "),
            parenthesised(&left_sql),
            parenthesised(&right_sql)
        );
        Ok((from, columns))
    }

    fn next_alias(&mut self) -> String {
        *self.aliases += 1;
        format!("t{}", self.aliases)
    }

    /// `level` as a sub-query that a new, empty level reads. An order that
    /// later clauses must keep carries over when its keys are plain columns.
    fn wrap(&mut self, level: Level, schema: &[(String, Type)]) -> Result<Level, QueryError> {
        let carried: Option<Vec<OrderKey>> = level
            .order
            .iter()
            .map(|k| {
                let name = k.column.as_ref()?;
                schema.iter().any(|(n, _)| n == name).then(|| OrderKey {
                    sql: self.dialect.ident(name),
                    column: Some(name.clone()),
                    descending: k.descending,
                })
            })
            .collect();
        let Some(carried) = carried else {
            return Err(untranslatable(
                "a clause after an order by an expression (SQL forgets a sub-query's order; order by a column, or order last)",
            ));
        };
        let mut outer = self.wrap_unordered(level, schema);
        outer.order = carried;
        Ok(outer)
    }

    fn wrap_unordered(&mut self, level: Level, schema: &[(String, Type)]) -> Level {
        let inner = self.render(&level, schema, false);
        let alias = self.next_alias();
        Level::over(format!("(\n{}\n) AS {alias}", indent(&inner, 2)), schema.to_vec())
    }

    /// The SELECT text of `level`, whose result columns are `schema`. The
    /// outermost lists etwq's columns by name (the exported tables carry more).
    fn render(&self, level: &Level, schema: &[(String, Type)], outermost: bool) -> String {
        let d = self.dialect;
        let select = match &level.outputs {
            Some(outputs) => outputs
                .iter()
                .map(
                    |(sql, name)| {
                        if *sql == d.ident(name) {
                            sql.clone()
                        } else {
                            format!("{sql} AS {}", d.ident(name))
                        }
                    },
                )
                .collect::<Vec<_>>()
                .join(", "),
            None if outermost => schema.iter().map(|(n, _)| d.ident(n)).collect::<Vec<_>>().join(", "),
            None => "*".into(),
        };
        let mut sql = format!("SELECT {select}\nFROM {}", level.from);
        if !level.filters.is_empty() {
            sql.push_str(&format!("\nWHERE {}", level.filters.join("\n  AND ")));
        }
        if let Some(keys) = &level.group_by {
            if !keys.is_empty() {
                sql.push_str(&format!("\nGROUP BY {}", keys.join(", ")));
            }
        }
        if !level.order.is_empty() {
            let keys: Vec<String> =
                level.order.iter().map(|k| format!("{} {}", k.sql, direction(k.descending))).collect();
            sql.push_str(&format!("\nORDER BY {}", keys.join(", ")));
        }
        if let Some(n) = level.limit {
            sql.push_str(&format!("\nLIMIT {n}"));
        }
        sql
    }
}

/// Whether `e` reads a column at index `first` or later.
fn reads_from(e: &TExpr, first: usize) -> bool {
    match &e.kind {
        TKind::Column(i) => *i >= first,
        TKind::Field { column, .. } => *column >= first,
        TKind::Literal(_) => false,
        TKind::Not(x) | TKind::Neg(x) => reads_from(x, first),
        TKind::And(a, b) | TKind::Or(a, b) | TKind::Compare(_, a, b) | TKind::Arith(_, a, b) => {
            reads_from(a, first) || reads_from(b, first)
        }
        TKind::Matches { expr, .. }
        | TKind::Contains { expr, .. }
        | TKind::In { expr, .. }
        | TKind::IsNull { expr, .. } => reads_from(expr, first),
        TKind::Call { args, .. } => args.iter().any(|a| reads_from(a, first)),
    }
}

/// etwq puts nulls last whichever the direction.
fn direction(descending: bool) -> &'static str {
    if descending {
        "DESC NULLS LAST"
    } else {
        "ASC NULLS LAST"
    }
}

/// A table name as it is, a SELECT as an indented sub-query.
fn parenthesised(sql: &str) -> String {
    if sql.contains(char::is_whitespace) {
        format!("(\n{}\n  )", indent(sql, 4))
    } else {
        sql.to_string()
    }
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests;
