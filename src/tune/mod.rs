//! `hrun tune`: the decomposition sweep. For each thread count T (every T that divides the
//! usable CPUs, or `--threads-list`), run one full wave (one task per slot), `--repeat` times,
//! and compare: wall time (median and spread), throughput, efficiency against the best. Weak
//! scaling by default (the work per thread is constant, as the course's `-n`); `--strong`
//! keeps the total work fixed. Without `-n`, the worker's samples are calibrated so that a
//! task runs long enough to measure.

mod calibrate;
mod table;
mod wave;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::exit::UsageError;
use crate::generate::{self, shell_quote};
use crate::placement::{self, Placement};
pub use calibrate::TARGET_TASK_S;
pub use table::render;
pub use wave::{Ended, Failure, Wave};

pub struct TuneConfig {
    /// `-n`: samples per thread (weak) or per CPU of the node (strong); for a command, what
    /// `{samples}` stands for. `None`: calibrated for the worker.
    pub samples: Option<u64>,
    pub threads_list: Option<Vec<usize>>,
    pub strong: bool,
    /// Waves per thread count.
    pub repeat: u32,
    /// A wave shorter than this runs again with several tasks per slot (0: never).
    pub min_wave_s: f64,
    /// A user command with `{threads}` (and `{samples}`); the bundled worker when `None`.
    pub command: Option<String>,
    pub worker: Option<PathBuf>,
    pub placement: Placement,
    /// The hrun binary that runs each wave (`hrun exec`, a child process per wave).
    pub hrun: PathBuf,
}

/// What each wave's tasks run.
#[derive(Clone, Debug, PartialEq)]
enum Work {
    /// The bundled worker (its path, for task lines).
    Worker(String),
    /// A user command; `samples` when it holds `{samples}`, `threads` when `{threads}`.
    Command { text: String, samples: bool, threads: bool },
}

impl Work {
    /// Throughput's unit: samples when the work is counted in samples, else tasks.
    fn unit(&self) -> &'static str {
        match self {
            Work::Command { samples: false, .. } => "tasks/s",
            _ => "samples/s",
        }
    }

    /// The work one task with `t` threads and `per_thread` samples per thread does: its
    /// samples (`{samples}` per thread times `t`, or `t x S` handed to a command that is told
    /// no thread count), or one task when the work is not counted in samples.
    fn per_task(&self, t: usize, per_thread: u64) -> f64 {
        match self {
            Work::Command { samples: false, .. } => 1.0,
            _ => t as f64 * per_thread as f64,
        }
    }

    /// What the throughput assumes, said before the sweep (the worker's needs no word).
    fn assumption(&self) -> Option<&'static str> {
        match self {
            Work::Worker(_) => None,
            Work::Command { samples: true, threads: true, .. } => Some(
                "hrun: tune: throughput counts T x {samples} samples a task (the command is told \
                 {samples} per thread and {threads} threads)",
            ),
            Work::Command { samples: true, threads: false, .. } => Some(
                "hrun: tune: the command is told no thread count ({threads}): {samples} is a task's \
                 work, T x S (S per CPU of its slot; it has T CPUs and OMP_NUM_THREADS=T)",
            ),
            Work::Command { samples: false, .. } => Some(
                "hrun: tune: the command has no {samples}: throughput is in tasks/s, a task's work \
                 taken as the same whatever T; if it grows with {threads}, write {samples} where \
                 your program takes its work per thread and give -n",
            ),
        }
    }

    /// Task `i`'s line with `t` threads and `per_thread` samples per thread.
    fn line(&self, t: usize, per_thread: u64, i: usize, results: &std::path::Path) -> String {
        match self {
            Work::Command { text, threads, .. } => {
                let samples = if *threads { per_thread } else { per_thread.saturating_mul(t as u64) };
                text.replace("{threads}", &t.to_string()).replace("{samples}", &samples.to_string())
            }
            Work::Worker(w) => format!(
                "{} -t {t} -n {per_thread} --seed {i} -o {}",
                shell_quote(w),
                shell_quote(&results.join(format!("r{t}_{i}.toml")).to_string_lossy())
            ),
        }
    }
}

