//! The .NET runtime's most common events (provider Microsoft-Windows-DotNETRuntime),
//! built in: a trace recorded without a merge carries no schema for them, and
//! PerfView and WPA know them anyway. Tried after every schema the trace or
//! the user supplies. Names follow the manifest's task and opcode messages.
use super::schema::{f, skip, Field, FieldType::*, Len, MapRef};
use super::{EventSchema, Name};
use etl::Guid as ProviderGuid;
use std::collections::HashMap;
use std::sync::OnceLock;

pub const PROVIDER: &str = "Microsoft-Windows-DotNETRuntime";
pub const PROVIDER_GUID: ProviderGuid =
    ProviderGuid::from_fields(0xe13c0d23, 0xccbc, 0x4e12, [0x93, 0x1b, 0xd9, 0xcc, 0x2e, 0xee, 0x27, 0xe4]);
/// The runtime's private provider: GC internals and assembly binding.
pub const PRIVATE_PROVIDER: &str = "Microsoft-Windows-DotNETRuntimePrivate";
pub const PRIVATE_PROVIDER_GUID: ProviderGuid =
    ProviderGuid::from_fields(0x763fd754, 0x7086, 0x4dfe, [0x95, 0xeb, 0xc0, 0x1a, 0x46, 0xfa, 0xf4, 0xca]);
/// The runtime's rundown provider: the methods and modules alive when a trace starts or stops.
pub const RUNDOWN_PROVIDER: &str = "Microsoft-Windows-DotNETRuntimeRundown";
pub const RUNDOWN_PROVIDER_GUID: ProviderGuid =
    ProviderGuid::from_fields(0xa669021c, 0xc450, 0x4609, [0xa0, 0x35, 0x5a, 0xf5, 0x9a, 0xf4, 0xdf, 0x18]);

/// Event ids of the method and module events, the same in both providers' numbering.
pub mod code_events {
    /// Runtime: MethodLoadVerbose; rundown: MethodDCStartVerbose.
    pub const METHOD_LOAD_VERBOSE: u16 = 143;
    /// Runtime: MethodUnloadVerbose; rundown: MethodDCEndVerbose.
    pub const METHOD_UNLOAD_VERBOSE: u16 = 144;
    /// Runtime: ModuleLoad.
    pub const MODULE_LOAD: u16 = 152;
    /// Rundown: ModuleDCStart (153) and ModuleDCEnd (154).
    pub const MODULE_DC_START: u16 = 153;
    pub const MODULE_DC_END: u16 = 154;
}

const GC_REASON: &[(u64, &str)] = &[
    (0, "AllocSmall"),
    (1, "Induced"),
    (2, "LowMemory"),
    (3, "Empty"),
    (4, "AllocLarge"),
    (5, "OutOfSpaceSOH"),
    (6, "OutOfSpaceLOH"),
    (7, "InducedNotForced"),
    (8, "Internal"),
    (9, "InducedLowMemory"),
    (10, "InducedCompacting"),
    (11, "LowMemoryHost"),
    (12, "PMFullGC"),
    (13, "LowMemoryHostBlocking"),
];
const GC_TYPE: &[(u64, &str)] = &[(0, "NonConcurrentGC"), (1, "BackgroundGC"), (2, "ForegroundGC")];
const ALLOCATION_KIND: &[(u64, &str)] = &[(0, "Small"), (1, "Large"), (2, "Pinned")];
const SUSPEND_REASON: &[(u64, &str)] = &[
    (0, "SuspendOther"),
    (1, "SuspendForGC"),
    (2, "SuspendForAppDomainShutdown"),
    (3, "SuspendForCodePitching"),
    (4, "SuspendForShutdown"),
    (5, "SuspendForDebugger"),
    (6, "SuspendForGCPrep"),
    (7, "SuspendForDebuggerSweep"),
];
const SEGMENT_TYPE: &[(u64, &str)] =
    &[(0, "SmallObjectHeap"), (1, "LargeObjectHeap"), (2, "ReadOnlyHeap"), (3, "PinnedObjectHeap")];
const PAUSE_MODE: &[(u64, &str)] =
    &[(0, "Batch"), (1, "Interactive"), (2, "LowLatency"), (3, "SustainedLowLatency"), (4, "NoGC")];
const BUCKET_KIND: &[(u64, &str)] = &[(0, "LargestFreeListItems"), (1, "PlugsInCondemned")];
const STARTUP_MODE: &[(u64, &str)] =
    &[(0, "None"), (1, "ManagedExe"), (2, "HostedClr"), (4, "IjwDll"), (8, "ComActivated"), (0x10, "Other")];
