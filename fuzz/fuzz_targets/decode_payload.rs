//! Feeds arbitrary payloads to the kernel and KernelTraceControl layouts.
//!
//! Bytes 0..3 pick the kernel group, opcode and version (bit 7 of the version
//! byte picks 4-byte pointers); the rest is the payload. Decoding must never
//! panic, and a payload too short for its layout must mark a field bad.
#![no_main]

use decode::kernel;
use decode::schema::decode_payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((header, payload)) = data.split_first_chunk::<3>() else {
        return;
    };
    let [group, opcode, version] = *header;
    let pointer_size = if version & 0x80 != 0 { 4 } else { 8 };
    let Some(class) = kernel::lookup(group % 32, opcode, u16::from(version & 0x7f)) else {
        return;
    };
    let fields = decode_payload(class.fields, payload, pointer_size);
    for (_, value) in &fields {
        // Rendering must hold up for any value the decoder produced.
        let _ = value.to_string();
        let _ = value.to_json();
    }
});
