//! The JSONL schema of the run log. Field names are a public interface (users run `jq` on
//! them, and `status`/`report`/`results`/`--resume`/`tune` read them back): add fields, never
//! rename.
//!
//! Each kind of line has one struct, written by the engine and read back by every reader
//! through [`Record`]. Read back, a field that is absent (a log of an older hrun) takes its
//! default, and a field this hrun does not know is ignored.

use serde::{Deserialize, Deserializer, Serialize};

/// One line of a run log, as the readers see it (see [`super::read::Reader`]). A line of a
/// kind this hrun does not know (written by a newer one) is `Other`, which readers skip.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Record {
    Run(Box<RunRecord>),
    Start(StartRecord),
    Task(Box<TaskRecord>),
    End(EndSummary),
    Lost(LostRecord),
    #[serde(other)]
    Other,
}

/// A finished task of this run whose output could not be written (hrun's stdout on a full
/// disk): it is not done for `--resume`, which runs it again. Written before the end record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LostRecord {
    /// Always `"lost"`.
    #[serde(skip_deserializing, default = "kind::lost")]
    pub kind: String,
    pub seq: u64,
    /// Which output: `stdout`.
    pub what: String,
}

impl LostRecord {
    pub fn stdout(seq: u64) -> LostRecord {
        LostRecord { kind: "lost".into(), seq, what: "stdout".into() }
    }
}

/// First line of each run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RunRecord {
    /// Always `"run"`.
    #[serde(skip_deserializing, default = "kind::run")]
    pub kind: String,
    pub version: String,
    pub host: String,
    /// `uname -r`.
    pub kernel: String,
    pub pid: u32,
    /// The Slurm job this run belongs to, when run under Slurm.
    pub slurm: Option<SlurmInfo>,
    /// The task file as given (`<stdin>` for `-`), or the command template and its sources.
    pub taskfile: String,
    /// The command template's words (null for a task file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    pub threads: usize,
    /// CPUs hrun was allowed to use (its affinity mask), kernel list format.
    pub cpus: String,
    pub slots: Vec<SlotRecord>,
    /// Usable CPUs that are in no slot.
    pub leftover: String,
    /// `--smt` (`avoid` or `use`).
    #[serde(deserialize_with = "smt_or_default")]
    pub smt: crate::slots::Smt,
    /// Unix seconds.
    pub start: f64,
    /// Whether this run resumed the log (`--resume`, `--resume-failed`).
    pub resume: bool,
    /// Tasks in the task file (null when read from a pipe).
    pub tasks_total: Option<u64>,
    /// Tasks `--resume` found already done, which this run skips.
    pub already_done: u64,
    /// `K/N` when this hrun runs one shard of the task file (`tasks_total` is then the shard's).
    pub shard: Option<String>,
    /// Tasks in the whole task file (all shards), when it is a file.
    pub file_tasks: Option<u64>,
    /// Unix seconds by which the run must be over (`--deadline` or the Slurm job's end), and
    /// where that came from.
    pub deadline: Option<f64>,
    pub deadline_source: Option<String>,
    /// `--jobs` above the slot count: this many slots share `cpu_sets` disjoint CPU sets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing: Option<Sharing>,
    /// `--output-dir`, absolute: where each task's `<seq>.out` and `<seq>.err` are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_dir: Option<std::path::PathBuf>,
    /// `--header :`: the names of the values' columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_names: Option<Vec<String>>,
    /// `--results` to a file: its canonical path, which task records' `results_end` are
    /// offsets into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<std::path::PathBuf>,
    /// That table's length when this run began: what the log vouches for before the run's
    /// first row (a crash while writing it leaves at most that row to cut).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results_start: Option<u64>,
    /// The config file (`hrun.toml`) whose settings this run used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<std::path::PathBuf>,
}

/// Slots sharing CPUs, round robin (`--jobs` above the slot count).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sharing {
    pub jobs: usize,
    pub cpu_sets: usize,
}

/// A task attempt started (written when it starts, so `hrun status` sees running tasks).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StartRecord {
    /// Always `"start"`.
    #[serde(skip_deserializing, default = "kind::start")]
    pub kind: String,
    pub seq: u64,
    pub attempt: u32,
    pub slot: usize,
    pub cpus: String,
    pub cmd: String,
    pub pid: i32,
    /// Unix seconds.
    pub start: f64,
}

