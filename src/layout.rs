//! Every name in a dataset folder, in one place: buckets and sample folders,
//! the record, the engine's own folder and what it holds, and the statistics
//! pass's files.
//!
//! # The bucketed layout (layout version 2)
//!
//! Sample `id` lives in `DIR/<bucket>/<sample>/`: the bucket is
//! `id / 10000`, 6 digits, the sample folder the id, 10 digits, both
//! zero-padded (`DIR/000000/0000000042/`, `DIR/000123/0001234567/`). So a
//! folder holds at most 10,000 sample folders, the dataset root at most
//! 1,000,000 buckets (ids up to 9,999,999,999), names depend on the id
//! alone and sort in id order, and a sample folder keeps its full id when
//! copied on its own. Layout version 1 (every sample folder directly in
//! `DIR`) is refused; `shardgen upgrade DIR` converts it.
//!
//! A leaf of the crate. See [`crate::dataset`] for the map of the folder.

use std::ffi::OsStr;

/// Name of the engine's own folder inside the dataset.
pub(crate) const META_DIR: &str = ".shardgen";
/// Digits of a sample folder name: ids up to 9,999,999,999.
pub(crate) const SAMPLE_DIGITS: usize = 10;
/// The largest sample id a folder name can hold.
pub(crate) const MAX_SAMPLE_ID: u64 = 9_999_999_999;
/// Sample folders per bucket folder.
pub(crate) const BUCKET_SIZE: u64 = 10_000;
/// Digits of a bucket folder name: buckets up to `MAX_SAMPLE_ID / BUCKET_SIZE`.
pub(crate) const BUCKET_DIGITS: usize = 6;
/// The layout this shardgen writes and reads (`"layout"` in the manifest).
pub(crate) const LAYOUT_VERSION: u32 = 2;
/// The flat layout of earlier versions: sample folders directly in `DIR`.
pub(crate) const FLAT_LAYOUT: u32 = 1;

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
/// `.shardgen/statistics.stamp`: what the statistics files were made from.
pub(crate) const STATISTICS_STAMP: &str = "statistics.stamp";
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
/// The HTML report of the statistics pass.
pub(crate) const REPORT_HTML: &str = "report.html";
/// Charts of the statistics pass.
pub(crate) const PLOTS_DIR: &str = "plots";

/// The folder name of sample `id`: fixed width, so names sort in index order.
pub(crate) fn sample_dir_name(id: u64) -> String {
    format!("{id:0width$}", width = SAMPLE_DIGITS)
}

/// The sample id of a folder name, if it is one.
pub(crate) fn parse_sample_dir_name(name: &OsStr) -> Option<u64> {
    parse_digits(name, SAMPLE_DIGITS)
}

/// The bucket of sample `id`.
pub(crate) const fn bucket_of(id: u64) -> u64 {
    id / BUCKET_SIZE
}

/// The first sample id of `bucket`.
pub(crate) const fn bucket_start(bucket: u64) -> u64 {
    bucket * BUCKET_SIZE
}

/// The folder name of `bucket`: fixed width, so names sort in index order.
pub(crate) fn bucket_dir_name(bucket: u64) -> String {
    format!("{bucket:0width$}", width = BUCKET_DIGITS)
}

/// The bucket of a folder name, if it is one.
pub(crate) fn parse_bucket_dir_name(name: &OsStr) -> Option<u64> {
    parse_digits(name, BUCKET_DIGITS)
}

/// The path of sample `id`'s folder relative to the dataset root, with `/`:
/// `000000/0000000042` (also the relative link of the HTML report).
pub(crate) fn sample_path(id: u64) -> String {
    format!("{}/{}", bucket_dir_name(bucket_of(id)), sample_dir_name(id))
}

/// `name` read as a number of exactly `digits` ASCII digits.
fn parse_digits(name: &OsStr, digits: usize) -> Option<u64> {
    let bytes = name.as_encoded_bytes();
    if bytes.len() != digits || !bytes.iter().all(u8::is_ascii_digit) {
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
        for bad in ["42", "00000000x1", "000000000042", "plots", "000000"] {
            assert_eq!(parse_sample_dir_name(OsStr::new(bad)), None);
        }
    }

    #[test]
    fn buckets_hold_ten_thousand_samples_at_their_boundaries() {
        for (id, path) in [
            (0, "000000/0000000000"),
            (42, "000000/0000000042"),
            (9_999, "000000/0000009999"),
            (10_000, "000001/0000010000"),
            (10_001, "000001/0000010001"),
            (1_234_567, "000123/0001234567"),
            (MAX_SAMPLE_ID - 1, "999999/9999999998"),
            (MAX_SAMPLE_ID, "999999/9999999999"),
        ] {
            assert_eq!(sample_path(id), path);
            let (bucket, sample) = path.split_once('/').unwrap();
            assert_eq!(
                parse_bucket_dir_name(OsStr::new(bucket)),
                Some(bucket_of(id))
            );
            assert_eq!(parse_sample_dir_name(OsStr::new(sample)), Some(id));
            assert!(bucket_start(bucket_of(id)) <= id);
            assert!(id < bucket_start(bucket_of(id) + 1));
        }
        assert_eq!(
            bucket_of(MAX_SAMPLE_ID),
            999_999,
            "the largest id fits 6 digits"
        );
        assert_eq!(
            bucket_dir_name(bucket_of(MAX_SAMPLE_ID)).len(),
            BUCKET_DIGITS
        );
        for bad in ["00000", "0000000", "00000a", "plots", "0000000042"] {
            assert_eq!(parse_bucket_dir_name(OsStr::new(bad)), None);
        }
    }

    #[test]
    fn names_sort_in_id_order() {
        let ids = [
            0,
            1,
            9_999,
            10_000,
            10_001,
            99_999,
            100_000,
            5_000_000_000,
            MAX_SAMPLE_ID,
        ];
        let mut paths: Vec<String> = ids.iter().rev().map(|&id| sample_path(id)).collect();
        paths.sort();
        let sorted: Vec<String> = ids.iter().map(|&id| sample_path(id)).collect();
        assert_eq!(paths, sorted);
        let mut buckets: Vec<String> = ids
            .iter()
            .rev()
            .map(|&id| bucket_dir_name(bucket_of(id)))
            .collect();
        buckets.sort();
        buckets.dedup();
        assert_eq!(buckets.len(), 6);
        assert!(buckets.windows(2).all(|w| w[0] < w[1]));
    }
}
