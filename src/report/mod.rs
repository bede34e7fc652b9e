//! `etwq report`: a one-page overview of a trace, built from queries through
//! the session as a user would type them, then written as terminal text
//! (`text.rs`) or one self-contained HTML file (`html.rs`).
use session::{DataTable, Session, Value};
use stacks::SampledStacks;

mod html;
mod stacks;
mod text;

pub use html::write_html;
pub use text::write_text;

/// How many rows the top-N tables show.
const TOP: usize = 10;
/// A run without any profile sample at least this long is a gap worth a warning.
const GAP_MIN_NS: i64 = 200_000_000;
/// The bin the gap search counts samples in.
const GAP_BIN_NS: i64 = 10_000_000;
/// NtDelayExecution calls per second of one process that mean a Sleep(0)/SleepEx spin.
const SPIN_CALLS_PER_SECOND: f64 = 500.0;

/// One part of the report: what it found, or why it is empty.
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    /// Things a reader must not miss (lost events, gaps, the incident's signs).
    pub warnings: Vec<String>,
    /// Plain lines of facts.
    pub lines: Vec<String>,
    /// Captioned result tables; a chart or histogram table is drawn.
    pub tables: Vec<(String, DataTable)>,
    /// A flame graph as an SVG document, and what it shows.
    pub flame_svg: Option<String>,
    pub flame_title: &'static str,
    /// Why the section has nothing: the events the trace lacks.
    pub empty_because: Option<String>,
}

impl Section {
    fn new(id: &'static str, title: &'static str) -> Section {
        Section {
            id,
            title,
            warnings: Vec::new(),
            lines: Vec::new(),
            tables: Vec::new(),
            flame_svg: None,
            flame_title: "Flame graph",
            empty_because: None,
        }
    }
}

pub struct Report {
    /// The trace names, as the `trace` column has them.
    pub traces: Vec<String>,
    pub sections: Vec<Section>,
}

/// A query's rows, or none when it fails (a table this trace cannot build).
/// The failure goes to stderr: a section left empty by it must not pass for one
/// whose trace lacks the events.
fn rows(session: &mut Session, query: &str) -> Option<DataTable> {
    match session.query(query) {
        Ok(rows) => Some(rows),
        Err(error) => {
            eprintln!("etwq report: {query}: {error}");
            None
        }
    }
}

/// The sampled stacks, folded once for the sections that read them.
fn sampled_stacks(session: &mut Session, samples: u64) -> Option<SampledStacks> {
    if samples == 0 {
        return None;
    }
    let folded = rows(session, "samples where stack is not null | folded")?;
    let lines: Vec<String> = (0..folded.row_count()).map(|r| text(&folded.row(r)[0])).collect();
    Some(SampledStacks::from_folded(lines.iter().map(String::as_str)))
}

fn count(session: &mut Session, table: &str) -> u64 {
    rows(session, &format!("{table} select count() as n"))
        .and_then(|t| match t.row(0).first() {
            Some(Value::U64(n)) => Some(*n),
            Some(Value::I64(n)) => Some(*n as u64),
            _ => None,
        })
        .unwrap_or(0)
}

fn number(value: &Value) -> f64 {
    match value {
        Value::I64(v) | Value::Duration(v) | Value::Timestamp(v) => *v as f64,
        Value::U64(v) => *v as f64,
        Value::F64(v) => *v,
        _ => 0.0,
    }
}

fn text(value: &Value) -> String {
    value.to_string()
}

fn seconds(ns: i64) -> String {
    format!("{:.2} s", ns as f64 / 1e9)
}

/// Where a result has the column `name`.
fn column_index(table: &DataTable, name: &str) -> Option<usize> {
    table.columns.iter().position(|c| c.name == name)
}

