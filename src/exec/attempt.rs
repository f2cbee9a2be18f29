//! One attempt of a task: its state while it runs, and the log record it becomes.

use std::time::{Duration, Instant};

use super::effect::Effects;
use super::output::Captured;
use super::term_seq::TermSeq;
use crate::log::{JobLogRow, StartRecord, TaskRecord};
use crate::slots::Slot;
use crate::sys::{self, Ended, Reaped};
use crate::task::Task;

/// A task attempt that hrun started and has not recorded yet.
pub struct Attempt {
    pub task: Task,
    /// 1 for the first attempt of its task, 2 for its first retry...
    pub number: u32,
    /// Index into the slot plan.
    pub slot: usize,
    pub pid: i32,
    /// When it started, as its launcher reported it: wall clock (Unix seconds), hrun's clock,
    /// and the launcher's own stamp (its end is measured from it on the same clock).
    pub start_wall: f64,
    pub start: Instant,
    pub started_at: sys::Stamp,
    pub captured: Captured,
    /// `--timeout` for this attempt.
    pub deadline: Option<Instant>,
    /// Left to run, or being ended by hrun.
    pub phase: Phase,
    /// Why hrun cut it short, if it did.
    pub cut: Option<Cut>,
    /// The program file the task runs (its SHA-256 is computed meanwhile), for the record.
    pub exe: Option<std::path::PathBuf>,
    /// The kernel refused to start it (its command too long): why. It has no process (pid 0).
    pub refused: Option<String>,
}

/// An attempt whose main process ended but which is not recorded yet, until `until`: processes
/// it started live on (they get the leak timeout to end before they are killed), or it died of
/// a signal hrun handles itself and has not received (yet).
pub struct Lingering {
    pub attempt: Attempt,
    pub reaped: Reaped,
    pub ended: Instant,
    pub until: Instant,
    /// The task died of this signal (TERM, INT, HUP, USR1) and hrun has not had it: if hrun gets
    /// it before `until`, one signal hit both (Slurm signals every process of a step), and the
    /// task was cut short (cancelled, run again by `--resume`) rather than failed.
    pub awaiting: Option<i32>,
}

/// An attempt asked of a launcher and not started yet (its pid and start time come with the
/// answer).
pub struct Starting {
    pub task: Task,
    /// 1 for the first attempt of its task, 2 for its first retry...
    pub number: u32,
    pub captured: Captured,
    /// `--timeout` for this attempt, from its start.
    pub limit: Option<Duration>,
    /// Asked directly, or through the shell (after a direct start failed).
    pub launch: super::spawn::Launch,
    /// When the request was sent: the task cannot have started before.
    pub sent: Instant,
    pub exe: Option<std::path::PathBuf>,
}

impl Starting {
    /// The attempt started as `pid` at `at` (its launcher's stamp), which is `start` on hrun's
    /// clock: its `--timeout` counts from then.
    pub fn started(self, slot: usize, pid: i32, at: sys::Stamp, start: Instant) -> Attempt {
        Attempt {
            deadline: self.limit.map(|l| start + l),
            task: self.task,
            number: self.number,
            slot,
            pid,
            start_wall: at.unix_secs(),
            start,
            started_at: at,
            captured: self.captured,
            phase: Phase::Running,
            cut: None,
            exe: self.exe,
            refused: None,
        }
    }

    /// The attempt could not start: the kernel refused its command (`why`). It has no process.
    pub fn refused(self, slot: usize, why: String) -> Attempt {
        let now = Instant::now();
        Attempt { exe: None, refused: Some(why), ..self.started(slot, 0, sys::stamp_now(), now) }
    }
}

/// Where a started attempt stands with hrun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Left to run; its `--timeout` may still come.
    Running,
    /// Step `step` of the term sequence (its signal) went to its process group at `since`: the
    /// next step follows after that step's wait.
    Terminating { step: usize, since: Instant },
    /// KILL went to its group, or the sequence is over: it is only waited for.
    Killed,
}

/// Why hrun cut an attempt short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Its `--timeout` passed: it failed.
    TimedOut,
    /// hrun stopped it (a signal to hrun, `--halt now`, the deadline, its launcher killed):
    /// `--resume` runs it again. Wins over an earlier timeout.
    Cancelled,
    /// Its node was lost (a launcher on another node gone): it runs again on another.
    Lost,
}

