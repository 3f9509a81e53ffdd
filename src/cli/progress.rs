//! Everything a run tells a person, on stderr: the plan before it starts,
//! live progress, and the summary at the end; and the report of a merge.
//! The engine reports through [`Observer`] events; nothing else prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::dataset::record::BlockStatus;
use crate::engine::execute::{Observer, SampleOutcome};
use crate::engine::merge::MergeSummary;
use crate::engine::plan::PlanSummary;
use crate::ranges::{RangeSet, SampleRange};

/// How many ranges a summary line lists before it says "+N more".
const RANGES_SHOWN: usize = 6;
/// How many distinct failure reasons the summary lists per run.
const REASONS_SHOWN: usize = 12;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live line, redrawn in place (stderr is a terminal).
    Bar,
    /// A plain line every few seconds (logs, CI, batch jobs).
    Lines,
    /// Nothing but errors.
    Quiet,
}

impl ProgressMode {
    /// Picks the mode from `--quiet` and whether stderr is a terminal.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            ProgressMode::Quiet
        } else if std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_some_and(|t| t != "dumb")
        {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// Renders a plan summary: per block, how many samples run and why.
pub fn plan_text(
    summary: &PlanSummary,
    block_names: &[String],
    changes: &[Option<String>],
    target: &str,
) -> String {
    let mut text = format!(
        "plan for {} samples ({target}):\n  already complete: {}{}\n",
        summary.targeted,
        summary.complete.len(),
        ranges_suffix(&summary.complete)
    );
    for (&block, reasons) in &summary.runs {
        let total: RangeSet = union(reasons.values());
        let _ = write!(text, "  {}: {} to run:", block_names[block], total.len());
        let parts: Vec<String> = reasons
            .iter()
            .map(|(reason, ids)| {
                let why = match (reason, changes.get(block).and_then(Option::as_ref)) {
                    (crate::engine::plan::RunReason::Stale, Some(change)) => {
                        format!("stale ({change})")
                    }
                    _ => reason.label().to_owned(),
                };
                format!(" {why} {}{}", ids.len(), ranges_suffix(ids))
            })
            .collect();
        let _ = writeln!(text, "{}", parts.join(";"));
    }
    for (&block, ids) in &summary.not_retried {
        let _ = writeln!(
            text,
            "  {}: {} left alone (--do-not-retry-blocks){}",
            block_names[block],
            ids.len(),
            ranges_suffix(ids)
        );
    }
    if !summary.damaged.is_empty() {
        let _ = writeln!(
            text,
            "  damaged records: {}{}: these samples rerun from their first block",
            summary.damaged.len(),
            ranges_suffix(&summary.damaged)
        );
    }
    if summary.runs.is_empty() {
        text.push_str("  nothing to run\n");
    }
    text
}

/// Commands to fill gaps listed one by one before one command covers them all.
const GAP_COMMANDS_SHOWN: usize = 10;

/// Renders what `shardgen merge` did: the samples merged, the conflicts
/// skipped, the gaps left and the `shardgen run` commands that fill them.
pub fn merge_text(summary: &MergeSummary) -> String {
    let into = summary.into.display();
    let verb = if summary.moved { "moved" } else { "copied" };
    let mut text = format!(
        "merged {} shard{} into {into}: {} samples present{}\n",
        summary.shards,
        if summary.shards == 1 { "" } else { "s" },
        summary.present.len(),
        ranges_suffix(&summary.present)
    );
    let _ = writeln!(
        text,
        "  {verb}: {}{}",
        summary.brought.len(),
        ranges_suffix(&summary.brought)
    );
    if !summary.replaced.is_empty() {
        let _ = writeln!(
            text,
            "  replaced by a copy further along: {}{}",
            summary.replaced.len(),
            ranges_suffix(&summary.replaced)
        );
    }
    if summary.left_out > 0 {
        let _ = writeln!(
            text,
            "  shard copies left out (identical to or behind the copy kept): {}",
            summary.left_out
        );
    }
    if summary.run_files > 0 {
        let _ = writeln!(text, "  run log files {verb}: {}", summary.run_files);
    }
    if !summary.conflicts.is_empty() {
        let _ = writeln!(text, "  conflicts skipped: {}", summary.conflicts.len());
    }
    for conflict in &summary.conflicts {
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
    let (Some(first), Some(last)) = (
        summary.present.ranges().next(),
        summary.present.ranges().last(),
    ) else {
        return text;
    };
    let within = SampleRange::new(first.start, last.end);
    if summary.gaps.is_empty() {
        let _ = writeln!(text, "gaps: none in {within}");
        return text;
    }
    let mut missing = RangeSet::new();
    summary
        .gaps
        .iter()
        .for_each(|&gap| missing.insert_range(gap));
    let _ = writeln!(
        text,
        "gaps in {within}: {} samples{}\nfill them with:",
        missing.len(),
        ranges_suffix(&missing)
    );
    let out = shell_word(&summary.into.to_string_lossy());
    let command = |range: SampleRange| {
        format!(
            "  shardgen run <config> --out {out} --start-sample {} --num-samples {}\n",
            range.start,
            range.len()
        )
    };
    if summary.gaps.len() <= GAP_COMMANDS_SHOWN {
        summary
            .gaps
            .iter()
            .for_each(|&gap| text.push_str(&command(gap)));
    } else {
        let _ = writeln!(
            text,
            "  (one command for all {} gaps; the samples present are skipped)",
            summary.gaps.len()
        );
        text.push_str(&command(within));
    }
    text
}

/// `word` quoted for a POSIX shell when it needs quoting.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn union<'a>(sets: impl Iterator<Item = &'a RangeSet>) -> RangeSet {
    let mut all = RangeSet::new();
    for set in sets {
        for range in set.ranges() {
            all.insert_range(range);
        }
    }
    all
}

fn ranges_suffix(ids: &RangeSet) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" [{}]", ids.summary(RANGES_SHOWN))
    }
}

