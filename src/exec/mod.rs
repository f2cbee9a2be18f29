//! `hrun exec`: the engine. Reads tasks as a stream, runs at most one per slot, each pinned to
//! its slot's CPUs, reaps them with `wait4` and records each in the run log as it ends.
//!
//! One thread owns all the state (the dispatcher loop below). It sleeps on a signalfd that
//! carries SIGCHLD and the termination signals, with a timeout for the next deadline, so a
//! freed slot is refilled as soon as the kernel reports the child's end. Grouped task output
//! is copied out by a second thread (see `output`), never by the dispatcher.

pub mod os;
pub mod output;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::cpuset::CpuSet;
use crate::exit::{self, UsageError};
use crate::log::{JobLog, JobLogRow, RunLog, RunRecord, SlotRecord, TaskRecord};
use crate::slots::{self, SlotPlan};
use crate::taskfile::{self, Source, Task, TaskFile};
use output::{Captured, Output, OutputMode};

/// Everything `hrun exec` needs, resolved from the command line.
#[derive(Clone, Debug)]
pub struct ExecConfig {
    pub source: Source,
    /// `--threads`; overrides the task file's directive.
    pub threads: Option<usize>,
    pub jobs: Option<usize>,
    pub log: Option<PathBuf>,
    pub joblog: Option<PathBuf>,
    pub output: OutputMode,
    /// Time between forwarding a termination signal and SIGKILL.
    pub grace: Duration,
}

/// Threads per task when neither `--threads` nor a directive says.
pub const DEFAULT_THREADS: usize = 1;

/// The default run log: `<task file stem>.hrun.jsonl` in the current directory.
pub fn default_log_path(source: &Source) -> PathBuf {
    let stem = match source {
        Source::Stdin => "stdin".to_string(),
        Source::Path(p) => p.file_stem().map_or("tasks".into(), |s| s.to_string_lossy().into_owned()),
    };
    PathBuf::from(format!("{stem}.hrun.jsonl"))
}

/// A task that is running on a slot.
struct Running {
    task: Task,
    slot: usize,
    start_wall: f64,
    start: Instant,
    captured: Captured,
}

/// Why the dispatcher stopped starting tasks before the end of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// SIGINT/SIGTERM/SIGHUP: forwarded to the tasks; hrun exits 128 + signal.
    Signal(i32),
    /// SIGUSR1: running tasks finish, the rest are reported as not run.
    Drain,
}

/// What a finished run reports; turned into hrun's exit status by [`Summary::exit_code`].
#[derive(Debug, Default)]
pub struct Summary {
    pub tasks: u64,
    pub failed: u64,
    pub not_run: u64,
    pub makespan_s: f64,
    pub busy_s: f64,
    pub slots: usize,
    interrupted_by: Option<i32>,
}

impl Summary {
    pub fn utilisation(&self) -> f64 {
        if self.makespan_s > 0.0 && self.slots > 0 {
            self.busy_s / (self.slots as f64 * self.makespan_s)
        } else {
            0.0
        }
    }

    /// GNU parallel's convention: 0 if every task succeeded, else the number of failed tasks
    /// up to 100, 101 above; 128 + signal when a signal stopped the run.
    pub fn exit_code(&self) -> i32 {
        match self.interrupted_by {
            Some(sig) => 128 + sig,
            None => exit::for_failures(self.failed),
        }
    }
}

