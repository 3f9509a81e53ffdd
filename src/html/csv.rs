//! Reads the numeric columns of `statistics.csv` back, for the small
//! histograms of `shardgen report DIR` (the statistics pass hands its values
//! over in memory), each column into a [`Sketch`] so that memory stays
//! bounded whatever the number of rows. RFC 4180 as the pass writes it: quoted fields may hold
//! commas, doubled quotes and line breaks. A damaged file gives what could
//! be read, and a note.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::layout::STATISTICS_CSV;
use crate::statistics::sketch::Sketch;
use crate::statistics::summary::StatisticsSummary;

/// The distribution of the finite values of each numeric statistic of
/// `summary`, or `None` when the file is missing or unreadable.
pub(crate) fn read_values(
    path: &Path,
    summary: &StatisticsSummary,
    notes: &mut Vec<String>,
) -> Option<BTreeMap<String, Sketch>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            notes.push(format!("{STATISTICS_CSV} is unreadable: {e}."));
            return None;
        }
    };
    let mut reader = Records::new(BufReader::with_capacity(1 << 16, file));
    let header = match reader.next_record() {
        Ok(Some(header)) => header,
        Ok(None) => return Some(BTreeMap::new()),
        Err(e) => {
            notes.push(format!("{STATISTICS_CSV} is unreadable: {e}."));
            return None;
        }
    };
    // Column -> index into `columns`, for the numeric statistics only.
    let wanted: Vec<Option<usize>> = header
        .iter()
        .map(|name| summary.numbers.keys().position(|k| k == name))
        .collect();
    let mut columns: Vec<Sketch> = vec![Sketch::new(); summary.numbers.len()];
    loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                for (field, slot) in record.iter().zip(&wanted) {
                    let (Some(slot), Ok(value)) = (slot, field.parse::<f64>()) else {
                        continue;
                    };
                    columns[*slot].add(value);
                }
            }
            Ok(None) => break,
            Err(e) => {
                notes.push(format!(
                    "{STATISTICS_CSV} is damaged: {e}; read up to there."
                ));
                break;
            }
        }
    }
    Some(summary.numbers.keys().cloned().zip(columns).collect())
}

/// CSV records of a byte stream.
struct Records<R> {
    input: R,
    line: Vec<u8>,
}

impl<R: BufRead> Records<R> {
    fn new(input: R) -> Self {
        Self {
            input,
            line: Vec::new(),
        }
    }

    /// The next record's fields, `None` at the end.
    fn next_record(&mut self) -> io::Result<Option<Vec<String>>> {
        let mut fields = Vec::new();
        let mut field = Vec::new();
        let mut quoted = false;
        let mut started = false;
        loop {
            self.line.clear();
            if self.input.read_until(b'\n', &mut self.line)? == 0 {
                if !started {
                    return Ok(None);
                }
                if quoted {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "a quoted field is not closed",
                    ));
                }
                break;
            }
            started = true;
            let mut bytes = self.line.iter().copied().peekable();
            while let Some(byte) = bytes.next() {
                match (quoted, byte) {
                    (true, b'"') if bytes.peek() == Some(&b'"') => {
                        bytes.next();
                        field.push(b'"');
                    }
                    (true, b'"') => quoted = false,
                    (true, byte) => field.push(byte),
                    (false, b'"') => quoted = true,
                    (false, b',') => fields.push(take_text(&mut field)),
                    (false, b'\n') => {}
                    (false, b'\r') if bytes.peek() == Some(&b'\n') => {}
                    (false, byte) => field.push(byte),
                }
            }
            if !quoted {
                break;
            }
        }
        fields.push(take_text(&mut field));
        Ok(Some(fields))
    }
}

fn take_text(field: &mut Vec<u8>) -> String {
    let text = String::from_utf8_lossy(field).into_owned();
    field.clear();
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statistics::summary::NumberSummary;

    #[test]
    fn quoted_fields_and_numbers_read_back() {
        let text = "sample,a.x,b.t,c.y\n0,1.5,\"x, \"\"y\"\"\nz\",NaN\n1,-2,plain,inf\n2,,\"\",3\n";
        let mut records = Records::new(text.as_bytes());
        assert_eq!(
            records.next_record().unwrap().unwrap(),
            ["sample", "a.x", "b.t", "c.y"]
        );
        assert_eq!(
            records.next_record().unwrap().unwrap(),
            ["0", "1.5", "x, \"y\"\nz", "NaN"]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATISTICS_CSV);
        std::fs::write(&path, text).unwrap();
        let mut summary = StatisticsSummary::default();
        for stat in ["a.x", "c.y"] {
            summary
                .numbers
                .insert(stat.into(), NumberSummary::default());
        }
        let mut notes = Vec::new();
        let values = read_values(&path, &summary, &mut notes).unwrap();
        let runs = |stat: &str| values[stat].runs().collect::<Vec<_>>();
        assert_eq!(runs("a.x"), [(-2.0, 1), (1.5, 1)]);
        assert_eq!(runs("c.y"), [(3.0, 1)]);
        assert!(notes.is_empty());
        // A torn file: what was read, and a note.
        std::fs::write(&path, "sample,a.x\n0,1\n1,\"2").unwrap();
        let values = read_values(&path, &summary, &mut notes).unwrap();
        assert_eq!(values["a.x"].runs().collect::<Vec<_>>(), [(1.0, 1)]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(read_values(&dir.path().join("none.csv"), &summary, &mut notes).is_none());
    }
}
