//! Error types of each layer and the process exit codes they map to.
//!
//! A failed *sample* is never an error: it is recorded data. Errors are what
//! stops a command: a bad config or flag (exit 2, nothing in the dataset
//! changed) or a failure of the machinery itself, e.g. a full disk (exit 1).

use std::fmt;
use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Exit code: the command went through; for a run, no sample of this run
/// failed (rejections are not failures).
pub const EXIT_OK: u8 = 0;
/// Exit code: an error stopped the command midway.
pub const EXIT_STOPPED: u8 = 1;
/// Exit code: bad usage or config; nothing in the dataset was changed.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a run went through, but samples failed in it: the dataset
/// is usable yet incomplete, so `afterok` dependencies do not fire; rerun
/// the same command to retry them.
pub const EXIT_SAMPLES_FAILED: u8 = 3;
/// Exit code of `shardgen verify`: it found damaged outputs or records.
pub const EXIT_DAMAGED: u8 = 1;

/// Where in a config file a problem is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The block concerned, when there is one.
    pub block: Option<String>,
}

impl fmt::Display for ConfigLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(block) = &self.block {
            write!(f, ": block '{block}'")?;
        }
        Ok(())
    }
}

/// A config file that cannot be used; the message says how to fix it.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{location}: {message}")]
pub struct ConfigError {
    /// File, line and block.
    pub location: ConfigLocation,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Any error that stops a shardgen command.
#[derive(Debug, Error)]
pub enum Error {
    /// The config file is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A flag or the dataset folder does not fit the command.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// An I/O operation on the dataset failed.
    #[error("{action} {}: {source}{}", path.display(), crate::disk::hint(source))]
    Io {
        /// What was being done, e.g. "cannot write".
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The dataset folder holds something the engine cannot read; nothing
    /// was changed.
    #[error("{}: {message}", path.display())]
    Dataset {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The statistics pass or its charts could not be written (the samples
    /// were already written: exit 1).
    #[error("statistics of {}: {source}", dataset.display())]
    Statistics {
        /// The dataset folder.
        dataset: PathBuf,
        /// The cause.
        #[source]
        source: crate::statistics::error::StatisticsError,
    },
    /// `--max-failures` was reached: the run started no new sample.
    #[error(
        "stopped after {failed} failed samples (--max-failures {limit}); fix the cause shown \
         above, then rerun the same command to resume"
    )]
    TooManyFailures {
        /// Samples that failed in this run (rejections not counted).
        failed: u64,
        /// The limit.
        limit: u64,
    },
    /// `shardgen merge` refused before changing anything.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// SIGINT or SIGTERM stopped the command, cleanly: the logs say
    /// `interrupted`, and nothing half-done is left (exit 128 + signal).
    #[error("interrupted by {}; {resume}", crate::interrupt::signal_name(*signal))]
    Interrupted {
        /// The signal number.
        signal: i32,
        /// How to go on, e.g. "rerun the same command to resume".
        resume: &'static str,
    },
}

/// A flag, or the dataset folder, that does not fit the command; nothing in
/// the dataset was changed. Each message says how to fix it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UsageError {
    /// A flag names a block the pipeline does not have.
    #[error("{flag}: no block named '{name}' in {}; blocks: {}", config.display(), known.join(", "))]
    UnknownBlock {
        /// The flag, e.g. `--force-run-blocks`.
        flag: &'static str,
        /// The name given.
        name: String,
        /// The config file.
        config: PathBuf,
        /// The pipeline's block names.
        known: Vec<String>,
    },
    /// A flag's regex does not compile.
    #[error("{flag} '{pattern}' is not a valid regex: {why}; write it as for grep -E (quote it in the shell)")]
    BadRegex {
        /// The flag, e.g. `--rerun-failed`.
        flag: &'static str,
        /// The pattern given.
        pattern: String,
        /// What the regex parser said.
        why: String,
    },
    /// One block named by two flags that exclude each other.
    #[error("block '{block}' is named in both {first} and {second}; keep it in one")]
    BlockInTwoFlags {
        /// The block.
        block: String,
        /// The first flag.
        first: &'static str,
        /// The second flag.
        second: &'static str,
    },
    /// Two flags that cannot be combined.
    #[error("{first} cannot be combined with {second}, {why}; drop one of them")]
    FlagsExclude {
        /// The first flag.
        first: &'static str,
        /// The second flag.
        second: &'static str,
        /// Why, e.g. "which runs no block".
        why: &'static str,
    },
    /// The dataset was made with another master seed.
    #[error(
        "{} was made with master seed {dataset_seed} but {} says seed {config_seed}; a dataset \
         has one seed: use a new --out folder or restore the seed",
        dataset.display(), config.display()
    )]
    SeedMismatch {
        /// The dataset folder.
        dataset: PathBuf,
        /// Its seed.
        dataset_seed: u64,
        /// The config file.
        config: PathBuf,
        /// The config's seed.
        config_seed: u64,
    },
    /// `--shard` without a sample count.
    #[error("--shard needs a sample count: give --num-samples or set `samples:` in the config")]
    ShardNeedsCount,
    /// No range given and no samples present.
    #[error(
        "no samples to work on: {} holds none; give --num-samples N or set `samples:` in the config",
        dataset.display()
    )]
    NoSamples {
        /// The dataset folder.
        dataset: PathBuf,
    },
    /// A range past the largest sample id.
    #[error(
        "--start-sample {start} + --num-samples {count} goes past the largest sample id {max}; \
         give a smaller range"
    )]
    RangeTooLarge {
        /// `--start-sample`.
        start: u64,
        /// `--num-samples`.
        count: u64,
        /// The largest sample id.
        max: u64,
    },
    /// The dataset folder is a file.
    #[error("{flag} {}: is a file, not a folder; pick a dataset folder", path.display())]
    FolderIsAFile {
        /// The flag naming the folder (`--out`, `--into`).
        flag: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// A folder holding something else than a dataset.
    #[error(
        "{flag} {}: folder is not empty and is not a shardgen dataset (no .shardgen/); pick a \
         new or empty folder{}",
        path.display(),
        if *flag == "--out" {
            "; if it is a dataset whose .shardgen/ was lost, rerun with --adopt to keep the \
             samples made by this config"
        } else {
            ""
        }
    )]
    NotEmpty {
        /// The flag naming the folder (`--out`, `--into`).
        flag: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// A folder that is not a dataset, given to a command that reads one.
    #[error(
        "{} is not a shardgen dataset (no .shardgen/pipeline.json); give the --out folder of a run",
        path.display()
    )]
    NotADataset {
        /// The path.
        path: PathBuf,
    },
    /// `analyze --sample N` for a sample that is not there.
    #[error("sample {sample} is not in {} (no folder {}); see `shardgen analyze {}` for the samples present",
        dataset.display(), folder.display(), dataset.display())]
    NoSuchSample {
        /// The sample id.
        sample: u64,
        /// The dataset folder.
        dataset: PathBuf,
        /// The folder that is missing.
        folder: PathBuf,
    },
    /// `shardgen debug --into` names a folder that holds something.
    #[error("--into {}: the folder is not empty; a debug run never overwrites: give a new or empty folder", path.display())]
    ScratchNotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// An environment variable with a value that cannot be used.
    #[error("{name}={value}: {why}")]
    BadEnvironment {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// Worker threads could not be started.
    #[error("{0}")]
    Threads(String),
    /// `export --samples-per-shard 0`.
    #[error("--samples-per-shard must be at least 1")]
    ZeroSamplesPerShard,
    /// An export folder that holds something else than an earlier export.
    #[error(
        "--out {}: folder is not empty and holds no index.json of an earlier export; pick a new \
         or empty folder",
        path.display()
    )]
    NotAnExport {
        /// The folder.
        path: PathBuf,
    },
    /// `--accept-changes` on a folder that holds no dataset yet.
    #[error(
        "--accept-changes: {} holds no dataset yet, so there is no change to accept; run without it",
        dataset.display()
    )]
    NothingToAccept {
        /// The dataset folder.
        dataset: PathBuf,
    },
    /// `--accept-changes` naming a block the dataset does not have yet.
    #[error(
        "--accept-changes: block '{block}' is new since the dataset was made; there are no \
         samples of it to keep"
    )]
    AcceptNewBlock {
        /// The block.
        block: String,
    },
    /// `--accept-changes` naming a block that did not change.
    #[error(
        "--accept-changes: block '{block}' has not changed since the dataset was made; nothing \
         to accept"
    )]
    AcceptUnchanged {
        /// The block.
        block: String,
    },
    /// `--accept-changes` naming a block whose only change is an earlier one.
    #[error(
        "--accept-changes: block '{block}' did not change itself, a block before it did; accept \
         that block too, or let both run"
    )]
    AcceptOnlyChained {
        /// The block.
        block: String,
    },
    /// `--adopt` of a folder none of whose records this config made.
    #[error(
        "--adopt: none of the {seen} samples in {} has a record made by {} (fingerprints differ \
         or records are missing); adopt it with the config that made it, or use a new --out folder",
        dataset.display(), config.display()
    )]
    NothingToAdopt {
        /// Sample folders looked at.
        seen: u64,
        /// The dataset folder.
        dataset: PathBuf,
        /// The config.
        config: PathBuf,
    },
    /// A path that is not valid UTF-8 (run logs and messages name it).
    #[error("{what} {}: the path is not valid UTF-8; rename it or pick another path", path.display())]
    NotUtf8 {
        /// What the path is, as the user knows it (`--out`).
        what: String,
        /// The path.
        path: PathBuf,
    },
    /// `merge` without a shard.
    #[error("merge needs at least one shard folder")]
    NoShards,
    /// A dataset of the flat layout of earlier versions (sample folders
    /// directly in DIR), which this version neither reads nor writes.
    #[error(
        "{} is a dataset of the flat layout of earlier shardgen versions ({why}); this shardgen \
         keeps sample folders in buckets (DIR/000000/0000000042/): convert it in place with \
         `shardgen upgrade {}` (renames only), then rerun",
        dataset.display(), shell_quoted(dataset)
    )]
    FlatLayout {
        /// The dataset folder.
        dataset: PathBuf,
        /// What showed the layout, e.g. "DIR/0000000042 is a sample folder directly in it".
        why: String,
    },
    /// `shardgen upgrade` while a run works on the dataset.
    #[error(
        "{}: run {holder} is working on it (it holds claims in .shardgen/claims/); let it \
         finish or stop it, then upgrade",
        dataset.display()
    )]
    UpgradeWhileRunning {
        /// The dataset folder.
        dataset: PathBuf,
        /// The run holding claims.
        holder: String,
    },
}

