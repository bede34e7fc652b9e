//! A scenario written as a kernel trace through the ETL writer, with its ground truth.
use super::{err, payloads, IntervalTruth, ModuleSpec, ProcessSpec, SampleTruth, Scenario, ScenarioError};
use super::{
    DispatcherHeader, GroundTruth, InterruptKind, RegistryOp, Stretch, SyscallTruth, ThreadSpec, Timeline, WakeupTruth,
    IDLE_PID, IDLE_TID,
};
use crate::payloads::EventType;
use etl::writer::{EtlWriter, WriterOptions};
use std::collections::BTreeMap;
use std::io::{Cursor, Seek, Write};

/// Ordering of events that share a timestamp: lifecycle starts, then the
/// context switch, then what runs after it, then lifecycle ends.
mod class {
    pub const RUNDOWN: u8 = 0;
    pub const BEGIN: u8 = 1;
    pub const CSWITCH: u8 = 2;
    pub const READY: u8 = 3;
    pub const RUNNING: u8 = 4;
    pub const FINISH: u8 = 5;
    pub const END_RUNDOWN: u8 = 6;
}

struct Pending {
    ts: i64,
    class: u8,
    seq: u32,
    cpu: u16,
    item: Item,
}

/// An event waiting to be written. The many small ones are kept as their
/// fields and encoded at write time, to spare an allocation per record.
enum Item {
    Encoded(Box<payloads::Encoded>),
    Manifest(Box<payloads::ManifestEvent>),
    CSwitch(payloads::CSwitchFields, u32),
    SysCallEnter(u64),
    SysCallExit(u32),
    Sample {
        ip: u64,
        tid: u32,
    },
    /// The stack of `Scenario::samples[sample]`.
    Stack {
        sample: u32,
        pid: u32,
    },
    /// The readying thread's stack at `Scenario::ready_threads[ready]`.
    ReadyStack {
        ready: u32,
        tid: u32,
        pid: u32,
    },
}

impl From<payloads::Encoded> for Item {
    fn from(e: payloads::Encoded) -> Item {
        Item::Encoded(Box::new(e))
    }
}

impl Item {
    /// The kernel event it is; None for a manifest event, which the truth does not count.
    fn event(&self) -> Option<EventType> {
        Some(match self {
            Item::Encoded(e) => e.event,
            Item::Manifest(_) => return None,
            Item::CSwitch(..) => EventType::CSwitch,
            Item::SysCallEnter(_) => EventType::SysCallEnter,
            Item::SysCallExit(_) => EventType::SysCallExit,
            Item::Sample { .. } => EventType::SampledProfile,
            Item::Stack { .. } | Item::ReadyStack { .. } => EventType::StackWalk,
        })
    }
}

impl Scenario {
    /// Writes the trace to `out`, buffer by buffer, and returns the ground truth.
    pub fn write<W: Write + Seek>(&self, out: W) -> Result<(W, GroundTruth), ScenarioError> {
        self.write_periods(out, 1)
    }

    /// Builds the trace in memory and returns its bytes and the ground truth.
    pub fn to_bytes(&self) -> Result<(Vec<u8>, GroundTruth), ScenarioError> {
        let (cursor, truth) = self.write(Cursor::new(Vec::new()))?;
        Ok((cursor.into_inner(), truth))
    }

