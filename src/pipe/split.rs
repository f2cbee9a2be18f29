//! Cutting a stream into blocks exactly where GNU parallel 20221122 cuts it (its
//! `spreadstdin`): the buffer is filled up to the next multiple of the block size, then cut
//! after the last record end (`--recend`, default a newline) that a record start
//! (`--recstart`) follows; `-L N` cuts after a whole number of N-line records, `-N N` after
//! every N records. A round that cuts nothing grows the block size (x1.3 + 1) and says so, as
//! GNU does. Pure: the caller reads, writes and consumes.

use memchr::memmem;

use super::regexp::{Flavour, Separator};

/// Where records end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Records {
    /// `--recstart` (empty: none).
    pub recstart: Vec<u8>,
    /// `--recend` (default `\n`).
    pub recend: Vec<u8>,
    /// `-L N`: records of N lines.
    pub lines: Option<usize>,
    /// `-N N`: N records per block.
    pub count: Option<usize>,
    /// `--regexp`: `recstart` and `recend` are regular expressions.
    pub regexp: bool,
    /// `--csv`: a record ends at a newline outside double quotes.
    pub csv: bool,
}

impl Default for Records {
    fn default() -> Self {
        Records {
            recstart: Vec::new(),
            recend: b"\n".to_vec(),
            lines: None,
            count: None,
            regexp: false,
            csv: false,
        }
    }
}

impl Records {
    /// `--regexp`'s separator, compiled as GNU reads it for `flavour`.
    pub fn pattern(&self, flavour: Flavour) -> Result<Option<Separator>, String> {
        if !self.regexp {
            return Ok(None);
        }
        Separator::new(&self.recstart, &self.recend, flavour).map(Some)
    }

    /// What separates two records: the end of one and the start of the next.
    pub fn separator(&self) -> Vec<u8> {
        [self.recend.as_slice(), &self.recstart].concat()
    }
}

/// GNU's largest block: 2 GiB - 1.
pub const MAX_BLOCK: usize = (1 << 31) - 1;

/// The state between rounds: the block size (it grows past a record longer than it).
#[derive(Debug)]
pub struct Splitter {
    records: Records,
    separator: Vec<u8>,
    block: usize,
    /// `--regexp`'s separator.
    pattern: Option<Separator>,
    /// GNU's `$garbage_read`: `--regexp -N` looked for bytes before the first record once.
    garbage_read: bool,
}

/// What one round cut.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Lengths of the blocks cut off the front of the buffer, in order.
    pub blocks: Vec<usize>,
    /// The block size grew (no whole record fitted): from, to.
    pub grew: Option<(usize, usize)>,
}

impl Splitter {
    pub fn new(records: Records, block: usize) -> Result<Splitter, String> {
        let separator = records.separator();
        let pattern = records.pattern(Flavour::Stream)?;
        Ok(Splitter { records, separator, block: block.clamp(1, MAX_BLOCK), pattern, garbage_read: false })
    }

    /// How many bytes to read before the next round, the buffer holding `held`.
    pub fn want(&self, held: usize) -> usize {
        self.block - held % self.block
    }

    /// Cuts `buf` after a read; `eof`: the read found the end of the input, and every byte
    /// left becomes the last block.
    pub fn round(&mut self, buf: &[u8], eof: bool) -> Round {
        let mut round = Round { blocks: self.cuts(buf, eof), grew: None };
        let taken: usize = round.blocks.iter().sum();
        if eof {
            if taken < buf.len() {
                round.blocks.push(buf.len() - taken);
            }
        } else if round.blocks.is_empty() {
            round.grew = self.grow();
        }
        round
    }

    /// Nothing was cut (a record longer than the block): the block grows x1.3 + 1, up to
    /// [`MAX_BLOCK`]; from, to.
    pub fn grow(&mut self) -> Option<(usize, usize)> {
        if self.block >= MAX_BLOCK {
            return None;
        }
        let old = self.block;
        self.block = ((old as f64 * 1.3 + 1.0).ceil() as usize).min(MAX_BLOCK);
        Some((old, self.block))
    }

    /// True when blocks are cut only after the last separator of each read (no `-L`, `-N`):
    /// what was read before that separator is the block, whatever it holds.
    pub fn cuts_at_last_separator(&self) -> bool {
        self.records.lines.is_none()
            && self.records.count.is_none()
            && !self.records.regexp
            && !self.records.csv
    }

