//! Random but consistent machines, from a seed.
use super::*;
use crate::payloads::Sid;
use etl::Guid;
use std::collections::{HashMap, HashSet};

/// SplitMix64: a small deterministic generator, so scenarios need no crate.
#[derive(Clone, Debug)]
pub struct DemoRng(u64);

impl DemoRng {
    pub fn new(seed: u64) -> DemoRng {
        DemoRng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }

    /// Uniform in lo..hi (lo when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo.wrapping_add(self.below(hi.wrapping_sub(lo) as u64) as i64)
        }
    }

    /// A point strictly between a and b, when there is one.
    pub fn strictly_between(&mut self, a: i64, b: i64) -> Option<i64> {
        (b - a >= 2).then(|| self.range(a + 1, b))
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= probability && probability > 0.0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// Knobs of `random_scenario`.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomOptions {
    pub cpus: u16,
    pub processes: usize,
    pub threads: usize,
    pub duration: i64,
    /// Drop some syscall and sample records as lost events.
    pub lost_events: bool,
    /// With `lost_events`: the chance that a syscall's enter (or exit) is lost.
    pub loss_chance: f64,
    pub profile_interval_100ns: u32,
    /// When set, a call that returns in its own slice starts and ends within
    /// this many ticks (100 ns), so that each slice holds many calls: a machine
    /// dense in system calls. None: calls spread over their slices.
    pub short_calls: Option<i64>,
    pub dispatcher_header: DispatcherHeader,
    /// Some threads start or end inside the trace. Off, every thread lives
    /// through it, and the scenario can repeat (`Scenario::write_periods`).
    pub thread_lifecycle: bool,
    /// When set, each sample's IP and callers are one of this many code paths
    /// in the kernel and as many in user mode, the first ones far more often,
    /// as in real profiles, where most samples repeat a stack seen before
    /// (2.6% of the samples of PerfView's net.4.5.2 trace have a stack of
    /// their own). None: every sample's frames are drawn at random, nearly
    /// every stack is new.
    pub stack_paths: Option<usize>,
    /// Some system calls open a file or touch a registry key inside them.
    pub objects: bool,
    /// DPCs and ISRs on every CPU.
    pub dpcs: bool,
    /// Half the ReadyThread events are followed by the readying thread's
    /// stack walk, as with stack walking on for ReadyThread. Drawn after the
    /// rest: a scenario is the same with or without them, but for the stacks.
    pub ready_stacks: bool,
}

/// Code paths that samples repeat: an IP and its callers each.
struct CodePaths {
    paths: Vec<(u64, Vec<u64>)>,
}

impl CodePaths {
    fn new(rng: &mut DemoRng, count: usize, module_base: u64) -> CodePaths {
        let frame = |rng: &mut DemoRng| module_base + rng.below(0x10_0000);
        let paths = (0..count.max(1))
            .map(|_| {
                let ip = frame(rng);
                let depth = rng.below(6);
                (ip, (0..depth).map(|_| frame(rng)).collect())
            })
            .collect();
        CodePaths { paths }
    }

    /// A path, skewed towards the first ones: a few hot paths, a long tail.
    fn pick(&self, rng: &mut DemoRng) -> &(u64, Vec<u64>) {
        let len = self.paths.len() as u64;
        let bound = rng.below(len) + 1;
        let index = rng.below(bound);
        &self.paths[index as usize]
    }
}

impl Default for RandomOptions {
    fn default() -> Self {
        RandomOptions {
            cpus: 4,
            processes: 4,
            threads: 24,
            duration: 2_000_000,
            lost_events: false,
            loss_chance: 0.03,
            profile_interval_100ns: 1_000,
            short_calls: None,
            dispatcher_header: DispatcherHeader::Compact,
            thread_lifecycle: true,
            stack_paths: None,
            objects: false,
            dpcs: false,
            ready_stacks: false,
        }
    }
}

