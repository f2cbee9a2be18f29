//! The run's state, and the decisions that change it without touching the world: they push
//! effects (`Effect`: signals to task groups, withdrawals, lines on stderr) that the
//! dispatcher's shell carries out before it next waits. What a signal, `--halt`, the deadline,
//! a timeout, a launcher's refusal or its loss does to the run is decided here, and tested
//! here with no process.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::super::Policy;
use super::super::attempt::{Attempt, Disposition, Due, SlotState, Starting, terminate_all};
use super::super::effect::{Effect, Effects};
use super::super::halt::Tally;
use super::super::summary::{FAILURES_SHOWN, Failure, Summary};
use super::super::term_seq::TermSeq;
use super::super::timeout::Median;
use super::{end, prefetch};
use crate::sys::{Ended, Reaped, When as Start};
use crate::task::Task;

/// Why no new task starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
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

/// Where the run is: one value instead of flags for stopped, torn down, input ended, waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RunPhase {
    /// Tasks start as slots free up; the input may have more.
    Feeding,
    /// A slot is free and standard input has no line yet: the next wait watches it too.
    AwaitingInput,
    /// The input is read to its end: the tasks in slots and the retries finish the run.
    InputDone,
    /// Nothing new starts (`Stop` says why); the tasks in slots finish.
    Stopping(Stop),
    /// Nothing new starts, and every task in a slot got `sig` (a task that starts after that
    /// gets it too).
    TearingDown { stop: Stop, sig: i32 },
}

impl RunPhase {
    /// Why nothing new starts, once something stopped the run.
    pub(super) fn stop(self) -> Option<Stop> {
        match self {
            RunPhase::Stopping(stop) | RunPhase::TearingDown { stop, .. } => Some(stop),
            _ => None,
        }
    }

    /// The signal every task got when the run began to tear down.
    pub(super) fn teardown(self) -> Option<i32> {
        match self {
            RunPhase::TearingDown { sig, .. } => Some(sig),
            _ => None,
        }
    }

    /// True while the input may have more tasks to start.
    pub(super) fn more_input(self) -> bool {
        matches!(self, RunPhase::Feeding | RunPhase::AwaitingInput)
    }
}

/// A task taken from the input that is to run (again).
pub(super) struct Pending {
    pub(super) task: Task,
    /// The attempt it is to be.
    pub(super) number: u32,
    /// Its output's place was taken (`-k` shows it in the order tasks were taken).
    pub(super) announced: bool,
}

/// The run's state, owned by the dispatcher thread alone: slots, counts, what stopped it.
pub(super) struct RunState {
    pub(super) slots: Vec<SlotState>,
    /// The request sent ahead for each slot, waiting at its launcher behind the slot's task.
    pub(super) queued: Vec<Option<prefetch::Queued>>,
    pub(super) by_pid: HashMap<i32, usize>,
    /// Tasks to run before the next line of the input: retries, and requests given back.
    pub(super) retry: VecDeque<Pending>,
    pub(super) phase: RunPhase,
    pub(super) deferred: Option<anyhow::Error>,
    pub(super) summary: Summary,
    pub(super) tally: Tally,
    pub(super) median: Median,
    /// First task start and last task end, wall clock (as the log records them), for the
    /// makespan: the same numbers `hrun report` computes from the log.
    pub(super) first_start: f64,
    pub(super) last_end: f64,
    pub(super) dirty_since: Option<Instant>,
    /// When each slot last became free, for the dispatch latency.
    pub(super) freed_at: Vec<Option<Instant>>,
    /// `--memfree`/`--load` held jobs back: they are looked at again then.
    pub(super) gate_until: Option<Instant>,
    /// When `--memfree` last looked whether the youngest job must go.
    pub(super) memory_checked: Option<Instant>,
    /// Signals hrun received in this run (bit N: signal N).
    pub(super) received: u64,
    /// When the last task started, for `--delay`.
    pub(super) last_start: Option<Instant>,
    /// A full `$TMPDIR` was reported.
    pub(super) warned_spool: bool,
    /// The kernel refused to start a task for now (EAGAIN, ENOMEM): no task starts before
    /// then, and the wait doubles while it keeps refusing.
    pub(super) backoff: Option<(Instant, Duration)>,
    /// The most tasks at once from now on: lowered to what was running when the kernel
    /// refused to start another (a process limit, `ulimit -u`), as GNU parallel does.
    pub(super) at_once: Option<usize>,
    /// Since when the kernel has refused every start (reset by a start).
    pub(super) refused_since: Option<Instant>,
    /// `-k` with a results table in a file: finished tasks' rows waiting for earlier tasks.
    pub(super) rows: super::super::row_order::InOrder<end::HeldRow>,
    /// When each slot's running task is next looked at for CPUs outside its slot, and the
    /// wait after that (1 s after its start, then doubling up to a minute); `None` once named.
    pub(super) affinity_at: Vec<Option<(Instant, Duration)>>,
    /// What the decisions so far ask of the world, carried out before the next wait.
    pub(super) fx: Effects,
    /// Slots of a node that was lost: nothing starts on them again.
    pub(super) dead: Vec<bool>,
}

