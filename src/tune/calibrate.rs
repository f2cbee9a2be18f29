//! How many samples make a worker task long enough to measure: a few short timed runs of the
//! worker on one thread, the best rate of them, scaled to [`TARGET_TASK_S`].
//!
//! The default used to be a fixed 1e8 samples per thread: 0.05 s per task with AVX2, where
//! hrun's own start-up and the clock's resolution are a visible part of the wall time.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};
use hrun_protocol::result::McPiResult;

/// Seconds a wave's task should run: above 0.5 s even when the wave runs 1.5 times faster
/// per thread than the best calibration run (a quieter machine).
pub const TARGET_TASK_S: f64 = 0.75;

/// A run shorter than this is too short to time; the next one is made longer.
const MIN_RUN_S: f64 = 0.1;

/// Timed runs kept: the best rate of them counts (a neighbour slows a run down, never up).
const RUNS: usize = 3;

/// The calibrated samples per thread, and the rate they come from.
pub struct Calibration {
    pub samples: u64,
    /// Samples per second of one thread.
    pub rate: f64,
}

/// Times the worker at `path` (one thread, no result file) until [`RUNS`] runs of at least
/// [`MIN_RUN_S`] have been made.
pub fn worker(path: &str) -> Result<Calibration> {
    let mut n: u64 = 10_000_000;
    let mut rates = Vec::new();
    for _ in 0..RUNS + 8 {
        let r = run(path, n)?;
        if r.elapsed_s >= MIN_RUN_S {
            rates.push(r.samples as f64 / r.elapsed_s);
            if rates.len() == RUNS {
                break;
            }
        } else {
            let factor = (1.5 * MIN_RUN_S / r.elapsed_s.max(1e-6)).clamp(2.0, 100.0);
            n = (n as f64 * factor) as u64;
        }
    }
    let rate = rates.into_iter().fold(0.0, f64::max);
    if rate <= 0.0 {
        bail!("cannot calibrate the worker {path}: its runs stayed too short to time; give -n");
    }
    Ok(Calibration { samples: round2(rate * TARGET_TASK_S), rate })
}

/// One run of `n` samples on one thread: the worker's own result, read from its stdout.
fn run(path: &str, n: u64) -> Result<McPiResult> {
    let out = Command::new(path)
        .args(["-t", "1", "-n", &n.to_string(), "--seed", "1"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run the worker {path} to calibrate -n"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = crate::text::printable(said.trim()).into_owned();
        bail!("the worker {path} failed while calibrating -n ({}; give -n): {said}", out.status);
    }
    McPiResult::parse(&text)
        .map_err(|e| anyhow!("the worker {path} printed no result while calibrating -n (give -n): {e}"))
}

/// `n` rounded to two significant digits (1234567 -> 1200000), at least 1.
fn round2(n: f64) -> u64 {
    if n < 100.0 {
        return n.round().max(1.0) as u64;
    }
    let scale = 10f64.powi(n.log10().floor() as i32 - 1);
    ((n / scale).round() * scale) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_significant_digits() {
        assert_eq!(round2(1_234_567.0), 1_200_000);
        assert_eq!(round2(1.56e9), 1_600_000_000);
        assert_eq!(round2(99.4), 99);
        assert_eq!(round2(0.2), 1);
    }
}
