//! `--resume` / `--resume-failed`: which tasks of the task file the log already holds.
//!
//! A task is identified by its number *and* the hash of its command (`seq` + `hash` in the
//! log), so a log is never applied to a task file that changed under it. As GNU parallel:
//! - `--resume` skips every task that finished: succeeded, or failed on its last attempt;
//! - `--resume-failed` skips only tasks that succeeded, so failed ones run again.
//!
//! Either way a task runs again when the log has no record of it, or only records of attempts
//! that hrun itself cut short (`cancelled`: killed on SIGTERM/SIGINT or `--halt now`) or that
//! were to be retried. Records are never rewritten: the log only grows.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::exit::UsageError;
use crate::input::{InputError, TaskSpec, TaskStream};
use crate::log::read::{self, TaskOutcome};
use crate::taskfile::Task;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeMode {
    /// Skip finished tasks (succeeded, or failed on their last attempt).
    Finished,
    /// Skip only tasks that succeeded.
    Succeeded,
}

/// What the log says of each task of the file, by `seq - 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    #[default]
    NotRun,
    Failed,
    Succeeded,
}

/// The tasks to skip, and what the check found.
#[derive(Debug, Default)]
pub struct ResumePlan {
    states: Vec<State>,
    mode: Option<ResumeMode>,
    /// Only this shard's tasks run (and count) here.
    shard: Option<crate::shard::Shard>,
    /// Unreadable log lines (a torn last line after a crash).
    pub unreadable_lines: u64,
    /// Runtimes of the tasks of this file that succeeded in earlier runs: the first estimate
    /// of a task's runtime for `--deadline` (and `--timeout N%`).
    pub prior_runtimes: super::timeout::Median,
}

impl ResumePlan {
    /// A plan that skips nothing (no `--resume`).
    pub fn none() -> Self {
        ResumePlan::default()
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
        let state = self.states.get((seq - 1) as usize).copied().unwrap_or_default();
        match mode {
            ResumeMode::Finished => state >= State::Failed,
            ResumeMode::Succeeded => state == State::Succeeded,
        }
    }

    /// The next task of `tasks` this plan does not skip; counts the skipped ones.
    pub fn next_to_run(&self, tasks: &mut TaskStream, skipped: &mut u64) -> Result<Option<Task>, InputError> {
        while let Some(t) = tasks.next_task()? {
            if !self.owns(t.seq) {
                continue;
            }
            if self.skips(t.seq) {
                *skipped += 1;
                continue;
            }
            return Ok(Some(t));
        }
        Ok(None)
    }

    /// Counts the tasks left in the file after a run stopped early (reported as not run;
    /// `--resume` picks them up). An unreadable rest counts as what was read.
    pub fn count_rest(&self, tasks: &mut TaskStream) -> u64 {
        let mut n = 0;
        while let Ok(Some(t)) = tasks.next_task() {
            n += (self.owns(t.seq) && !self.skips(t.seq)) as u64;
        }
        n
    }

    /// How many tasks of the file will be skipped.
    pub fn skipped(&self) -> u64 {
        (1..=self.states.len() as u64).filter(|&s| self.owns(s) && self.skips(s)).count() as u64
    }
}

/// A log record whose task differs from the file's task of the same number.
struct Mismatch {
    seq: u64,
    logged_cmd: String,
}

/// Reads the tasks and the logs and decides which tasks to skip: a task is done if any of
/// the logs shows it done (its own log, and the logs of earlier runs split into other shards).
/// Refuses (a usage error naming the lines) when a log holds tasks the input no longer has,
/// unless `force`, which treats those tasks as never run.
pub fn plan(
    tasks: &TaskSpec,
    logs: &[std::path::PathBuf],
    mode: ResumeMode,
    force: bool,
) -> Result<ResumePlan> {
    let mut hashes = Vec::new();
    let mut tf = tasks.open().map_err(|e| UsageError(e.into()))?;
    while let Some(t) = tf.next_task().map_err(|e| UsageError(e.into()))? {
        hashes.push(t.hash());
    }
    let mut states = vec![State::NotRun; hashes.len()];
    let mut matched = vec![false; hashes.len()];
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let mut unreadable_lines = 0;
    let mut prior_runtimes = super::timeout::Median::default();
    for log in logs.iter().filter(|l| l.exists()) {
        refuse_if_in_use(log)?;
        unreadable_lines += read::for_each_task(log, |rec: TaskOutcome| {
            let i = (rec.seq as usize).wrapping_sub(1);
            let same =
                hashes.get(i).is_some_and(|h| rec.hash.as_deref() == Some(format!("{h:016x}").as_str()));
            if !same {
                if mismatches.len() < 1000 && !mismatches.iter().any(|m| m.seq == rec.seq) {
                    mismatches.push(Mismatch { seq: rec.seq, logged_cmd: rec.cmd });
                }
                return;
            }
            matched[i] = true;
            let state = match (rec.exit, rec.cancelled, rec.last_attempt) {
                (Some(0), _, _) => State::Succeeded,
                (_, false, true) => State::Failed,
                _ => State::NotRun,
            };
            if state == State::Succeeded {
                prior_runtimes.add(rec.wall_s);
            }
            states[i] = states[i].max(state);
        })?;
    }
    // A task whose number was once logged with another command, and never with this one.
    mismatches.retain(|m| !matched.get((m.seq as usize).wrapping_sub(1)).copied().unwrap_or(false));
    if !mismatches.is_empty() && !force {
        return Err(UsageError(anyhow!(
            "{} does not match its run log {}: {}; run it with a new --log, or add --force to run \
             the changed tasks anew",
            tasks.name(),
            logs.iter().map(|l| l.display().to_string()).collect::<Vec<_>>().join(", "),
            describe(tasks, &mismatches, hashes.len())?
        ))
        .into());
    }
    Ok(ResumePlan { states, mode: Some(mode), shard: None, unreadable_lines, prior_runtimes })
}

