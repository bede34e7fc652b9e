//! Meta-commands: the lines that start with a dot and talk to the shell
//! rather than ask the trace a question.
use super::{Flow, Shell};
use render::{Format, Screen, Table};
use std::path::Path;

pub struct MetaCommand {
    pub name: &'static str,
    pub arguments: &'static str,
    pub help: &'static str,
}

pub const META_COMMANDS: &[MetaCommand] = &[
    MetaCommand {
        name: ".help",
        arguments: "[topic]",
        help: "this list; topics: query, views, joins, windows, time, functions, keys, scripts, a table, a command",
    },
    MetaCommand { name: ".tables", arguments: "", help: "the tables and their row counts" },
    MetaCommand { name: ".schema", arguments: "TABLE", help: "a table's columns: name, type, meaning" },
    MetaCommand { name: ".open", arguments: "FILE", help: "open another trace (or a directory of them) instead" },
    MetaCommand {
        name: ".info",
        arguments: "",
        help: "header facts of the trace: clock, processors, times, buffers, losses",
    },
    MetaCommand {
        name: ".format",
        arguments: "table|line|csv|tsv|json|md",
        help: "how results are shown (line: a row at a time, as a query ending in \\G shows it)",
    },
    MetaCommand { name: ".mode", arguments: "table|line|csv|tsv|json|md", help: ".format as sqlite3 spells it" },
    MetaCommand {
        name: ".output",
        arguments: "[FILE]",
        help: "later results into FILE (every row, plain text; emptied first); alone or `stdout`: the screen again",
    },
    MetaCommand {
        name: ".read",
        arguments: "FILE",
        help: "run FILE's lines as if typed; errors name the file and line (.help scripts)",
    },
    MetaCommand {
        name: ".pager",
        arguments: "on|off",
        help: "results taller than the screen through $PAGER (default less -S; q returns here)",
    },
    MetaCommand {
        name: ".copy",
        arguments: "[tsv|csv|md]",
        help: "the last result onto the clipboard (TSV pastes into a spreadsheet)",
    },
    MetaCommand {
        name: ".export",
        arguments: "FILE",
        help: "the last result, every row, into a file (.csv .tsv .json .md .txt by extension)",
    },
    MetaCommand {
        name: ".save",
        arguments: "NAME = QUERY",
        help: "keep a query as @NAME for this session (NAME(p) = ... $p ... takes arguments)",
    },
    MetaCommand { name: ".queries", arguments: "", help: "the saved queries: shipped, from libraries, and saved here" },
    MetaCommand { name: ".lib", arguments: "FILE", help: "load a .etwq library of saved queries" },
    MetaCommand { name: ".run", arguments: "SCRIPT [ARGS]", help: "run a rhai script against the open traces" },
    MetaCommand {
        name: ".symbols",
        arguments: "[PATH]",
        help: "the symbol path in force, or set it (srv*CACHE*URL; dirs; ';'-separated)",
    },
    MetaCommand {
        name: ".sql",
        arguments: "[--dialect spark] QUERY",
        help: "the query as SQL over `etwq export`'s tables (DuckDB's dialect unless --dialect spark)",
    },
    MetaCommand { name: ".timer", arguments: "on|off", help: "show how long each query took" },
    MetaCommand { name: ".quit", arguments: "", help: "leave (Ctrl-D too)" },
];

/// Topics of `.help` besides commands and tables.
pub const HELP_TOPICS: &[&str] = &["query", "views", "joins", "windows", "time", "functions", "keys", "scripts"];

const QUERY_HELP: &str = "\
A query names a table (or @saved query) and adds clauses, each optionally after `|`:
  TABLE [between A and B] [where EXPR] [group by ITEM, ... [select ITEM, ...]]
        [select ITEM [as NAME], ...] [order by EXPR [asc|desc], ...] [limit N] [top N [by EXPR]]
