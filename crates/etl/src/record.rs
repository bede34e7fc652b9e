//! Record headers: every kind a buffer can hold, 32- and 64-bit, and the
//! walk over one buffer's records. Layouts follow SYSTEM_TRACE_HEADER,
//! PERFINFO_TRACE_HEADER, EVENT_TRACE_HEADER, EVENT_INSTANCE_HEADER (as logged
//! to file, with the provider GUID in place of the registration handle) and
//! EVENT_HEADER with its extended data items.
use super::bytes::align8;
use super::guid::Guid;
use super::layout::{layout, Field};
use std::fmt;

layout! {
    /// The first four bytes of every record: byte 2 names the header type.
    pub mod marker, len 4;
    MARKER: u32 @ 0x00,
    HEADER_TYPE: u8 @ 0x02,
    MARKER_FLAGS: u8 @ 0x03,
}

layout! {
    /// The first eight bytes of SYSTEM_TRACE_HEADER and PERFINFO_TRACE_HEADER
    /// (after the marker's type and flags bytes).
    pub mod kernel, len 8;
    VERSION: u16 @ 0x00,
    SIZE: u16 @ 0x04,
    /// HookId: group << 8 | opcode.
    HOOK_ID: u16 @ 0x06,
}

layout! {
    /// SYSTEM_TRACE_HEADER after its kernel prefix. The compact form stops
    /// before the CPU times.
    pub mod system, len 0x20;
    THREAD_ID: u32 @ 0x08,
    PROCESS_ID: u32 @ 0x0C,
    TIMESTAMP: i64 @ 0x10,
    /// KernelTime and UserTime.
    CPU_TIME: u64 @ 0x18,
}

/// Length of the compact SYSTEM_TRACE_HEADER: the system header without its CPU times.
pub const COMPACT_LEN: usize = system::CPU_TIME.offset;

layout! {
    /// PERFINFO_TRACE_HEADER after its kernel prefix.
    pub mod perfinfo, len 0x10;
    TIMESTAMP: i64 @ 0x08,
}

layout! {
    /// EVENT_TRACE_HEADER as logged to file (the class GUID in place of a handle).
    pub mod classic, len 0x30;
    SIZE: u16 @ 0x00,
    CLASS_TYPE: u8 @ 0x04,
    LEVEL: u8 @ 0x05,
    VERSION: u16 @ 0x06,
    THREAD_ID: u32 @ 0x08,
    PROCESS_ID: u32 @ 0x0C,
    TIMESTAMP: i64 @ 0x10,
    GUID: Guid @ 0x18,
    CPU_TIME: u64 @ 0x28,
}

layout! {
    /// EVENT_INSTANCE_HEADER: the classic header, then the instance part.
    pub mod instance, len 0x48;
    INSTANCE_ID: u32 @ 0x30,
    PARENT_INSTANCE_ID: u32 @ 0x34,
    PARENT_GUID: Guid @ 0x38,
}

layout! {
    /// EVENT_HEADER, with its EVENT_DESCRIPTOR at 0x28.
    pub mod event, len 0x50;
    SIZE: u16 @ 0x00,
    FLAGS: u16 @ 0x04,
    EVENT_PROPERTY: u16 @ 0x06,
    THREAD_ID: u32 @ 0x08,
    PROCESS_ID: u32 @ 0x0C,
    TIMESTAMP: i64 @ 0x10,
    PROVIDER: Guid @ 0x18,
    ID: u16 @ 0x28,
    VERSION: u8 @ 0x2A,
    CHANNEL: u8 @ 0x2B,
    LEVEL: u8 @ 0x2C,
    OPCODE: u8 @ 0x2D,
    TASK: u16 @ 0x2E,
    KEYWORDS: u64 @ 0x30,
    CPU_TIME: u64 @ 0x38,
    ACTIVITY_ID: Guid @ 0x40,
}

layout! {
    /// The header of one extended data item after an EVENT_HEADER.
    pub mod ext_item, len 8;
    SIZE: u16 @ 0x00,
    EXT_TYPE: u16 @ 0x02,
    /// Bit 0: another item follows.
    LINKAGE: u16 @ 0x04,
    DATA_SIZE: u16 @ 0x06,
}

