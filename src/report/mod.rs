//! `hrun report LOG`: a self-contained HTML page (inline CSS and SVG, no network) of every run
//! of the logs: the resume history (an interrupted run and its resume), and the shards of a
//! multi-node job side by side. `mod.rs` reads the logs; `page` draws the page; `kinds` groups
//! identical tasks and says what their spread of wall times shows; `pi` finds the worker
//! results the tasks wrote.

mod kinds;
mod page;
mod pi;

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;

use crate::exit::UsageError;
use crate::log::read::EndOutcome;
pub use page::render;

/// The fields of a task record the report uses: one bar of a timeline.
#[derive(Clone, Debug, Deserialize)]
pub struct Bar {
    pub seq: u64,
    pub slot: usize,
    pub cpus: String,
    pub cmd: String,
    pub start: f64,
    pub wall_s: f64,
    pub exit: Option<i32>,
    pub signal_name: Option<String>,
    #[serde(default)]
    pub timeout: bool,
    #[serde(default)]
    pub cancelled: bool,
    #[serde(default)]
    pub leaked: bool,
    #[serde(default)]
    pub attempt: u32,
    #[serde(default = "yes")]
    pub last_attempt: bool,
    pub utime_s: f64,
    pub stime_s: f64,
    pub maxrss_kb: u64,
    /// The run it belongs to (an index into [`Report::runs`]).
    #[serde(skip)]
    pub run: usize,
}

fn yes() -> bool {
    true
}

impl Bar {
    /// CPU time over the CPU time its slot offered while it ran: (user + sys) / (wall x T).
    pub fn cpu_efficiency(&self, threads: usize) -> f64 {
        let offered = self.wall_s * threads.max(1) as f64;
        if offered > 0.0 { (self.utime_s + self.stime_s) / offered } else { 0.0 }
    }

    /// A failed last attempt that hrun did not cut short.
    pub fn failed_finally(&self) -> bool {
        self.last_attempt && !self.cancelled && self.exit != Some(0)
    }
}

/// The run record's fields the report uses.
#[derive(Clone, Debug, Deserialize)]
pub struct RunHead {
    pub host: String,
    pub threads: usize,
    pub slots: Vec<SlotHead>,
    #[serde(default)]
    pub start: f64,
    #[serde(default)]
    pub shard: Option<String>,
    #[serde(default)]
    pub sharing: Option<crate::log::Sharing>,
    #[serde(default)]
    pub slurm: Option<crate::log::SlurmInfo>,
    #[serde(default)]
    pub file_tasks: Option<u64>,
    #[serde(default)]
    pub resume: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SlotHead {
    pub slot: usize,
    pub cpus: String,
}

/// One run of one log: its record, its end record (if it ended), where its log is.
#[derive(Clone, Debug)]
pub struct RunPart {
    pub head: RunHead,
    pub end: Option<EndOutcome>,
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

/// Reads every run of each log (several: e.g. the shards of a multi-node job). One empty log
/// among several (a run that failed to start) is skipped with a warning.
pub fn read(paths: &[PathBuf]) -> Result<Report> {
    let mut all = Report { runs: Vec::new(), bars: Vec::new(), logs: paths.len() };
    let mut skipped = 0;
    for (i, path) in paths.iter().enumerate() {
        let shown = crate::text::printable(&path.display().to_string()).into_owned();
        let before = all.runs.len();
        read_one(path, i, &mut all)?;
        if all.runs.len() == before {
            // One empty log among several (a run that failed to start) hides nothing else.
            if paths.len() == 1 {
                return Err(UsageError(anyhow!("{shown} holds no hrun run")).into());
            }
            eprintln!("hrun: warning: skipping {shown}: it holds no hrun run");
            skipped += 1;
        }
    }
    if skipped == paths.len() {
        return Err(UsageError(anyhow!("none of the {skipped} logs holds an hrun run")).into());
    }
    Ok(all)
}

/// Every run of a log, appended to `all`.
fn read_one(path: &Path, log: usize, all: &mut Report) -> Result<()> {
    let mut text = String::new();
    crate::log::read::open(path)
        .and_then(|mut f| {
            f.read_to_string(&mut text).with_context(|| format!("cannot read run log {}", path.display()))
        })
        .map_err(UsageError)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let first = all.runs.len();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        match v["kind"].as_str() {
            Some("run") => {
                if let Ok(head) = serde_json::from_value(v) {
                    all.runs.push(RunPart { head, end: None, log, dir: dir.clone() });
                }
            }
            Some("task") if all.runs.len() > first => {
                if let Ok(mut b) = serde_json::from_value::<Bar>(v) {
                    b.run = all.runs.len() - 1;
                    all.bars.push(b);
                }
            }
            Some("end") if all.runs.len() > first => {
                all.runs.last_mut().expect("a run").end = serde_json::from_value(v).ok();
            }
            _ => {}
        }
    }
    Ok(())
}
