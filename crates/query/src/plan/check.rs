//! The type checker: each clause's names resolved against the rows' schema and
//! its expressions typed, into the plan's stages.
use super::{AggCall, ArithOp, CmpOp, Output, Stage, TExpr, TKind};
use crate::ast::*;
use crate::catalog::Catalog;
use crate::error::{did_you_mean, ErrorKind, QueryError};
use crate::functions::{aggregate_by_name, all_function_names, scalar_by_name, window_by_name, AggFn, WindowFn};
use crate::types::Type;
use columnar::Value;
use regex::{Regex, RegexBuilder};
use std::sync::Arc;

/// What an expression inside `group by ... select` may refer to.
struct GroupScope {
    /// The grouped rows' columns (aggregate arguments are planned against these).
    input: Vec<(String, Type)>,
    /// Key expressions' text without whitespace, their output names and types.
    key_texts: Vec<String>,
    key_names: Vec<String>,
    key_types: Vec<Type>,
    aggregates: Vec<AggCall>,
}

impl GroupScope {
    /// No keys or aggregates yet, over rows with the columns of `input`.
    fn over(input: &[(String, Type)]) -> GroupScope {
        GroupScope {
            input: input.to_vec(),
            key_texts: Vec::new(),
            key_names: Vec::new(),
            key_types: Vec::new(),
            aggregates: Vec::new(),
        }
    }
}

pub(super) struct Planner<'t> {
    /// Values the named constants in the query.
    pub(super) catalog: &'t dyn Catalog,
    pub(super) text: &'t str,
    pub(super) table: &'t str,
    /// The query's source table: `SOURCE.col` means its column `col`.
    pub(super) source: &'t str,
}

fn type_error(message: String, span: Span) -> QueryError {
    QueryError::at(ErrorKind::Type, message, span)
}

