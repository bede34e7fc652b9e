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

/// `name` as a drive path by the trace's VolumeMapping pairs (longest NT prefix first).
fn dos_path(name: &str, volumes: &[(String, String)]) -> String {
    let mut best: Option<&(String, String)> = None;
    for pair in volumes {
        if name.starts_with(pair.0.as_str()) && best.is_none_or(|b| b.0.len() < pair.0.len()) {
            best = Some(pair);
        }
    }
    match best {
        Some((nt, dos)) => format!("{dos}{}", &name[nt.len()..]),
        None => name.to_string(),
    }
}

#[test]
fn kernel_file_create_events_are_fileio_rows_with_their_file_names() {
    let Some((trace, model, corpus)) = load() else { return };
    // The trace's Microsoft-Windows-Kernel-File/Create events as the events table decodes them.
    let mut decoder = Decoder::new();
    let mut volumes = Vec::new();
    let mut events = Vec::new();
    for record in trace.records() {
        let event = decoder.decode(&record);
        let text = |name| event.field(name).and_then(Value::as_str).map(str::to_string);
        if event.provider == "Windows Kernel" && event.name == "SysConfig/VolumeMapping" {
            if let (Some(nt), Some(dos)) = (text("NtPath"), text("DosPath")) {
                if nt.starts_with("\\Device\\") && !dos.is_empty() {
                    volumes.push((nt, dos));
                }
            }
        }
        if event.provider == "Microsoft-Windows-Kernel-File" && event.name == "Create" {
            let ts = trace.clock.ns_since_start(record.timestamp);
            events.push((ts, record.thread_id, record.process_id, text("FileName").expect("a Create's FileName")));
        }
    }
    let expected = common::expected_count(&corpus, "net.4.5.2.x64", "event\tedd08927-9cc4-4e65-b970-c2560fb5c289\t12");
    assert_eq!(events.len() as u64, expected);
    assert!(!volumes.is_empty());
    let mut wanted: Vec<_> =
        events.iter().map(|(ts, tid, pid, name)| (*ts, *tid, *pid, dos_path(name, &volumes))).collect();
    let creates: Vec<_> = model.fileio.iter().filter(|r| r.op == "Create").collect();
    let mut got: Vec<_> = creates.iter().map(|r| (r.ts, r.tid, r.pid, r.file.clone().unwrap_or_default())).collect();
    wanted.sort();
    got.sort();
    assert_eq!(got.len(), wanted.len());
    for (ours, theirs) in got.iter().zip(&wanted) {
        assert_eq!(ours, theirs);
    }
    // The trace logs only Creates (keyword 0x80): no other op, and no OperationEnd to complete them.
    assert_eq!(model.fileio.len(), creates.len());
    assert!(creates.iter().all(|r| r.end_ts.is_none() && r.status.is_none()));
    // PerfView's count, and drive paths as PerfView shows them on its own decoding of the first ones.
    let baseline = std::fs::read_to_string(corpus.join("perfview/net.4.5.2.x64.baseline.txt")).unwrap();
    let perfview_count = baseline.lines().find_map(|l| l.strip_prefix("COUNT Microsoft-Windows-Kernel-File/Create:"));
    assert_eq!(perfview_count.map(number), Some(creates.len() as f64));
    let lines: Vec<&str> = baseline.lines().filter(|l| l.contains("Microsoft-Windows-Kernel-File/Create ")).collect();
    assert!(lines.len() >= 5, "{}", lines.len());
    for line in &lines {
        let ms = number(line.trim_start_matches("EVENT ").split(':').next().unwrap());
        let tid: u32 = baseline_field(line, "TID").unwrap().parse().unwrap();
        let row = creates
            .iter()
            .find(|r| (r.ts as f64 / 1e6 - ms).abs() < 0.001 && r.tid == Some(tid))
            .unwrap_or_else(|| panic!("no fileio row for {line}"));
        let pid: u32 = line.split("PID=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
        assert_eq!(row.pid, Some(pid), "{line}");
        let file = baseline_field(line, "FileName").unwrap();
        assert!(same_text(row.file.as_deref().unwrap_or(""), file), "{line}: {row:?}");
    }
    println!("{} Kernel-File Creates are fileio rows, {} checked against PerfView", creates.len(), lines.len());
}
