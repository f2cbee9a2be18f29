//! `--resume` / `--resume-failed`: which tasks of the task file the log already holds.
//!
//! A task is identified by its command (the `hash` in the log) and which copy of that command
//! it is (`occurrence`), not by its number: inserting, removing or reordering lines of a task
//! file, or adding values to a template's sources, runs only the new tasks. As GNU parallel:
//! - `--resume` skips every task that finished: succeeded, or failed on its last attempt;
//! - `--resume-failed` skips only tasks that succeeded, so failed ones run again.
//!
//! Either way a task runs again when the log has no record of it, or only records of attempts
//! that hrun itself cut short (`cancelled`: killed on SIGTERM/SIGINT or `--halt now`) or that
//! were to be retried: what each record says is [`TaskRecord::outcome`], the rule every reader
//! of the log shares. Records are never rewritten: the log only grows.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Result, anyhow};

use crate::exit::UsageError;
use crate::input::{InputError, TaskSpec, TaskStream};
use crate::log::read;
use crate::log::{Outcome, Record, TaskRecord, Verdict};
use crate::task::Task;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeMode {
    /// Skip finished tasks (succeeded, or failed on their last attempt).
    Finished,
    /// Skip only tasks that succeeded.
    Succeeded,
}

/// The tasks to skip, and what the check found.
#[derive(Debug, Default)]
pub struct ResumePlan {
    /// What the logs say of each task of the file, by its position (`seq - 1` as read).
    verdicts: Vec<Verdict>,
    /// The number each task of the file runs under, by position, where it is not its
    /// position (see [`numbering`]); empty when every task keeps its position.
    numbers: Vec<u64>,
    mode: Option<ResumeMode>,
    /// Only this shard's tasks run (and count) here.
    shard: Option<crate::shard::Shard>,
    /// Unreadable log lines (a torn last line after a crash).
    pub unreadable_lines: u64,
    /// Runtimes of the tasks of this file that succeeded in earlier runs: the first estimate
    /// of a task's runtime for `--deadline` (and `--timeout N%`).
    pub prior_runtimes: super::timeout::Median,
    /// Finished tasks of the logs that the input no longer holds (its lines changed).
    pub gone: u64,
    /// For each log whose latest run stopped without an end record (a crash) while writing
    /// a results table: the table (canonical path) and the end of the last row of that run
    /// a task record vouches for.
    crashed_tables: Vec<(std::path::PathBuf, u64)>,
    /// Input that streams (a pipe), resumed as it is read: what the logs say of each task.
    stream: Option<Streamed>,
    /// Tasks the logs hold records of (0: no log knows this sweep).
    pub logged: u64,
}

/// `--resume` of input read once (`ls *.gz | hrun exec --resume gzip {}`): every task the
/// logs know, by identity, checked as each task is read, and the numbers given so far.
#[derive(Debug, Default)]
struct Streamed {
    known: HashMap<(u64, u32), (Verdict, u64)>,
    max_logged: u64,
    numbering: std::cell::RefCell<StreamNumbers>,
}

#[derive(Debug, Default)]
struct StreamNumbers {
    /// The next new number (after every logged one and every one given).
    next: u64,
    /// Logged numbers given in this run (two tasks claiming one: the first keeps it).
    used: HashSet<u64>,
}

impl ResumePlan {
    /// A plan that skips nothing (no `--resume`).
    pub fn none() -> Self {
        ResumePlan::default()
    }

    /// The end of the last row of the results table at `path` that the log vouches for
    /// (`TaskRecord::results_end`), when the log's latest run was writing that file and
    /// stopped without an end record (a crash): only then can the table end in a torn row,
    /// or in the one row whose record the crash kept from the log. After a run that ended,
    /// or one that wrote elsewhere, whatever the table holds is left as it is.
    pub fn results_vouched(&self, path: &Path) -> Option<u64> {
        let canonical = std::fs::canonicalize(path).ok()?;
        // Two logs that crashed writing one table: whose rows are whose cannot be told.
        match self.crashed_tables.iter().filter(|(t, _)| *t == canonical).collect::<Vec<_>>()[..] {
            [(_, end)] => Some(*end),
            _ => None,
        }
    }

