//! Blocks as tasks: each block of `--pipe`'s standard input (spooled) or of `--pipepart`'s
//! file (a range of it) becomes the next task, its command the same for all (`input` makes
//! the task: pipe sits below the task type, which holds a [`Block`]).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;

use super::robin::Dealer;
use super::rrs::Remover;
use super::split::Splitter;
use super::spool::Spooler;
use super::{Block, Source, Spec};

/// Blocks being cut, handed out one task at a time.
pub struct BlockStream {
    spec: Arc<Spec>,
    kind: Kind,
    /// `--remove-rec-sep`.
    rrs: Option<Remover>,
    /// Blocks cut and not yet handed out.
    pending: VecDeque<Block>,
    seq: u64,
}

/// A `--pipepart` file: the file, its blocks (start, end), its header's length.
type Part = (Arc<File>, Vec<(u64, u64)>, u64);

enum Kind {
    /// `--pipe`: the input, what is read and not yet cut, where that starts in the input.
    Stdin {
        input: File,
        splitter: Box<Splitter>,
        buf: Vec<u8>,
        at: u64,
        ended: bool,
        header: Option<Vec<u8>>,
        /// Records cut at a separator: the buffer is the spool (from when the header is read).
        spooler: Option<Box<Spooler>>,
    },
    /// `--pipepart`: each file, its blocks' boundaries and its header's length; the blocks
    /// handed out so far (file by file, in order).
    Part { parts: VecDeque<Part>, at: usize },
    /// `--pipe --round-robin`: standard input's blocks, dealt by a thread started with the
    /// first task (after the launchers are forked: they must not hold the jobs' pipes).
    Robin(Robin),
}

enum Robin {
    Waiting(Option<Box<BlockStream>>),
    Dealing(Dealer),
}

impl BlockStream {
    pub fn open(spec: Arc<Spec>) -> Result<BlockStream, String> {
        let rrs = if spec.remove_rec_sep { Some(Remover::new(&spec.records)?) } else { None };
        if let Some(values) = &spec.tee {
            let slots = spec.slots.load(std::sync::atomic::Ordering::Relaxed);
            if let Source::Part(_) = spec.source {
                return Err("--tee with --pipepart: write `--pipe --tee CMD ::: VALUES < FILE`".into());
            }
            if slots < values.len() {
                return Err(format!(
                    "--tee runs one job per value, all at once: {} values need -j {} (this run has {slots} slots)",
                    values.len(),
                    values.len()
                ));
            }
        }
        let plain = Self::open_plain(spec.clone(), rrs.clone())?;
        Ok(match plain.kind {
            Kind::Stdin { .. } if spec.round_robin || spec.tee.is_some() => BlockStream {
                spec,
                kind: Kind::Robin(Robin::Waiting(Some(Box::new(plain)))),
                rrs: None,
                pending: VecDeque::new(),
                seq: 0,
            },
            _ => plain,
        })
    }