    /// GNU's order: `-L` alone, then `--csv`, then `--regexp`, then fixed strings.
    fn cuts(&mut self, buf: &[u8], eof: bool) -> Vec<usize> {
        let n = self.records.count.map(|c| c * self.records.lines.unwrap_or(1));
        if let (Some(lines), None) = (self.records.lines, self.records.count) {
            return n_lines(buf, lines).into_iter().collect();
        }
        if self.records.csv {
            return csv_record_end(buf).into_iter().collect();
        }
        if let Some(pattern) = &self.pattern {
            return match n {
                None if eof => Vec::new(),
                None => pattern.last_cut(buf).into_iter().collect(),
                Some(n) => {
                    let mut blocks = Vec::new();
                    if !self.garbage_read {
                        self.garbage_read = true;
                        blocks.extend(Some(pattern.garbage(buf)).filter(|&g| g > 0));
                    }
                    let from: usize = blocks.iter().sum();
                    blocks.extend(pattern.n_records(&buf[from..], n));
                    blocks
                }
            };
        }
        let recend = self.records.recend.len();
        match n {
            Some(n) => n_records(buf, &self.separator, recend, n),
            None if eof => Vec::new(),
            None => last_record_end(buf, &self.separator, recend).into_iter().collect(),
        }
    }
}

/// GNU's `pass`: everything up to the last record end that a record start follows.
fn last_record_end(buf: &[u8], separator: &[u8], recend: usize) -> Option<usize> {
    let i = memmem::rfind(buf, separator)? + recend;
    (i > 0).then_some(i)
}

/// GNU's `pass_csv_record`: just after the last newline with an even number of `\"` before
/// it (0: none).
fn csv_record_end(buf: &[u8]) -> Option<usize> {
    let mut quotes = memchr::memchr_iter(b'"', buf).count();
    let mut end = buf.len();
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..end]) {
        quotes -= memchr::memchr_iter(b'"', &buf[nl..end]).count();
        if quotes.is_multiple_of(2) {
            return Some(nl + 1);
        }
        end = nl;
    }
    None
}

/// GNU's `pass_n_line_records`: the most whole records of `lines` lines.
fn n_lines(buf: &[u8], lines: usize) -> Option<usize> {
    let newlines = memchr::memchr_iter(b'\n', buf).count();
    let whole = newlines - newlines % lines.max(1);
    if whole == 0 {
        return None;
    }
    // The end of the `whole`-th line.
    memchr::memchr_iter(b'\n', buf).nth(whole - 1).map(|i| i + 1)
}

/// GNU's `pass_n`: blocks of `n` records while `n` separators are found, each search starting
/// one byte after the last (GNU's `nindex`), so a separator at a block's first byte is not
/// counted.
fn n_records(buf: &[u8], separator: &[u8], recend: usize, n: usize) -> Vec<usize> {
    let mut blocks = Vec::new();
    let mut at = 0;
    let finder = memmem::Finder::new(separator);
    'blocks: while at < buf.len() {
        let rest = &buf[at..];
        let mut i = 0usize;
        for _ in 0..n.max(1) {
            match rest.get(i + 1..).and_then(|r| finder.find(r)) {
                Some(j) => i = i + 1 + j,
                None => break 'blocks,
            }
        }
        let len = i + recend;
        if len == 0 {
            break;
        }
        blocks.push(len);
        at += len;
    }
    blocks
}

/// GNU's `--block` sizes: a number with binary (K, M, G, T, P, Ki, Mi...) or decimal (k, m,
/// g, t, p) multipliers, e.g. `10k` = 10000, `1M` = 1048576, `1.5M`; negative (`-2`) for
/// `--pipepart`'s blocks per slot.
pub fn parse_size(text: &str) -> Result<i64, String> {
    let bad = || format!("--block {text:?}: not a size (a number with k, K, M, G, T...: 10k, 1M, 1.5G)");
    let t = text.trim();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let number: f64 = t[..digits].parse().map_err(|_| bad())?;
    let unit = &t[digits..];
    let binary = |p: i32| 1024f64.powi(p);
    let decimal = |p: i32| 1000f64.powi(p);
    let factor = match unit {
        "" => 1.0,
        "K" | "ki" | "Ki" | "KI" | "kI" => binary(1),
        "M" | "mi" | "Mi" | "MI" | "mI" => binary(2),
        "G" | "gi" | "Gi" | "GI" | "gI" => binary(3),
        "T" | "ti" | "Ti" | "TI" | "tI" => binary(4),
        "P" | "pi" | "Pi" | "PI" | "pI" => binary(5),
        "k" => decimal(1),
        "m" => decimal(2),
        "g" => decimal(3),
        "t" => decimal(4),
        "p" => decimal(5),
        _ => return Err(bad()),
    };
    let v = sign * number * factor;
    if !v.is_finite() || v.abs() >= 9.0e18 || v as i64 == 0 {
        return Err(format!("--block {text:?}: the size must be at least 1 byte (or -N blocks per slot)"));
    }
    Ok(v as i64)
}