/// The TRACE_HEADER_TYPE_* value in byte 2 of every record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HeaderKind {
    System32,
    System64,
    Compact32,
    Compact64,
    Full32,
    Instance32,
    PerfInfo32,
    PerfInfo64,
    EventHeader32,
    EventHeader64,
    Full64,
    Instance64,
}

impl HeaderKind {
    pub const ALL: [HeaderKind; 12] = [
        HeaderKind::System32,
        HeaderKind::System64,
        HeaderKind::Compact32,
        HeaderKind::Compact64,
        HeaderKind::Full32,
        HeaderKind::Instance32,
        HeaderKind::PerfInfo32,
        HeaderKind::PerfInfo64,
        HeaderKind::EventHeader32,
        HeaderKind::EventHeader64,
        HeaderKind::Full64,
        HeaderKind::Instance64,
    ];

    pub fn from_type_byte(byte: u8) -> Option<HeaderKind> {
        Some(match byte {
            0x01 => HeaderKind::System32,
            0x02 => HeaderKind::System64,
            0x03 => HeaderKind::Compact32,
            0x04 => HeaderKind::Compact64,
            0x0A => HeaderKind::Full32,
            0x0B => HeaderKind::Instance32,
            0x10 => HeaderKind::PerfInfo32,
            0x11 => HeaderKind::PerfInfo64,
            0x12 => HeaderKind::EventHeader32,
            0x13 => HeaderKind::EventHeader64,
            0x14 => HeaderKind::Full64,
            0x15 => HeaderKind::Instance64,
            _ => return None,
        })
    }

    pub fn type_byte(self) -> u8 {
        match self {
            HeaderKind::System32 => 0x01,
            HeaderKind::System64 => 0x02,
            HeaderKind::Compact32 => 0x03,
            HeaderKind::Compact64 => 0x04,
            HeaderKind::Full32 => 0x0A,
            HeaderKind::Instance32 => 0x0B,
            HeaderKind::PerfInfo32 => 0x10,
            HeaderKind::PerfInfo64 => 0x11,
            HeaderKind::EventHeader32 => 0x12,
            HeaderKind::EventHeader64 => 0x13,
            HeaderKind::Full64 => 0x14,
            HeaderKind::Instance64 => 0x15,
        }
    }

    /// Pointer size of the payload: the header kind says whether the event
    /// was logged by 32- or 64-bit code.
    pub fn pointer_size(self) -> u8 {
        match self {
            HeaderKind::System32
            | HeaderKind::Compact32
            | HeaderKind::Full32
            | HeaderKind::Instance32
            | HeaderKind::PerfInfo32
            | HeaderKind::EventHeader32 => 4,
            _ => 8,
        }
    }

    pub fn header_len(self) -> usize {
        match self.family() {
            HeaderFamily::System => system::LEN,
            HeaderFamily::Compact => COMPACT_LEN,
            HeaderFamily::PerfInfo => perfinfo::LEN,
            HeaderFamily::Full => classic::LEN,
            HeaderFamily::Instance => instance::LEN,
            HeaderFamily::Event => event::LEN,
        }
    }

    /// Kernel headers (system, compact, perfinfo) name their event by hook id.
    pub fn is_kernel(self) -> bool {
        matches!(
            self,
            HeaderKind::System32
                | HeaderKind::System64
                | HeaderKind::Compact32
                | HeaderKind::Compact64
                | HeaderKind::PerfInfo32
                | HeaderKind::PerfInfo64
        )
    }

