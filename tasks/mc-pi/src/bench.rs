//! `hrun-mc-pi --bench`: samples per second of each kernel this CPU runs on one thread, and
//! the thread scaling of the chosen one (the fastest, or `HRUN_MC_PI_KERNEL`'s) on this
//! machine's CPUs. Best of three runs each; every kernel must count the same hits, or the bench
//! fails.

use std::time::Instant;

use crate::kernel::{self, Kernel};
use crate::run::{self, Bind};

/// One measured configuration.
#[derive(Clone, Debug)]
pub struct Row {
    pub kernel: Kernel,
    pub threads: usize,
    pub samples_per_s: f64,
    pub hits: u64,
}

/// Runs the bench and renders its table; `Err` if two kernels disagreed.
pub fn bench(samples: u64, threads: usize, chosen: Kernel) -> Result<String, String> {
    let mut rows = Vec::new();
    for k in Kernel::available_all() {
        let (best, hits) = best_of_3(|| {
            let t0 = Instant::now();
            let hits = kernel::count_hits_with(k, 1, 0, samples);
            (t0.elapsed().as_secs_f64(), hits)
        });
        rows.push(Row { kernel: k, threads: 1, samples_per_s: samples as f64 / best, hits });
    }
    if rows.iter().any(|r| r.hits != rows[0].hits) {
        return Err(format!("kernels disagree: {rows:?}"));
    }
    // Scaling rows all go through the same path (a pool of t threads).
    let mut t = 1;
    while t <= threads {
        let (best, hits) = best_of_3(|| {
            let o = run::run(samples, t, 1, Bind::None, chosen).expect("bench sizes fit");
            (o.elapsed_s, o.hits)
        });
        rows.push(Row {
            kernel: chosen,
            threads: t,
            samples_per_s: (samples * t as u64) as f64 / best,
            hits,
        });
        t *= 2;
    }
    Ok(render(samples, &rows))
}

fn best_of_3(mut f: impl FnMut() -> (f64, u64)) -> (f64, u64) {
    let runs: Vec<(f64, u64)> = (0..3).map(|_| f()).collect();
    let best = runs.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
    (best.max(1e-9), runs[0].1)
}

fn render(samples: u64, rows: &[Row]) -> String {
    let mut out = format!("hrun-mc-pi --bench: {samples} samples per thread, best of 3\n");
    out += "kernel  threads  samples/s   per thread  vs scalar t=1\n";
    let base = rows[0].samples_per_s;
    for r in rows {
        out += &format!(
            "{:<7} {:>7}  {:>9.3e}   {:>9.3e}   {:>6.2}x\n",
            r.kernel.name(),
            r.threads,
            r.samples_per_s,
            r.samples_per_s / r.threads as f64,
            r.samples_per_s / base
        );
    }
    // The first pooled row is t=1 (kernel rows come before it).
    let pooled = &rows[rows.iter().rposition(|r| r.threads == 1).unwrap_or(0)..];
    let one = pooled.first().map(|r| r.samples_per_s);
    if let (Some(one), Some(two)) = (one, pooled.iter().find(|r| r.threads == 2)) {
        out += &format!("thread scaling t=2 / t=1: {:.2}x\n", two.samples_per_s / one);
    }
    out
}
