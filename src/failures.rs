//! Failure reasons grouped by kind: the one normaliser behind the run
//! summary, `analyze`, `statistics.yaml` and the failures chart, so all of
//! them count the same groups.
//!
//! A reason's *kind* is the reason without the parts that differ from sample
//! to sample: every word holding a digit (ids, percentages, exit codes,
//! sample folders) and every parenthesised group holding one. So the demo's
//! `object 3 (star) is below min_visible_fraction 0.1 (4.1% visible)` is of
//! the kind `object (star) is below min_visible_fraction`, one per block and
//! class, however many samples it rejects.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ranges::RangeSet;

/// What a recorded reason of a rejected sample starts with, wherever a
/// rejection is shown among failures.
pub(crate) const REJECTED_PREFIX: &str = "rejected: ";

/// The kind of a failure reason (see the module doc).
pub fn reason_kind(reason: &str) -> String {
    let mut kept: Vec<String> = Vec::new();
    for unit in units(reason) {
        if !unit.bytes().any(|b| b.is_ascii_digit()) {
            kept.push(unit.to_owned());
        } else if unit.ends_with(':') {
            // Keep the colon of a dropped word: "exit code 3: boom" -> "exit code: boom".
            if let Some(last) = kept.last_mut().filter(|w| !w.ends_with(':')) {
                last.push(':');
            }
        }
    }
    let kind = kept.join(" ");
    let kind = kind.trim_end_matches([',', ';']);
    if kind.is_empty() || kind == REJECTED_PREFIX.trim_end() {
        format!("{kind}{}#", if kind.is_empty() { "" } else { " " })
    } else {
        kind.to_owned()
    }
}

/// The words of `text`, a parenthesised group of words counting as one.
fn units(text: &str) -> Vec<&str> {
    let mut units = Vec::new();
    let mut open: Option<usize> = None;
    for (start, word) in words_with_offsets(text) {
        match open {
            Some(group_start) if word.ends_with(')') => {
                units.push(&text[group_start..start + word.len()]);
                open = None;
            }
            Some(_) => {}
            None if word.starts_with('(') && !word.ends_with(')') => open = Some(start),
            None => units.push(word),
        }
    }
    if let Some(group_start) = open {
        units.push(&text[group_start..]);
    }
    units
}

fn words_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace()
        .map(move |word| (word.as_ptr() as usize - text.as_ptr() as usize, word))
}

/// The failures of one block and one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FailureGroup {
    /// The block.
    pub block: String,
    /// The kind ([`reason_kind`]).
    pub kind: String,
    /// The reason of the lowest sample of the group, as an example: the same
    /// whatever order the samples finished in.
    pub example: String,
    /// Whether other reasons of this kind differ from the example.
    pub varied: bool,
    /// How many samples failed so.
    pub count: u64,
    /// The samples, as half-open ranges.
    pub samples: RangeSet,
}

/// Failures grouped by block and kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailureGroups {
    groups: BTreeMap<(String, String), FailureGroup>,
}

impl FailureGroups {
    /// No failures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds sample `sample`, failed in `block` for `reason` (rejections with
    /// [`REJECTED_PREFIX`]).
    pub fn add(&mut self, block: &str, reason: &str, sample: u64) {
        let kind = reason_kind(reason);
        let group = self
            .groups
            .entry((block.to_owned(), kind.clone()))
            .or_insert_with(|| FailureGroup {
                block: block.to_owned(),
                kind,
                example: reason.to_owned(),
                ..FailureGroup::default()
            });
        group.varied |= group.example != reason;
        let lowest = group.samples.ranges().next().map(|r| r.start);
        if lowest.is_some_and(|lowest| sample < lowest) {
            group.example = reason.to_owned();
        }
        group.count += 1;
        group.samples.insert(sample);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups, the largest first (ties by block and kind).
    pub fn largest_first(&self) -> Vec<&FailureGroup> {
        let mut rows: Vec<&FailureGroup> = self.groups.values().collect();
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.block, &a.kind).cmp(&(&b.block, &b.kind)))
        });
        rows
    }
}

impl Serialize for FailureGroups {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.largest_first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_drop_what_differs_per_sample() {
        assert_eq!(
            reason_kind("object 3 (star) is below min_visible_fraction 0.1 (4.1% visible)"),
            "object (star) is below min_visible_fraction"
        );
        assert_eq!(
            reason_kind(
                "rejected: object 12 (circle) is below min_visible_fraction 0.1 (0.0% visible)"
            ),
            "rejected: object (circle) is below min_visible_fraction"
        );
        assert_eq!(
            reason_kind("exit code 3: boom | cleanup 2"),
            "exit code: boom | cleanup"
        );
        assert_eq!(reason_kind("timed out after 5 s"), "timed out after s");
        assert_eq!(
            reason_kind("missing output 'a.txt' (not written)"),
            "missing output 'a.txt' (not written)"
        );
        assert_eq!(reason_kind("42"), "#");
    }

    #[test]
    fn groups_count_by_block_and_kind_largest_first() {
        let mut groups = FailureGroups::new();
        groups.add("b", "exit code 1: x", 4);
        groups.add("a", "object 1 (star) is below m 0.1 (3% visible)", 1);
        groups.add("a", "object 2 (star) is below m 0.1 (4% visible)", 2);
        groups.add("a", "object 2 (circle) is below m 0.1 (4% visible)", 3);
        groups.add("a", "object 9 (star) is below m 0.1 (1% visible)", 0);
        let rows = groups.largest_first();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].kind, "object (star) is below m");
        assert_eq!(rows[0].count, 3);
        assert!(rows[0].varied);
        assert_eq!(rows[0].samples.summary(4), "0..3");
        assert_eq!(
            rows[0].example,
            "object 9 (star) is below m 0.1 (1% visible)"
        );
        assert_eq!(rows[1].block, "a");
        assert_eq!(rows[2].block, "b");
        let json = serde_json::to_value(&groups).unwrap();
        assert_eq!(json[0]["samples"], serde_json::json!([[0, 3]]));
    }
}
