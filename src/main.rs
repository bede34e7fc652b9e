use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use etwq::interrupt::Interrupt;
use etwq::progress::{with_progress, with_spinner};
use etwq::repl::{BatchInput, ShellOptions};
use etwq::setup::SessionSetup;
use render::Format;
use session::dump::DumpFormat;
use session::strace::{strace_line, strace_summary, StraceLine, StraceOptions};
use session::Session;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const AFTER_TABLES: &str = "\
Stack views after a query with a `stack` column:
  | tree [depth N] [min P%] [offsets]   | butterfly FUNC   | folded   | flame FILE.svg
Two groups compared (two traces open, or `by KEY` with two values): | diff tree [by KEY]   | diff flame FILE.svg
For other profilers: samples | export speedscope|firefox FILE.json [by process];
  syscalls or cswitch | export chrome FILE.json (Chrome trace events: Perfetto, chrome://tracing)
A duration column in kiinfo's run-queue latency buckets: | histogram COLUMN [to F.svg|png] (cswitch | histogram ready_ns)
Over time, stacked by a key: | chart cpu|count|COLUMN [by KEY] [every 100ms] [top N] [to F.svg|png]
  (samples | chart cpu by proc; cswitch | chart cpu by proc; syscalls | chart count by status)
Wait chains of switch-ins, who readied whom: cswitch where tid = 4250 | waits

Examples:
  etwq --demo -c 'syscalls where ret != 0 and proc ~ \"strace\" group by status'
  etwq -c 'cswitch group by proc' trace.etl --format csv
  echo 'samples group by module' | etwq trace.etl
  etwq -c .tables -c '.schema syscalls' trace.etl
  etwq --demo --bail < checks.etwq
  etwq --demo -c 'samples where proc = \"server.exe\" | tree'
  etwq export /traces --to /data/etw     (every table as Parquet; see etwq export --help)
  etwq trace.etl -c 'syscalls where ret != 0' --format parquet --output failed.parquet

The shell (`etwq trace.etl` or `etwq --demo` on a terminal, without -c):
  Type a query, or a command: .help [topic], .tables, .schema TABLE, .open FILE, .info,
  .format (or .mode) table|line|csv|tsv|json|md (a query ending in \\G: line), .copy [tsv|csv|md], .export FILE,
  .output [FILE] (later results into FILE; alone: the screen), .read FILE (its lines as if typed),
  .pager on|off, .save NAME = QUERY, .queries, .lib FILE, .run SCRIPT [ARGS], .symbols [PATH], .sql QUERY, .timer on|off,
  .quit. Tab completes tables, columns, keywords, functions, @saved queries, commands, file paths,
  fields.X, views after |, butterfly functions, quoted column values (proc = \"stra) and STATUS_ names;
  Enter continues the input while a
  ( or a quote is open; Ctrl-C stops a running query or build; Ctrl-D leaves.
  Results taller than the screen go through $PAGER (default less -S; --no-pager or .pager off: a screenful);
  a table wider than the screen has its widest text columns cut, then trailing columns left out.
  History: ETWQ_HISTORY, else the data directory (~/.local/share/etwq/history on Linux).
  Saved queries: the shipped library, every *.etwq in the config directory
  (~/.config/etwq/ on Linux) and --lib FILE; use as @name or @name(\"arg\").
  .copy uses the system clipboard, or the OSC 52 terminal sequence where there is none
  (over SSH; ETWQ_CLIPBOARD=osc52 forces it). NO_COLOR or ETWQ_ASCII: plain ASCII tables.

Scripts of shell lines (stdin, -c, .read FILE): queries and dot-commands; a query continues while ( or a
  quote is open or its line ends with \\, and a line ending with ; ends it; # and -- lines are comments.
  Every line runs and each error is reported with its line (stdin line 3: ...); the exit status is
  non-zero if any failed, and --bail stops at the first.

Scripts (-f SCRIPT, rhai; `.run` in the shell): queries via query(\"...\"); export(t, \"x.csv\") writes a
  new file under the working directory or --script-dir DIR only (no .., absolute paths or links;
  export_over replaces); no flame views, no chart or histogram to a file. Limits: 50 million operations, 600 s (--script-timeout),
  20,000 array items, 20,000 map entries, 4 MiB of strings. Ctrl-C stops a script: exit code 130.

While a trace loads and a query builds what it reads, a progress bar on stderr when stderr is a terminal
(plain ASCII without colour under NO_COLOR or ETWQ_ASCII). A build estimated to need more memory than
the machine has available is refused with the estimate: ETWQ_MEMORY_LIMIT=SIZE (8G, 512M) sets the
limit, ETWQ_MEMORY_LIMIT=off builds anyway.";

/// etwq: ask Windows ETW traces (.etl) questions, on any OS.
#[derive(Parser)]
#[command(name = "etwq", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Trace files, or directories of them; several traces add a `trace` column to every table.
    files: Vec<PathBuf>,
    /// Run a query or a dot-command (.tables, .schema T, .read FILE) and print its result; repeat for
    /// several. Without -c, lines piped on stdin run as in the shell. Every one runs; each error is
    /// reported (on stdin with its line) and the exit status is non-zero if any failed.
    #[arg(short = 'c', long = "command", value_name = "QUERY")]
    queries: Vec<String>,
    /// With -c or stdin: stop at the first error (exit status non-zero).
    #[arg(long)]
    bail: bool,
    /// In the shell: print long results directly instead of through $PAGER (`.pager on|off`).
    #[arg(long)]
    no_pager: bool,
    /// Run a rhai script against the traces and exit; its arguments follow `--`.
    #[arg(short = 'f', long = "file", value_name = "SCRIPT")]
    script: Option<PathBuf>,
    /// Stop a script (-f) after this many seconds of wall-clock time; default 600.
    #[arg(long, value_name = "SECONDS")]
    script_timeout: Option<u64>,
    /// The one directory a script's `export` writes into (relative paths, new files); default: the working directory.
    #[arg(long, value_name = "DIR")]
    script_dir: Option<PathBuf>,
    /// Arguments for the script (`args` in it), after `--`.
    #[arg(last = true, value_name = "ARGS")]
    script_args: Vec<String>,
    /// Use the built-in demo trace (an antivirus driver hooking system calls on a 16-core server).
    #[arg(long)]
    demo: bool,
    /// How results are printed; in the shell, the first `.format`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// With --format parquet or arrow: the file the one -c QUERY's result is written to.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A library of saved queries (`name = query` lines), used as @name.
    #[arg(long, value_name = "FILE")]
    lib: Vec<PathBuf>,
    /// Instrumentation manifest XML (a file, or a directory of them).
    #[arg(long, value_name = "PATH")]
    manifest: Vec<PathBuf>,
    /// Symbol path (`srv*CACHE*URL`, `cache*DIR`, directories; `;`-separated); default: _NT_SYMBOL_PATH.
    #[arg(long, value_name = "PATH")]
    symbols: Option<String>,
    /// Symbol cache: where frame names are cached and `srv*URL` downloads land, or `off`;
    /// default: ETWQ_SYMBOL_CACHE, else ~/.cache/etwq/symbols. ETWQ_SYMBOL_DOWNLOADS=off: ask no symbol server;
    /// ETWQ_SYMBOL_MISS_TTL=SECONDS: how long a server's 404 for a PDB is believed (default 86400, 0: not kept).
    #[arg(long, value_name = "DIR|off")]
    symbol_cache: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Header facts of a trace: clock, processors, start and end, buffers,
    /// compression, lost events and buffers, records per processor.
    Info {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Record counts per key, like `tracerpt -summary`: `kernel <group> <opcode>`,
    /// `classic <guid> <class type>`, `event <guid> <event id>`. As a table (or csv,
    /// json, md) with the provider and event names and the undecoded count of each key,
    /// then per provider; `--format tsv` prints exactly the key rows and `total`.
    Summary {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Instrumentation manifest XML (a file, or a directory of them).
        #[arg(long)]
        manifest: Vec<PathBuf>,
    },
    /// Every event in time order, decoded: provider, event name and typed fields.
    /// Text is one line per event, its time in seconds since the trace start
    /// (as queries show `ts`), control characters escaped. JSON is one object per line: ts_ns (since the trace start), cpu, pid, tid,
    /// provider, event, id, opcode, version, fields.
    Dump {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = DumpFormatArg::Text)]
        format: DumpFormatArg,
        /// Stop after N events.
        #[arg(long)]
        limit: Option<usize>,
        /// Instrumentation manifest XML (a file, or a directory of them).
        #[arg(long)]
        manifest: Vec<PathBuf>,
    },
    /// One process's system calls, a line each as strace prints them:
    /// `proc(pid) tid func("object") = 0xSTATUS NAME <seconds>`. The argument
    /// is the file, registry key, process, thread or image the call touched
    /// (its thread's FileIo, Registry, Process, Thread or Image event inside
    /// the call; `+N more` when it touched several). `-c` prints, per
    /// function, calls, errors and total, average and longest time instead.
    /// `--format` other than table prints the calls (or the summary) as a table.
    Strace {
        /// The trace; or --demo.
        #[arg(required_unless_present = "demo")]
        file: Option<PathBuf>,
        /// Use the built-in demo trace.
        #[arg(long, conflicts_with = "file")]
        demo: bool,
        /// The process by id.
        #[arg(short = 'p', long, value_name = "PID")]
        pid: Option<u32>,
        /// The process by image name, any case (strace.exe).
        #[arg(short = 'n', long, value_name = "NAME")]
        name: Option<String>,
        /// Failures only: NTSTATUS severity error (NT_ERROR). STATUS_TIMEOUT and STATUS_PENDING are not failures.
        #[arg(long)]
        failed: bool,
        /// With --failed: warnings (NT_WARNING, such as STATUS_BUFFER_OVERFLOW) too.
        #[arg(long, requires = "failed")]
        warnings: bool,
        /// Show the time spent in each call, in seconds.
        #[arg(short = 'T')]
        durations: bool,
        /// Start each line with its time, in seconds since the trace start.
        #[arg(short = 't')]
        timestamps: bool,
        /// Follow the processes the chosen ones started, and theirs.
        #[arg(short = 'f')]
        follow: bool,
        /// A summary per function, as `strace -c`: calls, errors, total, average and longest time.
        #[arg(short = 'c')]
        summary: bool,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Symbol path, as for queries; default: _NT_SYMBOL_PATH.
        #[arg(long, value_name = "PATH")]
        symbols: Option<String>,
    },
    /// A one-page overview of a trace, as text or one self-contained HTML file.
    ///
    /// The trace's facts with lost events and profiling gaps as warnings, what stands out, CPU over time by process, top processes, threads
    /// and modules, modules without symbols in hot stacks (vendor and category from the
    /// driver atlas), hot functions and Sleep spinning, system calls and their failures,
    /// ready-time and disk-latency histograms, the hottest stacks. Two traces add a
    /// comparison. Terminal text, or with --to one self-contained HTML file.
    Report {
        /// The traces (one, or two to compare); or --demo.
        #[arg(required_unless_present = "demo")]
        files: Vec<PathBuf>,
        /// Report on the built-in demo trace.
        #[arg(long, conflicts_with = "files")]
        demo: bool,
        /// Write the report as HTML to this file (charts inline, nothing fetched: it opens from disk).
        #[arg(long, value_name = "FILE.html")]
        to: Option<PathBuf>,
        /// Symbol path, as for queries; default: _NT_SYMBOL_PATH.
        #[arg(long, value_name = "PATH")]
        symbols: Option<String>,
    },
    /// Every table of each trace as Parquet (zstd) or Arrow IPC files: one dataset for DuckDB,
    /// Spark, Trino or pandas.
    ///
    /// Layout: DIR/<table>/trace=<trace id>/part-0.parquet, plus DIR/traces/ (one row
    /// per trace: file, path, start time, duration, CPUs, OS build, lost events). The trace id is
    /// <file stem>-<16 hex digits of a hash of the full path>-<start time, yyyymmddThhmmssZ>, so two
    /// copies of a file in two places are two traces. Columns keep etwq's names and order; a
    /// timestamp (ns since the trace start) gains <name>_utc (absolute, UTC), a status <name>_name;
    /// durations are i64 ns, strings dictionary-encoded, `fields` one JSON object per row. Traces
    /// already exported (all their files there) are skipped unless --force. Each file is written
    /// under a temporary name and renamed when complete; a damaged trace exports what it can and
    /// says what it skipped.
    Export {
        /// Trace files, or directories searched (with their subdirectories) for *.etl.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The dataset directory (made if missing).
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Only these tables, comma-separated (`syscalls,cswitch`); default: all.
        #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
        tables: Option<Vec<String>>,
        #[arg(long, value_enum, default_value_t = FileFormatArg::Parquet)]
        format: FileFormatArg,
        /// Write traces again that are exported already.
        #[arg(long)]
        force: bool,
        /// Instrumentation manifest XML (a file, or a directory of them).
        #[arg(long, value_name = "PATH")]
        manifest: Vec<PathBuf>,
        /// Symbol path for the stacks and frames tables, as for queries; default: _NT_SYMBOL_PATH.
        #[arg(long, value_name = "PATH")]
        symbols: Option<String>,
    },
    /// A query as SQL that runs it over the tables `etwq export` writes (no
    /// trace needed): each table by its own name (`FROM syscalls`), etwq's
    /// result columns in etwq's order, `trace` first in row results (the
    /// dataset's trace id). DuckDB's dialect by default; `--dialect spark` for Spark SQL.
    /// A construct without a translation (a view after `|`, `during`) is an error that names it.
    Sql {
        /// The query, as for -c.
        query: String,
        #[arg(long, value_enum, default_value_t = DialectArg::Duckdb)]
        dialect: DialectArg,
    },
    /// The built-in demo trace: `etwq demo --write FILE` writes it to disk.
    Demo {
        #[arg(long, value_name = "FILE")]
        write: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    /// A row at a time, a line per column: for wide rows.
    Line,
    Tsv,
    Csv,
    Json,
    Md,
    /// A file (with -c QUERY --output FILE): Parquet, zstd, as `etwq export` writes tables.
    Parquet,
    /// A file (with -c QUERY --output FILE): Arrow IPC.
    Arrow,
}

/// The files `etwq export` writes.
#[derive(Clone, Copy, ValueEnum)]
enum FileFormatArg {
    Parquet,
    Arrow,
}

impl From<FileFormatArg> for export::FileFormat {
    fn from(f: FileFormatArg) -> export::FileFormat {
        match f {
            FileFormatArg::Parquet => export::FileFormat::Parquet,
            FileFormatArg::Arrow => export::FileFormat::Arrow,
        }
    }
}

/// The SQL dialect `etwq sql` writes.
#[derive(Clone, Copy, ValueEnum)]
enum DialectArg {
    Duckdb,
    Spark,
}

impl From<DialectArg> for session::Dialect {
    fn from(dialect: DialectArg) -> session::Dialect {
        match dialect {
            DialectArg::Duckdb => session::Dialect::DuckDb,
            DialectArg::Spark => session::Dialect::Spark,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum DumpFormatArg {
    Text,
    Json,
}

impl OutputFormat {
    /// The text format; parquet and arrow are files, written only by -c QUERY --output FILE.
    fn text(self) -> Result<Format, ExitCode> {
        Ok(match self {
            OutputFormat::Table => Format::Table,
            OutputFormat::Line => Format::Line,
            OutputFormat::Tsv => Format::Tsv,
            OutputFormat::Csv => Format::Csv,
            OutputFormat::Json => Format::Json,
            OutputFormat::Md => Format::Markdown,
            OutputFormat::Parquet | OutputFormat::Arrow => {
                return Err(fail(
                    "--format parquet and arrow write a file: etwq TRACE -c QUERY --format parquet --output FILE",
                ))
            }
        })
    }

    /// The file format, for parquet and arrow.
    fn file(self) -> Option<export::FileFormat> {
        match self {
            OutputFormat::Parquet => Some(export::FileFormat::Parquet),
            OutputFormat::Arrow => Some(export::FileFormat::Arrow),
            _ => None,
        }
    }
}

/// Opens traces for a subcommand, with `--manifest` paths and nothing else of the shell's setup.
fn open(files: &[PathBuf], manifests: &[PathBuf]) -> Result<Session, ExitCode> {
    SessionSetup { manifests: manifests.to_vec(), ..SessionSetup::default() }.open(files).map_err(fail)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("etwq: {message}");
    ExitCode::FAILURE
}

/// A message that already says where (script:line:col): no `etwq:` prefix.
fn fail_plain(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}

/// Every result goes to stdout through here, written as it is rendered. A
/// closed stdout (`| head`) ends the program quietly with success, as grep
/// and ripgrep do: the reader has what it wanted.
fn to_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ExitCode::SUCCESS),
        Err(e) => Err(fail(format!("writing the output: {e}"))),
    }
}

fn run(cli: Cli) -> Result<(), ExitCode> {
    match cli.command {
        Some(Command::Info { file, format }) => {
            let format = format.text()?;
            let info = open(&[file], &[])?.info();
            to_stdout(|out| info.write(format, out))?
        }
        Some(Command::Summary { file, format: OutputFormat::Tsv, .. }) => {
            let summary = open(&[file], &[])?.summary();
            to_stdout(|out| summary.write(Format::Tsv, out))?
        }
        Some(Command::Summary { file, format, manifest }) => {
            let text_format = format.text()?;
            let (records, providers) = open(&[file], &manifest)?.named_summary();
            to_stdout(|out| {
                records.write(text_format, out)?;
                if !matches!(format, OutputFormat::Json | OutputFormat::Csv | OutputFormat::Tsv) {
                    writeln!(out)?;
                    providers.write(text_format, out)?;
                }
                Ok(())
            })?
        }
        Some(Command::Dump { file, format, limit, manifest }) => {
            let mut session = open(&[file], &manifest)?;
            let format = match format {
                DumpFormatArg::Text => DumpFormat::Text,
                DumpFormatArg::Json => DumpFormat::Json,
            };
            to_stdout(|out| session.dump(format, limit, out))?
        }
        Some(Command::Strace {
            file,
            demo,
            pid,
            name,
            failed,
            warnings,
            durations,
            timestamps,
            follow,
            summary,
            format,
            symbols,
        }) => {
            let text_format = format.text()?;
            let setup = SessionSetup { symbols, ..SessionSetup::default() };
            let mut session = match file {
                Some(file) if !demo => setup.open(&[file]).map_err(fail)?,
                _ => {
                    let mut demo = with_spinner("building the demo trace", Session::demo);
                    setup.apply(&mut demo).map_err(fail)?;
                    demo
                }
            };
            let options = StraceOptions { pid, name, failed, warnings, follow_children: follow };
            #[allow(clippy::result_large_err)]
            let calls = with_progress(|progress| session.strace(&options, progress));
            for message in session.take_messages() {
                eprintln!("etwq: symbols: {message}");
            }
            let calls = calls.map_err(fail_plain)?;
            let how = StraceLine { timestamps, durations };
            to_stdout(|out| match (summary, format) {
                (true, _) => render::write(&strace_summary(&calls), text_format, out),
                (false, OutputFormat::Table) => {
                    (0..calls.row_count()).try_for_each(|row| writeln!(out, "{}", strace_line(&calls, row, how)))
                }
                (false, _) => render::write(&calls, text_format, out),
            })?
        }
        Some(Command::Report { files, demo, to, symbols }) => {
            let setup = SessionSetup { symbols, ..SessionSetup::default() };
            let mut session = if demo {
                let mut demo = with_spinner("building the demo trace", Session::demo);
                setup.apply(&mut demo).map_err(fail)?;
                demo
            } else {
                setup.open(&files).map_err(fail)?
            };
            let report = with_spinner("running the report's queries", || etwq::report::build(&mut session));
            for message in session.take_messages() {
                eprintln!("etwq: symbols: {message}");
            }
            match to {
                Some(path) => {
                    std::fs::write(&path, etwq::report::write_html(&report))
                        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
                    eprintln!("etwq: wrote the report to {}", path.display());
                }
                None => to_stdout(|out| etwq::report::write_text(&report, out))?,
            }
        }
        Some(Command::Export { inputs, to, tables, format, force, manifest, symbols }) => {
            let setup = SessionSetup { manifests: manifest, symbols, ..SessionSetup::default() };
            let request = etwq::export::ExportRequest { inputs, to, tables, format: format.into(), force, setup };
            let outcomes = with_progress(|progress| etwq::export::export_traces(&request, progress)).map_err(fail)?;
            if outcomes.iter().any(|(_, outcome)| matches!(outcome, etwq::export::TraceOutcome::Failed(_))) {
                return Err(ExitCode::FAILURE);
            }
        }
        Some(Command::Sql { query, dialect }) => {
            let sql = Session::sql_without_trace(&query, dialect.into()).map_err(fail_plain)?;
            to_stdout(|out| writeln!(out, "{sql};"))?
        }
        Some(Command::Demo { write }) => {
            std::fs::write(&write, session::demo_trace_bytes())
                .map_err(|e| fail(format!("{}: {e}", write.display())))?;
            eprintln!("etwq: wrote the demo trace to {}", write.display());
        }
        None => {
            // One-shot runs (not the shell, which handles Ctrl-C itself) stop
            // on Ctrl-C with exit code 130 from here on, loading included.
            let one_shot = cli.script.is_some() || !cli.queries.is_empty() || !std::io::stdin().is_terminal();
            let message = if cli.script.is_some() { "script interrupted" } else { "interrupted" };
            let interrupt = one_shot.then(|| Interrupt::install(Arc::default(), message));
            let setup = SessionSetup {
                manifests: cli.manifest.clone(),
                libraries: cli.lib.clone(),
                saved_definitions: Vec::new(),
                symbols: cli.symbols.clone(),
            };
            let mut session = if cli.demo {
                let mut demo = with_spinner("building the demo trace", Session::demo);
                setup.apply(&mut demo).map_err(fail)?;
                demo
            } else if cli.files.is_empty() {
                eprintln!("etwq: give a trace file (or --demo); see etwq --help");
                return Err(ExitCode::from(2));
            } else {
                setup.open(&cli.files).map_err(fail)?
            };
            if let Some(interrupt) = &interrupt {
                interrupt.attach(session.cancel_flag());
            }
            // The demo's schemas are the project's own; a file's may be hostile.
            let decode_check = (!cli.demo).then(|| session.start_decode_check());
            if let Some(file_format) = cli.format.file() {
                return write_result_file(&mut session, &cli.queries, cli.output.as_deref(), file_format);
            }
            if cli.output.is_some() {
                return Err(fail("--output is for --format parquet or arrow; redirect other formats (> FILE)"));
            }
            let format = cli.format.text()?;
            if let (Some(interrupt), Some(script)) = (&interrupt, &cli.script) {
                let (timeout, dir) = (cli.script_timeout, cli.script_dir.clone());
                let result = run_script_file(&mut session, script, &cli.script_args, timeout, dir, interrupt.flag());
                if interrupt.happened() {
                    return interrupt.outcome(result);
                }
                return report_decode_failures(decode_check).and(result);
            }
            let pager = !cli.no_pager;
            if let Some(interrupt) = &interrupt {
                // -c values, or the lines of stdin: the shell's statements without its prompt.
                let options = ShellOptions { format, setup, decode_check: None, pager, bail: cli.bail };
                let input = if cli.queries.is_empty() { BatchInput::Stdin } else { BatchInput::Commands(cli.queries) };
                let failures = etwq::repl::run_batch(session, options, input, interrupt);
                let result = if failures > 0 { Err(ExitCode::FAILURE) } else { Ok(()) };
                if interrupt.happened() {
                    return interrupt.outcome(result);
                }
                return report_decode_failures(decode_check).and(result);
            }
            let options = ShellOptions { format, setup, decode_check, pager, bail: cli.bail };
            return etwq::repl::run(session, options).map_err(fail);
        }
    }
    Ok(())
}

/// `-c QUERY --format parquet|arrow --output FILE`: the one query's result as a file.
fn write_result_file(
    session: &mut Session,
    queries: &[String],
    output: Option<&std::path::Path>,
    format: export::FileFormat,
) -> Result<(), ExitCode> {
    let Some(output) = output else {
        return Err(fail("--format parquet and arrow write a file: give it with --output FILE"));
    };
    let [query] = queries else {
        return Err(fail("--format parquet and arrow write the result of one query: give exactly one -c QUERY"));
    };
    let query = query.trim().trim_end_matches(';');
    if query.starts_with('.') {
        return Err(fail("--format parquet and arrow write a query's result, not a dot-command's"));
    }
    #[allow(clippy::result_large_err)]
    let result = with_progress(|progress| session.query_with_progress(query, progress));
    let result = result.map_err(|e| fail_plain(e.in_query(query)))?;
    let rows = etwq::export::write_result(session, &result, output, format).map_err(fail)?;
    eprintln!("etwq: wrote {rows} rows to {}", output.display());
    Ok(())
}

/// Events the trace's own schemas could not decode, as warnings after the
/// output (the check ran beside the queries). Always Ok: for chaining.
fn report_decode_failures(check: Option<session::DecodeCheck>) -> Result<(), ExitCode> {
    for warning in check.map(session::DecodeCheck::warnings).unwrap_or_default() {
        eprintln!("etwq: warning: {warning}");
    }
    Ok(())
}

/// `-f SCRIPT`; `interrupted` (set by Ctrl-C) stops the script at its next operation.
fn run_script_file(
    session: &mut Session,
    script: &std::path::Path,
    args: &[String],
    timeout_seconds: Option<u64>,
    dir: Option<PathBuf>,
    interrupted: Arc<AtomicBool>,
) -> Result<(), ExitCode> {
    let mut options = etwq::script::ScriptOptions::default();
    if let Some(seconds) = timeout_seconds {
        options.timeout = Some(std::time::Duration::from_secs(seconds));
    }
    if let Some(dir) = dir {
        options.write_dir = dir;
    }
    options.interrupt = interrupted.clone();
    let result = etwq::script::run_script_file_with(session, script, args, &options);
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        // Stopped by Ctrl-C: the caller says so, not the script's error.
        return Err(ExitCode::FAILURE);
    }
    result.map_err(fail_plain)
}

/// The tables and their columns, from the schema, wrapped under each table's name.
fn tables_help() -> String {
    const INDENT: usize = 14;
    const WIDTH: usize = 100;
    let mut text = String::from(
        "Tables (times are ns since the trace start; `.schema TABLE` in the shell explains each column):\n",
    );
    for table in session::table_schemas() {
        let mut line = format!("  {:<12}", table.name);
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        for (i, column) in columns.iter().enumerate() {
            let word = if i + 1 < columns.len() { format!("{column},") } else { column.to_string() };
            if line.len() + 1 + word.len() > WIDTH && line.len() > INDENT {
                text.push_str(line.trim_end());
                text.push('\n');
                line = " ".repeat(INDENT);
            } else if line.len() > INDENT {
                line.push(' ');
            }
            line.push_str(&word);
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

fn main() -> ExitCode {
    etwq::memory::return_large_blocks_to_the_system();
    let help = format!("{}\n{AFTER_TABLES}", tables_help());
    let cli = Cli::command().after_help(help).get_matches();
    let cli = match Cli::from_arg_matches(&cli) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(dir) = &cli.symbol_cache {
        // Read by every symbol resolver, the shell's `.open` ones included; set before any thread starts.
        std::env::set_var("ETWQ_SYMBOL_CACHE", dir);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
