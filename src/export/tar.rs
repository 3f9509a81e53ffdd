//! A minimal, deterministic tar writer: POSIX ustar members, with a pax
//! extended header only for a name longer than 100 bytes or a file of 8 GiB
//! or more.
//!
//! Every member is a regular file with the same fixed metadata ([`MTIME`],
//! mode 0644, uid and gid 0, empty user and group names), so the bytes of an
//! archive depend only on the member names and contents, in the order they
//! are appended. The archive ends with two zero blocks and is not padded to a
//! 10 KiB record (GNU tar, Python's `tarfile` and `webdataset` read it as is).
//!
//! Written by hand rather than with the `tar` crate: ustar is a few dozen
//! lines, and owning every header byte is what keeps the output identical
//! across versions of a dependency.

use std::io::{self, Read, Write};

/// The modification time of every member: 2000-01-01T00:00:00Z. A fixed,
/// plausible date (GNU tar warns about "implausibly old" time stamps of 0).
pub(crate) const MTIME: u64 = 946_684_800;
/// Tar's block size.
const BLOCK: usize = 512;
/// The largest size an 11-digit octal size field holds.
const MAX_USTAR_SIZE: u64 = 0o77_777_777_777;
/// The longest name the ustar `name` field holds (no `prefix` split: member
/// names here have no folders).
const MAX_USTAR_NAME: usize = 100;

/// Writes tar members to `out`; [`TarWriter::finish`] writes the end marker.
pub(crate) struct TarWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> TarWriter<W> {
    /// A writer appending to `out`.
    pub(crate) fn new(out: W) -> Self {
        Self { out, written: 0 }
    }

    /// Appends a regular file `name` holding `data`.
    pub(crate) fn append_bytes(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.header(name, data.len() as u64)?;
        self.write(data)?;
        self.pad(data.len() as u64)
    }

    /// Appends a regular file `name` of `size` bytes read from `reader`;
    /// fails if the reader holds fewer bytes (the file shrank meanwhile).
    /// Bytes past `size` are not read.
    pub(crate) fn append_reader(
        &mut self,
        name: &str,
        size: u64,
        reader: impl Read,
    ) -> io::Result<()> {
        self.header(name, size)?;
        let copied = io::copy(&mut reader.take(size), &mut self.out)?;
        self.written += copied;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("'{name}' changed while it was read: {copied} of {size} bytes"),
            ));
        }
        self.pad(size)
    }

    /// Writes the end-of-archive marker and returns the output and the
    /// archive's size in bytes.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        self.write(&[0u8; 2 * BLOCK])?;
        self.out.flush()?;
        Ok((self.out, self.written))
    }

    fn header(&mut self, name: &str, size: u64) -> io::Result<()> {
        let long_name = name.len() > MAX_USTAR_NAME;
        let big = size > MAX_USTAR_SIZE;
        if long_name || big {
            let mut records = Vec::new();
            if long_name {
                records.extend(pax_record("path", name));
            }
            if big {
                records.extend(pax_record("size", &size.to_string()));
            }
            let block = header_block("././@PaxHeader", records.len() as u64, b'x');
            self.write(&block)?;
            self.write(&records)?;
            self.pad(records.len() as u64)?;
        }
        // The plain header still carries what fits, for readers without pax.
        let short = truncate_utf8(name, MAX_USTAR_NAME);
        let block = header_block(short, if big { 0 } else { size }, b'0');
        self.write(&block)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rest = (size % BLOCK as u64) as usize;
        if rest == 0 {
            return Ok(());
        }
        self.write(&[0u8; BLOCK][..BLOCK - rest])
    }
}

/// One pax record, `"<len> <key>=<value>\n"`, where `<len>` counts the whole
/// record including its own digits.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len.to_string().len() + body.len() != len {
        len = len.to_string().len() + body.len();
    }
    format!("{len}{body}").into_bytes()
}

/// The longest prefix of `text` of at most `max` bytes ending on a character
/// boundary.
fn truncate_utf8(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A ustar header block (`name` at most 100 bytes, `size` fits 11 octal digits).
fn header_block(name: &str, size: u64, typeflag: u8) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    block[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut block[100..108], 0o644);
    octal(&mut block[108..116], 0);
    octal(&mut block[116..124], 0);
    octal(&mut block[124..136], size);
    octal(&mut block[136..148], MTIME);
    block[156] = typeflag;
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    octal(&mut block[329..337], 0);
    octal(&mut block[337..345], 0);
    // The checksum is computed with its own field as spaces, then written as
    // six octal digits, a NUL and a space.
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let digits = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(digits.as_bytes());
    block
}

/// Writes `value` as zero-padded octal digits followed by a NUL.
fn octal(field: &mut [u8], value: u64) {
    let digits = format!("{value:0width$o}", width = field.len() - 1);
    field[..digits.len()].copy_from_slice(digits.as_bytes());
    field[digits.len()] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        assert_eq!(pax_record("path", "a"), b"9 path=a\n");
        assert_eq!(pax_record("path", "aa"), b"11 path=aa\n");
        let long = "x".repeat(95);
        let record = pax_record("path", &long);
        let text = String::from_utf8(record.clone()).unwrap();
        let (len, _) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), record.len());
    }

    #[test]
    fn members_are_block_aligned_and_fixed() {
        let mut tar = TarWriter::new(Vec::new());
        tar.append_bytes("0000000001.a.bin", b"hello").unwrap();
        tar.append_reader("0000000001.b.bin", 3, &b"xyz and more"[..])
            .unwrap();
        let (bytes, size) = tar.finish().unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(bytes.len(), 4 * BLOCK + 2 * BLOCK);
        assert_eq!(&bytes[..16], b"0000000001.a.bin");
        assert_eq!(&bytes[124..136], b"00000000005\0");
        assert_eq!(&bytes[136..148], b"07033241600\0");
        assert_eq!(&bytes[BLOCK..BLOCK + 5], b"hello");
        assert_eq!(&bytes[3 * BLOCK..3 * BLOCK + 3], b"xyz");
    }

    #[test]
    fn a_short_reader_is_an_error() {
        let mut tar = TarWriter::new(Vec::new());
        assert!(tar.append_reader("a", 10, &b"abc"[..]).is_err());
    }

    #[test]
    fn long_names_get_a_pax_header() {
        let name = format!("0000000001.{}.png", "n".repeat(120));
        let mut tar = TarWriter::new(Vec::new());
        tar.append_bytes(&name, b"x").unwrap();
        let (bytes, _) = tar.finish().unwrap();
        assert_eq!(bytes[156], b'x');
        let record = format!("path={name}\n");
        let body = String::from_utf8_lossy(&bytes[BLOCK..2 * BLOCK]);
        assert!(body.contains(&record), "{body}");
        assert_eq!(bytes[2 * BLOCK + 156], b'0');
    }
}
