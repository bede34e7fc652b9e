//! SystemConfig (group 11): the hardware and software configuration the
//! kernel session writes at its end; and the SysConfig classic events
//! (GUID 9b79ee91-...) that a merge adds (build, paths, volumes).
use super::Entry;
use crate::schema::{f, skip, Field, FieldType::*};
use etl::Guid as ClassGuid;

pub const TASK: &str = "SystemConfig";
pub const EX_TASK: &str = "SysConfig";

pub const SYSCONFIG_EX_GUID: ClassGuid =
    ClassGuid::from_fields(0x9b79ee91, 0xb5fd, 0x41c0, [0xa2, 0x43, 0x42, 0x48, 0xe2, 0x66, 0xe9, 0xd0]);

const CPU_V1: &[Field] = &[
    f("MHz", U32),
    f("NumberOfProcessors", U32),
    f("MemSize", U32),
    f("PageSize", U32),
    f("AllocationGranularity", U32),
    Field::fixed_utf16("ComputerName", 256),
    Field::fixed_utf16("DomainName", 132),
    f("HyperThreadingFlag", Pointer),
];
const CPU_V2: &[Field] = &[
    f("MHz", U32),
    f("NumberOfProcessors", U32),
    f("MemSize", U32),
    f("PageSize", U32),
    f("AllocationGranularity", U32),
    Field::fixed_utf16("ComputerName", 256),
    Field::fixed_utf16("DomainName", 134),
    f("HyperThreadingFlag", Pointer),
];

const PHY_DISK: &[Field] = &[
    f("DiskNumber", U32),
    f("BytesPerSector", U32),
    f("SectorsPerTrack", U32),
    f("TracksPerCylinder", U32),
    f("Cylinders", U64),
    f("SCSIPort", U32),
    f("SCSIPath", U32),
    f("SCSITarget", U32),
    f("SCSILun", U32),
    Field::fixed_utf16("Manufacturer", 256),
    f("PartitionCount", U32),
    f("WriteCacheEnabled", U8),
    skip(1),
    Field::fixed_utf16("BootDriveLetter", 3),
    Field::fixed_utf16("Spare", 2),
];

const LOG_DISK: &[Field] = &[
    f("StartOffset", U64),
    f("PartitionSize", U64),
    f("DiskNumber", U32),
    f("Size", U32),
    f("DriveType", U32),
    Field::fixed_utf16("DriveLetterString", 4),
    f("Pad1", U32),
    f("PartitionNumber", U32),
    f("SectorsPerCluster", U32),
    f("BytesPerSector", U32),
    f("Pad2", U32),
    f("NumberOfFreeClusters", U64),
    f("TotalNumberOfClusters", U64),
    Field::fixed_utf16("FileSystem", 16),
    f("VolumeExt", U32),
    f("Pad3", U32).optional(),
];

const NIC_V1: &[Field] = &[
    Field::fixed_utf16("NICName", 256),
    f("Index", U32),
    f("PhysicalAddrLen", U32),
    Field::fixed_utf16("PhysicalAddr", 8),
    f("Size", U32),
    f("IpAddress", U32),
    f("SubnetMask", U32),
    f("DhcpServer", U32),
    f("Gateway", U32),
    f("PrimaryWinsServer", U32),
    f("SecondaryWinsServer", U32),
    f("DnsServer1", U32),
    f("DnsServer2", U32),
    f("DnsServer3", U32),
    f("DnsServer4", U32),
    f("Data", U32),
];
const NIC_V2: &[Field] = &[
    f("PhysicalAddr", U64),
    f("PhysicalAddrLen", U32),
    f("Ipv4Index", U32),
    f("Ipv6Index", U32),
    f("NICDescription", Utf16),
    f("IpAddresses", Utf16),
    f("DnsServerAddresses", Utf16),
];

const VIDEO: &[Field] = &[
    f("MemorySize", U32),
    f("XResolution", U32),
    f("YResolution", U32),
    f("BitsPerPixel", U32),
    f("VRefresh", U32),
    Field::fixed_utf16("ChipType", 256),
    Field::fixed_utf16("DACType", 256),
    Field::fixed_utf16("AdapterString", 256),
    Field::fixed_utf16("BiosString", 256),
    Field::fixed_utf16("DeviceID", 256),
    f("StateFlags", U32),
];

const SERVICES_V1: &[Field] = &[
    Field::fixed_utf16("ServiceName", 34),
    Field::fixed_utf16("DisplayName", 256),
    Field::fixed_utf16("ProcessName", 34),
    f("ProcessID", U32),
];
const SERVICES_V2: &[Field] = &[
    f("ProcessID", U32),
    f("ServiceState", U32),
    f("SubProcessTag", U32),
    f("ServiceName", Utf16),
    f("DisplayName", Utf16),
    f("ProcessName", Utf16),
];

