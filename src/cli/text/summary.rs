//! The lines at the end of a run: what the samples did, then what the
//! statistics pass wrote.

use std::fmt::Write as _;
use std::time::Duration;

use super::{failure_line, ranges_suffix, Style};
use crate::engine::accept::AcceptReport;
use crate::engine::adopt::Adopted;
use crate::engine::run::RunOptions;
use crate::engine::run::StatisticsOutcome;
use crate::engine::tally::RunTally;

/// Failure groups listed before "+N other reasons".
const REASONS_SHOWN: usize = 12;
/// Runs named among those that held claims.
const HOLDERS_SHOWN: usize = 3;

/// Counts, then failures grouped by block and kind, then skipped samples.
pub(in crate::cli) fn summary_text(tally: &RunTally, elapsed: Duration, style: Style) -> String {
    let counts = &tally.counts;
    let before = match counts.rejected_final {
        0 => String::new(),
        n => format!(", {n} rejected before (final)"),
    };
    let ended = match &tally.interrupted_by {
        Some(signal) => format!("interrupted by {signal} after"),
        None => "finished in".to_owned(),
    };
    let stopped = match counts.stopped {
        0 => String::new(),
        n => format!(", {n} stopped (left as they were)"),
    };
    let mut text = format!(
        "{ended} {:.1} s: {} completed, {} failed, {} rejected{stopped}, {} skipped, {} were \
         already complete{before}\n",
        elapsed.as_secs_f64(),
        counts.completed,
        counts.failed,
        counts.rejected,
        counts.skipped,
        counts.already_complete
    );
    if tally.interrupted_by.is_some() {
        text.push_str(
            "to resume, rerun the same command: it does only what is missing (complete \
             samples are kept, stopped ones go on from their last finished block)\n",
        );
    }
    if !tally.failures.is_empty() {
        text.push_str("failed samples by block and reason:\n");
        let rows = tally.failures.largest_first();
        for group in rows.iter().take(REASONS_SHOWN) {
            let _ = writeln!(text, "{}", style.warn(&failure_line(group)));
        }
        if rows.len() > REASONS_SHOWN {
            let _ = writeln!(text, "  (+{} other reasons)", rows.len() - REASONS_SHOWN);
        }
    }
    let claimed = &tally.claimed_samples;
    if !claimed.is_empty() {
        let holders = &tally.claimed_by;
        let shown: Vec<&str> = holders
            .iter()
            .take(HOLDERS_SHOWN)
            .map(String::as_str)
            .collect();
        let others = if holders.len() > shown.len() {
            " and others"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "skipped (claimed by another run): {}{}, held by {}{others}",
            claimed.len(),
            ranges_suffix(claimed),
            shown.join(", "),
        );
    }
    for (block, ids) in &tally.not_retried {
        let _ = writeln!(
            text,
            "left alone (--do-not-retry-blocks {block}): {}{}",
            ids.len(),
            ranges_suffix(ids)
        );
    }
    text
}

/// The last line of a run in which samples failed (it exits 3).
pub(in crate::cli) fn failed_samples_line(failed: u64, out: &std::path::Path) -> String {
    let samples = if failed == 1 { "sample" } else { "samples" };
    format!(
        "{failed} {samples} failed in this run (exit code 3): rerun the same command to retry \
         them; `shardgen analyze {}` lists them",
        crate::engine::gaps::shell_word(&out.to_string_lossy())
    )
}

/// The warnings and the result line of the statistics pass.
pub(in crate::cli) fn statistics_text(outcome: &StatisticsOutcome, style: Style) -> String {
    match outcome {
        StatisticsOutcome::Unchanged => "statistics unchanged: no sample changed since \
             statistics.yaml, plots/ and report.html were written\n"
            .to_owned(),
        StatisticsOutcome::Skipped { holder } => format!(
            "{} statistics not updated: run {holder} has been writing them for a whole lease; \
             rerun with --statistics-only once it is done\n",
            style.warn("warning:")
        ),
        StatisticsOutcome::Written {
            complete,
            seen,
            plots,
            statistics,
            plots_dir,
            report,
            warnings,
            ..
        } => {
            let mut text = String::new();
            for warning in warnings {
                let _ = writeln!(text, "{} {warning}", style.warn("warning:"));
            }
            let _ = writeln!(
                text,
                "statistics of {complete} complete samples (of {seen}) in {}, {plots} plot files \
                 in {}, the report in {}",
                statistics.display(),
                plots_dir.display(),
                report.display()
            );
            text
        }
    }
}

/// What `--accept-changes` did, or would do on a dry run.
pub(in crate::cli) fn accept_text(report: &AcceptReport, dry_run: bool) -> String {
    let blocks = report.blocks.join(", ");
    if dry_run {
        return format!(
            "--accept-changes would record the new fingerprint of {blocks} on {} of {} samples \
             (dry run: nothing changed)\n",
            report.accepted.len(),
            report.targeted
        );
    }
    let samples = if report.accepted.is_empty() {
        String::new()
    } else {
        format!(": {}", report.accepted.summary(8))
    };
    let elsewhere = match report.claimed_elsewhere {
        0 => String::new(),
        n => format!("; {n} were claimed by another run"),
    };
    format!(
        "accepted changes: new fingerprint of {blocks} recorded on {} samples{samples}; {} \
         targeted samples were not complete under the old fingerprint and were left as they \
         are{elsewhere}\n",
        report.accepted.len(),
        report.left_alone()
    )
}

/// What `--adopt` found.
pub(in crate::cli) fn adopt_text(adopted: &Adopted, options: &RunOptions) -> String {
    format!(
        "adopted {}: its records vouched for {} of {} samples (made by {}); a new .shardgen/ is \
         written, the other samples are redone",
        options.out.display(),
        adopted.vouched,
        adopted.seen,
        options.config.display()
    )
}
