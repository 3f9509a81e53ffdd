//! The command line: clap structs only, converted into the engine's options.
//! A user's own binary calls [`main`] with a registry that includes their
//! block types, and gets the same CLI.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::block::Registry;
use crate::error::{Error, EXIT_OK, EXIT_USAGE};
use crate::merge::MergeOptions;
use crate::run::{RunOptions, SampleSelection, Shard};

#[derive(Parser)]
#[command(
    name = "shardgen",
    version,
    about = "Deterministic, resumable, shardable dataset generation",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline over a range of samples; rerun the same command to resume.
    Run(RunArgs),
    /// Combine shard folders of one pipeline into one dataset folder, checked.
    Merge(MergeArgs),
    /// List the block types with their params, inputs and outputs.
    Blocks,
    /// Show what a dataset holds: done, failed, stale, missing; reads only.
    Analyze(AnalyzeArgs),
}

#[derive(Args)]
struct AnalyzeArgs {
    /// The dataset folder.
    dir: PathBuf,
    /// Print one JSON object to stdout (schema in the README).
    #[arg(long, conflicts_with = "sample")]
    json: bool,
    /// Show one sample: each block's state, reason, statistics, timing, seed.
    #[arg(long, value_name = "N")]
    sample: Option<u64>,
}

#[derive(Args)]
struct MergeArgs {
    /// The shard dataset folders, made by `shardgen run` on any machine.
    #[arg(value_name = "SHARD", required = true)]
    shards: Vec<PathBuf>,
    /// The dataset folder to merge into, new or existing.
    #[arg(long, value_name = "DIR")]
    into: PathBuf,
    /// Move the sample folders instead of copying them (a rename on one filesystem).
    #[arg(long = "move")]
    move_samples: bool,
    /// Report samples whose copies conflict and keep DIR's copy, instead of refusing.
    #[arg(long)]
    skip_conflicts: bool,
    /// Samples compared and copied in parallel [default: all cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    jobs: Option<u32>,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

impl MergeArgs {
    fn into_options(self) -> MergeOptions {
        MergeOptions {
            shards: self.shards,
            into: self.into,
            move_samples: self.move_samples,
            skip_conflicts: self.skip_conflicts,
            jobs: self.jobs.map(|j| j as usize),
        }
    }
}

#[derive(Args)]
struct RunArgs {
    /// The pipeline config (YAML).
    config: PathBuf,
    /// The dataset folder.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
    /// First global sample index [default: 0].
    #[arg(long, value_name = "N", help_heading = "Samples")]
    start_sample: Option<u64>,
    /// Number of samples [default: the config's `samples`, else those present in DIR].
    #[arg(long, value_name = "N", help_heading = "Samples")]
    num_samples: Option<u64>,
    /// Work on shard I (0-based) of K contiguous parts of the range.
    #[arg(long, value_name = "I/K", value_parser = parse_shard, help_heading = "Samples")]
    shard: Option<Shard>,
    /// Samples run in parallel [default: all cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    jobs: Option<u32>,
    /// Rerun these blocks (and all after them) on the targeted samples.
    #[arg(long, value_name = "BLOCK", num_args = 1.., value_delimiter = ',', help_heading = "Blocks")]
    force_run_blocks: Vec<String>,
    /// Never run these blocks; samples that would need them are left alone.
    #[arg(long, value_name = "BLOCK", num_args = 1.., value_delimiter = ',', help_heading = "Blocks")]
    do_not_retry_blocks: Vec<String>,
    /// Print what would run and why, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only aggregate statistics and plots over the complete samples; run no block.
    #[arg(long)]
    statistics_only: bool,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Seconds after which a claim of another host's run counts as stale
    /// [default: $SHARDGEN_CLAIM_LEASE, else 600].
    #[arg(long, value_name = "SECONDS", value_parser = crate::claim::parse_lease)]
    claim_lease: Option<std::time::Duration>,
    /// Take over DIR after its .shardgen/ folder was lost: the samples whose
    /// records match this config are kept, the rest redone.
    #[arg(long)]
    adopt: bool,
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
    fn into_options(self, command_line: Vec<String>) -> RunOptions {
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
            dry_run: self.dry_run,
            statistics_only: self.statistics_only,
            quiet: self.quiet,
            claim_lease: self.claim_lease,
            command_line,
            adopt: self.adopt,
        }
    }
}

/// Runs the shardgen CLI with `registry`'s block types; returns the exit code.
pub fn main(registry: Registry, args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) if error.use_stderr() => {
            eprintln!("{}", one_line_usage_error(&error));
            return ExitCode::from(EXIT_USAGE);
        }
        Err(help_or_version) => {
            let _ = help_or_version.print();
            return ExitCode::from(EXIT_OK);
        }
    };
    let command_line = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match cli.command {
        Command::Run(args) => {
            crate::run::run(&registry, &args.into_options(command_line)).map(drop)
        }
        Command::Analyze(args) => analyze(&args),
        Command::Merge(args) => {
            let quiet = args.quiet;
            crate::merge::merge(&args.into_options()).map(|summary| {
                if !quiet {
                    eprint!("{}", crate::report::merge_text(&summary));
                }
            })
        }
        Command::Blocks => {
            print!("{}", blocks_text(&registry));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => {
            report_error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

/// clap's error without the usage block, folded onto one line.
fn one_line_usage_error(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let body = rendered
        .split("\n\nUsage:")
        .next()
        .unwrap_or_default()
        .split("\n\nFor more information")
        .next()
        .unwrap_or_default();
    let folded = body.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{folded} (see shardgen --help)")
}

fn analyze(args: &AnalyzeArgs) -> Result<(), Error> {
    let text = match args.sample {
        Some(id) => crate::analyze::sample_text(&args.dir, id)?,
        None if args.json => {
            let analysis = crate::analyze::analyze(&args.dir)?;
            serde_json::to_string_pretty(&analysis).expect("analysis serializes") + "\n"
        }
        None => {
            let analysis = crate::analyze::analyze(&args.dir)?;
            let blocks = crate::analyze::pipeline_blocks(&args.dir)?;
            crate::analyze::analysis_text(&analysis, &blocks)
        }
    };
    print!("{text}");
    Ok(())
}

fn report_error(error: &Error) {
    eprintln!("error: {error}");
}

fn blocks_text(registry: &Registry) -> String {
    let mut text = String::new();
    for doc in registry.docs() {
        text.push_str(&format!(
            "{} (version {})\n  {}\n",
            doc.type_name, doc.version, doc.summary
        ));
        if !doc.inputs.is_empty() {
            text.push_str(&format!("  inputs:  {}\n", doc.inputs.join(", ")));
        }
        if !doc.outputs.is_empty() {
            text.push_str(&format!("  outputs: {}\n", doc.outputs.join(", ")));
        }
        for (name, default, description) in &doc.params {
            text.push_str(&format!("  param {name} = {default}: {description}\n"));
        }
        text.push('\n');
    }
    text
}
