//! Loaded modules per process over time, with their PDB identities, and the
//! lookup of an address to module + offset at a moment.
use etl::Guid;
use rustc_hash::FxHashMap as HashMap;
use symbols::PdbIdentity;

/// Addresses at or above this belong to the kernel on 64-bit Windows.
const KERNEL_SPACE_64: u64 = 0xFFFF_8000_0000_0000;
/// And on 32-bit Windows (the default 2 GB split).
const KERNEL_SPACE_32: u64 = 0x8000_0000;

#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// 0 (System) for kernel modules.
    pub pid: u32,
    pub base: u64,
    pub size: u64,
    pub path: String,
    pub timestamp: Option<u32>,
    pub checksum: Option<u32>,
    pub pdb: Option<String>,
    pub pdb_guid: Option<Guid>,
    pub pdb_age: Option<u32>,
    /// ns since trace start; None when loaded before the trace (rundown).
    pub load_ts: Option<i64>,
    pub unload_ts: Option<i64>,
}

impl Module {
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }

    /// The file name without its directory.
    pub fn file(&self) -> &str {
        self.path.rsplit(['\\', '/']).next().unwrap_or(&self.path)
    }

    /// The PDB identity KernelTraceControl logged for the image (DbgID_RSDS), with the
    /// recorded PDB path reduced to the file name a symbol store indexes it by.
    pub fn pdb_identity(&self) -> Option<PdbIdentity> {
        Some(PdbIdentity::from_rsds(self.pdb.as_deref()?, self.pdb_guid?, self.pdb_age?))
    }

    fn alive_at(&self, ts: i64) -> bool {
        self.load_ts.is_none_or(|l| l <= ts) && self.unload_ts.is_none_or(|u| ts <= u)
    }
}

pub fn is_kernel_address(address: u64, pointer_size: u8) -> bool {
    if pointer_size == 4 {
        address >= KERNEL_SPACE_32 && address <= u64::from(u32::MAX)
    } else {
        address >= KERNEL_SPACE_64
    }
}

/// What an image's version resource says (KernelTraceControl ImageID/FileVersion).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileVersion {
    pub company: String,
    pub description: String,
    pub product: String,
    pub version: String,
}

#[derive(Default)]
pub struct ModuleRegistry {
    pub rows: Vec<Module>,
    /// By (ImageSize, TimeDateStamp): FileVersion events name no base or process,
    /// so the image's size and link time tie them to its module rows.
    versions: HashMap<(u64, u32), FileVersion>,
    /// By (ImageSize, lower-case original file name), for image events without a TimeDateStamp.
    versions_by_name: HashMap<(u64, String), FileVersion>,
    /// Live module by (pid, base).
    live: HashMap<(u32, u64), usize>,
    /// Identities logged before their image event (KTC precedes Image/DCStart).
    pending_identity: HashMap<(u32, u64), PdbIdentity>,
    /// Sorted by base per pid, built by `finish`.
    by_pid: HashMap<u32, Vec<usize>>,
}

impl ModuleRegistry {
    pub fn load(&mut self, mut module: Module) {
        let key = (module.pid, module.base);
        if let Some(&i) = self.live.get(&key) {
            // Seen again (rundown after a live load, or a merged trace's second rundown).
            let row = &mut self.rows[i];
            if row.path.is_empty() {
                row.path = module.path;
            }
            return;
        }
        if let Some(identity) = self.pending_identity.remove(&key) {
            set_identity(&mut module, identity);
        }
        self.live.insert(key, self.rows.len());
        self.rows.push(module);
    }

    pub fn unload(&mut self, pid: u32, base: u64, ts: i64, fallback: Module) {
        match self.live.remove(&(pid, base)) {
            Some(i) => self.rows[i].unload_ts = Some(ts),
            None => {
                let mut module = fallback;
                module.load_ts = None;
                module.unload_ts = Some(ts);
                self.rows.push(module);
            }
        }
    }

    /// A DbgID_RSDS record: matched to the image by process and base.
    pub fn identity(&mut self, pid: u32, base: u64, identity: PdbIdentity) {
        match self.live.get(&(pid, base)) {
            Some(&i) => set_identity(&mut self.rows[i], identity),
            None => {
                self.pending_identity.insert((pid, base), identity);
            }
        }
    }

