//! Traces written with every header kind, 32- and 64-bit, compressed and not,
//! read back record for record.
use etl::compress::CompressionFormat;
use etl::record::{EventDescriptor, HeaderFamily};
use etl::record::{ExtendedData, ExtendedItem, InstanceInfo};
use etl::writer::{EtlWriter, WriterOptions};
use etl::{EtlTrace, Guid, HeaderKind, Record, RecordId};
use proptest::prelude::*;
use std::io::Cursor;

/// Owned form of a record, so that generated records can borrow from it.
#[derive(Clone, Debug)]
struct Spec {
    kind: HeaderKind,
    id: RecordId,
    version: u16,
    marker_flags: u8,
    flags: u16,
    event_property: u16,
    ids: (u32, u32),
    processor: u16,
    timestamp: i64,
    cpu_time: u64,
    activity_id: Guid,
    instance: InstanceInfo,
    extended: Vec<u8>,
    payload: Vec<u8>,
}

impl Spec {
    /// The record as the reader must give it back: fields the header kind
    /// does not have are absent.
    fn record(&self) -> Record<'_> {
        let family = self.kind.family();
        let has_ids = family != HeaderFamily::PerfInfo;
        let has_cpu_time = !matches!(family, HeaderFamily::PerfInfo | HeaderFamily::Compact);
        Record {
            kind: self.kind,
            id: self.id,
            version: self.version,
            marker_flags: self.marker_flags,
            flags: self.flags,
            event_property: self.event_property,
            thread_id: has_ids.then_some(self.ids.0),
            process_id: has_ids.then_some(self.ids.1),
            processor: self.processor,
            timestamp: self.timestamp,
            cpu_time: if has_cpu_time { self.cpu_time } else { 0 },
            activity_id: (family == HeaderFamily::Event).then_some(self.activity_id),
            instance: (family == HeaderFamily::Instance).then_some(self.instance),
            extended: ExtendedData { raw: &self.extended },
            payload: &self.payload,
        }
    }
}

fn guid() -> impl Strategy<Value = Guid> {
    any::<[u8; 16]>().prop_map(Guid)
}

fn extended_items() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((1u16..0x13, prop::collection::vec(any::<u8>(), 0..40)), 0..4).prop_map(|items| {
        let items: Vec<ExtendedItem> =
            items.iter().map(|(ext_type, data)| ExtendedItem { ext_type: *ext_type, data }).collect();
        ExtendedData::encode(&items)
    })
}

fn spec(kinds: &'static [HeaderKind]) -> impl Strategy<Value = Spec> {
    (
        prop::sample::select(kinds),
        (any::<u8>(), any::<u8>(), guid(), any::<EventDescriptorSeed>()),
        (any::<u16>(), any::<u8>(), any::<u16>(), any::<u16>()),
        (any::<u32>(), any::<u32>(), 0u16..4, 0i64..50_000, any::<u64>()),
        (guid(), any::<(u32, u32)>(), guid()),
        extended_items(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |(
                kind,
                (a, b, g, d),
                (version, marker, flags, prop_bits),
                (tid, pid, cpu, ts, cpu_time),
                (act, inst, parent),
                ext,
                payload,
            )| {
                let family = kind.family();
                let id = match family {
                    HeaderFamily::System | HeaderFamily::Compact | HeaderFamily::PerfInfo => {
                        RecordId::Kernel { group: a, opcode: b }
                    }
                    HeaderFamily::Full | HeaderFamily::Instance => {
                        RecordId::Classic { guid: g, class_type: a, level: b }
                    }
                    HeaderFamily::Event => RecordId::Event { provider: g, descriptor: d.0 },
                };
                let is_event = family == HeaderFamily::Event;
                let extended = if is_event { ext } else { Vec::new() };
                let mut flags = if is_event { flags & !1 } else { 0 };
                if !extended.is_empty() {
                    flags |= 1;
                }
                Spec {
                    kind,
                    id,
                    // EVENT_HEADER records carry their version in the descriptor.
                    version: if let RecordId::Event { descriptor, .. } = id {
                        u16::from(descriptor.version)
                    } else {
                        version
                    },
                    marker_flags: marker | 0x80,
                    flags,
                    event_property: if is_event { prop_bits } else { 0 },
                    ids: (tid, pid),
                    processor: cpu,
                    timestamp: 1_000 + ts,
                    cpu_time,
                    activity_id: act,
                    instance: InstanceInfo { instance_id: inst.0, parent_instance_id: inst.1, parent_guid: parent },
                    extended,
                    payload,
                }
            },
        )
}

#[derive(Clone, Debug)]
struct EventDescriptorSeed(EventDescriptor);

impl Arbitrary for EventDescriptorSeed {
    type Parameters = ();
    type Strategy = BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        (any::<u16>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u16>(), any::<u64>())
            .prop_map(|(id, version, channel, level, opcode, task, keywords)| {
                EventDescriptorSeed(EventDescriptor { id, version, channel, level, opcode, task, keywords })
            })
            .boxed()
    }
}