/// A random but consistent machine: threads migrate between CPUs, system
/// calls nest and span context switches, some threads start or end inside
/// the trace, and with `lost_events` some records are dropped.
pub fn random_scenario(seed: u64, options: &RandomOptions) -> Scenario {
    let mut rng = DemoRng::new(seed);
    let cpus = options.cpus.max(1);
    let duration = options.duration.max(10_000);
    let mut s = Scenario::new(cpus, duration);
    s.dispatcher_header = options.dispatcher_header;
    let machine = [rng.next_u64() as u32, rng.next_u64() as u32, rng.next_u64() as u32];

    let nt = ModuleSpec {
        pid: 0,
        base: 0xFFFF_F800_61A0_0000,
        size: 0x104_6000,
        path: "\\SystemRoot\\system32\\ntoskrnl.exe".into(),
        time_date_stamp: 0x5f8e_9a11,
        checksum: 0x00a3_b9c4,
        pdb: Some(PdbIdentity {
            name: "ntkrnlmp.pdb".into(),
            guid: Guid::from_fields(0x3844_dbb9, 0x2017, 0x4967, [0xbe, 0x7a, 0xa4, 0xa2, 0xc2, 0x04, 0x30, 0xfa]),
            age: 1,
        }),
        il_pdb: None,
        load: None,
        unload: None,
    };
    s.modules.push(nt);
    s.processes.push(ProcessSpec {
        pid: IDLE_PID,
        parent_pid: 0,
        name: "Idle".into(),
        command_line: String::new(),
        session_id: u32::MAX,
        user_sid: Sid::local_system(),
        start: None,
        end: None,
    });
    let process_count = options.processes.max(1);
    for k in 0..process_count {
        let pid = 1000 + 4 * k as u32;
        s.processes.push(ProcessSpec {
            pid,
            parent_pid: 4,
            name: format!("proc{k}.exe"),
            command_line: format!("C:\\bin\\proc{k}.exe --seed {seed}"),
            session_id: 1,
            user_sid: Sid::account(machine, 1001),
            start: None,
            end: None,
        });
        for (i, name) in [format!("proc{k}.exe"), "ntdll.dll".to_string()].iter().enumerate() {
            let base = if i == 0 { 0x7FF6_0000_0000 + u64::from(pid) * 0x100_0000 } else { 0x7FFE_1B2E_0000 };
            s.modules.push(ModuleSpec {
                pid,
                base,
                size: 0x20_0000,
                path: format!("\\Device\\HarddiskVolume3\\Windows\\System32\\{name}"),
                time_date_stamp: rng.next_u64() as u32,
                checksum: rng.next_u64() as u32 & 0x00ff_ffff,
                pdb: Some(PdbIdentity {
                    name: name.replace(".exe", ".pdb").replace(".dll", ".pdb"),
                    guid: Guid(rng.next_u64().to_le_bytes().repeat(2).try_into().unwrap_or([0; 16])),
                    age: 1 + rng.below(3) as u32,
                }),
                il_pdb: None,
                load: None,
                unload: None,
            });
        }
    }
    for k in 0..options.threads.max(1) {
        let pid = 1000 + 4 * (k % process_count) as u32;
        let (start, end) = match rng.below(6) {
            _ if !options.thread_lifecycle => (None, None),
            0 => (Some(rng.range(1, duration / 2)), None),
            1 => (None, Some(rng.range(duration / 2, duration - 1))),
            _ => (None, None),
        };
        s.threads.push(ThreadSpec {
            tid: 2000 + 4 * k as u32,
            pid,
            start,
            end,
            base_priority: 8 + rng.below(8) as u8,
            start_address: 0x7FF6_0000_1000 + u64::from(pid) * 0x100_0000,
            name: String::new(),
        });
    }

    // Schedule: the CPU whose current slice ends first picks the next thread
    // among those not running elsewhere (with a tick of gap, so that a thread
    // never leaves one CPU and enters another at the same timestamp).
    let mut free_at: Vec<i64> = s.threads.iter().map(|t| t.start.unwrap_or(0)).collect();
    let mut cpu_at = vec![0i64; usize::from(cpus)];
    let mut last_on_cpu = vec![u32::MAX; usize::from(cpus)];
    while let Some((cpu, &t)) = cpu_at.iter().enumerate().filter(|(_, &t)| t < duration).min_by_key(|(_, &t)| t) {
        let length = rng.range(40, 20_000);
        let candidates: Vec<usize> = (0..s.threads.len())
            .filter(|&i| {
                let th = &s.threads[i];
                let dies = th.end.unwrap_or(duration);
                free_at[i] < t && t + 40 < dies && th.tid != last_on_cpu[cpu]
            })
            .collect();
        let choice = if rng.chance(0.2) { None } else { rng.pick(&candidates).copied() };
        match choice {
            None => {
                cpu_at[cpu] = (t + length).min(duration);
                last_on_cpu[cpu] = IDLE_TID;
            }
            Some(i) => {
                let th = &s.threads[i];
                let end = (t + length).min(th.end.unwrap_or(duration)).min(duration);
                let out = if th.end == Some(end) {
                    SwitchOut { state: thread_state::TERMINATED, wait_reason: wait_reason::EXECUTIVE, wait_mode: 0 }
                } else if rng.chance(0.3) {
                    SwitchOut::PREEMPTED
                } else {
                    let reasons = [
                        wait_reason::EXECUTIVE,
                        wait_reason::DELAY_EXECUTION,
                        wait_reason::USER_REQUEST,
                        wait_reason::WR_QUEUE,
                    ];
                    SwitchOut::waiting(*rng.pick(&reasons).unwrap_or(&0))
                };
                if t > 0 && rng.chance(0.5) {
                    s.ready_threads.push(ReadySpec {
                        cpu: cpu as u16,
                        ts: t - 1,
                        tid: th.tid,
                        adjust_reason: 1,
                        adjust_increment: 1,
                    });
                }
                s.schedule.push(Slice {
                    cpu: cpu as u16,
                    tid: th.tid,
                    start: t,
                    end,
                    priority: th.base_priority as i8,
                    out,
                });
                free_at[i] = end;
                cpu_at[cpu] = end;
                last_on_cpu[cpu] = th.tid;
            }
        }
    }

    // System calls per thread along its slices: some short, some spanning
    // context switches, some with a nested call, the last maybe left open.
    let mut runs: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    for slice in &s.schedule {
        runs.entry(slice.tid).or_default().push((slice.start, slice.end));
    }
    let addresses: Vec<u64> = (0..24).map(|i| 0xFFFF_F800_61C0_0000 + i * 0x1_0340).collect();
    let statuses = [0u32, 0, 0, 0, 0x0000_0102, 0xC000_0034, 0xC000_0022, 0x8000_0005];
    let lives_on: Vec<u32> = s.threads.iter().filter(|t| t.end.is_none()).map(|t| t.tid).collect();
    let mut tids: Vec<u32> = runs.keys().copied().collect();
    tids.sort_unstable();
    for tid in tids {
        let mut list = runs.remove(&tid).unwrap_or_default();
        list.sort_unstable();
        let mut pos = i64::MIN;
        let mut i = 0;
        while i < list.len() {
            let (start, end) = list[i];
            let from = start.max(pos);
            // Short calls leave room to return before the slice ends.
            let Some(enter) =
                rng.strictly_between(from, options.short_calls.map_or(end, |gap| (end - 1).min(from + gap)))
            else {
                i += 1;
                continue;
            };
            // Dense machines still have some calls that block across switches.
            let spans = rng.chance(if options.short_calls.is_some() { 0.01 } else { 0.25 });
            let (exit, exit_slice) = if spans && i + 1 < list.len() {
                let j = (i + 1 + rng.below(2) as usize).min(list.len() - 1);
                (rng.strictly_between(list[j].0, list[j].1), j)
            } else if i + 1 == list.len() && lives_on.contains(&tid) && rng.chance(0.3) {
                (None, i)
            } else {
                (rng.strictly_between(enter, options.short_calls.map_or(end, |length| end.min(enter + length))), i)
            };
            let mut call = SyscallSpec {
                tid,
                enter,
                exit,
                address: *rng.pick(&addresses).unwrap_or(&0),
                status: *rng.pick(&statuses).unwrap_or(&0),
                lost_enter: false,
                lost_exit: false,
            };
            if options.lost_events {
                call.lost_enter = rng.chance(options.loss_chance);
                call.lost_exit = rng.chance(options.loss_chance);
            }
            // A nested call inside the first slice of this one.
            let inner_end = exit.filter(|_| exit_slice == i).unwrap_or(end);
            if rng.chance(0.3) {
                if let Some(inner_enter) = rng.strictly_between(enter, inner_end - 1) {
                    if let Some(inner_exit) = rng.strictly_between(inner_enter, inner_end) {
                        s.syscalls.push(SyscallSpec {
                            tid,
                            enter: inner_enter,
                            exit: Some(inner_exit),
                            address: *rng.pick(&addresses).unwrap_or(&0),
                            status: *rng.pick(&statuses).unwrap_or(&0),
                            lost_enter: false,
                            lost_exit: false,
                        });
                    }
                }
            }
            s.syscalls.push(call);
            match exit {
                Some(exit) => {
                    pos = exit;
                    i = exit_slice;
                }
                None => break,
            }
        }
    }

    // Profile samples on every CPU at every interval, of whatever runs there.
    s.profile = Some(ProfileSpec { interval_100ns: options.profile_interval_100ns.max(1) });
    let interval = s.profile_interval_ticks().unwrap_or(1_000);
    let checked = match s.check() {
        Ok(c) => c,
        Err(_) => return s,
    };
    const KERNEL_BASE: u64 = 0xFFFF_F800_61A0_0000;
    const USER_BASE: u64 = 0x7FFE_1B2E_0000;
    let paths = options
        .stack_paths
        .map(|count| (CodePaths::new(&mut rng, count, KERNEL_BASE), CodePaths::new(&mut rng, count, USER_BASE)));
    for cpu in 0..cpus {
        let mut ts = interval / 2 + i64::from(cpu) * 7;
        while ts < duration {
            if let Some(st) = checked.stretch_at(cpu, ts) {
                if st.start < ts && ts + 1 < st.end {
                    let kernel = st.tid == IDLE_TID || rng.chance(0.4);
                    let (ip, callers) = match &paths {
                        Some((kernel_paths, user_paths)) => {
                            let (ip, callers) = if kernel { kernel_paths } else { user_paths }.pick(&mut rng);
                            (*ip, callers.clone())
                        }
                        None => {
                            let module_base = if kernel { KERNEL_BASE } else { USER_BASE };
                            let ip = module_base + rng.below(0x10_0000);
                            (ip, (0..rng.below(6)).map(|_| module_base + rng.below(0x10_0000)).collect())
                        }
                    };
                    s.samples.push(SampleSpec {
                        cpu,
                        tid: st.tid,
                        ts,
                        ip,
                        callers,
                        lost: options.lost_events && rng.chance(options.loss_chance * 2.0 / 3.0),
                    });
                }
            }
            ts += interval;
        }
    }
    if options.ready_stacks {
        // A stack walk goes to the event of its thread and time: none of the
        // readying thread's system calls or samples may share a ReadyThread's.
        let mut taken: HashSet<(u32, i64)> = s.syscalls.iter().map(|c| (c.tid, c.enter)).collect();
        taken.extend(s.samples.iter().map(|x| (x.tid, x.ts)));
        // A generator of their own, so that the rest of the scenario does not change.
        let mut rng = DemoRng::new(seed ^ 0x7EAD_57AC_0EAD_57AC);
        for i in 0..s.ready_threads.len() {
            let r = s.ready_threads[i];
            let readier = checked.stretch_at(r.cpu, r.ts).map_or(IDLE_TID, |st| st.tid);
            if rng.chance(0.5) && !taken.contains(&(readier, r.ts)) {
                let (kernel, user) = (1 + rng.below(4), rng.below(4));
                let mut frames: Vec<u64> = (0..kernel).map(|_| KERNEL_BASE + rng.below(0x10_0000)).collect();
                frames.extend((0..user).map(|_| USER_BASE + rng.below(0x10_0000)));
                s.ready_stacks.insert(i, frames);
            }
        }
    }
    if options.objects {
        add_objects(&mut s, &checked, &mut rng);
    }
    if options.dpcs {
        add_dpcs(&mut s, &mut rng);
    }
    s
}

