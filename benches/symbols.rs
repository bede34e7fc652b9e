//! Symbol benchmark: resolve 1 M frames at addresses spread over crash.pdb's functions.
//!   first session: a new resolver finds crash.pdb on the symbol path, reads it,
//!                  writes our cache file, then answers the lookups;
//!   next session:  a new resolver with an empty symbol path reads the cache file.
//! Then 200 modules from a symbol server on 127.0.0.1 (each answer held back a few
//! ms, as a network would), resolved one at a time against several at once.
//!   cargo bench --bench symbols
mod common;
#[path = "../tests/common/symbol_server.rs"]
#[allow(dead_code)]
mod symbol_server;
use std::time::{Duration, Instant};

use symbols::breakpad::parse_sym;
use symbols::{format_frame, DownloadLimits, Lookup, PdbIdentity, ResolverOptions, SymbolPath, SymbolResolver};

const FRAMES: usize = 1_000_000;
const RUNS: usize = 5;

fn main() {
    let corpus = common::corpus_dir();
    let dir = corpus.join("symbols");
    let Ok(sym) = std::fs::read(dir.join("crash.sym")) else {
        println!("skipped: no {}", dir.join("crash.sym").display());
        return;
    };
    let sym = parse_sym(&sym);
    let identity = sym.identity.clone().expect("crash.sym has a MODULE line");

    // Addresses inside the functions crash.sym lists (a fixed pseudo-random walk).
    let functions: Vec<_> = sym.table.functions().iter().filter(|f| f.size < 0x10000).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let addresses: Vec<u64> = (0..FRAMES)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let f = functions[(state % functions.len() as u64) as usize];
            f.rva as u64 + (state >> 32) % f.size.max(1) as u64
        })
        .collect();

    let mut first = Vec::new();
    let mut next = Vec::new();
    let mut first_load = Vec::new();
    let mut next_load = Vec::new();
    for _ in 0..RUNS {
        let cache = tempfile::tempdir().unwrap();
        let options = |cache: &std::path::Path| ResolverOptions {
            cache_root: Some(cache.to_path_buf()),
            download_store: None,
            timeout: Duration::from_secs(2),
            parallel: 1,
            ..ResolverOptions::default()
        };
        for (path, total, load) in
            [(dir.to_str().unwrap(), &mut first, &mut first_load), ("", &mut next, &mut next_load)]
        {
            let started = Instant::now();
            let mut resolver = SymbolResolver::with_options(SymbolPath::parse(path), options(cache.path()));
            resolver.table(&identity).expect("crash.pdb resolves");
            load.push(started.elapsed());
            let mut hits = 0usize;
            for &rva in &addresses {
                hits += matches!(resolver.lookup(&identity, rva), Lookup::Function { .. }) as usize;
            }
            total.push(started.elapsed());
            assert_eq!(hits, FRAMES);
        }
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default().as_secs_f64() * 1e3;
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e3
    };
    println!("resolving {FRAMES} frames in crash.exe ({} functions), best/median of {RUNS}:", functions.len());
    println!(
        "  first session (crash.pdb):  {:7.1} / {:7.1} ms   (of which loading the PDB + writing the cache {:.1} ms)",
        best(&first),
        median(&mut first),
        best(&first_load)
    );
    println!(
        "  next session (cache file):  {:7.1} / {:7.1} ms   (of which loading the cache file {:.2} ms)",
        best(&next),
        median(&mut next),
        best(&next_load)
    );

    // Formatting the frames as text, for scale.
    let options = ResolverOptions {
        cache_root: None,
        download_store: None,
        timeout: Duration::from_secs(2),
        parallel: 1,
        ..ResolverOptions::default()
    };
    let mut resolver = SymbolResolver::with_options(SymbolPath::parse(dir.to_str().unwrap()), options);
    let started = Instant::now();
    let mut bytes = 0usize;
    for &rva in &addresses {
        let lookup = resolver.lookup(&identity, rva);
        bytes += format_frame(Some("crash.exe"), 0x40_0000 + rva, &lookup).len();
    }
    println!(
        "  lookup + format_frame of {FRAMES} frames: {:.1} ms ({} MB of text)",
        started.elapsed().as_secs_f64() * 1e3,
        bytes / 1_000_000
    );
    modules_from_a_server();
}

const MODULES: u32 = 200;

/// 200 made-up modules served as Breakpad files, as a server without `.pdb`, `.pd_` or
/// `file.ptr` for them answers: three 404s, then the `.sym`. Each answer waits
/// `latency` first.
fn modules_from_a_server() {
    let modules: Vec<(PdbIdentity, String)> = (0..MODULES)
        .map(|i| {
            let name = format!("m{i}.pdb");
            let identity = PdbIdentity::new(&name, etl::Guid::from_fields(0xbe0c_0000 + i, 1, 2, [3; 8]), 1);
            let mut sym = format!("MODULE windows x86_64 {} {name}\n", identity.store_key());
            for f in 0..200u32 {
                sym.push_str(&format!("FUNC {:x} 10 0 Module{i}Function{f}\n", 0x1000 + f * 0x10));
            }
            (identity, sym)
        })
        .collect();
    let bodies: std::collections::HashMap<String, Vec<u8>> = modules
        .iter()
        .map(|(id, sym)| (format!("{}.sym", id.name.trim_end_matches(".pdb")), sym.clone().into_bytes()))
        .collect();
    let ids: Vec<PdbIdentity> = modules.iter().map(|(id, _)| id.clone()).collect();
    println!("resolving {MODULES} modules from a symbol server on 127.0.0.1 (4 requests each):");
    for latency_ms in [0u64, 5] {
        let bodies = bodies.clone();
        let server = symbol_server::Server::start(move |path, stream, _| {
            std::thread::sleep(Duration::from_millis(latency_ms));
            let last = path.rsplit('/').next().unwrap_or("");
            match bodies.get(last) {
                Some(body) => {
                    symbol_server::respond(stream, "200 OK", &format!("Content-Length: {}\r\n", body.len()), body)
                }
                None => symbol_server::not_found(stream),
            }
        });
        let mut line = format!("  {latency_ms} ms per answer:");
        for parallel in [1usize, 4, 8] {
            let tmp = tempfile::tempdir().unwrap();
            let options = ResolverOptions {
                cache_root: Some(tmp.path().join("cache")),
                download_store: Some(tmp.path().join("store")),
                timeout: Duration::from_secs(10),
                parallel,
                downloads: DownloadLimits {
                    enabled: true,
                    session_budget: Duration::from_secs(600),
                    miss_ttl: Duration::ZERO,
                    ..DownloadLimits::default()
                },
            };
            let mut resolver = SymbolResolver::with_options(SymbolPath::parse(&format!("srv*{}", server.url)), options);
            let started = Instant::now();
            resolver.prefetch(&ids);
            let took = started.elapsed();
            assert_eq!(resolver.stats().from_sym, MODULES as usize, "{:?}", resolver.take_messages());
            line.push_str(&format!("  {parallel} at a time {:7.1} ms", took.as_secs_f64() * 1e3));
        }
        println!("{line}");
    }
}
