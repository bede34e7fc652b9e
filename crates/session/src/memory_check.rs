//! Honest limits: before a build that could take more memory than the
//! machine has, estimate what it needs from the trace's record count and say
//! so, rather than let the kernel kill etwq halfway through.
//!
//! The estimates are the peak memory per record of each kind that `cargo
//! bench --bench big` measured for each build on its syscall-dense and
//! sample-heavy traces, the larger of the two, rounded up (see the closing
//! notes of issue 11), times the trace's records of that kind.
use etl::record::RecordId;
use etl::EtlTrace;
use model::ModelParts;

/// What a trace's records are, by what they cost: read from buffers spread
/// over the file (a few hundred), so that a trace of system calls is not
/// judged by what samples with stacks would need, nor the other way round.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct RecordMix {
    /// Shares of the records: system call enters and exits, samples with stack walks, and DPCs and ISRs.
    pub syscalls: f64,
    pub stacked: f64,
    pub dpcs: f64,
}

/// Buffers read for the mix, and records at most.
const MIX_BUFFERS: usize = 256;
const MIX_RECORDS: u64 = 2_000_000;

impl RecordMix {
    pub(crate) fn of(trace: &EtlTrace) -> RecordMix {
        let buffers = trace.buffers();
        let step = (buffers.len() / MIX_BUFFERS).max(1);
        let (mut all, mut syscalls, mut stacked, mut dpcs) = (0u64, 0u64, 0u64, 0u64);
        for buffer in buffers.iter().step_by(step) {
            for record in trace.buffer_records(buffer) {
                all += 1;
                match record.id {
                    RecordId::Kernel { group: 15, opcode: 51 | 52 } => syscalls += 1,
                    RecordId::Kernel { group: 15, opcode: 46 } | RecordId::Kernel { group: 24, .. } => stacked += 1,
                    RecordId::Kernel { group: 15, opcode: 50 | 66..=69 } => dpcs += 1,
                    _ => {}
                }
            }
            if all >= MIX_RECORDS {
                break;
            }
        }
        if all == 0 {
            return RecordMix::default();
        }
        let share = |n: u64| n as f64 / all as f64;
        RecordMix { syscalls: share(syscalls), stacked: share(stacked), dpcs: share(dpcs) }
    }
}

/// Bytes a build needs, per record of each kind. Measured (issue 11, 1 GB
/// traces whose samples repeat their stacks, peak anonymous memory): a model
/// of neither part 7 and 15 B a record; with the system calls 19 B more per
/// call event (syscall-dense); a call tree over the samples, model included,
/// 31 and 36 B more per sample or stack walk (syscall-dense, 24% of its
/// records; sample-heavy, 93%); the stacks table 46 B, the frames table 145 B.
/// Each is the larger of the two traces', rounded up; the samples' with half
/// again, as a profile whose stacks rarely repeat needs more (124 B when
/// every sample has a stack of its own). A DPC or ISR: not measured (no big
/// trace has them); its 32-byte row, held twice while the CPUs' rows merge,
/// rounded up.
struct Costs {
    /// Every record: the index, context switches, names and lifetimes.
    base: u64,
    /// A system call enter or exit.
    syscall: u64,
    /// A sample or a stack walk.
    stacked: u64,
    /// A DPC or ISR.
    dpc: u64,
}

fn model_costs(parts: ModelParts) -> Costs {
    let cost = |kept: bool, bytes: u64| if kept { bytes } else { 0 };
    Costs { base: 15, syscall: cost(parts.syscalls, 20), stacked: cost(parts.samples, 60), dpc: cost(parts.dpcs, 70) }
}

fn table_costs(name: &str) -> Costs {
    match name {
        // No model: its own columns and the processes (20 B a record, 28 with each record's place for fields.X).
        "events" => Costs { base: 30, syscall: 0, stacked: 0, dpc: 0 },
        // Every frame of every stack, a row each.
        "frames" => Costs { base: 15, syscall: 20, stacked: 150, dpc: 0 },
        other => model_costs(model::tables::parts_for(other)),
    }
}

/// What a build makes: a model with some parts, or a table.
pub(crate) enum Need<'a> {
    Model(ModelParts),
    Table(&'a str),
}

