//! The demo incident, from the field: on a 16-core server an antivirus
//! driver (tedrdrv.sys, no PDB) hooks system-call tracing. Twelve worker
//! threads of server.exe spin on a lock calling Sleep(0), so every
//! NtDelayExecution runs through the driver's hook and its rundown
//! protection; now and then a worker gives up spinning and waits for the lock,
//! and the worker that releases it (or the wait's timeout) readies it again;
//! strace.exe probes files and keys that are not there; and for 3.5 s the
//! profile samples stop while everything else goes on.
//!
//! Addresses come from the Breakpad files in `symbols/`, so a symbol lookup
//! of any IP, frame or syscall address lands on the function it was made from.
use super::payloads::Sid;
use super::scenario::DemoRng;
use super::scenario::{
    thread_state, wait_reason, FileOpenSpec, ModuleSpec, PdbIdentity, ProcessSpec, ProfileSpec, ReadySpec, RegistryOp,
    RegistrySpec, SampleSpec, Scenario, Slice, SwitchOut, SyscallSpec, ThreadSpec, Timeline, IDLE_TID,
};
use super::symbol_text;
use std::collections::{BTreeMap, BTreeSet};
use symbols::breakpad::{parse_sym, BreakpadSymbols};

pub const CPU_COUNT: u16 = 16;
const TICKS_PER_MS: i64 = 10_000;
/// 20 s of trace at 10 MHz.
pub const DURATION: i64 = 20_000 * TICKS_PER_MS;
/// No SampledProfile (nor stacks) from 14.0 s up to 17.5 s.
pub const PROFILE_GAP: (i64, i64) = (14_000 * TICKS_PER_MS, 17_500 * TICKS_PER_MS);
/// 2 ms (xperf -SetProfInt 20000): keeps the demo at a few hundred thousand records.
pub const PROFILE_INTERVAL_100NS: u32 = 20_000;

pub const SYSTEM_PID: u32 = 4;
pub const SVCHOST_PID: u32 = 1020;
pub const EXPLORER_PID: u32 = 3200;
pub const SERVER_PID: u32 = 4242;
pub const STRACE_PID: u32 = 5150;
pub const STRACE_TID: u32 = 5152;
const SERVER_MAIN_TID: u32 = 4246;
const WORKERS: u32 = 12;
const SVCHOST_TIDS: [u32; 4] = [1024, 1028, 1032, 1036];
const EXPLORER_TIDS: [u32; 2] = [3204, 3208];
const SYSTEM_MAIN_TID: u32 = 8;

pub const DRIVER_NAME: &str = "tedrdrv.sys";
pub const DRIVER_BASE: u64 = 0xFFFF_F800_6A3C_0000;
pub const DRIVER_SIZE: u64 = 0x2_E000;
/// The driver's hook of system-call logging, and the spot it spins in.
const DRIVER_HOOK_RETURN: u64 = DRIVER_BASE + 0x1a7c;
const DRIVER_HOOK_BODY: u64 = DRIVER_BASE + 0x1b30;

pub const STATUS_SUCCESS: u32 = 0;
pub const STATUS_ALERTED: u32 = 0x0000_0101;
pub const STATUS_TIMEOUT: u32 = 0x0000_0102;
pub const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
pub const STATUS_ACCESS_DENIED: u32 = 0xC000_0022;
pub const STATUS_OBJECT_NAME_NOT_FOUND: u32 = 0xC000_0034;
pub const STATUS_OBJECT_PATH_NOT_FOUND: u32 = 0xC000_003A;

pub fn worker_tids() -> Vec<u32> {
    (0..WORKERS).map(|i| 4250 + 4 * i).collect()
}

fn system_worker_tid(cpu: u16) -> u32 {
    100 + 4 * u32::from(cpu)
}

/// A module of the demo: where it is and which symbol file describes it.
struct DemoModule {
    /// Stem of its symbol file; None for the driver, which has no PDB.
    symbols: Option<&'static str>,
    path: &'static str,
    base: u64,
    size: u64,
    time_date_stamp: u32,
    checksum: u32,
}

const NT: usize = 0;
const DRIVER: usize = 1;
const NTDLL: usize = 2;
const KERNELBASE: usize = 3;
const KERNEL32: usize = 4;
const SERVER: usize = 5;
const STRACE: usize = 6;
const SVCHOST: usize = 7;
const EXPLORER: usize = 8;

const MODULES: [DemoModule; 9] = [
    DemoModule {
        symbols: Some("ntkrnlmp"),
        path: "\\SystemRoot\\system32\\ntoskrnl.exe",
        base: 0xFFFF_F800_61A0_0000,
        size: 0x104_6000,
        time_date_stamp: 0x5F8E_9A11,
        checksum: 0x00A3_B9C4,
    },
    DemoModule {
        symbols: None,
        path: "\\SystemRoot\\System32\\drivers\\tedrdrv.sys",
        base: DRIVER_BASE,
        size: DRIVER_SIZE,
        time_date_stamp: 0x5D2C_7E10,
        checksum: 0x0003_4A21,
    },
    DemoModule {
        symbols: Some("ntdll"),
        path: "\\Device\\HarddiskVolume3\\Windows\\System32\\ntdll.dll",
        base: 0x7FFE_1B2E_0000,
        size: 0x1F_8000,
        time_date_stamp: 0x3A1B_2C4D,
        checksum: 0x001F_6E2A,
    },
    DemoModule {
        symbols: Some("kernelbase"),
        path: "\\Device\\HarddiskVolume3\\Windows\\System32\\KernelBase.dll",
        base: 0x7FFE_18C5_0000,
        size: 0x2C_D000,
        time_date_stamp: 0x7C3D_5E6F,
        checksum: 0x002C_F1B3,
    },
    DemoModule {
        symbols: Some("kernel32"),
        path: "\\Device\\HarddiskVolume3\\Windows\\System32\\kernel32.dll",
        base: 0x7FFE_1A6F_0000,
        size: 0xB_E000,
        time_date_stamp: 0x1E2F_3A4B,
        checksum: 0x000C_2D19,
    },
    DemoModule {
        symbols: Some("server"),
        path: "\\Device\\HarddiskVolume3\\Program Files\\Contoso\\server.exe",
        base: 0x7FF6_A120_0000,
        size: 0x4_2000,
        time_date_stamp: 0x65A1_B2C3,
        checksum: 0x0004_8E07,
    },
    DemoModule {
        symbols: Some("strace"),
        path: "\\Device\\HarddiskVolume3\\Tools\\strace.exe",
        base: 0x7FF7_B340_0000,
        size: 0x2_8000,
        time_date_stamp: 0x64F0_A1B2,
        checksum: 0x0002_F3C8,
    },
    DemoModule {
        symbols: Some("svchost"),
        path: "\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe",
        base: 0x7FF7_1C3A_0000,
        size: 0xF000,
        time_date_stamp: 0x2B3C_4D5E,
        checksum: 0x0001_5A3D,
    },
    DemoModule {
        symbols: Some("explorer"),
        path: "\\Device\\HarddiskVolume3\\Windows\\explorer.exe",
        base: 0x7FF6_E2D0_0000,
        size: 0x4B_A000,
        time_date_stamp: 0x4C5D_6E7F,
        checksum: 0x004C_0B71,
    },
];

