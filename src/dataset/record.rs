//! What the engine remembers of each sample: one small JSON file per sample
//! folder (`.shardgen.json`), written atomically after every block.
//!
//! The record holds only deterministic content (fingerprints, status, failure
//! reason, statistics), so a sample folder is byte-identical however it was
//! made; timings and hosts go to the per-run files under `.shardgen/runs/`.
//! A record that is missing, torn, unparsable, of another format version or
//! of another sample is never trusted: it reads as "no block done".

use serde::{Deserialize, Serialize};

use crate::block::Stats;
use crate::layout::RECORD_FILE;

/// The largest record read (64 MiB); a larger file is damaged.
pub(crate) const MAX_RECORD_BYTES: u64 = 64 << 20;

/// Format version of [`SampleRecord`]; bump on any incompatible change.
pub(crate) const RECORD_FORMAT: u32 = 1;

/// The record of one sample: the blocks that ran on it, in chain order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SampleRecord {
    /// [`RECORD_FORMAT`] of the writer.
    pub format: u32,
    /// The global sample index (guards against a folder copied to a wrong name).
    pub sample: u64,
    /// One entry per block that finished on this sample, in chain order.
    pub blocks: Vec<BlockRecord>,
}

/// The outcome of one block on one sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BlockRecord {
    /// The block's name in the pipeline.
    pub name: String,
    /// The block's fingerprint when it ran (hex).
    pub fingerprint: String,
    /// What happened.
    pub status: BlockStatus,
    /// Attempts it took in the run that recorded it (`retries:`); written
    /// only when more than one, so ordinary records are unchanged.
    #[serde(default = "one_attempt", skip_serializing_if = "is_one_attempt")]
    pub attempts: u32,
    /// Why it failed or was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Statistics the block recorded (also kept for rejected samples).
    #[serde(default, skip_serializing_if = "Stats::is_empty")]
    pub stats: Stats,
    /// Every output the block published, sorted by path, with its size and
    /// digest. Empty in records of shardgen before 0.1 digests (read as
    /// today: only the presence of required outputs is checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputFile>,
}

/// A published output as the record vouches for it: what every scan checks
/// (the size) and `verify` and `run --verify` check (the digest too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutputFile {
    /// Path relative to the sample folder, `/` separators.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// `xxh3-128:<32 hex digits>` ([`crate::file_digest`]).
    pub digest: String,
}

fn one_attempt() -> u32 {
    1
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_one_attempt(attempts: &u32) -> bool {
    *attempts <= 1
}

/// The outcome of a block on a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockStatus {
    /// Ran, validated, outputs published.
    Ok,
    /// `run` failed (error, exit code, timeout, missing output).
    Failed,
    /// `validate` rejected the sample.
    Rejected,
}

/// What reading a sample's record gave.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RecordRead {
    /// No record: the sample folder or its record does not exist.
    Absent,
    /// A complete, current record.
    Valid(SampleRecord),
    /// A record that cannot be trusted, and why; reads as "no block done".
    Damaged(String),
}

impl RecordRead {
    /// The record, if it can be trusted.
    pub(crate) fn valid(&self) -> Option<&SampleRecord> {
        match self {
            RecordRead::Valid(record) => Some(record),
            _ => None,
        }
    }
}

/// Reads the record of sample `id` from its folder. Never fails: anything
/// that is not a complete record of this sample is `Absent` or `Damaged`.
pub(crate) fn read_record(sample_dir: &std::path::Path, id: u64) -> RecordRead {
    read_record_digested(sample_dir, id).0
}

/// [`read_record`], and a digest of the record's bytes (0 when there are
/// none): what [`crate::dataset::statistics_stamp`] tells changes by,
/// for the cost of hashing a few hundred bytes already read.
pub(crate) fn read_record_digested(sample_dir: &std::path::Path, id: u64) -> (RecordRead, u64) {
    let bytes = match read_no_follow(&sample_dir.join(RECORD_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (RecordRead::Absent, 0),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return (RecordRead::Damaged("the record is a symlink".into()), 0)
        }
        Err(e) => return (RecordRead::Damaged(format!("unreadable record: {e}")), 0),
    };
    let digest = xxhash_rust::xxh3::xxh3_64(&bytes);
    (parse_record(&bytes, id), digest)
}

