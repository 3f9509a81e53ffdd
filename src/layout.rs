//! Every name in a dataset folder, in one place: sample folders, the record,
//! the engine's own folder and what it holds, and the statistics pass's files.
//!
//! A leaf of the crate. See [`crate::dataset`] for the map of the folder.

use std::ffi::OsStr;

/// Name of the engine's own folder inside the dataset.
pub(crate) const META_DIR: &str = ".shardgen";
/// Digits of a sample folder name: ids up to 9,999,999,999.
pub(crate) const SAMPLE_DIGITS: usize = 10;
/// The largest sample id a folder name can hold.
pub(crate) const MAX_SAMPLE_ID: u64 = 9_999_999_999;

/// The sample's record inside its folder.
pub(crate) const RECORD_FILE: &str = ".shardgen.json";
/// `.shardgen/pipeline.json`: the master seed and the pipeline.
pub(crate) const MANIFEST_FILE: &str = "pipeline.json";
/// `.shardgen/runs/`: run logs and timings journals.
pub(crate) const RUNS_DIR: &str = "runs";
/// `.shardgen/staging/`: block attempts' private folders, per run.
pub(crate) const STAGING_DIR: &str = "staging";
/// `.shardgen/claims/`: which live run works on which sample.
pub(crate) const CLAIMS_DIR: &str = "claims";
/// `.shardgen/failures/`: the logs of failed block attempts.
pub(crate) const FAILURES_DIR: &str = "failures";
/// `.shardgen/merge/`: samples being assembled by `shardgen merge`.
pub(crate) const MERGE_DIR: &str = "merge";
/// Suffix of a run's timings journal in `.shardgen/runs/`.
pub(crate) const TIMINGS_SUFFIX: &str = ".timings.tsv";
/// Suffix of a run log in `.shardgen/runs/`.
pub(crate) const RUN_LOG_SUFFIX: &str = ".yaml";
/// Statistics of the complete samples, written by the statistics pass.
pub(crate) const STATISTICS_YAML: &str = "statistics.yaml";
/// One row per complete sample.
pub(crate) const STATISTICS_CSV: &str = "statistics.csv";
/// Per-block wall times.
pub(crate) const TIMINGS_YAML: &str = "timings.yaml";
/// Charts of the statistics pass.
pub(crate) const PLOTS_DIR: &str = "plots";

/// The folder name of sample `id`: fixed width, so names sort in index order.
pub(crate) fn sample_dir_name(id: u64) -> String {
    format!("{id:0width$}", width = SAMPLE_DIGITS)
}

/// The sample id of a folder name, if it is one.
pub(crate) fn parse_sample_dir_name(name: &OsStr) -> Option<u64> {
    let bytes = name.as_encoded_bytes();
    if bytes.len() != SAMPLE_DIGITS || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    bytes
        .iter()
        .try_fold(0u64, |acc, &b| Some(acc * 10 + u64::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_names_are_fixed_width_and_round_trip() {
        assert_eq!(sample_dir_name(42), "0000000042");
        assert_eq!(sample_dir_name(MAX_SAMPLE_ID), "9999999999");
        for id in [0, 7, 123_456_789, MAX_SAMPLE_ID] {
            assert_eq!(
                parse_sample_dir_name(OsStr::new(&sample_dir_name(id))),
                Some(id)
            );
        }
        for bad in ["42", "00000000x1", "000000000042", "plots"] {
            assert_eq!(parse_sample_dir_name(OsStr::new(bad)), None);
        }
    }
}
