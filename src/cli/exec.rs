//! `hrun exec`'s own flags: the task file or template and its sources, output, resume,
//! and GNU parallel's flags that hrun accepts or refuses.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::RunControl;

/// `hrun exec TASKFILE WORD...` with no input source: the words moved before the task file
/// (after `--`), to be parsed as options.
pub(super) fn task_file_first(
    args: &ExecArgs,
    argv: &[std::ffi::OsString],
) -> Option<Vec<std::ffi::OsString>> {
    let w = &args.words;
    let markers = args.template.markers();
    let is_marker = |x: &std::ffi::OsString| markers.is_marker(x);
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
pub(super) const EXEC_EXAMPLES: &str = concat!(
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
    #[arg(help_heading = "Output and logs", long, conflicts_with_all = ["ungroup", "output_dir", "tagstring"])]
    pub tag: bool,

    /// Prefix each line of a task's output with STR, its replacement strings filled in
    /// (values unquoted), and a tab (as --tag does with the values)
    #[arg(help_heading = "Output and logs", long, value_name = "STR", conflicts_with_all = ["ungroup", "output_dir"])]
    pub tagstring: Option<String>,

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

    /// Show each task's output a whole line at a time as it comes (lines of different tasks
    /// interleave, never cut), as GNU parallel's --line-buffer; with -k, the oldest running
    /// task's lines as they come, the others' in task order when their turn comes
    #[arg(
        help_heading = "Output and logs",
        long,
        conflicts_with_all = ["output_dir", "ungroup", "results"]
    )]
    pub line_buffer: bool,

    /// Wait at least DURATION between two task starts (e.g. 0.5s)
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub delay: Option<Duration>,

    /// Run shell lines with this shell [default: $PARALLEL_SHELL, else the shell hrun was
    /// started from, else $SHELL, else /bin/sh]; values are quoted for it (POSIX shells, csh,
    /// tcsh, fish; any other is refused for a template); a line that calls a bash function
    /// exported with `export -f` runs with bash
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

    /// Run on these nodes of the Slurm allocation (`all`, or a host list such as `node[2-3]`):
    /// one hrun, its log and outputs here, a launcher on each node started with srun; each
    /// task goes to the first free slot of any node
    #[arg(help_heading = "Resume and shards", long, value_name = "all|LIST", conflicts_with = "shard")]
    pub nodes: Option<String>,

    /// Run on these hosts over ssh, as GNU parallel's -S: `[N/][ssh command ][user@]host[:port]`,
    /// comma-separated, `:` for this host; N/ the host's slots. A launcher on each (started by
    /// ssh; hrun must be at --remote-hrun's path there) pins, reaps and reports as on one node
    #[arg(
        help_heading = "Resume and shards",
        short = 'S',
        long,
        value_name = "LOGINS",
        conflicts_with_all = ["shard", "nodes"]
    )]
    pub sshlogin: Vec<String>,

    /// Read sshlogins from this file, one per line (`#` comments; `..`: ~/.parallel/sshloginfile)
    #[arg(
        help_heading = "Resume and shards",
        long,
        visible_alias = "slf",
        value_name = "FILE",
        conflicts_with_all = ["shard", "nodes"]
    )]
    pub sshloginfile: Vec<String>,

    /// The ssh command for --sshlogin hosts (default: $PARALLEL_SSH, else ssh)
    #[arg(help_heading = "Resume and shards", long, value_name = "COMMAND")]
    pub ssh: Option<String>,

    /// The hrun program on the other nodes or hosts (default: this one's path)
    #[arg(help_heading = "Resume and shards", long, value_name = "PATH")]
    pub remote_hrun: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub gnu: GnuArgs,

    #[command(flatten)]
    pub jobs_gnu: GnuJobArgs,

    #[command(flatten)]
    pub pipe: PipeArgs,

    #[command(flatten)]
    pub strings: StringArgs,

    #[command(flatten)]
    pub fill: super::FillArgs,

    #[command(flatten)]
    pub extra: super::GnuExtraArgs,

    #[command(flatten)]
    pub run_gnu: super::GnuRunArgs,
}

