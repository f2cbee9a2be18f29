//! `--halt`: when a finished task makes its rule fire, nothing new starts, and with `now` the
//! running tasks are stopped.

use super::super::super::attempt::SlotState;
use super::super::super::effect::Effect;
use super::super::super::halt::{Halt, When, Why};
use super::super::super::term_seq::TermSeq;
use super::{RunPhase, RunState, Stop};
use crate::sys::Ended;

impl RunState {
    /// `--halt`, after a task finished as `ended`: when it fires, nothing new starts (the
    /// waiting requests are withdrawn) and with `now`, the running tasks are stopped. `job`:
    /// the task's command, made only when a line names it.
    ///
    /// As `parallel`, GNU's lines: each job the rule counts is named as it ends (`This job
    /// failed:`, `succeeded:`, `finished:`), before the rule fires and, with `soon`, after it;
    /// then, while the rule holds under `soon` and jobs still run, `Starting no more jobs.
    /// Waiting for N jobs to finish.`
    pub(in super::super) fn check_halt(
        &mut self,
        ended: Ended,
        halt: &Halt,
        total: u64,
        seq: &TermSeq,
        job: impl FnOnce() -> String,
    ) {
        let status = match ended {
            Ended::Exited(code) => code,
            Ended::Signaled(sig) => 128 + sig,
        };
        let Some((_, why, _)) = halt.rule else { return };
        let halted_soon = matches!(self.phase, RunPhase::Stopping(Stop::Halt(_)));
        if self.stopped() && !halted_soon {
            return;
        }
        let named = match (why, status == 0) {
            (Why::Fail, false) => Some("failed"),
            (Why::Success, true) => Some("succeeded"),
            (Why::Done, _) => Some("finished"),
            _ => None,
        };
        let fired = halt.check(&self.tally, status, total);
        let mut gnu = named.map(|how| format!("parallel: This job {how}:\n{}", job()));
        // A job the rule does not count leaves GNU's lines out altogether. GNU counts the jobs
        // it started and has not reaped: a slot's task whose pid is yet to come is one.
        let running = self.slots.iter().filter(|s| !matches!(s, SlotState::Free)).count();
        if let Some((When::Soon, _)) = fired
            && named.is_some()
            && running > 0
        {
            let waiting = format!("parallel: Starting no more jobs. Waiting for {running} jobs to finish.");
            gnu = Some(gnu.map_or(waiting.clone(), |g| format!("{g}\n{waiting}")));
        }
        let Some((when, exit)) = fired.filter(|_| !halted_soon) else {
            if gnu.is_some() {
                self.fx.push(Effect::Tell { hrun: None, gnu });
            }
            return;
        };
        self.fx.push(Effect::Tell {
            hrun: Some(format!(
                "--halt {halt} reached: starting no new task{}",
                if when == When::Now { "; killing the running ones" } else { "; running ones finish" }
            )),
            gnu,
        });
        if when == When::Now {
            self.tear_down(Stop::Halt(exit), libc::SIGTERM, seq);
        } else {
            self.stop_as(Stop::Halt(exit));
            self.withdraw_all();
        }
    }
}
