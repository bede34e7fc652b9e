//! One-shot queries on a real trace agree with the independent record counts
//! and with PerfView's event counts.
mod common;
use std::collections::BTreeMap;
use std::process::Command;

fn query(trace: &std::path::Path, text: &str) -> String {
    let output =
        Command::new(env!("CARGO_BIN_EXE_etwq")).args(["--format", "tsv", "-c", text]).arg(trace).output().unwrap();
    assert!(output.status.success(), "{text}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn kernel_event_counts_match_the_independent_counts() {
    let Some(corpus) = common::corpus_dir() else { return };
    let trace = corpus.join("perfview/net.4.5.2.x64.etl");
    let tsv =
        query(&trace, "events where provider = \"Windows Kernel\" and id is not null group by id select count() as n");
    let ours: BTreeMap<u64, u64> = tsv
        .lines()
        .skip(1)
        .map(|l| {
            let (id, n) = l.split_once('\t').unwrap();
            (id.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    let expected = std::fs::read_to_string(corpus.join("expected/net.4.5.2.x64.counts.tsv")).unwrap();
    let mut compared = 0;
    for line in expected.lines().filter(|l| l.starts_with("kernel\t")) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (group, opcode, n): (u64, u64, u64) =
            (cols[1].parse().unwrap(), cols[2].parse().unwrap(), cols[3].parse().unwrap());
        assert_eq!(ours.get(&(group << 8 | opcode)), Some(&n), "kernel {group} {opcode}");
        compared += 1;
    }
    assert_eq!(compared, ours.len(), "every kernel id we count is in the expectations");
}

#[test]
fn event_counts_match_perfview() {
    let Some(corpus) = common::corpus_dir() else { return };
    let trace = corpus.join("perfview/net.4.5.2.x64.etl");
    let baseline = std::fs::read_to_string(corpus.join("perfview/net.4.5.2.x64.baseline.txt")).unwrap();
    // PerfView's names on the left, ours on the right.
    for (perfview, ours) in [
        ("Windows Kernel/DiskIO/Read", "DiskIo/Read"),
        ("Windows Kernel/DiskIO/Write", "DiskIo/Write"),
        ("Windows Kernel/Image/Load", "Image/Load"),
        ("Windows Kernel/Image/Unload", "Image/Unload"),
        ("Windows Kernel/Image/DCStart", "Image/DCStart"),
        ("Windows Kernel/Image/DCStop", "Image/DCEnd"),
    ] {
        let want: u64 = baseline
            .lines()
            .find_map(|l| l.strip_prefix(&format!("COUNT {perfview}:")))
            .unwrap_or_else(|| panic!("{perfview} not counted by PerfView"))
            .parse()
            .unwrap();
        let got =
            query(&trace, &format!("events where provider = \"Windows Kernel\" and event = \"{ours}\" select count()"));
        assert_eq!(got.lines().nth(1), Some(want.to_string().as_str()), "{ours}");
    }
}

/// A Process/Defunct after the Process/End completes the ended row: one row per process, with its
/// command line (pids 5648 and 1348 of this trace get both events).
#[test]
fn a_defunct_after_the_end_adds_no_second_process_row() {
    let Some(corpus) = common::corpus_dir() else { return };
    let trace = corpus.join("airbus/ShutdownPerfDiagLogger.etl");
    let tsv = query(&trace, "processes where pid = 5648 or pid = 1348 select pid, command_line");
    let rows: Vec<&str> = tsv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{tsv}");
    for row in rows {
        let (_, command_line) = row.split_once('\t').unwrap();
        assert!(command_line.to_ascii_lowercase().contains(".exe"), "{row}");
    }
}

/// Windows writes -1 (0xFFFFFFFF) where a record names no thread, as most of
/// KernelTraceControl's image events do (PerfView shows TID=-1): the events
/// table shows no thread, not 4,294,967,295, and the events keep their process.
#[test]
fn a_thread_id_of_minus_one_is_no_thread() {
    let Some(corpus) = common::corpus_dir() else { return };
    let trace = corpus.join("perfview/net.4.5.2.x64.etl");
    assert_eq!(query(&trace, "events where tid = 4294967295 or pid = 4294967295 select count() as n"), "n\n0\n");
    let images = "events where provider = \"KernelTraceControl\" and event = \"ImageID\"";
    let without_thread = query(&trace, &format!("{images} and tid is null and pid is not null select count() as n"));
    assert_ne!(without_thread, "n\n0\n");
}