/// The lengths of the blocks the splitter cuts a whole `input` into, read as GNU reads it
/// (each read fills the buffer up to what the splitter wants): what the spool's cuts are
/// checked against.
#[cfg(test)]
pub(crate) fn cut_lengths(input: &[u8], records: &Records, block: usize) -> Vec<usize> {
    let mut s = Splitter::new(records.clone(), block).unwrap();
    let (mut buf, mut at, mut out) = (Vec::new(), 0, Vec::new());
    loop {
        let want = s.want(buf.len());
        let n = want.min(input.len() - at);
        buf.extend_from_slice(&input[at..at + n]);
        at += n;
        let round = s.round(&buf, n < want);
        let taken: usize = round.blocks.iter().sum();
        out.extend(round.blocks);
        buf.drain(..taken);
        if n < want {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocks a whole input becomes, read as GNU reads it.
    fn blocks(input: &[u8], records: Records, block: usize) -> Vec<String> {
        let mut at = 0;
        cut_lengths(input, &records, block)
            .into_iter()
            .map(|len| {
                at += len;
                String::from_utf8_lossy(&input[at - len..at]).into_owned()
            })
            .collect()
    }

    #[test]
    fn lines_cut_at_the_last_newline_of_each_block() {
        let input = b"aaa\nbbb\nccc\nddd";
        // As GNU: each read fills the buffer up to a multiple of the block size.
        assert_eq!(blocks(input, Records::default(), 6), ["aaa\n", "bbb\n", "ccc\n", "ddd"]);
        assert_eq!(blocks(b"", Records::default(), 6), Vec::<String>::new());
    }

    #[test]
    fn a_record_longer_than_the_block_grows_it() {
        let mut s = Splitter::new(Records::default(), 5).unwrap();
        let r = s.round(b"abcde", false);
        assert_eq!(r, Round { blocks: vec![], grew: Some((5, 8)) });
        assert_eq!(blocks(b"abcdefghij\nk\n", Records::default(), 5), ["abcdefghij\n", "k\n"]);
    }

    #[test]
    fn l_records_cut_after_whole_groups_of_lines() {
        let input: String = (1..=10).map(|i| format!("{i}\n")).collect();
        let r = Records { lines: Some(3), ..Records::default() };
        assert_eq!(blocks(input.as_bytes(), r, 5), ["1\n2\n3\n", "4\n5\n6\n", "7\n8\n9\n", "10\n"]);
    }

    #[test]
    fn n_records_skip_a_separator_at_the_first_byte() {
        let r = Records { recstart: b">".to_vec(), recend: Vec::new(), count: Some(1), ..Records::default() };
        assert_eq!(blocks(b">a\n>b\n>c\n", r, 100), [">a\n", ">b\n", ">c\n"]);
    }

    #[test]
    fn recstart_alone_cuts_before_a_record_start() {
        let r = Records { recstart: b">".to_vec(), recend: Vec::new(), ..Records::default() };
        assert_eq!(blocks(b">a\n>b\n>c\n", r, 4), [">a\n", ">b\n", ">c\n"]);
    }

    #[test]
    fn csv_records_end_at_a_newline_outside_quotes() {
        assert_eq!(csv_record_end(b"a,\"x\ny\"\nb"), Some(8));
        assert_eq!(csv_record_end(b"a,\"x\ny"), None);
        let r = Records { csv: true, ..Records::default() };
        // As GNU: at the end of the input too, the last record without its newline apart.
        assert_eq!(blocks(b"a\n\"b\nc\"\nd", r, 100), ["a\n\"b\nc\"\n", "d"]);
    }

    #[test]
    fn regexp_records_are_cut_at_the_last_match() {
        let r =
            Records { recstart: b">[ab]".to_vec(), recend: Vec::new(), regexp: true, ..Records::default() };
        assert_eq!(blocks(b">a1\n>c2\n>b3\n>c4\n", r.clone(), 14), [">a1\n>c2\n", ">b3\n>c4\n"]);
        // At the end of the input what is left is one block, as GNU's.
        assert_eq!(blocks(b">a1\n>c2\n>b3\n", r, 100), [">a1\n>c2\n>b3\n"]);
    }

    #[test]
    fn sizes_are_read_as_gnu_reads_them() {
        assert_eq!(parse_size("10k"), Ok(10_000));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("1Mi"), Ok(1 << 20));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("-2"), Ok(-2));
        assert!(parse_size("ten").unwrap_err().contains("\"ten\""));
        assert!(parse_size("0").is_err());
    }
}