/// One row of the sweep: one entry of the thread list, over its repeats.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub threads: usize,
    pub slots: usize,
    /// Wall time of each wave that ran without failures.
    pub walls: Vec<f64>,
    /// Samples (or tasks) one wave does.
    pub work: f64,
    /// Tasks per slot in a wave: more than one when one task per slot was too short to measure.
    pub per_slot: usize,
    /// CPU seconds (user + system) and wall seconds of its tasks, over all waves.
    pub cpu_s: f64,
    pub task_wall_s: f64,
    /// Tasks that failed, over all repeats; such a row has no figure against the best.
    pub failed: u64,
    /// Tasks that ended, over all repeats.
    pub tasks: u64,
}

impl Row {
    /// The median wall time of the good waves (0 when there is none).
    pub fn wall_s(&self) -> f64 {
        let mut w = self.walls.clone();
        w.sort_by(f64::total_cmp);
        match w.len() {
            0 => 0.0,
            n if n % 2 == 1 => w[n / 2],
            n => (w[n / 2 - 1] + w[n / 2]) / 2.0,
        }
    }

    /// Work per second at the median wall time.
    pub fn throughput(&self) -> f64 {
        self.work / self.wall_s().max(1e-9)
    }

    fn ok(&self) -> bool {
        self.failed == 0 && !self.walls.is_empty()
    }

    /// CPUs a task kept busy on average: its CPU time over its wall time (`/usr/bin/time`'s
    /// Percent of CPU, divided by 100).
    pub fn cpus(&self) -> f64 {
        if self.task_wall_s > 0.0 { self.cpu_s / self.task_wall_s } else { 0.0 }
    }
}

/// What the sweep found, and whether it ran to its end.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rows: Vec<Row>,
    /// `samples/s` or `tasks/s`.
    pub unit: &'static str,
    pub repeat: u32,
    /// Why the sweep stopped before its last wave, with the exit status that says so.
    pub stopped: Option<(i32, String)>,
    /// The 1-minute load average before the first wave, and the CPUs the sweep uses: other
    /// work on the node makes every figure suspect.
    pub load_before: Option<(f64, usize)>,
}

impl Outcome {
    /// 128 + N when signal N stopped the sweep (102 when a wave was stopped early by the
    /// deadline); 1 when a wave had failed tasks; else 0.
    pub fn exit_code(&self) -> i32 {
        match &self.stopped {
            Some((code, _)) => *code,
            None if self.rows.iter().any(|r| r.failed > 0) => 1,
            None => crate::exit::OK,
        }
    }
}

/// The thread counts to try: every divisor of `n` (all CPUs used, none left over).
pub fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|t| n.is_multiple_of(*t)).collect()
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(anyhow!(msg)).into()
}

/// What the waves run, refusing flags the command cannot use.
fn work(cfg: &TuneConfig) -> Result<Work> {
    let Some(text) = &cfg.command else {
        let worker = match &cfg.worker {
            Some(w) => w.clone(),
            None => generate::default_worker().map_err(UsageError)?,
        };
        return Ok(Work::Worker(generate::task_path("--worker", &worker)?));
    };
    let shown = || crate::text::printable(&format!("{text:?}")).into_owned();
    if text.chars().any(char::is_control) {
        return Err(usage(format!(
            "command {}: a task line cannot hold a newline or other control character",
            shown()
        )));
    }
    let samples = text.contains("{samples}");
    let threads = text.contains("{threads}");
    match (samples, cfg.samples, cfg.strong) {
        (false, Some(s), _) => Err(usage(format!(
            "-n {s}: the command {} has no {{samples}} to put it in; write {{samples}} where your \
             program takes its amount of work, or leave -n out",
            shown()
        ))),
        (false, None, true) => Err(usage(format!(
            "--strong: the command {} has no {{samples}}, so tune cannot divide a fixed total among \
             the tasks; write {{samples}} where your program takes its work per thread",
            shown()
        ))),
        (true, None, _) => Err(usage(format!(
            "the command {} uses {{samples}}: give -n S, the samples per thread (per CPU of the node \
             with --strong)",
            shown()
        ))),
        _ => Ok(Work::Command { text: text.clone(), samples, threads }),
    }
}

