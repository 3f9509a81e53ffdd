//! The command line's words: clap structs only, converted into the
//! engine's plain option structs. Nothing here runs anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::merge::MergeOptions;
use crate::engine::run::RunOptions;
use crate::engine::scan::{SampleSelection, Shard};

#[derive(Parser)]
#[command(
    name = "shardgen",
    version,
    about = "Deterministic, resumable, shardable dataset generation",
    propagate_version = true
)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
    /// When to colour errors, failures and the plan [default: auto: on a
    /// terminal, unless NO_COLOR is set or TERM=dumb].
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(super) color: ColorChoice,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Run a pipeline over a range of samples; rerun the same command to resume.
    Run(RunArgs),
    /// Combine shard folders of one pipeline into one dataset folder, checked.
    Merge(MergeArgs),
    /// List the block types with their params, inputs and outputs.
    Blocks,
    /// Show what a dataset holds: done, failed, stale, missing; reads only.
    Analyze(AnalyzeArgs),
    /// Re-read the outputs the records vouch for: report missing, truncated
    /// and changed files; reads only, exits 1 on damage.
    Verify(VerifyArgs),
    /// Write the complete samples as WebDataset tar shards; rerun to resume.
    Export(ExportArgs),
    /// Write the dataset's report.html from what is on disk (runs no block).
    Report(ReportArgs),
    /// Run one sample into a scratch folder that keeps everything its blocks
    /// wrote and printed; touches no dataset.
    Debug(DebugArgs),
    /// Convert a dataset of the flat layout (sample folders directly in DIR)
    /// to bucket folders, in place, by renames; rerun if interrupted.
    Upgrade(UpgradeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

#[derive(Args)]
pub(super) struct DebugArgs {
    /// The pipeline config (YAML).
    pub(super) config: PathBuf,
    /// The sample to run.
    #[arg(long, value_name = "N")]
    pub(super) sample: u64,
    /// Run the chain up to this block [default: the whole chain]; with
    /// --from, run only this block.
    #[arg(long, value_name = "BLOCK")]
    pub(super) block: Option<String>,
    /// The scratch folder (new or empty): per block `<i>-<block>/out/`,
    /// `output.log`, `stats.json`, and `sample/`, the sample folder built.
    #[arg(long, value_name = "SCRATCH")]
    pub(super) into: PathBuf,
    /// Take the inputs from this dataset's folder of the sample (copied;
    /// the dataset is only read) and run only --block.
    #[arg(long, value_name = "DIR", requires = "block")]
    pub(super) from: Option<PathBuf>,
    /// Print what ran as one JSON object on stdout (`shardgen-debug/1`).
    #[arg(long)]
    pub(super) json: bool,
}

impl DebugArgs {
    pub(super) fn to_options(&self) -> crate::engine::debug::DebugOptions {
        crate::engine::debug::DebugOptions {
            config: self.config.clone(),
            sample: self.sample,
            block: self.block.clone(),
            into: self.into.clone(),
            from: self.from.clone(),
        }
    }
}

#[derive(Args)]
pub(super) struct ExportArgs {
    /// The dataset folder.
    pub(super) dir: PathBuf,
    /// The output format.
    #[arg(long, value_parser = ["webdataset"])]
    pub(super) format: String,
    /// The shard folder (new, empty, or of an earlier export).
    #[arg(long, value_name = "SHARDS")]
    pub(super) out: PathBuf,
    /// Samples per shard; the last shard holds fewer.
    #[arg(long, value_name = "N", default_value_t = crate::export::DEFAULT_SAMPLES_PER_SHARD,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) samples_per_shard: u64,
    /// Print the report as one JSON object to stdout.
    #[arg(long)]
    pub(super) json: bool,
}

impl ExportArgs {
    pub(super) fn into_options(self) -> crate::export::ExportOptions {
        crate::export::ExportOptions {
            dir: self.dir,
            format: crate::export::ExportFormat::WebDataset,
            out: self.out,
            samples_per_shard: self.samples_per_shard,
        }
    }
}

#[derive(Args)]
pub(super) struct ReportArgs {
    /// The dataset folder.
    pub(super) dir: PathBuf,
    /// Where to write the page (`-`: stdout) [default: DIR/report.html].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(super) out: Option<PathBuf>,
}

#[derive(Args)]
pub(super) struct UpgradeArgs {
    /// The dataset folder.
    pub(super) dir: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub(super) quiet: bool,
    /// Print what was done as one JSON object on stdout (schema
    /// `shardgen-upgrade/1` in the README).
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Args)]
pub(super) struct CompletionsArgs {
    /// The shell.
    pub(super) shell: clap_complete::Shell,
}

