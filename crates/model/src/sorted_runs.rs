//! Merges lists that are each sorted (one per CPU, in time order) into one
//! sorted list: cheaper than sorting their concatenation. `merge_by` merges
//! on all cores; `merge_chunked` frees its input as it goes, on one.
use super::chunked::Chunked;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::binary_heap::{BinaryHeap, PeekMut};

/// Pieces per core: enough that uneven pieces still keep every core busy.
const PIECES_PER_THREAD: usize = 4;

/// Merges `runs`, each sorted by `key`, into one list sorted by `key`. Equal
/// keys keep the order of their runs.
pub fn merge<T, K>(runs: Vec<Vec<T>>, key: impl Fn(&T) -> K + Sync) -> Vec<T>
where
    T: Copy + Send + Sync,
    K: Ord + Copy + Send + Sync,
{
    let lens: Vec<usize> = runs.iter().map(Vec::len).collect();
    merge_by(&lens, |r, i| key(&runs[r][i]), |r, i| runs[r][i])
}

/// Merges `runs` into one list sorted by `key`, equal keys in run order and,
/// within a run, in its order. Each run's chunks are freed as they are
/// merged, so the items are held about once. A run out of order (a trace
/// whose timestamps go back on a CPU) is sorted first.
pub fn merge_chunked<T, K>(runs: Vec<Chunked<T>>, key: impl Fn(&T) -> K) -> Vec<T>
where
    T: Copy,
    K: Ord + Copy,
{
    let total = runs.iter().map(Chunked::len).sum();
    let mut runs: Vec<_> = runs
        .into_iter()
        .map(|items| {
            let sorted = if items.iter().is_sorted_by_key(&key) {
                items
            } else {
                let mut all: Vec<T> = items.drain_in_order().collect();
                all.sort_by_key(&key);
                all.into_iter().collect()
            };
            sorted.drain_in_order().peekable()
        })
        .collect();
    let mut heap: BinaryHeap<Reverse<(K, usize)>> =
        runs.iter_mut().enumerate().filter_map(|(run, items)| Some(Reverse((key(items.peek()?), run)))).collect();
    let mut merged = Vec::with_capacity(total);
    while let Some(Reverse((_, run))) = heap.pop() {
        let items = &mut runs[run];
        merged.extend(items.next());
        if let Some(next) = items.peek() {
            heap.push(Reverse((key(next), run)));
        }
    }
    merged
}

/// Merges runs of the given lengths, each sorted by `key(run, index)`, into
/// one list of `make(run, index)` in key order; equal keys keep the order of
/// their runs. Building the items as they are merged saves a copy of every
/// run. The key range is cut at points taken from the longest run, and the
/// pieces are merged in parallel, straight into the output.
pub fn merge_by<K, R>(
    lens: &[usize],
    key: impl Fn(usize, usize) -> K + Sync,
    make: impl Fn(usize, usize) -> R + Sync,
) -> Vec<R>
where
    K: Ord + Copy + Send + Sync,
    R: Copy + Send + Sync,
{
    let total: usize = lens.iter().sum();
    let Some((longest, &longest_len)) = lens.iter().enumerate().max_by_key(|&(_, len)| len).filter(|(_, &len)| len > 0)
    else {
        return Vec::new();
    };
    let pieces = (rayon::current_num_threads() * PIECES_PER_THREAD).clamp(1, longest_len);
    let mut cuts: Vec<K> = (1..pieces).map(|p| key(longest, p * longest_len / pieces)).collect();
    cuts.dedup();

    // Where run `r` reaches `cut`: its first item not before it.
    let bound = |r: usize, cut: Option<&K>| match cut {
        None => lens[r],
        Some(cut) => partition_point(lens[r], |i| key(r, i) < *cut),
    };
    // Piece p holds the keys in [cuts[p-1], cuts[p]): a range of every run.
    let ranges: Vec<Vec<(usize, usize)>> = (0..=cuts.len())
        .map(|p| {
            (0..lens.len())
                .map(|r| (if p == 0 { 0 } else { bound(r, cuts.get(p - 1)) }, bound(r, cuts.get(p))))
                .collect()
        })
        .collect();

    // Filled in parallel first, so that the pages are faulted in on all cores.
    let filler = make(longest, 0);
    let mut out: Vec<R> = Vec::with_capacity(total);
    (0..total).into_par_iter().map(|_| filler).collect_into_vec(&mut out);
    let mut targets: Vec<&mut [R]> = Vec::with_capacity(ranges.len());
    let mut rest = &mut out[..];
    for piece in &ranges {
        let (head, tail) = rest.split_at_mut(piece.iter().map(|(from, to)| to - from).sum());
        targets.push(head);
        rest = tail;
    }
    targets.into_par_iter().zip(ranges.par_iter()).for_each(|(target, piece)| merge_into(piece, target, &key, &make));
    out
}

/// The first index in 0..len for which `before` is false; `before` must be true then false.
fn partition_point(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let mid = low + (high - low) / 2;
        if before(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}

/// A k-way merge of the given range of every run into `target`, which has their total length.
fn merge_into<K: Ord + Copy, R>(
    ranges: &[(usize, usize)],
    target: &mut [R],
    key: &impl Fn(usize, usize) -> K,
    make: &impl Fn(usize, usize) -> R,
) {
    for (slot, (r, i)) in target.iter_mut().zip(in_key_order(ranges, key)) {
        *slot = make(r, i);
    }
}

/// The items of the given range of every run, each run sorted by
/// `key(run, index)`, as (run, index) in key order; equal keys in run order.
fn in_key_order<'a, K: Ord + Copy + 'a>(
    ranges: &'a [(usize, usize)],
    key: &'a impl Fn(usize, usize) -> K,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut heads: Vec<usize> = ranges.iter().map(|&(from, _)| from).collect();
    let mut heap: BinaryHeap<Reverse<(K, usize)>> = ranges
        .iter()
        .enumerate()
        .filter(|(_, (from, to))| from < to)
        .map(|(r, &(from, _))| Reverse((key(r, from), r)))
        .collect();
    std::iter::from_fn(move || {
        let mut top = heap.peek_mut()?;
        let Reverse((_, r)) = *top;
        let item = (r, heads[r]);
        heads[r] += 1;
        if heads[r] < ranges[r].1 {
            // One sift down instead of a pop and a push.
            *top = Reverse((key(r, heads[r]), r));
        } else {
            PeekMut::pop(top);
        }
        Some(item)
    })
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
            let chunked: Vec<Chunked<(u8, u16, usize)>> = tagged.iter().map(|run| run.iter().copied().collect()).collect();
            prop_assert_eq!(merge_chunked(chunked, |x| x.0), expected.clone());
            prop_assert_eq!(merge(tagged, |x| x.0), expected);
        }
    }
}
