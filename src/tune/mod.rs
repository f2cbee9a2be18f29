//! `hrun tune`: the decomposition sweep. For each thread count T (every T that divides the
//! usable CPUs, or `--threads-list`), run one full wave (one task per slot), `--repeat` times,
//! and compare: wall time (median and spread), throughput, efficiency against the best. Weak
//! scaling by default (the work per thread is constant, as the course's `-n`); `--strong`
//! keeps the total work fixed. Without `-n`, the worker's samples are calibrated so that a
//! task runs long enough to measure.

mod calibrate;
mod wave;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::exit::UsageError;
use crate::generate::{self, shell_quote};
use crate::placement::{self, Placement};
pub use calibrate::TARGET_TASK_S;
pub use wave::{Ended, Failure, Wave};

pub struct TuneConfig {
    /// `-n`: samples per thread (weak) or per CPU of the node (strong); for a command, what
    /// `{samples}` stands for. `None`: calibrated for the worker.
    pub samples: Option<u64>,
    pub threads_list: Option<Vec<usize>>,
    pub strong: bool,
    /// Waves per thread count.
    pub repeat: u32,
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
    /// A user command; `samples` when it holds `{samples}`.
    Command { text: String, samples: bool },
}

impl Work {
    /// Throughput's unit: samples when the work is counted in samples, else tasks.
    fn unit(&self) -> &'static str {
        match self {
            Work::Command { samples: false, .. } => "tasks/s",
            _ => "samples/s",
        }
    }

    /// Task `i`'s line with `t` threads and `per_thread` samples per thread.
    fn line(&self, t: usize, per_thread: u64, i: usize, results: &std::path::Path) -> String {
        match self {
            Work::Command { text, .. } => {
                text.replace("{threads}", &t.to_string()).replace("{samples}", &per_thread.to_string())
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
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub threads: usize,
    pub slots: usize,
    /// Wall time of each wave that ran without failures.
    pub walls: Vec<f64>,
    /// Samples (or tasks) one wave does.
    pub work: f64,
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
        _ => Ok(Work::Command { text: text.clone(), samples }),
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
        rows.push(Row { threads: t, slots, walls: Vec::new(), work: 0.0, failed: 0, tasks: 0 });
    }
    let samples = match (&work, cfg.samples) {
        (_, Some(s)) => s,
        (Work::Worker(w), None) => {
            // A worker that cannot be timed is the user's to fix (or to size with -n).
            let c = calibrate::worker(w).map_err(UsageError)?;
            eprintln!(
                "hrun: tune: -n {} samples per thread: about {TARGET_TASK_S} s per task at the {:.2e} \
                 samples/s one thread of the worker ran here (give -n to choose)",
                c.samples, c.rate
            );
            c.samples
        }
        (Work::Command { .. }, None) => 0,
    };
    let dir = tempfile::tempdir().context("cannot create a scratch directory for the sweep")?;
    let mut runner = wave::Runner::new(&cfg.hrun, dir.path(), &cfg.placement)?;
    let mut out = Outcome { unit: work.unit(), repeat: cfg.repeat, ..Outcome::default() };
    // Repeats go round the list, so that a drift of the machine (another job, the clock)
    // spreads over every T instead of weighing on one.
    'sweep: for _ in 0..cfg.repeat {
        for row in rows.iter_mut() {
            let (t, slots) = (row.threads, row.slots);
            // Strong scaling: the node's total (samples x CPUs) split over slots x T threads.
            let per_thread =
                if cfg.strong { (samples * n as u64 / (slots * t) as u64).max(1) } else { samples };
            let lines: Vec<String> = (1..=slots).map(|i| work.line(t, per_thread, i, dir.path())).collect();
            let wave = match runner.run(t, &lines)? {
                Ended::Ran(w) => w,
                Ended::Stopped(code, why) => {
                    out.stopped = Some((code, why));
                    break 'sweep;
                }
            };
            report_failures(t, &wave);
            row.work = match work {
                Work::Command { samples: false, .. } => slots as f64,
                _ => (slots * t) as f64 * per_thread as f64,
            };
            row.tasks += wave.tasks;
            row.failed += wave.failed;
            if wave.failed == 0 {
                row.walls.push(wave.wall_s);
            }
        }
    }
    out.rows = rows.into_iter().filter(|r| r.tasks > 0).collect();
    Ok(out)
}

