use clap::{Parser, Subcommand, ValueEnum};
use etwq::dump::{write_dump, DumpFormat};
use etwq::session::Session;
use etwq::table::Format;
use std::path::PathBuf;
use std::process::ExitCode;

/// etwq: ask Windows ETW traces (.etl) questions, on any OS.
#[derive(Parser)]
#[command(name = "etwq", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// json) with the provider and event names and the undecoded count of each key,
    /// then per provider; `--format tsv` prints exactly the key rows and `total`.
    Summary {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Instrumentation manifest XML (a file, or a directory of them) for providers the trace does not describe.
        #[arg(long)]
        manifest: Vec<PathBuf>,
    },
    /// Every event in time order, decoded: provider, event name and typed fields.
    /// JSON is one object per line: ts_ns (since the trace start), cpu, pid, tid,
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
}

#[derive(Clone, Copy, ValueEnum)]
enum DumpFormatArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Tsv,
    Csv,
    Json,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Table => Format::Table,
            OutputFormat::Tsv => Format::Tsv,
            OutputFormat::Csv => Format::Csv,
            OutputFormat::Json => Format::Json,
        }
    }
}

fn open(file: &PathBuf) -> Result<Session, ExitCode> {
    let session = Session::open(file).map_err(|e| {
        eprintln!("etwq: {e}");
        ExitCode::FAILURE
    })?;
    for warning in session.warnings() {
        eprintln!("etwq: warning: {warning}");
    }
    Ok(session)
}

fn open_with_manifests(file: &PathBuf, manifests: &[PathBuf]) -> Result<Session, ExitCode> {
    let mut session = open(file)?;
    for path in manifests {
        if let Err(e) = session.add_manifests(path) {
            eprintln!("etwq: manifest {}: {e}", path.display());
            return Err(ExitCode::FAILURE);
        }
    }
    Ok(session)
}

fn run(cli: Cli) -> Result<(), ExitCode> {
    match cli.command {
        Command::Info { file, format } => print!("{}", open(&file)?.info().render(format.into())),
        Command::Summary { file, format: OutputFormat::Tsv, .. } => {
            print!("{}", open(&file)?.summary().render(Format::Tsv))
        }
        Command::Summary { file, format, manifest } => {
            let (records, providers) = open_with_manifests(&file, &manifest)?.named_summary();
            print!("{}", records.render(format.into()));
            if !matches!(format, OutputFormat::Json | OutputFormat::Csv) {
                println!();
                print!("{}", providers.render(format.into()));
            }
        }
        Command::Dump { file, format, limit, manifest } => {
            let mut session = open_with_manifests(&file, &manifest)?;
            let format = match format {
                DumpFormatArg::Text => DumpFormat::Text,
                DumpFormatArg::Json => DumpFormat::Json,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let result = write_dump(&session.trace, &mut session.decoder, format, limit, &mut out)
                .and_then(|()| std::io::Write::flush(&mut out));
            // A closed pipe (`| head`) is not an error.
            if let Err(e) = result {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("etwq: {e}");
                    return Err(ExitCode::FAILURE);
                }
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
