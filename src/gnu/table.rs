//! The table: every option of GNU parallel 20221122's option table (its `options_completion_hash`),
//! in GNU's order, with hrun's answer. Written from GNU's documented interface and checked
//! against the installed program by `gnu::oracle`'s tests (names, aliases, order, value kinds).

use super::options::Answer::{Accepted as A, Ignored as I, Refused as R, Retired};
use super::options::Kind::{Float, Int, KeyValue, Text};
use super::options::Meaning as M;
use super::options::{Answer, GnuOption, Kind, Repeats, Takes};

const fn flag(names: &'static [&'static str], answer: Answer) -> GnuOption {
    GnuOption { names, takes: Takes::Nothing, repeats: Repeats::Last, answer }
}
/// A flag GNU counts (`-v -v`).
const fn counted(names: &'static [&'static str], answer: Answer) -> GnuOption {
    GnuOption { names, takes: Takes::Nothing, repeats: Repeats::Each, answer }
}
const fn value(names: &'static [&'static str], kind: Kind, answer: Answer) -> GnuOption {
    GnuOption { names, takes: Takes::Required(kind), repeats: Repeats::Last, answer }
}
/// A value that may be given several times, each one kept.
const fn values(names: &'static [&'static str], kind: Kind, answer: Answer) -> GnuOption {
    GnuOption { names, takes: Takes::Required(kind), repeats: Repeats::Each, answer }
}
const fn optional(names: &'static [&'static str], kind: Kind, answer: Answer) -> GnuOption {
    GnuOption { names, takes: Takes::Optional(kind), repeats: Repeats::Last, answer }
}

const REMOTE: &str = "hrun runs each job once, on the first free slot of the hosts of -S/--slf (or of --nodes in \
    a Slurm allocation): it has no --onall/--nonall, host groups or --filter-hosts; to run a command on \
    every node use `srun --ntasks-per-node=1 CMD`, or give each host its own `hrun exec -S HOST ...`";
const TRANSFER: &str = "hrun does not copy files to or from hosts: -S runs jobs on hosts that share this \
    filesystem (a cluster's home or scratch); copy the files there first (rsync), and let jobs write \
    their outputs to the shared directory (--wd . runs them in this directory there)";
const PIPE: &str = "hrun exec does not do this with --pipe yet (it does --pipe, --pipepart, --block, --regexp, --csv, \
    --recstart, --recend, -L, -N, --header, --cat, --fifo, --round-robin, --rrs and --tee): split the input into files first (`split -n l/64 big.txt part.`) \
    and give each job one file on its standard input (`CMD < {} ::: part.*`)";
const SQL: &str = "hrun does not queue jobs in an SQL database: write the jobs to a task file \
    (`--dry-run ... > tasks.txt`) and give each node its share with `hrun exec --shard auto tasks.txt`";
const SEM: &str = "hrun is not a semaphore (sem, --semaphore, --fg, --bg, --wait): write the commands to a \
    task file, one per line, and run them together with `hrun exec tasks.txt`";
const TTY: &str = "hrun runs jobs without a terminal (--tty, --open-tty): run an interactive program \
    directly, or give it its input in a file";
const ENV_PARALLEL: &str = "--record-env and --session serve env_parallel, which hrun does not provide: \
    name the variables to pass with --env VAR (on one node every variable is passed anyway)";
const PARENS: &str = "--parens sets the brackets of {= perl expression =}, which hrun does not evaluate: \
    compute the value in the command (`$(...)`) or in the input";
const RPL: &str = "--rpl defines a replacement string by a perl expression, which hrun does not evaluate: \
    rename the standard ones with -I, --er, --bnr, --dnr, --bner, or use --plus";
const FILTER: &str = "--filter evaluates a perl expression per job, which hrun does not do: filter the \
    input first (grep), or test in the command (`[ ... ] && CMD`)";
