//! The run's state, and the decisions that change it without touching the world: they push
//! effects (`Effect`: signals to task groups, withdrawals, lines on stderr) that the
//! dispatcher's shell carries out before it next waits. What a signal, `--halt`, the deadline,
//! a timeout, a launcher's refusal or its loss does to the run is decided here, and tested
//! here with no process.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::super::attempt::{Attempt, Cut, Due, SlotState, Starting, terminate_all};
use super::super::effect::{Effect, Effects};
use super::super::halt::{Halt, Tally, When};
use super::super::summary::Summary;
use super::super::term_seq::TermSeq;
use super::super::timeout::Median;
use super::{end, prefetch};
use crate::sys::{Ended, Reaped};
use crate::taskfile::Task;

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
    pub(super) stop: Option<Stop>,
    /// The signal every running task was sent when the run began to tear down (a signal to
    /// hrun, `--halt now`, the deadline): a task that starts after that gets it too.
    pub(super) teardown: Option<i32>,
    pub(super) eof: bool,
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
    /// A slot is free but standard input has no line yet.
    pub(super) waiting_input: bool,
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
    /// What the decisions so far ask of the world, carried out before the next wait.
    pub(super) fx: Effects,
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
            stop: None,
            teardown: None,
            eof: false,
            deferred: None,
            summary: Summary { slots, threads, ..Summary::default() },
            tally: Tally::default(),
            median,
            first_start: f64::INFINITY,
            last_end: f64::NEG_INFINITY,
            dirty_since: None,
            freed_at: vec![None; slots],
            waiting_input: false,
            received: 0,
            last_start: None,
            backoff: None,
            warned_spool: false,
            rows: Default::default(),
            at_once,
            refused_since: None,
            gate_until: None,
            memory_checked: None,
            fx: Effects::default(),
        }
    }

    /// True while some slot has a task in it (starting, running or lingering), or a request
    /// waiting at a launcher.
    pub(super) fn busy(&self) -> bool {
        self.slots.iter().any(|s| !matches!(s, SlotState::Free)) || self.queued.iter().any(Option::is_some)
    }

    pub(super) fn stop_with(&mut self, error: anyhow::Error) {
        self.deferred.get_or_insert(error);
        self.stop = Some(Stop::Error);
    }

    /// A signal hrun received: SIGUSR1 drains; INT, TERM, HUP tear the run down (a second INT
    /// kills at once); tasks that just died of the same signal were cut short by it.
    pub(super) fn on_signal(&mut self, sig: i32, seq: &TermSeq) {
        self.received |= 1 << sig;
        super::super::attempt::same_signal_arrived(&mut self.slots, sig);
        match sig {
            libc::SIGCHLD => {}
            libc::SIGUSR1 => {
                if self.stop.is_none() {
                    self.stop = Some(Stop::Drain);
                    self.withdraw_all();
                    self.fx.say(format!(
                        "SIGUSR1: starting no new task; {} running will finish",
                        self.by_pid.len()
                    ));
                }
            }
            _ => {
                let again = matches!(self.stop, Some(Stop::Signal(_)));
                if again && sig == libc::SIGINT {
                    self.fx.say(format!("second SIGINT: killing {} running task(s) now", self.by_pid.len()));
                    self.tear_down(libc::SIGKILL, seq);
                } else if !again {
                    self.fx.say(format!(
                        "{}: {}",
                        crate::sys::signal_name(sig),
                        seq.describe(self.by_pid.len())
                    ));
                    self.tear_down(sig, seq);
                }
                self.stop = Some(Stop::Signal(sig));
            }
        }
    }

    /// Sends `sig` to every running task's group (they are cancelled), and to those still
    /// starting as they start; withdraws every waiting request.
    pub(super) fn tear_down(&mut self, sig: i32, seq: &TermSeq) {
        self.withdraw_all();
        terminate_all(&mut self.slots, sig, seq, Instant::now(), &mut self.fx);
        self.teardown = Some(sig);
    }

    /// The deadline (`what`) passed with tasks running: they are stopped (`--resume` reruns
    /// them), and the run stops, unless something else stopped it first.
    pub(super) fn deadline_passed(&mut self, what: &str, seq: &TermSeq) {
        let running = self.by_pid.len();
        self.fx.say(format!("{what} reached: stopping {running} running task(s); --resume reruns them"));
        self.tear_down(libc::SIGTERM, seq);
        if !matches!(self.stop, Some(Stop::Signal(_) | Stop::Halt(_) | Stop::Error)) {
            self.stop = Some(Stop::Deadline);
        }
    }

    /// hrun's standard output was closed: nothing new starts; the running tasks finish.
    pub(super) fn output_closed(&mut self) {
        self.fx.say(format!(
            "standard output was closed (its reader ended): task output can no longer be shown; \
             starting no new task, {} running will finish",
            self.by_pid.len()
        ));
        self.stop = Some(Stop::OutputClosed);
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
        if let Some(sig) = self.teardown {
            r.cancel(sig, Instant::now(), seq, &mut self.fx);
        }
        self.by_pid.insert(r.pid, slot);
        self.summary.attempts += 1;
        self.slots[slot] = SlotState::Running(Box::new(r));
    }

    /// The kernel would not start the task on `slot` for now (EAGAIN, ENOMEM: a process limit,
    /// memory): it waits at the front of the queue, starts are held back (a backoff that
    /// doubles while it refuses), fewer tasks run at once from now on, and a run that cannot
    /// start anything for long stops. `limit`: the process limit, for the message.
    pub(super) fn start_refused(&mut self, starting: Starting, errno: i32, now: Instant, limit: Option<u64>) {
        let limit = limit.map_or_else(|| "?".to_string(), |n| n.to_string());
        let wait = backoff(self.backoff.map(|(_, w)| w));
        if self.backoff.is_none() {
            self.fx.warn(format!(
                "the kernel cannot start task {} now ({}); trying again in {wait:?}, and slower while it refuses",
                starting.task.seq,
                std::io::Error::from_raw_os_error(errno)
            ));
        }
        self.backoff = Some((now + wait, wait));
        // Fewer at once from now on: half of what runs now (its tasks may need processes of
        // their own too), at least one.
        let running = self.slots.iter().filter(|s| !matches!(s, SlotState::Free)).count().div_ceil(2).max(1);
        if self.at_once.is_none_or(|n| running < n) && running < self.slots.len() {
            self.fx.warn(format!(
                "only enough processes to run {running} task(s) at once (the kernel refused another; \
                 ulimit -u {limit}): running at most {running} from now on"
            ));
            self.at_once = Some(running);
        }
        let Starting { task, number, .. } = starting;
        self.retry.push_front(Pending { task, number, announced: true });
        // Refused with nothing running, for long: no task can ever start.
        let since = *self.refused_since.get_or_insert(now);
        if !self.busy() && now.saturating_duration_since(since) >= REFUSED_FOR {
            self.stop_with(anyhow!(
                "the kernel refused to start any task for {}s ({}; ulimit -u {limit}): raise the \
                 limit, or end other processes of this user",
                REFUSED_FOR.as_secs(),
                std::io::Error::from_raw_os_error(errno),
            ));
        }
    }

    /// The launcher serving every `k`th slot from `index` is gone (killed): its tasks got
    /// SIGKILL from the kernel. Returns the attempts to record (cancelled, with no rusage);
    /// the tasks it had not started are counted as not run; the run stops.
    pub(super) fn launcher_gone(&mut self, index: usize, k: usize, pid: i32) -> Vec<ToRecord> {
        let mut ended = Vec::new();
        for slot in (index..self.slots.len()).step_by(k) {
            match std::mem::replace(&mut self.slots[slot], SlotState::Free) {
                SlotState::Running(mut r) => {
                    self.by_pid.remove(&r.pid);
                    r.cut = Some(Cut::Cancelled);
                    let reaped = Reaped {
                        pid: r.pid,
                        ended: Ended::Signaled(libc::SIGKILL),
                        rusage: Default::default(),
                    };
                    ended.push(ToRecord { slot, attempt: *r, reaped, at: Instant::now() });
                }
                SlotState::Lingering(l) => {
                    ended.push(ToRecord { slot, attempt: l.attempt, reaped: l.reaped, at: l.ended })
                }
                SlotState::Starting(_) => self.summary.not_run += 1,
                SlotState::Free => {}
            }
            if self.queued[slot].take().is_some() {
                self.summary.not_run += 1;
            }
        }
        self.stop_with(anyhow!(
            "launcher process {pid} ended: its tasks were killed; --resume runs them again"
        ));
        ended
    }

    /// `--halt`, after a task finished as `ended`: when it fires, nothing new starts (the
    /// waiting requests are withdrawn) and with `now`, the running tasks are stopped.
    pub(super) fn check_halt(&mut self, ended: Ended, halt: &Halt, total: u64, seq: &TermSeq) {
        let status = match ended {
            Ended::Exited(code) => code,
            Ended::Signaled(sig) => 128 + sig,
        };
        if self.stop.is_some() {
            return;
        }
        let Some((when, exit)) = halt.check(&self.tally, status, total) else { return };
        self.fx.say(format!(
            "--halt {halt} reached: starting no new task{}",
            if when == When::Now { "; killing the running ones" } else { "; running ones finish" }
        ));
        self.stop = Some(Stop::Halt(exit));
        self.withdraw_all();
        if when == When::Now {
            terminate_all(&mut self.slots, libc::SIGTERM, seq, Instant::now(), &mut self.fx);
            self.teardown = Some(libc::SIGTERM);
        }
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

    /// The request waiting for `slot` did not start: its task goes back to the front of the
    /// queue (not run, unless the run goes on).
    pub(super) fn given_back(&mut self, slot: usize) {
        if let Some(q) = self.queued[slot].take() {
            let Starting { task, number, .. } = *q.starting;
            self.retry.push_front(Pending { task, number, announced: true });
        }
    }
}

