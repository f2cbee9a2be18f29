//! Starting a task: the request to its slot's launcher, and the launcher's answer.
//!
//! A request is sent for a free slot (to start now), or ahead, for a slot whose task still
//! runs (to start the moment its launcher reaps that task: see `prefetch.rs`). Either way the
//! start time is the launcher's, so a `--timeout` counts from the real start.
//!
//! A plain line is asked to start directly; if that fails (not found, not executable, no
//! `#!`), it is asked again through the shell, so errors and exit statuses (127, 126) are the
//! shell's. A command the kernel refuses (too long for `execve`) fails that task alone.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow};

use super::super::attempt::{SlotState, Starting};
use super::super::spawn::Launch;
use super::super::unix_seconds;
use super::prefetch::Queued;
use super::{Dispatcher, Pending, RunState};
use crate::sys::{Ended, Reaped, Stamp, TooLarge, When};
use crate::task::Task;

impl Dispatcher<'_> {
    /// Asks the slot's launcher to start `task`, now (the slot is `Starting` until it answers)
    /// or after the slot's current task (the request is queued for the slot).
    pub(super) fn request(&mut self, st: &mut RunState, next: Pending, slot: usize, when: When) {
        let Pending { task, number: attempt, announced } = next;
        let slot_id = self.plan.slots[slot].id.0;
        let opened = self.output.open(&task, slot_id).and_then(|c| {
            self.output.announce(&c, &task.command(slot_id)).context("cannot show the command (-v, -t)")?;
            Ok(c)
        });
        let captured = match opened {
            Ok(c) => c,
            Err(e) => {
                // That task was taken from the input and will not run: count it.
                st.summary.not_run += 1;
                return st.stop_with(e);
            }
        };
        if !announced {
            // Taken from the input now: `-k` shows its output in this order.
            self.output.started(task.seq);
            if self.output.rows_in_order() {
                st.rows.started(task.seq);
            }
        }
        let start = Instant::now();
        let exe = self.env.executable(&task);
        if let Some(path) = &exe {
            self.hashes.request(path);
        }
        let starting = Starting {
            limit: None,
            exe,
            task,
            number: attempt,
            captured,
            launch: Launch::Direct,
            sent: start,
        };
        st.last_start = Some(start);
        self.send(st, slot, Box::new(starting), false, when);
    }

    /// Sends the request for `starting` (through the shell when `via_shell`) and marks the
    /// slot `Starting`, or queues it behind the slot's task.
    fn send(
        &mut self,
        st: &mut RunState,
        slot: usize,
        mut starting: Box<Starting>,
        via_shell: bool,
        when: When,
    ) {
        let s = &self.plan.slots[slot];
        let (mut program, launch) = self.env.program(&starting.task, s, via_shell);
        starting.launch = launch;
        if let Some(w) = self.workdir {
            let dir = w.for_task(&starting.task, s.id.0);
            if let Err(e) = w.prepare(&dir) {
                return self.refuse_because(st, slot, *starting, format!("{e:#}"));
            }
            program.dir = Some(super::super::spawn::path_cstring(&dir));
        }
        let (out, err) = starting.captured.files();
        let launcher = &self.launchers[slot % self.launchers.len()];
        match launcher.start_task(slot as u64, when, &program, out, err, &s.cpus) {
            Ok(()) if when == When::Now => st.slots[slot] = SlotState::Starting(starting),
            Ok(()) => st.queued[slot] = Some(Queued { starting, withdrawing: false }),
            // The request itself is too large to pass: as the kernel would refuse it.
            Err(e) if e.raw_os_error() == Some(libc::E2BIG) => self.refuse(st, slot, *starting, libc::E2BIG),
            // Too large for the launcher's socket: that task fails, the run goes on.
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<TooLarge>()) => {
                let why = format!("{e}: {}", crate::text::printable_max(&starting.task.cmd, 200));
                self.refuse_because(st, slot, *starting, why)
            }
            Err(e) => {
                st.summary.not_run += 1;
                st.stop_with(
                    anyhow!(e).context(format!("cannot ask a launcher to start task {}", starting.task.seq)),
                );
            }
        }
    }

    /// The launcher answered for the task starting on `slot`: started as a pid, or not.
    pub(super) fn on_spawned(
        &mut self,
        st: &mut RunState,
        slot: usize,
        result: Result<i32, i32>,
        at: Stamp,
    ) -> Result<()> {
        let Some(SlotState::Starting(starting)) =
            st.slots.get_mut(slot).map(|s| std::mem::replace(s, SlotState::Free))
        else {
            return Ok(());
        };
        match (result, starting.launch) {
            (Ok(pid), _) => {
                st.backoff = None;
                st.refused_since = None;
                self.started(st, slot, *starting, pid, at)
            }
            // Too many processes, or no memory, for now: the task waits and is tried again.
            (Err(errno), _) if errno == libc::EAGAIN || errno == libc::ENOMEM => {
                let wait = backoff(st.backoff.map(|(_, w)| w));
                if st.backoff.is_none() {
                    eprintln!(
                        "hrun: warning: the kernel cannot start task {} now ({}); trying again in {wait:?}, \
                         and slower while it refuses",
                        starting.task.seq,
                        std::io::Error::from_raw_os_error(errno)
                    );
                }
                st.backoff = Some((Instant::now() + wait, wait));
                // Fewer at once from now on: half of what runs now (its tasks may need
                // processes of their own too), at least one.
                let running =
                    st.slots.iter().filter(|s| !matches!(s, SlotState::Free)).count().div_ceil(2).max(1);
                if st.at_once.is_none_or(|n| running < n) && running < st.slots.len() {
                    eprintln!(
                        "hrun: warning: only enough processes to run {running} task(s) at once (the \
                         kernel refused another; ulimit -u {}): running at most {running} from now on",
                        crate::sys::process_limit().map_or_else(|| "?".to_string(), |n| n.to_string())
                    );
                    st.at_once = Some(running);
                }
                let Starting { task, number, .. } = *starting;
                st.retry.push_front(Pending { task, number, announced: true });
                // Refused with nothing running, for long: no task can ever start.
                let since = *st.refused_since.get_or_insert_with(Instant::now);
                if !st.busy() && since.elapsed() >= REFUSED_FOR {
                    st.stop_with(anyhow!(
                        "the kernel refused to start any task for {}s ({}; ulimit -u {}): raise the \
                         limit, or end other processes of this user",
                        REFUSED_FOR.as_secs(),
                        std::io::Error::from_raw_os_error(errno),
                        crate::sys::process_limit().map_or_else(|| "?".to_string(), |n| n.to_string())
                    ));
                }
                Ok(())
            }
            // Not found, not executable...: let the shell run it and report it.
            (Err(_), Launch::Direct) => {
                self.send(st, slot, starting, true, When::Now);
                Ok(())
            }
            (Err(errno), Launch::Shell) if errno == libc::E2BIG || errno == libc::ENAMETOOLONG => {
                self.refuse(st, slot, *starting, errno);
                Ok(())
            }
            (Err(errno), Launch::Shell) => {
                st.summary.not_run += 1;
                let e = std::io::Error::from_raw_os_error(errno);
                st.stop_with(anyhow!(e).context(format!(
                    "cannot start {}: {}",
                    starting.task.name(),
                    crate::text::printable_max(&starting.task.cmd, 200)
                )));
                Ok(())
            }
        }
    }

    /// The task is running as `pid` since `at`: log its start.
    fn started(
        &mut self,
        st: &mut RunState,
        slot: usize,
        starting: Starting,
        pid: i32,
        at: Stamp,
    ) -> Result<()> {
        let start = on_our_clock(at, starting.sent);
        // `--timeout N%` follows the median of the tasks that ended before this one started.
        let limit = self.policy.timeout.and_then(|t| t.limit(&st.median));
        let mut r = Starting { limit, ..starting }.started(slot, pid, at, start);
        // `--delay` spaces the real starts.
        st.last_start = st.last_start.max(Some(start));
        self.log.append(&r.start_record(&self.plan.slots[slot])).context("cannot log a task's start")?;
        if let Some(freed) = st.freed_at[slot].take() {
            st.summary.dispatch.add(start.saturating_duration_since(freed));
        }
        self.progress.started();
        if let Some(sig) = st.teardown {
            // The run is being torn down: this task, started meanwhile, is cut short too.
            r.cancel(sig, Instant::now(), &self.policy.term_seq);
        }
        st.by_pid.insert(pid, slot);
        st.summary.attempts += 1;
        st.slots[slot] = SlotState::Running(Box::new(r));
        Ok(())
    }

    /// The kernel refused the task's command (`errno`): the task fails alone, the run goes on.
    fn refuse(&mut self, st: &mut RunState, slot: usize, starting: Starting, errno: i32) {
        let why = refusal(errno, &starting.task);
        self.refuse_because(st, slot, starting, why)
    }

    /// The task cannot start (`why`): it fails alone, the run goes on.
    fn refuse_because(&mut self, st: &mut RunState, slot: usize, starting: Starting, why: String) {
        eprintln!("hrun: {} failed: {why}", starting.task.name());
        self.progress.started();
        st.summary.attempts += 1;
        let run = starting.refused(slot, why);
        let reaped = Reaped { pid: 0, ended: Ended::Exited(127), rusage: Default::default() };
        if let Err(e) = self.finish(st, slot, run, reaped, Instant::now(), Vec::new()) {
            st.stop_with(e);
        }
    }
}

