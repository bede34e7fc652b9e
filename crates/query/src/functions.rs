//! Scalar functions and aggregates: names, type rules, and per-value behaviour.
use super::types::Type;
use columnar::Value;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarFn {
    Lower,
    Upper,
    Len,
    Trim,
    Hex,
    Abs,
    Round,
    StartsWith,
    EndsWith,
    Coalesce,
    Str,
    Int,
    Float,
    /// `bin(x, size)`: x rounded down to a multiple of size (KQL's name).
    Bin,
}

pub const SCALAR_FUNCTIONS: &[(&str, ScalarFn)] = &[
    ("lower", ScalarFn::Lower),
    ("upper", ScalarFn::Upper),
    ("len", ScalarFn::Len),
    ("trim", ScalarFn::Trim),
    ("hex", ScalarFn::Hex),
    ("abs", ScalarFn::Abs),
    ("round", ScalarFn::Round),
    ("startswith", ScalarFn::StartsWith),
    ("endswith", ScalarFn::EndsWith),
    ("coalesce", ScalarFn::Coalesce),
    ("str", ScalarFn::Str),
    ("int", ScalarFn::Int),
    ("float", ScalarFn::Float),
    ("bin", ScalarFn::Bin),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFn {
    Count,
    Dcount,
    Sum,
    Avg,
    Min,
    Max,
    /// Nearest-rank percentile.
    Percentile(u8),
    First,
    Last,
}

pub const AGGREGATES: &[(&str, AggFn)] = &[
    ("count", AggFn::Count),
    ("dcount", AggFn::Dcount),
    ("sum", AggFn::Sum),
    ("avg", AggFn::Avg),
    ("min", AggFn::Min),
    ("max", AggFn::Max),
    ("p50", AggFn::Percentile(50)),
    ("p90", AggFn::Percentile(90)),
    ("p95", AggFn::Percentile(95)),
    ("p99", AggFn::Percentile(99)),
    ("first", AggFn::First),
    ("last", AggFn::Last),
];

/// Functions of a row and its neighbours in its partition, in the window's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowFn {
    RowNumber,
    Lag,
    Lead,
    /// x minus the previous row's x.
    Delta,
    RunningSum,
}

pub const WINDOW_FUNCTIONS: &[(&str, WindowFn)] = &[
    ("row_number", WindowFn::RowNumber),
    ("lag", WindowFn::Lag),
    ("lead", WindowFn::Lead),
    ("delta", WindowFn::Delta),
    ("running_sum", WindowFn::RunningSum),
];

pub fn window_by_name(name: &str) -> Option<WindowFn> {
    WINDOW_FUNCTIONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, f)| f)
}

pub fn scalar_by_name(name: &str) -> Option<ScalarFn> {
    SCALAR_FUNCTIONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, f)| f)
}

pub fn aggregate_by_name(name: &str) -> Option<AggFn> {
    AGGREGATES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, f)| f)
}

/// How a function is called and what it gives, one line each, for `.help functions`.
pub fn function_help(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name.to_ascii_lowercase().as_str() {
        "lower" => ("lower(s)", "the text in lower case"),
        "upper" => ("upper(s)", "the text in upper case"),
        "len" => ("len(s)", "the number of characters"),
        "trim" => ("trim(s)", "the text without leading and trailing spaces"),
        "hex" => ("hex(n)", "an integer as 0x... text"),
        "abs" => ("abs(x)", "the absolute value"),
        "round" => ("round(x)", "the nearest integer"),
        "startswith" => ("startswith(s, prefix)", "whether the text starts with prefix"),
        "endswith" => ("endswith(s, suffix)", "whether the text ends with suffix"),
        "coalesce" => ("coalesce(a, b, ...)", "the first argument that is not null"),
        "str" => ("str(x)", "any value as text"),
        "int" => ("int(x)", "a number or text (0x... too) as an integer"),
        "float" => ("float(x)", "a number or text as a float"),
        "bin" => ("bin(x, size)", "a time, duration or integer rounded down to a multiple of size: bin(ts, 100ms)"),
        "count" => ("count(), count(x)", "rows; with x, rows where x is not null"),
        "dcount" => ("dcount(x)", "distinct values of x"),
        "sum" => ("sum(x)", "the total"),
        "avg" => ("avg(x)", "the mean"),
        "min" => ("min(x)", "the smallest value"),
        "max" => ("max(x)", "the largest value"),
        "p50" => ("p50(x)", "the median (nearest rank)"),
        "p90" => ("p90(x)", "the 90th percentile (nearest rank)"),
        "p95" => ("p95(x)", "the 95th percentile (nearest rank)"),
        "p99" => ("p99(x)", "the 99th percentile (nearest rank)"),
        "first" => ("first(x)", "the value of the group's first row"),
        "last" => ("last(x)", "the value of the group's last row"),
        "row_number" => ("row_number() over (...)", "the row's place in its partition, from 1"),
        "lag" => ("lag(x) over (...)", "x of the partition's previous row"),
        "lead" => ("lead(x) over (...)", "x of the partition's next row"),
        "delta" => ("delta(x) over (...)", "x minus the previous row's x: delta(ts) is the gap"),
        "running_sum" => ("running_sum(x) over (...)", "the sum of x up to this row"),
        _ => return None,
    })
}

