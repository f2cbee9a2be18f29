//! The JSONL schema of the run log. Field names are a public interface (users run `jq` on
//! them, and `status`/`report`/`--resume` read them back): add fields, never rename.

use serde::{Deserialize, Serialize};

/// First line of each run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunRecord {
    /// Always `"run"`.
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
    pub smt: crate::slots::Smt,
    /// Unix seconds.
    pub start: f64,
    /// Whether this run resumed the log (`--resume`, `--resume-failed`).
    #[serde(default)]
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
}

/// Slots sharing CPUs, round robin (`--jobs` above the slot count).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sharing {
    pub jobs: usize,
    pub cpu_sets: usize,
}

/// A task attempt started (written when it starts, so `hrun status` sees running tasks).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StartRecord {
    /// Always `"start"`.
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

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SlotRecord {
    pub slot: usize,
    pub cpus: String,
    /// Package, NUMA node and L3 domain of the slot; null when unknown or mixed.
    pub package: Option<usize>,
    pub numa: Option<usize>,
    pub l3: Option<usize>,
}

/// One finished task.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub occurrence: u32,
    /// 1 for the first run of the task, 2 for its first retry, ...
    pub attempt: u32,
    /// False only for a failed attempt that hrun retried.
    pub last_attempt: bool,
    pub slot: usize,
    pub cpus: String,
    /// The command as written in the task file (before `{%}`/`{#}` expansion), or a
    /// template's job: the template with the job's values filled in.
    pub cmd: String,
    /// A template's job: its values (after `--colsep`), in source order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// The command as it ran (`{#}` and `{%}` filled in), when that differs from `cmd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Bytes the task wrote to its stdout (GNU's Receive), when hrun captured it.
    #[serde(default)]
    pub stdout_bytes: u64,
    /// Why the task could not be started (its command too long for the kernel); it is then
    /// recorded as failed with exit 127, and has no process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
}

impl TaskRecord {
    /// Success means exit code 0, as GNU parallel counts it.
    pub fn succeeded(&self) -> bool {
        self.exit == Some(0)
    }
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}
