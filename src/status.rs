//! `hrun status LOG`: where a run stands, read from its log (also while hrun is appending
//! to it): tasks done, failed, running and left, elapsed time, ETA, the longest-running
//! tasks. Reads the log as a stream; keeps the running tasks, and a byte per task for the
//! totals over several logs (e.g. the shards of a multi-node job).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;

use crate::exit::UsageError;
use crate::text::printable;

/// The latest run of a log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub host: String,
    pub pid: u32,
    pub start: f64,
    pub total: Option<u64>,
    pub already_done: u64,
    pub ok: u64,
    pub failed: u64,
    /// (seq, attempt) -> (slot, cpus, cmd, start)
    pub running: Vec<Running>,
    /// Set once the run has ended.
    pub end: Option<f64>,
    /// Tasks in the whole task file (all shards), from the latest run record.
    pub file_tasks: Option<u64>,
    /// By task number - 1, over every run of the log: 0 no final outcome, 1 failed, 2 ok.
    pub outcomes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    pub seq: u64,
    pub slot: usize,
    pub cpus: String,
    pub cmd: String,
    pub start: f64,
}

#[derive(Deserialize)]
struct Line {
    kind: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    pid: u32,
    #[serde(default)]
    start: f64,
    #[serde(default)]
    tasks_total: Option<u64>,
    #[serde(default)]
    already_done: u64,
    #[serde(default)]
    file_tasks: Option<u64>,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    attempt: u32,
    #[serde(default)]
    slot: usize,
    #[serde(default)]
    cpus: String,
    #[serde(default)]
    cmd: String,
    #[serde(default)]
    exit: Option<i32>,
    #[serde(default = "yes")]
    last_attempt: bool,
    /// A flag in task records, a count in end records.
    #[serde(default)]
    cancelled: serde_json::Value,
    #[serde(default)]
    end: Option<f64>,
}

fn yes() -> bool {
    true
}

/// Reads the log and returns the state of its latest run.
pub fn read(path: &Path) -> Result<Status> {
    read_latest(path)?.ok_or_else(|| UsageError(anyhow!("{} holds no hrun run", shown(path))).into())
}

/// Several logs (a directory of shard logs): one holding no run (an empty log, left by a run
/// that failed to start) is skipped with a warning naming it, unless none holds one.
pub fn read_many(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Status)>> {
    if let [one] = paths {
        return Ok(vec![(one.clone(), read(one)?)]);
    }
    let mut states = Vec::new();
    for path in paths {
        match read_latest(path)? {
            Some(s) => states.push((path.clone(), s)),
            None => eprintln!("hrun: warning: skipping {}: it holds no hrun run", shown(path)),
        }
    }
    if states.is_empty() {
        return Err(UsageError(anyhow!("none of the {} logs holds an hrun run", paths.len())).into());
    }
    Ok(states)
}

fn shown(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

/// The state of the log's latest run; `None` if it holds none.
fn read_latest(path: &Path) -> Result<Option<Status>> {
    let file = crate::log::read::open(path).map_err(UsageError)?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut buf = Vec::new();
    let mut st: Option<Status> = None;
    let mut running: HashMap<(u64, u32), Running> = HashMap::new();
    let mut outcomes: Vec<u8> = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).context("reading the run log")? == 0 {
            break;
        }
        // A line being written right now, or torn by a crash: skip it.
        let Ok(l) = serde_json::from_slice::<Line>(&buf) else { continue };
        match l.kind.as_str() {
            "run" => {
                running.clear();
                st = Some(Status {
                    host: l.host,
                    pid: l.pid,
                    start: l.start,
                    total: l.tasks_total,
                    already_done: l.already_done,
                    file_tasks: l.file_tasks,
                    ..Status::default()
                });
            }
            "start" => {
                running.insert(
                    (l.seq, l.attempt),
                    Running { seq: l.seq, slot: l.slot, cpus: l.cpus, cmd: l.cmd, start: l.start },
                );
            }
            "task" => {
                running.remove(&(l.seq, l.attempt));
                let cancelled = l.cancelled == serde_json::Value::Bool(true);
                let outcome = match (l.exit, l.last_attempt, cancelled) {
                    (Some(0), _, _) => 2,
                    (_, true, false) => 1,
                    _ => 0,
                };
                if outcome > 0 && l.seq > 0 && l.seq <= MAX_TRACKED {
                    let i = (l.seq - 1) as usize;
                    if outcomes.len() <= i {
                        outcomes.resize(i + 1, 0);
                    }
                    outcomes[i] = outcomes[i].max(outcome);
                }
                if let Some(s) = st.as_mut() {
                    match (l.exit, l.last_attempt, l.cancelled == serde_json::Value::Bool(true)) {
                        (Some(0), _, _) => s.ok += 1,
                        (_, true, false) => s.failed += 1,
                        _ => {}
                    }
                }
            }
            "end" => {
                if let Some(s) = st.as_mut() {
                    s.end = l.end;
                }
            }
            _ => {}
        }
    }
    let Some(mut st) = st else { return Ok(None) };
    st.running = running.into_values().collect();
    st.outcomes = outcomes;
    st.running.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(Some(st))
}