/// What the clock asks of an attempt in a given phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Its timeout passed: the term sequence starts.
    Timeout,
    /// The wait after a step of the term sequence ran out: the next step.
    Next,
}

impl Phase {
    /// When the clock next matters to an attempt in this phase, with `deadline` its timeout.
    pub fn wake_at(self, deadline: Option<Instant>, seq: &TermSeq) -> Option<Instant> {
        match self {
            Phase::Running => deadline,
            Phase::Terminating { step, since } => {
                Some(since + seq.step(step).map_or(Duration::ZERO, |s| s.wait))
            }
            Phase::Killed => None,
        }
    }

    /// What is due at `now`, if anything.
    pub fn due(self, now: Instant, deadline: Option<Instant>, seq: &TermSeq) -> Option<Due> {
        let at = self.wake_at(deadline, seq)?;
        (now >= at).then_some(match self {
            Phase::Running => Due::Timeout,
            _ => Due::Next,
        })
    }

    /// The phase after `sig` went to the attempt's group at `now`, as the first step of the
    /// sequence: KILL ends all waiting; any other signal starts the sequence, unless it runs.
    pub fn signalled(self, sig: i32, now: Instant) -> Phase {
        match self {
            _ if sig == libc::SIGKILL => Phase::Killed,
            Phase::Running => Phase::Terminating { step: 0, since: now },
            kept => kept,
        }
    }

    /// The phase after the wait of the current step ran out at `now`, and the signal of the
    /// next one, if the sequence has one.
    pub fn next_step(self, now: Instant, seq: &TermSeq) -> (Phase, Option<i32>) {
        let Phase::Terminating { step, .. } = self else { return (self, None) };
        match seq.step(step + 1) {
            Some(next) if next.signal == libc::SIGKILL => (Phase::Killed, Some(libc::SIGKILL)),
            Some(next) => (Phase::Terminating { step: step + 1, since: now }, Some(next.signal)),
            None => (Phase::Killed, None),
        }
    }
}

/// What occupies a slot.
pub enum SlotState {
    Free,
    Starting(Box<Starting>),
    Running(Box<Attempt>),
    Lingering(Box<Lingering>),
}

/// What becomes of an attempt that ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// It failed with retries left: it runs again now.
    Retry,
    /// It failed with retries left, but the run is stopping: the next job's `--resume` runs it.
    LeftForResume,
    /// hrun cut it short (a signal to hrun, `--halt now`, the deadline): `--resume` runs it.
    Cancelled,
    Succeeded,
    /// Failed on its last attempt.
    Failed,
    /// Its node was lost: it runs again on another node (not a retry).
    Lost,
}

impl Disposition {
    /// The rule for an attempt that `succeeded` (exit 0, not timed out) or not, was `cancelled`
    /// or not, was attempt number `attempt` of `1 + retries`, while the run is `stopping` or not.
    pub fn of(succeeded: bool, cancelled: bool, attempt: u32, retries: u32, stopping: bool) -> Disposition {
        match (succeeded, cancelled) {
            (_, true) => Disposition::Cancelled,
            (true, false) => Disposition::Succeeded,
            (false, false) if attempt > retries => Disposition::Failed,
            (false, false) if stopping => Disposition::LeftForResume,
            (false, false) => Disposition::Retry,
        }
    }

    /// False for an attempt that another one follows (now or in `--resume`).
    pub fn last_attempt(self) -> bool {
        !matches!(self, Disposition::Retry | Disposition::LeftForResume | Disposition::Lost)
    }

    /// True when the task is done for `--resume` and gets a row in a results table.
    pub fn finished(self) -> bool {
        matches!(self, Disposition::Succeeded | Disposition::Failed)
    }
}

/// Signals that Slurm (the time limit, `scancel`, srun's forwarding, `--signal` without `B:`)
/// sends to every process of a step at once, hrun and its tasks alike.
const STEP_WIDE: [i32; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1];
/// How long a task that died of a step-wide signal waits for hrun's own copy of it.
const SAME_SIGNAL_WINDOW: Duration = Duration::from_millis(250);

