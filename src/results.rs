//! The results table: one row per finished task, as GNU parallel's `--results FILE.csv`,
//! `.tsv` or `.json` writes it (its columns and keys in its order and quoting), then hrun's own
//! columns. Written live by `hrun exec --results` (a row as each task finishes), or after the
//! fact from run logs by `hrun results`.
//!
//! A row is for a task that finished (succeeded, or failed on its last attempt), the same rule
//! as `--resume`'s: an attempt that is retried, cancelled, or left for `--resume` has none, so a
//! run killed and resumed gives each task one row.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use crate::exit::UsageError;
use crate::log::{Record, TaskRecord};

/// GNU parallel's columns before the values, and after.
const GNU_HEAD: [&str; 9] =
    ["Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal", "Command"];
const GNU_TAIL: [&str; 2] = ["Stdout", "Stderr"];
/// hrun's own columns, after GNU's (readers of GNU's files keep working).
/// `cpu_pct` and `efficiency` came last (issue 26): columns are only ever appended.
const HRUN_COLUMNS: [&str; 16] = [
    "host",
    "slot",
    "cpus",
    "attempt",
    "utime_s",
    "stime_s",
    "maxrss_kb",
    "minflt",
    "majflt",
    "nvcsw",
    "nivcsw",
    "timeout",
    "leaked",
    "exe_sha256",
    "cpu_pct",
    "efficiency",
];

/// A task's output in a row is cut at this size (the table is for results, not logs; use
/// `--output-dir` for big output).
pub const OUTPUT_CAP: u64 = 64 << 20;

/// The table's format, from the file name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Json,
}

impl Format {
    /// `FILE.csv`, `FILE.tsv`, `FILE.json` (any case; `-.csv` is standard output). GNU's
    /// `--results DIR` (a directory tree per value) is refused with what to use instead.
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("tsv") => Ok(Format::Tsv),
            Some("json") => Ok(Format::Json),
            _ => Err(UsageError(anyhow!(
                "--results {}: hrun writes a table, FILE.csv, FILE.tsv or FILE.json (-.csv for standard \
                 output); for GNU's directory of files per task use --output-dir DIR",
                path.display()
            ))
            .into()),
        }
    }

    fn separator(self) -> u8 {
        if self == Format::Tsv { b'\t' } else { b',' }
    }
}