/// Runs the sweep: the rows in the order of the thread list, and why it stopped early, if it
/// did. Failed tasks are named on stderr as each wave ends.
pub fn sweep(cfg: &TuneConfig) -> Result<Outcome> {
    // The CPUs slots may use (after --cpus and --smt): one slot per CPU at T = 1.
    let n = placement::plan(&cfg.placement, 1, None)?.plan.slots.len();
    let list = cfg.threads_list.clone().unwrap_or_else(|| divisors(n));
    if list.is_empty() || list.contains(&0) {
        return Err(usage("--threads-list needs thread counts of at least 1".into()));
    }
    if cfg.samples == Some(0) {
        return Err(usage("-n/--samples must be at least 1 (got 0)".into()));
    }
    if cfg.repeat == 0 {
        return Err(usage("--repeat must be at least 1 (got 0)".into()));
    }
    let work = work(cfg)?;
    let mut rows = Vec::new();
    for &t in &list {
        let slots = placement::plan(&cfg.placement, t, None)?.plan.slots.len();
        rows.push(Row { threads: t, slots, per_slot: 1, ..Row::default() });
    }
    let samples = match (&work, cfg.samples) {
        (_, Some(s)) => s,
        (Work::Worker(w), None) => {
            // A worker that cannot be timed is the user's to fix (or to size with -n).
            let c = calibrate::worker(w).map_err(UsageError)?;
            eprintln!(
                "hrun: tune: -n {} samples per thread: about {TARGET_TASK_S} s per task at the {} \
                 samples/s one thread of the worker ran here (give -n to choose)",
                c.samples,
                crate::reduce::sweep::plain(c.rate)
            );
            c.samples
        }
        (Work::Command { .. }, None) => 0,
    };
    if let Some(said) = work.assumption() {
        eprintln!("{said}");
    }
    let load_before =
        crate::sys::meminfo::loadavg().ok().and_then(|t| crate::exec::gate::load1(&t)).map(|l| (l, n));
    if let Some(note) = load_before.and_then(|(l, n)| table::busy(l, n)) {
        eprint!("hrun: tune: {note}");
    }
    let dir = tempfile::tempdir().context("cannot create a scratch directory for the sweep")?;
    let mut runner = wave::Runner::new(&cfg.hrun, dir.path(), &cfg.placement)?;
    let mut out = Outcome { unit: work.unit(), repeat: cfg.repeat, load_before, ..Outcome::default() };
    // Repeats go round the list, so that a drift of the machine (another job, the clock)
    // spreads over every T instead of weighing on one.
    'sweep: for _ in 0..cfg.repeat {
        for row in rows.iter_mut() {
            let (t, slots) = (row.threads, row.slots);
            // Strong scaling: the node's total (samples x CPUs) split over slots x T threads.
            let per_thread =
                if cfg.strong { (samples * n as u64 / (slots * t) as u64).max(1) } else { samples };
            let mut wave = match run_wave(&mut runner, &work, row, per_thread, dir.path())? {
                Ok(w) => w,
                Err(stopped) => {
                    out.stopped = Some(stopped);
                    break 'sweep;
                }
            };
            // Too short to measure: this T runs again, with more tasks per slot, for good.
            if row.walls.is_empty() && row.per_slot == 1 && wave.failed == 0 && wave.wall_s < cfg.min_wave_s {
                row.per_slot = lengthened(wave.wall_s, cfg.min_wave_s);
                eprintln!(
                    "hrun: tune: T = {t}: a wave of {:.3} s is too short to measure; each wave of T = {t} \
                     runs {} tasks per slot",
                    wave.wall_s, row.per_slot
                );
                wave = match run_wave(&mut runner, &work, row, per_thread, dir.path())? {
                    Ok(w) => w,
                    Err(stopped) => {
                        out.stopped = Some(stopped);
                        break 'sweep;
                    }
                };
            }
            report_failures(t, &wave);
            row.work = (slots * row.per_slot) as f64 * work.per_task(t, per_thread);
            row.tasks += wave.tasks;
            row.failed += wave.failed;
            row.cpu_s += wave.cpu_s;
            row.task_wall_s += wave.task_wall_s;
            if wave.failed == 0 {
                row.walls.push(wave.wall_s);
            }
        }
    }
    out.rows = rows.into_iter().filter(|r| r.tasks > 0).collect();
    Ok(out)
}

/// One wave of `row`: `per_slot` tasks for each of its slots; or why the sweep stops.
fn run_wave(
    runner: &mut wave::Runner,
    work: &Work,
    row: &Row,
    per_thread: u64,
    dir: &std::path::Path,
) -> Result<Result<Wave, (i32, String)>> {
    let t = row.threads;
    let lines: Vec<String> =
        (1..=row.slots * row.per_slot).map(|i| work.line(t, per_thread, i, dir)).collect();
    Ok(match runner.run(t, &lines)? {
        Ended::Ran(w) => Ok(w),
        Ended::Stopped(code, why) => Err((code, why)),
    })
}

