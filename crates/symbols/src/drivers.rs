//! The driver atlas: well-known file system filter, antivirus and EDR drivers,
//! so that trees and tables can flag their frames (as ETWAnalyzer's
//! -ShowModuleInfo does).
//!
//! The facts live in `data/drivers.tsv`, built into the binary: about 2,000 files
//! from Microsoft's "Allocated filter altitudes" list, ETWAnalyzer's (MIT)
//! WellKnownDrivers.json, a short hand list of EDR sensors, and the demo's
//! driver. The file's header names the sources, their versions and how they were
//! merged. It is parsed once, on first use; a malformed line is skipped at run
//! time (a unit test fails on any), never a panic.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The atlas's text, one driver a line.
const ATLAS: &str = include_str!("../data/drivers.tsv");

/// The columns a line has, in order.
const COLUMNS: [&str; 6] = ["file", "vendor", "category", "altitude", "load_order_group", "source"];

/// What kind of driver it is: a small fixed vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DriverCategory {
    /// Anti-virus filters and EDR sensors.
    Antivirus,
    /// Watchers of file, process or registry activity (Process Monitor, DLP agents).
    ActivityMonitor,
    Encryption,
    /// Continuous backup, undelete, system recovery and open-file agents.
    Backup,
    Replication,
    /// File system virtualization and archive mounting (App-V, FSLogix, .zip imaging).
    Virtualization,
    Compression,
    Quota,
    /// Hierarchical storage management: files that live elsewhere until opened.
    Hsm,
    /// Cluster and other file systems.
    Filesystem,
    Network,
    Storage,
    /// Top and bottom filters, content screeners, security enhancers, copy protection.
    Other,
}

impl DriverCategory {
    const ALL: [DriverCategory; 13] = [
        DriverCategory::Antivirus,
        DriverCategory::ActivityMonitor,
        DriverCategory::Encryption,
        DriverCategory::Backup,
        DriverCategory::Replication,
        DriverCategory::Virtualization,
        DriverCategory::Compression,
        DriverCategory::Quota,
        DriverCategory::Hsm,
        DriverCategory::Filesystem,
        DriverCategory::Network,
        DriverCategory::Storage,
        DriverCategory::Other,
    ];

    /// The name tables and marks show, and the data file uses.
    pub fn name(self) -> &'static str {
        match self {
            DriverCategory::Antivirus => "antivirus",
            DriverCategory::ActivityMonitor => "activity monitor",
            DriverCategory::Encryption => "encryption",
            DriverCategory::Backup => "backup",
            DriverCategory::Replication => "replication",
            DriverCategory::Virtualization => "virtualization",
            DriverCategory::Compression => "compression",
            DriverCategory::Quota => "quota",
            DriverCategory::Hsm => "HSM",
            DriverCategory::Filesystem => "filesystem",
            DriverCategory::Network => "network",
            DriverCategory::Storage => "storage",
            DriverCategory::Other => "other",
        }
    }

    /// The category named `name` (as [`DriverCategory::name`] spells it).
    pub fn from_name(name: &str) -> Option<DriverCategory> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The category of a minifilter load order group, as Microsoft's altitude
    /// list and ETWAnalyzer name them. Groups of data protection (undelete,
    /// system recovery, open file) count as backup; archive imaging as
    /// virtualization; the security groups that are neither anti-virus nor
    /// monitoring (content screener, security enhancer, copy protection) and the
    /// positional ones (top, bottom) as other.
    pub fn from_load_order_group(group: &str) -> DriverCategory {
        let group = group.to_ascii_lowercase();
        let group = group.strip_prefix("fsfilter ").unwrap_or(&group);
        match group {
            "anti-virus" | "antivirus" | "antivirus driver" | "antivirus in process hook" => DriverCategory::Antivirus,
            "activity monitor" | "security monitor" => DriverCategory::ActivityMonitor,
            "encryption" => DriverCategory::Encryption,
            "continuous backup" | "undelete" | "system recovery" | "open file" => DriverCategory::Backup,
            "replication" => DriverCategory::Replication,
            "virtualization" | "imaging (ex: .zip)" => DriverCategory::Virtualization,
            "compression" => DriverCategory::Compression,
            "quota management" | "physical quota management" => DriverCategory::Quota,
            "hsm" => DriverCategory::Hsm,
            "cluster file system" => DriverCategory::Filesystem,
            _ => DriverCategory::Other,
        }
    }
}

