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
pub mod output;
mod preview;
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
use crate::input::{TaskSpec, TaskStream};
use crate::log::{JobLog, RunLog, RunRecord, SlotRecord};
use crate::slots::SlotPlan;
use crate::sys;
use halt::Halt;
use output::{Output, OutputMode};
use resume::{ResumeMode, ResumePlan};
pub use summary::Summary;
use timeout::Timeout;

/// Everything `hrun exec` needs, resolved from the command line.
#[derive(Clone, Debug)]
pub struct ExecConfig {
    /// The task file, or the template and its sources.
    pub tasks: TaskSpec,
    /// `--threads`; overrides the task file's directive.
    pub threads: Option<usize>,
    /// `threads` from hrun.toml: below the task file's directive.
    pub threads_default: Option<usize>,
    pub jobs: Option<crate::slots::Jobs>,
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
    /// `--delay`: at least this long between two task starts.
    pub delay: Option<Duration>,
    /// `--shell` (else `$PARALLEL_SHELL`, else /bin/sh) for lines that need a shell.
    pub shell: Option<PathBuf>,
    /// `--dry-run`: print the commands, run nothing.
    pub dry_run: bool,
    /// `--emit-tasks`: write the template's jobs as a task file, run nothing.
    pub emit_tasks: Option<PathBuf>,
    /// `--tag`: prefix each line of output with the task's values.
    pub tag: bool,
    /// `--results FILE.csv|.tsv|.json`: a table of every finished task.
    pub results: Option<PathBuf>,
}

/// How a run is carried out, as `exec` and `run` share it (their `RunControl` flags).
#[derive(Clone, Debug)]
pub struct Control {
    pub jobs: Option<crate::slots::Jobs>,
    pub policy: Policy,
    pub placement: crate::placement::Placement,
    pub progress: progress::ProgressMode,
}

impl ExecConfig {
    /// This configuration carried out as `control` says.
    pub fn with(self, control: Control) -> ExecConfig {
        let Control { jobs, policy, placement, progress } = control;
        ExecConfig { jobs, policy, placement, progress, ..self }
    }

    /// A run of `tasks` with every default: the base that `exec`, `run` and `tune` adjust.
    pub fn new(tasks: TaskSpec) -> ExecConfig {
        ExecConfig {
            tasks,
            threads: None,
            threads_default: None,
            jobs: None,
            log: None,
            joblog: None,
            output: OutputMode::Group,
            policy: Policy::default(),
            resume: None,
            force: false,
            placement: crate::placement::Placement::default(),
            quiet: false,
            progress: progress::ProgressMode::Quiet,
            shard: None,
            delay: None,
            shell: None,
            dry_run: false,
            emit_tasks: None,
            tag: false,
            results: None,
        }
    }
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
    /// The built-in defaults, as declared in [`crate::config`] (no file, no environment).
    fn default() -> Self {
        crate::cli::FaultArgs::default()
            .layered(&crate::config::Config::builtin())
            .expect("the built-in defaults parse")
    }
}

/// Threads per task when neither `--threads` nor a directive says.
pub const DEFAULT_THREADS: usize = 1;

/// The default run log: `<stem>.hrun.jsonl` in the current directory (the task file's name
/// without its extension, or a template's program and fingerprint), or
/// `<stem>.shard-K-of-N.hrun.jsonl` for a shard, so shards never share a log.
pub fn default_log_path(tasks: &TaskSpec, shard: Option<crate::shard::Shard>) -> PathBuf {
    let stem = tasks.log_stem();
    match shard {
        Some(s) => PathBuf::from(format!("{stem}.{}.hrun.jsonl", s.label())),
        None => PathBuf::from(format!("{stem}.hrun.jsonl")),
    }
}

