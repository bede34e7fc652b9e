//! Breakpad text symbol files (`.sym`): `MODULE`, `FUNC`, `PUBLIC` lines give the
//! functions; `FILE`, `INFO`, `STACK`, `INLINE*` and line records are read past.
//! A line that fits no record is counted and skipped, never fatal.
use super::identity::PdbIdentity;
use super::table::{Function, SymbolTable};

/// A parsed `.sym` file.
#[derive(Clone, Debug, Default)]
pub struct BreakpadSymbols {
    /// From the `MODULE` line, when it is well formed.
    pub identity: Option<PdbIdentity>,
    pub table: SymbolTable,
    /// Lines that fit no record.
    pub garbage_lines: usize,
    /// The first of them: 1-based line number and its text (cut to 80 characters).
    pub first_garbage: Option<(usize, String)>,
}

/// Parses a `.sym` file. Never fails: what it cannot read it counts.
pub fn parse_sym(bytes: &[u8]) -> BreakpadSymbols {
    let mut out = BreakpadSymbols::default();
    let mut functions = Vec::new();
    let mut publics = Vec::new();
    let garbage = |out: &mut BreakpadSymbols, number: usize, line: &str| {
        out.garbage_lines += 1;
        if out.first_garbage.is_none() {
            out.first_garbage = Some((number, line.chars().take(80).collect()));
        }
    };
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
        let ok = match keyword {
            "MODULE" => {
                // MODULE <os> <arch> <id> <name>
                let mut parts = rest.splitn(4, ' ');
                let (_os, _arch, id, name) = (parts.next(), parts.next(), parts.next(), parts.next());
                match (id, name) {
                    (Some(id), Some(name)) if out.identity.is_none() => {
                        out.identity = PdbIdentity::from_breakpad_id(name.trim(), id);
                        out.identity.is_some()
                    }
                    _ => false,
                }
            }
            "FUNC" => match parse_fields(rest, 3) {
                Some((fields, name)) => {
                    let rva = u32::from_str_radix(fields[0], 16).ok();
                    let size = u32::from_str_radix(fields[1], 16).ok();
                    let param = u32::from_str_radix(fields[2], 16).ok();
                    match (rva, size, param) {
                        (Some(rva), Some(size), Some(_)) => {
                            functions.push(Function { rva, size, name: name.into() });
                            true
                        }
                        _ => false,
                    }
                }
                None => false,
            },
            "PUBLIC" => match parse_fields(rest, 2) {
                Some((fields, name)) => {
                    let rva = u32::from_str_radix(fields[0], 16).ok();
                    let param = u32::from_str_radix(fields[1], 16).ok();
                    match (rva, param) {
                        (Some(rva), Some(_)) => {
                            publics.push(Function { rva, size: 0, name: name.into() });
                            true
                        }
                        _ => false,
                    }
                }
                None => false,
            },
            "FILE" | "INFO" | "STACK" | "INLINE" | "INLINE_ORIGIN" => true,
            _ => is_line_record(line),
        };
        if !ok {
            garbage(&mut out, number, line);
        }
    }
    // FUNC before PUBLIC: at the same RVA the FUNC's name and size win. A PUBLIC has no
    // size; like Breakpad's processor, it reaches to the next symbol.
    functions.extend(publics);
    out.table = SymbolTable::new(functions, Some(u32::MAX));
    out
}

/// `[m] f1 .. fn name`: the optional multiple flag, `n` fields, then a name that may
/// hold spaces and must not be empty.
fn parse_fields(rest: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let rest = rest.strip_prefix("m ").unwrap_or(rest);
    let mut parts = rest.splitn(n + 1, ' ');
    let fields: Vec<&str> = (0..n).map(|_| parts.next()).collect::<Option<_>>()?;
    let name = parts.next()?.trim();
    if name.is_empty() || fields.iter().any(|f| f.is_empty()) {
        return None;
    }
    Some((fields, name))
}

/// `address size line filenum`, all numbers (address and size hex).
fn is_line_record(line: &str) -> bool {
    let parts: Vec<&str> = line.split(' ').collect();
    parts.len() == 4
        && u64::from_str_radix(parts[0], 16).is_ok()
        && u64::from_str_radix(parts[1], 16).is_ok()
        && parts[2].parse::<i64>().is_ok()
        && parts[3].parse::<u64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_and_counts_garbage() {
        let text = b"MODULE windows x86_64 3249D99D0C4049318610F4E4FB0B69361 demo.pdb\r\n\
INFO CODE_ID 5AB380779000 demo.exe\n\
FILE 1 c:\\src\\a.c\n\
FUNC 1000 20 0 Alpha(int, char)\n\
1000 10 12 1\n\
1010 10 13 1\n\
FUNC m 1020 8 4 Beta\n\
PUBLIC 1040 0 Gamma\n\
PUBLIC m 1020 0 BetaPublic\n\
this is not a record\n\
FUNC zz 10 0 Bad\n\
FUNC 2000 10 0\n\
PUBLIC 3000\n\
\xff\xfe binary\n\
STACK CFI INIT 1000 20 .cfa: $rsp 8 +\n";
        let s = parse_sym(text);
        let id = s.identity.as_ref().unwrap();
        assert_eq!(id.name, "demo.pdb");
        assert_eq!(id.store_key(), "3249D99D0C4049318610F4E4FB0B69361");
        assert_eq!(s.garbage_lines, 5);
        assert_eq!(s.first_garbage.as_ref().unwrap().0, 10);
        let names: Vec<&str> = s.table.functions().iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["Alpha(int, char)", "Beta", "Gamma"]);
        assert_eq!(s.table.lookup(0x1025).map(|(f, o)| (&*f.name, o)), Some(("Beta", 5)));
        assert_eq!(s.table.lookup(0x5000).map(|(f, o)| (&*f.name, o)), Some(("Gamma", 0x3fc0)));
        assert!(s.table.lookup(0x1030).is_none());
    }

    #[test]
    fn empty_and_odd_inputs() {
        assert!(parse_sym(b"").table.is_empty());
        assert_eq!(parse_sym(b"MODULE\nMODULE a b c\n").garbage_lines, 2);
        assert_eq!(parse_sym(b"FUNC m\nFUNC m m m m\nPUBLIC m\n").garbage_lines, 3);
    }
}
