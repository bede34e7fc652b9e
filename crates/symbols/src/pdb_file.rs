//! PDB files through the `pdb` crate: identity check, then the functions of the image
//! (procedure records from every module stream, and public symbols no procedure covers).
use std::io::Cursor;
use std::path::Path;

use pdb::FallibleIterator;

use super::identity::PdbIdentity;
use super::table::{Function, SymbolTable};
use super::SymbolError;
use etl::Guid;

/// What a PDB says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdbInfo {
    pub guid: Guid,
    /// The DBI stream's age when present (what the image's RSDS record carries), else
    /// the PDB information stream's.
    pub age: u32,
}

/// Reads the PDB at `path` and returns its functions, refusing it unless its GUID and
/// age are `expected`'s.
///
/// The file is read through, not into memory: the pdb crate reads the streams it is
/// asked for, so a PDB of gigabytes costs the size of its symbol streams, not its own.
pub fn load_pdb(path: &Path, expected: &PdbIdentity) -> Result<SymbolTable, SymbolError> {
    let file = std::fs::File::open(path).map_err(|e| SymbolError::io(path, e))?;
    let len = file.metadata().map_err(|e| SymbolError::io(path, e))?.len();
    guarded(len, || load_unguarded(file, Some(expected), LoadOptions::default())).map_err(|e| e.at(path))
}

/// The same from bytes in memory; `expected: None` skips the identity check (fuzzing,
/// tools).
///
/// The pdb crate (0.8) can panic on damaged input: `Variant` parsing hits an
/// `unreachable!()` in debug builds on an unknown numeric leaf (found by
/// tests/symbols.rs flipping bytes of crash.pdb), and its arithmetic is not checked
/// everywhere. So the load runs under `catch_unwind`, and a panic becomes an error
/// value. (The default panic hook still prints its line to stderr; we don't replace a
/// process-wide hook from library code.) We also parse only the record kinds we use,
/// which keeps most of the crate's parsers away from damaged bytes.
pub fn load_pdb_bytes(bytes: Vec<u8>, expected: Option<&PdbIdentity>) -> Result<SymbolTable, SymbolError> {
    load_pdb_bytes_with(bytes, expected, LoadOptions::default())
}

/// What to read from a PDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Read procedure records from the module streams. Without them only public
    /// symbols are used, as with the stripped PDBs public symbol servers give out.
    pub procedures: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions { procedures: true }
    }
}

/// [`load_pdb_bytes`] with options.
pub fn load_pdb_bytes_with(
    bytes: Vec<u8>,
    expected: Option<&PdbIdentity>,
    options: LoadOptions,
) -> Result<SymbolTable, SymbolError> {
    let len = bytes.len() as u64;
    guarded(len, || load_unguarded(Cursor::new(bytes), expected, options))
}

/// Runs a load, turning a panic inside the pdb crate into an error (see [`load_pdb_bytes`]).
fn guarded(len: u64, load: impl FnOnce() -> Result<SymbolTable, SymbolError>) -> Result<SymbolTable, SymbolError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)) {
        Ok(result) => result,
        Err(_) => Err(SymbolError::Corrupt {
            path: None,
            what: format!("the PDB reader gave up on damaged data ({len} bytes)"),
        }),
    }
}

// Record kinds read: procedures (global, local, their _ID, DPC and old _ST forms),
// compile flags (the language), public symbols.
const PROCEDURE_KINDS: [u16; 8] = [0x1110, 0x110f, 0x1147, 0x1146, 0x1155, 0x1156, 0x100b, 0x100a];
const COMPILE_KINDS: [u16; 3] = [0x1116, 0x113c, 0x0001];
const PUBLIC_KINDS: [u16; 2] = [0x110e, 0x1009];

