//! Disk and file I/O and hard page faults, with file names from the FileIo
//! name and rundown events.
use decode::{Event, Value};
use rustc_hash::FxHashMap as HashMap;

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
    names_by_key: HashMap<u64, Vec<(i64, String)>>,
    names_by_object: HashMap<u64, Vec<(i64, String)>>,
    open_by_irp: HashMap<u64, usize>,
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
    fn remember(&mut self, table: Table, row: usize, ts: i64, event: &Event) {
        let (key, object) = (uint(event, "FileKey"), uint(event, "FileObject"));
        if key.is_some() || object.is_some() {
            self.unnamed.push(Unnamed { table, row, ts, key, object });
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

    /// Gives every row the file name its key or file object had at its time.
    pub fn finish(&mut self) {
        // Longest prefixes first, so \Device\HarddiskVolume10 is not taken for ...Volume1.
        self.volumes.sort_by_key(|(nt, _)| std::cmp::Reverse(nt.len()));
        for u in std::mem::take(&mut self.unnamed) {
            let by_key = u.key.and_then(|k| name_at(&self.names_by_key, k, u.ts));
            let name = by_key.or_else(|| u.object.and_then(|o| name_at(&self.names_by_object, o, u.ts)));
            let name = name.map(|n| self.dos_path(n));
            match u.table {
                Table::Disk => self.disk[u.row].file = name,
                Table::File => self.file[u.row].file = name,
                Table::HardFault => self.hard_faults[u.row].file = name,
            }
        }
    }

    /// `pid_of` maps a thread to its process at this time; `ticks_to_ns` converts clock ticks.
    pub fn apply(
        &mut self,
        event: &Event,
        ts: i64,
        pid_of: impl Fn(u32) -> Option<u32>,
        ticks_to_ns: impl Fn(i64) -> i64,
    ) {
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
                if let Some(i) = uint(event, "IrpPtr").and_then(|irp| self.open_by_irp.remove(&irp)) {
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
                    self.open_by_irp.insert(irp, self.file.len());
                }
                self.remember(Table::File, self.file.len(), ts, event);
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
                self.remember(Table::Disk, self.disk.len(), ts, event);
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
                self.remember(Table::HardFault, self.hard_faults.len(), ts, event);
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