    /// Restricts the plan to one shard's tasks.
    pub fn with_shard(mut self, shard: Option<crate::shard::Shard>) -> Self {
        self.shard = shard;
        self
    }

    /// True when this hrun is to run task `seq` at all (its shard).
    pub fn owns(&self, seq: u64) -> bool {
        self.shard.is_none_or(|s| s.owns(seq))
    }

    pub fn skips(&self, seq: u64) -> bool {
        let Some(mode) = self.mode else { return false };
        let verdict = self.verdicts.get((seq - 1) as usize).copied().unwrap_or_default();
        match mode {
            ResumeMode::Finished => verdict != Verdict::Open,
            ResumeMode::Succeeded => verdict == Verdict::Succeeded,
        }
    }

    /// The next task of `tasks` this plan does not skip, under its number; counts the
    /// skipped ones.
    pub fn next_to_run(&self, tasks: &mut TaskStream, skipped: &mut u64) -> Result<Option<Task>, InputError> {
        while let Some(mut t) = tasks.next_task()? {
            if !self.owns(t.seq) {
                continue;
            }
            if let Some(stream) = &self.stream {
                let mode = self.mode.unwrap_or(ResumeMode::Finished);
                match stream.next(&t, mode) {
                    None => *skipped += 1,
                    Some(number) => {
                        t.seq = number;
                        return Ok(Some(t));
                    }
                }
                continue;
            }
            if self.skips(t.seq) {
                *skipped += 1;
                continue;
            }
            t.seq = self.number(t.seq);
            return Ok(Some(t));
        }
        Ok(None)
    }

    /// The number the task at `position` (1-based, in input order) runs under: its `{#}`,
    /// `HRUN_SEQ`, output files, log record and results row.
    pub fn number(&self, position: u64) -> u64 {
        self.numbers.get((position - 1) as usize).copied().unwrap_or(position)
    }

    /// Counts the tasks left in the file after a run stopped early (reported as not run;
    /// `--resume` picks them up). An unreadable rest counts as what was read.
    pub fn count_rest(&self, tasks: &mut TaskStream) -> u64 {
        let mut n = 0;
        let mut skipped = 0;
        while let Ok(Some(_)) = self.next_to_run(tasks, &mut skipped) {
            n += 1;
        }
        n
    }

    /// How many tasks of the file will be skipped.
    pub fn skipped(&self) -> u64 {
        (1..=self.verdicts.len() as u64).filter(|&s| self.owns(s) && self.skips(s)).count() as u64
    }
}

/// Reads the tasks and the logs and decides which tasks to skip: a task is done if any of
/// the logs shows it done (its own log, and the logs of earlier runs split into other shards).
/// A task is known by its command and which copy of it it is, not by its number: lines
/// inserted, removed or reordered in the task file (or values added to a template's sources)
/// leave the others' identities alone, so only new tasks run. Finished tasks of the logs that
/// the input no longer has are counted (`gone`), not refused.
pub fn plan(tasks: &TaskSpec, logs: &[std::path::PathBuf], mode: ResumeMode) -> Result<ResumePlan> {
    let mut index: HashMap<(u64, u32), u32> = HashMap::new();
    let mut tf = tasks.open().map_err(|e| UsageError(e.into()))?;
    while let Some(t) = tf.next_task().map_err(|e| UsageError(e.into()))? {
        index.insert((t.hash(), t.occurrence), (t.seq - 1) as u32);
    }
    let mut plan =
        ResumePlan { verdicts: vec![Verdict::Open; index.len()], mode: Some(mode), ..ResumePlan::none() };
    let mut gone: HashSet<(u64, u32)> = HashSet::new();
    // For each task of the input that a log knows: the number of its latest record, and which
    // run (in reading order) wrote it.
    let mut known: Vec<Option<(u64, u32)>> = vec![None; index.len()];
    let mut run_no = 0u32;
    // This run's tasks by number, for its `lost` records.
    let mut this_run: HashMap<u64, usize> = HashMap::new();
    let mut logged: HashSet<u64> = HashSet::new();
    for log in logs.iter().filter(|l| l.exists()) {
        refuse_if_in_use(&logs[0], log)?;
        let mut reader = read::Reader::open(log).map_err(UsageError)?;
        // The latest run's table, the end of its last vouched row, and whether it ended.
        let mut latest: (Option<std::path::PathBuf>, Option<u64>, bool) = (None, None, false);
        while let Some(record) = reader.next_record()? {
            match record {
                Record::Run(run) => {
                    run_no += 1;
                    this_run.clear();
                    latest = (run.results, run.results_start, false);
                }
                Record::Task(task) => {
                    latest.1 = latest.1.max(task.results_end);
                    logged.insert(task.seq);
                    plan.logged += 1;
                    // A finished task of a run writing a table in a file has its row's end
                    // there; without one its row was never written whole (a full disk): it
                    // keeps its number, and runs again.
                    let done = latest.0.is_none() || !task.outcome().finished() || task.results_end.is_some();
                    if let Some(i) = plan.note(&task, &index, &mut gone, done) {
                        known[i] = Some((task.seq, run_no));
                        this_run.insert(task.seq, i);
                    }
                }
                // Its output could not be written: not done (a later run's record may be).
                Record::Lost(lost) => {
                    if let Some(&i) = this_run.get(&lost.seq) {
                        plan.verdicts[i] = Verdict::Open;
                    }
                }
                // A run whose table could not be written is cut back as after a crash.
                Record::End(end) => latest.2 = !end.results_torn,
                _ => {}
            }
        }
        if let (Some(table), Some(end), false) = latest {
            plan.crashed_tables.push((table, end));
        }
        plan.unreadable_lines += reader.unreadable();
    }
    plan.gone = gone.len() as u64;
    plan.numbers = numbering(&known, &logged);
    Ok(plan)
}