/// Builds the report of every trace the session has open.
pub fn build(session: &mut Session) -> Report {
    let info = session.info();
    let several = info.columns.first().is_some_and(|c| c == "trace");
    let mut traces: Vec<String> = Vec::new();
    let mut facts = Section::new("facts", "Trace");
    let mut duration_ns = 0i64;
    for row in &info.rows {
        let (trace, field, value) = match (several, row.as_slice()) {
            (true, [trace, field, value]) => (text(trace), text(field), value),
            (false, [field, value]) => ("".to_string(), text(field), value),
            _ => continue,
        };
        if several && !traces.contains(&trace) {
            traces.push(trace.clone());
        }
        let prefix = if several { format!("{trace}: ") } else { String::new() };
        if !several && field == "file" {
            let name = text(value);
            traces.push(name.rsplit(['/', '\\']).next().unwrap_or(&name).to_string());
        }
        match field.as_str() {
            "file" | "os_version" | "processors" | "start_time" => {
                facts.lines.push(format!("{prefix}{field}: {value}"));
            }
            "records" => facts.lines.push(format!("{prefix}records: {}", render::group_digits(&value.to_string()))),
            "duration_ns" => {
                duration_ns = duration_ns.max(number(value) as i64);
                facts.lines.push(format!("{prefix}duration: {}", seconds(number(value) as i64)));
            }
            "events_lost" | "buffers_lost" | "damaged_buffers" if number(value) > 0.0 => {
                facts.warnings.push(format!("{prefix}{field}: {value}: counts and charts miss what was lost"));
            }
            _ => {}
        }
    }
    // One model pass for every part the report reads: met one query at a time,
    // the system calls after the samples would build the model again.
    let tables: Vec<String> = ["samples", "syscalls", "cswitch", "diskio"].map(String::from).into();
    if let Err(error) = session.build_model_for(&tables, &session::Progress::new()) {
        eprintln!("etwq report: building the model for samples and system calls at once: {error}");
    }
    let samples = count(session, "samples");
    profile_gaps(session, &mut facts, samples, duration_ns, several);

    let mut findings = Section::new("findings", "What stands out");
    let mut sections = vec![cpu_chart(session, samples)];
    sections.push(top_cpu(session, samples));
    let stacks = sampled_stacks(session, samples);
    sections.push(unsymbolized_modules(session, samples, stacks.as_ref(), &mut findings));
    sections.push(hot_functions(session, samples, stacks.as_ref(), duration_ns, &mut findings));
    sections.push(system_calls(session, &mut findings));
    sections.push(latency(session));
    sections.push(flame(session, samples, stacks.as_ref()));
    if traces.len() >= 2 {
        sections.push(comparison(session, &traces, samples));
    }
    findings.warnings.extend(facts.warnings.iter().filter(|w| w.contains("no profile samples")).cloned());
    if findings.warnings.is_empty() {
        findings.lines.push("Nothing the report looks for: see the sections below.".into());
    }
    let mut all = vec![facts, findings];
    all.extend(sections);
    Report { traces, sections: all }
}

/// Runs of at least GAP_MIN_NS without a single profile sample, from the
/// samples counted in bins (and from the last sample to the trace's end).
fn profile_gaps(session: &mut Session, facts: &mut Section, samples: u64, duration_ns: i64, several: bool) {
    if samples == 0 {
        return;
    }
    let group = if several { "trace, " } else { "" };
    let query = format!("samples group by {group}bin(ts, {GAP_BIN_NS}ns) as t select count() as n | order by t");
    let Some(bins) = rows(session, &query) else { return };
    let Some(t) = column_index(&bins, "t") else { return };
    let trace_column = column_index(&bins, "trace");
    let mut by_trace: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for row in 0..bins.row_count() {
        let cells = bins.row(row);
        let trace = trace_column.map(|c| text(&cells[c])).unwrap_or_default();
        by_trace.entry(trace).or_default().push(number(&cells[t]) as i64);
    }
    for (trace, mut starts) in by_trace {
        starts.sort_unstable();
        let prefix = if several { format!("{trace}: ") } else { String::new() };
        let mut previous_end = starts.first().copied().unwrap_or(0);
        let mut holes = Vec::new();
        for &start in &starts {
            if start - previous_end >= GAP_MIN_NS {
                holes.push((previous_end, start));
            }
            previous_end = start + GAP_BIN_NS;
        }
        if duration_ns - previous_end >= GAP_MIN_NS {
            holes.push((previous_end, duration_ns));
        }
        for (from, to) in holes {
            facts.warnings.push(format!(
                "{prefix}no profile samples from {} to {} ({}): a profiling gap, CPU use there is unknown",
                seconds(from),
                seconds(to),
                seconds(to - from)
            ));
        }
    }
}

fn cpu_chart(session: &mut Session, samples: u64) -> Section {
    let mut section = Section::new("cpu", "CPU over time by process");
    session.set_chart_width(100);
    let query = if samples > 0 { "samples | chart cpu by proc top 6" } else { "cswitch | chart cpu by proc top 6" };
    match session.query(query) {
        Ok(chart) => {
            let source = if samples > 0 { "profile samples" } else { "context switches (running time)" };
            section.lines.push(format!("From {source}, as % of all cores (the legend: each process's mean over the whole chart); a hole is a time without any: `{query}`"));
            section.tables.push((String::new(), chart));
        }
        Err(_) => {
            section.empty_because =
                Some("the trace has no profile samples (SampledProfile) and no context switches (CSwitch)".into())
        }
    }
    section
}