Operators: = != < <= > >= ~ (regex) !~  like (glob)  contains  in (...)  is [not] null  and or not
Literals: 42 0x1f 2.5 \"text\" 12s 1.5ms 10us 100ns STATUS_ACCESS_DENIED
Examples:
  syscalls where ret != 0 and proc ~ \"strace\" group by status
  syscalls group by proc, status select count() as n, sum(duration_ns) as total order by total desc limit 10
  samples between 12s and 14.5s where module = \"tedrdrv.sys\" group by tid
  cswitch where wait_reason = \"DelayExecution\" | group by proc | top 5 by count
  @failing_in(\"strace\")
More: .help views, .help joins, .help windows, .help time, .help functions";

const VIEWS_HELP: &str = "\
A view ends a query and draws its rows another way:
  | tree [depth N] [min P%] [offsets]  the stacks as a call tree        samples where proc = \"server.exe\" | tree depth 6
  | butterfly FUNC                     callers and callees of FUNC       samples | butterfly WorkerThread
  | folded                             one line per stack, for tools     samples | folded
  | flame FILE.svg                     a flame graph written to FILE     samples where tid = 4250 | flame cpu.svg
  | histogram COLUMN [to F.svg|png]    a duration in kiinfo's buckets    cswitch | histogram ready_ns
  | chart cpu|count|COLUMN [by KEY] [every D] [top N] [to F.svg|png]
                                       the rows over time, stacked by KEY samples | chart cpu by proc every 100ms
       cpu: % of all cores (samples by weight, cswitch by running time); the top N keys (6), the rest \"other\";
       buckets fit the terminal's width unless every says; to F writes an image instead
  | waits                              who readied whom (cswitch rows)   cswitch where tid = 4250 | waits
  | diff tree [by KEY] [depth N] [min P%]  two groups' trees, A, B and B - A  samples | diff tree
  | diff flame FILE.svg [by KEY]       a differential flame graph        samples | diff flame ab.svg
  | export speedscope FILE [by process]  speedscope's format            samples | export speedscope s.json
  | export firefox FILE [by process]   Firefox Profiler's format         samples | export firefox f.json
  | export chrome FILE                 Chrome trace events (Perfetto)    syscalls | export chrome t.json
tree, butterfly, folded, flame, diff and the speedscope and firefox exports need a `stack` column.
diff compares the two values of KEY, `trace` by default (two traces open: A the first opened);
export chrome writes syscalls or cswitch rows, a track per thread.";

const JOINS_HELP: &str = "\
Rows of two tables side by side, matched on keys (the other table's columns as TABLE.column or ALIAS.column):
  syscalls join threads on tid = tid select func, threads.name
  syscalls left join processes as p on pid = p.pid          (left: rows without a match stay, null beside)
`during` keeps the rows that fall inside another table's intervals (ts to ts + duration) on the same key:
  fileio during syscalls on tid select ts, op, file, syscalls.func
  samples during (syscalls where func = \"NtCreateFile\") as c on tid
A sub-query in parentheses, named with `as`, stands where a table does.";

const WINDOWS_HELP: &str = "\
Window functions in a select: row_number(), lag(x), lead(x), delta(x), running_sum(x)
  over (partition by KEYS order by KEYS), computed per partition after where:
  cswitch select tid, ts, delta(ts) over (partition by tid order by ts) as gap";

const TIME_HELP: &str = "\
Times (ts) show as seconds since the trace start; durations with their unit. Literals: 12s 1.5ms 10us 100ns.
Arithmetic: ts + 1ms, end_ts - ts, duration_ns / 2; compare with literals: where duration_ns > 10ms
bin(x, size) rounds a time, duration or integer down to a multiple of size, for a timeline:
  syscalls group by bin(ts, 100ms) as t select count() as calls order by t
between A and B keeps rows whose ts falls in [A, B]: samples between 12s and 14.5s";

const SCRIPTS_HELP: &str = "\
A script of shell lines (.read FILE, lines piped on stdin, -c): queries and dot-commands, one per line.
A line continues while a ( or a quote is open, or when it ends with \\; a line ending with ; ends its statement.
Blank lines and lines starting with # or -- are skipped. Every line runs and each error is reported with its
file and line; etwq's exit status is non-zero if any failed (--bail: stop at the first).
  .read checks.etwq          .output result.txt          etwq --demo < checks.etwq";

const KEYS_HELP: &str = "\
Tab        complete a table, column, keyword, function, @saved query, command or file path
Right      take the grey hint (the latest matching line from history)
Up/Down    walk the history; Ctrl-R searches it
Enter      run; while a ( or a quote is open it starts another line instead
Ctrl-C     stop the running query, or clear the line at the prompt
Ctrl-D     leave";

/// Runs one meta-command line.
pub(super) fn run(shell: &mut Shell, line: &str) -> Result<Flow, String> {
    let (name, argument) = match line.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (line, ""),
    };
    match name {
        ".help" | ".h" | ".?" => help(shell, argument),
        ".tables" => {
            let mut table = Table::new(&["table", "rows"]);
            for (name, rows) in shell.session.tables() {
                table.push(vec![name.into(), (rows as u64).into()]);
            }
            shell.show(&table)?;
            Ok(Flow::Continue)
        }
        ".schema" => schema(shell, argument),
        ".open" => {
            let path = unquote(argument);
            if path.is_empty() {
                return Err("usage: .open FILE".into());
            }
            shell.open(Path::new(path))?;
            Ok(Flow::Continue)
        }
        ".info" => {
            let info = shell.session.info();
            shell.show(&info)?;
            Ok(Flow::Continue)
        }
        ".format" | ".mode" => {
            if argument.is_empty() {
                let format = format!("format: {}", format_name(shell.format));
                shell.say(&format);
                return Ok(Flow::Continue);
            }
            shell.format = parse_mode(argument)
                .ok_or_else(|| format!("unknown format '{argument}'; one of table, line, csv, tsv, json, md"))?;
            Ok(Flow::Continue)
        }
        ".read" => {
            let path = unquote(argument);
            if path.is_empty() {
                return Err("usage: .read FILE".into());
            }
            shell.read_file(Path::new(path))
        }
        ".output" => {
            shell.redirect(unquote(argument))?;
            Ok(Flow::Continue)
        }
        ".pager" => {
            shell.pager = match argument {
                "on" => true,
                "off" => false,
                "" => !shell.pager,
                other => return Err(format!("usage: .pager on|off (not '{other}')")),
            };
            shell.note(&format!("pager {}", if shell.pager { "on" } else { "off" }));
            Ok(Flow::Continue)
        }
        ".copy" => copy(shell, argument),
        ".export" => export(shell, argument),
        ".save" => {
            if argument.is_empty() {
                return Err("usage: .save NAME = QUERY".into());
            }
            let name = shell.session.save_query(argument)?;
            shell.setup.saved_definitions.push(argument.to_string());
            shell.note(&format!("saved @{name}"));
            Ok(Flow::Continue)
        }
        ".queries" => {
            let mut table = Table::new(&["name", "query"]);
            for q in shell.session.saved_queries() {
                let name = if q.params.is_empty() {
                    format!("@{}", q.name)
                } else {
                    format!("@{}({})", q.name, q.params.join(", "))
                };
                table.push(vec![name.into(), q.text.clone().into()]);
            }
            shell.show(&table)?;
            Ok(Flow::Continue)
        }
        ".lib" => {
            let path = unquote(argument);
            if path.is_empty() {
                return Err("usage: .lib FILE".into());
            }
            let count = shell.session.load_library(Path::new(path))?;
            shell.setup.libraries.push(path.into());
            shell.note(&format!("loaded {} saved queries from {path}", super::count_text(count)));
            Ok(Flow::Continue)
        }
        ".run" => {
            let mut words = argument.split_whitespace();
            let Some(script) = words.next().map(unquote) else {
                return Err("usage: .run SCRIPT [ARGS]".into());
            };
            let args: Vec<String> = words.map(str::to_string).collect();
            crate::script::run_script_file(&mut shell.session, Path::new(script), &args).map_err(|e| e.to_string())?;
            Ok(Flow::Continue)
        }
        ".symbols" => {
            if argument.is_empty() {
                let path = format!("symbol path: {}", describe_symbol_path(&shell.session.symbol_path()));
                shell.say(&path);
                return Ok(Flow::Continue);
            }
            shell.session.set_symbol_path(argument);
            shell.setup.symbols = Some(argument.to_string());
            // Frames are named again now, showing progress, rather than in the next query.
            let session = &mut shell.session;
            super::report_unprepared(crate::progress::with_progress(|progress| {
                session.prepare_with_progress(progress)
            }));
            shell.report_symbol_messages();
            shell.note(&format!("symbol path: {}", describe_symbol_path(&shell.session.symbol_path())));
            Ok(Flow::Continue)
        }
        ".sql" => {
            let (dialect, query) = match argument.strip_prefix("--dialect") {
                Some(rest) => {
                    let rest = rest.trim_start();
                    let (name, query) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                    let dialect = session::Dialect::from_name(name)
                        .ok_or_else(|| format!("unknown SQL dialect '{name}' (duckdb or spark)"))?;
                    (dialect, query.trim())
                }
                None => (session::Dialect::DuckDb, argument),
            };
            if query.is_empty() {
                return Err("usage: .sql [--dialect duckdb|spark] QUERY".into());
            }
            let sql = shell.session.sql(query, dialect).map_err(|e| e.to_string())?;
            shell.say(&format!("{sql};"));
            Ok(Flow::Continue)
        }
        ".timer" => {
            shell.timer = match argument {
                "on" => true,
                "off" => false,
                "" => !shell.timer,
                other => return Err(format!("usage: .timer on|off (not '{other}')")),
            };
            shell.note(&format!("timer {}", if shell.timer { "on" } else { "off" }));
            Ok(Flow::Continue)
        }
        ".quit" | ".exit" | ".q" => Ok(Flow::Quit),
        other => {
            let stem: String = other.chars().take(3).collect();
            let near: Vec<&str> = META_COMMANDS.iter().map(|m| m.name).filter(|n| n.starts_with(&stem)).collect();
            let hint = if near.is_empty() { String::new() } else { format!(" (did you mean {}?)", near.join(", ")) };
            Err(format!("unknown command '{other}'{hint}; .help lists them"))
        }
    }
}

/// `.open "my trace.etl"` and `.open my trace.etl` both name the file.
fn unquote(argument: &str) -> &str {
    let a = argument.trim();
    for q in ['"', '\''] {
        if let Some(inner) = a.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    a
}

/// The symbol path in force, or how to set one.
fn describe_symbol_path(path: &str) -> String {
    if path.is_empty() {
        return "(none; set one with .symbols PATH, --symbols or _NT_SYMBOL_PATH)".into();
    }
    path.to_string()
}

/// A `.format` (or sqlite3's `.mode`) name: ours, and sqlite3's for the same thing.
fn parse_mode(name: &str) -> Option<Format> {
    match name {
        "box" | "column" => Some(Format::Table),
        "tabs" => Some(Format::Tsv),
        other => Format::parse(other),
    }
}

pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Line => "line",
        Format::Tsv => "tsv",
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Markdown => "md",
    }
}

fn help(shell: &mut Shell, topic: &str) -> Result<Flow, String> {
    let topic = topic.trim_start_matches('.');
    let text = match topic {
        "" => {
            let mut text = String::from(
                "Type a query (.help query) or a command; Tab completes, .help keys for the keys.\n\
                 Topics: .help query, views, joins, windows, time, functions, keys, scripts.\n",
            );
            for m in META_COMMANDS {
                let usage = format!("{} {}", m.name, m.arguments);
                text.push_str(&format!("  {usage:<30} {}\n", m.help));
            }
            text.push_str("Tables: .tables lists them, .schema TABLE (or .help TABLE) shows one.");
            text
        }
        "query" | "queries" | "syntax" => QUERY_HELP.to_string(),
        "views" | "view" | "tree" | "butterfly" | "folded" | "flame" | "histogram" | "waits" | "chart" | "diff"
        | "export" => VIEWS_HELP.to_string(),
        "joins" | "join" | "during" => JOINS_HELP.to_string(),
        "windows" | "window" | "over" => WINDOWS_HELP.to_string(),
        "time" | "times" | "bin" => TIME_HELP.to_string(),
        "scripts" | "script" | "read" => SCRIPTS_HELP.to_string(),
        "keys" | "completion" | "history" => KEYS_HELP.to_string(),
        "functions" => {
            let lines: Vec<String> = session::all_function_names()
                .filter_map(session::function_help)
                .map(|(call, what)| format!("  {call:<24} {what}"))
                .collect();
            format!("Functions and aggregates:\n{}", lines.join("\n"))
        }
        other => {
            if let Some(m) = META_COMMANDS.iter().find(|m| m.name.trim_start_matches('.') == other) {
                format!("{} {}\n  {}", m.name, m.arguments, m.help)
            } else if shell.session.schema(other).is_some() {
                return schema(shell, other);
            } else {
                return Err(format!("no help on '{other}'; topics: {}, a command or a table", HELP_TOPICS.join(", ")));
            }
        }
    };
    shell.say(&text);
    Ok(Flow::Continue)
}

fn schema(shell: &mut Shell, table: &str) -> Result<Flow, String> {
    if table.is_empty() {
        return Err("usage: .schema TABLE (.tables lists them)".into());
    }
    let Some(columns) = shell.session.schema(table) else {
        let names: Vec<String> = shell.session.tables().into_iter().map(|(n, _)| n).collect();
        return Err(format!("no table '{table}'; tables: {}", names.join(", ")));
    };
    let mut out = Table::new(&["column", "type", "meaning"]);
    for (name, kind, meaning) in columns {
        out.push(vec![name.into(), kind.into(), meaning.into()]);
    }
    shell.show(&out)?;
    Ok(Flow::Continue)
}

fn copy(shell: &mut Shell, argument: &str) -> Result<Flow, String> {
    let format = match argument {
        "" | "tsv" => Format::Tsv,
        "csv" => Format::Csv,
        "md" | "markdown" => Format::Markdown,
        other => return Err(format!("usage: .copy [tsv|csv|md] (not '{other}')")),
    };
    let Some(last) = &shell.last else { return Err("nothing to copy yet: run a query first".into()) };
    let text = render::render(last.as_ref(), format);
    let rows = last.row_count();
    let through = shell.clipboard.copy(&text)?;
    shell.note(&format!(
        "copied {} rows as {} to {}",
        super::count_text(rows),
        format_name(format),
        through.describe()
    ));
    Ok(Flow::Continue)
}

fn export(shell: &mut Shell, argument: &str) -> Result<Flow, String> {
    let path = unquote(argument);
    if path.is_empty() {
        return Err("usage: .export FILE (the extension .csv .tsv .json .md .txt picks the format)".into());
    }
    let Some(last) = &shell.last else { return Err("nothing to export yet: run a query first".into()) };
    let extension = Path::new(path).extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    let format = match extension.as_str() {
        "csv" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "json" => Format::Json,
        "md" | "markdown" => Format::Markdown,
        // A text table, as the shell shows results.
        "" | "txt" => shell.format,
        other => {
            return Err(format!(
                "{path}: .export writes .csv, .tsv, .json, .md or .txt (a text table), not .{other}; nothing written"
            ))
        }
    };
    // Every row, plain ASCII, streamed: a file is not a screen.
    let screen = Screen { width: None, max_lines: None, ascii: true };
    let written = std::fs::File::create(path).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        render::write_on_screen(last.as_ref(), format, &screen, &mut out)?;
        std::io::Write::flush(&mut out)
    });
    written.map_err(|e| format!("{path}: {e}"))?;
    let rows = last.row_count();
    shell.note(&format!("wrote {} rows as {} to {path}", super::count_text(rows), format_name(format)));
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repl::ShellOptions;
    use crate::setup::SessionSetup;
    use session::Session;

    fn shell() -> Shell {
        let options = ShellOptions {
            format: Format::Table,
            setup: SessionSetup::default(),
            decode_check: None,
            pager: false,
            bail: false,
        };
        Shell::new(Session::demo(), options, true)
    }

    #[test]
    fn bad_meta_commands_are_errors_not_panics() {
        let mut shell = shell();
        for line in [
            ".",
            ".é",
            ".éééé x",
            ".schema",
            ".schema nope",
            ".open",
            ".open /no/such/file.etl",
            ".open \"\"",
            ".format",
            ".format xml",
            ".copy",
            ".copy xml",
            ".export",
            ".export /tmp",
            ".save",
            ".save x",
            ".save = y",
            ".lib",
            ".lib /no/such.etwq",
            ".run",
            ".run /no/such.rhai",
            ".timer maybe",
            ".help nope",
            ".help",
            ".help .copy",
            ".help query",
            ".help functions",
            ".help keys",
            ".queries",
            ".symbols",
            ".read",
            ".read /no/such.etwq",
            ".output /no/such/dir/out.txt",
            ".pager maybe",
            ".mode xml",
            ".help views",
            ".help joins",
        ] {
            let _ = run(&mut shell, line);
        }
        assert_eq!(run(&mut shell, ".format xml").err().map(|e| e.contains("unknown format")), Some(true));
        assert!(run(&mut shell, ".copy").is_err(), "nothing to copy before a query");
        assert_eq!(run(&mut shell, ".quit"), Ok(Flow::Quit));
        assert_eq!(run(&mut shell, ".save errs = syscalls where ret != 0"), Ok(Flow::Continue));
        assert!(shell.session.saved_queries().iter().any(|q| q.name == "errs"));
        assert_eq!(run(&mut shell, ".timer on"), Ok(Flow::Continue));
        assert!(shell.timer);
        let refused = run(&mut shell, ".output /no/such/dir/out.txt").unwrap_err();
        assert!(refused.contains("output still goes to stdout"), "{refused}");
        assert!(matches!(shell.output, crate::repl::Output::Stdout));
        assert_eq!(run(&mut shell, ".mode line"), Ok(Flow::Continue));
        assert_eq!(shell.format, Format::Line);
        assert_eq!(run(&mut shell, ".mode box"), Ok(Flow::Continue));
        assert_eq!(shell.format, Format::Table);
    }

    #[test]
    fn output_sends_results_to_a_file_until_stdout() {
        let mut shell = shell();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.txt");
        std::fs::write(&file, "old text that .output replaces\n").unwrap();
        assert_eq!(run(&mut shell, &format!(".output {}", file.display())), Ok(Flow::Continue));
        assert_eq!(shell.execute("threads select tid | limit 2"), Ok(Flow::Continue));
        assert_eq!(run(&mut shell, ".format csv"), Ok(Flow::Continue));
        assert_eq!(shell.execute("processes select pid | limit 1"), Ok(Flow::Continue));
        assert_eq!(run(&mut shell, ".output stdout"), Ok(Flow::Continue));
        assert_eq!(shell.execute("threads"), Ok(Flow::Continue));
        let written = std::fs::read_to_string(&file).unwrap();
        // The first result as a plain ASCII table, the second as csv, nothing after .output stdout.
        let tids: Vec<String> = shell.session.query("threads select tid | limit 2").map_or(Vec::new(), |t| {
            (0..t.row_count())
                .map(|row| render::render(&t, Format::Tsv).lines().nth(row + 1).unwrap().to_string())
                .collect()
        });
        assert_eq!(tids.len(), 2);
        assert!(written.starts_with("+-----+\n| tid |\n+=====+\n"), "{written}");
        for tid in &tids {
            assert!(written.contains(&format!("| {tid:>3} |")), "{tid}: {written}");
        }
        assert!(written.ends_with("\npid\n0\n"), "{written}");
        assert!(!written.contains("old text"));
    }

    #[test]
    fn export_writes_every_row_in_the_extension_s_format() {
        let mut shell = shell();
        let mut table = Table::new(&["name", "n"]);
        for i in 0..500u64 {
            table.push(vec![format!("row {i}").into(), i.into()]);
        }
        shell.last = Some(Box::new(table));
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("out.csv");
        assert_eq!(run(&mut shell, &format!(".export {}", csv.display())), Ok(Flow::Continue));
        let written = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(written.lines().count(), 501);
        assert!(written.starts_with("name,n\nrow 0,0\n"));
        let md = dir.path().join("out.md");
        assert_eq!(run(&mut shell, &format!(".export \"{}\"", md.display())), Ok(Flow::Continue));
        assert!(std::fs::read_to_string(&md).unwrap().starts_with("| name | n |"));
        // A spreadsheet's name gets no text table: an error, and no file.
        let xlsx = dir.path().join("out.xlsx");
        let refused = run(&mut shell, &format!(".export {}", xlsx.display())).unwrap_err();
        assert!(refused.contains("not .xlsx; nothing written"), "{refused}");
        assert!(!xlsx.exists());
        let txt = dir.path().join("out.txt");
        assert_eq!(run(&mut shell, &format!(".export {}", txt.display())), Ok(Flow::Continue));
        assert!(std::fs::read_to_string(&txt).unwrap().contains("row 499"));
    }

    #[test]
    fn save_keeps_only_a_query_that_parses() {
        let mut shell = shell();
        let refused = run(&mut shell, ".save broken = syscalls wher ret != 0").unwrap_err();
        assert!(refused.contains("@broken is not saved"), "{refused}");
        assert!(shell.session.saved_queries().iter().all(|q| q.name != "broken"));
        assert_eq!(run(&mut shell, ".save by_proc(p) = syscalls where proc = $p"), Ok(Flow::Continue));
        assert!(shell.session.saved_queries().iter().any(|q| q.name == "by_proc"));
    }

    #[test]
    fn sql_prints_the_translation_with_the_session_s_saved_queries() {
        let mut shell = shell();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sql.txt");
        assert_eq!(run(&mut shell, ".save mine(p) = syscalls where proc = $p"), Ok(Flow::Continue));
        assert_eq!(run(&mut shell, &format!(".output {}", file.display())), Ok(Flow::Continue));
        assert_eq!(run(&mut shell, ".sql @mine(\"a\") | group by func"), Ok(Flow::Continue));
        assert_eq!(run(&mut shell, ".sql --dialect spark syscalls where func = \"it's\""), Ok(Flow::Continue));
        assert_eq!(run(&mut shell, ".output stdout"), Ok(Flow::Continue));
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(written.contains("WHERE (proc = 'a')\nGROUP BY func;"), "{written}");
        assert!(written.contains(r"(func = 'it\'s')"), "{written}");
        let refused = run(&mut shell, ".sql syscalls | folded").unwrap_err();
        assert!(refused.contains("'| folded'") && refused.contains("no SQL translation"), "{refused}");
        assert!(run(&mut shell, ".sql").unwrap_err().contains("usage: .sql"));
        assert!(run(&mut shell, ".sql --dialect oracle syscalls").unwrap_err().contains("unknown SQL dialect"));
    }
}
