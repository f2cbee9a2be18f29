//! GNU parallel's options for when jobs start and how they are stopped (`--term-seq`,
//! `--memfree`, `--load`, `--ssh-delay`), and for colouring their output (`--color`,
//! `--color-failed`, `--ctag`, `--ctag-string`).

use std::time::Duration;

use clap::Args;

/// When jobs start and how they are stopped (issue 22).
#[derive(Debug, Args)]
#[command(next_help_heading = "GNU parallel: starting and stopping jobs")]
pub struct GnuRunArgs {
    /// The signals, each followed by a wait in ms, that end a task hrun stops (--timeout,
    /// --halt now, Ctrl-C, the deadline), e.g. TERM,200,TERM,100,TERM,50,KILL,25 (GNU's
    /// default, and hrun's as `parallel`) [default: the signal, --grace, KILL]
    #[arg(long, alias = "termseq", value_name = "SIG,MS,...", conflicts_with = "grace")]
    pub term_seq: Option<crate::exec::term_seq::TermSeq>,

    /// The --delay when none is given (GNU parallel: between ssh starts), in seconds
    #[arg(long, alias = "sshdelay", value_name = "SECONDS", value_parser = crate::duration::parse)]
    pub ssh_delay: Option<Duration>,
}