/// GNU parallel's `--pipe` and `--pipepart`: a command per block of input.
#[derive(Debug, Args)]
#[command(next_help_heading = "Blocks of input (GNU parallel --pipe)")]
pub struct PipeArgs {
    /// Split standard input into blocks of about --block bytes, never inside a record, and
    /// run the command once per block with the block on its standard input
    #[arg(long, alias = "spreadstdin")]
    pub pipe: bool,

    /// As --pipe, for the file given with -a FILE (or `:::: FILE`): the blocks are found by
    /// seeking, and each task reads its own byte range of the file
    #[arg(long, alias = "pipe-part")]
    pub pipepart: bool,

    /// Bytes per block (k = 1000, K = 1024, M, G...; a record longer than this grows it)
    /// [default: 1M; with --pipepart -10]; negative with --pipepart: that many blocks per slot
    #[arg(long, alias = "block-size", alias = "blocksize", value_name = "SIZE", allow_hyphen_values = true)]
    pub block: Option<String>,

    /// Records end with STR [default: \n] (\n, \t, \r, \0 understood)
    #[arg(long, value_name = "STR")]
    pub recend: Option<String>,

    /// Records start with STR [default: none]
    #[arg(long, value_name = "STR")]
    pub recstart: Option<String>,

    /// --recstart and --recend are regular expressions (as GNU's, without lookaround or
    /// backreferences)
    #[arg(long, alias = "regex")]
    pub regexp: bool,

    /// With --pipe: records are N lines each; without: N lines of input per job, as -N (a
    /// line ending in a blank continues on the next; 0: one value per job)
    #[arg(short = 'L', value_name = "N")]
    pub max_lines: Option<usize>,

    /// {} names a file holding the block (appended to the command when it has no {})
    #[arg(long, conflicts_with = "fifo")]
    pub cat: bool,

    /// {} names a FIFO the block is written into (appended to the command when it has no {})
    #[arg(long)]
    pub fifo: bool,

    /// One job per slot, started by the first blocks; the following blocks are dealt to
    /// whichever job has taken its last one (with --pipepart: one block per slot)
    #[arg(long, alias = "roundrobin", alias = "round")]
    pub round_robin: bool,

    /// Take the record separators out of each block (--recend followed by --recstart, a
    /// --recstart at its start, a --recend at its end), as GNU parallel's --rrs
    #[arg(long, alias = "rrs", alias = "removerecsep")]
    pub remove_rec_sep: bool,

    /// With --pipe and values (::: a b c): one job per value, all at once, each given the
    /// whole input on its standard input (the value in place of {})
    #[arg(long)]
    pub tee: bool,
}

/// GNU parallel's options that hrun exec takes for scripts written for it.
#[derive(Debug, Args)]
#[command(next_help_heading = "GNU parallel")]
pub struct GnuArgs {
    /// Pass VAR to the tasks: on one node every variable of hrun's environment is passed
    /// already, so this is accepted for GNU parallel's scripts and changes nothing
    #[arg(long, value_name = "VAR")]
    pub env: Vec<String>,

    /// Print the number of CPU cores hrun may use (its affinity) and exit
    #[arg(long, alias = "numberofcores", visible_alias = "number-of-cpus")]
    pub number_of_cores: bool,

    /// Print the number of CPU threads hrun may use and exit
    #[arg(long, alias = "numberofthreads")]
    pub number_of_threads: bool,

    /// Print the number of CPU sockets of the CPUs hrun may use and exit
    #[arg(long, alias = "numberofsockets")]
    pub number_of_sockets: bool,

    /// Quote each word of the command whole, its values in it: the line runs the program with
    /// these words and no shell syntax (GNU's -q; in hrun exec, -q is --quiet)
    #[arg(long)]
    pub quote: bool,

    /// Print each command on standard error as it starts (GNU's -t; in hrun exec, -t is
    /// --threads)
    #[arg(long)]
    pub verbose: bool,