/// Runs the tasks. Errors before the first task starts are [`UsageError`]s (exit 2), and
/// nothing has been written when they happen (except, at most, a new empty log).
pub fn run(cfg: &ExecConfig) -> Result<Summary> {
    let usage = |e: anyhow::Error| -> anyhow::Error { UsageError(e).into() };
    if let Some(path) = &cfg.emit_tasks {
        return preview::emit(cfg, path).map(|()| Summary::default());
    }
    let log_path = cfg.log.clone().unwrap_or_else(|| default_log_path(&cfg.tasks, cfg.shard));
    if !cfg.dry_run {
        check_outputs(cfg, &log_path).map_err(|e| usage(anyhow!(e)))?;
    }
    if cfg.resume.is_some() && !cfg.tasks.rereadable() {
        return Err(usage(anyhow!("--resume needs {} (hrun reads the tasks twice)", cfg.tasks.once_only())));
    }
    if cfg.tasks.reads_stdin() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("hrun: reading {} from the terminal, one per line; end with Ctrl-D", cfg.tasks.unit());
    }
    // Everything read before the run (the first task, the logs to resume, the count) is read
    // while signals still have their default effect: nothing has started, and Ctrl-C or
    // scancel ends hrun at once, even in a long count.
    let mut tasks = cfg.tasks.open().map_err(|e| usage(e.into()))?;
    if cfg.dry_run {
        return preview::dry_run(cfg, tasks).map(|()| Summary::default());
    }
    let resume = resume_plan(cfg, &log_path)?;
    let shell = spawn::shell(cfg.shell.as_deref()).map_err(|e| usage(anyhow!(e)))?;
    // The number of tasks, for progress, `hrun status` and `--halt X%`: a quick pass over a
    // file (a pipe can only be read once). It also checks every line before anything runs.
    let (total, file_tasks) = totals(cfg, &mut tasks, &resume)?;
    // Asking Slurm runs squeue: done before signals are blocked, which its child would inherit.
    let deadline = crate::deadline::resolve(cfg.policy.deadline, unix_seconds(SystemTime::now()));
    // Block the handled signals and fork the guardian while hrun is still single-threaded.
    let signals = sys::SignalFd::install().context("cannot set up signal handling")?;
    let guardian = sys::Guardian::start().context("cannot start the guardian process")?;
    sys::become_subreaper().context("cannot become a child subreaper")?;
    let threads =
        cfg.threads.or(tasks.threads_directive()).or(cfg.threads_default).unwrap_or(DEFAULT_THREADS);
    let planned = plan_slots(cfg, threads, total)?;
    let (usable, plan) = (planned.usable, planned.plan);
    check_open_files(plan.slots.len()).map_err(|e| usage(anyhow!(e)))?;
    // The task environment is prepared once, and the launchers forked with a copy of it,
    // while hrun is single-threaded and before it opens its outputs.
    let env = spawn::TaskEnv::new(plan.threads, Some(&shell));
    let launchers = start_launchers(plan.slots.len(), &env)?;

    let mut log = RunLog::open(&log_path).map_err(usage)?;
    let joblog = match &cfg.joblog {
        Some(p) => Some(JobLog::open(p, cfg.resume.is_some()).map_err(usage)?),
        None => None,
    };
    let progress = progress::Progress::new(cfg.progress, total.map(|t| t.saturating_sub(resume.skipped())));
    let output = open_output(cfg, &progress, tasks.names(), &resume)?;

    say_before_run(&planned.notes, &plan, &usable, resume.unreadable_lines, &log_path);
    if let Some(shard) = cfg.shard {
        for (what, path) in [("results table", &cfg.results), ("joblog", &cfg.joblog)] {
            if let Some(p) = path.as_ref().filter(|p| p.file_stem().is_none_or(|s| s != "-")) {
                eprintln!(
                    "hrun: note: shard {shard} writes its {what} to {} (shards never share one)",
                    crate::text::printable(&p.display().to_string())
                );
            }
        }
    }
    let host = sys::hostname();
    log.append(&RunRecord {
        tasks_total: total,
        file_tasks,
        already_done: resume.skipped(),
        deadline: deadline.as_ref().map(|d| d.at),
        deadline_source: deadline.as_ref().map(|d| d.source.clone()),
        value_names: Some(tasks.names().to_vec()).filter(|n| !n.is_empty()),
        // The table's own name, which task records' results_end are offsets into.
        results: output
            .has_file_table()
            .then(|| cfg.results.as_deref().and_then(|p| std::fs::canonicalize(p).ok()))
            .flatten(),
        ..run_record(cfg, &host, &usable, &plan, unix_seconds(SystemTime::now()))
    })?;

    let outcome = dispatch::Dispatcher {
        plan: &plan,
        policy: &cfg.policy,
        signals: &signals,
        guardian: &guardian,
        launchers: &launchers,
        env: &env,
        output: &output,
        log: &mut log,
        joblog,
        resume: &resume,
        walltime: crate::deadline::Walltime::new(deadline.as_ref(), cfg.policy.deadline_margin),
        total,
        host: &host,
        hashes: Default::default(),
        progress,
        delay: cfg.delay,
        tag: cfg.tag,
        results: cfg.results.is_some(),
    }
    .run(tasks);

    let (summary, deferred) = write_end(&mut log, outcome, &log_path, output)?;
    after_run(cfg, summary, deferred, &plan, &log_path)
}

