//! Disk and file I/O and hard page faults, with file names from the FileIo
//! name and rundown events. File operations come from the classic kernel
//! FileIo class and from the Microsoft-Windows-Kernel-File provider.
use decode::{Event, Value};
use etl::{Guid, RecordId};
use rustc_hash::FxHashMap as HashMap;

/// Microsoft-Windows-Kernel-File, the manifest provider of file operations.
pub const KERNEL_FILE: Guid =
    Guid::from_fields(0xedd08927, 0x9cc4, 0x4e65, [0xb9, 0x70, 0xc2, 0x56, 0x0f, 0xb5, 0xc2, 0x89]);

/// Whether a record is a Microsoft-Windows-Kernel-File event: a test of the
/// header alone, for the pass that picks the records the ordered pass reads.
pub fn is_kernel_file(id: &RecordId) -> bool {
    matches!(id, RecordId::Event { provider, .. } if *provider == KERNEL_FILE)
}

/// Where a file operation row came from, the preferred first: the same
/// operation logged by two of them is one operation (see `IoBuilder::finish`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Source {
    /// The kernel logger's FileIo class.
    Classic,
    /// Kernel-File's operation events (Create, Read, SetDelete, ...).
    KernelFile,
    /// Kernel-File's events that repeat an operation under keywords of their
    /// own: CreateNewFile (a Create), DeletePath, RenamePath, SetLinkPath.
    KernelFilePath,
}

