//! The writer thread: finished tasks' output copied to hrun's standard output (grouped, in
//! order with `-k`, tagged or coloured), or into a results table, without holding it in memory.

use super::*;

/// The writer thread: copies each finished task's output as one block (in task order when
/// `ordered`), then empties the files and sends them back for reuse.
/// How the writer thread shows output: `-k` (in task order), `--line-buffer` (lines of
/// running tasks as they come).
pub(super) struct Writing {
    pub(super) ordered: bool,
    pub(super) lines: bool,
}

pub(super) fn write_blocks(
    rx: mpsc::Receiver<Msg>,
    back: mpsc::Sender<Captured>,
    mut sink: Sink,
    Writing { ordered, lines: line_buffer }: Writing,
    mut table: Option<crate::results::Table>,
) {
    let mut order = Order::default();
    // -k with the table on standard output: rows in the order tasks started.
    let mut rows = crate::exec::row_order::InOrder::<(Box<crate::log::TaskRecord>, Block)>::default();
    let rows_ordered = ordered && table.is_some();
    let ordered = ordered && table.is_none();
    // A row that cannot be written to standard output is lost output (the run stops, exits
    // 255, and --resume runs its task again); a closed pipe stops the run as for blocks.
    let (lost, closed) = (sink.lost.clone(), sink.closed.clone());
    let mut write = |record: Box<crate::log::TaskRecord>, Block { mut captured, recycle, tag, .. }: Block| {
        let seq = record.seq;
        if let Some(t) = table.as_mut()
            && !closed.load(std::sync::atomic::Ordering::Relaxed)
            && let Err(e) = write_row(t, *record, &mut captured, tag.as_deref())
        {
            let io = e.root_cause().downcast_ref::<io::Error>();
            if io.is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe) {
                closed.store(true, std::sync::atomic::Ordering::Relaxed);
            } else if let Ok(mut lost) = lost.lock() {
                lost.error.get_or_insert_with(|| format!("{e:#}"));
                lost.seqs.push(seq);
            }
        }
        if recycle && captured.reset().is_ok() {
            let _ = back.send(captured);
        }
    };
    let mut lines = match ordered {
        true => crate::exec::line_buffer::Lines::ordered(),
        false => crate::exec::line_buffer::Lines::default(),
    };
    // --line-buffer: the files of tasks that ended, until their output is shown.
    let mut ended = std::collections::HashMap::<u64, Block>::new();
    let mut looked = std::time::Instant::now();
    loop {
        let msg = match line_buffer {
            false => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            },
            true => match rx.recv_timeout(crate::exec::line_buffer::POLL) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
        };
        if line_buffer && !lines.is_empty() && looked.elapsed() >= crate::exec::line_buffer::POLL {
            looked = std::time::Instant::now();
            sink.lines(0, |out, err| lines.poll(out, err));
        }
        let Some(msg) = msg else { continue };
        match msg {
            Msg::Watch(seq, out, err, tag, paint) => lines.watch(seq, out, err, tag, paint),
            Msg::Ended(seq, block, show) => {
                ended.insert(seq, block);
                sink.lines(seq, |out, err| lines.end(seq, show, out, err));
                for seq in lines.take_free() {
                    if let Some(block) = ended.remove(&seq) {
                        sink.recycle(block, &back);
                    }
                }
            }
            Msg::Row(record, block) if rows_ordered => {
                for (record, block) in rows.ended(record.seq, Some((record, block))) {
                    write(record, block);
                }
            }
            Msg::Row(record, block) => write(record, block),
            Msg::NoRow(seq) => {
                for (record, block) in rows.ended(seq, None) {
                    write(record, block);
                }
            }
            Msg::Say(line) => sink.write(|_, err, open| {
                if open.1 {
                    open.1 = writeln!(err, "{line}").and_then(|()| err.flush()).is_ok();
                }
            }),
            Msg::Started(seq) if rows_ordered => rows.started(seq),
            Msg::Started(seq) => order.expected.push_back(seq),
            Msg::Done(_, None) if !ordered => {}
            Msg::Done(seq, block) if ordered && order.expected.front() != Some(&seq) => match block {
                None => {
                    order.held.insert(seq, Held::default());
                }
                Some(mut b) => match order.spill(seq, &mut b) {
                    Ok(h) => {
                        order.held.insert(seq, h);
                        sink.recycle(b, &back);
                    }
                    // Out of order rather than lost.
                    Err(e) => {
                        crate::messages::warning(format_args!(
                            "task {seq}'s output is shown out of order: cannot hold it: {e}"
                        ));
                        order.expected.retain(|s| *s != seq);
                        sink.block(seq, b, &back);
                    }
                },
            },
            Msg::Done(seq, block) => {
                if let Some(b) = block {
                    sink.block(seq, b, &back);
                }
                if ordered {
                    order.expected.pop_front();
                    order.release(&mut sink);
                }
            }
        }
    }
    // Tasks started but never done (hrun is stopping on an error): show what is held.
    sink.lines(0, |out, err| lines.finish(out, err));
    for (record, block) in rows.rest() {
        write(record, block);
    }
    while !order.held.is_empty() {
        order.expected.retain(|s| order.held.contains_key(s));
        order.release(&mut sink);
    }
}