/// One finished task's row.
#[derive(Clone, Debug)]
pub struct Row {
    pub record: TaskRecord,
    /// The command as it ran (GNU's Command).
    pub command: String,
    /// The task's values (a task file's line: the line itself, as GNU parallel reading it).
    pub values: Vec<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Row {
    /// The row of `record`, a finished task's last attempt, with its output.
    pub fn new(record: TaskRecord, stdout: Vec<u8>, stderr: Vec<u8>) -> Row {
        let command = record.command.clone().unwrap_or_else(|| record.cmd.clone());
        let values = record.values.clone().unwrap_or_else(|| vec![record.cmd.clone()]);
        Row { record, command, values, stdout, stderr }
    }

    /// With `--tag`, GNU parallel's Stdout and Stderr have each line (a last one without a
    /// newline too) start with the tag and a tab; Receive still counts the task's own bytes.
    pub fn tagged(mut self, tag: Option<&str>) -> Row {
        if let Some(tag) = tag {
            self.stdout = tag_lines(&self.stdout, tag);
            self.stderr = tag_lines(&self.stderr, tag);
        }
        self
    }

    /// True for the attempts that get a row: the task finished (see the module docs).
    pub fn counts(record: &TaskRecord) -> bool {
        record.outcome().finished()
    }

    /// GNU's fields, as text (Starttime and JobRuntime to the millisecond, as GNU).
    fn gnu_fields(&self) -> [String; 8] {
        let r = &self.record;
        [
            r.seq.to_string(),
            ":".to_string(),
            format!("{:.3}", r.start),
            format!("{:.3}", r.wall_s),
            "0".to_string(),
            r.stdout_bytes.to_string(),
            r.exit.unwrap_or(0).to_string(),
            r.signal.unwrap_or(0).to_string(),
        ]
    }

    fn hrun_fields(&self) -> [String; 16] {
        let r = &self.record;
        let u = &r.rusage;
        let (cpu_pct, efficiency) = cpu_use(r);
        [
            r.host.clone(),
            r.slot.to_string(),
            r.cpus.clone(),
            r.attempt.to_string(),
            u.utime_s.to_string(),
            u.stime_s.to_string(),
            u.maxrss_kb.to_string(),
            u.minflt.to_string(),
            u.majflt.to_string(),
            u.nvcsw.to_string(),
            u.nivcsw.to_string(),
            r.timeout.to_string(),
            r.leaked.to_string(),
            r.exe_sha256.clone().unwrap_or_default(),
            cpu_pct.map_or(String::new(), |p| format!("{p:.1}")),
            efficiency.map_or(String::new(), |e| format!("{e:.3}")),
        ]
    }
}

/// A task's CPU use: `cpu_pct`, CPU time / wall x 100 (`/usr/bin/time -v`'s "Percent of CPU
/// this job got": 200 is two CPUs busy), and `efficiency`, CPU time / (wall x the CPUs of its
/// slot) (1 is every CPU of the slot busy; above 1, it ran on CPUs outside its slot). `None`
/// for a task of no measurable wall time.
pub fn cpu_use(r: &TaskRecord) -> (Option<f64>, Option<f64>) {
    cpu_use_of(r.rusage.utime_s + r.rusage.stime_s, r.wall_s, &r.cpus)
}

/// [`cpu_use`] from a task's CPU seconds, wall seconds and slot CPUs (`0-3`).
pub fn cpu_use_of(cpu_s: f64, wall_s: f64, cpus: &str) -> (Option<f64>, Option<f64>) {
    if wall_s <= 0.0 {
        return (None, None);
    }
    let n = cpus.parse::<crate::cpuset::CpuSet>().map_or(0, |c| c.len());
    (Some(100.0 * cpu_s / wall_s), (n > 0).then(|| cpu_s / (wall_s * n as f64)))
}

/// A table being written: the header once (CSV/TSV), then one row per `write` call.
pub struct Table {
    format: Format,
    out: Box<dyn Write + Send>,
    columns: Columns,
    header_done: bool,
    path: String,
    /// A regular file's length: where the next row ends up (`None` on standard output, a
    /// FIFO or a device).
    len: Option<u64>,
}

/// The values' columns: their names (`--header :`), else `V1..Vn`, and how many there are when
/// that is known before the first row (`-N` times the sources, as GNU parallel sizes its
/// header; the widest job of a `--colsep` input that was counted). Shorter rows are padded to
/// the header; unknown, the first row's values set it.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    pub names: Vec<String>,
    pub width: Option<usize>,
}

impl Columns {
    fn width(&self, first_row: usize) -> usize {
        self.width.unwrap_or(first_row).max(self.names.len())
    }
}

/// Where a table goes: standard output (`-.csv`), or a file claimed for the run.
pub enum Target {
    Stdout,
    File(crate::log::claim::Claimed),
}

impl Target {
    /// `-.csv`, `-.tsv`, `-.json` (no directory): standard output.
    pub fn is_stdout(path: &Path) -> bool {
        path.file_stem().is_some_and(|s| s == "-") && path.parent().is_none_or(|p| p.as_os_str().is_empty())
    }
}

impl Table {
    /// A table at `path` written to `target`: a file is emptied for a fresh run; when
    /// `append` (`--resume`) it is added to, the header not written again. `vouched`: the end
    /// of the last row the run log vouches for after a crash (see `TaskRecord::results_end`):
    /// a longer table is cut back to it when what follows is at most one row (all a crash can
    /// leave); anything more is not hrun's and is left, with a warning.
    pub fn open(
        path: &Path,
        target: Target,
        append: bool,
        columns: Columns,
        vouched: Option<u64>,
    ) -> Result<Table> {
        let format = Format::of(path)?;
        let shown = path.display().to_string();
        let (out, header_done, len): (Box<dyn Write + Send>, bool, Option<u64>) = match target {
            Target::Stdout => (Box::new(io::stdout()), false, None),
            Target::File(claimed) => {
                if !append {
                    claimed.truncate().with_context(|| format!("cannot empty results table {shown}"))?;
                }
                let mut file = claimed.file;
                let meta = file.metadata().with_context(|| format!("cannot open results table {shown}"))?;
                if let Some(v) = vouched.filter(|&v| append && meta.is_file() && meta.len() > v) {
                    let shown = crate::text::printable(&shown);
                    if at_most_one_row(path, v, meta.len(), format) {
                        file.set_len(v).with_context(|| format!("cannot repair results table {shown}"))?;
                        crate::messages::note(format_args!(
                            "results table {shown}: the last {} byte(s) were a row the run log \
                             has no record after (hrun was killed writing it); removed, its task runs again",
                            meta.len() - v
                        ));
                    } else {
                        crate::messages::warning(format_args!(
                            "results table {shown} holds rows after the last one the run log \
                             vouches for that its crashed run did not write; left as they are"
                        ));
                    }
                }
                crate::log::end_torn_line(&mut file, path)
                    .with_context(|| format!("cannot repair results table {shown}"))?;
                let meta = file.metadata().with_context(|| format!("cannot open results table {shown}"))?;
                (Box::new(file), meta.len() > 0, meta.is_file().then_some(meta.len()))
            }
        };
        Ok(Table { format, out, columns, header_done, path: shown, len })
    }