const RUNTIME_SKU: &[(u64, &str)] = &[(0, "None"), (1, "DesktopClr"), (2, "CoreClr"), (4, "Mono")];
const GLOBAL_MECHANISMS: &[(u64, &str)] =
    &[(0, "None"), (1, "Concurrent"), (2, "Compaction"), (4, "Promotion"), (8, "Demotion"), (0x10, "CardBundles")];
/// Bit n set means reason n; none set means not specified.
const COMPACT_REASON: &[(u64, &str)] = &[
    (0, "not_specified"),
    (1 << 0, "compact_low_ephemeral"),
    (1 << 1, "compact_high_frag"),
    (1 << 2, "compact_no_gaps"),
    (1 << 3, "compact_loh_forced"),
    (1 << 4, "compact_last_gc"),
    (1 << 5, "compact_induced_compacting"),
    (1 << 6, "compact_fragmented_gen0"),
    (1 << 7, "compact_high_mem_load"),
    (1 << 8, "compact_high_mem_frag"),
    (1 << 9, "compact_vhigh_mem_frag"),
    (1 << 10, "compact_no_gc_mode"),
];
const EXPAND_MECHANISM: &[(u64, &str)] = &[
    (0, "not_specified"),
    (1 << 0, "expand_reuse_normal"),
    (1 << 1, "expand_reuse_bestfit"),
    (1 << 2, "expand_new_seg_ep"),
    (1 << 3, "expand_new_seg"),
    (1 << 4, "expand_no_memory"),
    (1 << 5, "expand_next_full_gc"),
];

const NGEN_BIND_REASON: &[(u64, &str)] = &[
    (0, "START_BIND"),
    (1, "NO_INDEX"),
    (2, "SYSTEM_ASSEMBLY_NOT_AVAILABLE"),
    (3, "NO_NATIVE_IMAGE"),
    (4, "REJECT_CONFIG_MASK"),
    (5, "FAIL"),
    (6, "INDEX_CORRUPTION"),
    (7, "REJECT_TIMESTAMP"),
    (8, "REJECT_NATIVEIMAGE_NOT_FOUND"),
    (9, "REJECT_IL_SIG"),
    (10, "REJECT_LOADER_EVAL_FAIL"),
    (11, "MISSING_FOUND"),
    (12, "REJECT_HOSTASM"),
    (13, "REJECT_IL_NOT_FOUND"),
    (14, "REJECT_APPBASE_NOT_FILE"),
    (15, "BIND_DEPEND_REJECT_REF_DEF_MISMATCH"),
    (16, "BIND_DEPEND_REJECT_NGEN_SIG"),
    (17, "APPLY_EXTERNAL_RELOCS_FAILED"),
];

const CLR_ID: Field = f("ClrInstanceID", U16);

fn counted(mut field: Field, count_field: usize) -> Field {
    field.count = Len::Field(count_field);
    field
}

fn mapped(mut field: Field, bitmap: bool, entries: &'static [(u64, &'static str)]) -> Field {
    field.map = Some(MapRef::Static { bitmap, entries });
    field
}