impl RunState {
    /// The state of a run on `slots` slots of `threads` CPUs, which starts at most `at_once`
    /// tasks at once (a process limit), with the runtimes of earlier runs in `median`.
    pub(super) fn new(slots: usize, threads: usize, median: Median, at_once: Option<usize>) -> Self {
        RunState {
            slots: (0..slots).map(|_| SlotState::Free).collect(),
            queued: (0..slots).map(|_| None).collect(),
            by_pid: HashMap::with_capacity(slots),
            retry: VecDeque::new(),
            phase: RunPhase::Feeding,
            deferred: None,
            summary: Summary { slots, threads, ..Summary::default() },
            tally: Tally::default(),
            median,
            first_start: f64::INFINITY,
            last_end: f64::NEG_INFINITY,
            dirty_since: None,
            freed_at: vec![None; slots],
            received: 0,
            last_start: None,
            backoff: None,
            warned_spool: false,
            rows: Default::default(),
            at_once,
            refused_since: None,
            gate_until: None,
            memory_checked: None,
            affinity_at: vec![None; slots],
            fx: Effects::default(),
            dead: vec![false; slots],
        }
    }

    /// True while some slot has a task in it (starting, running or lingering), or a request
    /// waiting at a launcher.
    pub(super) fn busy(&self) -> bool {
        self.slots.iter().any(|s| !matches!(s, SlotState::Free)) || self.queued.iter().any(Option::is_some)
    }

    /// True once something stopped the run: nothing new starts.
    pub(super) fn stopped(&self) -> bool {
        self.phase.stop().is_some()
    }

    /// Nothing new starts, for `why` (a run being torn down goes on being torn down).
    pub(super) fn stop_as(&mut self, why: Stop) {
        self.phase = match self.phase {
            RunPhase::TearingDown { sig, .. } => RunPhase::TearingDown { stop: why, sig },
            _ => RunPhase::Stopping(why),
        };
    }

    pub(super) fn stop_with(&mut self, error: anyhow::Error) {
        self.deferred.get_or_insert(error);
        self.stop_as(Stop::Error);
    }

