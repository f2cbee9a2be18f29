//! `hrun status LOG`: where a run stands, read from its log (also while hrun is appending
//! to it): tasks done, failed (named), running and left, elapsed time, ETA, the longest-running
//! tasks; whether the hrun that wrote it still runs (the log's lock, its pid) and how it
//! ended (the end record); the run's numbers once it has ended. Reads the log as a stream;
//! keeps the running tasks, the first failures, a fixed-size histogram of wall times, and a
//! byte per task for the totals over several logs (e.g. the shards of a multi-node job).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::exec::timeout::Median;
use crate::exit::UsageError;
use crate::log::read::Reader;
use crate::log::{EndSummary, Outcome, Record, RunRecord, StartRecord, TaskRecord, Verdict};
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
    pub end: Option<EndSummary>,
    /// Whether the hrun that wrote the run still runs (see [`Alive`]).
    pub alive: Alive,
    /// Unix seconds of the latest thing the log says happened (a start or an end of a task).
    pub last_seen: f64,
    /// Wall times of the tasks that ended this run (their last attempts).
    pub walls: Median,
    pub wall_max: f64,
    /// Their CPU use: CPU time / wall x 100 (`/usr/bin/time -v`'s "Percent of CPU").
    pub cpu_pcts: Median,
    /// Tasks in the whole task file (all shards), from the latest run record.
    pub file_tasks: Option<u64>,
    /// Each task's verdict over every run of the log, by task number - 1.
    pub verdicts: Vec<Verdict>,
    /// Which sweep the run was part of: its task file (or template and sources) and the
    /// file's number of tasks. Logs of one sweep (its shards) are summed; others are not.
    pub sweep: String,
    /// Sweeps the log held before this run's (runs without `--resume` start one): not
    /// counted here, and said, so that an earlier sweep does not vanish without a word.
    pub earlier_sweeps: u64,
    /// The run's tasks are jobs of a command template: named `job N`, as exec names them.
    pub jobs: bool,
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
            None => crate::messages::warning(format_args!("skipping {}: it holds no hrun run", shown(path))),
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
    let mut reader = Reader::open(path).map_err(UsageError)?;
    let mut reading = Reading::default();
    // A line being written right now, or torn by a crash, is skipped.
    while let Some(record) = reader.next_record()? {
        reading.take(record);
    }
    let Reading { latest, running, verdicts } = reading;
    let Some(mut st) = latest else { return Ok(None) };
    st.running = running.into_values().collect();
    st.verdicts = verdicts;
    st.running.sort_by(|a, b| a.start.total_cmp(&b.start));
    if st.end.is_none() {
        st.alive = alive(path, &st.host, st.pid);
    }
    Ok(Some(st))
}

/// What the records read so far say: the latest run, its attempts running, and every task's
/// verdict over all runs.
#[derive(Default)]
struct Reading {
    latest: Option<Status>,
    /// By (task, attempt).
    running: HashMap<(u64, u32), Running>,
    /// By task number - 1.
    verdicts: Vec<Verdict>,
}

impl Reading {
    fn take(&mut self, record: Record) {
        match record {
            Record::Run(run) => {
                self.running.clear();
                if !run.resume {
                    // A new sweep: the tasks of an earlier one are not this one's.
                    self.verdicts.clear();
                }
                let earlier = match &self.latest {
                    Some(before) => before.earlier_sweeps + u64::from(!run.resume),
                    None => 0,
                };
                self.latest = Some(Status { earlier_sweeps: earlier, ..Status::of_run(&run) });
            }
            Record::Start(start) => {
                if let Some(s) = self.latest.as_mut() {
                    s.last_seen = s.last_seen.max(start.start);
                }
                let StartRecord { seq, attempt, slot, cpus, cmd, start, .. } = start;
                self.running.insert((seq, attempt), Running { seq, slot, cpus, cmd, start });
            }
            Record::Task(task) => {
                self.running.remove(&(task.seq, task.attempt));
                self.settle(&task);
                if let Some(s) = self.latest.as_mut() {
                    s.add_task(&task);
                }
            }
            Record::End(end) => {
                if let Some(s) = self.latest.as_mut() {
                    s.end = Some(end);
                }
            }
            // status counts the task as ended; its output's loss is the run's error, in its end.
            Record::Lost(_) | Record::Other => {}
        }
    }

    /// The task's verdict, with what this attempt says.
    fn settle(&mut self, task: &TaskRecord) {
        let verdict = task.outcome().verdict();
        if verdict == Verdict::Open || task.seq == 0 || task.seq > MAX_TRACKED {
            return;
        }
        let i = (task.seq - 1) as usize;
        if self.verdicts.len() <= i {
            self.verdicts.resize(i + 1, Verdict::Open);
        }
        self.verdicts[i] = self.verdicts[i].max(verdict);
    }
}

