//! `hrun status LOG`: where a run stands, read from its log (also while hrun is appending
//! to it): tasks done, failed (named), running and left, elapsed time, ETA, the longest-running
//! tasks; whether the hrun that wrote it still runs (the log's lock, its pid) and how it
//! ended (the end record); the run's numbers once it has ended. Reads the log as a stream;
//! keeps the running tasks, the first failures, a fixed-size histogram of wall times, and a
//! byte per task for the totals over several logs (e.g. the shards of a multi-node job).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;

use crate::exec::timeout::Median;
use crate::exit::UsageError;
use crate::log::read::EndOutcome;
use crate::text::printable;

/// Failed tasks named one by one; the rest are counted.
pub const FAILURES_SHOWN: usize = 10;

/// The latest run of a log.
#[derive(Clone, Debug, Default)]
pub struct Status {
    pub host: String,
    pub pid: u32,
    pub start: f64,
    /// `K/N` when the run was one shard of its task file.
    pub shard: Option<String>,
    pub total: Option<u64>,
    pub already_done: u64,
    pub ok: u64,
    pub failed: u64,
    /// The first [`FAILURES_SHOWN`] tasks whose last attempt failed, this run.
    pub failures: Vec<FailedTask>,
    pub running: Vec<Running>,
    /// The run's end record, once it has ended.
    pub end: Option<EndOutcome>,
    /// Whether the hrun that wrote the run still runs (see [`Alive`]).
    pub alive: Alive,
    /// Unix seconds of the latest thing the log says happened (a start or an end of a task).
    pub last_seen: f64,
    /// Wall times of the tasks that ended this run (their last attempts).
    pub walls: Median,
    pub wall_max: f64,
    /// Tasks in the whole task file (all shards), from the latest run record.
    pub file_tasks: Option<u64>,
    /// By task number - 1, over every run of the log: 0 no final outcome, 1 failed, 2 ok.
    pub outcomes: Vec<u8>,
}

