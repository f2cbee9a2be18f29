//! Walltime awareness: the time by which a run must be over, and whether a task may still start.
//!
//! The deadline comes from `--deadline` (`+2h`, a local time `2026-11-26T18:00`, `...Z` for UTC,
//! `@UNIX_SECONDS`) or, by default (`auto`), from the Slurm job hrun runs in: `SLURM_JOB_END_TIME`
//! where Slurm sets it (23.02 and later), else `squeue -h -j $SLURM_JOB_ID -o %e`. A task starts
//! only if it would end, at the median runtime of the tasks that succeeded so far, no later than
//! the deadline minus `--deadline-margin`; the others are left for `--resume` in the next job.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::civil::Civil;

/// What `--deadline` says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spec {
    /// The Slurm job's end, when inside a job; else none.
    Auto,
    None,
    /// This long after hrun starts.
    In(Duration),
    /// Unix seconds.
    At(f64),
}

/// The deadline in force and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Deadline {
    /// Unix seconds.
    pub at: f64,
    pub source: String,
}

/// The latest deadline hrun accepts, in Unix seconds: 9999-12-31T23:59:59Z. Any time up to it
/// stays an exact float and, less the clock, a representable `Duration`.
pub const MAX_UNIX: f64 = 253_402_300_799.0;

const FORMS: &str = "auto, none, +DURATION (e.g. +2h), a local time YYYY-MM-DDTHH:MM[:SS] (Z at the end: UTC) or @UNIX_SECONDS";

impl FromStr for Spec {
    type Err = String;

    fn from_str(text: &str) -> Result<Spec, String> {
        let t = text.trim();
        let bad = |why: &str| format!("invalid --deadline {text:?}: {why}; write {FORMS}");
        match t {
            "auto" => return Ok(Spec::Auto),
            "none" => return Ok(Spec::None),
            _ => {}
        }
        if let Some(d) = t.strip_prefix('+') {
            return crate::duration::parse(d).map(Spec::In).map_err(|e| bad(&e));
        }
        let at = if let Some(s) = t.strip_prefix('@') {
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => v,
                _ => return Err(bad("not a number of seconds")),
            }
        } else {
            let (civil, utc) = match t.strip_suffix('Z') {
                Some(c) => (c, true),
                None => (t, false),
            };
            let c = Civil::parse(civil).ok_or_else(|| bad("not a date and time"))?;
            let at = if utc { Some(c.utc_seconds()) } else { crate::sys::local_time(&c) };
            at.ok_or_else(|| bad("not a valid local time"))? as f64
        };
        if !in_range(at) {
            return Err(bad("not between 1970 and 9999"));
        }
        Ok(Spec::At(at))
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Auto => f.write_str("auto"),
            Spec::None => f.write_str("none"),
            Spec::In(d) => write!(f, "+{}s", d.as_secs_f64()),
            Spec::At(t) => write!(f, "@{t}"),
        }
    }
}

/// True for a Unix time hrun can use as a deadline.
fn in_range(at: f64) -> bool {
    (0.0..=MAX_UNIX).contains(&at)
}

/// The deadline for a run starting at `now` (Unix seconds). `Auto` asks Slurm; a job without
/// a time limit, or a Slurm that cannot be asked, gives none (with a warning for the latter).
/// The time is kept within `0..=MAX_UNIX` whatever the spec holds, so the dispatcher's clock
/// arithmetic cannot overflow.
pub fn resolve(spec: Spec, now: f64) -> Option<Deadline> {
    let clamp = |at: f64| if at.is_nan() { 0.0 } else { at.clamp(0.0, MAX_UNIX) };
    match spec {
        Spec::None => None,
        Spec::In(d) => Some(Deadline { at: clamp(now + d.as_secs_f64()), source: "--deadline".into() }),
        Spec::At(at) => Some(Deadline { at: clamp(at), source: "--deadline".into() }),
        Spec::Auto => {
            let job = slurm_job()?;
            match slurm_end(&job) {
                Ok(Some(at)) => Some(Deadline { at, source: format!("Slurm job {job}'s time limit") }),
                Ok(None) => None,
                Err(e) => {
                    crate::messages::warning(format_args!(
                        "cannot read Slurm job {job}'s end time ({e}); no deadline"
                    ));
                    None
                }
            }
        }
    }
}

fn slurm_job() -> Option<String> {
    std::env::var("SLURM_JOB_ID").ok().filter(|j| !j.is_empty())
}

/// Refuses, before a run, a `SLURM_JOB_END_TIME` that `--deadline auto` would read and could
/// not use (e.g. `1e30`); the error names the variable and its value.
pub fn check_environment(spec: Spec) -> Result<(), String> {
    match (spec, slurm_job(), std::env::var("SLURM_JOB_END_TIME")) {
        (Spec::Auto, Some(_), Ok(v)) => parse_end_time(&v).map(|_| ()),
        _ => Ok(()),
    }
}