impl Attempt {
    /// hrun stops this attempt because of `cause` (a signal hrun got, TERM for its own
    /// reasons, KILL at once): the sequence starts; `--resume` runs it again.
    pub fn cancel(&mut self, cause: i32, now: Instant, seq: &TermSeq, fx: &mut Effects) {
        self.cut = Some(Cut::Cancelled);
        self.begin_ending(seq.first(cause), now, fx);
    }

    /// Its `--timeout` passed: the sequence starts; it fails. As `parallel`, GNU's warning
    /// names the job now, as GNU's does when it kills it (before the job's output).
    pub fn time_out(&mut self, now: Instant, seq: &TermSeq, fx: &mut Effects) {
        self.cut = Some(Cut::TimedOut);
        // Slot ids are the slots' places from 1 in every plan (`slots::plan_with`).
        let job = self.task.command(self.slot + 1).into_owned();
        let gnu =
            format!("parallel: Warning: This job was killed because it timed out:\nparallel: Warning: {job}");
        fx.push(super::effect::Effect::Tell { hrun: None, gnu: Some(gnu) });
        self.begin_ending(seq.first(libc::SIGTERM), now, fx);
    }

    /// Free memory fell below half of `--memfree` and this is the youngest task: the sequence
    /// starts; it fails, as if it had failed by itself (GNU parallel's way).
    pub fn stop_for_memory(&mut self, now: Instant, seq: &TermSeq, fx: &mut Effects) {
        self.begin_ending(seq.first(libc::SIGTERM), now, fx);
    }

    fn begin_ending(&mut self, sig: i32, now: Instant, fx: &mut Effects) {
        self.phase = self.phase.signalled(sig, now);
        fx.signal(self.pid, sig);
    }

    /// The wait after a step ran out: the next step's signal to its group (the group is
    /// still there, or it would have been reaped).
    pub fn next_step(&mut self, now: Instant, seq: &TermSeq, fx: &mut Effects) {
        let (phase, sig) = self.phase.next_step(now, seq);
        self.phase = phase;
        if let Some(sig) = sig {
            fx.signal(self.pid, sig);
        }
    }

    /// For an attempt that ended as `ended`: if it died of a step-wide signal that hrun already
    /// received (`received`, bit N for signal N) or has pending, it was cut short by that signal:
    /// marks it cancelled. If hrun has not had that signal, returns it: the attempt waits
    /// [`SAME_SIGNAL_WINDOW`] for it (see [`same_signal_arrived`]).
    pub fn died_of_step_wide_signal(&mut self, ended: Ended, received: u64) -> Option<i32> {
        let Ended::Signaled(sig) = ended else { return None };
        if !STEP_WIDE.contains(&sig) || self.cut.is_some() {
            return None;
        }
        if received & (1 << sig) != 0 || sys::signal_pending(sig) {
            self.cut = Some(Cut::Cancelled);
            return None;
        }
        Some(sig)
    }

