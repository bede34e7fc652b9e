//! Stacks: stored once and shared. StackWalk events come inline or as
//! stack-caching references whose frames a later StackKeyDelete/Rundown
//! defines; the kernel and user halves of one event's stack are joined.
use super::cpu_pass::{KeyDefinition, StackBody, StackEvent};
use super::modules::is_kernel_address;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

pub type StackId = u32;

/// Unique stacks, innermost frame first.
#[derive(Default)]
pub struct StackStore {
    stacks: Vec<Arc<[u64]>>,
    index: HashMap<Arc<[u64]>, StackId>,
}

impl StackStore {
    pub fn intern(&mut self, frames: &[u64]) -> StackId {
        if let Some(&id) = self.index.get(frames) {
            return id;
        }
        let id = self.stacks.len() as StackId;
        let shared: Arc<[u64]> = frames.into();
        self.index.insert(shared.clone(), id);
        self.stacks.push(shared);
        id
    }

    pub fn frames(&self, id: StackId) -> &[u64] {
        self.stacks.get(id as usize).map_or(&[], |s| s)
    }

    pub fn len(&self) -> usize {
        self.stacks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty()
    }
}

/// A stack joined to the event it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnedStack {
    pub tid: u32,
    pub pid: u32,
    pub event_raw_ts: i64,
    pub stack: StackId,
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackStats {
    pub events: u64,
    pub key_references: u64,
    pub unresolved_keys: u64,
}

/// One CPU's stack events and the arena their inline frames live in.
pub struct CpuStacks<'a> {
    pub events: &'a [StackEvent],
    pub frames: &'a [u64],
}

/// Resolves keys, joins halves, interns. Returns the stacks keyed by
/// (thread, raw timestamp of the owning event). The halves of one event's
/// stack are logged one after the other on its CPU, so they are grouped as
/// they come, without a map.
pub fn resolve(
    cpus: &[CpuStacks<'_>],
    definitions: Vec<KeyDefinition>,
    pointer_size: u8,
    store: &mut StackStore,
) -> (HashMap<(u32, i64), OwnedStack>, StackStats) {
    let mut stats = StackStats::default();
    // Definitions per key in time order: a reference uses the first definition at or
    // after it, since a key is defined when its cache entry is flushed or run down.
    let mut by_key: HashMap<u64, Vec<(i64, Vec<u64>)>> = HashMap::default();
    for d in definitions {
        by_key.entry(d.key).or_default().push((d.ts, d.frames));
    }
    for list in by_key.values_mut() {
        list.sort_by_key(|(ts, _)| *ts);
    }
    let total: usize = cpus.iter().map(|c| c.events.len()).sum();
    let mut joined = HashMap::with_capacity_and_hasher(total, Default::default());
    let mut halves: Vec<&[u64]> = Vec::with_capacity(2);
    let mut scratch: Vec<u64> = Vec::new();
    for cpu in cpus {
        let mut i = 0;
        while i < cpu.events.len() {
            let first = &cpu.events[i];
            let owner = (first.tid, first.event_raw_ts);
            halves.clear();
            while let Some(event) = cpu.events.get(i).filter(|e| (e.tid, e.event_raw_ts) == owner) {
                i += 1;
                stats.events += 1;
                let frames: &[u64] = match &event.body {
                    StackBody::Frames { start, len } => {
                        let (start, len) = (*start as usize, *len as usize);
                        cpu.frames.get(start..start + len).unwrap_or(&[])
                    }
                    StackBody::Key { key, ts } => {
                        stats.key_references += 1;
                        let found = by_key.get(key).and_then(|list| {
                            let at = list.partition_point(|(def_ts, _)| def_ts < ts);
                            list.get(at).or_else(|| list.last()).map(|(_, f)| f.as_slice())
                        });
                        match found {
                            Some(frames) => frames,
                            None => {
                                stats.unresolved_keys += 1;
                                continue;
                            }
                        }
                    }
                };
                halves.push(frames);
            }
            if halves.is_empty() {
                continue;
            }
            let stack = if halves.len() == 1 {
                store.intern(halves[0])
            } else {
                // Kernel frames are the inner part of the stack: they come first.
                halves.sort_by_key(|h| !h.first().is_some_and(|&a| is_kernel_address(a, pointer_size)));
                scratch.clear();
                for half in &halves {
                    scratch.extend_from_slice(half);
                }
                store.intern(&scratch)
            };
            joined.insert(owner, OwnedStack { tid: owner.0, pid: first.pid, event_raw_ts: owner.1, stack });
        }
    }
    (joined, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 0xFFFF_F800_0000_1000;

    fn key(tid: u32, raw: i64, key: u64, ts: i64) -> StackEvent {
        StackEvent { event_raw_ts: raw, tid, pid: 1, body: StackBody::Key { key, ts } }
    }

    #[test]
    fn keys_resolve_to_the_next_definition_and_halves_join_kernel_first() {
        let definitions = vec![
            KeyDefinition { ts: 10, key: 7, frames: vec![0x1000, 0x2000] },
            KeyDefinition { ts: 30, key: 7, frames: vec![0x3000] },
            KeyDefinition { ts: 40, key: 9, frames: vec![K, K + 8] },
        ];
        let events = vec![key(1, 5, 7, 5), key(1, 5, 9, 5), key(2, 20, 7, 20), key(3, 50, 8, 50)];
        let mut store = StackStore::default();
        let (joined, stats) = resolve(&[CpuStacks { events: &events, frames: &[] }], definitions, 8, &mut store);
        assert_eq!(store.frames(joined[&(1, 5)].stack), &[K, K + 8, 0x1000, 0x2000]);
        assert_eq!(store.frames(joined[&(2, 20)].stack), &[0x3000]);
        assert_eq!(stats, StackStats { events: 4, key_references: 4, unresolved_keys: 1 });
        assert_eq!(store.intern(&[0x3000]), joined[&(2, 20)].stack, "stored once");
    }
}
