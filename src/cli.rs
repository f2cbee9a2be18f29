//! The command line (clap derive): subcommands and their flags, nothing else.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Dur};

#[derive(Debug, Parser)]
#[command(
    name = "hrun",
    version,
    about = "Run many independent tasks on one HPC node, each pinned to its own CPUs",
    after_help = crate::exit::help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

impl Cli {
    /// The command with each setting's default and environment variable in its help
    /// ([`crate::config::document`]): what parsing, completions and the man page use.
    pub fn documented() -> clap::Command {
        crate::config::document(<Cli as clap::CommandFactory>::command())
    }

    /// `hrun completions SHELL`: the completion script.
    pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::documented(), "hrun", &mut script);
        script
    }

    /// `hrun man`: the man page (roff).
    pub fn man_page() -> std::io::Result<Vec<u8>> {
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::documented()).render(&mut page)?;
        Ok(page)
    }

    /// Parses hrun's command line (the program name first); bad usage prints one line and
    /// exits 2. Options after a task file (`hrun exec tasks.txt --resume`, as hrun has always
    /// taken them) are read as options: a task file is never a command.
    pub fn parse_argv(argv: Vec<std::ffi::OsString>) -> Cli {
        let cli: Cli = hrun_protocol::cli_error::parse_with_or_exit("hrun", Cli::documented(), argv.clone());
        let Cmd::Exec(args) = &cli.command else { return cli };
        let Some(reordered) = task_file_first(args, &argv) else { return cli };
        let file = args.words[0].clone();
        let again: Cli = hrun_protocol::cli_error::parse_with_or_exit("hrun", Cli::documented(), reordered);
        if let Cmd::Exec(a) = &again.command
            && a.words != [file.clone()]
        {
            let stray = a.words.first().map_or(String::new(), |w| w.to_string_lossy().into_owned());
            hrun_protocol::cli_error::usage_exit(
                "hrun",
                &format!(
                    "{} is a task file, and {stray:?} after it is not an option of hrun exec",
                    file.to_string_lossy()
                ),
            );
        }
        again
    }
}

/// `hrun exec TASKFILE WORD...` with no input source: the words moved before the task file
/// (after `--`), to be parsed as options.
fn task_file_first(args: &ExecArgs, argv: &[std::ffi::OsString]) -> Option<Vec<std::ffi::OsString>> {
    let w = &args.words;
    let is_marker = |x: &std::ffi::OsString| [":::", ":::+", "::::", "::::+"].iter().any(|m| x == m);
    if w.len() < 2 || !args.template.arg_files.is_empty() || w.iter().any(is_marker) {
        return None;
    }
    let k = argv.len().checked_sub(w.len())?;
    // `hrun exec -- FILE ...`: the user said the words are a command.
    if argv[k..] != w[..] || argv.get(k.wrapping_sub(1)).is_some_and(|a| a == "--") {
        return None;
    }
    if !crate::input::is_task_file(&w[0]) {
        return None;
    }
    let mut out = argv[..k].to_vec();
    out.extend(w[1..].iter().cloned());
    out.push("--".into());
    out.push(w[0].clone());
    Some(out)
}