fn load_unguarded<S: pdb::Source<'static> + 'static>(
    source: S,
    expected: Option<&PdbIdentity>,
    options: LoadOptions,
) -> Result<SymbolTable, SymbolError> {
    let corrupt = |what: &str, e: pdb::Error| SymbolError::Corrupt { path: None, what: format!("{what}: {e}") };
    let mut pdb = pdb::PDB::open(source).map_err(|e| corrupt("not a PDB", e))?;
    let info = read_info(&mut pdb)?;
    if let Some(expected) = expected {
        if info.guid != expected.guid || info.age != expected.age {
            let found = PdbIdentity::new(expected.name.clone(), info.guid, info.age);
            return Err(SymbolError::Mismatch { path: None, expected: expected.clone(), found });
        }
    }

    let address_map = pdb.address_map().map_err(|e| corrupt("address map", e))?;
    let sections = pdb.sections().map_err(|e| corrupt("section headers", e))?.unwrap_or_default();
    let image_end = sections.iter().map(|s| s.virtual_address.saturating_add(s.virtual_size)).max();

    let mut procedures = Vec::new();
    let dbi = pdb.debug_information().map_err(|e| corrupt("DBI stream", e))?;
    let x86 = matches!(dbi.machine_type(), Ok(pdb::MachineType::X86));
    let mut modules = dbi.modules().map_err(|e| corrupt("module list", e))?;
    while let Some(module) = modules.next().map_err(|e| corrupt("module list", e))? {
        if !options.procedures {
            break;
        }
        let Some(module_info) = pdb.module_info(&module).map_err(|e| corrupt("module stream", e))? else {
            continue;
        };
        let mut symbols = module_info.symbols().map_err(|e| corrupt("module symbols", e))?;
        // Assembler procedures carry linker names (`__SEH_prolog4`); compiled ones don't.
        let mut masm = false;
        while let Some(symbol) = symbols.next().map_err(|e| corrupt("module symbols", e))? {
            let kind = symbol.raw_kind();
            if !PROCEDURE_KINDS.contains(&kind) && !COMPILE_KINDS.contains(&kind) {
                continue;
            }
            // Records this version of the crate cannot parse are skipped, not fatal.
            match symbol.parse() {
                Ok(pdb::SymbolData::CompileFlags(flags)) => masm = flags.language == pdb::SourceLanguage::Masm,
                Ok(pdb::SymbolData::Procedure(proc)) => {
                    if let Some(rva) = proc.offset.to_rva(&address_map) {
                        let raw = proc.name.to_string();
                        let name = if x86 && masm { undecorate_x86_public(&raw) } else { raw.into_owned() };
                        procedures.push(Function { rva: rva.0, size: proc.len, name: name.into() });
                    }
                }
                _ => {}
            }
        }
    }
    procedures.sort_by_key(|f| f.rva);

    let mut publics = Vec::new();
    let globals = pdb.global_symbols().map_err(|e| corrupt("global symbols", e))?;
    let mut iter = globals.iter();
    while let Some(symbol) = iter.next().map_err(|e| corrupt("global symbols", e))? {
        if !PUBLIC_KINDS.contains(&symbol.raw_kind()) {
            continue;
        }
        if let Ok(pdb::SymbolData::Public(public)) = symbol.parse() {
            if !(public.function || public.code) {
                continue;
            }
            let Some(rva) = public.offset.to_rva(&address_map) else {
                continue;
            };
            if covered(&procedures, rva.0) {
                continue;
            }
            let name = public_name(&public.name.to_string(), x86);
            publics.push(Function { rva: rva.0, size: 0, name: name.into() });
        }
    }

    let mut all = procedures;
    all.extend(publics);
    Ok(SymbolTable::new(all, image_end))
}

/// The GUID and age a PDB declares.
pub fn read_info<S: pdb::Source<'static> + 'static>(pdb: &mut pdb::PDB<'static, S>) -> Result<PdbInfo, SymbolError> {
    let corrupt = |what: &str, e: pdb::Error| SymbolError::Corrupt { path: None, what: format!("{what}: {e}") };
    let info = pdb.pdb_information().map_err(|e| corrupt("PDB information stream", e))?;
    let dbi_age = pdb.debug_information().ok().and_then(|d| d.age());
    let (d1, d2, d3, d4) = info.guid.as_fields();
    Ok(PdbInfo { guid: Guid::from_fields(d1, d2, d3, *d4), age: dbi_age.unwrap_or(info.age) })
}

