//! What a dataset folder says about each block of each sample, judged from
//! the sample's record and the files present: the one notion of "done" that
//! planning, statistics and `analyze` share.

/// The state of one block on one sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockState {
    /// Succeeded with the current fingerprint and its required outputs exist.
    Complete,
    /// Its last attempt failed (error, exit code, timeout, missing output).
    Failed(String),
    /// Its last attempt was rejected by validation.
    Rejected(String),
    /// Made by another version of the pipeline (fingerprint differs).
    Stale,
    /// Never ran, was reset, or its outputs are gone.
    Missing,
}

impl BlockState {
    /// Whether this block counts as done.
    pub fn is_complete(&self) -> bool {
        matches!(self, BlockState::Complete)
    }

    /// The failure or rejection reason, if the block failed.
    pub fn failure_reason(&self) -> Option<&str> {
        match self {
            BlockState::Failed(reason) | BlockState::Rejected(reason) => Some(reason),
            _ => None,
        }
    }
}
