//! The run log (JSONL, the source of truth about a run) and GNU parallel's joblog.
//!
//! The run log holds one `{"kind":"run",...}` line per `hrun exec`, then a `start` line when
//! a task attempt starts and a `task` line when it ends, and an `end` line with the run's
//! numbers (`record`). Each line goes out in a single `write` on an `O_APPEND` file, so a crash
//! can at worst tear the very last line, which readers (`read`) skip. A log is appended to,
//! never truncated: several runs over one task file share one log.

pub mod cap;
pub mod claim;
pub mod joblog;
pub mod read;
mod record;
mod usage;

pub use joblog::{JobLog, JobLogRow};
pub use record::{
    EndSummary, FileStamp, LostRecord, Outcome, OutputFiles, Record, RunRecord, Sharing, SlotRecord,
    SlurmInfo, StartRecord, TaskRecord, Verdict,
};
pub use usage::Usage;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The directory in the working directory that holds the default run logs.
pub const LOG_DIR: &str = ".hrun";

/// A command's identity in run logs (with its number, what `--resume` knows a task by; also
/// names a template's log): FNV-1a, 64-bit, over its UTF-8 bytes. Stable across hrun
/// versions and machines.
pub fn command_hash(cmd: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in cmd.as_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// An open, locked run log (or none: `--log none`).
pub struct RunLog {
    /// `None` for a run without a log: records are dropped.
    file: Option<File>,
    path: PathBuf,
    line: Vec<u8>,
    checked_end: bool,
}

impl RunLog {
    /// Claims the log at `path` (opened for appending, created if missing, locked against a
    /// second hrun: see [`claim`]) and makes it the run log. For callers that write a log
    /// alone; `hrun exec` claims its log with its other outputs.
    pub fn open(path: &Path) -> Result<RunLog> {
        let mut claims =
            claim::claim_all(&[("run log", path, claim::Kind::Log)]).map_err(|e| anyhow::anyhow!(e))?;
        Ok(RunLog::from_claim(claims.remove(0)))
    }

    /// The run log of a claim (a regular file, locked by this process).
    pub fn from_claim(claimed: claim::Claimed) -> RunLog {
        RunLog {
            file: Some(claimed.file),
            path: claimed.path,
            line: Vec::with_capacity(1024),
            checked_end: false,
        }
    }

    /// No log (`--log none`): records go nowhere.
    pub fn none() -> RunLog {
        RunLog { file: None, path: PathBuf::from("none"), line: Vec::new(), checked_end: true }
    }

    /// A log cut by a crash may end in a torn line; end it, so that the next record starts on
    /// a line of its own (readers skip the torn one).
    fn end_torn_line(&mut self) -> io::Result<()> {
        self.checked_end = true;
        match self.file.as_mut() {
            Some(f) => end_torn_line(f, &self.path),
            None => Ok(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line, in one `write`.
    pub fn append<T: serde::Serialize>(&mut self, record: &T) -> Result<()> {
        if !self.checked_end {
            self.end_torn_line().with_context(|| format!("cannot repair run log {}", self.path.display()))?;
        }
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).context("cannot encode a log record")?;
        self.line.push(b'\n');
        file.write_all(&self.line)
            .with_context(|| format!("cannot append to run log {}", self.path.display()))
    }

    /// Gives back disk space reserved past the log's end ([`crate::sys::reserve_space`]):
    /// setting its length to what it is frees the blocks beyond.
    pub fn unreserve(&self) {
        if let Some(f) = &self.file
            && let Ok(m) = f.metadata()
            && m.is_file()
        {
            let _ = f.set_len(m.len());
        }
    }

    /// Flushes the log to stable storage.
    pub fn sync(&self) -> io::Result<()> {
        self.file.as_ref().map_or(Ok(()), File::sync_data)
    }
}

/// Ends a torn last line of `file` (opened for appending at `path`) with a newline, so that
/// the next line starts on its own: a crash can leave a line half written.
pub fn end_torn_line(file: &mut File, path: &Path) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let meta = file.metadata()?;
    if meta.len() == 0 || !meta.is_file() {
        return Ok(());
    }
    let mut reader = File::open(path)?;
    reader.seek(SeekFrom::Start(meta.len() - 1))?;
    let mut last = [0u8; 1];
    reader.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // From the FNV reference test vectors.
        assert_eq!(command_hash(""), 0xcbf29ce484222325);
        assert_eq!(command_hash("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(command_hash("foobar"), 0x85944171f73967e8);
    }

    /// A reader's probe of the lock (`hrun status`) while an hrun opens the log does not make
    /// that hrun fail as if the log were another hrun's; a writer's lock still refuses.
    #[test]
    fn a_readers_probe_does_not_refuse_a_writer() {
        use nix::fcntl::{Flock, FlockArg};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, "").unwrap();
        let probe = Flock::lock(File::open(&p).unwrap(), FlockArg::LockSharedNonblock).unwrap();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            wait.recv().unwrap();
            drop(probe);
        });
        go.send(()).unwrap();
        let log = RunLog::open(&p).expect("the probe lets go at once");
        reader.join().unwrap();
        let e = format!("{:#}", RunLog::open(&p).err().expect("a writer holds it"));
        assert!(e.contains(&format!("in use by another hrun (pid {})", std::process::id())), "{e}");
        drop(log);
    }

    /// A FIFO, even one with a reader, is refused, and no check blocks.
    #[test]
    fn a_fifo_is_never_a_run_log() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("log.jsonl");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = format!("{:#}", RunLog::open(&fifo).err().unwrap());
        assert_eq!(e, format!("run log {}: not a regular file (a FIFO); give a file", fifo.display()));
        let _reader =
            std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
        let e = format!("{:#}", RunLog::open(&fifo).err().unwrap());
        assert!(e.contains("not a regular file (a FIFO)"), "{e}");
    }
}
