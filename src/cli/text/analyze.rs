//! `shardgen analyze DIR` and `--sample N` as text for people.

use std::fmt::Write as _;

use super::{failure_line, Style};
use crate::block::StatValue;
use crate::dataset::state::BlockState;
use crate::engine::analyze::{Analysis, SampleDetail};
use crate::failures::FailureGroups;
use crate::ranges::SampleRange;

/// The pipeline, the samples present, a per-block table, failures grouped by
/// kind, damaged records and the commands that fill the gaps.
pub(in crate::cli) fn analysis_text(analysis: &Analysis, style: Style) -> String {
    let mut text = format!(
        "dataset {} (master seed {})\npipeline:\n",
        analysis.dataset.display(),
        analysis.seed
    );
    for block in &analysis.pipeline {
        let optional = if block.optional_outputs.is_empty() {
            String::new()
        } else {
            format!(" + optional [{}]", block.optional_outputs.join(", "))
        };
        let _ = writeln!(
            text,
            "  {} ({}): inputs [{}] -> outputs [{}]{optional}",
            block.name,
            block.type_name,
            block.inputs.join(", "),
            block.outputs.join(", "),
        );
    }
    let ranges: Vec<String> = analysis
        .ranges
        .iter()
        .map(|[s, e]| SampleRange::new(*s, *e).to_string())
        .collect();
    let samples = &analysis.samples;
    let _ = writeln!(
        text,
        "samples present: {} [{}]\n  complete {}, failed {}, rejected {}, incomplete {}",
        samples.present,
        ranges.join(", "),
        samples.complete,
        samples.failed,
        samples.rejected,
        samples.incomplete
    );
    text.push_str("blocks:          complete     failed   rejected    missing      stale\n");
    for block in &analysis.blocks {
        let counts = &block.counts;
        let _ = writeln!(
            text,
            "  {:<12} {:>10} {:>10} {:>10} {:>10} {:>10}",
            block.name,
            counts.complete,
            counts.failed,
            counts.rejected,
            counts.missing,
            counts.stale
        );
    }
    if !analysis.failures.is_empty() {
        let mut groups = FailureGroups::new();
        for failure in &analysis.failures {
            groups.add(&failure.block, &failure.reason, failure.sample);
        }
        text.push_str("failures:\n");
        for group in groups.largest_first() {
            let _ = writeln!(text, "{}", style.warn(&failure_line(group)));
        }
    }
    if !analysis.damaged.is_empty() {
        let count: u64 = analysis.damaged.iter().map(|[s, e]| e - s).sum();
        let _ = writeln!(
            text,
            "damaged records: {count} (these samples will be redone)"
        );
    }
    if analysis.commands.is_empty() {
        text.push_str("nothing to do: every sample targeted so far is complete\n");
    } else {
        text.push_str("to complete every sample targeted so far:\n");
        for command in &analysis.commands {
            let _ = writeln!(text, "  {command}");
        }
    }
    text
}

/// Each block's state, reason, seed, wall time and statistics.
pub(in crate::cli) fn sample_text(detail: &SampleDetail) -> String {
    let mut text = format!("sample {} in {}\n", detail.sample, detail.dataset.display());
    if let Some(why) = &detail.damaged {
        let _ = writeln!(text, "record damaged: {why}; every block counts as missing");
    }
    for block in &detail.blocks {
        let status = match &block.state {
            BlockState::Complete => "complete".to_owned(),
            BlockState::Failed(reason) => format!("failed: {reason}"),
            BlockState::Rejected(reason) => format!("rejected: {reason}"),
            BlockState::Stale => "stale (made by another version of the pipeline)".to_owned(),
            BlockState::Missing => "missing".to_owned(),
        };
        let _ = writeln!(text, "  {}: {status}\n    seed {}", block.name, block.seed);
        if let Some(seconds) = block.seconds {
            let _ = writeln!(text, "    last wall time {seconds:.3} s");
        }
        for (key, value) in &block.stats {
            let value = match value {
                StatValue::Number(n) => n.to_string(),
                StatValue::Text(s) => s.clone(),
            };
            let _ = writeln!(text, "    {key} = {value}");
        }
        if let Some(log) = &block.failure_log {
            let _ = writeln!(
                text,
                "    log of the failed attempt: {}",
                log.path.display()
            );
            for line in &log.tail {
                let _ = writeln!(text, "      | {line}");
            }
        }
    }
    text
}
