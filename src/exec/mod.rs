//! `hrun exec`: the engine. Reads tasks as a stream, runs at most one per slot, each pinned to
//! its slot's CPUs, reaps them with `wait4` and records each in the run log as it ends.
//!
//! This module sets a run up (checks every input before anything starts) and tears it down;
//! `dispatch` is the loop in between. One thread owns all run state; grouped task output is
//! copied out by a second thread (see `output`).

mod attempt;
pub mod color;
mod dispatch;
mod effect;
mod fleet;
pub mod gate;
pub mod halt;
mod leaks;
mod line_buffer;
pub mod output;
mod preflight;
mod preview;
pub mod progress;
mod provenance;
pub mod results_files;
pub mod resume;
mod row_order;
mod spawn;
mod summary;
pub mod term_seq;
pub mod timeout;
pub mod workdir;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};

use crate::cpuset::CpuSet;
use crate::exit::UsageError;
use crate::input::TaskSpec;
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
    /// `--joblog +FILE` (GNU): append to the joblog instead of starting it afresh.
    pub joblog_append: bool,
    pub output: OutputMode,
    pub policy: Policy,
    pub resume: Option<ResumeMode>,
    /// `--force`: resume even where the task file changed under the log.
    pub force: bool,
    /// Which CPUs, and how slots are cut from them.
    pub placement: crate::placement::Placement,
    /// No summary on stderr (the caller reports).
    pub quiet: bool,
    /// `--quiet`: no notes and no summary, only warnings, errors and the failed tasks.
    pub terse: bool,
    /// Bar, lines or nothing while the run goes on.
    pub progress: progress::ProgressMode,
    /// `--shard`: run only this shard's tasks.
    pub shard: Option<crate::shard::Shard>,
    /// `--nodes` or `--sshlogin`: the hosts to run on (None: this host alone).
    pub hosts: Option<crate::nodes::Hosts>,
    /// `--remote-hrun`: the hrun program on the other nodes.
    pub remote_hrun: Option<PathBuf>,
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
    /// GNU's `-v`/`-t`: each command shown as it starts.
    pub echo: output::Echo,
    /// `--results FILE.csv|.tsv|.json`: a table of every finished task.
    pub results: Option<PathBuf>,
    /// The config file the settings came from, if any gave one.
    pub config_file: Option<PathBuf>,
    /// Where the log's name came from when not from `--log` ("environment HRUN_LOG"...).
    pub log_origin: Option<String>,
    /// The config file that named the log, when it did: that log must be new or a run log.
    pub log_from_config: Option<PathBuf>,
    /// GNU's `--workdir DIR` as given (`.`, `...`, or a directory with replacement strings).
    pub workdir: Option<String>,
    /// GNU's `--nice N`: the niceness tasks run at.
    pub nice: Option<i32>,
    /// GNU's `--tmpdir DIR`: `$TMPDIR` for hrun's temporary files and for the tasks.
    pub tmpdir: Option<PathBuf>,
    /// GNU's `--files`: each task's stdout left in a file, its name shown.
    pub files: bool,
    /// GNU's `--compress`: the output files left behind are compressed by this program.
    pub compress: Option<output::Compression>,
    /// GNU's `--shuf`: the tasks in a random order drawn from this seed.
    pub shuf: Option<u64>,
    /// `--total-jobs N`: the number of jobs `{##}` and the progress show.
    pub total_jobs: Option<u64>,
    /// `--process-slot-var NAME`: NAME is the task's slot number - 1 in its environment.
    pub slot_var: Option<String>,
    /// `--memfree`, `--load`.
    pub gate: gate::Gate,
    /// `--color`, `--color-failed`.
    pub colors: color::Colors,
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
            joblog_append: false,
            output: OutputMode::Group,
            policy: Policy::default(),
            resume: None,
            force: false,
            placement: crate::placement::Placement::default(),
            quiet: false,
            terse: false,
            progress: progress::ProgressMode::Quiet,
            shard: None,
            hosts: None,
            remote_hrun: None,
            delay: None,
            shell: None,
            dry_run: false,
            emit_tasks: None,
            tag: false,
            echo: output::Echo::default(),
            results: None,
            config_file: None,
            log_origin: None,
            log_from_config: None,
            workdir: None,
            nice: None,
            tmpdir: None,
            files: false,
            compress: None,
            shuf: None,
            total_jobs: None,
            slot_var: None,
            gate: gate::Gate::default(),
            colors: color::Colors::default(),
        }
    }
}

