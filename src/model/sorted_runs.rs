//! Merges lists that are each sorted (one per CPU, in time order) into one
//! sorted list on all cores: cheaper than sorting their concatenation.
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Pieces per core: enough that uneven pieces still keep every core busy.
const PIECES_PER_THREAD: usize = 4;

/// Merges `runs`, each sorted by `key`, into one list sorted by `key`. Equal
/// keys keep the order of their runs. The key range is cut at points taken
/// from the longest run, and the pieces are merged in parallel.
pub fn merge<T, K>(mut runs: Vec<Vec<T>>, key: impl Fn(&T) -> K + Sync) -> Vec<T>
where
    T: Copy + Send + Sync,
    K: Ord + Copy + Send + Sync,
{
    runs.retain(|r| !r.is_empty());
    if runs.len() <= 1 {
        return runs.pop().unwrap_or_default();
    }
    let total: usize = runs.iter().map(Vec::len).sum();
    let longest = runs.iter().max_by_key(|r| r.len()).map_or(&[][..], |r| &r[..]);
    let pieces = (rayon::current_num_threads() * PIECES_PER_THREAD).clamp(1, longest.len());
    let mut cuts: Vec<K> = (1..pieces).map(|p| key(&longest[p * longest.len() / pieces])).collect();
    cuts.dedup();

    // Piece p holds the keys in [cuts[p-1], cuts[p]): its slice of every run.
    let bounds = |cut: Option<&K>, run: &[T]| cut.map_or(run.len(), |c| run.partition_point(|x| key(x) < *c));
    let slices: Vec<Vec<&[T]>> = (0..=cuts.len())
        .map(|p| {
            runs.iter()
                .map(|run| {
                    let from = if p == 0 { 0 } else { bounds(cuts.get(p - 1), run) };
                    &run[from..bounds(cuts.get(p), run)]
                })
                .collect()
        })
        .collect();

    // Filled in parallel first, so that the pages are faulted in on all cores.
    let filler = longest[0];
    let mut out: Vec<T> = Vec::with_capacity(total);
    (0..total).into_par_iter().map(|_| filler).collect_into_vec(&mut out);
    let mut targets: Vec<&mut [T]> = Vec::with_capacity(slices.len());
    let mut rest = &mut out[..];
    for piece in &slices {
        let (head, tail) = rest.split_at_mut(piece.iter().map(|s| s.len()).sum());
        targets.push(head);
        rest = tail;
    }
    targets.into_par_iter().zip(slices.par_iter()).for_each(|(target, piece)| merge_into(piece, target, &key));
    out
}

/// A k-way merge of sorted slices into `target`, which has their total length.
fn merge_into<T: Copy, K: Ord + Copy>(runs: &[&[T]], target: &mut [T], key: &impl Fn(&T) -> K) {
    let mut heads = vec![0usize; runs.len()];
    let mut heap: BinaryHeap<Reverse<(K, usize)>> =
        runs.iter().enumerate().filter_map(|(r, run)| run.first().map(|x| Reverse((key(x), r)))).collect();
    for slot in target.iter_mut() {
        let Some(Reverse((_, r))) = heap.pop() else { break };
        *slot = runs[r][heads[r]];
        heads[r] += 1;
        if let Some(x) = runs[r].get(heads[r]) {
            heap.push(Reverse((key(x), r)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_a_stable_sort_of_the_concatenation(
            mut runs in prop::collection::vec(prop::collection::vec((0u8..40, any::<u16>()), 0..300), 0..20)
        ) {
            for run in &mut runs {
                run.sort_by_key(|x| x.0);
            }
            // Tag each element with its run so that stability is checked too.
            let tagged: Vec<Vec<(u8, u16, usize)>> =
                runs.iter().enumerate().map(|(r, run)| run.iter().map(|&(k, v)| (k, v, r)).collect()).collect();
            let mut expected: Vec<(u8, u16, usize)> = tagged.concat();
            expected.sort_by_key(|x| (x.0, x.2));
            prop_assert_eq!(merge(tagged, |x| x.0), expected);
        }
    }
}
