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

    /// Start a job only while the node has SIZE free (MemFree + Buffers + Cached + SwapCached,
    /// as GNU parallel; 1k = 1000, 1K = 1024, M, G...); below SIZE/2 the youngest job is
    /// stopped by --term-seq (it fails; --retries runs it again)
    #[arg(long, value_name = "SIZE", value_parser = crate::exec::gate::parse_memfree)]
    pub memfree: Option<u64>,

    /// Start a job only while the 1-minute load average is below MAX: a number, +N or -N
    /// (the CPUs plus or minus N), N% of the CPUs, or a file holding one
    #[arg(long, value_name = "MAX", value_parser = crate::exec::gate::parse_load, allow_hyphen_values = true)]
    pub load: Option<crate::exec::gate::Load>,

    /// Each job's output lines in a colour of its own (by its job number), as GNU parallel
    #[arg(long, alias = "colour")]
    pub color: bool,

    /// A failed job's output lines white on red, as GNU parallel
    #[arg(
        long,
        alias = "colour-failed",
        alias = "colorfailed",
        alias = "colourfailed",
        alias = "color-fail",
        alias = "colour-fail",
        alias = "colorfail",
        alias = "colourfail",
        alias = "cf"
    )]
    pub color_failed: bool,

    /// --tag with --color
    #[arg(long)]
    pub ctag: bool,

    /// --tagstring STR with --color
    #[arg(long, alias = "ctagstring", value_name = "STR")]
    pub ctag_string: Option<String>,

    /// The --delay when none is given (GNU parallel: between ssh starts), in seconds
    #[arg(long, alias = "sshdelay", value_name = "SECONDS", value_parser = crate::duration::parse)]
    pub ssh_delay: Option<Duration>,
}

impl GnuRunArgs {
    /// `--color`, `--color-failed` (`--ctag` and `--ctag-string` colour too).
    pub fn colors(&self) -> crate::exec::color::Colors {
        crate::exec::color::Colors {
            each: self.color || self.ctag || self.ctag_string.is_some(),
            failed: self.color_failed,
        }
    }

    /// What holds jobs back. `hrun exec` refuses a `--memfree` above the node's memory (no
    /// job could ever start); as `parallel`, hrun waits for ever, as GNU does.
    pub fn gate(&self, personality: bool) -> Result<crate::exec::gate::Gate, String> {
        let total = crate::exec::gate::total_now();
        if let (Some(want), Some(total), false) = (self.memfree, total, personality)
            && want > total
        {
            return Err(format!(
                "--memfree {want} bytes is more than this node's memory ({total} bytes): no job could \
                 ever start; give at most {total}"
            ));
        }
        let cpus = crate::sys::affinity().map_or(1, |c| c.len().max(1));
        Ok(crate::exec::gate::Gate { memfree: self.memfree, load: self.load.clone(), cpus })
    }
}
