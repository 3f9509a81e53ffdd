//! What `shardgen verify` tells a person: how much was checked, the damaged
//! samples by kind as ranges, the first damaged files, and the commands that
//! redo them.

use std::fmt::Write as _;

use super::{ranges_suffix, Style};
use crate::engine::verify::{ProblemKind, VerifyReport};

/// Damaged files listed in the text (`--json` lists more).
const FILES_SHOWN: usize = 20;

/// Renders a verify report.
pub(in crate::cli) fn verify_text(report: &VerifyReport, style: Style) -> String {
    let mut text = format!(
        "verified {}: {} sample{}, {} file{}, {} read in {:.1} s\n",
        report.dataset.display(),
        report.samples,
        plural(report.samples),
        report.files,
        plural(report.files),
        bytes(report.bytes),
        report.seconds
    );
    let damaged = report.damaged();
    if damaged.is_empty() {
        let _ = writeln!(text, "  no damage found");
    } else {
        let _ = writeln!(
            text,
            "  {}{}",
            style.warn(&format!(
                "damaged: {} sample{}",
                damaged.len(),
                plural(damaged.len())
            )),
            ranges_suffix(&damaged)
        );
    }
    for (label, set) in [
        ("missing files", &report.missing),
        ("truncated or extended files", &report.truncated),
        ("files changed in place", &report.changed),
        ("damaged records", &report.damaged_records),
    ] {
        if !set.is_empty() {
            let _ = writeln!(text, "    {label}: {}{}", set.len(), ranges_suffix(set));
        }
    }
    for problem in report.problems.iter().take(FILES_SHOWN) {
        let what = match (problem.problem, problem.size, problem.recorded_size) {
            (ProblemKind::Missing, ..) => "is missing".to_owned(),
            (ProblemKind::Truncated, Some(size), Some(recorded)) => {
                format!("has {size} bytes, the record says {recorded}")
            }
            (ProblemKind::Truncated, ..) => "has another size than recorded".to_owned(),
            (ProblemKind::Changed, ..) => "changed in place (same size, digest differs)".to_owned(),
        };
        let _ = writeln!(
            text,
            "    sample {}, block '{}': '{}' {what}",
            problem.sample, problem.block, problem.path
        );
    }
    let unlisted = report.damaged_files.saturating_sub(FILES_SHOWN as u64);
    if unlisted > 0 {
        let _ = writeln!(
            text,
            "    ... and {unlisted} more damaged files (--json lists up to 1000)"
        );
    }
    if !report.unverified.is_empty() {
        let _ = writeln!(
            text,
            "  recorded before digests (presence checked only): {}{}",
            report.unverified.len(),
            ranges_suffix(&report.unverified)
        );
    }
    if !report.commands.is_empty() {
        let _ = writeln!(text, "to redo the damaged samples:");
        for command in &report.commands {
            let _ = writeln!(text, "  {command}");
        }
    }
    text
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `512 B`, `3.1 MB`, `2.0 GB` (powers of 1000).
fn bytes(n: u64) -> String {
    match n {
        n if n < 1000 => format!("{n} B"),
        n if n < 1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        n if n < 1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n => format!("{:.1} GB", n as f64 / 1e9),
    }
}