/// Tasks per slot that make a wave of `wall_s` last at least `min_s`, with half as much again
/// to spare (a wave that lands just on the minimum is as short as a noisy moment): at least 2,
/// at most 100.
fn lengthened(wall_s: f64, min_s: f64) -> usize {
    ((1.5 * min_s / wall_s.max(1e-3)).ceil() as usize).clamp(2, 100)
}

/// Names a wave's failed tasks on stderr: the table only counts them.
fn report_failures(threads: usize, wave: &Wave) {
    if wave.failed == 0 {
        return;
    }
    let mut text = format!(
        "hrun: tune: T = {threads}: {} of {} failed:",
        wave.failed,
        crate::text::count(wave.tasks, "task")
    );
    for f in &wave.failures {
        text += &format!("\n  task {}: {}: {}", f.seq, f.status, crate::text::printable(&f.cmd));
        if let Some(said) = &f.said {
            text += &format!("\n    its stderr ends: {said}");
        }
    }
    if wave.failed > wave.failures.len() as u64 {
        text += &format!("\n  and {} more", wave.failed - wave.failures.len() as u64);
    }
    eprintln!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisors_of_node_sizes() {
        assert_eq!(divisors(1), [1]);
        assert_eq!(divisors(12), [1, 2, 3, 4, 6, 12]);
        assert_eq!(divisors(144).len(), 15);
    }

    fn cfg(command: Option<&str>, samples: Option<u64>, strong: bool) -> TuneConfig {
        TuneConfig {
            samples,
            threads_list: None,
            strong,
            repeat: 1,
            min_wave_s: 1.0,
            command: command.map(String::from),
            worker: None,
            placement: Placement::default(),
            hrun: "hrun".into(),
        }
    }

    #[test]
    fn flags_a_command_cannot_use_are_refused() {
        let msg = |c: &TuneConfig| work(c).unwrap_err().to_string();
        assert!(
            msg(&cfg(Some("./sim"), Some(5), false))
                .starts_with("-n 5: the command \"./sim\" has no {samples}")
        );
        assert!(
            msg(&cfg(Some("./sim"), None, true))
                .starts_with("--strong: the command \"./sim\" has no {samples}")
        );
        assert!(msg(&cfg(Some("./sim -n {samples}"), None, false)).contains("uses {samples}: give -n S"));
        let w = work(&cfg(Some("./sim -t {threads} -n {samples}"), Some(7), true)).unwrap();
        assert_eq!(w.unit(), "samples/s");
        assert_eq!(w.line(4, 7, 1, std::path::Path::new("/r")), "./sim -t 4 -n 7");
        assert_eq!(work(&cfg(Some("./sim"), None, false)).unwrap().unit(), "tasks/s");
    }

    /// `python3 pi.py -n {samples}` (no `{threads}`) got S whatever T and was credited T x S:
    /// a single-threaded program looked best at T = 2. It gets T x S, and is credited that.
    #[test]
    fn a_command_told_no_thread_count_gets_and_is_credited_t_times_s() {
        let dir = std::path::Path::new("/r");
        let w = work(&cfg(Some("python3 pi.py -n {samples}"), Some(1000), false)).unwrap();
        assert_eq!(w.line(4, 1000, 1, dir), "python3 pi.py -n 4000");
        assert_eq!(w.per_task(4, 1000), 4000.0);
        let w = work(&cfg(Some("./sim -t {threads} -n {samples}"), Some(1000), false)).unwrap();
        assert_eq!(w.line(4, 1000, 1, dir), "./sim -t 4 -n 1000");
        assert_eq!(w.per_task(4, 1000), 4000.0);
        // No {samples}: a task is the unit, and tune says what that assumes.
        let w = work(&cfg(Some("./sim -t {threads}"), None, false)).unwrap();
        assert_eq!(w.per_task(4, 0), 1.0);
        assert!(w.assumption().unwrap().contains("a task's work taken as the same whatever T"));
    }

    #[test]
    fn a_short_wave_is_lengthened_to_the_minimum() {
        assert_eq!(lengthened(0.27, 1.0), 6);
        assert_eq!(lengthened(0.5, 1.0), 3, "1.5 s, not just the 1 s minimum");
        assert_eq!(lengthened(0.9, 1.0), 2);
        assert_eq!(lengthened(0.0, 1.0), 100);
        assert_eq!(lengthened(0.001, 1.0), 100);
    }
}
