//! The run log (JSONL, the source of truth about a run) and GNU parallel's joblog.
//!
//! The run log holds one `{"kind":"run",...}` line per `hrun exec`, then a `start` line when
//! a task attempt starts and a `task` line when it ends, and an `end` line with the run's
//! numbers (`record`). Each line goes out in a single `write` on an `O_APPEND` file, so a crash
//! can at worst tear the very last line, which readers (`read`) skip. A log is appended to,
//! never truncated: several runs over one task file share one log.

pub mod joblog;
pub mod read;
mod record;
mod usage;

pub use joblog::{JobLog, JobLogRow};
pub use record::{
    EndSummary, Outcome, Record, RunRecord, Sharing, SlotRecord, SlurmInfo, StartRecord, TaskRecord, Verdict,
};
pub use usage::Usage;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::sys;

/// Opens `path` for appending (creating it), refusing what is not a regular file once open:
/// `O_NONBLOCK` makes a FIFO that replaced the file since the caller looked fail or open at once
/// instead of waiting for a reader (regular files ignore the flag).
fn open_append(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new().create(true).append(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    crate::smallfile::ensure_regular(&file)?;
    Ok(file)
}

/// An open, locked run log.
pub struct RunLog {
    file: File,
    path: PathBuf,
    line: Vec<u8>,
    checked_end: bool,
}

impl RunLog {
    /// Opens (creating) the log for appending and locks it against a second hrun. A log that
    /// exists must be a regular file: a FIFO would block the open until some reader came, a
    /// device would swallow the records.
    pub fn open(path: &Path) -> Result<RunLog> {
        if let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
        {
            bail!(
                "run log {} is not a regular file (a {}); give --log a file",
                path.display(),
                crate::smallfile::kind_name(meta.file_type())
            );
        }
        let file = open_append(path)
            .with_context(|| format!("cannot open run log {} for appending", path.display()))?;
        if !lock_past_readers(&file).with_context(|| format!("cannot lock run log {}", path.display()))? {
            bail!(
                "run log {} is in use by another hrun process; wait for it, or give this run its own --log",
                path.display()
            );
        }
        Ok(RunLog { file, path: path.to_path_buf(), line: Vec::with_capacity(1024), checked_end: false })
    }

    /// A log cut by a crash may end in a torn line; end it, so that the next record starts on
    /// a line of its own (readers skip the torn one).
    fn end_torn_line(&mut self) -> io::Result<()> {
        self.checked_end = true;
        end_torn_line(&mut self.file, &self.path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line, in one `write`.
    pub fn append<T: serde::Serialize>(&mut self, record: &T) -> Result<()> {
        if !self.checked_end {
            self.end_torn_line().with_context(|| format!("cannot repair run log {}", self.path.display()))?;
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).context("cannot encode a log record")?;
        self.line.push(b'\n');
        self.file
            .write_all(&self.line)
            .with_context(|| format!("cannot append to run log {}", self.path.display()))
    }

    /// Flushes the log to stable storage.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Takes the log's exclusive lock. `hrun status` probes the lock of a log whose run has no end
/// record with a shared lock that it drops at once: a probe must not make an hrun starting at
/// that instant fail as if another hrun wrote the log, so a lock held by someone is tried a few
/// more times over 100 ms. A writer holds it for its whole run: that still refuses.
fn lock_past_readers(file: &File) -> io::Result<bool> {
    for _ in 0..10 {
        if sys::try_lock(file)? {
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sys::try_lock(file)
}

/// Opens an output file of hrun's (the results table, the joblog) for appending, created if need be,
/// and emptied first unless `append` (a resumed run adds to it).
pub fn open_output(path: &Path, append: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so that a FIFO nobody reads is refused (ENXIO) instead of hanging hrun
    // in open() with its signals blocked; then blocking again, for the writes.
    let file =
        OpenOptions::new().create(true).append(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(
            |e| match e.raw_os_error() {
                Some(libc::ENXIO) => io::Error::other("it is a FIFO that no process reads"),
                _ => e,
            },
        )?;
    crate::sys::set_blocking(&file)?;
    if !append && file.metadata()?.is_file() {
        file.set_len(0)?;
    }
    Ok(file)
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
        assert!(e.contains("is in use by another hrun process"), "{e}");
        drop(log);
    }

    /// A FIFO, even one with a reader (so that a non-blocking open succeeds), is refused once
    /// open, and neither check blocks.
    #[test]
    fn a_fifo_is_never_a_run_log() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("log.jsonl");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = format!("{:#}", RunLog::open(&fifo).err().unwrap());
        assert_eq!(
            e,
            format!("run log {} is not a regular file (a FIFO); give --log a file", fifo.display())
        );
        assert!(open_append(&fifo).is_err(), "no reader: ENXIO, not a wait");
        let _reader = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
        let e = open_append(&fifo).unwrap_err().to_string();
        assert_eq!(e, "not a regular file (a FIFO)");
    }
}
