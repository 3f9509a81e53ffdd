//! Which samples a dataset holds, from directory listings alone (no `stat`,
//! no record read): the dataset root lists the buckets, and only the buckets
//! that overlap the samples asked for are listed in turn. So the cost is one
//! listing of the root plus one per bucket present in the range, whatever
//! the range could hold: a range of 10^7 samples over 20 present samples
//! lists the root and one bucket.
//!
//! The listing also guards the layout ([`crate::layout`]): a sample folder
//! directly in the root (the flat layout of earlier versions, or a flat
//! shard copied in with `cp -a`) is refused with the command that converts
//! it, and so is an entry named like a bucket that is not a real folder (a
//! symlink would lead the engine outside the dataset).

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::dataset::Dataset;
use crate::error::{Error, Result, UsageError};
use crate::layout::{
    bucket_of, bucket_start, parse_bucket_dir_name, parse_sample_dir_name, BUCKET_SIZE,
};
use crate::ranges::SampleRange;

/// One entry named like a sample folder, in the bucket its id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SampleEntry {
    /// The sample id.
    pub id: u64,
    /// Whether it is a real folder (a symlink or file named like a sample
    /// is damage, set aside by the run that works on it).
    pub is_folder: bool,
}

/// The sample entries of (part of) a dataset, and what listing them cost.
#[derive(Clone, Debug, Default)]
pub(crate) struct SampleListing {
    /// The entries, sorted by id.
    pub entries: Vec<SampleEntry>,
    /// Folders listed: the root (if it exists) and each bucket read.
    pub folders_listed: u64,
    /// Whether `entries` are every sample entry of the dataset (no bucket
    /// was left unread, no entry was outside the range).
    pub covers_all: bool,
}

/// What the root of a dataset holds that the layout names.
pub(crate) struct RootListing {
    /// The buckets that are real folders, sorted.
    pub buckets: Vec<u64>,
    /// Entries named like a bucket that are not real folders, sorted.
    pub not_folders: Vec<u64>,
    /// Sample folders of the flat layout directly in the root, sorted.
    pub flat_samples: Vec<u64>,
    /// Whether the root exists.
    pub exists: bool,
}

impl Dataset {
    /// The folder of `bucket`.
    pub(crate) fn bucket_dir(&self, bucket: u64) -> PathBuf {
        self.root().join(crate::layout::bucket_dir_name(bucket))
    }

    /// Lists the root: buckets, stray entries named like buckets, and sample
    /// folders of the flat layout. Names only, from one listing.
    pub(crate) fn list_root(&self) -> Result<RootListing> {
        let root = self.root();
        let mut listing = RootListing {
            buckets: Vec::new(),
            not_folders: Vec::new(),
            flat_samples: Vec::new(),
            exists: true,
        };
        let entries = match fs::read_dir(root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                listing.exists = false;
                return Ok(listing);
            }
            Err(e) => return Err(Error::io("cannot read", root, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read", root, e))?;
            let name = entry.file_name();
            if let Some(bucket) = parse_bucket_dir_name(&name) {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    listing.buckets.push(bucket);
                } else {
                    listing.not_folders.push(bucket);
                }
            } else if let Some(id) = parse_sample_dir_name(&name) {
                listing.flat_samples.push(id);
            }
        }
        listing.buckets.sort_unstable();
        listing.not_folders.sort_unstable();
        listing.flat_samples.sort_unstable();
        Ok(listing)
    }