    /// Writes `row` (after the header, the first time) in one `write`.
    pub fn write(&mut self, row: &Row) -> Result<()> {
        let mut buf = Vec::with_capacity(256 + row.stdout.len() + row.stderr.len());
        if !self.header_done && self.format != Format::Json {
            let width = self.columns.width(row.values.len());
            self.header(width, &mut buf);
            self.header_done = true;
            self.columns.width = Some(width);
        }
        match self.format {
            Format::Json => json_row(row, &self.columns.names, &mut buf),
            _ => self.delimited_row(row, &mut buf),
        }
        buf.push(b'\n');
        self.out
            .write_all(&buf)
            .and_then(|()| self.out.flush())
            .with_context(|| format!("cannot write results table {}", self.path))?;
        if let Some(len) = self.len.as_mut() {
            *len += buf.len() as u64;
        }
        Ok(())
    }

    /// The table's length after the rows written so far, for a regular file.
    pub fn end(&self) -> Option<u64> {
        self.len
    }

    fn header(&self, n_values: usize, buf: &mut Vec<u8>) {
        let sep = self.format.separator();
        let names = &self.columns.names;
        let values: Vec<String> =
            (0..n_values).map(|i| names.get(i).cloned().unwrap_or_else(|| format!("V{}", i + 1))).collect();
        let all = GNU_HEAD
            .iter()
            .map(|s| s.to_string())
            .chain(values)
            .chain(GNU_TAIL.iter().map(|s| s.to_string()));
        for (i, name) in all.chain(HRUN_COLUMNS.iter().map(|s| s.to_string())).enumerate() {
            if i > 0 {
                buf.push(sep);
            }
            field(name.as_bytes(), sep, buf);
        }
        buf.push(b'\n');
    }

    fn delimited_row(&self, row: &Row, buf: &mut Vec<u8>) {
        let sep = self.format.separator();
        let mut first = true;
        let mut put = |bytes: &[u8], buf: &mut Vec<u8>| {
            if !first {
                buf.push(sep);
            }
            first = false;
            field(bytes, sep, buf);
        };
        for f in row.gnu_fields() {
            put(f.as_bytes(), buf);
        }
        put(row.command.as_bytes(), buf);
        for v in &row.values {
            put(v.as_bytes(), buf);
        }
        // A short job (the last of -N, a short --colsep line) keeps the columns in place.
        for _ in row.values.len()..self.columns.width.unwrap_or(0) {
            put(b"", buf);
        }
        put(&row.stdout, buf);
        put(&row.stderr, buf);
        for f in row.hrun_fields() {
            put(f.as_bytes(), buf);
        }
    }
}

/// One CSV/TSV field as GNU parallel's `combine_ref` writes it: in double quotes (each `"`
/// doubled) when it holds a quote, blank space (Perl's `\s`), the separator or NUL.
fn field(bytes: &[u8], sep: u8, buf: &mut Vec<u8>) {
    let quote = bytes
        .iter()
        .any(|&b| b == b'"' || b == sep || b == 0 || matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c));
    if !quote {
        buf.extend_from_slice(bytes);
        return;
    }
    buf.push(b'"');
    for &b in bytes {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
    buf.push(b'"');
}

