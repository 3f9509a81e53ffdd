//! Every text shardgen shows a person, rendered from the engine's reports:
//! the plan, the end-of-run summary, merge and analyze texts, the block
//! listing. The engine cannot reach these: they are `pub(in crate::cli)`.

pub(in crate::cli) mod analyze;
pub(in crate::cli) mod blocks;
pub(in crate::cli) mod debug;
pub(in crate::cli) mod export;
pub(in crate::cli) mod merge;
pub(in crate::cli) mod plan;
pub(in crate::cli) mod summary;
pub(in crate::cli) mod upgrade;
pub(in crate::cli) mod verify;

use crate::ranges::RangeSet;

/// How many ranges a line lists before it says "+N more".
const RANGES_SHOWN: usize = 6;

/// ` [0..40, 45]`, or nothing for an empty set.
fn ranges_suffix(ids: &RangeSet) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" [{}]", ids.summary(RANGES_SHOWN))
    }
}

/// `  block: N x example (and similar) [ranges]`: one failure group, as the
/// summary and analyze show it.
fn failure_line(group: &crate::failures::FailureGroup) -> String {
    let similar = if group.varied { " (and similar)" } else { "" };
    format!(
        "  {}: {} x {}{similar}{}",
        group.block,
        group.count,
        group.example,
        ranges_suffix(&group.samples)
    )
}

/// ANSI styling, or none: chosen once by the CLI from `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(in crate::cli) struct Style {
    /// Whether to emit colour codes.
    pub(in crate::cli) color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Red and bold: `error:`.
    pub(in crate::cli) fn error(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Yellow: warnings and failures.
    pub(in crate::cli) fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Bold: headings.
    pub(in crate::cli) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}
