"""Runs etwq's queries translated to SQL over exported traces and compares
the rows with etwq's own answers. Driven by tests/sql_duckdb.rs and
tests/sql_spark.rs, which write the job file:

  {"engine": "duckdb" | "spark",
   "traces": [{"name": str, "export": DIR, "results": DIR}],
   "queries": [{"id": int, "text": str, "sql": str,
                "order": [[column, descending], ...] | null, "limited": bool}]}

For each trace and query, RESULTS/q<id>.json holds etwq's answer (`--format
json`), absent or empty when etwq refused the query on that trace (a field no
event of the trace has). Prints one line per mismatch and a last line
`sql_check: N passed, M failed` (S skipped by etwq's refusal); exits 1 on a mismatch.
"""
import decimal
import glob
import json
import math
import os
import sys

TABLES = None  # every table directory found in the exports


def main():
    job = json.load(open(sys.argv[1]))
    engine = job["engine"]
    run = duckdb_runner() if engine == "duckdb" else spark_runner()
    passed = failed = skipped = 0
    for trace in job["traces"]:
        run.register(trace["export"], all_tables(job))
        for q in job["queries"]:
            expected = etwq_rows(os.path.join(trace["results"], "q%d.json" % q["id"]))
            if expected is None:
                skipped += 1
                continue
            try:
                columns, rows = run.query(q["sql"])
            except Exception as error:  # an engine's refusal is a mismatch
                failed += 1
                report(trace, q, "the engine failed: %s" % first_line(str(error)))
                continue
            problem = compare(expected, columns, rows, q)
            if problem:
                failed += 1
                report(trace, q, problem)
            else:
                passed += 1
    print("sql_check: %d passed, %d failed (%d skipped: etwq refused the query on that trace)"
          % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


def first_line(text):
    return text.strip().splitlines()[0] if text.strip() else text


def report(trace, q, problem):
    print("MISMATCH [%s] q%d `%s`: %s" % (trace["name"], q["id"], q["text"], problem))
    sys.stdout.flush()


def all_tables(job):
    names = set()
    for trace in job["traces"]:
        for path in glob.glob(os.path.join(trace["export"], "*")):
            if os.path.isdir(path):
                names.add(os.path.basename(path))
    return sorted(names)


def etwq_rows(path):
    """etwq's rows as (names, list of value lists), or None when it refused."""
    try:
        text = open(path).read()
    except OSError:
        return None
    if not text.strip():
        return None
    objects = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    names = [k for k, _ in objects[0]] if objects else None
    return names, [[v for _, v in row] for row in objects]


def parquet_files(export, table):
    return glob.glob(os.path.join(export, table, "**", "*.parquet"), recursive=True)


class duckdb_runner:
    def __init__(self):
        import duckdb
        self.db = duckdb.connect()
        self.exports = []

    def register(self, export, tables):
        self.exports.append(export)
        for table in tables:
            if parquet_files(export, table):
                source = os.path.join(export, table, "**", "*.parquet")
                where = ""
            else:
                # No rows of this table in this trace: the columns from another export, no rows.
                other = next((e for e in self.exports if parquet_files(e, table)), None)
                if other is None:
                    continue
                source = os.path.join(other, table, "**", "*.parquet")
                where = " WHERE false"
            self.db.execute("CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet('%s', hive_partitioning=true)%s"
                            % (quote(table), source.replace("'", "''"), where))

    def query(self, sql):
        result = self.db.execute(sql)
        columns = [d[0] for d in result.description]
        return columns, [list(r) for r in result.fetchall()]


class spark_runner:
    def __init__(self):
        from pyspark.sql import SparkSession
        self.spark = (SparkSession.builder.master("local[2]").appName("etwq-sql-check")
                      .config("spark.ui.enabled", "false")
                      .config("spark.sql.shuffle.partitions", "4")
                      .config("spark.sql.session.timeZone", "UTC")
                      # The `<name>_utc` columns are Parquet TIMESTAMP(NANOS): read as numbers.
                      .config("spark.sql.legacy.parquet.nanosAsLong", "true")
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")

    def register(self, export, tables):
        for table in tables:
            if parquet_files(export, table):
                self.spark.read.option("basePath", os.path.join(export, table)).parquet(
                    os.path.join(export, table)).createOrReplaceTempView(table)

    def query(self, sql):
        frame = self.spark.sql(sql)
        return frame.columns, [list(r) for r in frame.collect()]


def quote(name):
    return '"%s"' % name.replace('"', '""')


def compare(expected, columns, rows, q):
    names, etwq = expected
    if names is not None and columns and columns[0] == "trace" and names[0] != "trace":
        columns, rows = columns[1:], [r[1:] for r in rows]
    if names is not None and names != columns:
        return "columns differ: etwq %s, SQL %s" % (names, columns)
    if len(etwq) != len(rows):
        return "etwq has %d rows, SQL %d" % (len(etwq), len(rows))
    sql_rows = [[normal_sql(v) for v in r] for r in rows]
    etwq_rows_ = [[normal_etwq(v) for v in r] for r in etwq]
    order = q.get("order")
    if order:
        index = {c: i for i, c in enumerate(columns)}
        keys = [(index[c], desc) for c, desc in order if c in index]
        key = lambda r: tuple(key_value(r[i]) for i, _ in keys)
        if [key(r) for r in etwq_rows_] != [key(r) for r in sql_rows]:
            return "the order differs: etwq %s, SQL %s" % (
                short([key(r) for r in etwq_rows_]), short([key(r) for r in sql_rows]))
        if q.get("limited") and etwq_rows_:
            # Rows tied with the last one may be others, as ties have no order in SQL.
            last = key(etwq_rows_[-1])
            etwq_rows_ = [r for r in etwq_rows_ if key(r) != last]
            sql_rows = [r for r in sql_rows if key(r) != last]
    a = sorted(map(row_key, etwq_rows_))
    b = sorted(map(row_key, sql_rows))
    if a != b:
        only_etwq = [r for r in a if r not in b][:3]
        only_sql = [r for r in b if r not in a][:3]
        return "rows differ: only etwq %s, only SQL %s" % (short(only_etwq), short(only_sql))
    return None


def short(value):
    text = repr(value)
    return text if len(text) < 400 else text[:400] + "..."


def normal_sql(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, str):
        return normal_text(v)
    return v


def normal_etwq(v):
    if isinstance(v, str):
        if v in ("true", "false"):
            return v == "true"
        return normal_text(v)
    return v


def normal_text(v):
    """Text as the number it spells: JSON numbers (a field read as text by SQL)
    and 0x... (etwq writes addresses and statuses so, and hex() too)."""
    if v.startswith(("0x", "-0x")) and len(v) > 2:
        try:
            return int(v, 16)
        except ValueError:
            return v
    number = as_number(v)
    return number if number is not None else v


def as_number(text):
    """Text that is a JSON number (a field's value read as text by SQL) as one."""
    try:
        if text.strip() != text or not text:
            return None
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def key_value(v):
    if isinstance(v, float):
        if math.isnan(v):
            return ("nan",)
        return float("%.9g" % v)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return v


def row_key(row):
    return tuple(sort_token(key_value(v)) for v in row)


def sort_token(v):
    """A value that sorts with every other: None, then numbers, then text."""
    if v is None:
        return (0, 0, "")
    if isinstance(v, bool):
        return (1, int(v), "")
    if isinstance(v, (int, float)):
        return (2, v, "")
    return (3, 0, str(v))


if __name__ == "__main__":
    main()