    pub fn family(self) -> HeaderFamily {
        match self {
            HeaderKind::System32 | HeaderKind::System64 => HeaderFamily::System,
            HeaderKind::Compact32 | HeaderKind::Compact64 => HeaderFamily::Compact,
            HeaderKind::PerfInfo32 | HeaderKind::PerfInfo64 => HeaderFamily::PerfInfo,
            HeaderKind::Full32 | HeaderKind::Full64 => HeaderFamily::Full,
            HeaderKind::Instance32 | HeaderKind::Instance64 => HeaderFamily::Instance,
            HeaderKind::EventHeader32 | HeaderKind::EventHeader64 => HeaderFamily::Event,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HeaderKind::System32 => "system32",
            HeaderKind::System64 => "system64",
            HeaderKind::Compact32 => "compact32",
            HeaderKind::Compact64 => "compact64",
            HeaderKind::Full32 => "full32",
            HeaderKind::Instance32 => "instance32",
            HeaderKind::PerfInfo32 => "perfinfo32",
            HeaderKind::PerfInfo64 => "perfinfo64",
            HeaderKind::EventHeader32 => "event32",
            HeaderKind::EventHeader64 => "event64",
            HeaderKind::Full64 => "full64",
            HeaderKind::Instance64 => "instance64",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderFamily {
    System,
    Compact,
    PerfInfo,
    Full,
    Instance,
    Event,
}

impl HeaderFamily {
    /// Where the record's size is.
    #[inline]
    pub fn size_field(self) -> Field<u16> {
        match self {
            HeaderFamily::System | HeaderFamily::Compact | HeaderFamily::PerfInfo => kernel::SIZE,
            HeaderFamily::Full | HeaderFamily::Instance => classic::SIZE,
            HeaderFamily::Event => event::SIZE,
        }
    }

    /// Where the record's timestamp is.
    #[inline]
    pub fn timestamp_field(self) -> Field<i64> {
        match self {
            HeaderFamily::System | HeaderFamily::Compact => system::TIMESTAMP,
            HeaderFamily::PerfInfo => perfinfo::TIMESTAMP,
            HeaderFamily::Full | HeaderFamily::Instance => classic::TIMESTAMP,
            HeaderFamily::Event => event::TIMESTAMP,
        }
    }
}

/// EVENT_DESCRIPTOR of a manifest-based or TraceLogging event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct EventDescriptor {
    pub id: u16,
    pub version: u8,
    pub channel: u8,
    pub level: u8,
    pub opcode: u8,
    pub task: u16,
    pub keywords: u64,
}

/// What names the event a record carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordId {
    /// Kernel logger events: HookId = group << 8 | opcode.
    Kernel { group: u8, opcode: u8 },
    /// MOF-style events with a class GUID (full and instance headers).
    Classic { guid: Guid, class_type: u8, level: u8 },
    /// EVENT_HEADER events.
    Event { provider: Guid, descriptor: EventDescriptor },
}

/// The instance part of an EVENT_INSTANCE_HEADER.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct InstanceInfo {
    pub instance_id: u32,
    pub parent_instance_id: u32,
    pub parent_guid: Guid,
}

/// EVENT_HEADER Flags bits.
pub mod event_flags {
    pub const EXTENDED_INFO: u16 = 0x0001;
    pub const PRIVATE_SESSION: u16 = 0x0002;
    pub const STRING_ONLY: u16 = 0x0004;
    pub const TRACE_MESSAGE: u16 = 0x0008;
    pub const NO_CPUTIME: u16 = 0x0010;
    pub const HEADER_32_BIT: u16 = 0x0020;
    pub const HEADER_64_BIT: u16 = 0x0040;
    pub const CLASSIC_HEADER: u16 = 0x0100;
    pub const PROCESSOR_INDEX: u16 = 0x0200;
}

/// EVENT_HEADER_EXT_TYPE_* values.
pub mod ext_type {
    pub const RELATED_ACTIVITYID: u16 = 0x0001;
    pub const SID: u16 = 0x0002;
    pub const TS_ID: u16 = 0x0003;
    pub const INSTANCE_INFO: u16 = 0x0004;
    pub const STACK_TRACE32: u16 = 0x0005;
    pub const STACK_TRACE64: u16 = 0x0006;
    pub const PEBS_INDEX: u16 = 0x0007;
    pub const PMC_COUNTERS: u16 = 0x0008;
    pub const PSM_KEY: u16 = 0x0009;
    pub const EVENT_KEY: u16 = 0x000A;
    pub const EVENT_SCHEMA_TL: u16 = 0x000B;
    pub const PROV_TRAITS: u16 = 0x000C;
    pub const PROCESS_START_KEY: u16 = 0x000D;
    pub const CONTROL_GUID: u16 = 0x000E;
    pub const QPC_DELTA: u16 = 0x000F;
    pub const CONTAINER_ID: u16 = 0x0010;
    pub const STACK_KEY32: u16 = 0x0011;
    pub const STACK_KEY64: u16 = 0x0012;

