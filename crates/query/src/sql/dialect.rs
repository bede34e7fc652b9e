//! What differs between the SQL dialects etwq writes: quoting, string
//! literals, and the names and shapes of a few functions.

/// The SQL engine a translation is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dialect {
    /// DuckDB (the default).
    #[default]
    DuckDb,
    /// Spark SQL.
    Spark,
}

impl Dialect {
    /// The dialect named `name` (`duckdb` or `spark`, any case).
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name.to_ascii_lowercase().as_str() {
            "duckdb" => Some(Dialect::DuckDb),
            "spark" | "sparksql" | "spark-sql" => Some(Dialect::Spark),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Spark => "spark",
        }
    }

    /// An identifier, quoted when it is not a plain lower-case word or is a keyword.
    pub fn ident(self, name: &str) -> String {
        let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !KEYWORDS.contains(&name);
        if plain {
            return name.to_string();
        }
        match self {
            Dialect::DuckDb => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
        }
    }

    /// A string literal. Spark's literals take backslash escapes; DuckDB's do not.
    pub fn string(self, text: &str) -> String {
        match self {
            Dialect::DuckDb => format!("'{}'", text.replace('\'', "''")),
            Dialect::Spark => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
        }
    }

    /// The text of a `fields` JSON column's member `name`, or null.
    pub fn json_member(self, column: &str, name: &str) -> String {
        let path = if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            format!("$.{name}")
        } else {
            match self {
                Dialect::DuckDb => format!("$.\"{}\"", name.replace('"', "\\\"")),
                Dialect::Spark => format!("$['{}']", name.replace('\'', "\\'")),
            }
        };
        match self {
            Dialect::DuckDb => format!("json_extract_string({column}, {})", self.string(&path)),
            Dialect::Spark => format!("get_json_object({column}, {})", self.string(&path)),
        }
    }

    /// A cast that gives null where the value does not convert.
    pub fn try_cast(self, sql: &str, to: &str) -> String {
        match self {
            Dialect::DuckDb => format!("TRY_CAST({sql} AS {to})"),
            Dialect::Spark => format!("try_cast({sql} AS {to})"),
        }
    }

    /// A regex search (not a whole-text match), as etwq's `~`.
    pub fn regex_search(self, sql: &str, pattern: &str) -> String {
        match self {
            Dialect::DuckDb => format!("regexp_matches({sql}, {})", self.string(pattern)),
            Dialect::Spark => format!("({sql} RLIKE {})", self.string(pattern)),
        }
    }

    pub fn string_type(self) -> &'static str {
        match self {
            Dialect::DuckDb => "VARCHAR",
            Dialect::Spark => "STRING",
        }
    }

    /// Integer division that truncates toward zero.
    pub fn int_div(self) -> &'static str {
        match self {
            Dialect::DuckDb => "//",
            Dialect::Spark => "DIV",
        }
    }

    pub fn char_length(self) -> &'static str {
        match self {
            Dialect::DuckDb => "length",
            Dialect::Spark => "char_length",
        }
    }

    pub fn starts_with(self) -> &'static str {
        match self {
            Dialect::DuckDb => "starts_with",
            Dialect::Spark => "startswith",
        }
    }

    pub fn ends_with(self) -> &'static str {
        match self {
            Dialect::DuckDb => "ends_with",
            Dialect::Spark => "endswith",
        }
    }

    /// Whether `needle` (lower case) is in `sql`'s text without regard to case.
    pub fn contains_ci(self, sql: &str, needle: &str) -> String {
        match self {
            Dialect::DuckDb => format!("(strpos(lower({sql}), {}) > 0)", self.string(needle)),
            Dialect::Spark => format!("(instr(lower({sql}), {}) > 0)", self.string(needle)),
        }
    }

    /// The nearest-rank percentile, as etwq computes it: the value at rank
    /// ceil(p/100 * n) of the sorted values, which is SQL's discrete percentile.
    pub fn percentile(self, sql: &str, p: u8) -> String {
        let fraction = format!("{:.2}", f64::from(p) / 100.0);
        match self {
            Dialect::DuckDb => format!("quantile_disc({sql}, {fraction})"),
            Dialect::Spark => format!("percentile_disc({fraction}) WITHIN GROUP (ORDER BY {sql})"),
        }
    }

    /// The value of the row with the least `by` (`first`), or the greatest (`last`).
    pub fn value_by(self, sql: &str, by: &str, least: bool) -> String {
        match (self, least) {
            (Dialect::DuckDb, true) => format!("arg_min({sql}, {by})"),
            (Dialect::DuckDb, false) => format!("arg_max({sql}, {by})"),
            (Dialect::Spark, true) => format!("min_by({sql}, {by})"),
            (Dialect::Spark, false) => format!("max_by({sql}, {by})"),
        }
    }
}

/// Words either dialect reserves, or that read as a clause, among etwq's names.
const KEYWORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asof",
    "between",
    "both",
    "by",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "date",
    "day",
    "default",
    "desc",
    "describe",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "fetch",
    "filter",
    "for",
    "foreign",
    "from",
    "full",
    "function",
    "glob",
    "grant",
    "group",
    "having",
    "hour",
    "ilike",
    "in",
    "inner",
    "interval",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "map",
    "minus",
    "minute",
    "month",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "over",
    "partition",
    "pivot",
    "positional",
    "primary",
    "qualify",
    "range",
    "references",
    "returning",
    "right",
    "rows",
    "second",
    "select",
    "semi",
    "anti",
    "session",
    "similar",
    "some",
    "struct",
    "symmetric",
    "table",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "unpivot",
    "user",
    "using",
    "values",
    "version",
    "when",
    "where",
    "window",
    "with",
    "year",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(Dialect::DuckDb.ident("proc"), "proc");
        assert_eq!(Dialect::DuckDb.ident("end"), "\"end\"");
        assert_eq!(Dialect::DuckDb.ident("p99(duration_ns)"), "\"p99(duration_ns)\"");
        assert_eq!(Dialect::DuckDb.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Spark.ident("t.name"), "`t.name`");
        assert_eq!(Dialect::Spark.ident("a`b"), "`a``b`");
        assert_eq!(Dialect::DuckDb.ident("Name"), "\"Name\"");
    }

    #[test]
    fn string_literals_escape_per_dialect() {
        assert_eq!(Dialect::DuckDb.string(r"it's \d"), r"'it''s \d'");
        assert_eq!(Dialect::Spark.string(r"it's \d"), r"'it\'s \\d'");
    }

    #[test]
    fn json_paths_quote_odd_names() {
        assert_eq!(Dialect::DuckDb.json_member("fields", "FileName"), "json_extract_string(fields, '$.FileName')");
        assert_eq!(Dialect::Spark.json_member("fields", "a b"), r"get_json_object(fields, '$[\'a b\']')");
    }
}
