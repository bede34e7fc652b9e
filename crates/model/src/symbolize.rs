//! Frame names: (process, address, time) -> module via the module registry ->
//! PDB identity from the module's DbgID_RSDS -> function from the symbol resolver.
//!
//! Built once per session (and again when the symbol path changes) for every
//! stack and sample the model holds. Each distinct (module row, address) is
//! resolved once; a stack is resolved once per process it occurs in, at the time
//! of its first occurrence (modules rarely move within one trace).
use super::stacks::StackId;
use super::TraceModel;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use symbols::drivers::known_driver;
use symbols::{format_frame, Lookup, PdbIdentity, SymbolResolver};

pub type FrameId = u32;

/// One resolved frame.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedFrame {
    pub address: u64,
    /// The module's file name; None for an address in no module.
    pub module: Option<Arc<str>>,
    /// Offset of the address in its module (the RVA).
    pub module_offset: Option<u64>,
    /// The function, when symbols were found and one covers the address.
    pub func: Option<Arc<str>>,
    /// `module!function+0xoffset`, `module!<PDB not found>`, `module+0xrva` or `0xaddress`.
    pub text: Arc<str>,
    /// `antivirus (Company)` for a frame of a well-known third-party driver.
    pub mark: Option<Arc<str>>,
}

/// Every stack and sample of a trace with its frames named.
#[derive(Default)]
pub struct NamedFrames {
    pub frames: Vec<ResolvedFrame>,
    /// Per (pid, stack): frame ids, innermost first (the StackStore's order).
    stacks: HashMap<(u32, StackId), Arc<[FrameId]>>,
    /// Per sample row: the frame of its IP.
    pub sample_frames: Vec<FrameId>,
    /// Per syscall row: the frame of the service address.
    pub syscall_frames: Vec<FrameId>,
}

impl NamedFrames {
    /// The frames of `stack` as seen in process `pid`, innermost first.
    pub fn stack(&self, pid: u32, stack: StackId) -> Option<&[FrameId]> {
        self.stacks.get(&(pid, stack)).map(|s| &s[..])
    }

    /// The frame of row `row` of a per-row list (`sample_frames`, `syscall_frames`).
    pub fn sample_or_syscall(&self, per_row: &[FrameId], row: usize) -> Option<&ResolvedFrame> {
        per_row.get(row).and_then(|&id| self.frame(id))
    }

    pub fn frame(&self, id: FrameId) -> Option<&ResolvedFrame> {
        self.frames.get(id as usize)
    }

    /// All (pid, stack) pairs with their frames, sorted for a stable `frames` table.
    pub fn all_stacks(&self) -> Vec<((u32, StackId), &[FrameId])> {
        let mut all: Vec<_> = self.stacks.iter().map(|(k, v)| (*k, &v[..])).collect();
        all.sort_by_key(|(key, _)| (key.1, key.0));
        all
    }

    /// Names every stack and sample of the model.
    pub fn build(model: &TraceModel, resolver: &mut SymbolResolver) -> NamedFrames {
        // Which stacks occur in which process, and when first.
        let mut wanted: HashMap<(u32, StackId), i64> = HashMap::new();
        let mut want = |pid: u32, stack: StackId, ts: i64| {
            wanted.entry((pid, stack)).and_modify(|t| *t = (*t).min(ts)).or_insert(ts);
        };
        for s in &model.stack_rows {
            want(s.pid, s.stack, s.ts);
        }
        for s in &model.samples {
            if let Some(stack) = s.stack {
                want(s.pid.unwrap_or(0), stack, s.ts);
            }
        }
        for s in &model.syscalls {
            if let Some(stack) = s.stack {
                want(s.pid.unwrap_or(0), stack, s.ts);
            }
        }
        let mut wanted: Vec<((u32, StackId), i64)> = wanted.into_iter().collect();
        wanted.sort_unstable();

        // Load every module's symbols that a frame needs, in parallel, before naming.
        let mut rows: HashSet<usize> = HashSet::new();
        let modules = &model.modules;
        let ptr = model.pointer_size;
        for &((pid, stack), ts) in &wanted {
            for &address in model.stacks.frames(stack) {
                rows.extend(modules.lookup_index(pid, address, ts, ptr));
            }
        }
        for s in &model.samples {
            rows.extend(modules.lookup_index(s.pid.unwrap_or(0), s.ip, s.ts, ptr));
        }
        for s in &model.syscalls {
            rows.extend(modules.lookup_index(s.pid.unwrap_or(0), s.address, s.ts, ptr));
        }
        let identities: Vec<PdbIdentity> = rows.iter().filter_map(|&row| identity_of(model, row)).collect();
        resolver.prefetch(&identities);

        let mut namer = Namer { model, resolver, ids: HashMap::new(), frames: Vec::new(), identities: HashMap::new() };
        let mut stacks = HashMap::with_capacity(wanted.len());
        for ((pid, stack), ts) in wanted {
            let ids: Arc<[FrameId]> =
                model.stacks.frames(stack).iter().map(|&address| namer.name(pid, address, ts)).collect();
            stacks.insert((pid, stack), ids);
        }
        let sample_frames = model.samples.iter().map(|s| namer.name(s.pid.unwrap_or(0), s.ip, s.ts)).collect();
        let syscall_frames = model.syscalls.iter().map(|s| namer.name(s.pid.unwrap_or(0), s.address, s.ts)).collect();
        NamedFrames { frames: namer.frames, stacks, sample_frames, syscall_frames }
    }
}

fn identity_of(model: &TraceModel, row: usize) -> Option<PdbIdentity> {
    let m = model.modules.rows.get(row)?;
    Some(PdbIdentity::from_rsds(m.pdb.as_deref()?, m.pdb_guid?, m.pdb_age?))
}

/// Names frames, once per distinct (module row, address).
struct Namer<'a> {
    model: &'a TraceModel,
    resolver: &'a mut SymbolResolver,
    ids: HashMap<(Option<usize>, u64), FrameId>,
    frames: Vec<ResolvedFrame>,
    identities: HashMap<usize, Option<PdbIdentity>>,
}

impl Namer<'_> {
    fn name(&mut self, pid: u32, address: u64, ts: i64) -> FrameId {
        let model = self.model;
        let row = model.modules.lookup_index(pid, address, ts, model.pointer_size);
        if let Some(&id) = self.ids.get(&(row, address)) {
            return id;
        }
        let frame = match row.and_then(|r| model.modules.rows.get(r).map(|m| (r, m))) {
            None => ResolvedFrame {
                address,
                module: None,
                module_offset: None,
                func: None,
                text: format_frame(None, address, &Lookup::NoSymbols).into(),
                mark: None,
            },
            Some((r, module)) => {
                let rva = address - module.base;
                let identity = self.identities.entry(r).or_insert_with(|| identity_of(model, r)).clone();
                let lookup = match &identity {
                    Some(identity) => self.resolver.lookup(identity, rva),
                    None => Lookup::NoSymbols,
                };
                let file = module.file();
                let func = match &lookup {
                    Lookup::Function { name, .. } => Some(name.clone()),
                    _ => None,
                };
                ResolvedFrame {
                    address,
                    module: Some(file.into()),
                    module_offset: Some(rva),
                    func,
                    text: format_frame(Some(file), address, &lookup).into(),
                    mark: known_driver(file).map(|d| d.mark().into()),
                }
            }
        };
        let id = self.frames.len() as FrameId;
        self.frames.push(frame);
        self.ids.insert((row, address), id);
        id
    }
}
