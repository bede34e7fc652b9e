//! `etwq dump`: every event of a trace in time order, decoded, as text or JSON lines.
use decode::{Decoder, Event};
use etl::EtlTrace;
use model::owners::ThreadOwners;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpFormat {
    Text,
    Json,
}

/// Writes every event of `trace` in time order (at most `limit`).
pub fn write_dump(
    trace: &EtlTrace,
    decoder: &mut Decoder,
    format: DumpFormat,
    limit: Option<usize>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut owners = ThreadOwners::default();
    let mut line = String::with_capacity(512);
    for record in trace.records().take(limit.unwrap_or(usize::MAX)) {
        let event = decoder.decode(&record);
        let (pid, tid) = owners.ids(&event);
        let ts_ns = trace.clock.ns_since_start(record.timestamp);
        line.clear();
        match format {
            DumpFormat::Json => json_line(&mut line, &event, ts_ns, pid, tid),
            DumpFormat::Text => text_line(&mut line, &event, ts_ns, pid, tid),
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn opt_json(v: Option<u32>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// Process and thread ids as Windows tools show them: 0xFFFFFFFF is -1 (none).
fn id_json(v: Option<u32>) -> String {
    v.map_or_else(|| "null".to_string(), |v| (v as i32).to_string())
}

/// One JSON object, keys in a fixed order and fields in payload order.
pub fn json_line(out: &mut String, event: &Event<'_>, ts_ns: i64, pid: Option<u32>, tid: Option<u32>) {
    use std::fmt::Write as _;
    // Names can come from the trace: escaped as the fields are, control characters included.
    let text = |s: &str| {
        let mut literal = String::new();
        render::push_json_string(&mut literal, s);
        literal
    };
    let _ = write!(
        out,
        "{{\"ts_ns\":{ts_ns},\"cpu\":{},\"pid\":{},\"tid\":{},\"provider\":{},\"event\":{},\"id\":{},\"opcode\":{},\"version\":{}",
        event.record.processor,
        id_json(pid),
        id_json(tid),
        text(&event.provider),
        text(&event.name),
        opt_json(event.id()),
        event.opcode(),
        event.record.version
    );
    if !event.is_decoded() {
        out.push_str(",\"undecoded\":true");
    }
    out.push_str(",\"fields\":{");
    for (i, (name, value)) in event.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        render::push_json_string(out, name);
        out.push(':');
        value.write_json(out);
    }
    out.push_str("}}");
}

/// One line: the time in seconds since the trace start (as queries show `ts`),
/// then ids, names and fields. Text from the trace has its control characters
/// escaped: a field must not drive the terminal or forge a line.
pub fn text_line(out: &mut String, event: &Event<'_>, ts_ns: i64, pid: Option<u32>, tid: Option<u32>) {
    use std::fmt::Write as _;
    let start = out.len();
    let show = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| (v as i32).to_string());
    let _ = write!(
        out,
        "{:>14} cpu={} pid={} tid={} {}/{}",
        columnar::format_timestamp_ns(ts_ns),
        event.record.processor,
        show(pid),
        show(tid),
        event.provider,
        event.name
    );
    if !event.is_decoded() {
        out.push_str(" [undecoded]");
    }
    for (name, value) in &event.fields {
        let _ = write!(out, " {name}={value}");
    }
    render::escape_from(out, start);
}

#[cfg(test)]
mod tests {
    use super::*;
    use etl::record::{HeaderKind, Record, RecordId};

    fn record(payload: &[u8]) -> Record<'_> {
        let id = RecordId::Kernel { group: 15, opcode: 46 };
        Record { version: 2, processor: 3, ..Record::bare(HeaderKind::PerfInfo64, id, payload) }
    }

    #[test]
    fn json_lines_carry_header_ids_and_typed_fields() {
        let mut payload = 0x7ff0_0000_1000u64.to_le_bytes().to_vec();
        payload.extend_from_slice(&584u32.to_le_bytes());
        payload.extend_from_slice(&[1, 0, (14 << 3) | 2, 0]);
        let record = record(&payload);
        let mut decoder = Decoder::new();
        let event = decoder.decode(&record);
        let mut owners = ThreadOwners::default();
        let (pid, tid) = owners.ids(&event);
        let mut line = String::new();
        json_line(&mut line, &event, 1500, pid, tid);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "PerfInfo/SampledProfile");
        assert_eq!(v["provider"], "Windows Kernel");
        assert_eq!(v["cpu"], 3);
        assert_eq!(v["tid"], 584);
        assert_eq!(v["pid"], serde_json::Value::Null);
        assert_eq!(v["fields"]["InstructionPointer"], "0x7ff000001000");
        assert_eq!(v["fields"]["ExecutingISR"], true);
        assert_eq!(v["fields"]["Priority"], 14);
    }

    #[test]
    fn samples_take_the_process_of_their_thread() {
        let mut owners = ThreadOwners::default();
        let mut decoder = Decoder::new();
        // Thread/DCStart v3 of thread 584 in process 4.
        let mut thread = vec![4, 0, 0, 0, 0x48, 2, 0, 0];
        thread.extend_from_slice(&[0u8; 8 * 7 + 8]);
        let mut start = record(&thread);
        start.kind = HeaderKind::System64;
        start.id = RecordId::Kernel { group: 5, opcode: 3 };
        start.version = 3;
        let _ = owners.ids(&decoder.decode(&start));
        let mut payload = vec![0u8; 8];
        payload.extend_from_slice(&584u32.to_le_bytes());
        payload.extend_from_slice(&[1, 0, 0, 0]);
        let sample = record(&payload);
        assert_eq!(owners.ids(&decoder.decode(&sample)), (Some(4), Some(584)));
    }
}