/// Addresses by symbol: module base + FUNC rva + offset.
struct Symbols {
    parsed: Vec<Option<BreakpadSymbols>>,
}

impl Symbols {
    fn load() -> Symbols {
        Symbols { parsed: MODULES.iter().map(|m| m.symbols.map(|s| parse_sym(symbol_text(s).as_bytes()))).collect() }
    }

    /// An address `offset` bytes into a function, kept inside it. A missing
    /// symbol gives the module base rather than a panic; tests catch it.
    fn at(&self, module: usize, function: &str, offset: u64) -> u64 {
        let base = MODULES.get(module).map(|m| m.base).unwrap_or(0);
        let found = self.parsed.get(module).and_then(Option::as_ref).and_then(|m| m.table.function_named(function));
        match found {
            Some(f) => base + u64::from(f.rva) + offset.min(u64::from(f.size).saturating_sub(1)),
            None => base,
        }
    }

    fn identity(&self, module: usize) -> Option<PdbIdentity> {
        self.parsed.get(module)?.as_ref()?.identity.clone()
    }
}

/// The stacks the demo's samples carry, innermost frame first.
struct Stacks {
    /// Spinning in user mode: SpinLock::Acquire, or on the way into Sleep(0).
    spin_user: Vec<Vec<u64>>,
    /// Inside NtDelayExecution, in the driver's hook (entry and exit logging).
    in_driver: Vec<Vec<u64>>,
    /// Inside NtDelayExecution, not in the driver.
    in_kernel: Vec<Vec<u64>>,
    idle: Vec<Vec<u64>>,
    system_worker: Vec<u64>,
    svchost: Vec<u64>,
    explorer: Vec<u64>,
    strace: Vec<Vec<u64>>,
    /// Readying stacks: a worker releasing the lock wakes a waiter
    /// (WakeByAddressSingle), and a wait's timer expires in a DPC on an idle CPU.
    release: Vec<u64>,
    timer: Vec<u64>,
}

impl Stacks {
    fn new(sym: &Symbols) -> Stacks {
        let thread_base =
            vec![sym.at(KERNEL32, "BaseThreadInitThunk", 0x14), sym.at(NTDLL, "RtlUserThreadStart", 0x21)];
        let worker_base: Vec<u64> = [
            vec![sym.at(SERVER, "SpinLock::Acquire", 0x4c), sym.at(SERVER, "WorkerThread", 0xd1)],
            thread_base.clone(),
        ]
        .concat();
        let sleep_call: Vec<u64> =
            [vec![sym.at(NTDLL, "NtDelayExecution", 0x14), sym.at(KERNELBASE, "SleepEx", 0x9a)], worker_base.clone()]
                .concat();
        let logging = |acquire: bool, entry: bool| -> Vec<u64> {
            let rundown = if acquire { "ExfAcquireRundownProtection" } else { "ExfReleaseRundownProtection" };
            let perfinfo = if entry { "PerfInfoLogSysCallEntry" } else { "PerfInfoLogSysCallExit" };
            [
                vec![
                    sym.at(NT, rundown, if acquire { 0x12 } else { 0x1e }),
                    DRIVER_HOOK_RETURN,
                    sym.at(NT, "EtwpLogKernelEvent", 0x2e1),
                    sym.at(NT, "EtwTraceKernelEvent", 0x9c),
                    sym.at(NT, perfinfo, 0x6e),
                    sym.at(NT, "KiSystemServiceExitPico", 0x1b4),
                ],
                sleep_call.clone(),
            ]
            .concat()
        };
        let mut in_driver =
            vec![logging(true, true), logging(false, true), logging(true, false), logging(false, false)];
        // The hook's own body, spinning before it takes rundown protection.
        in_driver.push(
            [
                vec![
                    DRIVER_HOOK_BODY,
                    sym.at(NT, "EtwpLogKernelEvent", 0x2e1),
                    sym.at(NT, "EtwTraceKernelEvent", 0x9c),
                    sym.at(NT, "PerfInfoLogSysCallEntry", 0x6e),
                    sym.at(NT, "KiSystemServiceExitPico", 0x1b4),
                ],
                sleep_call.clone(),
            ]
            .concat(),
        );
        let in_kernel = vec![
            [
                vec![
                    sym.at(NT, "KeDelayExecutionThread", 0x8b),
                    sym.at(NT, "NtDelayExecution", 0x4d),
                    sym.at(NT, "KiSystemServiceExitPico", 0x25),
                ],
                sleep_call.clone(),
            ]
            .concat(),
            [vec![sym.at(NT, "KiSystemServiceExitPico", 0x1c8)], sleep_call.clone()].concat(),
        ];
        let spin_user = vec![
            [vec![sym.at(SERVER, "SpinLock::Acquire", 0x2c)], worker_base[1..].to_vec()].concat(),
            [vec![sym.at(SERVER, "SpinLock::Acquire", 0x31)], worker_base[1..].to_vec()].concat(),
            [vec![sym.at(KERNELBASE, "SleepEx", 0x41)], worker_base.clone()].concat(),
            [vec![sym.at(NTDLL, "NtDelayExecution", 0x12)], sleep_call[1..].to_vec()].concat(),
        ];
        let idle = vec![
            vec![
                sym.at(NT, "PpmIdleExecuteTransition", 0x1cd),
                sym.at(NT, "PoIdle", 0x33a),
                sym.at(NT, "KiIdleLoop", 0x4e),
            ],
            vec![sym.at(NT, "PoIdle", 0x1f2), sym.at(NT, "KiIdleLoop", 0x4e)],
        ];
        let system_worker = vec![
            sym.at(NT, "ExpWorkerThread", 0x98),
            sym.at(NT, "PspSystemThreadStartup", 0x55),
            sym.at(NT, "KiStartSystemThread", 0x28),
        ];
        let svchost =
            [vec![sym.at(SVCHOST, "ServiceWorkerLoop", 0x40), sym.at(SVCHOST, "wmain", 0x9e)], thread_base.clone()]
                .concat();
        let explorer = [
            vec![sym.at(EXPLORER, "CTray::MessageLoop", 0x61), sym.at(EXPLORER, "wWinMain", 0x1a2)],
            thread_base.clone(),
        ]
        .concat();
        let strace_base = vec![sym.at(STRACE, "TraceFileAccess", 0x112), sym.at(STRACE, "main", 0x8e)];
        let strace = vec![
            [vec![sym.at(STRACE, "ProbePath", 0x7a)], strace_base.clone(), thread_base.clone()].concat(),
            [
                vec![sym.at(KERNELBASE, "CreateFileInternal", 0x1c4), sym.at(KERNELBASE, "CreateFileW", 0x66)],
                vec![sym.at(STRACE, "ProbePath", 0x9b)],
                strace_base.clone(),
                thread_base.clone(),
            ]
            .concat(),
            [vec![sym.at(STRACE, "OpenRegistryKeys", 0x40)], strace_base, thread_base.clone()].concat(),
        ];
        let release = [
            vec![
                sym.at(NT, "KiReadyThread", 0x9c),
                sym.at(NT, "NtAlertThreadByThreadId", 0x3a),
                sym.at(NT, "KiSystemServiceExitPico", 0x25),
                sym.at(NTDLL, "NtAlertThreadByThreadId", 0x14),
                sym.at(NTDLL, "RtlWakeAddressSingle", 0x4e),
                sym.at(SERVER, "SpinLock::Release", 0x12),
                sym.at(SERVER, "WorkerThread", 0x10f),
            ],
            thread_base,
        ]
        .concat();
        let timer = vec![
            sym.at(NT, "KiReadyThread", 0x9c),
            sym.at(NT, "KiTimerExpiration", 0x3c1),
            sym.at(NT, "KiRetireDpcList", 0x1e3),
            sym.at(NT, "KiIdleLoop", 0x9e),
        ];
        Stacks { spin_user, in_driver, in_kernel, idle, system_worker, svchost, explorer, strace, release, timer }
    }
}

