//! What a block's code is, by content: digests of the files an external
//! program runs, and a command line that reads the same on every machine.
//!
//! Rules (they decide when samples become stale):
//! - every argv element that is, after `{config_dir}` is expanded, an
//!   absolute path to an existing regular file counts by the SHA-256 of its
//!   bytes; elements holding per-sample placeholders do not count;
//! - the program itself (argv[0]) counts by content only when it lies under
//!   the config folder; otherwise it is identified by its name
//!   (`/usr/bin/python3` and `python3` are the same program);
//! - every file matched by the block's `code:` globs (relative to the config
//!   file's folder) counts by content; a glob that matches nothing is a
//!   config error;
//! - files are named relative to the config folder (`../scripts/render.py`)
//!   when they were given through `{config_dir}` or lie under it, so that
//!   fingerprints are equal between machines with the checkout elsewhere;
//! - modification times are never used.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::env::{CONFIG_DIR_PLACEHOLDER as CONFIG_DIR, SAMPLE_PLACEHOLDERS};

/// The digests of a block's code files, by portable name; `Err` is a config
/// error about `code:`.
pub(crate) fn code_digests(
    command: Option<&[String]>,
    code: &[String],
    config_dir: &Path,
) -> Result<BTreeMap<String, String>, String> {
    let mut digests = BTreeMap::new();
    for (index, arg) in command.unwrap_or_default().iter().enumerate() {
        if SAMPLE_PLACEHOLDERS.iter().any(|p| arg.contains(p)) {
            continue;
        }
        let expanded = PathBuf::from(arg.replace(CONFIG_DIR, &config_dir.to_string_lossy()));
        if !expanded.is_absolute() || !expanded.is_file() {
            continue;
        }
        let name = portable_name(arg, &expanded, config_dir);
        let under_config = !name.starts_with('/');
        if index == 0 && !under_config {
            continue; // a program installed elsewhere counts by its name
        }
        let digest = file_digest(&expanded).map_err(|e| format!("cannot read '{arg}': {e}"))?;
        digests.insert(name, digest);
    }
    for pattern in code {
        let full = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            format!(
                "{}/{pattern}",
                glob::Pattern::escape(&config_dir.to_string_lossy())
            )
        };
        let paths = glob::glob_with(&full, crate::globs::GLOB_OPTIONS)
            .map_err(|e| format!("code: '{pattern}' is not a valid glob pattern: {}", e.msg))?;
        let mut matched = false;
        for path in paths.flatten() {
            if !path.is_file() {
                continue;
            }
            matched = true;
            let digest = file_digest(&path)
                .map_err(|e| format!("code: cannot read '{}': {e}", path.display()))?;
            digests.insert(portable_name(pattern, &path, config_dir), digest);
        }
        if !matched {
            return Err(format!(
                "code: '{pattern}' matches no file (patterns are relative to the config \
                 file's folder {}); fix the pattern or remove it",
                config_dir.display()
            ));
        }
    }
    Ok(digests)
}

