//! The model as the tables people query: names, modules and status text
//! resolved, times in ns since the trace start. Names, types and docs of the
//! columns are in schema.rs.
use super::schedule::{cpu_count, cpu_schedules, thread_schedules, ThreadSchedule};
use super::symbolize::{leaf_functions, NamedFrames, ResolvedFrame};
use super::syscall_objects::{CallObjects, ObjectEvent, ObjectKind};
use super::{adjust_reason_name, ModelParts, SyscallRow, TraceModel};
use crate::owners::{ThreadOwners, OWNER_FIELDS};
use crate::processes::ProcessRegistry;
use crate::schema;
use columnar::{
    Bitmap, Column, ColumnType, DataTable, DenseColumn, FieldMap, FieldSource, LazyFields, StrColumnBuilder, UInts,
    Value as Cell, MAX_KEY,
};
use decode::fields::KernelFieldReader;
use decode::ntstatus::{severity, status_name, status_text};
use decode::{Decoder, Value};
use etl::record::RecordId;
use etl::{EtlTrace, RecordRef};
use progress::Progress;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, OnceLock};
use symbols::drivers::known_driver;
use symbols::SymbolResolver;

/// KWAIT_REASON names, as WPA shows them.
const WAIT_REASONS: [&str; 43] = [
    "Executive",
    "FreePage",
    "PageIn",
    "PoolAllocation",
    "DelayExecution",
    "Suspended",
    "UserRequest",
    "WrExecutive",
    "WrFreePage",
    "WrPageIn",
    "WrPoolAllocation",
    "WrDelayExecution",
    "WrSuspended",
    "WrUserRequest",
    "WrSpare0",
    "WrQueue",
    "WrLpcReceive",
    "WrLpcReply",
    "WrVirtualMemory",
    "WrPageOut",
    "WrRendezvous",
    "WrKeyedEvent",
    "WrTerminated",
    "WrProcessInSwap",
    "WrCpuRateControl",
    "WrCalloutStack",
    "WrKernel",
    "WrResource",
    "WrPushLock",
    "WrMutex",
    "WrQuantumEnd",
    "WrDispatchInt",
    "WrPreempted",
    "WrYieldExecution",
    "WrFastMutex",
    "WrGuardedMutex",
    "WrRundown",
    "WrAlertByThreadId",
    "WrDeferredPreempt",
    "WrPhysicalFault",
    "WrIoRing",
    "WrMdlCache",
    "WrRcu",
];

/// KTHREAD_STATE names.
const THREAD_STATES: [&str; 10] = [
    "Initialized",
    "Ready",
    "Running",
    "Standby",
    "Terminated",
    "Waiting",
    "Transition",
    "DeferredReady",
    "GateWaitObsolete",
    "WaitingForProcessInSwap",
];

pub fn wait_reason_name(reason: i8) -> String {
    usize::try_from(reason)
        .ok()
        .and_then(|i| WAIT_REASONS.get(i))
        .map_or_else(|| format!("WaitReason({reason})"), |s| s.to_string())
}

pub fn thread_state_name(state: i8) -> String {
    usize::try_from(state)
        .ok()
        .and_then(|i| THREAD_STATES.get(i))
        .map_or_else(|| format!("State({state})"), |s| s.to_string())
}

/// Collects a table's columns; every column gets one value per row.
struct Builder {
    table: DataTable,
    /// Makes one deferred column: its columns are any of the schema's, in any order.
    scratch: bool,
}

/// Values with their validity mask, filled in one pass from optional values.
fn with_nulls<T: Default>(values: impl IntoIterator<Item = Option<T>>) -> (Vec<T>, Bitmap) {
    let values = values.into_iter();
    let rows = values.size_hint().0;
    let (mut kept, mut validity) = (Vec::with_capacity(rows), Bitmap::with_capacity(rows));
    for value in values {
        validity.push(value.is_some());
        kept.push(value.unwrap_or_default());
    }
    (kept, validity)
}

impl Builder {
    fn new(name: &str) -> Builder {
        Builder { table: DataTable::new(name), scratch: false }
    }

    /// Adds the next column; its doc comes from the schema, which must list it here.
    fn add(&mut self, name: &str, column: Column) {
        let schema = match self.scratch {
            true => schema::table(&self.table.name).and_then(|t| t.column(name)),
            false => schema::table(&self.table.name).and_then(|t| t.columns.get(self.table.columns.len())),
        };
        debug_assert!(
            schema.is_some_and(|c| c.name == name && c.kind == column.column_type()),
            "{}.{name} is not the schema's next column: {schema:?}",
            self.table.name
        );
        let added = self.table.push_column(name, schema.map_or("", |c| c.doc), column);
        debug_assert!(added.is_ok(), "{added:?}");
    }

    /// Stored as narrow as the largest value allows, straight from the rows.
    fn u64s(&mut self, name: &str, values: impl IntoIterator<Item = Option<u64>>) {
        let values = values.into_iter();
        let mut column = Nullable::new(values.size_hint().0);
        values.for_each(|value| column.push(value));
        self.add(name, column.finish());
    }

    fn i64s(&mut self, name: &str, values: impl IntoIterator<Item = Option<i64>>) {
        let (values, validity) = with_nulls(values);
        self.add(name, Column::i64(values).with_validity(validity));
    }

    fn f64s(&mut self, name: &str, values: impl IntoIterator<Item = Option<f64>>) {
        let (values, validity) = with_nulls(values);
        self.add(name, Column::f64(values).with_validity(validity));
    }

    fn times(&mut self, name: &str, values: impl IntoIterator<Item = Option<i64>>) {
        let (values, validity) = with_nulls(values);
        self.add(name, Column::timestamps(values).with_validity(validity));
    }

    fn durations(&mut self, name: &str, values: impl IntoIterator<Item = Option<i64>>) {
        let (values, validity) = with_nulls(values);
        self.add(name, Column::durations(values).with_validity(validity));
    }

    fn statuses(&mut self, name: &str, values: impl IntoIterator<Item = Option<u32>>) {
        let (values, validity) = with_nulls(values);
        self.add(name, Column::statuses(values).with_validity(validity));
    }

    fn addresses(&mut self, name: &str, values: impl IntoIterator<Item = Option<u64>>) {
        let (values, validity) = with_nulls(values);
        self.add(name, Column::addresses(values).with_validity(validity));
    }