/// Names a wave's failed tasks on stderr: the table only counts them.
fn report_failures(threads: usize, wave: &Wave) {
    if wave.failed == 0 {
        return;
    }
    let mut text = format!("hrun: tune: T = {threads}: {} of {} task(s) failed:", wave.failed, wave.tasks);
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

/// The table and the recommendation. A row with failed tasks shows no throughput and no
/// figure against the best: its wall time measured something else than the work. With
/// repeats, the wall time is the median and the spread its minimum and maximum.
pub fn render(out: &Outcome) -> String {
    let rows = &out.rows;
    let best = rows.iter().filter(|r| r.ok()).map(Row::throughput).fold(0.0, f64::max);
    let repeats = out.repeat > 1;
    let mut text =
        format!("{:>7} {:>6} {:>9}", "threads", "slots", if repeats { "median s" } else { "wall s" });
    if repeats {
        text += &format!(" {:>15}", "min-max s");
    }
    text += &format!(" {:>14} {:>10}\n", out.unit, "vs best");
    for r in rows {
        text += &format!("{:>7} {:>6} {:>9.3}", r.threads, r.slots, r.wall_s());
        if repeats {
            let lo = r.walls.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = r.walls.iter().copied().fold(0.0, f64::max);
            let spread = if r.walls.is_empty() { "-".to_string() } else { format!("{lo:.3}-{hi:.3}") };
            text += &format!(" {spread:>15}");
        }
        text += &if r.ok() {
            format!(
                " {:>14} {:>9.1}%\n",
                crate::reduce::sweep::plain(r.throughput()),
                100.0 * r.throughput() / best
            )
        } else {
            format!(" {:>14} {:>10}  ({} of {} task(s) failed)\n", "-", "failed", r.failed, r.tasks)
        };
    }
    match rows.iter().filter(|r| r.ok()).max_by(|a, b| a.throughput().total_cmp(&b.throughput())) {
        Some(r) => {
            text += &format!(
                "recommended: --threads {} ({})\n",
                r.threads,
                crate::text::count(r.slots as u64, "slot")
            )
        }
        None if rows.is_empty() => text += "no wave ran to its end\n",
        None => text += "no thread count ran without failures\n",
    }
    text
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

    fn row(threads: usize, walls: &[f64], failed: u64) -> Row {
        Row {
            threads,
            slots: 8 / threads,
            walls: walls.to_vec(),
            work: 10.0,
            failed,
            tasks: (8 / threads) as u64,
        }
    }

    fn outcome(rows: Vec<Row>, repeat: u32) -> Outcome {
        Outcome { rows, unit: "samples/s", repeat, stopped: None }
    }

    #[test]
    fn recommends_the_fastest_row_without_failures() {
        let out = outcome(vec![row(1, &[2.0], 0), row(2, &[], 1), row(4, &[1.4], 0)], 1);
        let text = render(&out);
        assert!(text.ends_with("recommended: --threads 4 (2 slots)\n"), "{text}");
        assert!(text.contains("70.0%") && text.contains("100.0%"), "{text}");
        // The failed row: no throughput, no percentage.
        let failed = text.lines().find(|l| l.trim_start().starts_with("2 ")).unwrap();
        assert!(failed.contains("failed  (1 of 4 task(s) failed)") && !failed.contains('%'), "{failed}");
        assert_eq!(out.exit_code(), 1);
        assert_eq!(outcome(vec![row(1, &[2.0], 0)], 1).exit_code(), 0);
    }

    #[test]
    fn repeats_show_the_median_and_the_spread() {
        let r = row(1, &[1.2, 1.0, 5.0], 0);
        assert_eq!(r.wall_s(), 1.2);
        assert_eq!(row(1, &[1.0, 2.0], 0).wall_s(), 1.5);
        let text = render(&outcome(vec![r], 3));
        assert!(text.starts_with("threads  slots  median s       min-max s"), "{text}");
        assert!(text.lines().nth(1).unwrap().contains("1.200     1.000-5.000"), "{text}");
    }

    fn cfg(command: Option<&str>, samples: Option<u64>, strong: bool) -> TuneConfig {
        TuneConfig {
            samples,
            threads_list: None,
            strong,
            repeat: 1,
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
}
