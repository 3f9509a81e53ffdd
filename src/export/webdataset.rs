//! The WebDataset layout: which tar members a complete sample becomes, the
//! shard file names and `index.json`. Specified for other programs in
//! `docs/formats.md` ("WebDataset export").
//!
//! - A sample's files are the regular files below its folder whose relative
//!   path matches a declared output (required or optional) of a block of the
//!   dataset's pipeline; symlinks and undeclared files are not exported.
//! - The member of file `rel` of sample `id` is `<key>.<flat>`, where `<key>`
//!   is the 10-digit sample folder name and `<flat>` is `rel` with every `/`
//!   replaced by `.` (`debug/a.png` -> `0000000007.debug.a.png`), so the
//!   WebDataset key (up to the first dot) is the sample id and the last
//!   extension is still the file type. One more member, `<key>.stats.json`,
//!   holds the sample's statistics as a flat JSON object keyed `block.stat`
//!   (the columns of `statistics.csv`), keys sorted, non-finite numbers as
//!   `null`. Two files of a sample that flatten to one name (or a file named
//!   `stats.json`) are refused before anything is written.
//! - A sample's members are in name order; samples in id order.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::block::StatValue;
use crate::dataset::record::SampleRecord;
use crate::layout::sample_dir_name;
use crate::layout::RECORD_FILE;
use crate::pipeline::description::BlockDescription;
use crate::pipeline::outputs::BlockOutputs;

use super::tar::TarWriter;

/// The index of a shard folder.
pub(crate) const INDEX_FILE: &str = "index.json";
/// Format version of `index.json`.
pub(crate) const INDEX_FORMAT: u32 = 1;
/// The suffix (after `<key>.`) of the statistics member of a sample.
pub(crate) const STATS_MEMBER: &str = "stats.json";
/// Version of the member layout and tar metadata; part of the pipeline
/// digest, so a change of layout rewrites every shard.
const LAYOUT_VERSION: u32 = 1;

/// The file name of shard `index`: `shard-000000.tar`, ... (WebDataset brace
/// notation: `shard-{000000..000009}.tar`).
pub(crate) fn shard_file_name(index: usize) -> String {
    format!("shard-{index:06}.tar")
}

/// `SHARDS/index.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShardIndex {
    /// [`INDEX_FORMAT`].
    pub format: u32,
    /// Samples per shard (the last shard may hold fewer).
    pub samples_per_shard: u64,
    /// Samples in all shards.
    pub samples: u64,
    /// Digest of the master seed, the block fingerprints and the layout
    /// version: shards of an equal digest and equal ids hold equal bytes.
    pub pipeline: String,
    /// The shards, in order.
    pub shards: Vec<ShardEntry>,
}

/// One shard in [`ShardIndex`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ShardEntry {
    /// File name inside the shard folder.
    pub file: String,
    /// The sample ids it holds, as sorted half-open `[start, end)` ranges.
    pub ids: Vec<[u64; 2]>,
    /// How many samples it holds.
    pub samples: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The pipeline digest of [`ShardIndex::pipeline`].
pub(crate) fn pipeline_digest(seed: u64, blocks: &[BlockDescription]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "shardgen/export/webdataset/v{LAYOUT_VERSION}\0{seed}\0"
    ));
    for block in blocks {
        hasher.update(block.name.as_bytes());
        hasher.update(b"=");
        hasher.update(block.fingerprint.as_bytes());
        hasher.update(b"\n");
    }
    format!("{:x}", hasher.finalize())
}

/// The member name of file `relative` (with `/` separators) of sample `id`.
pub(crate) fn member_name(id: u64, relative: &str) -> String {
    format!("{}.{}", sample_dir_name(id), relative.replace('/', "."))
}

/// Where a member's bytes come from.
#[derive(Debug)]
pub(crate) enum MemberSource {
    /// A file of the sample folder.
    File(PathBuf),
    /// Bytes made by the export (`stats.json`).
    Bytes(Vec<u8>),
}

/// One member of a shard.
#[derive(Debug)]
pub(crate) struct Member {
    /// The member name.
    pub name: String,
    /// Its content.
    pub source: MemberSource,
}

/// Why a sample cannot be exported.
#[derive(Debug)]
pub(crate) enum MemberError {
    /// Reading the sample folder failed.
    Io(PathBuf, io::Error),
    /// Two files flatten to one member name.
    Collision {
        /// The member name.
        member: String,
        /// The files (relative paths), or `stats.json` for the statistics member.
        files: [String; 2],
    },
}

