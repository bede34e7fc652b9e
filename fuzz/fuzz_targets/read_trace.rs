//! Arbitrary bytes as a whole .etl file: open, index, walk in time order.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(trace) = etl::EtlTrace::from_bytes(data.to_vec()) {
        let walked = trace.records().count();
        assert_eq!(walked, trace.record_count());
        let _ = session::summary::record_counts(&trace);
    }
});
