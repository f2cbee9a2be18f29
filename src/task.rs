//! A task: one command to run, with where it came from (a line of a task file, a job of a
//! command template, a block of `--pipe`'s input). The input stage (`taskfile`, `input`) makes
//! tasks; exec, the log and the views read them.

use std::borrow::Cow;
use std::sync::Arc;

use crate::pipe::Block;
use crate::template::JobArgs;

/// One task as read from its input, before replacement strings are expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// 1-based task number (comments and blank lines do not count).
    pub seq: u64,
    /// 1-based line number in the task file.
    pub line: u64,
    /// The command, without its line ending: the task's identity (with `{%}` and `{#}` as
    /// written). For a job of a command template, the template with its values filled in.
    pub cmd: String,
    /// A job of a command template: its arguments and the template, from which the command
    /// is rendered when it starts. `None` for a line of a task file.
    pub job: Option<JobArgs>,
    /// Which copy of this command it is (1 for the first task with this command, 2 for the
    /// next...): with the command, the task's identity for `--resume`.
    pub occurrence: u32,
    /// `--pipe`/`--pipepart`: the block the task reads on its standard input (kept while any
    /// copy of the task may run again).
    pub block: Option<Arc<Block>>,
}

impl Task {
    /// How messages name it: `task 3 (line 3)` for a line of a task file, `job 3` for a job of
    /// a command template or a block of `--pipe` (whose "line" says nothing to the user).
    pub fn name(&self) -> String {
        if self.job.is_some() || self.block.is_some() {
            format!("job {}", self.seq)
        } else {
            format!("task {} (line {})", self.seq, self.line)
        }
    }

    /// The task's identity with `seq`: FNV-1a (64-bit) of the command as written. Stable
    /// across hrun versions and machines (it is stored in run logs for `--resume`).
    pub fn hash(&self) -> u64 {
        crate::log::command_hash(&self.cmd)
    }

    /// What `--tag` prefixes a task's output lines with: a job's values, space-separated (as
    /// GNU parallel), or a task-file line itself; `--tagstring`'s `{%}` is `slot` (None: not
    /// known, as in a dry run).
    pub fn tag(&self, slot: Option<usize>) -> String {
        match &self.job {
            Some(job) => job.tag(self.seq, slot),
            None => self.cmd.clone(),
        }
    }

    /// The command to run on slot `slot`, with `{#}` and `{%}` filled in: anywhere in a task
    /// file's line, only in the template's own text for a job (never inside a value).
    pub fn command(&self, slot: usize) -> Cow<'_, str> {
        match &self.job {
            None => expand(&self.cmd, self.seq, slot),
            Some(job) => Cow::Owned(job.command(self.seq, slot)),
        }
    }
}

/// Expands GNU parallel's replacement strings `{%}` (slot) and `{#}` (task number).
pub fn expand(cmd: &str, seq: u64, slot: usize) -> Cow<'_, str> {
    if !cmd.contains("{%}") && !cmd.contains("{#}") {
        return Cow::Borrowed(cmd);
    }
    Cow::Owned(cmd.replace("{%}", &slot.to_string()).replace("{#}", &seq.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_strings() {
        assert_eq!(expand("run --seed {#} --slot {%}", 7, 3), "run --seed 7 --slot 3");
        assert!(matches!(expand("plain", 1, 1), Cow::Borrowed(_)));
        assert_eq!(expand("{#}{#}", 12, 1), "1212");
    }
}