/// The statuses a call returns, with the odds of each (per mille).
type StatusOdds = &'static [(u32, u32)];

/// What strace.exe calls, with the odds of each outcome (per mille).
const STRACE_CALLS: [(&str, &[(u32, u32)]); 7] = [
    (
        "NtCreateFile",
        &[
            (STATUS_SUCCESS, 600),
            (STATUS_OBJECT_NAME_NOT_FOUND, 250),
            (STATUS_OBJECT_PATH_NOT_FOUND, 100),
            (STATUS_ACCESS_DENIED, 50),
        ],
    ),
    (
        "NtOpenFile",
        &[
            (STATUS_SUCCESS, 700),
            (STATUS_OBJECT_NAME_NOT_FOUND, 200),
            (STATUS_OBJECT_PATH_NOT_FOUND, 70),
            (STATUS_ACCESS_DENIED, 30),
        ],
    ),
    (
        "NtQueryAttributesFile",
        &[(STATUS_SUCCESS, 500), (STATUS_OBJECT_NAME_NOT_FOUND, 350), (STATUS_OBJECT_PATH_NOT_FOUND, 150)],
    ),
    ("NtOpenKeyEx", &[(STATUS_SUCCESS, 700), (STATUS_OBJECT_NAME_NOT_FOUND, 270), (STATUS_ACCESS_DENIED, 30)]),
    ("NtQueryValueKey", &[(STATUS_SUCCESS, 800), (STATUS_OBJECT_NAME_NOT_FOUND, 150), (STATUS_BUFFER_OVERFLOW, 50)]),
    ("NtReadFile", &[(STATUS_SUCCESS, 1000)]),
    ("NtClose", &[(STATUS_SUCCESS, 1000)]),
];

/// Files and keys strace.exe probes, many of them not there.
const STRACE_FILES: [&str; 5] = [
    "\\Device\\HarddiskVolume3\\Tools\\strace.ini",
    "\\Device\\HarddiskVolume3\\Tools\\plugins\\filters.dll",
    "\\Device\\HarddiskVolume3\\Users\\svc-build\\AppData\\Local\\strace\\session.log",
    "\\Device\\HarddiskVolume3\\Windows\\System32\\dbghelp.dll",
    "\\Device\\HarddiskVolume3\\Tools\\symbols\\ntdll.pdb",
];
const STRACE_KEYS: [&str; 4] = [
    "\\REGISTRY\\MACHINE\\SOFTWARE\\strace\\Settings",
    "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\strace.exe",
    "\\REGISTRY\\USER\\S-1-5-21-1001\\Software\\strace",
    "\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\tedrdrv\\Parameters",
];
const STRACE_VALUES: [&str; 3] = ["Verbose", "FilterDll", "DebugFlags"];

/// The file or key a strace.exe call named, logged by its thread at `ts`
/// inside the call with the call's status, as the kernel's FileIo and
/// Registry events do. Picked in turn, so that the rest of the demo stays as it was.
fn strace_argument(s: &mut Scenario, function: &str, ts: i64, status: u32) {
    let n = s.registry.len() + s.file_opens.len();
    let key = STRACE_KEYS[n % STRACE_KEYS.len()];
    match function {
        "NtCreateFile" | "NtOpenFile" | "NtQueryAttributesFile" => {
            let path = STRACE_FILES[n % STRACE_FILES.len()].to_string();
            s.file_opens.push(FileOpenSpec { tid: STRACE_TID, ts, end: ts, path, status });
        }
        "NtOpenKeyEx" => {
            s.registry.push(RegistrySpec { tid: STRACE_TID, ts, op: RegistryOp::Open, key: key.into(), status });
        }
        "NtQueryValueKey" => {
            let key = format!("{key}\\{}", STRACE_VALUES[n % STRACE_VALUES.len()]);
            s.registry.push(RegistrySpec { tid: STRACE_TID, ts, op: RegistryOp::QueryValue, key, status });
        }
        _ => {}
    }
}