/// Slurm's view of this process, from its environment.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SlurmInfo {
    pub job_id: Option<String>,
    pub array_job_id: Option<String>,
    pub array_task_id: Option<String>,
    pub step_id: Option<String>,
    pub node: Option<String>,
    pub procid: Option<String>,
    pub ntasks: Option<String>,
}

impl SlurmInfo {
    /// From `SLURM_*` variables; `None` outside Slurm.
    pub fn from_env() -> Option<SlurmInfo> {
        let v = |k: &str| std::env::var(k).ok();
        let info = SlurmInfo {
            job_id: v("SLURM_JOB_ID"),
            array_job_id: v("SLURM_ARRAY_JOB_ID"),
            array_task_id: v("SLURM_ARRAY_TASK_ID"),
            step_id: v("SLURM_STEP_ID"),
            node: v("SLURMD_NODENAME"),
            procid: v("SLURM_PROCID"),
            ntasks: v("SLURM_NTASKS"),
        };
        (info != SlurmInfo::default()).then_some(info)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SlotRecord {
    pub slot: usize,
    pub cpus: String,
    /// Package, NUMA node and L3 domain of the slot; null when unknown or mixed.
    pub package: Option<usize>,
    pub numa: Option<usize>,
    pub l3: Option<usize>,
}

/// One ended task attempt. What became of it is [`TaskRecord::outcome`]. Read back through
/// [`TaskLine`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "TaskLine")]
pub struct TaskRecord {
    /// Always `"task"`.
    pub kind: String,
    /// 1-based task number.
    pub seq: u64,
    /// 1-based line in the task file.
    pub line: u64,
    /// FNV-1a (64-bit, hex) of `cmd`: with `occurrence`, the task's identity for `--resume`.
    pub hash: String,
    /// Which copy of `cmd` in the task file (or template's jobs) this task is: 1 for the
    /// first. Absent when 1.
    #[serde(skip_serializing_if = "is_one")]
    pub occurrence: u32,
    /// 1 for the first run of the task, 2 for its first retry, ...
    pub attempt: u32,
    /// False only for a failed attempt that another attempt follows (a retry, or `--resume`
    /// when the run stopped before it). Absent in logs of hrun before retries: true.
    pub last_attempt: bool,
    pub slot: usize,
    pub cpus: String,
    /// The command as written in the task file (before `{%}`/`{#}` expansion), or a
    /// template's job: the template with the job's values filled in.
    pub cmd: String,
    /// A template's job: its values (after `--colsep`), in source order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// The command as it ran (`{#}` and `{%}` filled in), when that differs from `cmd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Bytes the task wrote to its stdout (GNU's Receive), when hrun captured it.
    pub stdout_bytes: u64,
    /// Why the task could not be started (its command too long for the kernel); it is then
    /// recorded as failed with exit 127, and has no process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The program the command runs, resolved on `PATH` (null for a shell builtin or a line
    /// whose program the shell decides), and the SHA-256 of that file: which binary made the
    /// result.
    pub exe: Option<String>,
    pub exe_sha256: Option<String>,
    pub pid: i32,
    /// Unix seconds when the task was spawned.
    pub start: f64,
    pub wall_s: f64,
    /// Exit code; null when a signal ended the task.
    pub exit: Option<i32>,
    /// Number of the signal that ended the task; null when it exited.
    pub signal: Option<i32>,
    /// Name of that signal (`SIGKILL`); null when it exited.
    pub signal_name: Option<String>,
    /// hrun stopped the task at its `--timeout` (TERM, then KILL after the grace).
    pub timeout: bool,
    /// hrun stopped the task because hrun was told to stop (signal, `--halt now`), not for
    /// anything the task did; `--resume` runs it again.
    pub cancelled: bool,
    /// The task left processes running after it ended; hrun killed them.
    pub leaked: bool,
    /// Those processes.
    pub leaked_pids: Vec<i32>,
    /// `utime_s`, `stime_s`, `maxrss_kb`, `minflt`, `majflt`, `nvcsw`, `nivcsw` from `wait4`.
    #[serde(flatten)]
    pub rusage: crate::sys::Rusage,
    pub host: String,
    /// `--results` to a file: the table's length once this task's row was written, before
    /// this record. `--resume` cuts the table back to the last row a record vouches for (a
    /// row torn by a crash, or written with no record after it, goes; its task runs again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results_end: Option<u64>,
    /// `--pipe`/`--pipepart`: where the task's block starts in the input, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_offset: Option<u64>,
    /// `--pipe`/`--pipepart`: the block's length in bytes (without a `--header`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_bytes: Option<u64>,
    /// `--output-dir`: which files `<seq>.out` and `<seq>.err` the task wrote (inode and
    /// modification time when it ended), so that a reader can tell them from files a later run
    /// wrote under the same names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_files: Option<OutputFiles>,
}

/// A task's `--output-dir` files as they were when it ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFiles {
    pub out: FileStamp,
    pub err: FileStamp,
}

/// One file as it was: a file another run wrote since (removed and created again, or written
/// in place) has another inode or another modification time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub ino: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

impl FileStamp {
    pub fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            ino: meta.ino(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
        }
    }
}