    /// The `module` and `offset` columns, in that order, from one lookup a row.
    fn modules_and_offsets<'s>(&mut self, found: impl IntoIterator<Item = (Option<&'s str>, Option<u64>)>) {
        let found = found.into_iter();
        let rows = found.size_hint().0;
        let mut modules = StrColumnBuilder::with_capacity(rows);
        let (mut offsets, mut validity) = (Vec::with_capacity(rows), Bitmap::with_capacity(rows));
        for (module, offset) in found {
            match module {
                Some(m) => modules.push(m),
                None => modules.push_null(),
            }
            offsets.push(offset.unwrap_or_default());
            validity.push(offset.is_some());
        }
        self.add("module", modules.finish());
        self.add("offset", Column::addresses(offsets).with_validity(validity));
    }

    fn texts<S: AsRef<str>>(&mut self, name: &str, values: impl IntoIterator<Item = Option<S>>) {
        let values = values.into_iter();
        let mut b = StrColumnBuilder::with_capacity(values.size_hint().0);
        for v in values {
            match v {
                Some(s) => b.push(s.as_ref()),
                None => b.push_null(),
            }
        }
        self.add(name, b.finish());
    }

    /// Adds the next column, deferred: `make` fills a builder of its own with
    /// it (and may add others, which are dropped) when a query first reads it.
    fn later(
        &mut self,
        name: &'static str,
        rows: usize,
        model: &Arc<TraceModel>,
        make: impl FnOnce(&TraceModel, &mut Builder) + Send + 'static,
    ) {
        let table = self.table.name.clone();
        let kind = schema::table(&table).and_then(|t| t.column(name)).map_or(ColumnType::U64, |c| c.kind);
        let model = model.clone();
        let made = move || {
            let mut b = Builder { table: DataTable::new(&table), scratch: true };
            make(&model, &mut b);
            let column = b.table.columns.into_iter().find(|c| c.name == name);
            column.map_or_else(|| DenseColumn::nulls(kind, rows), |c| c.column.into_dense())
        };
        self.add(name, Column::deferred(kind, rows, Box::new(made)));
    }

    fn finish(self) -> DataTable {
        self.table
    }
}

/// Names and modules at a moment, for every table.
struct Resolve<'m> {
    model: &'m TraceModel,
}

impl<'m> Resolve<'m> {
    fn proc(&self, pid: Option<u32>, ts: i64) -> Option<&'m str> {
        self.model.processes.at(pid?, ts).map(|p| p.name.as_str())
    }

    fn module(&self, pid: Option<u32>, address: u64, ts: i64) -> (Option<&'m str>, Option<u64>) {
        match self.model.modules.lookup(pid.unwrap_or(0), address, ts, self.model.pointer_size) {
            Some(m) => (Some(m.file()), Some(address - m.base)),
            // JIT-compiled code lies in no image: its module is the method's assembly.
            None => match self.model.managed.lookup(pid.unwrap_or(0), address, ts) {
                Some(method) => (method.module.as_deref(), None),
                None => (None, None),
            },
        }
    }
}

fn some_u32(v: Option<u32>) -> Option<u64> {
    v.map(u64::from)
}

pub fn processes(model: &TraceModel) -> DataTable {
    let rows = &model.processes.rows;
    let mut b = Builder::new("processes");
    b.u64s("pid", rows.iter().map(|p| Some(u64::from(p.pid))));
    b.texts("name", rows.iter().map(|p| Some(&p.name)));
    b.texts("command_line", rows.iter().map(|p| Some(&p.command_line)));
    b.u64s("parent_pid", rows.iter().map(|p| some_u32(p.parent_pid)));
    b.u64s("session", rows.iter().map(|p| some_u32(p.session)));
    b.times("start_ts", rows.iter().map(|p| p.start_ts));
    b.times("end_ts", rows.iter().map(|p| p.end_ts));
    b.statuses("exit_code", rows.iter().map(|p| p.exit_code));
    // Only codes with severity bits name a status: 1 is an application's own code, not STATUS_WAIT_1.
    let named = |code: u32| (code >= 0x4000_0000).then(|| status_name(code)).flatten();
    b.texts("exit_status", rows.iter().map(|p| p.exit_code.and_then(named)));
    b.texts("user_sid", rows.iter().map(|p| p.user_sid.as_ref()));
    b.finish()
}

pub fn threads(model: &Arc<TraceModel>) -> DataTable {
    let r = Resolve { model };
    let rows = &model.threads.rows;
    let mut b = Builder::new("threads");
    b.u64s("tid", rows.iter().map(|t| Some(u64::from(t.tid))));
    b.u64s("pid", rows.iter().map(|t| Some(u64::from(t.pid))));
    b.texts("proc", rows.iter().map(|t| r.proc(Some(t.pid), t.start_ts.unwrap_or(0))));
    b.texts("name", rows.iter().map(|t| t.name.as_ref()));
    b.times("start_ts", rows.iter().map(|t| t.start_ts));
    b.times("end_ts", rows.iter().map(|t| t.end_ts));
    b.durations("cpu_ns", rows.iter().map(|t| t.cpu_ns));
    b.u64s("samples", rows.iter().map(|t| Some(t.samples)));
    // The scheduler's columns come from one walk over the switches, made for the first that is read.
    let schedules: Arc<OnceLock<Vec<ThreadSchedule>>> = Arc::default();
    let count = rows.len();
    type Of = fn(&ThreadSchedule) -> u64;
    for (name, of) in [
        ("switches", (|s| s.switches) as Of),
        ("preemptions", |s| s.preemptions),
        ("migrations", |s| s.migrations),
        ("wakeups", |s| s.wakeups),
    ] {
        let schedules = schedules.clone();
        b.later(name, count, model, move |m, b| {
            let all = schedules.get_or_init(|| thread_schedules(m));
            b.u64s(name, all.iter().map(|s| Some(of(s))));
        });
    }
    type TimeOf = fn(&ThreadSchedule) -> i64;
    for (name, of) in [("ready_ns", (|s| s.ready_ns) as TimeOf), ("wait_ns", |s| s.wait_ns)] {
        let schedules = schedules.clone();
        b.later(name, count, model, move |m, b| {
            let all = schedules.get_or_init(|| thread_schedules(m));
            b.durations(name, all.iter().map(|s| Some(of(s))));
        });
    }
    b.finish()
}

