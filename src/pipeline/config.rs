//! Loading a pipeline config: YAML text -> validated [`Pipeline`].
//!
//! Every check happens here, before anything on disk is touched, and every
//! error names the file, the line and the block, and says how to fix it.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::block::{BlockSetup, Registry};
use crate::error::{ConfigError, ConfigLocation};
use crate::layout::META_DIR;
use crate::layout::RECORD_FILE;
use crate::pipeline::description::BlockDescription;
use crate::pipeline::fingerprint::assign_fingerprints;
use crate::pipeline::outputs::{BlockOutputs, OutputPattern};
use crate::pipeline::plots::{validate_plots, PlotSpec};
use crate::pipeline::{Pipeline, PipelineBlock};

/// The top level of a config file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    seed: u64,
    #[serde(default)]
    samples: Option<u64>,
    blocks: Vec<RawBlock>,
    #[serde(default)]
    plots: Vec<serde_yaml::Value>,
}

/// One entry of `blocks:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    command: Option<Vec<String>>,
    #[serde(default)]
    inputs: Option<Vec<String>>,
    #[serde(default)]
    outputs: Option<Vec<String>>,
    #[serde(default)]
    optional_outputs: Option<Vec<String>>,
    #[serde(default)]
    params: serde_yaml::Value,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    worker: Option<serde_yaml::Value>,
    #[serde(default)]
    code: Option<Vec<String>>,
    #[serde(default)]
    version: Option<serde_yaml::Value>,
    #[serde(default)]
    retries: Option<serde_yaml::Value>,
}

/// Loads and validates the config at `path` against the block types of
/// `registry`.
pub(crate) fn load(path: &Path, registry: &Registry) -> Result<Pipeline, ConfigError> {
    let text = crate::pipeline::bounds::read_config(path).map_err(|message| ConfigError {
        location: file_location(path),
        message,
    })?;
    let config_dir = absolute_parent(path);
    parse(&text, path, &config_dir, registry)
}