/// Where tasks' output goes: grouped, ordered, a file per task, and the `--results` table.
fn open_output(
    cfg: &ExecConfig,
    progress: &progress::Progress,
    names: &[String],
    resume: &ResumePlan,
) -> Result<Output> {
    let table = match &cfg.results {
        Some(path) => {
            let vouched = resume.results_vouched(path);
            Some(crate::results::Table::open(path, cfg.resume.is_some(), names.to_vec(), vouched)?)
        }
        None => None,
    };
    Output::start(cfg.output.clone(), progress.bar(), table).map_err(|e| UsageError(e).into())
}

/// The end record (with the status of an error that stopped the run early), the log synced,
/// the output closed; all three happen whatever failed first.
fn write_end(
    log: &mut RunLog,
    outcome: Result<(Summary, Option<anyhow::Error>)>,
    log_path: &std::path::Path,
    output: Output,
) -> Result<(Summary, Option<anyhow::Error>)> {
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
    let ended = ended?;
    sync?;
    Ok(ended)
}

/// The task count for progress, `hrun status` and `--halt X%` (`total`: this run's, after
/// resume and shards), and the file's own: a quick pass over a file, which also checks every
/// line before anything runs. A pipe can only be read once: no count.
fn totals(
    cfg: &ExecConfig,
    tasks: &mut TaskStream,
    resume: &ResumePlan,
) -> Result<(Option<u64>, Option<u64>)> {
    if cfg.tasks.rereadable() {
        let (mine, all) = count_tasks(&cfg.tasks, resume)?;
        tasks.expect_tasks(all);
        Ok((Some(mine), Some(all)))
    } else if cfg.policy.halt.needs_total() {
        Err(UsageError(anyhow!("--halt with a percentage needs {}", cfg.tasks.once_only())).into())
    } else {
        Ok((None, None))
    }
}

/// Notes and warnings on stderr before the first task: the plan's notes, slots that share
/// CPUs, torn lines of the log being resumed.
fn say_before_run(notes: &[String], plan: &SlotPlan, usable: &CpuSet, torn: u64, log_path: &std::path::Path) {
    for note in notes {
        eprintln!("hrun: note: {note}");
    }
    if plan.shared() {
        eprintln!(
            "hrun: warning: --jobs {} is more than the {} slot(s) of {} CPU(s) that fit in CPUs {usable}: \
             slots share CPUs round robin, up to {} tasks per CPU set",
            plan.slots.len(),
            plan.cpu_sets,
            plan.threads,
            plan.slots.len().div_ceil(plan.cpu_sets)
        );
    }
    if torn > 0 {
        eprintln!(
            "hrun: note: {torn} unreadable line(s) in {} (a record torn by a crash) were ignored",
            log_path.display()
        );
    }
}