/// One row per CPU: busy and idle time, DPC and ISR time, switches and run-queue latency.
pub fn cpus(model: &TraceModel) -> DataTable {
    let rows = cpu_schedules(model);
    let mut b = Builder::new("cpus");
    b.u64s("cpu", rows.iter().map(|c| Some(u64::from(c.cpu))));
    b.durations("busy_ns", rows.iter().map(|c| Some(c.busy_ns)));
    b.durations("idle_ns", rows.iter().map(|c| Some(c.idle_ns)));
    b.f64s(
        "busy_percent",
        rows.iter().map(|c| {
            let traced = c.busy_ns.saturating_add(c.idle_ns);
            (traced > 0).then(|| (c.busy_ns as f64 * 1e5 / traced as f64).round() / 1e3)
        }),
    );
    b.durations("dpc_ns", rows.iter().map(|c| Some(c.dpc_ns)));
    b.durations("isr_ns", rows.iter().map(|c| Some(c.isr_ns)));
    b.u64s("switches", rows.iter().map(|c| Some(c.switches)));
    for (name, p) in [("ready_p50", 50.0), ("ready_p90", 90.0), ("ready_p99", 99.0), ("ready_max", 100.0)] {
        b.durations(name, rows.iter().map(|c| c.ready_percentile(p)));
    }
    b.finish()
}

pub fn modules(model: &TraceModel) -> DataTable {
    let r = Resolve { model };
    let rows = &model.modules.rows;
    let mut b = Builder::new("modules");
    b.u64s("pid", rows.iter().map(|m| Some(u64::from(m.pid))));
    b.texts("proc", rows.iter().map(|m| r.proc(Some(m.pid), m.load_ts.unwrap_or(0))));
    b.addresses("base", rows.iter().map(|m| Some(m.base)));
    b.u64s("size", rows.iter().map(|m| Some(m.size)));
    b.addresses("end", rows.iter().map(|m| Some(m.end())));
    b.texts("path", rows.iter().map(|m| Some(&m.path)));
    b.texts("file", rows.iter().map(|m| Some(m.file())));
    b.u64s("timestamp", rows.iter().map(|m| some_u32(m.timestamp)));
    b.u64s("checksum", rows.iter().map(|m| some_u32(m.checksum)));
    b.texts("pdb", rows.iter().map(|m| m.pdb.as_ref()));
    b.texts("pdb_guid", rows.iter().map(|m| m.pdb_guid.map(|g| g.to_string())));
    b.u64s("pdb_age", rows.iter().map(|m| some_u32(m.pdb_age)));
    let version = |m: &super::modules::Module| model.modules.file_version(m);
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    b.texts("company", rows.iter().map(|m| version(m).and_then(|v| nonempty(&v.company))));
    b.texts("description", rows.iter().map(|m| version(m).and_then(|v| nonempty(&v.description))));
    b.texts("product", rows.iter().map(|m| version(m).and_then(|v| nonempty(&v.product))));
    b.texts("version", rows.iter().map(|m| version(m).and_then(|v| nonempty(&v.version))));
    let known = |m: &super::modules::Module| known_driver(m.file());
    b.texts("vendor", rows.iter().map(|m| known(m).map(|d| d.company)));
    b.texts("category", rows.iter().map(|m| known(m).map(|d| d.category.name())));
    b.texts(
        "altitude",
        rows.iter()
            .map(|m| known(m).filter(|d| !d.altitude.is_empty()).map(|d| format!("{} ({})", d.altitude, d.group))),
    );
    b.times("load_ts", rows.iter().map(|m| m.load_ts));
    b.times("unload_ts", rows.iter().map(|m| m.unload_ts));
    b.finish()
}

pub fn cswitch(model: &Arc<TraceModel>) -> DataTable {
    let rows = model.cswitch.len();
    let mut b = Builder::new("cswitch");
    b.later("cpu", rows, model, |m, b| b.u64s("cpu", m.cswitch.iter().map(|c| Some(u64::from(c.cpu)))));
    b.later("ts", rows, model, |m, b| b.times("ts", m.cswitch.iter().map(|c| Some(c.ts))));
    b.later("end_ts", rows, model, |m, b| b.times("end_ts", m.cswitch.iter().map(|c| Some(c.end_ts))));
    b.later("cpu_ns", rows, model, |m, b| {
        b.durations("cpu_ns", m.cswitch.iter().map(|c| Some(c.end_ts.saturating_sub(c.ts))))
    });
    b.later("tid", rows, model, |m, b| b.u64s("tid", m.cswitch.iter().map(|c| Some(u64::from(c.tid)))));
    b.later("pid", rows, model, |m, b| b.u64s("pid", m.cswitch.iter().map(|c| some_u32(m.cswitch_pid(c)))));
    b.later("proc", rows, model, |m, b| {
        let r = Resolve { model: m };
        b.texts("proc", m.cswitch.iter().map(|c| r.proc(m.cswitch_pid(c), c.ts)))
    });
    b.later("prev_tid", rows, model, |m, b| b.u64s("prev_tid", m.cswitch.iter().map(|c| some_u32(c.prev_tid))));
    b.later("prev_pid", rows, model, |m, b| {
        b.u64s("prev_pid", m.cswitch.iter().map(|c| some_u32(m.cswitch_prev_pid(c))))
    });
    b.later("prev_proc", rows, model, |m, b| {
        let r = Resolve { model: m };
        b.texts("prev_proc", m.cswitch.iter().map(|c| r.proc(m.cswitch_prev_pid(c), c.ts)))
    });
    b.later("wait_reason", rows, model, |m, b| {
        b.texts("wait_reason", m.cswitch.iter().map(|c| c.wait_reason.map(wait_reason_name)))
    });
    b.later("prev_state", rows, model, |m, b| {
        b.texts("prev_state", m.cswitch.iter().map(|c| c.prev_state.map(thread_state_name)))
    });
    b.later("priority", rows, model, |m, b| b.i64s("priority", m.cswitch.iter().map(|c| c.priority.map(i64::from))));
    b.later("ready_ns", rows, model, |m, b| b.durations("ready_ns", m.cswitch.iter().map(|c| m.ready_ns(c))));
    // The readying side of the wakeup that `ready_ns` counts from.
    b.later("readying_tid", rows, model, |m, b| {
        b.u64s("readying_tid", m.cswitch.iter().map(|c| some_u32(m.wakeup_of(c)?.readying_tid())))
    });
    b.later("readying_pid", rows, model, |m, b| {
        b.u64s("readying_pid", m.cswitch.iter().map(|c| some_u32(m.readying_pid(m.wakeup_of(c)?))))
    });
    b.later("readying_proc", rows, model, |m, b| {
        let r = Resolve { model: m };
        let proc = |c| m.wakeup_of(c).and_then(|w| r.proc(m.readying_pid(w), w.ts));
        b.texts("readying_proc", m.cswitch.iter().map(proc))
    });
    b.later("readying_cpu", rows, model, |m, b| {
        b.u64s("readying_cpu", m.cswitch.iter().map(|c| m.wakeup_of(c).map(|w| u64::from(w.cpu))))
    });
    b.later("readying_stack", rows, model, |m, b| {
        b.u64s("readying_stack", m.cswitch.iter().map(|c| m.wakeup_of(c)?.stack().map(u64::from)))
    });
    b.finish()
}