/// A Kernel-File event id (the task of the same number in the provider's
/// manifest; 29 is a second Rename event) as the op the classic FileIo event
/// of the same meaning is named, and its source. 10, 11 (names) and 24
/// (OperationEnd) make no row.
fn kernel_file_op(id: u16) -> Option<(&'static str, Source)> {
    use Source::{KernelFile as Op, KernelFilePath as Path};
    Some(match id {
        12 => ("Create", Op),
        13 => ("Cleanup", Op),
        14 => ("Close", Op),
        15 => ("Read", Op),
        16 => ("Write", Op),
        17 => ("SetInfo", Op),
        // SetDelete: the classic class logs a FileDispositionInformation as Delete.
        18 => ("Delete", Op),
        19 | 29 => ("Rename", Op),
        20 => ("DirEnum", Op),
        21 => ("Flush", Op),
        22 => ("QueryInfo", Op),
        23 => ("FSControl", Op),
        25 => ("DirNotify", Op),
        26 => ("Delete", Path),
        27 => ("Rename", Path),
        // A hard link is a SetInformation (FileLinkInformation).
        28 => ("SetInfo", Path),
        30 => ("Create", Path),
        31 => ("SetSecurity", Op),
        32 => ("QuerySecurity", Op),
        33 => ("SetEA", Op),
        34 => ("QueryEA", Op),
        _ => return None,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct DiskIoRow {
    /// Completion time, ns since trace start.
    pub ts: i64,
    pub tid: Option<u32>,
    pub pid: Option<u32>,
    /// Read, Write or FlushBuffers.
    pub op: &'static str,
    pub disk: u32,
    pub size: u32,
    pub offset: i64,
    pub file: Option<String>,
    pub duration_ns: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileIoRow {
    pub ts: i64,
    /// When OperationEnd reported the result; None if it never came.
    pub end_ts: Option<i64>,
    pub tid: Option<u32>,
    pub pid: Option<u32>,
    pub op: String,
    pub file: Option<String>,
    pub size: Option<u32>,
    pub offset: Option<i64>,
    pub status: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HardFaultRow {
    pub ts: i64,
    pub tid: Option<u32>,
    pub pid: Option<u32>,
    pub address: u64,
    pub file: Option<String>,
    pub offset: u64,
    pub size: u32,
}

fn uint(event: &Event, name: &str) -> Option<u64> {
    event.field(name).and_then(Value::as_u64)
}

#[derive(Clone, Copy)]
enum Table {
    Disk,
    File,
    HardFault,
}

/// A row whose file name is looked up once every name event is known.
struct Unnamed {
    table: Table,
    row: usize,
    ts: i64,
    /// The NT path the event names itself (Kernel-File's Create, DeletePath).
    path: Option<String>,
    key: Option<u64>,
    object: Option<u64>,
}

/// Builds the I/O tables from DiskIo, FileIo and PageFault/HardFault events in
/// time order. File names often arrive later than the I/O (the FileRundown at
/// the end of a trace), so names are resolved in `finish`.
#[derive(Default)]
pub struct IoBuilder {
    pub disk: Vec<DiskIoRow>,
    pub file: Vec<FileIoRow>,
    pub hard_faults: Vec<HardFaultRow>,
    /// The source of each row of `file`.
    file_sources: Vec<Source>,
    names_by_key: HashMap<u64, Vec<(i64, String)>>,
    names_by_object: HashMap<u64, Vec<(i64, String)>>,
    /// Rows waiting for their OperationEnd, by source and IRP: each source's
    /// OperationEnd completes its own rows.
    open_by_irp: HashMap<(Source, u64), usize>,
    unnamed: Vec<Unnamed>,
    /// NT device prefixes and their drive letters (SysConfig VolumeMapping).
    volumes: Vec<(String, String)>,
}

/// The name a key had at `ts`: the last one given at or before it, else the first after.
fn name_at(names: &HashMap<u64, Vec<(i64, String)>>, key: u64, ts: i64) -> Option<&String> {
    let list = names.get(&key)?;
    let after = list.partition_point(|(t, _)| *t <= ts);
    let at = if after > 0 { after - 1 } else { 0 };
    list.get(at).map(|(_, name)| name)
}

impl IoBuilder {
    fn remember(&mut self, table: Table, row: usize, ts: i64, event: &Event, path: Option<String>) {
        let (key, object) = (uint(event, "FileKey"), uint(event, "FileObject"));
        if path.is_some() || key.is_some() || object.is_some() {
            self.unnamed.push(Unnamed { table, row, ts, path, key, object });
        }
    }

    /// `\Device\HarddiskVolume2\x` as `C:\x`, as Explorer shows it.
    fn dos_path(&self, name: &str) -> String {
        for (nt, dos) in &self.volumes {
            if let Some(rest) = name.strip_prefix(nt.as_str()) {
                return format!("{dos}{rest}");
            }
        }
        name.to_string()
    }

    /// Gives every row the file name its event, key or file object had at its
    /// time, and keeps one source's rows of each file operation.
    pub fn finish(&mut self) {
        // Longest prefixes first, so \Device\HarddiskVolume10 is not taken for ...Volume1.
        self.volumes.sort_by_key(|(nt, _)| std::cmp::Reverse(nt.len()));
        for u in std::mem::take(&mut self.unnamed) {
            let by_key = || u.key.and_then(|k| name_at(&self.names_by_key, k, u.ts));
            let name = u.path.as_ref().or_else(by_key);
            let name = name.or_else(|| u.object.and_then(|o| name_at(&self.names_by_object, o, u.ts)));
            let name = name.map(|n| self.dos_path(n));
            match u.table {
                Table::Disk => self.disk[u.row].file = name,
                Table::File => self.file[u.row].file = name,
                Table::HardFault => self.hard_faults[u.row].file = name,
            }
        }
        self.keep_one_source_per_op();
    }

    /// The classic FileIo class and Kernel-File log the same operations when a
    /// trace enables both, and Kernel-File's path events (CreateNewFile,
    /// DeletePath, ...) repeat its operation events: counted once each, an
    /// operation keeps the rows of the first source in `Source` order that
    /// logged any (a trace with classic Create events keeps no Kernel-File
    /// Create; its Kernel-File Reads stay if it has no classic Read).
    fn keep_one_source_per_op(&mut self) {
        let mut best: HashMap<&str, Source> = HashMap::default();
        for (row, &source) in self.file.iter().zip(&self.file_sources) {
            let at = best.entry(row.op.as_str()).or_insert(source);
            *at = (*at).min(source);
        }
        let keep: Vec<bool> =
            self.file.iter().zip(&self.file_sources).map(|(row, source)| best[row.op.as_str()] == *source).collect();
        let mut keep = keep.into_iter();
        self.file.retain(|_| keep.next().unwrap_or(true));
        self.file_sources.clear();
    }

    /// A Microsoft-Windows-Kernel-File event (`id`: its descriptor's), by the
    /// field names of its manifest: Irp, FileObject, FileKey, IssuingThreadId
    /// (ThreadId in version 0), ByteOffset, IOSize, Length, Status.
    fn kernel_file(&mut self, event: &Event, id: u16, ts: i64, pid_of: impl Fn(u32) -> Option<u32>) {
        let text = |name| event.field(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        match id {
            // NameCreate and NameDelete: a file key and its name.
            10 | 11 => {
                if let (Some(key), Some(name)) = (uint(event, "FileKey"), text("FileName")) {
                    self.names_by_key.entry(key).or_default().push((ts, name));
                }
                return;
            }
            24 => {
                let Some(irp) = uint(event, "Irp") else { return };
                let status = uint(event, "Status").map(|s| s as u32);
                for source in [Source::KernelFile, Source::KernelFilePath] {
                    if let Some(i) = self.open_by_irp.remove(&(source, irp)) {
                        self.file[i].end_ts = Some(ts);
                        self.file[i].status = status;
                    }
                }
                return;
            }
            _ => {}
        }
        let Some((op, source)) = kernel_file_op(id) else { return };
        // Create and CreateNewFile name the file they open; DeletePath the one it deletes.
        let path = match id {
            12 | 30 => text("FileName"),
            26 => text("FilePath"),
            _ => None,
        };
        if let (Some(object), Some(path), 12 | 30) = (uint(event, "FileObject"), &path, id) {
            self.names_by_object.entry(object).or_default().push((ts, path.clone()));
        }
        let header_tid = event.record.thread_id.filter(|&t| t != u32::MAX);
        let tid = uint(event, "IssuingThreadId").or_else(|| uint(event, "ThreadId")).map(|t| t as u32).or(header_tid);
        // The header names the process of the thread that logged the event.
        let header_pid = event.record.process_id.filter(|&p| p != u32::MAX);
        let pid = if tid == header_tid { header_pid.or_else(|| tid.and_then(&pid_of)) } else { tid.and_then(&pid_of) };
        if let Some(irp) = uint(event, "Irp") {
            self.open_by_irp.insert((source, irp), self.file.len());
        }
        self.remember(Table::File, self.file.len(), ts, event, path);
        self.file_sources.push(source);
        self.file.push(FileIoRow {
            ts,
            end_ts: None,
            tid,
            pid,
            op: op.to_string(),
            file: None,
            size: uint(event, "IOSize").or_else(|| uint(event, "Length")).map(|s| s as u32),
            offset: event.field("ByteOffset").and_then(Value::as_i64),
            status: None,
        });
    }

    /// `pid_of` maps a thread to its process at this time; `ticks_to_ns` converts clock ticks.
    pub fn apply(
        &mut self,
        event: &Event,
        ts: i64,
        pid_of: impl Fn(u32) -> Option<u32>,
        ticks_to_ns: impl Fn(i64) -> i64,
    ) {
        if let RecordId::Event { provider, descriptor } = event.record.id {
            if provider == KERNEL_FILE {
                self.kernel_file(event, descriptor.id, ts, pid_of);
            }
            return;
        }
        let Some((task, op)) = event.name.split_once('/') else { return };
        if event.provider != "Windows Kernel" {
            return;
        }
        if op == "VolumeMapping" {
            let text = |name| event.field(name).and_then(Value::as_str).map(str::to_string);
            if let (Some(nt), Some(dos)) = (text("NtPath"), text("DosPath")) {
                // Both end in a backslash; only device paths with a drive letter are useful.
                if nt.starts_with("\\Device\\") && !dos.is_empty() {
                    self.volumes.push((nt, dos));
                }
            }
            return;
        }
        let header_tid = event.record.thread_id.filter(|&t| t != u32::MAX);
        match (task, op) {
            ("FileIo", "Name" | "FileCreate" | "FileRundown") => {
                if let (Some(key), Some(name)) =
                    (uint(event, "FileKey"), event.field("FileName").and_then(Value::as_str))
                {
                    self.names_by_key.entry(key).or_default().push((ts, name.to_string()));
                }
            }
            ("FileIo", "OperationEnd") => {
                let irp = uint(event, "IrpPtr");
                if let Some(i) = irp.and_then(|irp| self.open_by_irp.remove(&(Source::Classic, irp))) {
                    self.file[i].end_ts = Some(ts);
                    self.file[i].status = uint(event, "NtStatus").map(|s| s as u32);
                }
            }
            ("FileIo", "FileDelete" | "MapFile" | "UnmapFile" | "MapFileDCStart" | "MapFileDCEnd") => {}
            ("FileIo", _) => {
                if op == "Create" {
                    if let (Some(object), Some(path)) =
                        (uint(event, "FileObject"), event.field("OpenPath").and_then(Value::as_str))
                    {
                        self.names_by_object.entry(object).or_default().push((ts, path.to_string()));
                    }
                }
                let tid = uint(event, "TTID").map(|t| t as u32).or(header_tid);
                if let Some(irp) = uint(event, "IrpPtr") {
                    self.open_by_irp.insert((Source::Classic, irp), self.file.len());
                }
                self.remember(Table::File, self.file.len(), ts, event, None);
                self.file_sources.push(Source::Classic);
                self.file.push(FileIoRow {
                    ts,
                    end_ts: None,
                    tid,
                    pid: tid.and_then(&pid_of),
                    op: op.to_string(),
                    file: None,
                    size: uint(event, "IoSize").or_else(|| uint(event, "Length")).map(|s| s as u32),
                    offset: event.field("Offset").and_then(Value::as_i64),
                    status: None,
                });
            }
            ("DiskIo", "Read" | "Write" | "FlushBuffers") => {
                let tid = uint(event, "IssuingThreadId").map(|t| t as u32).or(header_tid);
                let op = match op {
                    "Read" => "Read",
                    "Write" => "Write",
                    _ => "Flush",
                };
                self.remember(Table::Disk, self.disk.len(), ts, event, None);
                self.disk.push(DiskIoRow {
                    ts,
                    tid,
                    pid: tid.and_then(&pid_of),
                    op,
                    disk: uint(event, "DiskNumber").unwrap_or(0) as u32,
                    size: uint(event, "TransferSize").unwrap_or(0) as u32,
                    offset: event.field("ByteOffset").and_then(Value::as_i64).unwrap_or(0),
                    file: None,
                    duration_ns: ticks_to_ns(uint(event, "HighResResponseTime").unwrap_or(0) as i64),
                });
            }
            ("PageFault", "HardFault") => {
                let tid = uint(event, "TThreadId").map(|t| t as u32).or(header_tid);
                self.remember(Table::HardFault, self.hard_faults.len(), ts, event, None);
                self.hard_faults.push(HardFaultRow {
                    ts,
                    tid,
                    pid: tid.and_then(&pid_of),
                    address: uint(event, "VirtualAddress").unwrap_or(0),
                    file: None,
                    offset: uint(event, "ReadOffset").unwrap_or(0),
                    size: uint(event, "ByteCount").unwrap_or(0) as u32,
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decode::name::Name;
    use decode::SchemaSource;
    use etl::record::EventDescriptor;
    use etl::{HeaderKind, Record};

    const HEADER_TID: u32 = 7;
    const HEADER_PID: u32 = 70;

    fn record(id: RecordId) -> Record<'static> {
        Record {
            kind: HeaderKind::EventHeader64,
            id,
            version: 0,
            marker_flags: 0,
            flags: 0,
            event_property: 0,
            thread_id: Some(HEADER_TID),
            process_id: Some(HEADER_PID),
            processor: 0,
            timestamp: 0,
            cpu_time: 0,
            activity_id: None,
            instance: None,
            extended: Default::default(),
            payload: &[],
        }
    }

    fn event(
        id: RecordId,
        provider: &'static str,
        name: &'static str,
        fields: Vec<(&'static str, Value)>,
    ) -> Event<'static> {
        Event {
            record: record(id),
            provider: Name::Static(provider),
            name: Name::Static(name),
            fields: fields.into_iter().map(|(n, v)| (Name::Static(n), v)).collect(),
            source: SchemaSource::EmbeddedMetadata,
        }
    }

    /// A Kernel-File event as the trace's metadata names it.
    fn kernel_file(id: u16, name: &'static str, fields: Vec<(&'static str, Value)>) -> Event<'static> {
        let descriptor = EventDescriptor { id, version: 1, ..Default::default() };
        event(RecordId::Event { provider: KERNEL_FILE, descriptor }, "Microsoft-Windows-Kernel-File", name, fields)
    }

    /// A classic FileIo event (group 4).
    fn classic(opcode: u8, name: &'static str, fields: Vec<(&'static str, Value)>) -> Event<'static> {
        let mut e = event(RecordId::Kernel { group: 4, opcode }, "Windows Kernel", name, fields);
        e.source = SchemaSource::Kernel;
        e
    }

    fn ptr(v: u64) -> Value {
        Value::Pointer(v)
    }

    fn text(s: &str) -> Value {
        Value::Str(s.to_string())
    }

    fn apply(io: &mut IoBuilder, event: &Event, ts: i64) {
        io.apply(event, ts, |tid| Some(tid * 10), |ticks| ticks);
    }

    fn kf_create(irp: u64, object: u64, tid: u32, name: &str) -> Event<'static> {
        kernel_file(
            12,
            "Create",
            vec![
                ("Irp", ptr(irp)),
                ("FileObject", ptr(object)),
                ("IssuingThreadId", Value::U32(tid)),
                ("CreateOptions", Value::U32(0x0100_0020)),
                ("CreateAttributes", Value::U32(0)),
                ("ShareAccess", Value::U32(7)),
                ("FileName", text(name)),
            ],
        )
    }

    fn kf_read(irp: u64, key: u64, offset: u64, size: u32) -> Event<'static> {
        kernel_file(
            15,
            "Read",
            vec![
                ("ByteOffset", Value::U64(offset)),
                ("Irp", ptr(irp)),
                ("FileObject", ptr(0xf0)),
                ("FileKey", ptr(key)),
                ("IssuingThreadId", Value::U32(HEADER_TID)),
                ("IOSize", Value::U32(size)),
            ],
        )
    }

    fn kf_end(irp: u64, status: u32) -> Event<'static> {
        kernel_file(
            24,
            "OperationEnd",
            vec![("Irp", ptr(irp)), ("ExtraInformation", ptr(0)), ("Status", Value::U32(status))],
        )
    }

    fn volume(io: &mut IoBuilder, ts: i64) {
        let mapping = event(
            RecordId::Kernel { group: 11, opcode: 35 },
            "Windows Kernel",
            "SysConfig/VolumeMapping",
            vec![("NtPath", text("\\Device\\HarddiskVolume2\\")), ("DosPath", text("C:\\"))],
        );
        apply(io, &mapping, ts);
    }

    #[test]
    fn operation_end_completes_the_row_of_its_irp() {
        let mut io = IoBuilder::default();
        apply(&mut io, &kf_read(0xa, 1, 4096, 512), 10);
        apply(&mut io, &kf_read(0xb, 1, 0, 64), 20);
        apply(&mut io, &kf_end(0xb, 0xC000_0011), 25);
        apply(&mut io, &kf_end(0xa, 0), 30);
        // An OperationEnd of no open IRP, and a classic one of the same IRP as a later
        // Kernel-File row: neither completes anything.
        apply(&mut io, &kf_end(0xc, 5), 31);
        apply(&mut io, &kf_read(0xa, 1, 8192, 512), 40);
        apply(
            &mut io,
            &classic(76, "FileIo/OperationEnd", vec![("IrpPtr", ptr(0xa)), ("NtStatus", Value::Hex(1))]),
            45,
        );
        io.finish();
        let got: Vec<_> = io.file.iter().map(|r| (r.ts, r.end_ts, r.status, r.offset, r.size)).collect();
        assert_eq!(
            got,
            vec![
                (10, Some(30), Some(0), Some(4096), Some(512)),
                (20, Some(25), Some(0xC000_0011), Some(0), Some(64)),
                (40, None, None, Some(8192), Some(512)),
            ]
        );
        assert!(io.file.iter().all(|r| r.op == "Read" && r.tid == Some(HEADER_TID) && r.pid == Some(HEADER_PID)));
    }

    #[test]
    fn kernel_file_rows_are_named_by_their_path_key_or_object() {
        let mut io = IoBuilder::default();
        apply(&mut io, &kf_create(0x1, 0xf0, HEADER_TID, "\\Device\\HarddiskVolume2\\a.txt"), 10);
        // Read of a key named later (NameCreate), and a Cleanup known only by its object.
        apply(&mut io, &kf_read(0x2, 0x55, 0, 1), 20);
        let cleanup =
            kernel_file(13, "Cleanup", vec![("Irp", ptr(0x3)), ("FileObject", ptr(0xf0)), ("FileKey", ptr(0x66))]);
        apply(&mut io, &cleanup, 30);
        let name = kernel_file(
            10,
            "NameCreate",
            vec![("FileKey", ptr(0x55)), ("FileName", text("\\Device\\HarddiskVolume2\\b.txt"))],
        );
        apply(&mut io, &name, 40);
        // VolumeMapping comes at the end of a kernel trace.
        volume(&mut io, 50);
        io.finish();
        let got: Vec<_> = io.file.iter().map(|r| (r.op.as_str(), r.file.as_deref())).collect();
        assert_eq!(
            got,
            vec![("Create", Some("C:\\a.txt")), ("Read", Some("C:\\b.txt")), ("Cleanup", Some("C:\\a.txt"))]
        );
    }

    #[test]
    fn an_issuing_thread_other_than_the_logger_takes_its_process_from_the_thread_registry() {
        let mut io = IoBuilder::default();
        apply(&mut io, &kf_create(0x1, 0xf0, 9, "x"), 10);
        assert_eq!((io.file[0].tid, io.file[0].pid), (Some(9), Some(90)));
    }

    #[test]
    fn an_operation_logged_by_both_classes_is_counted_once_from_the_classic_one() {
        let mut io = IoBuilder::default();
        let classic_create = classic(
            64,
            "FileIo/Create",
            vec![
                ("IrpPtr", ptr(0x1)),
                ("FileObject", ptr(0xf0)),
                ("TTID", Value::U32(HEADER_TID)),
                ("OpenPath", text("\\Device\\HarddiskVolume2\\a.txt")),
            ],
        );
        apply(&mut io, &classic_create, 10);
        apply(&mut io, &kf_create(0x1, 0xf0, HEADER_TID, "\\Device\\HarddiskVolume2\\a.txt"), 10);
        apply(&mut io, &kf_end(0x1, 0), 12);
        apply(
            &mut io,
            &classic(76, "FileIo/OperationEnd", vec![("IrpPtr", ptr(0x1)), ("NtStatus", Value::Hex(0))]),
            12,
        );
        // Reads come from Kernel-File alone: they stay.
        apply(&mut io, &kf_read(0x2, 0x55, 0, 1), 20);
        // No classic Close was logged: the Kernel-File Close stays.
        let close = kernel_file(14, "Close", vec![("Irp", ptr(0x4)), ("FileObject", ptr(0xf0))]);
        apply(&mut io, &close, 30);
        io.finish();
        let got: Vec<_> = io.file.iter().map(|r| (r.ts, r.op.as_str(), r.end_ts)).collect();
        assert_eq!(got, vec![(10, "Create", Some(12)), (20, "Read", None), (30, "Close", None)]);
        assert_eq!(io.file[0].file.as_deref(), Some("\\Device\\HarddiskVolume2\\a.txt"));
    }

    #[test]
    fn kernel_file_path_events_count_only_when_their_operation_event_was_not_logged() {
        let create_new = |irp| {
            kernel_file(
                30,
                "CreateNewFile",
                vec![("Irp", ptr(irp)), ("FileObject", ptr(0xf1)), ("FileName", text("n"))],
            )
        };
        let delete_path = kernel_file(26, "DeletePath", vec![("Irp", ptr(0x7)), ("FilePath", text("gone"))]);
        let mut io = IoBuilder::default();
        apply(&mut io, &kf_create(0x5, 0xf1, HEADER_TID, "n"), 10);
        apply(&mut io, &create_new(0x5), 10);
        apply(&mut io, &kf_end(0x5, 0), 11);
        apply(&mut io, &delete_path, 20);
        io.finish();
        let got: Vec<_> = io.file.iter().map(|r| (r.op.as_str(), r.file.as_deref(), r.end_ts)).collect();
        // One Create (the operation event, completed); DeletePath is the only Delete.
        assert_eq!(got, vec![("Create", Some("n"), Some(11)), ("Delete", Some("gone"), None)]);

        let mut io = IoBuilder::default();
        apply(&mut io, &create_new(0x5), 10);
        apply(&mut io, &kf_end(0x5, 0), 11);
        io.finish();
        let got: Vec<_> = io.file.iter().map(|r| (r.op.as_str(), r.end_ts)).collect();
        assert_eq!(got, vec![("Create", Some(11))]);
    }

    #[test]
    fn events_of_other_manifest_providers_make_no_rows() {
        let mut io = IoBuilder::default();
        let descriptor = EventDescriptor { id: 12, ..Default::default() };
        let other = Guid::from_fields(1, 2, 3, [4; 8]);
        let e =
            event(RecordId::Event { provider: other, descriptor }, "Other", "Create", vec![("FileName", text("x"))]);
        apply(&mut io, &e, 1);
        io.finish();
        assert!(io.file.is_empty());
        assert!(!is_kernel_file(&e.record.id));
        assert!(is_kernel_file(&kf_end(1, 0).record.id));
    }
}
