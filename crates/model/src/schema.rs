//! The tables and their columns, as data: the one place a column is named,
//! typed and explained. The table builders (tables.rs) take their docs from
//! here, and `--help`, `.schema`, completion and the README's table section
//! are made from it, so none of them can drift from what a query sees.
use columnar::ColumnType;

/// One column of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSchema {
    pub name: &'static str,
    pub kind: ColumnType,
    pub doc: &'static str,
}

/// One table: its name, what one row is, and its columns in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableSchema {
    pub name: &'static str,
    /// "one row per ..."
    pub row: &'static str,
    pub columns: &'static [ColumnSchema],
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&'static ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Every table a trace offers, in the order `.tables` and `--help` list them.
pub fn tables() -> &'static [TableSchema] {
    TABLES
}

/// A table's schema by name.
pub fn table(name: &str) -> Option<&'static TableSchema> {
    TABLES.iter().find(|t| t.name == name)
}

const fn column(name: &'static str, kind: ColumnType, doc: &'static str) -> ColumnSchema {
    ColumnSchema { name, kind, doc }
}

use ColumnType::*;

const TABLES: &[TableSchema] = &[
    TableSchema {
        name: "events",
        row: "decoded event",
        columns: &[
            column("ts", Timestamp, "time"),
            column("cpu", U64, "processor"),
            column("pid", U64, "process (null: none known; Windows writes -1 for none)"),
            column("tid", U64, "thread (null: none known; Windows writes -1 for none)"),
            column("proc", Str, "process name"),
            column("provider", Str, "provider name"),
            column("event", Str, "event name (Task/Opcode)"),
            column("id", U64, "event id (kernel: hook id)"),
            column("opcode", U64, "opcode"),
            column("fields", Fields, "decoded fields: fields.Name"),
        ],
    },
    TableSchema {
        name: "processes",
        row: "process lifetime (a reused pid gives two rows)",
        columns: &[
            column("pid", U64, "process id"),
            column("name", Str, "image file name"),
            column("command_line", Str, "command line"),
            column("parent_pid", U64, "parent process id"),
            column("session", U64, "terminal session"),
            column("start_ts", Timestamp, "started (null: before the trace)"),
            column("end_ts", Timestamp, "ended (null: after the trace)"),
            column("exit_code", Status, "exit code, in hex"),
            column("exit_status", Str, "the exit code's NTSTATUS name, for codes with severity bits (0xC0000005: STATUS_ACCESS_VIOLATION)"),
            column("user_sid", Str, "user SID where recorded"),
        ],
    },
    TableSchema {
        name: "threads",
        row: "thread lifetime",
        columns: &[
            column("tid", U64, "thread id"),
            column("pid", U64, "process id"),
            column("proc", Str, "process name"),
            column("name", Str, "thread name"),
            column("start_ts", Timestamp, "started (null: before the trace)"),
            column("end_ts", Timestamp, "ended (null: after the trace)"),
            column("cpu_ns", Duration, "CPU time from context switches"),
            column("samples", U64, "profile samples on this thread"),
            column("switches", U64, "times it was switched in"),
            column("preemptions", U64, "switch-outs that left it runnable (Ready, Standby): preempted, or it yielded"),
            column("migrations", U64, "switch-ins on another CPU than its previous one"),
            column("wakeups", U64, "ReadyThreads that made it ready (wakeups table)"),
            column("ready_ns", Duration, "time ready to run: its switch-ins' cswitch.ready_ns, and a wait open at the trace end"),
            column(
                "wait_ns",
                Duration,
                "time from each switch-out in the Waiting state to its next switch-in, less that switch-in's ready time",
            ),
        ],
    },
    TableSchema {
        name: "modules",
        row: "image loaded in a process (kernel modules under pid 0)",
        columns: &[
            column("pid", U64, "process id (0: kernel modules)"),
            column("proc", Str, "process name"),
            column("base", Address, "image base"),
            column("size", U64, "image size"),
            column("end", Address, "base + size"),
            column("path", Str, "file path"),
            column("file", Str, "file name"),
            column("timestamp", U64, "PE TimeDateStamp"),
            column("checksum", U64, "PE checksum"),
            column("pdb", Str, "PDB file name (KernelTraceControl DbgID_RSDS)"),
            column("pdb_guid", Str, "PDB GUID"),
            column("pdb_age", U64, "PDB age"),
            column("company", Str, "CompanyName of its version resource (KernelTraceControl FileVersion)"),
            column("description", Str, "FileDescription"),
            column("product", Str, "ProductName"),
            column("version", Str, "FileVersion"),
            column("vendor", Str, "company of a driver the driver atlas knows (file-system filters, antivirus and EDR)"),
            column("category", Str, "its category: antivirus (anti-virus filters and EDR sensors), activity monitor, encryption, backup, replication, virtualization, HSM, ..."),
            column("altitude", Str, "its minifilter altitude and load order group"),
            column("load_ts", Timestamp, "loaded (null: before the trace)"),
            column("unload_ts", Timestamp, "unloaded (null: still loaded)"),
        ],
    },
    TableSchema {
        name: "cswitch",
        row: "interval a thread ran on a CPU (a CPU's first: from the trace start to its first switch)",
        columns: &[
            column("cpu", U64, "processor"),
            column("ts", Timestamp, "switched in"),
            column("end_ts", Timestamp, "switched out (the next switch on this CPU, or the trace end)"),
            column("cpu_ns", Duration, "time on the CPU"),
            column("tid", U64, "thread that ran"),
            column("pid", U64, "its process"),
            column("proc", Str, "its process name"),
            column("prev_tid", U64, "thread that ran before (null: the CPU's first interval)"),
            column("prev_pid", U64, "its process"),
            column("prev_proc", Str, "its process name"),
            column("wait_reason", Str, "why this thread left the CPU (KWAIT_REASON)"),
            column("prev_state", Str, "state the previous thread was left in"),
            column("priority", I64, "priority of the thread switched in (null: the CPU's first interval)"),
            column(
                "ready_ns",
                Duration,
                "time ready: since its last switch-out if that left it runnable, else since the ReadyThread that ended its wait; null when neither says",
            ),
            column(
                "readying_tid",
                U64,
                "thread that logged that ReadyThread: the one running on its CPU (null: unknown)",
            ),
            column("readying_pid", U64, "its process"),
            column("readying_proc", Str, "its process name"),
            column("readying_cpu", U64, "the CPU that ReadyThread was logged on"),
            column("readying_stack", U64, "stack id of the readying thread at that ReadyThread (stacks table)"),
        ],
    },
    TableSchema {
        name: "wakeups",
        row: "ReadyThread: a thread made ready to run (who woke whom)",
        columns: &[
            column("ts", Timestamp, "made ready"),
            column("cpu", U64, "processor the event was logged on: the readying thread's"),
            column("tid", U64, "thread made ready"),
            column("pid", U64, "its process"),
            column("proc", Str, "its process name"),
            column(
                "readying_tid",
                U64,
                "thread running on that CPU, which readied it (0: idle, a DPC or timer there; null: unknown)",
            ),
            column("readying_pid", U64, "its process"),
            column("readying_proc", Str, "its process name"),
            column(
                "adjust_reason",
                Str,
                "priority adjustment: None (increment ignored), Unwait (decays each quantum), Boost (decays whole)",
            ),
            column("adjust_increment", I64, "by how much the priority is adjusted"),
            column("stack", U64, "stack id of the readying thread at the event (stacks table)"),
        ],
    },
    TableSchema {
        name: "syscalls",
        row: "system call",
        columns: &[
            column("ts", Timestamp, "entered"),
            column("end_ts", Timestamp, "returned (null: no exit recorded)"),
            column("duration_ns", Duration, "time in the call"),
            column("cpu", U64, "processor at entry"),
            column("pid", U64, "process (null: no context switch says)"),
            column("tid", U64, "thread (null: no context switch says)"),
            column("proc", Str, "process name"),
            column("address", Address, "system service address"),
            column("module", Str, "module of the address"),
            column("offset", Address, "offset in the module"),
            column("func", Str, "function of the address (null: no symbols)"),
            column("ret", Status, "NTSTATUS returned, in hex"),
            column("status", Str, "its name"),
            column(
                "severity",
                Str,
                "success, informational, warning or error (NT_ERROR: a failure); STATUS_TIMEOUT and STATUS_PENDING are successes",
            ),
            column("object", Str, "file, registry key, process, thread or image the call touched: its first (null: none)"),
            column("object_kind", Str, "file, key, process, thread or image"),
            column("object_status", Str, "the status the object's operation reported"),
            column("object_count", U64, "objects the call touched"),
            column("stack", U64, "stack id (stacks table)"),
        ],
    },
    TableSchema {
        name: "samples",
        row: "profile sample",
        columns: &[
            column("ts", Timestamp, "sampled"),
            column("cpu", U64, "processor"),
            column("pid", U64, "process"),
            column("tid", U64, "thread"),
            column("proc", Str, "process name"),
            column("ip", Address, "instruction pointer"),
            column("module", Str, "module of the IP"),
            column("offset", Address, "offset in the module"),
            column("func", Str, "function of the IP (null: no symbols)"),
            column("weight_ns", Duration, "the profile interval this sample stands for"),
            column("stack", U64, "stack id (stacks table)"),
        ],
    },
    TableSchema {
        name: "stacks",
        row: "stack joined to its event",
        columns: &[
            column("ts", Timestamp, "time of the event the stack belongs to"),
            column("pid", U64, "process"),
            column("tid", U64, "thread"),
            column("proc", Str, "process name"),
            column("stack", U64, "stack id"),
            column("depth", U64, "frames"),
            column("module", Str, "modules of its frames, as |a.dll|b.sys|; `module = X` means a frame in X"),
            column("func", Str, "functions of its frames, innermost first, as |f|g|; `func = F` means a frame in F"),
            column("frames", Str, "its frames, innermost first, joined by \" <- \""),
        ],
    },
    TableSchema {
        name: "frames",
        row: "frame of a stack",
        columns: &[
            column("stack", U64, "stack id (stacks table)"),
            column("pid", U64, "process the stack occurred in"),
            column("depth", U64, "0: the innermost frame (the IP), counting outward to the thread start"),
            column("address", Address, "return address (the IP at depth 0)"),
            column("module", Str, "module file name (null: in no module)"),
            column("func", Str, "function (null: no symbols)"),
            column("offset", Address, "offset in the module"),
            column("frame", Str, "module!function+0xoffset, module!<PDB not found> or 0xaddress"),
            column("mark", Str, "a driver the driver atlas knows: category (company)"),
        ],
    },
    TableSchema {
        name: "diskio",
        row: "disk I/O",
        columns: &[
            column("ts", Timestamp, "completed"),
            column("pid", U64, "process"),
            column("tid", U64, "issuing thread"),
            column("proc", Str, "process name"),
            column("op", Str, "Read, Write or Flush"),
            column("disk", U64, "disk number"),
            column("size", U64, "bytes"),
            column("offset", I64, "byte offset on disk"),
            column("file", Str, "file name"),
            column("duration_ns", Duration, "response time"),
        ],
    },
    // From the classic kernel FileIo class and from Microsoft-Windows-Kernel-File;
    // an operation both log (or that Kernel-File logs twice, as Create and
    // CreateNewFile) keeps one source's rows: classic first (io.rs, Source).
    TableSchema {
        name: "fileio",
        row: "file operation",
        columns: &[
            column("ts", Timestamp, "started"),
            column("end_ts", Timestamp, "completed (OperationEnd)"),
            column("duration_ns", Duration, "time to complete"),
            column("pid", U64, "process"),
            column("tid", U64, "thread"),
            column("proc", Str, "process name"),
            column("op", Str, "operation, named as the classic FileIo event: Create, Read, SetInfo, Delete, ..."),
            column("file", Str, "file name"),
            column("size", U64, "bytes"),
            column("offset", I64, "file offset"),
            column("ret", Status, "NTSTATUS, in hex"),
            column("status", Str, "its name"),
            column("syscall", Str, "function of the system call the operation was made in (null: none known)"),
        ],
    },
    TableSchema {
        name: "registry",
        row: "registry operation",
        columns: &[
            column("ts", Timestamp, "completed"),
            column("pid", U64, "process"),
            column("tid", U64, "thread"),
            column("proc", Str, "process name"),
            column("op", Str, "operation (Open, Create, QueryValue, SetValue, ...)"),
            column("key", Str, "the key's full name; a value operation adds the value's name"),
            column("ret", Status, "NTSTATUS, in hex"),
            column("status", Str, "its name"),
            column("syscall", Str, "function of the system call the operation was made in (null: none known)"),
        ],
    },
    TableSchema {
        name: "dpcisr",
        row: "deferred procedure call (DPC) or interrupt service routine (ISR)",
        columns: &[
            column("ts", Timestamp, "entered (InitialTime)"),
            column("end_ts", Timestamp, "returned (the event's time)"),
            column("duration_ns", Duration, "time in the routine"),
            column("cpu", U64, "processor"),
            column("kind", Str, "DPC, ThreadedDPC, TimerDPC or ISR"),
            column("routine", Address, "the routine's address"),
            column("module", Str, "module of the routine"),
            column("offset", Address, "offset in the module"),
            column("func", Str, "function of the routine (null: no symbols)"),
            column("vector", U64, "interrupt vector (ISR only)"),
        ],
    },
    TableSchema {
        name: "cpus",
        row: "processor",
        columns: &[
            column("cpu", U64, "processor"),
            column("busy_ns", Duration, "time threads other than the idle thread ran"),
            column("idle_ns", Duration, "time the idle thread ran"),
            column("busy_percent", F64, "busy share of the time the switches cover"),
            column("dpc_ns", Duration, "time in DPCs (a DPC's time includes the ISRs that interrupted it)"),
            column("isr_ns", Duration, "time in ISRs"),
            column("switches", U64, "context switches on this CPU"),
            column("ready_p50", Duration, "median ready time of the switch-ins here that have one"),
            column("ready_p90", Duration, "90th percentile ready time"),
            column("ready_p99", Duration, "99th percentile ready time"),
            column("ready_max", Duration, "longest ready time"),
        ],
    },
    TableSchema {
        name: "hardfaults",
        row: "hard page fault",
        columns: &[
            column("ts", Timestamp, "completed"),
            column("pid", U64, "process"),
            column("tid", U64, "thread"),
            column("proc", Str, "process name"),
            column("address", Address, "faulting virtual address"),
            column("file", Str, "file read"),
            column("offset", U64, "offset in the file"),
            column("size", U64, "bytes read"),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_column_is_explained() {
        let mut names: Vec<&str> = tables().iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tables().len());
        for t in tables() {
            assert!(!t.row.is_empty());
            for (i, c) in t.columns.iter().enumerate() {
                assert!(!c.doc.is_empty(), "{}.{} has no doc", t.name, c.name);
                assert!(t.columns[..i].iter().all(|o| o.name != c.name), "{}.{} twice", t.name, c.name);
            }
        }
    }
}
