//! A system call row, packed into 40 bytes: a trace of system calls holds
//! tens of millions, and the two records behind one take about 48 bytes of
//! the file. Absent values are flags, not `Option`s, which would double it;
//! the process is not stored (the thread and time give it, `TraceModel::syscall_pid`).
use super::stacks::StackId;

const HAS_THREAD: u8 = 1;
const HAS_EXIT: u8 = 2;
const HAS_STACK: u8 = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SyscallRow {
    /// Entered, in ns since the trace start (the raw timestamp while the build pairs).
    pub ts: i64,
    end_ts: i64,
    pub address: u64,
    tid: u32,
    ret: u32,
    stack: StackId,
    pub cpu: u16,
    flags: u8,
}

impl SyscallRow {
    /// A call entered on `cpu` by `tid` (None when no context switch says
    /// which thread ran), not yet paired with its exit.
    pub fn entered(ts: i64, cpu: u16, tid: Option<u32>, address: u64) -> SyscallRow {
        let flags = if tid.is_some() { HAS_THREAD } else { 0 };
        SyscallRow { ts, end_ts: 0, address, tid: tid.unwrap_or(0), ret: 0, stack: 0, cpu, flags }
    }

    /// None when no context switch says which thread ran.
    pub fn tid(&self) -> Option<u32> {
        (self.flags & HAS_THREAD != 0).then_some(self.tid)
    }

    /// None when the exit was not recorded (lost, or still in the call at the end).
    pub fn end_ts(&self) -> Option<i64> {
        (self.flags & HAS_EXIT != 0).then_some(self.end_ts)
    }

    /// The NTSTATUS the call returned, from its exit.
    pub fn ret(&self) -> Option<u32> {
        (self.flags & HAS_EXIT != 0).then_some(self.ret)
    }

    pub fn stack(&self) -> Option<StackId> {
        (self.flags & HAS_STACK != 0).then_some(self.stack)
    }

    pub fn duration_ns(&self) -> Option<i64> {
        self.end_ts().map(|e| e.saturating_sub(self.ts))
    }

    pub fn set_exit(&mut self, end_ts: i64, status: u32) {
        (self.end_ts, self.ret) = (end_ts, status);
        self.flags |= HAS_EXIT;
    }

    pub fn set_stack(&mut self, stack: Option<StackId>) {
        self.stack = stack.unwrap_or(0);
        self.flags = (self.flags & !HAS_STACK) | if stack.is_some() { HAS_STACK } else { 0 };
    }

    /// The thread a record named as running on the CPU when the call was entered.
    pub fn set_thread(&mut self, tid: u32) {
        self.tid = tid;
        self.flags |= HAS_THREAD;
    }

    /// Forgets the thread (a lost context switch made it uncertain); whether it had one.
    pub fn forget_thread(&mut self) -> bool {
        let had = self.flags & HAS_THREAD != 0;
        self.flags &= !HAS_THREAD;
        self.tid = 0;
        had
    }
}

impl std::fmt::Debug for SyscallRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyscallRow")
            .field("ts", &self.ts)
            .field("end_ts", &self.end_ts())
            .field("cpu", &self.cpu)
            .field("tid", &self.tid())
            .field("address", &format_args!("{:#x}", self.address))
            .field("ret", &self.ret())
            .field("stack", &self.stack())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_40_bytes_and_reads_back_what_was_set() {
        assert_eq!(std::mem::size_of::<SyscallRow>(), 40);
        let mut row = SyscallRow::entered(100, 3, Some(0), 0xfffff800_00001000);
        assert_eq!((row.tid(), row.end_ts(), row.ret(), row.stack()), (Some(0), None, None, None));
        row.set_exit(250, 0xC000_0022);
        row.set_stack(Some(0));
        assert_eq!(
            (row.end_ts(), row.ret(), row.stack(), row.duration_ns()),
            (Some(250), Some(0xC000_0022), Some(0), Some(150))
        );
        row.set_stack(None);
        assert_eq!(row.stack(), None);
        assert!(row.forget_thread());
        assert!(!row.forget_thread());
        assert_eq!((row.tid(), row.cpu, row.address), (None, 3, 0xfffff800_00001000));
        row.set_thread(12);
        assert_eq!(row.tid(), Some(12));
    }
}