/// An attempt whose end is to be recorded: on `slot`, ended as `reaped` at `at`.
pub(super) struct ToRecord {
    pub slot: usize,
    pub attempt: Attempt,
    pub reaped: Reaped,
    pub at: Instant,
}

/// How long the kernel may refuse every start, with no task running, before the run stops.
const REFUSED_FOR: Duration = Duration::from_secs(10);

/// How long to wait before trying to start a task again after the kernel refused one for
/// now (EAGAIN, ENOMEM): 10 ms, doubling after each refusal in a row, at most 1 s.
fn backoff(previous: Option<Duration>) -> Duration {
    previous.map_or(Duration::from_millis(10), |d| (d * 2).min(Duration::from_secs(1)))
}

/// The decisions, fed the events a run produces, with no process: each test checks the state
/// and the effects asked of the world.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::attempt::{Lingering, Phase};
    use crate::exec::output::Captured;
    use crate::exec::spawn::Launch;

    const TERM: i32 = libc::SIGTERM;
    const KILL: i32 = libc::SIGKILL;

    fn seq() -> TermSeq {
        TermSeq::with_grace(Duration::from_secs(2))
    }

    fn task(seq: u64) -> Task {
        Task { seq, line: seq, cmd: format!("work {seq}"), job: None, occurrence: 1, block: None }
    }

    fn starting(seq: u64) -> Starting {
        Starting {
            task: task(seq),
            number: 1,
            captured: Captured::scratch(),
            limit: None,
            launch: Launch::Direct,
            sent: Instant::now(),
            exe: None,
        }
    }

    fn state(slots: usize) -> RunState {
        RunState::new(slots, 1, Median::default(), None)
    }

    /// Task `seq` running on `slot` as pid 1000 + slot.
    fn run(st: &mut RunState, slot: usize, seq: u64) {
        let pid = 1000 + slot as i32;
        let r = starting(seq).started(slot, pid, crate::sys::stamp_now(), Instant::now());
        st.now_running(slot, r, &self::seq());
    }

    /// A request for task `seq` waiting behind `slot`'s task.
    fn queue(st: &mut RunState, slot: usize, seq: u64) {
        st.queued[slot] = Some(prefetch::Queued { starting: Box::new(starting(seq)), withdrawing: false });
    }

    fn signals(fx: &[Effect]) -> Vec<(i32, i32)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Signal { pgid, sig } => Some((*pgid, *sig)),
                _ => None,
            })
            .collect()
    }

    fn withdrawn(fx: &[Effect]) -> Vec<usize> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Withdraw { slot } => Some(*slot),
                _ => None,
            })
            .collect()
    }

    fn said(fx: &[Effect]) -> String {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Say(l) | Effect::Warn(l) => Some(l.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn running(st: &RunState, slot: usize) -> &Attempt {
        match &st.slots[slot] {
            SlotState::Running(r) => r,
            _ => panic!("slot {slot} is not running"),
        }
    }

    #[test]
    fn a_signal_while_a_start_is_in_flight_cuts_the_task_short_as_it_starts() {
        let mut st = state(2);
        run(&mut st, 0, 1);
        st.slots[1] = SlotState::Starting(Box::new(starting(2)));
        st.on_signal(TERM, &seq());
        assert_eq!(st.stop, Some(Stop::Signal(TERM)));
        assert_eq!(signals(st.fx.peek()), [(1000, TERM)], "only the running task is signalled now");
        assert!(said(st.fx.peek()).starts_with("SIGTERM: "), "{}", said(st.fx.peek()));
        st.fx.take();
        // The launcher answers: it started. It gets the same signal at once, and is cancelled.
        let SlotState::Starting(s) = std::mem::replace(&mut st.slots[1], SlotState::Free) else { panic!() };
        let r = s.started(1, 1001, crate::sys::stamp_now(), Instant::now());
        st.now_running(1, r, &seq());
        assert_eq!(signals(&st.fx.take()), [(1001, TERM)]);
        assert_eq!(running(&st, 1).cut, Some(Cut::Cancelled));
        assert_eq!(st.by_pid.get(&1001), Some(&1));
    }

    #[test]
    fn a_second_sigint_kills_at_once_and_a_second_term_does_not_restart_the_grace() {
        let mut st = state(1);
        run(&mut st, 0, 1);
        st.on_signal(libc::SIGINT, &seq());
        assert_eq!(signals(&st.fx.take()), [(1000, libc::SIGINT)]);
        assert!(matches!(running(&st, 0).phase, Phase::Terminating { step: 0, .. }));
        st.on_signal(TERM, &seq());
        assert!(signals(&st.fx.take()).is_empty(), "another signal does not start the sequence again");
        st.on_signal(libc::SIGINT, &seq());
        let fx = st.fx.take();
        assert_eq!(signals(&fx), [(1000, KILL)]);
        assert!(said(&fx).contains("second SIGINT: killing 1 running task(s) now"), "{}", said(&fx));
        assert_eq!(running(&st, 0).phase, Phase::Killed);
    }

    #[test]
    fn sigusr1_drains_running_tasks_finish_and_waiting_requests_are_withdrawn() {
        let mut st = state(2);
        run(&mut st, 0, 1);
        queue(&mut st, 0, 3);
        st.on_signal(libc::SIGUSR1, &seq());
        let fx = st.fx.take();
        assert_eq!(st.stop, Some(Stop::Drain));
        assert!(signals(&fx).is_empty(), "draining signals no task");
        assert_eq!(withdrawn(&fx), [0]);
        // Withdrawn once, however often the run says so.
        st.withdraw_all();
        assert!(st.fx.take().is_empty());
        // The launcher answers it did not start: the task waits at the front, not run.
        st.given_back(0);
        assert_eq!(st.retry.front().map(|p| p.task.seq), Some(3));
        assert!(st.queued[0].is_none());
    }

    #[test]
    fn a_launcher_gone_ends_its_slots_tasks_as_cancelled_and_counts_the_rest_not_run() {
        // Two launchers: launcher 0 serves slots 0 and 2, launcher 1 slot 1 and 3.
        let mut st = state(4);
        run(&mut st, 0, 1);
        run(&mut st, 1, 2);
        st.slots[2] = SlotState::Starting(Box::new(starting(3)));
        queue(&mut st, 0, 4);
        let ended = st.launcher_gone(0, 2, 77);
        assert_eq!(ended.len(), 1);
        let e = &ended[0];
        assert_eq!((e.slot, e.attempt.task.seq, e.reaped.ended), (0, 1, Ended::Signaled(KILL)));
        assert_eq!(e.attempt.cut, Some(Cut::Cancelled));
        assert_eq!(st.summary.not_run, 2, "the starting task and the waiting request");
        assert!(matches!(st.slots[1], SlotState::Running(_)), "the other launcher's task runs on");
        assert!(!st.by_pid.contains_key(&1000) && st.by_pid.contains_key(&1001));
        assert_eq!(st.stop, Some(Stop::Error));
        assert!(format!("{:#}", st.deferred.unwrap()).contains("launcher process 77 ended"));
    }

    #[test]
    fn halt_now_stops_the_running_tasks_and_withdraws_the_waiting_requests() {
        let halt: Halt = "now,fail=1".parse().unwrap();
        let mut st = state(2);
        run(&mut st, 0, 1);
        run(&mut st, 1, 2);
        queue(&mut st, 1, 3);
        st.tally.failed = 1;
        st.check_halt(Ended::Exited(1), &halt, 0, &seq());
        let fx = st.fx.take();
        assert_eq!(st.stop, Some(Stop::Halt(1)));
        assert_eq!(withdrawn(&fx), [1]);
        assert_eq!(signals(&fx), [(1000, TERM), (1001, TERM)]);
        assert_eq!(st.teardown, Some(TERM));
        assert!(said(&fx).contains("killing the running ones"), "{}", said(&fx));
        // Once stopped, later ends do not fire it again.
        st.check_halt(Ended::Exited(1), &halt, 0, &seq());
        assert!(st.fx.take().is_empty());
    }

    #[test]
    fn halt_soon_lets_the_running_tasks_finish() {
        let halt: Halt = "soon,fail=1".parse().unwrap();
        let mut st = state(2);
        run(&mut st, 0, 1);
        st.tally.failed = 1;
        st.check_halt(Ended::Exited(3), &halt, 0, &seq());
        // fail=1 exits with the failed task's status, as GNU parallel does.
        assert_eq!(st.stop, Some(Stop::Halt(3)));
        assert!(signals(&st.fx.take()).is_empty());
        assert_eq!(running(&st, 0).cut, None);
    }

    #[test]
    fn the_deadline_with_tasks_running_stops_them_for_resume_and_keeps_an_earlier_reason() {
        let mut st = state(2);
        run(&mut st, 0, 1);
        st.deadline_passed("the job's end", &seq());
        let fx = st.fx.take();
        assert_eq!(st.stop, Some(Stop::Deadline));
        assert_eq!(signals(&fx), [(1000, TERM)]);
        assert_eq!(running(&st, 0).cut, Some(Cut::Cancelled), "cancelled: --resume runs it again");
        assert!(said(&fx).contains("the job's end reached: stopping 1 running task(s)"), "{}", said(&fx));
        // A run already stopped by a signal keeps that reason (and its exit status).
        let mut st = state(1);
        run(&mut st, 0, 1);
        st.on_signal(libc::SIGHUP, &seq());
        st.deadline_passed("the job's end", &seq());
        assert_eq!(st.stop, Some(Stop::Signal(libc::SIGHUP)));
    }

    #[test]
    fn a_timeout_terms_then_kills_after_the_grace_and_frees_the_request_behind_it() {
        let mut st = state(1);
        let t0 = Instant::now();
        let mut r = starting(1).started(0, 1000, crate::sys::stamp_now(), t0);
        r.deadline = Some(t0 + Duration::from_secs(5));
        st.now_running(0, r, &seq());
        queue(&mut st, 0, 2);
        assert!(st.on_clock(t0 + Duration::from_secs(4), &seq()).is_empty());
        assert!(st.fx.take().is_empty(), "nothing due before the timeout");
        st.on_clock(t0 + Duration::from_secs(5), &seq());
        let fx = st.fx.take();
        assert_eq!(signals(&fx), [(1000, TERM)]);
        assert_eq!(withdrawn(&fx), [0], "the request behind a failing task is withdrawn");
        assert_eq!(running(&st, 0).cut, Some(Cut::TimedOut));
        st.on_clock(t0 + Duration::from_secs(6), &seq());
        assert!(st.fx.take().is_empty(), "within the grace");
        st.on_clock(t0 + Duration::from_secs(7), &seq());
        assert_eq!(signals(&st.fx.take()), [(1000, KILL)]);
        st.on_clock(t0 + Duration::from_secs(60), &seq());
        assert!(st.fx.take().is_empty(), "killed: only waited for");
    }

    fn linger(st: &mut RunState, slot: usize, until: Instant, awaiting: Option<i32>) {
        let attempt = starting(slot as u64 + 1).started(slot, 1000, crate::sys::stamp_now(), Instant::now());
        let reaped = Reaped { pid: 1000, ended: Ended::Signaled(TERM), rusage: Default::default() };
        st.slots[slot] = SlotState::Lingering(Box::new(Lingering {
            attempt,
            reaped,
            ended: Instant::now(),
            until,
            awaiting,
        }));
    }

    #[test]
    fn lingering_leftovers_are_due_at_their_time_not_before() {
        let mut st = state(2);
        let now = Instant::now();
        linger(&mut st, 0, now + Duration::from_secs(1), None);
        linger(&mut st, 1, now + Duration::from_secs(3), None);
        assert!(st.on_clock(now, &seq()).is_empty());
        assert_eq!(st.on_clock(now + Duration::from_secs(2), &seq()), [0]);
        assert_eq!(st.on_clock(now + Duration::from_secs(3), &seq()), [0, 1]);
        assert!(st.fx.take().is_empty(), "the shell kills the leftovers it finds");
    }

    #[test]
    fn a_step_wide_signal_that_killed_a_task_just_before_hrun_got_it_cancels_that_task() {
        let mut st = state(2);
        linger(&mut st, 0, Instant::now() + Duration::from_millis(250), Some(TERM));
        linger(&mut st, 1, Instant::now() + Duration::from_millis(250), Some(libc::SIGINT));
        st.on_signal(TERM, &seq());
        let cut = |s: &SlotState| match s {
            SlotState::Lingering(l) => l.attempt.cut,
            _ => panic!(),
        };
        assert_eq!(cut(&st.slots[0]), Some(Cut::Cancelled), "died of the TERM that hit the whole step");
        assert_eq!(cut(&st.slots[1]), None, "died of another signal: a failure");
        assert!(signals(&st.fx.take()).is_empty(), "nothing running to signal");
    }

    #[test]
    fn a_transient_spawn_failure_requeues_the_task_with_a_doubling_backoff_and_fewer_at_once() {
        let mut st = state(4);
        run(&mut st, 0, 1);
        run(&mut st, 1, 2);
        let now = Instant::now();
        st.start_refused(starting(3), libc::EAGAIN, now, Some(64));
        assert_eq!(st.retry.front().map(|p| (p.task.seq, p.announced)), Some((3, true)));
        assert_eq!(st.backoff, Some((now + Duration::from_millis(10), Duration::from_millis(10))));
        assert_eq!(st.at_once, Some(1), "half of the two running");
        assert!(st.stop.is_none(), "not fatal");
        let fx = st.fx.take();
        assert!(
            said(&fx).contains("cannot start task 3 now") && said(&fx).contains("ulimit -u 64"),
            "{}",
            said(&fx)
        );
        st.retry.clear();
        st.start_refused(starting(3), libc::EAGAIN, now, Some(64));
        assert_eq!(st.backoff.map(|(_, w)| w), Some(Duration::from_millis(20)));
        assert!(!said(&st.fx.take()).contains("cannot start task"), "said once");
        let mut waits = vec![backoff(None)];
        for _ in 0..10 {
            waits.push(backoff(waits.last().copied()));
        }
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]);
    }

    #[test]
    fn a_kernel_that_refuses_every_start_for_long_with_nothing_running_stops_the_run() {
        let mut st = state(1);
        let t0 = Instant::now();
        st.start_refused(starting(1), libc::EAGAIN, t0, None);
        assert!(st.stop.is_none());
        st.retry.clear();
        st.start_refused(starting(1), libc::EAGAIN, t0 + REFUSED_FOR, None);
        assert_eq!(st.stop, Some(Stop::Error));
        assert!(format!("{:#}", st.deferred.unwrap()).contains("refused to start any task for 10s"));
    }

    #[test]
    fn stdout_closed_starts_nothing_new_and_lets_the_running_finish() {
        let mut st = state(1);
        run(&mut st, 0, 1);
        queue(&mut st, 0, 2);
        st.output_closed();
        let fx = st.fx.take();
        assert_eq!(st.stop, Some(Stop::OutputClosed));
        assert!(signals(&fx).is_empty());
        assert_eq!(withdrawn(&fx), [0]);
        assert!(said(&fx).contains("1 running will finish"));
    }

    #[test]
    fn a_prefetching_launchers_events_promote_the_waiting_request_or_give_it_back() {
        // The launcher reaped slot 0's task and started the waiting request at once: its
        // report of the end comes first, then the new task's pid.
        let mut st = state(1);
        run(&mut st, 0, 1);
        queue(&mut st, 0, 2);
        st.slots[0] = SlotState::Free; // the end, recorded by the shell
        st.by_pid.remove(&1000);
        st.promote(0);
        let SlotState::Starting(s) = std::mem::replace(&mut st.slots[0], SlotState::Free) else {
            panic!("the waiting request is the slot's starting task")
        };
        assert_eq!(s.task.seq, 2);
        assert!(st.queued[0].is_none());
        st.now_running(0, s.started(0, 1002, crate::sys::stamp_now(), Instant::now()), &seq());
        assert_eq!(st.by_pid.get(&1002), Some(&0));
        // Its task failed: the launcher gives the waiting request back, to go first.
        queue(&mut st, 0, 3);
        st.given_back(0);
        assert_eq!(st.retry.iter().map(|p| p.task.seq).collect::<Vec<_>>(), [3]);
        // A withdrawal answered after it started: nothing waits any more, nothing is lost.
        st.given_back(0);
        assert_eq!(st.retry.len(), 1);
        assert_eq!(st.summary.attempts, 2);
    }
}