#[derive(Args)]
pub(super) struct AnalyzeArgs {
    /// The dataset folder.
    pub(super) dir: PathBuf,
    /// Print one JSON object to stdout (schema in the README).
    #[arg(long, conflicts_with = "sample")]
    pub(super) json: bool,
    /// Show one sample: each block's state, reason, statistics, timing, seed.
    #[arg(long, value_name = "N")]
    pub(super) sample: Option<u64>,
}

#[derive(Args)]
pub(super) struct VerifyArgs {
    /// The dataset folder.
    pub(super) dir: PathBuf,
    /// First sample checked [default: 0].
    #[arg(long, value_name = "N")]
    pub(super) start_sample: Option<u64>,
    /// Number of samples checked [default: all present from the start on].
    #[arg(long, value_name = "N")]
    pub(super) num_samples: Option<u64>,
    /// Samples checked in parallel [default: all cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(super) jobs: Option<u32>,
    /// Print the report as one JSON object on stdout (schema
    /// `shardgen-verify/1` in the README).
    #[arg(long)]
    pub(super) json: bool,
}

impl VerifyArgs {
    pub(super) fn into_options(self) -> crate::engine::verify::VerifyOptions {
        crate::engine::verify::VerifyOptions {
            dir: self.dir,
            start: self.start_sample,
            count: self.num_samples,
            jobs: self.jobs.map(|j| j as usize),
        }
    }
}

#[derive(Args)]
pub(super) struct MergeArgs {
    /// The shard dataset folders, made by `shardgen run` on any machine.
    #[arg(value_name = "SHARD", required = true)]
    pub(super) shards: Vec<PathBuf>,
    /// The dataset folder to merge into, new or existing.
    #[arg(long, value_name = "DIR")]
    pub(super) into: PathBuf,
    /// Move the sample folders instead of copying them (a rename on one filesystem).
    #[arg(long = "move")]
    pub(super) move_samples: bool,
    /// Report samples whose copies conflict and keep DIR's copy, instead of refusing.
    #[arg(long)]
    pub(super) skip_conflicts: bool,
    /// Fsync every file copied and every folder changed before a sample
    /// counts as merged (see `run --durable`).
    #[arg(long)]
    pub(super) durable: bool,
    /// Samples compared and copied in parallel [default: all cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(super) jobs: Option<u32>,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub(super) quiet: bool,
    /// At the end, print what the merge did as one JSON object on stdout
    /// (schema `shardgen-merge/1` in the README).
    #[arg(long)]
    pub(super) json: bool,
}

impl MergeArgs {
    pub(super) fn into_options(self) -> MergeOptions {
        MergeOptions {
            shards: self.shards,
            into: self.into,
            move_samples: self.move_samples,
            skip_conflicts: self.skip_conflicts,
            durable: self.durable,
            jobs: self.jobs.map(|j| j as usize),
        }
    }
}

