//! Symbol files a server did not have, remembered for a while (24 h by default,
//! `ETWQ_SYMBOL_MISS_TTL` seconds; `0` remembers nothing), so that the next session does
//! not ask again for every module a server never has.
//!
//! One small text file per identity, `<store>/etwq-missing/<name>/<KEY>`, one line per
//! server: `<unix seconds> <url>`. Only an answer of "not here" for every form of the
//! file is remembered, never a timeout or a dropped connection.
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::identity::PdbIdentity;

/// The directory in a store that holds what was missing.
pub const MISSING_DIR: &str = "etwq-missing";

/// The default time a miss is remembered.
pub const DEFAULT_MISS_TTL: Duration = Duration::from_secs(24 * 3600);

/// `ETWQ_SYMBOL_MISS_TTL` (seconds, or `off`), else 24 hours.
pub fn miss_ttl_from_env() -> Duration {
    match std::env::var("ETWQ_SYMBOL_MISS_TTL") {
        Ok(v) if super::path::is_off(&v) => Duration::ZERO,
        Ok(v) => v.trim().parse::<u64>().map(Duration::from_secs).unwrap_or(DEFAULT_MISS_TTL),
        Err(_) => DEFAULT_MISS_TTL,
    }
}

fn miss_file(store: &Path, identity: &PdbIdentity) -> Option<PathBuf> {
    let name = identity.checked_name().ok()?;
    Some(store.join(MISSING_DIR).join(name).join(identity.store_key()))
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The lines of a miss file as (time, url); damaged lines are skipped.
fn entries(path: &Path) -> Vec<(u64, String)> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .filter_map(|line| {
            let (time, url) = line.trim().split_once(' ')?;
            Some((time.parse().ok()?, url.trim().to_string()))
        })
        .collect()
}

/// How long ago `url` said it has not got `identity`, when that is less than `ttl` ago.
pub fn recently_missing(store: &Path, url: &str, identity: &PdbIdentity, ttl: Duration) -> Option<Duration> {
    if ttl.is_zero() {
        return None;
    }
    let path = miss_file(store, identity)?;
    let now = now_secs();
    entries(&path)
        .into_iter()
        .filter(|(_, u)| u == url)
        // A time in the future (a clock set back) counts as now.
        .map(|(time, _)| Duration::from_secs(now.saturating_sub(time)))
        .find(|age| *age < ttl)
}

/// Remembers that `url` has not got `identity` (and forgets entries older than `ttl`).
pub fn remember_missing(store: &Path, url: &str, identity: &PdbIdentity, ttl: Duration) -> std::io::Result<()> {
    if ttl.is_zero() || url.contains(['\n', '\r']) {
        return Ok(());
    }
    let Some(path) = miss_file(store, identity) else { return Ok(()) };
    let now = now_secs();
    let mut kept: Vec<(u64, String)> =
        entries(&path).into_iter().filter(|(time, u)| u != url && now.saturating_sub(*time) < ttl.as_secs()).collect();
    kept.push((now, url.to_string()));
    let text: String = kept.iter().map(|(time, u)| format!("{time} {u}\n")).collect();
    let dir = path.parent().unwrap_or(store);
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{}.{}.tmp", identity.store_key(), std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etl::Guid;

    #[test]
    fn misses_are_per_server_and_expire() {
        let store = std::env::temp_dir().join(format!("etwq-missing-{}", std::process::id()));
        let id = PdbIdentity::new("gone.pdb", Guid::from_fields(1, 2, 3, [4; 8]), 1);
        let day = DEFAULT_MISS_TTL;
        assert_eq!(recently_missing(&store, "http://a", &id, day), None);
        remember_missing(&store, "http://a", &id, day).unwrap();
        assert!(recently_missing(&store, "http://a", &id, day).is_some());
        assert_eq!(recently_missing(&store, "http://b", &id, day), None);
        assert_eq!(recently_missing(&store, "http://a", &id, Duration::ZERO), None);
        // An old entry has expired.
        let path = miss_file(&store, &id).unwrap();
        std::fs::write(&path, format!("{} http://a\ngarbage\n", now_secs() - 90_000)).unwrap();
        assert_eq!(recently_missing(&store, "http://a", &id, day), None);
        let _ = std::fs::remove_dir_all(&store);
    }
}