    pub fn name(ext_type: u16) -> &'static str {
        match ext_type {
            RELATED_ACTIVITYID => "RelatedActivityId",
            SID => "Sid",
            TS_ID => "TerminalSessionId",
            INSTANCE_INFO => "InstanceInfo",
            STACK_TRACE32 => "StackTrace32",
            STACK_TRACE64 => "StackTrace64",
            PEBS_INDEX => "PebsIndex",
            PMC_COUNTERS => "PmcCounters",
            PSM_KEY => "PsmKey",
            EVENT_KEY => "EventKey",
            EVENT_SCHEMA_TL => "TraceLoggingSchema",
            PROV_TRAITS => "ProviderTraits",
            PROCESS_START_KEY => "ProcessStartKey",
            CONTROL_GUID => "ControlGuid",
            QPC_DELTA => "QpcDelta",
            CONTAINER_ID => "ContainerId",
            STACK_KEY32 => "StackKey32",
            STACK_KEY64 => "StackKey64",
            _ => "Unknown",
        }
    }
}

/// One extended data item of an EVENT_HEADER record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedItem<'a> {
    pub ext_type: u16,
    pub data: &'a [u8],
}

/// The extended data items as stored after an EVENT_HEADER: each item an
/// 8-byte header (u16 size, u16 type, u16 linkage, u16 data size) and its data,
/// padded to 8; bit 0 of the linkage says another item follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExtendedData<'a> {
    pub raw: &'a [u8],
}

impl<'a> ExtendedData<'a> {
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn items(&self) -> ExtendedItems<'a> {
        ExtendedItems { rest: self.raw }
    }

    pub fn find(&self, ext_type: u16) -> Option<&'a [u8]> {
        self.items().find(|item| item.ext_type == ext_type).map(|item| item.data)
    }

    /// Length of the item chain that starts at `data`, or None when an item
    /// runs past `data` (the record lies about its extended data).
    fn chain_len(data: &[u8]) -> Option<usize> {
        let mut pos = 0usize;
        loop {
            let item = data.get(pos..)?;
            let ext_data_size = usize::from(ext_item::DATA_SIZE.read(item)?);
            let linkage = ext_item::LINKAGE.read(item)?;
            let item_end = pos.checked_add(ext_item::LEN + align8(ext_data_size))?;
            if item_end > data.len() {
                // The last item's padding may be cut by the record end.
                let unpadded = pos + ext_item::LEN + ext_data_size;
                if unpadded <= data.len() && linkage & 1 == 0 {
                    return Some(unpadded);
                }
                return None;
            }
            pos = item_end;
            if linkage & 1 == 0 {
                return Some(pos);
            }
        }
    }

    /// Encodes items the way Windows lays them out after an EVENT_HEADER.
    pub fn encode(items: &[ExtendedItem<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let data_len = item.data.len().min(u16::MAX as usize - 15);
            let padded = align8(data_len);
            let more = u16::from(i + 1 < items.len());
            let mut header = [0u8; ext_item::LEN];
            ext_item::SIZE.write(&mut header, (ext_item::LEN + padded) as u16);
            ext_item::EXT_TYPE.write(&mut header, item.ext_type);
            ext_item::LINKAGE.write(&mut header, more);
            ext_item::DATA_SIZE.write(&mut header, data_len as u16);
            out.extend_from_slice(&header);
            out.extend_from_slice(&item.data[..data_len]);
            out.resize(out.len() + padded - data_len, 0);
        }
        out
    }
}

