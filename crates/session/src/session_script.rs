//! Session methods that scripts need before the shared stack views exist:
//! the frames of a stack id, the module and function a frame address falls in
//! (named by the same resolver as the tables' frames), and the trace's header
//! facts. Kept apart from session.rs so the two can grow independently.
use crate::session::Session;
use model::modules::Module;
use model::TraceModel;
use symbols::Lookup;

/// Header facts of the first trace, as scripts see them in `trace`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceFacts {
    pub name: String,
    pub logger: String,
    pub start_time: String,
    pub duration_ns: i64,
    pub cpus: u32,
    pub pointer_size: u32,
    pub cpu_speed_mhz: u32,
    pub events_lost: u64,
    pub buffers_lost: u64,
    pub records: u64,
}

/// The module holding `address` in `pid` at `ts`; without a time, any module
/// that ever held it (the latest loaded wins).
fn find_module(model: &TraceModel, pid: u32, address: u64, ts: Option<i64>) -> Option<&Module> {
    if let Some(ts) = ts {
        return model.modules.lookup(pid, address, ts, model.pointer_size);
    }
    let owner = if model::modules::is_kernel_address(address, model.pointer_size) { 0 } else { pid };
    model.modules.rows.iter().rev().find(|m| m.pid == owner && m.base <= address && address < m.end())
}

/// Where a frame address lands: module file, offset in it, function if known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameLocation {
    pub module: String,
    pub offset: u64,
    pub function: Option<String>,
}

impl FrameLocation {
    /// `module!function`, else `module+0xoffset`, else the bare address.
    pub fn display(&self, address: u64) -> String {
        match (&self.function, self.module.is_empty()) {
            (Some(f), false) => format!("{}!{f}", self.module),
            (None, false) => format!("{}+{:#x}", self.module, self.offset),
            _ => format!("{address:#x}"),
        }
    }
}

impl Session {
    /// The frames of a stack id of the first trace, innermost first; empty if unknown.
    pub fn stack_frames(&mut self, stack: u32) -> Vec<u64> {
        match self.traces.first_mut() {
            Some(loaded) => loaded.model().stacks.frames(stack).to_vec(),
            None => Vec::new(),
        }
    }

    /// The module, offset and (where symbols name it) function of an address in
    /// `pid` at `ts` (any time when None), in the first trace. The function comes
    /// from the session's symbol resolver, as in the tables' `func` and `frame`.
    pub fn locate_frame(&mut self, address: u64, pid: u32, ts: Option<i64>) -> Option<FrameLocation> {
        let model = self.traces.first_mut()?.model();
        let Some(module) = find_module(model, pid, address, ts) else {
            // JIT-compiled code: the method the CLR logged for the range, in its assembly.
            let method = match ts {
                Some(ts) => model.managed.lookup(pid, address, ts),
                None => model.managed.lookup_any_time(pid, address),
            }?;
            return Some(FrameLocation {
                module: method.module.as_deref().unwrap_or_default().to_string(),
                offset: address - method.start,
                function: Some(method.name.to_string()),
            });
        };
        let offset = address.saturating_sub(module.base);
        let function = match module.pdb_identity() {
            Some(identity) => match self.stack_state.lookup(&identity, offset) {
                Lookup::Function { name, .. } => Some(name.to_string()),
                Lookup::NoSymbols | Lookup::NotInAnyFunction { .. } => None,
            },
            None => None,
        };
        Some(FrameLocation { module: module.file().to_string(), offset, function })
    }

    /// The module file name an address falls in, or None.
    pub fn frame_module(&mut self, address: u64, pid: u32, ts: i64) -> Option<String> {
        self.locate_frame(address, pid, Some(ts)).map(|l| l.module)
    }

    /// `module!function`, `module+0xoffset` or the address: the best name available.
    pub fn symbolize(&mut self, address: u64, pid: u32, ts: Option<i64>) -> String {
        self.locate_frame(address, pid, ts).map_or_else(|| format!("{address:#x}"), |l| l.display(address))
    }

    /// Header facts of the first trace.
    pub fn trace_facts(&self) -> TraceFacts {
        let Some(loaded) = self.traces.first() else {
            return TraceFacts::default();
        };
        let trace = &loaded.trace;
        let h = &trace.header;
        let clock = &trace.clock;
        let duration_ns = trace.time_range().map_or(0, |(first, last)| {
            clock.ns_since_start(last) - clock.ns_since_start(first.min(clock.origin_ticks))
        });
        TraceFacts {
            name: loaded.name.clone(),
            logger: h.logger_name.clone(),
            start_time: etl::clock::filetime_to_utc(h.start_time),
            duration_ns,
            cpus: h.number_of_processors,
            pointer_size: u32::from(trace.header_pointer_size),
            cpu_speed_mhz: h.cpu_speed_mhz,
            events_lost: u64::from(h.events_lost),
            buffers_lost: u64::from(h.buffers_lost),
            records: trace.record_count() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_session_answers_without_panicking() {
        let mut s = Session::open_all(&[]).unwrap();
        assert!(s.stack_frames(3).is_empty());
        assert_eq!(s.symbolize(0x1234, 1, None), "0x1234");
        assert_eq!(s.trace_facts(), TraceFacts::default());
    }
}