/// How tasks are supervised. Its `Default` (the built-in settings) is made in `cli::control`,
/// beside the flags it layers over them.
#[derive(Clone, Debug)]
pub struct Policy {
    /// How a task hrun stops is ended: by default the signal, `--grace`, KILL.
    pub term_seq: term_seq::TermSeq,
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

/// `--pipepart --block -N` (N blocks per slot) and `-m`/`-X` (the last values spread over
/// the slots) need the number of slots before the input is read: counted first.
fn count_slots_first(cfg: &ExecConfig) -> Result<()> {
    let slots = || -> Result<usize> {
        let threads = cfg.threads.or(cfg.threads_default).unwrap_or(DEFAULT_THREADS);
        Ok(crate::placement::plan(&cfg.placement, threads, cfg.jobs)?.plan.slots.len())
    };
    if let TaskSpec::Blocks(b) = &cfg.tasks
        && (matches!(b.block, crate::pipe::BlockSize::PerSlot(_)) || b.round_robin || b.tee.is_some())
    {
        b.set_slots(slots()?);
    }
    if let Some(t) = cfg.tasks.template()
        && t.fill.is_some_and(|f| f.spread)
    {
        t.counts.set_slots(slots()?);
    }
    Ok(())
}

/// `--workdir`, with `~` and the host's name resolved (None: hrun's own directory).
fn parse_workdir(cfg: &ExecConfig) -> Result<Option<workdir::Workdir>> {
    let Some(w) = &cfg.workdir else { return Ok(None) };
    // On ssh hosts tasks start in the login directory (as GNU's): `.` names this one there.
    if w == "." && matches!(cfg.hosts, Some(crate::nodes::Hosts::Ssh { .. })) {
        let here = std::env::current_dir().context("--workdir .: cannot read the working directory")?;
        return Ok(Some(workdir::Workdir::Fixed(here)));
    }
    let home = std::env::var_os("HOME");
    workdir::Workdir::parse(w, home.as_deref().map(std::path::Path::new), &sys::hostname())
        .map_err(|e| UsageError(anyhow!(e)).into())
}

/// Threads per task when neither `--threads` nor a directive says.
pub const DEFAULT_THREADS: usize = 1;

pub use preflight::default_log_path;

/// Runs the tasks. Every refusal is a [`UsageError`] (exit 2) and comes before any output
/// is changed: the inputs and plan are checked first ([`preflight`]), then the outputs claimed
/// (opened and locked, unchanged; a refused claim removes what it created), and only then
/// emptied or written.
pub fn run(cfg: &ExecConfig) -> Result<Summary> {
    // Before any process is started: children hrun had from the start are not its tasks'.
    crate::sys::inherited_children();
    count_slots_first(cfg)?;
    if let Some(path) = &cfg.emit_tasks {
        return preview::emit(cfg, path).map(|()| Summary::default());
    }
    if cfg.dry_run {
        return preview::dry_run(cfg).map(|failed| Summary { failed, ..Summary::default() });
    }
    if let Some(dir) = &cfg.tmpdir {
        use_tmpdir(dir)?;
    }
    let workdir = parse_workdir(cfg)?;
    crate::messages::set_quiet(cfg.terse);
    // A write over `ulimit -f` fails (EFBIG) instead of killing hrun mid-row.
    sys::block_file_size_signal();
    if let Some(w) = &workdir {
        w.check().map_err(|e| UsageError(anyhow!("{e:#}")))?;
    }
    let mut checked = preflight::check(cfg)?;
    // Asking Slurm runs squeue: done before signals are blocked, which its child would inherit.
    let deadline = crate::deadline::resolve(cfg.policy.deadline, unix_seconds(SystemTime::now()));
    let threads =
        cfg.threads.or(checked.tasks.threads_directive()).or(cfg.threads_default).unwrap_or(DEFAULT_THREADS);
    let mut planned = plan_slots(cfg, threads, checked.total)?;
    preflight::give_counts(cfg, checked.file_tasks, threads)?;
    crate::placement::check_runnable(&cfg.placement, &planned)?;
    let fits = check_open_files(planned.plan.slots.len()).map_err(|e| UsageError(anyhow!(e)))?;
    planned.plan.slots.truncate(fits);
    // Block the handled signals and fork the guardian and launchers while hrun is still
    // single-threaded, and before it opens its outputs (a forked process would hold them).
    let signals = sys::SignalFd::install().context("cannot set up signal handling")?;
    let guardian = sys::Guardian::start().context("cannot start the guardian process")?;
    sys::become_subreaper().context("cannot become a child subreaper")?;
    let env = spawn::TaskEnv::new(planned.plan.threads, &checked.shell)
        .with_nice(cfg.nice)
        .with_slot_var(cfg.slot_var.as_deref().unwrap_or(spawn::SLOT_VAR));
    let fleet = start_fleet(cfg, &mut planned.plan, &env)?;
    let opened = open_outputs(cfg, &checked)?;
    let Opened { mut log, joblog, output, progress, dir_lock: _dir_lock, log_path } = opened;
    checked.log = log_path;
    say_before_run(cfg, &planned, &checked, deadline.as_ref(), &mut log, &output)?;
    // The run record is written: the room reserved for it is not needed any more.
    log.unreserve();

    let plan = &planned.plan;
    if let Ok((_, cores, _)) = crate::placement::counts(&cfg.placement) {
        progress.announce(cores, plan.slots.len());
    }
    let outcome = dispatch::Dispatcher {
        plan,
        policy: &cfg.policy,
        signals: &signals,
        guardian: &guardian,
        fleet: &fleet,
        env: &env,
        output: &output,
        log: &mut log,
        joblog,
        resume: &checked.resume,
        walltime: crate::deadline::Walltime::new(deadline.as_ref(), cfg.policy.deadline_margin),
        total: checked.total,
        hashes: Default::default(),
        progress,
        delay: cfg.delay,
        tag: cfg.tag,
        results: cfg.results.is_some(),
        workdir: workdir.as_ref(),
        gate: &cfg.gate,
    }
    .run(checked.tasks);

    let log_path = checked.log.as_deref();
    let (summary, deferred) = write_end(&mut log, outcome, output)?;
    after_run(cfg, summary, deferred, plan, log_path)
}

/// Room reserved in the run log's file system before the run begins (the run record of a
/// node of 288 CPUs is some 30 KB).
const LOG_ROOM: u64 = 256 << 10;

/// GNU's `--tmpdir DIR`: DIR must be a directory hrun can write in (else refused, exit 2,
/// before anything is written); it becomes `$TMPDIR`, where hrun's own temporary files go
/// (buffered output, `--files`, `--pipe`'s spool) and what the tasks see, as GNU sets it.
fn use_tmpdir(dir: &std::path::Path) -> Result<()> {
    let shown = crate::text::printable(&dir.display().to_string()).into_owned();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(UsageError(anyhow!("--tmpdir {shown}: not a directory")).into()),
        Err(e) => return Err(UsageError(anyhow!("--tmpdir {shown}: {e}")).into()),
    }
    tempfile::tempfile_in(dir)
        .map_err(|e| UsageError(anyhow!("--tmpdir {shown}: cannot create a file in it: {e}")))?;
    sys::set_tmpdir(dir);
    Ok(())
}

