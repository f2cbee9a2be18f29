//! A launcher lost. On this host it was killed: its tasks got SIGKILL from the kernel (their
//! process groups get it from hrun), the run stops, the other launchers' tasks finish, and
//! `--resume` runs them again. On another node, the node (or its srun step, or
//! its ssh connection) is gone: its running tasks are recorded as lost and run again on the
//! nodes that remain, not counted as failures or retries, and the run goes on; only when no
//! node is left does it stop.

use anyhow::anyhow;

use super::super::super::attempt::{Cut, SlotState};
use super::{Pending, RunState, ToRecord};
use crate::sys::{Ended, Reaped};

/// What was lost: a launcher on this host (its pid), or a node (its name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in super::super) enum Gone {
    Local(i32),
    Node(String),
}

impl RunState {
    /// The launcher serving `slots` is gone. Returns the attempts to record (with no
    /// rusage): cancelled for a local launcher, lost for a node's.
    pub(in super::super) fn launcher_gone(&mut self, slots: &[usize], gone: &Gone) -> Vec<ToRecord> {
        let node = matches!(gone, Gone::Node(_));
        let mut ended = Vec::new();
        for &slot in slots {
            match std::mem::replace(&mut self.slots[slot], SlotState::Free) {
                SlotState::Running(mut r) => {
                    self.by_pid.remove(&r.pid);
                    if !node {
                        // The kernel killed the task itself; what it started in its group is
                        // hrun's now (re-parented to it), and goes with it.
                        self.fx.signal(r.pid, libc::SIGKILL);
                    }
                    r.cut = Some(if node { Cut::Lost } else { Cut::Cancelled });
                    let reaped = Reaped {
                        pid: r.pid,
                        ended: Ended::Signaled(libc::SIGKILL),
                        rusage: Default::default(),
                    };
                    ended.push(ToRecord { slot, attempt: *r, reaped, at: std::time::Instant::now() });
                }
                SlotState::Lingering(l) => {
                    if !node {
                        self.fx.signal(l.attempt.pid, libc::SIGKILL);
                    }
                    ended.push(ToRecord { slot, attempt: l.attempt, reaped: l.reaped, at: l.ended })
                }
                SlotState::Starting(s) if node => {
                    self.retry.push_front(Pending { task: s.task, number: s.number, announced: true })
                }
                SlotState::Starting(_) => self.summary.not_run += 1,
                SlotState::Free => {}
            }
            if let Some(q) = self.queued[slot].take() {
                if node {
                    let s = *q.starting;
                    self.retry.push_front(Pending { task: s.task, number: s.number, announced: true });
                } else {
                    self.summary.not_run += 1;
                }
            }
            self.dead[slot] = true;
        }
        match gone {
            Gone::Local(pid) => self.stop_with(anyhow!(
                "launcher process {pid} ended: its tasks were killed; --resume runs them again"
            )),
            Gone::Node(name) => {
                self.summary.lost_nodes.push(name.clone());
                if self.dead.iter().all(|&d| d) {
                    self.stop_with(anyhow!(
                        "every node was lost (the last: {name}); --resume runs the rest of the tasks"
                    ));
                } else {
                    self.fx.warn(format!(
                        "node {name} was lost (its launcher's stream ended): its running tasks run again on \
                         the other nodes"
                    ));
                }
            }
        }
        ended
    }
}
