//! [`Sketch`]: the distribution of one numeric statistic in bounded memory,
//! for its percentiles, histogram and box plot.
//!
//! # Exact, then log buckets
//! A sketch keeps the distinct finite values it was given, with their
//! counts, while there are at most [`EXACT_VALUES`] (4,096) of them: up to
//! there every percentile, histogram bar and box is exact, whatever the
//! number of samples (a statistic with few distinct values, such as a count
//! of objects, stays exact at any size). At the 4,097th distinct value it
//! moves every value into log-linear buckets and keeps only their counts:
//! a bucket holds the finite values whose magnitude shares its binary
//! exponent and first [`SUB_BUCKET_BITS`] (8) mantissa bits, 256 buckets per
//! power of two, with zero counted apart and negative values in buckets of
//! their own. The bucket of a value is a shift of its IEEE 754 bits: no
//! logarithm, so no libm, and the same buckets on every machine.
//!
//! # Error bound
//! In bucket mode a value is reported as its bucket's representative
//! `2·lo·hi / (lo + hi)`, clamped to the exact `[min, max]`. For a value of
//! bucket `[lo, hi)` the relative error is at most `(hi - lo) / (hi + lo)`,
//! below 2^-9: the value of each rank (and so each percentile of the
//! closest-ranks interpolation) is within [`RELATIVE_ERROR`] (0.195 %) of
//! the true one, and exactly right at rank 0 (`min`) and the last rank
//! (`max`). Between two ranks of different signs the interpolation is
//! within 0.195 % of the larger magnitude. Bucket counts are exact, so the
//! rank of every value is right to its bucket.
//!
//! # Memory
//! At most [`MAX_BUCKETS`] (32,768) counters per sign, 128 powers of two
//! (a ratio of 3·10^38 between the largest and smallest magnitude kept):
//! 256 KiB per sign and 512 KiB per statistic at worst, whatever the number
//! of values; a statistic spanning `d` powers of two uses `256·d` counters
//! per sign (a spread of 10^-3 to 10^3 takes 40 KiB). While exact, 64 KiB
//! at most (4,096 × 16 bytes). Values whose magnitude lies more than 128
//! powers of two below the largest one are counted in the lowest bucket
//! kept (their error stays below 2^-128 times the largest magnitude), as
//! DDSketch collapses its lowest buckets.
//!
//! # Determinism
//! The result depends on the multiset of values alone, not on the order they
//! came in, nor on how they were split and merged: the exact list is sorted,
//! bucket counts add up, the fold of the lowest buckets depends only on the
//! largest bucket seen, and min and max use the total order of `f64`. The
//! statistics pass feeds values in sample-id order anyway.

use std::collections::VecDeque;

/// Distinct values a sketch keeps exactly; beyond, it counts buckets.
pub(crate) const EXACT_VALUES: usize = 4096;
/// Mantissa bits that name a bucket within a power of two: 256 buckets each.
pub(crate) const SUB_BUCKET_BITS: u32 = 8;
/// Most buckets kept per sign (128 powers of two at 256 buckets each).
pub(crate) const MAX_BUCKETS: usize = 32_768;
/// Largest relative error of a value reported in bucket mode: 2^-9.
#[cfg(test)]
pub(crate) const RELATIVE_ERROR: f64 = 1.0 / 512.0;

/// Bits of a magnitude's IEEE 754 pattern below the bucket key.
const KEY_SHIFT: u32 = 52 - SUB_BUCKET_BITS;

/// Values sorted ascending and read by rank: a sorted slice or a
/// [`Sketch`]. Box plots and percentiles work on either.
pub(crate) trait Ranked {
    /// Number of values.
    fn count(&self) -> u64;
    /// The value of rank `rank` (0-based, ascending); `rank < count()`.
    fn at(&self, rank: u64) -> f64;
    /// Number of values below `x`.
    fn count_below(&self, x: f64) -> u64;
    /// Number of values at most `x`.
    fn count_at_most(&self, x: f64) -> u64;

    /// The `p`-th percentile (`0.0..=100.0`) by linear interpolation between
    /// closest ranks (numpy's and pandas' default); `None` without values.
    fn percentile(&self, p: f64) -> Option<f64> {
        let last = self.count().checked_sub(1)?;
        let rank = p.clamp(0.0, 100.0) / 100.0 * last as f64;
        let lower = rank.floor() as u64;
        let upper = (lower + 1).min(last);
        let fraction = rank - lower as f64;
        let (low, high) = (self.at(lower), self.at(upper));
        Some(low + fraction * (high - low))
    }
}

