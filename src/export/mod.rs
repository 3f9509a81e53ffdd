//! `shardgen export`: a dataset's complete samples in a format training
//! loaders stream well. One file per format ([`webdataset`]: tar shards,
//! written by the small deterministic [`tar`] writer).
//!
//! # Contract
//! - Only samples complete under the dataset's current pipeline (its
//!   manifest) are exported: failed, rejected, stale, missing and damaged
//!   samples are not. Samples are in id order, `samples_per_shard` per shard
//!   (the last fewer).
//! - The bytes depend only on the complete samples' files and records, never
//!   on how the dataset was made (shards, `--jobs`, merges): fixed tar
//!   metadata, fixed member order.
//! - Resumable and atomic: each shard is written to a temp file in the shard
//!   folder and renamed; `index.json` is written last, the same way. A rerun
//!   keeps each shard the index lists with the same ids, the same pipeline
//!   digest and the recorded size, rewrites the others byte-identically, and
//!   removes shard files the old index listed that the new layout has no
//!   longer. Do not run two exports into one shard folder at once.
//! - Errors found before writing (not a dataset, a foreign `--out` folder,
//!   member name collisions) change nothing and exit 2.
//!
//! Parquet is not offered: `statistics.csv` already is the one-row-per-sample
//! table pandas and pyarrow read directly, and the `parquet` crate (with
//! arrow) would be the largest dependency of the build by far.

pub(crate) mod tar;
pub(crate) mod webdataset;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::atomic::{is_atomic_temp, temp_path_for, write_atomic};
use crate::dataset::record::read_record;
use crate::dataset::state::StateJudge;
use crate::dataset::Dataset;
use crate::error::{Error, Result, UsageError};
use crate::pipeline::outputs::BlockOutputs;
use crate::ranges::RangeSet;
use webdataset::{MemberError, ShardEntry, ShardIndex, INDEX_FILE, INDEX_FORMAT};

/// Samples per shard when `--samples-per-shard` is not given.
pub(crate) const DEFAULT_SAMPLES_PER_SHARD: u64 = 1000;
/// Samples read and judged per parallel batch of the scan.
const CHUNK: usize = 4096;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Tar shards in the WebDataset convention.
    WebDataset,
}

/// What `shardgen export` was asked to do.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The dataset folder.
    pub dir: PathBuf,
    /// The format.
    pub format: ExportFormat,
    /// The shard folder.
    pub out: PathBuf,
    /// Samples per shard, at least 1.
    pub samples_per_shard: u64,
}

/// What an export did.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// The shard folder.
    pub out: PathBuf,
    /// Samples exported (the complete samples of the dataset).
    pub samples: u64,
    /// Samples present but not complete, so not exported.
    pub skipped: u64,
    /// Shards in the index.
    pub shards: u64,
    /// Shards written by this run.
    pub written: u64,
    /// Shards left as they were.
    pub kept: u64,
    /// Bytes of all shards.
    pub bytes: u64,
    /// Old shard files removed because the layout changed.
    pub removed: u64,
}