/// The numbers the input's tasks run under when resumed: a task the logs know keeps the
/// number its latest record has; a task they do not know keeps its position where no record
/// of the logs holds that number (a task a shard of an earlier split never ran, a line
/// appended), and otherwise gets a number after every number the logs hold (`logged`, gone
/// tasks' too) that no such task keeps. So a task's `{#}`, output files (`--output-dir`'s
/// `<n>.out`) and results row follow the task, never its position: a line inserted at the top
/// of a task file does not take the number (and overwrite the output) of the task that was
/// first. Two tasks of the input claiming one number (two sweeps of one template in one log,
/// or a log of an older hrun) leave it to the one whose record is the latest; the other gets a
/// new number. The numbers depend only on the input and the logs, so shards of one split,
/// each running its own positions, never draw the same number. Empty when every task keeps
/// its position, the common case.
fn numbering(known: &[Option<(u64, u32)>], logged: &HashSet<u64>) -> Vec<u64> {
    let free = |i: usize| !logged.contains(&(i as u64 + 1));
    let keeps_position = |i: usize, k: &Option<(u64, u32)>| match k {
        Some((seq, _)) => *seq == i as u64 + 1,
        None => free(i),
    };
    if known.iter().enumerate().all(|(i, k)| keeps_position(i, k)) {
        return Vec::new();
    }
    // Who gets each number the logs hold: the latest record wins, then the earlier position.
    let mut owner: HashMap<u64, (u32, std::cmp::Reverse<usize>)> = HashMap::new();
    for (i, k) in known.iter().enumerate() {
        if let Some((seq, run)) = *k {
            let claim = (run, std::cmp::Reverse(i));
            owner.entry(seq).and_modify(|c| *c = (*c).max(claim)).or_insert(claim);
        }
    }
    let kept: HashSet<u64> = known
        .iter()
        .enumerate()
        .filter(|(i, k)| k.is_none() && free(*i))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let mut next = logged.iter().copied().max().unwrap_or(0);
    known
        .iter()
        .enumerate()
        .map(|(i, k)| match *k {
            Some((seq, _)) if owner.get(&seq).is_some_and(|(_, std::cmp::Reverse(p))| *p == i) => seq,
            None if free(i) => i as u64 + 1,
            _ => {
                next += 1;
                while kept.contains(&next) {
                    next += 1;
                }
                next
            }
        })
        .collect()
}

