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
    #[error("{action} {}: {source}", path.display())]
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
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) | Error::Dataset { .. } => EXIT_USAGE,
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
