//! .NET frames named from the trace itself: on net.4.5.2.x64.etl, without a
//! network and without PDBs, samples in JIT-compiled code name their method
//! from the CLR's MethodLoadVerbose / MethodUnloadVerbose / MethodDCEndVerbose
//! events, checked against ranges the test reads from those events itself and
//! against PerfView's dump.
mod common;
use session::{Session, Value};
use std::collections::BTreeMap;

/// One JIT-compiled method as the test reads it from the events table.
struct Range {
    start: u64,
    end: u64,
    load: Option<i64>,
    unload: Option<i64>,
    name: String,
}

fn text(v: Value) -> String {
    v.to_string()
}

fn number(v: Value) -> u64 {
    v.as_i128().and_then(|n| u64::try_from(n).ok()).unwrap_or_else(|| panic!("not a number: {v:?}"))
}

/// Every method range per process, from the method events, in time order.
fn ranges(session: &mut Session) -> BTreeMap<u64, Vec<Range>> {
    let query = r#"events where event ~ "MethodLoadVerbose|MethodUnloadVerbose|MethodDCEndVerbose|MethodDCStartVerbose"
                   select ts, pid, event, fields.MethodStartAddress, fields.MethodSize,
                          fields.MethodNamespace, fields.MethodName, fields.MethodSignature order by ts"#;
    let t = session.query(query).unwrap();
    let cell = |c: usize, r: usize| t.columns[c].column.value(r);
    let mut by_pid: BTreeMap<u64, Vec<Range>> = BTreeMap::new();
    for r in 0..t.row_count() {
        let (ts, pid, event) = (number(cell(0, r)) as i64, number(cell(1, r)), text(cell(2, r)));
        let (start, size) = (number(cell(3, r)), number(cell(4, r)));
        let signature = text(cell(7, r));
        let arguments = signature.find('(').map_or("", |at| &signature[at..]);
        let name = format!("{}.{}{arguments}", text(cell(5, r)), text(cell(6, r)));
        let ranges = by_pid.entry(pid).or_default();
        let live = ranges.iter_mut().rev().find(|m| m.start == start && m.unload.is_none());
        if event.ends_with("MethodUnloadVerbose") {
            if let Some(m) = live {
                m.unload = Some(ts);
            }
        } else if event.ends_with("MethodLoadVerbose") || live.is_none() {
            let load = event.ends_with("MethodLoadVerbose").then_some(ts);
            ranges.push(Range { start, end: start + size, load, unload: None, name });
        }
    }
    by_pid
}

fn corpus_session() -> Option<(Session, std::path::PathBuf)> {
    let corpus = common::corpus_dir()?;
    let dir = corpus.join("perfview");
    let mut session = Session::open(&dir.join("net.4.5.2.x64.etl")).unwrap();
    // No symbol server, no PDBs: the names come from the trace alone.
    let empty = tempfile::tempdir().unwrap();
    session.set_symbol_path(&empty.path().display().to_string());
    Some((session, dir))
}

