//! The sampled stacks, folded once and read by several sections: which modules
//! have frames no symbols name, which functions the samples pass through, and
//! the hottest stacks. One `| folded` names each distinct stack's frames once;
//! a join of the samples with the frames table would make a row per sample and
//! frame, past the join limit on a 1 GB trace.
use std::collections::{HashMap, HashSet};

/// Distinct stacks, outermost frame first, with how many samples have each.
pub struct SampledStacks {
    pub stacks: Vec<(u64, Vec<String>)>,
}

impl SampledStacks {
    /// From `| folded` lines: `outer;...;inner count`.
    pub fn from_folded<'a>(lines: impl Iterator<Item = &'a str>) -> SampledStacks {
        let stacks = lines
            .filter_map(|line| {
                let (stack, count) = line.rsplit_once(' ')?;
                Some((count.parse().ok()?, stack.split(';').map(str::to_string).collect()))
            })
            .collect();
        SampledStacks { stacks }
    }

    /// Samples whose stack holds a frame of each module that no symbols name,
    /// most first.
    pub fn unnamed_modules(&self) -> Vec<(String, u64)> {
        self.per_stack(unnamed_module)
    }

    /// Samples whose stack holds each named function (`module!function`), most first.
    pub fn functions(&self) -> Vec<(String, u64)> {
        self.per_stack(|frame| (unnamed_module(frame).is_none() && frame.contains('!')).then_some(frame))
    }

    /// Sums each stack's count once into every distinct key its frames give.
    fn per_stack<'s>(&'s self, key: impl Fn(&'s str) -> Option<&'s str>) -> Vec<(String, u64)> {
        let mut sums: HashMap<&str, u64> = HashMap::new();
        for (count, frames) in &self.stacks {
            let keys: HashSet<&str> = frames.iter().filter_map(|f| key(f)).collect();
            for k in keys {
                *sums.entry(k).or_default() += count;
            }
        }
        let mut sorted: Vec<(String, u64)> = sums.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        sorted
    }
}

/// The module of a frame that no symbols name: `m!<PDB not found>`, a folded
/// run `m!<PDB not found> (4 frames)` or `m!? (4 frames)`, or `m+0x1a2b`.
fn unnamed_module(frame: &str) -> Option<&str> {
    if let Some((module, rest)) = frame.split_once('!') {
        let unnamed = rest.starts_with("<PDB not found>") || rest.starts_with("? (");
        return unnamed.then_some(module);
    }
    frame.split_once("+0x").map(|(module, _)| module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_and_functions_count_each_stack_once() {
        let lines = [
            "ntdll.dll!RtlUserThreadStart;tedrdrv.sys!<PDB not found>;ntoskrnl.exe!Log;tedrdrv.sys!<PDB not found> 5",
            "ntdll.dll!RtlUserThreadStart;clr.dll!? (3 frames);0xfffff80000001000 2",
            "ntdll.dll!RtlUserThreadStart;a.dll+0x10 1",
            "[no stack] 7",
        ];
        let stacks = SampledStacks::from_folded(lines.into_iter());
        assert_eq!(
            stacks.unnamed_modules(),
            [("tedrdrv.sys".to_string(), 5), ("clr.dll".to_string(), 2), ("a.dll".to_string(), 1)]
        );
        assert_eq!(
            stacks.functions(),
            [("ntdll.dll!RtlUserThreadStart".to_string(), 8), ("ntoskrnl.exe!Log".to_string(), 5)]
        );
    }
}
