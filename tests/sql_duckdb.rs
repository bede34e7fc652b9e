//! `etwq sql` against DuckDB, which doubles as an oracle for etwq's engine:
//! every example of the grammar, every saved query of the library and the
//! queries below run on the demo and every corpus trace, in etwq and as SQL
//! in DuckDB over the traces exported with `etwq export`. The rows must be
//! the same: the same multiset, the same order where the query orders (ties
//! aside, which SQL does not order), floats within a relative 1e-9.
mod common;
use common::sql::{check, etwq, etwq_answers, export, python_with, translations, Case};
use std::path::PathBuf;

/// Queries over every table and construct, beyond the grammar's examples and the library.
const MORE: &[&str] = &[
    // where, comparison, and/or/not, between
    "syscalls where duration_ns >= 1ms and not (proc = \"server.exe\") select ts, tid, func, duration_ns",
    "syscalls between 1s and 2s where tid != 0 or pid = 4 group by proc, func",
    "syscalls where ts >= 500ms and ts < 1500ms group by severity",
    "syscalls where ret = STATUS_SUCCESS group by func | top 5",
    "syscalls where status = STATUS_ACCESS_DENIED or ret = STATUS_OBJECT_NAME_NOT_FOUND group by proc, status",
    "syscalls where ret > 0 group by ret select count() as n, min(duration_ns), max(duration_ns)",
    // regex, like, contains, in, is null
    "syscalls where func ~ \"^Nt(Create|Open)\" group by func",
    "syscalls where func !~ \"File$\" and proc like \"S*.EXE\" group by func | top 5",
    "syscalls where func not like \"nt?uery*\" group by func select count() as n | order by n desc, func",
    "syscalls where object contains \"REGISTRY\" group by object_kind",
    "syscalls where tid in (4250, 5152) and func not in (\"NtClose\") group by tid, func",
    "syscalls where object is null group by func | top 3",
    "syscalls where object is not null select ts, func, object order by ts limit 20",
    // aggregates
    "syscalls group by proc select count(), sum(duration_ns), avg(duration_ns), min(ts), max(ts)",
    "syscalls group by func select p50(duration_ns), p90(duration_ns), p95(duration_ns), p99(duration_ns)",
    "syscalls select dcount(func) as funcs, dcount(tid) as threads, count(object) as with_object",
    "samples group by module select count() as n, dcount(func) as funcs order by n desc, module",
    "cswitch group by wait_reason select count(), sum(cpu_ns) as cpu, avg(ready_ns) as ready",
    "cswitch where ready_ns is not null group by proc select p50(ready_ns), p99(ready_ns), max(ready_ns)",
    // functions
    "syscalls group by lower(proc) as p, upper(func) as f | top 5",
    "syscalls select func, len(func) as n, startswith(func, \"NtQ\") as q, endswith(func, \"File\") as f limit 5",
    "syscalls group by hex(ret) as code select count() as n order by code",
    "syscalls where trim(proc) = proc group by abs(tid) as t select count() as n order by t",
    "syscalls group by coalesce(object_kind, \"none\") as kind",
    "syscalls group by str(tid) as t | top 3 by t",
    "syscalls group by int(duration_ns / 1ms) as ms select count() as n order by ms limit 10",
    "syscalls order by ts | limit 10 | select round(float(duration_ns) / 1000.0) as us, duration_ns",
    // durations, arithmetic, bin
    "syscalls where duration_ns > 10us * 3 + 1ms - 500ns group by func",
    "syscalls select ts, end_ts - ts as d, duration_ns order by ts limit 10",
    "samples group by bin(ts, 250ms) as t select count() as n order by t",
    "cswitch group by bin(cpu_ns, 1ms) as b select count() as n order by b",
    "syscalls group by ts % 1s / 100ms as decile | order by decile",
    "syscalls order by ts limit 5 | select ts / 1s as s, duration_ns / 1us as us, -(duration_ns) as neg",
    "cswitch where cpu_ns > 0 select ts, tid, cpu_ns / ready_ns as ratio order by ts limit 10",
    // select, order, limit, top
    "threads select tid, pid, proc, name, cpu_ns order by cpu_ns desc, tid",
    "processes select pid, name, parent_pid, start_ts order by pid",
    "modules select proc, file, size, base order by base, proc",
    "cpus select cpu, busy_ns, busy_percent order by cpu",
    "wakeups group by adjust_reason select count() as n, avg(adjust_increment) as inc order by n desc, adjust_reason",
    "registry where key ~ \"(?i)strace\" group by op, status",
    "fileio group by op, status select count() as n, max(duration_ns) as longest",
    "diskio group by op select count(), sum(size)",
    "dpcisr group by kind select count(), p90(duration_ns)",
    "hardfaults group by proc select count(), sum(size)",
    "stacks group by depth select count() as n order by depth",
    "frames group by module select count() as n, max(depth) as deepest order by n desc, module",
    "samples where module is not null group by module, func | top 5",
    "events group by provider, event | top 10",
    "events where tid != 0 group by cpu select count() as n order by cpu",
    // fields.X
    "events where event = \"FileIo/Create\" select ts, fields.OpenPath order by ts limit 20",
    "events where event = \"Registry/Open\" group by fields.KeyName as key select count() as n order by n desc, key limit 5",
    "events where fields.TThreadId > 1000 group by event",
    "events where fields.ImageSize is not null select ts, fields.ImageSize, lower(fields.FileName) as file order by ts limit 20",
    "events where fields.ImageSize > 100000 select count() as n, sum(fields.ImageSize) as total",
    // joins
    "syscalls join threads as t on tid = t.tid group by t.name | top 5",
    "threads left join (cswitch group by tid select sum(cpu_ns) as on_cpu) as c on tid = c.tid select tid, c.on_cpu order by tid",
    "samples join processes as p on pid = p.pid group by p.name select count() as n order by n desc, p.name",
    // windows
    "syscalls where tid = 4250 select ts, delta(ts) over (partition by tid order by ts) as gap order by ts limit 20",
    "cswitch select tid, ts, running_sum(cpu_ns) over (partition by tid order by ts) as total, row_number() over (partition by tid order by ts) as n order by tid, ts limit 30",
    // nulls, unsigned arithmetic, zero divisors, statuses as names, fields by type, first/last
    "cswitch group by proc select avg(ready_ns), sum(ready_ns), p50(ready_ns), min(ready_ns), dcount(ready_ns)",
    "cswitch group by readying_cpu",
    "cswitch select count(ready_ns), avg(priority), sum(priority), p95(priority)",
    "threads select tid, int(name) as i, float(str(tid)) as f, hex(tid) as h, hex(-5) as n",
    "syscalls group by proc | top 2 by count * 2",
    "syscalls group by proc select count() * 2 as twice, count() as n",
    "syscalls group by tid select count() as n | where n > 100 | select tid",
    "wakeups select tid, adjust_increment - 5 as a, -adjust_increment as b, abs(adjust_increment - 5) as c",
    "syscalls group by ret / 2 as half, ret % 7 as seven",
    "syscalls where ret - 1 > 0 group by ret - 1 as r",
    "samples group by weight_ns / 3 as w",
    "cswitch group by cpu_ns / 1ms as ms select count() as n",
    "cswitch group by cpu_ns / ready_ns > 2.5 as slow",
    "modules select file, size / 0 as z, size % 0 as r",
    "modules group by end - base as span",
    "processes select pid, exit_code, exit_status",
    "syscalls where status = \"STATUS_SUCCESS\" group by func",
    "syscalls where status != STATUS_SUCCESS group by status",
    "syscalls where ret in (STATUS_SUCCESS, STATUS_TIMEOUT) group by ret",
    "syscalls where proc ~ \"^s.*\\.exe$\" and func ~ \"(?i)ntquery\" group by func",
    "syscalls where func like \"%File\" group by func",
    "syscalls where func like \"nt_uery*\" group by func",
    "events where fields.KeyName = \"Settings\" group by event",
    "events where fields.Status = 0 group by event",
    "events where fields.IrpPtr > 0 group by event",
    "events where event = \"Registry/Open\" select fields.KeyName, fields.Index, fields.KeyHandle limit 3",
    "events where fields.Index in (0, 1) group by fields.Index as i",
    "events where fields.KeyName like \"s*\" group by fields.KeyName as k",
    "events where event = \"Thread/ReadyThread\" group by fields.AdjustReason as r select count(), sum(fields.AdjustIncrement), avg(fields.TThreadId), p50(fields.TThreadId)",
    "cswitch where ready_ns is null and prev_tid is not null group by wait_reason",
    "samples group by bin(ts, 1s) as b, bin(weight_ns, 100us) as w",
    "syscalls group by bin(ret, 0x10) as r",
    "threads select name, coalesce(name, proc) as c, len(name) as l, trim(name) as t, upper(name) as u",
    "cswitch select ts, lead(ts) over (partition by cpu order by ts) as nxt, lag(ready_ns) over (order by ts) as prev where ts < 10ms",
    "syscalls select tid, running_sum(duration_ns) over (partition by tid order by ts) as r | where r > 1s | group by tid select min(r)",
    "syscalls group by proc select first(func), last(func), first(ts), last(ts)",
    "samples group by tid select first(module), last(ts)",
    "fileio group by proc select first(file), last(file)",
    // pipes and stages after stages
    "syscalls group by proc | where count > 10 | order by proc",
    "syscalls order by duration_ns desc | limit 50 | group by func | order by func",
    "syscalls group by proc, tid | group by proc select count() as threads, sum(count) as calls order by proc",
];

