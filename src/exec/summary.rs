//! The end-of-run numbers and the block printed on stderr; hrun's exit status.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::exit;
use crate::log::Usage;
use crate::slots::SlotPlan;

/// What a finished run reports. Counts are of tasks (a retried task counts once, by its
/// last attempt), except `attempts`. Serialised (the public fields) into the end record.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Tasks that ended (succeeded or failed), this run.
    pub tasks: u64,
    pub failed: u64,
    pub timed_out: u64,
    /// Tasks that left processes behind, which hrun killed.
    pub leaked: u64,
    /// Those processes.
    pub leaked_processes: u64,
    /// Tasks hrun itself cut short (signal to hrun, `--halt now`); `--resume` reruns them.
    pub cancelled: u64,
    /// Attempts lost with their node, run again on another.
    pub lost: u64,
    /// Nodes lost during the run (their launchers' streams ended).
    pub lost_nodes: Vec<String>,
    /// Tasks never started (stopped early); `--resume` runs them.
    pub not_run: u64,
    /// Stopped early while reading standard input: the rest of it was not read (or counted).
    pub rest_unread: bool,
    /// Tasks `--resume` found already done.
    pub skipped: u64,
    /// A row of the results table could not be written: tasks without `results_end` are not
    /// done, and `--resume` cuts the table back to its last whole row.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub results_torn: bool,
    /// Tasks that succeeded but whose output's `--compress-program` failed: GNU counts them
    /// failed in its exit status.
    #[serde(skip_serializing_if = "is_zero")]
    pub output_failed: u64,
    /// Attempts started, retries included.
    pub attempts: u64,
    pub makespan_s: f64,
    #[serde(skip)]
    pub busy_s: f64,
    /// User + system CPU seconds of all attempts.
    pub cpu_s: f64,
    /// CPUs per task.
    #[serde(skip)]
    pub threads: usize,
    #[serde(skip)]
    pub slots: usize,
    /// A signal that stopped the run.
    #[serde(skip)]
    pub interrupted_by: Option<i32>,
    /// The exit status set by `--halt` when it fired.
    #[serde(skip)]
    pub halted: Option<i32>,
    /// What stopped the run before every task ran, when it was not a failure: SIGUSR1 (drain)
    /// or the deadline. With tasks not run, hrun exits [`exit::INCOMPLETE`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// From a slot becoming free to the next task's `exec` on it.
    #[serde(skip)]
    pub dispatch: Latency,
    /// The first failed tasks, to name them: (name, how it ended, command).
    #[serde(skip)]
    pub failures: Vec<Failure>,
    /// Tasks seen allowed on CPUs outside their slot (they re-pinned themselves).
    #[serde(skip_serializing_if = "is_zero")]
    pub repinned_tasks: u64,
    /// The first of them, to name them.
    #[serde(skip)]
    pub repinned: Vec<Repinned>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A task seen allowed on CPUs outside its slot: it re-pinned itself (`taskset -c`,
/// `numactl`, its own pinning), and shares those CPUs with the tasks of other slots.
#[derive(Debug, Clone)]
pub struct Repinned {
    /// `task 3 (line 3)`, `job 3`.
    pub name: String,
    pub outside: crate::cpuset::CpuSet,
    pub slot: crate::cpuset::CpuSet,
}

/// A failed task, as the summary names it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub seq: u64,
    /// `task 3 (line 3)`, `job 3`.
    pub name: String,
    /// `exit 3`, `SIGKILL`, `timed out`.
    pub how: String,
    pub cmd: String,
}

/// Failed tasks named at the end of a run at most; the rest are counted.
pub const FAILURES_SHOWN: usize = 10;

/// Dispatch latency: how long a free slot waited for its next task to be exec'd, as hrun
/// measures it (from learning the last task ended to its launcher's answer that the next one
/// has exec'd). Mean, max and a 99th percentile from a fixed-size histogram.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    pub count: u64,
    pub total: Duration,
    pub max: Duration,
    /// Counts by bucket: 8 per power of two of microseconds (up to about 2^40 µs).
    buckets: Vec<u64>,
}

