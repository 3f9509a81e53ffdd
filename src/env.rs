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

/// Where a one-shot program may write a reason to reject the sample (then exit 0).
pub(crate) const REJECT: &str = "SHARDGEN_REJECT";
/// Set to `1` for a program started in worker mode.
pub(crate) const WORKER: &str = "SHARDGEN_WORKER";
/// The worker protocol version shardgen speaks (docs/worker-protocol.md).
pub(crate) const WORKER_PROTOCOL: &str = "SHARDGEN_WORKER_PROTOCOL";
/// Set for every block program to a value unique to the run's process; its
/// descendants inherit it, and the guard kills them by it (`orphans.rs`).
pub(crate) const RUN_MARK: &str = "SHARDGEN_RUN_MARK";
/// The variables that differ per sample, which a worker does not get.
pub(crate) const PER_SAMPLE: [&str; 6] = [SAMPLE_ID, SEED, SAMPLE_DIR, OUT_DIR, STATS, REJECT];

/// Read by shardgen: the claim lease in seconds (see `claim.rs`).
pub(crate) const CLAIM_LEASE: &str = "SHARDGEN_CLAIM_LEASE";

/// The placeholders that differ per sample: not allowed in a worker's argv,
/// and an argument holding one names no fixed code file.
pub(crate) const SAMPLE_PLACEHOLDERS: [&str; 4] =
    ["{sample_id}", "{seed}", "{sample_dir}", "{out_dir}"];
/// The placeholder of the config file's folder.
pub(crate) const CONFIG_DIR_PLACEHOLDER: &str = "{config_dir}";

/// The argv placeholders, replaced wherever they appear in an argument.
pub(crate) const PLACEHOLDERS: [&str; 5] = [
    "{sample_id}",
    "{seed}",
    "{sample_dir}",
    "{out_dir}",
    "{config_dir}",
];