pub struct ExtendedItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ExtendedItems<'a> {
    type Item = ExtendedItem<'a>;

    fn next(&mut self) -> Option<ExtendedItem<'a>> {
        let ext_type = ext_item::EXT_TYPE.read(self.rest)?;
        let linkage = ext_item::LINKAGE.read(self.rest)?;
        let size = usize::from(ext_item::DATA_SIZE.read(self.rest)?);
        let data = self.rest.get(ext_item::LEN..ext_item::LEN + size)?;
        self.rest = if linkage & 1 == 1 { self.rest.get(ext_item::LEN + align8(size)..).unwrap_or(&[]) } else { &[] };
        Some(ExtendedItem { ext_type, data })
    }
}

/// One raw event record, borrowed from its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: HeaderKind,
    pub id: RecordId,
    /// The header's Version field: kernel event version, or a classic event's
    /// version. EVENT_HEADER records carry theirs in the descriptor.
    pub version: u16,
    /// The marker flags byte (TRACE_HEADER_FLAG and friends).
    pub marker_flags: u8,
    /// EVENT_HEADER Flags and EventProperty; 0 for other kinds.
    pub flags: u16,
    pub event_property: u16,
    pub thread_id: Option<u32>,
    pub process_id: Option<u32>,
    /// Processor from the buffer the record came from.
    pub processor: u16,
    /// Raw timestamp in the trace's clock (QPC ticks, FILETIME, or cycles).
    pub timestamp: i64,
    /// KernelTime and UserTime, or ProcessorTime when the header says NO_CPUTIME.
    pub cpu_time: u64,
    pub activity_id: Option<Guid>,
    pub instance: Option<InstanceInfo>,
    pub extended: ExtendedData<'a>,
    pub payload: &'a [u8],
}

impl<'a> Record<'a> {
    /// A record of `kind` and `id` carrying `payload`, with every other header
    /// fact empty: for building records rather than parsing them.
    pub fn bare(kind: HeaderKind, id: RecordId, payload: &'a [u8]) -> Record<'a> {
        Record {
            kind,
            id,
            version: 0,
            marker_flags: 0,
            flags: 0,
            event_property: 0,
            thread_id: None,
            process_id: None,
            processor: 0,
            timestamp: 0,
            cpu_time: 0,
            activity_id: None,
            instance: None,
            extended: ExtendedData::default(),
            payload,
        }
    }

    pub fn pointer_size(&self) -> u8 {
        self.kind.pointer_size()
    }

    /// The key of the corpus counts files: `kernel <group> <opcode>`,
    /// `classic <guid> <class type>` or `event <guid> <event id>`.
    pub fn key(&self) -> RecordKey {
        match self.id {
            RecordId::Kernel { group, opcode } => RecordKey::Kernel { group, opcode },
            RecordId::Classic { guid, class_type, .. } => RecordKey::Classic { guid, class_type },
            RecordId::Event { provider, descriptor } => RecordKey::Event { provider, id: descriptor.id },
        }
    }
}

/// Summary key of a record, ordered like the corpus expectations: by kind,
/// then the second column as text, then the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKey {
    Kernel { group: u8, opcode: u8 },
    Classic { guid: Guid, class_type: u8 },
    Event { provider: Guid, id: u16 },
}

impl RecordKey {
    pub fn columns(&self) -> (&'static str, String, u32) {
        match *self {
            RecordKey::Kernel { group, opcode } => ("kernel", group.to_string(), u32::from(opcode)),
            RecordKey::Classic { guid, class_type } => ("classic", guid.to_string(), u32::from(class_type)),
            RecordKey::Event { provider, id } => ("event", provider.to_string(), u32::from(id)),
        }
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, second, third) = self.columns();
        write!(f, "{kind}\t{second}\t{third}")
    }
}

/// Why a record could not be read. Offsets are within the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub offset: usize,
    pub what: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record at buffer offset {:#x}: {}", self.offset, self.what)
    }
}

/// The marker that fills a buffer after its last record.
const PADDING_MARKER: u32 = 0xFFFF_FFFF;