/// The outputs of a run, open and ready: the run log, the joblog, where task output goes (and
/// the results table), the progress display.
struct Opened {
    log: RunLog,
    joblog: Option<JobLog>,
    output: Output,
    progress: progress::Progress,
    /// The task output directory, locked for the run.
    dir_lock: Option<std::fs::File>,
    /// The run log's path as claimed (a default log in use by another run gives way to a
    /// sibling name).
    log_path: Option<PathBuf>,
}

/// Claims every output (a refusal changes nothing: exit 2), then empties or repairs them.
/// From here on an error is hrun's own (exit 255), never a refusal.
fn open_outputs(cfg: &ExecConfig, checked: &preflight::Checked) -> Result<Opened> {
    use crate::log::claim::{self, Kind};
    let table = cfg.results.as_deref().filter(|p| !crate::results::Target::is_stdout(p));
    // A default log (no --log, no --resume) that another run of the same command holds now
    // gives way to a sibling name: several runs started at once each get a log of their own.
    let default_log = checked.log.as_deref().filter(|_| cfg.log.is_none() && cfg.resume.is_none());
    let mut wanted: Vec<(&str, &std::path::Path, Kind)> = Vec::new();
    wanted
        .extend(checked.log.as_deref().filter(|_| default_log.is_none()).map(|l| ("run log", l, Kind::Log)));
    wanted.extend(cfg.joblog.as_deref().map(|j| ("--joblog", j, Kind::Stream)));
    wanted.extend(table.map(|t| ("--results", t, Kind::Stream)));
    // A --results name with replacement strings is checked before anything is claimed.
    let named = output::results_name(&cfg.output, checked.tasks.names())?;
    let dir_lock = match &cfg.output {
        OutputMode::Dir(dir) => Some(claim::claim_dir("--output-dir", dir)),
        OutputMode::Results(files) => files.root().map(|dir| claim::claim_dir("--results", dir)),
        _ => None,
    }
    .transpose()
    .map_err(|e| UsageError(anyhow!(e)))?;
    let log_claim =
        default_log.map(claim::claim_default_log).transpose().map_err(|e| UsageError(anyhow!(e)))?;
    let claims = match claim::claim_all(&wanted) {
        Ok(rest) => log_claim.into_iter().chain(rest).collect::<Vec<_>>(),
        Err(e) => {
            claim::release(log_claim.into_iter().collect());
            return Err(UsageError(anyhow!(e)).into());
        }
    };
    let log_path = checked.log.as_ref().and(claims.first()).map(|c| c.path.clone());
    if let (Some(asked), Some(got)) = (default_log, &log_path)
        && asked != got
    {
        crate::messages::note(format_args!(
            "run log {} is in use by another hrun running the same command: this run logs to {}",
            asked.display(),
            got.display()
        ));
    }
    // The run log must have room for the run's first records before any output is emptied:
    // a full file system there stops the run with yesterday's table and joblog as they were.
    if let Some(c) = claims.first().filter(|_| checked.log.is_some())
        && let Err(e) = sys::reserve_space(&c.file, LOG_ROOM)
    {
        let shown = crate::text::printable(&c.path.display().to_string()).into_owned();
        claim::release(claims);
        return Err(anyhow!("run log {shown} has no room: {e} (nothing was written)"));
    }
    // From here on an error is hrun's own (exit 255), never a refusal: files were claimed.
    let opened = open_claimed(cfg, checked, claims, named).map_err(|e| match e.downcast::<UsageError>() {
        Ok(UsageError(e)) => e,
        Err(e) => e,
    })?;
    Ok(Opened { dir_lock, log_path, ..opened })
}