/// Which sweep a run is part of: its task file (or template and sources) and the file's
/// number of tasks. Runs of one sweep (its shards, its resumed runs) share it; others do not.
pub(crate) fn sweep_key(run: &RunRecord) -> String {
    format!("{}\0{}\0{:?}", run.taskfile, run.template.as_deref().unwrap_or(""), run.file_tasks)
}

impl Status {
    /// A run that has just started, from its run record.
    fn of_run(run: &RunRecord) -> Status {
        Status {
            host: run.host.clone(),
            pid: run.pid,
            start: run.start,
            last_seen: run.start,
            shard: run.shard.clone(),
            total: run.tasks_total,
            already_done: run.already_done,
            file_tasks: run.file_tasks,
            sweep: sweep_key(run),
            jobs: run.template.is_some(),
            ..Status::default()
        }
    }

    /// A task record of this run: a success or a final failure counts, a retried or cancelled
    /// attempt does not.
    fn add_task(&mut self, task: &TaskRecord) {
        self.last_seen = self.last_seen.max(task.start + task.wall_s);
        match task.outcome() {
            Outcome::Succeeded => self.ok += 1,
            Outcome::Failed => {
                self.failed += 1;
                if self.failures.len() < FAILURES_SHOWN {
                    self.failures.push(FailedTask {
                        seq: task.seq,
                        status: task.status_and_timeout(),
                        cmd: task.cmd.clone(),
                    });
                }
            }
            Outcome::Retried | Outcome::Cancelled => return,
        }
        self.walls.add(task.wall_s);
        self.wall_max = self.wall_max.max(task.wall_s);
        if let (Some(pct), _) = crate::results::cpu_use(task) {
            self.cpu_pcts.add(pct);
        }
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
    // Logs of one sweep (shards of one task file, splits of it) in the order first seen.
    let mut sweeps: Vec<Vec<&(PathBuf, Status)>> = Vec::new();
    for log in logs {
        out += &format!("== {}\n{}", shown(&log.0), render(&log.1, now));
        match sweeps.iter_mut().find(|g| g[0].1.sweep == log.1.sweep) {
            Some(g) => g.push(log),
            None => sweeps.push(vec![log]),
        }
    }
    if let [one] = &sweeps[..] {
        out += &format!("== all {} logs: {}\n", logs.len(), totals(one));
        return out;
    }
    for g in sweeps.iter().filter(|g| g.len() > 1) {
        let names: Vec<String> = g.iter().map(|(p, _)| shown(p)).collect();
        out += &format!("== {} logs of one sweep ({}): {}\n", g.len(), names.join(", "), totals(g));
    }
    out += &format!(
        "== {} logs of {} different sweeps (task files or values): each is counted on its own, not summed\n",
        logs.len(),
        sweeps.len()
    );
    out
}

/// Totals per task over the logs of one sweep, every run included: a task counts once, ok if
/// any log has it ok.
fn totals(logs: &[&(PathBuf, Status)]) -> String {
    let mut merged: Vec<Verdict> = Vec::new();
    for (_, s) in logs {
        if merged.len() < s.verdicts.len() {
            merged.resize(s.verdicts.len(), Verdict::Open);
        }
        for (m, &o) in merged.iter_mut().zip(&s.verdicts) {
            *m = (*m).max(o);
        }
    }
    let ok = merged.iter().filter(|&&v| v == Verdict::Succeeded).count() as u64;
    let failed = merged.iter().filter(|&&v| v == Verdict::Failed).count() as u64;
    let mut running: Vec<u64> = logs
        .iter()
        .filter(|(_, s)| s.alive != Alive::Gone)
        .flat_map(|(_, s)| s.running.iter().map(|r| r.seq))
        .filter(|&seq| merged.get((seq - 1) as usize).is_none_or(|&v| v == Verdict::Open))
        .collect();
    running.sort_unstable();
    running.dedup();
    let finished = logs.iter().filter(|(_, s)| s.end.is_some()).count();
    let gone = logs.iter().filter(|(_, s)| s.alive == Alive::Gone).count();
    let mut out = format!("{} done ({ok} ok, {failed} failed), {} running", ok + failed, running.len());
    if let Some(total) = logs.iter().filter_map(|(_, s)| s.file_tasks).max() {
        let left = total.saturating_sub(ok + failed + running.len() as u64);
        out += &format!(", {left} left of {total}");
    }
    out += &format!("; {finished} of {} runs ended", logs.len());
    if gone > 0 {
        out += &format!(", {gone} not running without an end record");
    }
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
    if s.earlier_sweeps > 0 {
        lines.push(format!(
            "this log also holds {} before this one (a run without --resume starts a new sweep), not \
             counted here: hrun results --sweep N and hrun report show them",
            crate::text::count(s.earlier_sweeps, "earlier sweep")
        ));
    }
    if let Some(end) = &s.end {
        lines.push(numbers(s, end));
    }
    // As `hrun exec` names them (`Task::name`): `job 3` of a template, `task 3` of a task file.
    let noun = if s.jobs { "job" } else { "task" };
    if !s.failures.is_empty() {
        lines.push("failed:".into());
        for f in &s.failures {
            lines.push(format!(
                "  {:<11} {:<8} {}",
                format!("{noun} {}", f.seq),
                f.status,
                printable(&f.cmd)
            ));
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
                "  {:<11} slot {:<4} cpus {:<10} {:>9}  {}",
                format!("{noun} {}", r.seq),
                r.slot,
                printable(&r.cpus),
                age,
                printable(&r.cmd)
            ));
        }
    }
    if !live && (s.end.as_ref().is_none_or(|e| e.not_run + e.cancelled > 0 || e.rest_unread)) {
        let mut hint = "to run the rest: the same hrun exec command with --resume".to_string();
        // A task whose last finished attempt failed is not run by --resume; say how it is.
        let failed = s.verdicts.iter().filter(|&&v| v == Verdict::Failed).count();
        if failed > 0 {
            hint += &format!(" (--resume-failed also runs the {failed} task(s) that failed)");
        }
        lines.push(hint);
    }
    let prefix = s.shard.as_ref().map(|k| format!("shard {}: ", printable(k))).unwrap_or_default();
    lines.into_iter().map(|l| format!("{prefix}{l}\n")).collect()
}