/// The members of a complete sample, sorted by name: its declared output
/// files and the statistics member.
pub(crate) fn sample_members(
    sample_dir: &Path,
    record: &SampleRecord,
    outputs: &[BlockOutputs],
) -> Result<Vec<Member>, MemberError> {
    let id = record.sample;
    let mut by_name: BTreeMap<String, (String, MemberSource)> = BTreeMap::new();
    by_name.insert(
        member_name(id, STATS_MEMBER),
        (
            "(statistics)".to_owned(),
            MemberSource::Bytes(stats_json(record)),
        ),
    );
    for relative in output_files(sample_dir, outputs).map_err(|(p, e)| MemberError::Io(p, e))? {
        let name = member_name(id, &relative);
        let source = MemberSource::File(sample_dir.join(&relative));
        if let Some((other, _)) = by_name.get(&name) {
            return Err(MemberError::Collision {
                member: name,
                files: [other.clone(), relative],
            });
        }
        by_name.insert(name, (relative, source));
    }
    Ok(by_name
        .into_iter()
        .map(|(name, (_, source))| Member { name, source })
        .collect())
}

/// The relative paths (with `/`) of the regular files below `dir` that match
/// one of `outputs`, sorted. Folders are walked without following symlinks;
/// names that are not UTF-8 cannot be declared outputs and are skipped.
pub(crate) fn output_files(
    dir: &Path,
    outputs: &[BlockOutputs],
) -> Result<BTreeSet<String>, (PathBuf, io::Error)> {
    let mut files = BTreeSet::new();
    let mut pending = vec![String::new()];
    while let Some(relative_dir) = pending.pop() {
        let folder = dir.join(&relative_dir);
        let entries = fs::read_dir(&folder).map_err(|e| (folder.clone(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| (folder.clone(), e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let relative = if relative_dir.is_empty() {
                name
            } else {
                format!("{relative_dir}/{name}")
            };
            let kind = entry.file_type().map_err(|e| (entry.path(), e))?;
            if kind.is_dir() {
                pending.push(relative);
            } else if kind.is_file()
                && relative != RECORD_FILE
                && outputs.iter().any(|o| o.matches(&relative))
            {
                files.insert(relative);
            }
        }
    }
    Ok(files)
}

/// The flat statistics of a sample, `{"block.stat": value}`, keys sorted.
pub(crate) fn stats_json(record: &SampleRecord) -> Vec<u8> {
    let flat: BTreeMap<String, &StatValue> = record
        .blocks
        .iter()
        .flat_map(|block| {
            block
                .stats
                .iter()
                .map(move |(key, value)| (format!("{}.{key}", block.name), value))
        })
        .collect();
    serde_json::to_vec(&flat).expect("statistics serialize")
}

/// Writes the members of `samples` (in order) as one tar to `out`; returns
/// the archive size.
pub(crate) fn write_tar<W: io::Write>(
    out: W,
    samples: impl IntoIterator<Item = Vec<Member>>,
) -> io::Result<(W, u64)> {
    let mut tar = TarWriter::new(out);
    for members in samples {
        for member in members {
            match member.source {
                MemberSource::Bytes(bytes) => tar.append_bytes(&member.name, &bytes)?,
                MemberSource::File(path) => {
                    let file = fs::File::open(&path)?;
                    let size = file.metadata()?.len();
                    tar.append_reader(&member.name, size, file).map_err(|e| {
                        io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                    })?;
                }
            }
        }
    }
    tar.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::record::{BlockRecord, BlockStatus};

    #[test]
    fn members_flatten_folders_and_keep_the_key() {
        assert_eq!(member_name(7, "image.png"), "0000000007.image.png");
        assert_eq!(member_name(7, "debug/a.png"), "0000000007.debug.a.png");
        assert_eq!(shard_file_name(12), "shard-000012.tar");
    }

    #[test]
    fn collisions_and_undeclared_files_are_handled() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("debug")).unwrap();
        for name in ["debug/a.png", "debug.a.png", "junk.txt", RECORD_FILE] {
            fs::write(dir.path().join(name), name).unwrap();
        }
        let outputs = |list: &[&str]| {
            let mut block = BlockDescription::for_test("b", &[]);
            block.optional_outputs = list.iter().map(|s| s.to_string()).collect();
            vec![BlockOutputs::of(&block)]
        };
        let record = SampleRecord::new(7);
        let members = sample_members(dir.path(), &record, &outputs(&["debug/*.png"])).unwrap();
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["0000000007.debug.a.png", "0000000007.stats.json"]);
        let error = sample_members(dir.path(), &record, &outputs(&["debug/*.png", "*.png"]));
        assert!(
            matches!(error, Err(MemberError::Collision { ref member, .. }) if member == "0000000007.debug.a.png")
        );
    }

    #[test]
    fn stats_are_flat_and_sorted() {
        let mut record = SampleRecord::new(1);
        for (name, stats) in [
            ("z", vec![("n", 2.5)]),
            ("a", vec![("m", 1.0), ("b", f64::NAN)]),
        ] {
            record.blocks.push(BlockRecord {
                name: name.into(),
                fingerprint: String::new(),
                status: BlockStatus::Ok,
                attempts: 1,
                reason: None,
                stats: stats
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), StatValue::Number(v)))
                    .collect(),
                outputs: Vec::new(),
            });
        }
        assert_eq!(
            String::from_utf8(stats_json(&record)).unwrap(),
            r#"{"a.b":null,"a.m":1.0,"z.n":2.5}"#
        );
    }
}