/// Whether the hrun of a run without an end record is still there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Alive {
    /// The run has an end record: nothing to check.
    #[default]
    Ended,
    /// An hrun holds the log's lock (or, where the lock cannot be probed, its pid lives on
    /// this host).
    Running,
    /// No hrun holds the lock (or its pid is gone from this host): killed, or its node died.
    Gone,
    /// Neither can be checked from here (no `flock` on this file system, another host).
    Unknown,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    pub seq: u64,
    pub slot: usize,
    pub cpus: String,
    pub cmd: String,
    pub start: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FailedTask {
    pub seq: u64,
    /// `exit 1` or the signal's name.
    pub status: String,
    pub cmd: String,
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
    shard: Option<String>,
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
    #[serde(default)]
    signal_name: Option<String>,
    #[serde(default)]
    wall_s: f64,
    #[serde(default = "yes")]
    last_attempt: bool,
    /// A flag in task records, a count in end records.
    #[serde(default)]
    cancelled: serde_json::Value,
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
                    last_seen: l.start,
                    shard: l.shard,
                    total: l.tasks_total,
                    already_done: l.already_done,
                    file_tasks: l.file_tasks,
                    ..Status::default()
                });
            }
            "start" => {
                if let Some(s) = st.as_mut() {
                    s.last_seen = s.last_seen.max(l.start);
                }
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
                    s.add_task(&l, outcome);
                }
            }
            "end" => {
                if let Some(s) = st.as_mut() {
                    s.end = Some(serde_json::from_slice(&buf).unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    let Some(mut st) = st else { return Ok(None) };
    st.running = running.into_values().collect();
    st.outcomes = outcomes;
    st.running.sort_by(|a, b| a.start.total_cmp(&b.start));
    if st.end.is_none() {
        st.alive = alive(path, &st.host, st.pid);
    }
    Ok(Some(st))
}

impl Status {
    /// A task record of this run; `outcome` 2 ok, 1 failed, 0 neither (retried, cancelled).
    fn add_task(&mut self, l: &Line, outcome: u8) {
        self.last_seen = self.last_seen.max(l.start + l.wall_s);
        match outcome {
            2 => self.ok += 1,
            1 => {
                self.failed += 1;
                if self.failures.len() < FAILURES_SHOWN {
                    let status = match (l.exit, &l.signal_name) {
                        (Some(code), _) => format!("exit {code}"),
                        (None, Some(sig)) => sig.clone(),
                        (None, None) => "killed".into(),
                    };
                    self.failures.push(FailedTask { seq: l.seq, status, cmd: l.cmd.clone() });
                }
            }
            _ => return,
        }
        self.walls.add(l.wall_s);
        self.wall_max = self.wall_max.max(l.wall_s);
    }

    /// Tasks of `total` neither done before, nor done or running now.
    fn left(&self, total: u64) -> u64 {
        total.saturating_sub(self.already_done + self.ok + self.failed + self.running.len() as u64)
    }
}

/// Whether the hrun (`pid` on `host`) of a run without an end record still runs: the log's
/// lock says so for any host whose file system passes `flock` on; where it cannot be probed,
/// `/proc/<pid>` says so on the same host.
fn alive(path: &Path, host: &str, pid: u32) -> Alive {
    match crate::log::read::writer_holds_lock(path) {
        Ok(true) => Alive::Running,
        Ok(false) => Alive::Gone,
        Err(_) if host == crate::sys::hostname() => {
            if Path::new(&format!("/proc/{pid}")).exists() {
                Alive::Running
            } else {
                Alive::Gone
            }
        }
        Err(_) => Alive::Unknown,
    }
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
        .filter(|(_, s)| s.alive != Alive::Gone)
        .flat_map(|(_, s)| s.running.iter().map(|r| r.seq))
        .filter(|&seq| merged.get((seq - 1) as usize).is_none_or(|&o| o == 0))
        .collect();
    running.sort_unstable();
    running.dedup();
    let finished = logs.iter().filter(|(_, s)| s.end.is_some()).count();
    let gone = logs.iter().filter(|(_, s)| s.alive == Alive::Gone).count();
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
    out += &format!("; {finished} of {} runs ended", logs.len());
    if gone > 0 {
        out += &format!(", {gone} not running without an end record");
    }
    out.push('\n');
    out
}

/// What the run is doing, or how it ended.
fn state(s: &Status) -> String {
    match (&s.end, s.alive) {
        (Some(end), _) => end.how(),
        (None, Alive::Running | Alive::Ended) => "running".into(),
        (None, Alive::Gone) => format!("not running (hrun pid {} is gone)", s.pid),
        (None, Alive::Unknown) => format!(
            "no end record (whether hrun pid {} on {} still runs cannot be checked from here)",
            s.pid,
            printable(&s.host)
        ),
    }
}

/// The report, as of `now` (Unix seconds). Each line starts with the run's shard (`shard
/// 2/3: `) when it was one.
pub fn render(s: &Status, now: f64) -> String {
    let done = s.ok + s.failed;
    let live = s.end.is_none() && s.alive != Alive::Gone;
    let until = match (&s.end, live) {
        (Some(e), _) => e.end.unwrap_or(s.last_seen),
        (None, true) => now,
        (None, false) => s.last_seen,
    };
    let mut lines = Vec::new();
    let elapsed = until - s.start;
    let mut head =
        format!("run on {} (pid {}), {}, elapsed {}", printable(&s.host), s.pid, state(s), clock(elapsed));
    if !live && s.end.is_none() {
        head += " until its last record";
    }
    lines.push(head);
    let gone = s.end.is_none() && s.alive == Alive::Gone;
    let running = if gone { "started, never ended (no record)" } else { "running" };
    let mut line =
        format!("tasks: {done} done ({} ok, {} failed), {} {running}", s.ok, s.failed, s.running.len());
    if let Some(total) = s.total {
        let left = s.left(total);
        line += &format!(", {left} left of {total}");
        if s.already_done > 0 {
            line += &format!(" ({} already done before this run)", s.already_done);
        }
        if live && done > 0 && left + s.running.len() as u64 > 0 {
            let per_task = elapsed / done as f64;
            let slots = s.running.len().max(1) as f64;
            line += &format!(", ETA {}", clock(per_task * (left as f64 + s.running.len() as f64 / slots)));
        }
    }
    lines.push(line);
    if let Some(end) = &s.end {
        lines.push(numbers(s, end));
    }
    if !s.failures.is_empty() {
        lines.push("failed:".into());
        for f in &s.failures {
            lines.push(format!("  task {:<6} {:<8} {}", f.seq, f.status, printable(&f.cmd)));
        }
        if s.failed > s.failures.len() as u64 {
            lines.push(format!("  and {} more", s.failed - s.failures.len() as u64));
        }
    }
    if !s.running.is_empty() {
        lines.push(if live { "longest running:" } else { "running when hrun stopped:" }.into());
        for r in s.running.iter().take(5) {
            let age = if live { clock(now - r.start) } else { String::new() };
            lines.push(format!(
                "  task {:<6} slot {:<4} cpus {:<10} {:>9}  {}",
                r.seq,
                r.slot,
                printable(&r.cpus),
                age,
                printable(&r.cmd)
            ));
        }
    }
    if !live && (s.end.as_ref().is_none_or(|e| e.not_run + e.cancelled > 0 || e.rest_unread)) {
        lines.push("to run the rest: the same hrun exec command with --resume".into());
    }
    let prefix = s.shard.as_ref().map(|k| format!("shard {}: ", printable(k))).unwrap_or_default();
    lines.into_iter().map(|l| format!("{prefix}{l}\n")).collect()
}

/// `makespan 1.23 s, wall time median 0.50 s max 0.61 s, CPU efficiency 98.5%, 0 not run`.
fn numbers(s: &Status, end: &EndOutcome) -> String {
    let mut line = format!("makespan {:.2} s", end.makespan_s);
    if let Some(median) = s.walls.median() {
        line += &format!(", wall time median {median:.2} s max {:.2} s", s.wall_max);
    }
    line += &format!(", CPU efficiency {:.1}%, {} not run", 100.0 * end.cpu_efficiency, end.not_run);
    if end.cancelled > 0 {
        line += &format!(", {} cancelled", end.cancelled);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(exit: i32, stopped_by: Option<&str>) -> Status {
        Status {
            host: "n1".into(),
            pid: 9,
            start: 100.0,
            ok: 3,
            failed: 12,
            failures: (1..=10)
                .map(|i| FailedTask { seq: i, status: "exit 1".into(), cmd: format!("false {i}\u{1b}") })
                .collect(),
            end: Some(EndOutcome {
                exit,
                stopped_by: stopped_by.map(String::from),
                makespan_s: 2.5,
                cpu_efficiency: 0.5,
                not_run: 4,
                end: Some(103.0),
                ..EndOutcome::default()
            }),
            shard: Some("2/3".into()),
            ..Status::default()
        }
    }

    #[test]
    fn how_a_run_ended_is_said_from_its_end_record() {
        for (exit, by, says) in [
            (0, None, "finished"),
            (130, None, "interrupted by SIGINT"),
            (143, None, "interrupted by SIGTERM"),
            (129, None, "interrupted by SIGHUP"),
            (102, Some("SIGUSR1 (drain)"), "drained (SIGUSR1)"),
            (102, Some("the deadline 12:00:00 (slurm)"), "stopped at the deadline 12:00:00 (slurm)"),
            (141, Some("standard output closed"), "stopped: standard output closed"),
        ] {
            let text = render(&ended(exit, by), 1e9);
            assert!(
                text.starts_with(&format!("shard 2/3: run on n1 (pid 9), {says}, elapsed 0:00:03\n")),
                "{text}"
            );
        }
    }

    #[test]
    fn failures_are_named_up_to_ten_and_counted_beyond() {
        let text = render(&ended(12, None), 1e9);
        assert!(
            text.contains("shard 2/3: failed:\nshard 2/3:   task 1      exit 1   false 1\\x1b\n"),
            "{text}"
        );
        assert!(
            text.contains("shard 2/3:   task 10     exit 1   false 10\\x1b\nshard 2/3:   and 2 more\n"),
            "{text}"
        );
        assert!(text.contains("shard 2/3: makespan 2.50 s, CPU efficiency 50.0%, 4 not run\n"), "{text}");
        assert!(
            text.ends_with("shard 2/3: to run the rest: the same hrun exec command with --resume\n"),
            "{text}"
        );
    }

    #[test]
    fn a_run_whose_hrun_is_gone_is_not_running() {
        let s = Status {
            host: "n1".into(),
            pid: 77,
            start: 100.0,
            last_seen: 160.0,
            alive: Alive::Gone,
            total: Some(3),
            running: vec![Running {
                seq: 2,
                slot: 1,
                cpus: "0".into(),
                cmd: "sleep 99".into(),
                start: 101.0,
            }],
            ..Status::default()
        };
        let text = render(&s, 1e9);
        assert!(
            text.starts_with("run on n1 (pid 77), not running (hrun pid 77 is gone), elapsed 0:01:00 until its last record\n"),
            "{text}"
        );
        assert!(
            text.contains("0 done (0 ok, 0 failed), 1 started, never ended (no record), 2 left of 3\n"),
            "{text}"
        );
        assert!(!text.contains("ETA"), "{text}");
        assert!(text.contains("running when hrun stopped:\n"), "{text}");
    }
}
