//! A task's end: what it left behind, its record, and what follows (a retry, `--halt`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::super::attempt::{Attempt, Cut, Disposition, Ending, Lingering, Phase, SlotState};
use super::super::leaks;
use super::state::{Gone, TaskEnd};
use super::{Dispatcher, RunState};
use crate::sys::{Ended, Next, Reaped, Stamp};
use crate::task::Task;

/// A finished task's results row waiting for its turn (`-k`): its record, output and joblog
/// command.
pub(super) struct HeldRow {
    record: crate::log::TaskRecord,
    joblog: String,
    captured: super::super::output::Captured,
    tag: Option<String>,
    /// No process of the task can still hold its output files.
    recycle: bool,
}

impl Dispatcher<'_> {
    /// The task's main process ended at `at` (its launcher's clock): record it now, or let its
    /// leftovers linger a moment. `next`: what its launcher did with the request waiting
    /// behind it; `clean`: its launcher saw nothing left behind (no need to look in /proc).
    pub(super) fn on_leader_end(
        &mut self,
        st: &mut RunState,
        slot: usize,
        reaped: Reaped,
        at: Stamp,
        next: Next,
        clean: bool,
    ) -> Result<()> {
        let SlotState::Running(attempt) = std::mem::replace(&mut st.slots[slot], SlotState::Free) else {
            unreachable!("a reaped task's slot is running")
        };
        let mut attempt = *attempt;
        // Its real end, measured from its real start on the launcher's clock: not when hrun
        // got to read the event.
        let ran = Duration::from_secs_f64(attempt.started_at.secs_until(at));
        let ended = (attempt.start + ran).min(Instant::now());
        match next {
            Next::Started => {
                // It exited 0 and its launcher found nothing left behind, and started the
                // slot's next task already, whose pid follows.
                self.finish(st, slot, attempt, reaped, ended, Vec::new())?;
                st.promote(slot);
                return Ok(());
            }
            Next::GivenBack => st.given_back(slot),
            Next::None => {}
        }
        let awaiting = attempt.died_of_step_wide_signal(reaped.ended, st.received);
        let leftovers = !clean && !self.leftovers(&attempt, &st.by_pid).is_empty();
        if !leftovers && awaiting.is_none() {
            return self.finish(st, slot, attempt, reaped, ended, Vec::new());
        }
        let until = match attempt.phase {
            // Being torn down (a timeout, a signal, --halt now): its whole process group got the
            // TERM with the main process, and gets the rest of the sequence before the KILL (a
            // shell line's child that checkpoints on SIGTERM must be given the time to).
            Phase::Terminating { step, since } if leftovers && attempt.cut.is_some() => {
                since + self.policy.term_seq.remaining(step)
            }
            _ => {
                ended
                    + super::super::attempt::linger_for(
                        leftovers,
                        awaiting.is_some(),
                        self.policy.leak_timeout,
                    )
            }
        };
        st.slots[slot] =
            SlotState::Lingering(Box::new(Lingering { attempt, reaped, ended, until, awaiting }));
        Ok(())
    }

    /// Records the lingering tasks whose leftover processes have all ended (and that wait for
    /// no signal), without waiting for their deadline.
    pub(super) fn settle_lingering(&mut self, st: &mut RunState) -> Result<()> {
        for slot in 0..st.slots.len() {
            let settled = match &st.slots[slot] {
                SlotState::Lingering(l) => {
                    l.awaiting.is_none() && self.leftovers(&l.attempt, &st.by_pid).is_empty()
                }
                _ => false,
            };
            if settled {
                let SlotState::Lingering(l) = std::mem::replace(&mut st.slots[slot], SlotState::Free) else {
                    unreachable!("checked above")
                };
                self.finish(st, slot, l.attempt, l.reaped, l.ended, Vec::new())?;
            }
        }
        Ok(())
    }

    /// A lingering task's time is up: its leftovers are killed (leaked), and it is recorded.
    pub(super) fn end_lingering(&mut self, st: &mut RunState, slot: usize) -> Result<()> {
        let SlotState::Lingering(l) = std::mem::replace(&mut st.slots[slot], SlotState::Free) else {
            unreachable!("the caller saw it lingering")
        };
        let leaked = self.kill_leftovers(&l.attempt, &st.by_pid);
        self.finish(st, slot, l.attempt, l.reaped, l.ended, leaked)
    }

    /// The launcher of `index` is gone (killed): its tasks got SIGKILL from the kernel. They
    /// are recorded as cancelled (with no rusage), and the attempt stops.
    pub(super) fn on_launcher_gone(&mut self, st: &mut RunState, index: usize) {
        let launcher = &self.fleet.launchers[index];
        let gone = match launcher.is_remote() {
            true => Gone::Node(self.fleet.host_of(index).to_string()),
            false => Gone::Local(launcher.pid()),
        };
        for e in st.launcher_gone(&self.fleet.slots_of(index), &gone) {
            if let Err(e) = self.finish(st, e.slot, e.attempt, e.reaped, e.at, Vec::new()) {
                st.stop_with(e);
            }
        }
    }

    /// The live processes `attempt` left behind, among the children of its launcher (which
    /// orphans are re-parented to) not known to be tasks.
    fn leftovers(&self, attempt: &Attempt, running: &HashMap<i32, usize>) -> Vec<i32> {
        if attempt.pid == 0 {
            return Vec::new();
        }
        let launcher = self.fleet.of(attempt.slot);
        if launcher.is_remote() {
            // Its launcher looks after it there (and kills all it left when the run ends).
            return Vec::new();
        }
        let launcher = launcher.pid();
        leaks::leftovers(launcher, attempt.pid, attempt.task.seq, |pid| running.contains_key(&pid))
    }

    fn kill_leftovers(&self, attempt: &Attempt, running: &HashMap<i32, usize>) -> Vec<i32> {
        let killed = leaks::kill_trees(&self.leftovers(attempt, running));
        self.fleet.signal(attempt.pid, libc::SIGKILL);
        killed
    }

    /// Writes the attempt's records, frees the slot, and accounts for it: retries, counts,
    /// `--halt`.
    pub(super) fn finish(
        &mut self,
        st: &mut RunState,
        slot: usize,
        attempt: Attempt,
        reaped: Reaped,
        ended: Instant,
        leaked: Vec<i32>,
    ) -> Result<()> {
        let wall_s = ended.duration_since(attempt.start).as_secs_f64();
        let timed_out = attempt.cut == Some(Cut::TimedOut);
        let succeeded = reaped.ended == Ended::Exited(0) && !timed_out;
        let cancelled = attempt.cut == Some(Cut::Cancelled);
        let fate = match attempt.cut {
            Some(Cut::Lost) => Disposition::Lost,
            _ => Disposition::of(succeeded, cancelled, attempt.number, self.policy.retries, st.stopped()),
        };
        let (start_wall, number) = (attempt.start_wall, attempt.number);
        let (task, cpu_s) = self.write_attempt(st, attempt, reaped, ended, wall_s, fate, &leaked)?;
        if let Some(w) = self.workdir {
            w.done(&task);
        }
        self.progress.ended(fate.finished().then_some(succeeded), wall_s);
        if fate == Disposition::Failed && !st.warned_spool && self.output.spool_full() {
            st.warned_spool = true;
            st.fx.warn(format!(
                "{} is full: tasks cannot write their output there and may fail \
                 (No space left on device); point TMPDIR at a file system with room, or use --output-dir",
                std::env::temp_dir().display()
            ));
        }
        let end =
            TaskEnd { slot, task, number, fate, reaped: reaped.ended, timed_out, start_wall, wall_s, cpu_s };
        st.account(end, ended, leaked.len(), self.policy, self.total.unwrap_or(0));
        Ok(())
    }

    /// The attempt's run-log record, joblog row, output and results row; gives back its task
    /// and CPU seconds.
    #[allow(clippy::too_many_arguments)]
    fn write_attempt(
        &mut self,
        st: &mut RunState,
        attempt: Attempt,
        reaped: Reaped,
        ended: Instant,
        wall_s: f64,
        fate: Disposition,
        leaked: &[i32],
    ) -> Result<(Task, f64)> {
        // A task that ends before its program's hash is ready waits for it a moment at most.
        let patience = std::time::Duration::from_millis(200);
        let exe_sha256 = attempt.exe.as_deref().and_then(|p| self.hashes.get_within(p, patience));
        let end = Ending { reaped, wall_s, last_attempt: fate.last_attempt(), leaked, exe_sha256 };
        let mut record = attempt.record(&self.plan.slots[attempt.slot], end, self.fleet.host(attempt.slot));
        if self.output.in_output_dir() {
            record.output_files = attempt.captured.stamps();
        }
        // A row for each task that finished (not retried, cut short or left for --resume):
        // in a file, written before the record (which then says where it ends); on standard
        // output, by the writer thread after.
        let finished = self.results && fate.finished();
        let tag = self.tag.then(|| attempt.task.tag(Some(self.plan.slots[attempt.slot].id.0)));
        let file_table = self.output.has_file_table();
        let cpu_s = record.rusage.utime_s + record.rusage.stime_s;
        if !leaked.is_empty() {
            st.fx.warn(format!(
                "{} left {} process(es) running after it ended; killed {:?}",
                attempt.task.name(),
                leaked.len(),
                leaked
            ));
        }
        if finished && file_table {
            // The row, then the joblog row, then the record (which says where the row ends):
            // with -k, once every task started before it has its row.
            let seq = attempt.task.seq;
            let held = HeldRow {
                record,
                joblog: attempt.joblog_command(&self.plan.slots[attempt.slot]).into_owned(),
                captured: attempt.captured,
                tag,
                recycle: leaked.is_empty(),
            };
            let ready = match self.output.rows_in_order() {
                true => st.rows.ended(seq, Some(held)),
                false => vec![held],
            };
            for held in ready {
                self.write_held_row(st, held)?;
            }
            return Ok((attempt.task, cpu_s));
        }
        if file_table && fate.last_attempt() && self.output.rows_in_order() {
            // No row for it (cut short): the rows held behind it go.
            for held in st.rows.ended(attempt.task.seq, None) {
                self.write_held_row(st, held)?;
            }
        }
        // On standard output, the writer thread writes the row after the record.
        let row = (finished && !file_table).then(|| record.clone());
        let command = attempt.joblog_command(&self.plan.slots[attempt.slot]);
        let received = attempt.captured.stdout_len();
        if !fate.last_attempt() || self.write_joblog_row(st, &record, received, &command) {
            self.log.append(&record)?;
        }
        st.dirty_since.get_or_insert(ended);
        // With --results, output goes only into rows: a task cut short shows nothing (it
        // runs again on --resume, and gets its row then).
        if self.results && !finished && fate.last_attempt() {
            self.output.no_row(attempt.task.seq);
        }
        self.output.finish(
            attempt.task.seq,
            attempt.captured,
            leaked.is_empty(),
            (fate != Disposition::Retry && !self.results).then_some(fate != Disposition::Succeeded),
            tag,
            row,
        );
        Ok((attempt.task, cpu_s))
    }

    /// A finished task's row in the results table in a file, then its joblog row and its
    /// record (which keeps where the row ends): so a crash can leave a row the log does not
    /// vouch for (cut at `--resume`), never a finished task without a row.
    pub(super) fn write_held_row(&mut self, st: &mut RunState, mut held: HeldRow) -> Result<()> {
        match self.output.write_row(&held.record, &mut held.captured, held.tag.as_deref()) {
            Ok(end) => held.record.results_end = end,
            // The record without `results_end`: not done for --resume, which cuts the table
            // back to its last whole row and runs the task again.
            Err(e) if !st.summary.results_torn => {
                st.summary.results_torn = true;
                st.stop_with(e.context(
                    "a row of the results table could not be written (--resume cuts the table back \
                     to its last whole row and runs the tasks without one again)",
                ));
            }
            Err(_) => {}
        }
        if self.write_joblog_row(st, &held.record, held.captured.stdout_len(), &held.joblog) {
            self.log.append(&held.record)?;
        }
        st.dirty_since.get_or_insert_with(Instant::now);
        let seq = held.record.seq;
        self.output.finish(seq, held.captured, held.recycle, None, held.tag, None);
        Ok(())
    }

    /// The joblog row of a task's last attempt, written before its record: true when written
    /// (or there is no joblog). A row that cannot be written (a full disk) stops the run, and
    /// the task's record is left out of the log, so that `--resume` runs it again and writes
    /// its row then (the joblog keeps whole rows only).
    fn write_joblog_row(
        &mut self,
        st: &mut RunState,
        record: &crate::log::TaskRecord,
        received: u64,
        command: &str,
    ) -> bool {
        let Some(j) = self.joblog.as_mut() else { return true };
        match j.write(&Attempt::joblog_row(record, received, command)) {
            Ok(()) => true,
            Err(e) => {
                st.stop_with(e.context(format!(
                    "task {}'s joblog row could not be written; --resume runs it again",
                    record.seq
                )));
                false
            }
        }
    }
}