/// A task record as it is read: the fields of [`TaskRecord`], with its resource usage spelled
/// out. The writer's `flatten` of `rusage` would make serde's reader gather every key it does
/// not name into a buffer before it reads the usage from there: reading through this struct
/// takes half the time over a long log. `TryFrom` names every field of `TaskRecord` (one added
/// there and not here does not compile); `what_is_written_reads_back` catches a misspelt one.
/// A field an older hrun did not write reads as its default.
#[derive(Deserialize)]
#[serde(default)]
struct TaskLine {
    seq: u64,
    line: u64,
    hash: String,
    occurrence: u32,
    attempt: u32,
    last_attempt: bool,
    slot: usize,
    cpus: String,
    cmd: String,
    values: Option<Vec<String>>,
    command: Option<String>,
    stdout_bytes: u64,
    error: Option<String>,
    exe: Option<String>,
    exe_sha256: Option<String>,
    pid: i32,
    start: f64,
    wall_s: f64,
    exit: Option<i32>,
    signal: Option<i32>,
    signal_name: Option<String>,
    timeout: bool,
    cancelled: bool,
    leaked: bool,
    leaked_pids: Vec<i32>,
    utime_s: f64,
    stime_s: f64,
    maxrss_kb: u64,
    minflt: u64,
    majflt: u64,
    nvcsw: u64,
    nivcsw: u64,
    host: String,
    results_end: Option<u64>,
    block_offset: Option<u64>,
    block_bytes: Option<u64>,
    output_files: Option<OutputFiles>,
}

impl Default for TaskLine {
    fn default() -> TaskLine {
        TaskLine {
            seq: 0,
            line: 0,
            hash: String::new(),
            // Absent when 1; absent in logs of hrun before retries.
            occurrence: 1,
            attempt: 0,
            last_attempt: true,
            slot: 0,
            cpus: String::new(),
            cmd: String::new(),
            values: None,
            command: None,
            stdout_bytes: 0,
            error: None,
            exe: None,
            exe_sha256: None,
            pid: 0,
            start: 0.0,
            wall_s: 0.0,
            exit: None,
            signal: None,
            signal_name: None,
            timeout: false,
            cancelled: false,
            leaked: false,
            leaked_pids: Vec::new(),
            utime_s: 0.0,
            stime_s: 0.0,
            maxrss_kb: 0,
            minflt: 0,
            majflt: 0,
            nvcsw: 0,
            nivcsw: 0,
            host: String::new(),
            results_end: None,
            block_offset: None,
            block_bytes: None,
            output_files: None,
        }
    }
}

impl TryFrom<TaskLine> for TaskRecord {
    type Error = &'static str;

    /// A line without its task number (1-based) is not a task record: `{"kind":"task"}` is
    /// skipped as unreadable, not read as a task 0 that failed.
    fn try_from(t: TaskLine) -> Result<TaskRecord, Self::Error> {
        if t.seq == 0 {
            return Err("a task record without its seq");
        }
        let rusage = crate::sys::Rusage {
            utime_s: t.utime_s,
            stime_s: t.stime_s,
            maxrss_kb: t.maxrss_kb,
            minflt: t.minflt,
            majflt: t.majflt,
            nvcsw: t.nvcsw,
            nivcsw: t.nivcsw,
        };
        Ok(TaskRecord {
            kind: kind::task(),
            seq: t.seq,
            line: t.line,
            hash: t.hash,
            occurrence: t.occurrence,
            attempt: t.attempt,
            last_attempt: t.last_attempt,
            slot: t.slot,
            cpus: t.cpus,
            cmd: t.cmd,
            values: t.values,
            command: t.command,
            stdout_bytes: t.stdout_bytes,
            error: t.error,
            exe: t.exe,
            exe_sha256: t.exe_sha256,
            pid: t.pid,
            start: t.start,
            wall_s: t.wall_s,
            exit: t.exit,
            signal: t.signal,
            signal_name: t.signal_name,
            timeout: t.timeout,
            cancelled: t.cancelled,
            leaked: t.leaked,
            leaked_pids: t.leaked_pids,
            rusage,
            host: t.host,
            results_end: t.results_end,
            block_offset: t.block_offset,
            block_bytes: t.block_bytes,
            output_files: t.output_files,
        })
    }
}

