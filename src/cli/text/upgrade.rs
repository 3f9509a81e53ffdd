//! What `shardgen upgrade` tells a person.

use crate::engine::upgrade::UpgradeReport;

/// The report in words: one line, plus one if `report.html` is outdated.
pub(in crate::cli) fn upgrade_text(report: &UpgradeReport) -> String {
    let dir = report.dataset.display();
    if report.from_layout == report.layout && report.moved == 0 {
        return format!(
            "{dir} is already in the bucketed layout (layout {}); nothing to do\n",
            report.layout
        );
    }
    let samples = match report.moved {
        1 => "1 sample folder".to_owned(),
        n => format!("{n} sample folders"),
    };
    let buckets = match report.buckets_created {
        1 => "1 new bucket".to_owned(),
        n => format!("{n} new buckets"),
    };
    let mut text = format!(
        "upgraded {dir} to layout {}: moved {samples} into their buckets ({buckets}); nothing deleted\n",
        report.layout
    );
    if report.report_outdated {
        text.push_str(&format!(
            "  report.html still links to the old folders: the next run rewrites it, or run \
             `shardgen report {dir}`\n"
        ));
    }
    text
}
