//! `command`: runs an external program once per sample, never through a shell.
//!
//! The program runs in its own process group with the attempt's staging
//! folder as working directory. On a timeout the whole group is killed; on
//! Linux the kernel also kills the program when shardgen dies, and whatever
//! outlives it can only write into a staging folder that the next run
//! discards.
//!
//! A program rejects a sample (rather than failing on it) by writing a reason
//! into the file named by `SHARDGEN_REJECT` and exiting 0; its statistics are
//! kept. With `worker:` the program serves many samples (see `worker.rs`).

use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};

use super::child::{die_with_parent, output_tail, read_stats_file, with_tail, Watchdog};
use super::worker::{check_worker_argv, WorkerPool};
use crate::block::{Block, BlockError, BlockSetup, SampleContext};
use crate::env;

/// Runs `command:` per sample; see the module docs. With `worker:` it runs
/// the program once per job slot instead ([`super::worker`]).
pub(crate) struct CommandBlock {
    argv: Vec<String>,
    worker: Option<WorkerPool>,
}

impl Block for CommandBlock {
    const TYPE: &'static str = "command";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str = "runs `command:` (an argv, no shell) once per sample, or once \
        per job slot with `worker:`; free-form params reach it as SHARDGEN_PARAMS";
    type Params = serde_json::Map<String, serde_json::Value>;

    fn new(_params: Self::Params, setup: &mut BlockSetup) -> Result<Self, String> {
        let argv = setup
            .command
            .take()
            .ok_or("a block of type 'command' needs `command: [program, arg, ...]`".to_owned())?;
        let Some(program) = argv.first() else {
            return Err("`command` is empty; give at least the program to run".into());
        };
        if program.contains('/') && !program.starts_with('/') && !program.starts_with('{') {
            return Err(format!(
                "command program '{program}' is a relative path, which would be looked up from \
                 the staging folder; write \"{{config_dir}}/{program}\" or an absolute path"
            ));
        }
        for arg in &argv {
            check_placeholders(arg)?;
        }
        let worker = match setup.worker.take() {
            Some(settings) => {
                check_worker_argv(&argv)?;
                Some(WorkerPool::new(argv.clone(), settings))
            }
            None => None,
        };
        Ok(Self { argv, worker })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        if let Some(pool) = &self.worker {
            return pool.run(ctx);
        }
        let reject_path = ctx.scratch_dir().join("reject.txt");
        let _ = fs::remove_file(&reject_path);
        let log_path = ctx.attempt_log();
        let log = fs::File::create(&log_path)?;
        let argv: Vec<String> = self.argv.iter().map(|a| expand(a, ctx)).collect();
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(ctx.out_dir())
            .env(env::SAMPLE_ID, ctx.sample_id().to_string())
            .env(env::SEED, ctx.seed().to_string())
            .env(env::SAMPLE_DIR, ctx.sample_dir())
            .env(env::OUT_DIR, ctx.out_dir())
            .env(env::BLOCK, ctx.block_name())
            .env(env::PARAMS, ctx.params_json())
            .env(env::STATS, ctx.stats_file())
            .env(env::REJECT, &reject_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        die_with_parent(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| BlockError::new(format!("cannot start '{}': {e}", argv[0])))?;
        let pid = child.id();
        let watchdog = ctx.timeout().map(|limit| Watchdog::start(pid, limit));
        let status = child.wait()?;
        let timed_out = watchdog.is_some_and(Watchdog::stop);
        let tail = output_tail(&log_path);
        if timed_out {
            let limit = ctx.timeout().unwrap_or_default().as_secs_f64();
            return Err(BlockError::new(with_tail(
                format!("timed out after {limit} s"),
                &tail,
            )));
        }
        if !status.success() {
            let what = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => "ended abnormally".to_owned(),
            };
            return Err(BlockError::new(with_tail(what, &tail)));
        }
        let stats = read_stats_file(ctx);
        match fs::read_to_string(&reject_path) {
            Ok(reason) => {
                let _ = fs::remove_file(&reject_path);
                let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
                let reason = if reason.is_empty() {
                    "rejected by the program".to_owned()
                } else {
                    reason
                };
                Err(BlockError::rejected(reason))
            }
            Err(_) => stats,
        }
    }
}

/// Rejects `{word}` placeholders that do not exist, so typos fail at load.
fn check_placeholders(arg: &str) -> Result<(), String> {
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let Some(close) = after.find('}') else { break };
        let candidate = &after[..=close];
        let inner = &candidate[1..candidate.len() - 1];
        let looks_like_placeholder =
            !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if looks_like_placeholder && !env::PLACEHOLDERS.contains(&candidate) {
            return Err(format!(
                "unknown placeholder {candidate} in command; known: {}",
                env::PLACEHOLDERS.join(" ")
            ));
        }
        rest = &after[1..];
    }
    Ok(())
}

fn expand(arg: &str, ctx: &SampleContext<'_>) -> String {
    if !arg.contains('{') {
        return arg.to_owned();
    }
    let path = |p: &Path| p.to_string_lossy().into_owned();
    arg.replace("{sample_id}", &ctx.sample_id().to_string())
        .replace("{seed}", &ctx.seed().to_string())
        .replace("{sample_dir}", &path(ctx.sample_dir()))
        .replace("{out_dir}", &path(ctx.out_dir()))
        .replace("{config_dir}", &path(ctx.config_dir()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_placeholders_are_config_errors() {
        assert!(check_placeholders("{sample_id}-{seed}").is_ok());
        assert!(check_placeholders("{\"json\": 1}").is_ok());
        let error = check_placeholders("{sample}").unwrap_err();
        assert!(error.starts_with("unknown placeholder {sample} in command"));
    }

    #[test]
    fn relative_program_paths_are_refused() {
        let mut setup = BlockSetup {
            command: Some(vec!["scripts/x.py".into()]),
            ..BlockSetup::default()
        };
        let error = CommandBlock::new(Default::default(), &mut setup)
            .err()
            .unwrap();
        assert!(error.contains("{config_dir}/scripts/x.py"));
    }
}
