//! Stacks: stored once and shared. StackWalk events come inline or as
//! stack-caching references whose frames a later StackKeyDelete/Rundown
//! defines; the kernel and user halves of one event's stack are joined.
//! Each CPU's stacks are resolved and numbered by their frames on its own
//! core, then the CPUs' distinct stacks are interned CPU by CPU.
use super::modules::is_kernel_address;
pub use super::pass_output::StackId;
use super::pass_output::{KeyDefinition, StackBody, StackEvent};
use hashbrown::hash_table::HashTable;
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use std::hash::BuildHasher;

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

/// A stack waiting for its id: where its frames are, and their hash (16
/// bytes: there is one a stack walk until the stacks are interned).
#[derive(Clone, Copy)]
struct Candidate {
    /// The top half of the frames' hash (`hash` spreads it again).
    hash_bits: u32,
    /// An arena past 4 G frames is beyond any trace: such a start reads as no frames.
    start: u32,
    len: u32,
    arena: Arena,
}

impl Candidate {
    fn new(frames: &[u64], start: usize, arena: Arena) -> Candidate {
        let hash_bits = (hash_frames(frames) >> 32) as u32;
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        Candidate { hash_bits, start, len: frames.len() as u32, arena }
    }

    /// A 64-bit hash for the tables, whose buckets read its low bits and whose tags its top 7.
    fn hash(&self) -> u64 {
        u64::from(self.hash_bits).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
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
        let start = c.start as usize;
        arena.get(start..start + c.len as usize).unwrap_or(&[])
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
            *c = Candidate::new(frames, start, Arena::Joined);
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
            (1, Some((start, len))) => Candidate::new(&halves[0][..len.min(halves[0].len())], start, Arena::Inline),
            _ => {
                let start = out.joined.len();
                join_halves(&mut halves, pointer_size, &mut out.joined);
                Candidate::new(&out.joined[start..], start, Arena::Joined)
            }
        };
        out.candidates.push(candidate);
        out.owners.push(Owner { tid: first.tid, pid: first.pid, event_raw_ts: first.event_raw_ts });
    }
    out
}

/// Interns every CPU's stacks; returns the store and, per CPU, the id of
/// each candidate (0 for a removed one). Each CPU numbers its distinct
/// stacks on its own core (a number a candidate, a table entry a distinct
/// stack); repeats of one CPU's distinct stacks on earlier CPUs are found in
/// shards by hash, on all cores; the stacks first seen get ids CPU by CPU, in
/// order, and each CPU's numbers become ids in place. A trace whose stacks
/// repeat (as profiles' do) holds little more than its candidates meanwhile.
pub fn intern(cpus: &[CpuStacks<'_>]) -> (StackStore, Vec<Vec<StackId>>) {
    // Per CPU: each candidate's local number, and the first candidate of each number.
    let locals: Vec<(Vec<u32>, Vec<u32>)> = cpus.par_iter().map(number_locally).collect();
    let hash_of = |c: usize, n: u32| cpus[c].candidates[locals[c].1[n as usize] as usize].hash();
    let frames_of = |c: usize, n: u32| cpus[c].frames(&cpus[c].candidates[locals[c].1[n as usize] as usize]);
    // Per CPU, per shard: its distinct stacks' numbers, read in order rather than strided.
    let by_shard: Vec<Vec<Vec<u32>>> = (0..cpus.len())
        .into_par_iter()
        .map(|c| {
            let mut by_shard = vec![Vec::new(); SHARDS];
            for n in 0..locals[c].1.len() as u32 {
                by_shard[shard_of(hash_of(c, n))].push(n);
            }
            by_shard
        })
        .collect();
    // Per shard: (CPU, number, where it was first seen) of each distinct stack seen before.
    let repeats: Vec<Vec<(u32, u32, FirstSeen)>> = (0..SHARDS)
        .into_par_iter()
        .map(|shard| {
            let mut table: HashTable<FirstSeen> = HashTable::new();
            let mut repeats = Vec::new();
            for (c, shards) in by_shard.iter().enumerate() {
                for &n in &shards[shard] {
                    let (hash, frames) = (hash_of(c, n), frames_of(c, n));
                    let same = |f: &FirstSeen| frames_of(f.cpu as usize, f.number) == frames;
                    match table.find(hash, same) {
                        Some(&first) => repeats.push((c as u32, n, first)),
                        None => {
                            let here = FirstSeen { cpu: c as u32, number: n };
                            table.insert_unique(hash, here, |f| hash_of(f.cpu as usize, f.number));
                        }
                    }
                }
            }
            repeats
        })
        .collect();
    drop(by_shard);
    let mut first_seen: Vec<Vec<Option<FirstSeen>>> = locals.iter().map(|(_, f)| vec![None; f.len()]).collect();
    for (c, n, first) in repeats.into_iter().flatten() {
        first_seen[c as usize][n as usize] = Some(first);
    }
    // Ids CPU by CPU: a stack first seen here is stored; a repeat takes its first's id.
    let mut segments = Vec::with_capacity(cpus.len());
    let mut first_ids = Vec::with_capacity(cpus.len());
    let mut global_of_local: Vec<Vec<StackId>> = Vec::with_capacity(cpus.len());
    let mut next: StackId = 0;
    for (c, seen) in first_seen.iter().enumerate() {
        first_ids.push(next);
        let mut segment = Segment::default();
        let global: Vec<StackId> = (0..seen.len() as u32)
            .map(|n| match seen[n as usize] {
                Some(first) => global_of_local[first.cpu as usize][first.number as usize],
                None => next + segment.push(frames_of(c, n)) as StackId,
            })
            .collect();
        next = next.saturating_add(segment.ends.len() as StackId);
        segments.push(segment);
        global_of_local.push(global);
    }
    drop(first_seen);
    let ids = locals
        .into_par_iter()
        .zip(global_of_local)
        .map(|((mut numbers, _), global)| {
            for n in &mut numbers {
                *n = global.get(*n as usize).copied().unwrap_or(0);
            }
            numbers
        })
        .collect();
    (StackStore { segments, first_ids }, ids)
}

/// Where a distinct stack was first seen: number `number` of CPU `cpu`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FirstSeen {
    cpu: u32,
    number: u32,
}

/// Finding repeats runs one task per shard of the hashes; more shards than
/// cores keeps the cores even, and each shard's table small enough for the cache.
const SHARDS: usize = 64;

/// Bits between those the tables use for buckets (low) and tags (top 7).
fn shard_of(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// A removed candidate's number: it has no stack.
const NO_NUMBER: u32 = u32::MAX;

/// One CPU's candidates numbered by their frames, first occurrences first:
/// each candidate's number, and the first candidate of each number.
fn number_locally(cpu: &CpuStacks<'_>) -> (Vec<u32>, Vec<u32>) {
    let mut table: HashTable<u32> = HashTable::new();
    let mut firsts: Vec<u32> = Vec::new();
    let frames_of = |first: u32| cpu.frames(&cpu.candidates[first as usize]);
    let numbers = cpu
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if c.arena == Arena::Removed {
                return NO_NUMBER;
            }
            let frames = cpu.frames(c);
            let found = table.find(c.hash(), |&n| frames_of(firsts[n as usize]) == frames).copied();
            found.unwrap_or_else(|| {
                let n = firsts.len() as u32;
                firsts.push(i as u32);
                table.insert_unique(c.hash(), n, |&n| cpu.candidates[firsts[n as usize] as usize].hash());
                n
            })
        })
        .collect();
    (numbers, firsts)
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
