//! The dataset's layout: `DIR/<table>/trace=<trace id>/part-0.<ext>` (hive
//! partitioning: readers take the `trace` column from the path), trace ids,
//! and the `traces` table of one row per trace.
use crate::files::FileFormat;
use crate::layout::utc_type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt64Array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The table of one row per exported trace.
pub const TRACES_TABLE: &str = "traces";

/// Where a table of a trace is written.
pub fn part_path(dir: &Path, table: &str, trace_id: &str, format: FileFormat) -> PathBuf {
    dir.join(table).join(format!("trace={trace_id}")).join(format!("part-0.{}", format.extension()))
}

/// `<file stem>-<16 hex digits of a hash of the canonical path>-<start as yyyymmddThhmmssZ>`:
/// readable, the same on every run over the same file, and different for two
/// copies of one file in two places (or two files of one name). The stem keeps
/// only `[A-Za-z0-9_.-]` (others become `_`), so the id is safe in a path and
/// in a hive partition.
pub fn trace_id(file_name: &str, canonical_path: &Path, start_unix_ns: i64) -> String {
    let stem = Path::new(file_name).file_stem().map_or_else(String::new, |s| s.to_string_lossy().to_string());
    let mut safe: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect();
    if safe.is_empty() {
        safe.push_str("trace");
    }
    let hash = fnv1a(canonical_path.as_os_str().as_encoded_bytes());
    format!("{safe}-{hash:016x}-{}", compact_utc(start_unix_ns))
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// `yyyymmddThhmmssZ`.
fn compact_utc(unix_ns: i64) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// One row of the `traces` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceRow {
    pub trace_id: String,
    /// The file's name.
    pub file: String,
    /// The path it was exported from, as given.
    pub path: String,
    /// The trace start, ns since 1970 UTC.
    pub start_unix_ns: i64,
    /// From the trace start to its last record.
    pub duration_ns: Option<i64>,
    pub cpus: u64,
    pub pointer_size: u64,
    pub os_build: String,
    pub events_lost: u64,
    pub buffers_lost: u64,
    /// Buffers the reader skipped as damaged.
    pub damaged_buffers: u64,
    pub etwq_version: String,
}

/// The `traces` table's rows as one batch, with `metadata` on its schema.
pub fn traces_batch(rows: &[TraceRow], metadata: &[(String, String)]) -> Result<(SchemaRef, RecordBatch), ArrowError> {
    let text = |f: fn(&TraceRow) -> &str| -> ArrayRef { Arc::new(StringArray::from_iter_values(rows.iter().map(f))) };
    let count = |f: fn(&TraceRow) -> u64| -> ArrayRef { Arc::new(UInt64Array::from_iter_values(rows.iter().map(f))) };
    let columns: Vec<(&str, DataType, ArrayRef)> = vec![
        ("trace_id", DataType::Utf8, text(|r| &r.trace_id)),
        ("file", DataType::Utf8, text(|r| &r.file)),
        ("path", DataType::Utf8, text(|r| &r.path)),
        (
            "start_time",
            utc_type(),
            Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.start_unix_ns)).with_timezone("UTC"),
            ),
        ),
        ("duration_ns", DataType::Int64, Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.duration_ns)))),
        ("cpus", DataType::UInt64, count(|r| r.cpus)),
        ("pointer_size", DataType::UInt64, count(|r| r.pointer_size)),
        ("os_build", DataType::Utf8, text(|r| &r.os_build)),
        ("events_lost", DataType::UInt64, count(|r| r.events_lost)),
        ("buffers_lost", DataType::UInt64, count(|r| r.buffers_lost)),
        ("damaged_buffers", DataType::UInt64, count(|r| r.damaged_buffers)),
        ("etwq_version", DataType::Utf8, text(|r| &r.etwq_version)),
    ];
    let fields: Vec<Field> = columns.iter().map(|(name, t, _)| Field::new(*name, t.clone(), true)).collect();
    let metadata: HashMap<String, String> = metadata.iter().cloned().collect();
    let schema = Arc::new(Schema::new(fields).with_metadata(metadata));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, _, a)| a).collect())?;
    Ok((schema, batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_safe_readable_and_tell_paths_apart() {
        let start = 1_700_000_000_123_456_789; // 2023-11-14T22:13:20Z
        let a = trace_id("my trace=1.etl", Path::new("/a/my trace=1.etl"), start);
        let b = trace_id("my trace=1.etl", Path::new("/b/my trace=1.etl"), start);
        assert!(a.starts_with("my_trace_1-") && a.ends_with("-20231114T221320Z"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, trace_id("my trace=1.etl", Path::new("/a/my trace=1.etl"), start));
        assert_eq!(a.len(), "my_trace_1-".len() + 16 + "-20231114T221320Z".len());
        assert!(trace_id("", Path::new("/x"), 0).starts_with("trace-"));
        assert!(trace_id("x.etl", Path::new("/x"), 0).ends_with("-19700101T000000Z"));
    }

    #[test]
    fn the_fnv_hash_is_the_published_one() {
        // Test vectors of the FNV-1a 64-bit reference.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }
}