fn top_cpu(session: &mut Session, samples: u64) -> Section {
    let mut section = Section::new("top", "Top processes, threads and modules by CPU");
    if samples == 0 {
        section.empty_because = Some("the trace has no profile samples (SampledProfile events)".into());
        return section;
    }
    let share = format!("count() * 100.0 / {samples} as percent");
    for (caption, group) in [("Processes", "proc"), ("Threads", "proc, tid"), ("Modules", "module")] {
        let query = format!(
            "samples group by {group} select count() as samples, sum(weight_ns) as cpu, {share} | top {TOP} by samples"
        );
        if let Some(table) = rows(session, &query) {
            section.tables.push((format!("{caption} (% of samples)"), table));
        }
    }
    section
}

/// Modules with frames that no symbols name in the sampled stacks, each with
/// the share of samples whose stack holds it, and what the driver atlas knows.
fn unsymbolized_modules(
    session: &mut Session,
    samples: u64,
    stacks: Option<&SampledStacks>,
    findings: &mut Section,
) -> Section {
    let mut section = Section::new("modules", "Modules without symbols in hot stacks");
    if samples == 0 {
        section.empty_because = Some("the trace has no profile samples (SampledProfile) to find hot stacks in".into());
        return section;
    }
    let found = stacks.map(SampledStacks::unnamed_modules).unwrap_or_default();
    if found.is_empty() {
        section.empty_because =
            Some("every frame of the sampled stacks has symbols (or the samples have no stacks)".into());
        return section;
    }
    let modules = rows(session, "modules select file, vendor, category").unwrap_or_else(|| DataTable::new("m"));
    let mut atlas: std::collections::HashMap<String, (String, String)> = Default::default();
    for row in 0..modules.row_count() {
        let cells = modules.row(row);
        atlas.insert(text(&cells[0]).to_ascii_lowercase(), (text(&cells[1]), text(&cells[2])));
    }
    let mut table = render::Table::new(&["module", "samples", "percent", "vendor", "category"]);
    for (module, n) in found.into_iter().take(TOP) {
        let n = n as f64;
        let percent = (n * 1000.0 / samples as f64).round() / 10.0;
        let (vendor, category) = atlas.get(&module.to_ascii_lowercase()).cloned().unwrap_or_default();
        // The atlas files EDR products under their minifilter groups: antivirus or activity monitor.
        let category = match category.as_str() {
            "antivirus" | "activity monitor" => "antivirus/EDR".to_string(),
            other => other.to_string(),
        };
        if category == "antivirus/EDR" && percent >= 5.0 {
            findings.warnings.push(format!(
                "{module} ({category}, {vendor}) has no symbols and is in {percent}% of the sampled stacks"
            ));
        }
        table.push(vec![module.into(), (n as u64).into(), Value::F64(percent), vendor.into(), category.into()]);
    }
    section.tables.push(("Samples whose stack holds the module".into(), table_to_data("modules", &table)));
    section
}

/// Functions by the samples whose stack holds them (inclusive), and the sign of a Sleep(0) spin.
fn hot_functions(
    session: &mut Session,
    samples: u64,
    stacks: Option<&SampledStacks>,
    duration_ns: i64,
    findings: &mut Section,
) -> Section {
    let mut section = Section::new("functions", "Hot functions and spinning");
    let functions = stacks.map(SampledStacks::functions).unwrap_or_default();
    if !functions.is_empty() {
        let mut table = render::Table::new(&["func", "samples", "percent"]);
        for (name, n) in functions.into_iter().take(TOP) {
            let percent = n as f64 * 100.0 / samples.max(1) as f64;
            let function = name.split_once('!').map_or(name.as_str(), |(_, f)| f);
            if function.starts_with("Sleep") && percent >= 10.0 {
                findings.warnings.push(format!(
                    "{function} is in {percent:.1}% of the sampled stacks: threads burn CPU calling Sleep"
                ));
            }
            table.push(vec![name.as_str().into(), n.into(), Value::F64((percent * 10.0).round() / 10.0)]);
        }
        let caption = "Functions in the sampled stacks (inclusive, % of samples)";
        section.tables.push((caption.into(), table_to_data("functions", &table)));
    }
    let seconds = (duration_ns as f64 / 1e9).max(1e-9);
    let query = "syscalls where func = \"NtDelayExecution\" group by proc select count() as calls | top 5 by calls";
    if let Some(table) = rows(session, query).filter(|t| t.row_count() > 0) {
        for row in 0..table.row_count() {
            let cells = table.row(row);
            let rate = number(&cells[1]) / seconds;
            if rate >= SPIN_CALLS_PER_SECOND {
                findings.warnings.push(format!(
                    "{} calls NtDelayExecution {:.0} times a second: a Sleep(0)/SleepEx spin",
                    text(&cells[0]),
                    rate
                ));
            }
        }
        section.tables.push(("NtDelayExecution (Sleep, SleepEx) calls".into(), table));
    }
    if section.tables.is_empty() {
        let frames = match stacks {
            Some(stacks) if !stacks.stacks.is_empty() => {
                "no frame of the sampled stacks has a function name (no symbols)"
            }
            _ => "the trace has no profile samples with stacks",
        };
        section.empty_because = Some(format!("{frames}, and no thread called NtDelayExecution (Sleep, SleepEx)"));
    }
    section
}