/// How long the kernel may refuse every start, with no task running, before the run stops.
const REFUSED_FOR: Duration = Duration::from_secs(10);

/// The most tasks at once in the first wave, when a per-user process limit (`ulimit -u`)
/// leaves fewer processes than slots (GNU parallel probes this before it starts): half of
/// what is left once two are kept for hrun's own threads (a task's program often starts one
/// of its own: a shell, a pipe), at least one (the kernel's refusals then decide).
/// Without a limit, or for root (whom it does not bind), none.
pub(super) fn process_room(slots: usize) -> Option<usize> {
    let (limit, used) = (crate::sys::process_limit(), crate::sys::processes_of_this_user());
    let n = first_wave(slots, limit, used)?;
    eprintln!(
        "hrun: warning: only enough processes to run {n} task(s) at once (ulimit -u {}, {} in use by \
         this user): running at most {n}",
        limit.unwrap_or_default(),
        used.unwrap_or_default()
    );
    Some(n)
}

fn first_wave(slots: usize, limit: Option<u64>, used: Option<u64>) -> Option<usize> {
    let room = limit?.saturating_sub(used?).saturating_sub(2) / 2;
    (room < slots as u64).then(|| room.max(1) as usize)
}

/// How long to wait before trying to start a task again after the kernel refused one for
/// now (EAGAIN, ENOMEM): 10 ms, doubling after each refusal in a row, at most 1 s.
fn backoff(previous: Option<Duration>) -> Duration {
    previous.map_or(Duration::from_millis(10), |d| (d * 2).min(Duration::from_secs(1)))
}

