//! A typed expression of the plan as SQL, with etwq's semantics where the
//! engines differ: integer division truncates and gives null for a zero
//! divisor, unsigned subtraction may go below zero, `like` ignores case.
use super::Dialect;
use crate::ast::Span;
use crate::error::{ErrorKind, QueryError};
use crate::functions::ScalarFn;
use crate::plan::{ArithOp, CmpOp, TExpr, TKind};
use crate::types::Type;
use columnar::Value;

/// How a column index of the rows becomes SQL: its quoted name, or the
/// expression it stands for (a group key, an aggregate).
pub(super) type Resolve<'r> = Box<dyn Fn(usize) -> String + 'r>;

pub(super) struct ExprWriter<'r> {
    pub(super) dialect: Dialect,
    pub(super) resolve: Resolve<'r>,
}

/// An error for a construct that has no SQL translation.
pub(super) fn untranslatable(what: impl Into<String>) -> QueryError {
    QueryError::new(ErrorKind::Type, format!("{} has no SQL translation", what.into()), None)
}

pub(super) fn untranslatable_at(what: impl Into<String>, span: Span) -> QueryError {
    QueryError::at(ErrorKind::Type, format!("{} has no SQL translation", what.into()), span)
}

impl ExprWriter<'_> {
    pub(super) fn expr(&self, e: &TExpr) -> Result<String, QueryError> {
        let d = self.dialect;
        Ok(match &e.kind {
            TKind::Column(i) => (self.resolve)(*i),
            TKind::Field { column, name } => d.json_member(&(self.resolve)(*column), name),
            TKind::Literal(value) => self.literal(value)?,
            TKind::Not(inner) => format!("(NOT {})", self.expr(inner)?),
            TKind::Neg(inner) => self.negated(inner)?,
            TKind::And(l, r) => format!("({} AND {})", self.expr(l)?, self.expr(r)?),
            TKind::Or(l, r) => format!("({} OR {})", self.expr(l)?, self.expr(r)?),
            TKind::Compare(op, l, r) => {
                let (a, b) = (self.typed_as(l, r.ty)?, self.typed_as(r, l.ty)?);
                let op = match op {
                    CmpOp::Eq => "=",
                    CmpOp::Ne => "<>",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                format!("({a} {op} {b})")
            }
            TKind::Arith(op, l, r) => self.arith(*op, l, r, e.ty)?,
            TKind::Matches { expr, regex, negated } => {
                let test = d.regex_search(&self.text(expr)?, regex.as_str());
                if *negated {
                    format!("(NOT {test})")
                } else {
                    test
                }
            }
            TKind::Contains { expr, needle, negated } => {
                let test = d.contains_ci(&self.text(expr)?, needle);
                if *negated {
                    format!("(NOT {test})")
                } else {
                    test
                }
            }
            TKind::In { expr, values, negated } => {
                let like = values.first().map_or(Type::Null, value_type);
                let target = self.typed_as(expr, like)?;
                let list = values.iter().map(|v| self.literal(v)).collect::<Result<Vec<_>, _>>()?;
                let not = if *negated { "NOT " } else { "" };
                format!("({target} {not}IN ({}))", list.join(", "))
            }
            TKind::IsNull { expr, negated } => {
                let not = if *negated { "NOT " } else { "" };
                format!("({} IS {not}NULL)", self.expr(expr)?)
            }
            TKind::Call { func, args } => self.call(*func, args)?,
        })
    }

    /// A value of the `fields` map as the type it is compared with: the JSON
    /// text as a number (DECIMAL(38,6) keeps a u64 exact), a boolean or text.
    fn typed_as(&self, e: &TExpr, other: Type) -> Result<String, QueryError> {
        let sql = self.expr(e)?;
        if e.ty != Type::Any {
            return Ok(sql);
        }
        Ok(match other {
            Type::F64 => self.dialect.try_cast(&sql, "DOUBLE"),
            t if t.is_numeric() => self.dialect.try_cast(&sql, "DECIMAL(38,6)"),
            Type::Bool => self.dialect.try_cast(&sql, "BOOLEAN"),
            _ => sql,
        })
    }

    /// An operand as a number: a field's text cast, an unsigned column as a
    /// signed one (etwq's results of `-` and unary minus go below zero).
    fn signed(&self, e: &TExpr) -> Result<String, QueryError> {
        let sql = self.expr(e)?;
        Ok(match e.ty {
            Type::Any => self.dialect.try_cast(&sql, "DOUBLE"),
            Type::U64 | Type::Address | Type::Status => format!("CAST({sql} AS BIGINT)"),
            _ => sql,
        })
    }

    fn numeric(&self, e: &TExpr) -> Result<String, QueryError> {
        let sql = self.expr(e)?;
        Ok(if e.ty == Type::Any { self.dialect.try_cast(&sql, "DOUBLE") } else { sql })
    }

    /// An operand as text (a field's JSON text is text already).
    fn text(&self, e: &TExpr) -> Result<String, QueryError> {
        self.expr(e)
    }

    /// An unsigned 64-bit operand widened so that `-` may go below zero and
    /// `-` of two addresses does not overflow on the way (etwq works in i128).
    fn wide(&self, e: &TExpr) -> Result<String, QueryError> {
        let sql = self.expr(e)?;
        Ok(match (e.ty, self.dialect) {
            (Type::U64 | Type::Address, Dialect::DuckDb) => format!("CAST({sql} AS HUGEINT)"),
            (Type::U64 | Type::Address, Dialect::Spark) => format!("CAST({sql} AS DECIMAL(20,0))"),
            _ => return self.signed(e),
        })
    }

    /// The SQL type of an integer result of `ty`; a value outside it is null, as in etwq.
    fn integer_type(&self, ty: Type) -> &'static str {
        match (ty, self.dialect) {
            (Type::U64 | Type::Address, Dialect::DuckDb) => "UBIGINT",
            (Type::U64 | Type::Address, Dialect::Spark) => "DECIMAL(20,0)",
            _ => "BIGINT",
        }
    }

    fn arith(&self, op: ArithOp, l: &TExpr, r: &TExpr, ty: Type) -> Result<String, QueryError> {
        let float = ty == Type::F64 || ty == Type::Any;
        let unsigned = |e: &TExpr| matches!(e.ty, Type::U64 | Type::Address);
        let widened = !float && (unsigned(l) || unsigned(r));
        let (a, b) = if widened { (self.wide(l)?, self.wide(r)?) } else { (self.signed(l)?, self.signed(r)?) };
        let sql = match op {
            ArithOp::Add => format!("({a} + {b})"),
            ArithOp::Sub => format!("({a} - {b})"),
            ArithOp::Mul => format!("({a} * {b})"),
            ArithOp::Div if float => format!("(CAST({a} AS DOUBLE) / NULLIF(CAST({b} AS DOUBLE), 0))"),
            ArithOp::Div => format!("({a} {} NULLIF({b}, 0))", self.dialect.int_div()),
            ArithOp::Rem => format!("({a} % NULLIF({b}, 0))"),
        };
        Ok(if widened { self.dialect.try_cast(&sql, self.integer_type(ty)) } else { sql })
    }

    fn negated(&self, inner: &TExpr) -> Result<String, QueryError> {
        if matches!(inner.ty, Type::U64 | Type::Address) {
            return Ok(self.dialect.try_cast(&format!("(- {})", self.wide(inner)?), "BIGINT"));
        }
        Ok(format!("(- {})", self.signed(inner)?))
    }

    fn call(&self, func: ScalarFn, args: &[TExpr]) -> Result<String, QueryError> {
        let d = self.dialect;
        let arg = |i: usize| -> Result<String, QueryError> {
            match args.get(i) {
                Some(a) => self.expr(a),
                None => Err(untranslatable(format!("{func:?} without its argument"))),
            }
        };
        Ok(match func {
            ScalarFn::Lower => format!("lower({})", arg(0)?),
            ScalarFn::Upper => format!("upper({})", arg(0)?),
            ScalarFn::Trim => format!("trim({})", arg(0)?),
            ScalarFn::Len => format!("CAST({}({}) AS BIGINT)", d.char_length(), arg(0)?),
            ScalarFn::StartsWith => format!("{}({}, {})", d.starts_with(), arg(0)?, arg(1)?),
            ScalarFn::EndsWith => format!("{}({}, {})", d.ends_with(), arg(0)?, arg(1)?),
            ScalarFn::Hex => {
                let x = self.signed(&args[0])?;
                format!("CASE WHEN {x} < 0 THEN '-0x' || lower(hex(- {x})) ELSE '0x' || lower(hex({x})) END")
            }
            ScalarFn::Abs => format!("abs({})", self.numeric(&args[0])?),
            ScalarFn::Round => format!("CAST(round({}) AS BIGINT)", self.float(&args[0])?),
            ScalarFn::Coalesce => {
                let all = args.iter().map(|a| self.expr(a)).collect::<Result<Vec<_>, _>>()?;
                format!("coalesce({})", all.join(", "))
            }
            ScalarFn::Str => match args[0].ty {
                Type::Str | Type::Any | Type::I64 | Type::U64 | Type::F64 | Type::Null => {
                    format!("CAST({} AS {})", arg(0)?, d.string_type())
                }
                Type::Bool => format!("CASE WHEN {0} THEN 'true' WHEN NOT {0} THEN 'false' END", arg(0)?),
                other => return Err(untranslatable(format!("str() of a {other} (etwq writes it in its own form)"))),
            },
            ScalarFn::Int => match args[0].ty {
                Type::F64 => format!("CAST(trunc({}) AS BIGINT)", arg(0)?),
                Type::Str | Type::Any => d.try_cast(&format!("trim({})", arg(0)?), "BIGINT"),
                Type::Bool => format!("CAST({} AS BIGINT)", arg(0)?),
                _ => d.try_cast(&arg(0)?, "BIGINT"),
            },
            ScalarFn::Float => match args[0].ty {
                Type::Str | Type::Any => d.try_cast(&format!("trim({})", arg(0)?), "DOUBLE"),
                _ => format!("CAST({} AS DOUBLE)", arg(0)?),
            },
            ScalarFn::Bin => {
                // Rounded down (toward minus infinity) to a multiple of a positive size.
                let x = self.signed(&args[0])?;
                let size = self.signed(&args[1])?;
                let binned = format!("({x} - ((({x} % {size}) + {size}) % {size}))");
                match &args[1].kind {
                    TKind::Literal(v) if v.as_i128().is_some_and(|s| s > 0) => binned,
                    TKind::Literal(_) => "NULL".to_string(),
                    _ => format!("CASE WHEN {size} > 0 THEN {binned} END"),
                }
            }
        })
    }

    fn float(&self, e: &TExpr) -> Result<String, QueryError> {
        let sql = self.expr(e)?;
        Ok(if e.ty == Type::Any { self.dialect.try_cast(&sql, "DOUBLE") } else { format!("CAST({sql} AS DOUBLE)") })
    }

    pub(super) fn literal(&self, value: &Value) -> Result<String, QueryError> {
        Ok(match value {
            Value::Null => "NULL".into(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Value::I64(v) | Value::Timestamp(v) | Value::Duration(v) => v.to_string(),
            Value::U64(v) | Value::Address(v) => v.to_string(),
            Value::Status(v) => v.to_string(),
            Value::F64(v) if v.is_finite() => {
                let text = format!("{v:?}");
                if text.contains('e') || text.contains('E') {
                    text
                } else {
                    format!("{text}e0")
                }
            }
            Value::F64(v) => format!("CAST({} AS DOUBLE)", self.dialect.string(&v.to_string())),
            Value::Str(s) => self.dialect.string(s),
            Value::Fields(_) => return Err(untranslatable("a field map literal")),
        })
    }
}

fn value_type(value: &Value) -> Type {
    columnar::value_type(value).map_or(Type::Null, Type::of_column)
}
