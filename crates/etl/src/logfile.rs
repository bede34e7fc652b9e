//! TRACE_LOGFILE_HEADER: the payload of the EventTrace header event that
//! opens every trace, and the facts it gives about the session.
use super::bytes::{i64_at, pointer_at, u32_at, utf16z_at};

/// TIME_ZONE_INFORMATION is 172 bytes; it sits after the two name pointers.
const TIME_ZONE_LEN: usize = 172;

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
        let ptr = usize::from(pointer_size);
        let names_at = 0x38;
        let tz_at = names_at + 2 * ptr;
        let after_tz = (tz_at + TIME_ZONE_LEN + 7) & !7;
        let strings_at = after_tz + 0x20;
        if payload.len() < strings_at {
            return None;
        }
        let (logger_name, next) = utf16z_at(payload, strings_at);
        let (log_file_name, _) = utf16z_at(payload, next);
        // The pointers are kernel addresses of no use here; read them only to check bounds.
        pointer_at(payload, names_at, pointer_size)?;
        Some(LogfileHeader {
            buffer_size: u32_at(payload, 0)?,
            version: u32_at(payload, 4)?,
            provider_version: u32_at(payload, 8)?,
            number_of_processors: u32_at(payload, 0x0C)?,
            end_time: i64_at(payload, 0x10)?,
            timer_resolution: u32_at(payload, 0x18)?,
            maximum_file_size: u32_at(payload, 0x1C)?,
            log_file_mode: u32_at(payload, 0x20)?,
            buffers_written: u32_at(payload, 0x24)?,
            start_buffers: u32_at(payload, 0x28)?,
            pointer_size: u32_at(payload, 0x2C)?,
            events_lost: u32_at(payload, 0x30)?,
            cpu_speed_mhz: u32_at(payload, 0x34)?,
            time_zone_bias_minutes: u32_at(payload, tz_at)? as i32,
            boot_time: i64_at(payload, after_tz)?,
            perf_freq: i64_at(payload, after_tz + 8)?,
            start_time: i64_at(payload, after_tz + 16)?,
            reserved_flags: u32_at(payload, after_tz + 24)?,
            buffers_lost: u32_at(payload, after_tz + 28)?,
            logger_name,
            log_file_name,
        })
    }

    /// The inverse of `parse`, laid out as Windows writes it.
    pub fn encode(&self, pointer_size: u8) -> Vec<u8> {
        let ptr = usize::from(pointer_size);
        let tz_at = 0x38 + 2 * ptr;
        let after_tz = (tz_at + TIME_ZONE_LEN + 7) & !7;
        let mut out = vec![0u8; after_tz + 0x20];
        let put32 = |out: &mut Vec<u8>, at: usize, v: u32| out[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let put64 = |out: &mut Vec<u8>, at: usize, v: i64| out[at..at + 8].copy_from_slice(&v.to_le_bytes());
        put32(&mut out, 0, self.buffer_size);
        put32(&mut out, 4, self.version);
        put32(&mut out, 8, self.provider_version);
        put32(&mut out, 0x0C, self.number_of_processors);
        put64(&mut out, 0x10, self.end_time);
        put32(&mut out, 0x18, self.timer_resolution);
        put32(&mut out, 0x1C, self.maximum_file_size);
        put32(&mut out, 0x20, self.log_file_mode);
        put32(&mut out, 0x24, self.buffers_written);
        put32(&mut out, 0x28, self.start_buffers);
        put32(&mut out, 0x2C, self.pointer_size);
        put32(&mut out, 0x30, self.events_lost);
        put32(&mut out, 0x34, self.cpu_speed_mhz);
        put32(&mut out, tz_at, self.time_zone_bias_minutes as u32);
        put64(&mut out, after_tz, self.boot_time);
        put64(&mut out, after_tz + 8, self.perf_freq);
        put64(&mut out, after_tz + 16, self.start_time);
        put32(&mut out, after_tz + 24, self.reserved_flags);
        put32(&mut out, after_tz + 28, self.buffers_lost);
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
