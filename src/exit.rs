//! hrun's exit statuses, one constant per meaning (documented in docs/faults.md and `--help`).

/// Every task succeeded (or there was nothing to run).
pub const OK: i32 = 0;
/// Bad usage or input (flags, task file, CPU plan, an output another hrun holds...), refused
/// before the run: no file hrun writes was changed. Also clap's own status for a malformed
/// command line.
pub const USAGE: i32 = 2;
/// Statuses 1..=100: that many tasks failed; 101: more than 100 failed.
pub const MANY_FAILED: i32 = 101;
/// The run stopped before every task ran, on SIGUSR1 (drain) or at the deadline (the Slurm
/// job's time limit): the rest are for `--resume` in the next job. Above GNU parallel's 1-101.
pub const INCOMPLETE: i32 = 102;
/// The run stopped on an error after it started: hrun's own (an I/O error on its log, its
/// output or the results table) or input that turned bad or changed mid-run.
pub const INTERNAL: i32 = 255;
// 128 + N: a signal N (SIGINT 130, SIGTERM 143, SIGHUP 129) stopped the run; see exec.

/// Every status hrun exits with and what it means, in the order `--help` lists them: the one
/// place they are written (the help is built from it; a test holds docs/faults.md's table to it).
pub const STATUSES: &[(&str, &str)] = &[
    ("0", "every task succeeded (or the task file had none; or --halt ...,success= fired)"),
    ("1-100", "that many tasks failed (exit code not 0, or killed by a signal)"),
    ("101", "more than 100 tasks failed"),
    (
        "2",
        "bad usage or input, refused before the run started: no file hrun writes (run log, \
         joblog, results table) was created, emptied or written",
    ),
    ("102", "stopped early with tasks left, by SIGUSR1 (drain) or the deadline: --resume runs them"),
    ("128+N", "signal N stopped the run (SIGINT 130, SIGTERM 143, SIGHUP 129; 141: standard output closed)"),
    (
        "255",
        "the run stopped on an error after it started (could not write its log, the results table or \
         its standard output; input that turned bad or changed mid-run): the run log has every \
         finished task",
    ),
];

/// The "Exit status" section of `hrun --help`, from [`STATUSES`].
pub fn help() -> String {
    let mut text = String::from("Exit status:\n");
    for (status, meaning) in STATUSES {
        // Wrapped here, under 80 columns with a hanging indent (clap's own wrapping would
        // start continuation lines at the margin).
        let mut line = format!("  {status:<8}");
        for word in meaning.split(' ') {
            if line.len() + 1 + word.len() > 79 {
                text += &line;
                text += "\n";
                line = " ".repeat(10);
            }
            line += " ";
            line += word;
        }
        text += &line;
        text += "\n";
    }
    text += "  (with --halt, as GNU parallel: see docs/faults.md)";
    text
}

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

/// How [`crate::template::SourceError::TooLong`] starts.
const TOO_LONG: &str = "Command line too long (";

/// How a `--workdir` that cannot be made is said as `parallel`.
pub const CANNOT_CHDIR: &str = "Cannot change into non-executable dir ";

/// How a shell that is not there is said (`shell::Shell::choose`), after its origin and path.
pub const NO_SHELL: &str = ": no such executable shell";

/// How hrun refuses a `--trim` value (`template::sources::Trim::parse`).
pub const TRIM_CHOICES: &str = "give n, l, r or lr (which ends lose their blanks)";

/// As `parallel`: the text of an error GNU parallel 20221122 has too (a command line too long
/// for `-s`, a missing `--workdir`, a bad `--trim`), which it prints as `parallel: Error: TEXT`
/// and exits 255.
pub fn gnu_error(e: &anyhow::Error) -> Option<String> {
    if !crate::messages::gnu() {
        return None;
    }
    // The error may have been passed on as text (a run stopped by its input): found by its words.
    let text = format!("{e:#}");
    if text.contains(TRIM_CHOICES) {
        return Some("--trim must be one of: r l rl lr.".into());
    }
    if let Some(at) = text.find(NO_SHELL) {
        // `ORIGIN PATH: no such executable shell`: GNU names the path.
        let head = &text[..at];
        let path = ["PARALLEL_SHELL ", "--shell ", "the parent shell ", "the default shell ", "SHELL "]
            .iter()
            .find_map(|origin| head.rfind(origin).map(|i| &head[i + origin.len()..]))
            .unwrap_or(head);
        return Some(format!("Shell '{path}' not found."));
    }
    let start = [TOO_LONG, CANNOT_CHDIR].iter().find_map(|words| text.find(words))?;
    Some(text[start..].to_string())
}

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

    #[test]
    fn the_table_names_every_constant() {
        for code in [OK, USAGE, MANY_FAILED, INCOMPLETE, INTERNAL] {
            assert!(STATUSES.iter().any(|(s, _)| *s == code.to_string()), "{code} missing from STATUSES");
        }
        assert!(help().contains("  102      stopped early"), "{}", help());
    }
}
