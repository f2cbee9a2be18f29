//! Tasks that re-pin themselves: when each running task's CPUs are looked at, and naming one
//! seen allowed outside its slot. The look itself (`/proc`) is the shell's.

use std::time::{Duration, Instant};

use super::RunState;
use crate::cpuset::CpuSet;
use crate::exec::attempt::SlotState;
use crate::exec::summary::{FAILURES_SHOWN, Repinned};

/// A running task is first looked at for CPUs outside its slot this long after its start.
pub(super) const FIRST: Duration = Duration::from_secs(1);
/// And at most this long apart after that.
const MOST: Duration = Duration::from_secs(60);

impl RunState {
    /// The running tasks due at `now` for a look at the CPUs they may run on, as (slot, pid);
    /// each is looked at again after twice the wait (at most a minute).
    pub(in super::super) fn affinity_due(&mut self, now: Instant) -> Vec<(usize, i32)> {
        let mut due = Vec::new();
        for (slot, at) in self.affinity_at.iter_mut().enumerate() {
            let (SlotState::Running(r), Some((when, wait))) = (&self.slots[slot], *at) else { continue };
            if now >= when {
                let wait = (wait * 2).min(MOST);
                *at = Some((now + wait, wait));
                due.push((slot, r.pid));
            }
        }
        due
    }

    /// The nearest look at a running task's CPUs.
    pub(in super::super) fn affinity_wake(&self) -> Option<Instant> {
        (0..self.slots.len())
            .filter(|&s| matches!(self.slots[s], SlotState::Running(_)))
            .filter_map(|s| self.affinity_at[s].map(|(when, _)| when))
            .min()
    }

    /// The task on `slot` may run on `outside`, CPUs outside its slot's `cpus`: it re-pinned
    /// itself, and shares CPUs with its neighbours. Named in the summary (the first few), and
    /// not looked at again.
    pub(in super::super) fn repinned(&mut self, slot: usize, outside: CpuSet, cpus: &CpuSet) {
        let SlotState::Running(r) = &self.slots[slot] else { return };
        if self.affinity_at[slot].take().is_none() {
            return;
        }
        self.summary.repinned_tasks += 1;
        if self.summary.repinned.len() < FAILURES_SHOWN {
            self.summary.repinned.push(Repinned { name: r.task.name(), outside, slot: cpus.clone() });
        }
    }
}