impl TaskRecord {
    /// What became of this attempt: the one rule every reader of the log goes by, and the
    /// reading of what the dispatcher decided (`exec::attempt::Disposition`) when it wrote the
    /// record. hrun cutting it short wins (whatever it exited with, `--resume` runs it again);
    /// then success is exit 0 within its `--timeout`, as GNU parallel counts it; a failure is
    /// final on the task's last attempt.
    pub fn outcome(&self) -> Outcome {
        if self.cancelled {
            Outcome::Cancelled
        } else if self.exit == Some(0) && !self.timeout {
            Outcome::Succeeded
        } else if self.last_attempt {
            Outcome::Failed
        } else {
            Outcome::Retried
        }
    }

    /// How the attempt ended, in words: `exit 3`, or the signal's name (`SIGKILL`).
    pub fn status(&self) -> String {
        match (self.exit, &self.signal_name) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(sig)) => sig.clone(),
            (None, None) => "killed".into(),
        }
    }

    /// [`status`](Self::status), and ` (timeout)` when `--timeout` stopped it: a task that
    /// exits 0 on its timeout's TERM failed, and `exit 0` alone would not say why.
    pub fn status_and_timeout(&self) -> String {
        if self.timeout { format!("{} (timeout)", self.status()) } else { self.status() }
    }
}

/// What became of one task attempt (see [`TaskRecord::outcome`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It exited 0 (within its `--timeout`).
    Succeeded,
    /// It failed on the task's last attempt: the task is finished, failed.
    Failed,
    /// It failed, and the task gets another attempt: a retry in the same run, or, when the run
    /// stopped first, in `--resume`.
    Retried,
    /// hrun cut it short (a signal to hrun, `--halt now`, the deadline): `--resume` runs the
    /// task again.
    Cancelled,
}

impl Outcome {
    /// The task is done: `--resume` skips it, and it has a row in a results table.
    pub fn finished(self) -> bool {
        matches!(self, Outcome::Succeeded | Outcome::Failed)
    }

    /// What this attempt says of its task.
    pub fn verdict(self) -> Verdict {
        match self {
            Outcome::Succeeded => Verdict::Succeeded,
            Outcome::Failed => Verdict::Failed,
            Outcome::Retried | Outcome::Cancelled => Verdict::Open,
        }
    }
}

/// Where a task stands after all of its attempts seen so far (in one log or several): the best
/// that any of them says, so a success anywhere wins (`a.max(b)` merges two).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// No attempt finished it (none seen, or each was retried or cancelled): `--resume` runs it.
    #[default]
    Open,
    /// Its last attempt failed: `--resume-failed` runs it again, `--resume` does not.
    Failed,
    Succeeded,
}

/// A run's `end` record (written from `exec::Summary`), the numbers readers use; a field an
/// older hrun did not write reads as its default.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct EndSummary {
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
    /// Writing the results table failed during the run (see `Summary::results_torn`).
    #[serde(default)]
    pub results_torn: bool,
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

impl EndSummary {
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

/// The `kind` of each record, for the field that records keep of it: read back through
/// [`Record`], whose tag takes the field, it is filled in from here.
mod kind {
    pub fn run() -> String {
        "run".into()
    }
    pub fn start() -> String {
        "start".into()
    }
    pub fn task() -> String {
        "task".into()
    }
    pub fn lost() -> String {
        "lost".into()
    }
}

/// `--smt` read back: a value this hrun does not know (a newer one's) reads as the default
/// rather than making the whole run record unreadable.
fn smt_or_default<'de, D: Deserializer<'de>>(d: D) -> Result<crate::slots::Smt, D::Error> {
    let word = String::deserialize(d)?;
    Ok(<crate::slots::Smt as clap::ValueEnum>::from_str(&word, false).unwrap_or_default())
}

fn is_one(n: &u32) -> bool {
    *n == 1
}
