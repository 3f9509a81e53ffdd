//! The `shardgen run` commands that fill the gaps of a dataset, as `merge`
//! and `analyze` print them. Every word is quoted for a POSIX shell, so
//! `sh -c` runs each command exactly as printed, whatever the paths hold.

use std::path::Path;

use crate::ranges::SampleRange;

/// Gaps listed one command each; more get one command over the whole range
/// (the samples present are skipped by the plan anyway).
pub(crate) const GAP_COMMANDS_SHOWN: usize = 10;
/// Stands for the config file when no run log names it.
pub(crate) const CONFIG_PLACEHOLDER: &str = "<config.yaml>";

/// Commands that run the samples of `gaps` (sorted, within `within`) into
/// `out`, with `config` if known.
pub(crate) fn gap_commands(
    config: Option<&Path>,
    out: &Path,
    gaps: &[SampleRange],
    within: SampleRange,
) -> Vec<String> {
    let config = config.map_or_else(
        || CONFIG_PLACEHOLDER.to_owned(),
        |c| shell_word(&c.to_string_lossy()),
    );
    let out = shell_word(&out.to_string_lossy());
    let command = |range: SampleRange| {
        format!(
            "shardgen run {config} --out {out} --start-sample {} --num-samples {}",
            range.start,
            range.len()
        )
    };
    if gaps.len() <= GAP_COMMANDS_SHOWN {
        gaps.iter().map(|&gap| command(gap)).collect()
    } else {
        vec![command(within)]
    }
}

/// `word` quoted for a POSIX shell when it needs quoting.
pub(crate) fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_word("data/shapes"), "data/shapes");
        assert_eq!(shell_word("my data"), "'my data'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        let commands = gap_commands(
            Some(Path::new("/c/my config.yaml")),
            Path::new("out dir"),
            &[SampleRange::new(3, 5)],
            SampleRange::new(0, 10),
        );
        assert_eq!(
            commands,
            ["shardgen run '/c/my config.yaml' --out 'out dir' --start-sample 3 --num-samples 2"]
        );
    }

    #[test]
    fn many_gaps_become_one_command() {
        let gaps: Vec<_> = (0..11)
            .map(|i| SampleRange::new(2 * i, 2 * i + 1))
            .collect();
        let commands = gap_commands(None, Path::new("d"), &gaps, SampleRange::new(0, 22));
        assert_eq!(
            commands,
            ["shardgen run <config.yaml> --out d --start-sample 0 --num-samples 22"]
        );
    }
}
