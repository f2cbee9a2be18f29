//! `hrun tune`: the decomposition sweep. For each thread count T (every T that divides the
//! usable CPUs, or `--threads-list`), run one full wave (one task per slot) and compare:
//! wall time, throughput, efficiency against the best. Weak scaling by default (the work per
//! thread is constant, as the course's `-n`); `--strong` keeps the total work fixed.

mod wave;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::exit::UsageError;
use crate::generate::{self, shell_quote};
use crate::placement::{self, Placement};
pub use wave::{Ended, Failure, Wave};

pub struct TuneConfig {
    /// Samples per thread (weak) or per CPU of the node (strong).
    pub samples: u64,
    pub threads_list: Option<Vec<usize>>,
    pub strong: bool,
    /// A user command with `{threads}`; the bundled worker when `None`.
    pub command: Option<String>,
    pub worker: Option<PathBuf>,
    pub placement: Placement,
    /// The hrun binary that runs each wave (`hrun exec`, a child process per wave).
    pub hrun: PathBuf,
}

/// One row of the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub threads: usize,
    pub slots: usize,
    pub wall_s: f64,
    /// Samples/s for the worker, tasks/s for a user command.
    pub throughput: f64,
    /// Tasks that failed; such a row has no figure against the best.
    pub failed: u64,
    pub tasks: u64,
}

/// What the sweep found, and whether it ran to its end.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rows: Vec<Row>,
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

/// Runs the sweep: the rows in the order tried, and why it stopped early, if it did. Failed
/// tasks are named on stderr as each wave ends.
pub fn sweep(cfg: &TuneConfig) -> Result<Outcome> {
    // The CPUs slots may use (after --cpus and --smt): one slot per CPU at T = 1.
    let n = placement::plan(&cfg.placement, 1, None)?.plan.slots.len();
    let list = cfg.threads_list.clone().unwrap_or_else(|| divisors(n));
    if list.is_empty() || list.contains(&0) {
        return Err(UsageError(anyhow!("--threads-list needs thread counts of at least 1")).into());
    }
    if cfg.samples == 0 {
        return Err(UsageError(anyhow!("--samples must be at least 1 (got 0)")).into());
    }
    let worker = match (&cfg.command, &cfg.worker) {
        (Some(c), _) if c.chars().any(char::is_control) => {
            let shown = crate::text::printable(&format!("{c:?}")).into_owned();
            return Err(UsageError(anyhow!(
                "command {shown}: a task line cannot hold a newline or other control character"
            ))
            .into());
        }
        (Some(_), _) => None,
        (None, Some(w)) => Some(generate::task_path("--worker", w)?),
        (None, None) => {
            Some(generate::task_path("--worker", &generate::default_worker().map_err(UsageError)?)?)
        }
    };
    let dir = tempfile::tempdir().context("cannot create a scratch directory for the sweep")?;
    let mut runner = wave::Runner::new(&cfg.hrun, dir.path(), &cfg.placement)?;
    let mut out = Outcome::default();
    for &t in &list {
        let planned = placement::plan(&cfg.placement, t, None)?;
        let slots = planned.plan.slots.len();
        // Strong scaling: the node's total (samples x CPUs) split over slots x T threads.
        let per_thread =
            if cfg.strong { (cfg.samples * n as u64 / (slots * t) as u64).max(1) } else { cfg.samples };
        let lines: Vec<String> = (1..=slots)
            .map(|i| match (&cfg.command, &worker) {
                (Some(c), _) => c.replace("{threads}", &t.to_string()),
                (None, Some(w)) => format!(
                    "{} -t {t} -n {per_thread} --seed {i} -o {}",
                    shell_quote(w),
                    shell_quote(&dir.path().join(format!("r{t}_{i}.toml")).to_string_lossy())
                ),
                (None, None) => unreachable!("a worker or a command"),
            })
            .collect();
        let wave = match runner.run(t, &lines)? {
            Ended::Ran(w) => w,
            Ended::Stopped(code, why) => {
                out.stopped = Some((code, why));
                break;
            }
        };
        report_failures(t, &wave);
        let wall_s = wave.wall_s.max(1e-9);
        let throughput = match cfg.command {
            Some(_) => slots as f64 / wall_s,
            None => (slots * t) as f64 * per_thread as f64 / wall_s,
        };
        out.rows.push(Row { threads: t, slots, wall_s, throughput, failed: wave.failed, tasks: wave.tasks });
    }
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
/// figure against the best: its wall time measured something else than the work.
pub fn render(rows: &[Row], unit: &str) -> String {
    let ok = |r: &&Row| r.failed == 0;
    let best = rows.iter().filter(ok).map(|r| r.throughput).fold(0.0, f64::max);
    let mut out = format!("{:>7} {:>6} {:>9} {:>14} {:>10}\n", "threads", "slots", "wall s", unit, "vs best");
    for r in rows {
        out += &if r.failed > 0 {
            format!(
                "{:>7} {:>6} {:>9.3} {:>14} {:>10}  ({} of {} task(s) failed)\n",
                r.threads, r.slots, r.wall_s, "-", "failed", r.failed, r.tasks
            )
        } else {
            format!(
                "{:>7} {:>6} {:>9.3} {:>14.4e} {:>9.1}%\n",
                r.threads,
                r.slots,
                r.wall_s,
                r.throughput,
                if best > 0.0 { 100.0 * r.throughput / best } else { 0.0 }
            )
        };
    }
    match rows.iter().filter(ok).max_by(|a, b| a.throughput.total_cmp(&b.throughput)) {
        Some(r) => out += &format!("recommended: --threads {} ({} slots)\n", r.threads, r.slots),
        None => out += "no thread count ran without failures\n",
    }
    out
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

    #[test]
    fn recommends_the_fastest_row_without_failures() {
        let row = |threads, throughput, failed| Row {
            threads,
            slots: 8 / threads,
            wall_s: 1.0,
            throughput,
            failed,
            tasks: (8 / threads) as u64,
        };
        let text = render(&[row(1, 5.0, 0), row(2, 9.0, 1), row(4, 7.0, 0)], "samples/s");
        assert!(text.ends_with("recommended: --threads 4 (2 slots)\n"), "{text}");
        assert!(text.contains("71.4%") && text.contains("100.0%"), "{text}");
        // The failed row: no throughput, no percentage (9.0 would have been the best).
        let failed = text.lines().find(|l| l.trim_start().starts_with("2 ")).unwrap();
        assert!(failed.contains("failed  (1 of 4 task(s) failed)") && !failed.contains('%'), "{failed}");
        assert!(!failed.contains("9.0000e0"), "{failed}");
    }
}
