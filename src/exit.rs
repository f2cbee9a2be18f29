//! hrun's exit statuses, one constant per meaning (documented in README.md and `--help`).

/// Every task succeeded (or there was nothing to run).
pub const OK: i32 = 0;
/// Bad usage or input (flags, task file, CPU plan, unwritable log...): refused, or stopped
/// starting tasks at the bad line. Also clap's own status for a malformed command line.
pub const USAGE: i32 = 2;
/// Statuses 1..=100: that many tasks failed; 101: more than 100 failed.
pub const MANY_FAILED: i32 = 101;
/// The run stopped before every task ran, on SIGUSR1 (drain) or at the deadline (the Slurm
/// job's time limit): the rest are for `--resume` in the next job. Above GNU parallel's 1-101.
pub const INCOMPLETE: i32 = 102;
/// hrun itself failed while running (an I/O error on its log, a task it could not spawn).
pub const INTERNAL: i32 = 255;
// 128 + N: a signal N (SIGINT 130, SIGTERM 143, SIGHUP 129) stopped the run; see exec.

/// GNU parallel's status for a run with `failed` failed tasks.
pub fn for_failures(failed: u64) -> i32 {
    match failed {
        0 => OK,
        1..=100 => failed as i32,
        _ => MANY_FAILED,
    }
}

/// An error in what the user gave hrun; exits with [`USAGE`]. The message is the whole chain.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct UsageError(pub anyhow::Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_counts_map_like_gnu_parallel() {
        assert_eq!(for_failures(0), 0);
        assert_eq!(for_failures(1), 1);
        assert_eq!(for_failures(100), 100);
        assert_eq!(for_failures(101), 101);
        assert_eq!(for_failures(1_000_000), 101);
    }
}
