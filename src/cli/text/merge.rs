//! What `shardgen merge` tells a person: the samples merged, the conflicts
//! skipped, the gaps left and the commands that fill them.

use std::fmt::Write as _;

use super::ranges_suffix;
use crate::engine::merge::MergeReport;
use crate::ranges::{RangeSet, SampleRange};

/// Renders a merge report.
pub(in crate::cli) fn merge_text(report: &MergeReport) -> String {
    let into = report.into.display();
    let verb = if report.moved { "moved" } else { "copied" };
    let mut text = format!(
        "merged {} shard{} into {into}: {} samples present{}\n",
        report.shards,
        if report.shards == 1 { "" } else { "s" },
        report.present.len(),
        ranges_suffix(&report.present)
    );
    let _ = writeln!(
        text,
        "  {verb}: {}{}",
        report.brought.len(),
        ranges_suffix(&report.brought)
    );
    if !report.replaced.is_empty() {
        let _ = writeln!(
            text,
            "  replaced by a copy further along: {}{}",
            report.replaced.len(),
            ranges_suffix(&report.replaced)
        );
    }
    if report.left_out > 0 {
        let _ = writeln!(
            text,
            "  shard copies left out (identical to or behind the copy kept): {}",
            report.left_out
        );
    }
    if report.failure_logs > 0 {
        let _ = writeln!(text, "  failure logs {verb}: {}", report.failure_logs);
    }
    if report.run_files > 0 {
        let _ = writeln!(text, "  run log files {verb}: {}", report.run_files);
    }
    if !report.conflicts.is_empty() {
        let _ = writeln!(text, "  conflicts skipped: {}", report.conflicts.len());
    }
    for conflict in &report.conflicts {
        let outcome = if conflict.kept_in_dir {
            format!("kept {into}'s copy")
        } else {
            format!("left out of {into}")
        };
        let _ = writeln!(
            text,
            "    sample {}: {} and {} conflict ({}); {outcome}",
            conflict.sample,
            conflict.first.display(),
            conflict.second.display(),
            conflict.difference
        );
    }
    if let Some(signal) = &report.interrupted_by {
        let _ = writeln!(
            text,
            "interrupted by {signal}: {} samples not merged yet{}; every sample in {into} is \
             whole; run the same merge again to finish it",
            report.not_merged.len(),
            ranges_suffix(&report.not_merged)
        );
        return text;
    }
    let (Some(first), Some(last)) = (
        report.present.ranges().next(),
        report.present.ranges().last(),
    ) else {
        return text;
    };
    let within = SampleRange::new(first.start, last.end);
    if report.gaps.is_empty() {
        let _ = writeln!(text, "gaps: none in {within}");
        return text;
    }
    let mut missing = RangeSet::new();
    report
        .gaps
        .iter()
        .for_each(|&gap| missing.insert_range(gap));
    let _ = writeln!(
        text,
        "gaps in {within}: {} samples{}\nfill them with:",
        missing.len(),
        ranges_suffix(&missing)
    );
    if report.commands.len() < report.gaps.len() {
        let _ = writeln!(
            text,
            "  (one command for all {} gaps; the samples present are skipped)",
            report.gaps.len()
        );
    }
    for command in &report.commands {
        let _ = writeln!(text, "  {command}");
    }
    text
}