/// `path` quoted for a POSIX shell when it needs quoting, for commands that
/// messages suggest.
fn shell_quoted(path: &std::path::Path) -> String {
    let word = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Why `shardgen merge` refuses to start; the dataset is left untouched.
#[derive(Debug, Error)]
pub enum MergeError {
    /// A shard path that does not exist or is not a folder.
    #[error("shard {}: not a folder; give the dataset folders of shard runs", path.display())]
    NotAFolder {
        /// The shard as given.
        path: PathBuf,
    },
    /// A shard folder without `.shardgen/pipeline.json`.
    #[error(
        "shard {}: no .shardgen/pipeline.json, so not a shardgen dataset; \
         merge only folders made by `shardgen run`",
        path.display()
    )]
    NotADataset {
        /// The shard as given.
        path: PathBuf,
    },
    /// A shard that is the `--into` folder, or is given twice.
    #[error("shard {}: {what}; give each shard once, and not the --into folder", path.display())]
    Repeated {
        /// The shard as given.
        path: PathBuf,
        /// "it is the --into folder" or "given twice".
        what: &'static str,
    },
    /// A shard made by another pipeline than the reference (the `--into`
    /// folder if it has a manifest, else the first shard).
    #[error("shard {}: {}; merge only shards of one pipeline",
        shard.display(), mismatch_text(reference, difference))]
    PipelineMismatch {
        /// The shard as given.
        shard: PathBuf,
        /// The folder it was compared with.
        reference: PathBuf,
        /// What differs.
        difference: PipelineDifference,
    },
    /// Two copies of a sample that are neither identical nor one a prefix of
    /// the other, without `--skip-conflicts`.
    #[error(
        "sample {sample}: {} and {} hold conflicting copies ({difference}){}; \
         remove the wrong copy, or pass --skip-conflicts to keep the --into folder's copy",
        first.display(), second.display(), more_text(*more)
    )]
    Conflict {
        /// The lowest conflicting sample id.
        sample: u64,
        /// The folder of one copy (the dataset or shard folder).
        first: PathBuf,
        /// The folder of the other copy.
        second: PathBuf,
        /// What differs, e.g. "'a.bin' differs".
        difference: String,
        /// How many other samples conflict too.
        more: u64,
    },
}

