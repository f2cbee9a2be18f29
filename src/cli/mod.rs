//! The command line (clap derive): subcommands and their flags, nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod control;
mod exec;
mod exec_fill;
pub mod gnu_doc;
mod gnu_extra;
mod gnu_run;
pub mod gnu_words;

pub use control::{FaultArgs, PlacementArgs, ProgressArgs, RunControl};
use exec::{EXEC_EXAMPLES, task_file_first};
pub use exec::{ExecArgs, GnuArgs, TemplateArgs};
pub use exec_fill::FillArgs;
pub use gnu_extra::GnuExtraArgs;
pub use gnu_run::GnuRunArgs;

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

    /// `hrun man [COMMAND]`: the man page (roff) of hrun, or of one of its commands: the
    /// pages hrun(1)'s SUBCOMMANDS section names (`hrun man exec` is hrun-exec(1)).
    pub fn man_page(command: Option<&str>) -> anyhow::Result<Vec<u8>> {
        // No `help` command: its page would only repeat the others' names.
        let mut cli = Cli::documented().disable_help_subcommand(true);
        cli.build();
        let page_of = match command {
            None => cli,
            Some(name) => cli.find_subcommand(name).cloned().ok_or_else(|| {
                let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
                crate::exit::UsageError(anyhow::anyhow!(
                    "man: no command {name:?} (one of: {})",
                    names.join(", ")
                ))
            })?,
        };
        let mut page = Vec::new();
        clap_mangen::Man::new(page_of).render(&mut page)?;
        Ok(page)
    }

    /// Parses hrun's command line (the program name first); bad usage prints one line and
    /// exits 2. Options after a task file (`hrun exec tasks.txt --resume`, as hrun has always
    /// taken them) are read as options: a task file is never a command.
    pub fn parse_argv(argv: Vec<std::ffi::OsString>) -> Cli {
        let argv = gnu_options_answered(gnu_words::exec_shebang(gnu_words::as_parallel(argv)));
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

/// `hrun exec`'s words with GNU parallel's options answered (see [`gnu_words`]); a refused
/// one ends hrun with its line (exit 2).
fn gnu_options_answered(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let Some(at) = argv.iter().skip(1).position(|w| !w.to_string_lossy().starts_with('-')).map(|p| p + 1)
    else {
        return argv;
    };
    if argv[at] != "exec" {
        return argv;
    }
    let mut cli = Cli::documented();
    cli.build();
    let Some(exec) = cli.find_subcommand("exec") else { return argv };
    let personality = argv.get(at + 1).is_some_and(|w| w == gnu_words::PERSONALITY);
    match gnu_words::answer_as(exec, &argv[at + 1..], personality) {
        Ok(words) => {
            argv.truncate(at + 1);
            argv.extend(words);
            argv
        }
        Err(refusal) => match refusal.gnu_lines().filter(|_| personality) {
            // As `parallel`, an option GNU itself refuses is said in its words, with its status.
            Some(lines) => {
                for line in lines {
                    eprintln!("parallel: Error: {line}");
                }
                std::process::exit(crate::exit::INTERNAL)
            }
            None => hrun_protocol::cli_error::usage_exit("hrun", &refusal.line()),
        },
    }
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a task file's lines, or a command template over input values (as GNU parallel),
    /// at most one task per slot of CPUs
    // A repeated option: the last one counts, as GNU parallel's parser does (`-k -k`, an
    // option in $PARALLEL and on the command line).
    #[command(after_help = format!("{EXEC_EXAMPLES}{}", crate::exit::help()), args_override_self = true)]
    Exec(Box<ExecArgs>),

    /// Write a task file for the bundled Monte Carlo pi worker, one seed per task
    #[command(after_help = concat!(
        "Examples:\n",
        "  hrun gen --tasks 36 --threads 4 > tasks.txt   # one exclusive 144-core node\n",
        "  hrun exec tasks.txt && hrun reduce results/\n\n",
        "Task i (1..N) runs: hrun-mc-pi -t T -n S --seed BASE+i -o DIR/mc_pi_<i>.toml"
    ))]
    Gen(GenArgs),

    /// Combine the tasks' results: per group of parameters, n, mean, sd, standard error, min, max
    #[command(after_help = concat!(
        "Examples:\n",
        "  hrun exec --results r.csv ./model {a} {b} ::: 1 2 ::: x y ::: 1 2 3   # seeds last\n",
        "  hrun reduce r.csv                # grouped by V1, V2; reduced over the seeds (V3)\n",
        "  hrun reduce r.csv --by V1 --csv  # grouped by V1 only, as CSV\n",
        "  hrun reduce out/                 # one file per task: a number, key = value, JSON, CSV\n",
        "  hrun reduce results/ --json      # the bundled worker's files: one pooled pi estimate\n\n",
        "A task's fields: its Stdout (a table's, a run log's --output-dir files) or its file, as a number, ",
        "key = value lines, a JSON object or a CSV header and row; a table adds JobRuntime. A directory ",
        "holding hrun-mc-pi result files (*.toml) gives the worker's pooled estimate instead. Exit status: ",
        "0 ok; 2 no results, a missing path, or bad input (a failed task, a field that is not a number) ",
        "without --skip-bad"
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
        "  hrun tune -n 5000000 --strong -- ./sim -t {threads} -n {samples}   # samples/s\n",
        "  hrun tune -n 1000000 -- python3 pi.py -n {samples}  # T x S each (OMP_NUM_THREADS=T)\n\n",
        "Throughput is the work all slots do per second of the node: samples (T x S a task) with\n",
        "{samples}, else tasks (a task's work taken as the same whatever T: tune says so). The\n",
        "CPUs column is a task's CPU time over its wall time (/usr/bin/time's Percent of CPU / 100):\n",
        "a program near 1 whatever T does not use its threads, and tune says so.\n\n",
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
        /// [default: .hrun, where hrun exec keeps its run logs]
        #[arg(value_name = "LOG|DIR")]
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
        /// timeline row per slot of each [default: .hrun]
        #[arg(value_name = "LOG|DIR")]
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
        "One row per task of one sweep that finished (its last attempt), in task order. A sweep is\n",
        "a run without --resume and the runs that resumed it, over the logs of its shards; logs of\n",
        "several sweeps give the latest, and a note lists the others (--sweep N). Stdout and\n",
        "Stderr are filled where the run wrote them to --output-dir."
    ))]
    Results {
        /// Run logs, or directories of them (every *.hrun.jsonl) [default: .hrun]
        #[arg(value_name = "LOG|DIR")]
        logs: Vec<PathBuf>,
        /// FILE.csv, FILE.tsv or FILE.json (`-.tsv` etc.: standard output) [default: -.csv]
        #[arg(short, long, value_name = "FILE", allow_hyphen_values = true)]
        output: Option<PathBuf>,
        /// Which sweep of the logs, by its number in the note listing them (1: the first
        /// started) [default: the latest]
        #[arg(long, value_name = "N")]
        sweep: Option<usize>,
    },

    /// Print the man page (roff) of hrun, or of COMMAND (hrun-COMMAND(1)), e.g. `hrun man >
    /// ~/.local/share/man/man1/hrun.1`, `hrun man exec > ~/.local/share/man/man1/hrun-exec.1`
    Man {
        /// A command of hrun (exec, gen, ...): its page, hrun-COMMAND(1)
        command: Option<String>,
    },

    /// Show the effective defaults and where each comes from (flags > environment > hrun.toml)
    #[command(
        after_help = "hrun.toml (current directory, else ~/.config/hrun/, or $HRUN_CONFIG):\n  threads = 4\n  grace = \"30s\"\n  retries = 3\n  log = \"runs/sweep.jsonl\""
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

    /// A wave shorter than this is too short to measure: its T runs again with several tasks
    /// per slot (0s: never)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::duration::parse)]
    pub min_wave: std::time::Duration,

    /// The worker binary [default: hrun-mc-pi beside hrun, else on PATH]
    #[arg(long, value_name = "PATH")]
    pub worker: Option<PathBuf>,

    #[command(flatten)]
    pub placement: PlacementArgs,

    /// A command to sweep instead of the worker; `{threads}` is replaced by T, `{samples}` by
    /// the samples per thread (-n S; with --strong, S x CPUs / (slots x T)), or, in a command
    /// without `{threads}`, by the task's samples (T x S: S per CPU of its slot)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
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
    /// Results tables (--results FILE.csv|.tsv|.json), run logs (.jsonl), or directories of
    /// per-task files or of worker result files (several: e.g. one per node)
    #[arg(required = true, value_name = "PATH")]
    pub dirs: Vec<PathBuf>,

    /// Group by these parameters (value columns V1.. or --header names) or text fields;
    /// `--by ''` for one group [default: every value column but the last]
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub by: Option<Vec<String>>,

    /// Print one JSON object (the worker's: keys tasks, samples, hits, pi, stderr, z, ...;
    /// others: by, groups [{group, field, n, mean, sd, se, min, max}], skipped)
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print CSV: the grouping columns, field, n, mean, sd, se, min, max
    #[arg(long)]
    pub csv: bool,

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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own consistency checks: ids, conflicts, requirements, headings, defaults.
        super::Cli::command().debug_assert();
    }

    #[test]
    fn the_docs_list_the_exit_statuses_help_gives() {
        let page = include_str!("../../docs/faults.md");
        let table = page.split("## Exit status").nth(1).expect("docs/faults.md has an Exit status section");
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
        assert_eq!(a, b, "docs/faults.md's exit statuses and exit::STATUSES differ");
    }
}
