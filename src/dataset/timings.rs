//! The timings journal `.shardgen/runs/<run-id>.timings.tsv`, writer and
//! reader in one place: one line per block attempt,
//! `sample<TAB>block<TAB>status<TAB>seconds<LF>`, status `ok`, `failed` or
//! `rejected`, appended as the run goes. Only its run writes it; a reader
//! skips a torn last line (no newline) and any line it cannot parse.
//!
//! Wall times are about how a run went, not part of the deterministic
//! dataset.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::dataset::record::BlockStatus;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::layout::TIMINGS_SUFFIX;
use crate::process::RunId;

/// `.shardgen/runs/<run-id>.timings.tsv`: one line per block attempt,
/// `sample<TAB>block<TAB>status<TAB>seconds`, appended as the run goes. Only
/// this run writes it; readers skip a torn last line.
pub(crate) struct TimingsJournal {
    file: Mutex<(BufWriter<File>, Instant)>,
}

/// Longest time a line waits in the buffer: a killed run keeps its wall
/// times up to that long before it died.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

impl TimingsJournal {
    /// Opens (creates) the journal of `run`.
    pub(crate) fn open(dataset: &Dataset, run: &RunId) -> Result<Self> {
        let path = timings_path(dataset, run);
        let file = fs::create_dir_all(dataset.runs_dir())
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path))
            .map_err(|e| Error::io("cannot open", path, e))?;
        Ok(Self {
            file: Mutex::new((BufWriter::new(file), Instant::now())),
        })
    }

    /// Appends one attempt.
    pub(crate) fn append(&self, sample: u64, block: &str, status: BlockStatus, seconds: f64) {
        let status = status_word(status);
        if let Ok(mut guard) = self.file.lock() {
            let (file, flushed) = &mut *guard;
            // Timings are informative: a failed write must not stop the run.
            let _ = writeln!(file, "{sample}\t{block}\t{status}\t{seconds:.6}");
            if flushed.elapsed() >= FLUSH_INTERVAL {
                let _ = file.flush();
                *flushed = Instant::now();
            }
        }
    }

    /// Flushes buffered lines.
    pub(crate) fn flush(&self) -> io::Result<()> {
        match self.file.lock() {
            Ok(mut guard) => guard.0.flush(),
            Err(_) => Ok(()),
        }
    }
}

fn timings_path(dataset: &Dataset, run: &RunId) -> PathBuf {
    dataset
        .runs_dir()
        .join(format!("{}{TIMINGS_SUFFIX}", run.as_str()))
}

fn status_word(status: BlockStatus) -> &'static str {
    match status {
        BlockStatus::Ok => "ok",
        BlockStatus::Failed => "failed",
        BlockStatus::Rejected => "rejected",
    }
}

/// One attempt read back from a journal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TimingLine<'a> {
    /// The sample.
    pub sample: u64,
    /// The block's name.
    pub block: &'a str,
    /// How the attempt ended.
    pub status: BlockStatus,
    /// Its wall time.
    pub seconds: f64,
}

/// Parses one line (without its newline); `None` for anything malformed.
pub(crate) fn parse_line(line: &str) -> Option<TimingLine<'_>> {
    let mut fields = line.split('\t');
    let sample = fields.next()?.parse().ok()?;
    let block = fields.next().filter(|b| !b.is_empty())?;
    let status = match fields.next()? {
        "ok" => BlockStatus::Ok,
        "failed" => BlockStatus::Failed,
        "rejected" => BlockStatus::Rejected,
        _ => return None,
    };
    let seconds: f64 = fields.next()?.parse().ok()?;
    if fields.next().is_some() || !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(TimingLine {
        sample,
        block,
        status,
        seconds,
    })
}

/// The journals of the dataset in file-name order (names sort by run start);
/// none without a runs folder.
pub(crate) fn journal_files(dataset: &Dataset) -> io::Result<Vec<PathBuf>> {
    let runs = dataset.runs_dir();
    let entries = match fs::read_dir(&runs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(TIMINGS_SUFFIX) && !name.starts_with('.') {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Calls `visit` with each line of the journal at `path` that parses, and
/// returns how many lines it skipped (torn or malformed).
pub(crate) fn read_journal(
    path: &std::path::Path,
    mut visit: impl FnMut(TimingLine<'_>),
) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut bytes = Vec::new();
    let mut skipped = 0;
    loop {
        bytes.clear();
        if reader.read_until(b'\n', &mut bytes)? == 0 {
            return Ok(skipped);
        }
        let parsed = bytes
            .strip_suffix(b"\n")
            .and_then(|line| std::str::from_utf8(line).ok())
            .and_then(parse_line);
        match parsed {
            Some(line) => visit(line),
            None => skipped += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_junk_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(dir.path());
        let run = RunId::new();
        let journal = TimingsJournal::open(&dataset, &run).unwrap();
        journal.append(3, "render", BlockStatus::Rejected, 0.25);
        journal.flush().unwrap();
        let path = timings_path(&dataset, &run);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"junk\n4\trender\tok\t0.5").unwrap();
        let files = journal_files(&dataset).unwrap();
        assert_eq!(files, vec![path.clone()]);
        let mut seen = Vec::new();
        let skipped = read_journal(&path, |line| seen.push((line.sample, line.status))).unwrap();
        assert_eq!(seen, vec![(3, BlockStatus::Rejected)]);
        assert_eq!(skipped, 2);
    }
}
