//! A user's own Rust block type, run through the library's CLI entry point
//! exactly as a user's `main` would.

use std::ffi::OsString;

use serde::{Deserialize, Serialize};
// The rand that ctx.rng() speaks, whatever rand the user's crate depends on.
use shardgen::rand::Rng;
use shardgen::{Block, BlockError, BlockSetup, Registry, Rejection, SampleContext};

use crate::common::{block_reason, block_status, record, Workspace};

/// Writes a number; rejects samples whose number is below `min`.
struct Dice {
    min: u32,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DiceParams {
    min: u32,
}

impl Block for Dice {
    const TYPE: &'static str = "dice";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str = "rolls a d6";
    const DEFAULT_OUTPUTS: &'static [&'static str] = &["roll.txt"];
    type Params = DiceParams;

    fn new(params: DiceParams, _setup: &mut BlockSetup) -> Result<Self, String> {
        Ok(Self { min: params.min })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let roll: u32 = ctx.rng().random_range(1..=6);
        std::fs::write(ctx.output("roll.txt"), roll.to_string())?;
        ctx.record_stat("roll", f64::from(roll));
        ctx.log(format_args!("rolled {roll}"));
        ctx.set_data(roll); // validate needs not re-read roll.txt
        Ok(())
    }

    fn validate(&self, ctx: &mut SampleContext<'_>) -> Result<(), Rejection> {
        let roll = *ctx
            .data::<u32>()
            .ok_or_else(|| Rejection("run handed no roll".into()))?;
        if roll < self.min {
            return Err(Rejection(format!("rolled {roll} < {}", self.min)));
        }
        Ok(())
    }
}

fn cli(args: &[&std::path::Path]) -> std::process::ExitCode {
    let mut registry = Registry::builtin();
    registry.register::<Dice>();
    let mut argv: Vec<OsString> = vec!["shardgen".into(), "run".into()];
    argv.extend(args.iter().map(|a| a.as_os_str().to_owned()));
    argv.push("--quiet".into());
    shardgen::cli::main(registry, argv)
}

#[test]
fn a_user_block_runs_validates_and_rejects_through_the_library_cli() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        "seed: 5\nsamples: 30\nblocks:\n  - {name: roll, type: dice, params: {min: 3}}\n",
    );
    let out = ws.path("data");
    let code = cli(&[&config, "--out".as_ref(), &out]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut rejected = 0;
    for id in 0..30 {
        let status = block_status(&out, id, "roll").unwrap();
        let roll = &record(&out, id)["blocks"][0]["stats"]["roll"];
        let dir = crate::common::sample(&out, id);
        if status == "rejected" {
            rejected += 1;
            let reason = block_reason(&out, id, "roll").unwrap();
            assert_eq!(reason, format!("rolled {} < 3", roll.as_f64().unwrap()));
            assert!(
                !dir.join("roll.txt").exists(),
                "a rejected output was published"
            );
        } else {
            assert_eq!(status, "ok");
            let text = std::fs::read_to_string(dir.join("roll.txt")).unwrap();
            assert_eq!(text.parse::<f64>().unwrap(), roll.as_f64().unwrap());
        }
    }
    assert!((3..=20).contains(&rejected), "{rejected} of 30 rejected");
}

/// A library caller runs quietly and gets the report as data: nothing is
/// printed, and the counts are the engine's own.
#[test]
fn a_library_caller_runs_quietly_and_gets_a_report() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        "seed: 5\nsamples: 30\nblocks:\n  - {name: roll, type: dice, params: {min: 3}}\n",
    );
    let mut registry = Registry::builtin();
    registry.register::<Dice>();
    let options = shardgen::RunOptions {
        config,
        out: ws.path("data"),
        ..shardgen::RunOptions::default()
    };
    let prepared = shardgen::prepare(&registry, &options).unwrap();
    assert_eq!(prepared.plan().unwrap().summary.targeted, 30);
    let report = prepared.execute(&shardgen::Quiet).unwrap();
    let counts = &report.tally.counts;
    assert_eq!(counts.completed + counts.rejected, 30);
    assert_eq!(counts.failed, 0, "dice only rejects");
    assert!(counts.rejected > 0);
    let groups = report.tally.failures.largest_first();
    // "rolled 1 < 3" and "rolled 2 < 3" are one kind of rejection.
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].kind, "rejected: rolled <");
    assert_eq!(groups[0].count, counts.rejected);
    assert!(matches!(
        report.statistics,
        Some(shardgen::StatisticsOutcome::Written { complete, .. }) if complete == counts.completed
    ));
    // The read-only view sees the same samples.
    let view = shardgen::DatasetView::open(ws.path("data")).unwrap();
    let complete = view.samples().unwrap().filter(|s| s.is_complete()).count();
    assert_eq!(complete as u64, counts.completed);
}
