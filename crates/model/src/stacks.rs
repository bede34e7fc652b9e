//! Stacks: stored once and shared. StackWalk events come inline or as
//! stack-caching references whose frames a later StackKeyDelete/Rundown
//! defines; the kernel and user halves of one event's stack are joined.
//! Each CPU's stacks are resolved on its own core, then interned on all
//! cores: repeats are found in shards by hash, and the first occurrences are
//! copied CPU by CPU, so that a trace of millions of stacks builds fast.
use super::modules::is_kernel_address;
pub use super::pass_output::StackId;
use super::pass_output::{KeyDefinition, StackBody, StackEvent};
use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use std::hash::BuildHasher;

/// Finding repeats runs one task per shard of the hashes; more shards than
/// cores keeps the cores even, and each shard's table small enough for the cache.
const SHARDS: usize = 64;

/// Unique stacks, innermost frame first. Ids are dense: the stacks first seen
/// on the first CPU, then those first seen on the next, and so on.
#[derive(Default)]
pub struct StackStore {
    segments: Vec<Segment>,
    /// The id of each segment's first stack.
    first_ids: Vec<StackId>,
}

/// Stacks in one arena: no allocation per stack.
#[derive(Default)]
struct Segment {
    frames: Vec<u64>,
    /// Where each stack's frames end in `frames`.
    ends: Vec<usize>,
}

impl Segment {
    fn get(&self, local: usize) -> Option<&[u64]> {
        let start = match local.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        self.frames.get(start..*self.ends.get(local)?)
    }

    fn push(&mut self, frames: &[u64]) -> usize {
        self.frames.extend_from_slice(frames);
        self.ends.push(self.frames.len());
        self.ends.len() - 1
    }
}