fn ms(rng: &mut DemoRng, lo_us: i64, hi_us: i64) -> i64 {
    rng.range(lo_us * 10, hi_us * 10)
}

/// The demo incident as a scenario. Deterministic: the same every time.
pub fn demo_incident() -> Scenario {
    incident(true)
}

/// The same machine with the antivirus driver uninstalled, for A/B comparisons:
/// tedrdrv.sys is not loaded, and each sample the incident takes in its hook
/// (or in the rundown protection the hook takes) is taken in the kernel's own
/// Sleep(0) path instead. Every other record is the same as the incident's.
pub fn demo_incident_without_driver() -> Scenario {
    incident(false)
}

/// The incident, with the driver hooking system calls or without it.
fn incident(with_driver: bool) -> Scenario {
    let sym = Symbols::load();
    let stacks = Stacks::new(&sym);
    let mut rng = DemoRng::new(0x7ED4_D2F0_2024_0514);
    let mut s = Scenario::new(CPU_COUNT, DURATION);
    s.profile = Some(ProfileSpec { interval_100ns: PROFILE_INTERVAL_100NS });

    // Processes and threads.
    let machine = [0x3b1c_8a2f, 0x9e04_71d3, 0x5a26_c0b8];
    let process = |pid, parent_pid, name: &str, command_line: &str, session_id, user_sid| ProcessSpec {
        pid,
        parent_pid,
        name: name.into(),
        command_line: command_line.into(),
        session_id,
        user_sid,
        start: None,
        end: None,
    };
    s.processes = vec![
        process(0, 0, "Idle", "", u32::MAX, Sid::local_system()),
        process(SYSTEM_PID, 0, "System", "", u32::MAX, Sid::local_system()),
        process(
            SVCHOST_PID,
            680,
            "svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
            0,
            Sid::local_system(),
        ),
        process(EXPLORER_PID, 3100, "explorer.exe", "C:\\Windows\\Explorer.EXE", 1, Sid::account(machine, 1001)),
        process(
            SERVER_PID,
            680,
            "server.exe",
            "\"C:\\Program Files\\Contoso\\server.exe\" --workers 12 --lock spin",
            0,
            Sid::local_system(),
        ),
        process(
            STRACE_PID,
            EXPLORER_PID,
            "strace.exe",
            "C:\\Tools\\strace.exe -f -e trace=file -p 4242",
            1,
            Sid::account(machine, 1001),
        ),
    ];
    let thread = |tid, pid, base_priority, start_address, name: &str| ThreadSpec {
        tid,
        pid,
        start: None,
        end: None,
        base_priority,
        start_address,
        name: name.into(),
    };
    let system_start = sym.at(NT, "ExpWorkerThread", 0);
    s.threads.push(thread(SYSTEM_MAIN_TID, SYSTEM_PID, 13, system_start, ""));
    for cpu in 0..CPU_COUNT {
        s.threads.push(thread(system_worker_tid(cpu), SYSTEM_PID, 13, system_start, ""));
    }
    for tid in SVCHOST_TIDS {
        s.threads.push(thread(tid, SVCHOST_PID, 8, sym.at(SVCHOST, "ServiceWorkerLoop", 0), ""));
    }
    for tid in EXPLORER_TIDS {
        s.threads.push(thread(tid, EXPLORER_PID, 9, sym.at(EXPLORER, "wWinMain", 0), ""));
    }
    s.threads.push(thread(SERVER_MAIN_TID, SERVER_PID, 8, sym.at(SERVER, "main", 0), ""));
    for (i, tid) in worker_tids().into_iter().enumerate() {
        s.threads.push(thread(tid, SERVER_PID, 8, sym.at(SERVER, "WorkerThread", 0), &format!("worker {}", i + 1)));
    }
    s.threads.push(thread(STRACE_TID, STRACE_PID, 8, sym.at(STRACE, "main", 0), ""));

    // Modules: the kernel's under pid 0, the DLLs in every user process.
    let module = |m: &DemoModule, pid, pdb| ModuleSpec {
        pid,
        base: m.base,
        size: m.size,
        path: m.path.into(),
        time_date_stamp: m.time_date_stamp,
        checksum: m.checksum,
        pdb,
        il_pdb: None,
        load: None,
        unload: None,
    };
    s.modules.push(module(&MODULES[NT], 0, sym.identity(NT)));
    if with_driver {
        s.modules.push(module(&MODULES[DRIVER], 0, None));
    }
    for (pid, exe) in [(SVCHOST_PID, SVCHOST), (EXPLORER_PID, EXPLORER), (SERVER_PID, SERVER), (STRACE_PID, STRACE)] {
        for m in [exe, NTDLL, KERNELBASE, KERNEL32] {
            s.modules.push(module(&MODULES[m], pid, sym.identity(m)));
        }
    }

    let nt_delay_execution = sym.at(NT, "NtDelayExecution", 0);
    let nt_wait = sym.at(NT, "NtWaitForSingleObject", 0);

    // CPUs 0..11: worker i spins on CPU i; a System worker thread cuts in now and then.
    let mut worker_stretches: Vec<Vec<(i64, i64)>> = Vec::new();
    for (cpu, tid) in worker_tids().into_iter().enumerate() {
        let cpu = cpu as u16;
        let mut runs = Vec::new();
        let mut t = 0i64;
        while t < DURATION {
            let end = (t + ms(&mut rng, 15_000, 90_000)).min(DURATION);
            runs.push((t, end));
            if end >= DURATION {
                break;
            }
            let visit = ms(&mut rng, 200, 2_000);
            let visit_end = (end + visit).min(DURATION);
            s.ready_threads.push(ReadySpec {
                cpu,
                ts: end - 1,
                tid: system_worker_tid(cpu),
                adjust_reason: 1,
                adjust_increment: 1,
            });
            s.schedule.push(Slice {
                cpu,
                tid: system_worker_tid(cpu),
                start: end,
                end: visit_end,
                priority: 13,
                out: SwitchOut::waiting(wait_reason::WR_QUEUE),
            });
            t = visit_end;
        }
        // Sleep(0) in a loop; a call cut by a switch ends after the worker is back.
        let mut yielded_in_call = vec![false; runs.len()];
        let mut cursor = 0i64;
        for (i, &(start, end)) in runs.iter().enumerate() {
            let mut pos = start.max(cursor);
            loop {
                let enter = pos + ms(&mut rng, 600, 2_000);
                if enter >= end - 1 {
                    break;
                }
                let exit = enter + ms(&mut rng, 1_100, 2_900);
                let exit = if exit < end - 1 {
                    Some(exit)
                } else if let Some(&(next_start, next_end)) = runs.get(i + 1) {
                    yielded_in_call[i] = true;
                    Some((next_start + rng.range(2, 200)).min(next_end - 1))
                } else {
                    None
                };
                s.syscalls.push(SyscallSpec {
                    tid,
                    enter,
                    exit,
                    address: nt_delay_execution,
                    status: STATUS_SUCCESS,
                    lost_enter: false,
                    lost_exit: false,
                });
                match exit {
                    Some(exit) if exit < end => pos = exit,
                    Some(exit) => {
                        cursor = exit;
                        break;
                    }
                    None => break,
                }
            }
        }
        for (i, &(start, end)) in runs.iter().enumerate() {
            // Sleep(0) hands the CPU to the ready thread and stays ready itself; the
            // switch carries the reason NtDelayExecution set, DelayExecution (user mode).
            let out = if yielded_in_call[i] {
                SwitchOut { state: thread_state::READY, wait_reason: wait_reason::DELAY_EXECUTION, wait_mode: 1 }
            } else {
                SwitchOut::PREEMPTED
            };
            s.schedule.push(Slice { cpu, tid, start, end, priority: 8, out });
        }
        worker_stretches.push(runs);
    }

    // CPUs 12..15: mostly idle; strace, svchost, explorer and System threads
    // run short slices there and migrate between these CPUs.
    let light: Vec<u32> = [STRACE_TID, SYSTEM_MAIN_TID].into_iter().chain(SVCHOST_TIDS).chain(EXPLORER_TIDS).collect();
    let light_cpus: Vec<u16> = (WORKERS as u16..CPU_COUNT).collect();
    let mut free_at: BTreeMap<u32, i64> = light.iter().map(|&tid| (tid, 0)).collect();
    let mut cpu_at: Vec<i64> = light_cpus.iter().map(|_| 0).collect();
    let mut light_slices: BTreeMap<u32, Vec<(u16, i64, i64)>> = BTreeMap::new();
    while let Some((k, &now)) = cpu_at.iter().enumerate().filter(|(_, &t)| t < DURATION).min_by_key(|(_, &t)| t) {
        let cpu = light_cpus[k];
        let start = now + ms(&mut rng, 500, 12_000);
        let wanted = if rng.chance(0.05) { STRACE_TID } else { *rng.pick(&light[1..]).unwrap_or(&SYSTEM_MAIN_TID) };
        let free = free_at.get(&wanted).is_some_and(|&f| f + 1 < start);
        let tid = if free { wanted } else { system_worker_tid(cpu) };
        let length = if tid == STRACE_TID { ms(&mut rng, 1_000, 4_000) } else { ms(&mut rng, 50, 1_500) };
        let end = (start + length).min(DURATION);
        if end - start < 200 {
            cpu_at[k] = DURATION;
            continue;
        }
        let (priority, out) = if tid == SYSTEM_MAIN_TID || tid == system_worker_tid(cpu) {
            (13, SwitchOut::waiting(wait_reason::WR_QUEUE))
        } else {
            (8, SwitchOut::waiting(wait_reason::USER_REQUEST))
        };
        s.ready_threads.push(ReadySpec { cpu, ts: start - 1, tid, adjust_reason: 1, adjust_increment: 1 });
        s.schedule.push(Slice { cpu, tid, start, end, priority, out });
        light_slices.entry(tid).or_default().push((cpu, start, end));
        if let Some(f) = free_at.get_mut(&tid) {
            *f = end;
        }
        cpu_at[k] = end;
    }

    // User threads on the light CPUs wait in NtWaitForSingleObject between
    // slices: entered at the end of one slice, back at the start of the next
    // (often on another CPU). strace makes its file and registry calls in between.
    let strace_addresses: Vec<(&str, u64, StatusOdds)> =
        STRACE_CALLS.iter().map(|(name, odds)| (*name, sym.at(NT, name, 0), *odds)).collect();
    for (&tid, slices) in &light_slices {
        // Kernel threads (System, pid 4) make no calls from user mode.
        if tid < 1000 {
            continue;
        }
        for (i, &(_, start, end)) in slices.iter().enumerate() {
            let wait_enter = end - rng.range(3, 40);
            if tid == STRACE_TID {
                let mut pos = start + rng.range(20, 300);
                loop {
                    let enter = pos + ms(&mut rng, 5, 30);
                    let exit = enter + ms(&mut rng, 40, 300);
                    if exit >= wait_enter - 1 {
                        break;
                    }
                    let (name, address, odds) =
                        *rng.pick(&strace_addresses).unwrap_or(&("NtWaitForSingleObject", nt_wait, &[(0, 1000)]));
                    let roll = rng.below(1000) as u32;
                    let mut acc = 0;
                    let status = odds.iter().find(|(_, w)| {
                        acc += w;
                        roll < acc
                    });
                    let status = status.map(|s| s.0).unwrap_or(STATUS_SUCCESS);
                    s.syscalls.push(SyscallSpec {
                        tid,
                        enter,
                        exit: Some(exit),
                        address,
                        status,
                        lost_enter: false,
                        lost_exit: false,
                    });
                    strace_argument(&mut s, name, (enter + exit) / 2, status);
                    pos = exit;
                }
            }
            let wait_exit = slices.get(i + 1).map(|&(_, next_start, _)| next_start + rng.range(2, 20));
            let status = if rng.chance(0.3) { STATUS_TIMEOUT } else { STATUS_SUCCESS };
            s.syscalls.push(SyscallSpec {
                tid,
                enter: wait_enter,
                exit: wait_exit,
                address: nt_wait,
                status,
                lost_enter: false,
                lost_exit: false,
            });
        }
    }

    plant_lock_waits(&mut s, &sym, &stacks, &worker_stretches);

    // Samples on every CPU at every interval, except in the gap.
    let Ok(timeline) = s.timeline() else {
        return s;
    };
    let mut worker_calls: BTreeMap<u32, Vec<(i64, i64)>> = BTreeMap::new();
    for call in s.syscalls.iter().filter(|c| c.address == nt_delay_execution) {
        worker_calls.entry(call.tid).or_default().push((call.enter, call.exit.unwrap_or(DURATION)));
    }
    for list in worker_calls.values_mut() {
        list.sort_unstable();
    }
    let interval = s.profile_interval_ticks().unwrap_or(20_000);
    for cpu in 0..CPU_COUNT {
        let mut ts = first_sample(cpu);
        while ts < DURATION {
            if !(PROFILE_GAP.0..PROFILE_GAP.1).contains(&ts) {
                let hook = with_driver.then_some(&stacks.in_driver);
                if let Some(sample) = sample_at(&timeline, &worker_calls, &stacks, hook, &mut rng, cpu, ts) {
                    s.samples.push(sample);
                }
            }
            ts += interval;
        }
    }
    s
}

