//! One attempt of a task: its state while it runs, and the log record it becomes.

use std::time::Instant;

use super::os::{self, Ended, Reaped};
use super::output::Captured;
use crate::log::{JobLogRow, StartRecord, TaskRecord};
use crate::slots::Slot;
use crate::taskfile::Task;

/// A task attempt that hrun started and has not recorded yet.
pub struct Running {
    pub task: Task,
    pub attempt: u32,
    /// Index into the slot plan.
    pub slot: usize,
    pub pid: i32,
    pub start_wall: f64,
    pub start: Instant,
    pub captured: Captured,
    /// `--timeout` for this attempt.
    pub deadline: Option<Instant>,
    /// When hrun sent TERM (timeout, halt now) or forwarded a signal: KILL after the grace.
    pub terminating_since: Option<Instant>,
    /// SIGKILL was sent: nothing left to do but reap it.
    pub killed: bool,
    pub timed_out: bool,
    pub cancelled: bool,
    /// The program and its SHA-256, for the record.
    pub exe: Option<(String, Option<String>)>,
}

/// An attempt whose main process ended while processes it started live on: they get the
/// leak timeout (`until`) to end before they are killed and the attempt is recorded.
pub struct Lingering {
    pub run: Running,
    pub reaped: Reaped,
    pub ended: Instant,
    pub until: Instant,
}

/// What occupies a slot.
pub enum SlotState {
    Free,
    Running(Box<Running>),
    Lingering(Box<Lingering>),
}

impl Running {
    /// The `start` record written when the attempt starts on `slot`.
    pub fn start_record(&self, slot: &Slot) -> StartRecord {
        StartRecord {
            kind: "start".into(),
            seq: self.task.seq,
            attempt: self.attempt,
            slot: slot.id.0,
            cpus: slot.cpus.to_string(),
            cmd: self.task.cmd.clone(),
            pid: self.pid,
            start: self.start_wall,
        }
    }

    /// GNU parallel's joblog row for a final attempt's record.
    pub fn joblog_row(record: &TaskRecord, received: u64) -> JobLogRow<'_> {
        JobLogRow {
            line: record.line,
            start: record.start,
            runtime_s: record.wall_s,
            received,
            // GNU parallel writes exit value 0 and the signal number for a killed job.
            exit: record.exit.unwrap_or(0),
            signal: record.signal.unwrap_or(0),
            command: &record.cmd,
        }
    }

    /// The run-log record of this attempt, which ran on `slot` and ended as `reaped`.
    pub fn record(
        &self,
        slot: &Slot,
        reaped: Reaped,
        wall_s: f64,
        last_attempt: bool,
        leaked: &[i32],
        host: &str,
    ) -> TaskRecord {
        let (exit, signal) = match reaped.ended {
            Ended::Exited(code) => (Some(code), None),
            Ended::Signaled(sig) => (None, Some(sig)),
        };
        TaskRecord {
            kind: "task".into(),
            seq: self.task.seq,
            line: self.task.line,
            hash: format!("{:016x}", self.task.hash()),
            attempt: self.attempt,
            last_attempt,
            slot: slot.id.0,
            cpus: slot.cpus.to_string(),
            cmd: self.task.cmd.clone(),
            exe: self.exe.as_ref().map(|(p, _)| p.clone()),
            exe_sha256: self.exe.as_ref().and_then(|(_, h)| h.clone()),
            pid: reaped.pid,
            start: self.start_wall,
            wall_s,
            exit,
            signal,
            signal_name: signal.map(os::signal_name),
            timeout: self.timed_out,
            cancelled: self.cancelled,
            leaked: !leaked.is_empty(),
            leaked_pids: leaked.to_vec(),
            rusage: reaped.rusage,
            host: host.into(),
        }
    }
}

/// Sends `sig` to every running task's group and marks them cancelled.
pub fn terminate_all(slots: &mut [SlotState], sig: i32) {
    let now = Instant::now();
    for s in slots {
        if let SlotState::Running(r) = s {
            r.cancelled = true;
            r.terminating_since.get_or_insert(now);
            r.killed |= sig == libc::SIGKILL;
            signal_group(r.pid, sig);
        }
    }
}

/// Signals a task's process group; a failure is a warning (the group may be gone already).
pub fn signal_group(pgid: i32, sig: i32) {
    if let Err(e) = os::signal_group(pgid, sig) {
        eprintln!("hrun: warning: cannot send {} to task group {pgid}: {e}", os::signal_name(sig));
    }
}
