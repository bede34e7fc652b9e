//! Record counts per key, like `tracerpt -summary`, in the key scheme of
//! the corpus expectations.
use etl::{EtlTrace, RecordKey};
use rayon::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    pub key: RecordKey,
    pub count: u64,
}

/// Counts every record of every buffer (order does not matter for counts),
/// sorted by kind, then the second column as text, then the number.
pub fn record_counts(trace: &EtlTrace) -> Vec<SummaryRow> {
    let counts = trace
        .buffers()
        .par_iter()
        .map(|buffer| {
            let mut counts: HashMap<RecordKey, u64> = HashMap::new();
            for record in trace.buffer_records(buffer) {
                *counts.entry(record.key()).or_default() += 1;
            }
            counts
        })
        .reduce(HashMap::new, |mut a, b| {
            for (key, n) in b {
                *a.entry(key).or_default() += n;
            }
            a
        });
    let mut rows: Vec<SummaryRow> = counts.into_iter().map(|(key, count)| SummaryRow { key, count }).collect();
    rows.sort_by_cached_key(|row| row.key.columns());
    rows
}