/// What a build is about to do, for the estimate and the message.
pub(crate) struct Build<'a> {
    /// "the model", "the syscalls table"
    pub what: String,
    pub trace: &'a str,
    pub records: u64,
    pub mix: RecordMix,
    pub need: Need<'a>,
}

impl Build<'_> {
    /// Peak bytes the process reaches during this build.
    fn estimate(&self) -> u64 {
        let costs = match self.need {
            Need::Model(parts) => model_costs(parts),
            Need::Table(name) => table_costs(name),
        };
        let records = self.records as f64;
        let bytes = records * costs.base as f64
            + records * self.mix.syscalls * costs.syscall as f64
            + records * self.mix.stacked * costs.stacked as f64
            + records * self.mix.dpcs * costs.dpc as f64;
        bytes as u64
    }
}

/// Where the limit comes from: `ETWQ_MEMORY_LIMIT` (a size such as `8G`,
/// `512M`; `off` for no check), else what the machine says is available.
pub(crate) fn check(build: &Build<'_>) -> Result<(), String> {
    let setting = std::env::var("ETWQ_MEMORY_LIMIT").ok();
    let limit = match setting.as_deref().map(str::trim) {
        Some("off") => return Ok(()),
        Some(text) if !text.is_empty() => match parse_size(text) {
            Some(bytes) => Limit { bytes, source: "ETWQ_MEMORY_LIMIT" },
            None => return Err(format!("ETWQ_MEMORY_LIMIT={text} is not a size (e.g. 8G, 512M) or off")),
        },
        _ => match available_memory() {
            Some(bytes) => Limit { bytes: bytes.saturating_add(resident_bytes().unwrap_or(0)), source: "available" },
            None => return Ok(()),
        },
    };
    judge(build, &limit, resident_bytes().unwrap_or(0))
}

struct Limit {
    bytes: u64,
    /// "ETWQ_MEMORY_LIMIT" or "available".
    source: &'static str,
}

/// Refuses a build whose estimate passes the limit; `resident` is what the
/// process holds now, which the estimate of a later build already counts.
fn judge(build: &Build<'_>, limit: &Limit, resident: u64) -> Result<(), String> {
    let needed = build.estimate().max(resident);
    if needed <= limit.bytes {
        return Ok(());
    }
    let limit_text = match limit.source {
        "available" => format!("this machine has about {} for etwq", gigabytes(limit.bytes)),
        source => format!("{source} allows {}", gigabytes(limit.bytes)),
    };
    let mix = &build.mix;
    let kinds = match (percent(mix.syscalls), percent(mix.stacked)) {
        (0, 0) => String::new(),
        (0, stacked) => format!(", {stacked}% of them samples and stack walks"),
        (syscalls, 0) => format!(", {syscalls}% of them system calls"),
        (syscalls, stacked) => format!(", {syscalls}% of them system calls and {stacked}% samples and stack walks"),
    };
    Err(format!(
        "building {} of {} needs about {} (an estimate from its {} records{kinds}), and {limit_text}. \
         Query a shorter trace, free memory, or set ETWQ_MEMORY_LIMIT=off to try anyway.",
        build.what,
        build.trace,
        gigabytes(needed),
        render::group_digits(&build.records.to_string()),
    ))
}

/// A share as a whole percentage.
fn percent(share: f64) -> u32 {
    (share * 100.0).round() as u32
}

fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// `8G`, `512M`, `1.5g`, `1000000` (bytes).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => (&text[..at], text[at..].trim_end_matches(['b', 'B'])),
        None => (text, ""),
    };
    let scale: u64 = match unit.to_ascii_uppercase().as_str() {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some((value * scale as f64) as u64)
}

/// MemAvailable, lowered to what a cgroup (a container) still allows.
#[cfg(target_os = "linux")]
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?
        .saturating_mul(1024);
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    let cgroup_room = match (read("memory.max"), read("memory.current")) {
        (Some(max), Some(current)) => {
            let (max, current) = (max.trim().parse::<u64>().ok(), current.trim().parse::<u64>().ok());
            max.zip(current).map(|(max, current)| max.saturating_sub(current))
        }
        _ => None,
    };
    Some(cgroup_room.map_or(available, |room| room.min(available)))
}

#[cfg(not(target_os = "linux"))]
fn available_memory() -> Option<u64> {
    None
}