    /// The sample entries whose id is in `range` (all of them for `None`),
    /// sorted, with the number of folders listed. Refuses (exit 2, nothing
    /// changed) a dataset with flat sample folders in its root, or with an
    /// entry named like a bucket that is not a real folder (anywhere, so
    /// that a run refuses it up front rather than in its statistics pass).
    pub(crate) fn list_samples(&self, range: Option<SampleRange>) -> Result<SampleListing> {
        let root = self.list_root()?;
        if !root.exists {
            return Ok(SampleListing {
                covers_all: true,
                ..SampleListing::default()
            });
        }
        if let Some(&id) = root.flat_samples.first() {
            return Err(flat_layout_error(
                self.root(),
                format!(
                    "{} is a sample folder directly in it",
                    self.root()
                        .join(crate::layout::sample_dir_name(id))
                        .display()
                ),
            ));
        }
        let overlaps = |bucket: u64| {
            range.is_none_or(|r| {
                let start = bucket_start(bucket);
                !r.is_empty() && start < r.end && r.start < start + BUCKET_SIZE
            })
        };
        if let Some(&bucket) = root.not_folders.first() {
            return Err(Error::Dataset {
                path: self.bucket_dir(bucket),
                message: "named like a bucket of sample folders but not a real folder (a \
                          symlink or a file); shardgen never follows links in a dataset: move \
                          it away, or put the real folder there"
                    .to_owned(),
            });
        }
        let mut listing = SampleListing {
            entries: Vec::new(),
            folders_listed: 1,
            covers_all: root.buckets.iter().all(|&b| overlaps(b)),
        };
        for bucket in root.buckets.into_iter().filter(|&b| overlaps(b)) {
            let dir = self.bucket_dir(bucket);
            listing.folders_listed += 1;
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                // Removed since the root was listed: it holds nothing.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("cannot read", &dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("cannot read", &dir, e))?;
                let Some(id) = sample_in_bucket(&entry.file_name(), bucket) else {
                    continue;
                };
                if range.is_none_or(|r| r.contains(id)) {
                    listing.entries.push(SampleEntry {
                        id,
                        is_folder: entry.file_type().is_ok_and(|t| t.is_dir()),
                    });
                } else {
                    listing.covers_all = false;
                }
            }
        }
        listing.entries.sort_unstable();
        Ok(listing)
    }

    /// The ids of the sample entries present (folders or not), sorted.
    pub(crate) fn present_samples(&self) -> Result<Vec<u64>> {
        let listing = self.list_samples(None)?;
        Ok(listing.entries.iter().map(|e| e.id).collect())
    }

    /// The ids of the sample entries present in `range`, sorted.
    pub(crate) fn present_samples_in(&self, range: SampleRange) -> Result<Vec<u64>> {
        let listing = self.list_samples(Some(range))?;
        Ok(listing.entries.iter().map(|e| e.id).collect())
    }

    /// The ids of the sample folders present that are real folders (not
    /// symlinks or files), sorted.
    pub(crate) fn present_sample_folders(&self) -> Result<Vec<u64>> {
        let listing = self.list_samples(None)?;
        Ok(listing
            .entries
            .iter()
            .filter(|e| e.is_folder)
            .map(|e| e.id)
            .collect())
    }
}

/// The id of a sample folder name in `bucket`, if it is one that belongs
/// there (a folder in another sample's bucket is not a sample of this
/// layout, and is left alone).
fn sample_in_bucket(name: &OsStr, bucket: u64) -> Option<u64> {
    parse_sample_dir_name(name).filter(|&id| bucket_of(id) == bucket)
}

/// The refusal of a dataset of the flat layout; `why` says what showed it.
pub(crate) fn flat_layout_error(root: &Path, why: String) -> Error {
    Error::Usage(UsageError::FlatLayout {
        dataset: root.to_path_buf(),
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::sample_path;

    fn dataset_with(ids: &[u64]) -> (tempfile::TempDir, Dataset) {
        let dir = tempfile::tempdir().unwrap();
        for &id in ids {
            fs::create_dir_all(dir.path().join(sample_path(id))).unwrap();
        }
        let dataset = Dataset::new(dir.path());
        (dir, dataset)
    }

    #[test]
    fn only_buckets_overlapping_the_range_are_listed() {
        let ids = [0, 9_999, 10_000, 10_001, 55_555, 9_999_999_999];
        let (_dir, dataset) = dataset_with(&ids);
        let all = dataset.list_samples(None).unwrap();
        assert_eq!(all.entries.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
        assert_eq!(all.folders_listed, 1 + 4);
        let part = dataset
            .list_samples(Some(SampleRange::new(9_998, 10_001)))
            .unwrap();
        assert_eq!(
            part.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            [9_999, 10_000]
        );
        assert_eq!(part.folders_listed, 1 + 2);
        let far = dataset
            .list_samples(Some(SampleRange::new(20_000, 50_000)))
            .unwrap();
        assert!(far.entries.is_empty());
        assert_eq!(far.folders_listed, 1);
        let none = Dataset::new(dataset.root().join("absent"));
        assert_eq!(none.list_samples(None).unwrap().folders_listed, 0);
    }

    #[test]
    fn flat_folders_and_stray_buckets_are_refused() {
        let (dir, dataset) = dataset_with(&[3]);
        fs::create_dir(dir.path().join("0000000042")).unwrap();
        let error = dataset.list_samples(None).unwrap_err();
        assert!(
            matches!(error, Error::Usage(UsageError::FlatLayout { .. })),
            "{error}"
        );
        fs::remove_dir(dir.path().join("0000000042")).unwrap();
        std::os::unix::fs::symlink("/tmp", dir.path().join("000007")).unwrap();
        assert!(dataset.list_samples(None).is_err());
        assert!(dataset.list_samples(Some(SampleRange::new(0, 10))).is_err());
        fs::remove_file(dir.path().join("000007")).unwrap();
        // A sample folder in the wrong bucket is not a sample of the layout.
        fs::create_dir(dir.path().join("000000/0000010000")).unwrap();
        assert_eq!(
            dataset
                .present_samples_in(SampleRange::new(0, 20_000))
                .unwrap(),
            [3]
        );
    }
}
