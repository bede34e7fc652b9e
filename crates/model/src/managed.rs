//! .NET code compiled at run time: the CLR logs each JIT-compiled method's
//! address range and name (MethodLoadVerbose, MethodUnloadVerbose, and the
//! rundown's MethodDCStartVerbose/MethodDCEndVerbose), and each module's file
//! (ModuleLoad, ModuleDCStart/DCEnd). Addresses in no image are looked up here:
//! per process, alive at the time asked, since a range is reused after an unload.
use decode::clr::code_events::*;
use decode::clr::{PROVIDER_GUID as RUNTIME, RUNDOWN_PROVIDER_GUID as RUNDOWN};
use decode::{Event, Value};
use etl::RecordId;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// What a CLR event does to the method and module ranges, by provider and event id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClrEvent {
    /// MethodLoadVerbose: compiled now.
    MethodLoad,
    /// MethodUnloadVerbose: gone now.
    MethodUnload,
    /// MethodDCStartVerbose / MethodDCEndVerbose: alive at a rundown, since before we know.
    MethodRundown,
    /// ModuleLoad, ModuleDCStart, ModuleDCEnd.
    Module,
}

fn clr_event(id: &RecordId) -> Option<ClrEvent> {
    let RecordId::Event { provider, descriptor } = id else { return None };
    match (*provider, descriptor.id) {
        (p, METHOD_LOAD_VERBOSE) if p == RUNTIME => Some(ClrEvent::MethodLoad),
        (p, METHOD_UNLOAD_VERBOSE) if p == RUNTIME => Some(ClrEvent::MethodUnload),
        (p, MODULE_LOAD) if p == RUNTIME => Some(ClrEvent::Module),
        (p, METHOD_LOAD_VERBOSE | METHOD_UNLOAD_VERBOSE) if p == RUNDOWN => Some(ClrEvent::MethodRundown),
        (p, MODULE_DC_START | MODULE_DC_END) if p == RUNDOWN => Some(ClrEvent::Module),
        _ => None,
    }
}

/// Whether a record names managed code: a test of the header alone, for the
/// pass that picks the records the ordered pass reads.
pub fn is_managed_code_event(id: &RecordId) -> bool {
    clr_event(id).is_some()
}

/// One JIT-compiled method's code in one process, over its lifetime.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedMethod {
    pub pid: u32,
    pub start: u64,
    pub size: u64,
    /// `Namespace.Type.Method(signature)`.
    pub name: Arc<str>,
    /// The module's file (`Test.x64.exe`), when a module event named it.
    pub module: Option<Arc<str>>,
    module_id: u64,
    /// ns since trace start; None: compiled before we know.
    load_ts: Option<i64>,
    unload_ts: Option<i64>,
}

impl ManagedMethod {
    fn alive_at(&self, ts: i64) -> bool {
        self.load_ts.is_none_or(|l| l <= ts) && self.unload_ts.is_none_or(|u| ts <= u)
    }

    fn contains(&self, address: u64) -> bool {
        self.start <= address && address - self.start < self.size
    }
}

#[derive(Default)]
pub struct ManagedCode {
    pub methods: Vec<ManagedMethod>,
    /// Module files by (pid, ModuleID).
    modules: HashMap<(u32, u64), Arc<str>>,
    /// The method alive at (pid, start), while its unload is still to come.
    live: HashMap<(u32, u64), usize>,
    /// Method rows per pid, sorted by start, built by `finish`.
    by_pid: HashMap<u32, Vec<usize>>,
    /// The largest method per pid: how far below an address a lookup searches.
    largest: HashMap<u32, u64>,
}

fn uint(event: &Event, name: &str) -> Option<u64> {
    event.field(name).and_then(Value::as_u64)
}

fn text<'e>(event: &'e Event, name: &str) -> &'e str {
    event.field(name).and_then(Value::as_str).unwrap_or_default()
}

/// `System.String.LastIndexOfAny(wchar[])` from namespace `System.String`,
/// name `LastIndexOfAny` and signature `instance int32  (wchar[])`, as PerfView writes it.
fn method_name(namespace: &str, name: &str, signature: &str) -> String {
    let arguments = signature.find('(').map_or("", |at| &signature[at..]);
    match namespace {
        "" => format!("{name}{arguments}"),
        _ => format!("{namespace}.{name}{arguments}"),
    }
}