/// How the pipeline of a shard differs from the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineDifference {
    /// Another master seed.
    Seed {
        /// The shard's seed.
        shard: u64,
        /// The reference's seed.
        reference: u64,
    },
    /// Other block names or order.
    Blocks {
        /// The shard's blocks, in chain order.
        shard: Vec<String>,
        /// The reference's blocks, in chain order.
        reference: Vec<String>,
    },
    /// A block with another fingerprint.
    Fingerprint {
        /// The block.
        block: String,
        /// What changed, in words (`pipeline::explain_changes`).
        change: String,
    },
}

fn mismatch_text(reference: &std::path::Path, difference: &PipelineDifference) -> String {
    let reference = reference.display();
    match difference {
        PipelineDifference::Seed {
            shard,
            reference: seed,
        } => format!("master seed {shard}, but {reference} has seed {seed}"),
        PipelineDifference::Blocks {
            shard,
            reference: blocks,
        } => format!(
            "blocks {}, but {reference} has blocks {}",
            shard.join(", "),
            blocks.join(", ")
        ),
        PipelineDifference::Fingerprint { block, change } => {
            format!("block '{block}' has another fingerprint than in {reference} ({change})")
        }
    }
}

fn more_text(more: u64) -> String {
    match more {
        0 => String::new(),
        1 => " and 1 more sample conflicts".to_owned(),
        n => format!(" and {n} more samples conflict"),
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) | Error::Dataset { .. } | Error::Merge(_) => {
                EXIT_USAGE
            }
            Error::Io { .. } | Error::Statistics { .. } | Error::TooManyFailures { .. } => {
                EXIT_STOPPED
            }
            Error::Interrupted { signal, .. } => crate::interrupt::exit_code(*signal),
        }
    }

    /// Wraps an I/O error with what was done and where.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Result alias of the engine.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