/// The block's `version:` as text: a string or a number.
pub(crate) fn code_version(value: Option<&serde_yaml::Value>) -> Result<Option<String>, String> {
    match value {
        None => Ok(None),
        Some(serde_yaml::Value::String(text)) => Ok(Some(text.clone())),
        Some(serde_yaml::Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err("`version` must be a string or a number".to_owned()),
    }
}

/// The command as the fingerprint sees it: a program outside the config
/// folder by its file name, absolute paths under the config folder as
/// `{config_dir}/...`.
pub(crate) fn portable_command(command: &[String], config_dir: &Path) -> Vec<String> {
    command
        .iter()
        .enumerate()
        .map(|(index, arg)| {
            let path = Path::new(arg);
            if !path.is_absolute() {
                return arg.clone();
            }
            if let Ok(relative) = path.strip_prefix(config_dir) {
                return format!("{CONFIG_DIR}/{}", relative.to_string_lossy());
            }
            match (index, path.file_name()) {
                (0, Some(name)) => name.to_string_lossy().into_owned(),
                _ => arg.clone(),
            }
        })
        .collect()
}

/// A file's name relative to the config folder when `given` went through
/// `{config_dir}` or is relative, or when `path` lies under the folder;
/// otherwise its absolute path.
fn portable_name(given: &str, path: &Path, config_dir: &Path) -> String {
    if let Some(rest) = given.strip_prefix(CONFIG_DIR) {
        return normalize(rest.trim_start_matches('/'));
    }
    if let Ok(relative) = path.strip_prefix(config_dir) {
        return normalize(&relative.to_string_lossy());
    }
    path.to_string_lossy().into_owned()
}

/// Drops `.` components and folds `dir/..` where a real folder precedes it.
fn normalize(relative: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(relative).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

/// SHA-256 of a file's bytes, hex; 128 bits are plenty to notice an edit.
fn file_digest(path: &Path) -> std::io::Result<String> {
    let digest = Sha256::digest(std::fs::read(path)?);
    Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// What changed between two sets of digests, in words
/// (`code '../scripts/shapelib.py' changed`).
pub(crate) fn explain_code_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| match (old.get(name), new.get(name)) {
            (Some(a), Some(b)) if a != b => Some(format!("code '{name}' changed")),
            (None, Some(_)) => Some(format!("code '{name}' added")),
            (Some(_), None) => Some(format!("code '{name}' no longer used")),
            _ => None,
        })
        .collect()
}

/// The differences between two command lines, element by element
/// (`command changed: arg 1 'a.py' -> 'b.py'`).
pub(crate) fn explain_command_change(old: &[String], new: &[String]) -> String {
    let mut parts = Vec::new();
    for index in 0..old.len().max(new.len()) {
        let what = if index == 0 {
            "program".to_owned()
        } else {
            format!("arg {index}")
        };
        match (old.get(index), new.get(index)) {
            (Some(a), Some(b)) if a != b => parts.push(format!("{what} '{a}' -> '{b}'")),
            (Some(a), None) => parts.push(format!("{what} '{a}' removed")),
            (None, Some(b)) => parts.push(format!("{what} '{b}' added")),
            _ => {}
        }
    }
    format!("command changed: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_count_by_name_and_config_paths_relative() {
        let config = Path::new("/home/me/proj/configs");
        let argv = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            portable_command(
                &argv(&["/usr/bin/python3", "/home/me/proj/configs/x.py", "/etc/a"]),
                config
            ),
            argv(&["python3", "{config_dir}/x.py", "/etc/a"])
        );
        assert_eq!(
            portable_command(&argv(&["python3", "{config_dir}/x.py"]), config),
            argv(&["python3", "{config_dir}/x.py"])
        );
        assert_eq!(normalize("../scripts/./a/../b.py"), "../scripts/b.py");
    }

    #[test]
    fn files_are_digested_by_content_and_named_portably() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("configs");
        std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(dir.path().join("scripts/run.py"), "print(1)").unwrap();
        std::fs::write(dir.path().join("scripts/lib.py"), "x = 1").unwrap();
        let command = vec![
            "python3".to_owned(),
            "{config_dir}/../scripts/run.py".to_owned(),
            "{sample_dir}/in.txt".to_owned(),
        ];
        let code = vec!["../scripts/l*.py".to_owned()];
        let before = code_digests(Some(&command), &code, &config).unwrap();
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            ["../scripts/lib.py", "../scripts/run.py"]
        );
        std::fs::write(dir.path().join("scripts/lib.py"), "x = 2").unwrap();
        let after = code_digests(Some(&command), &code, &config).unwrap();
        assert_eq!(
            explain_code_changes(&before, &after),
            ["code '../scripts/lib.py' changed"]
        );
        let missing = code_digests(None, &["nope/*.py".to_owned()], &config).unwrap_err();
        assert!(missing.starts_with("code: 'nope/*.py' matches no file"));
    }

    #[test]
    fn command_changes_are_shown_element_by_element() {
        let a = vec!["python3".to_owned(), "a.py".to_owned()];
        let b = vec!["python3".to_owned(), "b.py".to_owned(), "-v".to_owned()];
        assert_eq!(
            explain_command_change(&a, &b),
            "command changed: arg 1 'a.py' -> 'b.py', arg 2 '-v' added"
        );
    }
}
