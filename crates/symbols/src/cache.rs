//! Our own symbol cache: one compact file per PDB identity, written once a module's
//! symbols are resolved, read instead of the PDB the next time.
//!
//! Layout (little-endian):
//! ```text
//! 0   magic "ETWQSYM\0"
//! 8   version u32 (1)
//! 12  GUID [16]
//! 28  age u32
//! 32  name length u32, function count u32, string table length u32
//! 44  name bytes
//! ..  count x (rva u32, size u32, name offset u32, name length u32), sorted by rva
//! ..  string table (UTF-8)
//! end FNV-1a 64 of everything before it
//! ```
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::identity::PdbIdentity;
use super::table::{Function, SymbolTable};
use super::SymbolError;
use etl::Guid;

const MAGIC: &[u8; 8] = b"ETWQSYM\0";
const VERSION: u32 = 1;
const HEADER: usize = 44;
const ENTRY: usize = 16;

/// Where the cache file of `identity` lives under `cache_root`, or why the identity's
/// name cannot become a path.
pub fn cache_file(cache_root: &Path, identity: &PdbIdentity) -> Result<PathBuf, String> {
    let name = identity.checked_name()?;
    Ok(cache_root.join("etwq").join(name).join(format!("{}.etwqsym", identity.store_key())))
}

pub fn encode(identity: &PdbIdentity, table: &SymbolTable) -> Vec<u8> {
    let functions = table.functions();
    let mut strings = String::new();
    let mut entries = Vec::with_capacity(functions.len() * ENTRY);
    for f in functions {
        entries.extend_from_slice(&f.rva.to_le_bytes());
        entries.extend_from_slice(&f.size.to_le_bytes());
        entries.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        entries.extend_from_slice(&(f.name.len() as u32).to_le_bytes());
        strings.push_str(&f.name);
    }
    let mut out = Vec::with_capacity(HEADER + identity.name.len() + entries.len() + strings.len() + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&identity.guid.0);
    out.extend_from_slice(&identity.age.to_le_bytes());
    out.extend_from_slice(&(identity.name.len() as u32).to_le_bytes());
    out.extend_from_slice(&(functions.len() as u32).to_le_bytes());
    out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    out.extend_from_slice(identity.name.as_bytes());
    out.extend_from_slice(&entries);
    out.extend_from_slice(strings.as_bytes());
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Decodes a cache file, checking its checksum, its identity against `expected`, and
/// every offset.
pub fn decode(bytes: &[u8], expected: &PdbIdentity) -> Result<SymbolTable, String> {
    let body_len = bytes.len().checked_sub(8).ok_or("shorter than its checksum")?;
    let (body, sum) = bytes.split_at(body_len);
    if body.len() < HEADER || &body[..8] != MAGIC {
        return Err("not an etwq symbol cache file".into());
    }
    let u32_at = |at: usize| -> u32 { u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]) };
    if u32_at(8) != VERSION {
        return Err(format!("cache version {} (this etwq writes {VERSION})", u32_at(8)));
    }
    if fnv1a(body).to_le_bytes() != sum {
        return Err("checksum mismatch".into());
    }
    let guid = Guid::from_bytes(&body[12..28]).ok_or("truncated header")?;
    let age = u32_at(28);
    let (name_len, count, strings_len) = (u32_at(32) as usize, u32_at(36) as usize, u32_at(40) as usize);
    let entries_at = HEADER.checked_add(name_len).ok_or("bad name length")?;
    let strings_at = count.checked_mul(ENTRY).and_then(|n| n.checked_add(entries_at)).ok_or("bad count")?;
    if strings_at.checked_add(strings_len) != Some(body.len()) {
        return Err("lengths do not add up to the file size".into());
    }
    let name = std::str::from_utf8(&body[HEADER..entries_at]).map_err(|_| "name is not UTF-8")?;
    if guid != expected.guid || age != expected.age || name != expected.name {
        let found = PdbIdentity::new(name, guid, age);
        return Err(format!("holds {found}, not {expected}"));
    }
    let strings = std::str::from_utf8(&body[strings_at..]).map_err(|_| "string table is not UTF-8")?;
    let mut functions = Vec::with_capacity(count);
    let mut previous = None;
    for i in 0..count {
        let at = entries_at + i * ENTRY;
        let (rva, size, off, len) = (u32_at(at), u32_at(at + 4), u32_at(at + 8) as usize, u32_at(at + 12) as usize);
        let name = off.checked_add(len).and_then(|end| strings.get(off..end)).ok_or("name outside the string table")?;
        if previous.is_some_and(|p| p >= rva) {
            return Err("functions not sorted".into());
        }
        previous = Some(rva);
        functions.push(Function { rva, size, name: Arc::from(name) });
    }
    Ok(SymbolTable::new(functions, None))
}

/// Reads the cache file of `identity`: `Ok(None)` when there is none.
pub fn read(cache_root: &Path, identity: &PdbIdentity) -> Result<Option<SymbolTable>, SymbolError> {
    let path = cache_file(cache_root, identity).map_err(SymbolError::Refused)?;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SymbolError::io(&path, e)),
    };
    match decode(&bytes, identity) {
        // Never written by this version: an older one cached what a bad download gave.
        Ok(table) if table.is_empty() => {
            Err(SymbolError::Corrupt { path: Some(path), what: "holds no functions".into() })
        }
        Ok(table) => Ok(Some(table)),
        Err(what) => Err(SymbolError::Corrupt { path: Some(path), what }),
    }
}

/// Writes the cache file of `identity` (temp file, then rename: a reader never sees half).
pub fn write(cache_root: &Path, identity: &PdbIdentity, table: &SymbolTable) -> Result<PathBuf, SymbolError> {
    let path = cache_file(cache_root, identity).map_err(SymbolError::Refused)?;
    let dir = path.parent().unwrap_or(cache_root);
    std::fs::create_dir_all(dir).map_err(|e| SymbolError::io(dir, e))?;
    let temp = dir.join(format!(".{}.{}.tmp", identity.store_key(), std::process::id()));
    std::fs::write(&temp, encode(identity, table)).map_err(|e| SymbolError::io(&temp, e))?;
    std::fs::rename(&temp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        SymbolError::io(&path, e)
    })?;
    Ok(path)
}

/// The checksum at the end of a cache file (FNV-1a, 64-bit) over the bytes before it.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (PdbIdentity, SymbolTable) {
        let id = PdbIdentity::from_breakpad_id("x.pdb", "3249D99D0C4049318610F4E4FB0B69361").unwrap();
        let t = SymbolTable::new(
            vec![
                Function { rva: 0x1000, size: 0x10, name: "a".into() },
                Function { rva: 0x2000, size: 0x20, name: "b::c(int)".into() },
            ],
            None,
        );
        (id, t)
    }

    #[test]
    fn round_trip_and_every_damage_is_an_error() {
        let (id, t) = sample();
        let bytes = encode(&id, &t);
        assert_eq!(decode(&bytes, &id).unwrap(), t);
        let mut other = id.clone();
        other.age = 2;
        assert!(decode(&bytes, &other).unwrap_err().contains("holds"));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], &id).is_err());
        }
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x41;
            assert!(decode(&damaged, &id).is_err(), "flip at {i} accepted");
        }
    }
}