/// Counts and failures gathered while a run goes.
#[derive(Default)]
struct Tally {
    completed: u64,
    already_complete: u64,
    failed: u64,
    rejected: u64,
    skipped: u64,
    /// (block, reason kind) -> failures of that kind.
    failures: BTreeMap<(String, String), FailureGroup>,
    /// block -> samples left alone.
    not_retried: BTreeMap<String, RangeSet>,
    /// Samples claimed by another live run, and those runs.
    claimed_elsewhere: (RangeSet, BTreeSet<String>),
}

/// Failures whose reasons differ only in numbers.
#[derive(Default)]
struct FailureGroup {
    /// The first reason seen, shown as the example.
    example: String,
    /// Whether other reasons of this kind differ from the example.
    varied: bool,
    samples: RangeSet,
}

impl Tally {
    fn add_failure(&mut self, block: &str, reason: &str, sample: u64) {
        let key = (block.to_owned(), crate::dataset::state::reason_kind(reason));
        let group = self.failures.entry(key).or_default();
        if group.samples.is_empty() {
            group.example = reason.to_owned();
        } else if group.example != reason {
            group.varied = true;
        }
        group.samples.insert(sample);
    }
}

/// Live progress and the end-of-run summary. Implements [`Observer`].
pub struct Reporter {
    block_names: Vec<String>,
    total: u64,
    done: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    started: Instant,
    tally: Mutex<Tally>,
    ticker: Option<thread::JoinHandle<()>>,
}

impl Reporter {
    /// Starts reporting on a run of `total` samples.
    pub fn start(mode: ProgressMode, total: u64, block_names: Vec<String>) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let ticker = (mode != ProgressMode::Quiet && total > 0).then(|| {
            let (done, failed, stop) = (done.clone(), failed.clone(), stop.clone());
            thread::spawn(move || tick(mode, total, started, &done, &failed, &stop))
        });
        Self {
            block_names,
            total,
            done,
            failed,
            stop,
            started,
            tally: Mutex::new(Tally::default()),
            ticker,
        }
    }

    /// Stops the progress display; the counts of the run and the summary text.
    /// `complete_before` is the number of samples the scan found complete
    /// (they never reach the reporter).
    pub fn finish(mut self, complete_before: u64) -> (crate::dataset::runlog::RunCounts, String) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
        let mut tally = self
            .tally
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        tally.already_complete += complete_before;
        let counts = crate::dataset::runlog::RunCounts {
            targeted: self.total,
            already_complete: tally.already_complete,
            completed: tally.completed,
            failed: tally.failed,
            rejected: tally.rejected,
            skipped: tally.skipped,
            claimed_elsewhere: tally.claimed_elsewhere.0.len(),
        };
        let text = summary_text(&tally, self.started.elapsed(), &self.block_names);
        (counts, text)
    }
}