const SHARD: &str = "GNU's --shard (each record to the job its key hashes to) needs --pipe, which hrun \
    does not have yet (planned); hrun exec's own --shard K/N is another thing: it splits the jobs \
    between hrun runs";
const PROGRESS: &str = "GNU's progress bar on standard error; hrun exec shows its own";

/// Every option, in GNU's order.
pub static OPTIONS: &[GnuOption] = &[
    value(&["debug", "D"], Text, I("GNU's debug output; hrun's run log records every job")),
    flag(&["xargs"], A(M::Xargs)),
    flag(&["m"], A(M::Xargs)),
    flag(&["X"], A(M::ContextReplace)),
    counted(&["v"], A(M::PrintCommands)),
    value(&["sql"], Text, Retired("--sql has been retired. Use --sqlmaster.")),
    value(&["sql-master", "sqlmaster"], Text, R(SQL)),
    value(&["sql-worker", "sqlworker"], Text, R(SQL)),
    value(&["sql-and-worker", "sqlandworker"], Text, R(SQL)),
    value(&["joblog", "jl"], Text, A(M::Joblog)),
    value(&["results", "result", "res"], Text, A(M::Results)),
    flag(&["resume"], A(M::Resume)),
    flag(&["resume-failed", "resumefailed"], A(M::ResumeFailed)),
    flag(
        &["retry-failed", "retryfailed"],
        R("--retry-failed (run the joblog's failed commands again, without the input) is not \
           supported: give the same command and input with --resume-failed"),
    ),
    flag(&["silent"], A(M::Silent)),
    flag(&["keep-order", "keeporder", "k"], A(M::KeepOrder)),
    flag(&["no-keep-order", "nokeeporder", "nok", "no-k"], A(M::NoKeepOrder)),
    flag(&["group"], A(M::Group)),
    flag(&["g"], Retired("-g has been retired. Use --group.")),
    flag(&["ungroup", "u"], A(M::Ungroup)),
    flag(
        &["latest-line", "latestline", "ll"],
        R("--latest-line (each job's last line, redrawn on the terminal) is not supported: use \
           --line-buffer (every line as it comes), with --tag to tell the jobs apart"),
    ),
    flag(&["line-buffer", "line-buffered", "linebuffer", "linebuffered", "lb"], A(M::LineBuffer)),
    flag(
        &["tmux"],
        R("--tmux (a tmux window per job) is not supported: use --line-buffer --tag, or --results DIR \
           to keep each job's output"),
    ),
    flag(
        &["tmux-pane", "tmuxpane"],
        R("--tmux-pane (a tmux pane per job) is not supported: use --line-buffer --tag, or --results \
           DIR to keep each job's output"),
    ),
    flag(&["null", "0"], A(M::Null)),
    flag(&["quote", "q"], A(M::Quote)),
    value(&["parens"], Text, R(PARENS)),
    values(&["rpl"], Text, R(RPL)),
    flag(&["plus"], A(M::Plus)),
    value(&["I"], Text, A(M::ReplaceStr)),
    value(&["extensionreplace", "er"], Text, A(M::ExtensionReplace)),
    value(&["U"], Text, Retired("-U has been retired. Use --er.")),
    value(&["basenamereplace", "bnr"], Text, A(M::BasenameReplace)),
    value(&["dirnamereplace", "dnr"], Text, A(M::DirnameReplace)),
    value(&["basenameextensionreplace", "bner"], Text, A(M::BasenameExtensionReplace)),
    value(&["seqreplace"], Text, A(M::SeqReplace)),
    value(&["slotreplace"], Text, A(M::SlotReplace)),
    value(&["jobs", "j"], Text, A(M::Jobs)),
    value(&["delay"], Text, A(M::Delay)),
    value(&["ssh-delay", "sshdelay"], Float, A(M::SshDelay)),
    value(&["load"], Text, A(M::Load)),
    flag(
        &["noswap"],
        I("hrun starts jobs whether or not the node swaps (HPC nodes seldom have swap); --memfree \
           guards memory"),
    ),
    flag(&["max-line-length-allowed", "maxlinelengthallowed"], A(M::MaxLineLengthAllowed)),
    // GNU prints the number of cores for this obsolete one.
    flag(&["number-of-cpus", "numberofcpus"], A(M::NumberOfCores)),
    flag(&["number-of-sockets", "numberofsockets"], A(M::NumberOfSockets)),
    flag(&["number-of-cores", "numberofcores"], A(M::NumberOfCores)),
    flag(&["number-of-threads", "numberofthreads"], A(M::NumberOfThreads)),
    flag(&["use-sockets-instead-of-threads", "usesocketsinsteadofthreads"], A(M::UseSockets)),
    flag(&["use-cores-instead-of-threads", "usecoresinsteadofthreads"], A(M::UseCores)),
    flag(
        &["use-cpus-instead-of-cores", "usecpusinsteadofcores"],
        I("obsolete: GNU applies it to remote hosts only"),
    ),
    counted(&["shell-quote", "shellquote", "shell_quote"], A(M::ShellQuote)),
    value(&["nice"], Int, A(M::Nice)),
    flag(&["tag"], A(M::Tag)),
    value(&["tag-string", "tagstring"], Text, A(M::TagString)),
    flag(&["ctag"], A(M::Ctag)),
    value(&["ctag-string", "ctagstring"], Text, A(M::CtagString)),
    flag(&["color", "colour"], A(M::Color)),
    flag(
        &[
            "color-failed",
            "colour-failed",
            "colorfailed",
            "colourfailed",
            "color-fail",
            "colour-fail",
            "colorfail",
            "colourfail",
            "cf",
        ],
        A(M::ColorFailed),
    ),
    flag(&["onall"], R(REMOTE)),
    flag(&["nonall"], R(REMOTE)),
    flag(&["filter-hosts", "filterhosts", "filter-host"], R(REMOTE)),
    values(&["sshlogin", "S"], Text, A(M::Sshlogin)),
    values(&["sshloginfile", "slf"], Text, A(M::SshloginFile)),
    flag(
        &["controlmaster", "M"],
        I("hrun opens one ssh connection per host for the whole run: no ControlMaster is needed"),
    ),
    value(&["ssh"], Text, A(M::Ssh)),
    values(&["transfer-file", "transferfile", "transfer-files", "transferfiles", "tf"], Text, R(TRANSFER)),
    values(&["return"], Text, R(TRANSFER)),
    values(&["trc"], Text, R(TRANSFER)),
    flag(&["transfer"], R(TRANSFER)),
    flag(&["cleanup"], R(TRANSFER)),
    values(&["basefile", "bf"], Text, R(TRANSFER)),
    values(
        &["template", "tmpl"],
        KeyValue,
        R("--template (a file with replacement strings filled in per job) is not supported: make the \
           file in the command, e.g. `sed 's/@X@/{}/' tmpl > in.{#} && prog in.{#}`"),
    ),
    value(&["B"], Text, Retired("-B has been retired. Use --bf.")),
    flag(&["ctrl-c", "ctrlc"], Retired("--ctrlc has been retired.")),
    flag(&["no-ctrl-c", "no-ctrlc", "noctrlc"], Retired("--noctrlc has been retired.")),
    value(&["work-dir", "workdir", "wd"], Text, A(M::Workdir)),
    value(&["W"], Text, Retired("-W has been retired. Use --wd.")),
    value(&["rsync-opts", "rsyncopts"], Text, R(TRANSFER)),
    value(&["tmpdir", "tempdir"], Text, A(M::Tmpdir)),
    value(
        &["use-compress-program", "compress-program", "usecompressprogram", "compressprogram"],
        Text,
        A(M::CompressProgram),
    ),
    value(
        &["use-decompress-program", "decompress-program", "usedecompressprogram", "decompressprogram"],
        Text,
        A(M::DecompressProgram),
    ),
    flag(&["compress"], A(M::Compress)),
    flag(&["open-tty", "o"], R(TTY)),
    flag(&["tty"], R(TTY)),
    flag(&["T"], Retired("-T has been retired. Use --tty.")),
    value(&["H"], Int, Retired("-H has been retired. Use --halt.")),
    flag(&["dry-run", "dryrun", "dr"], A(M::DryRun)),
    flag(&["progress"], A(M::Progress)),
    flag(&["eta"], A(M::Eta)),
    flag(&["bar"], I(PROGRESS)),
    value(&["total-jobs", "totaljobs", "total"], Text, A(M::TotalJobs)),
    flag(&["shuf"], A(M::Shuf)),
    value(&["arg-sep", "argsep"], Text, A(M::ArgSep)),
    value(&["arg-file-sep", "argfilesep"], Text, A(M::ArgFileSep)),
    value(&["trim"], Text, A(M::Trim)),
    values(&["env"], Text, A(M::Env)),
    flag(&["recordenv", "record-env"], R(ENV_PARALLEL)),
    flag(&["session"], R(ENV_PARALLEL)),
    flag(&["plain"], A(M::Plain)),
    values(&["profile", "J"], Text, A(M::Profile)),
    flag(
        &["tollef"],
        Retired("--tollef has been retired.\nRemove --tollef or use --gnu to override --tollef."),
    ),
    flag(&["gnu"], I("it only overrides --tollef")),
    flag(&["link", "xapply"], A(M::Link)),
    values(
        &["linkinputsource", "xapplyinputsource"],
        Int,
        R("--linkinputsource is GNU parallel's internal form of :::+ and ::::+: write those, or --link"),
    ),
    flag(&["bibtex", "citation"], A(M::Citation)),
    flag(&["will-cite", "willcite", "nn", "nonotice", "no-notice"], I("hrun prints no citation notice")),
    value(&["halt-on-error", "haltonerror", "halt"], Text, A(M::Halt)),
    value(
        &["limit"],
        Text,
        R("--limit (a command that decides each start) is not supported: use -j, --load or --memfree"),
    ),
    value(&["memfree"], Text, A(M::Memfree)),
    value(
        &["memsuspend"],
        Text,
        R("--memsuspend (stopping jobs while memory is short) is not supported: use --memfree, which \
           starts a job only while enough memory is free"),
    ),
    value(&["retries"], Text, A(M::Retries)),
    value(&["timeout"], Text, A(M::Timeout)),
    value(&["term-seq", "termseq"], Text, A(M::TermSeq)),
    value(&["max-procs", "maxprocs", "P"], Text, A(M::Jobs)),
    value(&["delimiter", "d"], Text, A(M::Delimiter)),
    value(&["max-chars", "maxchars", "s"], Text, A(M::MaxChars)),
    values(&["arg-file", "argfile", "a"], Text, A(M::ArgFile)),
    flag(&["no-run-if-empty", "norunifempty", "r"], A(M::NoRunIfEmpty)),
    optional(&["replace", "i"], Text, A(M::Replace)),
    value(&["E"], Text, A(M::Eof)),
    optional(&["eof", "e"], Text, A(M::Eof)),
    value(&["process-slot-var", "processslotvar"], Text, A(M::ProcessSlotVar)),
    value(&["max-args", "maxargs", "n"], Text, A(M::MaxArgs)),
    value(&["max-replace-args", "maxreplaceargs", "N"], Text, A(M::MaxReplaceArgs)),
    value(&["col-sep", "colsep", "C"], Text, A(M::Colsep)),
    flag(&["csv"], A(M::Csv)),
    flag(&["help", "h"], A(M::Help)),
    value(&["L"], Text, A(M::MaxLines)),
    optional(&["max-lines", "maxlines", "l"], Float, A(M::MaxLines)),
    flag(
        &["interactive", "p"],
        R("--interactive/-p (ask before each job) is not supported: hrun runs jobs without a terminal; \
           check them first with --dry-run"),
    ),
    flag(&["verbose", "t"], A(M::Verbose)),
    flag(&["version", "V"], A(M::Version)),
    value(&["min-version", "minversion"], Int, A(M::MinVersion)),
    flag(&["show-limits", "showlimits"], A(M::ShowLimits)),
    flag(&["exit", "x"], A(M::ExitIfTooLong)),
    flag(&["semaphore"], R(SEM)),
    value(&["semaphore-timeout", "semaphoretimeout", "st"], Text, R(SEM)),
    value(&["semaphore-name", "semaphorename", "id"], Text, R(SEM)),
    flag(&["fg"], R(SEM)),
    flag(&["bg"], R(SEM)),
    flag(&["wait"], R(SEM)),
    flag(&["shebang", "hashbang"], A(M::Shebang)),
    flag(
        &["_pipe-means-argfiles"],
        I("GNU's internal option for --shebang-wrap; it matters only with --pipe"),
    ),
    flag(&["Y"], Retired("-Y has been retired. Use --shebang.")),
    flag(&["skip-first-line", "skipfirstline"], A(M::SkipFirstLine)),
    flag(&["bug"], R("--bug only tests GNU parallel's bug report: there is nothing to test in hrun")),
    flag(&["pipe", "spreadstdin"], A(M::Pipe)),
    flag(&["round-robin", "roundrobin", "round"], A(M::RoundRobin)),
    value(&["recstart"], Text, A(M::RecStart)),
    value(&["recend"], Text, A(M::RecEnd)),
    flag(&["regexp", "regex"], A(M::Regexp)),
    flag(&["remove-rec-sep", "removerecsep", "rrs"], A(M::RemoveRecSep)),
    flag(&["output-as-files", "outputasfiles", "files"], A(M::Files)),
    value(&["block-size", "blocksize", "block"], Text, A(M::BlockSize)),
    value(&["block-timeout", "blocktimeout", "bt"], Text, R(PIPE)),
    value(&["header"], Text, A(M::Header)),
    flag(&["cat"], A(M::Cat)),
    flag(&["fifo"], A(M::Fifo)),
    flag(&["pipe-part", "pipepart"], A(M::PipePart)),
    flag(&["tee"], A(M::Tee)),
    value(&["shard"], Text, R(SHARD)),
    value(&["bin"], Text, R(PIPE)),
    value(&["group-by", "groupby"], Text, R(PIPE)),
    flag(&["hgrp", "hostgrp", "hostgroup", "hostgroups"], R(REMOTE)),
    flag(
        &["embed"],
        R("--embed (GNU parallel copied into a shell script) is not supported: call hrun from the script"),
    ),
    values(&["filter"], Text, R(FILTER)),
    value(
        &["_parset"],
        Text,
        R("parset is not supported: run the jobs with --results or --files and read the values back"),
    ),
    value(&["shell-completion", "shellcompletion"], Text, A(M::ShellCompletion)),
    value(&["_test"], Text, I("GNU's internal option; it does nothing")),
];

/// `--shebang-wrap`: not in GNU's option table but read before it, and only as the first
/// argument (`#!/usr/bin/parallel --shebang-wrap python3` on a script's first line); see
/// [`super::shebang`]. Listed here for the documentation and the counts.
pub static SHEBANG_WRAP: GnuOption = GnuOption {
    names: &["shebang-wrap"],
    takes: Takes::Nothing,
    repeats: Repeats::Last,
    answer: A(M::ShebangWrap),
};

/// Every option: GNU's option table and `--shebang-wrap`.
pub fn all() -> impl Iterator<Item = &'static GnuOption> {
    OPTIONS.iter().chain(std::iter::once(&SHEBANG_WRAP))
}
