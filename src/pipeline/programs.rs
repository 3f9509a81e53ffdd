//! The programs of `command` blocks must exist before a run starts: a
//! program that cannot be found would fail every sample, so it is a config
//! error (exit 2, nothing changed) instead. Checked only when blocks are to
//! run: `--statistics-only` needs none of the blocks' programs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::env::CONFIG_DIR_PLACEHOLDER;
use crate::error::{ConfigError, ConfigLocation};
use crate::pipeline::Pipeline;

/// Checks that the program of every `command` block can be executed.
pub(crate) fn check_programs(pipeline: &Pipeline) -> Result<(), ConfigError> {
    for block in &pipeline.blocks {
        let Some(program) = block.description.command.as_ref().and_then(|a| a.first()) else {
            continue;
        };
        let dir = pipeline.config_dir.to_string_lossy();
        let program = program.replace(CONFIG_DIR_PLACEHOLDER, &dir);
        if program.contains('{') {
            continue; // a sample's placeholder: known only per sample
        }
        if let Err(why) = find(&program) {
            return Err(ConfigError {
                location: ConfigLocation {
                    file: pipeline.config_path.clone(),
                    line: None,
                    block: Some(block.name().to_owned()),
                },
                message: format!("{why}; install it, or fix the program in `command`"),
            });
        }
    }
    Ok(())
}

/// Where `program` is: a path as given, or the first executable of that name
/// on `PATH`.
fn find(program: &str) -> Result<PathBuf, String> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return match executable(&path) {
            true => Ok(path),
            false => Err(format!(
                "program '{program}' does not exist or is not executable"
            )),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
        .ok_or_else(|| format!("program '{program}' is not found on PATH"))
}

fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_by_path_or_name() {
        assert!(find("sh").is_ok());
        assert!(find("/bin/sh").is_ok());
        assert_eq!(
            find("surely-no-such-program-here").unwrap_err(),
            "program 'surely-no-such-program-here' is not found on PATH"
        );
        assert!(find("/nonexistent/tool").is_err());
    }
}
