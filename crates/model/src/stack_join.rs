//! Which event each stack was walked for. A stack follows its event on the
//! same CPU, so each CPU's samples, system call enters and ReadyThreads (the
//! readying thread's stack) claim their stacks
//! (same thread, same raw timestamp) in one time-ordered walk, on all cores.
//! What is left over is joined across CPUs: the user half of a stack can be
//! written after the thread moved to another CPU, and an event's stack can
//! land on another CPU altogether.
use super::pass_output::CpuOutput;
use super::stacks::{join_halves, CpuStacks, Owner};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

/// A stack of one CPU's `CpuStacks`: `owners[index]` of CPU `cpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StackRef {
    pub cpu: u32,
    pub index: u32,
}

/// A sample that claimed no stack on its CPU.
pub const NO_CLAIM: u32 = u32::MAX;

/// For one CPU: the stack of each sample, system call event and ReadyThread.
pub struct Claims {
    /// Parallel to the CPU's samples: the index of the stack of this CPU it
    /// claimed, or NO_CLAIM (4 bytes a sample: there are tens of millions).
    pub samples: Vec<u32>,
    /// (sample index, stack) of the samples the join across CPUs gave a stack
    /// of another CPU, in index order.
    pub adopted_samples: Vec<(usize, StackRef)>,
    /// (index in the CPU's system call events, its stack), in index order: few
    /// system calls carry stacks, and exits never do.
    pub syscalls: Vec<(usize, StackRef)>,
    /// (index in the CPU's ReadyThread events, its stack), in index order.
    pub readies: Vec<(usize, StackRef)>,
    /// Per owner of the CPU's stacks: whether an event took it (or it is part of another stack now).
    taken: Vec<bool>,
}

/// Walks a CPU's stack owners, sorted by (raw timestamp, thread), beside a
/// time-ordered list of events.
struct Walk<'a> {
    cpu: u32,
    owners: &'a [Owner],
    taken: Vec<bool>,
}

impl Walk<'_> {
    /// The stack walked for the event of `tid` at `raw_ts`. `cursor` only moves
    /// forward, so the events must come in time order.
    fn claim(&mut self, cursor: &mut usize, tid: u32, raw_ts: i64) -> Option<StackRef> {
        while self.owners.get(*cursor).is_some_and(|o| o.event_raw_ts < raw_ts) {
            *cursor += 1;
        }
        let at = (*cursor..self.owners.len())
            .take_while(|&i| self.owners[i].event_raw_ts == raw_ts)
            .find(|&i| self.owners[i].tid == tid && !self.taken[i])?;
        self.taken[at] = true;
        Some(StackRef { cpu: self.cpu, index: at as u32 })
    }
}

/// The stacks that the samples, system call enters and ReadyThreads of one CPU claim on that CPU.
pub fn claim_on_cpu(cpu_index: usize, cpu: &CpuOutput, owners: &[Owner]) -> Claims {
    debug_assert!(owners.is_sorted_by_key(|o| (o.event_raw_ts, o.tid)));
    let mut walk = Walk { cpu: cpu_index as u32, owners, taken: vec![false; owners.len()] };
    let mut cursor = 0;
    // While the build joins, a sample row's time is its raw timestamp.
    let samples =
        cpu.samples.iter().map(|s| walk.claim(&mut cursor, s.tid, s.ts).map_or(NO_CLAIM, |r| r.index)).collect();
    let mut cursor = 0;
    let syscalls = cpu
        .syscalls
        .enters
        .iter()
        .enumerate()
        // While the build pairs, a row's time is the enter's raw timestamp.
        .filter_map(|(i, e)| Some((i, walk.claim(&mut cursor, e.tid()?, e.ts)?)))
        .collect();
    let mut cursor = 0;
    // A ReadyThread's stack is the readying thread's; its time is raw while the build joins.
    let readies = (cpu.readies.iter().enumerate())
        .filter_map(|(i, r)| Some((i, walk.claim(&mut cursor, r.readying_tid()?, r.ts)?)))
        .collect();
    Claims { samples, adopted_samples: Vec::new(), syscalls, readies, taken: walk.taken }
}

