//! [`PointSample`]: the points of a scatter or line chart in bounded memory.
//!
//! It keeps every `(x, y)` point up to [`MAX_POINTS`], and beyond, the
//! [`MAX_POINTS`] points of the samples whose ids have the smallest hash
//! (SplitMix64 of the id, ties by id): a uniform sample that depends on the
//! set of samples alone, not on the order they came in nor on how the
//! dataset was sharded, so a chart of merged shards is the chart of one run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Most points kept per pair of statistics (the most a chart draws).
pub(crate) const MAX_POINTS: usize = 10_000;

/// A bounded, order-independent subsample of points. See the
/// [module docs](self).
#[derive(Clone, Debug, Default)]
pub(crate) struct PointSample {
    kept: BinaryHeap<Kept>,
    seen: u64,
}

#[derive(Clone, Debug)]
struct Kept {
    hash: u64,
    sample: u64,
    point: (f64, f64),
}

impl Kept {
    fn key(&self) -> (u64, u64) {
        (self.hash, self.sample)
    }
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Kept {}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PointSample {
    /// Offers the point of `sample`.
    pub(crate) fn add(&mut self, sample: u64, point: (f64, f64)) {
        self.seen += 1;
        let kept = Kept {
            hash: id_hash(sample),
            sample,
            point,
        };
        if self.kept.len() < MAX_POINTS {
            self.kept.push(kept);
        } else if self.kept.peek().is_some_and(|top| kept < *top) {
            self.kept.pop();
            self.kept.push(kept);
        }
    }

    /// Points offered.
    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }

    /// The points kept, in sample order.
    pub(crate) fn into_points(self) -> Vec<(f64, f64)> {
        let mut kept = self.kept.into_vec();
        kept.sort_unstable_by_key(|k| k.sample);
        kept.into_iter().map(|k| k.point).collect()
    }
}

/// SplitMix64's finalizer: a fixed, well-mixed hash of a sample id.
fn id_hash(sample: u64) -> u64 {
    let mut z = sample.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_up_to_the_limit_then_the_same_subsample_in_any_order() {
        let mut few = PointSample::default();
        (0..100u64).for_each(|i| few.add(i, (i as f64, 1.0)));
        assert_eq!(few.seen(), 100);
        assert_eq!(few.into_points().len(), 100);

        let ids: Vec<u64> = (0..50_000u64).map(|i| i * 3 + 1).collect();
        let point = |id: u64| (id as f64, (id % 17) as f64);
        let mut in_order = PointSample::default();
        ids.iter().for_each(|&id| in_order.add(id, point(id)));
        let mut by_shards = PointSample::default();
        for shard in 0..4 {
            ids.iter()
                .skip(shard)
                .step_by(4)
                .rev()
                .for_each(|&id| by_shards.add(id, point(id)));
        }
        assert_eq!(in_order.seen(), 50_000);
        let points = in_order.into_points();
        assert_eq!(points.len(), MAX_POINTS);
        assert!(points.windows(2).all(|w| w[0].0 < w[1].0), "sample order");
        assert_eq!(points, by_shards.into_points());
        // Spread over the whole range, not the first ids.
        assert!(points[0].0 < 100.0 && points[MAX_POINTS - 1].0 > 149_000.0);
    }
}
