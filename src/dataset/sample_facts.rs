//! What one sample brings to the statistics pass, taken where it is already
//! known: from the scan that judged it, or from the run that just wrote its
//! record. The pass then reads from disk only the samples that neither saw,
//! so a run reads each record once ([`super::facts_spool`] keeps the facts
//! between the scan and the pass, in bounded memory).
//!
//! The facts are the part of a [`JudgedSample`] the pass uses: the block
//! states, whether the record was damaged, the record's digest (for the
//! statistics stamp) and the stats of each block. They have a compact binary
//! form of their own ([`SampleFacts::encode`]); it never leaves the process.

use crate::block::{StatValue, Stats};
use crate::dataset::record::{RecordRead, SampleRecord};
use crate::dataset::state::{BlockState, JudgedSample};

/// One sample as the statistics pass sees it. See the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SampleFacts {
    /// The sample's id.
    pub(crate) id: u64,
    /// The state of each block, in chain order.
    pub(crate) states: Vec<BlockState>,
    /// The record is there but cannot be trusted (corrupt, of another
    /// sample, a symlink): the sample counts as damaged in the report.
    pub(crate) damaged: bool,
    /// XXH3-64 of the record's bytes, 0 without a record.
    pub(crate) record_digest: u64,
    /// The stats each block of the chain recorded (empty without an entry).
    pub(crate) stats: Vec<Stats>,
}

impl SampleFacts {
    /// The facts of sample `id` as judged from disk; `blocks` are the
    /// pipeline's block names in chain order. Moves the stats out of the
    /// record rather than copying them.
    pub(crate) fn from_judged(id: u64, judged: JudgedSample, blocks: &[String]) -> Self {
        let damaged = matches!(judged.record, RecordRead::Damaged(_));
        let record = match judged.record {
            RecordRead::Valid(record) => Some(record),
            RecordRead::Damaged(_) | RecordRead::Absent => None,
        };
        Self::from_record(
            id,
            judged.states,
            record,
            damaged,
            judged.record_digest,
            blocks,
        )
    }

    /// The facts of sample `id` from its block `states` and its (valid)
    /// `record`, whose bytes have digest `record_digest`.
    pub(crate) fn from_record(
        id: u64,
        states: Vec<BlockState>,
        record: Option<SampleRecord>,
        damaged: bool,
        record_digest: u64,
        blocks: &[String],
    ) -> Self {
        let mut entries = record.map(|r| r.blocks).unwrap_or_default();
        let stats = blocks
            .iter()
            .map(|name| {
                entries
                    .iter_mut()
                    .find(|entry| &entry.name == name)
                    .map(|entry| std::mem::take(&mut entry.stats))
                    .unwrap_or_default()
            })
            .collect();
        Self {
            id,
            states,
            damaged,
            record_digest,
            stats,
        }
    }

    /// The facts of sample `id` from the `record` a run just wrote (bytes
    /// of digest `record_digest`) and the block `states` judged from it.
    pub(crate) fn from_written(
        id: u64,
        states: Vec<BlockState>,
        record: &SampleRecord,
        record_digest: u64,
        blocks: &[String],
    ) -> Self {
        let stats = blocks
            .iter()
            .map(|name| {
                record
                    .block(name)
                    .map(|b| b.stats.clone())
                    .unwrap_or_default()
            })
            .collect();
        Self {
            id,
            states,
            damaged: false,
            record_digest,
            stats,
        }
    }

    /// Whether every block is complete.
    pub(crate) fn is_complete(&self) -> bool {
        self.states.iter().all(BlockState::is_complete)
    }

