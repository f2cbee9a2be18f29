//! `hrun report LOG`: a self-contained HTML page (inline CSS and SVG, no network) of every run
//! of the logs: the resume history (an interrupted run and its resume), and the shards of a
//! multi-node job side by side. `mod.rs` reads the logs; `page` draws the page; `kinds` groups
//! identical tasks and says what their spread of wall times shows; `pi` finds the worker
//! results the tasks wrote.

mod kinds;
mod page;
mod pi;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::exit::UsageError;
use crate::log::read::Reader;
use crate::log::{EndSummary, Outcome, Record, RunRecord, TaskRecord, Usage};
pub use page::render;

/// One task attempt: a bar of a timeline. What the page shows of its task record.
#[derive(Clone, Debug)]
pub struct Bar {
    pub seq: u64,
    pub slot: usize,
    pub attempt: u32,
    pub cpus: String,
    pub cmd: String,
    pub start: f64,
    pub wall_s: f64,
    /// `exit 3`, or the signal's name.
    pub status: String,
    pub outcome: Outcome,
    pub timeout: bool,
    pub leaked: bool,
    pub utime_s: f64,
    pub stime_s: f64,
    pub maxrss_kb: u64,
    /// The run it belongs to (an index into [`Report::runs`]).
    pub run: usize,
}

impl Bar {
    fn of(task: TaskRecord, run: usize) -> Bar {
        Bar {
            status: task.status(),
            outcome: task.outcome(),
            seq: task.seq,
            slot: task.slot,
            attempt: task.attempt,
            cpus: task.cpus,
            cmd: task.cmd,
            start: task.start,
            wall_s: task.wall_s,
            timeout: task.timeout,
            leaked: task.leaked,
            utime_s: task.rusage.utime_s,
            stime_s: task.rusage.stime_s,
            maxrss_kb: task.rusage.maxrss_kb,
            run,
        }
    }

    /// User + system CPU seconds.
    pub fn cpu_s(&self) -> f64 {
        self.utime_s + self.stime_s
    }

    /// CPU time over the CPU time its slot of `threads` CPUs offered while it ran.
    pub fn cpu_efficiency(&self, threads: usize) -> f64 {
        let mut usage = Usage::default();
        usage.add(self.wall_s, self.cpu_s(), threads.max(1));
        usage.cpu_efficiency()
    }
}

/// One run of one log: its record, its end record (if it ended), where its log is.
#[derive(Clone, Debug)]
pub struct RunPart {
    pub head: RunRecord,
    pub end: Option<EndSummary>,
    /// Which of the logs (an index into the paths given).
    pub log: usize,
    /// The log's directory: a relative worker result path is looked for from there.
    pub dir: PathBuf,
}

impl RunPart {
    /// The node it ran on, as Slurm names it (else the host name).
    pub fn node(&self) -> &str {
        self.head.slurm.as_ref().and_then(|s| s.node.as_deref()).unwrap_or(&self.head.host)
    }
}

/// Every run of every log, and every task attempt of them.
pub struct Report {
    pub runs: Vec<RunPart>,
    pub bars: Vec<Bar>,
    /// How many logs were read.
    pub logs: usize,
}

/// Where the page goes: `-o`, else beside the log (`run.jsonl` -> `run.html`), else
/// `report.html` beside the first of several. Never one of the logs being read, whichever way
/// it was named (a log called `run.html`, or `report.html` among several, is refused).
pub fn output_path(logs: &[PathBuf], output: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(out) = output {
        crate::same_file::refuse_over_logs(logs, "-o", &out)?;
        return Ok(out);
    }
    let path: PathBuf = match logs {
        [one] => one.with_extension("html"),
        [first, ..] => first.with_file_name("report.html"),
        [] => "report.html".into(),
    };
    if crate::same_file::refuse_over_logs(logs, "-o", &path).is_err() {
        return Err(UsageError(anyhow!(
            "the report would go to {}, which is a run log being read; name the page with -o",
            crate::text::printable(&path.display().to_string())
        ))
        .into());
    }
    Ok(path)
}

/// Writes the page to `path`, claimed as hrun claims its outputs: a file another live hrun
/// writes (its run log, joblog or table) is refused with its pid, and nothing changes.
pub fn write_page(path: &std::path::Path, page: &str) -> Result<()> {
    use std::io::Write;
    let kind = crate::log::claim::Kind::Stream;
    let mut claimed =
        crate::log::claim::claim_all(&[("-o", path, kind)]).map_err(|e| UsageError(anyhow!(e)))?;
    let claimed = claimed.remove(0);
    let shown = crate::text::printable(&path.display().to_string()).into_owned();
    claimed
        .truncate()
        .and_then(|()| (&claimed.file).write_all(page.as_bytes()))
        .map_err(|e| anyhow!("cannot write report {shown}: {e}"))
}

/// Reads every run of each log (several: e.g. the shards of a multi-node job). One empty log
/// among several (a run that failed to start) is skipped with a warning.
pub fn read(paths: &[PathBuf]) -> Result<Report> {
    let mut all = Report { runs: Vec::new(), bars: Vec::new(), logs: paths.len() };
    let mut skipped = 0;
    for (i, path) in paths.iter().enumerate() {
        let shown = crate::text::printable(&path.display().to_string()).into_owned();
        let before = all.runs.len();
        read_one(path, i, &mut all).map_err(UsageError)?;
        if all.runs.len() == before {
            // One empty log among several (a run that failed to start) hides nothing else.
            if paths.len() == 1 {
                return Err(UsageError(anyhow!("{shown} holds no hrun run")).into());
            }
            crate::messages::warning(format_args!("skipping {shown}: it holds no hrun run"));
            skipped += 1;
        }
    }
    if skipped == paths.len() {
        return Err(UsageError(anyhow!("none of the {skipped} logs holds an hrun run")).into());
    }
    Ok(all)
}

/// Every run of a log, appended to `all`; records before the log's first run are left out.
fn read_one(path: &Path, log: usize, all: &mut Report) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let first = all.runs.len();
    let mut reader = Reader::open(path)?;
    while let Some(record) = reader.next_record()? {
        let ours = all.runs.len() > first;
        match record {
            Record::Run(head) => all.runs.push(RunPart { head: *head, end: None, log, dir: dir.clone() }),
            Record::Task(task) if ours => all.bars.push(Bar::of(*task, all.runs.len() - 1)),
            Record::End(end) if ours => all.runs.last_mut().expect("a run").end = Some(end),
            _ => {}
        }
    }
    Ok(())
}
