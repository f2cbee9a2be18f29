//! `--halt`: when to stop a run early, as GNU parallel's `--halt when,why=N|X%`.
//!
//! - `when`: `soon` starts no new task and lets running ones finish; `now` also kills them
//!   (TERM, grace, KILL).
//! - `why`: `fail=`, `success=` or `done=` (any end), counted in tasks (a task with retries
//!   counts once, by its last attempt), or as a percentage of all tasks in the file.
//! - Also parallel's short forms: `never` (default), `0`..`2`, `-1`, `-2`, `1-99%`.
//!
//! Exit status when a halt fires, as GNU parallel: `fail=1`/`done=1` give the triggering
//! task's status (128 + signal if killed); `fail=N`/`done=N` the number failed (101 above
//! 100); `X%` the percentage failed, rounded up; `success=` gives 0.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Soon,
    Now,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    Fail,
    Success,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    Count(u64),
    /// Percent of all tasks, 0 < p <= 100.
    Percent(f64),
}

/// A parsed `--halt` value; `None` in [`Halt::rule`] means never.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Halt {
    pub rule: Option<(When, Why, Limit)>,
}

impl Halt {
    pub fn needs_total(&self) -> bool {
        matches!(self.rule, Some((_, _, Limit::Percent(_))))
    }

    /// True when a task that succeeds may fire the rule (`success=`, `done=`): then no task
    /// may start behind another before hrun has counted it.
    pub fn counts_successes(&self) -> bool {
        matches!(self.rule, Some((_, Why::Success | Why::Done, _)))
    }

    /// Checks the rule after a task's final end. `total` is the number of tasks in the file
    /// (needed for percentages). Returns the `When` and the exit status when it fires.
    pub fn check(&self, tally: &Tally, last_status: i32, total: u64) -> Option<(When, i32)> {
        let (when, why, limit) = self.rule?;
        let count = match why {
            Why::Fail => tally.failed,
            Why::Success => tally.succeeded,
            Why::Done => tally.failed + tally.succeeded,
        };
        let threshold = match limit {
            Limit::Count(n) => n as f64,
            Limit::Percent(p) => (total as f64 * p / 100.0).max(f64::MIN_POSITIVE),
        };
        if (count as f64) < threshold {
            return None;
        }
        let status = match (why, limit) {
            (Why::Success, _) => 0,
            (_, Limit::Count(1)) => last_status,
            (_, Limit::Count(_)) => crate::exit::for_failures(tally.failed),
            (_, Limit::Percent(_)) => {
                ((tally.failed as f64 * 100.0 / total.max(1) as f64).ceil() as i32).min(100)
            }
        };
        Some((when, status))
    }
}

/// Final outcomes so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub succeeded: u64,
    pub failed: u64,
}

impl FromStr for Halt {
    type Err = String;

    fn from_str(text: &str) -> Result<Halt, String> {
        let bad = |why: &str| {
            format!(
                "invalid --halt {text:?}: {why}; write never, soon,fail=N, now,fail=N, soon,fail=X%, \
                 now,success=N, soon,done=N ... (as GNU parallel)"
            )
        };
        let short = match text {
            "never" | "0" => return Ok(Halt::default()),
            "1" => Some("soon,fail=1"),
            "2" => Some("now,fail=1"),
            "-1" => Some("soon,success=1"),
            "-2" => Some("now,success=1"),
            _ => None,
        };
        let owned;
        let text_full = match short {
            Some(s) => s,
            None if text.ends_with('%') && !text.contains(',') => {
                owned = format!("soon,fail={text}");
                &owned
            }
            None => text,
        };
        let (when, rest) = text_full.split_once(',').ok_or_else(|| bad("missing `,`"))?;
        let when = match when {
            "soon" => When::Soon,
            "now" => When::Now,
            _ => return Err(bad(&format!("{when:?} is not soon or now"))),
        };
        let (why, value) = rest.split_once('=').ok_or_else(|| bad("missing `=`"))?;
        let why = match why {
            "fail" => Why::Fail,
            "success" => Why::Success,
            "done" => Why::Done,
            _ => return Err(bad(&format!("{why:?} is not fail, success or done"))),
        };
        let limit = match value.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.parse().map_err(|_| bad(&format!("{value:?} is not a percentage")))?;
                if !(p > 0.0 && p <= 100.0) {
                    return Err(bad("a percentage must be above 0 and at most 100"));
                }
                Limit::Percent(p)
            }
            None => {
                let n: u64 = value.parse().map_err(|_| bad(&format!("{value:?} is not a whole number")))?;
                if n == 0 {
                    return Err(bad("the count must be at least 1"));
                }
                Limit::Count(n)
            }
        };
        Ok(Halt { rule: Some((when, why, limit)) })
    }
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((when, why, limit)) = self.rule else { return f.write_str("never") };
        let when = if when == When::Now { "now" } else { "soon" };
        let why = match why {
            Why::Fail => "fail",
            Why::Success => "success",
            Why::Done => "done",
        };
        match limit {
            Limit::Count(n) => write!(f, "{when},{why}={n}"),
            Limit::Percent(p) => write!(f, "{when},{why}={p}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Halt {
        s.parse().unwrap()
    }

    #[test]
    fn parses_long_and_short_forms() {
        assert_eq!(h("never").rule, None);
        assert_eq!(h("now,fail=1").rule, Some((When::Now, Why::Fail, Limit::Count(1))));
        assert_eq!(h("soon,success=3").rule, Some((When::Soon, Why::Success, Limit::Count(3))));
        assert_eq!(h("soon,fail=10%").rule, Some((When::Soon, Why::Fail, Limit::Percent(10.0))));
        assert_eq!(h("now,done=2").rule, Some((When::Now, Why::Done, Limit::Count(2))));
        assert_eq!(h("2"), h("now,fail=1"));
        assert_eq!(h("-1"), h("soon,success=1"));
        assert_eq!(h("25%"), h("soon,fail=25%"));
        for s in ["never", "now,fail=1", "soon,success=3", "soon,fail=10%"] {
            assert_eq!(h(s).to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_values_naming_them() {
        for (s, needle) in [
            ("later,fail=1", "\"later\""),
            ("now,oops=1", "\"oops\""),
            ("now,fail=x", "\"x\""),
            ("now,fail=0", "at least 1"),
            ("now,fail=150%", "at most 100"),
            ("now", "missing `,`"),
        ] {
            let e = s.parse::<Halt>().unwrap_err();
            assert!(e.contains(needle) && e.contains(s), "{s}: {e}");
        }
    }

    #[test]
    fn fires_with_gnu_parallel_exit_statuses() {
        let t = |s, f| Tally { succeeded: s, failed: f };
        assert_eq!(h("never").check(&t(0, 5), 1, 10), None);
        assert_eq!(h("now,fail=1").check(&t(3, 1), 7, 10), Some((When::Now, 7)));
        assert_eq!(h("soon,fail=2").check(&t(3, 1), 7, 10), None);
        assert_eq!(h("soon,fail=2").check(&t(3, 2), 7, 10), Some((When::Soon, 2)));
        assert_eq!(h("now,success=2").check(&t(2, 5), 0, 10), Some((When::Now, 0)));
        // 30% of 10 tasks = 3 failures; status is the percentage failed, rounded up.
        assert_eq!(h("soon,fail=30%").check(&t(1, 2), 1, 10), None);
        assert_eq!(h("soon,fail=30%").check(&t(1, 3), 1, 10), Some((When::Soon, 30)));
        assert_eq!(h("now,done=3").check(&t(2, 1), 0, 10), Some((When::Now, 1)));
    }
}
