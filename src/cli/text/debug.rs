//! What `shardgen debug` prints: per block, how it ended and where to look.

use std::fmt::Write as _;

use crate::block::StatValue;
use crate::dataset::record::BlockStatus;
use crate::engine::debug::DebugReport;

/// One paragraph per block that ran, then where the sample folder is.
pub(in crate::cli) fn debug_text(report: &DebugReport) -> String {
    let mut text = format!(
        "sample {} into {}\n",
        report.sample,
        report.scratch.display()
    );
    for block in &report.blocks {
        let status = match (block.status, &block.reason) {
            (BlockStatus::Ok, _) => "ok".to_owned(),
            (BlockStatus::Failed, reason) => format!("failed: {}", reason.as_deref().unwrap_or("")),
            (BlockStatus::Rejected, reason) => {
                format!("rejected: {}", reason.as_deref().unwrap_or(""))
            }
        };
        let _ = writeln!(
            text,
            "  {}: {status} ({:.3} s, seed {})\n    wrote {}/out/, printed {}/output.log",
            block.name,
            block.seconds,
            block.seed,
            block.folder.display(),
            block.folder.display()
        );
        for (key, value) in &block.stats {
            let value = match value {
                StatValue::Number(n) => n.to_string(),
                StatValue::Text(s) => s.clone(),
            };
            let _ = writeln!(text, "    {key} = {value}");
        }
    }
    let _ = writeln!(
        text,
        "the sample folder as the chain built it: {}",
        report.sample_dir.display()
    );
    text
}