/// Exports the complete samples of `options.dir`.
pub fn export(options: &ExportOptions) -> Result<ExportReport> {
    let ExportFormat::WebDataset = options.format;
    if options.samples_per_shard == 0 {
        return Err(UsageError::ZeroSamplesPerShard.into());
    }
    let dataset = Dataset::new(&options.dir);
    if !options.dir.is_dir() {
        return Err(UsageError::NotADataset {
            path: options.dir.clone(),
        }
        .into());
    }
    let manifest = dataset.read_manifest()?.ok_or_else(|| {
        Error::Usage(UsageError::NotADataset {
            path: options.dir.clone(),
        })
    })?;
    let old_index = read_old_index(&options.out)?;
    let judge = StateJudge::new(manifest.blocks.iter().cloned());
    let outputs: Vec<BlockOutputs> = manifest.blocks.iter().map(BlockOutputs::of).collect();

    // The scan: which samples are complete; their member names are checked
    // for collisions now, so a refusal changes nothing.
    let present = dataset.present_samples()?;
    let mut complete: Vec<u64> = Vec::new();
    for batch in present.chunks(CHUNK) {
        let judged = judge.judge_samples(&dataset, batch, |_, sample| {
            let record = sample.record.valid()?;
            if !sample.is_complete() {
                return None;
            }
            let dir = dataset.sample_dir(record.sample);
            Some(webdataset::sample_members(&dir, record, &outputs).map(|_| record.sample))
        });
        for result in judged.into_iter().flatten() {
            complete.push(result.map_err(|e| member_error(&dataset, e))?);
        }
    }

    let digest = webdataset::pipeline_digest(manifest.seed, &manifest.blocks);
    let per_shard = usize::try_from(options.samples_per_shard).unwrap_or(usize::MAX);
    let layout: Vec<(String, &[u64])> = complete
        .chunks(per_shard)
        .enumerate()
        .map(|(i, ids)| (webdataset::shard_file_name(i), ids))
        .collect();
    let kept: BTreeMap<&str, &ShardEntry> = old_index
        .as_ref()
        .filter(|old| old.pipeline == digest)
        .map(|old| {
            old.shards
                .iter()
                .filter(|entry| {
                    layout.iter().any(|(file, ids)| {
                        *file == entry.file
                            && entry.ids == id_ranges(ids)
                            && fs::symlink_metadata(options.out.join(file))
                                .is_ok_and(|m| m.is_file() && m.len() == entry.bytes)
                    })
                })
                .map(|entry| (entry.file.as_str(), entry))
                .collect()
        })
        .unwrap_or_default();

    fs::create_dir_all(&options.out).map_err(|e| Error::io("cannot create", &options.out, e))?;
    remove_temps(&options.out)?;
    let entries: Vec<(ShardEntry, bool)> = layout
        .par_iter()
        .map(|(file, ids)| {
            if let Some(entry) = kept.get(file.as_str()) {
                return Ok(((*entry).clone(), false));
            }
            let bytes = write_shard(&dataset, &judge, &outputs, &options.out.join(file), ids)?;
            let entry = ShardEntry {
                file: file.clone(),
                ids: id_ranges(ids),
                samples: ids.len() as u64,
                bytes,
            };
            Ok((entry, true))
        })
        .collect::<Result<_>>()?;

    let written = entries.iter().filter(|(_, w)| *w).count() as u64;
    let index = ShardIndex {
        format: INDEX_FORMAT,
        samples_per_shard: options.samples_per_shard,
        samples: complete.len() as u64,
        pipeline: digest,
        shards: entries.into_iter().map(|(entry, _)| entry).collect(),
    };
    let index_path = options.out.join(INDEX_FILE);
    write_atomic(&index_path, index_text(&index).as_bytes())
        .map_err(|e| Error::io("cannot write", &index_path, e))?;

    let mut removed = 0;
    for old in old_index.iter().flat_map(|old| &old.shards) {
        let listed = index.shards.iter().any(|entry| entry.file == old.file);
        if !listed && is_shard_name(&old.file) {
            let path = options.out.join(&old.file);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot remove", path, e)),
            }
        }
    }
    Ok(ExportReport {
        out: options.out.clone(),
        samples: index.samples,
        skipped: present.len() as u64 - index.samples,
        shards: index.shards.len() as u64,
        written,
        kept: index.shards.len() as u64 - written,
        bytes: index.shards.iter().map(|s| s.bytes).sum(),
        removed,
    })
}

/// The index of a previous export into `out`, `None` if `out` is absent or
/// empty; a usage error if `out` holds something else.
fn read_old_index(out: &Path) -> Result<Option<ShardIndex>> {
    let mut entries = match fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            return Err(UsageError::FolderIsAFile {
                flag: "--out",
                path: out.to_path_buf(),
            }
            .into())
        }
        Err(e) => return Err(Error::io("cannot read", out, e)),
    };
    let path = out.join(INDEX_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if entries.next().is_none() {
                return Ok(None);
            }
            return Err(UsageError::NotAnExport {
                path: out.to_path_buf(),
            }
            .into());
        }
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        // A torn index cannot exist (it is renamed into place); an unparsable
        // one vouches for nothing: every shard is rewritten.
        Err(_) => return Ok(None),
    };
    match value.get("format").and_then(serde_json::Value::as_u64) {
        Some(format) if format == u64::from(INDEX_FORMAT) => Ok(serde_json::from_value(value).ok()),
        other => Err(Error::Dataset {
            path,
            message: format!(
                "index format {} is not supported by this shardgen (writes {INDEX_FORMAT}); \
                 export into another folder",
                other.map_or("(none)".to_owned(), |f| f.to_string())
            ),
        }),
    }
}