/// (event id, version) -> (task/opcode, fields), for the versions runtimes write today.
fn layouts() -> Vec<((u16, u8), &'static str, Vec<Field>)> {
    let only_clr_id = || vec![CLR_ID];
    let gen_data = vec![
        f("SizeBefore", U64),
        f("FreeListBefore", U64),
        f("FreeObjBefore", U64),
        f("SizeAfter", U64),
        f("FreeListAfter", U64),
        f("FreeObjAfter", U64),
        f("In", U64),
        f("PinnedSurv", U64),
        f("NonePinnedSurv", U64),
        f("NewAllocation", U64),
    ];
    let mut out = vec![
        (
            (1, 2),
            "GC/Start",
            vec![
                f("Count", U32),
                f("Depth", U32),
                mapped(f("Reason", U32), false, GC_REASON),
                mapped(f("Type", U32), false, GC_TYPE),
                CLR_ID,
                f("ClientSequenceNumber", U64),
            ],
        ),
        (
            (1, 1),
            "GC/Start",
            vec![
                f("Count", U32),
                f("Depth", U32),
                mapped(f("Reason", U32), false, GC_REASON),
                mapped(f("Type", U32), false, GC_TYPE),
                CLR_ID,
            ],
        ),
        ((2, 1), "GC/Stop", vec![f("Count", U32), f("Depth", U32), CLR_ID]),
        ((3, 1), "GC/RestartEEStop", only_clr_id()),
        (
            (4, 2),
            "GC/HeapStats",
            vec![
                f("GenerationSize0", U64),
                f("TotalPromotedSize0", U64),
                f("GenerationSize1", U64),
                f("TotalPromotedSize1", U64),
                f("GenerationSize2", U64),
                f("TotalPromotedSize2", U64),
                f("GenerationSize3", U64),
                f("TotalPromotedSize3", U64),
                f("FinalizationPromotedSize", U64),
                f("FinalizationPromotedCount", U64),
                f("PinnedObjectCount", U32),
                f("SinkBlockCount", U32),
                f("GCHandleCount", U32),
                CLR_ID,
                f("GenerationSize4", U64),
                f("TotalPromotedSize4", U64),
            ],
        ),
        (
            (5, 1),
            "GC/CreateSegment",
            vec![f("Address", Hex64), f("Size", Hex64), mapped(f("Type", U32), false, SEGMENT_TYPE), CLR_ID],
        ),
        ((7, 1), "GC/RestartEEStart", only_clr_id()),
        ((8, 1), "GC/SuspendEEStop", only_clr_id()),
        ((9, 1), "GC/SuspendEEStart", vec![mapped(f("Reason", U32), false, SUSPEND_REASON), f("Count", U32), CLR_ID]),
        ((11, 1), "GC/CreateConcurrentThread", only_clr_id()),
        ((12, 1), "GC/TerminateConcurrentThread", only_clr_id()),
        ((13, 1), "GC/FinalizersStop", vec![f("Count", U32), CLR_ID]),
        ((14, 1), "GC/FinalizersStart", only_clr_id()),
        ((29, 0), "GC/FinalizeObject", vec![f("TypeID", Pointer), f("ObjectID", Pointer), CLR_ID]),
        (
            (33, 0),
            "GC/PinObjectAtGCTime",
            vec![f("HandleID", Pointer), f("ObjectID", Pointer), f("ObjectSize", U64), f("TypeName", Utf16), CLR_ID],
        ),
        ((35, 0), "GC/Triggered", vec![mapped(f("Reason", U32), false, GC_REASON), CLR_ID]),
        (
            (187, 0),
            "Runtime/Start",
            vec![
                CLR_ID,
                mapped(f("Sku", U16), true, RUNTIME_SKU),
                f("BclMajorVersion", U16),
                f("BclMinorVersion", U16),
                f("BclBuildNumber", U16),
                f("BclQfeNumber", U16),
                f("VMMajorVersion", U16),
                f("VMMinorVersion", U16),
                f("VMBuildNumber", U16),
                f("VMQfeNumber", U16),
                f("StartupFlags", U32),
                mapped(f("StartupMode", U8), true, STARTUP_MODE),
                f("CommandLine", Utf16),
                f("ComObjectGuid", Guid),
                f("RuntimeDllPath", Utf16),
            ],
        ),
        ((202, 0), "GC/MarkWithType", vec![f("HeapNum", U32), CLR_ID, f("Type", U32), f("Promoted", U64)]),
        (
            (204, 3),
            "GC/PerHeapHistory",
            vec![
                CLR_ID,
                f("FreeListAllocated", PointerUint),
                f("FreeListRejected", PointerUint),
                f("EndOfSegAllocated", PointerUint),
                f("CondemnedAllocated", PointerUint),
                f("PinnedAllocated", PointerUint),
                f("PinnedAllocatedAdvance", PointerUint),
                f("RunningFreeListEfficiency", U32),
                f("CondemnReasons0", U32),
                f("CondemnReasons1", U32),
                // Bit 31 marks the word as recorded; the reason is the bit set below it.
                mapped(f("CompactMechanisms", Bits { size: 4, shift: 0, width: 31 }), true, COMPACT_REASON),
                skip(4),
                mapped(f("ExpandMechanisms", Bits { size: 4, shift: 0, width: 31 }), true, EXPAND_MECHANISM),
                skip(4),
                f("HeapIndex", U32),
                f("ExtraGen0Commit", PointerUint),
                f("Count", U32),
                counted(Field::new("Generations", Struct(Vec::new())), 16),
            ],
        ),
        (
            (205, 4),
            "GC/GlobalHeapHistory",
            vec![
                f("FinalYoungestDesired", U64),
                f("NumHeaps", I32),
                f("CondemnedGeneration", U32),
                f("Gen0ReductionCount", U32),
                mapped(f("Reason", U32), false, GC_REASON),
                mapped(f("GlobalMechanisms", U32), true, GLOBAL_MECHANISMS),
                CLR_ID,
                mapped(f("PauseMode", U32), false, PAUSE_MODE),
                f("MemoryPressure", U32),
                f("CondemnReasons0", U32),
                f("CondemnReasons1", U32),
                f("Count", U32),
                counted(f("Times", U32), 11),
            ],
        ),
        ((208, 0), "GC/LOHCompact", vec![CLR_ID, f("Count", U16), f("Values", Binary)]),
        (
            (209, 0),
            "GC/FitBucketInfo",
            vec![
                CLR_ID,
                mapped(f("BucketKind", U16), false, BUCKET_KIND),
                f("TotalSize", U64),
                f("Count", U16),
                f("Values", Binary),
            ],
        ),
    ];
    // The per-generation records of PerHeapHistory.
    for (_, name, fields) in &mut out {
        if *name == "GC/PerHeapHistory" {
            if let Some(last) = fields.last_mut() {
                last.ty = Struct(gen_data.clone());
            }
        }
    }
    // AllocationTick grew a field per version.
    let tick = |version: u8| {
        let mut fields =
            vec![f("AllocationAmount", U32), mapped(f("AllocationKind", U32), false, ALLOCATION_KIND), CLR_ID];
        if version >= 2 {
            fields.extend([
                f("AllocationAmount64", U64),
                f("TypeID", Pointer),
                f("TypeName", Utf16),
                f("HeapIndex", U32),
            ]);
        }
        if version >= 3 {
            fields.push(f("Address", Pointer));
        }
        if version >= 4 {
            fields.push(f("ObjectSize", U64));
        }
        ((10, version), "GC/AllocationTick", fields)
    };
    out.extend((1..=4).map(tick));
    out.extend(method_and_module_layouts("Method/LoadVerbose", "Method/UnloadVerbose", &[(152, "Loader/ModuleLoad")]));
    out
}

