//! The `Block` trait: what a step of the pipeline is, and the registry that
//! maps the `type:` names of a config to Rust types.
//!
//! A block type is an ordinary Rust type. Its parameters are a typed struct
//! deserialized from the config's `params` (unknown keys are rejected by
//! `#[serde(deny_unknown_fields)]`), it is built once per run, and then
//! [`Block::run`] is called once per sample, from many threads at once. A block
//! reads the outputs of earlier blocks from [`SampleContext::input`] and
//! writes its own into [`SampleContext::output`], a private staging folder:
//! the engine publishes them into the sample folder only after `run` and
//! [`Block::validate`] succeeded, so a block never has to think about crashes
//! or half-written files. A block may also write its outputs through
//! [`SampleContext::create_output`] / [`SampleContext::write_output`], which
//! hash them as they are written, so the engine need not read them back.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::output_writer::{OutputWriter, WrittenOutputs};
use crate::seed::BlockSeed;

/// One per-sample statistic: a number or a string. Keys are namespaced by the
/// block name when they are aggregated (`render.objects`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatValue {
    /// A numeric measurement; aggregated into mean, std, percentiles.
    Number(f64),
    /// A categorical value; aggregated into counts per value.
    Text(String),
}

impl From<f64> for StatValue {
    fn from(value: f64) -> Self {
        StatValue::Number(value)
    }
}

impl From<u64> for StatValue {
    fn from(value: u64) -> Self {
        StatValue::Number(value as f64)
    }
}

impl From<usize> for StatValue {
    fn from(value: usize) -> Self {
        StatValue::Number(value as f64)
    }
}

impl From<&str> for StatValue {
    fn from(value: &str) -> Self {
        StatValue::Text(value.to_owned())
    }
}

impl From<String> for StatValue {
    fn from(value: String) -> Self {
        StatValue::Text(value)
    }
}

/// The statistics one block recorded for one sample, sorted by key so that
/// records are byte-identical however they were made.
pub type Stats = BTreeMap<String, StatValue>;

/// Why a block failed on a sample. A failure is data, not an error of the run:
/// the engine records the reason and goes on with the other samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockError {
    reason: String,
    rejected: bool,
    os_error: Option<i32>,
    /// The program could not be started at all: retrying cannot help.
    not_started: bool,
}

impl BlockError {
    /// A failure with a one-line, human-readable reason.
    pub fn new(reason: impl fmt::Display) -> Self {
        Self {
            reason: reason.to_string(),
            rejected: false,
            os_error: None,
            not_started: false,
        }
    }

    /// The program could not be started (not found, not executable): a
    /// failure that `retries:` does not retry.
    pub(crate) fn not_started(reason: impl fmt::Display) -> Self {
        Self {
            not_started: true,
            ..Self::new(reason)
        }
    }

    /// Whether another attempt could succeed (not a rejection, not a
    /// program that cannot start).
    pub(crate) fn is_retryable(&self) -> bool {
        !self.rejected && !self.not_started
    }

    /// A rejection decided while running (e.g. by an external program): the
    /// sample is recorded as rejected, as by [`Block::validate`], and no
    /// outputs are needed.
    pub fn rejected(reason: impl fmt::Display) -> Self {
        Self {
            reason: reason.to_string(),
            rejected: true,
            os_error: None,
            not_started: false,
        }
    }

    /// Whether this is a rejection rather than a failure.
    pub fn is_rejection(&self) -> bool {
        self.rejected
    }