fn system_calls(session: &mut Session, findings: &mut Section) -> Section {
    let mut section = Section::new("syscalls", "System calls");
    let calls = count(session, "syscalls");
    if calls == 0 {
        section.empty_because = Some("the trace has no system-call events (SysCallEnter/SysCallExit)".into());
        return section;
    }
    section.lines.push(format!("{} system calls", render::group_digits(&calls.to_string())));
    if let Some(t) = rows(session, &format!("syscalls group by func | top {TOP}")) {
        section.tables.push(("Most called".into(), t));
    }
    let failures = format!("syscalls where severity = \"error\" group by proc, status | top {TOP}");
    match rows(session, &failures).filter(|t| t.row_count() > 0) {
        Some(t) => {
            // The process with the most failures, if it has at least half of them.
            let mut by_proc: Vec<(String, f64)> = Vec::new();
            for row in 0..t.row_count() {
                let cells = t.row(row);
                match by_proc.iter_mut().find(|(p, _)| *p == text(&cells[0])) {
                    Some((_, n)) => *n += number(&cells[2]),
                    None => by_proc.push((text(&cells[0]), number(&cells[2]))),
                }
            }
            let total: f64 = by_proc.iter().map(|(_, n)| n).sum();
            if let Some((proc, n)) = by_proc.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
                let status = (0..t.row_count()).map(|r| t.row(r)).find(|c| text(&c[0]) == *proc).map(|c| text(&c[1]));
                if n * 2.0 >= total {
                    findings.warnings.push(format!(
                        "{proc} has {} failed system calls, most {}",
                        *n as u64,
                        status.unwrap_or_default()
                    ));
                }
            }
            section.tables.push(("Failures by process and status".into(), t));
        }
        None => section.lines.push("No call failed (NTSTATUS severity error).".into()),
    }
    let slowest = "syscalls where duration_ns is not null order by duration_ns desc \
                   select proc, tid, func, status, duration_ns, object | limit 10";
    if let Some(t) = rows(session, slowest) {
        section.tables.push(("Slowest".into(), t));
    }
    section
}

fn latency(session: &mut Session) -> Section {
    let mut section = Section::new("latency", "Ready time and disk latency");
    let mut reasons = Vec::new();
    match rows(session, "cswitch where ready_ns is not null | histogram ready_ns") {
        Some(t) if count(session, "cswitch where ready_ns is not null") > 0 => {
            section.tables.push(("Ready time: how long threads waited for a CPU".into(), t))
        }
        _ => reasons.push("no ready times (CSwitch with ReadyThread events)"),
    }
    match rows(session, "diskio | histogram duration_ns") {
        Some(t) if count(session, "diskio") > 0 => section.tables.push(("Disk I/O latency".into(), t)),
        _ => reasons.push("no disk I/O events (DiskIo)"),
    }
    if !reasons.is_empty() {
        let because = format!("the trace has {}", reasons.join(" and "));
        if section.tables.is_empty() {
            section.empty_because = Some(because);
        } else {
            section.lines.push(format!("Not shown: {because}."));
        }
    }
    section
}