/// MethodLoadVerbose-shaped and ModuleLoad-shaped events at versions 0 to 2:
/// version 1 adds ClrInstanceID, version 2 the ReJIT id or the PDB identities.
/// Both providers share the layouts; the names are theirs.
fn method_and_module_layouts(
    load: &'static str,
    unload: &'static str,
    modules: &[(u16, &'static str)],
) -> Vec<((u16, u8), &'static str, Vec<Field>)> {
    let method = |version: u8| {
        let mut fields = vec![
            f("MethodID", U64),
            f("ModuleID", U64),
            f("MethodStartAddress", U64),
            f("MethodSize", U32),
            f("MethodToken", U32),
            f("MethodFlags", U32),
            f("MethodNamespace", Utf16),
            f("MethodName", Utf16),
            f("MethodSignature", Utf16),
        ];
        if version >= 1 {
            fields.push(CLR_ID);
        }
        if version >= 2 {
            fields.push(f("ReJITID", U64));
        }
        fields
    };
    let module = |version: u8| {
        let mut fields = vec![
            f("ModuleID", U64),
            f("AssemblyID", U64),
            f("ModuleFlags", U32),
            f("Reserved1", U32),
            f("ModuleILPath", Utf16),
            f("ModuleNativePath", Utf16),
        ];
        if version >= 1 {
            fields.push(CLR_ID);
        }
        if version >= 2 {
            fields.extend([
                f("ManagedPdbSignature", Guid),
                f("ManagedPdbAge", U32),
                f("ManagedPdbBuildPath", Utf16),
                f("NativePdbSignature", Guid),
                f("NativePdbAge", U32),
                f("NativePdbBuildPath", Utf16),
            ]);
        }
        fields
    };
    let mut out = Vec::new();
    for version in 0..=2 {
        out.push(((code_events::METHOD_LOAD_VERBOSE, version), load, method(version)));
        out.push(((code_events::METHOD_UNLOAD_VERBOSE, version), unload, method(version)));
        out.extend(modules.iter().map(|&(id, name)| ((id, version), name, module(version))));
    }
    out
}

/// The rundown provider's method and module events.
fn rundown_layouts() -> Vec<((u16, u8), &'static str, Vec<Field>)> {
    method_and_module_layouts(
        "Method/DCStartVerbose",
        "Method/DCStopVerbose",
        &[(code_events::MODULE_DC_START, "Loader/ModuleDCStart"), (code_events::MODULE_DC_END, "Loader/ModuleDCStop")],
    )
}

/// The private provider's events that .NET Framework 4.x writes (PerfView knows them too).
fn private_layouts() -> Vec<((u16, u8), &'static str, Vec<Field>)> {
    let mark = || vec![f("HeapNum", U32), CLR_ID];
    let binding = || {
        vec![
            f("AppDomainID", U32),
            f("LoadContextID", U32),
            f("FromLoaderCache", U32),
            f("DynamicLoad", U32),
            f("AssemblyCodebase", Utf16),
            f("AssemblyName", Utf16),
            CLR_ID,
        ]
    };
    // Version 2 (.NET 4.5.x): five generations of pointer-sized counters first.
    let gen_data = vec![
        f("SizeBefore", PointerUint),
        f("FreeListBefore", PointerUint),
        f("FreeObjBefore", PointerUint),
        f("SizeAfter", PointerUint),
        f("FreeListAfter", PointerUint),
        f("FreeObjAfter", PointerUint),
        f("In", PointerUint),
        f("Out", PointerUint),
        f("NewAllocation", PointerUint),
        f("Surv", PointerUint),
    ];
    let mut generations = Field::new("Generations", Struct(gen_data));
    generations.count = Len::Fixed(5);
    let mut out = vec![
        (
            (2, 1),
            "GC/Settings",
            vec![f("SegmentSize", U64), f("LargeObjectSegmentSize", U64), f("ServerGC", Bool32), CLR_ID],
        ),
        (
            (4, 2),
            "GC/PerHeapHistory",
            vec![
                generations,
                f("CondemnReasons0", U32),
                f("CondemnReasons1", U32),
                f("MemoryPressure", U32),
                mapped(f("ExpandMechanisms", Bits { size: 4, shift: 0, width: 31 }), true, EXPAND_MECHANISM),
                skip(4),
                mapped(f("CompactMechanisms", Bits { size: 4, shift: 0, width: 31 }), true, COMPACT_REASON),
                skip(4),
                f("HeapIndex", U32),
                f("ExtraGen0Commit", U64),
                // A single byte here, unlike everywhere else.
                f("ClrInstanceID", U8),
            ],
        ),
        (
            (5, 1),
            "GC/GlobalHeapHistory",
            vec![
                f("FinalYoungestDesired", U64),
                f("NumHeaps", I32),
                f("CondemnedGeneration", U32),
                f("Gen0ReductionCount", U32),
                mapped(f("Reason", U32), false, GC_REASON),
                mapped(f("GlobalMechanisms", U32), true, GLOBAL_MECHANISMS),
                CLR_ID,
            ],
        ),
        ((7, 1), "GC/MarkStackRoots", mark()),
        ((8, 1), "GC/MarkFinalizeQueueRoots", mark()),
        ((9, 1), "GC/MarkHandles", mark()),
        ((10, 1), "GC/MarkCards", mark()),
        (
            (188, 0),
            "NgenBinder/NgenBind",
            vec![
                CLR_ID,
                f("BindingID", U64),
                mapped(f("ReasonCode", U32), false, NGEN_BIND_REASON),
                f("AssemblyName", Utf16),
            ],
        ),
        ((196, 0), "Binding/FusionMessage", vec![CLR_ID, f("Prepend", Bool32), f("Message", Utf16)]),
    ];
    let phases: [(u16, &'static str); 18] = [
        (159, "Binding/PolicyPhaseStart"),
        (160, "Binding/PolicyPhaseStop"),
        (161, "Binding/NgenPhaseStart"),
        (162, "Binding/NgenPhaseStop"),
        (163, "Binding/LookupAndProbingPhaseStart"),
        (164, "Binding/LookupAndProbingPhaseStop"),
        (165, "Binding/LoaderPhaseStart"),
        (166, "Binding/LoaderPhaseStop"),
        (167, "Binding/PhaseStart"),
        (168, "Binding/PhaseStop"),
        (169, "Binding/DownloadPhaseStart"),
        (170, "Binding/DownloadPhaseStop"),
        (171, "Binding/LoaderAssemblyInitPhaseStart"),
        (172, "Binding/LoaderAssemblyInitPhaseStop"),
        (173, "Binding/LoaderMappingPhaseStart"),
        (174, "Binding/LoaderMappingPhaseStop"),
        (175, "Binding/LoaderDeliverEventPhaseStart"),
        (176, "Binding/LoaderDeliverEventsPhaseStop"),
    ];
    out.extend(phases.into_iter().map(|(id, name)| ((id, 0), name, binding())));
    out
}

type Table = HashMap<(ProviderGuid, u16, u8), EventSchema>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let public = layouts().into_iter().map(|l| (PROVIDER_GUID, PROVIDER, l));
        let private = private_layouts().into_iter().map(|l| (PRIVATE_PROVIDER_GUID, PRIVATE_PROVIDER, l));
        let rundown = rundown_layouts().into_iter().map(|l| (RUNDOWN_PROVIDER_GUID, RUNDOWN_PROVIDER, l));
        public
            .chain(private)
            .chain(rundown)
            .map(|(guid, provider, ((id, version), name, fields))| {
                let schema = EventSchema { provider: Name::Static(provider), name: Name::Static(name), fields };
                ((guid, id, version), schema)
            })
            .collect()
    })
}

