//! Arbitrary bytes as one buffer's record data: every header kind's parser
//! and the extended data items.
#![no_main]
use etl::record::RecordWalk;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for located in RecordWalk::new(data, 0, 0) {
        let Ok(located) = located else { break };
        assert!(located.next_offset > located.offset && located.offset < data.len());
        for item in located.record.extended.items() {
            std::hint::black_box(item.data.len());
        }
    }
});
