//! Arbitrary bytes as one of our symbol cache files: decoded or refused, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

use etl::Guid;
use symbols::{cache, PdbIdentity};

fuzz_target!(|data: &[u8]| {
    let identity = PdbIdentity::new("x.pdb", Guid::ZERO, 1);
    let _ = cache::decode(data, &identity);
    // Also with a checksum that fits, so the parser behind the checksum is reached.
    let mut fixed = data.to_vec();
    if fixed.len() >= 8 {
        let body = fixed.len() - 8;
        let sum = cache::fnv1a(&fixed[..body]);
        fixed[body..].copy_from_slice(&sum.to_le_bytes());
        let _ = cache::decode(&fixed, &identity);
    }
});