/// Where a record sits in its buffer, and how far the walk must advance.
#[derive(Clone, Copy, Debug)]
pub struct Located<'a> {
    pub record: Record<'a>,
    pub offset: usize,
    pub next_offset: usize,
}

/// The kind and size of the record at `offset`, checked against the buffer:
/// the part of parsing that indexing needs. `Ok(None)` at the end or at padding.
#[inline]
pub fn record_bounds(buffer: &[u8], offset: usize) -> Result<Option<(HeaderKind, usize)>, RecordError> {
    let err = |what: String| RecordError { offset, what };
    let record = buffer.get(offset..).unwrap_or(&[]);
    let Some(marker) = marker::MARKER.read(record) else {
        return if offset + 4 > buffer.len() && offset < buffer.len() {
            Err(err(format!("{} stray bytes at the end of the buffer data", buffer.len() - offset)))
        } else {
            Ok(None)
        };
    };
    if marker == PADDING_MARKER {
        return Ok(None);
    }
    let type_byte = marker::HEADER_TYPE.read(record).unwrap_or(0);
    let Some(kind) = HeaderKind::from_type_byte(type_byte) else {
        return Err(err(format!("unknown header type {type_byte:#04x} (marker {marker:#010x})")));
    };
    let header_len = kind.header_len();
    let size = usize::from(kind.family().size_field().read(record).unwrap_or(0));
    if size < header_len {
        return Err(err(format!("{} record size {size} is smaller than its {header_len}-byte header", kind.name())));
    }
    if offset + size > buffer.len() {
        return Err(err(format!(
            "{} record of {size} bytes runs past the end of the buffer data ({} bytes left)",
            kind.name(),
            buffer.len() - offset
        )));
    }
    if kind.family() == HeaderFamily::Event
        && event::FLAGS.read(record).unwrap_or(0) & event_flags::EXTENDED_INFO != 0
        && ExtendedData::chain_len(&buffer[offset + header_len..offset + size]).is_none()
    {
        return Err(err("extended data items run past the end of the record".to_string()));
    }
    Ok(Some((kind, size)))
}

/// The raw timestamp of the record at `offset`, which the index has checked
/// already: its header type says where the time field is, and nothing else is read.
#[inline]
pub(crate) fn indexed_timestamp(buffer: &[u8], offset: usize) -> i64 {
    let record = buffer.get(offset..).unwrap_or(&[]);
    let kind = marker::HEADER_TYPE.read(record).and_then(HeaderKind::from_type_byte);
    kind.and_then(|kind| kind.family().timestamp_field().read(record)).unwrap_or(0)
}

/// Raw timestamp and next record offset of the record at `offset`: what the
/// index keeps. Validates exactly what `parse_record` validates.
#[inline]
pub fn scan_record(buffer: &[u8], offset: usize) -> Result<Option<(i64, usize)>, RecordError> {
    let Some((kind, size)) = record_bounds(buffer, offset)? else {
        return Ok(None);
    };
    let timestamp = kind.family().timestamp_field().read(&buffer[offset..]).unwrap_or(0);
    Ok(Some((timestamp, offset + align8(size))))
}