impl Streamed {
    /// The number `task` (as read, at its position) runs under, or `None` when the logs show
    /// it done (for `mode`). A task the logs know keeps its number; a new one takes its
    /// position when that is past every logged number and every number given, else the next
    /// new number: the rule [`numbering`] follows, decided as the input streams.
    fn next(&self, task: &Task, mode: ResumeMode) -> Option<u64> {
        let mut numbers = self.numbering.borrow_mut();
        numbers.next = numbers.next.max(self.max_logged + 1);
        if let Some(&(verdict, seq)) = self.known.get(&(task.hash(), task.occurrence)) {
            let done = match mode {
                ResumeMode::Finished => verdict != Verdict::Open,
                ResumeMode::Succeeded => verdict == Verdict::Succeeded,
            };
            if done {
                return None;
            }
            if numbers.used.insert(seq) {
                return Some(seq);
            }
        }
        let number = if task.seq >= numbers.next { task.seq } else { numbers.next };
        numbers.next = number + 1;
        Some(number)
    }
}

/// `--resume` of input that can be read only once: the logs are read first, and each task
/// is checked against them as it streams in (see [`Streamed`]).
pub fn plan_stream(logs: &[std::path::PathBuf], mode: ResumeMode) -> Result<ResumePlan> {
    let mut stream = Streamed::default();
    let mut plan = ResumePlan { mode: Some(mode), ..ResumePlan::none() };
    for log in logs.iter().filter(|l| l.exists()) {
        refuse_if_in_use(&logs[0], log)?;
        let mut reader = read::Reader::open(log).map_err(UsageError)?;
        while let Some(record) = reader.next_record()? {
            let Record::Task(task) = record else { continue };
            let Ok(hash) = u64::from_str_radix(&task.hash, 16) else { continue };
            plan.logged += 1;
            stream.max_logged = stream.max_logged.max(task.seq);
            let outcome = task.outcome();
            if outcome == Outcome::Succeeded {
                plan.prior_runtimes.add(task.wall_s);
            }
            let entry =
                stream.known.entry((hash, task.occurrence.max(1))).or_insert((Verdict::Open, task.seq));
            *entry = (entry.0.max(outcome.verdict()), task.seq);
        }
        plan.unreadable_lines += reader.unreadable();
    }
    plan.stream = Some(stream);
    Ok(plan)
}

/// `--resume` from GNU parallel's joblog, as GNU resumes (for a sweep GNU parallel began and
/// no hrun log knows): a task whose job number (a task file's line) has a row is done; with
/// `--resume-failed`, only one whose latest row exited 0.
pub fn plan_from_joblog(tasks: &TaskSpec, joblog: &Path, mode: ResumeMode) -> Result<Option<ResumePlan>> {
    let Ok(text) = std::fs::read(joblog) else { return Ok(None) };
    let mut rows: HashMap<u64, Verdict> = HashMap::new();
    for line in text.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        let num =
            |i: usize| fields.get(i).and_then(|f| std::str::from_utf8(f).ok()?.trim().parse::<i64>().ok());
        let (Some(seq), Some(exit), Some(signal)) = (num(0), num(6), num(7)) else { continue };
        let ok = exit == 0 && signal == 0;
        rows.insert(seq.max(0) as u64, if ok { Verdict::Succeeded } else { Verdict::Failed });
    }
    if rows.is_empty() {
        return Ok(None);
    }
    let mut tf = tasks.open().map_err(|e| UsageError(e.into()))?;
    let mut verdicts = Vec::new();
    while let Some(t) = tf.next_task().map_err(|e| UsageError(e.into()))? {
        // GNU's Seq: the job number; reading a task file as commands, its line.
        let key = if t.job.is_some() { t.seq } else { t.line };
        verdicts.push(rows.get(&key).copied().unwrap_or_default());
    }
    Ok(Some(ResumePlan { verdicts, mode: Some(mode), logged: rows.len() as u64, ..ResumePlan::none() }))
}

impl ResumePlan {
    /// What one task record of a log says, for the task of the file it is (by `index`; its
    /// position is returned), or else among the finished tasks the file no longer holds
    /// (`gone`).
    fn note(
        &mut self,
        task: &TaskRecord,
        index: &HashMap<(u64, u32), u32>,
        gone: &mut HashSet<(u64, u32)>,
        done: bool,
    ) -> Option<usize> {
        // No hash: a log of hrun before resume existed.
        let hash = u64::from_str_radix(&task.hash, 16).ok()?;
        let outcome = if done { task.outcome() } else { Outcome::Cancelled };
        let key = (hash, task.occurrence.max(1));
        let Some(&i) = index.get(&key) else {
            if outcome.finished() && gone.len() < 1_000_000 {
                gone.insert(key);
            }
            return None;
        };
        if outcome == Outcome::Succeeded {
            self.prior_runtimes.add(task.wall_s);
        }
        let verdict = &mut self.verdicts[i as usize];
        *verdict = (*verdict).max(outcome.verdict());
        Some(i as usize)
    }
}