/// Parses config `text` as if read from `path`.
pub(crate) fn parse(
    text: &str,
    path: &Path,
    config_dir: &Path,
    registry: &Registry,
) -> Result<Pipeline, ConfigError> {
    let lines = LineFinder { text };
    let raw: RawConfig = serde_yaml::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
    let at = |index: usize, key: Option<&str>, message: String| ConfigError {
        location: ConfigLocation {
            file: path.to_path_buf(),
            line: lines.block_line(index, key),
            block: raw.blocks.get(index).map(|b| b.name.clone()),
        },
        message,
    };
    if raw.blocks.is_empty() {
        return Err(ConfigError {
            location: ConfigLocation {
                file: path.to_path_buf(),
                line: lines.key_line("blocks"),
                block: None,
            },
            message: "the chain is empty; list at least one block under `blocks:`".into(),
        });
    }

    let mut blocks: Vec<PipelineBlock> = Vec::with_capacity(raw.blocks.len());
    let mut output_owner: HashMap<String, String> = HashMap::new();
    for (index, entry) in raw.blocks.iter().enumerate() {
        check_name(entry, &blocks).map_err(|m| at(index, Some("name"), m))?;
        let (default_inputs, default_outputs) =
            registry.default_io(&entry.type_name).ok_or_else(|| {
                let known: Vec<_> = registry.type_names().collect();
                at(
                    index,
                    Some("type"),
                    format!(
                        "unknown block type '{}'; known types: {} (see `shardgen blocks`)",
                        entry.type_name,
                        known.join(", ")
                    ),
                )
            })?;
        let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let inputs = entry
            .inputs
            .clone()
            .unwrap_or_else(|| owned(default_inputs));
        let outputs = entry
            .outputs
            .clone()
            .unwrap_or_else(|| owned(default_outputs));
        let optional_outputs = entry.optional_outputs.clone().unwrap_or_default();

        for (key, list) in [
            ("outputs", &outputs),
            ("optional_outputs", &optional_outputs),
        ] {
            for output in list {
                check_output(output).map_err(|m| at(index, Some(key), m))?;
                if let Some(owner) = output_owner.insert(output.clone(), entry.name.clone()) {
                    return Err(at(
                        index,
                        Some(key),
                        format!(
                            "output '{output}' is already declared by block '{owner}'; \
                             each file must belong to one block"
                        ),
                    ));
                }
            }
        }
        check_overlap(&outputs, &optional_outputs, &blocks)
            .map_err(|m| at(index, Some("outputs"), m))?;
        for input in &inputs {
            check_input(input, &blocks).map_err(|m| at(index, Some("inputs"), m))?;
        }
        let timeout = match entry.timeout {
            None => None,
            Some(seconds) if seconds > 0.0 && seconds.is_finite() => {
                Some(Duration::from_secs_f64(seconds))
            }
            Some(seconds) => {
                return Err(at(
                    index,
                    Some("timeout"),
                    format!("timeout {seconds} must be a positive number of seconds"),
                ))
            }
        };
        let retries = match &entry.retries {
            None => 0,
            Some(value) => parse_retries(value).map_err(|m| at(index, Some("retries"), m))?,
        };

        let worker = match &entry.worker {
            None => None,
            Some(value) => crate::worker_settings::WorkerSettings::parse(value)
                .map_err(|m| at(index, Some("worker"), m))?,
        };
        let mut setup = BlockSetup {
            name: entry.name.clone(),
            inputs: inputs.clone(),
            outputs: outputs.clone(),
            optional_outputs: optional_outputs.clone(),
            command: entry.command.clone(),
            timeout,
            config_dir: config_dir.to_path_buf(),
            worker,
        };
        let built = registry
            .build(&entry.type_name, &entry.params, &mut setup)
            .expect("type checked above")
            .map_err(|m| at(index, Some(error_key(&m)), m))?;
        // Keys only `command` blocks take: a type that did not take them
        // leaves them in the setup.
        let left = [
            ("worker", setup.worker.is_some()),
            ("command", setup.command.is_some()),
        ];
        if let Some((key, _)) = left.into_iter().find(|(_, present)| *present) {
            return Err(at(
                index,
                Some(key),
                format!(
                    "key '{key}' does not apply to blocks of type '{}'; remove it or use \
                     `type: command`",
                    entry.type_name
                ),
            ));
        }
        let code = crate::code_digest::code_digests(
            entry.command.as_deref(),
            entry.code.as_deref().unwrap_or_default(),
            config_dir,
        )
        .map_err(|m| at(index, Some("code"), m))?;
        let code_version = crate::code_digest::code_version(entry.version.as_ref())
            .map_err(|m| at(index, Some("version"), m))?;
        let description = BlockDescription {
            name: entry.name.clone(),
            type_name: entry.type_name.clone(),
            version: built.version,
            params: built.params,
            command: entry
                .command
                .as_deref()
                .map(|c| crate::code_digest::portable_command(c, config_dir)),
            code,
            code_version,
            inputs,
            outputs,
            optional_outputs,
            fingerprint: String::new(),
        };
        blocks.push(PipelineBlock {
            outputs: BlockOutputs::of(&description),
            description,
            timeout,
            retries,
            instance: built.instance,
        });
    }

    let plots = parse_plots(&raw.plots).map_err(|message| ConfigError {
        location: ConfigLocation {
            file: path.to_path_buf(),
            line: lines.key_line("plots"),
            block: None,
        },
        message,
    })?;
    let mut descriptions: Vec<_> = blocks.iter().map(|b| b.description.clone()).collect();
    assign_fingerprints(raw.seed, &mut descriptions);
    for (block, description) in blocks.iter_mut().zip(descriptions) {
        block.description = description;
    }
    Ok(Pipeline {
        seed: raw.seed,
        samples: raw.samples,
        blocks,
        plots,
        config_path: path.to_path_buf(),
        config_dir: config_dir.to_path_buf(),
    })
}

/// The most retries a block may ask for.
pub(crate) const MAX_RETRIES: u32 = 100;

/// `retries:`: a whole number from 0 to [`MAX_RETRIES`].
fn parse_retries(value: &serde_yaml::Value) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n <= MAX_RETRIES)
        .ok_or_else(|| {
            let shown = serde_yaml::to_string(value).unwrap_or_default();
            format!(
                "retries {} must be a whole number from 0 to {MAX_RETRIES} (failed attempts \
                 retried in the same run)",
                shown.trim()
            )
        })
}

/// The config key a block constructor's error is about, for its line.
fn error_key(message: &str) -> &'static str {
    let about_command = ["placeholder ", "unknown placeholder", "command program"];
    if about_command.iter().any(|p| message.starts_with(p)) {
        "command"
    } else {
        "params"
    }
}

