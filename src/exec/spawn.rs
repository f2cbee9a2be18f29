//! How a task is started: the `/bin/sh -c` command line and the environment every task gets.
//! Pure: builds a `Command`, which `os::spawn_pinned` runs.

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
    pub fn command(&self, task: &Task, slot: &Slot) -> Command {
        let (seq, slot_no) = (task.seq.to_string(), slot.id.0.to_string());
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(taskfile::expand(&task.cmd, task.seq, slot.id.0).as_ref())
            .stdin(Stdio::null())
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
        cmd
    }
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
        let cmd = env.command(&task, &slot);
        assert_eq!(cmd.get_program(), "/bin/sh");
        let args: Vec<&OsStr> = cmd.get_args().collect();
        assert_eq!(args, ["-c", "run --seed 12 --slot 3"]);
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
}