/// The wakeups (ReadyThread events), each column made when a query first reads it.
pub fn wakeups(model: &Arc<TraceModel>) -> DataTable {
    let rows = model.wakeups.len();
    let mut b = Builder::new("wakeups");
    b.later("ts", rows, model, |m, b| b.times("ts", m.wakeups.iter().map(|w| Some(w.ts))));
    b.later("cpu", rows, model, |m, b| b.u64s("cpu", m.wakeups.iter().map(|w| Some(u64::from(w.cpu)))));
    b.later("tid", rows, model, |m, b| b.u64s("tid", m.wakeups.iter().map(|w| Some(u64::from(w.tid)))));
    b.later("pid", rows, model, |m, b| {
        b.u64s("pid", m.wakeups.iter().map(|w| some_u32(m.threads.pid_at(w.tid, w.ts))))
    });
    b.later("proc", rows, model, |m, b| {
        let r = Resolve { model: m };
        b.texts("proc", m.wakeups.iter().map(|w| r.proc(m.threads.pid_at(w.tid, w.ts), w.ts)))
    });
    b.later("readying_tid", rows, model, |m, b| {
        b.u64s("readying_tid", m.wakeups.iter().map(|w| some_u32(w.readying_tid())))
    });
    b.later("readying_pid", rows, model, |m, b| {
        b.u64s("readying_pid", m.wakeups.iter().map(|w| some_u32(m.readying_pid(w))))
    });
    b.later("readying_proc", rows, model, |m, b| {
        let r = Resolve { model: m };
        b.texts("readying_proc", m.wakeups.iter().map(|w| r.proc(m.readying_pid(w), w.ts)))
    });
    b.later("adjust_reason", rows, model, |m, b| {
        b.texts("adjust_reason", m.wakeups.iter().map(|w| Some(adjust_reason_name(w.adjust_reason))))
    });
    b.later("adjust_increment", rows, model, |m, b| {
        b.i64s("adjust_increment", m.wakeups.iter().map(|w| Some(i64::from(w.adjust_increment))))
    });
    b.later("stack", rows, model, |m, b| b.u64s("stack", m.wakeups.iter().map(|w| w.stack().map(u64::from))));
    b.finish()
}

/// The symbol resolver a session shares with its tables' `func` columns,
/// which look functions up when a query first reads them.
pub type SharedResolver = Arc<Mutex<SymbolResolver>>;

/// A row's leaf address: its process, the address and the time.
type Leaf = fn(&TraceModel, usize) -> (Option<u32>, u64, i64);

/// A function column (`func`): the function at each row's leaf address.
fn later_functions(
    b: &mut Builder,
    column: &'static str,
    rows: usize,
    model: &Arc<TraceModel>,
    resolver: &SharedResolver,
    leaf: Leaf,
) {
    let resolver = resolver.clone();
    b.later(column, rows, model, move |m, b| {
        b.add(column, leaf_functions(m, &mut lock(&resolver), (0..rows).map(|row| leaf(m, row))));
    });
}

/// The leaf of the system call an object event belongs to; none (address 0) without one.
fn call_of_object(m: &TraceModel, kind: ObjectKind, row: usize, ts: i64) -> (Option<u32>, u64, i64) {
    match m.syscall_objects.call_of(kind, row).map(|call| &m.syscalls[call]) {
        Some(call) => (m.syscall_pid(call), call.address, call.ts),
        None => (None, 0, ts),
    }
}

/// Each system call's objects, in row order.
fn objects(m: &TraceModel) -> impl Iterator<Item = Option<CallObjects>> + '_ {
    (0..m.syscalls.len()).map(|row| m.syscall_objects.of_call(row).copied())
}

/// The name and status of the object an event names.
fn object_facts<'m>(m: &'m TraceModel, event: &ObjectEvent) -> (Option<&'m str>, Option<u32>) {
    let row = event.row as usize;
    match event.kind {
        ObjectKind::File => m.fileio.get(row).map_or((None, None), |f| (f.file.as_deref(), f.status)),
        ObjectKind::Key => m.registry.get(row).map_or((None, None), |k| (k.key.as_deref(), k.status)),
        ObjectKind::Process | ObjectKind::Thread | ObjectKind::Image => {
            (m.created.get(row).map(|c| c.name.as_str()), None)
        }
    }
}

/// The system calls, each column made when a query first reads it.
pub fn syscalls(model: &Arc<TraceModel>, resolver: &SharedResolver) -> DataTable {
    let rows = model.syscalls.len();
    let mut b = Builder::new("syscalls");
    b.later("ts", rows, model, |m, b| b.times("ts", m.syscalls.iter().map(|s| Some(s.ts))));
    b.later("end_ts", rows, model, |m, b| b.times("end_ts", m.syscalls.iter().map(SyscallRow::end_ts)));
    b.later("duration_ns", rows, model, |m, b| {
        b.durations("duration_ns", m.syscalls.iter().map(SyscallRow::duration_ns))
    });
    b.later("cpu", rows, model, |m, b| b.u64s("cpu", m.syscalls.iter().map(|s| Some(u64::from(s.cpu)))));
    b.later("pid", rows, model, |m, b| b.u64s("pid", m.syscalls.iter().map(|s| some_u32(m.syscall_pid(s)))));
    b.later("tid", rows, model, |m, b| b.u64s("tid", m.syscalls.iter().map(|s| some_u32(s.tid()))));
    b.later("proc", rows, model, |m, b| {
        let r = Resolve { model: m };
        b.texts("proc", m.syscalls.iter().map(|s| r.proc(m.syscall_pid(s), s.ts)))
    });
    b.later("address", rows, model, |m, b| b.addresses("address", m.syscalls.iter().map(|s| Some(s.address))));
    for column in ["module", "offset"] {
        b.later(column, rows, model, |m, b| {
            let r = Resolve { model: m };
            b.modules_and_offsets(m.syscalls.iter().map(|s| r.module(m.syscall_pid(s), s.address, s.ts)))
        });
    }
    later_functions(&mut b, "func", rows, model, resolver, |m, row| {
        let s = &m.syscalls[row];
        (m.syscall_pid(s), s.address, s.ts)
    });
    b.later("ret", rows, model, |m, b| b.statuses("ret", m.syscalls.iter().map(|s| s.ret())));
    b.later("status", rows, model, |m, b| b.texts("status", m.syscalls.iter().map(|s| s.ret().map(status_text))));
    b.later("severity", rows, model, |m, b| b.texts("severity", m.syscalls.iter().map(|s| s.ret().map(severity))));
    b.later("object", rows, model, |m, b| {
        b.texts("object", objects(m).map(|o| o.and_then(|o| object_facts(m, &o.first).0)))
    });
    b.later("object_kind", rows, model, |m, b| {
        b.texts("object_kind", objects(m).map(|o| o.map(|o| o.first.kind.name())))
    });
    b.later("object_status", rows, model, |m, b| {
        b.texts("object_status", objects(m).map(|o| o.and_then(|o| object_facts(m, &o.first).1).map(status_text)))
    });
    b.later("object_count", rows, model, |m, b| {
        b.u64s("object_count", objects(m).map(|o| Some(o.map_or(0, |o| u64::from(o.count)))))
    });
    b.later("stack", rows, model, |m, b| b.u64s("stack", m.syscalls.iter().map(|s| s.stack().map(u64::from))));
    b.finish()
}

