//! What holds the next task back: `--delay`, the deadline, and `--memfree` and `--load` (a
//! task starts only when they let it, looked at again every [`RECHECK`], never spun on); and
//! while free memory is below half of `--memfree`, the youngest running task is stopped, as
//! GNU parallel does.

use std::time::{Instant, SystemTime};

use super::super::attempt::{Phase, SlotState};
use super::super::gate::RECHECK;
use super::super::unix_seconds;
use super::{Dispatcher, RunState, Stop};

impl Dispatcher<'_> {
    /// True when `--memfree` and `--load` let a task start now; if not, they are looked at
    /// again after [`RECHECK`], not before.
    pub(super) fn gate_open(&self, st: &mut RunState) -> bool {
        if !self.gate.is_set() {
            return true;
        }
        let now = Instant::now();
        if st.gate_until.is_some_and(|t| now < t) {
            return false;
        }
        let open = self.gate.open();
        st.gate_until = (!open).then_some(now + RECHECK);
        open
    }

    /// `--memfree`: while free memory is below half of it, the youngest running task is
    /// stopped (by `--term-seq`), one per look, as GNU parallel does; it fails (`--retries`
    /// runs it again).
    pub(super) fn on_memory(&self, st: &mut RunState, now: Instant) {
        if self.gate.memfree.is_none() || st.by_pid.is_empty() {
            return;
        }
        if st.memory_checked.is_some_and(|t| now < t + RECHECK) {
            return;
        }
        st.memory_checked = Some(now);
        if !self.gate.memory_short() {
            return;
        }
        let youngest = st
            .slots
            .iter_mut()
            .filter_map(|s| match s {
                SlotState::Running(r) if r.phase == Phase::Running => Some(r),
                _ => None,
            })
            .max_by_key(|r| r.task.seq);
        if let Some(r) = youngest {
            crate::messages::warning(format_args!(
                "free memory is below half of --memfree: stopping the youngest task, {} (line {}); \
                 it fails (--retries runs it again)",
                r.task.seq, r.task.line
            ));
            r.stop_for_memory(now, &self.policy.term_seq, &mut st.fx);
        }
    }

    /// With `--delay`, when the next task may start, if that is still ahead.
    pub(super) fn delayed(&self, st: &RunState) -> Option<Instant> {
        let now = Instant::now();
        let backoff = st.backoff.map(|(until, _)| until).filter(|&t| t > now);
        let at = st.last_start.zip(self.delay).map(|(t, d)| t + d).filter(|&t| t > now);
        backoff.into_iter().chain(at).max()
    }

    /// True when a task starting now would end before the deadline; else stops starting tasks.
    pub(super) fn before_deadline(&self, st: &mut RunState) -> bool {
        if !self.walltime.is_set() {
            return true;
        }
        let expected = st.median.median().filter(|_| st.median.count() > 0);
        let now = unix_seconds(SystemTime::now());
        let Some(why) = self.walltime.refuses(now, expected, st.by_pid.len()) else { return true };
        st.fx.say(why);
        st.stop_as(Stop::Deadline);
        false
    }

    /// When held tasks (`more`: there are some) or `--memfree`'s look at the running ones are
    /// due next.
    pub(super) fn gate_wake(&self, st: &RunState, more: bool) -> Option<Instant> {
        let free = st.slots.iter().any(|s| matches!(s, SlotState::Free));
        let held = st.gate_until.filter(|_| more && !st.stopped() && free);
        let memory = (self.gate.memfree.is_some() && !st.by_pid.is_empty())
            .then(|| st.memory_checked.map_or_else(Instant::now, |t| t + RECHECK));
        held.into_iter().chain(memory).min()
    }
}
