//! Raw timestamps to nanoseconds since the trace start and to UTC.
use super::logfile::{ClockType, LogfileHeader};

const NS_PER_SEC: i128 = 1_000_000_000;
/// FILETIME ticks are 100 ns.
const FILETIME_TICKS_PER_SEC: i64 = 10_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub clock_type: ClockType,
    /// Raw ticks per second.
    pub frequency: i64,
    /// The raw timestamp of the trace start (the log file header event).
    pub origin_ticks: i64,
    /// FILETIME of the trace start (TRACE_LOGFILE_HEADER StartTime).
    pub origin_filetime: i64,
    /// 1e9 / frequency when that is a whole number: the common fast path.
    ns_per_tick: Option<i64>,
}

impl Clock {
    /// `header_timestamp` is the raw timestamp of the header event itself,
    /// taken with the same clock as every other record.
    pub fn new(header: &LogfileHeader, header_timestamp: i64) -> Clock {
        let clock_type = header.clock_type().unwrap_or(ClockType::PerformanceCounter);
        let frequency = match clock_type {
            ClockType::PerformanceCounter => header.perf_freq,
            ClockType::SystemTime => FILETIME_TICKS_PER_SEC,
            ClockType::CpuCycles => i64::from(header.cpu_speed_mhz) * 1_000_000,
        };
        // A header without a usable frequency still gets a clock: FILETIME units.
        let frequency = if frequency > 0 { frequency } else { FILETIME_TICKS_PER_SEC };
        Clock::with_frequency(clock_type, frequency, header_timestamp, header.start_time)
    }

    pub fn with_frequency(clock_type: ClockType, frequency: i64, origin_ticks: i64, origin_filetime: i64) -> Clock {
        let ns_per_tick = (1_000_000_000 % frequency == 0).then(|| 1_000_000_000 / frequency);
        Clock { clock_type, frequency, origin_ticks, origin_filetime, ns_per_tick }
    }

    /// Nanoseconds since the trace start; negative for records stamped before it.
    #[inline]
    pub fn ns_since_start(&self, raw: i64) -> i64 {
        let delta = raw.wrapping_sub(self.origin_ticks);
        match self.ns_per_tick {
            Some(mul) => delta.saturating_mul(mul),
            None => (i128::from(delta) * NS_PER_SEC / i128::from(self.frequency)) as i64,
        }
    }

    /// Ticks of this clock in `ns` nanoseconds (the inverse of ns_since_start's scale).
    pub fn ticks_for_ns(&self, ns: i64) -> i64 {
        (i128::from(ns) * i128::from(self.frequency) / NS_PER_SEC) as i64
    }

    /// Absolute time as FILETIME (100 ns since 1601-01-01 UTC).
    pub fn to_filetime(&self, raw: i64) -> i64 {
        self.origin_filetime.saturating_add(self.ns_since_start(raw) / 100)
    }

    pub fn to_utc(&self, raw: i64) -> String {
        filetime_to_utc(self.to_filetime(raw))
    }
}

/// FILETIME as ISO 8601 UTC with 100 ns precision.
pub fn filetime_to_utc(filetime: i64) -> String {
    // Seconds between 1601-01-01 and 1970-01-01.
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    let secs = filetime.div_euclid(FILETIME_TICKS_PER_SEC) - EPOCH_DIFF_SECS;
    let frac = filetime.rem_euclid(FILETIME_TICKS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:07}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qpc_ticks_become_nanoseconds_and_utc() {
        let clock = Clock::with_frequency(ClockType::PerformanceCounter, 10_000_000, 1000, 132_404_548_343_502_666);
        assert_eq!(clock.ns_since_start(1000), 0);
        assert_eq!(clock.ns_since_start(1001), 100);
        assert_eq!(clock.ns_since_start(999), -100);
        assert_eq!(clock.ticks_for_ns(1_000), 10);
        // 2020-07-29 per the FILETIME of the corpus trace net.4.5.2.x64.etl.
        assert_eq!(clock.to_utc(1000), "2020-07-29T00:07:14.3502666Z");
    }

    #[test]
    fn odd_frequencies_convert_exactly() {
        let clock = Clock::with_frequency(ClockType::PerformanceCounter, 3_579_545, 0, 0);
        assert_eq!(clock.ns_since_start(3_579_545), 1_000_000_000);
        assert_eq!(clock.ns_since_start(3_579_545 * 3600), 3_600_000_000_000);
    }

    #[test]
    fn epoch_dates() {
        assert_eq!(filetime_to_utc(116_444_736_000_000_000), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(filetime_to_utc(0), "1601-01-01T00:00:00.0000000Z");
    }
}
