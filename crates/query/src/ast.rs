//! The parsed shape of a query, with byte spans into its text for error carets.

/// Byte offsets `start..end` into the query text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub source: Source,
    pub clauses: Vec<Clause>,
    /// `| tree ...` and the like, last in the query: the caller draws it from the
    /// result rows; the engine knows only how it is written.
    pub view: Option<View>,
}

/// A view of the result rows that may end a query after `|`.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub kind: ViewKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ViewKind {
    /// `tree [depth N] [min P%] [offsets]`, the options in any order.
    Tree {
        depth: Option<u64>,
        /// 0 to 100.
        min_percent: Option<f64>,
        offsets: bool,
    },
    /// `butterfly FUNC`
    Butterfly {
        function: String,
    },
    Folded,
    /// `flame FILE.svg`
    Flame {
        file: String,
    },
    /// `histogram COLUMN [to FILE]`: a duration column counted in kiinfo's buckets.
    Histogram {
        column: String,
        /// An image to write (`.svg` or `.png`) instead of drawing in the terminal.
        to: Option<String>,
    },
    /// `chart MEASURE [by KEY] [every DURATION] [top N] [to FILE]`: a time
    /// series of the rows in buckets, one series per key.
    Chart(ChartSpec),
    /// `waits`: the wait chains of the switch-ins of a cswitch query.
    Waits,
    /// `diff tree [by KEY] [depth N] [min P%]`: the stacks of two groups of rows compared.
    DiffTree {
        by: Option<String>,
        depth: Option<u64>,
        min_percent: Option<f64>,
    },
    /// `diff flame FILE.svg [by KEY]`: a differential flame graph of two groups of rows.
    DiffFlame {
        file: String,
        by: Option<String>,
    },
    /// `export FORMAT FILE [by thread|process]`: the rows written for another profiler.
    Export {
        format: ExportFormat,
        file: String,
        by: Option<String>,
    },
}

/// The profilers `| export` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// speedscope's file format: a sampled profile per thread or process.
    Speedscope,
    /// Firefox Profiler's processed profile format.
    Firefox,
    /// The Chrome trace event format (chrome://tracing, Perfetto).
    Chrome,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [ExportFormat::Speedscope, ExportFormat::Firefox, ExportFormat::Chrome];

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Speedscope => "speedscope",
            ExportFormat::Firefox => "firefox",
            ExportFormat::Chrome => "chrome",
        }
    }
}

impl ViewKind {
    /// The word that starts the view.
    pub fn name(&self) -> &'static str {
        match self {
            ViewKind::Tree { .. } => "tree",
            ViewKind::Butterfly { .. } => "butterfly",
            ViewKind::Folded => "folded",
            ViewKind::Flame { .. } => "flame",
            ViewKind::Histogram { .. } => "histogram",
            ViewKind::Chart(_) => "chart",
            ViewKind::Waits => "waits",
            ViewKind::DiffTree { .. } | ViewKind::DiffFlame { .. } => "diff",
            ViewKind::Export { .. } => "export",
        }
    }
}

/// What `| chart` was asked for; the options in any order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChartSpec {
    /// `cpu` (share of all cores), `count` (rows), or a numeric column summed.
    pub measure: String,
    /// The column whose values are the series (`by proc`); None: one series.
    pub by: Option<String>,
    /// The bucket width in ns (`every 100ms`); None: fitted to the screen.
    pub every_ns: Option<i64>,
    /// How many keys get a series of their own (`top 5`); the rest are "other".
    pub top: Option<u64>,
    /// An image to write (`.svg` or `.png`) instead of drawing in the terminal.
    pub to: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Table {
        name: String,
        span: Span,
    },
    /// `@name` or `@name(arg, ...)`: a query from the library, expanded before planning.
    Saved {
        name: String,
        args: Vec<Expr>,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    Where(Expr),
    /// Keeps rows whose `ts` lies in `from..to` (ns since trace start, end excluded).
    Between {
        from: Expr,
        to: Expr,
        span: Span,
    },
    /// Without aggregates the result is the keys and `count`.
    GroupBy {
        keys: Vec<SelectItem>,
        aggregates: Option<Vec<SelectItem>>,
        span: Span,
    },
    Select {
        items: Vec<SelectItem>,
        span: Span,
    },
    OrderBy(Vec<OrderKey>),
    Limit {
        count: u64,
        span: Span,
    },
    /// `top N by EXPR`: order by EXPR descending, keep N.
    Top {
        count: u64,
        by: Option<Expr>,
        span: Span,
    },
    /// `[left] join OTHER [as ALIAS] on A = B ...` and `during OTHER [as ALIAS] [on COL ...]`.
    Join(Box<Join>),
}

/// A join of the rows so far (the left) with another table's or sub-query's rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub other: JoinSource,
    /// The name the other side's columns are prefixed with (`ALIAS.col`).
    pub alias: Option<(String, Span)>,
    /// `on A = B and ...`: A over the left rows, B over the other's. For
    /// `during`, each key names one column both sides have (A and B alike).
    pub on: Vec<JoinKey>,
    /// The whole clause.
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// `join`: the pairs of rows whose keys are equal.
    Inner,
    /// `left join`: those, and each left row without a match once, its other side null.
    Left,
    /// `during`: the pairs where the left row's time lies inside the other's interval.
    During,
}

impl JoinKind {
    /// The words that start the clause.
    pub fn words(self) -> &'static str {
        match self {
            JoinKind::Inner => "join",
            JoinKind::Left => "left join",
            JoinKind::During => "during",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum JoinSource {
    Table {
        name: String,
        span: Span,
    },
    /// `( QUERY )`: its rows, planned and run as any query.
    Query {
        query: Box<Query>,
        span: Span,
    },
}

impl JoinSource {
    pub fn span(&self) -> Span {
        match self {
            JoinSource::Table { span, .. } | JoinSource::Query { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct JoinKey {
    pub left: Expr,
    pub right: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SelectItem {
    pub expr: Expr,
    pub alias: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderKey {
    pub expr: Expr,
    pub descending: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Column(String),
    /// `fields.Name`: one named value from a per-row field map column.
    Field {
        column: String,
        name: String,
    },
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// A function or aggregate call; `count(*)` is parsed as `count()`.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
        /// `over (partition by ... order by ...)`, after a window function.
        over: Option<Box<Over>>,
    },
}

/// The rows a window function reads: `over (partition by KEYS order by KEYS)`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Over {
    pub partition: Vec<Expr>,
    pub order: Vec<OrderKey>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Int(u64),
    Float(f64),
    Str(String),
    /// Nanoseconds.
    Duration(i64),
    /// A named constant (`STATUS_ACCESS_DENIED`), valued by the catalog: a number, or the
    /// name itself when compared with text.
    Named(String),
    Bool(bool),
    Null,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `~`: regex search.
    Match,
    /// `!~`
    NotMatch,
    /// `like`: glob with `*` and `?` (and SQL's `%` and `_`).
    Like,
    NotLike,
    Contains,
    NotContains,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Match => "~",
            BinaryOp::NotMatch => "!~",
            BinaryOp::Like => "like",
            BinaryOp::NotLike => "not like",
            BinaryOp::Contains => "contains",
            BinaryOp::NotContains => "not contains",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }
}