    /// The command for GNU's joblog: a task-file line as written (GNU parallel reading the
    /// file does not expand `{#}` either), a template's job as it ran.
    pub fn joblog_command(&self, slot: &Slot) -> std::borrow::Cow<'_, str> {
        match &self.task.job {
            Some(_) => self.task.command(slot.id.0),
            None => std::borrow::Cow::Borrowed(&self.task.cmd),
        }
    }

    /// The `start` record written when the attempt starts on `slot`.
    pub fn start_record(&self, slot: &Slot) -> StartRecord {
        StartRecord {
            kind: "start".into(),
            seq: self.task.seq,
            attempt: self.number,
            slot: slot.id.0,
            cpus: slot.cpus.to_string(),
            cmd: crate::log::cap::text(&self.task.cmd, crate::log::cap::FIELD),
            pid: self.pid,
            start: self.start_wall,
        }
    }

    /// GNU parallel's joblog row for a final attempt's record; `command` as GNU parallel
    /// writes it: a task-file line as written, a template's job as it ran.
    pub fn joblog_row<'a>(record: &'a TaskRecord, received: u64, command: &'a str) -> JobLogRow<'a> {
        JobLogRow {
            line: record.line,
            start: record.start,
            runtime_s: record.wall_s,
            received,
            // GNU parallel writes exit value 0 and the signal number for a killed job.
            exit: record.exit.unwrap_or(0),
            signal: record.signal.unwrap_or(0),
            command,
        }
    }

    /// The run-log record of this attempt, which ran on `slot` and ended as `end` says.
    pub fn record(&self, slot: &Slot, end: Ending<'_>, host: &str) -> TaskRecord {
        let Ending { reaped, wall_s, last_attempt, leaked, exe_sha256 } = end;
        let ran = self.task.command(slot.id.0);
        let (exit, signal) = match reaped.ended {
            // GNU's exit value for a job it skipped (`{choose_k}`, `{uniq}`).
            _ if self.task.job.as_ref().is_some_and(|j| j.skipped()) => (Some(-2), None),
            Ended::Exited(code) => (Some(code), None),
            Ended::Signaled(sig) => (None, Some(sig)),
        };
        TaskRecord {
            kind: "task".into(),
            seq: self.task.seq,
            line: self.task.line,
            hash: format!("{:016x}", self.task.hash()),
            occurrence: self.task.occurrence,
            attempt: self.number,
            last_attempt,
            slot: slot.id.0,
            cpus: slot.cpus.to_string(),
            // Cut to what the log's readers take (the task is known by its hash).
            cmd: crate::log::cap::text(&self.task.cmd, crate::log::cap::FIELD),
            values: self.task.job.as_ref().map(|j| crate::log::cap::values(&j.args)),
            command: (ran != self.task.cmd).then(|| crate::log::cap::text(&ran, crate::log::cap::FIELD)),
            error: self.refused.clone(),
            stdout_bytes: self.captured.stdout_len(),
            exe: self.exe.as_ref().map(|p| p.display().to_string()),
            exe_sha256,
            // A task on another node: its pid there (hrun tags it: see `sys::remote_pid`).
            pid: sys::remote_pid(reaped.pid).map_or(reaped.pid, |(_, pid)| pid),
            start: self.start_wall,
            wall_s,
            exit,
            signal,
            signal_name: signal.map(sys::signal_name),
            timeout: self.cut == Some(Cut::TimedOut),
            cancelled: matches!(self.cut, Some(Cut::Cancelled | Cut::Lost)),
            leaked: !leaked.is_empty(),
            leaked_pids: leaked.to_vec(),
            rusage: reaped.rusage,
            host: host.into(),
            results_end: None,
            block_offset: self.task.block.as_ref().map(|b| b.offset),
            block_bytes: self.task.block.as_ref().map(|b| b.len),
            output_files: None,
        }
    }
}

/// How an attempt ended, for its record.
pub struct Ending<'a> {
    pub reaped: Reaped,
    pub wall_s: f64,
    /// False for a failed attempt that is retried.
    pub last_attempt: bool,
    /// Processes it left behind, which hrun killed.
    pub leaked: &'a [i32],
    /// Its program's SHA-256, when ready.
    pub exe_sha256: Option<String>,
}

/// Sends `sig` to every running task's group and marks them cancelled.
pub fn terminate_all(slots: &mut [SlotState], sig: i32, seq: &TermSeq, now: Instant, fx: &mut Effects) {
    for s in slots {
        if let SlotState::Running(r) = s {
            r.cancel(sig, now, seq, fx);
        }
    }
}

/// Signals a task's process group; a failure is a warning (the group may be gone already).
pub fn signal_group(pgid: i32, sig: i32) {
    if let Err(e) = sys::signal_group(pgid, sig) {
        crate::messages::warning(format_args!(
            "cannot send {} to task group {pgid}: {e}",
            sys::signal_name(sig)
        ));
    }
}

/// hrun received `sig`: attempts that died of it a moment before were hit by the same
/// step-wide signal, so they were cut short (cancelled), not failed.
pub fn same_signal_arrived(slots: &mut [SlotState], sig: i32) {
    for s in slots {
        if let SlotState::Lingering(l) = s
            && l.awaiting == Some(sig)
        {
            l.attempt.cut = Some(Cut::Cancelled);
        }
    }
}