    pub fn add_file_version(&mut self, image_size: u64, time_date_stamp: u32, file_name: &str, version: FileVersion) {
        self.versions_by_name.entry((image_size, file_name.to_ascii_lowercase())).or_insert_with(|| version.clone());
        self.versions.entry((image_size, time_date_stamp)).or_insert(version);
    }

    /// The version resource of a module, when a FileVersion event described its image.
    pub fn file_version(&self, module: &Module) -> Option<&FileVersion> {
        match module.timestamp {
            Some(stamp) => self.versions.get(&(module.size, stamp)),
            None => self.versions_by_name.get(&(module.size, module.file().to_ascii_lowercase())),
        }
    }

    /// Indexes the modules for address lookups; call once all events are in.
    pub fn finish(&mut self) {
        self.by_pid.clear();
        for (i, m) in self.rows.iter().enumerate() {
            self.by_pid.entry(m.pid).or_default().push(i);
        }
        for list in self.by_pid.values_mut() {
            list.sort_by_key(|&i| self.rows[i].base);
        }
    }

    /// The module that held `address` in process `pid` at `ts`; kernel
    /// addresses go through the kernel's modules (pid 0).
    pub fn lookup(&self, pid: u32, address: u64, ts: i64, pointer_size: u8) -> Option<&Module> {
        self.lookup_index(pid, address, ts, pointer_size).map(|i| &self.rows[i])
    }

    /// Like [`ModuleRegistry::lookup`], as an index into `rows` (a cache key for symbols).
    pub fn lookup_index(&self, pid: u32, address: u64, ts: i64, pointer_size: u8) -> Option<usize> {
        let owner = if is_kernel_address(address, pointer_size) { 0 } else { pid };
        let list = self.by_pid.get(&owner)?;
        // Modules whose base is at or below the address, nearest first.
        let upto = list.partition_point(|&i| self.rows[i].base <= address);
        list[..upto]
            .iter()
            .rev()
            .copied()
            .take_while(|&i| address < self.rows[i].base.saturating_add(1 << 40))
            .find(|&i| address < self.rows[i].end() && self.rows[i].alive_at(ts))
    }
}

fn set_identity(module: &mut Module, identity: PdbIdentity) {
    module.pdb = Some(identity.name);
    module.pdb_guid = Some(identity.guid);
    module.pdb_age = Some(identity.age);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(pid: u32, base: u64, size: u64, path: &str, load_ts: Option<i64>) -> Module {
        Module {
            pid,
            base,
            size,
            path: path.into(),
            timestamp: None,
            checksum: None,
            pdb: None,
            pdb_guid: None,
            pdb_age: None,
            load_ts,
            unload_ts: None,
        }
    }

    #[test]
    fn addresses_resolve_through_the_owning_process_at_that_time() {
        let mut r = ModuleRegistry::default();
        r.identity(4, 0x1000, PdbIdentity { name: "a.pdb".into(), guid: Guid::ZERO, age: 2 });
        r.load(module(4, 0x1000, 0x100, "C:\\a.dll", None));
        r.load(module(4, 0x2000, 0x100, "C:\\b.dll", Some(50)));
        r.load(module(0, KERNEL_SPACE_64 + 0x1000, 0x1000, "ntoskrnl.exe", None));
        r.unload(4, 0x1000, 80, module(4, 0x1000, 0x100, "", None));
        r.finish();
        assert_eq!(r.rows[0].pdb.as_deref(), Some("a.pdb"));
        assert_eq!(r.lookup(4, 0x1010, 10, 8).map(Module::file), Some("a.dll"));
        assert_eq!(r.lookup(4, 0x1010, 90, 8), None, "unloaded by then");
        assert_eq!(r.lookup(4, 0x2010, 10, 8), None, "not loaded yet");
        assert_eq!(r.lookup(4, 0x2010, 60, 8).map(Module::file), Some("b.dll"));
        assert_eq!(r.lookup(4, KERNEL_SPACE_64 + 0x1800, 0, 8).map(Module::file), Some("ntoskrnl.exe"));
        assert_eq!(r.lookup(4, 0x3000, 0, 8), None);
    }
}
