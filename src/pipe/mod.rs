//! GNU parallel's `--pipe` and `--pipepart`: a command per block of input instead of per
//! value. `split` cuts a stream where GNU cuts it, `part` finds the blocks of a file by
//! seeking, `stream` turns blocks into tasks, `feed` is the small step between a task's
//! launch and its command that puts the block on the command's standard input.
//!
//! A block reaches its task as a *range of a file*: for `--pipe`, an unlinked spool file in
//! `$TMPDIR` that hrun writes the block into and holds open while any attempt of the task may
//! still run (the task's [`Block`] is shared with every copy of the task, and the file goes
//! when the last copy is dropped); for `--pipepart`, the input file itself, which hrun never
//! copies. The task opens it through `/proc/<hrun>/fd/N`, so the spool has no name anyone
//! could find or leave behind, even when hrun is killed.

pub mod feed;
pub mod part;
pub mod regexp;
pub mod robin;
pub mod rrs;
pub mod split;
pub mod spool;
pub mod stream;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use split::Records;

/// Where the blocks come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--pipe`: standard input, read once.
    Stdin,
    /// `--pipepart -a FILE`: files (one after the other, as GNU), their blocks found by seeking.
    Part(Vec<PathBuf>),
}

/// `--block`: bytes per block, or (`--pipepart`) blocks per slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockSize {
    Bytes(usize),
    PerSlot(usize),
}

impl BlockSize {
    /// GNU's defaults: 1 MiB for `--pipe`, 10 blocks per slot for `--pipepart`.
    pub fn parse(text: Option<&str>, source: &Source) -> Result<BlockSize, String> {
        let Some(text) = text else {
            return Ok(match source {
                Source::Stdin => BlockSize::Bytes(1 << 20),
                Source::Part(_) => BlockSize::PerSlot(10),
            });
        };
        match split::parse_size(text)? {
            n if n > 0 => Ok(BlockSize::Bytes(n.min(split::MAX_BLOCK as i64) as usize)),
            n if *source == Source::Stdin => Err(format!(
                "--block {n}: a negative size (blocks per slot) needs --pipepart, whose input's size is known"
            )),
            n => Ok(BlockSize::PerSlot(n.unsigned_abs() as usize)),
        }
    }
}

/// What `hrun exec --pipe/--pipepart` runs.
#[derive(Debug)]
pub struct Spec {
    /// The command, its words joined by spaces as GNU joins them (`{#}`, `{%}` filled in per task).
    pub command: String,
    pub source: Source,
    pub block: BlockSize,
    pub records: Records,
    /// `--header N` (`:` is 1): the input's first N lines, put before every block.
    pub header: usize,
    pub delivery: Delivery,
    /// Slots of the run, for `--block -N` and `--round-robin` (set once the plan is made).
    pub slots: AtomicUsize,
    /// `--round-robin`: one job per slot, blocks dealt to them.
    pub round_robin: bool,
    /// `--remove-rec-sep`: blocks without their record separators.
    pub remove_rec_sep: bool,
    /// `--tee`: the values (after `:::`), one job each, every job given the whole input.
    pub tee: Option<Vec<String>>,
}

impl Spec {
    pub fn new(command: String, source: Source, block: BlockSize, records: Records) -> Spec {
        Spec {
            command,
            source,
            block,
            records,
            header: 0,
            delivery: Delivery::Stdin,
            slots: AtomicUsize::new(1),
            round_robin: false,
            remove_rec_sep: false,
            tee: None,
        }
    }

    pub fn set_slots(&self, n: usize) {
        self.slots.store(n.max(1), Ordering::Relaxed);
    }

    /// Bytes per block for a file of `size` bytes: `--block -N` is N blocks per slot.
    pub fn block_bytes(&self, size: u64) -> usize {
        match self.block {
            BlockSize::Bytes(n) => n,
            BlockSize::PerSlot(n) => {
                let slots = self.slots.load(Ordering::Relaxed).max(1) as u64;
                (1 + size / slots / n.max(1) as u64) as usize
            }
        }
    }

    /// The name in messages and the run record.
    pub fn name(&self) -> String {
        match &self.source {
            Source::Stdin => format!("--pipe {}", self.command),
            Source::Part(files) => {
                let files: Vec<String> = files.iter().map(|p| format!("-a {}", p.display())).collect();
                format!("--pipepart {} {}", files.join(" "), self.command)
            }
        }
    }

    /// The default log's stem: the program's name and the source.
    pub fn log_stem(&self) -> String {
        let program = self.command.split_whitespace().next().unwrap_or("pipe");
        let program =
            std::path::Path::new(program).file_name().map_or("pipe".into(), |n| n.to_string_lossy());
        let program: String =
            program.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect();
        match &self.source {
            Source::Stdin => format!("{program}-pipe"),
            Source::Part(files) => {
                let stem = files
                    .first()
                    .and_then(|p| p.file_stem())
                    .map_or("part".into(), |s| s.to_string_lossy().into_owned());
                format!("{program}-pipepart-{stem}")
            }
        }
    }
}

