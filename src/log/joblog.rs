//! GNU parallel's `--joblog` format, written exactly, so tools that read parallel's joblogs
//! (`parallel --resume --joblog`, site accounting scripts) read hrun's.
//!
//! The `Seq` column is the task's *line number* in the task file, not hrun's task number:
//! GNU parallel reading the same file as commands (`parallel < tasks.txt`) counts every line,
//! comments and blank lines included, so only the line number lets
//! `parallel --resume --joblog J < tasks.txt` skip exactly the tasks hrun ran.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

pub const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// A joblog being written. Like GNU parallel, it starts afresh each run, except when
/// resuming, where rows are appended (and the header written only to a new file).
pub struct JobLog {
    out: File,
    path: PathBuf,
    /// A regular file: a row that could not be written whole is cut off again.
    regular: bool,
}

/// One joblog row.
pub struct JobLogRow<'a> {
    pub line: u64,
    pub start: f64,
    pub runtime_s: f64,
    pub received: u64,
    pub exit: i32,
    pub signal: i32,
    pub command: &'a str,
}

impl JobLog {
    /// The joblog of a claimed file: emptied for a fresh run; a resumed run appends, after
    /// ending a row torn by a crash (so the next row does not glue onto it). The header goes
    /// only into an empty file, and never with GNU's `--joblog +FILE` (`plus`), which writes
    /// rows only.
    pub fn from_claim(claimed: super::claim::Claimed, append: bool, plus: bool) -> Result<JobLog> {
        if !append {
            claimed.truncate().with_context(|| format!("cannot empty joblog {}", claimed.path.display()))?;
        }
        let super::claim::Claimed { mut file, path, regular, .. } = claimed;
        super::end_torn_line(&mut file, &path)
            .with_context(|| format!("cannot repair joblog {}", path.display()))?;
        let empty = !plus && file.metadata().map(|m| m.len() == 0).unwrap_or(true);
        let mut log = JobLog { out: file, path, regular };
        if empty {
            log.append(HEADER.as_bytes())?;
        }
        Ok(log)
    }

    /// Writes one row (in one `write`), so the joblog is current if hrun is killed. A row that
    /// cannot be written whole (a full disk) is cut off again: the joblog keeps whole rows.
    pub fn write(&mut self, row: &JobLogRow<'_>) -> Result<()> {
        self.append(format_row(row).as_bytes())
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let before = self.regular.then(|| self.out.metadata().map(|m| m.len()).ok()).flatten();
        self.out
            .write_all(bytes)
            .inspect_err(|_| {
                if let Some(len) = before {
                    let _ = self.out.set_len(len);
                }
            })
            .with_context(|| format!("cannot write joblog {}", self.path.display()))
    }
}

/// Formats a row as parallel 2022's `print_joblog` does: `%10.3f` times, Host `:` for the
/// local machine, and newlines in the command written as NUL (`s/\n/\0/g`), one row a line.
pub fn format_row(row: &JobLogRow<'_>) -> String {
    format!(
        "{}\t:\t{:.3}\t{:>10.3}\t0\t{}\t{}\t{}\t{}\n",
        row.line,
        row.start,
        row.runtime_s,
        row.received,
        row.exit,
        row.signal,
        row.command.replace('\n', "\0")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_gnu_parallel() {
        // A row copied from `parallel --joblog` 20221122 on this machine.
        let want = "2\t:\t1795652497.618\t     0.006\t0\t6\t0\t0\techo a {#}\n";
        let row = JobLogRow {
            line: 2,
            start: 1795652497.618,
            runtime_s: 0.006,
            received: 6,
            exit: 0,
            signal: 0,
            command: "echo a {#}",
        };
        assert_eq!(format_row(&row), want);
    }
}