/// hrun's stdout and stderr, as the writer thread writes them.
pub(super) struct Sink {
    stdout_open: bool,
    /// Set when stdout is found closed, for the dispatcher to see.
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stderr_open: bool,
    bar: Option<indicatif::ProgressBar>,
    lost: SharedLost,
}

impl Sink {
    pub(super) fn new(
        bar: Option<indicatif::ProgressBar>,
        closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
        lost: SharedLost,
    ) -> Sink {
        Sink { stdout_open: true, stderr_open: true, bar, closed, lost }
    }

    /// Writes task `seq`'s files, then empties them and sends them back for reuse.
    fn block(
        &mut self,
        seq: u64,
        Block { mut captured, recycle, tag, paint }: Block,
        back: &mpsc::Sender<Captured>,
    ) {
        let mut wrote = (Wrote::Whole, Wrote::Whole);
        self.write(|out, err, sink| {
            if sink.0 {
                wrote.0 = copy_block(&mut captured.stdout, out, tag.as_deref(), paint.as_deref());
                sink.0 = wrote.0 != Wrote::Closed;
            }
            if sink.1 {
                wrote.1 = copy_block(&mut captured.stderr, err, tag.as_deref(), paint.as_deref());
                sink.1 = wrote.1 != Wrote::Closed;
            }
        });
        self.account(seq, wrote);
        self.recycle(Block { captured, recycle, tag: None, paint: None }, back);
    }