/// [`open_outputs`] once every output is claimed: empties or repairs them, starts the output.
fn open_claimed(
    cfg: &ExecConfig,
    checked: &preflight::Checked,
    claims: Vec<crate::log::claim::Claimed>,
    named: Option<crate::template::Template>,
) -> Result<Opened> {
    let table = cfg.results.as_deref().filter(|p| !crate::results::Target::is_stdout(p));
    let mut claims = claims.into_iter();
    let log = match checked.log {
        Some(_) => RunLog::from_claim(claims.next().expect("claimed")),
        None => RunLog::none(),
    };
    let joblog = match cfg.joblog {
        Some(_) => {
            let append = cfg.resume.is_some() || cfg.joblog_append;
            Some(JobLog::from_claim(claims.next().expect("claimed"), append, cfg.joblog_append)?)
        }
        None => None,
    };
    let table = match &cfg.results {
        Some(path) => {
            let target = match table {
                Some(_) => crate::results::Target::File(claims.next().expect("claimed")),
                None => crate::results::Target::Stdout,
            };
            let vouched = checked.resume.results_vouched(path);
            let columns =
                crate::results::Columns { names: checked.tasks.names().to_vec(), width: checked.width };
            Some(crate::results::Table::open(path, target, cfg.resume.is_some(), columns, vouched)?)
        }
        None => None,
    };
    // GNU's `--total-jobs` is what its progress counts to.
    let total = cfg.total_jobs.or(checked.total.map(|t| t.saturating_sub(checked.resume.skipped())));
    let progress = progress::Progress::new(cfg.progress, total);
    let output = Output::start(cfg.output.clone(), progress.bar(), table)?
        .with_echo(cfg.echo)
        .with_tags(cfg.tag)
        .with_colors(cfg.colors)
        .with_files(cfg.files)
        .with_compression(cfg.compress.clone())
        .with_layout(checked.tasks.names().to_vec(), cfg.tasks.per_job(), named);
    Ok(Opened { log, joblog, output, progress, dir_lock: None, log_path: None })
}

