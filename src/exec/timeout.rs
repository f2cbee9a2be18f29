//! `--timeout`: a fixed duration, or GNU parallel's `N%` of the median runtime of the tasks
//! that succeeded so far. The median comes from a fixed-size log-scale histogram, so it costs
//! the same memory after ten tasks or ten million.

use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Timeout {
    Fixed(Duration),
    /// Percent of the median successful runtime; applies once [`MIN_SAMPLES`] tasks succeeded.
    PercentOfMedian(f64),
}

/// Successful tasks needed before an `N%` timeout applies (a single quick first task must
/// not set the bar for all the others).
pub const MIN_SAMPLES: u64 = 3;

/// The largest `N%`: a thousand times the median, far beyond any use, and a bound that keeps
/// the limit a representable duration.
pub const MAX_PERCENT: f64 = 100_000.0;

impl FromStr for Timeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Timeout, String> {
        if let Some(p) = text.trim().strip_suffix('%') {
            let pct: f64 =
                p.parse().map_err(|_| format!("invalid --timeout {text:?}: {p:?} is not a percentage"))?;
            if !(pct > 0.0 && pct.is_finite()) {
                return Err(format!("invalid --timeout {text:?}: the percentage must be above 0"));
            }
            if pct > MAX_PERCENT {
                return Err(format!(
                    "invalid --timeout {text:?}: the percentage must be at most {MAX_PERCENT}%"
                ));
            }
            return Ok(Timeout::PercentOfMedian(pct));
        }
        let d = crate::duration::parse(text)?;
        if d.is_zero() {
            return Err(format!("invalid --timeout {text:?}: a timeout must be above 0"));
        }
        Ok(Timeout::Fixed(d))
    }
}

impl Timeout {
    /// The limit for a task starting now, if any; never above [`crate::duration::MAX`], so
    /// that the clock plus the limit cannot overflow.
    pub fn limit(&self, median: &Median) -> Option<Duration> {
        let limit = match *self {
            Timeout::Fixed(d) => d,
            Timeout::PercentOfMedian(p) => {
                if median.count() < MIN_SAMPLES {
                    return None;
                }
                let secs = median.median()? * p / 100.0;
                Duration::try_from_secs_f64(secs).unwrap_or(crate::duration::MAX)
            }
        };
        Some(limit.min(crate::duration::MAX))
    }
}

/// Buckets per factor of two: a bucket is 2^(1/32) ≈ 2.2% wide.
const PER_OCTAVE: f64 = 32.0;
/// Smallest value told apart: 1 µs; largest: 2^40 µs ≈ 12.7 days.
const MIN_S: f64 = 1e-6;
const BUCKETS: usize = 40 * PER_OCTAVE as usize;

/// A running median over positive values with fixed memory and ~1% error.
#[derive(Clone, Debug)]
pub struct Median {
    counts: Vec<u64>,
    n: u64,
}

impl Default for Median {
    fn default() -> Self {
        Median { counts: vec![0; BUCKETS], n: 0 }
    }
}

impl Median {
    pub fn add(&mut self, seconds: f64) {
        let b = ((seconds.max(MIN_S) / MIN_S).log2() * PER_OCTAVE) as usize;
        self.counts[b.min(BUCKETS - 1)] += 1;
        self.n += 1;
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    /// The median (the middle of its bucket), `None` before any value.
    pub fn median(&self) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let half = self.n.div_ceil(2);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= half {
                return Some(MIN_S * 2f64.powf((b as f64 + 0.5) / PER_OCTAVE));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixed_and_percent() {
        assert_eq!("2s".parse(), Ok(Timeout::Fixed(Duration::from_secs(2))));
        assert_eq!("150%".parse(), Ok(Timeout::PercentOfMedian(150.0)));
        for bad in ["0", "-5s", "10x", "%", "-3%", "abc%", "1e300%", "100001%", "inf%", "NaN%", "8761h"] {
            assert!(bad.parse::<Timeout>().unwrap_err().contains(&format!("{bad:?}")), "{bad}");
        }
    }

    #[test]
    fn median_within_a_bucket() {
        let mut m = Median::default();
        assert_eq!(m.median(), None);
        for v in [0.1, 0.2, 0.3, 5.0, 100.0] {
            m.add(v);
        }
        let got = m.median().unwrap();
        assert!((got - 0.3).abs() / 0.3 < 0.025, "{got}");
        let mut m = Median::default();
        for i in 1..=1001 {
            m.add(i as f64 / 1000.0);
        }
        assert!((m.median().unwrap() - 0.501).abs() / 0.501 < 0.025);
    }

    #[test]
    fn percent_applies_after_enough_successes() {
        let mut m = Median::default();
        let t = Timeout::PercentOfMedian(200.0);
        m.add(1.0);
        m.add(1.0);
        assert_eq!(t.limit(&m), None);
        m.add(1.0);
        let l = t.limit(&m).unwrap().as_secs_f64();
        assert!((l - 2.0).abs() < 0.05, "{l}");
    }

    /// A percentage that slipped past parsing, on the longest median the histogram holds,
    /// gives the longest duration, not a panic.
    #[test]
    fn a_huge_limit_is_capped_not_a_panic() {
        let mut m = Median::default();
        for _ in 0..MIN_SAMPLES {
            m.add(1e9);
        }
        let cap = crate::duration::MAX;
        for p in [1e300, f64::MAX, f64::INFINITY, MAX_PERCENT] {
            assert_eq!(Timeout::PercentOfMedian(p).limit(&m), Some(cap), "{p}");
        }
        assert_eq!(Timeout::Fixed(Duration::MAX).limit(&m), Some(cap));
        assert!(std::time::Instant::now().checked_add(cap).is_some());
    }
}