#[test]
fn samples_in_jit_compiled_code_name_their_method() {
    let Some((mut session, _)) = corpus_session() else { return };
    let ranges = ranges(&mut session);
    let samples = session.query(r#"samples where proc = "Test.x64.exe" select ts, pid, ip, func"#).unwrap();
    let all = session.query(r#"samples where proc = "Test.x64.exe" group by proc"#).unwrap();
    let total = number(all.columns[1].column.value(0));
    let mut in_ranges = 0;
    for r in 0..samples.row_count() {
        let (ts, pid, ip) = (
            number(samples.columns[0].column.value(r)) as i64,
            number(samples.columns[1].column.value(r)),
            number(samples.columns[2].column.value(r)),
        );
        let expected = ranges.get(&pid).and_then(|list| {
            list.iter().rev().find(|m| {
                m.start <= ip && ip < m.end && m.load.is_none_or(|l| l <= ts) && m.unload.is_none_or(|u| ts <= u)
            })
        });
        let Some(expected) = expected else { continue };
        in_ranges += 1;
        assert_eq!(text(samples.columns[3].column.value(r)), expected.name, "sample at {ts} ip {ip:#x}");
    }
    // The issue's count, from the trace's own method events: 4,456 of 5,129.
    assert!(in_ranges * 100 >= total * 85, "{in_ranges} of {total} samples in JIT ranges");
    let named = session
        .query(r#"samples where proc = "Test.x64.exe" and func is not null group by proc"#)
        .map(|t| number(t.columns[1].column.value(0)))
        .unwrap();
    assert!(named >= in_ranges, "{named} named, {in_ranges} in JIT ranges");
    assert!(named * 100 >= total * 85, "{named} of {total} samples have a func");

    // The module of a JIT frame is the method's assembly.
    let modules =
        session.query(r#"samples where proc = "Test.x64.exe" and func ~ "^Test\.Program\." group by module"#).unwrap();
    assert_eq!(modules.row_count(), 1);
    assert_eq!(text(modules.columns[0].column.value(0)), "Test.x64.exe");
}

#[test]
fn every_method_perfview_lists_resolves_to_its_name() {
    let Some((mut session, dir)) = corpus_session() else { return };
    let baseline = std::fs::read_to_string(dir.join("net.4.5.2.x64.baseline.txt")).unwrap();
    let mut checked = 0;
    for line in baseline.lines().filter(|l| l.contains("/Method/LoadVerbose ")) {
        let field = |name: &str| {
            let at = line.find(&format!(" {name}=")).unwrap_or_else(|| panic!("{name} in {line}")) + name.len() + 2;
            line[at..].split(';').next().unwrap().to_string()
        };
        let ms: f64 = line["EVENT ".len()..].split(':').next().unwrap().replace(',', "").parse().unwrap();
        let ts = (ms * 1e6) as i64 + 1_000;
        let pid: u32 = field("PID").parse().unwrap();
        let start = u64::from_str_radix(field("MethodStartAddress").trim_start_matches("0x"), 16).unwrap();
        let size: u64 = field("MethodSize").replace(',', "").parse().unwrap();
        // PerfView cuts long values with "...".
        let namespace = field("MethodNamespace").trim_end_matches("...").to_string();
        let method = field("MethodName").trim_end_matches("...").to_string();
        for address in [start, start + size / 2, start + size - 1] {
            let location = session.locate_frame(address, pid, Some(ts)).unwrap_or_else(|| panic!("{address:#x}"));
            let name = location.function.unwrap_or_default();
            assert!(name.starts_with(&namespace), "{name} at {address:#x}: {line}");
            assert!(name.contains(&format!(".{method}")), "{name} at {address:#x}: {line}");
        }
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
}

#[test]
fn the_tree_of_a_net_process_shows_managed_frames_by_name() {
    let Some((mut session, _)) = corpus_session() else { return };
    let tree = session.query(r#"samples where proc = "Test.x64.exe" | tree"#).unwrap();
    let frames: Vec<String> = (0..tree.row_count()).map(|r| text(tree.columns[0].column.value(r))).collect();
    assert!(frames.iter().any(|f| f.trim() == "Test.x64.exe!Test.Program.Main(class System.String[])"), "{frames:?}");
    assert!(frames.iter().any(|f| f.trim().starts_with("mscorlib.dll!System.DateTime.")), "{frames:?}");
}

/// Consecutive frames of one module without a name fold into one node, `clr.dll!<PDB not found>
/// (N frames)`, in trees and flame graphs; `tree offsets` keeps every frame.
#[test]
fn runs_of_unnamed_frames_fold_into_one_node() {
    let Some((mut session, _)) = corpus_session() else { return };
    let folded = session.query(r#"samples where proc = "Test.x64.exe" | folded"#).unwrap();
    let with_stacks =
        session.query(r#"samples where proc = "Test.x64.exe" and stack is not null group by proc"#).unwrap();
    let mut total = 0;
    let mut runs = 0;
    for r in 0..folded.row_count() {
        let line = text(folded.columns[0].column.value(r));
        let (frames, count) = line.rsplit_once(' ').unwrap();
        total += count.parse::<u64>().unwrap();
        let frames: Vec<&str> = frames.split(';').collect();
        for pair in frames.windows(2) {
            let unnamed = |f: &str| f.ends_with("!<PDB not found>") || f.ends_with(" frames)");
            let module = |f: &str| f.split('!').next().unwrap().to_string();
            assert!(!(unnamed(pair[0]) && unnamed(pair[1]) && module(pair[0]) == module(pair[1])), "{line}");
        }
        for frame in frames.iter().filter(|f| f.ends_with(" frames)")) {
            let n: usize = frame.rsplit_once(" (").unwrap().1.trim_end_matches(" frames)").parse().unwrap();
            assert!(n >= 2 && frame.contains("!<PDB not found> ("), "{frame}");
            runs += 1;
        }
    }
    assert_eq!(total, number(with_stacks.columns[1].column.value(0)), "folding keeps every sample");
    assert!(runs > 0, "clr.dll's frames fold on this trace");
    let offsets = session.query(r#"samples where proc = "Test.x64.exe" | tree offsets"#).unwrap();
    let labels: Vec<String> = (0..offsets.row_count()).map(|r| text(offsets.columns[0].column.value(r))).collect();
    assert!(labels.iter().all(|l| !l.ends_with(" frames)")), "offsets keeps every frame");
    assert!(labels.iter().any(|l| l.trim().starts_with("clr.dll+0x")), "{labels:?}");
}

mod scenario {
    //! JIT methods loaded, unloaded and their ranges reused, in a built trace:
    //! every sample names the method live at its time.
    use demo::scenario::{JitMethodSpec, ProcessSpec, SampleSpec, Slice, SwitchOut, ThreadSpec};
    use demo::Scenario;
    use proptest::prelude::*;
    use session::{Session, Value};

    const DURATION: i64 = 100_000;
    const SLOT: u64 = 0x1000;
    const BASE: u64 = 0x7ff8_1234_0000;

    /// Per slot: the ticks where a new method replaces the last, and each method's size.
    fn methods(slots: &[Vec<(i64, u32)>]) -> Vec<JitMethodSpec> {
        let mut out = Vec::new();
        for (slot, cuts) in slots.iter().enumerate() {
            let mut cuts = cuts.clone();
            cuts.sort_unstable();
            cuts.dedup_by_key(|c| c.0);
            for (k, &(load, size)) in cuts.iter().enumerate() {
                let next = cuts.get(k + 1).map(|c| c.0);
                out.push(JitMethodSpec {
                    pid: 40,
                    tid: 100,
                    start: BASE + slot as u64 * SLOT,
                    size,
                    module: format!("C:\\app\\Lib{slot}.dll"),
                    namespace: format!("App.Slot{slot}"),
                    name: format!("Method{k}"),
                    signature: "void  (int32)".into(),
                    // A method at tick 0 was compiled before the trace: the start rundown names it.
                    load: (load > 0).then_some(load),
                    unload: next.map(|n| n - 1),
                });
            }
        }
        out
    }

    fn trace(methods: Vec<JitMethodSpec>, samples: &[(i64, u64)]) -> Vec<u8> {
        let mut s = Scenario::new(1, DURATION);
        s.processes = vec![ProcessSpec::running(0, 0, "Idle"), ProcessSpec::running(40, 0, "app.exe")];
        s.threads = vec![ThreadSpec::running(100, 40, 0x1000)];
        s.schedule = vec![Slice { cpu: 0, tid: 100, start: 0, end: DURATION, priority: 8, out: SwitchOut::waiting(6) }];
        s.jit_methods = methods;
        s.samples = samples
            .iter()
            .map(|&(ts, ip)| SampleSpec { cpu: 0, tid: 100, ts, ip, callers: Vec::new(), lost: false })
            .collect();
        s.to_bytes().unwrap().0
    }

    /// The method whose range holds `ip` at `ts`, as the specs say: `Namespace.Name(args)`.
    fn expected(methods: &[JitMethodSpec], ts: i64, ip: u64) -> Option<(String, String)> {
        methods
            .iter()
            .find(|m| {
                m.start <= ip
                    && ip < m.start + u64::from(m.size)
                    && m.load.unwrap_or(0) <= ts
                    && m.unload.is_none_or(|u| ts <= u)
            })
            .map(|m| (format!("{}.{}(int32)", m.namespace, m.name), m.module.rsplit('\\').next().unwrap().to_string()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn every_sample_names_the_method_live_at_its_time(
            slots in prop::collection::vec(prop::collection::vec((0..DURATION, 1u32..0x1000), 1..5), 1..4),
            samples in prop::collection::vec((1..DURATION, 0usize..4, 0u64..0x1000), 1..60),
        ) {
            let methods = methods(&slots);
            let samples: Vec<(i64, u64)> = samples
                .iter()
                .map(|&(ts, slot, offset)| (ts, BASE + (slot % slots.len()) as u64 * SLOT + offset))
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("jit.etl");
            std::fs::write(&path, trace(methods.clone(), &samples)).unwrap();
            let mut session = Session::open(&path).unwrap();
            let table = session.query("samples select ts, ip, func, module").unwrap();
            prop_assert_eq!(table.row_count(), samples.len());
            let ns_per_tick = 100;
            for r in 0..table.row_count() {
                let ts = table.columns[0].column.value(r).as_i128().unwrap() as i64 / ns_per_tick;
                let Value::Address(ip) = table.columns[1].column.value(r) else { panic!() };
                let func = table.columns[2].column.value(r);
                let module = table.columns[3].column.value(r);
                match expected(&methods, ts, ip) {
                    Some((name, file)) => {
                        prop_assert_eq!(func.to_string(), name, "ip {:#x} at {}", ip, ts);
                        prop_assert_eq!(module.to_string(), file);
                    }
                    None => prop_assert!(func.is_null(), "ip {:#x} at {}: {:?}", ip, ts, func),
                }
            }
        }
    }
}