/// DPCs and ISRs of a few routines at random times on every CPU.
fn add_dpcs(s: &mut Scenario, rng: &mut DemoRng) {
    let kinds = [InterruptKind::Dpc, InterruptKind::ThreadedDpc, InterruptKind::TimerDpc, InterruptKind::Isr];
    let routines: Vec<u64> = (0..6).map(|i| 0xFFFF_F800_61A0_0000 + 0x1_2340 * (i + 1)).collect();
    for cpu in 0..s.cpu_count {
        let mut at = 0;
        while let Some(start) = rng.strictly_between(at, s.duration - 1) {
            let Some(end) = rng.strictly_between(start, (start + 2_000).min(s.duration)) else { break };
            let kind = *rng.pick(&kinds).unwrap_or(&InterruptKind::Dpc);
            let routine = *rng.pick(&routines).unwrap_or(&0);
            s.dpcs.push(DpcSpec { cpu, start, end, kind, routine, vector: 0x80 + rng.below(16) as u16 });
            at = end + rng.below(s.duration.max(0) as u64 / 20 + 1) as i64;
            if at >= s.duration - 2 {
                break;
            }
        }
    }
}

/// A registry operation or a file open inside some system calls, at a time
/// their thread runs and no call nested in them holds.
fn add_objects(s: &mut Scenario, checked: &super::Timeline, rng: &mut DemoRng) {
    let statuses = [0u32, 0, 0xC000_0034, 0xC000_0022, 0x8000_001A];
    let ops = [RegistryOp::Open, RegistryOp::QueryValue, RegistryOp::SetValue, RegistryOp::Create];
    let mut by_thread: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    for c in &s.syscalls {
        by_thread.entry(c.tid).or_default().push((c.enter, c.exit.unwrap_or(i64::MAX)));
    }
    for c in s.syscalls.clone() {
        if !rng.chance(0.4) {
            continue;
        }
        let Some(cpu) = checked.cpu_running(c.tid, c.enter) else { continue };
        let Some(stretch) = checked.stretch_at(cpu, c.enter) else { continue };
        let Some(ts) = rng.strictly_between(c.enter, c.exit.unwrap_or(i64::MAX).min(stretch.end)) else { continue };
        // The innermost call holding `ts` must be this one.
        let nested = by_thread[&c.tid].iter().any(|&(enter, exit)| enter > c.enter && enter <= ts && ts <= exit);
        if nested || checked.cpu_running(c.tid, ts).is_none() {
            continue;
        }
        let status = *rng.pick(&statuses).unwrap_or(&0);
        let n = rng.below(40);
        if rng.chance(0.5) {
            let op = *rng.pick(&ops).unwrap_or(&RegistryOp::Open);
            let key = format!("\\REGISTRY\\MACHINE\\SOFTWARE\\Vendor{}\\Setting{n}", n % 7);
            s.registry.push(RegistrySpec { tid: c.tid, ts, op, key, status });
        } else {
            let path = format!("\\Device\\HarddiskVolume3\\Data\\file{n}.dat");
            s.file_opens.push(FileOpenSpec { tid: c.tid, ts, end: ts, path, status });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_repeat_their_code_paths_when_asked() {
        let distinct = |stack_paths| {
            let options = RandomOptions { cpus: 2, threads: 8, stack_paths, ..Default::default() };
            let s = random_scenario(5, &options);
            let stacks: HashSet<_> = s.samples.iter().map(|x| (x.ip, x.callers.clone())).collect();
            (s.samples.len(), stacks.len())
        };
        let (samples, stacks) = distinct(Some(10));
        assert!(samples > 100 && stacks <= 20, "{samples} samples, {stacks} stacks");
        let (samples, stacks) = distinct(None);
        assert!(stacks * 10 > samples * 9, "at random, nearly every stack is new: {stacks} of {samples}");
    }

    #[test]
    fn random_schedules_are_consistent() {
        for seed in 0..20 {
            let s = random_scenario(seed, &RandomOptions { cpus: 3, threads: 10, ..Default::default() });
            s.validate().unwrap();
            let timeline = s.timeline().unwrap();
            for cpu in 0..3 {
                let stretches = timeline.cpu(cpu);
                assert_eq!(stretches.first().map(|x| x.start), Some(0));
                assert_eq!(stretches.last().map(|x| x.end), Some(s.duration));
                assert!(stretches.windows(2).all(|w| w[0].end == w[1].start));
            }
        }
    }
}