/// The memory the process has allocated and holds now (RssAnon): not the
/// mapped trace's pages, which MemAvailable already counts as free to take.
#[cfg(target_os = "linux")]
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|line| line.strip_prefix("RssAnon:"))?.trim().trim_end_matches("kB").trim();
    Some(kb.parse::<u64>().ok()?.saturating_mul(1024))
}

#[cfg(not(target_os = "linux"))]
fn resident_bytes() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gigabyte of system calls: three records in four are enters and exits.
    const SYSCALL_DENSE: RecordMix = RecordMix { syscalls: 0.74, stacked: 0.23, dpcs: 0.0 };

    fn build(table: Option<&'static str>, records: u64) -> Build<'static> {
        let need = table.map_or(Need::Model(ModelParts::ALL), Need::Table);
        Build { what: "the syscalls table".into(), trace: "big.etl", records, mix: SYSCALL_DENSE, need }
    }

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("1.5GB"), Some(3 << 29));
        assert_eq!(parse_size("1000"), Some(1000));
        for bad in ["", "G", "-1G", "8X", "lots"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_build_past_the_limit_is_refused_with_the_numbers() {
        let limit = Limit { bytes: 1_200_000_000, source: "available" };
        // 33.7 M records of a syscall-dense gigabyte: about 1.5 GB for the whole model.
        let message = judge(&build(None, 33_700_000), &limit, 0).unwrap_err();
        assert!(message.contains("the syscalls table of big.etl needs about 1.5 GB"), "{message}");
        assert!(message.contains("33,700,000 records, 74% of them system calls and 23% samples"), "{message}");
        assert!(message.contains("this machine has about 1.2 GB"), "{message}");
        assert!(message.contains("ETWQ_MEMORY_LIMIT=off"), "{message}");
        // The syscalls table, the events table, a model of neither part (for
        // context switches) and a tree over this trace's few samples fit in the same room...
        assert!(judge(&build(Some("syscalls"), 33_700_000), &limit, 0).is_ok());
        assert!(judge(&build(Some("events"), 33_700_000), &limit, 0).is_ok());
        assert!(judge(&build(Some("cswitch"), 33_700_000), &limit, 0).is_ok());
        // Wakeups come with the context switches: a ReadyThread's row (24 B) is
        // held where a switch's ready time (16 B of its row) was.
        assert!(judge(&build(Some("wakeups"), 33_700_000), &limit, 0).is_ok());
        let switches_only = Build { need: Need::Model(ModelParts::NONE), ..build(None, 33_700_000) };
        assert!(judge(&switches_only, &limit, 0).is_ok());
        assert!(judge(&build(Some("samples"), 33_700_000), &limit, 0).is_ok());
        // ...and neither the frames table nor a tree over a trace of samples does.
        assert!(judge(&build(Some("frames"), 33_700_000), &limit, 0).is_err());
        let sample_heavy = RecordMix { syscalls: 0.0, stacked: 0.93, dpcs: 0.0 };
        // A trace of DPCs: the cpus table holds them, the cswitch table not.
        let dpc_heavy = RecordMix { syscalls: 0.0, stacked: 0.0, dpcs: 0.9 };
        let cpus = Build { mix: dpc_heavy, ..build(Some("cpus"), 33_700_000) };
        assert!(judge(&cpus, &limit, 0).is_err());
        assert!(judge(&Build { mix: dpc_heavy, ..build(Some("cswitch"), 33_700_000) }, &limit, 0).is_ok());
        let tree = Build { mix: sample_heavy, ..build(Some("samples"), 33_700_000) };
        assert!(judge(&tree, &limit, 0).is_err());
    }

    #[test]
    fn what_the_process_already_holds_counts() {
        let limit = Limit { bytes: 1 << 30, source: "ETWQ_MEMORY_LIMIT" };
        assert!(judge(&build(None, 1000), &limit, 0).is_ok());
        let message = judge(&build(None, 1000), &limit, 2 << 30).unwrap_err();
        assert!(message.contains("ETWQ_MEMORY_LIMIT allows 1.1 GB"), "{message}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_machine_reports_its_memory() {
        assert!(available_memory().is_some_and(|bytes| bytes > 0));
        assert!(resident_bytes().is_some_and(|bytes| bytes > 0));
    }
}