/// The end record (with the status of an error that stopped the run early), the log synced,
/// the output closed; all three happen whatever failed first.
fn write_end(
    log: &mut RunLog,
    outcome: Result<(Summary, Option<anyhow::Error>)>,
    output: Output,
) -> Result<(Summary, Option<anyhow::Error>)> {
    // Output still being written goes out first: what could not be is in the log before the
    // end record, so that --resume runs those tasks again.
    let output_failed = output.compress_failed();
    let lost = output.close();
    let ended = outcome.and_then(|(mut summary, mut deferred)| {
        summary.output_failed = output_failed;
        for &seq in &lost.seqs {
            log.append(&crate::log::LostRecord::stdout(seq))?;
        }
        if let (Some(why), None) = (&lost.error, &deferred) {
            deferred = Some(anyhow!("cannot write task output to standard output: {why}"));
        }
        if !lost.seqs.is_empty() {
            let n = lost.seqs.len();
            let more = format!(
                "the output of {} could not be written; --resume runs them again",
                crate::text::count(n as u64, "task")
            );
            deferred = deferred.map(|d| d.context(more));
        }
        let mut end = summary.end_record();
        if deferred.is_some() {
            end.exit = crate::exit::INTERNAL;
        }
        log.append(&end)?;
        Ok((summary, deferred))
    });
    let sync = log.sync().with_context(|| format!("cannot sync run log {}", log.path().display()));
    let ended = ended?;
    sync?;
    Ok(ended)
}

/// Notes and warnings on stderr before the first task (the plan's notes, slots that share
/// CPUs, torn lines of the log being resumed, where a shard's files go), then the run record.
fn say_before_run(
    cfg: &ExecConfig,
    planned: &crate::placement::Planned,
    checked: &preflight::Checked,
    deadline: Option<&crate::deadline::Deadline>,
    log: &mut RunLog,
    output: &Output,
) -> Result<()> {
    let (plan, usable) = (&planned.plan, &planned.usable);
    for note in &planned.notes {
        crate::messages::note(format_args!("{note}"));
    }
    if plan.shared() {
        // As the user wrote it (-j 8 on 5 tasks makes 5 slots: it said "--jobs 5").
        let n = plan.slots.len();
        let asked = cfg.jobs.map_or_else(|| n.to_string(), |j| j.to_string());
        let made = if asked == n.to_string() { String::new() } else { format!(" ({n} made: one per task)") };
        crate::messages::warning(format_args!(
            "--jobs {asked} is more than the {} of {} that fit in CPUs {usable}: \
             slots{made} share CPUs round robin, up to {} tasks per CPU set",
            crate::text::count(plan.cpu_sets as u64, "slot"),
            crate::text::count(plan.threads as u64, "CPU"),
            n.div_ceil(plan.cpu_sets)
        ));
    }
    let torn = checked.resume.unreadable_lines;
    if torn > 0 {
        crate::messages::note(format_args!(
            "{} in {} (a record torn by a crash) ignored",
            crate::text::count(torn, "unreadable line"),
            log.path().display()
        ));
    }
    if let Some(shard) = cfg.shard {
        for (what, path) in [("results table", &cfg.results), ("joblog", &cfg.joblog)] {
            if let Some(p) = path.as_ref().filter(|p| !crate::results::Target::is_stdout(p)) {
                crate::messages::note(format_args!(
                    "shard {shard} writes its {what} to {} (shards never share one)",
                    crate::text::printable(&p.display().to_string())
                ));
            }
        }
    }
    let host = sys::hostname();
    let table = output.file_table_len();
    log.append(&RunRecord {
        tasks_total: checked.total,
        file_tasks: checked.file_tasks,
        already_done: checked.resume.skipped(),
        deadline: deadline.map(|d| d.at),
        deadline_source: deadline.map(|d| d.source.clone()),
        value_names: Some(checked.tasks.names().to_vec()).filter(|n| !n.is_empty()),
        // The table's own name, which task records' results_end are offsets into, and its
        // length now: what the log vouches for before this run's first row.
        results: table.and(cfg.results.as_deref().and_then(|p| std::fs::canonicalize(p).ok())),
        results_start: table,
        config: cfg.config_file.clone(),
        ..run_record(cfg, &host, usable, plan, unix_seconds(SystemTime::now()))
    })
}