    /// Writes the scenario `periods` times back to back in time, as one trace:
    /// a trace far bigger than the scenario held in memory (the big-trace
    /// benchmark's 10 GB). The start rundown opens the first period and the end
    /// rundown closes the last; at each seam every CPU switches from its last
    /// thread of the period to its first. Only a machine whose processes,
    /// threads and modules live through the whole trace can repeat. The truth
    /// returned is that of the first period.
    pub fn write_periods<W: Write + Seek>(&self, out: W, periods: u32) -> Result<(W, GroundTruth), ScenarioError> {
        if periods == 0 {
            return err("a trace needs at least one period".into());
        }
        let lives_through = self.processes.iter().all(|p| p.start.is_none() && p.end.is_none())
            && self.threads.iter().all(|t| t.start.is_none() && t.end.is_none())
            && self.modules.iter().all(|m| m.load.is_none() && m.unload.is_none());
        if periods > 1 && !lives_through {
            return err("only a machine without process, thread or module starts and ends can repeat".into());
        }
        let checked = self.check()?;
        let placed = self.check_syscalls(&checked)?;
        let sample_pids = self.check_samples(&checked)?;
        let mut pending: Vec<Pending> = Vec::with_capacity(2 * self.syscalls.len() + 2 * self.samples.len() + 1024);
        let mut seq = 0u32;
        let mut push = |pending: &mut Vec<Pending>, ts: i64, class: u8, cpu: u16, item: Item| {
            pending.push(Pending { ts, class, seq, cpu, item });
            seq = seq.wrapping_add(1);
        };
        let raw = |ticks: i64| self.start_qpc + ticks;

        // Rundown at the start on CPU 0: processes with their threads, then images.
        for p in self.processes.iter().filter(|p| p.start.is_none()) {
            push(&mut pending, 0, class::RUNDOWN, 0, self.process_event(EventType::ProcessDcStart, p, None)?.into());
            for t in self.threads.iter().filter(|t| t.pid == p.pid && t.start.is_none()) {
                push(&mut pending, 0, class::RUNDOWN, 0, self.thread_event(EventType::ThreadDcStart, t)?.into());
            }
        }
        for m in self.modules.iter().filter(|m| m.load.is_none()) {
            for event in self.image_events(EventType::ImageDcStart, m)? {
                push(&mut pending, 0, class::RUNDOWN, 0, event.into());
            }
        }
        if let Some(p) = &self.profile {
            let event = payloads::profile_interval(
                EventType::ProfileCollectionStart,
                0,
                p.interval_100ns,
                p.interval_100ns,
                "Timer",
            )?;
            push(&mut pending, 0, class::RUNDOWN, 0, event.into());
        }

        // Lifecycle inside the trace, logged on CPU 0.
        for p in &self.processes {
            if let Some(start) = p.start {
                push(
                    &mut pending,
                    start,
                    class::BEGIN,
                    0,
                    self.process_event(EventType::ProcessStart, p, None)?.into(),
                );
            }
            if let Some((end, status)) = p.end {
                push(
                    &mut pending,
                    end,
                    class::FINISH,
                    0,
                    self.process_event(EventType::ProcessEnd, p, Some(status))?.into(),
                );
            }
        }
        for t in &self.threads {
            if let Some(start) = t.start {
                push(&mut pending, start, class::BEGIN, 0, self.thread_event(EventType::ThreadStart, t)?.into());
            }
            if let Some(end) = t.end {
                push(&mut pending, end, class::FINISH, 0, self.thread_event(EventType::ThreadEnd, t)?.into());
            }
        }
        for m in &self.modules {
            if let Some(load) = m.load {
                for event in self.image_events(EventType::ImageLoad, m)? {
                    push(&mut pending, load, class::BEGIN, 0, event.into());
                }
            }
            if let Some(unload) = m.unload {
                let event = payloads::image(EventType::ImageUnload, &image_fields(m), 0, m.pid)?;
                push(&mut pending, unload, class::FINISH, 0, event.into());
            }
        }

        // Context switches and the truth of every stretch.
        let mut intervals = Vec::new();
        for (cpu, stretches) in checked.cpus.iter().enumerate() {
            let cpu = cpu as u16;
            for (i, s) in stretches.iter().enumerate() {
                if i > 0 {
                    let fields = switch_fields(&stretches[i - 1], s, cpu);
                    push(&mut pending, s.start, class::CSWITCH, cpu, Item::CSwitch(fields, s.pid));
                }
                intervals.push(IntervalTruth {
                    cpu,
                    tid: s.tid,
                    pid: s.pid,
                    start_ts: raw(s.start),
                    start_ns: self.ns(s.start),
                    end_ts: raw(s.end),
                    end_ns: self.ns(s.end),
                    priority: s.priority,
                    switched_in_by_event: i > 0,
                    switched_out_by_event: i + 1 < stretches.len(),
                    out: s.out,
                });
            }
        }

        let mut readies = Vec::with_capacity(self.ready_threads.len());
        let mut wakeups = Vec::with_capacity(self.ready_threads.len());
        if let Some(&i) = self.ready_stacks.keys().find(|&&i| i >= self.ready_threads.len()) {
            return err(format!("a stack for ReadyThread {i}, which is not in the scenario"));
        }
        for (i, r) in self.ready_threads.iter().enumerate() {
            readies.push((r.tid, self.ns(r.ts)));
            // Logged in the context of the thread running there (the event after a switch at its time).
            let Some(readier) = checked.stretch_at(r.cpu, r.ts) else {
                return err(format!("ReadyThread at {} on CPU {} is outside the trace", r.ts, r.cpu));
            };
            let Some(&pid) = checked.pid_of.get(&r.tid) else {
                return err(format!("ReadyThread of unknown thread {}", r.tid));
            };
            let stack = self.ready_stacks.get(&i).cloned().unwrap_or_default();
            wakeups.push(WakeupTruth {
                index: i,
                cpu: r.cpu,
                ts: raw(r.ts),
                ns: self.ns(r.ts),
                tid: r.tid,
                pid,
                readying_tid: readier.tid,
                readying_pid: readier.pid,
                adjust_reason: r.adjust_reason,
                adjust_increment: r.adjust_increment,
                stack,
            });
            let fields = payloads::ReadyThreadFields {
                awakened_tid: r.tid,
                adjust_reason: r.adjust_reason,
                adjust_increment: r.adjust_increment,
                flags: 0,
            };
            let event = payloads::ready_thread(&fields, readier.tid, readier.pid)?;
            push(&mut pending, r.ts, class::READY, r.cpu, event.into());
            if self.ready_stacks.get(&i).is_some_and(|frames| !frames.is_empty()) {
                let item = Item::ReadyStack { ready: i as u32, tid: readier.tid, pid: readier.pid };
                push(&mut pending, r.ts, class::READY, r.cpu, item);
            }
        }

        // System calls, on the CPU their thread runs on.
        let mut lost = Vec::new();
        let mut syscalls = Vec::with_capacity(self.syscalls.len());
        for (i, (call, &(depth, enter_cpu, exit_cpu))) in self.syscalls.iter().zip(&placed).enumerate() {
            if call.lost_enter {
                lost.push((enter_cpu, call.enter));
            } else {
                push(&mut pending, call.enter, class::RUNNING, enter_cpu, Item::SysCallEnter(call.address));
            }
            if let (Some(exit), Some(cpu)) = (call.exit, exit_cpu) {
                if call.lost_exit {
                    lost.push((cpu, exit));
                } else {
                    push(&mut pending, exit, class::RUNNING, cpu, Item::SysCallExit(call.status));
                }
            }
            syscalls.push(SyscallTruth {
                index: i,
                tid: call.tid,
                pid: checked.pid_of.get(&call.tid).copied().unwrap_or(0),
                enter_cpu,
                exit_cpu,
                enter_ts: raw(call.enter),
                enter_ns: self.ns(call.enter),
                exit_ts: call.exit.map(raw),
                exit_ns: call.exit.map(|t| self.ns(t)),
                duration_ns: call.exit.map(|t| self.ns(t) - self.ns(call.enter)),
                address: call.address,
                status: call.status,
                depth,
                enter_logged: !call.lost_enter,
                exit_logged: call.exit.is_some() && !call.lost_exit,
            });
        }

        // Registry and file operations, on the CPU their thread runs on.
        self.object_events(&checked, &mut |ts, class, cpu, item| push(&mut pending, ts, class, cpu, item))?;

        // DPCs and ISRs, logged when they return.
        for d in &self.dpcs {
            if d.end < d.start || d.cpu >= self.cpu_count || d.end > self.duration {
                return err(format!("a DPC on CPU {} from {} to {} does not fit the trace", d.cpu, d.start, d.end));
            }
            let event = match d.kind {
                InterruptKind::Isr => payloads::isr(raw(d.start), d.routine, d.vector)?,
                InterruptKind::Dpc => payloads::dpc(EventType::Dpc, raw(d.start), d.routine)?,
                InterruptKind::ThreadedDpc => payloads::dpc(EventType::ThreadedDpc, raw(d.start), d.routine)?,
                InterruptKind::TimerDpc => payloads::dpc(EventType::TimerDpc, raw(d.start), d.routine)?,
            };
            push(&mut pending, d.end, class::RUNNING, d.cpu, event.into());
        }

        // Samples, each followed by its stack one tick later on the same CPU.
        let mut samples = Vec::with_capacity(self.samples.len());
        for (i, (s, &pid)) in self.samples.iter().zip(&sample_pids).enumerate() {
            let stack_frames = if s.callers.is_empty() { 0 } else { 1 + s.callers.len() };
            if s.lost {
                lost.push((s.cpu, s.ts));
                if stack_frames > 0 {
                    lost.push((s.cpu, s.ts + 1));
                }
            } else {
                push(&mut pending, s.ts, class::RUNNING, s.cpu, Item::Sample { ip: s.ip, tid: s.tid });
                if stack_frames > 0 {
                    push(&mut pending, s.ts + 1, class::RUNNING, s.cpu, Item::Stack { sample: i as u32, pid });
                }
            }
            samples.push(SampleTruth {
                index: i,
                cpu: s.cpu,
                tid: s.tid,
                pid,
                ts: raw(s.ts),
                ns: self.ns(s.ts),
                ip: s.ip,
                stack_frames,
                logged: !s.lost,
            });
        }

        // The end: profile collection stops, then the end rundown.
        let end = self.duration;
        if let Some(p) = &self.profile {
            let event = payloads::profile_interval(
                EventType::ProfileCollectionEnd,
                0,
                p.interval_100ns,
                p.interval_100ns,
                "Timer",
            )?;
            push(&mut pending, end, class::END_RUNDOWN, 0, event.into());
        }
        for p in self.processes.iter().filter(|p| p.end.is_none()) {
            push(
                &mut pending,
                end,
                class::END_RUNDOWN,
                0,
                self.process_event(EventType::ProcessDcEnd, p, None)?.into(),
            );
            for t in self.threads.iter().filter(|t| t.pid == p.pid && t.end.is_none()) {
                push(&mut pending, end, class::END_RUNDOWN, 0, self.thread_event(EventType::ThreadDcEnd, t)?.into());
            }
        }

        pending.sort_unstable_by_key(|p| (p.ts, p.class, p.seq));
        let mut event_counts = BTreeMap::new();
        for event in pending.iter().filter_map(|p| p.item.event()) {
            *event_counts.entry(event).or_insert(0usize) += 1;
        }
        let events_lost = lost.len() as u32;

        let mut options = WriterOptions::new(u32::from(self.cpu_count), self.start_filetime);
        options.header.perf_freq = self.qpc_frequency;
        options.header.provider_version = self.os_build;
        // Version bytes as Windows 10 writes them (10.0, sub 1, sub-minor 5), seen in the airbus trace.
        options.header.version = 0x0501_000A;
        options.header.events_lost = events_lost.saturating_mul(periods);
        options.header.buffer_size = self.buffer_size.max(1024);
        options.header.log_file_name = "etwq-demo.etl".into();
        options.start_timestamp = self.start_qpc;
        let mut writer = EtlWriter::new(out, options)?;
        for period in 0..i64::from(periods) {
            for &(cpu, ts) in &lost {
                writer.events_lost(cpu, raw(period * self.duration + ts));
            }
        }
        let dispatcher = self.dispatcher_header;
        // The PERFINFO header of the events below carries no thread or process ids.
        fn record(event: EventType, payload: &[u8], cpu: u16, ts: i64) -> etl::Record<'_> {
            payloads::record(event, 0, 0, payload, cpu, ts, DispatcherHeader::default())
        }
        let mut scratch = Vec::with_capacity(1024);
        let mut frames = Vec::with_capacity(64);
        let last_period = i64::from(periods) - 1;
        for period in 0..=last_period {
            let shift = period * self.duration;
            if period > 0 {
                self.write_seam(&mut writer, &checked, raw(shift), &mut scratch)?;
            }
            for p in &pending {
                let skipped = match p.class {
                    class::RUNDOWN => period > 0,
                    class::END_RUNDOWN => period < last_period,
                    _ => false,
                };
                if skipped {
                    continue;
                }
                let (cpu, ts) = (p.cpu, raw(shift + p.ts));
                match &p.item {
                    Item::Encoded(e) => writer.write(&e.record(cpu, ts, dispatcher))?,
                    Item::Manifest(e) => writer.write(&e.record(cpu, ts))?,
                    Item::CSwitch(fields, pid) => {
                        payloads::cswitch_into(&mut scratch, fields);
                        let (tid, pid) = (fields.new_tid, *pid);
                        writer.write(&payloads::record(EventType::CSwitch, tid, pid, &scratch, cpu, ts, dispatcher))?
                    }
                    Item::SysCallEnter(address) => {
                        payloads::syscall_enter_into(&mut scratch, *address);
                        writer.write(&record(EventType::SysCallEnter, &scratch, cpu, ts))?
                    }
                    Item::SysCallExit(status) => {
                        payloads::syscall_exit_into(&mut scratch, *status);
                        writer.write(&record(EventType::SysCallExit, &scratch, cpu, ts))?
                    }
                    Item::Sample { ip, tid } => {
                        payloads::sampled_profile_into(&mut scratch, *ip, *tid);
                        writer.write(&record(EventType::SampledProfile, &scratch, cpu, ts))?
                    }
                    Item::Stack { sample, pid } => {
                        let Some(s) = self.samples.get(*sample as usize) else { continue };
                        frames.clear();
                        frames.push(s.ip);
                        frames.extend_from_slice(&s.callers);
                        payloads::stack_walk_into(&mut scratch, raw(shift + s.ts), *pid, s.tid, &frames);
                        writer.write(&record(EventType::StackWalk, &scratch, cpu, ts))?
                    }
                    Item::ReadyStack { ready, tid, pid } => {
                        let Some(r) = self.ready_threads.get(*ready as usize) else { continue };
                        let Some(frames) = self.ready_stacks.get(&(*ready as usize)) else { continue };
                        payloads::stack_walk_into(&mut scratch, raw(shift + r.ts), *pid, *tid, frames);
                        writer.write(&record(EventType::StackWalk, &scratch, cpu, ts))?
                    }
                }
            }
        }
        let out = writer.finish()?;

