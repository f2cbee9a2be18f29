//! How hrun ends a task it stops (`--timeout`, `--halt now`, a signal to hrun, the deadline):
//! a sequence of signals, each followed by a wait for the task's process group to end, as GNU
//! parallel's `--term-seq SIG,MS,SIG,MS,...` (its default TERM,200,TERM,100,TERM,50,KILL,25).
//! Without `--term-seq`, hrun exec's own: the signal (TERM, or the one hrun received), then
//! `--grace`, then KILL.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One signal and how long to wait after it for the group to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub signal: i32,
    pub wait: Duration,
}

/// A parsed sequence; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermSeq {
    steps: Vec<Step>,
    /// hrun's default: when hrun itself got a signal, that signal (not the first step's) goes
    /// first. An explicit `--term-seq` is sent as given, as GNU does on Ctrl-C.
    forwards: bool,
}

/// GNU parallel's default `--term-seq`.
pub const GNU_DEFAULT: &str = "TERM,200,TERM,100,TERM,50,KILL,25";

/// The longest wait after one signal: an hour (a longer one is a typo for seconds).
const MAX_WAIT_MS: u64 = 3_600_000;

impl TermSeq {
    /// hrun exec's default: TERM (or the signal hrun got), `grace`, KILL.
    pub fn with_grace(grace: Duration) -> TermSeq {
        TermSeq {
            steps: vec![
                Step { signal: libc::SIGTERM, wait: grace },
                Step { signal: libc::SIGKILL, wait: Duration::ZERO },
            ],
            forwards: true,
        }
    }

    /// GNU parallel's default (hrun run as `parallel`).
    pub fn gnu_default() -> TermSeq {
        GNU_DEFAULT.parse().expect("GNU's default parses")
    }

    /// The signal that starts the sequence when hrun stops a task because of `cause` (the
    /// signal hrun received, or TERM for its own reasons).
    pub fn first(&self, cause: i32) -> i32 {
        match self.forwards || cause == libc::SIGKILL {
            true => cause,
            false => self.steps[0].signal,
        }
    }

    /// Step `i`, if the sequence has one.
    pub fn step(&self, i: usize) -> Option<Step> {
        self.steps.get(i).copied()
    }

    /// How `n` tasks are stopped, in words for the message when hrun gets a signal.
    pub fn describe(&self, n: usize) -> String {
        match self.forwards {
            true => format!(
                "forwarding it to {}; SIGKILL after {:?}",
                crate::text::count(n as u64, "running task"),
                self.steps[0].wait
            ),
            false => {
                format!("stopping {} with --term-seq {self}", crate::text::count(n as u64, "running task"))
            }
        }
    }

    /// The time from the start of step `i` to the end of the sequence.
    pub fn remaining(&self, i: usize) -> Duration {
        self.steps.iter().skip(i).map(|s| s.wait).sum()
    }
}

impl FromStr for TermSeq {
    type Err = String;

    /// `SIG,MS,SIG,MS,...`: a signal by name (TERM, SIGTERM) or number, then the milliseconds
    /// to wait; the last wait may be left out (0).
    fn from_str(text: &str) -> Result<TermSeq, String> {
        let bad = |why: String| format!("invalid --term-seq {text:?}: {why}");
        let words: Vec<&str> = text.split(',').collect();
        if text.trim().is_empty() {
            return Err(bad("give signals and waits in ms, e.g. TERM,200,KILL,25".into()));
        }
        let steps = words
            .chunks(2)
            .map(|pair| {
                let signal = signal_number(pair[0]).ok_or_else(|| {
                    bad(format!("{:?} is not a signal (TERM, INT, KILL, SIGUSR1, 15...)", pair[0]))
                })?;
                let wait = match pair.get(1) {
                    None => 0,
                    Some(ms) => {
                        ms.trim().parse::<u64>().ok().filter(|&ms| ms <= MAX_WAIT_MS).ok_or_else(|| {
                            bad(format!("{ms:?} is not a wait in milliseconds (0 to {MAX_WAIT_MS})"))
                        })?
                    }
                };
                Ok(Step { signal, wait: Duration::from_millis(wait) })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(TermSeq { steps, forwards: false })
    }
}

/// `TERM`, `SIGTERM` (any case) or `15`; 0 (no signal) is not one.
fn signal_number(word: &str) -> Option<i32> {
    let word = word.trim();
    if let Ok(n) = word.parse::<i32>() {
        return crate::sys::signal_exists(n).then_some(n);
    }
    let upper = word.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    crate::sys::signal_by_name(&name)
}

impl fmt::Display for TermSeq {
    /// As the user would write it: `TERM,200,KILL,25`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let words: Vec<String> = self
            .steps
            .iter()
            .map(|s| {
                let name = crate::sys::signal_name(s.signal);
                format!("{},{}", name.trim_start_matches("SIG"), s.wait.as_millis())
            })
            .collect();
        f.write_str(&words.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_gnu_default() {
        let t = TermSeq::gnu_default();
        assert_eq!(t.step(0), Some(Step { signal: libc::SIGTERM, wait: ms(200) }));
        assert_eq!(t.step(3), Some(Step { signal: libc::SIGKILL, wait: ms(25) }));
        assert_eq!(t.step(4), None);
        assert_eq!(t.remaining(0), ms(375));
        assert_eq!(t.remaining(2), ms(75));
        assert_eq!(t.to_string(), GNU_DEFAULT);
    }

    #[test]
    fn names_numbers_and_a_last_wait_left_out() {
        let t: TermSeq = "int,10,SIGUSR1,0,9".parse().unwrap();
        assert_eq!(t.step(0), Some(Step { signal: libc::SIGINT, wait: ms(10) }));
        assert_eq!(t.step(1), Some(Step { signal: libc::SIGUSR1, wait: ms(0) }));
        assert_eq!(t.step(2), Some(Step { signal: libc::SIGKILL, wait: ms(0) }));
        assert_eq!(t.to_string(), "INT,10,USR1,0,KILL,0");
    }

    #[test]
    fn refusals_name_the_value() {
        for (bad, part) in [
            ("FOO,10", "\"FOO\""),
            ("TERM,abc", "\"abc\""),
            ("TERM,-5", "\"-5\""),
            ("TERM,99999999", "\"99999999\""),
            ("", "give signals"),
            ("TERM,,KILL", "\"\""),
            ("0,10", "\"0\""),
            ("99,10", "\"99\""),
        ] {
            let e = bad.parse::<TermSeq>().unwrap_err();
            assert!(e.contains(part) && e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn the_first_signal_is_the_received_one_only_by_default() {
        let hrun = TermSeq::with_grace(ms(500));
        assert_eq!(hrun.first(libc::SIGINT), libc::SIGINT);
        assert_eq!(hrun.first(libc::SIGTERM), libc::SIGTERM);
        assert_eq!(hrun.remaining(0), ms(500));
        let gnu: TermSeq = "USR1,100,KILL".parse().unwrap();
        assert_eq!(gnu.first(libc::SIGINT), libc::SIGUSR1);
        assert_eq!(gnu.first(libc::SIGKILL), libc::SIGKILL, "a second Ctrl-C kills at once");
    }
}