/// A log locked by a running hrun (another shard, or the same sweep started twice): its tasks
/// are running now, and would run a second time here.
/// Probed with a shared lock: two hruns resuming at once (every node of a
/// resubmitted multi-node job) probe each other's logs, and an exclusive probe would make one
/// of them see the other's probe as a running hrun.
/// The other shards of this run's own split (`K-of-N`, same N) are not checked: they run
/// beside this one on the other nodes, each on its own tasks.
fn refuse_if_in_use(own: &Path, log: &Path) -> Result<()> {
    let split = |p: &Path| shard_of_log_name(p).map(|(_, n)| n);
    if log != own && split(log).is_some() && split(log) == split(own) {
        return Ok(());
    }
    // Refused before anything is written (exit 2): a log that is no regular file (a FIFO), or a
    // file system without `flock`.
    let held = read::writer_holds_lock(log)
        .map_err(|e| UsageError(anyhow!("cannot lock run log {}: {e}", log.display())))?;
    if !held {
        return Ok(());
    }
    Err(UsageError(anyhow!(
        "run log {} is in use by another hrun, whose tasks are running now: wait for it to end before \
         --resume (each shard resumes with its own log)",
        log.display()
    ))
    .into())
}

/// The logs `--resume` reads for a run logging to `log`: that one, and when it is a default
/// name (`<stem>.hrun.jsonl` or `<stem>.shard-K-of-N.hrun.jsonl`), every other log of the same
/// task file beside it: a sweep run on 3 nodes can be finished on 2, or on one.
pub fn sibling_logs(log: &Path, stem: &str) -> Vec<std::path::PathBuf> {
    let mut logs = vec![log.to_path_buf()];
    let name = log.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !is_default_log_name(name, stem) {
        return logs;
    }
    let dir = log.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else { return logs };
    let mut others: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n != name && is_default_log_name(n, stem)))
        .map(|e| log.with_file_name(e.file_name()))
        .collect();
    others.sort();
    logs.extend(others);
    logs
}

