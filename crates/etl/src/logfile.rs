//! TRACE_LOGFILE_HEADER: the payload of the EventTrace header event that
//! opens every trace, and the facts it gives about the session.
use super::bytes::{pointer_at, utf16z_at};
use super::layout::layout;

layout! {
    /// TRACE_LOGFILE_HEADER up to its LoggerName and LogFileName pointers,
    /// which are pointer-sized and move what follows.
    mod head, len 0x38;
    BUFFER_SIZE: u32 @ 0x00,
    VERSION: u32 @ 0x04,
    PROVIDER_VERSION: u32 @ 0x08,
    NUMBER_OF_PROCESSORS: u32 @ 0x0C,
    END_TIME: i64 @ 0x10,
    TIMER_RESOLUTION: u32 @ 0x18,
    MAXIMUM_FILE_SIZE: u32 @ 0x1C,
    LOG_FILE_MODE: u32 @ 0x20,
    BUFFERS_WRITTEN: u32 @ 0x24,
    START_BUFFERS: u32 @ 0x28,
    POINTER_SIZE: u32 @ 0x2C,
    EVENTS_LOST: u32 @ 0x30,
    CPU_SPEED_MHZ: u32 @ 0x34,
}

layout! {
    /// TIME_ZONE_INFORMATION, after the two name pointers: only its Bias is read.
    mod time_zone, len 172;
    BIAS: u32 @ 0x00,
}

layout! {
    /// The fields after the time zone, from its end rounded up to 8.
    mod tail, len 0x20;
    BOOT_TIME: i64 @ 0x00,
    PERF_FREQ: i64 @ 0x08,
    START_TIME: i64 @ 0x10,
    RESERVED_FLAGS: u32 @ 0x18,
    BUFFERS_LOST: u32 @ 0x1C,
}

/// Where the pointer-dependent parts start: the time zone, the tail, the two names.
struct Places {
    names_at: usize,
    tz_at: usize,
    tail_at: usize,
    strings_at: usize,
}

impl Places {
    fn new(pointer_size: u8) -> Places {
        let names_at = head::LEN;
        let tz_at = names_at + 2 * usize::from(pointer_size);
        let tail_at = (tz_at + time_zone::LEN + 7) & !7;
        Places { names_at, tz_at, tail_at, strings_at: tail_at + tail::LEN }
    }
}

/// Clock the session stamped events with (TRACE_LOGFILE_HEADER ReservedFlags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockType {
    /// QueryPerformanceCounter ticks at PerfFreq.
    PerformanceCounter,
    /// FILETIME: 100 ns units since 1601.
    SystemTime,
    /// CPU cycle counter at the CPU speed.
    CpuCycles,
}

impl ClockType {
    pub fn from_reserved_flags(flags: u32) -> Option<ClockType> {
        match flags {
            1 => Some(ClockType::PerformanceCounter),
            2 => Some(ClockType::SystemTime),
            3 => Some(ClockType::CpuCycles),
            _ => None,
        }
    }