/// Judges the bytes of a record file of sample `id` (the pure part of
/// [`read_record`], also the entry point of the fuzz target).
pub(crate) fn parse_record(bytes: &[u8], id: u64) -> RecordRead {
    match serde_json::from_slice::<SampleRecord>(bytes) {
        Ok(record) if record.format != RECORD_FORMAT => RecordRead::Damaged(format!(
            "record format {} (this shardgen reads {RECORD_FORMAT})",
            record.format
        )),
        Ok(record) if record.sample != id => RecordRead::Damaged(format!(
            "record of sample {} found in the folder of sample {id}",
            record.sample
        )),
        Ok(record) => RecordRead::Valid(record),
        Err(e) => RecordRead::Damaged(format!("corrupt record: {e}")),
    }
}

/// Reads a file whole, refusing a symlink (`O_NOFOLLOW`: no extra syscall).
fn read_no_follow(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut bytes = Vec::with_capacity(4096);
    file.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(std::io::Error::other("larger than 64 MiB"));
    }
    Ok(bytes)
}

/// Writes the record of a sample atomically; the XXH3-64 digest of its
/// bytes, the one a scan computes when it reads them back.
pub(crate) fn write_record(
    sample_dir: &std::path::Path,
    record: &SampleRecord,
) -> std::io::Result<u64> {
    let bytes = serde_json::to_vec(record).expect("records serialize");
    crate::dataset::atomic::write_atomic(&sample_dir.join(RECORD_FILE), &bytes)?;
    Ok(xxhash_rust::xxh3::xxh3_64(&bytes))
}

/// [`write_record`], durably (`--durable`): the record's bytes and its name
/// in the sample folder are on disk when this returns.
pub(crate) fn write_record_durable(
    sample_dir: &std::path::Path,
    record: &SampleRecord,
) -> std::io::Result<u64> {
    let bytes = serde_json::to_vec(record).expect("records serialize");
    crate::dataset::atomic::write_atomic_durable(&sample_dir.join(RECORD_FILE), &bytes)?;
    Ok(xxhash_rust::xxh3::xxh3_64(&bytes))
}

impl SampleRecord {
    /// An empty record of sample `id`.
    pub(crate) fn new(id: u64) -> Self {
        Self {
            format: RECORD_FORMAT,
            sample: id,
            blocks: Vec::new(),
        }
    }

    /// The entry of block `name`, if it ran.
    pub(crate) fn block(&self, name: &str) -> Option<&BlockRecord> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_records_are_never_trusted() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_record(dir.path(), 3), RecordRead::Absent);
        let mut record = SampleRecord::new(3);
        record.blocks.push(BlockRecord {
            name: "a".into(),
            fingerprint: "ff".into(),
            status: BlockStatus::Ok,
            attempts: 1,
            reason: None,
            stats: Stats::new(),
            outputs: vec![OutputFile {
                path: "a.bin".into(),
                size: 3,
                digest: "xxh3-128:00".into(),
            }],
        });
        write_record(dir.path(), &record).unwrap();
        assert_eq!(read_record(dir.path(), 3), RecordRead::Valid(record));
        assert!(matches!(read_record(dir.path(), 4), RecordRead::Damaged(_)));
        let path = dir.path().join(RECORD_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(read_record(dir.path(), 3), RecordRead::Damaged(_)));
    }

    #[test]
    fn records_without_output_digests_still_read() {
        let old =
            br#"{"format":1,"sample":2,"blocks":[{"name":"a","fingerprint":"ff","status":"ok"}]}"#;
        let RecordRead::Valid(record) = parse_record(old, 2) else {
            panic!("an old record must read");
        };
        assert!(record.blocks[0].outputs.is_empty());
        let written = serde_json::to_string(&record).unwrap();
        assert!(!written.contains("outputs"), "{written}");
    }
}