    fn open_plain(spec: Arc<Spec>, rrs: Option<Remover>) -> Result<BlockStream, String> {
        let kind = match &spec.source {
            Source::Stdin => {
                let input = std::io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| format!("cannot read standard input: {e}"))?;
                let block = spec.block_bytes(0);
                Kind::Stdin {
                    input: File::from(input),
                    splitter: Box::new(Splitter::new(spec.records.clone(), block)?),
                    buf: Vec::new(),
                    at: 0,
                    ended: false,
                    header: None,
                    spooler: None,
                }
            }
            Source::Part(paths) => {
                let mut files = Vec::new();
                for path in paths {
                    let shown = || crate::text::printable(&path.display().to_string()).into_owned();
                    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", shown()))?;
                    let meta = file.metadata().map_err(|e| format!("cannot read {}: {e}", shown()))?;
                    if !meta.is_file() {
                        return Err(format!(
                            "--pipepart only works on a regular file (it seeks in it), and {} is not one; \
                             use --pipe to read a stream",
                            shown()
                        ));
                    }
                    files.push((file, meta.len(), shown()));
                }
                // As GNU: --block -N divides the files' size together.
                let block = spec.block_bytes(files.iter().map(|f| f.1).sum());
                let mut parts = Vec::new();
                for (file, size, shown) in files {
                    let read = |e: std::io::Error| format!("cannot read {shown}: {e}");
                    let header = super::part::header(&file, size, spec.header).map_err(read)?;
                    let bounds =
                        super::part::bounds(&file, size, block, &spec.records, header).map_err(read)?;
                    parts.push((Arc::new(file), bounds, header));
                }
                Kind::Part { parts: parts.into_iter().collect(), at: 0 }
            }
        };
        Ok(BlockStream { spec, kind, rrs, pending: VecDeque::new(), seq: 0 })
    }

    /// The next block's task; `Ok(None)` at the end of the input.
    /// The next block's task: its number, its command (the same for all), and its block.
    pub fn next_task(&mut self) -> Result<Option<(u64, String, Block)>, String> {
        let Some(mut block) = self.next_block()? else { return Ok(None) };
        if let Some(r) = &self.rrs {
            block = remove_rec_sep(block, r).map_err(|e| format!("cannot rewrite a block for --rrs: {e}"))?;
        }
        block.delivery = self.spec.delivery.clone();
        self.seq += 1;
        let command = match &self.spec.tee {
            // --tee: the job's value in place of {}.
            Some(values) => {
                let value = values.get(self.seq as usize - 1).map_or("", String::as_str);
                self.spec.command.replace("{}", &crate::template::quote::quote(value))
            }
            None => self.spec.command.clone(),
        };
        Ok(Some((self.seq, command, block)))
    }

    /// The next block as cut (a `--round-robin` job's pipe).
    pub(super) fn next_block(&mut self) -> Result<Option<Block>, String> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Ok(Some(b));
            }
            match &mut self.kind {
                Kind::Robin(Robin::Dealing(dealer)) => return dealer.next_job(),
                Kind::Robin(robin @ Robin::Waiting(_)) => {
                    let Robin::Waiting(blocks) = robin else { return Ok(None) };
                    let Some(blocks) = blocks.take() else { return Ok(None) };
                    let slots = self.spec.slots.load(std::sync::atomic::Ordering::Relaxed);
                    let rrs = blocks.rrs.clone();
                    *robin = Robin::Dealing(match (&self.spec.tee, blocks.kind) {
                        (Some(values), Kind::Stdin { input, .. }) => Dealer::tee(input, values.len())?,
                        (_, kind) => Dealer::start(BlockStream { kind, ..*blocks }, slots, rrs)?,
                    });
                }
                Kind::Part { parts, at } => {
                    let Some((file, bounds, header)) = parts.front() else { return Ok(None) };
                    let Some(&(from, to)) = bounds.get(*at) else {
                        parts.pop_front();
                        *at = 0;
                        continue;
                    };
                    *at += 1;
                    let ranges = [(0, *header), (from, to - from)].into_iter().filter(|r| r.1 > 0).collect();
                    return Ok(Some(Block::new(file.clone(), ranges, from, to - from)));
                }
                Kind::Stdin { ended: true, .. } => return Ok(None),
                Kind::Stdin { input, header: header @ None, buf, at, splitter, spooler, .. } => {
                    let h = read_header(input, buf, self.spec.header, splitter.want(0))?;
                    *at = h.len() as u64;
                    if splitter.cuts_at_last_separator() {
                        let records = &self.spec.records;
                        let s = Spooler::new(records.separator(), records.recend.len(), h.clone(), buf, *at)
                            .map_err(|e| format!("cannot spool a block of standard input: {e}"))?;
                        *spooler = Some(Box::new(s));
                        *buf = Vec::new();
                    }
                    *header = Some(h);
                }
                Kind::Stdin { input, splitter, ended, spooler: Some(spooler), .. } => {
                    let (block, grew) = spooler
                        .round(input, splitter)
                        .map_err(|e| format!("cannot spool a block of standard input: {e}"))?;
                    if let Some((from, to)) = grew {
                        warn_grew(from, to);
                    }
                    self.pending.extend(block);
                    *ended = spooler.ended;
                }
                Kind::Stdin { input, splitter, buf, at, ended, header: Some(header), spooler: None } => {
                    let want = splitter.want(buf.len());
                    buf.reserve(want);
                    let got = Read::take(&mut *input, want as u64)
                        .read_to_end(buf)
                        .map_err(|e| format!("cannot read standard input: {e}"))?;
                    let eof = got < want;
                    let round = splitter.round(buf, eof);
                    if let Some((from, to)) = round.grew {
                        warn_grew(from, to);
                    }
                    let mut from = 0;
                    for len in round.blocks {
                        let block = super::spool::new_spool(header, &buf[from..from + len])
                            .map_err(|e| format!("cannot spool a block of standard input: {e}"))?;
                        let whole = (header.len() + len) as u64;
                        self.pending.push_back(Block::new(
                            Arc::new(block),
                            vec![(0, whole)],
                            *at,
                            len as u64,
                        ));
                        from += len;
                        *at += len as u64;
                    }
                    buf.drain(..from);
                    *ended = eof;
                }
            }
        }
    }

    /// True when the next task is at hand without reading.
    pub fn ready(&self) -> bool {
        match &self.kind {
            Kind::Robin(Robin::Dealing(d)) => d.ready(),
            Kind::Robin(Robin::Waiting(_)) => true,
            _ => !self.pending.is_empty() || !matches!(self.kind, Kind::Stdin { ended: false, .. }),
        }
    }

    /// The descriptor to poll before reading.
    pub fn watch_fd(&self) -> Option<RawFd> {
        match &self.kind {
            Kind::Stdin { input, ended: false, .. } => Some(input.as_raw_fd()),
            Kind::Robin(Robin::Dealing(d)) => d.watch_fd(),
            _ => None,
        }
    }

    pub fn streams(&self) -> bool {
        matches!(self.kind, Kind::Stdin { .. } | Kind::Robin(_))
    }
}

