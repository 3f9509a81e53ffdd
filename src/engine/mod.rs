//! The engine: decides what to run and runs it, merges and analyses
//! datasets. It returns data and reports progress as events; it never prints.

pub mod analyze;
pub mod execute;
pub mod merge;
pub mod plan;
pub mod run;
