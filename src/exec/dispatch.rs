//! The dispatcher loop: fill free slots, sleep on the signalfd until something happens, then
//! handle signals, deadlines and ended children. It alone owns the run's state.
//!
//! A slot is `Free`, `Running` a task, or `Lingering`: the task's main process ended but
//! processes it started live on (in its process group, or re-parented to hrun, the
//! subreaper, with its `HRUN_SEQ`). A lingering slot gets `--leak-timeout` for them to end,
//! then they are killed and the task is recorded as leaked. Only then is the slot free, so at
//! most one task's processes ever run on a slot.
//!
//! Deadlines: a task's `--timeout` (then TERM), the grace after any TERM (then KILL), the
//! leak timeout, and the log's sync cadence. The loop sleeps until the nearest.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use super::attempt::{Ending, Lingering, Running, SlotState, signal_group, terminate_all};
use super::halt::{Tally, When};
use super::leaks;
use super::os::{self, Ended, Guardian, Reaped, SignalFd, Spawner};
use super::output::Output;
use super::resume::ResumePlan;
use super::spawn::{Launch, TaskEnv};
use super::summary::Summary;
use super::timeout::Median;
use super::{Policy, unix_seconds};
use crate::exit::UsageError;
use crate::input::TaskStream;
use crate::log::{JobLog, RunLog};
use crate::slots::SlotPlan;
use crate::taskfile::Task;

/// How often the run log is flushed to stable storage while records are being written.
const SYNC_EVERY: Duration = Duration::from_secs(1);

pub struct Dispatcher<'a> {
    pub plan: &'a SlotPlan,
    pub policy: &'a Policy,
    pub signals: &'a SignalFd,
    pub guardian: &'a Guardian,
    pub spawner: &'a Spawner,
    pub output: &'a Output,
    pub log: &'a mut RunLog,
    pub joblog: Option<JobLog>,
    pub resume: &'a ResumePlan,
    /// When the run must be over; no task starts that would end after it minus the margin.
    pub walltime: crate::deadline::Walltime<'a>,
    /// Tasks in the file, when `--halt X%` needs it.
    pub total: Option<u64>,
    pub host: &'a str,
    pub progress: super::progress::Progress,
    /// SHA-256 of each program file seen.
    pub hashes: super::provenance::Hashes,
    /// `--delay`: at least this long between two task starts.
    pub delay: Option<Duration>,
    /// `--shell`, for lines that need a shell.
    pub shell: Option<&'a std::path::Path>,
    /// `--tag`: prefix each output line with the task's values.
    pub tag: bool,
    /// `--results`: each finished task gets a row in the table.
    pub results: bool,
}

/// Why no new task starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// SIGINT/SIGTERM/SIGHUP: forwarded; hrun exits 128 + signal.
    Signal(i32),
    /// SIGUSR1: running tasks finish; the rest are not run.
    Drain,
    /// The next task would not end before the deadline (minus the margin); at the deadline
    /// itself, running tasks are stopped too.
    Deadline,
    /// `--halt` fired with this exit status.
    Halt(i32),
    /// A bad task-file line or a task that could not be spawned.
    Error,
    /// hrun's stdout was closed: running tasks finish, nothing new starts; exit 141, as a
    /// writer killed by SIGPIPE (and GNU parallel).
    OutputClosed,
}

struct State {
    slots: Vec<SlotState>,
    by_pid: HashMap<i32, usize>,
    retry: VecDeque<(Task, u32)>,
    stop: Option<Stop>,
    eof: bool,
    deferred: Option<anyhow::Error>,
    summary: Summary,
    tally: Tally,
    median: Median,
    /// First task start and last task end, wall clock (as the log records them), for the
    /// makespan: the same numbers `hrun report` computes from the log.
    first_start: f64,
    last_end: f64,
    dirty_since: Option<Instant>,
    /// When each slot last became free, for the dispatch latency.
    freed_at: Vec<Option<Instant>>,
    /// A slot is free but standard input has no line yet.
    waiting_input: bool,
    /// Signals hrun received in this run (bit N: signal N).
    received: u64,
    /// When the last task started, for `--delay`.
    last_start: Option<Instant>,
    /// A full `$TMPDIR` was reported.
    warned_spool: bool,
}

