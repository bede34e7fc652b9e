//! Frame names: (process, address, time) -> module via the module registry ->
//! PDB identity from the module's DbgID_RSDS -> function from the symbol resolver.
//!
//! Built once per session (again when the symbol path changes, or when the
//! model is built again with another part): the frames of stacks only for the
//! stacks a result, view or table needs. Each distinct (module, address) is
//! resolved once; a stack is resolved once per process it occurs in, at the
//! time of its first occurrence (modules rarely move within one trace). The
//! tables' `func` columns look their rows' leaf addresses up on their own
//! (`leaf_functions`), when a query reads them.
use super::chunked::Chunked;
use super::stacks::StackId;
use super::TraceModel;
use columnar::{Bitmap, Column, StrColumnBuilder};
use std::sync::Arc;
use symbols::drivers::known_driver;
use symbols::{format_frame, Lookup, PdbIdentity, SymbolResolver};

pub type FrameId = u32;

/// Hash maps and sets keyed by what the trace says (processes, stacks,
/// addresses): fast, and seeded at run time against crafted collisions.
pub type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
pub type HashSet<K> = std::collections::HashSet<K, ahash::RandomState>;

/// The stacks a view asks to be named, one bit per stack of the model: a
/// hundred million rows ask in a few megabytes. Each is named as seen in
/// every process it occurs in.
#[derive(Clone, Default)]
pub struct StackSet {
    /// Grown to the highest stack asked for: empty until one is.
    bits: Bitmap,
}

impl StackSet {
    pub fn insert(&mut self, stack: StackId) {
        let at = stack as usize;
        if at >= self.bits.len() {
            self.bits.resize(at + 1, false);
        }
        self.bits.set(at, true);
    }

    pub fn contains(&self, stack: StackId) -> bool {
        self.bits.get(stack as usize) == Some(true)
    }

    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }
}

/// One resolved frame, as tables and views read it (made from the stored frame when asked).
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedFrame {
    pub address: u64,
    /// The module's file name; None for an address in no module.
    pub module: Option<Arc<str>>,
    /// Offset of the address in its module (the RVA).
    pub module_offset: Option<u64>,
    /// The function, when symbols were found and one covers the address.
    pub func: Option<Arc<str>>,
    /// `antivirus (Company)` for a frame of a driver the atlas knows.
    pub mark: Option<Arc<str>>,
    /// What the symbol lookup said, for `text`.
    lookup: Lookup,
}

impl ResolvedFrame {
    /// `module!function+0xoffset`, `module!<PDB not found>`, `module+0xrva` or `0xaddress`.
    pub fn text(&self) -> String {
        format_frame(self.module.as_deref(), self.address, &self.lookup)
    }
}

/// A frame as it is kept: 32 bytes, however many frames a trace has. Its
/// module's names are kept once in `ModuleFacts`, its text is made when shown.
#[derive(Clone, Debug)]
struct StoredFrame {
    address: u64,
    /// Index into `NamedFrames::modules`; NO_MODULE for an address in no module.
    module: u32,
    /// The offset in `func`, or NO_SYMBOLS, or NOT_IN_ANY_FUNCTION.
    offset: u32,
    func: Option<Arc<str>>,
}

const NO_MODULE: u32 = u32::MAX;
/// `StoredFrame::offset` when the module has no symbols.
const NO_SYMBOLS: u32 = u32::MAX;
/// `StoredFrame::offset` when symbols cover no function at the address.
const NOT_IN_ANY_FUNCTION: u32 = u32::MAX - 1;

/// The frames of a trace's stacks, named as results, views and the stacks and
/// frames tables ask for them.
#[derive(Default)]
pub struct NamedFrames {
    frames: Chunked<StoredFrame>,
    /// Per (pid, stack) named so far: where its frame ids are in `stack_frames`.
    stacks: HashMap<(u32, StackId), u32>,
    /// The named stacks' frame ids, innermost first (the StackStore's order), one stack after another.
    stack_frames: Vec<FrameId>,
    /// Where each named stack's frame ids end in `stack_frames`.
    stack_ends: Vec<usize>,
    /// Each (module, address) is named once, whichever stack asks first (a
    /// module: its facts, shared by the processes that load the same DLL at
    /// the same base): here as the facts index and the offset in one number,
    /// 16 bytes an entry...
    ids: HashMap<u64, FrameId>,
    /// ...and here when that does not fit: in no module (u32::MAX), or
    /// 4 GB or more into one.
    loose_ids: HashMap<(u32, u64), FrameId>,
    /// Per module row: its index in `modules`.
    module_of_row: HashMap<usize, u32>,
    /// Per (base, file, PDB): its index in `modules`, shared by the rows of one DLL in many processes.
    facts_by_module: HashMap<(u64, Arc<str>, Option<PdbIdentity>), u32>,
    /// JIT-compiled code per (method row, address): a range reused after an
    /// unload holds another method, so the method, not the module, keys it.
    managed_ids: HashMap<(usize, u64), FrameId>,
    /// Per managed module file: its index in `modules`.
    facts_by_managed_module: HashMap<Arc<str>, u32>,
    /// What the frames of one module share (looked up once, the names stored once).
    modules: Vec<ModuleFacts>,
    every_stack_named: bool,
}