/// The job's end time: `SLURM_JOB_END_TIME` (Unix seconds), else squeue's `%e` (local time).
fn slurm_end(job: &str) -> Result<Option<f64>, String> {
    if let Ok(v) = std::env::var("SLURM_JOB_END_TIME") {
        return parse_end_time(&v);
    }
    let out = run_with_timeout(Command::new("squeue").args(["-h", "-j", job, "-o", "%e"]), SQUEUE_TIMEOUT)?;
    let end = parse_squeue_end(&out)?;
    match end {
        Some(at) if !in_range(at) => Err(format!("squeue printed {:?}, beyond 9999", out.trim())),
        _ => Ok(end),
    }
}

/// `SLURM_JOB_END_TIME`: Unix seconds; 0 (or empty) for a job without an end.
pub fn parse_end_time(v: &str) -> Result<Option<f64>, String> {
    match v.trim() {
        "" => Ok(None),
        t => match t.parse::<f64>() {
            Ok(0.0) => Ok(None),
            Ok(at) if in_range(at) => Ok(Some(at)),
            _ => Err(format!(
                "SLURM_JOB_END_TIME={} is not a Unix time between 1970 and 9999",
                crate::text::printable(&format!("{v:?}"))
            )),
        },
    }
}

const SQUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// squeue's `%e`: a local time, or `N/A`/`Unknown`/`NONE` for a job without an end.
pub fn parse_squeue_end(out: &str) -> Result<Option<f64>, String> {
    let text = out.trim();
    if text.is_empty() {
        return Err("squeue printed nothing".into());
    }
    match text {
        "N/A" | "Unknown" | "NONE" | "UNLIMITED" => return Ok(None),
        _ => {}
    }
    let civil = Civil::parse(text).ok_or_else(|| format!("squeue printed {text:?}"))?;
    crate::sys::local_time(&civil)
        .map(|t| Some(t as f64))
        .ok_or_else(|| format!("squeue printed {text:?}, not a local time"))
}

/// Runs a short command; its stdout, or why not.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(status)) => return Err(format!("squeue failed ({status})")),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("squeue gave no answer within {limit:?}"));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// True when a task starting at `now`, expected to run `expected` seconds (the median of the
/// successes so far; none yet: 0), ends by `deadline - margin`.
pub fn may_start(now: f64, deadline: f64, margin: Duration, expected: Option<f64>) -> bool {
    now + expected.unwrap_or(0.0) <= deadline - margin.as_secs_f64()
}

/// The dispatcher's view of the deadline: whether the next task may start, when to wake for the
/// deadline itself, and the messages; it remembers that the deadline passed.
#[derive(Debug)]
pub struct Walltime<'a> {
    deadline: Option<&'a Deadline>,
    margin: Duration,
    passed: bool,
}

impl<'a> Walltime<'a> {
    pub fn new(deadline: Option<&'a Deadline>, margin: Duration) -> Self {
        Walltime { deadline, margin, passed: false }
    }

    /// True when there is a deadline at all.
    pub fn is_set(&self) -> bool {
        self.deadline.is_some()
    }

    /// `None` when a task starting at `now` (Unix seconds) with `expected` runtime ends in time;
    /// else why not, for hrun's stderr.
    pub fn refuses(&self, now: f64, expected: Option<f64>, running: usize) -> Option<String> {
        let d = self.deadline?;
        if may_start(now, d.at, self.margin, expected) {
            return None;
        }
        let margin = self.margin.as_secs_f64();
        let gap = match expected {
            Some(m) => format!("the median runtime {m:.1}s + margin {margin}s"),
            None => format!("the margin {margin}s"),
        };
        Some(format!(
            "deadline {} ({}) is less than {gap} away: starting no new task; {running} running will finish",
            local_clock(d.at),
            d.source
        ))
    }

    /// Seconds until the deadline itself, while it has not passed (the clock is read only
    /// when there is a deadline).
    pub fn left(&self) -> Option<f64> {
        self.deadline.filter(|_| !self.passed).map(|d| (d.at - unix_now()).max(0.0))
    }

    /// True, once, when the deadline has passed.
    pub fn passes(&mut self) -> bool {
        let due = !self.passed && self.deadline.is_some_and(|d| unix_now() >= d.at);
        self.passed |= due;
        due
    }

    /// "the deadline 18:00:00 (Slurm job 42's time limit)".
    pub fn describe(&self) -> String {
        self.deadline
            .map_or_else(String::new, |d| format!("the deadline {} ({})", local_clock(d.at), d.source))
    }
}

