use clap::{Parser, Subcommand, ValueEnum};
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
    /// `classic <guid> <class type>`, `event <guid> <event id>`, then `total`.
    Summary {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
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

fn run(cli: Cli) -> Result<(), ExitCode> {
    let (table, format) = match cli.command {
        Command::Info { file, format } => (open(&file)?.info(), format),
        Command::Summary { file, format } => (open(&file)?.summary(), format),
    };
    print!("{}", table.render(format.into()));
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