    /// Print each command on standard output before its output (-v -v as -v)
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub print_commands: u8,

    /// Cancels -v
    #[arg(long)]
    pub silent: bool,

    /// Each task's output in one block when it ends: the default
    #[arg(long)]
    pub group: bool,

    /// Cancels -k (given in a profile or $PARALLEL)
    #[arg(long)]
    pub no_keep_order: bool,

    /// Ignore GNU parallel's profiles and $PARALLEL (read only when hrun runs as `parallel`)
    #[arg(long)]
    pub plain: bool,

    /// Read GNU parallel's profile NAME instead of its default ones (only when hrun runs as
    /// `parallel`)
    #[arg(short = 'J', long = "profile", value_name = "NAME")]
    pub profile: Vec<String>,

    /// Print the version of GNU parallel whose options hrun exec takes, and hrun's, and exit
    #[arg(short = 'V', long = "version")]
    pub gnu_version: bool,

    /// Exit 255 (saying so) if GNU parallel VERSION is newer than the one whose options hrun
    /// exec takes (20221122), else print that version and exit 0
    #[arg(long, value_name = "VERSION")]
    pub min_version: Option<String>,

    /// As `parallel`: GNU's progress text on standard error (hosts, then a status after each
    /// change); hrun exec shows its own progress whatever this says
    #[arg(long = "progress")]
    pub gnu_progress: bool,

    /// As `parallel`: GNU's progress text with the estimated time left (--progress too)
    #[arg(long = "eta")]
    pub gnu_eta: bool,

    /// hrun runs as `parallel` (its program name): GNU parallel's conventions
    #[arg(long, hide = true)]
    pub gnu_personality: bool,
}

impl TemplateArgs {
    /// The words that start sources (`:::`, `::::`, or `--arg-sep`/`--arg-file-sep`'s).
    pub fn markers(&self) -> crate::template::args::Markers {
        let d = crate::template::args::Markers::default();
        crate::template::args::Markers {
            values: self.arg_sep.clone().unwrap_or(d.values),
            files: self.arg_file_sep.clone().unwrap_or(d.files),
        }
    }
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
    #[arg(long, alias = "dryrun")]
    pub dry_run: bool,

    /// STR stands for {} (all the values) in the command; {} and {1} are then text
    /// (-i: --replace with {})
    #[arg(short = 'I', long = "replace", short_alias = 'i', value_name = "STR", num_args = 0..=1, default_missing_value = "{}")]
    pub replace: Option<String>,

    /// The word that starts a source of values on the command line, instead of :::
    #[arg(long, value_name = "SEP")]
    pub arg_sep: Option<String>,

    /// The word that starts a source of files, instead of ::::
    #[arg(long, value_name = "SEP")]
    pub arg_file_sep: Option<String>,

    /// Take blanks off each value (each column with --colsep): n (none), l, r or lr
    /// [default: lr with --colsep, else n]
    #[arg(long, value_name = "n|l|r|lr")]
    pub trim: Option<String>,

    /// Each input source ends at a value equal to EOF, as in xargs (`-e`/`--eof` alone, or an
    /// empty EOF: no end mark)
    #[arg(short = 'E', long = "eof", short_alias = 'e', value_name = "EOF", num_args = 0..=1, default_missing_value = "")]
    pub eof: Option<String>,

    /// Do not use the first value of the first input source (a `#!` script's own line)
    #[arg(long)]
    pub skip_first_line: bool,

    /// Write the jobs as a task file (one command per line; `-`: standard output) instead
    /// of running them; `hrun exec FILE` then runs the same tasks
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub emit_tasks: Option<PathBuf>,
}

/// GNU parallel's options for where and how each job runs, and where its output goes.
#[derive(Debug, Args)]
#[command(next_help_heading = "GNU parallel: where jobs run")]
pub struct GnuJobArgs {
    /// Start each task in DIR (made with its parents if missing; replacement strings in it are
    /// filled in per job); `.`: the current directory; `...`: a fresh directory per task,
    /// $HOME/.parallel/tmp/HOST-PID-SEQ, removed when the task ends
    #[arg(long = "workdir", visible_alias = "wd", alias = "work-dir", value_name = "DIR")]
    pub workdir: Option<String>,