/// One CSV field, quoted as the results table quotes it (for other CSV hrun writes).
pub fn csv_field(bytes: &[u8], buf: &mut Vec<u8>) {
    field(bytes, b',', buf)
}

/// GNU parallel's `jsonquote`: `\` and `"` escaped, bytes 0-31 as `\u00XX`, the rest as is.
fn json_text(bytes: &[u8], buf: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'"' => buf.extend_from_slice(b"\\\""),
            0..=31 => buf.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => buf.push(b),
        }
    }
}

/// One JSON line, GNU's keys in GNU's spacing, then hrun's (as JSON values), and last the
/// values' names (`--header :`) as `value_names`, when they have names: what a CSV table's
/// header says, which GNU's JSON rows leave out (`hrun reduce` groups by them).
fn json_row(row: &Row, names: &[String], buf: &mut Vec<u8>) {
    let g = row.gnu_fields();
    buf.extend_from_slice(
        format!(
            "{{ \"Seq\": {}, \"Host\": \":\", \"Starttime\": {}, \"JobRuntime\": {}, \"Send\": 0, \"Receive\": {}, \
             \"Exitval\": {}, \"Signal\": {}, \"Command\": \"",
            g[0], g[2], g[3], g[5], g[6], g[7]
        )
        .as_bytes(),
    );
    json_text(row.command.as_bytes(), buf);
    buf.extend_from_slice(b"\", \"V\": [ ");
    for (i, v) in row.values.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        json_text(v.as_bytes(), buf);
        buf.push(b'"');
    }
    buf.extend_from_slice(b" ], \"Stdout\": \"");
    json_text(&row.stdout, buf);
    buf.extend_from_slice(b"\", \"Stderr\": \"");
    json_text(&row.stderr, buf);
    buf.push(b'"');
    let r = &row.record;
    let extra = serde_json::json!({
        "host": r.host, "slot": r.slot, "cpus": r.cpus, "attempt": r.attempt,
        "utime_s": r.rusage.utime_s, "stime_s": r.rusage.stime_s, "maxrss_kb": r.rusage.maxrss_kb,
        "minflt": r.rusage.minflt, "majflt": r.rusage.majflt, "nvcsw": r.rusage.nvcsw,
        "nivcsw": r.rusage.nivcsw, "timeout": r.timeout, "leaked": r.leaked, "exe_sha256": r.exe_sha256,
        "cpu_pct": cpu_use(r).0.map(|p| (p * 10.0).round() / 10.0),
        "efficiency": cpu_use(r).1.map(|e| (e * 1000.0).round() / 1000.0),
    });
    for key in HRUN_COLUMNS {
        buf.extend_from_slice(format!(", \"{key}\": {}", extra[key]).as_bytes());
    }
    if !names.is_empty() {
        buf.extend_from_slice(format!(", \"value_names\": {}", serde_json::json!(names)).as_bytes());
    }
    buf.extend_from_slice(b" }");
}

/// Reads a task's captured output for its row: at most [`OUTPUT_CAP`] bytes, with a warning
/// when it is cut.
pub fn read_output(file: &mut File, seq: u64, what: &str) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut out = Vec::new();
    let read = file.seek(SeekFrom::Start(0)).and_then(|_| file.take(OUTPUT_CAP).read_to_end(&mut out));
    if let Err(e) = read {
        crate::messages::warning(format_args!(
            "cannot read the {what} of task {seq} for the results table: {e}"
        ));
    } else if file.metadata().is_ok_and(|m| m.len() > OUTPUT_CAP) {
        crate::messages::warning(format_args!(
            "the {what} of task {seq} is over {} MiB; the results table holds its start \
             (use --output-dir for the whole of it)",
            OUTPUT_CAP >> 20
        ));
    }
    out
}