/// How often a worker, preempted by its CPU's System worker, instead gives up
/// spinning and waits for the lock; and how often such a wait times out.
const LOCK_WAIT_SHARE: f64 = 0.3;
const LOCK_TIMEOUT_SHARE: f64 = 0.15;

/// Each CPU's first sample: staggered, so that CPUs do not sample at one tick.
fn first_sample(cpu: u16) -> i64 {
    37 + i64::from(cpu) * 1_237
}

/// Whether `cpu` logs a sample at `ts`: a stack walk of its thread at that
/// tick would be one the ReadyThread's could be taken for.
fn sampled_at(s: &Scenario, cpu: u16, ts: i64) -> bool {
    let interval = s.profile_interval_ticks().unwrap_or(20_000);
    (ts - first_sample(cpu)).rem_euclid(interval) == 0
}

/// Whether none of `calls` (sorted, none inside another) is under way from `from` to `to`.
fn free_of_calls(calls: &[(i64, i64)], from: i64, to: i64) -> bool {
    let j = calls.partition_point(|c| c.0 <= to);
    j.checked_sub(1).is_none_or(|j| calls[j].1 < from)
}

fn insert_call(calls: &mut Vec<(i64, i64)>, call: (i64, i64)) {
    let at = calls.partition_point(|c| *c < call);
    calls.insert(at, call);
}