    /// The recorded reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The OS error number, for a failure made from an I/O error: a disk
    /// condition (full, read-only...) stops the run instead of failing the
    /// sample.
    pub fn os_error(&self) -> Option<i32> {
        self.os_error
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl From<std::io::Error> for BlockError {
    fn from(error: std::io::Error) -> Self {
        Self {
            reason: error.to_string(),
            rejected: false,
            os_error: error.raw_os_error(),
            not_started: false,
        }
    }
}

impl From<String> for BlockError {
    fn from(reason: String) -> Self {
        Self::new(reason)
    }
}

impl From<&str> for BlockError {
    fn from(reason: &str) -> Self {
        Self::new(reason)
    }
}

/// Why [`Block::validate`] rejected a sample. Rejections are a normal outcome
/// (e.g. an object is fully hidden): counted and reported, never published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection(pub String);

/// What a block type's constructor sees of its config entry besides `params`.
///
/// The engine fills `inputs`/`outputs` from the config, or from the type's
/// [`Block::DEFAULT_INPUTS`]/[`Block::DEFAULT_OUTPUTS`] when the config leaves
/// them out; [`Block::new`] may check them. A type that accepts the block-level
/// `command` key must `take()` it: a `command` left in place is a config error
/// for every other type.
#[derive(Clone, Debug, Default)]
pub struct BlockSetup {
    /// The block's unique name in the pipeline.
    pub name: String,
    /// Files of earlier blocks that this block reads, relative to the sample folder.
    pub inputs: Vec<String>,
    /// Required outputs: plain names or glob patterns.
    pub outputs: Vec<String>,
    /// Outputs that may or may not appear.
    pub optional_outputs: Vec<String>,
    /// The block-level `command:` argv, for types that run a program.
    pub command: Option<Vec<String>>,
    /// The block-level `timeout:`.
    pub timeout: Option<Duration>,
    /// The folder holding the config file (`{config_dir}`).
    pub config_dir: PathBuf,
    /// The block-level `worker:` settings; a type that runs programs as
    /// workers must `take()` it, as `command`.
    pub worker: Option<crate::worker_settings::WorkerSettings>,
}

/// A step of the pipeline, run once per sample.
///
/// # Contract
/// - `run` must be deterministic given the sample's [`SampleContext::rng`]
///   stream (or [`SampleContext::seed`]) and the block's inputs.
/// - It writes only below [`SampleContext::output`]. Files it writes that are
///   not declared outputs are discarded.
/// - Bump [`Block::VERSION`] whenever the bytes it writes change meaning: the
///   version is part of the block's fingerprint, so existing samples become
///   stale and are regenerated.
pub trait Block: Send + Sync + Sized + 'static {
    /// The `type:` name in configs, e.g. `random-bytes`.
    const TYPE: &'static str;
    /// Version of the block's output format; part of its fingerprint.
    const VERSION: u32;
    /// One line for `shardgen blocks`.
    const SUMMARY: &'static str;
    /// `(param, description)` pairs for `shardgen blocks` and the README.
    const PARAM_DOCS: &'static [(&'static str, &'static str)] = &[];
    /// Inputs used when the config does not list `inputs`.
    const DEFAULT_INPUTS: &'static [&'static str] = &[];
    /// Outputs used when the config does not list `outputs`.
    const DEFAULT_OUTPUTS: &'static [&'static str] = &[];

    /// The typed parameters. Use `#[serde(deny_unknown_fields, default)]` so a
    /// misspelt param is an error and omitted ones take their defaults.
    type Params: DeserializeOwned + Serialize + Default;

    /// Builds the block once per run. An `Err` is a config error naming this
    /// block.
    fn new(params: Self::Params, setup: &mut BlockSetup) -> Result<Self, String>;

    /// Produces this block's outputs for one sample.
    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError>;

    /// Checks the outputs after `run` succeeded and before they are published.
    /// A rejected sample is recorded as rejected and its outputs discarded.
    fn validate(&self, ctx: &mut SampleContext<'_>) -> Result<(), Rejection> {
        let _ = ctx;
        Ok(())
    }

    /// Whether this block keeps a stronger contract, so the engine may skip
    /// the checks that guard against blocks breaking it (`false`, the
    /// default, keeps them all). Return `true` only if, on every attempt,
    /// `run` and `validate`:
    /// - write nothing but regular files below [`SampleContext::output`]
    ///   (plus [`SampleContext::log`] lines), and nothing at all in the
    ///   sample folder, the scratch folder or [`SampleContext::stats_file`];
    /// - start no program and leave no thread running that could write later.
    ///
    /// The engine then does not list the sample folder after the block to
    /// catch a change there, and reuses the out folder it emptied after the
    /// previous attempt instead of re-creating and re-listing it. A block that
    /// breaks the contract is not caught: a file it changed in the sample
    /// folder goes unnoticed until a scan compares digests. Outputs are still
    /// checked (regular files, no symlinks) and digested as they are
    /// published: read to their end, or, for those written through
    /// [`SampleContext::create_output`], from the bytes that were written.
    fn writes_only_out_dir(&self) -> bool {
        false
    }

    /// Whether every file this block writes goes through the context's
    /// [`SampleContext::create_output`] or [`SampleContext::write_output`]
    /// (`false`, the default). Counts only when
    /// [`Block::writes_only_out_dir`] is `true` too.
    ///
    /// The engine then publishes exactly the outputs written that way, with
    /// the sizes and digests counted as they were written: it neither stats
    /// nor lists nor reads back the out folder, so a fresh output costs the
    /// syscalls that create, write, close and rename it. A file written any
    /// other way is not published: a required output written so fails the
    /// sample as missing; an optional one, or a file that is no output, is
    /// dropped with the out folder's content before the next block that
    /// does not keep this promise.
    fn writes_only_through_context(&self) -> bool {
        false
    }
}