        let truth = GroundTruth {
            cpu_count: self.cpu_count,
            qpc_frequency: self.qpc_frequency,
            start_qpc: self.start_qpc,
            end_qpc: raw(self.duration),
            duration_ns: self.ns(self.duration),
            syscalls,
            intervals,
            samples,
            readies,
            wakeups,
            event_counts,
            events_lost,
            record_count: pending.len(),
        };
        Ok((out, truth))
    }

    /// The context switches at the seam of two periods, at `ts`: on every CPU
    /// from the thread that ends the period to the one that starts it again.
    fn write_seam<W: Write + Seek>(
        &self,
        writer: &mut EtlWriter<W>,
        checked: &super::Timeline,
        ts: i64,
        scratch: &mut Vec<u8>,
    ) -> Result<(), ScenarioError> {
        for (cpu, stretches) in checked.cpus.iter().enumerate() {
            let (Some(old), Some(new)) = (stretches.last(), stretches.first()) else { continue };
            if old.tid == new.tid {
                continue;
            }
            payloads::cswitch_into(scratch, &switch_fields(old, new, cpu as u16));
            let record =
                payloads::record(EventType::CSwitch, new.tid, new.pid, scratch, cpu as u16, ts, self.dispatcher_header);
            writer.write(&record)?;
        }
        Ok(())
    }

    /// Registry operations (their keys' parents named by KCB rundown events
    /// at the end, on CPU 0) and file opens with their completions.
    fn object_events(&self, checked: &Timeline, push: &mut dyn FnMut(i64, u8, u16, Item)) -> Result<(), ScenarioError> {
        let running = |tid: u32, ts: i64, what: &str| {
            checked
                .cpu_running(tid, ts)
                .ok_or_else(|| ScenarioError { what: format!("{what} of thread {tid} at {ts}, when it does not run") })
        };
        let mut kcbs: BTreeMap<&str, u64> = BTreeMap::new();
        for r in &self.registry {
            let cpu = running(r.tid, r.ts, "a registry operation")?;
            let (parent, tail) = r.key.rsplit_once('\\').unwrap_or(("", &r.key));
            let next = 0xFFFF_C001_0000_0000 + 0x100 * kcbs.len() as u64;
            let kcb = if parent.is_empty() { 0 } else { *kcbs.entry(parent).or_insert(next) };
            let name = if kcb == 0 { r.key.as_str() } else { tail };
            let pid = checked.pid_of.get(&r.tid).copied().unwrap_or(0);
            let event =
                payloads::registry(registry_event(r.op), self.start_qpc + r.ts, r.status, kcb, name, r.tid, pid)?;
            push(r.ts, class::RUNNING, cpu, event.into());
        }
        for (parent, &kcb) in &kcbs {
            let event = payloads::registry(EventType::RegistryKcbRundownEnd, 0, 0, kcb, parent, 0, 0)?;
            push(self.duration, class::END_RUNDOWN, 0, event.into());
        }
        for (i, f) in self.file_opens.iter().enumerate() {
            let cpu = running(f.tid, f.ts, "a file open")?;
            if f.end < f.ts {
                return err(format!("file open of thread {} ends at {} before it starts", f.tid, f.end));
            }
            let irp = 0xFFFF_A001_0000_0000 + 0x200 * i as u64;
            push(f.ts, class::RUNNING, cpu, payloads::file_create(irp, irp + 0x100, f.tid, &f.path)?.into());
            let end_cpu = checked.cpu_running(f.tid, f.end).unwrap_or(0);
            push(f.end, class::RUNNING, end_cpu, payloads::file_operation_end(irp, f.status)?.into());
        }
        let mut module_ids: BTreeMap<(u32, &str), u64> = BTreeMap::new();
        for m in &self.jit_methods {
            let next = 0x7ff9_0000_0000 + 0x1000 * module_ids.len() as u64;
            let module_id = *module_ids.entry((m.pid, m.module.as_str())).or_insert(next);
            let facts = payloads::JitMethodFacts {
                start: m.start,
                size: m.size,
                module_id,
                namespace: &m.namespace,
                name: &m.name,
                signature: &m.signature,
            };
            let mut event = |ts: i64, class: u8, unload: bool, rundown: bool| -> Result<(), ScenarioError> {
                let cpu = checked.cpu_running(m.tid, ts).unwrap_or(0);
                let event = payloads::jit_method(unload, rundown, &facts, m.tid, m.pid)?;
                push(ts, class, cpu, Item::Manifest(Box::new(event)));
                Ok(())
            };
            match m.load {
                Some(load) => event(load, class::RUNNING, false, false)?,
                None => event(0, class::RUNDOWN, false, true)?,
            }
            match m.unload {
                Some(unload) => event(unload, class::RUNNING, true, false)?,
                None => event(self.duration, class::END_RUNDOWN, true, true)?,
            }
        }
        for (&(pid, path), &module_id) in &module_ids {
            let event = payloads::managed_module(module_id, path, pid)?;
            push(0, class::RUNDOWN, 0, Item::Manifest(Box::new(event)));
        }
        Ok(())
    }

    fn process_event(
        &self,
        event: EventType,
        p: &ProcessSpec,
        exit_status: Option<u32>,
    ) -> Result<payloads::Encoded, ScenarioError> {
        let key = 0xFFFF_B80C_4000_0000u64 + u64::from(p.pid) * 0x1000;
        let fields = payloads::ProcessFields {
            unique_process_key: if p.pid == IDLE_PID { 0 } else { key },
            pid: p.pid,
            parent_pid: p.parent_pid,
            session_id: p.session_id,
            exit_status: exit_status.unwrap_or(if p.pid == IDLE_PID { 0 } else { payloads::STATUS_PENDING }),
            directory_table_base: 0x1ad000 + u64::from(p.pid) * 0x10_0000,
            flags: 0,
            user_sid: &p.user_sid,
            image_file_name: &p.name,
            command_line: &p.command_line,
            package_full_name: "",
            application_id: "",
        };
        // Start is logged by a thread of the parent, End by the exiting process.
        let first_thread = |pid| self.threads.iter().find(|t| t.pid == pid).map(|t| t.tid).unwrap_or(0);
        let (tid, pid) = match event {
            EventType::ProcessStart => (first_thread(p.parent_pid), p.parent_pid),
            _ => (first_thread(p.pid), p.pid),
        };
        Ok(payloads::process(event, &fields, tid, pid)?)
    }

    fn thread_event(&self, event: EventType, t: &ThreadSpec) -> Result<payloads::Encoded, ScenarioError> {
        let kernel_stack = 0xFFFF_F806_4000_0000u64.wrapping_add(u64::from(t.tid & 0xF_FFFF) * 0x8000);
        let user_stack = 0x0000_00A0_0000_0000u64 + u64::from(t.tid) * 0x10_0000;
        let fields = payloads::ThreadFields {
            pid: t.pid,
            tid: t.tid,
            stack_base: kernel_stack,
            stack_limit: kernel_stack - 0x6000,
            user_stack_base: if t.pid == 4 { 0 } else { user_stack },
            user_stack_limit: if t.pid == 4 { 0 } else { user_stack - 0x10_0000 },
            affinity: (1u64 << self.cpu_count.min(63)) - 1,
            win32_start_address: t.start_address,
            teb_base: if t.pid == 4 { 0 } else { 0x0000_00F0_0000_0000 + u64::from(t.tid) * 0x2000 },
            sub_process_tag: 0,
            base_priority: t.base_priority,
            page_priority: 5,
            io_priority: 2,
            thread_flags: 0,
            thread_name: &t.name,
        };
        Ok(payloads::thread(event, &fields)?)
    }

    /// KernelTraceControl identities, then the image event itself.
    fn image_events(&self, event: EventType, m: &ModuleSpec) -> Result<Vec<payloads::Encoded>, ScenarioError> {
        let mut out = vec![payloads::image_id(m.base, m.size, m.pid, m.time_date_stamp, m.file_name())?];
        if let Some(pdb) = &m.pdb {
            out.push(payloads::dbgid_rsds(m.base, m.pid, pdb.guid, pdb.age, &pdb.name)?);
        }
        if let Some(pdb) = &m.il_pdb {
            out.push(payloads::dbgid_ilrsds(m.base, m.pid, pdb.guid, pdb.age, &pdb.name)?);
        }
        out.push(payloads::image(event, &image_fields(m), 0, m.pid)?);
        Ok(out)
    }
}