impl Ranked for [f64] {
    fn count(&self) -> u64 {
        self.len() as u64
    }

    fn at(&self, rank: u64) -> f64 {
        self[rank as usize]
    }

    fn count_below(&self, x: f64) -> u64 {
        self.partition_point(|&v| v < x) as u64
    }

    fn count_at_most(&self, x: f64) -> u64 {
        self.partition_point(|&v| v <= x) as u64
    }
}

/// The distribution of the finite values of one statistic: exact while they
/// have at most [`EXACT_VALUES`] distinct values, log-linear buckets beyond.
/// See the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct Sketch {
    count: u64,
    min: f64,
    max: f64,
    integers: bool,
    /// Distinct values ascending (`f64::total_cmp`) and their counts, while
    /// not `bucketed`.
    exact: Vec<(f64, u64)>,
    bucketed: bool,
    negative: Store,
    zeros: u64,
    positive: Store,
}

impl Default for Sketch {
    fn default() -> Self {
        Self::new()
    }
}

impl Sketch {
    /// An empty sketch.
    pub(crate) fn new() -> Self {
        Self {
            count: 0,
            min: f64::NAN,
            max: f64::NAN,
            integers: true,
            exact: Vec::new(),
            bucketed: false,
            negative: Store::default(),
            zeros: 0,
            positive: Store::default(),
        }
    }

    /// A sketch of `values` (finite ones; the others are left out).
    #[cfg(test)]
    pub(crate) fn of(values: &[f64]) -> Self {
        let mut sketch = Self::new();
        values
            .iter()
            .filter(|v| v.is_finite())
            .for_each(|&v| sketch.add(v));
        sketch
    }

    /// Adds one finite value (a NaN or infinity is ignored: callers count
    /// those apart).
    pub(crate) fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.count_value(value, 1);
        if self.bucketed {
            self.add_to_bucket(value, 1);
            return;
        }
        match self.exact.binary_search_by(|(v, _)| v.total_cmp(&value)) {
            Ok(at) => self.exact[at].1 += 1,
            Err(at) if self.exact.len() < EXACT_VALUES => self.exact.insert(at, (value, 1)),
            Err(_) => {
                self.switch_to_buckets();
                self.add_to_bucket(value, 1);
            }
        }
    }

    /// Number of values.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// Whether no value was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether every value is kept exactly (at most [`EXACT_VALUES`]
    /// distinct values were added).
    #[cfg(test)]
    pub(crate) fn is_exact(&self) -> bool {
        !self.bucketed
    }

    /// Whether every value is an integer.
    pub(crate) fn all_integers(&self) -> bool {
        self.integers
    }

    /// The smallest value, exact in both modes.
    pub(crate) fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value, exact in both modes.
    pub(crate) fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Ascending `(value, count)` runs: the distinct values while exact, the
    /// buckets' representatives (clamped to `[min, max]`) beyond.
    pub(crate) fn runs(&self) -> Box<dyn Iterator<Item = (f64, u64)> + '_> {
        if !self.bucketed {
            return Box::new(self.exact.iter().copied());
        }
        let (min, max) = (self.min, self.max);
        let negative = self
            .negative
            .buckets()
            .rev()
            .map(|(key, count)| (-representative(key), count));
        let zeros = (self.zeros > 0).then_some((0.0, self.zeros));
        let positive = self
            .positive
            .buckets()
            .map(|(key, count)| (representative(key), count));
        Box::new(
            negative
                .chain(zeros)
                .chain(positive)
                .map(move |(value, count)| (value.clamp(min, max), count)),
        )
    }

    /// Folds `other` in: the result is that of adding its values to `self`.
    #[cfg(test)]
    pub(crate) fn merge(&mut self, other: &Sketch) {
        if !other.bucketed {
            for &(value, count) in &other.exact {
                for _ in 0..count {
                    self.add(value);
                }
            }
            return;
        }
        if other.is_empty() {
            return;
        }
        if !self.bucketed {
            self.switch_to_buckets();
        }
        if self.count == 0 {
            (self.min, self.max) = (other.min, other.max);
        }
        self.min = min_by_total(self.min, other.min);
        self.max = max_by_total(self.max, other.max);
        self.count += other.count;
        self.integers &= other.integers;
        self.zeros += other.zeros;
        for (key, count) in other.negative.buckets() {
            self.negative.add(key, count);
        }
        for (key, count) in other.positive.buckets() {
            self.positive.add(key, count);
        }
    }

    /// Counts `n` more values and keeps min, max and the integer flag.
    fn count_value(&mut self, value: f64, n: u64) {
        if self.count == 0 {
            (self.min, self.max) = (value, value);
        } else {
            self.min = min_by_total(self.min, value);
            self.max = max_by_total(self.max, value);
        }
        self.integers &= value.fract() == 0.0;
        self.count += n;
    }

    fn switch_to_buckets(&mut self) {
        self.bucketed = true;
        for (value, count) in std::mem::take(&mut self.exact) {
            self.add_to_bucket(value, count);
        }
    }

    fn add_to_bucket(&mut self, value: f64, count: u64) {
        if value == 0.0 {
            self.zeros += count;
            return;
        }
        let key = (value.abs().to_bits() >> KEY_SHIFT) as u32;
        if value > 0.0 {
            self.positive.add(key, count);
        } else {
            self.negative.add(key, count);
        }
    }
}