fn flame(session: &mut Session, samples: u64, stacks: Option<&SampledStacks>) -> Section {
    let mut section = Section::new("flame", "Hottest stacks");
    if samples == 0 {
        section.empty_because = Some("the trace has no profile samples (SampledProfile) with stacks".into());
        return section;
    }
    section.flame_svg = svg_of(session, "samples where stack is not null | flame");
    if let Some(stacks) = stacks {
        let mut hottest: Vec<&(u64, Vec<String>)> = stacks.stacks.iter().collect();
        hottest.sort_by_key(|s| std::cmp::Reverse(s.0));
        let mut table = render::Table::new(&["samples", "percent", "stack (innermost first)"]);
        for (n, frames) in hottest.into_iter().take(5) {
            let frames: Vec<&str> = frames.iter().rev().take(8).map(String::as_str).collect();
            let percent = (*n as f64 * 1000.0 / samples as f64).round() / 10.0;
            table.push(vec![(*n).into(), Value::F64(percent), frames.join(" <- ").into()]);
        }
        section.tables.push(("The five hottest stacks".into(), table_to_data("stacks", &table)));
    }
    if section.flame_svg.is_none() && section.tables.is_empty() {
        section.empty_because = Some("the samples have no stacks (no StackWalk events)".into());
    }
    section
}

/// The SVG a file-writing view (`QUERY "FILE"`) draws. It writes into a
/// directory of our own (made new, so nothing another user put in the temporary
/// directory is followed), read back, then removed.
fn svg_of(session: &mut Session, query: &str) -> Option<String> {
    let dir = private_temp_dir()?;
    let file = dir.join("flame.svg");
    let svg = match session.query(&format!("{query} \"{}\"", file.display())) {
        Ok(_) => std::fs::read_to_string(&file).ok(),
        Err(_) => None,
    };
    let _ = std::fs::remove_dir_all(&dir);
    svg
}

/// A new directory under the temporary directory, readable by us alone.
fn private_temp_dir() -> Option<std::path::PathBuf> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (0..16).find_map(|attempt| {
        let dir = std::env::temp_dir().join(format!("etwq-report-{}-{stamp}-{attempt}", std::process::id()));
        builder.create(&dir).ok().map(|()| dir)
    })
}

/// Two or more traces: CPU by process and by module in each, with the change from the first.
fn comparison(session: &mut Session, traces: &[String], samples: u64) -> Section {
    let mut section = Section::new("compare", "Comparison");
    if samples == 0 {
        section.empty_because = Some("the traces have no profile samples (SampledProfile) to compare".into());
        return section;
    }
    section.lines.push(format!("CPU time from samples in each trace; change is {} minus {}", traces[1], traces[0]));
    for (caption, key) in [("By process", "proc"), ("By module", "module")] {
        let query = format!("samples group by {key}, trace select sum(weight_ns) as cpu");
        let Some(t) = rows(session, &query) else { continue };
        let mut by_key: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        for row in 0..t.row_count() {
            let cells = t.row(row);
            let index = traces.iter().position(|name| *name == text(&cells[1])).unwrap_or(0);
            by_key.entry(text(&cells[0])).or_insert_with(|| vec![0.0; traces.len()])[index] += number(&cells[2]);
        }
        let mut keyed: Vec<(String, Vec<f64>)> = by_key.into_iter().collect();
        keyed.sort_by(|a, b| (b.1[1] - b.1[0]).abs().total_cmp(&(a.1[1] - a.1[0]).abs()));
        let mut columns: Vec<String> = vec![key.to_string()];
        columns.extend(traces.iter().map(|t| format!("{t} ms")));
        columns.push("change ms".into());
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut table = render::Table::new(&names);
        for (name, cpu) in keyed.into_iter().take(TOP) {
            let mut row: Vec<Value> = vec![name.into()];
            row.extend(cpu.iter().map(|ns| Value::F64((ns / 1e4).round() / 100.0)));
            row.push(Value::F64(((cpu[1] - cpu[0]) / 1e4).round() / 100.0));
            table.push(row);
        }
        section.tables.push((caption.into(), table_to_data("compare", &table)));
    }
    // Two traces: where in the stacks the change is, A the first and B the second.
    if traces.len() == 2 {
        section.flame_svg = svg_of(session, "samples where stack is not null | diff flame");
        section.flame_title =
            "Differential flame graph (widths: the second trace; red: more than in the first, blue: less)";
    }
    section
}

/// A small table of values as a result table, for the writers.
fn table_to_data(name: &str, table: &render::Table) -> DataTable {
    let mut data = DataTable::new(name);
    for (index, column) in table.columns.iter().enumerate() {
        let values: Vec<Value> = table.rows.iter().map(|r| r.get(index).cloned().unwrap_or(Value::Null)).collect();
        let _ = data.push_column(column, "", session::ColumnBuilder::infer(&values));
    }
    data
}