/// The built-in schema of a runtime event at its version, or at the nearest
/// older version that is built in (newer versions only append fields).
pub fn lookup(provider: &ProviderGuid, id: u16, version: u8) -> Option<&'static EventSchema> {
    if ![PROVIDER_GUID, PRIVATE_PROVIDER_GUID, RUNDOWN_PROVIDER_GUID].contains(provider) {
        return None;
    }
    let table = table();
    (0..=version).rev().find_map(|v| table.get(&(*provider, id, v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::decode_payload;
    use crate::Value;

    #[test]
    fn gc_start_names_its_reason_and_type() {
        let mut p = Vec::new();
        for v in [1u32, 1, 1, 0] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        p.extend_from_slice(&8u16.to_le_bytes());
        p.extend_from_slice(&0u64.to_le_bytes());
        let schema = lookup(&PROVIDER_GUID, 1, 2).unwrap();
        assert_eq!(schema.name, "GC/Start");
        let v = decode_payload(&schema.fields, &p, 8);
        assert_eq!(v[2].1, Value::Enum { value: 1, name: "Induced".into() });
        assert_eq!(v[3].1, Value::Enum { value: 0, name: "NonConcurrentGC".into() });
        assert_eq!(v[4].1, Value::U16(8));
    }

    #[test]
    fn newer_versions_fall_back_to_the_newest_built_in() {
        assert_eq!(lookup(&PROVIDER_GUID, 10, 9).unwrap().fields.len(), 9);
        assert!(lookup(&ProviderGuid::ZERO, 10, 4).is_none());
        assert!(lookup(&PROVIDER_GUID, 60000, 0).is_none());
    }

    #[test]
    fn private_events_are_built_in_too() {
        let schema = lookup(&PRIVATE_PROVIDER_GUID, 196, 0).unwrap();
        assert_eq!((schema.provider.as_str(), schema.name.as_str()), (PRIVATE_PROVIDER, "Binding/FusionMessage"));
        let mut p = vec![9, 0, 0, 0, 0, 0];
        p.extend_from_slice(&[b'h', 0, b'i', 0, 0, 0]);
        let v = decode_payload(&schema.fields, &p, 8);
        assert_eq!(v[1].1, Value::Bool(false));
        assert_eq!(v[2].1, Value::Str("hi".into()));
        // A v2 PerHeapHistory ends with a one-byte ClrInstanceID after 5 generations.
        let schema = lookup(&PRIVATE_PROVIDER_GUID, 4, 2).unwrap();
        let mut p = vec![0u8; 5 * 80 + 4 * 6 + 8];
        p.push(9);
        let v = decode_payload(&schema.fields, &p, 8);
        assert_eq!(v.last().unwrap().1, Value::U8(9));
    }

    #[test]
    fn per_heap_history_counts_its_generations() {
        let schema = lookup(&PROVIDER_GUID, 204, 3).unwrap();
        let mut p = vec![8, 0];
        p.extend_from_slice(&[0u8; 6 * 8 + 12]);
        p.extend_from_slice(&0x8000_0002u32.to_le_bytes()); // compact: bit 1, recorded
        p.extend_from_slice(&0x8000_0000u32.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&0u64.to_le_bytes());
        p.extend_from_slice(&2u32.to_le_bytes());
        p.extend_from_slice(&[0u8; 160]);
        let v = decode_payload(&schema.fields, &p, 8);
        assert_eq!(v[10].1, Value::Enum { value: 2, name: "compact_high_frag".into() });
        assert_eq!(v[11].0, "ExpandMechanisms");
        assert_eq!(v[11].1, Value::Enum { value: 0, name: "not_specified".into() });
        assert!(matches!(&v[15].1, Value::Array(gens) if gens.len() == 2));
    }
}