/// The `plots:` entries as typed specs, checked.
fn parse_plots(raw: &[serde_yaml::Value]) -> Result<Vec<PlotSpec>, String> {
    let specs = raw
        .iter()
        .enumerate()
        .map(|(i, value)| {
            serde_yaml::from_value::<PlotSpec>(value.clone())
                .map_err(|e| format!("plot {}: {}", i + 1, e.to_string().replace('`', "'")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    validate_plots(&specs)?;
    Ok(specs)
}

fn file_location(path: &Path) -> ConfigLocation {
    ConfigLocation {
        file: path.to_path_buf(),
        ..ConfigLocation::default()
    }
}

fn absolute_parent(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new(""));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// Turns a serde_yaml error into `file:line: block 'x': message`.
fn yaml_error(path: &Path, text: &str, error: &serde_yaml::Error) -> ConfigError {
    let mut message = error.to_string();
    // serde_yaml appends " at line L column C"; the location goes in front.
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    let block = block_of_path(text, &message);
    if let Some(rest) = message.strip_prefix("blocks[") {
        if let Some((_, after)) = rest.split_once("]: ") {
            message = after.to_owned();
        } else if let Some((_, after)) = rest.split_once("].") {
            message = after.to_owned();
        }
    }
    let hint = if message.contains("unknown field") {
        "; fix the spelling or remove the key"
    } else if message.contains("missing field") {
        "; add it"
    } else {
        ""
    };
    ConfigError {
        location: ConfigLocation {
            file: path.to_path_buf(),
            line: error.location().map(|l| l.line()),
            block,
        },
        message: format!("{}{hint}", message.replace('`', "'")),
    }
}

/// The name of block N for a serde path like `blocks[N].outputs`, if the
/// text parses far enough to know it.
fn block_of_path(text: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix("blocks[")?;
    let index: usize = rest.split(']').next()?.parse().ok()?;
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let name = value.get("blocks")?.get(index)?.get("name")?.as_str()?;
    Some(name.to_owned())
}

fn check_name(entry: &RawBlock, earlier: &[PipelineBlock]) -> Result<(), String> {
    let name = &entry.name;
    if let Some(problem) = crate::pipeline::bounds::block_name_problem(name) {
        return Err(problem);
    }
    if earlier.iter().any(|b| b.name() == name) {
        return Err(format!(
            "duplicate block name '{name}'; block names must be unique"
        ));
    }
    Ok(())
}

fn check_output(output: &str) -> Result<(), String> {
    let path = Path::new(output);
    if output.is_empty() {
        return Err("an output name is empty".into());
    }
    if path.is_absolute() {
        return Err(format!(
            "output '{output}' is absolute; outputs are relative to the sample folder"
        ));
    }
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(format!(
            "output '{output}' leaves the sample folder ('..' or '.'); use a plain relative path"
        ));
    }
    if output.starts_with(RECORD_FILE) || output.starts_with(META_DIR) {
        return Err(format!(
            "output '{output}' uses a name reserved by shardgen ({RECORD_FILE}, {META_DIR})"
        ));
    }
    OutputPattern::parse(output).map(|_| ())
}

/// A plain name of one block must not match a glob of another: rerunning the
/// glob's block would delete the other block's file.
fn check_overlap(
    outputs: &[String],
    optional: &[String],
    earlier: &[PipelineBlock],
) -> Result<(), String> {
    let mine: Vec<_> = outputs
        .iter()
        .chain(optional)
        .filter_map(|o| OutputPattern::parse(o).ok().map(|p| (o, p)))
        .collect();
    for block in earlier {
        for theirs in block
            .description
            .outputs
            .iter()
            .chain(&block.description.optional_outputs)
        {
            for (text, pattern) in &mine {
                if pattern.matches(theirs) || block.outputs.matches(text) {
                    return Err(format!(
                        "output '{text}' overlaps output '{theirs}' of block '{}'; \
                         each file must belong to one block",
                        block.name()
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_input(input: &str, earlier: &[PipelineBlock]) -> Result<(), String> {
    let declared = earlier.iter().any(|b| {
        b.description.outputs.iter().any(|o| o == input)
            || b.description.optional_outputs.iter().any(|o| o == input)
            || b.outputs.matches(input)
    });
    if declared {
        return Ok(());
    }
    Err(format!(
        "input '{input}' is not an output of any earlier block; declare it in the `outputs` \
         of a block above this one"
    ))
}

/// Finds the line of a block, or of a key inside it, in the config text.
///
/// serde_yaml keeps no positions after parsing, so this looks at the text: the
/// N-th list item under `blocks:` at the indentation of the first one. Flow
/// and block styles both work; anything exotic just yields no line.
struct LineFinder<'a> {
    text: &'a str,
}

impl LineFinder<'_> {
    /// The 1-based line of a top-level key.
    fn key_line(&self, key: &str) -> Option<usize> {
        let prefix = format!("{key}:");
        self.text
            .lines()
            .position(|line| line.starts_with(&prefix))
            .map(|i| i + 1)
    }

    /// The lines (0-based) where each list item under `blocks:` starts.
    fn block_starts(&self) -> Vec<usize> {
        let lines: Vec<&str> = self.text.lines().collect();
        let Some(blocks_line) = lines.iter().position(|l| l.starts_with("blocks:")) else {
            return Vec::new();
        };
        let mut starts = Vec::new();
        let mut indent = None;
        for (i, line) in lines.iter().enumerate().skip(blocks_line + 1) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let this_indent = line.len() - trimmed.len();
            if this_indent == 0 && !trimmed.starts_with('-') {
                break; // the next top-level key
            }
            if trimmed.starts_with('-') && *indent.get_or_insert(this_indent) == this_indent {
                starts.push(i);
            }
        }
        starts
    }

    /// The 1-based line of block `index`, or of `key` within it.
    fn block_line(&self, index: usize, key: Option<&str>) -> Option<usize> {
        let starts = self.block_starts();
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).copied().unwrap_or(usize::MAX);
        let key_line = key.and_then(|key| {
            self.text
                .lines()
                .enumerate()
                .take(end)
                .skip(start)
                .find(|(_, line)| {
                    let trimmed = line.trim_start().trim_start_matches(['-', ' ', '{']);
                    trimmed.starts_with(&format!("{key}:"))
                        || line.contains(&format!(" {key}:"))
                        || line.contains(&format!("{{{key}:"))
                })
                .map(|(i, _)| i)
        });
        Some(key_line.unwrap_or(start) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Pipeline, ConfigError> {
        parse(
            text,
            Path::new("p.yaml"),
            Path::new("/cfg"),
            &Registry::builtin(),
        )
    }

    fn error_of(text: &str) -> String {
        match load_text(text) {
            Ok(_) => panic!("config was accepted"),
            Err(e) => e.to_string(),
        }
    }

    const GOOD: &str = "seed: 0
blocks:
  - name: a
    type: random-bytes
    outputs: [a.bin]
  - name: b
    type: random-bytes
    inputs: [a.bin]
    outputs: [b.bin]
";

    #[test]
    fn a_valid_config_loads_with_chained_fingerprints() {
        let pipeline = load_text(GOOD).unwrap();
        assert_eq!(pipeline.seed, 0);
        assert_eq!(pipeline.blocks.len(), 2);
        assert_eq!(pipeline.blocks[0].description.params["size"], 1024);
        assert_ne!(
            pipeline.blocks[0].description.fingerprint,
            pipeline.blocks[1].description.fingerprint
        );
    }

    #[test]
    fn errors_name_file_line_block_and_fix() {
        let typo = GOOD.replace("    outputs: [b.bin]", "    ouputs: [b.bin]");
        assert_eq!(
            error_of(&typo),
            "p.yaml:9: block 'b': unknown field 'ouputs', expected one of 'name', 'type', \
             'command', 'inputs', 'outputs', 'optional_outputs', 'params', 'timeout', \
             'worker', 'code', 'version', 'retries'; fix the spelling or remove the key"
        );
        let dup = GOOD.replace("name: b", "name: a");
        assert_eq!(
            error_of(&dup),
            "p.yaml:6: block 'a': duplicate block name 'a'; block names must be unique"
        );
        let input = GOOD.replace("inputs: [a.bin]", "inputs: [c.bin]");
        assert!(error_of(&input).starts_with("p.yaml:8: block 'b': input 'c.bin' is not"));
        let twice = GOOD.replace("[b.bin]", "[a.bin]");
        assert!(error_of(&twice).contains("already declared by block 'a'"));
        let absolute = GOOD.replace("[b.bin]", "[/tmp/b.bin]");
        assert!(
            error_of(&absolute).contains("p.yaml:9: block 'b': output '/tmp/b.bin' is absolute")
        );
        let escape = GOOD.replace("[b.bin]", "[../b.bin]");
        assert!(error_of(&escape).contains("leaves the sample folder"));
        let unknown = GOOD.replace("type: random-bytes\n    inputs", "type: nope\n    inputs");
        assert!(error_of(&unknown).starts_with("p.yaml:7: block 'b': unknown block type 'nope'"));
        let param = GOOD.replace(
            "outputs: [a.bin]",
            "outputs: [a.bin]\n    params: {sise: 3}",
        );
        assert!(error_of(&param).contains("block 'a': params: unknown field"));
        assert!(error_of("seed: 1\nblocks: []\n").starts_with("p.yaml:2: the chain is empty"));
        assert!(error_of("seed: [1\n").starts_with("p.yaml:"));
        let glob_clash = GOOD.replace("[b.bin]", "[\"*.bin\"]");
        assert!(error_of(&glob_clash).contains("overlaps output 'a.bin'"));
        let retries = GOOD.replace("name: a\n", "name: a\n    retries: -1\n");
        assert_eq!(
            error_of(&retries),
            "p.yaml:4: block 'a': retries -1 must be a whole number from 0 to 100 (failed \
             attempts retried in the same run)"
        );
        assert!(load_text(&GOOD.replace("name: a\n", "name: a\n    retries: 2\n")).is_ok());
        let stray_command = GOOD.replace("name: a\n", "name: a\n    command: [x]\n");
        assert!(error_of(&stray_command).contains("key 'command' does not apply"));
    }
}