impl StackStore {
    pub fn frames(&self, id: StackId) -> &[u64] {
        // Empty segments share their first id with the next one: take the last candidate.
        let Some(segment) = self.first_ids.partition_point(|&first| first <= id).checked_sub(1) else { return &[] };
        self.segments[segment].get((id - self.first_ids[segment]) as usize).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.segments.iter().map(|s| s.ends.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whose stack: the thread and raw timestamp of the event it was walked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub tid: u32,
    pub pid: u32,
    pub event_raw_ts: i64,
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackStats {
    pub events: u64,
    pub key_references: u64,
    pub unresolved_keys: u64,
}

impl StackStats {
    pub fn add(&mut self, other: StackStats) {
        self.events += other.events;
        self.key_references += other.key_references;
        self.unresolved_keys += other.unresolved_keys;
    }
}

/// The frames of each cache key, by the time they were defined.
#[derive(Default)]
pub struct KeyIndex {
    by_key: HashMap<u64, Vec<(i64, Vec<u64>)>>,
}

impl KeyIndex {
    pub fn new(definitions: Vec<KeyDefinition>) -> KeyIndex {
        let mut by_key: HashMap<u64, Vec<(i64, Vec<u64>)>> = HashMap::default();
        for d in definitions {
            by_key.entry(d.key).or_default().push((d.ts, d.frames));
        }
        for list in by_key.values_mut() {
            list.sort_by_key(|(ts, _)| *ts);
        }
        KeyIndex { by_key }
    }

    /// A reference uses the first definition at or after it, since a key is
    /// defined when its cache entry is flushed or run down.
    fn frames(&self, key: u64, ts: i64) -> Option<&[u64]> {
        let list = self.by_key.get(&key)?;
        let at = list.partition_point(|(def_ts, _)| *def_ts < ts);
        list.get(at).or_else(|| list.last()).map(|(_, f)| f.as_slice())
    }
}

/// A stack waiting for its id: where its frames are, and their hash.
#[derive(Clone, Copy)]
struct Candidate {
    hash: u64,
    start: usize,
    len: u32,
    arena: Arena,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arena {
    /// The CPU's inline StackWalk frames.
    Inline,
    /// `CpuStacks::joined`.
    Joined,
    /// None: the frames went into another CPU's stack of the same event.
    Removed,
}

/// One CPU's stacks, one per owner, halves joined, waiting for ids.
pub struct CpuStacks<'a> {
    /// The frames of the CPU's inline StackWalk events.
    inline: &'a [u64],
    /// Frames of stacks that are not one inline run: joined halves and cache keys.
    joined: Vec<u64>,
    candidates: Vec<Candidate>,
    /// Parallel to the candidates.
    pub owners: Vec<Owner>,
    pub stats: StackStats,
}

impl CpuStacks<'_> {
    fn frames(&self, c: &Candidate) -> &[u64] {
        let arena = match c.arena {
            Arena::Inline => self.inline,
            Arena::Joined => &self.joined[..],
            Arena::Removed => &[],
        };
        arena.get(c.start..c.start + c.len as usize).unwrap_or(&[])
    }

    /// The frames of the stack of `owners[index]`.
    pub fn frames_at(&self, index: usize) -> &[u64] {
        self.candidates.get(index).map_or(&[], |c| self.frames(c))
    }

    /// Gives the stack of `owners[index]` new frames.
    pub fn replace(&mut self, index: usize, frames: &[u64]) {
        let start = self.joined.len();
        self.joined.extend_from_slice(frames);
        if let Some(c) = self.candidates.get_mut(index) {
            *c = Candidate { hash: hash_frames(frames), start, len: frames.len() as u32, arena: Arena::Joined };
        }
    }

    /// Drops the stack of `owners[index]`: its frames are part of another one now.
    pub fn remove(&mut self, index: usize) {
        if let Some(c) = self.candidates.get_mut(index) {
            c.arena = Arena::Removed;
        }
    }

    pub fn is_removed(&self, index: usize) -> bool {
        self.candidates.get(index).is_none_or(|c| c.arena == Arena::Removed)
    }
}

/// The halves of one stack, kernel frames first (they are the inner part), joined.
pub fn join_halves(halves: &mut [&[u64]], pointer_size: u8, into: &mut Vec<u64>) {
    halves.sort_by_key(|h| !h.first().is_some_and(|&a| is_kernel_address(a, pointer_size)));
    for half in halves.iter() {
        into.extend_from_slice(half);
    }
}

fn hash_frames(frames: &[u64]) -> u64 {
    FxBuildHasher.hash_one(frames)
}

/// Resolves keys and joins halves on one CPU. The halves of one event's stack
/// are logged on its CPU, usually one after the other but not always, so they
/// are grouped by owner. The owners come out sorted by (raw timestamp, thread).
pub fn resolve_cpu<'a>(events: &[StackEvent], inline: &'a [u64], keys: &KeyIndex, pointer_size: u8) -> CpuStacks<'a> {
    let mut out = CpuStacks {
        inline,
        joined: Vec::new(),
        candidates: Vec::new(),
        owners: Vec::new(),
        stats: StackStats::default(),
    };
    let owner_of = |e: &StackEvent| (e.event_raw_ts, e.tid);
    let mut order: Vec<u32> = (0..events.len() as u32).collect();
    // Stable, and nearly free when the events are in order already.
    order.sort_by_key(|&i| owner_of(&events[i as usize]));
    // One candidate at most per owner: sized once, as every CPU's are held at once.
    let owners =
        1 + order.windows(2).filter(|w| owner_of(&events[w[0] as usize]) != owner_of(&events[w[1] as usize])).count();
    out.candidates.reserve_exact(owners);
    out.owners.reserve_exact(owners);
    let mut halves: Vec<&[u64]> = Vec::with_capacity(2);
    let mut i = 0;
    while i < order.len() {
        let first = &events[order[i] as usize];
        halves.clear();
        // Set when the stack is exactly one run of the inline arena: no copy needed.
        let mut inline_run = None;
        while let Some(event) = order.get(i).map(|&e| &events[e as usize]).filter(|e| owner_of(e) == owner_of(first)) {
            i += 1;
            out.stats.events += 1;
            let frames: &[u64] = match &event.body {
                StackBody::Frames { start, len } => {
                    let (start, len) = (*start as usize, *len as usize);
                    inline_run = Some((start, len));
                    inline.get(start..start + len).unwrap_or(&[])
                }
                StackBody::Key { key, ts } => {
                    out.stats.key_references += 1;
                    match keys.frames(*key, *ts) {
                        Some(frames) => frames,
                        None => {
                            out.stats.unresolved_keys += 1;
                            continue;
                        }
                    }
                }
            };
            halves.push(frames);
        }
        let candidate = match (halves.len(), inline_run) {
            (0, _) => continue,
            (1, Some((start, len))) => {
                Candidate { hash: hash_frames(halves[0]), start, len: len as u32, arena: Arena::Inline }
            }
            _ => {
                let start = out.joined.len();
                join_halves(&mut halves, pointer_size, &mut out.joined);
                let frames = &out.joined[start..];
                Candidate { hash: hash_frames(frames), start, len: frames.len() as u32, arena: Arena::Joined }
            }
        };
        out.candidates.push(candidate);
        out.owners.push(Owner { tid: first.tid, pid: first.pid, event_raw_ts: first.event_raw_ts });
    }
    out
}