fn cases() -> Vec<Case> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let grammar = std::fs::read_to_string(root.join("grammar/etwq.ebnf")).unwrap();
    let mut texts: Vec<String> = grammar
        .lines()
        .filter_map(|l| l.trim().strip_prefix("(* example: ").and_then(|l| l.strip_suffix(" *)")))
        .map(str::to_string)
        .collect();
    let library = std::fs::read_to_string(root.join("scripts/library.etwq")).unwrap();
    for line in library.lines().filter(|l| !l.trim_start().starts_with('#') && l.contains('=')) {
        let head = line.split('=').next().unwrap().trim();
        texts.push(match head.split_once('(') {
            Some((name, params)) => {
                let args: Vec<&str> = params.trim_end_matches(')').split(',').map(|_| "\"s\"").collect();
                format!("@{name}({})", args.join(", "))
            }
            None => format!("@{head}"),
        });
    }
    texts.extend(MORE.iter().map(|q| q.to_string()));
    texts.iter().map(|t| Case::new(t)).collect()
}

/// A view (`| tree`) has no SQL translation: `etwq sql` says which; `during`
/// neither; every other example translates.
fn translatable(case: &Case) -> bool {
    let out = std::process::Command::new(common::sql::ETWQ).args(["sql", &case.text]).output().unwrap();
    if out.status.success() {
        return true;
    }
    let error = String::from_utf8_lossy(&out.stderr);
    // Every view the grammar knows, so a new view's example is checked too.
    let mut constructs: Vec<String> = query::grammar::VIEW_NAMES.iter().map(|v| format!("'| {v}'")).collect();
    constructs.push("'during'".into());
    let named = constructs.iter().any(|w| error.contains(w.as_str()) && error.contains("has no SQL translation"));
    let unknown_saved = error.contains("unknown saved query");
    assert!(named || unknown_saved, "{}: {error}", case.text);
    false
}