fn covered(sorted: &[Function], rva: u32) -> bool {
    let index = sorted.partition_point(|f| f.rva <= rva);
    index > 0 && rva - sorted[index - 1].rva < sorted[index - 1].size.max(1)
}

/// The name WPA shows for a public symbol: C++ names demangled to the qualified name
/// without parameters (the form procedure records have), x86 C names undecorated.
pub fn public_name(linker_name: &str, x86: bool) -> String {
    if linker_name.starts_with('?') {
        if let Ok(name) = msvc_demangler::demangle(
            linker_name,
            msvc_demangler::DemangleFlags::NAME_ONLY | msvc_demangler::DemangleFlags::NO_CLASS_TYPE,
        ) {
            return name;
        }
        return linker_name.to_string();
    }
    if x86 {
        undecorate_x86_public(linker_name)
    } else {
        linker_name.to_string()
    }
}

/// x86 public symbols (and MASM procedures) carry decorated linker names. C names lose their decoration the way DbgHelp
/// shows them: `_memset` -> `memset`, `_Sleep@4` -> `Sleep`, `@fast@8` -> `fast`,
/// `__imp__x` stays an import. C++ names (`?...`) are left to [`public_name`].
pub fn undecorate_x86_public(name: &str) -> String {
    if name.starts_with('?') || name.starts_with("__imp_") {
        return name.to_string();
    }
    let strip_arg_bytes = |s: &str| -> String {
        match s.rfind('@') {
            Some(at) if at > 0 && s[at + 1..].chars().all(|c| c.is_ascii_digit()) && at + 1 < s.len() => {
                s[..at].to_string()
            }
            _ => s.to_string(),
        }
    };
    if let Some(rest) = name.strip_prefix('@') {
        return strip_arg_bytes(rest);
    }
    if let Some(rest) = name.strip_prefix('_') {
        return strip_arg_bytes(rest);
    }
    name.to_string()
}

/// Opens a PDB only to read its identity (for messages and tools).
pub fn pdb_info_of(path: &Path) -> Result<PdbInfo, SymbolError> {
    let file = std::fs::File::open(path).map_err(|e| SymbolError::io(path, e))?;
    let mut pdb = pdb::PDB::open(file)
        .map_err(|e| SymbolError::Corrupt { path: Some(path.to_path_buf()), what: format!("not a PDB: {e}") })?;
    read_info(&mut pdb).map_err(|e| e.at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_decoration_is_removed() {
        assert_eq!(undecorate_x86_public("_memset"), "memset");
        assert_eq!(undecorate_x86_public("_IsProcessorFeaturePresent@4"), "IsProcessorFeaturePresent");
        assert_eq!(undecorate_x86_public("@fast@8"), "fast");
        assert_eq!(undecorate_x86_public("___CxxFrameHandler3"), "__CxxFrameHandler3");
        assert_eq!(undecorate_x86_public("?f@@YAXXZ"), "?f@@YAXXZ");
        assert_eq!(undecorate_x86_public("NtClose"), "NtClose");
        assert_eq!(undecorate_x86_public("_"), "");
    }

    #[test]
    fn cpp_publics_are_demangled_to_qualified_names() {
        let mangled = "?RequestDump@CrashGenerationClient@google_breakpad@@QAE_NPAU_EXCEPTION_POINTERS@@PAUMDRawAssertionInfo@@@Z";
        assert_eq!(public_name(mangled, true), "google_breakpad::CrashGenerationClient::RequestDump");
        assert_eq!(public_name("?", false), "?");
        assert_eq!(public_name("?@@@@", false), "?@@@@");
        assert_eq!(public_name("_memset", false), "_memset");
        assert_eq!(public_name("_memset", true), "memset");
    }
}