/// `h:mm:ss`.
fn clock(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Task numbers beyond this are not tracked for the totals (memory: a byte per task).
const MAX_TRACKED: u64 = 1 << 28;

/// Several logs (e.g. one per shard of a multi-node job, or of two jobs that split the same
/// file differently): each log's report under its name, then totals per task over all of
/// them, every run included: a task counts once, ok if any log has it ok.
pub fn render_many(logs: &[(PathBuf, Status)], now: f64) -> String {
    if let [(_, s)] = logs {
        return render(s, now);
    }
    let mut out = String::new();
    let mut merged: Vec<u8> = Vec::new();
    for (path, s) in logs {
        out += &format!("== {}\n{}", shown(path), render(s, now));
        if merged.len() < s.outcomes.len() {
            merged.resize(s.outcomes.len(), 0);
        }
        for (m, &o) in merged.iter_mut().zip(&s.outcomes) {
            *m = (*m).max(o);
        }
    }
    let ok = merged.iter().filter(|&&o| o == 2).count() as u64;
    let failed = merged.iter().filter(|&&o| o == 1).count() as u64;
    let mut running: Vec<u64> = logs
        .iter()
        .flat_map(|(_, s)| s.running.iter().map(|r| r.seq))
        .filter(|&seq| merged.get((seq - 1) as usize).is_none_or(|&o| o == 0))
        .collect();
    running.sort_unstable();
    running.dedup();
    let finished = logs.iter().filter(|(_, s)| s.end.is_some()).count();
    out += &format!(
        "== all {} logs: {} done ({ok} ok, {failed} failed), {} running",
        logs.len(),
        ok + failed,
        running.len()
    );
    if let Some(total) = logs.iter().filter_map(|(_, s)| s.file_tasks).max() {
        let left = total.saturating_sub(ok + failed + running.len() as u64);
        out += &format!(", {left} left of {total}");
    }
    out += &format!("; {finished} of {} runs finished\n", logs.len());
    out
}

impl Status {
    /// Tasks of `total` neither done before, nor done or running now.
    fn left(&self, total: u64) -> u64 {
        total.saturating_sub(self.already_done + self.ok + self.failed + self.running.len() as u64)
    }
}

/// The report, as of `now` (Unix seconds).
pub fn render(s: &Status, now: f64) -> String {
    let done = s.ok + s.failed;
    let elapsed = s.end.unwrap_or(now) - s.start;
    let state = if s.end.is_some() { "finished" } else { "running" };
    let mut out =
        format!("run on {} (pid {}), {state}, elapsed {}\n", printable(&s.host), s.pid, clock(elapsed));
    let mut line =
        format!("tasks: {done} done ({} ok, {} failed), {} running", s.ok, s.failed, s.running.len());
    if let Some(total) = s.total {
        let left = s.left(total);
        line += &format!(", {left} left of {total}");
        if s.already_done > 0 {
            line += &format!(" ({} already done before this run)", s.already_done);
        }
        if s.end.is_none() && done > 0 && left + s.running.len() as u64 > 0 {
            let per_task = elapsed / done as f64;
            let slots = s.running.len().max(1) as f64;
            line += &format!(", ETA {}", clock(per_task * (left as f64 + s.running.len() as f64 / slots)));
        }
    }
    out += &line;
    out.push('\n');
    if !s.running.is_empty() {
        out += "longest running:\n";
        for r in s.running.iter().take(5) {
            out += &format!(
                "  task {:<6} slot {:<4} cpus {:<10} {:>9}  {}\n",
                r.seq,
                r.slot,
                printable(&r.cpus),
                clock(now - r.start),
                printable(&r.cmd)
            );
        }
    }
    out
}
