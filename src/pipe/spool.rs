//! `--pipe` with records cut at a separator (no `-L`, `-N`): the bytes GNU keeps in memory
//! between rounds are kept in the spool file itself. Each round splices the next read from
//! standard input straight into the spool (hrun never copies the stream through its own
//! memory), finds the last separator by reading the spool's tail back, and cuts there: what
//! follows the cut (less than a record) moves to the next spool, after the header.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use memchr::memmem;

use super::Block;
use super::split::Splitter;

/// The spool being filled, and where its bytes are in the input.
pub struct Spooler {
    separator: Vec<u8>,
    recend: u64,
    header: Vec<u8>,
    spool: File,
    /// Bytes after the header: GNU's buffer.
    held: u64,
    /// Where those bytes start in the input.
    pub at: u64,
    pub ended: bool,
}

/// The block size grew (from, to): a record was longer than it.
pub type Grew = Option<(usize, usize)>;

/// Bytes read back at a time when looking for the last separator.
const TAIL: u64 = 256 * 1024;

impl Spooler {
    /// `rest`: bytes already read after the header (at `at` in the input).
    pub fn new(
        separator: Vec<u8>,
        recend: usize,
        header: Vec<u8>,
        rest: &[u8],
        at: u64,
    ) -> io::Result<Spooler> {
        let spool = new_spool(&header, rest)?;
        Ok(Spooler {
            separator,
            recend: recend as u64,
            header,
            spool,
            held: rest.len() as u64,
            at,
            ended: false,
        })
    }

    /// One of GNU's rounds: fill to the next multiple of the block size, then cut after the
    /// last separator. The block cut, if any, and the growth of the block size when a record
    /// was longer than it.
    pub fn round(&mut self, input: &File, splitter: &mut Splitter) -> io::Result<(Option<Block>, Grew)> {
        let want = splitter.want(self.held as usize);
        let start = self.header.len() as u64;
        let got = crate::sys::feed::append(input, &self.spool, start + self.held, want)?;
        self.held += got as u64;
        if got < want {
            self.ended = true;
            let last = (self.held > 0).then(|| self.take(self.held)).transpose()?;
            return Ok((last, None));
        }
        match self.last_record_end()? {
            Some(end) => Ok((Some(self.take(end)?), None)),
            None => Ok((None, splitter.grow())),
        }
    }

    /// The first `len` held bytes become a block; the rest starts the next spool.
    fn take(&mut self, len: u64) -> io::Result<Block> {
        let start = self.header.len() as u64;
        let mut rest = vec![0u8; (self.held - len) as usize];
        self.spool.read_exact_at(&mut rest, start + len)?;
        self.spool.set_len(start + len)?;
        let full = std::mem::replace(&mut self.spool, new_spool(&self.header, &rest)?);
        let block = Block::new(Arc::new(full), vec![(0, start + len)], self.at, len);
        self.at += len;
        self.held = rest.len() as u64;
        Ok(block)
    }

    /// GNU's `pass`: just after the last separator's record end, when that is not 0.
    fn last_record_end(&self) -> io::Result<Option<u64>> {
        let start = self.header.len() as u64;
        let sep = self.separator.len() as u64;
        if sep == 0 {
            return Ok((self.held > 0).then_some(self.held));
        }
        let finder = memmem::FinderRev::new(&self.separator);
        let mut end = self.held;
        let mut buf = Vec::new();
        while end > 0 {
            let from = end.saturating_sub(TAIL);
            // A separator may straddle `end`: read its length - 1 bytes past it.
            let to = (end + sep - 1).min(self.held);
            buf.resize((to - from) as usize, 0);
            self.spool.read_exact_at(&mut buf, start + from)?;
            if let Some(i) = finder.rfind(&buf) {
                let cut = from + i as u64 + self.recend;
                return Ok((cut > 0).then_some(cut));
            }
            end = from;
        }
        Ok(None)
    }
}

/// An unlinked file in `$TMPDIR` holding `header` and `bytes`.
pub fn new_spool(header: &[u8], bytes: &[u8]) -> io::Result<File> {
    let mut f = tempfile::tempfile()?;
    f.write_all(header)?;
    f.write_all(bytes)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::Records;

    /// Block lengths as the pure splitter cuts `input` (read as GNU reads it).
    fn pure(input: &[u8], records: &Records, block: usize) -> Vec<usize> {
        crate::pipe::split::cut_lengths(input, records, block)
    }

    #[test]
    fn the_spool_cuts_where_the_pure_splitter_cuts() {
        // Records of varied length ending in a two-byte separator, blocks larger than the
        // tail read back at a time (separators straddle its reads), and some records longer
        // than the block.
        let mut input = Vec::new();
        for i in 0..40_000u64 {
            let len = if i % 9_000 == 0 { 400_000 } else { (i * 7919 % 61) as usize };
            input.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            input.extend_from_slice(b"\r\n");
        }
        let records = Records { recend: b"\r\n".to_vec(), ..Records::default() };
        for block in [1000, 300_000, 1 << 20] {
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&input).unwrap();
            std::io::Seek::rewind(&mut file).unwrap();
            let mut splitter = Splitter::new(records.clone(), block).unwrap();
            let mut spooler = Spooler::new(records.separator(), 2, b"H\n".to_vec(), &[], 0).unwrap();
            let mut got = Vec::new();
            while !spooler.ended {
                if let (Some(b), _) = spooler.round(&file, &mut splitter).unwrap() {
                    let mut bytes = vec![0u8; b.ranges[0].1 as usize];
                    b.file.read_exact_at(&mut bytes, 0).unwrap();
                    let from = b.offset as usize;
                    assert_eq!(bytes[..2], *b"H\n");
                    assert_eq!(bytes[2..], input[from..from + b.len as usize], "block {block}");
                    got.push(b.len as usize);
                }
            }
            assert_eq!(got, pure(&input, &records, block), "block {block}");
        }
    }
}