/// Everything a block may use while running on one sample.
pub struct SampleContext<'a> {
    pub(crate) sample_id: u64,
    pub(crate) block: &'a str,
    pub(crate) seed: BlockSeed,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) sample_dir: &'a Path,
    pub(crate) out_dir: &'a Path,
    pub(crate) scratch_dir: &'a Path,
    pub(crate) stats_file: &'a Path,
    pub(crate) config_dir: &'a Path,
    pub(crate) params_json: &'a str,
    pub(crate) timeout: Option<Duration>,
    pub(crate) stats: Stats,
    pub(crate) data: Option<Box<dyn Any + Send>>,
    /// Whether this attempt wrote to its log ([`SampleContext::attempt_log`]):
    /// only then is there a log to keep or clear, and the fast path of a
    /// block that logs nothing costs no syscall for it.
    pub(crate) log_used: std::cell::Cell<bool>,
    /// What this attempt wrote through [`SampleContext::create_output`] and
    /// [`SampleContext::write_output`], with sizes and digests.
    pub(crate) written: WrittenOutputs,
    /// The out folder, kept open by the engine: outputs with a plain name
    /// are created relative to it (a shorter path walk than `out_dir`'s).
    pub(crate) out_folder: Option<std::os::fd::BorrowedFd<'a>>,
}

impl<'a> SampleContext<'a> {
    /// A context for running a block outside the engine, e.g. in a unit test:
    /// the seed is derived as the engine would for `master_seed`.
    pub fn standalone(
        master_seed: u64,
        block: &'a str,
        sample_id: u64,
        sample_dir: &'a Path,
        out_dir: &'a Path,
    ) -> Self {
        let seed = BlockSeed::derive(master_seed, block, sample_id);
        Self {
            sample_id,
            block,
            seed,
            rng: seed.rng(),
            sample_dir,
            out_dir,
            scratch_dir: out_dir,
            stats_file: out_dir,
            config_dir: sample_dir,
            params_json: "{}",
            timeout: None,
            stats: Stats::new(),
            data: None,
            log_used: std::cell::Cell::new(false),
            written: WrittenOutputs::default(),
            out_folder: None,
        }
    }

    /// The global sample index.
    pub fn sample_id(&self) -> u64 {
        self.sample_id
    }

    /// The block's name in the pipeline.
    pub fn block_name(&self) -> &str {
        self.block
    }

    /// This block's seed for this sample as a `u64` (`SHARDGEN_SEED`).
    pub fn seed(&self) -> u64 {
        self.seed.value()
    }

    /// This block's ChaCha20 stream for this sample, fresh for every attempt.
    pub fn rng(&mut self) -> &mut ChaCha20Rng {
        &mut self.rng
    }

    /// The sample folder, holding the published outputs of earlier blocks.
    pub fn sample_dir(&self) -> &Path {
        self.sample_dir
    }

    /// The staging folder this attempt writes its outputs into.
    pub fn out_dir(&self) -> &Path {
        self.out_dir
    }

