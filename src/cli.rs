//! The command line (clap derive): subcommands and their flags, nothing else.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Dur};

const EXIT_STATUSES: &str = "\
Exit status:
  0        every task succeeded (or the task file had none)
  1-100    that many tasks failed (exit code not 0, or killed by a signal)
  101      more than 100 tasks failed
  2        bad usage or input: refused before any task started, or stopped
           starting tasks at a bad line of the task file
  128+N    signal N stopped the run (SIGINT 130, SIGTERM 143, SIGHUP 129)
  255      hrun itself failed while running (e.g. could not write its log,
           or its standard output)";

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
        "  seq 100 | sed 's/^/sim --seed /' | hrun exec -\n",
        "  hrun exec --resume tasks.txt           # next job: run what the log does not show as done\n",
        "  hrun exec --timeout 300% --retries 2 --halt soon,fail=10% tasks.txt\n\n",
        "Signals: SIGINT/SIGTERM/SIGHUP are forwarded to the tasks, SIGKILL follows after --grace;\n",
        "SIGUSR1 (sbatch --signal=B:USR1@60) starts no new task and lets running ones finish.\n\n",
        "Exit status:\n",
        "  0 all ok; 1-100 that many failed; 101 more failed; 2 bad usage or input;\n",
        "  128+N stopped by signal N; 255 hrun itself failed"
    ))]
    Exec(ExecArgs),

    /// Write a task file for the bundled Monte Carlo pi worker, one seed per task
    #[command(after_help = concat!(
        "Examples:\n",
        "  hrun gen --tasks 36 --threads 4 > tasks.txt   # one exclusive 144-core node\n",
        "  hrun exec tasks.txt && hrun reduce results/\n\n",
        "Task i (1..N) runs: hrun-mc-pi -t T -n S --seed BASE+i -o DIR/mc_pi_<i>.toml"
    ))]
    Gen(GenArgs),

    /// Combine the worker result files of a directory into one pi estimate
    #[command(after_help = concat!(
        "Example:\n  hrun reduce results/ --json\n\n",
        "Reads every *.toml in DIR (hidden files are skipped). Exit status: 0 ok; 2 no results, ",
        "a missing directory, or a bad file without --skip-bad"
    ))]
    Reduce(ReduceArgs),

    /// Gen + exec + reduce in one command, into a fresh run directory
    #[command(after_help = concat!(
        "Example:\n  hrun run --tasks 8 --threads 1\n\n",
        "Writes DIR/tasks.txt, DIR/hrun.jsonl (the run log) and DIR/results/, then prints the ",
        "estimate. Exit status as hrun exec."
    ))]
    Run(RunArgs),

    /// Show the slot plan `exec` would use: each slot's CPUs and domains, and the leftover
    #[command(after_help = concat!(
        "Examples:\n",
        "  hrun slots --threads 4                 # the plan on the CPUs this shell may use\n",
        "  hrun slots --threads 8 --json\n",
        "  hrun slots --threads 4 --sysfs-root fake/sys   # a node described by a sysfs tree"
    ))]
    Slots(SlotsArgs),

    /// Sweep the thread count: one full wave of tasks per T, compare throughput, recommend a T
    #[command(after_help = concat!(
        "Examples:\n",
        "  hrun tune                                  # bundled worker, every T dividing the CPUs\n",
        "  hrun tune --threads-list 1,2,4 --strong\n",
        "  hrun tune -- ./sim --threads {threads} --steps 100   # your program, tasks/s"
    ))]
    Tune(TuneArgs),

    /// Where a run stands, from its log (also while it runs): done, failed, running, left, ETA
    #[command(
        after_help = "Example:\n  hrun status tasks.hrun.jsonl        # from another shell, or after the run"
    )]
    Status {
        /// Run logs, or directories of them (every *.hrun.jsonl: e.g. one per shard)
        #[arg(required = true, value_name = "LOG|DIR")]
        logs: Vec<PathBuf>,
    },

    /// Print a shell completion script (e.g. `hrun completions bash > ~/.local/share/bash-completion/completions/hrun`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Write a self-contained HTML report of a run: timeline per slot, wall times, summary
    #[command(after_help = "Example:\n  hrun report tasks.hrun.jsonl -o report.html")]
    Report {
        /// Run logs, or directories of them (every *.hrun.jsonl: e.g. one per shard); one
        /// timeline row per slot of each
        #[arg(required = true, value_name = "LOG|DIR")]
        logs: Vec<PathBuf>,
        /// Where to write the page [default: the (first) log's name with .html]
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
    },

    /// Print the man page (roff), e.g. `hrun man > ~/.local/share/man/man1/hrun.1`
    Man,

    /// Show the effective defaults and where each comes from (flags > environment > hrun.toml)
    #[command(
        after_help = "hrun.toml (current directory, else ~/.config/hrun/, or $HRUN_CONFIG):\n  threads = 4\n  grace = \"30s\"\n  retries = 2\n  log = \"runs/sweep.jsonl\""
    )]
    Config,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Samples per thread (weak scaling), or per CPU of the node with --strong
    #[arg(short = 'n', long, value_name = "S", default_value_t = 100_000_000)]
    pub samples: u64,

    /// Thread counts to try [default: every T that divides the usable CPUs]
    #[arg(long, value_name = "T,T,...", value_delimiter = ',')]
    pub threads_list: Option<Vec<usize>>,

    /// Keep the total work fixed instead of the work per thread
    #[arg(long)]
    pub strong: bool,

    /// The worker binary [default: hrun-mc-pi beside hrun, else on PATH]
    #[arg(long, value_name = "PATH")]
    pub worker: Option<PathBuf>,

    #[command(flatten)]
    pub placement: PlacementArgs,

    /// A command to sweep instead of the worker; `{threads}` is replaced by T
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Where slots go: shared by every subcommand that plans slots.
#[derive(Debug, Args)]
pub struct PlacementArgs {
    /// Use only these of the usable CPUs (kernel list format, e.g. 0-3,8)
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<crate::cpuset::CpuSet>,

