//! Symbol benchmark: resolve 1 M frames at addresses spread over crash.pdb's functions.
//!   first session: a new resolver finds crash.pdb on the symbol path, reads it,
//!                  writes our cache file, then answers the lookups;
//!   next session:  a new resolver with an empty symbol path reads the cache file.
//!   cargo bench --bench symbols
mod common;
use std::time::{Duration, Instant};

use symbols::breakpad::parse_sym;
use symbols::{format_frame, Lookup, ResolverOptions, SymbolPath, SymbolResolver};

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
}