/// `index.json` as text: one line per shard, so it reads and diffs well.
fn index_text(index: &ShardIndex) -> String {
    let shards: Vec<String> = index
        .shards
        .iter()
        .map(|entry| format!("    {}", serde_json::to_string(entry).expect("serializes")))
        .collect();
    format!(
        "{{\n  \"format\": {},\n  \"samples_per_shard\": {},\n  \"samples\": {},\n  \"pipeline\": \"{}\",\n  \"shards\": [{}{}{}]\n}}\n",
        index.format,
        index.samples_per_shard,
        index.samples,
        index.pipeline,
        if shards.is_empty() { "" } else { "\n" },
        shards.join(",\n"),
        if shards.is_empty() { "" } else { "\n  " },
    )
}

/// Removes temp files of interrupted shard or index writes.
fn remove_temps(out: &Path) -> Result<()> {
    let entries = fs::read_dir(out).map_err(|e| Error::io("cannot read", out, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", out, e))?;
        let name = entry.file_name();
        let ours = name
            .to_str()
            .is_some_and(|n| n.starts_with(".shard-") || n.starts_with(&format!(".{INDEX_FILE}")));
        if ours && is_atomic_temp(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn is_shard_name(name: &str) -> bool {
    name.strip_prefix("shard-")
        .and_then(|rest| rest.strip_suffix(".tar"))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Sorted ids as half-open ranges.
fn id_ranges(ids: &[u64]) -> Vec<[u64; 2]> {
    let mut set = RangeSet::new();
    ids.iter().for_each(|&id| set.insert(id));
    set.ranges().map(|r| [r.start, r.end]).collect()
}

/// Writes one shard to a temp file beside `path` and renames it; returns
/// its size. A sample that is no longer complete (a run changed it since the
/// scan) stops the export.
fn write_shard(
    dataset: &Dataset,
    judge: &StateJudge,
    outputs: &[BlockOutputs],
    path: &Path,
    ids: &[u64],
) -> Result<u64> {
    let temp = temp_path_for(path);
    let result = (|| {
        let file = fs::File::create(&temp).map_err(|e| Error::io("cannot write", &temp, e))?;
        let mut samples = Vec::with_capacity(ids.len());
        for &id in ids {
            let dir = dataset.sample_dir(id);
            let record = read_record(&dir, id);
            let complete = record
                .valid()
                .filter(|r| judge.judge(&dir, Some(r)).iter().all(|s| s.is_complete()));
            let Some(record) = complete else {
                return Err(Error::io(
                    "cannot export",
                    dir,
                    io::Error::other("the sample changed during the export; rerun it"),
                ));
            };
            samples.push(
                webdataset::sample_members(&dir, record, outputs)
                    .map_err(|e| member_error(dataset, e))?,
            );
        }
        let (writer, bytes) =
            webdataset::write_tar(BufWriter::with_capacity(1 << 20, file), samples)
                .map_err(|e| Error::io("cannot write", &temp, e))?;
        drop(writer);
        fs::rename(&temp, path).map_err(|e| Error::io("cannot write", path, e))?;
        Ok(bytes)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn member_error(dataset: &Dataset, error: MemberError) -> Error {
    match error {
        MemberError::Io(path, e) => Error::io("cannot read", path, e),
        MemberError::Collision { member, files } => Error::Dataset {
            path: dataset.root().to_path_buf(),
            message: format!(
                "'{}' and '{}' would both be the tar member '{member}' (folders flatten to '.'); \
                 rename one of the outputs",
                files[0], files[1]
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_half_open_ranges() {
        assert_eq!(id_ranges(&[0, 1, 2, 5, 7, 8]), [[0, 3], [5, 6], [7, 9]]);
        assert!(is_shard_name("shard-000001.tar"));
        assert!(!is_shard_name("shard-.tar"));
        assert!(!is_shard_name("index.json"));
    }

    #[test]
    fn the_index_text_parses_back() {
        let mut index = ShardIndex {
            format: INDEX_FORMAT,
            samples_per_shard: 2,
            samples: 0,
            pipeline: "ab".into(),
            shards: vec![],
        };
        for shards in [0, 2] {
            index.shards = (0..shards)
                .map(|i| ShardEntry {
                    file: webdataset::shard_file_name(i),
                    ids: vec![[0, 1], [3, 4]],
                    samples: 2,
                    bytes: 10240,
                })
                .collect();
            let text = index_text(&index);
            let parsed: ShardIndex = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, index, "{text}");
        }
    }
}