impl Planner<'_> {
    pub(super) fn source_text(&self, span: Span) -> String {
        let text = self.text.get(span.start..span.end).unwrap_or("");
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn compact_text(&self, span: Span) -> String {
        self.text.get(span.start..span.end).unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// A result column's name: its alias, its column, `count` for `count()`
    /// (as `group by` alone names it), else the expression as written.
    fn output_name(&self, item: &SelectItem) -> String {
        match (&item.alias, &item.expr.kind) {
            (Some(alias), _) => alias.clone(),
            (None, ExprKind::Column(name)) => name.clone(),
            (None, ExprKind::Call { name, args, .. }) if args.is_empty() && name.eq_ignore_ascii_case("count") => {
                "count".into()
            }
            (None, _) => self.source_text(item.expr.span),
        }
    }

    /// An aggregate written again after the aggregation (`order by count()`,
    /// `top 5 by sum(x)`) names the result column it made.
    fn made_column(&self, expr: &Expr, schema: &[(String, Type)]) -> Option<TExpr> {
        if !contains_aggregate(expr) {
            return None;
        }
        let name = self.output_name(&SelectItem { expr: expr.clone(), alias: None });
        let i = schema.iter().position(|(n, _)| *n == name)?;
        Some(TExpr { kind: TKind::Column(i), ty: schema[i].1 })
    }

    /// An expression over each row (no aggregates).
    pub(super) fn row_expr(&self, e: &Expr, schema: &[(String, Type)]) -> Result<TExpr, QueryError> {
        self.expr(e, schema, None)
    }

    pub(super) fn clause(
        &self,
        clause: Clause,
        schema: &mut Vec<(String, Type)>,
        stages: &mut Vec<Stage>,
    ) -> Result<(), QueryError> {
        match clause {
            Clause::Where(e) => {
                let predicate = self.expr(&e, schema, None)?;
                self.expect_bool(&predicate, e.span, "where")?;
                stages.push(Stage::Filter(predicate));
            }
            Clause::Between { from, to, span } => {
                let Some(ts) = schema.iter().position(|(n, _)| n == "ts") else {
                    return Err(type_error("'between' filters the 'ts' column, and this table has none".into(), span));
                };
                let bound = |e: &Expr| -> Result<TExpr, QueryError> {
                    let planned = self.expr(e, schema, None)?;
                    match (&planned.kind, planned.ty) {
                        (TKind::Literal(_), Type::Duration | Type::Timestamp) => Ok(planned),
                        _ => Err(type_error(
                            "a time bound must be a duration literal such as 12s or 14.5s".into(),
                            e.span,
                        )),
                    }
                };
                let (from, to) = (bound(&from)?, bound(&to)?);
                let column = || Box::new(TExpr { kind: TKind::Column(ts), ty: schema[ts].1 });
                let lower = TExpr { kind: TKind::Compare(CmpOp::Ge, column(), Box::new(from)), ty: Type::Bool };
                let upper = TExpr { kind: TKind::Compare(CmpOp::Lt, column(), Box::new(to)), ty: Type::Bool };
                stages
                    .push(Stage::Filter(TExpr { kind: TKind::And(Box::new(lower), Box::new(upper)), ty: Type::Bool }));
            }
            Clause::GroupBy { keys, aggregates, span: _ } => {
                let mut scope = GroupScope::over(schema);
                let mut planned_keys = Vec::new();
                for key in &keys {
                    let planned = self.expr(&key.expr, schema, None)?;
                    if planned.ty == Type::Fields {
                        return Err(type_error(
                            "cannot group by a whole field map; pick a field: fields.Name".into(),
                            key.expr.span,
                        ));
                    }
                    scope.key_texts.push(self.compact_text(key.expr.span));
                    scope.key_names.push(self.output_name(key));
                    scope.key_types.push(planned.ty);
                    planned_keys.push(planned);
                }
                let mut outputs: Vec<Output> = (0..keys.len())
                    .map(|i| Output {
                        name: scope.key_names[i].clone(),
                        expr: TExpr { kind: TKind::Column(i), ty: scope.key_types[i] },
                    })
                    .collect();
                match aggregates {
                    None => {
                        scope.aggregates.push(AggCall { func: AggFn::Count, arg: None, ty: Type::U64 });
                        outputs.push(Output {
                            name: "count".into(),
                            expr: TExpr { kind: TKind::Column(keys.len()), ty: Type::U64 },
                        });
                    }
                    Some(items) => {
                        for item in &items {
                            let expr = self.expr(&item.expr, &scope.input.clone(), Some(&mut scope))?;
                            outputs.push(Output { name: self.output_name(item), expr });
                        }
                    }
                }
                *schema = outputs.iter().map(|o| (o.name.clone(), o.expr.ty)).collect();
                stages.push(Stage::Aggregate { keys: planned_keys, aggregates: scope.aggregates, outputs });
            }
            Clause::Select { items, span: _ } => {
                let has_aggregate = items.iter().any(|i| contains_aggregate(&i.expr));
                if has_aggregate {
                    let mut scope = GroupScope::over(schema);
                    let mut outputs = Vec::new();
                    for item in &items {
                        let expr = self.expr(&item.expr, &scope.input.clone(), Some(&mut scope))?;
                        outputs.push(Output { name: self.output_name(item), expr });
                    }
                    *schema = outputs.iter().map(|o| (o.name.clone(), o.expr.ty)).collect();
                    stages.push(Stage::Aggregate { keys: Vec::new(), aggregates: scope.aggregates, outputs });
                } else {
                    // Window functions first: each a column the items then read.
                    let mut windows = Vec::new();
                    for item in &items {
                        window_calls(&item.expr, &mut windows);
                    }
                    for call in windows {
                        self.window(call, schema, stages)?;
                    }
                    let mut outputs = Vec::new();
                    for item in &items {
                        let expr = self.expr(&item.expr, schema, None)?;
                        outputs.push(Output { name: self.output_name(item), expr });
                    }
                    *schema = outputs.iter().map(|o| (o.name.clone(), o.expr.ty)).collect();
                    stages.push(Stage::Project(outputs));
                }
            }
            Clause::OrderBy(keys) => {
                let mut planned = Vec::new();
                for key in keys {
                    let expr = match self.made_column(&key.expr, schema) {
                        Some(column) => column,
                        None => self.expr(&key.expr, schema, None)?,
                    };
                    self.expect_orderable(&expr, key.expr.span)?;
                    planned.push((expr, key.descending));
                }
                stages.push(Stage::Sort(planned));
            }
            Clause::Limit { count, .. } => stages.push(Stage::Limit(count)),
            // Planned by `join`, which needs the clause's source text.
            Clause::Join(join) => {
                return Err(QueryError::at(ErrorKind::Syntax, "a join is planned apart", join.span));
            }
            Clause::Top { count, by, span } => {
                let key = match by {
                    Some(e) => {
                        let expr = match self.made_column(&e, schema) {
                            Some(column) => column,
                            None => self.expr(&e, schema, None)?,
                        };
                        self.expect_orderable(&expr, e.span)?;
                        expr
                    }
                    None => match schema.iter().position(|(n, _)| n == "count") {
                        Some(i) => TExpr { kind: TKind::Column(i), ty: schema[i].1 },
                        None => {
                            return Err(type_error(
                                "'top N' needs 'by EXPR' here (there is no 'count' column)".into(),
                                span,
                            ))
                        }
                    },
                };
                stages.push(Stage::Sort(vec![(key, true)]));
                stages.push(Stage::Limit(count));
            }
        }
        Ok(())
    }

    fn expect_bool(&self, e: &TExpr, span: Span, what: &str) -> Result<(), QueryError> {
        match e.ty {
            Type::Bool | Type::Any | Type::Null => Ok(()),
            other => Err(type_error(format!("'{what}' needs a true/false condition, this is {other}"), span)),
        }
    }

    pub(super) fn expect_orderable(&self, e: &TExpr, span: Span) -> Result<(), QueryError> {
        if e.ty == Type::Fields {
            return Err(type_error("cannot order by a whole field map; pick a field: fields.Name".into(), span));
        }
        Ok(())
    }

    pub(super) fn unknown_column(&self, name: &str, span: Span, schema: &[(String, Type)]) -> QueryError {
        let mut error =
            QueryError::at(ErrorKind::UnknownName, format!("unknown column '{name}' in {}", self.table), span)
                .with_suggestion(did_you_mean(name, schema.iter().map(|(n, _)| n.as_str())));
        let is_function = scalar_by_name(name).is_some() || aggregate_by_name(name).is_some();
        if error.suggestion.is_none() && is_function {
            error.suggestion = Some(format!("{name}()"));
        }
        error
    }

    /// Plans a window function call as a stage that appends its column,
    /// named after where the call is written (`window_column`).
    fn window(&self, call: &Expr, schema: &mut Vec<(String, Type)>, stages: &mut Vec<Stage>) -> Result<(), QueryError> {
        let ExprKind::Call { name, name_span, args, over } = &call.kind else { return Ok(()) };
        let Some(func) = window_by_name(name) else { return Ok(()) };
        let expected = usize::from(func != WindowFn::RowNumber);
        if args.len() != expected {
            let message = format!(
                "{name}() takes {expected} argument{}, got {}",
                if expected == 1 { "" } else { "s" },
                args.len()
            );
            return Err(type_error(message, call.span));
        }
        let arg = args.first().map(|a| self.expr(a, schema, None)).transpose()?;
        let numeric = |t: Type| t.is_numeric() || matches!(t, Type::Any | Type::Null);
        let ty = match (func, arg.as_ref().map(|a| a.ty)) {
            (WindowFn::RowNumber, _) => Type::U64,
            (WindowFn::Lag | WindowFn::Lead, Some(t)) => t,
            (WindowFn::Delta, Some(t)) if numeric(t) => arith_type(ArithOp::Sub, t, t)
                .ok_or_else(|| type_error(format!("{name}() cannot subtract {t}"), call.span))?,
            (WindowFn::RunningSum, Some(t)) if numeric(t) => {
                AggFn::Sum.result_type(Some(t)).map_err(|m| type_error(format!("{name}() {m}"), call.span))?
            }
            (_, t) => {
                return Err(type_error(format!("{name}() needs a number, got {}", t.unwrap_or(Type::Null)), *name_span))
            }
        };
        let window = over.as_deref().cloned().unwrap_or_default();
        let partition = window.partition.iter().map(|p| self.expr(p, schema, None)).collect::<Result<Vec<_>, _>>()?;
        let mut order = Vec::new();
        for key in &window.order {
            let expr = self.expr(&key.expr, schema, None)?;
            self.expect_orderable(&expr, key.expr.span)?;
            order.push((expr, key.descending));
        }
        let column = window_column(call.span);
        stages.push(Stage::Window { name: column.clone(), func, arg, partition, order, ty });
        schema.push((column, ty));
        Ok(())
    }

    /// A field name as the table's events spell it: field names match
    /// without regard to case, as PerfView's do; one no event has is an error.
    fn field_name<'n>(&'n self, name: &'n str, span: Span) -> Result<&'n str, QueryError> {
        let Some(known) = self.catalog.field_names(self.table) else { return Ok(name) };
        if known.iter().any(|k| k == name) {
            return Ok(name);
        }
        let mut same = known.iter().filter(|k| k.eq_ignore_ascii_case(name));
        match (same.next(), same.next()) {
            (Some(only), None) => Ok(only),
            // Several spellings: each row finds its own, without regard to case.
            (Some(_), Some(_)) => Ok(name),
            (None, _) => Err(QueryError::at(
                ErrorKind::UnknownName,
                format!("unknown field '{name}': no event in the {} table has it", self.table),
                span,
            )
            .with_suggestion(did_you_mean(name, known.iter().map(String::as_str)))),
        }
    }

    fn expr(
        &self,
        e: &Expr,
        schema: &[(String, Type)],
        mut group: Option<&mut GroupScope>,
    ) -> Result<TExpr, QueryError> {
        if let Some(scope) = group.as_deref_mut() {
            let text = self.compact_text(e.span);
            if let Some(i) = scope.key_texts.iter().position(|k| *k == text) {
                return Ok(TExpr { kind: TKind::Column(i), ty: scope.key_types[i] });
            }
        }
        let boxed = |t: TExpr| Box::new(t);
        match &e.kind {
            ExprKind::Literal(literal) => self.literal(literal, e.span),
            ExprKind::Column(name) => {
                if let Some(scope) = group.as_deref_mut() {
                    if let Some(i) = scope.key_names.iter().position(|k| k == name) {
                        return Ok(TExpr { kind: TKind::Column(i), ty: scope.key_types[i] });
                    }
                    if scope.input.iter().any(|(n, _)| n == name) {
                        return Err(type_error(
                            format!("column '{name}' is neither grouped nor inside an aggregate such as count(), sum({name}) or first({name})"),
                            e.span,
                        ));
                    }
                    return Err(self.unknown_column(name, e.span, &scope.input));
                }
                match schema.iter().position(|(n, _)| n == name) {
                    Some(i) => Ok(TExpr { kind: TKind::Column(i), ty: schema[i].1 }),
                    None => Err(self.unknown_column(name, e.span, schema)),
                }
            }
            ExprKind::Field { column, name } => {
                // A joined column (`alias.col`) or the source's own (`samples.tid`) is a plain column.
                let joined = format!("{column}.{name}");
                let has = |wanted: &str| schema.iter().any(|(n, _)| n == wanted);
                let plain = if has(&joined) {
                    Some(joined)
                } else if column.eq_ignore_ascii_case(self.source) && !has(column) {
                    Some(name.clone())
                } else {
                    None
                };
                if let Some(plain) = plain {
                    return self.expr(&Expr { kind: ExprKind::Column(plain), span: e.span }, schema, group);
                }
                let prefix = format!("{column}.");
                if !has(column) && schema.iter().any(|(n, _)| n.starts_with(&prefix)) {
                    let columns = schema.iter().filter_map(|(n, _)| n.strip_prefix(&prefix));
                    return Err(QueryError::at(
                        ErrorKind::UnknownName,
                        format!("unknown column '{name}' in the joined rows '{column}'"),
                        e.span,
                    )
                    .with_suggestion(did_you_mean(name, columns).map(|c| format!("{prefix}{c}"))));
                }
                if group.is_some() {
                    return Err(type_error(
                        format!("'{column}.{name}' is neither grouped nor inside an aggregate"),
                        e.span,
                    ));
                }
                match schema.iter().position(|(n, _)| n == column) {
                    Some(i) if schema[i].1 == Type::Fields => {
                        // A joined field map's names are its own table's: not checked here.
                        let name = if column.contains('.') { name } else { self.field_name(name, e.span)? };
                        Ok(TExpr { kind: TKind::Field { column: i, name: Arc::from(name) }, ty: Type::Any })
                    }
                    Some(_) => Err(type_error(
                        format!("'{column}' is not a field map, so '{column}.{name}' means nothing"),
                        e.span,
                    )),
                    None => Err(self.unknown_column(column, e.span, schema)),
                }
            }
            ExprKind::Unary(UnaryOp::Not, inner) => {
                let inner_t = self.expr(inner, schema, group)?;
                self.expect_bool(&inner_t, inner.span, "not")?;
                Ok(TExpr { kind: TKind::Not(boxed(inner_t)), ty: Type::Bool })
            }
            ExprKind::Unary(UnaryOp::Neg, inner) => {
                let inner_t = self.expr(inner, schema, group)?;
                if let TKind::Literal(v) = &inner_t.kind {
                    if let Some(folded) = negate_literal(v) {
                        let ty = if matches!(folded, Value::F64(_)) { Type::F64 } else { value_type(&folded) };
                        return Ok(TExpr { kind: TKind::Literal(folded), ty });
                    }
                }
                if !(inner_t.ty.is_numeric() || inner_t.ty == Type::Any) {
                    return Err(type_error(format!("cannot negate a {}", inner_t.ty), inner.span));
                }
                let unsigned = matches!(inner_t.ty, Type::U64 | Type::Address | Type::Status);
                let ty = if unsigned { Type::I64 } else { inner_t.ty };
                Ok(TExpr { kind: TKind::Neg(boxed(inner_t)), ty })
            }
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right, e.span, schema, group),
            ExprKind::In { expr, list, negated } => {
                let target = self.expr(expr, schema, group.as_deref_mut())?;
                let mut values = Vec::new();
                for item in list {
                    let planned = self.expr(item, schema, group.as_deref_mut())?;
                    let planned = status_as_text(item, planned, target.ty);
                    let TKind::Literal(v) = planned.kind else {
                        return Err(type_error("'in (...)' takes literal values".into(), item.span));
                    };
                    if !target.ty.comparable(planned.ty) {
                        return Err(type_error(format!("cannot compare {} with {}", target.ty, planned.ty), item.span));
                    }
                    values.push(v);
                }
                Ok(TExpr { kind: TKind::In { expr: boxed(target), values, negated: *negated }, ty: Type::Bool })
            }
            ExprKind::IsNull { expr, negated } => {
                let target = self.expr(expr, schema, group)?;
                Ok(TExpr { kind: TKind::IsNull { expr: boxed(target), negated: *negated }, ty: Type::Bool })
            }
            ExprKind::Call { name, name_span, .. } if window_by_name(name).is_some() => {
                match schema.iter().position(|(n, _)| *n == window_column(e.span)) {
                    Some(i) => Ok(TExpr { kind: TKind::Column(i), ty: schema[i].1 }),
                    None => Err(type_error(
                        format!("window function '{name}' belongs in a select without aggregates: select ts, {name}(...) over (partition by tid order by ts)"),
                        *name_span,
                    )),
                }
            }
            ExprKind::Call { name, name_span, args, .. } => {
                if let Some(func) = aggregate_by_name(name) {
                    let Some(scope) = group else {
                        return Err(type_error(
                            format!("aggregate '{name}' belongs in 'select' or 'group by ... select'"),
                            *name_span,
                        ));
                    };
                    if args.len() > 1 {
                        return Err(type_error(
                            format!("{name}() takes at most 1 argument, got {}", args.len()),
                            e.span,
                        ));
                    }
                    let input = scope.input.clone();
                    let arg = match args.first() {
                        Some(a) => Some(self.expr(a, &input, None)?),
                        None => None,
                    };
                    let ty = func
                        .result_type(arg.as_ref().map(|a| a.ty))
                        .map_err(|m| type_error(format!("{name}() {m}"), e.span))?;
                    let index = scope.key_texts.len() + scope.aggregates.len();
                    scope.aggregates.push(AggCall { func, arg, ty });
                    return Ok(TExpr { kind: TKind::Column(index), ty });
                }
                let Some(func) = scalar_by_name(name) else {
                    return Err(QueryError::at(
                        ErrorKind::UnknownName,
                        format!("unknown function '{name}'"),
                        *name_span,
                    )
                    .with_suggestion(did_you_mean(name, all_function_names())));
                };
                let mut planned = Vec::new();
                for a in args {
                    planned.push(self.expr(a, schema, group.as_deref_mut())?);
                }
                let types: Vec<Type> = planned.iter().map(|a| a.ty).collect();
                let ty = func.result_type(&types).map_err(|m| type_error(format!("{name}() {m}"), e.span))?;
                Ok(TExpr { kind: TKind::Call { func, args: planned }, ty })
            }
        }
    }

    fn binary(
        &self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        span: Span,
        schema: &[(String, Type)],
        mut group: Option<&mut GroupScope>,
    ) -> Result<TExpr, QueryError> {
        let l = self.expr(left, schema, group.as_deref_mut())?;
        let r = self.expr(right, schema, group)?;
        let bool_expr = |kind: TKind| Ok(TExpr { kind, ty: Type::Bool });
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.expect_bool(&l, left.span, op.symbol())?;
                self.expect_bool(&r, right.span, op.symbol())?;
                let (l, r) = (Box::new(l), Box::new(r));
                bool_expr(if op == BinaryOp::And { TKind::And(l, r) } else { TKind::Or(l, r) })
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let l = status_as_text(left, l, Type::Null);
                let r = status_as_text(right, r, l.ty);
                let l = status_as_text(left, l, r.ty);
                if l.ty == Type::Null || r.ty == Type::Null {
                    return Err(type_error(
                        "comparing with null is never true; use 'is null' or 'is not null'".into(),
                        span,
                    ));
                }
                if !l.ty.comparable(r.ty) {
                    return Err(type_error(
                        format!(
                            "cannot compare '{}' ({}) with '{}' ({})",
                            self.source_text(left.span),
                            l.ty,
                            self.source_text(right.span),
                            r.ty
                        ),
                        span,
                    ));
                }
                let cmp = match op {
                    BinaryOp::Eq => CmpOp::Eq,
                    BinaryOp::Ne => CmpOp::Ne,
                    BinaryOp::Lt => CmpOp::Lt,
                    BinaryOp::Le => CmpOp::Le,
                    BinaryOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                bool_expr(TKind::Compare(cmp, Box::new(l), Box::new(r)))
            }
            BinaryOp::Match | BinaryOp::NotMatch | BinaryOp::Like | BinaryOp::NotLike => {
                self.expect_text(&l, left.span, op)?;
                let pattern = self.literal_text(&r, right.span, op)?;
                let regex = if matches!(op, BinaryOp::Like | BinaryOp::NotLike) {
                    RegexBuilder::new(&glob_to_regex(&pattern)).case_insensitive(true).build()
                } else {
                    Regex::new(&pattern)
                }
                .map_err(|err| type_error(format!("invalid pattern: {}", first_line(&err.to_string())), right.span))?;
                let negated = matches!(op, BinaryOp::NotMatch | BinaryOp::NotLike);
                bool_expr(TKind::Matches { expr: Box::new(l), regex, negated })
            }
            BinaryOp::Contains | BinaryOp::NotContains => {
                self.expect_text(&l, left.span, op)?;
                let needle = self.literal_text(&r, right.span, op)?.to_lowercase();
                bool_expr(TKind::Contains { expr: Box::new(l), needle, negated: op == BinaryOp::NotContains })
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let arith = match op {
                    BinaryOp::Add => ArithOp::Add,
                    BinaryOp::Sub => ArithOp::Sub,
                    BinaryOp::Mul => ArithOp::Mul,
                    BinaryOp::Div => ArithOp::Div,
                    _ => ArithOp::Rem,
                };
                let ty = arith_type(arith, l.ty, r.ty).ok_or_else(|| {
                    type_error(format!("cannot apply '{}' to {} and {}", op.symbol(), l.ty, r.ty), span)
                })?;
                Ok(TExpr { kind: TKind::Arith(arith, Box::new(l), Box::new(r)), ty })
            }
        }
    }

    fn expect_text(&self, e: &TExpr, span: Span, op: BinaryOp) -> Result<(), QueryError> {
        if e.ty.is_text() {
            Ok(())
        } else {
            Err(type_error(format!("'{}' needs text on its left, this is {}", op.symbol(), e.ty), span))
        }
    }

    fn literal_text(&self, e: &TExpr, span: Span, op: BinaryOp) -> Result<String, QueryError> {
        match &e.kind {
            TKind::Literal(Value::Str(s)) => Ok(s.to_string()),
            _ => Err(type_error(format!("'{}' needs a quoted string on its right", op.symbol()), span)),
        }
    }
}

