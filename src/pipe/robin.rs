//! GNU's `--round-robin`: a fixed set of jobs, at most one per slot, each reading a pipe that
//! a dealer thread writes whole blocks into. As GNU: the first blocks start the jobs (an input
//! of one block starts one job); after that each block goes to the first job, in a queue
//! rotated once per block, that has nothing left to write, while what fits of the others'
//! blocks is written on the way; `--header` goes once to each job, before its first block.
//!
//! The jobs are ordinary tasks whose [`Block`] is their pipe's read end (the feed step makes
//! it their standard input); the dealer hands each new job to the dispatcher through a channel
//! and one byte on a wake pipe, which the dispatcher polls like standard input. When the input
//! ends, the dealer writes what is left and closes the pipes (the jobs see their input end),
//! then closes the wake pipe: the dispatcher's stream ends there, with the dealer's error if
//! it had one. A job that ends early (its pipe's reader is gone) gets no more blocks.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::Block;
use super::rrs::Remover;
use super::stream::BlockStream;

/// The dispatcher's end: jobs as the dealer starts them.
pub struct Dealer {
    jobs: mpsc::Receiver<Block>,
    wake: File,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Dealer {
    /// Starts dealing the blocks of `blocks` to at most `slots` jobs.
    pub fn start(blocks: BlockStream, slots: usize, rrs: Option<Remover>) -> Result<Dealer, String> {
        let (wake, wake_w) = crate::sys::feed::pipe(false)
            .map_err(|e| format!("cannot make a pipe for --round-robin: {e}"))?;
        let (tx, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("round-robin".into())
            .spawn(move || {
                let mut table = Table::new(slots);
                let dealt = deal(blocks, &mut table, rrs.as_ref(), &tx, &wake_w);
                // Input ends: what is held is written, the pipes closed, then the wake pipe.
                let flushed = table.finish().map_err(|e| format!("cannot write a block to a job: {e}"));
                drop(table);
                drop(wake_w);
                dealt.and(flushed)
            })
            .map_err(|e| format!("cannot start the --round-robin dealer: {e}"))?;
        Ok(Dealer { jobs, wake, thread: Some(thread) })
    }

    /// `--tee`: `jobs` jobs, started at once, each given every byte of `input` as it is read.
    pub fn tee(input: File, jobs: usize) -> Result<Dealer, String> {
        let (wake, wake_w) =
            crate::sys::feed::pipe(false).map_err(|e| format!("cannot make a pipe for --tee: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tee".into())
            .spawn(move || {
                let mut table = Table::new(jobs);
                let copied = copy_to_all(input, &mut table, &tx, &wake_w);
                let flushed = table.finish().map_err(|e| format!("cannot write the input to a job: {e}"));
                drop(table);
                drop(wake_w);
                copied.and(flushed)
            })
            .map_err(|e| format!("cannot start the --tee writer: {e}"))?;
        Ok(Dealer { jobs: rx, wake, thread: Some(thread) })
    }

    /// The next job's block (its pipe), waiting for the dealer; `Ok(None)` once it is done.
    pub fn next_job(&mut self) -> Result<Option<Block>, String> {
        let mut byte = [0u8; 1];
        loop {
            match (&self.wake).read(&mut byte) {
                Ok(0) => break,
                Ok(_) => return Ok(self.jobs.try_recv().ok()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("cannot hear from the --round-robin dealer: {e}")),
            }
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result.map(|()| None),
            Some(Err(_)) => Err("the --round-robin dealer failed".into()),
            None => Ok(None),
        }
    }

    /// True when [`next_job`](Self::next_job) would not wait.
    pub fn ready(&self) -> bool {
        self.thread.is_none() || crate::sys::readable(self.wake.as_raw_fd())
    }

    pub fn watch_fd(&self) -> Option<RawFd> {
        self.thread.as_ref().map(|_| self.wake.as_raw_fd())
    }
}

/// `--tee`: every job's pipe made and handed out first, then each read of `input` written to
/// all of them (a job gone is skipped).
fn copy_to_all(
    mut input: File,
    table: &mut Table,
    tx: &mpsc::Sender<Block>,
    mut wake: &File,
) -> Result<(), String> {
    let write = |e: io::Error| format!("cannot write the input to a job: {e}");
    for place in 0..table.jobs.len() {
        let (reader, pipe) =
            crate::sys::feed::pipe(true).map_err(|e| format!("cannot make a pipe for a job: {e}"))?;
        table.jobs[place] = Some(Job { pipe, held: Vec::new(), at: 0, gone: false });
        if tx.send(Block::new(Arc::new(reader), Vec::new(), 0, 0)).is_err() {
            return Ok(());
        }
        wake.write_all(b"j").map_err(|e| format!("cannot wake the dispatcher: {e}"))?;
    }
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot read standard input: {e}")),
        };
        for job in table.live() {
            job.held.clear();
            job.held.extend_from_slice(&buf[..n]);
            job.at = 0;
        }
        table.finish_round().map_err(write)?;
        if table.live().all(|j| j.gone) {
            // Read to the end, as GNU's tee does, so the producer is not cut off.
            while input.read(&mut buf).map_err(|e| format!("cannot read standard input: {e}"))? > 0 {}
            return Ok(());
        }
    }
}

/// A job's pipe and what is left to write into it.
struct Job {
    pipe: File,
    held: Vec<u8>,
    at: usize,
    gone: bool,
}

impl Job {
    fn busy(&self) -> bool {
        !self.gone && self.at < self.held.len()
    }