    /// Appends the binary form (without the id, which the spool frames):
    /// little-endian integers, strings as a `u32` length and UTF-8.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.record_digest.to_le_bytes());
        out.push(u8::from(self.damaged));
        put_len(out, self.states.len());
        for state in &self.states {
            match state {
                BlockState::Complete => out.push(STATE_COMPLETE),
                BlockState::Stale => out.push(STATE_STALE),
                BlockState::Missing => out.push(STATE_MISSING),
                BlockState::Failed(reason) => {
                    out.push(STATE_FAILED);
                    put_str(out, reason);
                }
                BlockState::Rejected(reason) => {
                    out.push(STATE_REJECTED);
                    put_str(out, reason);
                }
            }
        }
        put_len(out, self.stats.len());
        for stats in &self.stats {
            put_len(out, stats.len());
            for (key, value) in stats {
                put_str(out, key);
                match value {
                    StatValue::Number(number) => {
                        out.push(VALUE_NUMBER);
                        out.extend_from_slice(&number.to_le_bytes());
                    }
                    StatValue::Text(text) => {
                        out.push(VALUE_TEXT);
                        put_str(out, text);
                    }
                }
            }
        }
    }

    /// Reads back what [`encode`](Self::encode) wrote for sample `id`;
    /// `None` if the bytes are not such a form.
    pub(crate) fn decode(id: u64, bytes: &[u8]) -> Option<Self> {
        let mut input = Reader(bytes);
        let record_digest = u64::from_le_bytes(input.array()?);
        let damaged = match input.byte()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let states = (0..input.len()?)
            .map(|_| {
                Some(match input.byte()? {
                    STATE_COMPLETE => BlockState::Complete,
                    STATE_STALE => BlockState::Stale,
                    STATE_MISSING => BlockState::Missing,
                    STATE_FAILED => BlockState::Failed(input.string()?),
                    STATE_REJECTED => BlockState::Rejected(input.string()?),
                    _ => return None,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let stats = (0..input.len()?)
            .map(|_| {
                (0..input.len()?)
                    .map(|_| {
                        let key = input.string()?;
                        let value = match input.byte()? {
                            VALUE_NUMBER => StatValue::Number(f64::from_le_bytes(input.array()?)),
                            VALUE_TEXT => StatValue::Text(input.string()?),
                            _ => return None,
                        };
                        Some((key, value))
                    })
                    .collect::<Option<Stats>>()
            })
            .collect::<Option<Vec<_>>>()?;
        input.0.is_empty().then_some(Self {
            id,
            states,
            damaged,
            record_digest,
            stats,
        })
    }
}

const STATE_COMPLETE: u8 = 0;
const STATE_FAILED: u8 = 1;
const STATE_REJECTED: u8 = 2;
const STATE_STALE: u8 = 3;
const STATE_MISSING: u8 = 4;
const VALUE_NUMBER: u8 = 0;
const VALUE_TEXT: u8 = 1;

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Lengths of records' strings and maps: a record is at most 64 MiB.
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// A cursor over encoded bytes; every read is checked.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn len(&mut self) -> Option<usize> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        // A count cannot exceed the bytes left: no huge allocation from junk.
        (len <= self.0.len()).then_some(len)
    }

    fn string(&mut self) -> Option<String> {
        let len = self.len()?;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::record::{BlockRecord, BlockStatus, RECORD_FORMAT};

    fn entry(name: &str, stats: Stats) -> BlockRecord {
        BlockRecord {
            name: name.into(),
            fingerprint: "f".into(),
            status: BlockStatus::Ok,
            attempts: 1,
            reason: None,
            stats,
            outputs: Vec::new(),
        }
    }

    #[test]
    fn facts_take_each_blocks_stats_in_chain_order_and_round_trip() {
        let mut scene = Stats::new();
        scene.insert("objects".into(), StatValue::Number(3.0));
        scene.insert("shape".into(), StatValue::Text("ball, \"big\"".into()));
        let mut render = Stats::new();
        render.insert("light".into(), StatValue::Number(f64::INFINITY));
        // Record order differs from chain order; `other` is not in the chain.
        let record = SampleRecord {
            format: RECORD_FORMAT,
            sample: 7,
            blocks: vec![
                entry("render", render.clone()),
                entry("scene", scene.clone()),
            ],
        };
        let names = ["scene".to_owned(), "gap".to_owned(), "render".to_owned()];
        let states = vec![
            BlockState::Complete,
            BlockState::Failed("exit code 1: ERROR".into()),
            BlockState::Rejected("too dark".into()),
        ];
        let facts = SampleFacts::from_record(7, states, Some(record), false, 42, &names);
        assert_eq!(facts.stats, vec![scene, Stats::new(), render]);
        let mut bytes = Vec::new();
        facts.encode(&mut bytes);
        assert_eq!(SampleFacts::decode(7, &bytes).as_ref(), Some(&facts));
        // Truncated or extended bytes are refused, never misread.
        for bad in [
            &bytes[..bytes.len() - 1],
            &[bytes.as_slice(), &[0]].concat(),
        ] {
            assert_eq!(SampleFacts::decode(7, bad), None);
        }
    }
}