/// Where a stack was first seen: `candidates[index]` of CPU `cpu`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FirstSeen {
    cpu: u32,
    index: u32,
}

/// Interns every CPU's stacks; returns the store and, per CPU, the id of each
/// of its stacks (parallel to `owners`; meaningless for removed ones).
pub fn intern(cpus: &[CpuStacks<'_>]) -> (StackStore, Vec<Vec<StackId>>) {
    // Bits between those the tables use for buckets (low) and tags (top 7).
    let shard_of = |hash: u64| (hash >> 40) as usize % SHARDS;
    // Hash and index of each CPU's candidates, by shard: read in order, not strided.
    let buckets: Vec<Vec<Vec<(u64, u32)>>> = cpus
        .par_iter()
        .map(|cpu| {
            let mut by_shard = vec![Vec::new(); SHARDS];
            for (i, c) in cpu.candidates.iter().enumerate().filter(|(_, c)| c.arena != Arena::Removed) {
                by_shard[shard_of(c.hash)].push((c.hash, i as u32));
            }
            by_shard
        })
        .collect();
    let repeats: Vec<Vec<Vec<Option<FirstSeen>>>> =
        (0..SHARDS).into_par_iter().map(|shard| find_repeats(cpus, &buckets, shard)).collect();

    // Per CPU, per candidate: the earlier candidate it repeats, if any.
    let repeat_of: Vec<Vec<Option<FirstSeen>>> = (0..cpus.len())
        .into_par_iter()
        .map(|c| {
            let mut of = vec![None; cpus[c].candidates.len()];
            for (bucket, found) in buckets[c].iter().zip(&repeats) {
                for (&(_, i), &first) in bucket.iter().zip(&found[c]) {
                    of[i as usize] = first;
                }
            }
            of
        })
        .collect();
    drop(repeats);
    drop(buckets);

    // First occurrences get ids and are copied, CPU by CPU, in order.
    let is_first = |c: usize, i: usize| repeat_of[c][i].is_none() && cpus[c].candidates[i].arena != Arena::Removed;
    let mut first_ids = Vec::with_capacity(cpus.len());
    let mut next: StackId = 0;
    for (c, cpu) in cpus.iter().enumerate() {
        first_ids.push(next);
        next = next.saturating_add((0..cpu.candidates.len()).filter(|&i| is_first(c, i)).count() as StackId);
    }
    let (segments, mut ids): (Vec<Segment>, Vec<Vec<StackId>>) = (0..cpus.len())
        .into_par_iter()
        .map(|c| {
            let cpu = &cpus[c];
            let firsts = (0..cpu.candidates.len()).filter(|&i| is_first(c, i));
            let (count, frames) = firsts.fold((0, 0), |(n, f), i| (n + 1, f + cpu.candidates[i].len as usize));
            let mut segment = Segment { frames: Vec::with_capacity(frames), ends: Vec::with_capacity(count) };
            let ids = (0..cpu.candidates.len())
                .map(|i| {
                    if is_first(c, i) {
                        first_ids[c] + segment.push(cpu.frames(&cpu.candidates[i])) as StackId
                    } else {
                        0
                    }
                })
                .collect();
            (segment, ids)
        })
        .unzip();
    // Repeats take the id of their first occurrence.
    let repeat_ids: Vec<Vec<(usize, StackId)>> = repeat_of
        .par_iter()
        .map(|of| {
            of.iter()
                .enumerate()
                .filter_map(|(i, first)| first.map(|f| (i, ids[f.cpu as usize][f.index as usize])))
                .collect()
        })
        .collect();
    for (cpu_ids, repeats) in ids.iter_mut().zip(repeat_ids) {
        for (i, id) in repeats {
            cpu_ids[i] = id;
        }
    }
    (StackStore { segments, first_ids }, ids)
}

/// For one shard, per CPU and parallel to its bucket: the first occurrence of
/// the same frames on an earlier CPU or earlier in the same CPU, if any.
/// Frames are only read when hashes match.
fn find_repeats(cpus: &[CpuStacks<'_>], buckets: &[Vec<Vec<(u64, u32)>>], shard: usize) -> Vec<Vec<Option<FirstSeen>>> {
    let count: usize = buckets.iter().map(|b| b[shard].len()).sum();
    // Only where each stack was first seen: the table stays small enough for the cache.
    let mut table: HashTable<FirstSeen> = HashTable::with_capacity(count);
    let candidate = |f: FirstSeen| {
        let cpu = &cpus[f.cpu as usize];
        (cpu, &cpu.candidates[f.index as usize])
    };
    let hash_of = |f: FirstSeen| candidate(f).1.hash;
    let frames_of = |f: FirstSeen| {
        let (cpu, c) = candidate(f);
        cpu.frames(c)
    };
    let mut found = Vec::with_capacity(cpus.len());
    for (c, by_shard) in buckets.iter().enumerate() {
        let bucket = &by_shard[shard];
        let mut firsts = Vec::with_capacity(bucket.len());
        for &(hash, index) in bucket {
            let here = FirstSeen { cpu: c as u32, index };
            let entry = table.entry(hash, |&f| hash_of(f) == hash && frames_of(f) == frames_of(here), |&f| hash_of(f));
            firsts.push(match entry {
                Entry::Occupied(e) => Some(*e.get()),
                Entry::Vacant(e) => {
                    e.insert(here);
                    None
                }
            });
        }
        found.push(firsts);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 0xFFFF_F800_0000_1000;

    fn key(tid: u32, raw: i64, key: u64, ts: i64) -> StackEvent {
        StackEvent { event_raw_ts: raw, tid, pid: 1, body: StackBody::Key { key, ts } }
    }

    fn inline(tid: u32, raw: i64, start: u32, len: u32) -> StackEvent {
        StackEvent { event_raw_ts: raw, tid, pid: 1, body: StackBody::Frames { start, len } }
    }

    #[test]
    fn keys_resolve_to_the_next_definition_and_halves_join_kernel_first() {
        let definitions = vec![
            KeyDefinition { ts: 10, key: 7, frames: vec![0x1000, 0x2000] },
            KeyDefinition { ts: 30, key: 7, frames: vec![0x3000] },
            KeyDefinition { ts: 40, key: 9, frames: vec![K, K + 8] },
        ];
        let events = vec![key(1, 5, 7, 5), key(1, 5, 9, 5), key(2, 20, 7, 20), key(3, 50, 8, 50)];
        let keys = KeyIndex::new(definitions);
        let cpu = resolve_cpu(&events, &[], &keys, 8);
        assert_eq!(cpu.stats, StackStats { events: 4, key_references: 4, unresolved_keys: 1 });
        let owners: Vec<(u32, i64)> = cpu.owners.iter().map(|o| (o.tid, o.event_raw_ts)).collect();
        assert_eq!(owners, [(1, 5), (2, 20)], "the unresolved key owns no stack");
        let (store, ids) = intern(&[cpu]);
        assert_eq!(store.frames(ids[0][0]), &[K, K + 8, 0x1000, 0x2000]);
        assert_eq!(store.frames(ids[0][1]), &[0x3000]);
    }

    #[test]
    fn halves_of_one_stack_join_when_another_stack_comes_between() {
        let arena = [K, K + 8, 0x10, 0x20, 0x30];
        // Thread 1's kernel half, thread 2's stack, thread 1's user half; thread 2's event is older.
        let events = [inline(1, 9, 0, 2), inline(2, 7, 4, 1), inline(1, 9, 2, 2)];
        let cpu = resolve_cpu(&events, &arena, &KeyIndex::default(), 8);
        let owners: Vec<(u32, i64)> = cpu.owners.iter().map(|o| (o.tid, o.event_raw_ts)).collect();
        assert_eq!(owners, [(2, 7), (1, 9)], "one owner per event, in time order");
        let (store, ids) = intern(&[cpu]);
        assert_eq!(store.frames(ids[0][0]), &[0x30]);
        assert_eq!(store.frames(ids[0][1]), &[K, K + 8, 0x10, 0x20]);
    }

    #[test]
    fn equal_stacks_on_any_cpu_are_stored_once_and_ids_are_dense() {
        // Two CPUs, each with inline stacks; some repeat across and within CPUs.
        let arena_a = [1u64, 2, 3, 4, 5, 1, 2, 3];
        let arena_b = [4u64, 5, 9, 1, 2, 3];
        let cpu_a = [inline(1, 1, 0, 3), inline(1, 2, 3, 2), inline(2, 3, 5, 3)];
        let cpu_b = [inline(3, 1, 0, 2), inline(3, 2, 2, 1), inline(4, 3, 3, 3)];
        let keys = KeyIndex::default();
        let cpus = [resolve_cpu(&cpu_a, &arena_a, &keys, 8), resolve_cpu(&cpu_b, &arena_b, &keys, 8)];
        let (store, ids) = intern(&cpus);
        let frames = |c: usize, i: usize| store.frames(ids[c][i]).to_vec();
        assert_eq!((frames(0, 0), frames(0, 1), frames(0, 2)), (vec![1, 2, 3], vec![4, 5], vec![1, 2, 3]));
        assert_eq!((frames(1, 0), frames(1, 1), frames(1, 2)), (vec![4, 5], vec![9], vec![1, 2, 3]));
        assert_eq!(ids[0][0], ids[0][2]);
        assert_eq!(ids[0][0], ids[1][2]);
        assert_eq!(ids[0][1], ids[1][0]);
        assert_eq!(store.len(), 3);
        let mut all: Vec<StackId> = ids.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all, [0, 1, 2], "ids are 0..len");
        assert_eq!(store.frames(3), &[] as &[u64], "an unknown id has no frames");
    }

    #[test]
    fn many_stacks_intern_like_a_plain_map() {
        // Enough stacks to fill every shard; the ids must agree with a HashMap's dedup.
        let mut arena = Vec::new();
        let mut events = Vec::new();
        for i in 0..5_000u64 {
            let start = arena.len() as u32;
            let depth = 1 + (i % 4);
            arena.extend((0..depth).map(|d| (i % 1_700) * 16 + d));
            events.push(inline(1, i as i64, start, depth as u32));
        }
        let keys = KeyIndex::default();
        let cpu = resolve_cpu(&events, &arena, &keys, 8);
        let (store, ids) = intern(&[cpu]);
        let mut expected: std::collections::HashMap<Vec<u64>, StackId> = std::collections::HashMap::new();
        for (e, &id) in events.iter().zip(&ids[0]) {
            let StackBody::Frames { start, len } = e.body else { unreachable!() };
            let frames = arena[start as usize..(start + len) as usize].to_vec();
            assert_eq!(store.frames(id), &frames[..]);
            assert_eq!(*expected.entry(frames).or_insert(id), id, "one id per distinct stack");
        }
        assert_eq!(store.len(), expected.len());
    }
}
