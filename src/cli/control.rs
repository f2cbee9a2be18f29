//! How a run is carried out, as `exec` and `run` (and `slots`, `tune` for placement) share
//! it: jobs, placement, progress, faults and time limits; each group resolved over the config
//! layers.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::{Config, Dur};

/// Where slots go: shared by every subcommand that plans slots.
#[derive(Debug, Args)]
#[command(next_help_heading = "Slots and placement")]
pub struct PlacementArgs {
    /// Use only these of the usable CPUs (kernel list format, e.g. 0-3,8)
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub cpus: Option<crate::cpuset::CpuSet>,

    /// SMT siblings: `avoid` gives each slot distinct physical cores (the siblings
    /// stay idle), `use` counts every hardware thread as a CPU
    #[arg(long, value_enum)]
    pub smt: Option<crate::slots::Smt>,

    /// Read the CPU topology (and, then, the usable CPUs) from this sysfs tree instead of /sys
    #[arg(long, value_name = "DIR", env = "HRUN_SYSFS_ROOT")]
    pub sysfs_root: Option<PathBuf>,
}

impl PlacementArgs {
    pub fn placement(&self, cfg: &Config) -> anyhow::Result<crate::placement::Placement> {
        Ok(crate::placement::Placement {
            cpus: self.cpus.clone(),
            smt: cfg.value("smt", self.smt)?,
            sysfs_root: self.sysfs_root.clone(),
        })
    }
}

/// How a run is carried out: shared by `exec` and `run`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Slots and placement")]
pub struct RunControl {
    /// Run at most J tasks at once (default: every slot, floor(CPUs / T)); also N% of the
    /// usable CPUs, +N or -N CPUs, as GNU parallel; or a file holding one of those, read at
    /// the start (GNU reads it again as jobs end). Above the slot count, slots share CPUs
    #[arg(
        short = 'j',
        long,
        visible_short_alias = 'P',
        alias = "max-procs",
        value_name = "J",
        allow_hyphen_values = true,
        value_parser = crate::slots::Jobs::from_arg
    )]
    pub jobs: Option<crate::slots::Jobs>,

    #[command(flatten)]
    pub faults: FaultArgs,

    #[command(flatten)]
    pub placement: PlacementArgs,

    #[command(flatten)]
    pub progress: ProgressArgs,
}

/// `--retries N` as GNU parallel means it (N attempts in all; 0 for no end) in the engine's
/// terms: attempts after the first.
fn extra_attempts(attempts: u32) -> u32 {
    attempts.checked_sub(1).unwrap_or(u32::MAX)
}

/// The shortest `--progress-interval`.
pub const MIN_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// What hrun shows while it runs: shared by `exec` and `run`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Progress")]
pub struct ProgressArgs {
    /// Without a terminal (e.g. a Slurm log), print a status line this often
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub progress_interval: Option<Duration>,

    /// No progress bar or status lines
    #[arg(short, long)]
    pub quiet: bool,
}

impl ProgressArgs {
    pub fn mode(&self, cfg: &Config) -> anyhow::Result<crate::exec::progress::ProgressMode> {
        let every = cfg.value("progress_interval", self.progress_interval.map(Dur))?.0;
        // A status line every few microseconds is a flood, not progress (0s busy-looped).
        if every < MIN_PROGRESS_INTERVAL {
            let from = match self.progress_interval {
                Some(_) => "--progress-interval".to_string(),
                None => cfg.origin("progress_interval").map_or("default".into(), |o| o.to_string()),
            };
            return Err(crate::exit::UsageError(anyhow::anyhow!(
                "progress interval {every:?} (from {from}) is too short: give at least {MIN_PROGRESS_INTERVAL:?}"
            ))
            .into());
        }
        Ok(crate::exec::progress::ProgressMode::detect(self.quiet, every))
    }
}

/// How tasks are supervised: shared by `exec` and `run`.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Faults and time limits")]
pub struct FaultArgs {
    /// After SIGTERM (forwarded, --timeout, --halt now), wait this long before SIGKILL
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub grace: Option<Duration>,

    /// Stop a task after DURATION (e.g. 30m), or after N% of the median runtime of the tasks
    /// that succeeded so far (e.g. 300%, once 3 have): SIGTERM, grace, SIGKILL
    #[arg(long, value_name = "DURATION|N%")]
    pub timeout: Option<crate::exec::timeout::Timeout>,

    /// Attempts per task, as GNU parallel: a failed task runs again until it has been tried N
    /// times (0: until it succeeds); the log keeps every attempt
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Stop early, as GNU parallel: now|soon,fail|success|done=N|X% (e.g. now,fail=1)
    #[arg(long, value_name = "WHEN,WHY=N")]
    pub halt: Option<crate::exec::halt::Halt>,

    /// How long processes a task left behind may outlive it before they are killed
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub leak_timeout: Option<Duration>,

    /// Start no task that would end (at the median runtime so far) after this time minus
    /// --deadline-margin: auto (the Slurm job's end), none, +DURATION, a local time
    /// YYYY-MM-DDTHH:MM[:SS] (Z: UTC) or @UNIX_SECONDS. At the deadline, running tasks are
    /// stopped. Tasks not run are left for --resume
    #[arg(long, value_name = "WHEN")]
    pub deadline: Option<crate::deadline::Spec>,

    /// Room to leave between a task's expected end and the deadline
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub deadline_margin: Option<Duration>,
}

impl FaultArgs {
    /// The flags over the environment and config file.
    pub fn policy(&self, cfg: &Config) -> anyhow::Result<crate::exec::Policy> {
        let policy = self.layered(cfg)?;
        crate::deadline::check_environment(policy.deadline)
            .map_err(|e| crate::exit::UsageError(anyhow::anyhow!(e)))?;
        Ok(policy)
    }

    /// The flags over `cfg`'s layers, without looking at the Slurm job.
    pub(crate) fn layered(&self, cfg: &Config) -> anyhow::Result<crate::exec::Policy> {
        let deadline = cfg.value("deadline", self.deadline)?;
        Ok(crate::exec::Policy {
            term_seq: crate::exec::term_seq::TermSeq::with_grace(cfg.value("grace", self.grace.map(Dur))?.0),
            timeout: cfg.get("timeout", self.timeout)?,
            retries: extra_attempts(cfg.value("retries", self.retries)?),
            halt: cfg.value("halt", self.halt)?,
            leak_timeout: cfg.value("leak_timeout", self.leak_timeout.map(Dur))?.0,
            deadline,
            deadline_margin: cfg.value("deadline_margin", self.deadline_margin.map(Dur))?.0,
        })
    }
}

impl Default for crate::exec::Policy {
    /// The built-in defaults, as declared in [`crate::config`] (no file, no environment).
    fn default() -> Self {
        FaultArgs::default().layered(&crate::config::Config::builtin()).expect("the built-in defaults parse")
    }
}