/// The summary on stderr (unless quiet), and the error that stopped the run early, if any.
fn after_run(
    cfg: &ExecConfig,
    summary: Summary,
    deferred: Option<anyhow::Error>,
    plan: &SlotPlan,
    log_path: Option<&std::path::Path>,
) -> Result<Summary> {
    // `--log none`: said as such (it read "run log none", as if a file were named so).
    let log_shown =
        log_path.map_or_else(|| std::path::PathBuf::from("none (--log none)"), |p| p.to_path_buf());
    if cfg.terse && !cfg.quiet {
        for f in &summary.failures {
            eprintln!("hrun: failed: {}, {}: {}", f.name, f.how, crate::text::printable_max(&f.cmd, 200));
        }
    } else if !cfg.quiet {
        let output_dir = match &cfg.output {
            OutputMode::Dir(d) => Some(d.as_path()),
            OutputMode::Results(files) => files.root(),
            _ => None,
        };
        let resumable = cfg.tasks.rereadable() && log_path.is_some();
        summary.print(plan, &log_shown, cfg.joblog.as_deref(), output_dir, &cfg.tasks.name(), resumable);
        if let Some(config) = &cfg.config_file {
            eprintln!(
                "hrun: settings from {} (hrun config shows each and where it comes from)",
                crate::text::printable(&config.display().to_string())
            );
        }
    }
    // Input that turned bad after tasks ran is no refusal (exit 2 promises that nothing was
    // written): the run stopped on an error (255), its log says what ran.
    match deferred {
        Some(e) => Err(anyhow!("{e:#}").context(format!(
            "stopped starting tasks after {} ({} not run){}",
            summary.tasks,
            summary.not_run,
            log_path
                .map_or(String::new(), |l| format!("; the run log {} has every finished task", l.display()))
        ))),
        None => Ok(summary),
    }
}

/// The launchers: on this host, one per slot up to 64; with `--nodes` or `-S`, one on each
/// host, whose slots become the plan's.
fn start_fleet(cfg: &ExecConfig, plan: &mut SlotPlan, env: &spawn::TaskEnv) -> Result<fleet::Fleet> {
    Ok(match &cfg.hosts {
        Some(hosts) => {
            let (fleet, nodes_plan) = start_nodes(cfg, hosts, plan.threads, env)?;
            *plan = nodes_plan;
            fleet
        }
        None => {
            let launchers = start_launchers(plan.slots.len(), env)?;
            fleet::Fleet::local(launchers, plan.slots.len(), &sys::hostname())
        }
    })
}