/// `hrun exec --help`'s examples and notes; the exit statuses follow, from `exit::STATUSES`.
const EXEC_EXAMPLES: &str = concat!(
    "Examples:\n",
    "  hrun exec tasks.txt                    # threads from the file's `#hrun threads=N`, else 1\n",
    "  hrun exec --threads 4 tasks.txt        # 4 CPUs per task, as many tasks as fit\n",
    "  hrun exec ./sim --seed {} ::: 1 2 3    # a template: one task per value, as parallel\n",
    "  hrun exec ./sim -a {1} -b {2} ::: 0.1 0.2 ::: 1 2 3     # every combination\n",
    "  find data -name '*.csv' | hrun exec python3 fit.py {}  # values from stdin\n",
    "  hrun exec --resume tasks.txt           # next job: run what the log does not show as done\n",
    "  hrun exec --timeout 300% --retries 2 --halt soon,fail=10% tasks.txt\n\n",
    "Replacement strings: {} {.} {/} {//} {/.} {#} {%}, and {1} {2.} {-1} ... by source;\n",
    "values are shell-quoted as GNU parallel quotes them, and appended when there are none.\n\n",
    "Signals: SIGINT/SIGTERM/SIGHUP are forwarded to the tasks, SIGKILL follows after --grace;\n",
    "SIGUSR1 (scancel --batch --signal=USR1 JOB) starts no new task and lets running ones finish.\n\n",
);

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a task file's lines, or a command template over input values (as GNU parallel),
    /// at most one task per slot of CPUs
    #[command(after_help = format!("{EXEC_EXAMPLES}{}", crate::exit::help()))]
    Exec(Box<ExecArgs>),

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
        "  hrun tune --repeat 3                       # median and spread of 3 waves per T\n",
        "  hrun tune -- ./sim --threads {threads} --steps 100   # your program, tasks/s\n",
        "  hrun tune -n 5000000 --strong -- ./sim -t {threads} -n {samples}   # samples/s\n\n",
        "Each wave runs in an `hrun exec` of its own (task output is kept from the terminal; a\n",
        "failed task is named with the last line of its stderr). A signal to tune is passed on\n",
        "to the running wave and ends the sweep.\n\n",
        "Exit status: 0 every wave ran without failures; 1 a wave had failed tasks (its row shows\n",
        "no throughput and no figure against the best); 2 bad usage; 102 a wave stopped at the\n",
        "deadline; 128+N signal N stopped the sweep"
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

    /// The results table of finished tasks from run logs, after the fact: GNU parallel's
    /// --results columns (Seq ... Command, V1..Vn, Stdout, Stderr), then hrun's
    #[command(after_help = concat!(
        "Examples:\n",
        "  hrun results sweep.hrun.jsonl                 # CSV on standard output\n",
        "  hrun results logs/ -o results.tsv             # every *.hrun.jsonl of a directory\n\n",
        "One row per task that finished (its last attempt), over every run of the logs, in task\n",
        "order. Stdout and Stderr are filled where the run wrote them to --output-dir."
    ))]
    Results {
        /// Run logs, or directories of them (every *.hrun.jsonl)
        #[arg(required = true, value_name = "LOG|DIR")]
        logs: Vec<PathBuf>,
        /// FILE.csv, FILE.tsv or FILE.json (`-.tsv` etc.: standard output) [default: -.csv]
        #[arg(short, long, value_name = "FILE", allow_hyphen_values = true)]
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
    /// Samples per thread (weak scaling), or per CPU of the node with --strong; for a command,
    /// what {samples} stands for [default for the worker: calibrated, about 0.75 s per task]
    #[arg(short = 'n', long, value_name = "S")]
    pub samples: Option<u64>,

    /// Run each wave N times; the table shows the median wall time and its spread (min-max)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,

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

    /// A command to sweep instead of the worker; `{threads}` is replaced by T, `{samples}` by
    /// the samples per thread (-n S; with --strong, S x CPUs / (slots x T))
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Where slots go: shared by every subcommand that plans slots.
#[derive(Debug, Args)]
#[command(next_help_heading = "Slots and placement")]
pub struct PlacementArgs {
    /// Use only these of the usable CPUs (kernel list format, e.g. 0-3,8)
    #[arg(long, value_name = "LIST")]
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
#[command(next_help_heading = "Slots and placement")]
pub struct RunControl {
    /// Run at most J tasks at once (default: every slot, floor(CPUs / T)); also N% of the
    /// usable CPUs, +N or -N CPUs, as GNU parallel. Above the slot count, slots share CPUs
    #[arg(
        short = 'j',
        long,
        visible_short_alias = 'P',
        alias = "max-procs",
        value_name = "J",
        allow_hyphen_values = true
    )]
    pub jobs: Option<crate::slots::Jobs>,

    #[command(flatten)]
    pub faults: FaultArgs,

    #[command(flatten)]
    pub placement: PlacementArgs,

    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A task file (one shell command per line; `-` reads standard input; blank lines and
    /// lines starting with `#` are skipped; `#hrun threads=N` at the top sets the threads), or
    /// a command template and its input sources, as GNU parallel: COMMAND [ARG...] followed
    /// by `::: VALUE...`, `:::+ VALUE...` (linked to the source before), `:::: FILE...`,
    /// `::::+ FILE...`; with no source, values come from standard input, one per line.
    /// Options end at the command: the words after it are the command's
    #[arg(
        value_name = "TASKFILE | COMMAND [ARG]... [::: VALUE... | :::: FILE...]...",
        trailing_var_arg = true
    )]
    pub words: Vec<std::ffi::OsString>,

    /// CPUs per task (overrides the task file's `#hrun threads=N`)
    #[arg(short = 't', long, value_name = "T")]
    pub threads: Option<usize>,

    /// Run log, JSON lines, appended to [default: <taskfile stem>.hrun.jsonl, or
    /// <program>-<hash>.hrun.jsonl for a template]
    #[arg(help_heading = "Output and logs", long, value_name = "PATH")]
    pub log: Option<PathBuf>,

    /// Also write GNU parallel's joblog format to PATH (rewritten each run)
    #[arg(help_heading = "Output and logs", long, value_name = "PATH")]
    pub joblog: Option<PathBuf>,

    /// Write each task's output to DIR/<seq>.out and DIR/<seq>.err instead of hrun's
    /// stdout/stderr
    #[arg(help_heading = "Output and logs", long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Print each task's output in task order (still one block per task)
    #[arg(help_heading = "Output and logs", short = 'k', long)]
    pub keep_order: bool,

    /// Prefix each line a task prints with its values (tab-separated), as GNU parallel
    #[arg(help_heading = "Output and logs", long, conflicts_with_all = ["ungroup", "output_dir"])]
    pub tag: bool,

    /// Write a table of every finished task to FILE.csv, FILE.tsv or FILE.json (`-.csv` etc.:
    /// standard output): GNU parallel's columns (Seq, Host, Starttime, JobRuntime, Send,
    /// Receive, Exitval, Signal, Command, V1..Vn, Stdout, Stderr), then hrun's (slot, cpus,
    /// rusage, ...). Task output goes into the table instead of to the terminal
    #[arg(
        help_heading = "Output and logs",
        long,
        value_name = "FILE.csv|FILE.tsv|FILE.json",
        conflicts_with = "ungroup",
        allow_hyphen_values = true
    )]
    pub results: Option<PathBuf>,

    /// Let tasks write straight to hrun's stdout and stderr as they run (lines of different
    /// tasks may mix)
    #[arg(help_heading = "Output and logs", short = 'u', long, conflicts_with_all = ["keep_order", "output_dir"])]
    pub ungroup: bool,

    /// Wait at least DURATION between two task starts (e.g. 0.5s)
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub delay: Option<Duration>,

    /// Run shell lines with this shell [default: $PARALLEL_SHELL, else /bin/sh]; a line that
    /// calls a bash function exported with `export -f` runs with bash
    #[arg(long, value_name = "PATH")]
    pub shell: Option<PathBuf>,

    #[command(flatten)]
    pub template: TemplateArgs,

    #[command(flatten)]
    pub control: RunControl,

    /// Run only the tasks the run log does not show as finished (succeeded, or failed on
    /// their last attempt), e.g. after a crash, a time limit or SIGUSR1
    #[arg(help_heading = "Resume and shards", long, conflicts_with = "resume_failed")]
    pub resume: bool,

    /// Like --resume, and also run again the tasks that failed
    #[arg(help_heading = "Resume and shards", long)]
    pub resume_failed: bool,

    /// Accepted for older scripts: --resume now knows tasks by their command, so a changed
    /// task file needs no --force
    #[arg(help_heading = "Resume and shards", long, hide = true)]
    pub force: bool,

    /// Run only shard K of N (1-based): the tasks with (seq - 1) mod N = K - 1, logging to
    /// <stem>.shard-K-of-N.hrun.jsonl; `auto` takes K and N from srun (SLURM_PROCID/NTASKS)
    #[arg(help_heading = "Resume and shards", long, value_name = "K/N|auto")]
    pub shard: Option<crate::shard::ShardSpec>,

    #[command(flatten)]
    pub gnu: GnuFlags,
}