/// A log locked by a running hrun (another shard, or the same sweep started twice): its tasks
/// are running now, and would run a second time here.
fn refuse_if_in_use(log: &Path) -> Result<()> {
    let file = read::open(log).map_err(UsageError)?;
    if crate::exec::os::try_lock(&file).with_context(|| format!("cannot lock run log {}", log.display()))? {
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

/// `<stem>.hrun.jsonl` or `<stem>.shard-K-of-N.hrun.jsonl`.
fn is_default_log_name(name: &str, stem: &str) -> bool {
    let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_suffix(".hrun.jsonl")) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(kn) = rest.strip_prefix(".shard-") else { return false };
    let Some((k, n)) = kn.split_once("-of-") else { return false };
    k.parse::<u64>().is_ok() && n.parse::<u64>().is_ok()
}

/// "task 3 (line 5) was `a`, is now `b`; ..." for the first few mismatches.
fn describe(tasks: &TaskSpec, mismatches: &[Mismatch], n_tasks: usize) -> Result<String> {
    const SHOWN: usize = 3;
    let mut wanted: Vec<u64> = mismatches.iter().take(SHOWN).map(|m| m.seq).collect();
    wanted.sort_unstable();
    let mut now = std::collections::HashMap::new();
    let mut tf = tasks.open().map_err(|e| UsageError(e.into()))?;
    while let Some(t) = tf.next_task().map_err(|e| UsageError(e.into()))? {
        if wanted.binary_search(&t.seq).is_ok() {
            now.insert(t.seq, (t.line, t.cmd));
        }
    }
    let mut parts: Vec<String> = mismatches
        .iter()
        .take(SHOWN)
        .map(|m| match now.get(&m.seq) {
            Some((line, cmd)) => {
                format!("task {} (line {line}) was {:?}, is now {cmd:?}", m.seq, m.logged_cmd)
            }
            None => format!(
                "task {} ({:?}) is in the log, but the file has only {n_tasks} tasks",
                m.seq, m.logged_cmd
            ),
        })
        .collect();
    if mismatches.len() > SHOWN {
        parts.push(format!("and {} more", mismatches.len() - SHOWN));
    }
    Ok(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskfile::command_hash;

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
            "{\"kind\":\"task\",\"seq\":5,\"cm".to_string(),
        ]
        .concat();
        let (_d, t, l) = setup("a\nb\nc\nd\ne\n", &log);
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished, false).unwrap();
        assert_eq!((1..=5).map(|s| p.skips(s)).collect::<Vec<_>>(), [true, true, false, false, false]);
        assert_eq!(p.unreadable_lines, 1);
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Succeeded, false).unwrap();
        assert_eq!((1..=5).map(|s| p.skips(s)).collect::<Vec<_>>(), [true, false, false, false, false]);
        assert_eq!(p.skipped(), 1);
    }

    #[test]
    fn a_changed_task_file_is_refused_naming_the_lines_unless_forced() {
        let log = [rec(1, "a", Some(0), ""), rec(2, "b", Some(0), ""), rec(3, "c", Some(0), "")].concat();
        let (_d, t, l) = setup("# header\na\nB\n", &log);
        let e = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished, false).unwrap_err().to_string();
        assert!(e.contains("task 2 (line 3) was \"b\", is now \"B\""), "{e}");
        assert!(e.contains("task 3 (\"c\") is in the log, but the file has only 2 tasks"), "{e}");
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished, true).unwrap();
        assert_eq!((p.skips(1), p.skips(2)), (true, false));
    }

    #[test]
    fn a_task_rerun_after_force_counts_by_its_new_command() {
        let log = [rec(1, "old", Some(0), ""), rec(1, "new", Some(0), "")].concat();
        let (_d, t, l) = setup("new\n", &log);
        let p = plan(&t, std::slice::from_ref(&l), ResumeMode::Finished, false).unwrap();
        assert!(p.skips(1));
    }

    #[test]
    fn no_log_yet_runs_everything() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t.txt");
        std::fs::write(&t, "a\nb\n").unwrap();
        let t = TaskSpec::File(crate::taskfile::Source::Path(t));
        let p = plan(&t, &[dir.path().join("none.jsonl")], ResumeMode::Finished, false).unwrap();
        assert_eq!(p.skipped(), 0);
    }

    #[test]
    fn a_task_done_in_any_log_is_done() {
        let (d, t, l) = setup("a\nb\nc\n", &rec(1, "a", Some(0), ""));
        let other = d.path().join("other.jsonl");
        std::fs::write(&other, rec(3, "c", Some(0), "")).unwrap();
        let p = plan(&t, &[l, other], ResumeMode::Finished, false).unwrap();
        assert_eq!((1..=3).map(|s| p.skips(s)).collect::<Vec<_>>(), [true, false, true]);
    }

    #[test]
    fn sibling_logs_are_the_default_names_of_the_same_task_file() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "tasks.hrun.jsonl",
            "tasks.shard-1-of-3.hrun.jsonl",
            "tasks.shard-2-of-3.hrun.jsonl",
            "tasks.shard-1-of-2.hrun.jsonl",
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
                "tasks.shard-1-of-3.hrun.jsonl",
                "tasks.shard-2-of-3.hrun.jsonl"
            ]
        );
        assert_eq!(names("tasks.hrun.jsonl").len(), 4);
        // A log named by the user stands alone.
        assert_eq!(names("my.jsonl"), ["my.jsonl"]);
    }
}
