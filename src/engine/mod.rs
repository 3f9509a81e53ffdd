//! The engine: decides what to run and runs it, merges and analyses
//! datasets. It returns data and reports progress as events; it never
//! prints. Human text lives in [`crate::cli`].

pub(crate) mod accept;
pub(crate) mod adopt;
pub(crate) mod analyze;
pub(crate) mod debug;
pub(crate) mod execute;
pub(crate) mod gaps;
pub(crate) mod known_samples;
pub(crate) mod merge;
pub(crate) mod out_folder;
pub(crate) mod plan;
pub(crate) mod queue;
pub(crate) mod run;
pub(crate) mod scan;
pub(crate) mod tally;
pub(crate) mod upgrade;
pub(crate) mod verify;