impl Ranked for Sketch {
    fn count(&self) -> u64 {
        self.count
    }

    fn at(&self, rank: u64) -> f64 {
        if rank == 0 {
            return self.min;
        }
        if rank + 1 >= self.count {
            return self.max;
        }
        let mut seen = 0;
        for (value, count) in self.runs() {
            seen += count;
            if rank < seen {
                return value;
            }
        }
        self.max
    }

    fn count_below(&self, x: f64) -> u64 {
        self.runs().take_while(|r| r.0 < x).map(|r| r.1).sum()
    }

    fn count_at_most(&self, x: f64) -> u64 {
        self.runs().take_while(|r| r.0 <= x).map(|r| r.1).sum()
    }
}

fn min_by_total(a: f64, b: f64) -> f64 {
    if b.total_cmp(&a).is_lt() {
        b
    } else {
        a
    }
}

fn max_by_total(a: f64, b: f64) -> f64 {
    if b.total_cmp(&a).is_gt() {
        b
    } else {
        a
    }
}

/// The value reported for bucket `key`: equal relative distance to both ends.
/// For a normal magnitude in sub-bucket `k`, `lo / hi = (256 + k) / (257 + k)`,
/// so the representative is `lo · 2(257 + k) / (513 + 2k)`: no overflow at
/// the top of the range.
fn representative(key: u32) -> f64 {
    let lo = f64::from_bits(u64::from(key) << KEY_SHIFT);
    let sub = f64::from(key & ((1 << SUB_BUCKET_BITS) - 1));
    let steps = f64::from(1u32 << SUB_BUCKET_BITS);
    if key >> SUB_BUCKET_BITS == 0 {
        // Subnormal magnitudes: buckets of equal width from zero.
        let hi = f64::from_bits(u64::from(key + 1) << KEY_SHIFT);
        return 2.0 * lo * hi / (lo + hi);
    }
    lo * (2.0 * (steps + 1.0 + sub) / (2.0 * steps + 1.0 + 2.0 * sub))
}

/// Counts of a window of at most [`MAX_BUCKETS`] consecutive bucket keys;
/// keys below the window are counted in its lowest bucket.
#[derive(Clone, Debug, Default)]
struct Store {
    /// Key of `counts[0]`.
    low: u32,
    counts: VecDeque<u64>,
}

impl Store {
    fn add(&mut self, key: u32, n: u64) {
        if self.counts.is_empty() {
            self.low = key;
            self.counts.push_back(n);
            return;
        }
        let high = self.low + self.counts.len() as u32 - 1;
        let top = high.max(key);
        // The lowest key the window keeps: it depends on the largest key
        // seen only, so the fold below does not depend on the order.
        let floor = (top + 1).saturating_sub(MAX_BUCKETS as u32);
        if self.low < floor {
            let mut folded = 0;
            while self.low < floor {
                let Some(count) = self.counts.pop_front() else {
                    break;
                };
                folded += count;
                self.low += 1;
            }
            if self.counts.is_empty() {
                self.low = floor;
                self.counts.push_back(0);
            }
            self.counts[0] += folded;
        }
        let key = key.max(floor);
        while key < self.low {
            self.counts.push_front(0);
            self.low -= 1;
        }
        while key >= self.low + self.counts.len() as u32 {
            self.counts.push_back(0);
        }
        self.counts[(key - self.low) as usize] += n;
    }