/// The block size grew past a record longer than it: said as GNU says it when hrun runs as
/// `parallel` (where hrun's own warnings are held back).
fn warn_grew(from: usize, to: usize) {
    if crate::messages::gnu() {
        eprintln!("parallel: Warning: A record was longer than {from}. Increasing to --blocksize {to}.");
    } else {
        crate::messages::warning(format_args!(
            "a record was longer than {from} bytes: increasing --block to {to}"
        ));
    }
}

/// `--header N`: the first `lines` lines of the input (none when it has fewer: GNU then finds
/// no header and cuts what it read), read `chunk` bytes at a time; `buf` keeps what follows.
fn read_header(input: &mut File, buf: &mut Vec<u8>, lines: usize, chunk: usize) -> Result<Vec<u8>, String> {
    if lines == 0 {
        return Ok(Vec::new());
    }
    loop {
        if let Some(end) = memchr::memchr_iter(b'\n', buf).nth(lines - 1) {
            return Ok(buf.drain(..=end).collect());
        }
        let got = Read::take(&mut *input, chunk as u64)
            .read_to_end(buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        if got == 0 {
            return Ok(Vec::new());
        }
    }
}

/// `block` without its record separators (`--rrs`), in a spool of its own; its header as it was.
fn remove_rec_sep(block: Block, remover: &Remover) -> std::io::Result<Block> {
    let bytes = block.bytes()?;
    let header = bytes.len() - block.len as usize;
    let body = remover.remove(&bytes[header..]);
    let spool = super::spool::new_spool(&bytes[..header], &body)?;
    let whole = (header + body.len()) as u64;
    Ok(Block::new(Arc::new(spool), vec![(0, whole)], block.offset, block.len))
}