const KINDS_64: &[HeaderKind] = &[
    HeaderKind::System64,
    HeaderKind::Compact64,
    HeaderKind::PerfInfo64,
    HeaderKind::Full64,
    HeaderKind::Instance64,
    HeaderKind::EventHeader64,
];
const KINDS_32: &[HeaderKind] = &[
    HeaderKind::System32,
    HeaderKind::Compact32,
    HeaderKind::PerfInfo32,
    HeaderKind::Full32,
    HeaderKind::Instance32,
    HeaderKind::EventHeader32,
];

fn write_trace(specs: &[Spec], pointer_size: u8, compression: Option<CompressionFormat>, buffer_size: u32) -> Vec<u8> {
    let mut options = WriterOptions::new(4, 132_404_548_343_502_666);
    options.pointer_size = pointer_size;
    options.compression = compression;
    options.start_timestamp = 1_000;
    options.header.buffer_size = buffer_size;
    let mut writer = EtlWriter::new(Cursor::new(Vec::new()), options).unwrap();
    for spec in specs {
        writer.write(&spec.record()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// What the reader must deliver: time order, ties by processor, then write order.
fn expected_order(specs: &mut [Spec]) {
    specs.sort_by_key(|s| (s.timestamp, s.processor));
}

fn check_round_trip(mut specs: Vec<Spec>, pointer_size: u8, compression: Option<CompressionFormat>) {
    // Real traces stamp each processor's records in order.
    let mut clocks = [1_000i64; 4];
    for spec in &mut specs {
        let clock = &mut clocks[usize::from(spec.processor)];
        *clock += spec.timestamp % 7;
        spec.timestamp = *clock + 1;
        *clock = spec.timestamp;
    }
    let bytes = write_trace(&specs, pointer_size, compression, 4096);
    let trace = EtlTrace::from_bytes(bytes).unwrap();
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
    // With no records there is no compressed buffer, and so no format to find.
    assert_eq!(trace.compression, if specs.is_empty() { None } else { compression });
    assert_eq!(trace.header_pointer_size, pointer_size);
    expected_order(&mut specs);
    let mut records = trace.records();
    let header = records.next().unwrap();
    assert_eq!(header.id, RecordId::Kernel { group: 0, opcode: 0 });
    let got: Vec<Record> = records.collect();
    assert_eq!(got.len(), specs.len());
    for (i, (got, spec)) in got.iter().zip(&specs).enumerate() {
        assert_eq!(*got, spec.record(), "record {i}");
    }
    assert_eq!(trace.record_count(), specs.len() + 1);
    assert_eq!(trace.header.buffers_written as usize, trace.buffers().len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_64_bit_header_kind_round_trips(specs in prop::collection::vec(spec(KINDS_64), 0..200)) {
        check_round_trip(specs, 8, None);
    }

    #[test]
    fn every_32_bit_header_kind_round_trips(specs in prop::collection::vec(spec(KINDS_32), 0..200)) {
        check_round_trip(specs, 4, None);
    }

    #[test]
    fn compressed_traces_round_trip(
        specs in prop::collection::vec(spec(KINDS_64), 0..200),
        format in prop::sample::select(&[CompressionFormat::Xpress, CompressionFormat::XpressHuffman, CompressionFormat::Lznt1][..]),
    ) {
        check_round_trip(specs, 8, Some(format));
    }

    #[test]
    fn compressed_32_bit_traces_round_trip(specs in prop::collection::vec(spec(KINDS_32), 0..100)) {
        check_round_trip(specs, 4, Some(CompressionFormat::Xpress));
    }
}

#[test]
fn out_of_order_timestamps_come_back_sorted() {
    let payload = [0u8; 8];
    let mut options = WriterOptions::new(2, 0);
    options.header.buffer_size = 512;
    let mut writer = EtlWriter::new(Cursor::new(Vec::new()), options).unwrap();
    let stamps = [50i64, 10, 40, 20, 30, 60, 5, 70, 15, 25, 35, 45, 55, 65, 75, 12, 22, 32];
    for (i, ts) in stamps.iter().enumerate() {
        let record = Record {
            kind: HeaderKind::PerfInfo64,
            id: RecordId::Kernel { group: 15, opcode: 46 },
            version: 2,
            marker_flags: 0xC0,
            flags: 0,
            event_property: 0,
            thread_id: None,
            process_id: None,
            processor: (i % 2) as u16,
            timestamp: *ts,
            cpu_time: 0,
            activity_id: None,
            instance: None,
            extended: Default::default(),
            payload: &payload,
        };
        writer.write(&record).unwrap();
    }
    let trace = EtlTrace::from_bytes(writer.finish().unwrap().into_inner()).unwrap();
    let got: Vec<i64> = trace.records().skip(1).map(|r| r.timestamp).collect();
    let mut want = stamps.to_vec();
    want.sort();
    assert_eq!(got, want);
}