/// What every frame in one module shares.
struct ModuleFacts {
    identity: Option<PdbIdentity>,
    /// JIT-compiled code's module: its frames have no offset in a module image.
    managed: bool,
    base: u64,
    file: Arc<str>,
    mark: Option<Arc<str>>,
}

impl NamedFrames {
    /// The frames of `stack` as seen in process `pid`, innermost first, if named.
    pub fn stack(&self, pid: u32, stack: StackId) -> Option<&[FrameId]> {
        self.stacks.get(&(pid, stack)).map(|&slot| self.stack_at(slot as usize))
    }

    /// Where the frames of `stack` as seen in process `pid` are kept, if named:
    /// a number below `stack_count`, for callers that count per stack.
    pub fn stack_slot(&self, pid: u32, stack: StackId) -> Option<u32> {
        self.stacks.get(&(pid, stack)).copied()
    }

    /// How many (pid, stack) pairs are named.
    pub fn stack_count(&self) -> usize {
        self.stack_ends.len()
    }

    /// The frames kept at `slot`, innermost first.
    pub fn stack_at(&self, slot: usize) -> &[FrameId] {
        let start = slot.checked_sub(1).map_or(0, |s| self.stack_ends[s]);
        self.stack_ends.get(slot).map_or(&[], |&end| &self.stack_frames[start..end])
    }

    pub fn frame(&self, id: FrameId) -> Option<ResolvedFrame> {
        let stored = self.frames.get(id as usize)?;
        let module = self.modules.get(stored.module as usize);
        let lookup = match (&stored.func, stored.offset) {
            (Some(name), offset) => Lookup::Function { name: name.clone(), offset },
            (None, NOT_IN_ANY_FUNCTION) => {
                Lookup::NotInAnyFunction { rva: stored.address.wrapping_sub(module.map_or(0, |m| m.base)) }
            }
            (None, _) => Lookup::NoSymbols,
        };
        Some(ResolvedFrame {
            address: stored.address,
            module: module.map(|m| m.file.clone()),
            module_offset: module.filter(|m| !m.managed).map(|m| stored.address.wrapping_sub(m.base)),
            func: stored.func.clone(),
            mark: module.and_then(|m| m.mark.clone()),
            lookup,
        })
    }

    /// How many distinct frames are named.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// All (pid, stack) pairs named so far with their frames, sorted for a stable `frames` table.
    pub fn all_stacks(&self) -> Vec<((u32, StackId), &[FrameId])> {
        let mut all: Vec<_> = self.stacks.iter().map(|(k, &slot)| (*k, self.stack_at(slot as usize))).collect();
        all.sort_by_key(|(key, _)| (key.1, key.0));
        all
    }

    /// Names the stacks `wanted` that are not named yet, in each process they
    /// occur in, as they were at their first occurrence there.
    pub fn name_stacks(&mut self, model: &TraceModel, resolver: &mut SymbolResolver, wanted: &StackSet) {
        let first = first_occurrences(model, |key| wanted.contains(key.1) && !self.stacks.contains_key(key));
        self.name_each(model, resolver, first);
    }

    /// Names every stack of the model, for the tables that list them all.
    pub fn name_every_stack(&mut self, model: &TraceModel, resolver: &mut SymbolResolver) {
        if self.every_stack_named {
            return;
        }
        let first = first_occurrences(model, |key| !self.stacks.contains_key(key));
        self.name_each(model, resolver, first);
        self.every_stack_named = true;
    }