impl Dispatcher<'_> {
    /// Runs every task; returns the summary and an error that stopped the run early (reported
    /// after the summary). An `Err` means hrun itself failed (e.g. its log cannot be written).
    pub fn run(mut self, mut tasks: TaskStream) -> Result<(Summary, Option<anyhow::Error>)> {
        let mut st = State {
            slots: (0..self.plan.slots.len()).map(|_| SlotState::Free).collect(),
            by_pid: HashMap::with_capacity(self.plan.slots.len()),
            retry: VecDeque::new(),
            stop: None,
            eof: false,
            deferred: None,
            summary: Summary {
                slots: self.plan.slots.len(),
                threads: self.plan.threads,
                ..Summary::default()
            },
            tally: Tally::default(),
            median: self.resume.prior_runtimes.clone(),
            first_start: f64::INFINITY,
            last_end: f64::NEG_INFINITY,
            dirty_since: None,
            freed_at: vec![None; self.plan.slots.len()],
            waiting_input: false,
            received: 0,
            last_start: None,
            warned_spool: false,
        };
        let env = TaskEnv::new(self.plan.threads, self.shell);
        loop {
            self.fill(&mut st, &mut tasks, &env);
            if st.by_pid.is_empty() && !st.slots.iter().any(|s| matches!(s, SlotState::Lingering(_))) {
                let more = !st.retry.is_empty() || !st.eof;
                if st.stop.is_some() || !more {
                    break;
                }
            }
            let timeout = self.next_deadline(&st).map(|t| t.saturating_duration_since(Instant::now()));
            let input = if st.waiting_input { tasks.watch_fd() } else { None };
            self.signals.wait(timeout, input).context("waiting for tasks")?;
            if st.waiting_input {
                // A slot idle for want of input is not dispatch latency: count from now.
                let now = Instant::now();
                st.freed_at.iter_mut().flatten().for_each(|t| *t = now);
            }
            st.waiting_input = false;
            for sig in self.signals.take().context("reading signals")? {
                self.on_signal(&mut st, sig);
            }
            let mut orphans = false;
            while let Some(reaped) = os::reap().context("reaping tasks")? {
                match st.by_pid.remove(&reaped.pid) {
                    Some(slot) => self.on_leader_end(&mut st, slot, reaped)?,
                    // A re-parented orphan (or the guardian): nothing to record, but a lingering
                    // task may have just lost its last leftover.
                    None => orphans = true,
                }
            }
            if orphans {
                self.settle_lingering(&mut st)?;
            }
            self.on_deadlines(&mut st)?;
        }
        leaks::sweep_strays(self.guardian.pid());
        self.progress.finish();
        if st.stop.is_some() {
            st.summary.not_run += st.retry.len() as u64;
            // Counting the rest of a pipe would wait for its producer to finish.
            if tasks.streams() {
                st.summary.rest_unread = true;
            } else {
                st.summary.not_run += self.resume.count_rest(&mut tasks);
            }
        }
        st.summary.makespan_s = (st.last_end - st.first_start).max(0.0);
        match st.stop {
            Some(Stop::Signal(sig)) => st.summary.interrupted_by = Some(sig),
            Some(Stop::Halt(status)) => st.summary.halted = Some(status),
            Some(Stop::Drain) => st.summary.stopped_by = Some("SIGUSR1 (drain)".into()),
            Some(Stop::OutputClosed) => {
                st.summary.stopped_by = Some("standard output closed".into());
                st.summary.interrupted_by = Some(libc::SIGPIPE);
            }
            Some(Stop::Deadline) => st.summary.stopped_by = Some(self.walltime.describe()),
            _ => {}
        }
        Ok((st.summary, st.deferred))
    }

    /// Starts tasks on every free slot: retries first, then the next lines of the file.
    fn fill(&mut self, st: &mut State, tasks: &mut TaskStream, env: &TaskEnv) {
        if st.stop.is_none() && self.output.stdout_closed() {
            eprintln!(
                "hrun: standard output was closed (its reader ended): task output can no longer be shown; \
                 starting no new task, {} running will finish",
                st.by_pid.len()
            );
            st.stop = Some(Stop::OutputClosed);
        }
        while st.stop.is_none() {
            let Some(slot) = st.slots.iter().position(|s| matches!(s, SlotState::Free)) else { return };
            if (!st.retry.is_empty() || !st.eof) && !self.before_deadline(st) {
                return;
            }
            if self.delayed(st).is_some() {
                return;
            }
            let (task, attempt) = match st.retry.pop_front() {
                Some(t) => t,
                None if st.eof => return,
                // Standard input from a slow producer: wait for it in poll, with the signals,
                // rather than in a read that no signal would interrupt.
                None if !tasks.ready() && tasks.watch_fd().is_some_and(|fd| !os::readable(fd)) => {
                    st.waiting_input = true;
                    return;
                }
                None => match self.resume.next_to_run(tasks, &mut st.summary.skipped) {
                    Ok(Some(task)) => (task, 1),
                    Ok(None) => {
                        st.eof = true;
                        continue;
                    }
                    Err(e) => {
                        st.deferred = Some(UsageError(e.into()).into());
                        st.stop = Some(Stop::Error);
                        return;
                    }
                },
            };
            let limit = self.policy.timeout.and_then(|t| t.limit(&st.median));
            match self.start(task, attempt, slot, env, limit) {
                Ok(r) if r.refused.is_some() => {
                    eprintln!(
                        "hrun: task {} (line {}) failed: {}",
                        r.task.seq,
                        r.task.line,
                        r.refused.as_deref().unwrap_or_default()
                    );
                    self.progress.started();
                    if attempt == 1 {
                        self.output.started(r.task.seq);
                    }
                    st.summary.attempts += 1;
                    let reaped = Reaped { pid: 0, ended: Ended::Exited(127), rusage: Default::default() };
                    if let Err(e) = self.finish(st, slot, r, reaped, Instant::now(), Vec::new()) {
                        st.deferred = Some(e);
                        st.stop = Some(Stop::Error);
                    }
                }
                Ok(r) => {
                    if let Err(e) = self.log.append(&r.start_record(&self.plan.slots[slot])) {
                        st.deferred = Some(e);
                        st.stop = Some(Stop::Error);
                    }
                    if let Some(freed) = st.freed_at[slot].take() {
                        st.summary.dispatch.add(freed.elapsed());
                    }
                    self.progress.started();
                    if attempt == 1 {
                        self.output.started(r.task.seq);
                    }
                    st.last_start = Some(r.start);
                    st.by_pid.insert(r.pid, slot);
                    st.summary.attempts += 1;
                    st.slots[slot] = SlotState::Running(Box::new(r));
                }
                Err(e) => {
                    // That task was taken from the input and will not run: count it.
                    st.summary.not_run += 1;
                    st.deferred = Some(e);
                    st.stop = Some(Stop::Error);
                }
            }
        }
    }

    /// With `--delay`, when the next task may start, if that is still ahead.
    fn delayed(&self, st: &State) -> Option<Instant> {
        let at = st.last_start? + self.delay?;
        (at > Instant::now()).then_some(at)
    }

    /// True when a task starting now would end before the deadline; else stops starting tasks.
    fn before_deadline(&self, st: &mut State) -> bool {
        if !self.walltime.is_set() {
            return true;
        }
        let expected = st.median.median().filter(|_| st.median.count() > 0);
        let now = unix_seconds(SystemTime::now());
        let Some(why) = self.walltime.refuses(now, expected, st.by_pid.len()) else { return true };
        eprintln!("hrun: {why}");
        st.stop = Some(Stop::Deadline);
        false
    }

    fn start(
        &self,
        task: Task,
        attempt: u32,
        slot: usize,
        env: &TaskEnv,
        limit: Option<Duration>,
    ) -> Result<Running> {
        let s = &self.plan.slots[slot];
        let captured = self.output.open(task.seq)?;
        let spawn = |via_shell: bool| -> Result<i32> {
            let (program, launch) = env.program(&task, s, via_shell);
            let (out, err) = captured.files();
            match (self.spawner.spawn(&program, env.base(), out, err, &s.cpus), launch) {
                (Ok(pid), _) => Ok(pid),
                // Not found, not executable...: let the shell run it and report it.
                (Err(_), Launch::Direct) => Err(anyhow::anyhow!("retry through the shell")),
                (Err(e), Launch::Shell) => Err(anyhow::Error::new(e).context(format!(
                    "cannot start task {} (line {}): /bin/sh -c {:?}",
                    task.seq, task.line, task.cmd
                ))),
            }
        };
        let start_wall = unix_seconds(SystemTime::now());
        let start = Instant::now();
        let (pid, refused) = match spawn(false).or_else(|_| spawn(true)) {
            Ok(pid) => (pid, None),
            // The kernel refuses this task's command (too long for execve): the task fails, the
            // run goes on.
            Err(e) if refused_by_kernel(&e) => (0, Some(refusal(&e, &task))),
            Err(e) => return Err(e),
        };
        let exe = if refused.is_some() { None } else { env.executable(&task) };
        if let Some(path) = &exe {
            self.hashes.request(path);
        }
        Ok(Running {
            task,
            attempt,
            slot,
            pid,
            start_wall,
            start,
            captured,
            deadline: limit.map(|l| start + l),
            terminating_since: None,
            killed: false,
            timed_out: false,
            cancelled: false,
            exe,
            refused,
        })
    }

    fn on_signal(&mut self, st: &mut State, sig: i32) {
        st.received |= 1 << sig;
        super::attempt::same_signal_arrived(&mut st.slots, sig);
        match sig {
            libc::SIGCHLD => {}
            libc::SIGUSR1 => {
                if st.stop.is_none() {
                    eprintln!("hrun: SIGUSR1: starting no new task; {} running will finish", st.by_pid.len());
                    st.stop = Some(Stop::Drain);
                }
            }
            _ => {
                let again = matches!(st.stop, Some(Stop::Signal(_)));
                if again && sig == libc::SIGINT {
                    eprintln!("hrun: second SIGINT: killing {} running task(s) now", st.by_pid.len());
                    terminate_all(&mut st.slots, libc::SIGKILL);
                } else if !again {
                    eprintln!(
                        "hrun: {}: forwarding it to {} running task(s); SIGKILL after {:?}",
                        os::signal_name(sig),
                        st.by_pid.len(),
                        self.policy.grace
                    );
                    terminate_all(&mut st.slots, sig);
                }
                st.stop = Some(Stop::Signal(sig));
            }
        }
    }

    fn next_deadline(&self, st: &State) -> Option<Instant> {
        let mut next: Option<Instant> = st.dirty_since.map(|t| t + SYNC_EVERY);
        if let Some(t) = self.progress.deadline() {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let more = !st.retry.is_empty() || !st.eof;
        if more
            && st.stop.is_none()
            && st.slots.iter().any(|s| matches!(s, SlotState::Free))
            && let Some(at) = self.delayed(st)
        {
            consider(at);
        }
        if let Some(left) = self.walltime.left().filter(|_| !st.by_pid.is_empty()) {
            consider(Instant::now() + Duration::from_secs_f64(left));
        }
        for s in &st.slots {
            match s {
                SlotState::Running(r) if r.killed => {}
                SlotState::Running(r) => {
                    if let Some(t) = r.terminating_since {
                        consider(t + self.policy.grace);
                    } else if let Some(d) = r.deadline {
                        consider(d);
                    }
                }
                SlotState::Lingering(l) => consider(l.until),
                SlotState::Free => {}
            }
        }
        next
    }

    fn on_deadlines(&mut self, st: &mut State) -> Result<()> {
        if !st.by_pid.is_empty() && self.walltime.passes() {
            let running = st.by_pid.len();
            eprintln!(
                "hrun: {} reached: stopping {running} running task(s); --resume reruns them",
                self.walltime.describe()
            );
            terminate_all(&mut st.slots, libc::SIGTERM);
            if !matches!(st.stop, Some(Stop::Signal(_) | Stop::Halt(_) | Stop::Error)) {
                st.stop = Some(Stop::Deadline);
            }
        }
        let now = Instant::now();
        for slot in 0..st.slots.len() {
            match &mut st.slots[slot] {
                SlotState::Running(r) if r.killed => {}
                SlotState::Running(r) => {
                    if let Some(t) = r.terminating_since {
                        if now >= t + self.policy.grace {
                            signal_group(r.pid, libc::SIGKILL);
                            r.killed = true;
                        }
                    } else if r.deadline.is_some_and(|d| now >= d) {
                        r.timed_out = true;
                        r.terminating_since = Some(now);
                        signal_group(r.pid, libc::SIGTERM);
                    }
                }
                SlotState::Lingering(l) if now >= l.until => {
                    let SlotState::Lingering(l) = std::mem::replace(&mut st.slots[slot], SlotState::Free)
                    else {
                        unreachable!()
                    };
                    let leaked = self.kill_leftovers(&l.run, &st.by_pid);
                    self.finish(st, slot, l.run, l.reaped, l.ended, leaked)?;
                }
                _ => {}
            }
        }
        self.progress.tick(now);
        if st.dirty_since.is_some_and(|t| now >= t + SYNC_EVERY) {
            self.log.sync().context("cannot sync the run log")?;
            st.dirty_since = None;
        }
        Ok(())
    }

    /// The task's main process ended: record it now, or let its leftovers linger a moment.
    fn on_leader_end(&mut self, st: &mut State, slot: usize, reaped: Reaped) -> Result<()> {
        let ended = Instant::now();
        let SlotState::Running(run) = std::mem::replace(&mut st.slots[slot], SlotState::Free) else {
            unreachable!("a reaped task's slot is running")
        };
        let mut run = *run;
        let awaiting = run.died_of_step_wide_signal(reaped.ended, st.received);
        let leftovers = !self.leftovers(&run, &st.by_pid).is_empty();
        if !leftovers && awaiting.is_none() {
            return self.finish(st, slot, run, reaped, ended, Vec::new());
        }
        let until = match run.terminating_since {
            // Being torn down (a timeout, a signal, --halt now): its whole process group got the
            // TERM with the main process, and gets the same grace before the KILL (a shell
            // line's child that checkpoints on SIGTERM must be given the time to).
            Some(since) if leftovers && (run.cancelled || run.timed_out) => since + self.policy.grace,
            _ => ended + super::attempt::linger_for(leftovers, awaiting.is_some(), self.policy.leak_timeout),
        };
        st.slots[slot] = SlotState::Lingering(Box::new(Lingering { run, reaped, ended, until, awaiting }));
        Ok(())
    }

    /// Records the lingering tasks whose leftover processes have all ended (and that wait for
    /// no signal), without waiting for their deadline.
    fn settle_lingering(&mut self, st: &mut State) -> Result<()> {
        for slot in 0..st.slots.len() {
            let settled = match &st.slots[slot] {
                SlotState::Lingering(l) => {
                    l.awaiting.is_none() && self.leftovers(&l.run, &st.by_pid).is_empty()
                }
                _ => false,
            };
            if settled {
                let SlotState::Lingering(l) = std::mem::replace(&mut st.slots[slot], SlotState::Free) else {
                    unreachable!("checked above")
                };
                self.finish(st, slot, l.run, l.reaped, l.ended, Vec::new())?;
            }
        }
        Ok(())
    }

    fn leftovers(&self, run: &Running, running: &HashMap<i32, usize>) -> Vec<i32> {
        let known = |pid: i32| pid == self.guardian.pid() || running.contains_key(&pid);
        leaks::leftovers(run.pid, run.task.seq, known)
    }

    fn kill_leftovers(&self, run: &Running, running: &HashMap<i32, usize>) -> Vec<i32> {
        let killed = leaks::kill_trees(&self.leftovers(run, running));
        signal_group(run.pid, libc::SIGKILL);
        killed
    }

    /// Writes the attempt's record, frees the slot, and applies retries and `--halt`.
    fn finish(
        &mut self,
        st: &mut State,
        slot: usize,
        run: Running,
        reaped: Reaped,
        ended: Instant,
        leaked: Vec<i32>,
    ) -> Result<()> {
        st.first_start = st.first_start.min(run.start_wall);
        st.last_end = st.last_end.max(run.start_wall + ended.duration_since(run.start).as_secs_f64());
        let wall_s = ended.duration_since(run.start).as_secs_f64();
        let succeeded = reaped.ended == Ended::Exited(0) && !run.timed_out;
        let retries_left = !succeeded && !run.cancelled && run.attempt <= self.policy.retries;
        // Stopping (drain, halt, signal): a retry is left to `--resume` in the next job.
        let retry = retries_left && st.stop.is_none();
        let exe_sha256 = run.exe.as_deref().and_then(|p| self.hashes.get(p));
        let end = Ending { reaped, wall_s, last_attempt: !retries_left, leaked: &leaked, exe_sha256 };
        let record = run.record(&self.plan.slots[run.slot], end, self.host);
        self.log.append(&record)?;
        st.dirty_since.get_or_insert(ended);
        if !leaked.is_empty() {
            eprintln!(
                "hrun: warning: task {} (line {}) left {} process(es) running after it ended; killed {:?}",
                run.task.seq,
                run.task.line,
                leaked.len(),
                leaked
            );
        }
        if !retries_left && let Some(j) = self.joblog.as_mut() {
            let command = run.joblog_command(&self.plan.slots[run.slot]);
            j.write(&Running::joblog_row(&record, run.captured.stdout_len(), &command))?;
        }
        let tag = self.tag.then(|| run.task.tag());
        // A row for each task that finished (not retried, cut short or left for --resume).
        let row = (self.results && !retries_left && !run.cancelled).then(|| record.clone());
        self.output.finish(run.task.seq, run.captured, leaked.is_empty(), !retry, tag, row);
        st.slots[slot] = SlotState::Free;
        // A slot counts as free from when hrun learned its task ended, unless leftovers kept
        // it busy longer: then from now.
        st.freed_at[slot] =
            Some(if Instant::now() - ended > self.policy.leak_timeout / 2 { Instant::now() } else { ended });
        st.summary.busy_s += wall_s;
        st.summary.cpu_s += record.rusage.utime_s + record.rusage.stime_s;

        let final_ok = (!retries_left && !run.cancelled).then_some(succeeded);
        self.progress.ended(final_ok);
        if retry {
            st.retry.push_back((run.task, run.attempt + 1));
            return Ok(());
        }
        if retries_left {
            st.summary.not_run += 1;
            return Ok(());
        }
        if run.cancelled {
            st.summary.cancelled += 1;
            return Ok(());
        }
        st.summary.tasks += 1;
        st.summary.timed_out += run.timed_out as u64;
        st.summary.leaked += !leaked.is_empty() as u64;
        st.summary.leaked_processes += leaked.len() as u64;
        if succeeded {
            st.tally.succeeded += 1;
            st.median.add(wall_s);
        } else {
            st.tally.failed += 1;
            st.summary.failed += 1;
            if st.summary.failures.len() < super::summary::FAILURES_SHOWN {
                let how = match (run.timed_out, reaped.ended) {
                    (true, _) => "timed out".to_string(),
                    (false, Ended::Exited(code)) => format!("exit {code}"),
                    (false, Ended::Signaled(sig)) => os::signal_name(sig),
                };
                let (seq, line, cmd) = (run.task.seq, run.task.line, run.task.cmd.clone());
                st.summary.failures.push(super::summary::Failure { seq, line, how, cmd });
            }
            if !st.warned_spool && self.output.spool_full() {
                st.warned_spool = true;
                eprintln!(
                    "hrun: warning: {} is full: tasks cannot write their output there and may fail \
                     (No space left on device); point TMPDIR at a file system with room, or use --output-dir",
                    std::env::temp_dir().display()
                );
            }
        }
        let status = match reaped.ended {
            Ended::Exited(code) => code,
            Ended::Signaled(sig) => 128 + sig,
        };
        if st.stop.is_none()
            && let Some((when, exit)) = self.policy.halt.check(&st.tally, status, self.total.unwrap_or(0))
        {
            eprintln!(
                "hrun: --halt {} reached: starting no new task{}",
                self.policy.halt,
                if when == When::Now { "; killing the running ones" } else { "; running ones finish" }
            );
            st.stop = Some(Stop::Halt(exit));
            if when == When::Now {
                terminate_all(&mut st.slots, libc::SIGTERM);
            }
        }
        Ok(())
    }
}

/// True when the kernel refused the task's command itself (too long for `execve`): not a
/// failure of hrun, nor of the machine.
fn refused_by_kernel(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
            .is_some_and(|n| n == libc::E2BIG || n == libc::ENAMETOOLONG)
    })
}

/// Why a task could not start, with its command cut short.
fn refusal(e: &anyhow::Error, task: &Task) -> String {
    let too_long = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error) == Some(libc::E2BIG)
    });
    let why = if too_long {
        format!(
            "its command ({} bytes) is too long for the kernel (execve: at most 128 KiB in one argument); \
             pass big values in a file",
            task.cmd.len()
        )
    } else {
        format!("the kernel refused to start it: {}", e.root_cause())
    };
    format!("{why}: {}", crate::text::printable_max(&task.cmd, 200))
}
