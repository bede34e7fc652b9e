//! The functions a script sees. Each is a thin call into the Session API or
//! a view of a query result; none can touch the file system except `export`.
use super::Output;
use render::{group_digits, Format, Table};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Map, NativeCallContext, INT};
use session::Session;
use session::TraceFacts;
use session::{format_duration_ns, format_timestamp_ns, Column, ColumnBuilder, DataTable, Value};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// Rows `show` renders before it says how many more there are.
const SHOW_ROWS: usize = 500;

/// A query result in a script: cheap to copy, read-only.
#[derive(Clone, Debug)]
pub struct ScriptTable(pub Arc<DataTable>);

impl ScriptTable {
    fn rows_len(&self) -> usize {
        self.0.row_count()
    }

    /// The rows at `picks`, in that order.
    fn gather(&self, picks: &[u32]) -> ScriptTable {
        let mut out = DataTable::new(&self.0.name);
        for c in &self.0.columns {
            // Same length for every column: cannot mismatch.
            let _ = out.push_column(&c.name, &c.doc, Column::from(c.column.gather(picks)));
        }
        ScriptTable(Arc::new(out))
    }

    fn row_map(&self, row: usize) -> Map {
        self.0.columns.iter().map(|c| (c.name.as_str().into(), value_to_dynamic(&c.column.value(row)))).collect()
    }

    fn column_of(&self, name: &str) -> Fallible<&Column> {
        self.0.column(name).ok_or_else(|| {
            format!("no column '{name}' in this table (columns: {})", self.0.column_names().join(", ")).into()
        })
    }

    fn render(&self, format: Format) -> String {
        Table::from(self.0.as_ref()).render(format)
    }
}

impl IntoIterator for ScriptTable {
    type Item = Dynamic;
    type IntoIter = RowIter;

    /// `for row in table { ... }`: each row as a map, made as the loop reaches it.
    fn into_iter(self) -> RowIter {
        RowIter { table: self, next: 0 }
    }
}

/// The rows of a table, one map at a time: a big table is never copied whole.
pub struct RowIter {
    table: ScriptTable,
    next: usize,
}

impl Iterator for RowIter {
    type Item = Dynamic;

    fn next(&mut self) -> Option<Dynamic> {
        let row = (self.next < self.table.rows_len()).then(|| Dynamic::from_map(self.table.row_map(self.next)))?;
        self.next += 1;
        Some(row)
    }
}

/// A cell as a script value: integers (addresses keep their bits), floats,
/// strings, booleans, `()` for null, maps for event fields.
pub fn value_to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::I64(v) | Value::Timestamp(v) | Value::Duration(v) => Dynamic::from_int(*v),
        Value::U64(v) | Value::Address(v) => Dynamic::from_int(*v as INT),
        Value::Status(v) => Dynamic::from_int(INT::from(*v)),
        Value::F64(v) => Dynamic::from_float(*v),
        Value::Bool(v) => Dynamic::from_bool(*v),
        Value::Str(s) => Dynamic::from(ImmutableString::from(&**s)),
        Value::Fields(map) => {
            Dynamic::from_map(map.iter().map(|(name, v)| ((&**name).into(), value_to_dynamic(v))).collect())
        }
    }
}

/// A script value as a cell, for tables a script builds.
fn dynamic_to_value(value: &Dynamic) -> Value {
    if value.is_unit() {
        Value::Null
    } else if let Ok(v) = value.as_int() {
        Value::I64(v)
    } else if let Ok(v) = value.as_float() {
        Value::F64(v)
    } else if let Ok(v) = value.as_bool() {
        Value::Bool(v)
    } else {
        Value::Str(value.to_string().into())
    }
}

pub fn string_array(items: &[String]) -> Array {
    items.iter().map(|s| Dynamic::from(ImmutableString::from(s.as_str()))).collect()
}

/// The header facts as the `trace` map.
pub fn facts_map(facts: &TraceFacts) -> Dynamic {
    let mut m = Map::new();
    let mut put = |k: &str, v: Dynamic| {
        m.insert(k.into(), v);
    };
    put("name", facts.name.clone().into());
    put("logger", facts.logger.clone().into());
    put("start_time", facts.start_time.clone().into());
    put("duration_ns", Dynamic::from_int(facts.duration_ns));
    put("duration_s", Dynamic::from_float(facts.duration_ns as f64 / 1e9));
    put("cpus", Dynamic::from_int(facts.cpus.into()));
    put("pointer_size", Dynamic::from_int(facts.pointer_size.into()));
    put("cpu_speed_mhz", Dynamic::from_int(facts.cpu_speed_mhz.into()));
    put("events_lost", Dynamic::from_int(facts.events_lost as INT));
    put("buffers_lost", Dynamic::from_int(facts.buffers_lost as INT));
    put("records", Dynamic::from_int(facts.records as INT));
    Dynamic::from_map(m)
}