    /// Names each (pid, stack) of `first`, sorted by key with one entry a key.
    fn name_each(&mut self, model: &TraceModel, resolver: &mut SymbolResolver, first: Vec<((u32, StackId), i64)>) {
        // Load every module's symbols that a frame needs, in parallel, before naming.
        let mut rows: HashSet<usize> = HashSet::default();
        for &((pid, stack), ts) in &first {
            for &address in model.stacks.frames(stack) {
                rows.extend(model.modules.lookup_index(pid, address, ts, model.pointer_size));
            }
        }
        prefetch(model, resolver, rows);
        self.stacks.reserve(first.len());
        self.stack_ends.reserve(first.len());
        for ((pid, stack), ts) in first {
            for &address in model.stacks.frames(stack) {
                let id = self.name(model, resolver, pid, address, ts);
                self.stack_frames.push(id);
            }
            self.stacks.insert((pid, stack), self.stack_ends.len() as u32);
            self.stack_ends.push(self.stack_frames.len());
        }
    }

    /// The frame of `address` in `pid` at `ts`, named once per (module, address).
    fn name(&mut self, model: &TraceModel, resolver: &mut SymbolResolver, pid: u32, address: u64, ts: i64) -> FrameId {
        let row = model.modules.lookup_index(pid, address, ts, model.pointer_size);
        if row.is_none() {
            if let Some(method) = model.managed.lookup_index(pid, address, ts) {
                return self.name_managed(model, method, address);
            }
        }
        let module = row.and_then(|r| Some((self.facts_of_row(model, r)?, model.modules.rows.get(r)?.base)));
        let facts_key = module.map_or(NO_MODULE, |(facts, _)| facts);
        let packed = match module.map(|(facts, base)| (facts, u32::try_from(address.wrapping_sub(base)))) {
            Some((facts, Ok(rva))) => Some(u64::from(facts) << 32 | u64::from(rva)),
            _ => None,
        };
        let known = match packed {
            Some(key) => self.ids.get(&key),
            None => self.loose_ids.get(&(facts_key, address)),
        };
        if let Some(&id) = known {
            return id;
        }
        let frame = match module {
            None => StoredFrame { address, module: NO_MODULE, offset: NO_SYMBOLS, func: None },
            Some((facts, base)) => {
                let lookup = match &self.modules[facts as usize].identity {
                    Some(identity) => resolver.lookup(identity, address - base),
                    None => Lookup::NoSymbols,
                };
                let (func, offset) = match lookup {
                    Lookup::Function { name, offset } => (Some(name), offset.min(NOT_IN_ANY_FUNCTION - 1)),
                    Lookup::NotInAnyFunction { .. } => (None, NOT_IN_ANY_FUNCTION),
                    Lookup::NoSymbols => (None, NO_SYMBOLS),
                };
                StoredFrame { address, module: facts, offset, func }
            }
        };
        let id = self.frames.len() as FrameId;
        self.frames.push(frame);
        match packed {
            Some(key) => self.ids.insert(key, id),
            None => self.loose_ids.insert((facts_key, address), id),
        };
        id
    }

    /// The frame of `address` in JIT-compiled method `method` (a row of `model.managed`).
    fn name_managed(&mut self, model: &TraceModel, method: usize, address: u64) -> FrameId {
        if let Some(&id) = self.managed_ids.get(&(method, address)) {
            return id;
        }
        let found = &model.managed.methods[method];
        let module = match &found.module {
            Some(file) => *self.facts_by_managed_module.entry(file.clone()).or_insert_with(|| {
                self.modules.push(ModuleFacts {
                    identity: None,
                    managed: true,
                    base: 0,
                    file: file.clone(),
                    mark: None,
                });
                self.modules.len() as u32 - 1
            }),
            None => NO_MODULE,
        };
        let offset = u32::try_from(address - found.start).unwrap_or(NOT_IN_ANY_FUNCTION - 1);
        let id = self.frames.len() as FrameId;
        self.frames.push(StoredFrame { address, module, offset, func: Some(found.name.clone()) });
        self.managed_ids.insert((method, address), id);
        id
    }