#[derive(Args)]
pub(super) struct RunArgs {
    /// The pipeline config (YAML).
    pub(super) config: PathBuf,
    /// The dataset folder.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(super) out: PathBuf,
    /// First global sample index [default: 0].
    #[arg(long, value_name = "N", help_heading = "Samples")]
    pub(super) start_sample: Option<u64>,
    /// Number of samples [default: the config's `samples`, else those present in DIR].
    #[arg(long, value_name = "N", help_heading = "Samples")]
    pub(super) num_samples: Option<u64>,
    /// Work on shard I (0-based) of K contiguous parts of the range.
    #[arg(long, value_name = "I/K", value_parser = parse_shard, help_heading = "Samples")]
    pub(super) shard: Option<Shard>,
    /// Samples run in parallel [default: all cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(super) jobs: Option<u32>,
    /// Rerun these blocks (and all after them) on the targeted samples.
    #[arg(long, value_name = "BLOCK", num_args = 1.., value_delimiter = ',', help_heading = "Blocks")]
    pub(super) force_run_blocks: Vec<String>,
    /// Never run these blocks; samples that would need them are left alone.
    #[arg(long, value_name = "BLOCK", num_args = 1.., value_delimiter = ',', help_heading = "Blocks")]
    pub(super) do_not_retry_blocks: Vec<String>,
    /// Of the targeted samples, run only those whose recorded failure or
    /// rejection reason matches REGEX anywhere (as `grep -E`), from their
    /// failed block; leave every other sample alone.
    #[arg(long, value_name = "REGEX", help_heading = "Blocks")]
    pub(super) rerun_failed: Option<String>,
    /// Keep the samples these blocks made before their code or config changed
    /// (you assert the change does not alter outputs): record the new
    /// fingerprint where they are complete, and of later blocks whose only
    /// change is the chain; run nothing.
    #[arg(long, value_name = "BLOCK", num_args = 1.., value_delimiter = ',', help_heading = "Blocks")]
    pub(super) accept_changes: Vec<String>,
    /// Start no new sample once N samples failed in this run (rejections do
    /// not count); exit 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) max_failures: Option<u64>,
    /// Retry a failed attempt of any block up to N times in this run, with
    /// the same seed (overrides each block's `retries:`; rejections are final).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub(super) retries: Option<u32>,
    /// Read every recorded output of the targeted samples and redo those
    /// whose digest differs from the record (changed in place), with the
    /// blocks after them.
    #[arg(long)]
    pub(super) verify: bool,
    /// Fsync outputs, records and their folders before a block counts as
    /// done, so a power loss cannot leave a record vouching for lost data.
    #[arg(long)]
    pub(super) durable: bool,
    /// Take over DIR after its .shardgen/ folder was lost: the samples whose
    /// records match this config are kept, the rest redone.
    #[arg(long)]
    pub(super) adopt: bool,
    /// Print what would run and why, change nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Only aggregate statistics and plots over the complete samples; run no block.
    #[arg(long)]
    pub(super) statistics_only: bool,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub(super) quiet: bool,
    /// At the end, print what the run did as one JSON object on stdout
    /// (schema `shardgen-run/1` in the README); progress stays on stderr.
    #[arg(long)]
    pub(super) json: bool,
    /// Seconds after which a claim of another host's run counts as stale
    /// [default: $SHARDGEN_CLAIM_LEASE, else 600].
    #[arg(long, value_name = "SECONDS", value_parser = crate::dataset::claim::parse_lease)]
    pub(super) claim_lease: Option<std::time::Duration>,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not I/K (e.g. 0/4)"))?;
    let index: u64 = index
        .parse()
        .map_err(|_| format!("'{index}' is not a shard index"))?;
    let count: u64 = count
        .parse()
        .map_err(|_| format!("'{count}' is not a shard count"))?;
    if count == 0 || index >= count {
        return Err(format!("shard {index}/{count}: need 0 <= I < K"));
    }
    Ok(Shard { index, count })
}

impl RunArgs {
    pub(super) fn into_options(self, command_line: Vec<String>) -> RunOptions {
        RunOptions {
            config: self.config,
            out: self.out,
            selection: SampleSelection {
                start: self.start_sample,
                count: self.num_samples,
                shard: self.shard,
            },
            jobs: self.jobs.map(|j| j as usize),
            force_run: self.force_run_blocks,
            do_not_retry: self.do_not_retry_blocks,
            rerun_failed: self.rerun_failed,
            accept_changes: self.accept_changes,
            adopt: self.adopt,
            max_failures: self.max_failures,
            retries: self.retries,
            statistics_only: self.statistics_only,
            dry_run: self.dry_run,
            verify: self.verify,
            durable: self.durable,
            claim_lease: self.claim_lease,
            command_line,
        }
    }
}