/// Buckets per power of two in [`Latency`]'s histogram (each at most 12.5% wide).
const SUB: u64 = 8;

impl Latency {
    pub fn add(&mut self, d: Duration) {
        self.count += 1;
        self.total += d;
        self.max = self.max.max(d);
        if self.buckets.is_empty() {
            self.buckets = vec![0; 40 * SUB as usize];
        }
        let b = bucket(d.as_micros().min(u64::MAX as u128) as u64).min(self.buckets.len() - 1);
        self.buckets[b] += 1;
    }

    pub fn mean(&self) -> Duration {
        if self.count == 0 { Duration::ZERO } else { self.total / self.count as u32 }
    }

    /// The `q` quantile (0..1), as the upper edge of its bucket (at most 12.5% above the true
    /// value), never above the max seen.
    pub fn quantile(&self, q: f64) -> Duration {
        let want = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Duration::from_micros(lowest(b + 1) - 1).min(self.max);
            }
        }
        self.max
    }
}

/// The histogram bucket of `us` microseconds: exact below [`SUB`], then [`SUB`] linear steps
/// per power of two.
fn bucket(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros() as u64;
    let frac = (us >> (exp - 3)) - SUB;
    ((exp - 2) * SUB + frac) as usize
}

/// The smallest value of bucket `b`.
fn lowest(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        return b;
    }
    let (exp, frac) = (b / SUB + 2, b % SUB);
    (SUB + frac) << (exp - 3)
}

/// The last record of a run in the log: the summary's numbers.
#[derive(Debug, Serialize)]
pub struct EndRecord<'a> {
    /// Always `"end"`.
    pub kind: &'static str,
    #[serde(flatten)]
    pub summary: &'a Summary,
    pub utilisation: f64,
    pub cpu_efficiency: f64,
    pub dispatch_mean_us: f64,
    pub dispatch_p99_us: f64,
    pub dispatch_max_us: f64,
    pub exit: i32,
    /// Unix seconds.
    pub end: f64,
}

impl Summary {
    /// The run's sums, for its utilisation and CPU efficiency.
    pub fn usage(&self) -> Usage {
        Usage {
            makespan_s: self.makespan_s,
            slots: self.slots,
            busy_s: self.busy_s,
            offered_s: self.busy_s * self.threads as f64,
            cpu_s: self.cpu_s,
        }
    }

    /// See [`Usage::cpu_efficiency`].
    pub fn cpu_efficiency(&self) -> f64 {
        self.usage().cpu_efficiency()
    }

    /// See [`Usage::utilisation`].
    pub fn utilisation(&self) -> f64 {
        self.usage().utilisation()
    }

    /// 128 + signal when a signal stopped the run; else `--halt`'s status when it fired; else
    /// GNU parallel's: 0 if every task succeeded, the number failed up to 100, 101 above.
    pub fn exit_code(&self) -> i32 {
        match (self.interrupted_by, self.halted) {
            (Some(sig), _) => 128 + sig,
            (None, Some(status)) => status,
            (None, None) if self.stopped_by.is_some() && self.not_run + self.cancelled > 0 => {
                exit::INCOMPLETE
            }
            (None, None) => exit::for_failures(self.failed + self.cancelled + self.output_failed),
        }
    }

