//! A kernel that will not start a task for now (EAGAIN, ENOMEM: a process limit, memory): the
//! task waits, starts are held back by a backoff, and fewer run at once.

use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::super::super::attempt::{SlotState, Starting};
use super::{Pending, RunState};

impl RunState {
    /// The kernel would not start the task on `slot` for now (EAGAIN, ENOMEM: a process limit,
    /// memory): it waits at the front of the queue, starts are held back (a backoff that
    /// doubles while it refuses), fewer tasks run at once from now on, and a run that cannot
    /// start anything for long stops. `limit`: the process limit, for the message.
    pub(in crate::exec::dispatch) fn start_refused(
        &mut self,
        starting: Starting,
        errno: i32,
        now: Instant,
        limit: Option<u64>,
    ) {
        let limit = limit.map_or_else(|| "?".to_string(), |n| n.to_string());
        let wait = backoff(self.backoff.map(|(_, w)| w));
        if self.backoff.is_none() {
            self.fx.warn(format!(
                "the kernel cannot start task {} now ({}); trying again in {wait:?}, and slower while it refuses",
                starting.task.seq,
                std::io::Error::from_raw_os_error(errno)
            ));
        }
        self.backoff = Some((now + wait, wait));
        // Fewer at once from now on: half of what runs now (its tasks may need processes of
        // their own too), at least one.
        let running = self.slots.iter().filter(|s| !matches!(s, SlotState::Free)).count().div_ceil(2).max(1);
        if self.at_once.is_none_or(|n| running < n) && running < self.slots.len() {
            self.fx.warn(format!(
                "only enough processes to run {} at once (the kernel refused another; \
                 ulimit -u {limit}): running at most {running} from now on",
                crate::text::count(running as u64, "task")
            ));
            self.at_once = Some(running);
        }
        let Starting { task, number, .. } = starting;
        self.retry.push_front(Pending { task, number, announced: true });
        // Refused with nothing running, for long: no task can ever start.
        let since = *self.refused_since.get_or_insert(now);
        if !self.busy() && now.saturating_duration_since(since) >= REFUSED_FOR {
            self.stop_with(anyhow!(
                "the kernel refused to start any task for {}s ({}; ulimit -u {limit}): raise the \
                 limit, or end other processes of this user",
                REFUSED_FOR.as_secs(),
                std::io::Error::from_raw_os_error(errno),
            ));
        }
    }
}

/// How long the kernel may refuse every start, with no task running, before the run stops.
pub(super) const REFUSED_FOR: Duration = Duration::from_secs(10);

/// How long to wait before trying to start a task again after the kernel refused one for
/// now (EAGAIN, ENOMEM): 10 ms, doubling after each refusal in a row, at most 1 s.
pub(super) fn backoff(previous: Option<Duration>) -> Duration {
    previous.map_or(Duration::from_millis(10), |d| (d * 2).min(Duration::from_secs(1)))
}