/// `makespan 1.23 s, wall time median 0.50 s max 0.61 s, CPU per task median 398%, CPU
/// efficiency 98.5%, 0 not run`.
fn numbers(s: &Status, end: &EndSummary) -> String {
    let mut line = format!("makespan {:.2} s", end.makespan_s);
    if let Some(median) = s.walls.median() {
        line += &format!(", wall time median {median:.2} s max {:.2} s", s.wall_max);
    }
    if let Some(pct) = s.cpu_pcts.median() {
        line += &format!(", CPU per task median {pct:.0}%");
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
            end: Some(EndSummary {
                exit,
                stopped_by: stopped_by.map(String::from),
                makespan_s: 2.5,
                cpu_efficiency: 0.5,
                not_run: 4,
                end: Some(103.0),
                ..EndSummary::default()
            }),
            shard: Some("2/3".into()),
            ..Status::default()
        }
    }

    /// Issue 17: status counted a task whose attempt exited 0 after its `--timeout` as ok
    /// (the run's summary as failed), and its retried attempt too: "6 done (4 ok, 2 failed)"
    /// of 5 tasks. A cancelled attempt that exited 0 is not done either.
    #[test]
    fn tasks_are_counted_by_the_outcome_of_their_records() {
        let task = |seq: u64, attempt: u32, extra: &str| {
            format!(
                "{{\"kind\":\"task\",\"seq\":{seq},\"attempt\":{attempt},\"cmd\":\"c{seq}\",\"exit\":0,\"start\":101,\"wall_s\":1{extra}}}\n"
            )
        };
        let log = [
            "{\"kind\":\"run\",\"host\":\"n1\",\"pid\":1,\"start\":100,\"tasks_total\":3}\n".to_string(),
            task(1, 1, ",\"timeout\":true,\"last_attempt\":false"),
            task(1, 2, ",\"timeout\":true"),
            task(2, 1, ""),
            task(3, 1, ",\"cancelled\":true"),
            "{\"kind\":\"end\",\"cancelled\":1,\"exit\":1,\"end\":103}\n".to_string(),
        ]
        .concat();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, log).unwrap();
        let s = read(&p).unwrap();
        assert_eq!((s.ok, s.failed, s.left(3)), (1, 1, 1));
        assert_eq!(s.failures, [FailedTask { seq: 1, status: "exit 0 (timeout)".into(), cmd: "c1".into() }]);
        assert_eq!(s.verdicts, [Verdict::Failed, Verdict::Succeeded], "task 3 is open");
        assert_eq!(s.end.as_ref().map(|e| e.cancelled), Some(1));
        // --resume runs task 3; task 1 failed, which only --resume-failed runs again.
        assert!(
            render(&s, 1e9).ends_with(
                "to run the rest: the same hrun exec command with --resume \
                 (--resume-failed also runs the 1 task(s) that failed)\n"
            ),
            "{}",
            render(&s, 1e9)
        );
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