/// One driver of the atlas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownDriver {
    /// The file name, as Windows loads it (matched case-insensitively).
    pub file: &'static str,
    /// The company the sources name.
    pub company: &'static str,
    pub category: DriverCategory,
    /// The minifilter altitude Microsoft allocated ("" when none is listed).
    pub altitude: &'static str,
    /// The load order group the altitude belongs to ("" when unknown).
    pub group: &'static str,
    /// Which sources list it (`ms-altitudes; etwanalyzer`, `hand: ...`).
    pub source: &'static str,
}

impl KnownDriver {
    /// The words a tree shows beside such a frame: `antivirus (CrowdStrike Ltd.)`.
    pub fn mark(&self) -> String {
        format!("{} ({})", self.category.name(), self.company)
    }
}

/// A line of the data that does not parse, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// The parsed atlas: drivers by lower-case file name, and the lines it skipped.
pub struct Atlas {
    by_file: HashMap<String, KnownDriver>,
    pub bad_lines: Vec<BadLine>,
}

impl Atlas {
    /// Parses tab-separated text with a header line and `#` comments. Bad lines
    /// (wrong column count, empty or spaced file name, unknown category, a
    /// non-numeric altitude, a file listed twice) are recorded and skipped.
    pub fn parse(text: &'static str) -> Atlas {
        let mut atlas = Atlas { by_file: HashMap::new(), bad_lines: Vec::new() };
        let mut header_seen = false;
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&'static str> = line.split('\t').collect();
            if !header_seen {
                header_seen = true;
                if fields != COLUMNS {
                    atlas.bad(index, format!("the header should be {}", COLUMNS.join(" ")));
                }
                continue;
            }
            match Self::driver(&fields) {
                Ok(driver) => match atlas.by_file.entry(driver.file.to_ascii_lowercase()) {
                    Entry::Vacant(slot) => {
                        slot.insert(driver);
                    }
                    Entry::Occupied(_) => atlas.bad(index, format!("{} is listed twice", driver.file)),
                },
                Err(reason) => atlas.bad(index, reason),
            }
        }
        atlas
    }

    fn bad(&mut self, index: usize, reason: String) {
        self.bad_lines.push(BadLine { line: index + 1, reason });
    }

    fn driver(fields: &[&'static str]) -> Result<KnownDriver, String> {
        let &[file, company, category, altitude, group, source] = fields else {
            return Err(format!("{} columns instead of {}", fields.len(), COLUMNS.len()));
        };
        if file.is_empty() || file.contains(char::is_whitespace) {
            return Err(format!("file name {file:?} is empty or has spaces"));
        }
        if company.is_empty() || source.is_empty() {
            return Err(format!("{file}: vendor and source must not be empty"));
        }
        let category =
            DriverCategory::from_name(category).ok_or_else(|| format!("{file}: unknown category {category:?}"))?;
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if !altitude.is_empty() && !numeric(altitude) {
            return Err(format!("{file}: altitude {altitude:?} is not a number"));
        }
        Ok(KnownDriver { file, company, category, altitude, group, source })
    }

    /// The driver with this file name (case-insensitive), if any.
    pub fn get(&self, file_name: &str) -> Option<&KnownDriver> {
        self.by_file.get(&file_name.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.by_file.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_file.is_empty()
    }

    pub fn drivers(&self) -> impl Iterator<Item = &KnownDriver> {
        self.by_file.values()
    }
}

/// The built-in atlas, parsed on first use.
pub fn atlas() -> &'static Atlas {
    static ATLAS_PARSED: OnceLock<Atlas> = OnceLock::new();
    ATLAS_PARSED.get_or_init(|| Atlas::parse(ATLAS))
}