/// Runs a task file. Errors before the first task starts are [`UsageError`]s (exit 2).
pub fn run(cfg: &ExecConfig) -> Result<Summary> {
    // Block the handled signals before any thread exists, so every thread inherits the mask.
    let signals = os::SignalFd::install().context("cannot set up signal handling")?;

    let mut tasks = TaskFile::open(&cfg.source).map_err(|e| UsageError(e.into()))?;
    let usable = os::affinity().context("cannot read this process's CPU affinity")?;
    let threads = cfg.threads.or(tasks.directives.threads).unwrap_or(DEFAULT_THREADS);
    let plan = slots::plan(&usable, threads, cfg.jobs).map_err(|e| UsageError(e.into()))?;

    let log_path = cfg.log.clone().unwrap_or_else(|| default_log_path(&cfg.source));
    let mut log = RunLog::open(&log_path).map_err(UsageError)?;
    let mut joblog = cfg.joblog.as_deref().map(JobLog::create).transpose().map_err(UsageError)?;
    let output = Output::start(cfg.output.clone()).map_err(UsageError)?;

    let host = os::hostname();
    let run_start = SystemTime::now();
    log.append(&run_record(cfg, &host, &usable, &plan, unix_seconds(run_start)))?;

    let env = TaskEnv::new(threads);
    let mut free: BTreeSet<usize> = (0..plan.slots.len()).collect();
    let mut running: HashMap<i32, Running> = HashMap::with_capacity(plan.slots.len());
    let mut summary = Summary { slots: plan.slots.len(), ..Summary::default() };
    let mut stop: Option<Stop> = None;
    let mut kill_at: Option<Instant> = None;
    let mut deferred_error: Option<anyhow::Error> = None;
    let mut eof = false;
    let started = Instant::now();
    let mut last_end = started;

    loop {
        // Fill every free slot.
        while stop.is_none() && !eof && deferred_error.is_none() {
            let Some(&slot) = free.first() else { break };
            match tasks.next_task() {
                Ok(Some(task)) => match start_task(task, &plan, slot, &env, &output) {
                    Ok((pid, r)) => {
                        free.remove(&slot);
                        running.insert(pid, r);
                    }
                    Err(e) => deferred_error = Some(e),
                },
                Ok(None) => eof = true,
                Err(e) => deferred_error = Some(UsageError(e.into()).into()),
            }
        }
        if running.is_empty() && (eof || stop.is_some() || deferred_error.is_some()) {
            break;
        }

        let timeout = kill_at.map(|t| t.saturating_duration_since(Instant::now()));
        signals.wait(timeout).context("waiting for tasks")?;
        for sig in signals.take().context("reading signals")? {
            match sig {
                libc::SIGCHLD => {}
                libc::SIGUSR1 => {
                    if stop.is_none() {
                        eprintln!(
                            "hrun: SIGUSR1: starting no new task; {} running will finish",
                            running.len()
                        );
                        stop = Some(Stop::Drain);
                    }
                }
                _ => {
                    let again = matches!(stop, Some(Stop::Signal(_)));
                    if again && sig == libc::SIGINT {
                        eprintln!("hrun: second SIGINT: killing {} running task(s) now", running.len());
                        kill_all(&running, libc::SIGKILL);
                    } else if !again {
                        eprintln!(
                            "hrun: {}: forwarding it to {} running task(s); SIGKILL in {:?}",
                            os::signal_name(sig),
                            running.len(),
                            cfg.grace
                        );
                        kill_all(&running, sig);
                        kill_at = Some(Instant::now() + cfg.grace);
                    }
                    stop = Some(Stop::Signal(sig));
                }
            }
        }
        if kill_at.is_some_and(|t| Instant::now() >= t) {
            eprintln!("hrun: grace period over: killing {} task(s) with SIGKILL", running.len());
            kill_all(&running, libc::SIGKILL);
            kill_at = None;
        }

        while let Some(reaped) = os::reap().context("reaping tasks")? {
            let Some(r) = running.remove(&reaped.pid) else { continue };
            let now = Instant::now();
            last_end = last_end.max(now);
            let wall_s = now.duration_since(r.start).as_secs_f64();
            free.insert(r.slot);
            let record = task_record(&r, &plan, reaped, wall_s, &host);
            summary.tasks += 1;
            summary.busy_s += wall_s;
            if !record.succeeded() {
                summary.failed += 1;
            }
            log.append(&record)?;
            if let Some(j) = joblog.as_mut() {
                j.write(&joblog_row(&record, &r))?;
            }
            output.finish(r.captured);
        }
    }

    if stop.is_some() || deferred_error.is_some() {
        summary.not_run = count_rest(&mut tasks);
    }
    summary.makespan_s = last_end.duration_since(started).as_secs_f64();
    summary.interrupted_by = match stop {
        Some(Stop::Signal(sig)) => Some(sig),
        _ => None,
    };
    log.sync().with_context(|| format!("cannot sync run log {}", log.path().display()))?;
    output.close();
    print_summary(&summary, &plan, log.path(), cfg.joblog.as_deref(), &cfg.source.name());
    match deferred_error {
        Some(e) => Err(e.context(format!(
            "stopped starting tasks after {} ({} not run); the run log {} has every finished task",
            summary.tasks,
            summary.not_run,
            log.path().display()
        ))),
        None => Ok(summary),
    }
}

/// Environment every task gets, on top of hrun's own.
struct TaskEnv {
    threads: String,
    /// `OMP_NUM_THREADS`/`RAYON_NUM_THREADS` are set to T only where the caller left them unset.
    set_omp: bool,
    set_rayon: bool,
}

impl TaskEnv {
    fn new(threads: usize) -> Self {
        let caller_sets = |var: &str| match std::env::var(var) {
            Ok(v) => {
                if v != threads.to_string() {
                    eprintln!(
                        "hrun: warning: {var}={v} is set in the environment and is passed on unchanged, \
                         but each task has {threads} CPU(s); unset it to get {var}={threads}"
                    );
                }
                true
            }
            Err(_) => false,
        };
        TaskEnv {
            threads: threads.to_string(),
            set_omp: !caller_sets("OMP_NUM_THREADS"),
            set_rayon: !caller_sets("RAYON_NUM_THREADS"),
        }
    }
}