pub fn all_function_names() -> impl Iterator<Item = &'static str> {
    let scalars = SCALAR_FUNCTIONS.iter().map(|(n, _)| *n);
    scalars.chain(AGGREGATES.iter().map(|(n, _)| *n)).chain(WINDOW_FUNCTIONS.iter().map(|(n, _)| *n))
}

impl ScalarFn {
    /// The result type for these argument types, or what is wrong with them.
    pub fn result_type(self, args: &[Type]) -> Result<Type, String> {
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("takes {n} argument{}, got {}", if n == 1 { "" } else { "s" }, args.len()))
            }
        };
        let text = |t: Type| if t.is_text() { Ok(()) } else { Err(format!("needs a string, got {t}")) };
        let number = |t: Type| {
            if t.is_numeric() || matches!(t, Type::Any | Type::Null) {
                Ok(())
            } else {
                Err(format!("needs a number, got {t}"))
            }
        };
        match self {
            ScalarFn::Lower | ScalarFn::Upper | ScalarFn::Trim => {
                arity(1)?;
                text(args[0])?;
                Ok(Type::Str)
            }
            ScalarFn::Len => {
                arity(1)?;
                text(args[0])?;
                Ok(Type::I64)
            }
            ScalarFn::StartsWith | ScalarFn::EndsWith => {
                arity(2)?;
                text(args[0])?;
                text(args[1])?;
                Ok(Type::Bool)
            }
            ScalarFn::Hex => {
                arity(1)?;
                if args[0].is_integer() || matches!(args[0], Type::Any | Type::Null) {
                    Ok(Type::Str)
                } else {
                    Err(format!("needs an integer, got {}", args[0]))
                }
            }
            ScalarFn::Abs => {
                arity(1)?;
                number(args[0])?;
                Ok(if args[0] == Type::U64 { Type::U64 } else { args[0] })
            }
            ScalarFn::Round => {
                arity(1)?;
                number(args[0])?;
                Ok(Type::I64)
            }
            ScalarFn::Coalesce => {
                if args.is_empty() {
                    return Err("takes at least 1 argument".into());
                }
                let known: Vec<Type> = args.iter().copied().filter(|t| *t != Type::Null).collect();
                match known.first() {
                    None => Ok(Type::Null),
                    Some(&first) if known.iter().all(|&t| t == first) => Ok(first),
                    Some(_) => Ok(Type::Any),
                }
            }
            ScalarFn::Str => {
                arity(1)?;
                Ok(Type::Str)
            }
            ScalarFn::Int => {
                arity(1)?;
                Ok(Type::I64)
            }
            ScalarFn::Float => {
                arity(1)?;
                Ok(Type::F64)
            }
            ScalarFn::Bin => {
                arity(2)?;
                let whole =
                    |t: Type| t.is_integer() || matches!(t, Type::Timestamp | Type::Duration | Type::Any | Type::Null);
                if !whole(args[0]) {
                    return Err(format!("bins a time, a duration or an integer, got {}", args[0]));
                }
                if !whole(args[1]) || args[1] == Type::Timestamp {
                    return Err(format!("needs a bin size, a duration or an integer, got {}", args[1]));
                }
                Ok(args[0])
            }
        }
    }

    /// Whether the function depends only on its first argument's text, so it
    /// can run once per distinct dictionary value.
    pub fn is_per_string(self, args: usize) -> bool {
        match self {
            ScalarFn::Lower | ScalarFn::Upper | ScalarFn::Trim | ScalarFn::Len => args == 1,
            ScalarFn::StartsWith | ScalarFn::EndsWith => args == 2,
            _ => false,
        }
    }

    /// Applies the function to one row's argument values.
    pub fn apply(self, args: &[Value]) -> Value {
        let first = args.first().unwrap_or(&Value::Null);
        let text = |f: &dyn Fn(&str) -> Value| first.as_str().map_or(Value::Null, f);
        match self {
            ScalarFn::Lower => text(&|s| Value::Str(Arc::from(s.to_lowercase()))),
            ScalarFn::Upper => text(&|s| Value::Str(Arc::from(s.to_uppercase()))),
            ScalarFn::Trim => text(&|s| Value::Str(Arc::from(s.trim()))),
            ScalarFn::Len => text(&|s| Value::I64(s.chars().count() as i64)),
            ScalarFn::StartsWith | ScalarFn::EndsWith => match (first.as_str(), args.get(1).and_then(Value::as_str)) {
                (Some(s), Some(affix)) => {
                    Value::Bool(if self == ScalarFn::StartsWith { s.starts_with(affix) } else { s.ends_with(affix) })
                }
                _ => Value::Null,
            },
            ScalarFn::Hex => match first.as_i128() {
                Some(v) if v < 0 => Value::Str(Arc::from(format!("-{:#x}", v.unsigned_abs()))),
                Some(v) => Value::Str(Arc::from(format!("{v:#x}"))),
                None => Value::Null,
            },
            ScalarFn::Abs => match *first {
                Value::I64(v) => v.checked_abs().map_or(Value::Null, Value::I64),
                Value::Duration(v) => v.checked_abs().map_or(Value::Null, Value::Duration),
                Value::Timestamp(v) => v.checked_abs().map_or(Value::Null, Value::Timestamp),
                Value::F64(v) => Value::F64(v.abs()),
                ref other if other.is_number() => other.clone(),
                _ => Value::Null,
            },
            ScalarFn::Round => match first.as_f64() {
                Some(v) if v.is_finite() && v.abs() < 9.2e18 => Value::I64(v.round() as i64),
                _ => Value::Null,
            },
            ScalarFn::Coalesce => args.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null),
            ScalarFn::Str => match first {
                Value::Null => Value::Null,
                Value::Str(_) => first.clone(),
                other => Value::Str(Arc::from(other.to_string())),
            },
            ScalarFn::Int => match first {
                Value::Str(s) => parse_int(s.trim()).map_or(Value::Null, Value::I64),
                Value::Bool(b) => Value::I64(i64::from(*b)),
                Value::F64(v) if v.is_finite() && v.abs() < 9.2e18 => Value::I64(v.trunc() as i64),
                other => other.as_i128().and_then(|v| i64::try_from(v).ok()).map_or(Value::Null, Value::I64),
            },
            ScalarFn::Float => match first {
                Value::Str(s) => s.trim().parse().map_or(Value::Null, Value::F64),
                other => other.as_f64().map_or(Value::Null, Value::F64),
            },
            ScalarFn::Bin => {
                let size = args.get(1).and_then(Value::as_i128).filter(|&s| s > 0);
                match (first.as_i128(), size) {
                    (Some(x), Some(size)) => same_kind(first, x.div_euclid(size) * size),
                    _ => Value::Null,
                }
            }
        }
    }
}