/// The summary on stderr (unless quiet), and the error that stopped the run early, if any.
fn after_run(
    cfg: &ExecConfig,
    summary: Summary,
    deferred: Option<anyhow::Error>,
    plan: &SlotPlan,
    log_path: &std::path::Path,
) -> Result<Summary> {
    if !cfg.quiet {
        let output_dir = match &cfg.output {
            OutputMode::Dir(d) => Some(d.as_path()),
            _ => None,
        };
        let resumable = cfg.tasks.rereadable();
        summary.print(plan, log_path, cfg.joblog.as_deref(), output_dir, &cfg.tasks.name(), resumable);
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

/// Forks the launchers for `slots` slots, each with a copy of the task environment.
fn start_launchers(slots: usize, env: &spawn::TaskEnv) -> Result<Vec<sys::Launcher>> {
    (0..launcher_count(slots))
        .map(|_| sys::Launcher::start(env.base()))
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot start the launcher processes")
}

/// How many launcher processes start tasks: one per four slots, at most 32 (each starts
/// tasks at one `execve` at a time; the dispatcher keeps the bookkeeping).
fn launcher_count(slots: usize) -> usize {
    slots.div_ceil(4).clamp(1, 32)
}

/// The slot plan; `-j` above the slot count is cut to the number of tasks when known (more
/// slots than tasks would only share CPUs for nothing).
fn plan_slots(cfg: &ExecConfig, threads: usize, total: Option<u64>) -> Result<crate::placement::Planned> {
    let planned = crate::placement::plan(&cfg.placement, threads, cfg.jobs)?;
    match total {
        Some(t) if planned.plan.shared() && (t as usize) < planned.plan.slots.len() => {
            crate::placement::plan(
                &cfg.placement,
                threads,
                Some(crate::slots::Jobs::Count(t.max(1) as usize)),
            )
        }
        _ => Ok(planned),
    }
}

/// Refuses a plan that would run out of open files mid-run: each running task holds two (its
/// output), plus the reused ones, the writer's backlog and hrun's own.
fn check_open_files(slots: usize) -> Result<(), String> {
    // Two files per task running, per task waiting for the output thread, and per pair kept
    // for reuse (at most as many as have run at once), and some for hrun itself.
    let need = |n: usize| 2 * (2 * n + n.min(64).max(n.min(output::POOL_MAX))) + 32;
    let limit = sys::raise_open_files_limit() as usize;
    if need(slots) > limit {
        let fits = (1..slots).rev().find(|&n| need(n) <= limit).unwrap_or(0);
        return Err(format!(
            "{slots} tasks at once need about {} open files, but this process may open only {limit} \
             (ulimit -n): use --jobs {fits} or less, or raise the limit",
            need(slots)
        ));
    }
    Ok(())
}

/// Refuses outputs that would write over an input or over each other (see `same_file`).
fn check_outputs(cfg: &ExecConfig, log_path: &std::path::Path) -> Result<(), String> {
    let stdin = std::path::Path::new("/proc/self/fd/0");
    let mut inputs: Vec<crate::same_file::Named<'_>> = match &cfg.tasks {
        TaskSpec::File(crate::taskfile::Source::Path(p)) => vec![("the task file", p.as_path())],
        TaskSpec::File(crate::taskfile::Source::Stdin) => vec![],
        TaskSpec::Template(t) => {
            crate::template::sources::files(&t.sources).map(|p| ("an input source", p)).collect()
        }
    };
    if cfg.tasks.reads_stdin() && crate::taskfile::stdin_is_file() {
        inputs.push(("standard input", stdin));
    }
    let mut outputs = vec![("--log", log_path)];
    outputs.extend(cfg.joblog.as_deref().map(|p| ("--joblog", p)));
    outputs.extend(
        cfg.results.as_deref().filter(|p| p.file_stem().is_none_or(|s| s != "-")).map(|p| ("--results", p)),
    );
    crate::same_file::refuse_overlap(&inputs, &outputs)?;
    if let OutputMode::Dir(dir) = &cfg.output {
        crate::same_file::refuse_in_output_dir(&inputs, dir)?;
        crate::same_file::refuse_in_output_dir(&outputs, dir)?;
    }
    Ok(())
}

/// What `--resume` skips (nothing without it), restricted to this hrun's shard.
fn resume_plan(cfg: &ExecConfig, log_path: &std::path::Path) -> Result<ResumePlan> {
    let Some(mode) = cfg.resume else { return Ok(ResumePlan::none().with_shard(cfg.shard)) };
    // With the default log name, the other shards' logs count too: a sweep started on N nodes
    // can be finished on M (or one).
    let logs = match cfg.log {
        Some(_) => vec![log_path.to_path_buf()],
        None => resume::sibling_logs(log_path, &cfg.tasks.log_stem()),
    };
    if cfg.log.is_none() && cfg.tasks.template().is_some() && !logs.iter().any(|l| l.exists()) {
        eprintln!(
            "hrun: note: no run log {} yet, so every job runs: a template's default log is named after \
             its command and how values are read, not the values (give --log to resume across a \
             change of the command)",
            log_path.display()
        );
    }
    let plan = resume::plan(&cfg.tasks, &logs, mode)?.with_shard(cfg.shard);
    if plan.gone > 0 {
        eprintln!(
            "hrun: note: {} finished task(s) of the run log are no longer in {} (changed or removed lines); \
             they are not run",
            plan.gone,
            crate::text::printable(&cfg.tasks.name())
        );
    }
    Ok(plan)
}

/// Tasks this hrun runs (its shard's), and in all, checking every line or value on the way.
fn count_tasks(tasks: &TaskSpec, plan: &ResumePlan) -> Result<(u64, u64)> {
    let mut tf = tasks.open().map_err(|e| UsageError(e.into()))?;
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
        kernel: sys::kernel_release(),
        pid: std::process::id(),
        slurm: crate::log::SlurmInfo::from_env(),
        taskfile: cfg.tasks.name(),
        template: cfg.tasks.template().map(|t| t.words.join(" ")),
        sharing: plan
            .shared()
            .then_some(crate::log::Sharing { jobs: plan.slots.len(), cpu_sets: plan.cpu_sets }),
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
        output_dir: match &cfg.output {
            OutputMode::Dir(d) => Some(std::fs::canonicalize(d).unwrap_or_else(|_| d.clone())),
            _ => None,
        },
        value_names: None,
        results: None,
    }
}

/// `t` in Unix seconds (0 for a time before 1970).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
