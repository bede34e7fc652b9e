//! DuckDB over an exported fleet against etwq opening the traces itself:
//! `syscalls group by proc` over 10 traces of 1 GB (the syscall-dense built
//! trace, hard-linked under 10 names so each is its own trace).
//!   cargo bench --bench sql_duckdb          # needs .venv (.ci/python-env) for DuckDB
//! The dataset is the first trace exported once (`--tables syscalls`) and its
//! partition copied under 9 more trace ids, as 10 exports of one file give.
//! DuckDB runs the text `etwq sql` prints, in one Python process: the best of
//! three runs after one to warm the page cache. etwq is one `etwq DIR -c ...`
//! process (trace read, model and table built, the query run): wall time and peak memory.
#[path = "common/big_traces.rs"]
#[allow(dead_code)]
mod big_traces;

use big_traces::{run_etwq, trace_path, write_trace, Kind};
use std::path::{Path, PathBuf};
use std::process::Command;

const TRACES: usize = 10;
const QUERY: &str = "syscalls group by proc";

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("ETWQ_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python")));
    let ok = Command::new(&python).args(["-c", "import duckdb"]).output().is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn main() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: no Python with duckdb (run .ci/python-env)");
        return;
    };
    let trace = trace_path(Kind::SyscallDense, 1.0);
    if !trace.is_file() {
        write_trace(Kind::SyscallDense, 1.0, &trace);
    }
    let work = std::env::temp_dir().join(format!("etwq-bench-sql-{}", std::process::id()));
    let traces = work.join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    for i in 0..TRACES {
        let link = traces.join(format!("dense{i}.etl"));
        if std::fs::hard_link(&trace, &link).is_err() {
            std::os::unix::fs::symlink(&trace, &link).unwrap();
        }
    }
    let dataset = work.join("dataset");
    let export = run_etwq(&[
        "export",
        traces.join("dense0.etl").to_str().unwrap(),
        "--to",
        dataset.to_str().unwrap(),
        "--tables",
        "syscalls",
    ]);
    assert!(export.ok, "export failed: {:?}", export.error);
    let syscalls = dataset.join("syscalls");
    let first = std::fs::read_dir(&syscalls).unwrap().flatten().next().unwrap().path();
    let id = first.file_name().unwrap().to_string_lossy().into_owned();
    for i in 1..TRACES {
        copy_dir(&first, &syscalls.join(format!("{id}-copy{i}")));
    }
    let sql = String::from_utf8(Command::new(env!("CARGO_BIN_EXE_etwq")).args(["sql", QUERY]).output().unwrap().stdout)
        .unwrap();
    let script = format!(
        r#"
import duckdb, time
db = duckdb.connect()
db.execute("SET enable_progress_bar = false")
db.execute("CREATE VIEW syscalls AS SELECT * FROM read_parquet('{}/**/*.parquet', hive_partitioning=true)")
sql = {sql:?}
db.execute(sql).fetchall()
times = []
for _ in range(3):
    start = time.perf_counter()
    rows = db.execute(sql).fetchall()
    times.append(time.perf_counter() - start)
print(min(times), len(rows))
"#,
        syscalls.display(),
        sql = sql.trim_end().trim_end_matches(';')
    );
    let out = Command::new(&python).args(["-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.lines().last().unwrap_or("").split_whitespace();
    let duck_seconds: f64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(f64::NAN);
    let groups = words.next().unwrap_or("?").to_string();
    let etwq = run_etwq(&[traces.to_str().unwrap(), "-c", QUERY]);
    let dataset_mb = common_size(&syscalls) as f64 / big_traces::MIB;
    println!("`{QUERY}` over {TRACES} x 1 GB syscall-dense traces ({dataset_mb:.0} MB of syscalls Parquet):");
    println!("  DuckDB over the export: {duck_seconds:.2} s ({groups} groups)");
    println!(
        "  etwq opening the traces: {:.1} s, peak {:.0} MB{}",
        etwq.seconds,
        etwq.peak_mb,
        if etwq.ok { String::new() } else { format!(" (failed: {:?})", etwq.error) }
    );
    let _ = std::fs::remove_dir_all(&work);
}

fn common_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                total += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}