const POWER: &[Field] =
    &[f("S1", U8), f("S2", U8), f("S3", U8), f("S4", U8), f("S5", U8), f("Pad1", U8), f("Pad2", U8), f("Pad3", U8)];

const NETWORK: &[Field] =
    &[f("TcbTablePartitions", U32), f("MaxHashTableSize", U32), f("MaxUserPort", U32), f("TcpTimedWaitDelay", U32)];

const OPTICAL_MEDIA: &[Field] = &[
    f("DiskNumber", U16),
    f("BusType", U16),
    f("DeviceType", U16),
    f("MediaType", U16),
    f("StartingOffset", U64),
    f("Size", U64),
    f("NumberOfFreeBlocks", U64),
    f("TotalNumberOfBlocks", U64),
    f("NextWritableAddress", U64),
    f("NumberOfSessions", U32),
    f("NumberOfTracks", U32),
    f("BytesPerSector", U32),
    f("DiscStatus", U16),
    f("LastSessionStatus", U16),
    f("Data", Utf16),
];

const IRQ: &[Field] =
    &[f("IRQAffinity", U64), f("IRQNum", U32), f("DeviceDescriptionLen", U32), f("DeviceDescription", Utf16)];

const PNP_V2: &[Field] = &[
    f("IDLength", U32),
    f("DescriptionLength", U32),
    f("FriendlyNameLength", U32),
    f("DeviceID", Utf16),
    f("DeviceDescription", Utf16),
    f("FriendlyName", Utf16),
    f("PdoName", Utf16).optional(),
    f("ServiceName", Utf16).optional(),
];
const PNP_V4: &[Field] = &[
    f("ClassGuid", Guid),
    f("UpperFilterCount", U32),
    f("LowerFilterCount", U32),
    f("DeviceID", Utf16),
    f("DeviceDescription", Utf16),
    f("FriendlyName", Utf16),
    f("PdoName", Utf16),
    f("ServiceName", Utf16),
];
const PNP_V5: &[Field] = &[
    f("ClassGuid", Guid),
    f("UpperFilterCount", U32),
    f("LowerFilterCount", U32),
    f("DevStatus", U32),
    f("DevProblem", U32),
    f("DeviceID", Utf16),
    f("DeviceDescription", Utf16),
    f("FriendlyName", Utf16),
    f("PdoName", Utf16),
    f("ServiceName", Utf16),
];

const IDE_CHANNEL: &[Field] = &[
    f("TargetID", U32),
    f("DeviceType", U32),
    f("DeviceTimingMode", U32),
    f("LocationInformationLen", U32),
    f("LocationInformation", Utf16),
];

const PLATFORM: &[Field] =
    &[f("SystemManufacturer", Utf16), f("SystemProductName", Utf16), f("BiosDate", Utf16), f("BiosVersion", Utf16)];

const DPI: &[Field] = &[f("MachineDPI", U32), f("UserDPI", U32)];

pub fn lookup(opcode: u8, version: u16) -> Option<Entry> {
    Some(match opcode {
        10 => ("CPU", if version >= 2 { CPU_V2 } else { CPU_V1 }),
        11 => ("PhyDisk", PHY_DISK),
        12 => ("LogDisk", LOG_DISK),
        13 => ("NIC", if version >= 2 { NIC_V2 } else { NIC_V1 }),
        14 => ("Video", VIDEO),
        15 => ("Services", if version >= 2 { SERVICES_V2 } else { SERVICES_V1 }),
        16 => ("Power", POWER),
        17 => ("Network", NETWORK),
        18 => ("OpticalMedia", OPTICAL_MEDIA),
        21 => ("IRQ", IRQ),
        22 => (
            "PnP",
            match version {
                0..=3 => PNP_V2,
                4 => PNP_V4,
                _ => PNP_V5,
            },
        ),
        23 => ("IDEChannel", IDE_CHANNEL),
        25 => ("Platform", PLATFORM),
        28 => ("DPI", DPI),
        _ => return None,
    })
}

const BUILD_INFO: &[Field] = &[f("InstallDate", FileTime), f("BuildLab", Utf16), f("ProductName", Utf16)];
const SYSTEM_PATHS: &[Field] = &[f("SystemDirectory", Utf16), f("SystemWindowsDirectory", Utf16)];
const UNKNOWN_VOLUME: &[Field] = &[f("Value", Utf16)];
const VOLUME_MAPPING: &[Field] = &[f("NtPath", Utf16), f("DosPath", Utf16)];

pub fn lookup_ex(class_type: u8, _version: u16) -> Option<Entry> {
    Some(match class_type {
        32 => ("BuildInfo", BUILD_INFO),
        33 => ("SystemPaths", SYSTEM_PATHS),
        34 => ("UnknownVolume", UNKNOWN_VOLUME),
        35 => ("VolumeMapping", VOLUME_MAPPING),
        _ => return None,
    })
}
