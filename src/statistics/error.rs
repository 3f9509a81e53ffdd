//! The statistics pass's error, and its writes of files into the dataset.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Why the statistics pass could not go on.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A summary could not be serialized.
    #[error("{}: {source}", path.display())]
    Yaml {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_yaml::Error,
    },
    /// [`Aggregator::add`] was called out of increasing sample order.
    #[error(
        "sample {sample} given after sample {previous}: samples must come in increasing order"
    )]
    OutOfOrder {
        /// The sample given.
        sample: u64,
        /// The sample given before it.
        previous: u64,
    },
    /// [`Aggregator::add`] got a state list of the wrong length.
    #[error("sample {sample}: {got} block states given for a pipeline of {expected} blocks")]
    StateCount {
        /// The sample given.
        sample: u64,
        /// The number of blocks of the pipeline.
        expected: usize,
        /// The number of states given.
        got: usize,
    },
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StatsError + '_ {
    move |source| StatsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically ([`crate::dataset::atomic::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StatsError> {
    crate::dataset::atomic::write_atomic(path, bytes).map_err(io_error(path))
}

pub(crate) fn write_yaml<T: Serialize>(path: &Path, value: &T) -> Result<(), StatsError> {
    let text = serde_yaml::to_string(value).map_err(|source| StatsError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    write_atomic(path, text.as_bytes())
}