    /// Writes what fits; a reader gone ends the job's share.
    fn flush(&mut self) -> io::Result<()> {
        while self.busy() {
            match (&self.pipe).write(&self.held[self.at..]) {
                Ok(n) => self.at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => self.gone = true,
                Err(e) => return Err(e),
            }
        }
        self.held.clear();
        self.at = 0;
        Ok(())
    }
}

struct Table {
    /// A place per slot; a job is started when its place is first given a block.
    jobs: Vec<Option<Job>>,
    /// Places in GNU's robin queue: all of them in order at the first block, rotated once
    /// for each block after.
    queue: VecDeque<usize>,
}

impl Table {
    fn new(slots: usize) -> Table {
        Table { jobs: (0..slots.max(1)).map(|_| None).collect(), queue: VecDeque::new() }
    }

    fn live(&mut self) -> impl Iterator<Item = &mut Job> {
        self.jobs.iter_mut().flatten()
    }

    /// Gives `block` (its first `header` bytes the header) to the first place in the queue
    /// with nothing left to write, writing what fits of the others' on the way: a place
    /// without a job is returned for the caller to start one with the whole block; a job
    /// gets the block without the header. None when every job is gone (the block is dropped).
    fn give(&mut self, mut block: Vec<u8>, header: usize) -> io::Result<Option<(usize, Vec<u8>)>> {
        if self.queue.is_empty() {
            self.queue = (0..self.jobs.len()).collect();
        } else {
            self.queue.rotate_left(1);
        }
        loop {
            for &i in &self.queue {
                let Some(job) = &mut self.jobs[i] else { return Ok(Some((i, block))) };
                if job.gone {
                    continue;
                }
                if job.busy() {
                    job.flush()?;
                    continue;
                }
                block.drain(..header);
                job.held = block;
                job.at = 0;
                job.flush()?;
                return Ok(None);
            }
            if self.live().all(|j| j.gone) {
                return Ok(None);
            }
            self.wait()?;
        }
    }

    /// Waits until a busy job's pipe takes more.
    fn wait(&mut self) -> io::Result<()> {
        let fds: Vec<RawFd> = self.live().filter(|j| j.busy()).map(|j| j.pipe.as_raw_fd()).collect();
        crate::sys::feed::wait_writable(&fds, 1000)
    }

    /// Writes everything held, then closes the pipes.
    fn finish(&mut self) -> io::Result<()> {
        self.finish_round()?;
        self.jobs.clear();
        Ok(())
    }

    /// Writes everything held.
    fn finish_round(&mut self) -> io::Result<()> {
        loop {
            for job in self.live() {
                job.flush()?;
            }
            if !self.live().any(|j| j.busy()) {
                return Ok(());
            }
            self.wait()?;
        }
    }
}

fn deal(
    mut blocks: BlockStream,
    table: &mut Table,
    rrs: Option<&Remover>,
    tx: &mpsc::Sender<Block>,
    mut wake: &File,
) -> Result<(), String> {
    let write = |e: io::Error| format!("cannot write a block to a job: {e}");
    while let Some(block) = blocks.next_block()? {
        let mut bytes =
            block.bytes().map_err(|e| format!("cannot read back a block of standard input: {e}"))?;
        let header = bytes.len() - block.len as usize;
        if let Some(r) = rrs {
            let body = r.remove(&bytes[header..]);
            bytes.truncate(header);
            bytes.extend_from_slice(&body);
        }
        if let Some((place, bytes)) = table.give(bytes, header).map_err(write)? {
            // A new job: its pipe, the header and this block, then the dispatcher starts it.
            let (reader, pipe) =
                crate::sys::feed::pipe(true).map_err(|e| format!("cannot make a pipe for a job: {e}"))?;
            let job = table.jobs[place].insert(Job { pipe, held: bytes, at: 0, gone: false });
            job.flush().map_err(write)?;
            if tx.send(Block::new(Arc::new(reader), Vec::new(), block.offset, 0)).is_err() {
                return Ok(());
            }
            wake.write_all(b"j").map_err(|e| format!("cannot wake the dispatcher: {e}"))?;
        }
    }
    Ok(())
}