/// A table from an array of maps: the columns are the keys of the first
/// map, in its order; a key a row lacks is null there.
fn table_from_rows(rows: &Array) -> Fallible<ScriptTable> {
    let Some(first) = rows.first() else {
        return Ok(ScriptTable(Arc::new(DataTable::new("table"))));
    };
    let Some(first) = first.read_lock::<Map>() else {
        return Err("table(rows) expects an array of maps".into());
    };
    let names: Vec<String> = first.keys().map(|k| k.to_string()).collect();
    drop(first);
    table_with_columns(rows, &names)
}

/// A table from an array of maps with the columns named, in that order
/// (script maps keep their keys sorted, so this is how a script orders them).
fn table_with_columns(rows: &Array, names: &[String]) -> Fallible<ScriptTable> {
    let mut columns: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); names.len()];
    for row in rows {
        let Some(map) = row.read_lock::<Map>() else {
            return Err("table(rows) expects an array of maps".into());
        };
        for (name, column) in names.iter().zip(columns.iter_mut()) {
            column.push(map.get(name.as_str()).map_or(Value::Null, dynamic_to_value));
        }
    }
    let mut table = DataTable::new("table");
    for (name, values) in names.iter().zip(columns) {
        table.push_column(name, "", mixed_column(&values)).map_err(|e| e.to_string())?;
    }
    Ok(ScriptTable(Arc::new(table)))
}

/// A column from values that may mix ints and floats (floats win) or hold
/// anything else (then text).
fn mixed_column(values: &[Value]) -> Column {
    let any_float = values.iter().any(|v| matches!(v, Value::F64(_)));
    let all_numbers = values.iter().all(|v| v.is_null() || v.is_number());
    let any_text = values.iter().any(|v| !v.is_null() && !v.is_number());
    if any_float && all_numbers {
        let floats: Vec<Value> = values.iter().map(|v| v.as_f64().map_or(Value::Null, Value::F64)).collect();
        return ColumnBuilder::infer(&floats);
    }
    if any_text && !all_numbers {
        let texts: Vec<Value> =
            values.iter().map(|v| if v.is_null() { Value::Null } else { Value::Str(v.to_string().into()) }).collect();
        return ColumnBuilder::infer(&texts);
    }
    ColumnBuilder::infer(values)
}

fn lock(session: &Mutex<Session>) -> MutexGuard<'_, Session> {
    session.lock().unwrap_or_else(|e| e.into_inner())
}

fn to_u32(value: INT, what: &str) -> Fallible<u32> {
    u32::try_from(value).map_err(|_| format!("{what} {value} is out of range").into())
}

fn export_format(path: &str) -> Fallible<Format> {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "csv" => Ok(Format::Csv),
        "tsv" | "txt" => Ok(Format::Tsv),
        "json" => Ok(Format::Json),
        "md" => Ok(Format::Markdown),
        _ => Err(format!("export: '{path}' needs a .csv, .tsv, .json or .md extension").into()),
    }
}

/// A count in a message, its digits grouped: 326,125.
fn grouped(count: usize) -> String {
    render::group_digits(&count.to_string())
}

fn show_text(table: &ScriptTable) -> String {
    let rows = table.rows_len();
    if rows <= SHOW_ROWS {
        return table.render(Format::Table);
    }
    let picks: Vec<u32> = (0..SHOW_ROWS as u32).collect();
    format!(
        "{}({} more rows; export(table, \"file.csv\") writes them all)\n",
        table.gather(&picks).render(Format::Table),
        grouped(rows - SHOW_ROWS)
    )
}

/// A table copied into an array must fit the script's array limit; the error
/// says what to do instead, where rhai would only say "too large".
fn fits_in_array(ctx: &NativeCallContext, t: &ScriptTable, what: &str) -> Fallible<()> {
    let limit = ctx.engine().max_array_size();
    if limit == 0 || t.rows_len() <= limit {
        return Ok(());
    }
    Err(format!(
        "{what}: the table has {} rows, more than a script array holds ({limit}); \
         iterate the table (`for row in table`) or narrow the query",
        grouped(t.rows_len())
    )
    .into())
}