/// Some of the workers' breaks become waits for the lock. A worker that has
/// spun long enough waits on the lock's address (WaitOnAddress:
/// NtWaitForAlertByThreadId, WrAlertByThreadId, user mode) instead of being
/// preempted by its CPU's System worker, whose visit goes; its CPU idles.
/// What readies it is what Windows logs: a ReadyThread on the CPU of the
/// worker that releases the lock (WakeByAddressSingle:
/// NtAlertThreadByThreadId, in that worker's context, with its stack), and
/// the waiter is switched in on its own CPU a few microseconds later
/// (STATUS_ALERTED); or, when no worker releases it in time, the wait's timer
/// expiring in a DPC on the waiter's idle CPU (the idle thread's context,
/// STATUS_TIMEOUT). A preempted or yielding spinner stays ready: it gets no
/// ReadyThread. Drawn with a generator of its own after the rest.
fn plant_lock_waits(s: &mut Scenario, sym: &Symbols, stacks: &Stacks, worker_runs: &[Vec<(i64, i64)>]) {
    let mut rng = DemoRng::new(0x10C4_3A17_2024_0514);
    let (nt_wait, nt_alert) = (sym.at(NT, "NtWaitForAlertByThreadId", 0), sym.at(NT, "NtAlertThreadByThreadId", 0));
    let workers = worker_tids();
    // Each worker's calls, sorted: (enter, exit).
    let mut calls: Vec<Vec<(i64, i64)>> = workers
        .iter()
        .map(|&tid| {
            let mut list: Vec<(i64, i64)> =
                s.syscalls.iter().filter(|c| c.tid == tid).map(|c| (c.enter, c.exit.unwrap_or(DURATION))).collect();
            list.sort_unstable();
            list
        })
        .collect();
    let mut visits_gone: BTreeSet<(u16, i64)> = BTreeSet::new();
    let mut waits_from: BTreeSet<(u16, i64)> = BTreeSet::new();
    let mut readies: Vec<(ReadySpec, Vec<u64>)> = Vec::new();
    for (c, runs) in worker_runs.iter().enumerate() {
        let (cpu, tid) = (c as u16, workers[c]);
        for pair in runs.windows(2) {
            let ((start, end), (next_start, next_end)) = (pair[0], pair[1]);
            if !rng.chance(LOCK_WAIT_SHARE) {
                continue;
            }
            // Its last Sleep(0) returns before the wait, and the next comes after.
            let wait_enter = end - rng.range(3, 40);
            let wait_exit = next_start + rng.range(2, 20);
            let next = calls[c].partition_point(|call| call.0 < end);
            let last_exit = next.checked_sub(1).map_or(start, |j| calls[c][j].1);
            let next_enter = calls[c].get(next).map_or(next_end, |call| call.0);
            if last_exit + 1 >= wait_enter || next_enter <= wait_exit + 1 || wait_exit + 1 >= next_end {
                continue;
            }
            // The releasing worker: running then, between two of its calls, with room for its alert call.
            let wake = next_start - rng.range(20, 300);
            // The alert call enters `lead` ticks before the ReadyThread and returns `tail` after it.
            let (lead, tail) = (rng.range(20, 100), rng.range(20, 100));
            let first = rng.below(workers.len() as u64) as usize;
            let releaser = (0..workers.len()).map(|k| (first + k) % workers.len()).filter(|&k| k != c).find(|&k| {
                let runs_k = &worker_runs[k];
                let covered = runs_k.iter().any(|&(s0, e0)| s0 + 50 < wake - lead && wake + tail < e0 - 50);
                covered && free_of_calls(&calls[k], wake - lead - 1, wake + tail + 1) && !sampled_at(s, k as u16, wake)
            });
            let timed_out = rng.chance(LOCK_TIMEOUT_SHARE) || releaser.is_none();
            let status = if timed_out { STATUS_TIMEOUT } else { STATUS_ALERTED };
            let ready = |cpu, ts| ReadySpec { cpu, ts, tid, adjust_reason: 1, adjust_increment: 1 };
            match releaser.filter(|_| !timed_out) {
                Some(k) => {
                    let call = (wake - lead, wake + tail);
                    s.syscalls.push(SyscallSpec {
                        tid: workers[k],
                        enter: call.0,
                        exit: Some(call.1),
                        address: nt_alert,
                        status: STATUS_SUCCESS,
                        lost_enter: false,
                        lost_exit: false,
                    });
                    insert_call(&mut calls[k], call);
                    readies.push((ready(k as u16, wake), stacks.release.clone()));
                }
                None => {
                    // The idle thread dispatches it at once, on the CPU the timer fired on.
                    let mut fired = next_start - rng.range(10, 50);
                    if sampled_at(s, cpu, fired) {
                        fired -= 1;
                    }
                    readies.push((ready(cpu, fired), stacks.timer.clone()));
                }
            }
            s.syscalls.push(SyscallSpec {
                tid,
                enter: wait_enter,
                exit: Some(wait_exit),
                address: nt_wait,
                status,
                lost_enter: false,
                lost_exit: false,
            });
            insert_call(&mut calls[c], (wait_enter, wait_exit));
            visits_gone.insert((cpu, end));
            waits_from.insert((cpu, start));
        }
    }
    // The System worker's visits that became waits go, with the ReadyThreads that brought them.
    s.schedule.retain(|x| !(x.tid == system_worker_tid(x.cpu) && visits_gone.contains(&(x.cpu, x.start))));
    s.ready_threads.retain(|r| !(r.tid == system_worker_tid(r.cpu) && visits_gone.contains(&(r.cpu, r.ts + 1))));
    for slice in s.schedule.iter_mut().filter(|x| workers.contains(&x.tid) && waits_from.contains(&(x.cpu, x.start))) {
        slice.out = SwitchOut::waiting(wait_reason::WR_ALERT_BY_THREAD_ID);
    }
    // Stacks by index: the demo's only ones, added after the ReadyThreads that went.
    for (ready, stack) in readies {
        s.ready_stacks.insert(s.ready_threads.len(), stack);
        s.ready_threads.push(ready);
    }
}

