//! The end-of-run numbers and the block printed on stderr; hrun's exit status.

use std::path::Path;

use crate::exit;
use crate::slots::SlotPlan;

/// What a finished run reports. Counts are of tasks (a retried task counts once, by its
/// last attempt), except `attempts`.
#[derive(Debug, Default)]
pub struct Summary {
    /// Tasks that ended (succeeded or failed), this run.
    pub tasks: u64,
    pub failed: u64,
    pub timed_out: u64,
    /// Tasks that left processes behind, which hrun killed.
    pub leaked: u64,
    /// Tasks hrun itself cut short (signal to hrun, `--halt now`); `--resume` reruns them.
    pub cancelled: u64,
    /// Tasks never started (stopped early); `--resume` runs them.
    pub not_run: u64,
    /// Tasks `--resume` found already done.
    pub skipped: u64,
    /// Attempts started, retries included.
    pub attempts: u64,
    pub makespan_s: f64,
    pub busy_s: f64,
    pub slots: usize,
    /// A signal that stopped the run.
    pub interrupted_by: Option<i32>,
    /// The exit status set by `--halt` when it fired.
    pub halted: Option<i32>,
}

impl Summary {
    pub fn utilisation(&self) -> f64 {
        if self.makespan_s > 0.0 && self.slots > 0 {
            self.busy_s / (self.slots as f64 * self.makespan_s)
        } else {
            0.0
        }
    }

    /// 128 + signal when a signal stopped the run; else `--halt`'s status when it fired; else
    /// GNU parallel's: 0 if every task succeeded, the number failed up to 100, 101 above.
    pub fn exit_code(&self) -> i32 {
        match (self.interrupted_by, self.halted) {
            (Some(sig), _) => 128 + sig,
            (None, Some(status)) => status,
            (None, None) => exit::for_failures(self.failed + self.cancelled),
        }
    }

    pub fn print(&self, plan: &SlotPlan, log: &Path, joblog: Option<&Path>, taskfile: &str) {
        if self.tasks == 0 && self.not_run == 0 && self.cancelled == 0 && self.skipped == 0 {
            eprintln!("hrun: no tasks in {taskfile}: nothing to run");
            return;
        }
        let mut text =
            format!("hrun: {} task(s): {} ok, {} failed", self.tasks, self.tasks - self.failed, self.failed);
        for (n, what) in [
            (self.timed_out, "timed out"),
            (self.leaked, "leaked processes (killed)"),
            (self.cancelled, "cancelled"),
            (self.not_run, "not run"),
            (self.skipped, "already done (skipped)"),
        ] {
            if n > 0 {
                text += &format!(", {n} {what}");
            }
        }
        if self.attempts > self.tasks + self.cancelled {
            text += &format!(" ({} attempts)", self.attempts);
        }
        text += &format!(
            "; makespan {:.2} s on {} slot(s) x {} CPU(s); slot utilisation {:.1}%\nhrun: run log {}",
            self.makespan_s,
            self.slots,
            plan.threads,
            100.0 * self.utilisation(),
            log.display()
        );
        if let Some(j) = joblog {
            text += &format!(", joblog {}", j.display());
        }
        if self.cancelled + self.not_run > 0 {
            text += "\nhrun: to run the rest: the same command with --resume";
        }
        eprintln!("{text}");
    }
}
