//! Feeds arbitrary bytes to the three decompressors.
//!
//! Byte 0 picks the format, bytes 1..4 the expected length (little-endian, so
//! up to 16 MiB), the rest is the compressed stream.
#![no_main]

use etl::compress::{decompress_into, CompressionFormat};
use libfuzzer_sys::fuzz_target;

const PREFIX: [u8; 5] = [0xA5; 5];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some((length_bytes, input)) = rest.split_first_chunk::<3>() else {
        return;
    };
    let format = CompressionFormat::ALL[usize::from(selector) % CompressionFormat::ALL.len()];
    let expected_len = usize::from(length_bytes[0])
        | usize::from(length_bytes[1]) << 8
        | usize::from(length_bytes[2]) << 16;

    // Output is appended after existing bytes, which must survive either way.
    let mut out = PREFIX.to_vec();
    match decompress_into(format, input, expected_len, &mut out) {
        Ok(()) => assert_eq!(out.len(), PREFIX.len() + expected_len),
        Err(error) => {
            assert_eq!(error.format, format);
            assert_eq!(out.len(), PREFIX.len());
        }
    }
    assert_eq!(out[..PREFIX.len()], PREFIX);
});