/// The sample on `cpu` at `ts`: a stack that fits what the running thread does.
/// `hook`: the driver's stacks inside Sleep(0), if it is loaded.
fn sample_at(
    timeline: &Timeline,
    worker_calls: &BTreeMap<u32, Vec<(i64, i64)>>,
    stacks: &Stacks,
    hook: Option<&Vec<Vec<u64>>>,
    rng: &mut DemoRng,
    cpu: u16,
    ts: i64,
) -> Option<SampleSpec> {
    let running = timeline.stretch_at(cpu, ts)?;
    if running.start >= ts || ts + 1 >= running.end {
        return None;
    }
    let tid = running.tid;
    let stack: &[u64] = if tid == IDLE_TID {
        rng.pick(&stacks.idle)?
    } else if let Some(calls) = worker_calls.get(&tid) {
        let i = calls.partition_point(|c| c.0 < ts);
        let in_call = i > 0 && ts < calls[i - 1].1;
        if !in_call {
            rng.pick(&stacks.spin_user)?
        } else {
            // The same draws with or without the driver, so that the rest of the trace stays the same.
            let in_hook = rng.chance(0.78);
            match hook.filter(|_| in_hook) {
                Some(hooked) => rng.pick(hooked)?,
                None => rng.pick(&stacks.in_kernel)?,
            }
        }
    } else if running.pid == SYSTEM_PID {
        &stacks.system_worker
    } else if running.pid == SVCHOST_PID {
        &stacks.svchost
    } else if running.pid == EXPLORER_PID {
        &stacks.explorer
    } else {
        rng.pick(&stacks.strace)?
    };
    let (&ip, callers) = stack.split_first()?;
    Some(SampleSpec { cpu, tid, ts, ip, callers: callers.to_vec(), lost: false })
}

/// The demo trace as .etl bytes; empty only if the built-in scenario were
/// inconsistent, which the tests rule out.
pub fn demo_trace_bytes() -> Vec<u8> {
    demo_incident().to_bytes().map(|(bytes, _)| bytes).unwrap_or_default()
}

/// Failing calls of one NTSTATUS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    pub status: u32,
    pub name: &'static str,
    pub count: usize,
}

/// The planted facts of the demo, computed from the scenario itself.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoFacts {
    pub cpu_count: u16,
    pub duration_ns: i64,
    pub driver_name: &'static str,
    pub driver_base: u64,
    pub driver_size: u64,
    pub server_pid: u32,
    /// The worker threads spinning on Sleep(0).
    pub spinning_tids: Vec<u32>,
    /// Address of nt!NtDelayExecution, the SysCallAddress of Sleep(0).
    pub delay_execution_address: u64,
    /// NtDelayExecution calls of the spinning threads (all STATUS_SUCCESS).
    pub spin_calls: usize,
    /// ReadyThreads of the spinning threads: each ends a wait for the lock.
    pub lock_wakeups: usize,
    /// Those logged by another spinning worker releasing the lock; the rest by
    /// the wait's timer, in the idle thread's context.
    pub lock_wakeups_by_worker: usize,
    pub spin_calls_per_thread_per_second: f64,
    pub profile_interval_100ns: u32,
    /// Samples logged, and those with a frame (IP included) in the driver.
    pub total_samples: usize,
    pub driver_samples: usize,
    /// Samples whose IP is in the driver.
    pub driver_exclusive_samples: usize,
    pub driver_share: f64,
    /// No samples in [start, end), nanoseconds since the trace start.
    pub profile_gap_ns: (i64, i64),
    /// The same gap in raw QPC ticks, as record timestamps give it.
    pub profile_gap_qpc: (i64, i64),
    pub last_sample_before_gap_ns: i64,
    pub first_sample_after_gap_ns: i64,
    pub strace_pid: u32,
    pub strace_tid: u32,
    pub strace_calls: usize,
    /// NT_ERROR results of strace.exe's calls per status, by status value.
    pub strace_failures: Vec<StatusCount>,
    /// (function, status, count) of strace.exe's failing calls.
    pub strace_failures_by_call: Vec<(String, u32, usize)>,
}