/// How a block reaches its command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// On its standard input.
    #[default]
    Stdin,
    /// `--cat`: `{}` names a file holding the block.
    Cat,
    /// `--fifo`: `{}` names a FIFO the block is written into.
    Fifo,
}

/// A task's block: bytes of a file hrun holds open, which the task reads on its standard input.
#[derive(Debug)]
pub struct Block {
    /// The file (an unlinked spool, or the `--pipepart` input).
    pub(crate) file: Arc<File>,
    /// Byte ranges (offset, length) of that file, in order: the block (after a header).
    pub ranges: Vec<(u64, u64)>,
    /// Where the block starts in the input, and its length (without any header).
    pub offset: u64,
    pub len: u64,
    pub delivery: Delivery,
}

impl PartialEq for Block {
    fn eq(&self, other: &Self) -> bool {
        self.ranges == other.ranges && self.offset == other.offset && self.len == other.len
    }
}
impl Eq for Block {}

impl Block {
    pub fn new(file: Arc<File>, ranges: Vec<(u64, u64)>, offset: u64, len: u64) -> Block {
        Block { file, ranges, offset, len, delivery: Delivery::Stdin }
    }

    /// The block's bytes (after its header, if it has one), read from its file.
    pub fn bytes(&self) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let total: u64 = self.ranges.iter().map(|r| r.1).sum();
        let mut bytes = vec![0u8; total as usize];
        let mut at = 0;
        for &(offset, len) in &self.ranges {
            self.file.read_exact_at(&mut bytes[at..at + len as usize], offset)?;
            at += len as usize;
        }
        Ok(bytes)
    }

    /// The path a task opens the file by: hrun's own descriptor of it.
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.file.as_raw_fd())
    }
}

/// `--pipe`/`--pipepart` and their companions as given.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub pipepart: bool,
    pub block: Option<String>,
    pub recend: Option<String>,
    pub recstart: Option<String>,
    /// `-L N`.
    pub lines: Option<usize>,
    /// `-N N` / `-n N`.
    pub count: Option<usize>,
    /// `-a FILE`.
    pub arg_files: Vec<PathBuf>,
    /// `--header N|:`.
    pub header: Option<String>,
    /// `--cat`, `--fifo`.
    pub cat: bool,
    pub fifo: bool,
    /// `--regexp`: `--recstart`/`--recend` are regular expressions.
    pub regexp: bool,
    /// `--csv`: records are CSV rows (a newline inside double quotes does not end one).
    pub csv: bool,
    /// `--round-robin`, `--remove-rec-sep`, `--tee`.
    pub round_robin: bool,
    pub remove_rec_sep: bool,
    pub tee: bool,
}

