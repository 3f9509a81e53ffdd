//! The engine: decides what to run and runs it, merges and analyses
//! datasets. It returns data and reports progress as events; it never
//! prints. Human text lives in [`crate::cli`].

pub mod analyze;
pub mod execute;
pub mod gaps;
pub mod merge;
pub mod plan;
pub mod run;
pub mod scan;
pub mod tally;
