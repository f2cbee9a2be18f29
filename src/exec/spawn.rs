//! How a task is started: the command line and the environment every task gets.
//! Pure: builds a `Command`, which `os::spawn_pinned` runs.
//!
//! A line runs as `/bin/sh -c LINE`, as GNU parallel runs it. A shell per task doubles the
//! cost of a short task, so a line in which the shell would do nothing but split words (no
//! quotes, variables, globs, redirections, operators, assignments or builtins) is split on
//! whitespace and executed directly: the same program, arguments and environment. If that
//! fails to start (not found, not executable), the line is run through the shell after all,
//! so errors and exit statuses (127, 126) are the shell's.

use std::process::{Command, Stdio};

use super::os;
use crate::slots::Slot;
use crate::taskfile::{self, Task};

/// Environment every task gets, on top of hrun's own.
pub struct TaskEnv {
    threads: String,
    /// hrun's pid, for the guardian.
    owner: String,
    /// `OMP_NUM_THREADS`/`RAYON_NUM_THREADS` are set to T only where the caller left them unset.
    set_omp: bool,
    set_rayon: bool,
}

impl TaskEnv {
    pub fn new(threads: usize) -> Self {
        let caller_sets = |var: &str| match std::env::var(var) {
            Ok(v) => {
                if v != threads.to_string() {
                    eprintln!(
                        "hrun: warning: {var}={v} is set in the environment and is passed on unchanged, \
                         but each task has {threads} CPU(s); unset it to get {var}={threads}"
                    );
                }
                true
            }
            Err(_) => false,
        };
        TaskEnv {
            threads: threads.to_string(),
            owner: std::process::id().to_string(),
            set_omp: !caller_sets("OMP_NUM_THREADS"),
            set_rayon: !caller_sets("RAYON_NUM_THREADS"),
        }
    }
}

impl TaskEnv {
    /// `/bin/sh -c <line with {%} and {#} expanded>`, with stdin from `/dev/null` and the
    /// task's variables; stdout and stderr are the caller's to set.
    /// The command for `task`: direct when `via_shell` is false and the line allows it.
    pub fn command(&self, task: &Task, slot: &Slot, via_shell: bool) -> (Command, Launch) {
        let (seq, slot_no) = (task.seq.to_string(), slot.id.0.to_string());
        let line = taskfile::expand(&task.cmd, task.seq, slot.id.0);
        let (mut cmd, launch) = match plain_words(&line) {
            Some(words) if !via_shell => {
                let mut c = Command::new(words[0]);
                c.args(&words[1..]);
                (c, Launch::Direct)
            }
            _ => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(line.as_ref());
                (c, Launch::Shell)
            }
        };
        cmd.stdin(Stdio::null())
            .env("HRUN_SLOT", &slot_no)
            .env("HRUN_SEQ", &seq)
            .env("HRUN_CPUS", slot.cpus.to_string())
            .env("HRUN_THREADS", &self.threads)
            .env("PARALLEL_JOBSLOT", &slot_no)
            .env("PARALLEL_SEQ", &seq)
            .env(os::OWNER_VAR, &self.owner);
        if self.set_omp {
            cmd.env("OMP_NUM_THREADS", &self.threads);
        }
        if self.set_rayon {
            cmd.env("RAYON_NUM_THREADS", &self.threads);
        }
        (cmd, launch)
    }
}

/// How a task's process was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launch {
    Direct,
    Shell,
}

/// Words the shell treats specially in command position: its builtins (which have no
/// program file, or behave differently from it) and reserved words.
const SHELL_WORDS: &[&str] = &[
    ":", ".", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done", "elif", "else",
    "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function", "getopts", "hash", "if",
    "in", "jobs", "local", "read", "readonly", "return", "select", "set", "shift", "source", "then", "times",
    "trap", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

/// The words of `line` when `/bin/sh -c line` would just run them as a program and its
/// arguments; `None` when the shell would do anything more.
pub fn plain_words(line: &str) -> Option<Vec<&str>> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./,:=+@%".contains(c) || c == ' ' || c == '\t';
    if !line.chars().all(safe) {
        return None;
    }
    let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let first = *words.first()?;
    // `NAME=value cmd` is an assignment; builtins and keywords need the shell.
    if first.contains('=') || SHELL_WORDS.contains(&first) {
        return None;
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::SlotId;
    use std::ffi::OsStr;

    #[test]
    fn command_line_and_environment() {
        let env = TaskEnv { threads: "4".into(), owner: "77".into(), set_omp: true, set_rayon: false };
        let slot = Slot { id: SlotId(3), cpus: "8-11".parse().unwrap() };
        let task = Task { seq: 12, line: 14, cmd: "run --seed {#} --slot {%}".into() };
        let (cmd, launch) = env.command(&task, &slot, false);
        assert_eq!(launch, Launch::Direct);
        assert_eq!(cmd.get_program(), "run");
        let args: Vec<&OsStr> = cmd.get_args().collect();
        assert_eq!(args, ["--seed", "12", "--slot", "3"]);
        let (shell, launch) = env.command(&task, &slot, true);
        assert_eq!(launch, Launch::Shell);
        assert_eq!(shell.get_program(), "/bin/sh");
        assert_eq!(shell.get_args().collect::<Vec<_>>(), ["-c", "run --seed 12 --slot 3"]);
        let vars: std::collections::HashMap<&OsStr, Option<&OsStr>> = cmd.get_envs().collect();
        for (k, v) in [
            ("HRUN_SLOT", "3"),
            ("HRUN_SEQ", "12"),
            ("HRUN_CPUS", "8-11"),
            ("HRUN_THREADS", "4"),
            ("PARALLEL_JOBSLOT", "3"),
            ("PARALLEL_SEQ", "12"),
            ("HRUN_PID", "77"),
            ("OMP_NUM_THREADS", "4"),
        ] {
            assert_eq!(vars.get(OsStr::new(k)), Some(&Some(OsStr::new(v))), "{k}");
        }
        assert!(!vars.contains_key(OsStr::new("RAYON_NUM_THREADS")), "left to the caller's value");
    }

    #[test]
    fn only_lines_the_shell_would_merely_split_run_directly() {
        for (line, words) in [
            ("true", vec!["true"]),
            (
                "  /opt/x/hrun-mc-pi -t 4 -n 100 --seed 7 -o /r/mc_pi_7.toml ",
                vec!["/opt/x/hrun-mc-pi", "-t", "4", "-n", "100", "--seed", "7", "-o", "/r/mc_pi_7.toml"],
            ),
            ("sim\t--alpha=0.5 run_1", vec!["sim", "--alpha=0.5", "run_1"]),
            ("echo 50%", vec!["echo", "50%"]),
        ] {
            assert_eq!(plain_words(line), Some(words), "{line:?}");
        }
        for line in [
            "",
            "   ",
            "echo $HOME",
            "echo 'a b'",
            "echo \"a\"",
            "ls *.txt",
            "a > out",
            "a | b",
            "a; b",
            "a && b",
            "a &",
            "(a)",
            "echo ~",
            "FOO=1 prog",
            ":",
            "cd /tmp",
            "exit 3",
            "exec prog",
            "set -e",
            "echo a\\ b",
            "echo `date`",
            "echo {a,b}",
            "prog #comment",
            "echo a!",
        ] {
            assert_eq!(plain_words(line), None, "{line:?} needs the shell");
        }
    }
}
