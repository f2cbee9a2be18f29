//! Requests sent ahead: each slot whose task runs may have the next request waiting at its
//! launcher, which starts it the moment it reaps the slot's task (if that task exited, with
//! status 0 when a failure may fire `--halt`, and left nothing behind) and then reports both. The next task on a slot so never waits for
//! hrun's round trip (the task ends, the launcher reports, hrun writes the record and sends
//! the next request). One request waits per slot at most.
//!
//! A request waits behind a task whose length nobody knows: when a slot falls idle for want
//! of a task (the input is done, or has no line yet), every waiting request is withdrawn and
//! runs on the first free slot instead, so that the last tasks never wait for a long one.
//!
//! A waiting request that did not start is not a started task: when the run stops (a signal,
//! `--halt`, the deadline, SIGUSR1, an error) or a task's `--timeout` passes, hrun withdraws
//! it; the launcher answers that it did not start (or its start, when it started first), and
//! the task goes back to the front of the queue: counted as not run when the run stops, run
//! again by `--resume`. A request the launcher gives back (the task before it failed or left
//! processes behind) is sent again as an ordinary one when the slot is free.

use std::time::SystemTime;

use super::super::attempt::{Phase, SlotState, Starting};
use super::super::unix_seconds;
use super::{Dispatcher, RunState};
use crate::input::TaskStream;
use crate::sys::When;

/// A request sent ahead for a slot whose task still runs.
pub(super) struct Queued {
    pub starting: Box<Starting>,
    /// Withdrawn: the launcher's answer is awaited.
    pub withdrawing: bool,
}

impl Dispatcher<'_> {
    /// Sends the next request ahead for each slot whose task runs and has none waiting.
    pub(super) fn fill_ahead(&mut self, st: &mut RunState, tasks: &mut TaskStream) {
        if !self.may_send_ahead(st) {
            return st.withdraw_all();
        }
        for slot in 0..st.slots.len() {
            let busy = match &st.slots[slot] {
                SlotState::Starting(_) => true,
                SlotState::Running(r) => r.phase == Phase::Running && r.cut.is_none(),
                SlotState::Free | SlotState::Lingering(_) => false,
            };
            if !busy || st.queued[slot].is_some() {
                continue;
            }
            let Some(next) = self.next_task(st, tasks) else { return };
            // With --halt, a failure may stop the run: only hrun may decide what follows it.
            let when = if self.policy.halt.rule.is_some() { When::AfterSuccess } else { When::AfterExit };
            self.request(st, next, slot, when);
            if st.stopped() {
                return;
            }
        }
    }

    /// True when a task may wait at a launcher: the run goes on; no `--delay` (the launcher
    /// cannot space starts) and no wait after the kernel refused a start; no `--halt` a success can fire (it would start before hrun
    /// counted the success); and, before a deadline, a task starting one median runtime from
    /// now would still end in time.
    fn may_send_ahead(&self, st: &RunState) -> bool {
        if st.stopped()
            || self.delay.is_some()
            || self.gate.is_set()
            || st.backoff.is_some()
            || self.policy.halt.counts_successes()
        {
            return false;
        }
        if !self.walltime.is_set() {
            return true;
        }
        let expected = st.median.median().filter(|_| st.median.count() > 0);
        let later = unix_seconds(SystemTime::now()) + expected.unwrap_or(0.0);
        self.walltime.refuses(later, expected, st.by_pid.len()).is_none()
    }
}
