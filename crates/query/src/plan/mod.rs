//! Name resolution and type checking: a parsed query becomes a list of stages
//! over typed, resolved expressions. The executor never sees a name again.
//!
//! This module holds the plan's types; `saved` expands `@saved` sources into
//! clauses, `check` resolves names and checks types clause by clause.
use super::ast::*;
use super::catalog::Catalog;
use super::error::{did_you_mean, ErrorKind, QueryError};
use super::functions::{AggFn, ScalarFn, WindowFn};
use super::types::Type;
use columnar::Value;
use regex::Regex;
use std::sync::Arc;

mod check;
mod join;
mod saved;

pub use check::arith_type;
use check::Planner;
use saved::expand;
pub use saved::MAX_SAVED_DEPTH;

#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: TKind,
    pub ty: Type,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped (`1 < x` is `x > 1`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Le => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Ge => ordering != Less,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Clone, Debug)]
pub enum TKind {
    Column(usize),
    Field {
        column: usize,
        name: Arc<str>,
    },
    Literal(Value),
    Not(Box<TExpr>),
    Neg(Box<TExpr>),
    And(Box<TExpr>, Box<TExpr>),
    Or(Box<TExpr>, Box<TExpr>),
    Compare(CmpOp, Box<TExpr>, Box<TExpr>),
    Arith(ArithOp, Box<TExpr>, Box<TExpr>),
    /// `~`, `like` (compiled to a regex) and their negations.
    Matches {
        expr: Box<TExpr>,
        regex: Regex,
        negated: bool,
    },
    /// Case-insensitive substring; `needle` is lower case.
    Contains {
        expr: Box<TExpr>,
        needle: String,
        negated: bool,
    },
    In {
        expr: Box<TExpr>,
        values: Vec<Value>,
        negated: bool,
    },
    IsNull {
        expr: Box<TExpr>,
        negated: bool,
    },
    Call {
        func: ScalarFn,
        args: Vec<TExpr>,
    },
}

#[derive(Clone, Debug)]
pub struct AggCall {
    pub func: AggFn,
    pub arg: Option<TExpr>,
    pub ty: Type,
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub expr: TExpr,
}

#[derive(Clone, Debug)]
pub enum Stage {
    /// Keeps the rows where the predicate is true.
    Filter(TExpr),
    /// Groups by `keys` (none: one group of all rows), computes `aggregates`,
    /// then evaluates `outputs` over a frame of key columns followed by aggregate columns.
    Aggregate {
        keys: Vec<TExpr>,
        aggregates: Vec<AggCall>,
        outputs: Vec<Output>,
    },
    Project(Vec<Output>),
    /// Appends a column named `name`: a window function of each row, over
    /// the rows of its partition in the window's order.
    Window {
        name: String,
        func: WindowFn,
        arg: Option<TExpr>,
        partition: Vec<TExpr>,
        order: Vec<(TExpr, bool)>,
        ty: Type,
    },
    /// Stable sort; `true` = descending.
    Sort(Vec<(TExpr, bool)>),
    Limit(u64),
    /// Pairs each row with the other side's matching rows (see [`JoinStage`]).
    Join(Box<JoinStage>),
}

/// A join: the rows so far (the left) with the rows of `right`, a plan of its
/// own over the catalog. The left's columns come first, under their names,
/// then the right's under `right_names` (`ALIAS.col`). Rows keep the left's order.
#[derive(Clone, Debug)]
pub struct JoinStage {
    pub kind: JoinKind,
    pub right: Plan,
    /// Equal keys pair rows: `left_keys[i]` over the left, `right_keys[i]` over the right.
    pub left_keys: Vec<TExpr>,
    pub right_keys: Vec<TExpr>,
    /// For `during`: the left's time and the right's interval.
    pub times: Option<(Interval, Interval)>,
    pub right_names: Vec<String>,
}

/// Where a row's time interval is: `[start, end)` by columns of its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub start: usize,
    pub end: IntervalEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalEnd {
    /// An end time column (`end_ts`).
    Column(usize),
    /// A duration column (`duration_ns`): the end is start + duration.
    Duration(usize),
    /// No end: the row is the point `start`.
    Point,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub table: String,
    pub stages: Vec<Stage>,
}

/// Resolves, expands saved queries and type-checks `query` (parsed from `text`);
/// its view, if any, is the caller's.
pub fn plan_query(query: Query, text: &str, catalog: &dyn Catalog) -> Result<Plan, QueryError> {
    plan_rows(query, Arc::from(text), None, catalog, 0).map(|(plan, _)| plan)
}

/// The plan of `query` (parsed from `text`, `depth` saved queries or sub-queries
/// deep) and the columns of its rows.
fn plan_rows(
    query: Query,
    text: Arc<str>,
    context: Option<String>,
    catalog: &dyn Catalog,
    depth: usize,
) -> Result<(Plan, Vec<(String, Type)>), QueryError> {
    let mut clauses = Vec::new();
    let (table, table_span, table_text, table_context) = expand(query, text, context, catalog, depth, &mut clauses)?;
    let Some(data) = catalog.table(&table) else {
        let names = catalog.table_names();
        return Err(QueryError::at(ErrorKind::UnknownName, format!("unknown table '{table}'"), table_span)
            .with_suggestion(did_you_mean(&table, names.iter().map(String::as_str)))
            .in_query(&table_text)
            .with_context(table_context));
    };
    let mut schema: Vec<(String, Type)> =
        data.columns.iter().map(|c| (c.name.clone(), Type::of_column(c.column.column_type()))).collect();
    let mut stages = Vec::new();
    // What the rows are called in messages: the table, until a clause reshapes them.
    let mut rows_name = table.clone();
    for mut sourced in clauses {
        let reshapes = match &sourced.clause {
            Clause::GroupBy { .. } => Some("the result of 'group by'".to_string()),
            Clause::Select { .. } => Some("the result of 'select'".to_string()),
            Clause::Join(join) => {
                let other = match (&join.alias, &join.other) {
                    (Some((alias, _)), _) => alias.as_str(),
                    (None, JoinSource::Table { name, .. }) => name.as_str(),
                    (None, JoinSource::Query { .. }) => "a sub-query",
                };
                Some(format!("the rows joined with {other}"))
            }
            _ => None,
        };
        let planner = Planner { text: &sourced.text, table: &rows_name, source: &table, catalog };
        let clause = std::mem::replace(&mut sourced.clause, Clause::OrderBy(Vec::new()));
        let planned = match clause {
            Clause::Join(join) => planner.join(*join, &sourced, &mut schema, &mut stages),
            clause => planner.clause(clause, &mut schema, &mut stages),
        };
        planned.map_err(|e| e.in_query(&sourced.text).with_context(sourced.context.clone()))?;
        if let Some(name) = reshapes {
            rows_name = name;
        }
    }
    limits_first(&mut stages);
    Ok((Plan { table, stages }, schema))
}

/// Takes a limit before the projections just ahead of it: a projection works
/// row by row, so it keeps the same rows either way, and `select fields.X
/// limit 10` then decodes ten payloads rather than every row's.
fn limits_first(stages: &mut [Stage]) {
    for i in 1..stages.len() {
        let mut at = i;
        while at > 0 && matches!(stages[at], Stage::Limit(_)) && matches!(stages[at - 1], Stage::Project(_)) {
            stages.swap(at - 1, at);
            at -= 1;
        }
    }
}