/// The regex crate's message without its picture of the pattern.
fn first_line(text: &str) -> String {
    let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(text).trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

impl Planner<'_> {
    fn literal(&self, literal: &Literal, span: Span) -> Result<TExpr, QueryError> {
        if let Literal::Named(name) = literal {
            let Some(value) = self.catalog.constant(name) else {
                return Err(QueryError::at(ErrorKind::UnknownName, format!("unknown name '{name}'"), span)
                    .with_suggestion(did_you_mean(name, self.catalog.constant_names())));
            };
            return Ok(literal_expr(&Literal::Int(value)));
        }
        Ok(literal_expr(literal))
    }
}

fn literal_expr(literal: &Literal) -> TExpr {
    let value = match literal {
        Literal::Int(v) => i64::try_from(*v).map_or(Value::U64(*v), Value::I64),
        Literal::Float(v) => Value::F64(*v),
        Literal::Str(s) => Value::Str(Arc::from(s.as_str())),
        Literal::Duration(ns) => Value::Duration(*ns),
        Literal::Named(name) => unreachable!("'{name}' is valued by Planner::literal"),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    };
    let ty = value_type(&value);
    TExpr { kind: TKind::Literal(value), ty }
}

fn value_type(value: &Value) -> Type {
    columnar::value_type(value).map_or(Type::Null, Type::of_column)
}