impl ManagedCode {
    /// Applies a CLR method or module event of process `pid` at `ts`; others are ignored.
    pub fn apply(&mut self, event: &Event, pid: u32, ts: i64) {
        let Some(kind) = clr_event(&event.record.id) else { return };
        if kind == ClrEvent::Module {
            let path = text(event, "ModuleILPath");
            let file = path.rsplit(['\\', '/']).next().unwrap_or(path);
            if let (Some(id), false) = (uint(event, "ModuleID"), file.is_empty()) {
                self.modules.entry((pid, id)).or_insert_with(|| file.into());
            }
            return;
        }
        let (Some(start), Some(size)) = (uint(event, "MethodStartAddress"), uint(event, "MethodSize")) else {
            return;
        };
        if size == 0 {
            return;
        }
        match kind {
            ClrEvent::MethodUnload => {
                if let Some(row) = self.live.remove(&(pid, start)) {
                    self.methods[row].unload_ts = Some(ts);
                }
            }
            // A rundown repeats what a load already said.
            ClrEvent::MethodRundown if self.live.contains_key(&(pid, start)) => {}
            _ => {
                let name = method_name(
                    text(event, "MethodNamespace"),
                    text(event, "MethodName"),
                    text(event, "MethodSignature"),
                );
                let load_ts = (kind == ClrEvent::MethodLoad).then_some(ts);
                // A new method at a live start replaces the one before it there.
                if let Some(previous) = self.live.insert((pid, start), self.methods.len()) {
                    self.methods[previous].unload_ts.get_or_insert(ts);
                }
                self.methods.push(ManagedMethod {
                    pid,
                    start,
                    size,
                    name: name.into(),
                    module: None,
                    module_id: uint(event, "ModuleID").unwrap_or(0),
                    load_ts,
                    unload_ts: None,
                });
            }
        }
    }

    /// Sorts the methods for lookups and gives each its module's file.
    pub fn finish(&mut self) {
        for method in &mut self.methods {
            method.module = self.modules.get(&(method.pid, method.module_id)).cloned();
        }
        self.by_pid.clear();
        self.largest.clear();
        for (row, method) in self.methods.iter().enumerate() {
            self.by_pid.entry(method.pid).or_default().push(row);
            let largest = self.largest.entry(method.pid).or_default();
            *largest = (*largest).max(method.size);
        }
        for rows in self.by_pid.values_mut() {
            rows.sort_by_key(|&r| self.methods[r].start);
        }
        self.live = HashMap::default();
    }

    /// The method whose code held `address` in process `pid` at `ts`.
    pub fn lookup(&self, pid: u32, address: u64, ts: i64) -> Option<&ManagedMethod> {
        self.lookup_index(pid, address, ts).map(|row| &self.methods[row])
    }

    /// Where in `methods` the method `lookup` finds is.
    pub fn lookup_index(&self, pid: u32, address: u64, ts: i64) -> Option<usize> {
        let rows = self.by_pid.get(&pid)?;
        let reach = self.largest.get(&pid).copied().unwrap_or(0);
        let upto = rows.partition_point(|&r| self.methods[r].start <= address);
        rows[..upto]
            .iter()
            .rev()
            .copied()
            .take_while(|&r| address - self.methods[r].start < reach)
            .find(|&r| self.methods[r].contains(address) && self.methods[r].alive_at(ts))
    }

    /// A method whose code held `address` in process `pid` at some time, the last compiled first.
    pub fn lookup_any_time(&self, pid: u32, address: u64) -> Option<&ManagedMethod> {
        self.methods.iter().rev().find(|m| m.pid == pid && m.contains(address))
    }

    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(pid: u32, start: u64, size: u64, name: &str, load: Option<i64>, unload: Option<i64>) -> ManagedMethod {
        ManagedMethod {
            pid,
            start,
            size,
            name: name.into(),
            module: None,
            module_id: 0,
            load_ts: load,
            unload_ts: unload,
        }
    }

    fn code(methods: Vec<ManagedMethod>) -> ManagedCode {
        let mut code = ManagedCode { methods, ..Default::default() };
        code.finish();
        code
    }

    #[test]
    fn names_read_as_perfview_writes_them() {
        assert_eq!(
            method_name("System.String", "LastIndexOfAny", "instance int32  (wchar[])"),
            "System.String.LastIndexOfAny(wchar[])"
        );
        assert_eq!(method_name("", "Main", "void  ()"), "Main()");
        assert_eq!(method_name("A.B", "M", ""), "A.B.M");
    }

    #[test]
    fn a_reused_range_names_the_method_alive_at_the_time() {
        let code = code(vec![
            method(7, 0x1000, 0x100, "First", Some(10), Some(20)),
            method(7, 0x1000, 0x80, "Second", Some(30), None),
            method(7, 0x2000, 0x10, "Rundown", None, None),
            method(8, 0x1000, 0x100, "OtherProcess", None, None),
        ]);
        let name = |pid, address, ts| code.lookup(pid, address, ts).map(|m| m.name.to_string());
        assert_eq!(name(7, 0x1050, 15).as_deref(), Some("First"));
        assert_eq!(name(7, 0x1050, 25), None, "between the two lifetimes");
        assert_eq!(name(7, 0x1050, 35).as_deref(), Some("Second"));
        assert_eq!(name(7, 0x10f0, 35), None, "past the second's end");
        assert_eq!(name(7, 0x2000, 0).as_deref(), Some("Rundown"));
        assert_eq!(name(7, 0x2010, 0), None);
        assert_eq!(name(8, 0x1050, 25).as_deref(), Some("OtherProcess"));
        assert_eq!(name(9, 0x1050, 25), None);
        assert_eq!(name(7, 0xfff, 15), None);
    }
}
