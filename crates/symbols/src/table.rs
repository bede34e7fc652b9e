//! A module's functions: sorted, non-overlapping ranges of RVAs with names.
use std::sync::Arc;

/// One function: `[rva, rva + size)` and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub rva: u32,
    pub size: u32,
    pub name: Arc<str>,
}

/// The functions of one module, sorted by RVA. Built once per PDB identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SymbolTable {
    starts: Vec<u32>,
    functions: Vec<Function>,
}

impl SymbolTable {
    /// Sorts the functions by RVA. Where two start at the same RVA the first one given
    /// wins (callers put procedure records before public symbols). A size of 0 means
    /// "unknown": it becomes the distance to the next function, capped at `max_end`.
    pub fn new(mut functions: Vec<Function>, max_end: Option<u32>) -> SymbolTable {
        functions.sort_by_key(|f| f.rva); // stable: the earlier source wins below
        functions.dedup_by_key(|f| f.rva);
        for i in 0..functions.len() {
            if functions[i].size == 0 {
                let next = functions.get(i + 1).map(|f| f.rva).or(max_end);
                if let Some(next) = next {
                    functions[i].size = next.saturating_sub(functions[i].rva);
                }
            }
        }
        let starts = functions.iter().map(|f| f.rva).collect();
        SymbolTable { starts, functions }
    }

    pub fn functions(&self) -> &[Function] {
        &self.functions
    }

    pub fn len(&self) -> usize {
        self.functions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// The first function called `name` (by RVA), for callers that place addresses
    /// by symbol, as the demo does when it builds its stacks.
    pub fn function_named(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| &*f.name == name)
    }

    /// The function containing `rva`, and the offset into it.
    pub fn lookup(&self, rva: u64) -> Option<(&Function, u32)> {
        let rva = u32::try_from(rva).ok()?;
        let index = self.starts.partition_point(|&start| start <= rva).checked_sub(1)?;
        let function = &self.functions[index];
        let offset = rva - function.rva;
        (offset < function.size).then_some((function, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rva: u32, size: u32, name: &str) -> Function {
        Function { rva, size, name: name.into() }
    }

    #[test]
    fn lookup_finds_the_containing_function() {
        let t = SymbolTable::new(
            vec![f(0x2000, 0x10, "b"), f(0x1000, 0x20, "a"), f(0x1000, 0x5, "dup"), f(0x3000, 0, "c")],
            Some(0x3100),
        );
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(0x1000).map(|(f, o)| (&*f.name, o)), Some(("a", 0)));
        assert_eq!(t.lookup(0x101f).map(|(f, o)| (&*f.name, o)), Some(("a", 0x1f)));
        assert!(t.lookup(0x1020).is_none());
        assert!(t.lookup(0xfff).is_none());
        assert_eq!(t.lookup(0x30ff).map(|(f, o)| (&*f.name, o)), Some(("c", 0xff)));
        assert!(t.lookup(0x3100).is_none());
        assert!(t.lookup(u64::MAX).is_none());
        assert!(SymbolTable::default().lookup(0).is_none());
        assert_eq!(t.function_named("a").map(|f| (f.rva, f.size)), Some((0x1000, 0x20)));
        assert_eq!(t.function_named("c").map(|f| f.size), Some(0x100), "a size-0 symbol reaches the next");
        assert!(t.function_named("dup").is_none(), "dropped for sharing a start");
        assert!(t.function_named("").is_none());
    }
}