    /// Run the tasks at niceness N (as `nice`: 19 lowest priority; below hrun's own needs
    /// privilege, and without it the tasks keep hrun's)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub nice: Option<i32>,

    /// Temporary files (buffered task output, --files, --pipe's blocks) go in DIR, which must
    /// exist; tasks get TMPDIR=DIR [default: $TMPDIR, else /tmp]
    #[arg(long, alias = "tempdir", value_name = "DIR")]
    pub tmpdir: Option<std::path::PathBuf>,

    /// Keep each task's stdout in a file of its own in --tmpdir ($TMPDIR), left there, and
    /// print the file's name instead of the output (with --tag, after the tag; -k: in task
    /// order); the tasks' stderr is not shown, and --line-buffer changes nothing, as in GNU
    #[arg(
        long,
        alias = "output-as-files",
        alias = "outputasfiles",
        conflicts_with_all = ["ungroup", "output_dir", "results"]
    )]
    pub files: bool,

    /// Run the tasks in a random order (all are read first; {#} numbers them in that order);
    /// HRUN_SHUF_SEED=N makes the order repeatable
    #[arg(long)]
    pub shuf: bool,
}

/// GNU parallel's further replacement strings, other names for its own, and the numbers they
/// show (issue 22).
#[derive(Debug, Args)]
#[command(next_help_heading = "Replacement strings (GNU parallel)")]
pub struct StringArgs {
    /// GNU's --plus strings: {+/} {+.} {+..} {+...} {..} {...} {/..} {/...} {##} (jobs) {0#}
    /// {0%} (zero-padded), {slot} {host}..., and bash's edits {:-X} {:N} {:N:M} {#X} {##X} {%X}
    /// {%%X} {/X/Y} {/#X/Y} {/%X/Y} {//X/Y} {^X} {^^X} {,X} {,,X} (X a regular expression)
    #[arg(long)]
    pub plus: bool,

    /// STR stands for {.} (the value without its extension)
    #[arg(long = "extensionreplace", alias = "er", value_name = "STR")]
    pub extension_replace: Option<String>,

    /// STR stands for {/} (the basename)
    #[arg(long = "basenamereplace", alias = "bnr", value_name = "STR")]
    pub basename_replace: Option<String>,

    /// STR stands for {//} (the directory)
    #[arg(long = "dirnamereplace", alias = "dnr", value_name = "STR")]
    pub dirname_replace: Option<String>,

    /// STR stands for {/.} (the basename without its extension)
    #[arg(long = "basenameextensionreplace", alias = "bner", value_name = "STR")]
    pub basename_extension_replace: Option<String>,

    /// STR stands for {#} (the job number)
    #[arg(long = "seqreplace", value_name = "STR")]
    pub seq_replace: Option<String>,

    /// STR stands for {%} (the slot)
    #[arg(long = "slotreplace", value_name = "STR")]
    pub slot_replace: Option<String>,

    /// The number of jobs {##} shows (and {0#}'s width, and the progress's total), instead of
    /// counting the input (standard input is read once: give this there)
    #[arg(long = "total-jobs", alias = "totaljobs", alias = "total", value_name = "N")]
    pub total_jobs: Option<u64>,

    /// Set the variable NAME to the task's slot number - 1 in its environment (0, 1, ...)
    #[arg(long = "process-slot-var", alias = "processslotvar", value_name = "NAME")]
    pub process_slot_var: Option<String>,
}

impl StringArgs {
    /// The other names given for GNU's replacement strings.
    pub fn renames(&self) -> crate::template::Renames {
        crate::template::Renames {
            ext: self.extension_replace.clone(),
            base: self.basename_replace.clone(),
            dir: self.dirname_replace.clone(),
            base_ext: self.basename_extension_replace.clone(),
            seq: self.seq_replace.clone(),
            slot: self.slot_replace.clone(),
        }
    }
}
