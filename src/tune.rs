//! `hrun tune`: the decomposition sweep. For each thread count T (every T that divides the
//! usable CPUs, or `--threads-list`), run one full wave (one task per slot) and compare:
//! wall time, throughput, efficiency against the best. Weak scaling by default (the work per
//! thread is constant, as the course's `-n`); `--strong` keeps the total work fixed.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::exec::{self, ExecConfig};
use crate::exit::UsageError;
use crate::generate::{self, shell_quote};
use crate::input::TaskSpec;
use crate::placement::{self, Placement};
use crate::taskfile::Source;

pub struct TuneConfig {
    /// Samples per thread (weak) or per CPU of the node (strong).
    pub samples: u64,
    pub threads_list: Option<Vec<usize>>,
    pub strong: bool,
    /// A user command with `{threads}`; the bundled worker when `None`.
    pub command: Option<String>,
    pub worker: Option<PathBuf>,
    pub placement: Placement,
}

/// One row of the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub threads: usize,
    pub slots: usize,
    pub wall_s: f64,
    /// Samples/s for the worker, tasks/s for a user command.
    pub throughput: f64,
    pub failed: u64,
}

/// The thread counts to try: every divisor of `n` (all CPUs used, none left over).
pub fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|t| n.is_multiple_of(*t)).collect()
}

/// Runs the sweep and returns the rows (in the order tried).
pub fn sweep(cfg: &TuneConfig) -> Result<Vec<Row>> {
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
    let mut rows = Vec::new();
    for &t in &list {
        let planned = placement::plan(&cfg.placement, t, None)?;
        let slots = planned.plan.slots.len();
        // Strong scaling: the node's total (samples x CPUs) split over slots x T threads.
        let per_thread =
            if cfg.strong { (cfg.samples * n as u64 / (slots * t) as u64).max(1) } else { cfg.samples };
        let taskfile = dir.path().join(format!("t{t}.txt"));
        let mut text = format!("#hrun threads={t}\n");
        for i in 1..=slots {
            text += &match (&cfg.command, &worker) {
                (Some(c), _) => c.replace("{threads}", &t.to_string()) + "\n",
                (None, Some(w)) => format!(
                    "{} -t {t} -n {per_thread} --seed {i} -o {}\n",
                    shell_quote(w),
                    shell_quote(&dir.path().join(format!("r{t}_{i}.toml")).to_string_lossy())
                ),
                (None, None) => unreachable!("a worker or a command"),
            };
        }
        std::fs::write(&taskfile, text).context("cannot write the sweep's task file")?;
        let summary = exec::run(&ExecConfig {
            threads: Some(t),
            log: Some(dir.path().join(format!("t{t}.jsonl"))),
            placement: cfg.placement.clone(),
            quiet: true,
            ..ExecConfig::new(TaskSpec::File(Source::Path(taskfile)))
        })?;
        let wall_s = summary.makespan_s.max(1e-9);
        let throughput = match cfg.command {
            Some(_) => slots as f64 / wall_s,
            None => (slots * t) as f64 * per_thread as f64 / wall_s,
        };
        rows.push(Row { threads: t, slots, wall_s, throughput, failed: summary.failed });
    }
    Ok(rows)
}

/// The table and the recommendation.
pub fn render(rows: &[Row], unit: &str) -> String {
    let best = rows.iter().filter(|r| r.failed == 0).map(|r| r.throughput).fold(0.0, f64::max);
    let mut out = format!("{:>7} {:>6} {:>9} {:>14} {:>10}\n", "threads", "slots", "wall s", unit, "vs best");
    for r in rows {
        out += &format!(
            "{:>7} {:>6} {:>9.3} {:>14.4e} {:>9.1}%{}\n",
            r.threads,
            r.slots,
            r.wall_s,
            r.throughput,
            if best > 0.0 { 100.0 * r.throughput / best } else { 0.0 },
            if r.failed > 0 { format!("  ({} failed)", r.failed) } else { String::new() }
        );
    }
    match rows.iter().filter(|r| r.failed == 0).max_by(|a, b| a.throughput.total_cmp(&b.throughput)) {
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
        };
        let text = render(&[row(1, 5.0, 0), row(2, 9.0, 1), row(4, 7.0, 0)], "samples/s");
        assert!(text.ends_with("recommended: --threads 4 (2 slots)\n"), "{text}");
        assert!(text.contains("71.4%") || text.contains("100.0%"), "{text}");
    }
}