    /// A private folder of this attempt for logs and temporary files, never
    /// published and removed after the attempt.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch_dir
    }

    /// Path of an input file (an output of an earlier block).
    pub fn input(&self, name: &str) -> PathBuf {
        self.sample_dir.join(name)
    }

    /// Path where an output file must be written.
    pub fn output(&self, name: &str) -> PathBuf {
        self.out_dir.join(name)
    }

    /// Creates (or truncates) output `name` in the out folder and returns a
    /// writer that hashes and counts the bytes on their way to the file;
    /// give it back to [`SampleContext::finish_output`] when done. Nested
    /// names (`masks/0.png`) get their folders. `name` must be a relative
    /// path of plain names (no `.`, `..`, empty parts). The file is always
    /// a new one: whatever was at `name` (an earlier writing of it, a
    /// symlink, a hard link) is replaced, never written through.
    ///
    /// # Contract
    /// The size and digest recorded for the output are those of the bytes
    /// written through the writer, taken for the bytes on disk without
    /// reading them back. So, until the attempt ends, the file must change
    /// only through this writer: no other handle, no rename, no second
    /// writer of the same name at once (an error while one is open).
    /// [`SampleContext::output`] gives the same path, for reading it back.
    ///
    /// Why: a block that keeps [`Block::writes_only_out_dir`] and writes
    /// its outputs this way saves the engine the read-back of each output;
    /// with [`Block::writes_only_through_context`] also the stat and the
    /// listing of the out folder.
    ///
    /// # Example
    /// ```no_run
    /// use std::io::Write as _;
    /// # fn run(ctx: &mut shardgen::SampleContext<'_>) -> std::io::Result<()> {
    /// // Unbuffered like a File: buffer many small writes.
    /// let mut out = std::io::BufWriter::new(ctx.create_output("points.csv")?);
    /// for i in 0..1000 {
    ///     writeln!(out, "{i},{}", i * i)?;
    /// }
    /// let out = out.into_inner().map_err(|e| e.into_error())?;
    /// ctx.finish_output(out); // only now does it count as written
    /// ctx.write_output("done.txt", b"ok")?; // or whole, in one call
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_output(&mut self, name: &str) -> std::io::Result<OutputWriter> {
        self.written.create((self.out_dir, self.out_folder), name)
    }

    /// Closes the file of `writer` and records its size and digest: from
    /// now on the output counts as written through the context. A writer
    /// dropped instead leaves its file unaccounted for (see
    /// [`Block::writes_only_through_context`]).
    pub fn finish_output(&mut self, writer: OutputWriter) {
        self.written.finish(writer);
    }

    /// Writes output `name` whole: [`SampleContext::create_output`], one
    /// `write_all`, [`SampleContext::finish_output`].
    pub fn write_output(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut writer = self.create_output(name)?;
        writer.write_all(bytes)?;
        self.finish_output(writer);
        Ok(())
    }

    /// The folder holding the config file.
    pub fn config_dir(&self) -> &Path {
        self.config_dir
    }

    /// The block's params as JSON (`SHARDGEN_PARAMS`).
    pub fn params_json(&self) -> &str {
        self.params_json
    }

    /// Where an external program may write its statistics (`SHARDGEN_STATS`).
    pub fn stats_file(&self) -> &Path {
        self.stats_file
    }

    /// The block's timeout, if the config set one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Records a per-sample statistic under this block's namespace.
    pub fn record_stat(&mut self, key: impl Into<String>, value: impl Into<StatValue>) {
        self.stats.insert(key.into(), value.into());
    }

    /// The statistics recorded so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Hands `value` from [`Block::run`] to [`Block::validate`] of the same
    /// attempt, so that validation need not re-read what `run` just wrote.
    pub fn set_data<T: Any + Send>(&mut self, value: T) {
        self.data = Some(Box::new(value));
    }

    /// What `run` handed over with [`SampleContext::set_data`], if it was a `T`.
    pub fn data<T: Any + Send>(&self) -> Option<&T> {
        self.data.as_ref()?.downcast_ref()
    }

    /// Appends a line to this attempt's log ([`ATTEMPT_LOG`] in the scratch
    /// folder), where a `command` block's program output goes too. Use it
    /// instead of printing: stderr belongs to the progress display.
    pub fn log(&self, line: impl std::fmt::Display) {
        use std::io::Write as _;
        let path = self.attempt_log();
        // The log is informative: a failed write must not fail the block.
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// The log of one block attempt inside its scratch folder.
pub const ATTEMPT_LOG: &str = "output.log";

impl SampleContext<'_> {
    /// The path of this attempt's log ([`ATTEMPT_LOG`] in the scratch
    /// folder), for a block that sends a program's output there. When the
    /// attempt fails, shardgen keeps the log's last 64 KiB in the dataset's
    /// bookkeeping (`analyze --sample N` shows it).
    pub fn attempt_log(&self) -> PathBuf {
        self.log_used.set(true);
        self.scratch_dir.join(ATTEMPT_LOG)
    }
}

/// Params of a block type that takes none: `params:` must be empty or absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Documentation of a block type, for `shardgen blocks`.
#[derive(Clone, Debug, Serialize)]
pub struct BlockDoc {
    /// The `type:` name.
    pub type_name: &'static str,
    /// The type's version.
    pub version: u32,
    /// One line on what it does.
    pub summary: &'static str,
    /// Default inputs.
    pub inputs: &'static [&'static str],
    /// Default outputs.
    pub outputs: &'static [&'static str],
    /// `(param, default as JSON, description)`.
    pub params: Vec<(String, String, String)>,
}

/// The type-erased face of a [`Block`], as the engine stores it.
pub(crate) trait DynBlock: Send + Sync {
    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError>;
    fn validate(&self, ctx: &mut SampleContext<'_>) -> Result<(), Rejection>;
    fn writes_only_out_dir(&self) -> bool;
    fn writes_only_through_context(&self) -> bool;
}

impl<B: Block> DynBlock for B {
    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        Block::run(self, ctx)
    }

