//! The plan printed before a run starts, and by `--dry-run`.

use std::fmt::Write as _;

use super::{ranges_suffix, Style};
use crate::engine::plan::RunReason;
use crate::engine::run::Plan;

/// Per block, how many samples run and why.
pub(in crate::cli) fn plan_text(plan: &Plan, style: Style) -> String {
    let summary = &plan.summary;
    let mut text = style.bold(&format!(
        "plan for {} samples ({}):",
        summary.targeted, plan.target
    ));
    let _ = writeln!(
        text,
        "\n  already complete: {}{}",
        summary.complete.len(),
        ranges_suffix(&summary.complete)
    );
    for (&block, reasons) in &summary.runs {
        let _ = write!(
            text,
            "  {}: {} to run:",
            plan.blocks[block],
            plan.to_run(block)
        );
        let parts: Vec<String> = reasons
            .iter()
            .map(|(reason, ids)| {
                let why = match (reason, plan.changes.get(block).and_then(Option::as_ref)) {
                    (RunReason::Stale, Some(change)) => format!("stale ({change})"),
                    _ => reason.label().to_owned(),
                };
                format!(" {why} {}{}", ids.len(), ranges_suffix(ids))
            })
            .collect();
        let _ = writeln!(text, "{}", parts.join(";"));
    }
    for (&block, ids) in &summary.rejected {
        let _ = writeln!(
            text,
            "  {}: rejected (final) {}{}: not run again until the block changes or \
             --force-run-blocks/--rerun-failed names them",
            plan.blocks[block],
            ids.len(),
            ranges_suffix(ids)
        );
    }
    if !summary.not_selected.is_empty() {
        let _ = writeln!(
            text,
            "  not selected by --rerun-failed: {}{}",
            summary.not_selected.len(),
            ranges_suffix(&summary.not_selected)
        );
    }
    for (&block, ids) in &summary.not_retried {
        let _ = writeln!(
            text,
            "  {}: {} left alone (--do-not-retry-blocks){}",
            plan.blocks[block],
            ids.len(),
            ranges_suffix(ids)
        );
    }
    if !summary.damaged.is_empty() {
        let line = format!(
            "  damaged records: {}{}: these samples rerun from their first block",
            summary.damaged.len(),
            ranges_suffix(&summary.damaged)
        );
        let _ = writeln!(text, "{}", style.warn(&line));
    }
    if summary.runs.is_empty() {
        text.push_str("  nothing to run\n");
    }
    text
}
