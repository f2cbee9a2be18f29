//! The dispatcher loop: fill free slots, sleep until something happens, then handle signals,
//! the launchers' answers (a task started, a process ended) and deadlines. It alone owns the
//! run's state.
//!
//! A slot is `Free`, `Starting` (asked of a launcher), `Running` a task, or `Lingering`: the
//! task's main process ended but processes it started live on (in its process group, or
//! re-parented to its launcher, a subreaper, with its `HRUN_SEQ`). A lingering slot gets
//! `--leak-timeout` for them to end, then they are killed and the task is recorded as leaked.
//! Only then is the slot free, so at most one task's processes ever run on a slot.
//!
//! Deadlines: a task's `--timeout` (then TERM), the grace after any TERM (then KILL), the
//! leak timeout, `--delay`, and the log's sync cadence. The loop sleeps until the nearest.
//!
//! - `start.rs`: asking a launcher to start a task, and its answer;
//! - `prefetch.rs`: the next request of a busy slot, sent ahead, and withdrawn when the run
//!   stops;
//! - `end.rs`: a task's end: leftovers, the record, retries and `--halt`;
//! - `gate.rs`: what holds the next task back (`--delay`, the deadline, `--memfree`,
//!   `--load`), and `--memfree` stopping one.

mod end;
mod gate;
mod prefetch;
mod start;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::Policy;
use super::attempt::{Due, SlotState, terminate_all};
use super::halt::Tally;
use super::leaks;
use super::output::Output;
use super::resume::ResumePlan;
use super::spawn::TaskEnv;
use super::summary::Summary;
use super::timeout::Median;
use crate::exit::UsageError;
use crate::input::TaskStream;
use crate::log::{JobLog, RunLog};
use crate::slots::SlotPlan;
use crate::sys::{self, Event, Guardian, Launcher, SignalFd, When};
use crate::task::Task;

/// How often the run log is flushed to stable storage while records are being written.
const SYNC_EVERY: Duration = Duration::from_secs(1);

pub struct Dispatcher<'a> {
    pub plan: &'a SlotPlan,
    pub policy: &'a Policy,
    pub signals: &'a SignalFd,
    pub guardian: &'a Guardian,
    /// The processes that start tasks; slot `i` is served by launcher `i mod len`.
    pub launchers: &'a [Launcher],
    /// What every task gets: the environment, the shell.
    pub env: &'a TaskEnv,
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
    /// `--tag`: prefix each output line with the task's values.
    pub tag: bool,
    /// `--results`: each finished task gets a row in the table.
    pub results: bool,
    /// `--workdir`: where each task starts (None: hrun's own directory).
    pub workdir: Option<&'a super::workdir::Workdir>,
    /// `--memfree`, `--load`: what holds jobs back.
    pub gate: &'a super::gate::Gate,
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

/// A task taken from the input that is to run (again).
struct Pending {
    task: Task,
    /// The attempt it is to be.
    number: u32,
    /// Its output's place was taken (`-k` shows it in the order tasks were taken).
    announced: bool,
}

/// The run's state, owned by the dispatcher thread alone: slots, counts, what stopped it.
struct RunState {
    slots: Vec<SlotState>,
    /// The request sent ahead for each slot, waiting at its launcher behind the slot's task.
    queued: Vec<Option<prefetch::Queued>>,
    by_pid: HashMap<i32, usize>,
    /// Tasks to run before the next line of the input: retries, and requests given back.
    retry: VecDeque<Pending>,
    stop: Option<Stop>,
    /// The signal every running task was sent when the run began to tear down (a signal to
    /// hrun, `--halt now`, the deadline): a task that starts after that gets it too.
    teardown: Option<i32>,
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
    /// `--memfree`/`--load` held jobs back: they are looked at again then.
    gate_until: Option<Instant>,
    /// When `--memfree` last looked whether the youngest job must go.
    memory_checked: Option<Instant>,
    /// A slot is free but standard input has no line yet.
    waiting_input: bool,
    /// Signals hrun received in this run (bit N: signal N).
    received: u64,
    /// When the last task started, for `--delay`.
    last_start: Option<Instant>,
    /// A full `$TMPDIR` was reported.
    warned_spool: bool,
    /// The kernel refused to start a task for now (EAGAIN, ENOMEM): no task starts before
    /// then, and the wait doubles while it keeps refusing.
    backoff: Option<(Instant, Duration)>,
    /// The most tasks at once from now on: lowered to what was running when the kernel
    /// refused to start another (a process limit, `ulimit -u`), as GNU parallel does.
    at_once: Option<usize>,
    /// Since when the kernel has refused every start (reset by a start).
    refused_since: Option<Instant>,
    /// `-k` with a results table in a file: finished tasks' rows waiting for earlier tasks.
    rows: super::row_order::InOrder<end::HeldRow>,
}

