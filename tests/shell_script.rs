//! Scripts of shell lines without the prompt: stdin, `-c` and `.read FILE`.
//! Dot-commands run there too; every line runs and every error is reported
//! with its line (the exit status says whether any failed; --bail stops at the
//! first); multi-line queries continue as the shell continues them; `.output`
//! sends results into a file. Expected output comes from running each query
//! alone, or from the demo's schema.
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const ETWQ: &str = env!("CARGO_BIN_EXE_etwq");

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

fn etwq_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(ETWQ)
        .current_dir(dir)
        .arg("--demo")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etwq runs");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    Run {
        success: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn etwq(args: &[&str], stdin: Option<&str>) -> Run {
    etwq_in(Path::new("."), args, stdin)
}

/// What one query prints by itself with `-c`, as tsv.
fn alone(query: &str) -> String {
    let run = etwq(&["--format", "tsv", "-c", query], None);
    assert!(run.success, "{query}: {}", run.stderr);
    run.stdout
}

const FIRST: &str = "threads select tid, name order by tid limit 3";
const SECOND: &str =
    "syscalls where (ret != 0 and proc ~ \"strace\") group by status select count() as n order by n desc";
const THIRD: &str = "processes select pid, name order by pid";

#[test]
fn stdin_runs_dot_commands_and_multi_line_queries() {
    let script = "\
# a comment, then a blank line

threads select tid, name \\
  order by tid limit 3
-- another comment
syscalls where (ret != 0
  and proc ~ \"strace\") group by status select count() as n order by n desc
.schema syscalls
processes select pid, name
  order by pid;
";
    // The third statement's second line is inside no parenthesis: `;` ends it, the line before does not.
    let script = script.replace("processes select pid, name\n", "processes select pid, name \\\n");
    let run = etwq(&["--format", "tsv"], Some(&script));
    assert!(run.success, "{}", run.stderr);
    let schema = etwq(&["--format", "tsv", "-c", ".schema syscalls"], None);
    assert!(schema.success, "{}", schema.stderr);
    let expected = format!("{}{}{}{}", alone(FIRST), alone(SECOND), schema.stdout, alone(THIRD));
    assert_eq!(run.stdout, expected);
    // The schema lists every column of the table, as the session's schema names them.
    let syscalls = session::table_schemas().iter().find(|t| t.name == "syscalls").expect("a syscalls table");
    let listed: Vec<&str> = schema.stdout.lines().skip(1).filter_map(|l| l.split('\t').next()).collect();
    let columns: Vec<&str> = syscalls.columns.iter().map(|c| c.name).collect();
    assert_eq!(listed, columns);
}

#[test]
fn dot_commands_run_in_dash_c() {
    let run = etwq(&["--format", "csv", "-c", ".tables", "-c", FIRST], None);
    assert!(run.success, "{}", run.stderr);
    let (tables, rest) = run.stdout.split_once("tid,name\n").expect("the query after .tables");
    let names: Vec<&str> = tables.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    let mut schema_names: Vec<&str> = session::table_schemas().iter().map(|t| t.name).collect();
    schema_names.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, schema_names, "{tables}");
    assert_eq!(format!("tid,name\n{rest}"), etwq(&["--format", "csv", "-c", FIRST], None).stdout);
    // .tables' counts are each table's rows.
    for table in ["threads", "syscalls", "cswitch"] {
        let count = alone(&format!("{table} select count() as n"));
        let count = count.lines().nth(1).unwrap();
        assert!(tables.contains(&format!("\n{table},{count}\n")), "{table} {count}: {tables}");
    }
}

#[test]
fn counts_in_messages_and_tables_are_grouped_by_thousands() {
    let csv = etwq(&["--format", "csv", "-c", ".tables"], None);
    let counts: Vec<(String, u64)> = csv
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            let (name, n) = l.split_once(',').unwrap();
            (name.to_string(), n.parse().unwrap())
        })
        .collect();
    let grouped = |n: u64| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let table = etwq(&["-c", ".tables"], None);
    for (name, n) in &counts {
        assert!(table.stdout.contains(&format!("| {name} ")) && table.stdout.contains(&grouped(*n)), "{name}");
    }
    assert!(counts.iter().any(|(_, n)| *n >= 1000), "some table has thousands of rows");
    // .open says how many rows the trace has, grouped.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("demo.etl");
    std::fs::write(&trace, session::demo_trace_bytes()).unwrap();
    let open = etwq(&["-c", &format!(".open {}", trace.display())], None);
    assert!(open.success, "{}", open.stderr);
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let said = format!("{} tables, {} rows", counts.len(), grouped(total));
    assert!(open.stderr.contains(&said), "{said}: {}", open.stderr);
}