/// Parses the record at `offset` of `buffer` (whose valid data ends at
/// `buffer.len()`). `Ok(None)` at the end of the data or at padding.
#[inline]
pub fn parse_record(buffer: &[u8], offset: usize, processor: u16) -> Result<Option<Located<'_>>, RecordError> {
    let Some((kind, size)) = record_bounds(buffer, offset)? else {
        return Ok(None);
    };
    let header_len = kind.header_len();
    let end = offset + size;
    let h = &buffer[offset..end];
    // All reads below are inside `h`, whose length is at least header_len:
    // the defaults are never used.
    fn get<T: crate::layout::Le + Default>(h: &[u8], field: Field<T>) -> T {
        field.read(h).unwrap_or_default()
    }
    let mut record = Record {
        kind,
        id: RecordId::Kernel { group: 0, opcode: 0 },
        version: 0,
        marker_flags: get(h, marker::MARKER_FLAGS),
        flags: 0,
        event_property: 0,
        thread_id: None,
        process_id: None,
        processor,
        timestamp: 0,
        cpu_time: 0,
        activity_id: None,
        instance: None,
        extended: ExtendedData::default(),
        payload: &h[header_len..],
    };
    match kind.family() {
        HeaderFamily::System | HeaderFamily::Compact | HeaderFamily::PerfInfo => {
            record.version = get(h, kernel::VERSION);
            let hook = get(h, kernel::HOOK_ID);
            record.id = RecordId::Kernel { group: (hook >> 8) as u8, opcode: hook as u8 };
            if kind.family() == HeaderFamily::PerfInfo {
                record.timestamp = get(h, perfinfo::TIMESTAMP);
            } else {
                record.thread_id = Some(get(h, system::THREAD_ID));
                record.process_id = Some(get(h, system::PROCESS_ID));
                record.timestamp = get(h, system::TIMESTAMP);
                if kind.family() == HeaderFamily::System {
                    record.cpu_time = get(h, system::CPU_TIME);
                }
            }
        }
        HeaderFamily::Full | HeaderFamily::Instance => {
            record.id = RecordId::Classic {
                guid: get(h, classic::GUID),
                class_type: get(h, classic::CLASS_TYPE),
                level: get(h, classic::LEVEL),
            };
            record.version = get(h, classic::VERSION);
            record.thread_id = Some(get(h, classic::THREAD_ID));
            record.process_id = Some(get(h, classic::PROCESS_ID));
            record.timestamp = get(h, classic::TIMESTAMP);
            record.cpu_time = get(h, classic::CPU_TIME);
            if kind.family() == HeaderFamily::Instance {
                record.instance = Some(InstanceInfo {
                    instance_id: get(h, instance::INSTANCE_ID),
                    parent_instance_id: get(h, instance::PARENT_INSTANCE_ID),
                    parent_guid: get(h, instance::PARENT_GUID),
                });
            }
        }
        HeaderFamily::Event => {
            record.flags = get(h, event::FLAGS);
            record.event_property = get(h, event::EVENT_PROPERTY);
            record.thread_id = Some(get(h, event::THREAD_ID));
            record.process_id = Some(get(h, event::PROCESS_ID));
            record.timestamp = get(h, event::TIMESTAMP);
            let descriptor = EventDescriptor {
                id: get(h, event::ID),
                version: get(h, event::VERSION),
                channel: get(h, event::CHANNEL),
                level: get(h, event::LEVEL),
                opcode: get(h, event::OPCODE),
                task: get(h, event::TASK),
                keywords: get(h, event::KEYWORDS),
            };
            record.id = RecordId::Event { provider: get(h, event::PROVIDER), descriptor };
            record.version = u16::from(descriptor.version);
            record.cpu_time = get(h, event::CPU_TIME);
            record.activity_id = Some(get(h, event::ACTIVITY_ID));
            if record.flags & event_flags::EXTENDED_INFO != 0 {
                let rest = &h[header_len..];
                // record_bounds has checked the chain.
                let len = ExtendedData::chain_len(rest).unwrap_or(0);
                record.extended = ExtendedData { raw: &rest[..len] };
                record.payload = &rest[len..];
            }
        }
    }
    Ok(Some(Located { record, offset, next_offset: offset + align8(size) }))
}

/// Walks the records of one buffer's valid data, starting after its header.
pub struct RecordWalk<'a> {
    data: &'a [u8],
    offset: usize,
    processor: u16,
    done: bool,
}

impl<'a> RecordWalk<'a> {
    pub fn new(data: &'a [u8], start: usize, processor: u16) -> Self {
        RecordWalk { data, offset: start, processor, done: false }
    }
}

impl<'a> Iterator for RecordWalk<'a> {
    type Item = Result<Located<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match parse_record(self.data, self.offset, self.processor) {
            Ok(Some(located)) => {
                self.offset = located.next_offset;
                Some(Ok(located))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                // The size of a bad record is not known: nothing after it can be found.
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