/// The samples, each column made when a query first reads it.
pub fn samples(model: &Arc<TraceModel>, resolver: &SharedResolver) -> DataTable {
    let rows = model.samples.len();
    let mut b = Builder::new("samples");
    b.later("ts", rows, model, |m, b| b.times("ts", m.samples.iter().map(|s| Some(s.ts))));
    b.later("cpu", rows, model, |m, b| b.u64s("cpu", m.samples.iter().map(|s| Some(u64::from(s.cpu)))));
    b.later("pid", rows, model, |m, b| b.u64s("pid", m.samples.iter().map(|s| some_u32(s.pid()))));
    b.later("tid", rows, model, |m, b| b.u64s("tid", m.samples.iter().map(|s| Some(u64::from(s.tid)))));
    b.later("proc", rows, model, |m, b| {
        let r = Resolve { model: m };
        b.texts("proc", m.samples.iter().map(|s| r.proc(s.pid(), s.ts)))
    });
    b.later("ip", rows, model, |m, b| b.addresses("ip", m.samples.iter().map(|s| Some(s.ip))));
    for column in ["module", "offset"] {
        b.later(column, rows, model, |m, b| {
            let r = Resolve { model: m };
            b.modules_and_offsets(m.samples.iter().map(|s| r.module(s.pid(), s.ip, s.ts)))
        });
    }
    later_functions(&mut b, "func", rows, model, resolver, |m, row| {
        let s = &m.samples[row];
        (s.pid(), s.ip, s.ts)
    });
    b.later("weight_ns", rows, model, |m, b| {
        b.durations("weight_ns", m.samples.iter().map(|_| Some(m.sample_weight_ns)))
    });
    b.later("stack", rows, model, |m, b| b.u64s("stack", m.samples.iter().map(|s| s.stack().map(u64::from))));
    b.finish()
}

pub fn stacks(model: &TraceModel, names: &NamedFrames) -> DataTable {
    let r = Resolve { model };
    let rows = &model.stack_rows;
    let (mut modules, mut funcs, mut texts) =
        (StrColumnBuilder::new(), StrColumnBuilder::new(), StrColumnBuilder::new());
    for s in rows {
        let frames: Vec<ResolvedFrame> =
            names.stack(s.pid, s.stack).unwrap_or(&[]).iter().filter_map(|&id| names.frame(id)).collect();
        let mut seen: Vec<&str> = Vec::new();
        for m in frames.iter().filter_map(|f| f.module.as_deref()) {
            if !seen.contains(&m) {
                seen.push(m);
            }
        }
        modules.push(&joined(seen));
        funcs.push(&joined(frames.iter().filter_map(|f| f.func.as_deref())));
        let text: Vec<String> = frames.iter().map(ResolvedFrame::text).collect();
        texts.push(&text.join(" <- "));
    }
    let mut b = Builder::new("stacks");
    b.times("ts", rows.iter().map(|s| Some(s.ts)));
    b.u64s("pid", rows.iter().map(|s| Some(u64::from(s.pid))));
    b.u64s("tid", rows.iter().map(|s| Some(u64::from(s.tid))));
    b.texts("proc", rows.iter().map(|s| r.proc(Some(s.pid), s.ts)));
    b.u64s("stack", rows.iter().map(|s| Some(u64::from(s.stack))));
    b.u64s("depth", rows.iter().map(|s| Some(model.stacks.frames(s.stack).len() as u64)));
    b.add("module", modules.finish());
    b.add("func", funcs.finish());
    b.add("frames", texts.finish());
    b.finish()
}

/// Separator-wrapped list: `|a|b|`, so that `contains "|a|"` matches one whole item.
fn joined<'s>(items: impl IntoIterator<Item = &'s str>) -> String {
    let mut out = String::from("|");
    for item in items {
        out.push_str(item);
        out.push('|');
    }
    out
}

/// One row per frame of every stack (per process it occurs in); depth 0 is the innermost frame.
pub fn frames(names: &NamedFrames) -> DataTable {
    let (mut stack, mut pid, mut depth, mut address, mut offset) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut module, mut func, mut text, mut mark) = (vec![], vec![], vec![], vec![]);
    for ((p, s), ids) in names.all_stacks() {
        for (d, f) in ids.iter().filter_map(|&id| names.frame(id)).enumerate() {
            stack.push(Some(u64::from(s)));
            pid.push(Some(u64::from(p)));
            depth.push(Some(d as u64));
            address.push(Some(f.address));
            offset.push(f.module_offset);
            module.push(f.module.clone());
            func.push(f.func.clone());
            text.push(Some(f.text()));
            mark.push(f.mark.clone());
        }
    }
    let mut b = Builder::new("frames");
    b.u64s("stack", stack);
    b.u64s("pid", pid);
    b.u64s("depth", depth);
    b.addresses("address", address);
    b.texts("module", module);
    b.texts("func", func);
    b.addresses("offset", offset);
    b.texts("frame", text);
    b.texts("mark", mark);
    b.finish()
}

pub fn diskio(model: &TraceModel) -> DataTable {
    let r = Resolve { model };
    let rows = &model.diskio;
    let mut b = Builder::new("diskio");
    b.times("ts", rows.iter().map(|d| Some(d.ts)));
    b.u64s("pid", rows.iter().map(|d| some_u32(d.pid)));
    b.u64s("tid", rows.iter().map(|d| some_u32(d.tid)));
    b.texts("proc", rows.iter().map(|d| r.proc(d.pid, d.ts)));
    b.texts("op", rows.iter().map(|d| Some(d.op)));
    b.u64s("disk", rows.iter().map(|d| Some(u64::from(d.disk))));
    b.u64s("size", rows.iter().map(|d| Some(u64::from(d.size))));
    b.i64s("offset", rows.iter().map(|d| Some(d.offset)));
    b.texts("file", rows.iter().map(|d| d.file.as_ref()));
    b.durations("duration_ns", rows.iter().map(|d| Some(d.duration_ns)));
    b.finish()
}

