//! What `shardgen export` tells a person.

use crate::export::ExportReport;

/// The report in words, for the CLI: one line, plus one for skipped samples.
pub(in crate::cli) fn export_text(report: &ExportReport) -> String {
    let mut text = format!(
        "exported {} samples into {} shards in {} ({} written, {} kept{}), {:.1} MiB\n",
        report.samples,
        report.shards,
        report.out.display(),
        report.written,
        report.kept,
        match report.removed {
            0 => String::new(),
            n => format!(", {n} old removed"),
        },
        report.bytes as f64 / (1024.0 * 1024.0),
    );
    if report.skipped > 0 {
        text.push_str(&format!(
            "  not exported: {} not complete (see `shardgen analyze`)\n",
            match report.skipped {
                1 => "1 sample".to_owned(),
                n => format!("{n} samples"),
            }
        ));
    }
    text
}