fn unix_now() -> f64 {
    crate::civil::unix_seconds(std::time::SystemTime::now())
}

/// `HH:MM:SS` local time of day, for messages about a time within the day around now; with
/// its date when further (`@0` is 1970-01-01, not "00:00:00").
pub fn local_clock(at: f64) -> String {
    if (at - unix_now()).abs() < 12.0 * 3600.0 {
        crate::sys::local_clock(at as i64)
    } else {
        crate::sys::local_date_time(at as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23: `HRUN_DEADLINE=@0` was shown as a time of day ("00:00:00"), as if today.
    #[test]
    fn a_time_far_from_now_is_shown_with_its_date() {
        assert!(local_clock(0.0).starts_with("1970-01-01 ") || local_clock(0.0).starts_with("1969-12-31 "));
        let soon = local_clock(unix_now() + 60.0);
        assert_eq!(soon.len(), 8, "{soon}");
    }

    #[test]
    fn forms() {
        assert_eq!("auto".parse(), Ok(Spec::Auto));
        assert_eq!("none".parse(), Ok(Spec::None));
        assert_eq!("+90m".parse(), Ok(Spec::In(Duration::from_secs(5400))));
        assert_eq!("@1764000000".parse(), Ok(Spec::At(1_764_000_000.0)));
        assert_eq!("1970-01-02T00:00:00Z".parse(), Ok(Spec::At(86_400.0)));
        assert_eq!("2026-11-26T03:05Z".parse(), Ok(Spec::At(1_795_662_300.0)));
    }

    #[test]
    fn bad_forms_name_the_value_and_the_forms() {
        for bad in
            ["tomorrow", "+5x", "@-3", "2026-13-01T00:00", "2026-02-30T00:00", "2026-11-26T24:00", "12:00"]
        {
            let e = bad.parse::<Spec>().unwrap_err();
            assert!(e.contains(&format!("{bad:?}")) && e.contains("+DURATION"), "{bad}: {e}");
        }
    }

    #[test]
    fn times_beyond_9999_are_refused() {
        for bad in ["@1e30", "@18446744073709551615", "@253402300800", "10000-01-01T00:00Z", "@inf", "+8761h"]
        {
            let e = bad.parse::<Spec>().unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
        assert_eq!("@253402300799".parse(), Ok(Spec::At(MAX_UNIX)));
        assert_eq!("9999-12-31T23:59:59Z".parse(), Ok(Spec::At(MAX_UNIX)));
    }

    #[test]
    fn slurm_end_times() {
        assert_eq!(parse_end_time("1795662332\n"), Ok(Some(1_795_662_332.0)));
        assert_eq!(parse_end_time("0"), Ok(None));
        assert_eq!(parse_end_time(""), Ok(None));
        for bad in ["1e30", "-5", "inf", "NaN", "soon", "18446744073709551615"] {
            let e = parse_end_time(bad).unwrap_err();
            assert!(e.starts_with(&format!("SLURM_JOB_END_TIME={bad:?} ")), "{bad}: {e}");
        }
    }

    /// A spec built in code (not parsed) still resolves to a time the clock can meet.
    #[test]
    fn resolved_deadlines_stay_in_range() {
        let at = |spec| resolve(spec, 1000.0).unwrap().at;
        assert_eq!(at(Spec::At(1e30)), MAX_UNIX);
        assert_eq!(at(Spec::At(f64::NAN)), 0.0);
        assert_eq!(at(Spec::In(Duration::MAX)), MAX_UNIX);
        assert_eq!(at(Spec::In(Duration::from_secs(5))), 1005.0);
        let left = Duration::from_secs_f64(MAX_UNIX - 1000.0);
        assert!(Instant::now().checked_add(left).is_some());
    }

    #[test]
    fn squeue_output() {
        assert_eq!(parse_squeue_end("N/A\n"), Ok(None));
        assert_eq!(parse_squeue_end("Unknown"), Ok(None));
        assert!(parse_squeue_end("").is_err());
        assert!(parse_squeue_end("slurm_load_jobs error: Invalid job id specified").is_err());
        assert!(parse_squeue_end("2026-11-26T03:05:32\n").unwrap().is_some());
    }

    #[test]
    fn start_rule() {
        let m = Duration::from_secs(30);
        // No estimate yet: start while before deadline - margin.
        assert!(may_start(1000.0, 1100.0, m, None));
        assert!(!may_start(1071.0, 1100.0, m, None));
        // Median 80 s: would end at 1080, past 1100 - 30.
        assert!(!may_start(1000.0, 1100.0, m, Some(80.0)));
        assert!(may_start(1000.0, 1100.0, m, Some(70.0)));
        assert!(!may_start(1000.0, 1100.0, m, Some(70.1)));
    }
}