pub fn fileio(model: &Arc<TraceModel>, resolver: &SharedResolver) -> DataTable {
    let r = Resolve { model };
    let rows = &model.fileio;
    let mut b = Builder::new("fileio");
    b.times("ts", rows.iter().map(|f| Some(f.ts)));
    b.times("end_ts", rows.iter().map(|f| f.end_ts));
    b.durations("duration_ns", rows.iter().map(|f| f.end_ts.map(|e| e - f.ts)));
    b.u64s("pid", rows.iter().map(|f| some_u32(f.pid)));
    b.u64s("tid", rows.iter().map(|f| some_u32(f.tid)));
    b.texts("proc", rows.iter().map(|f| r.proc(f.pid, f.ts)));
    b.texts("op", rows.iter().map(|f| Some(&f.op)));
    b.texts("file", rows.iter().map(|f| f.file.as_ref()));
    b.u64s("size", rows.iter().map(|f| f.size.map(u64::from)));
    b.i64s("offset", rows.iter().map(|f| f.offset));
    b.statuses("ret", rows.iter().map(|f| f.status));
    b.texts("status", rows.iter().map(|f| f.status.map(status_text)));
    later_functions(&mut b, "syscall", rows.len(), model, resolver, |m, row| {
        call_of_object(m, ObjectKind::File, row, m.fileio[row].ts)
    });
    b.finish()
}

/// Registry operations, with the system call each belongs to.
pub fn registry(model: &Arc<TraceModel>, resolver: &SharedResolver) -> DataTable {
    let r = Resolve { model };
    let rows = &model.registry;
    let mut b = Builder::new("registry");
    b.times("ts", rows.iter().map(|k| Some(k.ts)));
    b.u64s("pid", rows.iter().map(|k| some_u32(k.pid)));
    b.u64s("tid", rows.iter().map(|k| some_u32(k.tid)));
    b.texts("proc", rows.iter().map(|k| r.proc(k.pid, k.ts)));
    b.texts("op", rows.iter().map(|k| Some(k.op)));
    b.texts("key", rows.iter().map(|k| k.key.as_ref()));
    b.statuses("ret", rows.iter().map(|k| k.status));
    b.texts("status", rows.iter().map(|k| k.status.map(status_text)));
    later_functions(&mut b, "syscall", rows.len(), model, resolver, |m, row| {
        call_of_object(m, ObjectKind::Key, row, m.registry[row].ts)
    });
    b.finish()
}

/// DPCs and ISRs, each column made when a query first reads it.
pub fn dpcisr(model: &Arc<TraceModel>, resolver: &SharedResolver) -> DataTable {
    let rows = model.dpcs.len();
    let mut b = Builder::new("dpcisr");
    b.later("ts", rows, model, |m, b| b.times("ts", m.dpcs.iter().map(|d| Some(d.ts))));
    b.later("end_ts", rows, model, |m, b| b.times("end_ts", m.dpcs.iter().map(|d| Some(d.end_ts))));
    b.later("duration_ns", rows, model, |m, b| {
        b.durations("duration_ns", m.dpcs.iter().map(|d| Some(d.end_ts.saturating_sub(d.ts))))
    });
    b.later("cpu", rows, model, |m, b| b.u64s("cpu", m.dpcs.iter().map(|d| Some(u64::from(d.cpu)))));
    b.later("kind", rows, model, |m, b| b.texts("kind", m.dpcs.iter().map(|d| Some(d.kind.name()))));
    b.later("routine", rows, model, |m, b| b.addresses("routine", m.dpcs.iter().map(|d| Some(d.routine))));
    for column in ["module", "offset"] {
        b.later(column, rows, model, |m, b| {
            let r = Resolve { model: m };
            b.modules_and_offsets(m.dpcs.iter().map(|d| r.module(Some(0), d.routine, d.ts)))
        });
    }
    // Routines are kernel code: the System process's modules.
    later_functions(&mut b, "func", rows, model, resolver, |m, row| (Some(0), m.dpcs[row].routine, m.dpcs[row].ts));
    b.later("vector", rows, model, |m, b| b.u64s("vector", m.dpcs.iter().map(|d| d.vector.map(u64::from))));
    b.finish()
}

pub fn hardfaults(model: &TraceModel) -> DataTable {
    let r = Resolve { model };
    let rows = &model.hardfaults;
    let mut b = Builder::new("hardfaults");
    b.times("ts", rows.iter().map(|h| Some(h.ts)));
    b.u64s("pid", rows.iter().map(|h| some_u32(h.pid)));
    b.u64s("tid", rows.iter().map(|h| some_u32(h.tid)));
    b.texts("proc", rows.iter().map(|h| r.proc(h.pid, h.ts)));
    b.addresses("address", rows.iter().map(|h| Some(h.address)));
    b.texts("file", rows.iter().map(|h| h.file.as_ref()));
    b.u64s("offset", rows.iter().map(|h| Some(h.offset)));
    b.u64s("size", rows.iter().map(|h| Some(u64::from(h.size))));
    b.finish()
}

/// A decoded field as a table cell.
fn cell(value: &Value) -> Cell {
    match value {
        Value::I8(v) => Cell::I64(i64::from(*v)),
        Value::I16(v) => Cell::I64(i64::from(*v)),
        Value::I32(v) => Cell::I64(i64::from(*v)),
        Value::I64(v) => Cell::I64(*v),
        Value::U8(v) => Cell::U64(u64::from(*v)),
        Value::U16(v) => Cell::U64(u64::from(*v)),
        Value::U32(v) => Cell::U64(u64::from(*v)),
        Value::U64(v) => Cell::U64(*v),
        Value::Pointer(v) | Value::Hex(v) => Cell::Address(*v),
        Value::Bool(b) => Cell::Bool(*b),
        Value::F32(v) => Cell::F64(f64::from(*v)),
        Value::F64(v) => Cell::F64(*v),
        Value::Str(s) => Cell::Str(s.as_str().into()),
        other => Cell::Str(other.to_string().into()),
    }
}