    /// A signal hrun received: SIGUSR1 drains; INT, TERM, HUP tear the run down (a second INT
    /// kills at once); tasks that just died of the same signal were cut short by it.
    pub(super) fn on_signal(&mut self, sig: i32, seq: &TermSeq) {
        self.received |= 1 << sig;
        super::super::attempt::same_signal_arrived(&mut self.slots, sig);
        match sig {
            libc::SIGCHLD => {}
            libc::SIGUSR1 => {
                if !self.stopped() {
                    self.stop_as(Stop::Drain);
                    self.withdraw_all();
                    self.fx.say(format!(
                        "SIGUSR1: starting no new task; {} running will finish",
                        self.by_pid.len()
                    ));
                }
            }
            _ => {
                let again = matches!(self.phase.stop(), Some(Stop::Signal(_)));
                if again && sig == libc::SIGINT {
                    self.fx.say(format!(
                        "second SIGINT: killing {} now",
                        crate::text::count(self.by_pid.len() as u64, "running task")
                    ));
                    self.tear_down(Stop::Signal(sig), libc::SIGKILL, seq);
                } else if !again {
                    self.fx.say(format!(
                        "{}: {}",
                        crate::sys::signal_name(sig),
                        seq.describe(self.by_pid.len())
                    ));
                    self.tear_down(Stop::Signal(sig), sig, seq);
                } else {
                    self.stop_as(Stop::Signal(sig));
                }
            }
        }
    }

    /// The run stops for `why`, and sends `sig` to every running task's group (they are
    /// cancelled), and to those still starting as they start; withdraws every waiting request.
    pub(super) fn tear_down(&mut self, why: Stop, sig: i32, seq: &TermSeq) {
        self.withdraw_all();
        terminate_all(&mut self.slots, sig, seq, Instant::now(), &mut self.fx);
        self.phase = RunPhase::TearingDown { stop: why, sig };
    }

    /// The deadline (`what`) passed with tasks running: they are stopped (`--resume` reruns
    /// them), and the run stops, unless something else stopped it first.
    pub(super) fn deadline_passed(&mut self, what: &str, seq: &TermSeq) {
        let running = self.by_pid.len();
        self.fx.say(format!(
            "{what} reached: stopping {}; --resume reruns them",
            crate::text::count(running as u64, "running task")
        ));
        let why = match self.phase.stop() {
            Some(earlier @ (Stop::Signal(_) | Stop::Halt(_) | Stop::Error)) => earlier,
            _ => Stop::Deadline,
        };
        self.tear_down(why, libc::SIGTERM, seq);
    }

    /// hrun's standard output was closed: nothing new starts; the running tasks finish.
    pub(super) fn output_closed(&mut self) {
        // GNU parallel says nothing: as `parallel`, nor does hrun.
        let hrun = format!(
            "standard output was closed (its reader ended): task output can no longer be shown; \
             starting no new task, {} running will finish",
            self.by_pid.len()
        );
        self.fx.push(Effect::Tell { hrun: Some(hrun), gnu: None });
        self.stop_as(Stop::OutputClosed);
        self.withdraw_all();
    }

    /// What the clock asks at `now` of the running tasks: a `--timeout` passed (TERM; the
    /// request waiting behind it is withdrawn), the next step of a term sequence. Returns the
    /// lingering slots whose time is up (their leftovers are to be killed).
    pub(super) fn on_clock(&mut self, now: Instant, seq: &TermSeq) -> Vec<usize> {
        let mut due = Vec::new();
        for slot in 0..self.slots.len() {
            match &mut self.slots[slot] {
                SlotState::Running(r) => match r.phase.due(now, r.deadline, seq) {
                    Some(Due::Timeout) => {
                        r.time_out(now, seq, &mut self.fx);
                        // It fails: what waits behind it is sent again once hrun counted that.
                        self.withdraw(slot);
                    }
                    Some(Due::Next) => r.next_step(now, seq, &mut self.fx),
                    None => {}
                },
                SlotState::Lingering(l) if now >= l.until => due.push(slot),
                _ => {}
            }
        }
        due
    }

