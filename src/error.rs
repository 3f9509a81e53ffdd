//! Error types of each layer and the process exit codes they map to.
//!
//! A failed *sample* is never an error: it is recorded data. Errors are what
//! stops a command: a bad config or flag (exit 2, nothing in the dataset
//! changed) or a failure of the machinery itself, e.g. a full disk (exit 1).

use std::fmt;
use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Exit code: the command went through (failed samples included).
pub const EXIT_OK: u8 = 0;
/// Exit code: an error stopped the command midway.
pub const EXIT_STOPPED: u8 = 1;
/// Exit code: bad usage or config; nothing in the dataset was changed.
pub const EXIT_USAGE: u8 = 2;

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
    #[error("{0}")]
    Usage(String),
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
    /// The dataset folder holds something the engine cannot read.
    #[error("{}: {message}", path.display())]
    Dataset {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// `shardgen merge` refused before changing anything.
    #[error(transparent)]
    Merge(#[from] MergeError),
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
            Error::Io { .. } => EXIT_STOPPED,
        }
    }

    /// A usage error with a message.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
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
pub type Result<T, E = Error> = std::result::Result<T, E>;