/// `hrun exec --pipe WORDS` (or `--pipepart`): the command and where its blocks come from.
pub fn spec(
    words: &[std::ffi::OsString],
    markers: &crate::template::args::Markers,
    o: Options,
) -> Result<Spec, String> {
    let flag = if o.pipepart { "--pipepart" } else { "--pipe" };
    let words: Vec<String> = words.iter().map(|w| w.to_string_lossy().into_owned()).collect();
    let end = words.iter().position(|w| *w == markers.values || *w == markers.files).unwrap_or(words.len());
    let (command, sources) = words.split_at(end);
    if command.is_empty() {
        return Err(format!("{flag} needs a command to give each block to (e.g. `hrun exec {flag} wc -l`)"));
    }
    let mut files: Vec<PathBuf> = o.arg_files.clone();
    let mut values = Vec::new();
    let mut marker = None;
    for w in sources {
        if *w == markers.values || *w == markers.files {
            marker = Some(w.clone());
        } else if marker.as_deref() == Some(markers.files.as_str()) {
            files.push(w.into());
        } else if o.tee {
            values.push(w.clone());
        } else {
            return Err(format!(
                "{flag} gives each job a block of input, not values: {} {w} has no place here",
                markers.values
            ));
        }
    }
    let source = match (o.pipepart, files.as_slice()) {
        (true, []) => return Err("--pipepart needs the file to split: -a FILE (or :::: FILE)".into()),
        (true, _) => Source::Part(files),
        (false, []) => Source::Stdin,
        (false, _) => {
            return Err(
                "--pipe splits standard input: write `hrun exec --pipe CMD < FILE`, or --pipepart -a FILE \
                 to let each job read its part of the file itself"
                    .into(),
            );
        }
    };
    // With --regexp the strings are patterns, read as they are.
    let read = |s: &str| if o.regexp { s.as_bytes().to_vec() } else { unescape(s) };
    let (recstart, recend) = match (o.recstart.as_deref(), o.recend.as_deref()) {
        (None, None) => (Vec::new(), b"\n".to_vec()),
        (Some(s), None) => (read(s), Vec::new()),
        (s, Some(e)) => (s.map(read).unwrap_or_default(), read(e)),
    };
    if o.lines == Some(0) || o.count == Some(0) {
        return Err("-L/-N with --pipe: at least 1 record per block".into());
    }
    let records = Records { recstart, recend, lines: o.lines, count: o.count, regexp: o.regexp, csv: o.csv };
    records.pattern(regexp::Flavour::Stream)?;
    // As GNU: --pipepart --round-robin is one block per slot, whatever --block says.
    let block = match source {
        Source::Part(_) if o.round_robin => BlockSize::PerSlot(1),
        _ => BlockSize::parse(o.block.as_deref(), &source)?,
    };
    let header = match o.header.as_deref() {
        None => 0,
        Some(":") => 1,
        Some(n) => n.parse().map_err(|_| {
            format!("--header {n:?} with {flag}: `:` (the first line) or a number of lines is supported")
        })?,
    };
    let delivery = match (o.cat, o.fifo) {
        (true, true) => return Err("--cat and --fifo: choose one (a file or a FIFO named by {})".into()),
        (true, false) => Delivery::Cat,
        (false, true) => Delivery::Fifo,
        (false, false) => Delivery::Stdin,
    };
    if o.round_robin && delivery != Delivery::Stdin {
        return Err(
            "--round-robin with --cat/--fifo: a round-robin job reads many blocks on its standard input, \
                    not one file"
                .into(),
        );
    }
    let mut command = command.join(" ");
    // As GNU: with --cat/--fifo the name is appended when the command has no {}.
    if delivery != Delivery::Stdin && !command.contains("{}") {
        command.push_str(" {}");
    }
    let tee = match (o.tee, values.is_empty()) {
        (false, _) => None,
        (true, true) => {
            return Err(format!(
                "--tee gives the whole input to one job per value: give the values (`{flag} --tee CMD {} a b c`)",
                markers.values
            ));
        }
        (true, false) => {
            if delivery != Delivery::Stdin || o.round_robin {
                return Err(
                    "--tee with --cat, --fifo or --round-robin: each --tee job reads the whole input \
                            on its standard input"
                        .into(),
                );
            }
            Some(values)
        }
    };
    let round_robin = o.round_robin && source == Source::Stdin;
    // As GNU: --pipepart's blocks keep their separators (each job reads its range itself).
    let remove_rec_sep = o.remove_rec_sep && source == Source::Stdin;
    Ok(Spec {
        header,
        delivery,
        round_robin,
        remove_rec_sep,
        tee,
        ..Spec::new(command, source, block, records)
    })
}

/// GNU's escapes in `--recend`/`--recstart`: `\n`, `\t`, `\r`, `\0`, `\\`, `\'`, `\"`.
pub fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        let escaped = match (b, bytes.peek()) {
            (b'\\', Some(b'n')) => Some(b'\n'),
            (b'\\', Some(b't')) => Some(b'\t'),
            (b'\\', Some(b'r')) => Some(b'\r'),
            (b'\\', Some(b'0')) => Some(0),
            (b'\\', Some(&c @ (b'\\' | b'\'' | b'"'))) => Some(c),
            _ => None,
        };
        match escaped {
            Some(c) => {
                out.push(c);
                bytes.next();
            }
            None => out.push(b),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<std::ffi::OsString> {
        w.iter().map(|s| s.into()).collect()
    }

    #[test]
    fn the_command_and_the_file_are_found_in_the_words() {
        let m = crate::template::args::Markers::default();
        let s = spec(&words(&["wc", "-l"]), &m, Options::default()).unwrap();
        assert_eq!((s.command.as_str(), &s.source), ("wc -l", &Source::Stdin));
        assert_eq!(s.block, BlockSize::Bytes(1 << 20));
        let o = Options { pipepart: true, ..Options::default() };
        let s = spec(&words(&["wc", "::::", "big.txt"]), &m, o.clone()).unwrap();
        assert_eq!(s.source, Source::Part(vec!["big.txt".into()]));
        let s = spec(&words(&["wc", "::::", "a", "b"]), &m, o.clone()).unwrap();
        assert_eq!(s.source, Source::Part(vec!["a".into(), "b".into()]));
        assert_eq!(s.block, BlockSize::PerSlot(10));
        assert!(spec(&words(&["wc"]), &m, o).unwrap_err().contains("-a FILE"));
        assert!(
            spec(&words(&["wc", ":::", "a"]), &m, Options::default()).unwrap_err().contains("not values")
        );
    }

    #[test]
    fn escapes_are_gnus() {
        assert_eq!(unescape("\\n>"), b"\n>");
        assert_eq!(unescape("a\\tb\\\\"), b"a\tb\\");
        assert_eq!(unescape("\\x"), b"\\x");
    }
}