/// A named constant compared with text means its name.
fn status_as_text(ast: &Expr, planned: TExpr, other: Type) -> TExpr {
    match (&ast.kind, other) {
        (ExprKind::Literal(Literal::Named(name)), Type::Str) => {
            TExpr { kind: TKind::Literal(Value::Str(Arc::from(name.as_str()))), ty: Type::Str }
        }
        _ => planned,
    }
}

fn negate_literal(value: &Value) -> Option<Value> {
    Some(match *value {
        Value::I64(v) => Value::I64(v.checked_neg()?),
        Value::U64(v) => Value::I64(i64::try_from(-(i128::from(v))).ok()?),
        Value::F64(v) => Value::F64(-v),
        Value::Duration(v) => Value::Duration(v.checked_neg()?),
        _ => return None,
    })
}

/// The type of `l op r`, or None when the operation means nothing.
pub fn arith_type(op: ArithOp, l: Type, r: Type) -> Option<Type> {
    use Type::*;
    if l == Any || r == Any {
        return Some(Any);
    }
    if !(l.is_numeric() && r.is_numeric()) {
        return None;
    }
    // A status in arithmetic is its number (`ret & ...` has no operator; `ret - 1` is rare but harmless).
    let plain_int = |t: Type| matches!(t, I64 | U64 | Status);
    Some(match (op, l, r) {
        (ArithOp::Sub, Timestamp, Timestamp) => Duration,
        (ArithOp::Add | ArithOp::Sub, Timestamp, Duration) | (ArithOp::Add, Duration, Timestamp) => Timestamp,
        (ArithOp::Add | ArithOp::Sub, Timestamp, t) if plain_int(t) => Timestamp,
        (ArithOp::Add | ArithOp::Sub, Duration, Duration) => Duration,
        (ArithOp::Add | ArithOp::Sub, Duration, t) if plain_int(t) => Duration,
        (ArithOp::Div, Duration, Duration) => F64,
        // `ts / 1s`: which whole bucket of that size since the trace start.
        (ArithOp::Div, Timestamp, Duration) => I64,
        (ArithOp::Rem, Timestamp, Duration) => Duration,
        (ArithOp::Mul | ArithOp::Div | ArithOp::Rem, Duration, t) if plain_int(t) => Duration,
        (ArithOp::Mul, t, Duration) if plain_int(t) => Duration,
        (ArithOp::Add | ArithOp::Sub, Address, t) if plain_int(t) => Address,
        (ArithOp::Sub, Address, Address) => I64,
        (_, F64, _) | (_, _, F64) => F64,
        (ArithOp::Sub, _, _) => I64,
        (_, U64, U64) => U64,
        (_, a, b) if plain_int(a) && plain_int(b) => I64,
        _ => return None,
    })
}