/// `v` as a value of the same kind as `like` (null when it does not fit).
fn same_kind(like: &Value, v: i128) -> Value {
    let signed = i64::try_from(v).ok();
    let unsigned = u64::try_from(v).ok();
    let value = match like {
        Value::Timestamp(_) => signed.map(Value::Timestamp),
        Value::Duration(_) => signed.map(Value::Duration),
        Value::U64(_) => unsigned.map(Value::U64),
        Value::Address(_) => unsigned.map(Value::Address),
        Value::Status(_) => u32::try_from(v).ok().map(Value::Status),
        _ => signed.map(Value::I64),
    };
    value.unwrap_or(Value::Null)
}

fn parse_int(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

impl AggFn {
    pub fn name(self) -> &'static str {
        AGGREGATES.iter().find(|(_, f)| *f == self).map_or("aggregate", |(n, _)| n)
    }

    /// The result type for an argument of type `arg` (None for `count()`).
    pub fn result_type(self, arg: Option<Type>) -> Result<Type, String> {
        let Some(arg) = arg else {
            return if self == AggFn::Count { Ok(Type::U64) } else { Err("takes 1 argument, got 0".into()) };
        };
        let numeric = || {
            if arg.is_numeric() || matches!(arg, Type::Any | Type::Null) {
                Ok(())
            } else {
                Err(format!("needs a number, got {arg}"))
            }
        };
        match self {
            AggFn::Count | AggFn::Dcount => Ok(Type::U64),
            AggFn::Sum => {
                numeric()?;
                Ok(match arg {
                    Type::Timestamp | Type::Duration => Type::Duration,
                    Type::U64 | Type::Address | Type::Status => Type::U64,
                    Type::F64 | Type::Any => Type::F64,
                    _ => Type::I64,
                })
            }
            AggFn::Avg => {
                numeric()?;
                Ok(if arg == Type::Duration { Type::Duration } else { Type::F64 })
            }
            AggFn::Percentile(_) => {
                numeric()?;
                Ok(if arg == Type::Any { Type::F64 } else { arg })
            }
            AggFn::Min | AggFn::Max | AggFn::First | AggFn::Last => {
                if arg == Type::Fields {
                    Err("cannot take a field map".into())
                } else {
                    Ok(arg)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_line_of_help_that_names_it() {
        for name in all_function_names() {
            let (call, what) = function_help(name).unwrap_or_else(|| panic!("{name} has no help"));
            assert!(call.starts_with(name) && !what.is_empty(), "{name}");
        }
        assert_eq!(function_help("nope"), None);
    }
}