    /// SMT siblings: `avoid` (default) gives each slot distinct physical cores (the siblings
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
            smt: cfg.get("smt", self.smt)?.unwrap_or_default(),
            sysfs_root: self.sysfs_root.clone(),
        })
    }
}

#[derive(Debug, Args)]
pub struct SlotsArgs {
    /// CPUs per slot
    #[arg(short = 't', long, value_name = "T", default_value_t = 1)]
    pub threads: usize,

    /// Print one JSON object: {"threads", "slots": [{"slot", "cpus", "package", "numa", "l3"}], "leftover", ...}
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub placement: PlacementArgs,
}

#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// Number of tasks (one seed each)
    #[arg(long, value_name = "N")]
    pub tasks: u64,

    /// Threads per task (also the task file's `#hrun threads=T`)
    #[arg(short = 't', long, value_name = "T")]
    pub threads: usize,

    /// Samples per thread
    #[arg(short = 'n', long, value_name = "S", default_value_t = crate::generate::DEFAULT_SAMPLES)]
    pub samples: u64,

    /// Seed base: task i gets seed BASE + i
    #[arg(long, value_name = "BASE", default_value_t = 0)]
    pub seed: u64,

    /// The worker binary [default: hrun-mc-pi beside hrun, else on PATH]
    #[arg(long, value_name = "PATH")]
    pub worker: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Directory the workers write their results to (made absolute)
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReduceArgs {
    /// Directories of worker result files (several: e.g. one per node); a seed counts once
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    /// Print one JSON object (keys tasks, samples, hits, pi, stderr, z, samples_per_s, ...)
    #[arg(long)]
    pub json: bool,

    /// Skip corrupt or foreign files with a warning instead of failing
    #[arg(long)]
    pub skip_bad: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Run directory, which must be new or empty [default: hrun-run-<UTC time>]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Print the estimate as one JSON object
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub control: RunControl,
}

/// How a run is carried out: shared by `exec` and `run`.
#[derive(Debug, Args)]
pub struct RunControl {
    /// Run at most J tasks at once (default: every slot, floor(CPUs / T))
    #[arg(short = 'j', long, value_name = "J")]
    pub jobs: Option<usize>,

    #[command(flatten)]
    pub faults: FaultArgs,

    #[command(flatten)]
    pub placement: PlacementArgs,

    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Task file: one shell command per line (`-` reads standard input). Blank lines and
    /// lines starting with `#` are skipped; `#hrun threads=N` at the top sets the threads
    pub taskfile: PathBuf,

    /// CPUs per task (overrides the task file's `#hrun threads=N`; default 1)
    #[arg(short = 't', long, value_name = "T")]
    pub threads: Option<usize>,

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