impl RunState {
    /// True while some slot has a task in it (starting, running or lingering), or a request
    /// waiting at a launcher.
    fn busy(&self) -> bool {
        self.slots.iter().any(|s| !matches!(s, SlotState::Free)) || self.queued.iter().any(Option::is_some)
    }

    fn stop_with(&mut self, error: anyhow::Error) {
        self.deferred.get_or_insert(error);
        self.stop = Some(Stop::Error);
    }
}

impl Dispatcher<'_> {
    /// Runs every task; returns the summary and an error that stopped the run early (reported
    /// after the summary). An `Err` means hrun itself failed (e.g. its log cannot be written).
    pub fn run(mut self, mut tasks: TaskStream) -> Result<(Summary, Option<anyhow::Error>)> {
        let n = self.plan.slots.len();
        let mut st = RunState {
            slots: (0..n).map(|_| SlotState::Free).collect(),
            queued: (0..n).map(|_| None).collect(),
            by_pid: HashMap::with_capacity(n),
            retry: VecDeque::new(),
            stop: None,
            teardown: None,
            eof: false,
            deferred: None,
            summary: Summary { slots: n, threads: self.plan.threads, ..Summary::default() },
            tally: Tally::default(),
            median: self.resume.prior_runtimes.clone(),
            first_start: f64::INFINITY,
            last_end: f64::NEG_INFINITY,
            dirty_since: None,
            freed_at: vec![None; n],
            waiting_input: false,
            received: 0,
            last_start: None,
            backoff: None,
            warned_spool: false,
            rows: Default::default(),
            at_once: start::process_room(n),
            refused_since: None,
            gate_until: None,
            memory_checked: None,
        };
        loop {
            self.fill(&mut st, &mut tasks);
            if !st.busy() && (st.stop.is_some() || (st.retry.is_empty() && st.eof)) {
                break;
            }
            let ready = self.wait(&mut st, &tasks)?;
            for sig in self.signals.take().context("reading signals")? {
                self.on_signal(&mut st, sig);
            }
            let mut orphans = self.on_launcher_events(&mut st, &ready)?;
            // hrun's own children: launchers or the guardian ending, or orphans of a launcher
            // that died (hrun is a subreaper too).
            while let Some(reaped) = sys::reap().context("reaping")? {
                orphans |= !self.launchers.iter().any(|l| l.pid() == reaped.pid);
            }
            if orphans {
                self.settle_lingering(&mut st)?;
            }
            self.on_deadlines(&mut st)?;
        }
        // Rows held behind tasks that never ended (the run stopped on an error).
        for held in st.rows.rest() {
            self.write_held_row(&mut st, held)?;
        }
        let mut roots = vec![std::process::id() as i32];
        roots.extend(self.launchers.iter().map(Launcher::pid));
        let mut skip = roots.clone();
        skip.push(self.guardian.pid());
        skip.extend_from_slice(crate::sys::inherited_children());
        leaks::sweep_strays(&roots, &skip);
        self.progress.finish();
        self.conclude(&mut st, &mut tasks);
        Ok((st.summary, st.deferred))
    }

    /// Sleeps until a signal, a launcher's answer, input, or the nearest deadline; returns
    /// which launchers have something to say.
    fn wait(&self, st: &mut RunState, tasks: &TaskStream) -> Result<Vec<bool>> {
        let timeout = self.next_deadline(st).map(|t| t.saturating_duration_since(Instant::now()));
        let mut fds: Vec<i32> = self.launchers.iter().map(Launcher::fd).collect();
        fds.extend(if st.waiting_input { tasks.watch_fd() } else { None });
        let mut ready = self.signals.wait(timeout, &fds).context("waiting for tasks")?;
        ready.truncate(self.launchers.len());
        if st.waiting_input {
            // A slot idle for want of input is not dispatch latency: count from now.
            let now = Instant::now();
            st.freed_at.iter_mut().flatten().for_each(|t| *t = now);
        }
        st.waiting_input = false;
        Ok(ready)
    }

    /// Handles what the launchers said; true when an orphan was reaped (a lingering task may
    /// have lost its last leftover).
    fn on_launcher_events(&mut self, st: &mut RunState, ready: &[bool]) -> Result<bool> {
        let mut orphans = false;
        for (i, launcher) in self.launchers.iter().enumerate().filter(|(i, _)| ready[*i]) {
            let Some(events) = launcher.events().context("reading a launcher")? else {
                self.on_launcher_gone(st, i);
                continue;
            };
            for event in events {
                match event {
                    Event::Spawned { token, result, at } => {
                        self.on_spawned(st, token as usize, result, at)?
                    }
                    Event::Reaped { reaped, at, next } => match st.by_pid.remove(&reaped.pid) {
                        Some(slot) => self.on_leader_end(st, slot, reaped, at, next)?,
                        None => orphans = true,
                    },
                    Event::Withdrawn { token } => self.given_back(st, token as usize),
                }
            }
        }
        Ok(orphans)
    }

    /// What stopped the run, and what it left undone, into the summary.
    fn conclude(&self, st: &mut RunState, tasks: &mut TaskStream) {
        if st.stop.is_some() {
            st.summary.not_run += st.retry.len() as u64;
            // Counting the rest of a pipe would wait for its producer to finish.
            if tasks.streams() {
                st.summary.rest_unread = true;
            } else {
                st.summary.not_run += self.resume.count_rest(tasks);
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
        st.summary.failures.sort_by_key(|f| f.seq);
    }

    /// Starts tasks on every free slot: retries first, then the next lines of the file; then
    /// sends the next request ahead for each busy slot.
    fn fill(&mut self, st: &mut RunState, tasks: &mut TaskStream) {
        if st.stop.is_none()
            && let Some(why) = self.output.output_failed()
        {
            st.stop_with(anyhow::anyhow!("cannot write task output to standard output: {why}"));
        }
        if st.stop.is_none() && self.output.stdout_closed() {
            eprintln!(
                "hrun: standard output was closed (its reader ended): task output can no longer be shown; \
                 starting no new task, {} running will finish",
                st.by_pid.len()
            );
            st.stop = Some(Stop::OutputClosed);
        }
        while st.stop.is_none() {
            let free = |(i, s): (usize, &SlotState)| matches!(s, SlotState::Free) && st.queued[i].is_none();
            let Some(slot) = st.slots.iter().enumerate().position(free) else { break };
            if st
                .at_once
                .is_some_and(|n| st.slots.iter().filter(|s| !matches!(s, SlotState::Free)).count() >= n)
            {
                break;
            }
            if (!st.retry.is_empty() || !st.eof) && !self.before_deadline(st) {
                break;
            }
            if self.delayed(st).is_some() {
                break;
            }
            let Some(next) = self.next_task(st, tasks) else {
                // A slot is idle for want of a task: the tasks waiting behind others' (maybe
                // long) tasks come back to run here instead.
                self.withdraw_all(st);
                return;
            };
            // Taken first, so that the end of the input is known while jobs are held back.
            if !self.gate_open(st) {
                st.retry.push_front(next);
                break;
            }
            self.request(st, next, slot, When::Now);
        }
        self.fill_ahead(st, tasks);
    }

    /// The next task to run: a retry first, then the next line of the input; `None` when
    /// there is none (or none yet: standard input has no line).
    fn next_task(&mut self, st: &mut RunState, tasks: &mut TaskStream) -> Option<Pending> {
        loop {
            return match st.retry.pop_front() {
                Some(t) => Some(t),
                None if st.eof => None,
                // Standard input from a slow producer: wait for it in poll, with the signals,
                // rather than in a read that no signal would interrupt.
                None if !tasks.ready() && tasks.watch_fd().is_some_and(|fd| !sys::readable(fd)) => {
                    st.waiting_input = true;
                    None
                }
                None => match self.resume.next_to_run(tasks, &mut st.summary.skipped) {
                    Ok(Some(task)) => Some(Pending { task, number: 1, announced: false }),
                    Ok(None) => {
                        st.eof = true;
                        continue;
                    }
                    Err(e) => {
                        st.stop_with(UsageError(e.into()).into());
                        None
                    }
                },
            };
        }
    }

    fn on_signal(&mut self, st: &mut RunState, sig: i32) {
        st.received |= 1 << sig;
        super::attempt::same_signal_arrived(&mut st.slots, sig);
        match sig {
            libc::SIGCHLD => {}
            libc::SIGUSR1 => {
                if st.stop.is_none() {
                    st.stop = Some(Stop::Drain);
                    self.withdraw_all(st);
                    eprintln!("hrun: SIGUSR1: starting no new task; {} running will finish", st.by_pid.len());
                }
            }
            _ => {
                let again = matches!(st.stop, Some(Stop::Signal(_)));
                if again && sig == libc::SIGINT {
                    eprintln!("hrun: second SIGINT: killing {} running task(s) now", st.by_pid.len());
                    self.tear_down(st, libc::SIGKILL);
                } else if !again {
                    eprintln!(
                        "hrun: {}: {}",
                        sys::signal_name(sig),
                        self.policy.term_seq.describe(st.by_pid.len())
                    );
                    self.tear_down(st, sig);
                }
                st.stop = Some(Stop::Signal(sig));
            }
        }
    }

    /// Sends `sig` to every running task's group (they are cancelled), and to those still
    /// starting as they start.
    fn tear_down(&self, st: &mut RunState, sig: i32) {
        self.withdraw_all(st);
        terminate_all(&mut st.slots, sig, &self.policy.term_seq);
        st.teardown = Some(sig);
    }

    fn next_deadline(&self, st: &RunState) -> Option<Instant> {
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
        self.gate_wake(st, more).into_iter().for_each(&mut consider);
        if let Some(left) = self.walltime.left().filter(|_| !st.by_pid.is_empty()) {
            consider(Instant::now() + Duration::from_secs_f64(left));
        }
        for s in &st.slots {
            match s {
                SlotState::Running(r) => {
                    if let Some(at) = r.phase.wake_at(r.deadline, &self.policy.term_seq) {
                        consider(at);
                    }
                }
                SlotState::Lingering(l) => consider(l.until),
                SlotState::Free | SlotState::Starting(_) => {}
            }
        }
        next
    }

    fn on_deadlines(&mut self, st: &mut RunState) -> Result<()> {
        if !st.by_pid.is_empty() && self.walltime.passes() {
            let running = st.by_pid.len();
            eprintln!(
                "hrun: {} reached: stopping {running} running task(s); --resume reruns them",
                self.walltime.describe()
            );
            self.tear_down(st, libc::SIGTERM);
            if !matches!(st.stop, Some(Stop::Signal(_) | Stop::Halt(_) | Stop::Error)) {
                st.stop = Some(Stop::Deadline);
            }
        }
        let now = Instant::now();
        self.on_memory(st, now);
        for slot in 0..st.slots.len() {
            match &mut st.slots[slot] {
                SlotState::Running(r) => match r.phase.due(now, r.deadline, &self.policy.term_seq) {
                    Some(Due::Timeout) => {
                        r.time_out(now, &self.policy.term_seq);
                        // It fails: what waits behind it is sent again once hrun counted that.
                        self.withdraw(st, slot);
                    }
                    Some(Due::Next) => r.next_step(now, &self.policy.term_seq),
                    None => {}
                },
                SlotState::Lingering(l) if now >= l.until => self.end_lingering(st, slot)?,
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
}