/// Forks the launchers for `slots` slots, each with a copy of the task environment. Their
/// sockets' send buffer is `HRUN_LAUNCHER_SNDBUF` bytes if set (the kernel caps it at
/// `net.core.wmem_max`), else what a request of the largest size needs.
fn start_launchers(slots: usize, env: &spawn::TaskEnv) -> Result<Vec<sys::Launcher>> {
    let send_buffer = std::env::var("HRUN_LAUNCHER_SNDBUF").ok().and_then(|v| v.trim().parse().ok());
    // HRUN_LAUNCHERS=K: K launchers instead (for benchmarks; at most one per slot).
    let k = std::env::var("HRUN_LAUNCHERS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| launcher_count(slots))
        .clamp(1, slots.max(1));
    (0..k)
        .map(|_| sys::Launcher::start(env.base(), send_buffer))
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot start the launcher processes")
}

/// How long a node's launcher may take to start (srun waits for the step's resources; ssh
/// may ask a slow name server).
const NODE_START_WAIT: Duration = Duration::from_secs(120);

/// Starts a launcher on each of `hosts` (one srun step or ssh session each) and waits for
/// each to say which slots it planned there: the run's slots are every host's, one host after
/// the other.
fn start_nodes(
    cfg: &ExecConfig,
    hosts: &crate::nodes::Hosts,
    threads: usize,
    env: &spawn::TaskEnv,
) -> Result<(fleet::Fleet, SlotPlan)> {
    let hrun = match &cfg.remote_hrun {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find hrun's own program for the other nodes")?,
    };
    let plan = crate::nodes::Plan { threads, jobs: cfg.jobs, smt: cfg.placement.smt };
    let mut launchers = Vec::new();
    for i in 0..hosts.len() {
        let command = hosts.command(i, &hrun, &plan).map_err(|e| UsageError(anyhow!(e)))?;
        launchers.push(
            sys::Launcher::remote(env.base(), &command, i)
                .with_context(|| format!("cannot start the launcher for {}", hosts.name(i)))?,
        );
    }
    let (mut counts, mut names, mut slots) = (Vec::new(), Vec::new(), Vec::new());
    for (i, launcher) in launchers.iter().enumerate() {
        let node = hosts.name(i);
        let hello = launcher
            .hello(NODE_START_WAIT)
            .with_context(|| format!("reading the launcher of {node}"))?
            .ok_or_else(|| {
                anyhow!(
                    "the launcher on {node} did not start ({}'s message above says why; hrun must be at {} \
                     there, else give --remote-hrun)",
                    hosts.starter(),
                    hrun.display()
                )
            })?;
        if hello.slots.is_empty() {
            return Err(anyhow!("the launcher on {node} has no slot for tasks of {threads} CPU(s)"));
        }
        counts.push(hello.slots.len());
        slots.extend(hello.slots);
        names.push(hosts.record_name(i, &hello.node));
    }
    let plan = SlotPlan {
        threads,
        cpu_sets: slots.len(),
        slots: slots
            .into_iter()
            .enumerate()
            .map(|(i, cpus)| crate::slots::Slot {
                id: crate::slots::SlotId(i + 1),
                cpus,
                domains: Default::default(),
            })
            .collect(),
        leftover: CpuSet::default(),
        smt_idle: CpuSet::default(),
        topology_aware: false,
    };
    let logins = (0..hosts.len()).map(|i| hosts.gnu_login(i)).collect();
    Ok((fleet::Fleet::nodes(launchers, &counts, names).with_logins(logins), plan))
}

/// How many launcher processes start tasks: one per slot, at most 64 (each starts tasks at
/// one `execve` at a time, and a slot's next task waits for its launcher to be scheduled; the
/// dispatcher keeps the bookkeeping). On 16 CPUs, one per four slots left slots waiting for
/// their launcher: docs/benchmarks.md has the figures. A launcher holds about 1 MB.
fn launcher_count(slots: usize) -> usize {
    slots.clamp(1, 64)
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

/// How many of `slots` tasks can run at once without running out of open files mid-run: each
/// running task holds two (its output), plus the reused ones, the writer's backlog and hrun's
/// own. Fewer than asked is said in a warning (GNU parallel runs fewer too); none is an error.
fn check_open_files(slots: usize) -> Result<usize, String> {
    let limit = sys::raise_open_files_limit() as usize;
    let fits = slots_within_open_files(slots, limit);
    if fits == 0 {
        return Err(format!(
            "one task at a time needs about {} open files, but this process may open only {limit} \
             (ulimit -n): raise the limit (ulimit -n $(ulimit -Hn))",
            open_files_needed(1)
        ));
    }
    if fits < slots {
        crate::messages::warning(format_args!(
            "only enough open files (ulimit -n {limit}) to run {fits} of the {slots} tasks at once: \
             running {fits} at a time; raise the limit (ulimit -n $(ulimit -Hn)) for more"
        ));
    }
    Ok(fits)
}

/// Open files `n` tasks at once need: two per task running, per task waiting for the output
/// thread, and per pair kept for reuse (at most as many as have run at once), and some for
/// hrun itself.
fn open_files_needed(n: usize) -> usize {
    2 * (2 * n + n.min(64).max(n.min(output::POOL_MAX))) + 24
}

/// The most of `slots` tasks at once that fit in `limit` open files (0: not even one).
fn slots_within_open_files(slots: usize, limit: usize) -> usize {
    (1..=slots).rev().find(|&n| open_files_needed(n) <= limit).unwrap_or(0)
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
            OutputMode::Results(f) => {
                f.root().map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()))
            }
            _ => None,
        },
        value_names: None,
        results: None,
        results_start: None,
        config: None,
    }
}

pub use crate::civil::unix_seconds;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_tasks_at_once_when_open_files_are_few() {
        assert_eq!(slots_within_open_files(4, 1 << 20), 4);
        assert_eq!(slots_within_open_files(4, open_files_needed(2)), 2);
        assert_eq!(slots_within_open_files(4, open_files_needed(2) + 1), 2);
        assert_eq!(slots_within_open_files(4, open_files_needed(1) - 1), 0);
        assert_eq!(slots_within_open_files(0, 1 << 20), 0);
    }
}
