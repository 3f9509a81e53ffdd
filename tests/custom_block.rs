//! A user's own Rust block type, run through the library's CLI entry point
//! exactly as a user's `main` would.

use std::ffi::OsString;

use rand::Rng;
use serde::{Deserialize, Serialize};
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
        Ok(())
    }

    fn validate(&self, ctx: &mut SampleContext<'_>) -> Result<(), Rejection> {
        let roll: u32 = std::fs::read_to_string(ctx.output("roll.txt"))
            .map_err(|e| Rejection(e.to_string()))?
            .parse()
            .map_err(|_| Rejection("not a number".into()))?;
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
        let dir = out.join(format!("{id:010}"));
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