/// Every event: its header facts and names, decoded once here; its payload
/// fields (`fields.Name`) are decoded again when a query reads them, for the
/// rows it reads, so the table holds eight bytes a row for them.
/// It needs only the trace's processes (`build::processes`), not the model.
/// `meter` counts the records as the walk takes them; None when it was asked to stop.
/// The events table, and the names of the fields its events have (what
/// `fields.X` may name), found as each kind of event is first met.
pub fn events(
    processes: &ProcessRegistry,
    trace: &Arc<EtlTrace>,
    decoder: &Arc<Mutex<Decoder>>,
    meter: &Progress,
) -> Option<(DataTable, Vec<String>)> {
    let mut owners = ThreadOwners::default();
    let rows = trace.record_count();
    // Values straight into column form: a row costs what the columns keep, nothing more.
    let (mut cpu, mut opcode) = (UInts::with_capacity(rows), UInts::with_capacity(rows));
    let (mut pid, mut tid, mut id) = (Nullable::new(rows), Nullable::new(rows), Nullable::new(rows));
    let (mut provider, mut event, mut proc) = (
        StrColumnBuilder::with_capacity(rows),
        StrColumnBuilder::with_capacity(rows),
        StrColumnBuilder::with_capacity(rows),
    );
    let mut decoder_guard = lock(decoder);
    // Kernel events, most of a big trace, are named without decoding their payload.
    let mut owner_fields = KernelFieldReader::new(OWNER_FIELDS);
    // Dictionary codes of each kernel class's names and of each process's
    // name, found once instead of hashing three strings a row.
    let mut class_codes: FxHashMap<(u8, u8, u16), (u32, u32)> = FxHashMap::default();
    let mut process_codes: FxHashMap<usize, u32> = FxHashMap::default();
    // Field names, from one event of each kind: kernel classes (and their
    // schemas), and of the rest each provider, event, version and field count.
    let mut field_names: std::collections::BTreeSet<String> = Default::default();
    let mut named_kinds: rustc_hash::FxHashSet<(u32, u32, u16, usize)> = Default::default();
    let mut walk = trace.records().counting(meter);
    // Records the index lists but that do not parse: none in a sound trace.
    let mut unreadable = 0usize;
    while let Some(at) = walk.next_ref() {
        let Some(record) = trace.record_at(at) else {
            unreadable += 1;
            continue;
        };
        // A kernel event of a known class: its names' codes and owner fields without its payload.
        let kernel_class = match (record.id, owner_fields.read(&record)) {
            (RecordId::Kernel { group, opcode }, Some(fields)) => {
                let codes = match class_codes.entry((group, opcode, record.version)) {
                    Entry::Occupied(known) => Some(*known.get()),
                    Entry::Vacant(new) => {
                        // The class's every field, those a short payload leaves out included.
                        let class = decode::kernel::lookup(group, opcode, record.version);
                        let schema = class.iter().flat_map(|c| c.fields.iter().map(|f| f.name.as_str()));
                        field_names.extend(schema.filter(|name| !name.is_empty()).map(str::to_string));
                        let fields = decoder_guard.decode(&record).fields;
                        field_names.extend(fields.iter().map(|(name, _)| name.to_string()));
                        decoder_guard
                            .decode_names(&record)
                            .map(|e| *new.insert((provider.intern(&e.provider), event.intern(&e.name))))
                    }
                };
                codes.map(|codes| (group, opcode, fields, codes))
            }
            _ => None,
        };
        let (p, t, event_id, event_opcode) = match kernel_class {
            Some((group, opcode, fields, (provider_code, event_code))) => {
                provider.push_code(provider_code);
                event.push_code(event_code);
                let (p, t) = owners.ids_of_kernel_event(&record, &fields);
                (p, t, Some(u32::from(group) << 8 | u32::from(opcode)), opcode)
            }
            None => {
                let e = decoder_guard.decode(&record);
                let kind = (provider.intern(&e.provider), event.intern(&e.name), record.version, e.fields.len());
                provider.push_code(kind.0);
                event.push_code(kind.1);
                if named_kinds.insert(kind) {
                    field_names.extend(e.fields.iter().map(|(name, _)| name.to_string()));
                }
                let (p, t) = owners.ids(&e);
                (p, t, e.id(), e.opcode())
            }
        };
        let time = trace.clock.ns_since_start(record.timestamp);
        cpu.push(u64::from(record.processor));
        pid.push(p.map(u64::from));
        tid.push(t.map(u64::from));
        id.push(event_id.map(u64::from));
        opcode.push(u64::from(event_opcode));
        match p.and_then(|p| processes.at(p, time)) {
            Some(process) => {
                let code = *process_codes
                    .entry(std::ptr::from_ref(process) as usize)
                    .or_insert_with(|| proc.intern(&process.name));
                proc.push_code(code);
            }
            None => proc.push_null(),
        }
    }
    drop(decoder_guard);
    if meter.stopped() {
        return None;
    }
    let rows = cpu.len();
    // The time and the place of each record are in the trace's index: read
    // again from there when a query reads them, they cost nothing until then.
    // In a sound trace every row is one of the index's records, in its order,
    // and the index says its time and place without parsing it again.
    let sound = unreadable == 0;
    let (walk_trace, fields_trace, decoder) = (trace.clone(), trace.clone(), decoder.clone());
    let ts = Column::deferred(
        ColumnType::Timestamp,
        rows,
        Box::new(move || {
            let trace = walk_trace;
            let mut times = Vec::with_capacity(rows);
            for_each_row_place(&trace, sound, |at| times.push(trace.clock.ns_since_start(at.timestamp)));
            Column::timestamps(times).into_dense()
        }),
    );
    let fields = Column::deferred(
        ColumnType::Fields,
        rows,
        Box::new(move || event_fields(fields_trace, decoder, sound).into_dense()),
    );
    let mut b = Builder::new("events");
    b.add("ts", ts);
    b.add("cpu", Column::uints(cpu));
    b.add("pid", pid.finish());
    b.add("tid", tid.finish());
    b.add("proc", proc.finish());
    b.add("provider", provider.finish());
    b.add("event", event.finish());
    b.add("id", id.finish());
    b.add("opcode", Column::uints(opcode));
    b.add("fields", fields);
    Some((b.finish(), field_names.into_iter().collect()))
}

/// A u64 column filled row by row, with its validity mask beside it.
struct Nullable {
    values: UInts,
    validity: Bitmap,
}

impl Nullable {
    fn new(rows: usize) -> Nullable {
        Nullable { values: UInts::with_capacity(rows), validity: Bitmap::with_capacity(rows) }
    }

    fn push(&mut self, value: Option<u64>) {
        self.values.push(value.unwrap_or_default());
        self.validity.push(value.is_some());
    }

    fn finish(self) -> Column {
        Column::uints(self.values).with_validity(self.validity)
    }
}