/// A launcher's stamp on hrun's clock: now, less the stamp's age by the wall clock, never
/// before `floor` (when the request was sent) nor after now.
pub(super) fn on_our_clock(at: Stamp, floor: Instant) -> Instant {
    let now = Instant::now();
    let age = (unix_seconds(SystemTime::now()) - at.unix_secs()).max(0.0);
    now.checked_sub(Duration::from_secs_f64(age)).map_or(floor, |t| t.max(floor)).min(now)
}

/// Why the kernel refused to start a task, with its command cut short.
fn refusal(errno: i32, task: &Task) -> String {
    let why = if errno == libc::E2BIG {
        format!(
            "its command ({} bytes) is too long for the kernel (execve: at most 128 KiB in one argument); \
             pass big values in a file",
            task.cmd.len()
        )
    } else {
        format!("the kernel refused to start it: {}", std::io::Error::from_raw_os_error(errno))
    };
    format!("{why}: {}", crate::text::printable_max(&task.cmd, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_start_is_tried_again_ever_later_up_to_a_second() {
        let mut waits = vec![backoff(None)];
        for _ in 0..10 {
            waits.push(backoff(waits.last().copied()));
        }
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]);
    }

    #[test]
    fn a_process_limit_caps_the_first_wave_to_what_is_left() {
        // No limit, or a user it does not bind (root): as many as there are slots.
        assert_eq!(first_wave(8, None, Some(10)), None);
        assert_eq!(first_wave(8, Some(100), None), None);
        // Room for all: no cap.
        assert_eq!(first_wave(8, Some(100), Some(10)), None);
        assert_eq!(first_wave(8, Some(28), Some(10)), None);
        // 6 left, two kept for hrun's own threads, two processes a task.
        assert_eq!(first_wave(8, Some(16), Some(10)), Some(2));
        assert_eq!(first_wave(8, Some(27), Some(10)), Some(7));
        // None left (or more in use than the limit): one, and the kernel's refusals decide.
        assert_eq!(first_wave(8, Some(12), Some(10)), Some(1));
        assert_eq!(first_wave(8, Some(5), Some(10)), Some(1));
    }

    #[test]
    fn a_launchers_stamp_lands_between_the_request_and_now() {
        let sent = Instant::now();
        let now = crate::sys::stamp_now();
        let t = on_our_clock(now, sent);
        assert!(t >= sent && t <= Instant::now());
        // A stamp from before the request (a clock set back) is taken as the request's time.
        let early = Stamp { unix_ns: now.unix_ns - 3_600_000_000_000, ..now };
        assert_eq!(on_our_clock(early, sent), sent);
        // One from the future (a clock set forward) is taken as now.
        let late = Stamp { unix_ns: now.unix_ns + 3_600_000_000_000, ..now };
        assert!(on_our_clock(late, sent) >= sent);
    }
}
