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
mod state;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::Policy;
use super::attempt::SlotState;
use super::effect::Effect;
use super::leaks;
use super::output::Output;
use super::resume::ResumePlan;
use super::spawn::TaskEnv;
use super::summary::Summary;
use crate::exit::UsageError;
use crate::input::TaskStream;
use crate::log::{JobLog, RunLog};
use crate::slots::SlotPlan;
use crate::sys::{self, Event, Guardian, Launcher, SignalFd, When};
use state::{Pending, RunPhase, RunState, Stop};

/// How often the run log is flushed to stable storage while records are being written.
const SYNC_EVERY: Duration = Duration::from_secs(1);

pub struct Dispatcher<'a> {
    pub plan: &'a SlotPlan,
    pub policy: &'a Policy,
    pub signals: &'a SignalFd,
    pub guardian: &'a Guardian,
    /// The processes that start tasks, and which slots each serves.
    pub fleet: &'a super::fleet::Fleet,
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

impl Dispatcher<'_> {
    /// Runs every task; returns the summary and an error that stopped the run early (reported
    /// after the summary). An `Err` means hrun itself failed (e.g. its log cannot be written).
    pub fn run(mut self, mut tasks: TaskStream) -> Result<(Summary, Option<anyhow::Error>)> {
        let n = self.plan.slots.len();
        let mut st =
            RunState::new(n, self.plan.threads, self.resume.prior_runtimes.clone(), start::process_room(n));
        let ran = self.until_done(&mut st, &mut tasks);
        // What was decided before an error is carried out all the same (signals to tasks).
        self.apply(&mut st);
        ran?;
        // Rows held behind tasks that never ended (the run stopped on an error).
        for held in st.rows.rest() {
            self.write_held_row(&mut st, held)?;
        }
        self.apply(&mut st);
        self.sweep_strays();
        self.progress.finish();
        self.conclude(&mut st, &mut tasks);
        Ok((st.summary, st.deferred))
    }

    /// Starts tasks and handles what happens until every task ended, or the run stopped and
    /// none is left in a slot.
    fn until_done(&mut self, st: &mut RunState, tasks: &mut TaskStream) -> Result<()> {
        loop {
            self.fill(st, tasks);
            if !st.busy() && (st.stopped() || (st.retry.is_empty() && st.phase == RunPhase::InputDone)) {
                return Ok(());
            }
            let ready = self.wait(st, tasks)?;
            for sig in self.signals.take().context("reading signals")? {
                st.on_signal(sig, &self.policy.term_seq);
            }
            let mut orphans = self.on_launcher_events(st, &ready)?;
            // hrun's own children: launchers or the guardian ending, or orphans of a launcher
            // that died (hrun is a subreaper too).
            while let Some(reaped) = sys::reap().context("reaping")? {
                orphans |= !self.fleet.launchers.iter().any(|l| l.pid() == reaped.pid);
            }
            if orphans {
                self.settle_lingering(st)?;
            }
            self.on_deadlines(st)?;
            self.apply(st);
        }
    }

    /// Kills what tasks left behind that outlived the run (children of hrun or of a launcher,
    /// a subreaper, that are neither a launcher nor the guardian).
    fn sweep_strays(&self) {
        let mut roots = vec![std::process::id() as i32];
        roots.extend(self.fleet.launchers.iter().filter(|l| !l.is_remote()).map(Launcher::pid));
        let mut skip = roots.clone();
        // A proxy's srun or ssh ends with it: never a stray.
        skip.extend(self.fleet.launchers.iter().map(Launcher::pid));
        skip.push(self.guardian.pid());
        skip.extend_from_slice(crate::sys::inherited_children());
        leaks::sweep_strays(&roots, &skip);
    }

    /// Sleeps until a signal, a launcher's answer, input, or the nearest deadline; returns
    /// which launchers have something to say.
    fn wait(&self, st: &mut RunState, tasks: &TaskStream) -> Result<Vec<bool>> {
        self.apply(st);
        let timeout = self.next_deadline(st).map(|t| t.saturating_duration_since(Instant::now()));
        // A lost node's launcher is not listened to again (its socket stays readable: closed).
        let mut fds: Vec<i32> = (0..self.fleet.launchers.len())
            .map(|i| if self.fleet.gone(i, &st.dead) { -1 } else { self.fleet.launchers[i].fd() })
            .collect();
        let awaiting = st.phase == RunPhase::AwaitingInput;
        fds.extend(if awaiting { tasks.watch_fd() } else { None });
        let mut ready = self.signals.wait(timeout, &fds).context("waiting for tasks")?;
        ready.truncate(self.fleet.launchers.len());
        if awaiting {
            // A slot idle for want of input is not dispatch latency: count from now.
            let now = Instant::now();
            st.freed_at.iter_mut().flatten().for_each(|t| *t = now);
        }
        if awaiting {
            st.phase = RunPhase::Feeding;
        }
        Ok(ready)
    }

    /// Carries out what was decided: signals, withdrawals, lines on stderr.
    fn apply(&self, st: &mut RunState) {
        for effect in st.fx.take() {
            match effect {
                Effect::Signal { pgid, sig } => self.fleet.signal(pgid, sig),
                // A launcher that cannot be told is gone: its end is handled when its socket closes.
                Effect::Withdraw { slot } => {
                    let _ = self.fleet.of(slot).withdraw(slot as u64);
                }
                Effect::Say(line) => eprintln!("hrun: {line}"),
                Effect::Warn(line) => crate::messages::warning(line),
                // After the output of the tasks that ended before: GNU's `This job failed:`
                // follows the job's own output.
                Effect::Tell { hrun, gnu } => match (crate::messages::gnu(), hrun, gnu) {
                    (false, Some(line), _) => self.output.say(format!("hrun: {line}")),
                    (true, _, Some(line)) => self.output.say(line),
                    _ => {}
                },
            }
        }
    }

    /// Handles what the launchers said; true when an orphan was reaped (a lingering task may
    /// have lost its last leftover).
    fn on_launcher_events(&mut self, st: &mut RunState, ready: &[bool]) -> Result<bool> {
        let mut orphans = false;
        for (i, launcher) in self.fleet.launchers.iter().enumerate().filter(|(i, _)| ready[*i]) {
            if self.fleet.gone(i, &st.dead) {
                continue;
            }
            let Some(events) = launcher.events().context("reading a launcher")? else {
                self.on_launcher_gone(st, i);
                continue;
            };
            for event in events {
                match event {
                    Event::Spawned { token, result, at } => {
                        self.on_spawned(st, token as usize, result, at)?
                    }
                    Event::Reaped { reaped, at, next, clean } => match st.by_pid.remove(&reaped.pid) {
                        Some(slot) => self.on_leader_end(st, slot, reaped, at, next, clean)?,
                        None => orphans = true,
                    },
                    Event::Withdrawn { token } => st.given_back(token as usize),
                }
            }
        }
        Ok(orphans)
    }

    /// What stopped the run, and what it left undone, into the summary.
    fn conclude(&self, st: &mut RunState, tasks: &mut TaskStream) {
        if st.stopped() {
            st.summary.not_run += st.retry.len() as u64;
            // Counting the rest of a pipe would wait for its producer to finish.
            if tasks.streams() {
                st.summary.rest_unread = true;
            } else {
                st.summary.not_run += self.resume.count_rest(tasks);
            }
        }
        st.summary.makespan_s = (st.last_end - st.first_start).max(0.0);
        match st.phase.stop() {
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
        if !st.stopped()
            && let Some(why) = self.output.output_failed()
        {
            st.stop_with(anyhow::anyhow!("cannot write task output to standard output: {why}"));
        }
        if !st.stopped() && self.output.stdout_closed() {
            st.output_closed();
        }
        while !st.stopped() {
            let free = |(i, s): (usize, &SlotState)| {
                matches!(s, SlotState::Free) && st.queued[i].is_none() && !st.dead[i]
            };
            let Some(slot) = self.fleet.fill_order().iter().copied().find(|&i| free((i, &st.slots[i])))
            else {
                break;
            };
            if st
                .at_once
                .is_some_and(|n| st.slots.iter().filter(|s| !matches!(s, SlotState::Free)).count() >= n)
            {
                break;
            }
            if (!st.retry.is_empty() || st.phase.more_input()) && !self.before_deadline(st) {
                break;
            }
            if self.delayed(st).is_some() {
                break;
            }
            let Some(next) = self.next_task(st, tasks) else {
                // A slot is idle for want of a task: the tasks waiting behind others' (maybe
                // long) tasks come back to run here instead.
                st.withdraw_all();
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
                None if st.phase == RunPhase::InputDone => None,
                // Standard input from a slow producer: wait for it in poll, with the signals,
                // rather than in a read that no signal would interrupt.
                None if !tasks.ready() && tasks.watch_fd().is_some_and(|fd| !sys::readable(fd)) => {
                    st.phase = RunPhase::AwaitingInput;
                    None
                }
                None => match self.resume.next_to_run(tasks, &mut st.summary.skipped) {
                    Ok(Some(task)) => Some(Pending { task, number: 1, announced: false }),
                    Ok(None) => {
                        st.phase = RunPhase::InputDone;
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

    fn next_deadline(&self, st: &RunState) -> Option<Instant> {
        let mut next: Option<Instant> = st.dirty_since.map(|t| t + SYNC_EVERY);
        if let Some(t) = self.progress.deadline() {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let more = !st.retry.is_empty() || st.phase.more_input();
        if more
            && !st.stopped()
            && st.slots.iter().any(|s| matches!(s, SlotState::Free))
            && let Some(at) = self.delayed(st)
        {
            consider(at);
        }
        self.gate_wake(st, more).into_iter().for_each(&mut consider);
        st.affinity_wake().into_iter().for_each(&mut consider);
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
            st.deadline_passed(&self.walltime.describe(), &self.policy.term_seq);
        }
        let now = Instant::now();
        self.on_memory(st, now);
        for slot in st.on_clock(now, &self.policy.term_seq) {
            self.end_lingering(st, slot)?;
        }
        for (slot, pid) in st.affinity_due(now) {
            // This host's /proc: a task on another node (a tagged pid) is not looked at.
            if sys::remote_pid(pid).is_some() {
                continue;
            }
            let cpus = &self.plan.slots[slot].cpus;
            let outside = sys::cpus_outside(pid, cpus);
            if !outside.is_empty() {
                st.repinned(slot, outside, cpus);
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
