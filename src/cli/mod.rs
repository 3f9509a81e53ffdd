//! The command line: parses the words ([`args`]), calls the engine, and is
//! the only code that prints: progress and text on stderr, data (`--json`,
//! `--dry-run`'s plan, `analyze`) on stdout.
//!
//! A user's own binary calls [`main`] with a registry that includes their
//! block types, and gets the same CLI.

mod args;
mod progress;
mod text;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::block::Registry;
use crate::engine::run::RunObserver;
use crate::error::{Error, EXIT_OK, EXIT_SAMPLES_FAILED, EXIT_USAGE};
use args::{
    AnalyzeArgs, Cli, ColorChoice, Command, MergeArgs, ReportArgs, RunArgs, UpgradeArgs, VerifyArgs,
};
use progress::{Progress, ProgressMode};
use text::Style;

/// Runs the shardgen CLI with `registry`'s block types; returns the exit code.
pub fn main(registry: Registry, args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == crate::orphans::GUARD_ARG) {
        // The guard of a run (see orphans.rs), started by this binary.
        let mark = args.get(2).map(|m| m.to_string_lossy().into_owned());
        return ExitCode::from(crate::orphans::guard_main(&mark.unwrap_or_default()));
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) if error.use_stderr() => {
            eprintln!("{}", one_line_usage_error(&error, &args));
            return ExitCode::from(EXIT_USAGE);
        }
        Err(help_or_version) => {
            let _ = help_or_version.print();
            return ExitCode::from(EXIT_OK);
        }
    };
    let style = Style {
        color: use_color(cli.color),
    };
    let command_line = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match cli.command {
        Command::Run(args) => match run(&registry, args, command_line, style) {
            Ok(code) => return ExitCode::from(code),
            Err(error) => Err(error),
        },
        Command::Analyze(args) => analyze(&args, style),
        Command::Verify(args) => match verify(args, style) {
            Ok(false) => return ExitCode::from(crate::error::EXIT_DAMAGED),
            other => other.map(drop),
        },
        Command::Merge(args) => merge(args),
        Command::Blocks => {
            print!("{}", text::blocks::blocks_text(&registry));
            Ok(())
        }
        Command::Export(args) => {
            let json = args.json;
            crate::export::export(&args.into_options()).map(|report| {
                if json {
                    print_json(&report);
                } else {
                    eprint!("{}", text::export::export_text(&report));
                }
            })
        }
        Command::Report(args) => report(&args),
        Command::Debug(args) => match debug(&registry, &args) {
            Ok(code) => return ExitCode::from(code),
            Err(error) => Err(error),
        },
        Command::Upgrade(args) => upgrade(&args),
        Command::Completions(args) => {
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "shardgen", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => {
            eprintln!("{} {error}", style.error("error:"));
            ExitCode::from(error.exit_code())
        }
    }
}

/// `--color`, with `auto` deciding from stderr, `NO_COLOR` and `TERM`.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_some_and(|t| t != "dumb")
        }
    }
}

fn run(
    registry: &Registry,
    args: RunArgs,
    command_line: Vec<String>,
    style: Style,
) -> Result<u8, Error> {
    let (json, quiet, dry_run) = (args.json, args.quiet, args.dry_run);
    let options = args.into_options(command_line);
    crate::interrupt::install();
    let prepared = crate::engine::run::prepare(registry, &options)?;
    if let Some(signal) = crate::interrupt::requested() {
        return Err(Error::Interrupted {
            signal,
            resume: "nothing was changed",
        });
    }
    let plan_text = prepared
        .plan()
        .map(|plan| text::plan::plan_text(plan, style));
    if dry_run {
        let report = prepared.dry_run_report()?;
        if json {
            print_json(&report);
        } else if let Some(plan) = plan_text {
            if let Some(adopted) = prepared.adopted() {
                println!(
                    "{} (dry run: nothing written)",
                    text::summary::adopt_text(adopted, &options)
                );
            }
            print!("{plan}");
        } else if let Some(accepted) = &report.accepted {
            print!("{}", text::summary::accept_text(accepted, true));
        }
        return Ok(EXIT_OK);
    }
    let term = std::env::var("TERM").ok();
    let mode = ProgressMode::choose(quiet, std::io::stderr().is_terminal(), term.as_deref());
    if let (Some(plan), false) = (plan_text, mode == ProgressMode::Quiet) {
        eprint!("{plan}");
    }
    if let (Some(adopted), false) = (prepared.adopted(), mode == ProgressMode::Quiet) {
        eprintln!("{}", text::summary::adopt_text(adopted, &options));
    }
    let progress = Progress::new(mode, style);
    // Kills what the block programs leave running if this process dies.
    crate::orphans::start_guard();
    let result = prepared.execute(&progress as &dyn RunObserver);
    progress.stop();
    let report = result?;
    if let (Some(statistics), false) = (&report.statistics, quiet) {
        eprint!("{}", text::summary::statistics_text(statistics, style));
    }
    if let (Some(accepted), false) = (&report.accepted, quiet) {
        eprint!("{}", text::summary::accept_text(accepted, false));
    }
    if json {
        print_json(&report);
    }
    if let (Some(signal), Some(_)) = (crate::interrupt::requested(), &report.tally.interrupted_by) {
        return Err(Error::Interrupted {
            signal,
            resume: "rerun the same command to resume: it does only what is missing",
        });
    }
    if let Some(reached) = report.tally.max_failures_reached {
        return Err(Error::TooManyFailures {
            failed: reached.failed,
            limit: reached.limit,
        });
    }
    match report.tally.counts.failed {
        0 => Ok(EXIT_OK),
        failed => {
            if !quiet {
                eprintln!(
                    "{}",
                    text::summary::failed_samples_line(failed, &options.out)
                );
            }
            Ok(EXIT_SAMPLES_FAILED)
        }
    }
}