    /// The attempt on `slot` is running (its start is logged): tracked by its pid, and, when
    /// the run is being torn down, cut short at once.
    pub(super) fn now_running(&mut self, slot: usize, mut r: Attempt, seq: &TermSeq) {
        if let Some(sig) = self.phase.teardown() {
            r.cancel(sig, Instant::now(), seq, &mut self.fx);
        }
        self.by_pid.insert(r.pid, slot);
        self.affinity_at[slot] = Some((r.start + affinity::FIRST, affinity::FIRST));
        self.summary.attempts += 1;
        self.slots[slot] = SlotState::Running(Box::new(r));
    }

    /// An attempt is recorded (its record, row and output written): its slot counts as free
    /// from when it `ended` (unless its `leaked` leftovers kept it busy longer: from now), and
    /// what follows it: a retry at the back of the queue, a count, `--halt`.
    pub(super) fn account(
        &mut self,
        end: TaskEnd,
        ended: Instant,
        leaked: usize,
        policy: &Policy,
        total: u64,
    ) {
        let TaskEnd { slot, task, number, fate, reaped, timed_out, start_wall, wall_s, cpu_s } = end;
        // (A refused task's slot may hold the task before it.)
        if matches!(self.slots[slot], SlotState::Free) {
            let now = Instant::now();
            self.freed_at[slot] = Some(if now - ended > policy.leak_timeout / 2 { now } else { ended });
        }
        self.first_start = self.first_start.min(start_wall);
        self.last_end = self.last_end.max(start_wall + wall_s);
        self.summary.busy_s += wall_s;
        self.summary.cpu_s += cpu_s;
        match fate {
            Disposition::Retry => self.retry.push_back(Pending { task, number: number + 1, announced: true }),
            // Its node was lost: it runs again elsewhere, as the same attempt (not a retry).
            Disposition::Lost if !self.stopped() => {
                self.summary.lost += 1;
                self.retry.push_front(Pending { task, number, announced: true })
            }
            Disposition::Lost => self.summary.not_run += 1,
            Disposition::LeftForResume => self.summary.not_run += 1,
            Disposition::Cancelled => self.summary.cancelled += 1,
            Disposition::Succeeded | Disposition::Failed => {
                self.summary.tasks += 1;
                self.summary.timed_out += timed_out as u64;
                self.summary.leaked += (leaked > 0) as u64;
                self.summary.leaked_processes += leaked as u64;
                if fate == Disposition::Succeeded {
                    self.tally.succeeded += 1;
                    self.median.add(wall_s);
                } else {
                    self.count_failure(&task, timed_out, reaped);
                }
                self.check_halt(reaped, &policy.halt, total, &policy.term_seq, || {
                    task.command(slot + 1).into_owned()
                });
            }
        }
    }

    /// A task failed on its last attempt: counted, named in the summary (the first few).
    fn count_failure(&mut self, task: &Task, timed_out: bool, ended: Ended) {
        self.tally.failed += 1;
        self.summary.failed += 1;
        if self.summary.failures.len() < FAILURES_SHOWN {
            let how = match (timed_out, ended) {
                (true, _) => "timed out".to_string(),
                (false, Ended::Exited(code)) => format!("exit {code}"),
                (false, Ended::Signaled(sig)) => crate::sys::signal_name(sig),
            };
            self.summary.failures.push(Failure {
                seq: task.seq,
                name: task.name(),
                how,
                cmd: task.cmd.clone(),
            });
        }
    }