/// The name of the column a window function call written at `span` makes.
fn window_column(span: Span) -> String {
    format!("#window@{}..{}", span.start, span.end)
}

/// The window function calls in `e`, outermost first.
fn window_calls<'e>(e: &'e Expr, into: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Call { name, args, .. } => {
            if window_by_name(name).is_some() {
                into.push(e);
            }
            args.iter().for_each(|a| window_calls(a, into));
        }
        ExprKind::Unary(_, inner) => window_calls(inner, into),
        ExprKind::Binary(_, l, r) => {
            window_calls(l, into);
            window_calls(r, into);
        }
        ExprKind::In { expr, list, .. } => {
            window_calls(expr, into);
            list.iter().for_each(|a| window_calls(a, into));
        }
        ExprKind::IsNull { expr, .. } => window_calls(expr, into),
        ExprKind::Literal(_) | ExprKind::Column(_) | ExprKind::Field { .. } => {}
    }
}

/// `*` any run, `?` one character, `%` any run (SQL); everything else literal.
fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    for c in glob.chars() {
        match c {
            '*' | '%' => out.push_str(".*"),
            '?' => out.push('.'),
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push('$');
    format!("(?is){out}")
}

fn contains_aggregate(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { name, args, .. } => aggregate_by_name(name).is_some() || args.iter().any(contains_aggregate),
        ExprKind::Unary(_, inner) => contains_aggregate(inner),
        ExprKind::Binary(_, l, r) => contains_aggregate(l) || contains_aggregate(r),
        ExprKind::In { expr, list, .. } => contains_aggregate(expr) || list.iter().any(contains_aggregate),
        ExprKind::IsNull { expr, .. } => contains_aggregate(expr),
        ExprKind::Literal(_) | ExprKind::Column(_) | ExprKind::Field { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert_eq!(glob_to_regex("a*.s?s"), r"(?is)^a.*\.s.s$");
    }
}
