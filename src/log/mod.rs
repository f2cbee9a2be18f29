//! The run log (JSONL, the source of truth about a run) and GNU parallel's joblog.
//!
//! The run log holds one `{"kind":"run",...}` line per `hrun exec`, then one
//! `{"kind":"task",...}` line per finished task. Each line goes out in a single `write` on an
//! `O_APPEND` file, so a crash can at worst tear the very last line, which readers skip.
//! A log is appended to, never truncated: several runs over one task file share one log.

pub mod joblog;
pub mod read;
mod record;

pub use joblog::{JobLog, JobLogRow};
pub use record::{RunRecord, Sharing, SlotRecord, SlurmInfo, StartRecord, TaskRecord};

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::exec::os;

/// An open, locked run log.
pub struct RunLog {
    file: File,
    path: PathBuf,
    line: Vec<u8>,
    checked_end: bool,
}

impl RunLog {
    /// Opens (creating) the log for appending and locks it against a second hrun.
    pub fn open(path: &Path) -> Result<RunLog> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open run log {} for appending", path.display()))?;
        if !os::try_lock(&file).with_context(|| format!("cannot lock run log {}", path.display()))? {
            bail!(
                "run log {} is in use by another hrun process; wait for it, or give this run its own --log",
                path.display()
            );
        }
        Ok(RunLog { file, path: path.to_path_buf(), line: Vec::with_capacity(1024), checked_end: false })
    }

    /// A log cut by a crash may end in a torn line; end it, so that the next record starts on
    /// a line of its own (readers skip the torn one).
    fn end_torn_line(&mut self) -> Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        self.checked_end = true;
        let len = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            return Ok(());
        }
        let mut reader = File::open(&self.path)?;
        reader.seek(SeekFrom::Start(len - 1))?;
        let mut last = [0u8; 1];
        reader.read_exact(&mut last)?;
        if last[0] != b'\n' {
            self.file.write_all(b"\n")?;
        }
        Ok(())
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

/// Opens an output file of hrun's (the results table) for appending, created if need be,
/// and emptied first unless `append` (a resumed run adds to it).
pub fn open_output(path: &Path, append: bool) -> io::Result<File> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    if !append && file.metadata()?.is_file() {
        file.set_len(0)?;
    }
    Ok(file)
}

/// Ends a torn last line of `file` (opened for appending at `path`) with a newline, so that
/// the next line starts on its own: a crash can leave a line half written.
pub fn end_torn_line(mut file: File, path: &Path) -> io::Result<File> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 || !file.metadata()?.is_file() {
        return Ok(file);
    }
    let mut reader = File::open(path)?;
    reader.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    reader.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(file)
}