/// `hrun results LOG...`: the table of one sweep's finished tasks (each task's latest finished
/// attempt; task output where it was written to `--output-dir`), in task order.
///
/// A sweep is a run without `--resume` and the runs that resumed it; the logs of one sweep's
/// shards (the same task file, or template and sources) make one sweep. Sweeps stay apart,
/// each a table with its own value columns: the latest one by default, `sweep` (1 = the
/// first started) for another; the others are named in a note with how to get them.
pub fn from_logs(logs: &[PathBuf], out: &Path, sweep: Option<usize>) -> Result<u64> {
    if Format::of(out).is_err() {
        return Err(UsageError(anyhow!(
            "-o {}: hrun results writes a table, FILE.csv, FILE.tsv or FILE.json (-.csv etc. for standard \
             output)",
            crate::text::printable(&out.display().to_string())
        ))
        .into());
    }
    let mut sweeps: Vec<SweepRows> = Vec::new();
    let mut runs = 0;
    for log in logs {
        for one in sweeps_of(log, &mut runs)? {
            let shard_of = sweeps.iter_mut().rev().find(|s| s.key == one.key && !s.logs.contains(log));
            match shard_of {
                Some(s) => s.merge(one),
                None => sweeps.push(one),
            }
        }
    }
    if runs == 0 {
        // As `hrun status` says it: no table of nothing, for a file that is no run log.
        let what = match logs {
            [one] => format!("{} holds no hrun run", crate::text::printable(&one.display().to_string())),
            _ => format!("none of the {} logs holds an hrun run", logs.len()),
        };
        return Err(UsageError(anyhow!(what)).into());
    }
    sweeps.sort_by(|a, b| a.start.total_cmp(&b.start));
    let k = match sweep {
        None => sweeps.len(),
        Some(k) if (1..=sweeps.len()).contains(&k) => k,
        Some(k) => {
            return Err(UsageError(anyhow!(
                "--sweep {k}: the logs hold {}",
                crate::text::count(sweeps.len() as u64, "sweep")
            ))
            .into());
        }
    };
    if sweeps.len() > 1 {
        crate::messages::note(sweeps_note(&sweeps, k));
    }
    let finished = sweeps.swap_remove(k - 1).finished;
    // Runs of one log can hold jobs with different numbers of values (one template over
    // different sources): every row gets as many value columns as the widest.
    let width = finished.rows.values().map(|(r, _)| r.values.as_ref().map_or(1, Vec::len)).max().unwrap_or(0);
    let target = if Target::is_stdout(out) {
        Target::Stdout
    } else {
        let kind = crate::log::claim::Kind::Stream;
        let mut claimed =
            crate::log::claim::claim_all(&[("-o", out, kind)]).map_err(|e| UsageError(anyhow!(e)))?;
        Target::File(claimed.remove(0))
    };
    let columns = Columns { names: finished.names, width: Some(width) };
    let mut table = Table::open(out, target, false, columns, None)?;
    let mut n = 0;
    for (record, dir) in finished.rows.into_values() {
        let (o, e) = match &dir {
            Some(d) => (task_output(d, &record, "out"), task_output(d, &record, "err")),
            None => (Vec::new(), Vec::new()),
        };
        if let Err(e) = table.write(&Row::new(record, o, e)) {
            // `hrun results LOG | head`: the reader closed the pipe, having what it wanted.
            crate::stdout::pipe_closed_is_ok(Err(e))?;
            return Ok(n);
        }
        n += 1;
    }
    Ok(n)
}

/// A finished task's output from its run's `--output-dir` (`<seq>.out`, `<seq>.err`), if that
/// file is still the one the task wrote: the record names the file (inode and modification
/// time) when the task ended, and a file another run wrote since under that name is not this
/// task's output and is not shown as its (said once per file). Records of hrun before
/// `output_files` are checked by time and size: a file changed after the task ended, or a
/// stdout of another size than the task's, is not its.
fn task_output(dir: &Path, record: &TaskRecord, ext: &str) -> Vec<u8> {
    let seq = record.seq;
    let path = dir.join(format!("{seq}.{ext}"));
    let Ok(mut f) = File::open(&path) else { return Vec::new() };
    let meta = f.metadata().ok();
    let changed = match (&record.output_files, &meta) {
        (Some(files), Some(m)) => {
            let wrote = if ext == "out" { files.out } else { files.err };
            (crate::log::FileStamp::of(m) != wrote).then_some("changed")
        }
        _ => {
            let ended = record.start + record.wall_s;
            let modified = meta.as_ref().and_then(|m| m.modified().ok()).map(crate::civil::unix_seconds);
            let later = modified.is_some_and(|m| m > ended + 2.0);
            let other_size = ext == "out" && meta.is_some_and(|m| m.len() != record.stdout_bytes);
            if later { Some("written") } else { other_size.then_some("changed") }
        }
    };
    if let Some(how) = changed {
        crate::messages::warning(format_args!(
            "{} is not the output of task {seq} (\"{}\"): it was {how} after that task ended; left out of its row",
            crate::text::printable(&path.display().to_string()),
            crate::text::printable_max(&record.cmd, 60),
        ));
        return Vec::new();
    }
    read_output(&mut f, seq, if ext == "out" { "stdout" } else { "stderr" })
}