pub fn register(engine: &mut Engine, session: Arc<Mutex<Session>>, output: Output, write_dir: PathBuf) {
    engine.register_type_with_name::<ScriptTable>("Table");
    engine.register_iterator::<ScriptTable>();

    // Session: queries, saved queries, tables.
    let s = session.clone();
    engine.register_fn("query", move |text: &str| -> Fallible<ScriptTable> {
        if super::sandbox::query_writes_file(text) {
            return Err("query: scripts cannot draw `flame`, `diff flame` or `export` views or charts `to` a file \
                        (they write a file); use `| folded` or the chart's rows and export the result"
                .into());
        }
        let result = lock(&s).query(text);
        result.map(|t| ScriptTable(Arc::new(t))).map_err(|e| format!("query failed: {e}").into())
    });
    let s = session.clone();
    engine.register_fn("save_query", move |definition: &str| -> Fallible<ImmutableString> {
        let saved = lock(&s).save_query(definition);
        saved.map(ImmutableString::from).map_err(|e| format!("save_query: {e}").into())
    });
    let s = session.clone();
    engine.register_fn("saved_queries", move || -> Array {
        lock(&s).saved_queries().iter().map(|q| Dynamic::from(ImmutableString::from(q.name.as_str()))).collect()
    });
    let s = session.clone();
    engine.register_fn("tables", move || -> Array {
        let list = lock(&s).tables();
        list.into_iter()
            .map(|(name, rows)| {
                let mut m = Map::new();
                m.insert("name".into(), name.into());
                m.insert("rows".into(), Dynamic::from_int(rows as INT));
                Dynamic::from_map(m)
            })
            .collect()
    });
    let s = session.clone();
    engine.register_fn("has_column", move |table: &str, column: &str| -> bool {
        let schema = lock(&s).schema(table);
        schema.is_some_and(|cols| cols.iter().any(|(name, _, _)| name == column))
    });
    let s = session.clone();
    engine.register_fn("trace_info", move || -> Dynamic { facts_map(&lock(&s).trace_facts()) });

    // Frames and addresses.
    let s = session.clone();
    engine.register_fn("stack_frames", move |stack: INT| -> Array {
        let Ok(stack) = u32::try_from(stack) else {
            return Array::new();
        };
        let frames = lock(&s).stack_frames(stack);
        frames.into_iter().map(|a| Dynamic::from_int(a as INT)).collect()
    });
    let s = session.clone();
    engine.register_fn("frame_module", move |address: INT, pid: INT, ts: INT| -> Fallible<ImmutableString> {
        let pid = to_u32(pid, "pid")?;
        Ok(lock(&s).frame_module(address as u64, pid, ts).unwrap_or_default().into())
    });
    let s = session.clone();
    engine.register_fn("frame_func", move |address: INT, pid: INT, ts: INT| -> Fallible<ImmutableString> {
        let pid = to_u32(pid, "pid")?;
        let location = lock(&s).locate_frame(address as u64, pid, Some(ts));
        Ok(location.and_then(|l| l.function).unwrap_or_default().into())
    });
    let s = session.clone();
    engine.register_fn("symbolize", move |address: INT, pid: INT| -> Fallible<ImmutableString> {
        let pid = to_u32(pid, "pid")?;
        Ok(lock(&s).symbolize(address as u64, pid, None).into())
    });
    let s = session.clone();
    engine.register_fn("symbolize", move |address: INT, pid: INT, ts: INT| -> Fallible<ImmutableString> {
        let pid = to_u32(pid, "pid")?;
        Ok(lock(&s).symbolize(address as u64, pid, Some(ts)).into())
    });

    // Tables.
    engine.register_get("columns", |t: &mut ScriptTable| -> Array {
        t.0.column_names().into_iter().map(|n| Dynamic::from(ImmutableString::from(n))).collect()
    });
    engine.register_fn("columns", |t: &mut ScriptTable| -> Array {
        t.0.column_names().into_iter().map(|n| Dynamic::from(ImmutableString::from(n))).collect()
    });
    engine.register_get("row_count", |t: &mut ScriptTable| t.rows_len() as INT);
    engine.register_fn("len", |t: &mut ScriptTable| t.rows_len() as INT);
    engine.register_fn("is_empty", |t: &mut ScriptTable| t.rows_len() == 0);
    engine.register_fn("rows", |ctx: NativeCallContext, t: &mut ScriptTable| -> Fallible<Array> {
        fits_in_array(&ctx, t, "rows()")?;
        Ok(t.clone().into_iter().collect())
    });
    engine.register_fn("row", |t: &mut ScriptTable, i: INT| -> Fallible<Map> {
        match usize::try_from(i).ok().filter(|&i| i < t.rows_len()) {
            Some(i) => Ok(t.row_map(i)),
            None => Err(format!("row {i} is out of range: the table has {} rows", grouped(t.rows_len())).into()),
        }
    });
    engine.register_indexer_get(|t: &mut ScriptTable, i: INT| -> Fallible<Map> {
        match usize::try_from(i).ok().filter(|&i| i < t.rows_len()) {
            Some(i) => Ok(t.row_map(i)),
            None => Err(format!("row {i} is out of range: the table has {} rows", grouped(t.rows_len())).into()),
        }
    });
    engine.register_fn("column", |ctx: NativeCallContext, t: &mut ScriptTable, name: &str| -> Fallible<Array> {
        fits_in_array(&ctx, t, "column()")?;
        let column = t.column_of(name)?;
        Ok((0..column.len()).map(|r| value_to_dynamic(&column.value(r))).collect())
    });
    engine.register_fn("value", |t: &mut ScriptTable, i: INT, name: &str| -> Fallible<Dynamic> {
        let column = t.column_of(name)?;
        match usize::try_from(i).ok().filter(|&i| i < column.len()) {
            Some(i) => Ok(value_to_dynamic(&column.value(i))),
            None => Err(format!("row {i} is out of range: the table has {} rows", grouped(column.len())).into()),
        }
    });
    engine.register_fn("sum", |t: &mut ScriptTable, name: &str| -> Fallible<Dynamic> {
        let column = t.column_of(name)?;
        let values: Vec<Value> = (0..column.len()).map(|r| column.value(r)).collect();
        if values.iter().any(|v| matches!(v, Value::F64(_))) {
            return Ok(Dynamic::from_float(values.iter().filter_map(Value::as_f64).sum()));
        }
        let total: i128 = values.iter().filter_map(Value::as_i128).sum();
        Ok(Dynamic::from_int(total.clamp(INT::MIN.into(), INT::MAX.into()) as INT))
    });
    engine.register_fn("filter", |ctx: NativeCallContext, t: &mut ScriptTable, keep: FnPtr| -> Fallible<ScriptTable> {
        let mut picks = Vec::new();
        for row in 0..t.rows_len() {
            if keep.call_within_context::<bool>(&ctx, (Dynamic::from_map(t.row_map(row)),))? {
                picks.push(row as u32);
            }
        }
        Ok(t.gather(&picks))
    });
    let sort = |t: &mut ScriptTable, name: &str, descending: bool| -> Fallible<ScriptTable> {
        let column = t.column_of(name)?;
        let mut order: Vec<u32> = (0..t.rows_len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (column.value(a as usize), column.value(b as usize));
            let ascending = a.sort_order(&b);
            // Nulls stay last either way.
            if descending && !a.is_null() && !b.is_null() {
                ascending.reverse()
            } else {
                ascending
            }
        });
        Ok(t.gather(&order))
    };
    engine.register_fn("sort", sort);
    engine.register_fn("sort", move |t: &mut ScriptTable, name: &str| sort(t, name, false));
    engine.register_fn("top", |t: &mut ScriptTable, n: INT| -> ScriptTable {
        let n = usize::try_from(n).unwrap_or(0).min(t.rows_len());
        t.gather(&(0..n as u32).collect::<Vec<_>>())
    });
    engine.register_fn("table", |rows: Array| table_from_rows(&rows));
    engine.register_fn("table", |rows: Array, columns: Array| {
        let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        table_with_columns(&rows, &names)
    });
    engine.register_fn("select", |t: &mut ScriptTable, columns: Array| -> Fallible<ScriptTable> {
        let mut out = DataTable::new(&t.0.name);
        for name in columns.iter().map(|c| c.to_string()) {
            let column = t.column_of(&name)?.clone();
            out.push_column(&name, "", column).map_err(|e| e.to_string())?;
        }
        Ok(ScriptTable(Arc::new(out)))
    });
    engine.register_fn("to_string", |t: &mut ScriptTable| show_text(t));
    engine.register_fn("to_debug", |t: &mut ScriptTable| {
        format!("Table({} rows: {})", grouped(t.rows_len()), t.0.column_names().join(", "))
    });
    engine.register_fn("to_csv", |t: &mut ScriptTable| t.render(Format::Csv));

    // Output.
    let out = output.clone();
    engine.register_fn("show", move |t: ScriptTable| out(&show_text(&t)));
    let out = output.clone();
    engine.register_fn("show", move |rows: Array| -> Fallible<()> {
        out(&show_text(&table_from_rows(&rows)?));
        Ok(())
    });
    let out = output.clone();
    engine.register_fn("copy", move |t: ScriptTable| {
        // OSC 52 asks the terminal to put the text on the clipboard; piped
        // output has no terminal to ask.
        if std::io::stdout().is_terminal() {
            super::write_stdout(&crate::clipboard::osc52_sequence(&t.render(Format::Tsv)));
            out(&format!("copied {} rows to the clipboard\n", grouped(t.rows_len())));
        } else {
            out("copy: stdout is not a terminal, nothing copied\n");
        }
    });
    // `export` is a rhai keyword (module exports, switched off here): the
    // keyword is disabled and `export(table, path)` becomes syntax of its own.
    // Files go to `write_dir` only, and replace nothing unless through `export_over`.
    let out = output.clone();
    let export_to = move |t: ScriptTable, path: &str, overwrite: bool| -> Fallible<()> {
        use std::io::Write;
        let format = export_format(path)?;
        let mut file =
            super::sandbox::create_confined(&write_dir, path, overwrite).map_err(|e| format!("export: {e}"))?;
        file.write_all(t.render(format).as_bytes()).map_err(|e| format!("export to '{path}': {e}"))?;
        out(&format!("exported {} rows to {path}\n", grouped(t.rows_len())));
        Ok(())
    };
    let export_new = export_to.clone();
    let export = move |t: ScriptTable, path: &str| export_new(t, path, false);
    engine.register_fn("export_table", export.clone());
    engine.register_fn("export_over", move |t: ScriptTable, path: &str| export_to(t, path, true));
    engine.disable_symbol("export");
    let registered = engine.register_custom_syntax(
        ["export", "(", "$expr$", ",", "$expr$", ")"],
        false,
        move |context, inputs| -> Fallible<Dynamic> {
            // Errors point at the table argument: custom syntax has no call position.
            let at = inputs[0].position();
            let fail =
                |message: String| -> Box<EvalAltResult> { EvalAltResult::ErrorRuntime(message.into(), at).into() };
            let table = context.eval_expression_tree(&inputs[0])?;
            let path = context.eval_expression_tree(&inputs[1])?;
            let type_name = table.type_name();
            let Some(table) = table.try_cast::<ScriptTable>() else {
                return Err(fail(format!("export expects a table from query(), not {type_name}")));
            };
            let Ok(path) = path.into_immutable_string() else {
                return Err(fail("export expects a file path as its second argument".into()));
            };
            export(table, &path).map_err(|e| fail(e.to_string()))?;
            Ok(Dynamic::UNIT)
        },
    );
    // Registration only fails for malformed syntax, which the line above is not.
    debug_assert!(registered.is_ok());

    // Helpers.
    engine.register_fn("status_name", |code: INT| session::status_text(code as u32));
    engine.register_fn("fmt_ns", |ns: INT| format_duration_ns(ns));
    engine.register_fn("fmt_ns", |ns: rhai::FLOAT| format_duration_ns(ns as i64));
    engine.register_fn("fmt_ts", |ns: INT| format_timestamp_ns(ns));
    engine.register_fn("hex", |value: INT| format!("{:#x}", value as u64));
    engine.register_fn("fmt_n", |value: INT| group_digits(&value.to_string()));
    engine.register_fn("fmt_f", |value: rhai::FLOAT, decimals: INT| {
        format!("{value:.*}", decimals.clamp(0, 12) as usize)
    });
    engine.register_fn("fmt_f", |value: INT, decimals: INT| {
        format!("{:.*}", decimals.clamp(0, 12) as usize, value as f64)
    });
    engine.register_fn("align_left", |text: &str, width: INT| format!("{text:<w$}", w = width.clamp(0, 200) as usize));
    engine.register_fn("align_right", |text: &str, width: INT| format!("{text:>w$}", w = width.clamp(0, 200) as usize));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_group_by_three() {
        let group = |v: INT| group_digits(&v.to_string());
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(-1000), "-1,000");
        assert_eq!(group(INT::MIN), "-9,223,372,036,854,775,808");
    }
}