    pub fn end_record(&self) -> EndRecord<'_> {
        EndRecord {
            kind: "end",
            summary: self,
            utilisation: self.utilisation(),
            cpu_efficiency: self.cpu_efficiency(),
            dispatch_mean_us: self.dispatch.mean().as_secs_f64() * 1e6,
            dispatch_p99_us: self.dispatch.quantile(0.99).as_secs_f64() * 1e6,
            dispatch_max_us: self.dispatch.max.as_secs_f64() * 1e6,
            exit: self.exit_code(),
            end: super::unix_seconds(std::time::SystemTime::now()),
        }
    }

    pub fn print(
        &self,
        plan: &SlotPlan,
        log: &Path,
        joblog: Option<&Path>,
        output: Option<&Path>,
        taskfile: &str,
        resumable: bool,
    ) {
        // Paths and the task file's name as they may be shown on a terminal.
        let log = crate::text::printable(&log.display().to_string()).into_owned();
        let taskfile = crate::text::printable(taskfile);
        if self.tasks == 0 && self.not_run == 0 && self.cancelled == 0 && self.skipped == 0 {
            eprintln!("hrun: no tasks in {taskfile}: nothing to run");
            return;
        }
        let mut text = format!(
            "hrun: {}: {} ok, {} failed",
            crate::text::count(self.tasks, "task"),
            self.tasks - self.failed,
            self.failed
        );
        for (n, what) in [
            (self.timed_out, "timed out"),
            (self.leaked, &format!("left {} process(es) behind (killed)", self.leaked_processes)),
            (self.cancelled, "cancelled"),
            (self.not_run, "not run"),
            (self.skipped, "already done (skipped)"),
        ] {
            if n > 0 {
                text += &format!(", {n} {what}");
            }
        }
        if self.rest_unread {
            text += ", the rest of standard input not read";
        }
        if self.attempts > self.tasks + self.cancelled {
            text += &format!(" ({} attempts)", self.attempts);
        }
        if !self.lost_nodes.is_empty() {
            text += &format!(
                "; lost {} ({}): {} run again on the others",
                if self.lost_nodes.len() == 1 { "node" } else { "nodes" },
                self.lost_nodes.join(", "),
                crate::text::count(self.lost, "task")
            );
        }
        text += &format!(
            "; makespan {:.2} s on {} x {}; slot utilisation {:.1}%, CPU efficiency {:.1}%\nhrun: run log {}",
            self.makespan_s,
            crate::text::count(self.slots as u64, "slot"),
            crate::text::count(plan.threads as u64, "CPU"),
            (100.0 * self.utilisation()).min(100.0),
            100.0 * self.cpu_efficiency(),
            log
        );
        if let Some(j) = joblog {
            text += &format!(", joblog {}", crate::text::printable(&j.display().to_string()));
        }
        if let Some(dir) = output {
            text += &format!(", task output in {}", crate::text::printable(&dir.display().to_string()));
        }
        if self.dispatch.count > 0 {
            text += &format!(
                "\nhrun: dispatch latency (slot free -> next exec) mean {}, p99 {}, max {}",
                human(self.dispatch.mean()),
                human(self.dispatch.quantile(0.99)),
                human(self.dispatch.max)
            );
        }
        if let Some(w) = cpu_warning(self.cpu_s, self.busy_s, plan.threads) {
            text += &format!("\nhrun: warning: {w}");
        }
        let cpus =
            |set: &crate::cpuset::CpuSet| format!("{} {set}", if set.len() == 1 { "CPU" } else { "CPUs" });
        for r in &self.repinned {
            text += &format!(
                "\nhrun: warning: {} may run on {}, outside its slot ({}): it re-pinned itself (taskset, \
                 numactl or its own pinning?) and shares CPUs with other slots' tasks; let hrun pin it",
                r.name,
                cpus(&r.outside),
                cpus(&r.slot)
            );
        }
        if self.repinned_tasks > self.repinned.len() as u64 {
            text += &format!(
                "\nhrun: warning: and {} outside their slots",
                crate::text::count(self.repinned_tasks - self.repinned.len() as u64, "more task")
            );
        }
        for f in &self.failures {
            text += &format!(
                "\nhrun: failed: {}, {}: {}",
                f.name,
                f.how,
                crate::text::printable_max(&f.cmd, 200)
            );
        }
        if self.failed > self.failures.len() as u64 {
            text += &format!(
                "\nhrun: failed: and {} more (hrun status LOG, or the log)",
                self.failed - self.failures.len() as u64
            );
        }
        if self.cancelled + self.not_run > 0 || self.rest_unread {
            if let Some(why) = &self.stopped_by {
                text += &format!("\nhrun: stopped early by {why}");
            }
            text += &if resumable {
                "\nhrun: to run the rest: the same command with --resume".to_string()
            } else {
                format!(
                    "\nhrun: the input was read from a pipe, which cannot be read again: to run the rest, save the \
                     same input to a file and run that with --resume --log {}",
                    log
                )
            };
        }
        eprintln!("{text}");
    }
}