fn start_task(
    task: Task,
    plan: &SlotPlan,
    slot: usize,
    env: &TaskEnv,
    output: &Output,
) -> Result<(i32, Running)> {
    let s = &plan.slots[slot];
    let slot_no = s.id.0;
    let captured = output.open(task.seq)?;
    let (out, err) = captured.child_handles().context("cannot duplicate task output files")?;
    let cpus = s.cpus.to_string();
    let (seq, slot_str) = (task.seq.to_string(), slot_no.to_string());
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(taskfile::expand(&task.cmd, task.seq, slot_no).as_ref())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .env("HRUN_SLOT", &slot_str)
        .env("HRUN_SEQ", &seq)
        .env("HRUN_CPUS", &cpus)
        .env("HRUN_THREADS", &env.threads)
        .env("PARALLEL_JOBSLOT", &slot_str)
        .env("PARALLEL_SEQ", &seq);
    if env.set_omp {
        cmd.env("OMP_NUM_THREADS", &env.threads);
    }
    if env.set_rayon {
        cmd.env("RAYON_NUM_THREADS", &env.threads);
    }
    let start_wall = unix_seconds(SystemTime::now());
    let start = Instant::now();
    let child = os::spawn_pinned(&mut cmd, &s.cpus).with_context(|| {
        format!("cannot start task {} (line {}): /bin/sh -c {:?}", task.seq, task.line, task.cmd)
    })?;
    let pid = child.id() as i32;
    // Dropping `child` neither waits nor kills: `os::reap` collects it.
    drop(child);
    Ok((pid, Running { task, slot, start_wall, start, captured }))
}

fn kill_all(running: &HashMap<i32, Running>, signal: i32) {
    for &pid in running.keys() {
        if let Err(e) = os::signal_group(pid, signal) {
            eprintln!("hrun: warning: cannot send {} to task group {pid}: {e}", os::signal_name(signal));
        }
    }
}

/// Counts the tasks left in the file after the run stopped early (they are reported as not
/// run; `--resume` picks them up). An unreadable rest counts as what was read.
fn count_rest(tasks: &mut TaskFile) -> u64 {
    let mut n = 0;
    while let Ok(Some(_)) = tasks.next_task() {
        n += 1;
    }
    n
}

fn run_record(cfg: &ExecConfig, host: &str, usable: &CpuSet, plan: &SlotPlan, start: f64) -> RunRecord {
    RunRecord {
        kind: "run".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        host: host.into(),
        pid: std::process::id(),
        taskfile: cfg.source.name(),
        threads: plan.threads,
        cpus: usable.to_string(),
        slots: plan.slots.iter().map(|s| SlotRecord { slot: s.id.0, cpus: s.cpus.to_string() }).collect(),
        leftover: plan.leftover.to_string(),
        start,
    }
}

fn task_record(r: &Running, plan: &SlotPlan, reaped: os::Reaped, wall_s: f64, host: &str) -> TaskRecord {
    let (exit, signal) = match reaped.ended {
        os::Ended::Exited(code) => (Some(code), None),
        os::Ended::Signaled(sig) => (None, Some(sig)),
    };
    let ru = reaped.rusage;
    TaskRecord {
        kind: "task".into(),
        seq: r.task.seq,
        line: r.task.line,
        slot: plan.slots[r.slot].id.0,
        cpus: plan.slots[r.slot].cpus.to_string(),
        cmd: r.task.cmd.clone(),
        pid: reaped.pid,
        start: r.start_wall,
        wall_s,
        exit,
        signal,
        signal_name: signal.map(os::signal_name),
        utime_s: ru.utime_s,
        stime_s: ru.stime_s,
        maxrss_kb: ru.maxrss_kb,
        minflt: ru.minflt,
        majflt: ru.majflt,
        nvcsw: ru.nvcsw,
        nivcsw: ru.nivcsw,
        host: host.into(),
    }
}

fn joblog_row<'a>(rec: &'a TaskRecord, r: &Running) -> JobLogRow<'a> {
    JobLogRow {
        line: rec.line,
        start: rec.start,
        runtime_s: rec.wall_s,
        received: r.captured.stdout_len(),
        // GNU parallel writes exit value 0 and the signal number for a killed job.
        exit: rec.exit.unwrap_or(0),
        signal: rec.signal.unwrap_or(0),
        command: &rec.cmd,
    }
}

fn print_summary(s: &Summary, plan: &SlotPlan, log: &Path, joblog: Option<&Path>, taskfile: &str) {
    if s.tasks == 0 && s.not_run == 0 {
        eprintln!("hrun: no tasks in {taskfile}: nothing to run");
        return;
    }
    let mut text = format!("hrun: {} task(s): {} ok, {} failed", s.tasks, s.tasks - s.failed, s.failed);
    if s.not_run > 0 {
        text += &format!(", {} not run", s.not_run);
    }
    text += &format!(
        "; makespan {:.2} s on {} slot(s) x {} CPU(s); slot utilisation {:.1}%\nhrun: run log {}",
        s.makespan_s,
        s.slots,
        plan.threads,
        100.0 * s.utilisation(),
        log.display()
    );
    if let Some(j) = joblog {
        text += &format!(", joblog {}", j.display());
    }
    eprintln!("{text}");
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