/// The facts of `demo_incident()`.
pub fn demo_facts() -> DemoFacts {
    facts_of(&demo_incident())
}

/// The facts of a demo scenario, counted from its parts.
pub fn facts_of(s: &Scenario) -> DemoFacts {
    let sym = Symbols::load();
    let nt = sym.parsed.get(NT).and_then(Option::as_ref);
    let delay_execution_address = sym.at(NT, "NtDelayExecution", 0);
    let workers = worker_tids();
    let spin_calls =
        s.syscalls.iter().filter(|c| workers.contains(&c.tid) && c.address == delay_execution_address).count();
    let timeline = s.timeline().ok();
    let lock_wakeups: Vec<&ReadySpec> = s.ready_threads.iter().filter(|r| workers.contains(&r.tid)).collect();
    let readied_by_worker = |r: &&&ReadySpec| {
        let readier = timeline.as_ref().and_then(|t| t.stretch_at(r.cpu, r.ts));
        readier.is_some_and(|st| workers.contains(&st.tid))
    };
    let lock_wakeups_by_worker = lock_wakeups.iter().filter(readied_by_worker).count();
    let in_driver = |a: u64| (DRIVER_BASE..DRIVER_BASE + DRIVER_SIZE).contains(&a);
    let logged: Vec<&SampleSpec> = s.samples.iter().filter(|x| !x.lost).collect();
    let driver_samples = logged.iter().filter(|x| in_driver(x.ip) || x.callers.iter().any(|&a| in_driver(a))).count();
    let driver_exclusive_samples = logged.iter().filter(|x| in_driver(x.ip)).count();
    let before = logged.iter().filter(|x| x.ts < PROFILE_GAP.0).map(|x| x.ts).max().unwrap_or(0);
    let after = logged.iter().filter(|x| x.ts >= PROFILE_GAP.1).map(|x| x.ts).min().unwrap_or(DURATION);
    let mut failures: BTreeMap<u32, usize> = BTreeMap::new();
    let mut by_call: BTreeMap<(String, u32), usize> = BTreeMap::new();
    let strace_calls: Vec<&SyscallSpec> = s.syscalls.iter().filter(|c| c.tid == STRACE_TID).collect();
    for call in strace_calls.iter().filter(|c| c.status >= 0xC000_0000) {
        *failures.entry(call.status).or_default() += 1;
        let rva = call.address.wrapping_sub(MODULES[NT].base);
        let name = nt.and_then(|m| m.table.lookup(rva)).map_or("?", |(f, _)| &*f.name).to_string();
        *by_call.entry((name, call.status)).or_default() += 1;
    }
    let seconds = s.ns(s.duration) as f64 / 1e9;
    DemoFacts {
        cpu_count: s.cpu_count,
        duration_ns: s.ns(s.duration),
        driver_name: DRIVER_NAME,
        driver_base: DRIVER_BASE,
        driver_size: DRIVER_SIZE,
        server_pid: SERVER_PID,
        spinning_tids: workers.clone(),
        delay_execution_address,
        spin_calls,
        lock_wakeups: lock_wakeups.len(),
        lock_wakeups_by_worker,
        spin_calls_per_thread_per_second: spin_calls as f64 / workers.len().max(1) as f64 / seconds,
        profile_interval_100ns: PROFILE_INTERVAL_100NS,
        total_samples: logged.len(),
        driver_samples,
        driver_exclusive_samples,
        driver_share: driver_samples as f64 / logged.len().max(1) as f64,
        profile_gap_ns: (s.ns(PROFILE_GAP.0), s.ns(PROFILE_GAP.1)),
        profile_gap_qpc: (s.start_qpc + PROFILE_GAP.0, s.start_qpc + PROFILE_GAP.1),
        last_sample_before_gap_ns: s.ns(before),
        first_sample_after_gap_ns: s.ns(after),
        strace_pid: STRACE_PID,
        strace_tid: STRACE_TID,
        strace_calls: strace_calls.len(),
        strace_failures: failures
            .into_iter()
            .map(|(status, count)| StatusCount {
                status,
                name: decode::ntstatus::status_name(status).unwrap_or(""),
                count,
            })
            .collect(),
        strace_failures_by_call: by_call.into_iter().map(|((name, status), n)| (name, status, n)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_map_back_to_identities() {
        let sym = Symbols::load();
        for (i, m) in MODULES.iter().enumerate() {
            match (m.symbols, sym.identity(i)) {
                (Some(stem), Some(id)) => {
                    // MODULE windows x86_64 <store key> <pdb name>
                    let module_line = symbol_text(stem).lines().next().unwrap();
                    assert_eq!(module_line.split(' ').nth(3), Some(id.store_key().as_str()), "{stem}");
                    assert!(module_line.ends_with(&format!(" {}", id.name)), "{stem}");
                }
                (None, None) => {}
                (stem, id) => panic!("{stem:?} has identity {id:?}"),
            }
        }
    }

    #[test]
    fn every_symbol_the_demo_uses_is_in_its_file() {
        let sym = Symbols::load();
        let stacks = Stacks::new(&sym);
        let all = stacks
            .spin_user
            .iter()
            .chain(&stacks.in_driver)
            .chain(&stacks.in_kernel)
            .chain(&stacks.idle)
            .chain(&stacks.strace)
            .chain([&stacks.release, &stacks.timer])
            .flatten()
            .chain(&stacks.system_worker)
            .chain(&stacks.svchost)
            .chain(&stacks.explorer);
        for &a in all {
            // A missing symbol would give the bare module base.
            assert!(MODULES.iter().all(|m| m.base != a), "{a:#x}");
        }
        for (name, _) in STRACE_CALLS {
            assert_ne!(sym.at(NT, name, 0), MODULES[NT].base, "{name}");
        }
    }
}
