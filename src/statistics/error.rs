//! The statistics pass's errors (of its table, its charts, its contact
//! sheet), and its writes of files into the dataset. A leaf: `crate::error`
//! names [`StatisticsError`] without depending on the pass.

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

/// Why charts could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The plots folder could not be made or a file could not be written.
    #[error(transparent)]
    Write(#[from] StatsError),
    /// plotters or the PNG encoder failed.
    #[error("{}: {message}", path.display())]
    Draw {
        /// The file being drawn.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Why the statistics pass stopped. Every variant is an I/O or encoding
/// failure of files the pass writes: exit 1, never "nothing changed".
#[derive(Debug, thiserror::Error)]
pub enum StatisticsError {
    /// `statistics.yaml`, `statistics.csv` or `timings.yaml`.
    #[error(transparent)]
    Table(#[from] StatsError),
    /// A chart in `plots/`.
    #[error("plots: {0}")]
    Plot(#[from] PlotError),
    /// The contact sheet `plots/samples.png`.
    #[error("cannot write {}: {source}", path.display())]
    ContactSheet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
