//! `--halt`: when a finished task makes its rule fire, nothing new starts, and with `now` the
//! running tasks are stopped.

use super::super::super::effect::Effect;
use super::super::super::halt::{Halt, When};
use super::super::super::term_seq::TermSeq;
use super::{RunState, Stop};
use crate::sys::Ended;

impl RunState {
    /// `--halt`, after a task finished as `ended`: when it fires, nothing new starts (the
    /// waiting requests are withdrawn) and with `now`, the running tasks are stopped. `job`:
    /// the task's command, made only when the rule fires.
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
        if self.stopped() {
            return;
        }
        let Some((when, exit)) = halt.check(&self.tally, status, total) else { return };
        self.fx.push(Effect::Tell {
            hrun: Some(format!(
                "--halt {halt} reached: starting no new task{}",
                if when == When::Now { "; killing the running ones" } else { "; running ones finish" }
            )),
            // GNU names the job that made it fire (for a failure rule; its success rules too).
            gnu: Some(format!(
                "parallel: This job {}:\n{}",
                if status == 0 { "succeeded" } else { "failed" },
                job()
            )),
        });
        if when == When::Now {
            self.tear_down(Stop::Halt(exit), libc::SIGTERM, seq);
        } else {
            self.stop_as(Stop::Halt(exit));
            self.withdraw_all();
        }
    }
}
