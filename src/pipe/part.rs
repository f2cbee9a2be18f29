//! `--pipepart`'s blocks: boundaries found by seeking, as GNU parallel 20221122 finds them
//! (`find_split_positions`): from each multiple of the block size after the last boundary,
//! the next record end that a record start follows. Only the bytes around each boundary are
//! read, never the blocks themselves.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use memchr::memmem;

use super::Records;
use super::regexp::{Flavour, Separator};

/// GNU reads 128 KiB at a time looking for a boundary.
const CHUNK: usize = 128 * 1024;

/// The blocks (start, end) of `file` (`size` bytes) from `skip` on.
pub fn bounds(
    file: &File,
    size: u64,
    block: usize,
    records: &Records,
    skip: u64,
) -> io::Result<Vec<(u64, u64)>> {
    let separator = records.separator();
    let pattern = records.pattern(Flavour::Part).map_err(io::Error::other)?;
    let block = block.max(1) as u64;
    let mut cuts = vec![skip];
    let mut pos = skip + block;
    while pos < size {
        if let Some(pattern) = &pattern {
            if let Some(i) = find_pattern_from(file, pos, size, pattern)? {
                pos += i;
                cuts.push(pos);
            }
        } else if separator.is_empty() {
            cuts.push(pos);
        } else if let Some(i) = find_from(file, pos, size, &separator)? {
            pos += i + records.recend.len() as u64;
            cuts.push(pos);
        }
        pos += block;
    }
    if cuts.last() != Some(&size) {
        cuts.push(size);
    }
    Ok(cuts.windows(2).filter(|w| w[1] > w[0]).map(|w| (w[0], w[1])).collect())
}

/// `--header N`: the length of the file's first `lines` lines (0 when it has fewer).
pub fn header(file: &File, size: u64, lines: usize) -> io::Result<u64> {
    let (mut seen, mut at, mut buf) = (0, 0u64, vec![0u8; CHUNK]);
    while lines > 0 && at < size {
        let got = file.read_at(&mut buf, at)?;
        if got == 0 {
            break;
        }
        for i in memchr::memchr_iter(b'\n', &buf[..got]) {
            seen += 1;
            if seen == lines {
                return Ok(at + i as u64 + 1);
            }
        }
        at += got as u64;
    }
    Ok(0)
}

/// `--regexp`: GNU reads 128 KiB more at a time until its pattern matches what it read, and
/// cuts after the last match (relative to `from`).
fn find_pattern_from(file: &File, from: u64, size: u64, pattern: &Separator) -> io::Result<Option<u64>> {
    read_until(file, from, size, |buf, _| pattern.part_cut(buf).map(|cut| cut as u64))
}

/// Where `separator` first occurs at or after `from`, relative to `from`.
fn find_from(file: &File, from: u64, size: u64, separator: &[u8]) -> io::Result<Option<u64>> {
    let finder = memmem::Finder::new(separator);
    read_until(file, from, size, |buf, old| {
        // Only the new bytes, and the separator's length before them, can hold a new match.
        let look = old.saturating_sub(separator.len() - 1);
        finder.find(&buf[look..]).map(|i| (look + i) as u64)
    })
}

/// Reads the file from `from` to `size` a [`CHUNK`] more at a time, asking `found` after each
/// read (with all read so far, and where the new bytes begin) whether it holds what is
/// sought; None when the file ends first.
fn read_until(
    file: &File,
    from: u64,
    size: u64,
    mut found: impl FnMut(&[u8], usize) -> Option<u64>,
) -> io::Result<Option<u64>> {
    let mut buf: Vec<u8> = Vec::new();
    let mut at = from;
    while at < size {
        let n = CHUNK.min((size - at) as usize);
        let old = buf.len();
        buf.resize(old + n, 0);
        let got = file.read_at(&mut buf[old..], at)?;
        buf.truncate(old + got);
        if got == 0 {
            break;
        }
        if let Some(hit) = found(&buf, old) {
            return Ok(Some(hit));
        }
        at += got as u64;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (File, u64) {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        (f, bytes.len() as u64)
    }

    #[test]
    fn boundaries_follow_the_next_newline_after_each_block() {
        let (f, size) = file_of(b"aaa\nbbb\nccc\nddd\n");
        let b = bounds(&f, size, 5, &Records::default(), 0).unwrap();
        assert_eq!(b, vec![(0, 8), (8, 16)]);
        let (f, size) = file_of(b"");
        assert!(bounds(&f, size, 5, &Records::default(), 0).unwrap().is_empty());
    }

    #[test]
    fn a_file_without_a_last_newline_ends_its_last_block() {
        let (f, size) = file_of(b"a\nb\nc");
        assert_eq!(bounds(&f, size, 1, &Records::default(), 0).unwrap(), vec![(0, 2), (2, 4), (4, 5)]);
    }
}
