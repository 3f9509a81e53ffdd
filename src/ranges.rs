//! Sets of sample ids kept as sorted, coalesced half-open ranges, so that a
//! million ids in a few runs cost a few entries and print as `0..950, 990`.

use std::collections::BTreeMap;
use std::fmt;

/// A half-open range `[start, end)` of sample ids; JSON sees `[start, end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SampleRange {
    /// First id.
    pub start: u64,
    /// One past the last id.
    pub end: u64,
}

impl SampleRange {
    /// `[start, end)`.
    pub fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// Number of ids in the range.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no id.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `id` lies in the range.
    pub fn contains(&self, id: u64) -> bool {
        self.start <= id && id < self.end
    }
}

impl serde::Serialize for SampleRange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.start, self.end].serialize(serializer)
    }
}

impl fmt::Display for SampleRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len() == 1 {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}..{}", self.start, self.end)
        }
    }
}

/// A set of sample ids as disjoint, non-adjacent ranges. Ids may be inserted
/// in any order; inserting in increasing order is O(log ranges).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSet {
    /// start -> end of each range.
    ranges: BTreeMap<u64, u64>,
    count: u64,
}

impl RangeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one id.
    pub fn insert(&mut self, id: u64) {
        self.insert_range(SampleRange::new(id, id + 1));
    }

    /// Adds every id of `range`.
    pub fn insert_range(&mut self, range: SampleRange) {
        if range.is_empty() {
            return;
        }
        let (mut start, mut end) = (range.start, range.end);
        // Absorb the range that starts at or before `start` if it touches.
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back() {
            if e >= start {
                self.remove_entry(s, e);
                start = s;
                end = end.max(e);
            }
        }
        // Absorb every range that starts inside or right after the new one.
        while let Some((&s, &e)) = self.ranges.range(start..=end).next() {
            self.remove_entry(s, e);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
        self.count += end - start;
    }

    fn remove_entry(&mut self, start: u64, end: u64) {
        self.ranges.remove(&start);
        self.count -= end - start;
    }

    /// Number of ids in the set.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: u64) -> bool {
        self.ranges
            .range(..=id)
            .next_back()
            .is_some_and(|(_, &end)| id < end)
    }

    /// The ranges, in increasing order.
    pub fn ranges(&self) -> impl Iterator<Item = SampleRange> + '_ {
        self.ranges.iter().map(|(&s, &e)| SampleRange::new(s, e))
    }

    /// The ranges of `within` that are not in this set, in increasing order.
    pub fn gaps(&self, within: SampleRange) -> Vec<SampleRange> {
        let mut gaps = Vec::new();
        let mut cursor = within.start;
        for range in self.ranges() {
            if range.end <= cursor {
                continue;
            }
            if range.start >= within.end {
                break;
            }
            if range.start > cursor {
                gaps.push(SampleRange::new(cursor, range.start));
            }
            cursor = range.end;
        }
        if cursor < within.end {
            gaps.push(SampleRange::new(cursor, within.end));
        }
        gaps
    }

    /// At most `limit` ranges as text, e.g. `0..40, 45, 50..60 (+3 more ranges)`.
    pub fn summary(&self, limit: usize) -> String {
        let total = self.ranges.len();
        let mut text = self
            .ranges()
            .take(limit)
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if total > limit {
            text.push_str(&format!(" (+{} more ranges)", total - limit));
        }
        text
    }
}

/// JSON and YAML see a set as its half-open ranges: `[[0, 40], [45, 46]]`.
impl serde::Serialize for RangeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.ranges().map(|r| [r.start, r.end]))
    }
}

impl fmt::Display for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesces_in_any_order() {
        let mut set = RangeSet::new();
        for id in [5, 1, 2, 9, 3, 0, 4, 7] {
            set.insert(id);
        }
        assert_eq!(set.to_string(), "0..6, 7, 9");
        assert_eq!(set.len(), 8);
        set.insert(8);
        assert_eq!(set.to_string(), "0..6, 7..10");
        set.insert(3);
        assert_eq!(set.len(), 9);
        assert!(set.contains(9) && !set.contains(6) && !set.contains(10));
    }

    #[test]
    fn merges_overlapping_ranges_and_finds_gaps() {
        let mut set = RangeSet::new();
        set.insert_range(SampleRange::new(10, 20));
        set.insert_range(SampleRange::new(30, 40));
        set.insert_range(SampleRange::new(15, 32));
        assert_eq!(set.to_string(), "10..40");
        assert_eq!(set.len(), 30);
        assert_eq!(
            set.gaps(SampleRange::new(0, 50)),
            vec![SampleRange::new(0, 10), SampleRange::new(40, 50)]
        );
        assert_eq!(set.summary(0), " (+1 more ranges)");
    }
}