/// The known driver with this file name (case-insensitive), if any.
pub fn known_driver(file_name: &str) -> Option<&'static KnownDriver> {
    atlas().get(file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_has_no_bad_lines() {
        assert_eq!(atlas().bad_lines, Vec::new());
    }

    /// Counted from the text itself: every line that is neither a comment nor
    /// the header is one driver.
    #[test]
    fn every_data_line_is_a_driver() {
        let data_lines = ATLAS.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count() - 1;
        assert_eq!(atlas().len(), data_lines);
        assert!(atlas().len() >= 1_500, "only {} drivers", atlas().len());
    }

    #[test]
    fn each_source_contributes() {
        let count =
            |prefix: &str| atlas().drivers().filter(|d| d.source.split("; ").any(|s| s.starts_with(prefix))).count();
        assert!(count("ms-altitudes") >= 1_500);
        assert!(count("etwanalyzer") >= 1_500);
        assert!(count("hand:") >= 10);
    }

    /// A row the hand list did not touch has the category its load order group maps to.
    #[test]
    fn categories_follow_the_load_order_group() {
        for d in atlas().drivers().filter(|d| !d.group.is_empty() && !d.source.contains("hand:")) {
            assert_eq!(d.category, DriverCategory::from_load_order_group(d.group), "{d:?}");
        }
    }

    #[test]
    fn names_match_without_case() {
        assert_eq!(known_driver("WDFILTER.SYS").map(|d| d.company), Some("Microsoft"));
        assert!(known_driver("ntoskrnl.exe").is_none());
        assert!(known_driver("").is_none());
    }

    #[test]
    fn the_demo_driver_comes_from_the_data_file() {
        let line = ATLAS.lines().find(|l| l.starts_with("tedrdrv.sys\t")).expect("tedrdrv.sys in drivers.tsv");
        let cells: Vec<&str> = line.split('\t').collect();
        let demo = known_driver("TEDRDRV.SYS").unwrap();
        assert_eq!((demo.company, demo.category.name(), demo.altitude), (cells[1], cells[2], cells[3]));
        assert_eq!(demo.category, DriverCategory::Antivirus);
        assert_eq!(demo.mark(), format!("antivirus ({})", cells[1]));
    }

    #[test]
    fn well_known_products_resolve() {
        let defender = known_driver("WdFilter.sys").unwrap();
        assert_eq!(
            (defender.company, defender.altitude, defender.group),
            ("Microsoft", "328010", "FSFilter Anti-Virus")
        );
        assert_eq!(defender.category, DriverCategory::Antivirus);
        let falcon = known_driver("csagent.sys").unwrap();
        assert!(falcon.company.starts_with("CrowdStrike"), "{falcon:?}");
        assert_eq!(falcon.category, DriverCategory::Antivirus);
        // An EDR the altitude list files under Activity Monitor: the hand list makes it one.
        assert_eq!(known_driver("cbk7.sys").map(|d| d.category), Some(DriverCategory::Antivirus));
        assert_eq!(known_driver("PROCMON11.SYS").map(|d| d.category), Some(DriverCategory::ActivityMonitor));
    }

    #[test]
    fn malformed_lines_are_reported_not_fatal() {
        let text = "# comment\nfile\tvendor\tcategory\taltitude\tload_order_group\tsource\n\
                    a.sys\tA\tantivirus\t320000\tFSFilter Anti-Virus\ttest\n\
                    b.sys\tB\tsecret sauce\t\t\ttest\n\
                    c.sys\tC\n\
                    A.SYS\tA again\tother\t\t\ttest\n\
                    d e.sys\tD\tother\t\t\ttest\n\
                    f.sys\tF\tother\tten\t\ttest\n";
        let atlas = Atlas::parse(text);
        assert_eq!(atlas.len(), 1);
        let lines: Vec<usize> = atlas.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8]);
        assert_eq!(atlas.get("A.sys").map(|d| d.company), Some("A"));
    }

    #[test]
    fn a_wrong_header_is_a_bad_line() {
        let atlas = Atlas::parse("file\tvendor\n");
        assert_eq!(atlas.bad_lines.len(), 1);
        assert!(atlas.is_empty());
    }

    #[test]
    fn every_category_name_round_trips() {
        for c in DriverCategory::ALL {
            assert_eq!(DriverCategory::from_name(c.name()), Some(c));
        }
        assert_eq!(DriverCategory::from_load_order_group("FSFILTER Antivirus"), DriverCategory::Antivirus);
        assert_eq!(DriverCategory::from_load_order_group("FSFilter HSM"), DriverCategory::Hsm);
        assert_eq!(DriverCategory::from_load_order_group("FSFilter Top"), DriverCategory::Other);
    }
}
