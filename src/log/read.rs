//! Reading a run log back: the one reader that `status`, `report`, `results`, `--resume` and
//! `tune` share. Lines are parsed one at a time into [`Record`]s (memory stays bounded by the
//! longest line); a line that is not a complete record (the torn last line of a killed hrun,
//! or a line being written right now) is skipped and counted, a line of a kind this hrun does
//! not know (a newer hrun's) is skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Record;

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

/// A run log read a record at a time.
pub struct Reader {
    lines: BufReader<File>,
    buf: Vec<u8>,
    path: PathBuf,
    unreadable: u64,
}

impl Reader {
    /// Opens `path` (see [`open`]).
    pub fn open(path: &Path) -> Result<Reader> {
        let file = open(path)?;
        Ok(Reader {
            lines: BufReader::with_capacity(256 * 1024, file),
            buf: Vec::with_capacity(1024),
            path: path.to_path_buf(),
            unreadable: 0,
        })
    }

    /// The next record of a kind this hrun knows; `None` at the end of the log.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            let line = read_line_capped(&mut self.lines, &mut self.buf, MAX_LINE)
                .with_context(|| format!("cannot read run log {}", self.path.display()))?;
            match line {
                Line::End => return Ok(None),
                Line::TooLong => self.unreadable += 1,
                Line::Whole => match parse(&self.buf) {
                    Ok(Record::Other) => {}
                    Ok(record) => return Ok(Some(record)),
                    Err(_) => self.unreadable += 1,
                },
            }
        }
    }

    /// Lines read so far that held no complete record.
    pub fn unreadable(&self) -> u64 {
        self.unreadable
    }
}

/// The longest line a record can be: a command and its values, each at most what the kernel
/// takes for a command line (a few MiB). A longer line is no record (a file of zeros left by a
/// node crash is one line of gigabytes): skipped without being held in memory.
pub const MAX_LINE: usize = 16 << 20;

/// What [`read_line_capped`] found.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line (its newline included, when it had one) is in the buffer.
    Whole,
    /// A line over the cap was skipped.
    TooLong,
    End,
}

