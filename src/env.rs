//! The names of everything shardgen hands to external programs (environment
//! variables and argv placeholders) and of the variables it reads, in one place.

/// The global sample index.
pub(crate) const SAMPLE_ID: &str = "SHARDGEN_SAMPLE_ID";
/// This sample's seed for this block, a decimal u64.
pub(crate) const SEED: &str = "SHARDGEN_SEED";
/// Absolute path of the sample folder (outputs of earlier blocks).
pub(crate) const SAMPLE_DIR: &str = "SHARDGEN_SAMPLE_DIR";
/// Absolute path where the program must write its outputs; its working folder.
pub(crate) const OUT_DIR: &str = "SHARDGEN_OUT_DIR";
/// The block's name.
pub(crate) const BLOCK: &str = "SHARDGEN_BLOCK";
/// The block's params as JSON.
pub(crate) const PARAMS: &str = "SHARDGEN_PARAMS";
/// Where the program may write a JSON or YAML mapping of statistics.
pub(crate) const STATS: &str = "SHARDGEN_STATS";

/// Read by shardgen: the claim lease in seconds (see `claim.rs`).
pub(crate) const CLAIM_LEASE: &str = "SHARDGEN_CLAIM_LEASE";

/// The argv placeholders, replaced wherever they appear in an argument.
pub(crate) const PLACEHOLDERS: [&str; 5] = [
    "{sample_id}",
    "{seed}",
    "{sample_dir}",
    "{out_dir}",
    "{config_dir}",
];