/// How long an ended attempt stays unrecorded: the leak timeout for leftover processes, the
/// same-signal window while it waits for hrun's copy of the signal it died of.
pub fn linger_for(leftovers: bool, awaiting_signal: bool, leak_timeout: Duration) -> Duration {
    match (leftovers, awaiting_signal) {
        (true, false) => leak_timeout,
        (false, _) => SAME_SIGNAL_WINDOW,
        (true, true) => leak_timeout.max(SAME_SIGNAL_WINDOW),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_becomes_of_an_ended_attempt() {
        use Disposition::*;
        // (succeeded, cancelled, attempt, retries, stopping) -> disposition
        for (args, want) in [
            ((true, false, 1, 0, false), Succeeded),
            ((true, false, 1, 0, true), Succeeded),
            ((false, false, 1, 0, false), Failed),
            ((false, false, 1, 2, false), Retry),
            ((false, false, 3, 2, false), Failed),
            ((false, false, 2, 2, true), LeftForResume),
            ((false, true, 1, 2, false), Cancelled),
            ((true, true, 1, 0, false), Cancelled),
        ] {
            let (s, c, a, r, stop) = args;
            assert_eq!(Disposition::of(s, c, a, r, stop), want, "{args:?}");
        }
        assert!(!Retry.last_attempt() && !LeftForResume.last_attempt() && Cancelled.last_attempt());
        assert!(Succeeded.finished() && Failed.finished() && !Cancelled.finished() && !Retry.finished());
    }

    #[test]
    fn a_running_attempt_times_out_then_is_killed_after_the_grace() {
        let t0 = Instant::now();
        let grace = TermSeq::with_grace(Duration::from_secs(2));
        let deadline = Some(t0 + Duration::from_secs(10));
        let s = Duration::from_secs;
        assert_eq!(Phase::Running.due(t0 + s(9), deadline, &grace), None);
        assert_eq!(Phase::Running.due(t0 + s(10), deadline, &grace), Some(Due::Timeout));
        assert_eq!(Phase::Running.due(t0 + s(99), None, &grace), None, "no timeout: nothing is ever due");
        let term = Phase::Running.signalled(libc::SIGTERM, t0 + s(10));
        assert_eq!(term, Phase::Terminating { step: 0, since: t0 + s(10) });
        assert_eq!(term.wake_at(deadline, &grace), Some(t0 + s(12)));
        assert_eq!(term.due(t0 + s(11), deadline, &grace), None);
        assert_eq!(term.due(t0 + s(12), deadline, &grace), Some(Due::Next));
        // A second TERM (hrun torn down meanwhile) does not restart the grace; KILL ends it.
        assert_eq!(term.signalled(libc::SIGTERM, t0 + s(11)), term);
        assert_eq!(term.next_step(t0 + s(12), &grace), (Phase::Killed, Some(libc::SIGKILL)));
        let killed = term.signalled(libc::SIGKILL, t0 + s(12));
        assert_eq!(killed, Phase::Killed);
        assert_eq!(
            (killed.wake_at(deadline, &grace), killed.due(t0 + s(99), deadline, &grace)),
            (None, None)
        );
        assert_eq!(Phase::Running.signalled(libc::SIGKILL, t0), Phase::Killed);
    }

    #[test]
    fn a_term_seq_is_walked_step_by_step() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let seq: TermSeq = "USR1,100,TERM,50,INT".parse().unwrap();
        let p = Phase::Running.signalled(libc::SIGUSR1, t0);
        assert_eq!(p.wake_at(None, &seq), Some(t0 + ms(100)));
        let (p, sig) = p.next_step(t0 + ms(100), &seq);
        assert_eq!((p, sig), (Phase::Terminating { step: 1, since: t0 + ms(100) }, Some(libc::SIGTERM)));
        assert_eq!(p.due(t0 + ms(149), None, &seq), None);
        let (p, sig) = p.next_step(t0 + ms(150), &seq);
        assert_eq!((p, sig), (Phase::Terminating { step: 2, since: t0 + ms(150) }, Some(libc::SIGINT)));
        // The last step has no wait, and nothing follows it: the task is only waited for.
        assert_eq!(p.due(t0 + ms(150), None, &seq), Some(Due::Next));
        assert_eq!(p.next_step(t0 + ms(150), &seq), (Phase::Killed, None));
    }
}
