//! Well-known third-party drivers, so that trees and tables can flag frames of
//! antivirus and EDR filters (as ETWAnalyzer's -ShowModuleInfo does).
//!
//! File names, altitudes and companies come from Microsoft's public list of
//! allocated file system filter altitudes ("Allocated filter altitudes",
//! learn.microsoft.com/windows-hardware/drivers/ifs/allocated-altitudes). The list
//! is deliberately modest: widely deployed products only, plus the demo's driver.

/// What kind of driver it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverCategory {
    /// The "FSFilter Anti-Virus" load order group (320000-329998), and EDR sensors.
    Antivirus,
    /// "FSFilter Activity Monitor" (360000-389999): watchers such as Process Monitor.
    ActivityMonitor,
}

impl DriverCategory {
    pub fn name(self) -> &'static str {
        match self {
            DriverCategory::Antivirus => "antivirus",
            DriverCategory::ActivityMonitor => "activity monitor",
        }
    }
}

/// One driver of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownDriver {
    /// The file name, as Windows loads it (matched case-insensitively).
    pub file: &'static str,
    pub company: &'static str,
    pub category: DriverCategory,
    /// The minifilter altitude Microsoft allocated ("" when none is listed).
    pub altitude: &'static str,
    /// The load order group the altitude belongs to.
    pub group: &'static str,
}

impl KnownDriver {
    /// The words a tree shows beside such a frame: `antivirus (CrowdStrike Ltd.)`.
    pub fn mark(&self) -> String {
        format!("{} ({})", self.category.name(), self.company)
    }
}

const AV: &str = "FSFilter Anti-Virus";

const fn av(file: &'static str, altitude: &'static str, company: &'static str) -> KnownDriver {
    KnownDriver { file, company, category: DriverCategory::Antivirus, altitude, group: AV }
}

/// The built-in list.
pub const KNOWN_DRIVERS: &[KnownDriver] = &[
    // The demo incident's EDR sensor: fictional, no PDB, hooks system-call tracing.
    KnownDriver {
        file: "tedrdrv.sys",
        company: "Demo EDR Vendor",
        category: DriverCategory::Antivirus,
        altitude: "",
        group: "EDR sensor (demo)",
    },
    av("WdFilter.sys", "328010", "Microsoft"),
    av("mpFilter.sys", "328000", "Microsoft"),
    av("csagent.sys", "321410", "CrowdStrike Ltd."),
    av("SophosED.sys", "324050", "Sophos"),
    av("SAVOnAccess.sys", "324010", "Sophos"),
    av("eamonm.sys", "328700", "ESET, spol. s r.o."),
    av("klam.sys", "328650", "Kaspersky Lab"),
    av("TmKmSnsr.sys", "328550", "Trend Micro Inc."),
    av("TmEsFlt.sys", "328530", "Trend Micro Inc."),
    av("TmEyes.sys", "328520", "Trend Micro Inc."),
    av("tmevtmgr.sys", "328510", "Trend Micro Inc."),
    av("tmpreflt.sys", "328500", "Trend Micro Inc."),
    av("SRTSP.sys", "329000", "Symantec"),
    av("SRTSP64.sys", "329000", "Symantec"),
    av("eeCtrl.sys", "329010", "Symantec"),
    av("mbam.sys", "328800", "Malwarebytes Corp."),
    av("FlightRecorder.sys", "328850", "Malwarebytes Corp."),
    av("vsepflt.sys", "328200", "VMware, Inc."),
    av("epdrv.sys", "321320", "McAfee Inc."),
    av("mfencoas.sys", "321310", "McAfee Inc."),
    av("mfehidk.sys", "321300", "McAfee Inc."),
    av("CyvrFsfd.sys", "321234", "Palo Alto Networks"),
    av("cmdguard.sys", "321200", "Comodo Group Inc."),
    av("K7Sentry.sys", "321100", "K7 Computing Private Ltd."),
    av("bdsvm.sys", "320830", "Bitdefender"),
    av("gzflt.sys", "320820", "BitDefender SRL"),
    av("TRUFOS.SYS", "320770", "BitDefender SRL"),
    av("aswmonflt.sys", "320700", "Alwil (Avast)"),
    av("fortishield.sys", "324900", "Fortinet Inc."),
    av("fsgk.sys", "322000", "F-Secure"),
    av("DwShield64.sys", "324200", "Doctor Web"),
    av("avgmfx64.sys", "325000", "AVG Grisoft"),
    av("360avflt.sys", "327400", "Qihoo 360"),
    av("ECATDriver.sys", "329120", "EMC"),
    av("b9kernel.sys", "329050", "Bit9 Inc"),
    av("csaav.sys", "326600", "Cisco Systems"),
    av("klifks.sys", "362902", "Kaspersky Lab"),
];

/// The known driver with this file name (case-insensitive), if any.
pub fn known_driver(file_name: &str) -> Option<&'static KnownDriver> {
    KNOWN_DRIVERS.iter().find(|d| d.file.eq_ignore_ascii_case(file_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_case() {
        assert_eq!(known_driver("WDFILTER.SYS").map(|d| d.company), Some("Microsoft"));
        assert_eq!(known_driver("tedrdrv.sys").map(|d| d.mark()), Some("antivirus (Demo EDR Vendor)".into()));
        assert!(known_driver("ntoskrnl.exe").is_none());
    }
}