    fn validate(&self, ctx: &mut SampleContext<'_>) -> Result<(), Rejection> {
        Block::validate(self, ctx)
    }

    fn writes_only_out_dir(&self) -> bool {
        Block::writes_only_out_dir(self)
    }

    fn writes_only_through_context(&self) -> bool {
        Block::writes_only_through_context(self)
    }
}

/// A block built from its config entry: the instance plus its canonical
/// params (what the fingerprint and `SHARDGEN_PARAMS` see).
pub(crate) struct BuiltBlock {
    pub(crate) instance: Box<dyn DynBlock>,
    pub(crate) version: u32,
    pub(crate) params: serde_json::Value,
}

type BuildFn = fn(&serde_yaml::Value, &mut BlockSetup) -> Result<BuiltBlock, String>;

struct RegisteredType {
    build: BuildFn,
    doc: fn() -> BlockDoc,
    default_inputs: &'static [&'static str],
    default_outputs: &'static [&'static str],
}

/// Maps `type:` names to block types. Start from [`Registry::builtin`] and
/// [`Registry::register`] your own types to run them with the same CLI.
#[derive(Default)]
pub struct Registry {
    types: BTreeMap<&'static str, RegisteredType>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a block type; a type of the same name is replaced.
    pub fn register<B: Block>(&mut self) -> &mut Self {
        self.types.insert(
            B::TYPE,
            RegisteredType {
                build: build_block::<B>,
                doc: document_block::<B>,
                default_inputs: B::DEFAULT_INPUTS,
                default_outputs: B::DEFAULT_OUTPUTS,
            },
        );
        self
    }

    /// The registered type names, sorted.
    pub fn type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.types.keys().copied()
    }

    /// Documentation of every registered type, sorted by name.
    pub fn docs(&self) -> Vec<BlockDoc> {
        self.types.values().map(|t| (t.doc)()).collect()
    }

    pub(crate) fn default_io(
        &self,
        type_name: &str,
    ) -> Option<(&'static [&'static str], &'static [&'static str])> {
        self.types
            .get(type_name)
            .map(|t| (t.default_inputs, t.default_outputs))
    }

    pub(crate) fn build(
        &self,
        type_name: &str,
        params: &serde_yaml::Value,
        setup: &mut BlockSetup,
    ) -> Option<Result<BuiltBlock, String>> {
        self.types
            .get(type_name)
            .map(|registered| (registered.build)(params, setup))
    }
}

fn build_block<B: Block>(
    params: &serde_yaml::Value,
    setup: &mut BlockSetup,
) -> Result<BuiltBlock, String> {
    let typed: B::Params = if params.is_null() {
        B::Params::default()
    } else {
        serde_yaml::from_value(params.clone())
            .map_err(|e| format!("params: {}", e.to_string().replace('`', "'")))?
    };
    let canonical = serde_json::to_value(&typed).map_err(|e| format!("params: {e}"))?;
    let instance = B::new(typed, setup)?;
    Ok(BuiltBlock {
        instance: Box::new(instance),
        version: B::VERSION,
        params: canonical,
    })
}

fn document_block<B: Block>() -> BlockDoc {
    let defaults = serde_json::to_value(B::Params::default()).unwrap_or_default();
    let described = |name: &str| {
        B::PARAM_DOCS
            .iter()
            .find(|(param, _)| *param == name)
            .map_or(String::new(), |(_, text)| (*text).to_owned())
    };
    let params = match defaults {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(name, default)| {
                let text = described(&name);
                (name, default.to_string(), text)
            })
            .collect(),
        _ => Vec::new(),
    };
    BlockDoc {
        type_name: B::TYPE,
        version: B::VERSION,
        summary: B::SUMMARY,
        inputs: B::DEFAULT_INPUTS,
        outputs: B::DEFAULT_OUTPUTS,
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which built-in types take the fresh path: those that only write
    /// files, never those that run programs.
    #[test]
    fn only_blocks_that_write_plain_files_declare_they_write_only_their_out_folder() {
        let registry = Registry::builtin();
        let built = |type_name: &str, setup: &mut BlockSetup| {
            let params = serde_yaml::Value::Null;
            registry.build(type_name, &params, setup).unwrap().unwrap()
        };
        let mut setup = BlockSetup {
            name: "a".into(),
            outputs: vec!["a.bin".into()],
            ..BlockSetup::default()
        };
        assert!(built("random-bytes", &mut setup)
            .instance
            .writes_only_out_dir());
        let mut setup = BlockSetup {
            command: Some(vec!["true".into()]),
            ..setup
        };
        assert!(!built("command", &mut setup).instance.writes_only_out_dir());
    }
}