/// The context switch on `cpu` from the thread of stretch `old` to that of `new`.
fn registry_event(op: RegistryOp) -> EventType {
    match op {
        RegistryOp::Create => EventType::RegistryCreate,
        RegistryOp::Open => EventType::RegistryOpen,
        RegistryOp::Query => EventType::RegistryQuery,
        RegistryOp::SetValue => EventType::RegistrySetValue,
        RegistryOp::DeleteValue => EventType::RegistryDeleteValue,
        RegistryOp::QueryValue => EventType::RegistryQueryValue,
        RegistryOp::EnumerateKey => EventType::RegistryEnumerateKey,
    }
}

fn switch_fields(old: &Stretch, new: &Stretch, cpu: u16) -> payloads::CSwitchFields {
    payloads::CSwitchFields {
        new_tid: new.tid,
        old_tid: old.tid,
        new_priority: new.priority,
        old_priority: old.priority,
        previous_cstate: u8::from(old.tid == IDLE_TID),
        old_wait_reason: old.out.wait_reason,
        old_wait_mode: old.out.wait_mode,
        old_state: old.out.state,
        old_wait_ideal_processor: cpu as u8,
        new_wait_time: 0,
    }
}

fn image_fields(m: &ModuleSpec) -> payloads::ImageFields<'_> {
    payloads::ImageFields {
        image_base: m.base,
        image_size: m.size,
        pid: m.pid,
        checksum: m.checksum,
        time_date_stamp: m.time_date_stamp,
        signature_level: 0x0c,
        signature_type: 1,
        default_base: m.base,
        file_name: &m.path,
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn two_cpu_machine() -> Scenario {
        let mut s = Scenario::new(2, 10_000);
        s.processes.push(ProcessSpec::running(100, 4, "a.exe"));
        s.threads = [104, 108].map(|tid| ThreadSpec::running(tid, 100, 0)).to_vec();
        let slice = |cpu, tid, start, end| Slice { cpu, tid, start, end, priority: 8, out: SwitchOut::PREEMPTED };
        s.schedule = vec![slice(0, 104, 100, 2_000), slice(1, 104, 3_000, 6_000), slice(0, 108, 2_000, 9_000)];
        s
    }

    fn call(tid: u32, enter: i64, exit: Option<i64>) -> SyscallSpec {
        SyscallSpec { tid, enter, exit, address: 0x1000, status: 0, lost_enter: false, lost_exit: false }
    }

    #[test]
    fn a_call_cut_by_a_switch_resumes_on_the_other_cpu() {
        let mut s = two_cpu_machine();
        s.syscalls = vec![call(104, 500, Some(4_000)), call(104, 600, Some(700))];
        let (_, truth) = s.to_bytes().unwrap();
        let outer = truth.syscalls[0];
        assert_eq!((outer.enter_cpu, outer.exit_cpu, outer.depth), (0, Some(1), 0));
        assert_eq!(outer.duration_ns, Some(350_000));
        assert_eq!(truth.syscalls[1].depth, 1);
        // CPU 0: idle, 104, 108, idle; CPU 1: idle, 104, idle.
        let tids: Vec<(u16, u32)> = truth.intervals.iter().map(|i| (i.cpu, i.tid)).collect();
        assert_eq!(tids, vec![(0, 0), (0, 104), (0, 108), (0, 0), (1, 0), (1, 104), (1, 0)]);
    }

    #[test]
    fn inconsistent_scenarios_are_refused() {
        let refuse = |s: &Scenario, what: &str| {
            let e = s.to_bytes().err().unwrap_or_else(|| panic!("{what} was accepted"));
            assert!(!e.what.is_empty());
        };
        let mut s = two_cpu_machine();
        s.syscalls = vec![call(104, 2_500, Some(4_000))];
        refuse(&s, "a call entered while the thread waits");
        s.syscalls = vec![call(104, 500, Some(800)), call(104, 600, Some(900))];
        refuse(&s, "calls that overlap without nesting");
        s.syscalls = vec![call(104, 500, Some(500))];
        refuse(&s, "an exit at the enter time");
        let mut s = two_cpu_machine();
        s.schedule[1].start = 1_500;
        refuse(&s, "a thread on two CPUs at once");
        let mut s = two_cpu_machine();
        s.schedule[2].start = 1_900;
        refuse(&s, "overlapping slices on a CPU");
        let mut s = two_cpu_machine();
        s.schedule[0].tid = 999;
        refuse(&s, "an unknown thread");
        let mut s = two_cpu_machine();
        s.samples.push(SampleSpec { cpu: 0, tid: 108, ts: 150, ip: 1, callers: vec![], lost: false });
        refuse(&s, "a sample of a thread that is not running");
        let mut s = two_cpu_machine();
        s.start_qpc = i64::MAX - 5;
        refuse(&s, "a clock that overflows");
        let mut s = two_cpu_machine();
        s.threads[0].end = Some(20_000);
        refuse(&s, "a thread ending after the trace");
        refuse(&Scenario::new(0, 10), "no CPUs");
    }
}