    /// What sending the request for `starting` to `slot`'s launcher (`when`: now, or after
    /// its task) came to: the slot is starting it, or it waits there; or the task cannot start
    /// and fails alone (returned with why: the kernel's limit on a command, a request larger
    /// than the launcher's socket carries); or the launcher cannot be asked, and the run stops.
    pub(super) fn sent(
        &mut self,
        slot: usize,
        starting: Box<Starting>,
        when: Start,
        result: std::io::Result<()>,
    ) -> Option<(Starting, String)> {
        match result {
            Ok(()) if when == Start::Now => self.slots[slot] = SlotState::Starting(starting),
            Ok(()) => self.queued[slot] = Some(prefetch::Queued { starting, withdrawing: false }),
            // The request itself is too large to pass: as the kernel would refuse it.
            Err(e) if e.raw_os_error() == Some(libc::E2BIG) => {
                let why = refusal(libc::E2BIG, &starting.task);
                return Some((*starting, why));
            }
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<crate::sys::TooLarge>()) => {
                let why = format!("{e}: {}", crate::text::printable_max(&starting.task.cmd, 200));
                return Some((*starting, why));
            }
            Err(e) => {
                self.summary.not_run += 1;
                self.stop_with(
                    anyhow::Error::new(e)
                        .context(format!("cannot ask a launcher to start task {}", starting.task.seq)),
                );
            }
        }
        None
    }

    /// Withdraws every request waiting at a launcher (the run stops, or a slot fell idle).
    pub(super) fn withdraw_all(&mut self) {
        for slot in 0..self.queued.len() {
            self.withdraw(slot);
        }
    }

    /// Withdraws the request waiting for `slot`, if any: its launcher answers whether it
    /// started first.
    pub(super) fn withdraw(&mut self, slot: usize) {
        if let Some(q) = self.queued[slot].as_mut().filter(|q| !q.withdrawing) {
            q.withdrawing = true;
            self.fx.push(Effect::Withdraw { slot });
        }
    }

    /// The launcher started the request waiting for `slot` (its task before it exited 0):
    /// it is the slot's starting task, whose pid comes next.
    pub(super) fn promote(&mut self, slot: usize) {
        if let Some(q) = self.queued[slot].take() {
            self.slots[slot] = SlotState::Starting(q.starting);
        }
    }

    /// The launcher started the request waiting for `slot` when it came, the slot's task
    /// having ended (and been reported) before, as the request asks and leaving nothing
    /// behind. Once hrun has freed the slot, that request is the slot's starting task, whose
    /// pid comes with this answer. False while the slot is not free.
    pub(super) fn started_late(&mut self, slot: usize) -> bool {
        let late = matches!(self.slots[slot], SlotState::Free) && self.queued[slot].is_some();
        if late {
            self.promote(slot);
        }
        late
    }

    /// The request waiting for `slot` did not start: its task goes back to the front of the
    /// queue (not run, unless the run goes on).
    pub(super) fn given_back(&mut self, slot: usize) {
        if let Some(q) = self.queued[slot].take() {
            let Starting { task, number, .. } = *q.starting;
            self.retry.push_front(Pending { task, number, announced: true });
        }
    }
}

/// A recorded attempt, for the run's counts: on `slot`, attempt `number` of `task`, which
/// ended as `reaped` (cut short by its timeout or not) and so became `fate`.
pub(super) struct TaskEnd {
    pub slot: usize,
    pub task: Task,
    pub number: u32,
    pub fate: Disposition,
    pub reaped: Ended,
    pub timed_out: bool,
    pub start_wall: f64,
    pub wall_s: f64,
    pub cpu_s: f64,
}

/// An attempt whose end is to be recorded: on `slot`, ended as `reaped` at `at`.
pub(super) struct ToRecord {
    pub slot: usize,
    pub attempt: Attempt,
    pub reaped: Reaped,
    pub at: Instant,
}

/// Why the kernel refused to start a task, with its command cut short.
pub(super) fn refusal(errno: i32, task: &Task) -> String {
    let why = if errno == libc::E2BIG {
        format!(
            "its command ({} bytes) is too long for the kernel (execve: at most 128 KiB in one argument); \
             pass big values in a file",
            task.cmd.len()
        )
    } else {
        format!("the kernel refused to start it: {}", std::io::Error::from_raw_os_error(errno))
    };
    format!("{why}: {}", crate::text::printable_max(&task.cmd, 200))
}

mod halt;
mod lost;
pub(super) use lost::Gone;
mod affinity;
mod refused;
#[cfg(test)]
mod tests;