/// Tasks whose CPU use does not fit their slot of `threads` CPUs, from the run's sums (CPU
/// seconds over wall seconds of every attempt: the mean cpu_pct / 100, weighted by wall time).
/// Above 1.2 x threads: the tasks ran on CPUs outside their slots (re-pinned themselves),
/// oversubscribing the node. Slots of 2 or more CPUs and at most 1.1 CPUs used: the program
/// does not use its threads. Runs of under 1 s of task time say nothing (too little to judge).
pub fn cpu_warning(cpu_s: f64, busy_s: f64, threads: usize) -> Option<String> {
    if busy_s < 1.0 || threads == 0 {
        return None;
    }
    let used = cpu_s / busy_s;
    let t = threads as f64;
    let cpus = |n: usize| if n == 1 { "CPU" } else { "CPUs" };
    if used > 1.2 * t {
        return Some(format!(
            "tasks used {used:.1} CPUs each on average (cpu_pct {:.0}%), more than the {threads} {} of their \
             slot: they run on CPUs outside it (a taskset or thread pinning of their own?), oversubscribing the \
             node; let hrun pin them, or give them --threads {}",
            100.0 * used,
            cpus(threads),
            used.round()
        ));
    }
    if threads >= 2 && used <= 1.1 {
        return Some(format!(
            "tasks used {used:.1} CPU each on average (cpu_pct {:.0}%) of the {threads} CPUs of their slot: \
             a single-threaded program? --threads 1 runs {threads} times as many at once",
            100.0 * used
        ));
    }
    None
}

/// `85 µs`, `1.2 ms`, `3.40 s`.
fn human(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1e6 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

#[cfg(test)]
mod latency_tests {
    use super::*;

    #[test]
    fn cpu_use_beyond_or_below_the_slot_is_named() {
        assert!(cpu_warning(2.0, 1.0, 1).unwrap().contains("2.0 CPUs each on average (cpu_pct 200%)"));
        assert!(cpu_warning(1.1, 1.0, 1).is_none());
        assert!(cpu_warning(4.0, 4.0, 2).unwrap().contains("single-threaded"));
        assert!(cpu_warning(8.0, 4.0, 2).is_none());
        assert!(cpu_warning(2.0, 0.5, 1).is_none(), "too little to judge");
    }

    #[test]
    fn buckets_cover_every_value_in_order() {
        for us in [0u64, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 123_456, 1 << 30] {
            let b = bucket(us);
            assert!(lowest(b) <= us && us < lowest(b + 1), "{us} in bucket {b}");
            assert!((lowest(b + 1) - lowest(b)) as f64 <= (us as f64 / 8.0).max(1.0) + 1.0, "{us}");
        }
    }

    #[test]
    fn the_99th_percentile_of_a_known_spread() {
        let mut l = Latency::default();
        for us in 1..=1000u64 {
            l.add(Duration::from_micros(us));
        }
        let p99 = l.quantile(0.99).as_micros() as f64;
        assert!((990.0..=1000.0 * 1.125).contains(&p99), "{p99}");
        assert_eq!(l.quantile(1.0), Duration::from_micros(1000));
        assert_eq!(Latency::default().quantile(0.99), Duration::ZERO);
    }
}