/// Reads one line into `buf` (cleared first), unless it is longer than `max` bytes: then the
/// rest of it is read past without keeping it.
fn read_line_capped(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut over = false;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !over {
            if buf.len() + take > max {
                over = true;
                buf.clear();
                buf.shrink_to(1024);
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        r.consume(take);
        if done {
            break;
        }
    }
    Ok(match (any, over) {
        (false, _) => Line::End,
        (true, true) => Line::TooLong,
        (true, false) => Line::Whole,
    })
}

/// One line's record. The tagged enum reads the whole line into a tree of values to find its
/// `kind` before it reads the record from that tree; hrun writes `kind` first, so a task or
/// start line that begins with it is read straight into its struct (which ignores the `kind`
/// key), in about 60% of the time: `hrun status` over a log of a million lines took 1.6 s the
/// general way, 1.0 s this way. Any other line takes the general way.
fn parse(line: &[u8]) -> serde_json::Result<Record> {
    match leading_kind(line) {
        Some(b"task") => serde_json::from_slice(line).map(|t| Record::Task(Box::new(t))),
        Some(b"start") => serde_json::from_slice(line).map(Record::Start),
        _ => serde_json::from_slice(line),
    }
}

/// The value of `kind` when it is the line's first key (`{"kind":"task",` as hrun writes it,
/// or with JSON's blanks around the punctuation, as another tool may write it).
fn leading_kind(line: &[u8]) -> Option<&[u8]> {
    fn blanks(s: &[u8]) -> &[u8] {
        s.trim_ascii_start()
    }
    let rest = blanks(blanks(line).strip_prefix(b"{")?).strip_prefix(b"\"kind\"")?;
    let rest = blanks(blanks(rest).strip_prefix(b":")?).strip_prefix(b"\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    blanks(&rest[end + 1..]).starts_with(b",").then_some(&rest[..end])
}

/// Calls `on_record` for every record of the log at `path`, in order; returns the number of
/// unreadable lines (a torn last line).
pub fn for_each_record(path: &Path, mut on_record: impl FnMut(Record)) -> Result<u64> {
    let mut reader = Reader::open(path)?;
    while let Some(record) = reader.next_record()? {
        on_record(record);
    }
    Ok(reader.unreadable())
}

/// The logs named, or every run log hrun exec kept in `.hrun/` here; a usage error when none
/// is named and there is no `.hrun/`.
pub fn named_or_here(logs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let here = [PathBuf::from(super::LOG_DIR)];
    if logs.is_empty() && !here[0].is_dir() {
        return Err(crate::exit::UsageError(anyhow::anyhow!(
            "no run log named, and no {}/ here (where hrun exec keeps its run logs): give a log or a directory",
            super::LOG_DIR
        ))
        .into());
    }
    let logs = if logs.is_empty() { &here[..] } else { logs };
    expand_logs(logs).map_err(|e| crate::exit::UsageError(e).into())
}

/// The run logs named on a command line: files as given, and for a directory every
/// `*.hrun.jsonl` in it and in its `.hrun/` (where an `hrun exec` started in that directory
/// keeps its logs: `hrun status results/` after a job ran there), sorted. A directory without
/// one is an error.
pub fn expand_logs(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found = logs_in(p)?;
        let kept = p.join(super::LOG_DIR);
        if p.file_name().is_none_or(|n| n != super::LOG_DIR) && kept.is_dir() {
            found.extend(logs_in(&kept)?);
        }
        if found.is_empty() {
            anyhow::bail!(
                "{} holds no run log (*.hrun.jsonl, in it or in its {}/)",
                p.display(),
                super::LOG_DIR
            );
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// The `*.hrun.jsonl` files directly in `dir`.
fn logs_in(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".hrun.jsonl")))
        .collect())
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

    fn log_of(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    /// Issue 23: a log that is one huge line (a zeroed file after a node crash) was read whole
    /// into memory; a line over the cap is skipped as unreadable, held in no buffer.
    #[test]
    fn a_line_over_the_cap_is_skipped_not_held() {
        let mut text = b"{\"kind\":\"task\",\"seq\":1,\"exit\":0}\n".to_vec();
        text.extend(std::iter::repeat_n(0u8, 5000));
        text.extend_from_slice(b"\n{\"kind\":\"task\",\"seq\":2,\"exit\":0}\n");
        let mut r = std::io::BufReader::with_capacity(64, &text[..]);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            match read_line_capped(&mut r, &mut buf, 1000).unwrap() {
                Line::End => break,
                Line::TooLong => seen.push("too long".to_string()),
                Line::Whole => seen.push(String::from_utf8_lossy(&buf).trim().to_string()),
            }
            assert!(buf.capacity() <= 2048, "a long line is not kept: {}", buf.capacity());
        }
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1], "too long");
        assert!(seen[2].contains("\"seq\":2"));
    }

    /// A torn or unparsable line is counted, not an error; a line of a kind this hrun does not
    /// know (a newer one's) is skipped without being counted; fields an older hrun did not
    /// write read as their defaults.
    #[test]
    fn torn_lines_are_counted_and_unknown_kinds_skipped() {
        let (_d, p) = log_of(
            "{\"kind\":\"run\",\"x\":1}\n{\"kind\":\"task\",\"seq\":1,\"exit\":0,\"cmd\":\"a\",\"hash\":\"1\"}\n\
             garbage\n{\"kind\":\"pause\",\"seq\":9}\n{\"kind\":\"task\",\"seq\":2,\"exit\":null,\"cancelled\":true}\n\
             {\"seq\":5}\n{\"kind\":\"task\"}\n{\"kind\":\"task\",\"seq\":0,\"exit\":0}\n\
             {\"kind\":\"task\",\"seq\":3,\"ex",
        );
        let mut seen = Vec::new();
        let bad = for_each_record(&p, |r| match r {
            Record::Run(run) => seen.push(format!("run {}", run.kind)),
            Record::Task(t) => seen.push(format!(
                "{} {} {:?} {} {} {:?}",
                t.kind,
                t.seq,
                t.exit,
                t.occurrence,
                t.last_attempt,
                t.outcome()
            )),
            other => seen.push(format!("{other:?}")),
        })
        .unwrap();
        assert_eq!(seen, ["run run", "task 1 Some(0) 1 true Succeeded", "task 2 None 1 true Cancelled"]);
        assert_eq!(
            bad, 5,
            "garbage, a line without a kind, two task lines without a seq, the torn last line"
        );
    }

    /// The fast path finds `kind` first however the blanks fall, and only then.
    #[test]
    fn leading_kind_allows_blanks() {
        assert_eq!(leading_kind(b"{\"kind\":\"task\",\"seq\":1}"), Some(&b"task"[..]));
        assert_eq!(leading_kind(b" { \"kind\" : \"start\" , \"seq\": 1}"), Some(&b"start"[..]));
        assert_eq!(leading_kind(b"{\"seq\":1,\"kind\":\"task\"}"), None);
        assert_eq!(leading_kind(b"{\"kind\":\"task\"}"), None, "no other key: the general way");
        assert_eq!(leading_kind(b"{\"kind\":\"ta"), None);
        // Python's json.dumps puts a blank after ':' and ','; such a line reads the same.
        let spaced = b"{\"kind\": \"task\", \"seq\": 4, \"cmd\": \"x\", \"exit\": 3}";
        let Ok(Record::Task(t)) = parse(spaced) else { panic!("not read as a task") };
        assert_eq!((t.seq, t.exit, t.cmd.as_str()), (4, Some(3), "x"));
    }

    /// Every record the engine writes reads back as itself (a field renamed on one side only
    /// would read as its default here).
    #[test]
    fn what_is_written_reads_back() {
        use crate::log::{RunRecord, SlotRecord, StartRecord, TaskRecord};
        let run = RunRecord {
            kind: "run".into(),
            host: "n1".into(),
            pid: 7,
            threads: 4,
            slots: vec![SlotRecord {
                slot: 1,
                cpus: "0-3".into(),
                package: Some(0),
                numa: None,
                l3: Some(0),
            }],
            smt: crate::slots::Smt::Use,
            start: 1.5,
            resume: true,
            tasks_total: Some(3),
            shard: Some("1/2".into()),
            output_dir: Some("/o".into()),
            value_names: Some(vec!["a".into()]),
            sharing: Some(crate::log::Sharing { jobs: 2, cpu_sets: 1 }),
            ..RunRecord::default()
        };
        let start = StartRecord {
            kind: "start".into(),
            seq: 3,
            attempt: 2,
            pid: 9,
            start: 2.0,
            ..Default::default()
        };
        let task = TaskRecord {
            kind: "task".into(),
            seq: 3,
            occurrence: 2,
            attempt: 2,
            last_attempt: false,
            values: Some(vec!["x".into()]),
            exit: Some(1),
            timeout: true,
            leaked_pids: vec![4],
            rusage: crate::sys::Rusage { utime_s: 0.5, maxrss_kb: 10, ..Default::default() },
            ..TaskRecord::default()
        };
        let mut summary = crate::exec::Summary { tasks: 4, failed: 1, cancelled: 2, ..Default::default() };
        summary.stopped_by = Some("SIGUSR1 (drain)".into());
        let end = summary.end_record();
        let lines: Vec<String> = [
            serde_json::to_string(&run),
            serde_json::to_string(&start),
            serde_json::to_string(&task),
            serde_json::to_string(&end),
        ]
        .into_iter()
        .map(Result::unwrap)
        .collect();
        assert!(lines[2].starts_with("{\"kind\":\"task\",\"seq\":3,"), "{}", lines[2]);
        for line in &lines {
            let general: Record = serde_json::from_str(line).unwrap();
            assert_eq!(
                parse(line.as_bytes()).unwrap(),
                general,
                "the short way reads {line} as the general way"
            );
        }
        let (_d, p) = log_of(&(lines.join("\n") + "\n"));
        let mut read = Vec::new();
        assert_eq!(for_each_record(&p, |r| read.push(r)).unwrap(), 0);
        let [Record::Run(r), Record::Start(s), Record::Task(t), Record::End(e)] = &read[..] else {
            panic!("{read:?}")
        };
        assert_eq!((&**r, s, &**t), (&run, &start, &task));
        assert_eq!((e.tasks, e.failed, e.cancelled, e.exit), (4, 1, 2, summary.exit_code()));
        assert_eq!(e.how(), "drained (SIGUSR1)");
    }
}