impl Claims {
    /// The stack sample `sample` of CPU `cpu` claimed, here or on another CPU.
    pub fn sample(&self, cpu: usize, sample: usize) -> Option<StackRef> {
        match self.samples.get(sample) {
            Some(&index) if index != NO_CLAIM => Some(StackRef { cpu: cpu as u32, index }),
            _ => {
                let at = self.adopted_samples.binary_search_by_key(&sample, |&(i, _)| i).ok()?;
                Some(self.adopted_samples[at].1)
            }
        }
    }
}

/// Joins the halves of one event's stack that were written on different CPUs,
/// then gives stacks still unclaimed to events without one on other CPUs.
/// Only stacks that no event on their own CPU took are looked at, so this is
/// cheap when (as usual) stacks follow their events.
pub fn join_across_cpus(cpus: &[CpuOutput], stacks: &mut [CpuStacks<'_>], claims: &mut [Claims], pointer_size: u8) {
    let key = |o: &Owner| (o.event_raw_ts, o.tid);
    let mut loose: HashMap<(i64, u32), Vec<StackRef>> = HashMap::default();
    for (c, claim) in claims.iter().enumerate() {
        for (i, _) in claim.taken.iter().enumerate().filter(|(_, &taken)| !taken) {
            loose.entry(key(&stacks[c].owners[i])).or_default().push(StackRef { cpu: c as u32, index: i as u32 });
        }
    }
    if loose.is_empty() {
        return;
    }
    // Taken stacks of the same events: the halves their events claimed.
    let partners: Vec<Vec<StackRef>> = stacks
        .par_iter()
        .zip(claims.par_iter())
        .enumerate()
        .map(|(c, (s, claim))| {
            s.owners
                .iter()
                .enumerate()
                .filter(|&(i, o)| claim.taken[i] && loose.contains_key(&key(o)))
                .map(|(i, _)| StackRef { cpu: c as u32, index: i as u32 })
                .collect()
        })
        .collect();
    let mut taken_parts: HashMap<(i64, u32), Vec<StackRef>> = HashMap::default();
    for r in partners.into_iter().flatten() {
        taken_parts.entry(key(&stacks[r.cpu as usize].owners[r.index as usize])).or_default().push(r);
    }

    let mut groups: Vec<((i64, u32), Vec<StackRef>)> = loose.into_iter().collect();
    groups.sort_unstable();
    let mut still_loose: HashMap<(i64, u32), StackRef> = HashMap::default();
    let mut joined = Vec::new();
    for (owner, loose_parts) in groups {
        let mut parts = taken_parts.remove(&owner).unwrap_or_default();
        // The stack that stays: one an event took, else the first.
        let keep = parts.first().copied().unwrap_or(loose_parts[0]);
        parts.extend(loose_parts);
        parts.sort_unstable();
        parts.dedup();
        if parts.len() > 1 {
            joined.clear();
            {
                let mut halves: Vec<&[u64]> =
                    parts.iter().map(|r| stacks[r.cpu as usize].frames_at(r.index as usize)).collect();
                join_halves(&mut halves, pointer_size, &mut joined);
            }
            stacks[keep.cpu as usize].replace(keep.index as usize, &joined);
            for r in parts.iter().filter(|&&r| r != keep) {
                stacks[r.cpu as usize].remove(r.index as usize);
                claims[r.cpu as usize].taken[r.index as usize] = true;
            }
        }
        if !claims[keep.cpu as usize].taken[keep.index as usize] {
            still_loose.insert(owner, keep);
        }
    }
    if still_loose.is_empty() {
        return;
    }
    for (c, (cpu, claim)) in cpus.iter().zip(claims.iter_mut()).enumerate() {
        for (i, (s, stack)) in cpu.samples.iter().zip(&mut claim.samples).enumerate() {
            match still_loose.get(&(s.ts, s.tid)) {
                Some(r) if *stack == NO_CLAIM && r.cpu as usize == c => *stack = r.index,
                Some(&r) if *stack == NO_CLAIM => claim.adopted_samples.push((i, r)),
                _ => {}
            }
        }
        let mut adopted = Vec::new();
        let mut claimed = claim.syscalls.iter().map(|&(i, _)| i).peekable();
        for (i, e) in cpu.syscalls.enters.iter().enumerate() {
            if claimed.next_if_eq(&i).is_some() {
                continue;
            }
            if let Some(&stack) = e.tid().and_then(|tid| still_loose.get(&(e.ts, tid))) {
                adopted.push((i, stack));
            }
        }
        if !adopted.is_empty() {
            claim.syscalls.extend(adopted);
            claim.syscalls.sort_unstable_by_key(|&(i, _)| i);
        }
        let mut adopted = Vec::new();
        let mut claimed = claim.readies.iter().map(|&(i, _)| i).peekable();
        for (i, r) in cpu.readies.iter().enumerate() {
            if claimed.next_if_eq(&i).is_some() {
                continue;
            }
            if let Some(&stack) = r.readying_tid().and_then(|tid| still_loose.get(&(r.ts, tid))) {
                adopted.push((i, stack));
            }
        }
        if !adopted.is_empty() {
            claim.readies.extend(adopted);
            claim.readies.sort_unstable_by_key(|&(i, _)| i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pass_output::{StackBody, StackEvent};
    use crate::stacks::{intern, resolve_cpu, KeyIndex};
    use crate::SampleRow;

    const K: u64 = 0xFFFF_F800_0000_1000;

    fn sample(tid: u32, raw_ts: i64) -> SampleRow {
        SampleRow::new(raw_ts, 0, tid, 0)
    }

    fn stack(tid: u32, raw: i64, start: u32, len: u32) -> StackEvent {
        StackEvent { event_raw_ts: raw, tid, pid: 1, body: StackBody::Frames { start, len } }
    }

    #[test]
    fn halves_on_two_cpus_join_and_a_stack_on_another_cpu_finds_its_sample() {
        let cpu0 =
            CpuOutput { cpu: 0, samples: [sample(5, 100), sample(6, 200)].into_iter().collect(), ..Default::default() };
        let cpu1 = CpuOutput { cpu: 1, ..Default::default() };
        // CPU 0 logged thread 5's kernel half; CPU 1 its user half (the thread
        // moved) and thread 6's whole stack.
        let (arena0, events0) = ([K, K + 8], [stack(5, 100, 0, 2)]);
        let (arena1, events1) = ([0x10, 0x20, 0x30], [stack(5, 100, 0, 2), stack(6, 200, 2, 1)]);
        let keys = KeyIndex::default();
        let mut stacks = vec![resolve_cpu(&events0, &arena0, &keys, 8), resolve_cpu(&events1, &arena1, &keys, 8)];
        let cpus = [cpu0, cpu1];
        let mut claims: Vec<Claims> =
            cpus.iter().zip(&stacks).enumerate().map(|(c, (o, s))| claim_on_cpu(c, o, &s.owners)).collect();
        let claimed = |claims: &[Claims], i| claims[0].sample(0, i);
        assert_eq!(
            [claimed(&claims, 0), claimed(&claims, 1)],
            [Some(StackRef { cpu: 0, index: 0 }), None],
            "before the join"
        );
        join_across_cpus(&cpus, &mut stacks, &mut claims, 8);
        let (store, ids) = intern(&stacks);
        let frames = |r: Option<StackRef>| r.map(|r| store.frames(ids[r.cpu as usize][r.index as usize]).to_vec());
        assert_eq!(frames(claimed(&claims, 0)), Some(vec![K, K + 8, 0x10, 0x20]));
        assert_eq!(frames(claimed(&claims, 1)), Some(vec![0x30]));
        assert!(stacks[1].is_removed(0), "the user half is part of the joined stack");
        assert!(!stacks[1].is_removed(1));
    }
}
