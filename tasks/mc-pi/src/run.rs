//! The multi-threaded driver: exactly `threads` worker threads (a rayon pool of its own, not
//! the global one), each counting the hits of its own streams.

use std::time::Instant;

use crate::kernel::{self, Kernel};

/// How worker threads are placed on the CPUs the process may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    /// Threads float over the whole affinity mask (the slot hrun gave the task).
    None,
    /// Thread k is pinned to the k-th CPU of the mask, round robin (like `OMP_PROC_BIND=close`).
    Close,
}

/// What one run computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub hits_per_thread: Vec<u64>,
    pub hits: u64,
    pub samples: u64,
    pub elapsed_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("samples per thread times threads ({samples} x {threads}) overflows a 63-bit count")]
    TooManySamples { samples: u64, threads: usize },
    #[error("cannot start {threads} worker threads: {cause}")]
    Pool { threads: usize, cause: rayon::ThreadPoolBuildError },
}

/// Runs `threads` threads of `samples_per_thread` samples each, with `kernel` (which this CPU
/// must run: see [`Kernel::by_name`]).
pub fn run(
    samples_per_thread: u64,
    threads: usize,
    seed: u64,
    bind: Bind,
    kernel: Kernel,
) -> Result<Outcome, RunError> {
    let samples = samples_per_thread
        .checked_mul(threads as u64)
        .filter(|&s| s <= i64::MAX as u64)
        .ok_or(RunError::TooManySamples { samples: samples_per_thread, threads })?;
    let cores = match bind {
        Bind::Close => core_affinity::get_core_ids().unwrap_or_default(),
        Bind::None => Vec::new(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|k| format!("mc-pi-{k}"))
        .start_handler(move |k| {
            if !cores.is_empty() {
                core_affinity::set_for_current(cores[k % cores.len()]);
            }
        })
        .build()
        .map_err(|cause| RunError::Pool { threads, cause })?;
    let start = Instant::now();
    // `broadcast` runs the closure exactly once on each of the pool's threads, and thread k's
    // result depends only on k: the outcome cannot depend on scheduling.
    let hits_per_thread =
        pool.broadcast(|ctx| kernel::count_hits_with(kernel, seed, ctx.index(), samples_per_thread));
    let elapsed_s = start.elapsed().as_secs_f64();
    Ok(Outcome { hits: hits_per_thread.iter().sum(), hits_per_thread, samples, elapsed_s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_own_distinct_streams_and_sum_up() {
        let o = run(10_000, 3, 5, Bind::None, Kernel::best()).unwrap();
        assert_eq!(o.samples, 30_000);
        let each: Vec<u64> = (0..3).map(|k| kernel::count_hits_with(Kernel::Scalar, 5, k, 10_000)).collect();
        assert_eq!(o.hits_per_thread, each);
        assert_eq!(o.hits, o.hits_per_thread.iter().sum::<u64>());
    }

    #[test]
    fn bound_and_unbound_runs_agree() {
        let a = run(20_000, 4, 11, Bind::None, Kernel::best()).unwrap();
        let b = run(20_000, 4, 11, Bind::Close, Kernel::best()).unwrap();
        assert_eq!(a.hits_per_thread, b.hits_per_thread);
    }

    #[test]
    fn overflowing_sample_counts_are_refused() {
        let too_many = run(u64::MAX / 2, 3, 0, Bind::None, Kernel::Scalar);
        assert!(matches!(too_many, Err(RunError::TooManySamples { .. })));
    }
}