/// The events table's fields: each record's place, its payload decoded when
/// a query reads that row's fields.
fn event_fields(trace: Arc<EtlTrace>, decoder: Arc<Mutex<Decoder>>, sound: bool) -> Column {
    // None once a record lies beyond what a key can say (a buffer over 16 MiB).
    let mut keys = Some(Vec::with_capacity(trace.record_count()));
    for_each_row_place(&trace, sound, |at| match (EventFields::key(at), &mut keys) {
        (Some(key), Some(keys)) => keys.push(key),
        _ => keys = None,
    });
    match keys {
        Some(keys) => Column::lazy_fields(LazyFields::new(Arc::new(EventFields { trace, decoder }), keys)),
        // Every payload is decoded now instead.
        None => Column::fields(all_fields(&trace, &mut lock(&decoder))),
    }
}

/// Where each row of the events table lies, in row order: every record of
/// the index in time order; unless the trace is not `sound`, those that parse.
fn for_each_row_place(trace: &EtlTrace, sound: bool, mut each: impl FnMut(RecordRef)) {
    let mut walk = trace.records();
    while let Some(at) = walk.next_ref() {
        if sound || trace.record_at(at).is_some() {
            each(at);
        }
    }
}

/// The decoder or the resolver; a panic elsewhere while it was held leaves it usable.
fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every record's fields, decoded now in time order: the eager form of the
/// events table's fields column (and the reference its tests compare with).
pub fn all_fields(trace: &EtlTrace, decoder: &mut Decoder) -> Vec<FieldMap> {
    trace.records().map(|record| field_map(&decoder.decode(&record))).collect()
}

fn field_map(event: &decode::Event<'_>) -> FieldMap {
    event.fields.iter().map(|(name, value)| (Arc::from(name.as_ref()), cell(value))).collect()
}

/// Decodes an event's payload again, from where its record lies in the trace.
struct EventFields {
    trace: Arc<EtlTrace>,
    decoder: Arc<Mutex<Decoder>>,
}

/// A record's place as a key: its buffer above, its offset in the buffer in the low 24 bits.
const OFFSET_BITS: u32 = 24;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;

impl EventFields {
    fn key(at: RecordRef) -> Option<u64> {
        let key = (u64::from(at.buffer) << OFFSET_BITS) | u64::from(at.offset);
        (u64::from(at.offset) <= OFFSET_MASK && key <= MAX_KEY).then_some(key)
    }
}

impl FieldSource for EventFields {
    fn fields(&self, key: u64) -> FieldMap {
        let at = RecordRef { timestamp: 0, buffer: (key >> OFFSET_BITS) as u32, offset: (key & OFFSET_MASK) as u32 };
        match self.trace.record_at(at) {
            Some(record) => field_map(&lock(&self.decoder).decode(&record)),
            None => Arc::from(Vec::new()),
        }
    }
}

/// The parts of the model that table `name` is built from.
pub fn parts_for(name: &str) -> ModelParts {
    match name {
        // The I/O tables name the system call each operation belongs to.
        "syscalls" | "fileio" | "registry" => ModelParts { syscalls: true, ..ModelParts::NONE },
        // Threads count their samples.
        "samples" | "threads" => ModelParts { samples: true, ..ModelParts::NONE },
        "dpcisr" | "cpus" => ModelParts { dpcs: true, ..ModelParts::NONE },
        // Stack rows are the stacks no sample or system call claimed.
        "stacks" | "frames" => ModelParts { syscalls: true, samples: true, dpcs: false },
        _ => ModelParts::NONE,
    }
}

/// The tables built from named stack frames (`NamedFrames`).
/// They list every stack's frames, so every stack is named first.
pub const NEED_FRAME_NAMES: [&str; 2] = ["stacks", "frames"];
/// The tables whose function names come from the symbols: made again when the symbol path changes.
pub const NAME_FUNCTIONS: [&str; 7] = ["syscalls", "samples", "stacks", "frames", "fileio", "registry", "dpcisr"];

/// Builds one table of a trace by name; None for a name the schema does not know.
/// `names` must be given for the tables in `NEED_FRAME_NAMES`; `resolver`
/// names the functions of the others when a query reads them.
pub fn build(
    name: &str,
    model: &Arc<TraceModel>,
    trace: &Arc<EtlTrace>,
    decoder: &Arc<Mutex<Decoder>>,
    names: Option<&NamedFrames>,
    resolver: &SharedResolver,
) -> Option<DataTable> {
    let named = || names.expect("the tables in NEED_FRAME_NAMES are built with frame names");
    Some(match name {
        "events" => events(&model.processes, trace, decoder, &Progress::new())?.0,
        "processes" => processes(model),
        "threads" => threads(model),
        "modules" => modules(model),
        "cswitch" => cswitch(model),
        "wakeups" => wakeups(model),
        "syscalls" => syscalls(model, resolver),
        "samples" => samples(model, resolver),
        "stacks" => stacks(model, named()),
        "frames" => frames(named()),
        "diskio" => diskio(model),
        "fileio" => fileio(model, resolver),
        "registry" => registry(model, resolver),
        "dpcisr" => dpcisr(model, resolver),
        "cpus" => cpus(model),
        "hardfaults" => hardfaults(model),
        _ => return None,
    })
}

/// How many rows a table will have, counted from the model without building it.
pub fn row_count(name: &str, model: &TraceModel, trace: &EtlTrace) -> Option<usize> {
    Some(match name {
        "events" => trace.record_count(),
        "processes" => model.processes.rows.len(),
        "threads" => model.threads.rows.len(),
        "modules" => model.modules.rows.len(),
        "cswitch" => model.cswitch.len(),
        "wakeups" => model.wakeups.len(),
        "syscalls" => model.syscalls.len(),
        "samples" => model.samples.len(),
        "stacks" => model.stack_rows.len(),
        "frames" => frame_rows(model),
        "diskio" => model.diskio.len(),
        "fileio" => model.fileio.len(),
        "registry" => model.registry.len(),
        "dpcisr" => model.dpcs.len(),
        "cpus" => cpu_count(model),
        "hardfaults" => model.hardfaults.len(),
        _ => return None,
    })
}

/// The frames table's rows: every frame of each stack once per process it occurs in.
fn frame_rows(model: &TraceModel) -> usize {
    let mut seen = std::collections::HashSet::new();
    let occurrences = model
        .stack_rows
        .iter()
        .map(|s| (s.pid, Some(s.stack)))
        .chain(model.samples.iter().map(|s| (s.pid().unwrap_or(0), s.stack())))
        .chain(model.syscalls.iter().map(|s| (model.syscall_pid(s).unwrap_or(0), s.stack())))
        .chain(model.wakeups.iter().map(|w| (model.readying_pid(w).unwrap_or(0), w.stack())));
    occurrences
        .filter_map(|(pid, stack)| Some((pid, stack?)))
        .filter(|key| seen.insert(*key))
        .map(|(_, stack)| model.stacks.frames(stack).len())
        .sum()
}
