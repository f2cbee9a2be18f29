//! Blocks as tasks: each block of `--pipe`'s standard input (spooled) or of `--pipepart`'s
//! file (a range of it) becomes the next [`Task`], its command the same for all.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;

use super::split::Splitter;
use super::{Block, Source, Spec};
use crate::taskfile::Task;

/// Blocks being cut, handed out one task at a time.
pub struct BlockStream {
    spec: Arc<Spec>,
    kind: Kind,
    /// Blocks cut and not yet handed out.
    pending: VecDeque<Block>,
    seq: u64,
}

enum Kind {
    /// `--pipe`: the input, what is read and not yet cut, where that starts in the input.
    Stdin { input: File, splitter: Splitter, buf: Vec<u8>, at: u64, ended: bool },
    /// `--pipepart`: the file and its blocks' boundaries still to hand out.
    Part { file: Arc<File>, bounds: std::vec::IntoIter<(u64, u64)> },
}

impl BlockStream {
    pub fn open(spec: Arc<Spec>) -> Result<BlockStream, String> {
        let kind = match &spec.source {
            Source::Stdin => {
                let input = std::io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| format!("cannot read standard input: {e}"))?;
                let block = spec.block_bytes(0);
                Kind::Stdin {
                    input: File::from(input),
                    splitter: Splitter::new(spec.records.clone(), block),
                    buf: Vec::new(),
                    at: 0,
                    ended: false,
                }
            }
            Source::Part(path) => {
                let shown = || crate::text::printable(&path.display().to_string()).into_owned();
                let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", shown()))?;
                let size = file.metadata().map_err(|e| format!("cannot read {}: {e}", shown()))?.len();
                if !file.metadata().is_ok_and(|m| m.is_file()) {
                    return Err(format!(
                        "--pipepart only works on a regular file (it seeks in it), and {} is not one; \
                         use --pipe to read a stream",
                        shown()
                    ));
                }
                let bounds = super::part::bounds(&file, size, spec.block_bytes(size), &spec.records, 0)
                    .map_err(|e| format!("cannot read {}: {e}", shown()))?;
                Kind::Part { file: Arc::new(file), bounds: bounds.into_iter() }
            }
        };
        Ok(BlockStream { spec, kind, pending: VecDeque::new(), seq: 0 })
    }

    /// The next block's task; `Ok(None)` at the end of the input.
    pub fn next_task(&mut self) -> Result<Option<Task>, String> {
        let Some(block) = self.next_block()? else { return Ok(None) };
        self.seq += 1;
        Ok(Some(Task {
            seq: self.seq,
            line: self.seq,
            cmd: self.spec.command.clone(),
            job: None,
            occurrence: 1,
            block: Some(Arc::new(block)),
        }))
    }

    fn next_block(&mut self) -> Result<Option<Block>, String> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Ok(Some(b));
            }
            match &mut self.kind {
                Kind::Part { file, bounds } => {
                    return Ok(bounds.next().map(|(from, to)| {
                        Block::new(file.clone(), vec![(from, to - from)], from, to - from)
                    }));
                }
                Kind::Stdin { ended: true, .. } => return Ok(None),
                Kind::Stdin { input, splitter, buf, at, ended } => {
                    let want = splitter.want(buf.len());
                    buf.reserve(want);
                    let got = Read::take(&mut *input, want as u64)
                        .read_to_end(buf)
                        .map_err(|e| format!("cannot read standard input: {e}"))?;
                    let eof = got < want;
                    let round = splitter.round(buf, eof);
                    if let Some((from, to)) = round.grew {
                        crate::messages::warning(format_args!(
                            "a record was longer than {from} bytes: increasing --block to {to}"
                        ));
                    }
                    let mut from = 0;
                    for len in round.blocks {
                        let block = spool(&buf[from..from + len])
                            .map_err(|e| format!("cannot spool a block of standard input: {e}"))?;
                        self.pending.push_back(Block::new(
                            Arc::new(block),
                            vec![(0, len as u64)],
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
        !self.pending.is_empty() || !matches!(self.kind, Kind::Stdin { ended: false, .. })
    }

    /// The descriptor to poll before reading.
    pub fn watch_fd(&self) -> Option<RawFd> {
        match &self.kind {
            Kind::Stdin { input, ended: false, .. } => Some(input.as_raw_fd()),
            _ => None,
        }
    }

    pub fn streams(&self) -> bool {
        matches!(self.kind, Kind::Stdin { .. })
    }
}

/// An unlinked file in `$TMPDIR` holding `bytes`.
fn spool(bytes: &[u8]) -> std::io::Result<File> {
    let mut f = tempfile::tempfile()?;
    f.write_all(bytes)?;
    Ok(f)
}