/// Whether the bytes of the table at `path` from `from` to `to` hold at most one row, whole or
/// torn: all that a crash can leave after the last row the log vouches for (the dispatcher
/// writes a row, then its record, one task at a time). More is someone else's. A row ends at
/// a newline outside double quotes (CSV, TSV) or at a newline (JSON, which escapes them).
fn at_most_one_row(path: &Path, from: u64, to: u64, format: Format) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    // The largest row: both outputs at their cap, every byte quoted twice, and the rest.
    if to - from > 4 * OUTPUT_CAP + (1 << 20) {
        return false;
    }
    let mut tail = Vec::new();
    let read = File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(from)).and_then(|_| f.take(to - from).read_to_end(&mut tail))
    });
    if read.is_err() {
        return false;
    }
    let mut quoted = false;
    let mut rows = 0;
    for &b in &tail {
        match b {
            b'"' if format != Format::Json => quoted = !quoted,
            b'\n' if !quoted => rows += 1,
            _ => {}
        }
    }
    // One whole row, or the start of one: fine. A whole row and more after it: not ours. At
    // the table's start the header went out in the same write as the first row.
    let lines = 1 + usize::from(from == 0 && format != Format::Json);
    rows < lines || (rows == lines && tail.last() == Some(&b'\n'))
}

fn tag_lines(text: &[u8], tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8 + tag.len() + 1);
    for line in text.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(tag.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(line);
    }
    out
}

/// One sweep of the logs: its identity (as `hrun status` sums shards: the task file, or
/// template and sources, and the file's number of tasks), its logs, when it began, its rows.
struct SweepRows {
    key: String,
    /// The task file as given, or the template and its sources.
    what: String,
    logs: Vec<PathBuf>,
    start: f64,
    finished: Finished,
}

impl SweepRows {
    /// Another shard's rows of this sweep.
    fn merge(&mut self, other: SweepRows) {
        self.logs.extend(other.logs);
        self.start = self.start.min(other.start);
        if self.finished.names.is_empty() {
            self.finished.names = other.finished.names;
        }
        self.finished.rows.extend(other.finished.rows);
    }
}

/// The sweeps of one log, in order: a run without `--resume` starts one.
fn sweeps_of(log: &Path, runs: &mut usize) -> Result<Vec<SweepRows>> {
    let mut sweeps: Vec<SweepRows> = Vec::new();
    let mut output_dir: Option<PathBuf> = None;
    // A log that cannot be opened (missing, a FIFO, a directory) is the caller's: exit 2.
    let mut reader = crate::log::read::Reader::open(log).map_err(UsageError)?;
    while let Some(record) = reader.next_record()? {
        match record {
            Record::Run(run) => {
                *runs += 1;
                if !run.resume || sweeps.is_empty() {
                    sweeps.push(SweepRows {
                        key: format!(
                            "{}\0{}\0{:?}",
                            run.taskfile,
                            run.template.as_deref().unwrap_or(""),
                            run.file_tasks
                        ),
                        what: run.taskfile.clone(),
                        logs: vec![log.to_path_buf()],
                        start: run.start,
                        finished: Finished::default(),
                    });
                }
                output_dir = run.output_dir;
                let names = &mut sweeps.last_mut().expect("pushed").finished.names;
                if names.is_empty() {
                    *names = run.value_names.unwrap_or_default();
                }
            }
            Record::Task(task) => {
                if let Some(s) = sweeps.last_mut() {
                    s.finished.add(*task, &output_dir)
                }
            }
            _ => {}
        }
    }
    Ok(sweeps)
}

