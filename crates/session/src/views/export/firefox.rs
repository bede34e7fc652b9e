//! Firefox Profiler's processed profile format, written by
//! fxprof-processed-profile (samply's writer, kept in step with the profiler):
//! a process per pid, a thread per tid (or one per process), samples with
//! their stacks, each sample's CPU time its weight.
use super::super::no_stack_label;
use super::Sampled;
use fxprof_processed_profile::{
    CategoryHandle, CpuDelta, Frame, FrameFlags, FrameInfo, Profile, ReferenceTimestamp, SamplingInterval, StackHandle,
    StringHandle, Timestamp,
};
use std::collections::{BTreeMap, HashMap};

pub(super) fn firefox(sampled: &Sampled) -> Result<Vec<u8>, serde_json::Error> {
    let stacks = &sampled.stacks;
    // The most common weight is the profile interval; 1 ms when rows have none.
    let mut weights: HashMap<i64, usize> = HashMap::new();
    for s in sampled.groups.iter().flat_map(|g| &g.samples) {
        *weights.entry(s.weight_ns).or_default() += 1;
    }
    let interval = weights.into_iter().max_by_key(|&(w, n)| (n, w)).map_or(1_000_000, |(w, _)| w.max(1));
    let mut profile = Profile::new(
        "etwq",
        ReferenceTimestamp::from_millis_since_unix_epoch(0.0),
        SamplingInterval::from_nanos(interval as u64),
    );
    let labels: Vec<StringHandle> =
        (0..stacks.label_count()).map(|id| profile.intern_string(&stacks.label(id as u32).0)).collect();
    let no_stack = profile.intern_string(&no_stack_label());
    let frame = |name: StringHandle| FrameInfo {
        frame: Frame::Label(name),
        category_pair: CategoryHandle::OTHER.into(),
        flags: FrameFlags::empty(),
    };
    let mut processes = BTreeMap::new();
    for group in &sampled.groups {
        let start = Timestamp::from_nanos_since_reference(group.samples.first().map_or(0, |s| s.ts_ns.max(0) as u64));
        let process = *processes.entry((group.trace.clone(), group.pid)).or_insert_with(|| {
            let name = match group.trace.as_str() {
                "" => group.process_name.clone(),
                trace => format!("{} [{trace}]", group.process_name),
            };
            profile.add_process(&name, group.pid, start)
        });
        let thread = profile.add_thread(process, group.tid.unwrap_or(group.pid), start, group.tid.is_none());
        profile.set_thread_name(thread, &group.name);
        let mut interned: HashMap<Option<usize>, Option<StackHandle>> = HashMap::new();
        for s in &group.samples {
            let stack = *interned.entry(s.path).or_insert_with(|| match s.path {
                Some(path) => {
                    let frames = stacks.steps(path).iter().map(|&id| frame(labels[id as usize]));
                    profile.intern_stack_frames(thread, frames)
                }
                None => profile.intern_stack_frames(thread, std::iter::once(frame(no_stack))),
            });
            let ts = Timestamp::from_nanos_since_reference(s.ts_ns.max(0) as u64);
            profile.add_sample(thread, ts, stack, CpuDelta::from_nanos(s.weight_ns.max(0) as u64), 1);
        }
    }
    serde_json::to_vec(&profile)
}