    #[command(flatten)]
    pub control: RunControl,

    /// Run only the tasks the run log does not show as finished (succeeded, or failed on
    /// their last attempt), e.g. after a crash, a time limit or SIGUSR1
    #[arg(long, conflicts_with = "resume_failed")]
    pub resume: bool,

    /// Like --resume, and also run again the tasks that failed
    #[arg(long)]
    pub resume_failed: bool,

    /// With --resume: run tasks whose line changed since the log was written, instead of
    /// refusing
    #[arg(long)]
    pub force: bool,

    /// Run only shard K of N (1-based): the tasks with (seq - 1) mod N = K - 1, logging to
    /// <stem>.shard-K-of-N.hrun.jsonl; `auto` takes K and N from srun (SLURM_PROCID/NTASKS)
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<crate::shard::ShardSpec>,
}

/// What hrun shows while it runs: shared by `exec` and `run`.
#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// Without a terminal (e.g. a Slurm log), print a status line this often (default 30s)
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub progress_interval: Option<Duration>,

    /// No progress bar or status lines
    #[arg(short, long)]
    pub quiet: bool,
}

impl ProgressArgs {
    pub fn mode(&self, cfg: &Config) -> anyhow::Result<crate::exec::progress::ProgressMode> {
        let every = cfg
            .get("progress_interval", self.progress_interval.map(Dur))?
            .map_or(Duration::from_secs(30), |d| d.0);
        Ok(crate::exec::progress::ProgressMode::detect(self.quiet, every))
    }
}

/// How tasks are supervised: shared by `exec` and `run`.
#[derive(Debug, Args)]
pub struct FaultArgs {
    /// After SIGTERM (forwarded, --timeout, --halt now), wait this long before SIGKILL
    /// (default 10s)
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub grace: Option<Duration>,

    /// Stop a task after DURATION (e.g. 30m), or after N% of the median runtime of the tasks
    /// that succeeded so far (e.g. 300%, once 3 have): SIGTERM, grace, SIGKILL
    #[arg(long, value_name = "DURATION|N%")]
    pub timeout: Option<crate::exec::timeout::Timeout>,

    /// Run a failed task up to N more times; the log keeps every attempt (default 0)
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Stop early, as GNU parallel: now|soon,fail|success|done=N|X% (e.g. now,fail=1;
    /// default never)
    #[arg(long, value_name = "WHEN,WHY=N")]
    pub halt: Option<crate::exec::halt::Halt>,

    /// How long processes a task left behind may outlive it before they are killed
    /// (default 500ms)
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub leak_timeout: Option<Duration>,

    /// Start no task that would end (at the median runtime so far) after this time minus
    /// --deadline-margin: auto (default: the Slurm job's end), none, +DURATION, a local time
    /// YYYY-MM-DDTHH:MM[:SS] (Z: UTC) or @UNIX_SECONDS. At the deadline, running tasks are
    /// stopped. Tasks not run are left for --resume
    #[arg(long, value_name = "WHEN")]
    pub deadline: Option<crate::deadline::Spec>,

    /// Room to leave between a task's expected end and the deadline (default 30s)
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub deadline_margin: Option<Duration>,
}

impl FaultArgs {
    /// The flags over the environment and config file.
    pub fn policy(&self, cfg: &Config) -> anyhow::Result<crate::exec::Policy> {
        let d = crate::exec::Policy::default();
        let deadline = cfg.get("deadline", self.deadline)?.unwrap_or(d.deadline);
        crate::deadline::check_environment(deadline)
            .map_err(|e| crate::exit::UsageError(anyhow::anyhow!(e)))?;
        Ok(crate::exec::Policy {
            grace: cfg.get("grace", self.grace.map(Dur))?.map_or(d.grace, |v| v.0),
            timeout: cfg.get("timeout", self.timeout)?,
            retries: cfg.get("retries", self.retries)?.unwrap_or(d.retries),
            halt: cfg.get("halt", self.halt)?.unwrap_or(d.halt),
            leak_timeout: cfg
                .get("leak_timeout", self.leak_timeout.map(Dur))?
                .map_or(d.leak_timeout, |v| v.0),
            deadline,
            deadline_margin: cfg
                .get("deadline_margin", self.deadline_margin.map(Dur))?
                .map_or(d.deadline_margin, |v| v.0),
        })
    }
}
