//! `hrun exec`: the engine. Reads tasks as a stream, runs at most one per slot, each pinned to
//! its slot's CPUs, reaps them with `wait4` and records each in the run log as it ends.
//!
//! This module sets a run up (checks every input before anything starts) and tears it down;
//! `dispatch` is the loop in between. One thread owns all run state; grouped task output is
//! copied out by a second thread (see `output`).

mod attempt;
mod dispatch;
pub mod halt;
mod leaks;
pub mod os;
pub mod output;
pub mod progress;
mod provenance;
pub mod resume;
mod spawn;
mod summary;
pub mod timeout;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};

use crate::cpuset::CpuSet;
use crate::exit::UsageError;
use crate::log::{JobLog, RunLog, RunRecord, SlotRecord};
use crate::slots::SlotPlan;
use crate::taskfile::{Source, TaskFile};
use halt::Halt;
use output::{Output, OutputMode};
use resume::{ResumeMode, ResumePlan};
pub use summary::Summary;
use timeout::Timeout;

/// Everything `hrun exec` needs, resolved from the command line.
#[derive(Clone, Debug)]
pub struct ExecConfig {
    pub source: Source,
    /// `--threads`; overrides the task file's directive.
    pub threads: Option<usize>,
    /// `threads` from hrun.toml: below the task file's directive.
    pub threads_default: Option<usize>,
    pub jobs: Option<usize>,
    pub log: Option<PathBuf>,
    pub joblog: Option<PathBuf>,
    pub output: OutputMode,
    pub policy: Policy,
    pub resume: Option<ResumeMode>,
    /// `--force`: resume even where the task file changed under the log.
    pub force: bool,
    /// Which CPUs, and how slots are cut from them.
    pub placement: crate::placement::Placement,
    /// No summary on stderr (the caller reports).
    pub quiet: bool,
    /// Bar, lines or nothing while the run goes on.
    pub progress: progress::ProgressMode,
    /// `--shard`: run only this shard's tasks.
    pub shard: Option<crate::shard::Shard>,
}

/// How tasks are supervised.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Between SIGTERM (or the forwarded signal) and SIGKILL.
    pub grace: Duration,
    pub timeout: Option<Timeout>,
    /// Extra attempts for a failed task.
    pub retries: u32,
    pub halt: Halt,
    /// How long a finished task's leftover processes may live on before they are killed.
    pub leak_timeout: Duration,
    /// When the run must be over (`--deadline`; by default the Slurm job's end).
    pub deadline: crate::deadline::Spec,
    /// Room left between a task's expected end and the deadline.
    pub deadline_margin: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            grace: Duration::from_secs(10),
            timeout: None,
            retries: 0,
            halt: Halt::default(),
            leak_timeout: Duration::from_millis(500),
            deadline: crate::deadline::Spec::Auto,
            deadline_margin: crate::deadline::DEFAULT_MARGIN,
        }
    }
}

/// Threads per task when neither `--threads` nor a directive says.
pub const DEFAULT_THREADS: usize = 1;

/// The default run log: `<task file stem>.hrun.jsonl` in the current directory, or
/// `<stem>.shard-K-of-N.hrun.jsonl` for a shard, so shards never share a log.
pub fn default_log_path(source: &Source, shard: Option<crate::shard::Shard>) -> PathBuf {
    let stem = log_stem(source);
    match shard {
        Some(s) => PathBuf::from(format!("{stem}.{}.hrun.jsonl", s.label())),
        None => PathBuf::from(format!("{stem}.hrun.jsonl")),
    }
}

/// The task file's name without its extension, which default log names start with.
fn log_stem(source: &Source) -> String {
    match source {
        Source::Stdin => "stdin".to_string(),
        Source::Path(p) => p.file_stem().map_or("tasks".into(), |s| s.to_string_lossy().into_owned()),
    }
}