    /// Runs `f` (a `--line-buffer` copy of task `seq`'s lines, or of every running task's for
    /// seq 0) on both streams while stdout is open; a failed write is lost output.
    fn lines(&mut self, seq: u64, f: impl FnOnce(&mut dyn Write, &mut dyn Write) -> io::Result<()>) {
        if !self.stdout_open {
            return;
        }
        let mut result = Ok(());
        self.write(|out, err, _| result = f(out, err));
        match written(result) {
            Wrote::Whole => {}
            Wrote::Closed => {
                self.stdout_open = false;
                self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            failed => self.account(seq, (failed, Wrote::Whole)),
        }
    }

    /// Notes task `seq`'s output as lost where a write failed.
    fn account(&self, seq: u64, (out, err): (Wrote, Wrote)) {
        let failed = [out, err].into_iter().find_map(|w| match w {
            Wrote::Failed(e) => Some(e),
            _ => None,
        });
        if let (Some(e), Ok(mut lost)) = (failed, self.lost.lock()) {
            lost.error.get_or_insert(e);
            lost.seqs.push(seq);
        }
    }

    /// Empties a written block's files and sends them back for reuse.
    fn recycle(&self, Block { mut captured, recycle, .. }: Block, back: &mpsc::Sender<Captured>) {
        if recycle && captured.reset().is_ok() {
            let _ = back.send(captured);
        }
    }

    /// Runs `f` with both streams, the progress bar cleared meanwhile.
    fn write(&mut self, f: impl FnOnce(&mut dyn Write, &mut dyn Write, &mut (bool, bool))) {
        let mut open = (self.stdout_open, self.stderr_open);
        let go = || f(&mut io::stdout().lock(), &mut io::stderr().lock(), &mut open);
        match &self.bar {
            Some(b) => b.suspend(go),
            None => go(),
        }
        (self.stdout_open, self.stderr_open) = open;
        if !self.stdout_open {
            self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// `-k`: the tasks in start order, and the blocks that ended before their turn.
#[derive(Default)]
pub(super) struct Order {
    expected: std::collections::VecDeque<u64>,
    held: std::collections::HashMap<u64, Held>,
    /// Held output, copied out of the task's files: stdout, stderr.
    spill: Option<(File, File)>,
}

/// Where a held block's stdout and stderr lie in the spill files: (offset, length) each.
#[derive(Default)]
pub(super) struct Held {
    seq: u64,
    out: (u64, u64),
    err: (u64, u64),
}

impl Order {
    /// Copies a block into the spill files and gives its files back.
    fn spill(&mut self, seq: u64, block: &mut Block) -> io::Result<Held> {
        if self.spill.is_none() {
            self.spill = Some((tempfile::tempfile()?, tempfile::tempfile()?));
        }
        let (out, err) = self.spill.as_mut().expect("made above");
        let (tag, paint) = (block.tag.as_deref(), block.paint.as_deref());
        let append = |from: &mut File, to: &mut File| -> io::Result<(u64, u64)> {
            let at = to.seek(SeekFrom::End(0))?;
            let n = copy_tagged(from, to, tag, paint)?;
            Ok((at, n))
        };
        Ok(Held {
            seq,
            out: append(&mut block.captured.stdout, out)?,
            err: append(&mut block.captured.stderr, err)?,
        })
    }

    /// Writes the held blocks whose turn has come.
    fn release(&mut self, sink: &mut Sink) {
        while let Some(h) = self.expected.front().and_then(|seq| self.held.remove(seq)) {
            self.expected.pop_front();
            if let Some((out_file, err_file)) = self.spill.as_mut() {
                let mut wrote = (Wrote::Whole, Wrote::Whole);
                sink.write(|out, err, open| {
                    if open.0 {
                        wrote.0 = copy_range(out_file, h.out, out);
                        open.0 = wrote.0 != Wrote::Closed;
                    }
                    if open.1 {
                        wrote.1 = copy_range(err_file, h.err, err);
                        open.1 = wrote.1 != Wrote::Closed;
                    }
                });
                sink.account(h.seq, wrote);
            }
        }
        if self.held.is_empty()
            && let Some((o, e)) = &self.spill
        {
            // Nothing held: the spill files start over.
            let _ = o.set_len(0).and_then(|()| e.set_len(0));
        }
    }
}

/// Copies `(offset, length)` of `file` to `out`.
pub(super) fn copy_range(file: &mut File, (at, len): (u64, u64), out: &mut dyn Write) -> Wrote {
    if len == 0 {
        return Wrote::Whole;
    }
    let result = file
        .seek(SeekFrom::Start(at))
        .and_then(|_| io::copy(&mut Read::by_ref(file).take(len), out))
        .and_then(|_| out.flush());
    written(result)
}

/// What a copy of a task's output to hrun's own came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Wrote {
    Whole,
    /// The reader is gone (a closed pipe): nothing more can be shown, by the reader's choice.
    Closed,
    /// The write failed (a full disk): the task's output is lost, and the run stops.
    Failed(String),
}

pub(super) fn written<T>(result: io::Result<T>) -> Wrote {
    match result {
        Ok(_) => Wrote::Whole,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Wrote::Closed,
        Err(e) => Wrote::Failed(e.to_string()),
    }
}

/// Copies one whole file to `out`.
pub(super) fn copy_block(
    file: &mut File,
    out: &mut dyn Write,
    tag: Option<&str>,
    paint: Option<&str>,
) -> Wrote {
    if file.metadata().map(|m| m.len() == 0).unwrap_or(false) {
        return Wrote::Whole;
    }
    written(copy_tagged(file, out, tag, paint).and_then(|_| out.flush()))
}

/// Copies `from`, from its start, to `out`; with `--tag`, each line starts with the tag and a
/// tab (a last line without a newline too, as GNU parallel). Returns the bytes written.
/// Works in fixed-size chunks: a line of gigabytes costs no memory.
pub(super) fn copy_tagged(
    from: &mut File,
    out: &mut dyn Write,
    tag: Option<&str>,
    paint: Option<&str>,
) -> io::Result<u64> {
    from.seek(SeekFrom::Start(0))?;
    if let Some(paint) = paint {
        let lead = format!("{paint}{}", tag.map_or(String::new(), |t| format!("{t}\t")));
        return copy_painted(from, out, &lead, crate::exec::color::reset_for(paint));
    }
    let Some(tag) = tag else { return io::copy(from, out) };
    let prefix = format!("{tag}\t");
    let mut buf = vec![0u8; 64 * 1024];
    let (mut at_line_start, mut n) = (true, 0u64);
    loop {
        let k = match from.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for piece in buf[..k].split_inclusive(|&b| b == b'\n') {
            if at_line_start {
                out.write_all(prefix.as_bytes())?;
                n += prefix.len() as u64;
            }
            out.write_all(piece)?;
            n += piece.len() as u64;
            at_line_start = piece.ends_with(b"\n");
        }
    }
}

/// Copies `from` (at its start) to `out` line by line as GNU's `--color` does: each line,
/// a last one without a newline too, led by `lead` (the colour and the tag) and ended by the
/// reset and a newline. A line is held whole in memory (GNU holds it too).
pub(super) fn copy_painted(from: &mut File, out: &mut dyn Write, lead: &str, reset: &str) -> io::Result<u64> {
    use std::io::BufRead;
    let mut reader = io::BufReader::with_capacity(64 * 1024, from);
    let (mut line, mut n) = (Vec::new(), 0u64);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(n);
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        n += crate::exec::color::write_line(out, lead.as_bytes(), reset, body)?;
    }
}