    /// The facts of module row `row`: one entry for every row of the same
    /// file at the same base with the same PDB, so that a DLL loaded in many
    /// processes (ntdll in every one) has its frames named once, not once a process.
    fn facts_of_row(&mut self, model: &TraceModel, row: usize) -> Option<u32> {
        if let Some(&facts) = self.module_of_row.get(&row) {
            return Some(facts);
        }
        let module = model.modules.rows.get(row)?;
        let key = (module.base, Arc::<str>::from(module.file()), identity_of(model, row));
        let facts = match self.facts_by_module.get(&key) {
            Some(&facts) => facts,
            None => {
                let facts = self.modules.len() as u32;
                let (base, file, identity) = key.clone();
                let mark = known_driver(&file).map(|d| d.mark().into());
                self.modules.push(ModuleFacts { identity, managed: false, base, file, mark });
                self.facts_by_module.insert(key, facts);
                facts
            }
        };
        self.module_of_row.insert(row, facts);
        Some(facts)
    }
}

/// When each (pid, stack) that `wanted` accepts first occurs, in a stack row,
/// a sample, a system call or a wakeup (those without a process count as pid 0), sorted
/// by key: every occurrence is listed, sorted, and all but each key's earliest
/// dropped, in 16 bytes an occurrence and no map.
fn first_occurrences(model: &TraceModel, wanted: impl Fn(&(u32, StackId)) -> bool) -> Vec<((u32, StackId), i64)> {
    let stack_rows = model.stack_rows.iter().map(|s| ((s.pid, s.stack), s.ts));
    let samples = model.samples.iter().filter_map(|s| Some(((s.pid().unwrap_or(0), s.stack()?), s.ts)));
    let syscalls = model.syscalls.iter().filter_map(|s| Some(((model.syscall_pid(s).unwrap_or(0), s.stack()?), s.ts)));
    // A wakeup's stack is the readying thread's, in its process.
    let wakeups = model.wakeups.iter().filter_map(|w| Some(((model.readying_pid(w).unwrap_or(0), w.stack()?), w.ts)));
    let mut first: Vec<((u32, StackId), i64)> =
        stack_rows.chain(samples).chain(syscalls).chain(wakeups).filter(|(key, _)| wanted(key)).collect();
    first.sort_unstable();
    first.dedup_by_key(|(key, _)| *key);
    first.shrink_to_fit();
    first
}

/// The function at each of `leaves` (process, address, time): a sample's IP
/// or a system call's service address, without the rest of a frame. Each
/// module's symbols are loaded first, all at once; each function's name is
/// stored once.
pub fn leaf_functions(
    model: &TraceModel,
    resolver: &mut SymbolResolver,
    leaves: impl Iterator<Item = (Option<u32>, u64, i64)> + Clone,
) -> Column {
    let (modules, ptr) = (&model.modules, model.pointer_size);
    let module_at =
        |(pid, address, ts): (Option<u32>, u64, i64)| modules.lookup_index(pid.unwrap_or(0), address, ts, ptr);
    prefetch(model, resolver, leaves.clone().filter_map(module_at).collect());
    let mut column = StrColumnBuilder::with_capacity(leaves.size_hint().0);
    // Codes by where the resolver keeps the name: one entry a function.
    let mut codes: HashMap<usize, u32> = HashMap::default();
    let mut identities: HashMap<usize, Option<PdbIdentity>> = HashMap::default();
    for leaf in leaves {
        let function = match module_at(leaf) {
            Some(row) => {
                identities.entry(row).or_insert_with(|| identity_of(model, row)).as_ref().and_then(|identity| {
                    let rva = leaf.1.wrapping_sub(modules.rows.get(row)?.base);
                    match resolver.lookup(identity, rva) {
                        Lookup::Function { name, .. } => Some(name),
                        Lookup::NotInAnyFunction { .. } | Lookup::NoSymbols => None,
                    }
                })
            }
            None => model.managed.lookup(leaf.0.unwrap_or(0), leaf.1, leaf.2).map(|method| method.name.clone()),
        };
        match function {
            Some(name) => {
                let code = *codes.entry(name.as_ptr() as usize).or_insert_with(|| column.intern(&name));
                column.push_code(code);
            }
            None => column.push_null(),
        }
    }
    column.finish()
}

/// Loads the symbols of the module rows `rows`, in parallel.
fn prefetch(model: &TraceModel, resolver: &mut SymbolResolver, rows: HashSet<usize>) {
    let identities: Vec<PdbIdentity> = rows.iter().filter_map(|&row| identity_of(model, row)).collect();
    resolver.prefetch(&identities);
}

fn identity_of(model: &TraceModel, row: usize) -> Option<PdbIdentity> {
    model.modules.rows.get(row)?.pdb_identity()
}