    pub fn code(self) -> u32 {
        match self {
            ClockType::PerformanceCounter => 1,
            ClockType::SystemTime => 2,
            ClockType::CpuCycles => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ClockType::PerformanceCounter => "QPC",
            ClockType::SystemTime => "system time",
            ClockType::CpuCycles => "CPU cycles",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LogfileHeader {
    pub buffer_size: u32,
    /// Major, minor, sub and sub-minor version bytes of the OS.
    pub version: u32,
    /// The OS build number.
    pub provider_version: u32,
    pub number_of_processors: u32,
    /// FILETIME.
    pub end_time: i64,
    pub timer_resolution: u32,
    pub maximum_file_size: u32,
    pub log_file_mode: u32,
    pub buffers_written: u32,
    pub start_buffers: u32,
    pub pointer_size: u32,
    pub events_lost: u32,
    pub cpu_speed_mhz: u32,
    pub time_zone_bias_minutes: i32,
    /// FILETIME.
    pub boot_time: i64,
    pub perf_freq: i64,
    /// FILETIME.
    pub start_time: i64,
    /// ReservedFlags: the clock type.
    pub reserved_flags: u32,
    pub buffers_lost: u32,
    pub logger_name: String,
    pub log_file_name: String,
}

/// EVENT_TRACE_COMPRESSED_MODE in LogFileMode.
pub const COMPRESSED_MODE: u32 = 0x0400_0000;

impl LogfileHeader {
    /// Parses the payload of the header event. The record's pointer size
    /// (from its header kind) decides where the pointer-sized fields sit.
    pub fn parse(payload: &[u8], pointer_size: u8) -> Option<LogfileHeader> {
        let at = Places::new(pointer_size);
        if payload.len() < at.strings_at {
            return None;
        }
        let (logger_name, next) = utf16z_at(payload, at.strings_at);
        let (log_file_name, _) = utf16z_at(payload, next);
        // The pointers are kernel addresses of no use here; read them only to check bounds.
        pointer_at(payload, at.names_at, pointer_size)?;
        let tz = &payload[at.tz_at..];
        let tail = &payload[at.tail_at..];
        Some(LogfileHeader {
            buffer_size: head::BUFFER_SIZE.read(payload)?,
            version: head::VERSION.read(payload)?,
            provider_version: head::PROVIDER_VERSION.read(payload)?,
            number_of_processors: head::NUMBER_OF_PROCESSORS.read(payload)?,
            end_time: head::END_TIME.read(payload)?,
            timer_resolution: head::TIMER_RESOLUTION.read(payload)?,
            maximum_file_size: head::MAXIMUM_FILE_SIZE.read(payload)?,
            log_file_mode: head::LOG_FILE_MODE.read(payload)?,
            buffers_written: head::BUFFERS_WRITTEN.read(payload)?,
            start_buffers: head::START_BUFFERS.read(payload)?,
            pointer_size: head::POINTER_SIZE.read(payload)?,
            events_lost: head::EVENTS_LOST.read(payload)?,
            cpu_speed_mhz: head::CPU_SPEED_MHZ.read(payload)?,
            time_zone_bias_minutes: time_zone::BIAS.read(tz)? as i32,
            boot_time: tail::BOOT_TIME.read(tail)?,
            perf_freq: tail::PERF_FREQ.read(tail)?,
            start_time: tail::START_TIME.read(tail)?,
            reserved_flags: tail::RESERVED_FLAGS.read(tail)?,
            buffers_lost: tail::BUFFERS_LOST.read(tail)?,
            logger_name,
            log_file_name,
        })
    }

    /// The inverse of `parse`, laid out as Windows writes it.
    pub fn encode(&self, pointer_size: u8) -> Vec<u8> {
        let at = Places::new(pointer_size);
        let mut out = vec![0u8; at.strings_at];
        head::BUFFER_SIZE.write(&mut out, self.buffer_size);
        head::VERSION.write(&mut out, self.version);
        head::PROVIDER_VERSION.write(&mut out, self.provider_version);
        head::NUMBER_OF_PROCESSORS.write(&mut out, self.number_of_processors);
        head::END_TIME.write(&mut out, self.end_time);
        head::TIMER_RESOLUTION.write(&mut out, self.timer_resolution);
        head::MAXIMUM_FILE_SIZE.write(&mut out, self.maximum_file_size);
        head::LOG_FILE_MODE.write(&mut out, self.log_file_mode);
        head::BUFFERS_WRITTEN.write(&mut out, self.buffers_written);
        head::START_BUFFERS.write(&mut out, self.start_buffers);
        head::POINTER_SIZE.write(&mut out, self.pointer_size);
        head::EVENTS_LOST.write(&mut out, self.events_lost);
        head::CPU_SPEED_MHZ.write(&mut out, self.cpu_speed_mhz);
        time_zone::BIAS.write(&mut out[at.tz_at..], self.time_zone_bias_minutes as u32);
        let tail = &mut out[at.tail_at..];
        tail::BOOT_TIME.write(tail, self.boot_time);
        tail::PERF_FREQ.write(tail, self.perf_freq);
        tail::START_TIME.write(tail, self.start_time);
        tail::RESERVED_FLAGS.write(tail, self.reserved_flags);
        tail::BUFFERS_LOST.write(tail, self.buffers_lost);
        for name in [&self.logger_name, &self.log_file_name] {
            for unit in name.encode_utf16().chain(std::iter::once(0)) {
                out.extend_from_slice(&unit.to_le_bytes());
            }
        }
        out
    }

    pub fn clock_type(&self) -> Option<ClockType> {
        ClockType::from_reserved_flags(self.reserved_flags)
    }

    pub fn is_compressed(&self) -> bool {
        self.log_file_mode & COMPRESSED_MODE != 0
    }

    /// "major.minor" from the Version bytes, and the build.
    pub fn os_version(&self) -> String {
        let b = self.version.to_le_bytes();
        format!("{}.{} build {}", b[0], b[1], self.provider_version & 0xFFFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_parses_back_for_both_pointer_sizes() {
        let h = LogfileHeader {
            buffer_size: 65536,
            version: 0x0002_0206,
            provider_version: 9200,
            number_of_processors: 8,
            pointer_size: 8,
            perf_freq: 10_000_000,
            start_time: 132_404_548_343_000_000,
            reserved_flags: 1,
            time_zone_bias_minutes: -60,
            logger_name: "NT Kernel Logger".into(),
            log_file_name: "C:\\t.etl".into(),
            ..Default::default()
        };
        for ptr in [4u8, 8] {
            let bytes = h.encode(ptr);
            assert_eq!(LogfileHeader::parse(&bytes, ptr), Some(h.clone()));
            assert_eq!(LogfileHeader::parse(&bytes[..0x40], ptr), None);
        }
        assert_eq!(h.os_version(), "6.2 build 9200");
        assert_eq!(h.clock_type(), Some(ClockType::PerformanceCounter));
    }
}