/// Runs a task file. Errors before the first task starts are [`UsageError`]s (exit 2), and
/// nothing has been written when they happen (except, at most, a new empty log).
pub fn run(cfg: &ExecConfig) -> Result<Summary> {
    let usage = |e: anyhow::Error| -> anyhow::Error { UsageError(e).into() };
    // Read up to the first task (the directives) while signals still have their default
    // effect: a producer on stdin may take its time, and nothing has started yet.
    let tasks = TaskFile::open(&cfg.source).map_err(|e| usage(e.into()))?;
    // Asking Slurm runs squeue: done before signals are blocked, which its child would inherit.
    let deadline = crate::deadline::resolve(cfg.policy.deadline, unix_seconds(SystemTime::now()));
    // Block the handled signals and fork the guardian while hrun is still single-threaded.
    let signals = os::SignalFd::install().context("cannot set up signal handling")?;
    let guardian = os::Guardian::start().context("cannot start the guardian process")?;
    os::become_subreaper().context("cannot become a child subreaper")?;
    let threads = cfg.threads.or(tasks.directives.threads).or(cfg.threads_default).unwrap_or(DEFAULT_THREADS);
    let planned = crate::placement::plan(&cfg.placement, threads, cfg.jobs)?;
    let (usable, plan) = (planned.usable, planned.plan);
    let log_path = cfg.log.clone().unwrap_or_else(|| default_log_path(&cfg.source, cfg.shard));

    // A regular file can be read twice (to check or count it); a pipe, `-` or `<(...)`, once.
    let rereadable = match &cfg.source {
        Source::Path(p) => std::fs::metadata(p).is_ok_and(|m| m.is_file()).then_some(p.as_path()),
        Source::Stdin => None,
    };
    let needs_path = |what: &str| -> Result<&std::path::Path> {
        rereadable.ok_or_else(|| {
            usage(anyhow!("{what} needs the task file as a path to a regular file, not a pipe or `-` (hrun reads it twice)"))
        })
    };
    let resume = match cfg.resume {
        Some(mode) => {
            // With the default log name, the other shards' logs count too: a sweep started on
            // N nodes can be finished on M (or one).
            let logs = match cfg.log {
                Some(_) => vec![log_path.clone()],
                None => resume::sibling_logs(&log_path, &log_stem(&cfg.source)),
            };
            resume::plan(needs_path("--resume")?, &logs, mode, cfg.force)?
        }
        None => ResumePlan::none(),
    }
    .with_shard(cfg.shard);
    // The number of tasks, for progress, `hrun status` and `--halt X%`: a quick pass over a
    // file (a pipe can only be read once).
    let (total, file_tasks) = match rereadable {
        Some(p) => {
            let (mine, all) = count_tasks(p, &resume)?;
            (Some(mine), Some(all))
        }
        None if cfg.policy.halt.needs_total() => {
            needs_path("--halt with a percentage")?;
            (None, None)
        }
        None => (None, None),
    };

    let mut log = RunLog::open(&log_path).map_err(usage)?;
    let joblog = match &cfg.joblog {
        Some(p) => Some(JobLog::open(p, cfg.resume.is_some()).map_err(usage)?),
        None => None,
    };
    let progress = progress::Progress::new(cfg.progress, total.map(|t| t.saturating_sub(resume.skipped())));
    let output = Output::start(cfg.output.clone(), progress.bar()).map_err(usage)?;
    let spawner = os::Spawner::new().context("cannot prepare to start tasks")?;

    for note in &planned.notes {
        eprintln!("hrun: note: {note}");
    }
    if resume.unreadable_lines > 0 {
        eprintln!(
            "hrun: note: {} unreadable line(s) in {} (a record torn by a crash) were ignored",
            resume.unreadable_lines,
            log_path.display()
        );
    }
    let host = os::hostname();
    let mut record = run_record(cfg, &host, &usable, &plan, unix_seconds(SystemTime::now()));
    record.tasks_total = total;
    record.file_tasks = file_tasks;
    record.already_done = resume.skipped();
    record.deadline = deadline.as_ref().map(|d| d.at);
    record.deadline_source = deadline.as_ref().map(|d| d.source.clone());
    log.append(&record)?;

    let outcome = dispatch::Dispatcher {
        plan: &plan,
        policy: &cfg.policy,
        signals: &signals,
        guardian: &guardian,
        spawner: &spawner,
        output: &output,
        log: &mut log,
        joblog,
        resume: &resume,
        walltime: crate::deadline::Walltime::new(deadline.as_ref(), cfg.policy.deadline_margin),
        total,
        host: &host,
        hashes: Default::default(),
        progress,
    }
    .run(tasks);

    let ended = outcome.and_then(|(summary, deferred)| {
        let mut end = summary.end_record();
        if let Some(e) = &deferred {
            end.exit = if e.downcast_ref::<UsageError>().is_some() {
                crate::exit::USAGE
            } else {
                crate::exit::INTERNAL
            };
        }
        log.append(&end)?;
        Ok((summary, deferred))
    });
    let sync = log.sync().with_context(|| format!("cannot sync run log {}", log_path.display()));
    output.close();
    let (summary, deferred) = ended?;
    sync?;
    if !cfg.quiet {
        let output_dir = match &cfg.output {
            OutputMode::Dir(d) => Some(d.as_path()),
            OutputMode::Group => None,
        };
        summary.print(&plan, &log_path, cfg.joblog.as_deref(), output_dir, &cfg.source.name());
    }
    match deferred {
        Some(e) => Err(e.context(format!(
            "stopped starting tasks after {} ({} not run); the run log {} has every finished task",
            summary.tasks,
            summary.not_run,
            log_path.display()
        ))),
        None => Ok(summary),
    }
}

/// Tasks of the file this hrun runs (its shard's), and in the whole file, checking every line
/// on the way.
fn count_tasks(path: &std::path::Path, plan: &ResumePlan) -> Result<(u64, u64)> {
    let mut tf = TaskFile::open(&Source::Path(path.to_path_buf())).map_err(|e| UsageError(e.into()))?;
    let (mut mine, mut all) = (0, 0);
    while let Some(t) = tf.next_task().map_err(|e| UsageError(e.into()))? {
        mine += plan.owns(t.seq) as u64;
        all += 1;
    }
    Ok((mine, all))
}

fn run_record(cfg: &ExecConfig, host: &str, usable: &CpuSet, plan: &SlotPlan, start: f64) -> RunRecord {
    RunRecord {
        kind: "run".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        host: host.into(),
        kernel: os::kernel_release(),
        pid: std::process::id(),
        slurm: crate::log::SlurmInfo::from_env(),
        taskfile: cfg.source.name(),
        threads: plan.threads,
        cpus: usable.to_string(),
        slots: plan
            .slots
            .iter()
            .map(|s| SlotRecord {
                slot: s.id.0,
                cpus: s.cpus.to_string(),
                package: s.domains.package,
                numa: s.domains.numa,
                l3: s.domains.l3,
            })
            .collect(),
        smt: cfg.placement.smt,
        leftover: plan.leftover.to_string(),
        start,
        resume: cfg.resume.is_some(),
        tasks_total: None,
        file_tasks: None,
        already_done: 0,
        shard: cfg.shard.map(|s| s.to_string()),
        deadline: None,
        deadline_source: None,
    }
}

pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