fn merge(args: MergeArgs) -> Result<(), Error> {
    let (quiet, json) = (args.quiet, args.json);
    crate::interrupt::install();
    let report = crate::engine::merge::merge(&args.into_options())?;
    if !quiet {
        eprint!("{}", text::merge::merge_text(&report));
    }
    if json {
        print_json(&report);
    }
    match crate::interrupt::requested() {
        Some(signal) if report.interrupted_by.is_some() => Err(Error::Interrupted {
            signal,
            resume: "run the same merge again to finish it",
        }),
        _ => Ok(()),
    }
}

/// `shardgen verify`; whether the dataset is clean.
fn verify(args: VerifyArgs, style: Style) -> Result<bool, Error> {
    let json = args.json;
    let report = crate::engine::verify::verify(&args.into_options())?;
    if json {
        print_json(&report);
    } else {
        print!("{}", text::verify::verify_text(&report, style));
    }
    Ok(report.is_clean())
}

fn analyze(args: &AnalyzeArgs, style: Style) -> Result<(), Error> {
    match args.sample {
        Some(id) => {
            let detail = crate::engine::analyze::sample_detail(&args.dir, id)?;
            if args.json {
                print_json(&detail);
            } else {
                print!("{}", text::analyze::sample_text(&detail));
            }
        }
        None => {
            let analysis = crate::engine::analyze::analyze(&args.dir)?;
            if args.json {
                print_json(&analysis);
            } else {
                print!("{}", text::analyze::analysis_text(&analysis, style));
            }
        }
    }
    Ok(())
}

/// `shardgen debug`: exit 0 when every block that ran succeeded, else 3.
fn debug(registry: &Registry, args: &args::DebugArgs) -> Result<u8, Error> {
    let report = crate::engine::debug::debug(registry, &args.to_options())?;
    if args.json {
        print_json(&report);
    } else {
        eprint!("{}", text::debug::debug_text(&report));
    }
    Ok(if report.succeeded() {
        EXIT_OK
    } else {
        EXIT_SAMPLES_FAILED
    })
}

fn report(args: &ReportArgs) -> Result<(), Error> {
    let default = args.dir.join(crate::html::REPORT_FILE);
    let out = args.out.clone().unwrap_or(default.clone());
    let html = crate::html::report_from_disk(&args.dir, out == default)?;
    if out.as_os_str() == "-" {
        use std::io::Write as _;
        return std::io::stdout()
            .write_all(html.as_bytes())
            .map_err(|e| Error::io("cannot write", "stdout", e));
    }
    crate::html::write_report(&out, &html)?;
    eprintln!(
        "report: {} ({} KB)",
        out.display(),
        html.len().div_ceil(1000)
    );
    Ok(())
}

fn upgrade(args: &UpgradeArgs) -> Result<(), Error> {
    let report = crate::engine::upgrade::upgrade(&args.dir)?;
    if !args.quiet {
        eprint!("{}", text::upgrade::upgrade_text(&report));
    }
    if args.json {
        print_json(&report);
    }
    Ok(())
}

/// One JSON object on stdout.
fn print_json(value: &impl serde::Serialize) {
    let text = serde_json::to_string_pretty(value).expect("reports serialize");
    println!("{text}");
}

/// clap's error without the usage block, folded onto one line, pointing at
/// the help of the subcommand given (if any).
fn one_line_usage_error(error: &clap::Error, args: &[OsString]) -> String {
    let rendered = error.render().to_string();
    let body = rendered
        .split("\n\nUsage:")
        .next()
        .unwrap_or_default()
        .split("\n\nFor more information")
        .next()
        .unwrap_or_default();
    let folded = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let subcommand = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| Cli::command().find_subcommand(a).is_some());
    match subcommand {
        Some(name) => format!("{folded} (see shardgen {name} --help)"),
        None => format!("{folded} (see shardgen --help)"),
    }
}
