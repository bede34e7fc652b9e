//! The model on a real recording: net.4.5.2.x64.etl, checked against
//! PerfView's baseline and the independent record counts.
mod common;
use decode::{Decoder, Value};
use etl::EtlTrace;
use model::TraceModel;

fn load() -> Option<(EtlTrace, TraceModel, std::path::PathBuf)> {
    let corpus = common::corpus_dir()?;
    let trace = EtlTrace::open(corpus.join("perfview/net.4.5.2.x64.etl")).unwrap();
    let mut decoder = Decoder::new();
    let model = TraceModel::build(&trace, &mut decoder);
    Some((trace, model, corpus))
}

/// `Name=value; ` pairs of a baseline line; PerfView cuts long values to 20 characters and "...".
fn baseline_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {name}="))? + name.len() + 2;
    line[at..].split("; ").next()
}

fn same_text(ours: &str, theirs: &str) -> bool {
    match theirs.strip_suffix("...") {
        Some(prefix) => ours.starts_with(prefix),
        None => ours == theirs,
    }
}

#[test]
fn processes_match_perfview_dcstart_lines() {
    let Some((_, model, corpus)) = load() else { return };
    let baseline = std::fs::read_to_string(corpus.join("perfview/net.4.5.2.x64.baseline.txt")).unwrap();
    let lines: Vec<&str> = baseline.lines().filter(|l| l.contains("Windows Kernel/Process/DCStart ")).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let pid: u32 = baseline_field(line, "ProcessID").unwrap().replace(',', "").parse().unwrap();
        let name = baseline_field(line, "ImageFileName").unwrap();
        let command_line = baseline_field(line, "CommandLine").unwrap_or("");
        let found = model.processes.rows.iter().find(|p| p.pid == pid && same_text(&p.name, name));
        let p = found.unwrap_or_else(|| panic!("no process {pid} {name}"));
        assert!(same_text(&p.command_line, command_line), "{pid}: {:?} vs {command_line:?}", p.command_line);
    }
    println!("{} Process/DCStart lines matched", lines.len());
}

#[test]
fn modules_carry_the_pdb_identity_of_every_dbgid_rsds_record() {
    let Some((trace, model, _)) = load() else { return };
    let mut decoder = Decoder::new();
    let mut checked = 0;
    for record in trace.records() {
        let event = decoder.decode(&record);
        if event.provider != "KernelTraceControl" || event.name != "ImageID/DbgID_RSDS" {
            continue;
        }
        let base = event.field("ImageBase").and_then(Value::as_u64).unwrap();
        let Some(Value::Guid(guid)) = event.field("GuidSig") else { panic!("no GuidSig") };
        let age = event.field("Age").and_then(Value::as_u64).unwrap() as u32;
        let pdb = event.field("PDBFileName").and_then(Value::as_str).unwrap();
        let pid = record.process_id.unwrap();
        let module = model.modules.rows.iter().find(|m| m.pid == pid && m.base == base);
        let m = module.unwrap_or_else(|| panic!("no module at {base:#x} in {pid} for {pdb}"));
        assert_eq!((m.pdb.as_deref(), m.pdb_guid, m.pdb_age), (Some(pdb), Some(*guid), Some(age)), "{}", m.path);
        checked += 1;
    }
    let expected = common::expected_count(
        &common::corpus_dir().unwrap(),
        "net.4.5.2.x64",
        "classic\tb3e675d7-2554-4f18-830b-2762732560de\t36",
    );
    assert_eq!(checked, expected);
    println!("{checked} DbgID_RSDS identities found on their modules");
}

#[test]
fn one_sample_row_per_sampled_profile_record_with_stacks_expanded() {
    let Some((_, model, corpus)) = load() else { return };
    let expected = common::expected_count(&corpus, "net.4.5.2.x64", "kernel\t15\t46");
    assert_eq!(model.samples.len() as u64, expected);
    // Windows walks no stack for the Idle thread; every other sample should have one.
    let busy: Vec<_> = model.samples.iter().filter(|s| s.tid != 0).collect();
    let with_stack = busy.iter().filter(|s| s.stack().is_some()).count();
    let share = with_stack as f64 / busy.len() as f64;
    println!(
        "{} samples, {} off the Idle thread, {with_stack} with a stack ({:.2}%)",
        model.samples.len(),
        busy.len(),
        share * 100.0
    );
    assert!(share >= 0.95, "{share}");
    assert!(model.stats.stacks.key_references > 0, "the compressed form was used");
    assert_eq!(model.stats.stacks.unresolved_keys, 0);
    // A stack joined to the right sample starts at the sampled instruction pointer
    // (a WoW64 thread's stack can start a few bytes off, so not quite every one).
    let at_ip =
        busy.iter().filter(|s| s.stack().is_some_and(|id| model.stacks.frames(id).first() == Some(&s.ip))).count();
    assert!(at_ip as f64 >= 0.99 * with_stack as f64, "{at_ip} of {with_stack} stacks start at the sample's IP");
}

/// A PerfView number: thousands separators, maybe a fraction.
fn number(text: &str) -> f64 {
    text.replace(',', "").parse().unwrap()
}

#[test]
fn disk_io_rows_match_perfview_with_file_names() {
    let Some((_, model, corpus)) = load() else { return };
    let baseline = std::fs::read_to_string(corpus.join("perfview/net.4.5.2.x64.baseline.txt")).unwrap();
    let lines: Vec<&str> = baseline
        .lines()
        .filter(|l| l.contains("Windows Kernel/DiskIO/Read ") || l.contains("Windows Kernel/DiskIO/Write "))
        .collect();
    assert!(lines.len() >= 5, "{}", lines.len());
    for line in &lines {
        let ms = number(line.trim_start_matches("EVENT ").split(':').next().unwrap());
        let size = number(baseline_field(line, "TransferSize").unwrap()) as u32;
        let offset = number(baseline_field(line, "ByteOffset").unwrap()) as i64;
        let row = model
            .diskio
            .iter()
            .find(|r| (r.ts as f64 / 1e6 - ms).abs() < 0.001 && r.size == size && r.offset == offset)
            .unwrap_or_else(|| panic!("no disk I/O row for {line}"));
        let elapsed_ms = number(baseline_field(line, "ElapsedTimeMSec").unwrap());
        assert!((row.duration_ns as f64 / 1e6 - elapsed_ms).abs() < 0.001, "{line}: {row:?}");
        let file = baseline_field(line, "FileName").unwrap();
        assert!(same_text(row.file.as_deref().unwrap_or(""), file), "{line}: {row:?}");
    }
    println!("{} DiskIO lines matched", lines.len());
}
