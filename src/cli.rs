//! The command line (clap derive): subcommands and their flags, nothing else.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXIT_STATUSES: &str = "\
Exit status:
  0        every task succeeded (or the task file had none)
  1-100    that many tasks failed (exit code not 0, or killed by a signal)
  101      more than 100 tasks failed
  2        bad usage or input: refused before any task started, or stopped
           starting tasks at a bad line of the task file
  128+N    signal N stopped the run (SIGINT 130, SIGTERM 143, SIGHUP 129)
  255      hrun itself failed while running (e.g. could not write its log)";

#[derive(Debug, Parser)]
#[command(
    name = "hrun",
    version,
    about = "Run many independent tasks on one HPC node, each pinned to its own CPUs",
    after_help = EXIT_STATUSES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run every line of a task file, at most one task per slot of CPUs
    #[command(after_help = concat!(
        "Examples:\n",
        "  hrun exec tasks.txt                    # threads from the file's `#hrun threads=N`, else 1\n",
        "  hrun exec --threads 4 tasks.txt        # 4 CPUs per task, as many tasks as fit\n",
        "  seq 100 | sed 's/^/sim --seed /' | hrun exec -\n\n",
        "Exit status:\n",
        "  0 all ok; 1-100 that many failed; 101 more failed; 2 bad usage or input;\n",
        "  128+N stopped by signal N; 255 hrun itself failed"
    ))]
    Exec(ExecArgs),
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Task file: one shell command per line (`-` reads standard input). Blank lines and
    /// lines starting with `#` are skipped; `#hrun threads=N` at the top sets the threads
    pub taskfile: PathBuf,

    /// CPUs per task (overrides the task file's `#hrun threads=N`; default 1)
    #[arg(short = 't', long, value_name = "T")]
    pub threads: Option<usize>,

    /// Run at most J tasks at once (default: every slot, floor(CPUs / T))
    #[arg(short = 'j', long, value_name = "J")]
    pub jobs: Option<usize>,

    /// Run log, JSON lines, appended to [default: <taskfile stem>.hrun.jsonl]
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,

    /// Also write GNU parallel's joblog format to PATH (rewritten each run)
    #[arg(long, value_name = "PATH")]
    pub joblog: Option<PathBuf>,

    /// Write each task's output to DIR/<seq>.out and DIR/<seq>.err instead of hrun's
    /// stdout/stderr
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// After SIGINT/SIGTERM/SIGHUP is forwarded to the tasks, wait this long before SIGKILL
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::duration::parse)]
    pub grace: Duration,
}