/// How values are read for a command template (GNU parallel's input options).
#[derive(Debug, Args)]
#[command(next_help_heading = "Command templates (GNU parallel)")]
pub struct TemplateArgs {
    /// Read values from FILE, one per line, as an input source before the others
    /// (repeatable; `-` is standard input)
    #[arg(short = 'a', long = "arg-file", value_name = "FILE")]
    pub arg_files: Vec<PathBuf>,

    /// Pair the values of all sources instead of taking every combination; shorter sources
    /// wrap around
    #[arg(long, alias = "xapply")]
    pub link: bool,

    /// Values in files and standard input end with NUL instead of a newline
    #[arg(short = '0', long = "null")]
    pub null: bool,

    /// Values in files and standard input end with DELIM instead of a newline (`\n`, `\t`,
    /// `\r`, `\0` and octal `\NNN` are understood)
    #[arg(short = 'd', long = "delimiter", value_name = "DELIM", conflicts_with = "null")]
    pub delimiter: Option<String>,

    /// Split each value into columns {1} {2} ... where REGEX matches; columns are trimmed
    /// of blanks
    #[arg(short = 'C', long = "colsep", value_name = "REGEX")]
    pub colsep: Option<String>,

    /// `:`: the first value of each source names it, and {name} stands for its column (values
    /// are split at tabs unless --colsep says otherwise)
    #[arg(long, value_name = ":")]
    pub header: Option<String>,

    /// Up to N values per job: {} is all of them, {1}..{N} each; a word holding {} is
    /// repeated for each value (e.g. `seq 0 999 | hrun exec -N 250 python3 work.py`)
    #[arg(short = 'N', long = "max-replace-args", value_name = "N")]
    pub max_replace_args: Option<usize>,

    /// Up to N values per job, {} being all of them, space-separated
    #[arg(short = 'n', long = "max-args", value_name = "N", conflicts_with = "max_replace_args")]
    pub max_args: Option<usize>,