impl Observer for Reporter {
    fn block_finished(&self, _sample: u64, _block: &str, _status: BlockStatus, _seconds: f64) {}

    fn sample_finished(&self, sample: u64, outcome: &SampleOutcome) {
        self.done.fetch_add(1, Ordering::Relaxed);
        let Ok(mut tally) = self.tally.lock() else {
            return;
        };
        match outcome {
            SampleOutcome::Completed => tally.completed += 1,
            SampleOutcome::AlreadyComplete => tally.already_complete += 1,
            SampleOutcome::Failed {
                block,
                rejected,
                reason,
            } => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                tally.failed += 1;
                tally.rejected += u64::from(*rejected);
                let reason = if *rejected {
                    format!("rejected: {reason}")
                } else {
                    reason.clone()
                };
                tally.add_failure(&self.block_names[*block], &reason, sample);
            }
            SampleOutcome::NotRetried { block, failure } => {
                if let Some(reason) = failure {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    tally.failed += 1;
                    tally.add_failure(&self.block_names[*block], reason, sample);
                } else {
                    tally.skipped += 1;
                }
                let name = self.block_names[*block].clone();
                tally.not_retried.entry(name).or_default().insert(sample);
            }
            SampleOutcome::ClaimedElsewhere { holder } => {
                tally.claimed_elsewhere.0.insert(sample);
                tally.claimed_elsewhere.1.insert(holder.clone());
            }
        }
    }
}

fn tick(
    mode: ProgressMode,
    total: u64,
    started: Instant,
    done: &AtomicU64,
    failed: &AtomicU64,
    stop: &AtomicBool,
) {
    let interval = match mode {
        ProgressMode::Bar => Duration::from_millis(200),
        _ => Duration::from_secs(10),
    };
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50));
        if last.elapsed() < interval {
            continue;
        }
        last = Instant::now();
        let line = progress_line(
            total,
            done.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
            started.elapsed(),
        );
        let mut err = std::io::stderr().lock();
        let _ = match mode {
            ProgressMode::Bar => write!(err, "\r\x1b[2K{line}"),
            _ => writeln!(err, "progress: {line}"),
        };
        let _ = err.flush();
    }
    if mode == ProgressMode::Bar {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

fn progress_line(total: u64, done: u64, failed: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let rate = done as f64 / seconds;
    let eta = if rate > 0.0 {
        format!("{:.0} s", (total - done.min(total)) as f64 / rate)
    } else {
        "?".to_owned()
    };
    format!("{done}/{total} samples, {rate:.1}/s, ETA {eta}, {failed} failed")
}

fn summary_text(tally: &Tally, elapsed: Duration, _blocks: &[String]) -> String {
    let rejected = match tally.rejected {
        0 => String::new(),
        n if n == tally.failed => " (all rejected by validation)".to_owned(),
        n => format!(" ({n} of them rejected by validation)"),
    };
    let mut text = format!(
        "finished in {:.1} s: {} completed, {} failed{rejected}, {} skipped, {} were already \
         complete\n",
        elapsed.as_secs_f64(),
        tally.completed,
        tally.failed,
        tally.skipped,
        tally.already_complete
    );
    if !tally.failures.is_empty() {
        text.push_str("failed samples by block and reason:\n");
        let mut rows: Vec<_> = tally.failures.iter().collect();
        rows.sort_by(|a, b| b.1.samples.len().cmp(&a.1.samples.len()).then(a.0.cmp(b.0)));
        for ((block, _), group) in rows.iter().take(REASONS_SHOWN) {
            let similar = if group.varied { " (and similar)" } else { "" };
            let _ = writeln!(
                text,
                "  {block}: {} x {}{similar}{}",
                group.samples.len(),
                group.example,
                ranges_suffix(&group.samples)
            );
        }
        if rows.len() > REASONS_SHOWN {
            let _ = writeln!(text, "  (+{} other reasons)", rows.len() - REASONS_SHOWN);
        }
    }
    let (claimed, holders) = &tally.claimed_elsewhere;
    if !claimed.is_empty() {
        let shown: Vec<&str> = holders.iter().take(3).map(String::as_str).collect();
        let _ = writeln!(
            text,
            "skipped (claimed by another run): {}{}, held by {}{}",
            claimed.len(),
            ranges_suffix(claimed),
            shown.join(", "),
            if holders.len() > shown.len() {
                " and others"
            } else {
                ""
            }
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
