//! Live progress on stderr, as a [`RunObserver`]: a line redrawn in place on
//! a terminal, a timestamped line every few seconds in logs, or nothing.
//! When the samples are done it prints the run's summary.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::text::summary::summary_text;
use super::text::Style;
use crate::engine::execute::SampleOutcome;
use crate::engine::run::{RunEvent, RunObserver};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ProgressMode {
    /// A live line, redrawn in place (stderr is a terminal).
    Bar,
    /// A plain, timestamped line every few seconds (logs, CI, batch jobs).
    Lines,
    /// Nothing but errors.
    Quiet,
}

impl ProgressMode {
    /// Picks the mode from `--quiet`, whether stderr is a terminal and `TERM`.
    pub(super) fn choose(quiet: bool, stderr_is_terminal: bool, term: Option<&str>) -> Self {
        if quiet {
            ProgressMode::Quiet
        } else if stderr_is_terminal && term.is_some_and(|t| t != "dumb") {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// The ticker thread and the channel that stops it at once.
struct Ticker {
    stop: mpsc::Sender<()>,
    thread: thread::JoinHandle<()>,
}

/// The terminal observer of a run.
pub(super) struct Progress {
    mode: ProgressMode,
    style: Style,
    done: std::sync::Arc<AtomicU64>,
    failed: std::sync::Arc<AtomicU64>,
    ticker: Mutex<Option<Ticker>>,
}

impl Progress {
    /// A display in `mode`.
    pub(super) fn new(mode: ProgressMode, style: Style) -> Self {
        Self {
            mode,
            style,
            done: Default::default(),
            failed: Default::default(),
            ticker: Mutex::new(None),
        }
    }

    fn start(&self, total: u64) {
        if self.mode == ProgressMode::Quiet || total == 0 {
            return;
        }
        let (stop, stopped) = mpsc::channel();
        let (mode, done, failed) = (self.mode, self.done.clone(), self.failed.clone());
        let thread = thread::spawn(move || {
            let interval = match mode {
                ProgressMode::Bar => Duration::from_millis(200),
                _ => Duration::from_secs(10),
            };
            let started = Instant::now();
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let line = progress_line(
                    total,
                    done.load(Ordering::Relaxed),
                    failed.load(Ordering::Relaxed),
                    started.elapsed(),
                );
                let mut err = std::io::stderr().lock();
                let _ = match mode {
                    ProgressMode::Bar => write!(err, "\r\x1b[2K{line}"),
                    _ => writeln!(
                        err,
                        "progress: {} {line}",
                        humantime::format_rfc3339_seconds(SystemTime::now())
                    ),
                };
                let _ = err.flush();
            }
            if mode == ProgressMode::Bar {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        });
        if let Ok(mut ticker) = self.ticker.lock() {
            *ticker = Some(Ticker { stop, thread });
        }
    }

    /// Stops the ticker, without waiting for its next tick.
    pub(super) fn stop(&self) {
        let ticker = self.ticker.lock().ok().and_then(|mut t| t.take());
        if let Some(ticker) = ticker {
            let _ = ticker.stop.send(());
            let _ = ticker.thread.join();
        }
    }
}

impl RunObserver for Progress {
    fn event(&self, event: RunEvent<'_>) {
        match event {
            RunEvent::Started { samples, .. } => self.start(samples),
            RunEvent::BlockFinished { .. } => {}
            RunEvent::SampleSetAside { sample, why, to } => {
                if self.mode != ProgressMode::Quiet {
                    eprintln!(
                        "{} sample {} is damaged ({why}): set aside as {}, redone in a new folder",
                        self.style.warn("warning:"),
                        crate::layout::sample_dir_name(sample),
                        to.display()
                    );
                }
            }
            RunEvent::SampleFinished { outcome, .. } => {
                self.done.fetch_add(1, Ordering::Relaxed);
                let failed = matches!(
                    outcome,
                    SampleOutcome::Failed { .. }
                        | SampleOutcome::NotRetried {
                            failure: Some(_),
                            ..
                        }
                );
                if failed {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            RunEvent::SamplesDone { tally, elapsed } => {
                self.stop();
                if self.mode != ProgressMode::Quiet {
                    eprint!("{}", summary_text(tally, elapsed, self.style));
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_follows_quiet_the_terminal_and_term() {
        use ProgressMode::*;
        assert_eq!(ProgressMode::choose(true, true, Some("xterm")), Quiet);
        assert_eq!(ProgressMode::choose(false, true, Some("xterm")), Bar);
        assert_eq!(ProgressMode::choose(false, true, Some("dumb")), Lines);
        assert_eq!(ProgressMode::choose(false, true, None), Lines);
        assert_eq!(ProgressMode::choose(false, false, Some("xterm")), Lines);
    }

    #[test]
    fn progress_lines_show_rate_and_eta() {
        let line = progress_line(100, 50, 2, Duration::from_secs(10));
        assert_eq!(line, "50/100 samples, 5.0/s, ETA 10 s, 2 failed");
        assert_eq!(
            progress_line(10, 0, 0, Duration::ZERO),
            "0/10 samples, 0.0/s, ETA ?, 0 failed"
        );
    }
}
