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
use super::{Dispatcher, Pending, RunState};
use crate::sys::{Ended, Reaped, Stamp, When};

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
        if let Some((login, host)) = self.fleet.gnu_login(slot) {
            set_var(&mut program.env, "PARALLEL_SSHLOGIN", login);
            set_var(&mut program.env, "PARALLEL_SSHHOST", host);
        }
        if let Some(w) = self.workdir {
            let dir = w.for_task(&starting.task, s.id.0);
            if let Err(e) = w.prepare(&dir) {
                return self.refuse_because(st, slot, *starting, format!("{e:#}"));
            }
            program.dir = Some(super::super::spawn::path_cstring(&dir));
            // As GNU's `cd DIR && ...`: the shell's $PWD is DIR as named (not its real path:
            // `pwd` in /bin says /bin), $OLDPWD the directory hrun started in.
            if let Some(here) = logical_cwd() {
                let pwd = match dir.as_os_str() == "." {
                    true => std::path::PathBuf::from(&here),
                    false => std::path::Path::new(&here).join(&dir),
                };
                if let Some(d) = pwd.to_str() {
                    set_var(&mut program.env, "PWD", d);
                }
                set_var(&mut program.env, "OLDPWD", &here);
            }
        }
        let (out, err) = starting.captured.files();
        let launcher = self.fleet.of(slot);
        let sent = match launcher.start_task(slot as u64, when, &program, out, err, &s.cpus) {
            // A node's launcher just lost: taken as sent, its loss (read from its closed socket
            // next) runs the task again on another node.
            Err(e)
                if launcher.is_remote()
                    && matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) =>
            {
                Ok(())
            }
            sent => sent,
        };
        if let Some((starting, why)) = st.sent(slot, starting, when, sent) {
            self.refuse_because(st, slot, starting, why);
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
        if slot < st.slots.len() {
            // A request sent ahead that came after its slot's task ended may start then.
            st.started_late(slot);
        }
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
                st.start_refused(*starting, errno, Instant::now(), crate::sys::process_limit());
                Ok(())
            }
            // Not found, not executable...: let the shell run it and report it.
            (Err(_), Launch::Direct) => {
                self.send(st, slot, starting, true, When::Now);
                Ok(())
            }
            (Err(errno), Launch::Shell) if errno == libc::E2BIG || errno == libc::ENAMETOOLONG => {
                let why = super::state::refusal(errno, &starting.task);
                self.refuse_because(st, slot, *starting, why);
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
        let r = Starting { limit, ..starting }.started(slot, pid, at, start);
        // `--delay` spaces the real starts.
        st.last_start = st.last_start.max(Some(start));
        self.log.append(&r.start_record(&self.plan.slots[slot])).context("cannot log a task's start")?;
        if let Some(freed) = st.freed_at[slot].take() {
            st.summary.dispatch.add(start.saturating_duration_since(freed));
        }
        self.progress.started();
        st.now_running(slot, r, &self.policy.term_seq);
        Ok(())
    }

    /// The task cannot start (`why`): it fails alone, the run goes on.
    fn refuse_because(&mut self, st: &mut RunState, slot: usize, starting: Starting, why: String) {
        st.fx.say(format!("{} failed: {why}", starting.task.name()));
        self.progress.started();
        st.summary.attempts += 1;
        let run = starting.refused(slot, why);
        let reaped = Reaped { pid: 0, ended: Ended::Exited(127), rusage: Default::default() };
        if let Err(e) = self.finish(st, slot, run, reaped, Instant::now(), Vec::new()) {
            st.stop_with(e);
        }
    }
}

/// The most tasks at once in the first wave, when a per-user process limit (`ulimit -u`)
/// leaves fewer processes than slots (GNU parallel probes this before it starts): half of
/// what is left once two are kept for hrun's own threads (a task's program often starts one
/// of its own: a shell, a pipe), at least one (the kernel's refusals then decide).
/// Without a limit, or for root (whom it does not bind), none.
pub(super) fn process_room(slots: usize) -> Option<usize> {
    let (limit, used) = (crate::sys::process_limit(), crate::sys::processes_of_this_user());
    let n = first_wave(slots, limit, used)?;
    crate::messages::warning(format_args!(
        "only enough processes to run {} at once (ulimit -u {}, {} in use by \
         this user): running at most {n}",
        crate::text::count(n as u64, "task"),
        limit.unwrap_or_default(),
        used.unwrap_or_default()
    ));
    Some(n)
}

fn first_wave(slots: usize, limit: Option<u64>, used: Option<u64>) -> Option<usize> {
    let room = limit?.saturating_sub(used?).saturating_sub(2) / 2;
    (room < slots as u64).then(|| room.max(1) as usize)
}

/// A launcher's stamp on hrun's clock: now, less the stamp's age by the wall clock, never
/// before `floor` (when the request was sent) nor after now.
pub(super) fn on_our_clock(at: Stamp, floor: Instant) -> Instant {
    let now = Instant::now();
    let age = (unix_seconds(SystemTime::now()) - at.unix_secs()).max(0.0);
    now.checked_sub(Duration::from_secs_f64(age)).map_or(floor, |t| t.max(floor)).min(now)
}

/// hrun's working directory as the shell that started it names it (`$PWD` when it is that
/// directory, else the real path).
fn logical_cwd() -> Option<String> {
    // Read once: hrun never changes its directory.
    static CWD: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    CWD.get_or_init(read_logical_cwd).clone()
}

fn read_logical_cwd() -> Option<String> {
    let real = std::env::current_dir().ok()?;
    match std::env::var("PWD") {
        Ok(pwd)
            if std::fs::canonicalize(&pwd).ok().as_deref()
                == std::fs::canonicalize(&real).ok().as_deref() =>
        {
            Some(pwd)
        }
        _ => real.to_str().map(String::from),
    }
}

/// Sets `key` to `value` in a task's own variables (replacing its value there).
fn set_var(env: &mut Vec<std::ffi::CString>, key: &str, value: &str) {
    let prefix = format!("{key}=");
    env.retain(|v| !v.as_bytes().starts_with(prefix.as_bytes()));
    // A value with a NUL byte cannot be in an environment: the variable is left out.
    if let Ok(v) = std::ffi::CString::new(format!("{prefix}{value}")) {
        env.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
