//! A profile sample row, packed into 32 bytes: a profile holds tens of
//! millions. Absent values are flags, not `Option`s, which would make it 40.
use super::stacks::StackId;

const HAS_PROCESS: u8 = 1;
const HAS_STACK: u8 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SampleRow {
    /// In ns since the trace start (the raw timestamp while the build joins stacks).
    pub ts: i64,
    pub ip: u64,
    pub tid: u32,
    pid: u32,
    stack: StackId,
    pub cpu: u16,
    flags: u8,
}

impl SampleRow {
    /// A sample of `tid` on `cpu` at `ip`, with no process or stack yet.
    pub fn new(ts: i64, cpu: u16, tid: u32, ip: u64) -> SampleRow {
        SampleRow { ts, ip, tid, pid: 0, stack: 0, cpu, flags: 0 }
    }

    /// The process of the thread at the time; None when the trace does not say.
    pub fn pid(&self) -> Option<u32> {
        (self.flags & HAS_PROCESS != 0).then_some(self.pid)
    }

    pub fn stack(&self) -> Option<StackId> {
        (self.flags & HAS_STACK != 0).then_some(self.stack)
    }

    pub fn set_pid(&mut self, pid: Option<u32>) {
        self.pid = pid.unwrap_or(0);
        self.flags = (self.flags & !HAS_PROCESS) | if pid.is_some() { HAS_PROCESS } else { 0 };
    }

    pub fn set_stack(&mut self, stack: Option<StackId>) {
        self.stack = stack.unwrap_or(0);
        self.flags = (self.flags & !HAS_STACK) | if stack.is_some() { HAS_STACK } else { 0 };
    }
}

impl std::fmt::Debug for SampleRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleRow")
            .field("ts", &self.ts)
            .field("cpu", &self.cpu)
            .field("tid", &self.tid)
            .field("pid", &self.pid())
            .field("ip", &format_args!("{:#x}", self.ip))
            .field("stack", &self.stack())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_32_bytes_and_reads_back_what_was_set() {
        assert_eq!(std::mem::size_of::<SampleRow>(), 32);
        let mut row = SampleRow::new(100, 2, 8, 0x7ffe_0000_1000);
        assert_eq!((row.pid(), row.stack()), (None, None));
        row.set_pid(Some(0));
        row.set_stack(Some(7));
        assert_eq!((row.pid(), row.stack()), (Some(0), Some(7)));
        row.set_pid(None);
        assert_eq!((row.pid(), row.stack(), row.tid, row.cpu, row.ip), (None, Some(7), 8, 2, 0x7ffe_0000_1000));
    }
}