#[test]
fn duckdb_answers_every_translated_query_as_etwq_does() {
    let Some(python) = python_with("duckdb", "ETWQ_REQUIRE_TOOLS", "the DuckDB differential test") else { return };
    let Some(corpus) = common::corpus_dir() else { return };
    let all = cases();
    assert!(all.len() >= 40 + 20, "{} queries", all.len());
    let cases: Vec<Case> = all.into_iter().filter(translatable).collect();
    let sql = translations(&cases, "duckdb");
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.etl");
    etwq(&["demo", "--write", demo.to_str().unwrap()]);
    let mut traces = vec![demo];
    traces.extend(common::corpus_traces(&corpus));
    let mut jobs = Vec::new();
    for (i, trace) in traces.iter().enumerate() {
        let name = trace.file_name().unwrap().to_string_lossy().into_owned();
        let export_dir = dir.path().join(format!("export{i}"));
        export(&[trace.as_path()], &export_dir);
        let results = dir.path().join(format!("results{i}"));
        etwq_answers(&[trace.to_str().unwrap()], &cases, &results);
        jobs.push((name, export_dir, results));
    }
    let report = check(&python, "duckdb", &jobs, &cases, &sql, dir.path());
    eprintln!("{}", report.trim_end());
    assert!(report.contains(" 0 failed"), "{report}");
}