    /// Skip values that are empty or only blanks
    #[arg(short = 'r', long = "no-run-if-empty")]
    pub no_run_if_empty: bool,

    /// Print the commands that would run, one per line, and run nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Write the jobs as a task file (one command per line; `-`: standard output) instead
    /// of running them; `hrun exec FILE` then runs the same tasks
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub emit_tasks: Option<PathBuf>,
}

/// GNU parallel's flags that hrun accepts and ignores, or refuses with what to use instead.
#[derive(Debug, Args)]
pub struct GnuFlags {
    #[arg(long, hide = true)]
    pub will_cite: bool,
    #[arg(long, hide = true)]
    pub no_notice: bool,
    #[arg(long, hide = true)]
    pub bar: bool,
    #[arg(long, hide = true)]
    pub progress: bool,
    #[arg(long, hide = true)]
    pub eta: bool,
    #[arg(short = 'S', long = "sshlogin", hide = true, value_name = "LOGIN")]
    pub sshlogin: Vec<String>,
    #[arg(long = "sshloginfile", alias = "slf", hide = true, value_name = "FILE")]
    pub sshloginfile: Vec<String>,
    #[arg(long, hide = true)]
    pub onall: bool,
    #[arg(long, hide = true)]
    pub nonall: bool,
    #[arg(long, hide = true)]
    pub pipe: bool,
    #[arg(long, hide = true)]
    pub pipepart: bool,
    #[arg(long = "line-buffer", alias = "lb", hide = true)]
    pub line_buffer: bool,
    #[arg(short = 'X', hide = true)]
    pub context_replace: bool,
    #[arg(short = 'm', long = "xargs", hide = true)]
    pub xargs: bool,
    #[arg(short = 'I', hide = true, value_name = "STR")]
    pub replace_str: Option<String>,
}

impl GnuFlags {
    /// Why hrun refuses a GNU parallel flag that was given, and what to use instead.
    pub fn refusal(&self) -> Option<&'static str> {
        if !self.sshlogin.is_empty() || !self.sshloginfile.is_empty() || self.onall || self.nonall {
            return Some(
                "hrun does not ssh to other nodes (-S/--sshlogin/--sshloginfile/--onall): run one hrun \
                 per node under Slurm, `srun --ntasks-per-node=1 hrun exec --shard auto ...` (see \
                 slurm/hrun-multinode.sbatch)",
            );
        }
        if self.pipe || self.pipepart {
            return Some(
                "hrun does not split standard input into blocks (--pipe/--pipepart): split it into \
                 files first (e.g. `split -n l/64 big.txt part.`) and run one task per file \
                 (`hrun exec CMD {} ::: part.*`)",
            );
        }
        if self.context_replace || self.xargs {
            return Some(
                "-X, -m and --xargs (as many values per command as fit) are not supported: give the \
                 number of values per job with -N N (or -n N)",
            );
        }
        if self.replace_str.as_deref().is_some_and(|s| s != "{}") {
            return Some("-I (another replacement string) is not supported: write {} in the command");
        }
        if self.line_buffer {
            return Some(
                "--line-buffer is not supported: use -u (output as it comes, lines of tasks may mix), \
                 the default (one block per task when it ends), or --output-dir DIR (a file per task)",
            );
        }
        None
    }
}

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
        let every = cfg
            .get("progress_interval", self.progress_interval.map(Dur))?
            .map_or(Duration::from_secs(30), |d| d.0);
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

    /// Run a failed task up to N more times; the log keeps every attempt
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
            grace: cfg.value("grace", self.grace.map(Dur))?.0,
            timeout: cfg.get("timeout", self.timeout)?,
            retries: cfg.value("retries", self.retries)?,
            halt: cfg.value("halt", self.halt)?,
            leak_timeout: cfg.value("leak_timeout", self.leak_timeout.map(Dur))?.0,
            deadline,
            deadline_margin: cfg.value("deadline_margin", self.deadline_margin.map(Dur))?.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own consistency checks: ids, conflicts, requirements, headings, defaults.
        super::Cli::command().debug_assert();
    }

    #[test]
    fn readme_lists_the_exit_statuses_help_gives() {
        let readme = include_str!("../README.md");
        let table = readme.split("### Exit status").nth(1).expect("README.md has an Exit status section");
        let listed: Vec<&str> = table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .filter_map(|l| l.split('|').nth(1).map(str::trim))
            .filter(|s| *s != "other")
            .collect();
        let ours: Vec<&str> = crate::exit::STATUSES.iter().map(|(s, _)| *s).collect();
        let mut a = listed.clone();
        let mut b = ours.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b, "README.md's exit statuses and exit::STATUSES differ");
    }
}