#[test]
fn every_error_is_reported_with_its_line_and_the_exit_fails() {
    let script = format!("{FIRST}\nsyscalls wher ret != 0\n.nosuchcommand\n\n{THIRD}\n");
    let run = etwq(&["--format", "tsv"], Some(&script));
    assert!(!run.success, "a failed line fails the run");
    assert_eq!(run.stdout, format!("{}{}", alone(FIRST), alone(THIRD)), "the good lines all ran");
    let errors: Vec<&str> = run.stderr.lines().filter(|l| l.contains("stdin line")).collect();
    assert_eq!(errors.len(), 2, "{}", run.stderr);
    assert!(errors[0].starts_with("stdin line 2: error: ") && errors[0].contains("'wher'"), "{}", run.stderr);
    assert!(errors[1].starts_with("etwq: stdin line 3: unknown command '.nosuchcommand'"), "{}", run.stderr);
    assert!(run.stderr.contains("  syscalls wher ret != 0\n"), "the caret display follows: {}", run.stderr);

    // --bail: the first error ends the run.
    let bailed = etwq(&["--format", "tsv", "--bail"], Some(&script));
    assert!(!bailed.success);
    assert_eq!(bailed.stdout, alone(FIRST));
    assert_eq!(bailed.stderr.matches("stdin line").count(), 1, "{}", bailed.stderr);

    // -c: every value runs; several are numbered.
    let dash_c = etwq(&["--format", "tsv", "-c", FIRST, "-c", "nosuchtable", "-c", THIRD], None);
    assert!(!dash_c.success);
    assert_eq!(dash_c.stdout, format!("{}{}", alone(FIRST), alone(THIRD)));
    assert!(dash_c.stderr.contains("-c line 2: error: "), "{}", dash_c.stderr);
    let dash_c_bail = etwq(&["--bail", "--format", "tsv", "-c", "nosuchtable", "-c", THIRD], None);
    assert!(!dash_c_bail.success && dash_c_bail.stdout.is_empty(), "{}", dash_c_bail.stdout);

    // A script without errors succeeds.
    let fine = etwq(&["--format", "tsv"], Some(&format!("{FIRST}\n{THIRD}\n")));
    assert!(fine.success && fine.stderr.is_empty(), "{}", fine.stderr);
}

#[test]
fn read_runs_a_file_and_names_it_and_the_line_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("outer.etwq"),
        format!("{FIRST}\n.read inner.etwq\nsyscalls wher x\n.read missing.etwq\n{THIRD}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("inner.etwq"),
        "# inner\nthreads select nosuchcolumn\nprocesses select pid \\\n order by pid\n",
    )
    .unwrap();
    let run = etwq_in(dir.path(), &["--format", "tsv", "-c", ".read outer.etwq"], None);
    assert!(!run.success);
    assert_eq!(run.stdout, format!("{}{}{}", alone(FIRST), alone("processes select pid order by pid"), alone(THIRD)));
    let located: Vec<&str> = run.stderr.lines().filter(|l| l.contains(".etwq line ")).collect();
    assert_eq!(located.len(), 3, "{}", run.stderr);
    assert!(located[0].starts_with("inner.etwq line 2: error: "), "{}", run.stderr);
    assert!(located[1].starts_with("outer.etwq line 3: error: "), "{}", run.stderr);
    assert!(located[2].starts_with("etwq: outer.etwq line 4: missing.etwq: "), "{}", run.stderr);

    // A file that reads itself stops at the depth limit, with one error.
    std::fs::write(dir.path().join("self.etwq"), format!("{FIRST}\n.read self.etwq\n")).unwrap();
    let run = etwq_in(dir.path(), &["--format", "tsv", "-c", ".read self.etwq"], None);
    assert!(!run.success);
    assert_eq!(run.stdout, alone(FIRST).repeat(etwq::repl::READ_DEPTH_LIMIT));
    assert_eq!(run.stderr.lines().filter(|l| l.contains("self.etwq line 2: ")).count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("nest 16 deep"), "{}", run.stderr);

    // From stdin too, with --bail reaching into the file.
    let run = etwq_in(dir.path(), &["--format", "tsv", "--bail"], Some(&format!(".read outer.etwq\n{THIRD}\n")));
    assert!(!run.success);
    assert_eq!(run.stdout, alone(FIRST));
}

#[test]
fn output_sends_later_results_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("result.txt");
    std::fs::write(&file, "old").unwrap();
    let script = format!(".output /no/such/dir/x.txt\n.output {}\n{FIRST}\n.output\n{THIRD}\n", file.display());
    let run = etwq(&["--format", "tsv"], Some(&script));
    assert!(!run.success, "the unwritable path is an error");
    assert!(
        run.stderr.contains("stdin line 1: /no/such/dir/x.txt: ") && run.stderr.contains("output still goes to stdout")
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), alone(FIRST));
    assert_eq!(run.stdout, alone(THIRD));
    // A table into a file: plain ASCII, whole.
    let run = etwq(&["-c", &format!(".output {}", file.display()), "-c", FIRST], None);
    assert!(run.success && run.stdout.is_empty(), "{}", run.stderr);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("+-") && written.contains("| tid |"), "{written}");
}