/// K and N of a log named `<anything>.shard-K-of-N.hrun.jsonl`.
fn shard_of_log_name(log: &Path) -> Option<(u64, u64)> {
    let name = log.file_name()?.to_str()?.strip_suffix(".hrun.jsonl")?;
    let (_, kn) = name.rsplit_once(".shard-")?;
    let (k, n) = kn.split_once("-of-")?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// `<stem>.hrun.jsonl`, `<stem>.shard-K-of-N.hrun.jsonl`, or `<stem>.run-N.hrun.jsonl` (the log
/// of a run started while another run of the same command held the default one:
/// `log::claim::claim_default_log`).
fn is_default_log_name(name: &str, stem: &str) -> bool {
    let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_suffix(".hrun.jsonl")) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    if let Some(n) = rest.strip_prefix(".run-") {
        return n.parse::<u32>().is_ok_and(|n| n >= 2);
    }
    let Some(kn) = rest.strip_prefix(".shard-") else { return false };
    let Some((k, n)) = kn.split_once("-of-") else { return false };
    k.parse::<u64>().is_ok() && n.parse::<u64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::command_hash;

    fn rec(seq: u64, cmd: &str, exit: Option<i32>, extra: &str) -> String {
        format!(
            "{{\"kind\":\"task\",\"seq\":{seq},\"cmd\":{cmd:?},\"hash\":\"{:016x}\",\"exit\":{}{extra}}}\n",
            command_hash(cmd),
            exit.map_or("null".to_string(), |e| e.to_string())
        )
    }

    fn setup(tasks: &str, log: &str) -> (tempfile::TempDir, TaskSpec, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (t, l) = (dir.path().join("t.txt"), dir.path().join("log.jsonl"));
        std::fs::write(&t, tasks).unwrap();
        std::fs::write(&l, log).unwrap();
        (dir, TaskSpec::File(crate::taskfile::Source::Path(t)), l)
    }

    #[test]
    fn finished_and_failed_tasks_per_mode() {
        let log = [
            rec(1, "a", Some(0), ""),
            rec(2, "b", Some(1), ""),
            rec(3, "c", None, ",\"cancelled\":true"),
            rec(4, "d", Some(1), ",\"last_attempt\":false"),
            "{\"kind\":\"task\",\"seq\":5,\"cm\n".to_string(),
            // Issue 17: exit 0 after its timeout is a failure; cut short by hrun, not done.
            rec(6, "f", Some(0), ",\"timeout\":true"),
            rec(7, "g", Some(0), ",\"cancelled\":true"),
        ]
        .concat();
        let (_d, t, l) = setup("a\nb\nc\nd\ne\nf\ng\n", &log);
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished).unwrap();
        let skips = |p: &ResumePlan| (1..=7).map(|s| p.skips(s)).collect::<Vec<_>>();
        assert_eq!(skips(&p), [true, true, false, false, false, true, false]);
        assert_eq!(p.unreadable_lines, 1);
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Succeeded).unwrap();
        assert_eq!(skips(&p), [true, false, false, false, false, false, false]);
        assert_eq!(p.skipped(), 1);
    }

    /// Issue 17: the readers' rule was `exit 0` for success, but the dispatcher fails an
    /// attempt that exited 0 after its `--timeout` (TERM trapped), and cancels one that hrun
    /// cut short whatever it exited with: `--resume-failed` skipped the first, `--resume`
    /// skipped the second. Every fate the dispatcher decides, written as the engine writes its
    /// record and read back, is what the readers' rule says.
    #[test]
    fn the_record_of_each_disposition_reads_back_as_it() {
        use crate::exec::attempt::{Attempt, Cut, Disposition, Ending, Phase};
        use crate::sys::{Ended, Reaped};
        let dir = tempfile::tempdir().unwrap();
        let output = super::super::output::Output::start(
            super::super::output::OutputMode::Dir(dir.path().to_path_buf()),
            None,
            None,
        )
        .unwrap();
        let slot = crate::slots::Slot {
            id: crate::slots::SlotId(1),
            cpus: crate::cpuset::CpuSet::from_ids([0]),
            domains: Default::default(),
        };
        for ended in [Ended::Exited(0), Ended::Exited(1), Ended::Signaled(libc::SIGKILL)] {
            for cut in [None, Some(Cut::TimedOut), Some(Cut::Cancelled)] {
                for (number, retries, stopping) in [(1, 0, false), (1, 2, false), (1, 2, true), (3, 2, true)]
                {
                    // As the dispatcher decides (`dispatch::end`).
                    let succeeded = ended == Ended::Exited(0) && cut != Some(Cut::TimedOut);
                    let fate =
                        Disposition::of(succeeded, cut == Some(Cut::Cancelled), number, retries, stopping);
                    let task =
                        Task { seq: 1, line: 1, cmd: "x".into(), job: None, occurrence: 1, block: None };
                    let captured = output.open(&task, 1).unwrap();
                    let attempt = Attempt {
                        task,
                        number,
                        slot: 0,
                        pid: 10,
                        start_wall: 1.0,
                        start: std::time::Instant::now(),
                        started_at: Default::default(),
                        captured,
                        deadline: None,
                        phase: Phase::Killed,
                        cut,
                        exe: None,
                        refused: None,
                    };
                    let reaped = Reaped { pid: 10, ended, rusage: Default::default() };
                    let end = Ending {
                        reaped,
                        wall_s: 1.0,
                        last_attempt: fate.last_attempt(),
                        leaked: &[],
                        exe_sha256: None,
                    };
                    let line = serde_json::to_string(&attempt.record(&slot, end, "n1")).unwrap();
                    let Ok(Record::Task(read)) = serde_json::from_str::<Record>(&line) else {
                        panic!("{line}")
                    };
                    let want = match fate {
                        Disposition::Succeeded => Outcome::Succeeded,
                        Disposition::Failed => Outcome::Failed,
                        Disposition::Cancelled => Outcome::Cancelled,
                        Disposition::Retry | Disposition::LeftForResume | Disposition::Lost => {
                            Outcome::Retried
                        }
                    };
                    let case = (ended, cut, number, retries, stopping, fate);
                    assert_eq!(read.outcome(), want, "{case:?}: {line}");
                    assert_eq!(read.outcome().finished(), fate.finished(), "{case:?}");
                }
            }
        }
    }

    #[test]
    fn tasks_are_known_by_content_not_by_number() {
        // Run: a, b, c (all done). Now: a line inserted at the top, b changed, c moved.
        let log = [rec(1, "a", Some(0), ""), rec(2, "b", Some(0), ""), rec(3, "c", Some(0), "")].concat();
        let (_d, t, l) = setup(
            "# header
new
c
a
B
",
            &log,
        );
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished).unwrap();
        assert_eq!((1..=4).map(|s| p.skips(s)).collect::<Vec<_>>(), [false, true, true, false]);
        assert_eq!(p.gone, 1, "b is no longer in the file");
    }

    #[test]
    fn copies_of_one_command_are_told_apart() {
        // The file holds `x` three times; the log has its 1st and 3rd copies done.
        let log = [rec(1, "x", Some(0), ""), rec(3, "x", Some(0), ",\"occurrence\":3")].concat();
        let (_d, t, l) = setup("x\nx\nx\n", &log);
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished).unwrap();
        assert_eq!((1..=3).map(|s| p.skips(s)).collect::<Vec<_>>(), [true, false, true]);
        // A line prepended: the copies keep their identities.
        let (_d, t, l) = setup("y\nx\nx\nx\n", &log);
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished).unwrap();
        assert_eq!((1..=4).map(|s| p.skips(s)).collect::<Vec<_>>(), [false, true, false, true]);
    }

    #[test]
    fn numbers_follow_tasks_not_positions() {
        // Nothing moved, lines appended: every task keeps its position.
        let logged = |seqs: &[u64]| seqs.iter().copied().collect::<HashSet<u64>>();
        assert!(numbering(&[Some((1, 1)), Some((2, 1)), None], &logged(&[1, 2])).is_empty());
        assert!(numbering(&[None, None], &logged(&[])).is_empty());
        // A line inserted at the top: the known tasks keep 1 and 2, the new one gets 3.
        assert_eq!(numbering(&[None, Some((1, 1)), Some((2, 1))], &logged(&[1, 2])), [3, 1, 2]);
        // A changed line (task 2 gone, 3 logged): the new task does not take 2.
        assert_eq!(numbering(&[Some((1, 1)), None, Some((3, 1))], &logged(&[1, 2, 3])), [1, 4, 3]);
        // Two tasks claim 1 (two sweeps in one log): the later record keeps it.
        assert_eq!(numbering(&[Some((1, 1)), Some((1, 2))], &logged(&[1])), [2, 1]);
        // A shard of an earlier split never ran 2 and 4: they keep their numbers.
        assert!(numbering(&[Some((1, 1)), None, Some((3, 1)), None], &logged(&[1, 3])).is_empty());
        // A line inserted at the top while 3 was never run: 3 stays free for the task at
        // position 3, the new one is numbered after it.
        assert_eq!(numbering(&[None, Some((1, 1)), None, Some((2, 1))], &logged(&[1, 2])), [4, 1, 3, 2]);
    }

    #[test]
    fn no_log_yet_runs_everything() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t.txt");
        std::fs::write(&t, "a\nb\n").unwrap();
        let t = TaskSpec::File(crate::taskfile::Source::Path(t));
        let p = plan(&t, &[dir.path().join("none.jsonl")], ResumeMode::Finished).unwrap();
        assert_eq!(p.skipped(), 0);
    }

    #[test]
    fn a_task_done_in_any_log_is_done() {
        let (d, t, l) = setup("a\nb\nc\n", &rec(1, "a", Some(0), ""));
        let other = d.path().join("other.jsonl");
        std::fs::write(&other, rec(3, "c", Some(0), "")).unwrap();
        let p = plan(&t, &[l, other], ResumeMode::Finished).unwrap();
        assert_eq!((1..=3).map(|s| p.skips(s)).collect::<Vec<_>>(), [true, false, true]);
    }

    /// A resubmitted multi-node job resumes on every node at once: each hrun reads the logs of
    /// the earlier split while the others probe them too (an exclusive probe made one node see
    /// another's probe as a running hrun: CI, slurm test e), and the other shards of its own
    /// split hold their logs' locks while it plans. A log of another split that an hrun holds
    /// is still refused: its tasks may be this shard's.
    #[test]
    fn resuming_shards_do_not_see_each_other_but_a_running_earlier_split_is_refused() {
        let (d, t, _) = setup("a\nb\nc\n", "");
        let log = |name: &str, body: &str| {
            let p = d.path().join(name);
            std::fs::write(&p, body).unwrap();
            p
        };
        let own = log("tasks.shard-1-of-2.hrun.jsonl", "");
        let earlier = log("tasks.shard-2-of-3.hrun.jsonl", &rec(2, "b", Some(0), ""));
        let sibling = log("tasks.shard-2-of-2.hrun.jsonl", &rec(3, "c", Some(0), ""));
        // std's file locks are `flock` on Linux, as hrun's. A process another test of this
        // binary starts at the wrong moment holds a copy of a lock's descriptor until it execs
        // (the lock lives on a moment after this test drops it): wait that moment out.
        let flock = |p: &Path, exclusive: bool| {
            let f = std::fs::File::open(p).unwrap();
            let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                let got = match exclusive {
                    true => f.try_lock(),
                    false => f.try_lock_shared(),
                };
                match got {
                    Ok(()) => break,
                    Err(_) if std::time::Instant::now() < until => {
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    Err(e) => panic!("cannot lock {}: {e:?}", p.display()),
                }
            }
            f
        };
        let logs = [own.clone(), earlier.clone(), sibling.clone()];
        // Another resuming hrun probing the earlier log (a shared lock) at this instant.
        let probe = flock(&earlier, false);
        // The sibling shard of this split, running: it holds its log.
        let _running = flock(&sibling, true);
        let p = plan(&t, &logs, ResumeMode::Finished).unwrap();
        assert_eq!((1..=3).map(|s| p.skips(s)).collect::<Vec<_>>(), [false, true, true]);
        drop(probe);
        // An hrun of the earlier split still running: refused, whichever log names it.
        let _writer = flock(&earlier, true);
        let Err(e) = plan(&t, &logs, ResumeMode::Finished) else { panic!("not refused") };
        let e = format!("{e:#}");
        assert!(e.contains("tasks.shard-2-of-3.hrun.jsonl is in use by another hrun"), "{e}");
        let Err(e) = plan_stream(&logs, ResumeMode::Finished) else { panic!("not refused") };
        let e = format!("{e:#}");
        assert!(e.contains("in use by another hrun"), "{e}");
        assert_eq!(shard_of_log_name(Path::new("a.b.shard-3-of-12.hrun.jsonl")), Some((3, 12)));
        assert_eq!(shard_of_log_name(Path::new("a.hrun.jsonl")), None);
    }

    #[test]
    fn sibling_logs_are_the_default_names_of_the_same_task_file() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "tasks.hrun.jsonl",
            "tasks.shard-1-of-3.hrun.jsonl",
            "tasks.shard-2-of-3.hrun.jsonl",
            "tasks.shard-1-of-2.hrun.jsonl",
            "tasks.run-2.hrun.jsonl",
            "tasks.run-x.hrun.jsonl",
            "tasks2.hrun.jsonl",
            "tasks.shard-x-of-3.hrun.jsonl",
            "tasks.jsonl",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names = |log: &str| -> Vec<String> {
            sibling_logs(&dir.path().join(log), "tasks")
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names("tasks.shard-1-of-2.hrun.jsonl"),
            [
                "tasks.shard-1-of-2.hrun.jsonl",
                "tasks.hrun.jsonl",
                "tasks.run-2.hrun.jsonl",
                "tasks.shard-1-of-3.hrun.jsonl",
                "tasks.shard-2-of-3.hrun.jsonl"
            ]
        );
        assert_eq!(names("tasks.hrun.jsonl").len(), 5);
        // A log named by the user stands alone.
        assert_eq!(names("my.jsonl"), ["my.jsonl"]);
    }
}
