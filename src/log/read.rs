//! Reading a run log back (for `--resume`, and later `status`/`report`). Lines are parsed
//! one at a time; a line that is not a complete record (the torn last line of a killed
//! hrun) is skipped and counted.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The fields of a task record that readers need; other fields are ignored.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TaskOutcome {
    pub seq: u64,
    #[serde(default)]
    pub line: u64,
    #[serde(default)]
    pub cmd: String,
    /// Hex FNV-1a of `cmd`; absent in logs of hrun before resume existed.
    #[serde(default)]
    pub hash: Option<String>,
    /// Which copy of `cmd` it was (1 when absent).
    #[serde(default = "one")]
    pub occurrence: u32,
    pub exit: Option<i32>,
    #[serde(default)]
    pub cancelled: bool,
    /// False for a failed attempt that was to be retried.
    #[serde(default = "yes")]
    pub last_attempt: bool,
    #[serde(default)]
    pub wall_s: f64,
    /// The signal that ended the task (`SIGKILL`); null when it exited.
    #[serde(default)]
    pub signal_name: Option<String>,
}

impl TaskOutcome {
    /// The task's final outcome was a failure: its last attempt ended with a non-zero exit
    /// or a signal, and hrun did not cut it short itself (a cancelled task is not done).
    pub fn failed_finally(&self) -> bool {
        self.last_attempt && !self.cancelled && self.exit != Some(0)
    }

    /// `exit 3`, or the signal's name.
    pub fn status(&self) -> String {
        match (self.exit, &self.signal_name) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(sig)) => sig.clone(),
            (None, None) => "killed".into(),
        }
    }
}

/// The fields of a run's `end` record (the summary's numbers) that readers need; a field an
/// older hrun did not write reads as its default.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct EndOutcome {
    /// Tasks that ended this run (succeeded or failed).
    pub tasks: u64,
    pub failed: u64,
    pub timed_out: u64,
    /// Tasks hrun cut short (a signal, `--halt now`, the deadline).
    pub cancelled: u64,
    /// Tasks never started because the run stopped early.
    pub not_run: u64,
    /// Stopped early while reading standard input: the rest was not counted.
    pub rest_unread: bool,
    /// Tasks `--resume` skipped as already done.
    pub skipped: u64,
    pub makespan_s: f64,
    pub cpu_s: f64,
    pub utilisation: f64,
    pub cpu_efficiency: f64,
    /// hrun's exit status.
    pub exit: i32,
    /// Unix seconds.
    pub end: Option<f64>,
    /// What stopped the run early when it was not a signal: `SIGUSR1 (drain)`, `the deadline
    /// ...`, `standard output closed`.
    pub stopped_by: Option<String>,
}

impl EndOutcome {
    /// How the run ended, in words: `finished`, `interrupted by SIGINT`, `drained (SIGUSR1)`,
    /// `stopped at the deadline 12:00:00 (slurm)`, `stopped: standard output closed`.
    pub fn how(&self) -> String {
        match self.stopped_by.as_deref() {
            Some(s) if s.starts_with("SIGUSR1") => return "drained (SIGUSR1)".into(),
            Some(s) if s.starts_with("the deadline") => return format!("stopped at {s}"),
            Some(s) => return format!("stopped: {s}"),
            None => {}
        }
        match self.exit {
            129 | 130 | 143 => format!("interrupted by {}", crate::sys::signal_name(self.exit - 128)),
            _ => "finished".into(),
        }
    }
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct Kind {
    kind: String,
}

/// Opens a run log for reading. Only a regular file: opened `O_NONBLOCK`, so that a FIFO named
/// as a log is refused at once instead of blocking the open until a writer comes.
pub fn open(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("cannot open run log {}", path.display()))?;
    crate::smallfile::ensure_regular(&file)
        .with_context(|| format!("cannot read run log {}", path.display()))?;
    Ok(file)
}

/// Whether an hrun is writing the log now: it holds the log's `flock` from before its run
/// record until it exits (the kernel drops the lock when the process dies, however it died).
/// Probed with a shared, non-blocking lock that is released at once: a reader never blocks a
/// writer for longer than the probe, and two readers do not see each other. `Err` where the
/// file system has no `flock` (some Lustre mounts).
pub fn writer_holds_lock(path: &Path) -> std::io::Result<bool> {
    let file = open(path).map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    crate::sys::someone_holds_lock(&file)
}

/// Calls `on_task` for every task record; returns the number of unreadable lines.
pub fn for_each_task(path: &Path, mut on_task: impl FnMut(TaskOutcome)) -> Result<u64> {
    let file = open(path).map_err(crate::exit::UsageError)?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut buf = Vec::with_capacity(1024);
    let mut bad = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read run log {}", path.display()))?;
        if n == 0 {
            return Ok(bad);
        }
        match serde_json::from_slice::<Kind>(&buf) {
            Ok(k) if k.kind == "task" => match serde_json::from_slice::<TaskOutcome>(&buf) {
                Ok(t) => on_task(t),
                Err(_) => bad += 1,
            },
            Ok(_) => {}
            Err(_) => bad += 1,
        }
    }
}

/// Calls `on_record(kind, line)` for every readable record of a log, in order; returns the
/// number of unreadable lines (a torn last line).
pub fn for_each_record(path: &Path, mut on_record: impl FnMut(&str, &[u8])) -> Result<u64> {
    let file = open(path)?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut buf = Vec::with_capacity(1024);
    let mut bad = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read run log {}", path.display()))?;
        if n == 0 {
            return Ok(bad);
        }
        match serde_json::from_slice::<Kind>(&buf) {
            Ok(k) => on_record(&k.kind, &buf),
            Err(_) => bad += 1,
        }
    }
}

/// The run logs named on a command line: files as given, and for a directory every
/// `*.hrun.jsonl` in it (e.g. one per shard), sorted. A directory without one is an error.
pub fn expand_logs(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found: Vec<_> = std::fs::read_dir(p)
            .with_context(|| format!("cannot read directory {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".hrun.jsonl")))
            .collect();
        if found.is_empty() {
            anyhow::bail!("{} holds no run log (*.hrun.jsonl)", p.display());
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe sees the lock of an open run log, not its own, and not one that was dropped.
    #[test]
    fn a_writer_is_seen_by_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        let log = crate::log::RunLog::open(&p).unwrap();
        assert!(writer_holds_lock(&p).unwrap());
        assert!(writer_holds_lock(&p).unwrap(), "a probe leaves no lock behind");
        drop(log);
        assert!(!writer_holds_lock(&p).unwrap());
        assert!(!writer_holds_lock(&p).unwrap());
        let again = crate::log::RunLog::open(&p);
        assert!(again.is_ok(), "a probe leaves no lock that stops a writer");
    }

    #[test]
    fn torn_and_foreign_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(
            &p,
            "{\"kind\":\"run\",\"x\":1}\n{\"kind\":\"task\",\"seq\":1,\"exit\":0,\"cmd\":\"a\",\"hash\":\"1\"}\n\
             garbage\n{\"kind\":\"task\",\"seq\":2,\"exit\":null,\"cancelled\":true}\n{\"kind\":\"task\",\"seq\":3,\"ex",
        )
        .unwrap();
        let mut seen = Vec::new();
        let bad = for_each_task(&p, |t| seen.push((t.seq, t.exit, t.cancelled, t.last_attempt))).unwrap();
        assert_eq!(seen, [(1, Some(0), false, true), (2, None, true, true)]);
        assert_eq!(bad, 2);
    }
}