/// What `hrun results` says when the logs hold several sweeps: which one the table is, and
/// the others, a line each, with how to get them.
fn sweeps_note(sweeps: &[SweepRows], shown: usize) -> String {
    let mut text = format!(
        "the logs hold {}, each its own table; this is sweep {shown} (--sweep N for another):",
        crate::text::count(sweeps.len() as u64, "sweep")
    );
    for (i, s) in sweeps.iter().enumerate() {
        let logs: Vec<String> =
            s.logs.iter().map(|l| crate::text::printable(&l.display().to_string()).into_owned()).collect();
        text += &format!(
            "\n  {}{:>3}  {}  {}  {}",
            if i + 1 == shown { "*" } else { " " },
            i + 1,
            crate::text::count(s.finished.rows.len() as u64, "row"),
            crate::text::printable_max(&s.what, 60),
            logs.join(", ")
        );
    }
    text
}

/// The rows `hrun results` writes, as the logs are read.
#[derive(Default)]
struct Finished {
    /// By task: its latest finished attempt, and the output directory of its run.
    rows: BTreeMap<(u64, String), (TaskRecord, Option<PathBuf>)>,
    /// The values' column names (`--header :`), from the first run that has them.
    names: Vec<String>,
}

impl Finished {
    /// An attempt that finished its task takes the task's row; others (retried, cancelled)
    /// leave the row of an earlier run alone.
    fn add(&mut self, task: TaskRecord, output_dir: &Option<PathBuf>) {
        if Row::counts(&task) {
            self.rows.insert((task.seq, task.hash.clone()), (task, output_dir.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17: `hrun results` kept each task's last attempt and then dropped it when that
    /// was not final, so a task that failed, then was cut short in a `--resume-failed` run,
    /// lost the row `--results` had written for it.
    #[test]
    fn a_task_keeps_the_row_of_its_latest_finished_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.jsonl");
        let task = |seq: u64, exit: i32, extra: &str| {
            format!(
                "{{\"kind\":\"task\",\"seq\":{seq},\"hash\":\"{seq}\",\"cmd\":\"c{seq}\",\"exit\":{exit}{extra}}}\n"
            )
        };
        let run = "{\"kind\":\"run\"}\n";
        let resumed = "{\"kind\":\"run\",\"resume\":true}\n";
        let text = [
            run,
            &task(1, 1, ""),
            &task(2, 0, ""),
            resumed,
            &task(1, 0, ",\"cancelled\":true"),
            &task(3, 1, ",\"last_attempt\":false"),
        ]
        .concat();
        std::fs::write(&log, text).unwrap();
        let out = dir.path().join("t.tsv");
        assert_eq!(from_logs(&[log], &out, None).unwrap(), 2);
        let table = std::fs::read_to_string(&out).unwrap();
        let rows: Vec<(&str, &str)> = table
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0], f[6])
            })
            .collect();
        assert_eq!(rows, [("1", "1"), ("2", "0")], "{table}");
    }

    #[test]
    fn fields_are_quoted_as_gnu_parallel_quotes_them() {
        let q = |s: &str, sep: u8| {
            let mut b = Vec::new();
            field(s.as_bytes(), sep, &mut b);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(q("plain", b','), "plain");
        assert_eq!(q("a,b", b','), "\"a,b\"");
        assert_eq!(q("a,b", b'\t'), "a,b");
        assert_eq!(q("a b", b','), "\"a b\"");
        assert_eq!(q("a\nb", b','), "\"a\nb\"");
        assert_eq!(q("q\"x", b','), "\"q\"\"x\"");
        assert_eq!(q("a\tb", b'\t'), "\"a\tb\"");
        assert_eq!(q("", b','), "");
    }

    #[test]
    fn json_text_escapes_as_gnu_parallel() {
        let mut b = Vec::new();
        json_text(b"q\"x\\\n\x01\x7f\xc3\xa9", &mut b);
        assert_eq!(b, b"q\\\"x\\\\\\u000a\\u0001\x7f\xc3\xa9");
    }

    #[test]
    fn only_table_names_are_accepted() {
        for ok in ["a.csv", "A.CSV", "x/y.tsv", "r.json", "-.csv"] {
            assert!(Format::of(Path::new(ok)).is_ok(), "{ok}");
        }
        for bad in ["dir", "out/", "a.txt", "csv"] {
            let e = Format::of(Path::new(bad)).unwrap_err().to_string();
            assert!(e.contains("--output-dir"), "{e}");
        }
    }
}