    /// Non-empty buckets `(key, count)`, ascending keys.
    fn buckets(&self) -> impl DoubleEndedIterator<Item = (u32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &count)| count > 0)
            .map(|(at, &count)| (self.low + at as u32, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of `n` pseudo-random numbers in `[0, 1)`.
    fn uniform(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    const PERCENTILES: [f64; 9] = [0.0, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 100.0];

    fn outputs(sketch: &Sketch) -> Vec<u64> {
        let mut bits: Vec<u64> = PERCENTILES
            .iter()
            .map(|&p| sketch.percentile(p).unwrap().to_bits())
            .collect();
        bits.extend(sketch.runs().flat_map(|(v, c)| [v.to_bits(), c]));
        bits.push(sketch.len());
        bits
    }

    #[test]
    fn exact_up_to_4096_distinct_values() {
        for n in [1, 2, 3, 10, 1000, EXACT_VALUES] {
            let values: Vec<f64> = uniform(n, 7).iter().map(|v| v * 200.0 - 50.0).collect();
            let sketch = Sketch::of(&values);
            assert!(sketch.is_exact(), "{n}");
            let sorted = sorted(&values);
            for p in PERCENTILES.iter().chain(&[2.5, 33.3, 99.9]) {
                assert_eq!(
                    sketch.percentile(*p),
                    sorted.as_slice().percentile(*p),
                    "n={n} p={p}"
                );
            }
            for rank in 0..n as u64 {
                assert_eq!(sketch.at(rank), sorted[rank as usize]);
            }
            assert_eq!(sketch.count_below(0.0), sorted.as_slice().count_below(0.0));
        }
        // Few distinct values stay exact at any count.
        let many: Vec<f64> = (0..100_000).map(|i| f64::from(i % 4000)).collect();
        let sketch = Sketch::of(&many);
        assert!(sketch.is_exact());
        let sorted = sorted(&many);
        for p in PERCENTILES {
            assert_eq!(sketch.percentile(p), sorted.as_slice().percentile(p));
        }
        assert!(sketch.all_integers());
    }

    #[test]
    fn the_4097th_distinct_value_switches_to_buckets() {
        let values: Vec<f64> = (0..=EXACT_VALUES).map(|i| i as f64 + 0.5).collect();
        let sketch = Sketch::of(&values[..EXACT_VALUES]);
        assert!(sketch.is_exact());
        let sketch = Sketch::of(&values);
        assert!(!sketch.is_exact());
        assert_eq!(sketch.len(), EXACT_VALUES as u64 + 1);
        assert_eq!((sketch.min(), sketch.max()), (Some(0.5), Some(4096.5)));
        assert!(!sketch.all_integers());
    }

    /// Every rank's value is within the documented bound of the true one.
    fn assert_within_bound(values: &[f64]) {
        // Two roundings of the representative and one of the interpolation.
        let bound = RELATIVE_ERROR * (1.0 + 1e-12);
        let sketch = Sketch::of(values);
        assert!(!sketch.is_exact());
        let sorted = sorted(values);
        let n = sorted.len() as u64;
        for rank in (0..n).step_by(97).chain([n - 1]) {
            let (got, want) = (sketch.at(rank), sorted[rank as usize]);
            assert!(
                (got - want).abs() <= bound * want.abs(),
                "rank {rank}: {got} vs {want}"
            );
        }
        for p in PERCENTILES.iter().chain(&[0.1, 12.5, 62.5, 99.9]) {
            let got = sketch.percentile(*p).unwrap();
            let want = sorted.as_slice().percentile(*p).unwrap();
            let rank = p / 100.0 * (n - 1) as f64;
            let lower = rank.floor() as usize;
            let upper = (lower + 1).min(sorted.len() - 1);
            let scale = sorted[lower].abs().max(sorted[upper].abs());
            assert!(
                (got - want).abs() <= bound * scale + f64::EPSILON * scale,
                "p{p}: {got} vs {want}"
            );
        }
        assert_eq!(sketch.percentile(0.0), Some(sorted[0]));
        assert_eq!(sketch.percentile(100.0), sorted.last().copied());
        let runs: u64 = sketch.runs().map(|r| r.1).sum();
        assert_eq!(runs, n);
    }

    #[test]
    fn above_4096_values_percentiles_are_within_the_bound() {
        let n = 200_000;
        let u = uniform(n, 1);
        // Uniform, exponential (long tail), log-normal-ish spanning 10^-6..10^6,
        // values of both signs and zeros.
        assert_within_bound(&u.iter().map(|v| v * 1000.0).collect::<Vec<_>>());
        assert_within_bound(&u.iter().map(|v| -(1.0 - v).ln()).collect::<Vec<_>>());
        assert_within_bound(
            &u.iter()
                .map(|v| 10f64.powf(12.0 * v - 6.0))
                .collect::<Vec<_>>(),
        );
        let signed: Vec<f64> = u
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 10 == 0 { 0.0 } else { (v - 0.5) * 1e4 })
            .collect();
        assert_within_bound(&signed);
    }

    #[test]
    fn memory_is_bounded_whatever_the_range() {
        // 2^-1000 .. 2^1000: far more than 128 powers of two.
        let values: Vec<f64> = uniform(100_000, 3)
            .iter()
            .map(|v| 2f64.powf(2000.0 * v - 1000.0))
            .collect();
        let sketch = Sketch::of(&values);
        assert!(sketch.positive.counts.len() <= MAX_BUCKETS);
        assert_eq!(sketch.runs().map(|r| r.1).sum::<u64>(), 100_000);
        // The top of the range keeps its precision.
        let sorted = sorted(&values);
        let want = sorted.as_slice().percentile(97.0).unwrap();
        let got = sketch.percentile(97.0).unwrap();
        assert!(
            (got - want).abs() <= RELATIVE_ERROR * want,
            "{got} vs {want}"
        );
    }

    #[test]
    fn the_same_values_from_any_shard_layout_give_the_same_sketch() {
        let values: Vec<f64> = uniform(50_000, 9)
            .iter()
            .map(|v| (v * 40.0).exp() - 3.0)
            .collect();
        let reference = outputs(&Sketch::of(&values));
        // Shards by stride (`--shard k/n`), by blocks of ids, and reversed.
        for shards in [2usize, 3, 7] {
            let mut by_stride = Sketch::new();
            let mut merged = Sketch::new();
            for shard in 0..shards {
                let part: Vec<f64> = values.iter().skip(shard).step_by(shards).copied().collect();
                part.iter().for_each(|&v| by_stride.add(v));
                merged.merge(&Sketch::of(&part));
            }
            assert_eq!(outputs(&by_stride), reference, "{shards} shards");
            assert_eq!(outputs(&merged), reference, "{shards} merged");
            let mut by_blocks = Sketch::new();
            for chunk in values.chunks(values.len() / shards + 1).rev() {
                by_blocks.merge(&Sketch::of(chunk));
            }
            assert_eq!(outputs(&by_blocks), reference, "{shards} blocks");
        }
        let mut reversed = Sketch::new();
        values.iter().rev().for_each(|&v| reversed.add(v));
        assert_eq!(outputs(&reversed), reference);
        // Below the exact limit too.
        let few = &values[..3000];
        let mut a = Sketch::of(&few[1500..]);
        a.merge(&Sketch::of(&few[..1500]));
        assert_eq!(outputs(&a), outputs(&Sketch::of(few)));
    }

    #[test]
    fn empty_negative_zero_and_nan() {
        let empty = Sketch::new();
        assert_eq!((empty.percentile(50.0), empty.min()), (None, None));
        let sketch = Sketch::of(&[f64::NAN, -0.0, 0.0, f64::INFINITY]);
        assert_eq!(sketch.len(), 2);
        assert_eq!(sketch.min().map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(sketch.max().map(f64::to_bits), Some(0.0f64.to_bits()));
    }

    #[test]
    fn bucket_representatives_are_within_the_bound() {
        for value in [1.0, 1.5, 1.999, 3.0e-300, 7.25e12, f64::MAX] {
            let key = (value.to_bits() >> KEY_SHIFT) as u32;
            let got = representative(key);
            assert!(
                (got - value).abs() <= RELATIVE_ERROR * value,
                "{value}: {got}"
            );
        }
    }
}
