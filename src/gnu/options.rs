//! GNU parallel 20221122's options as data: each option's names (every alias), how it takes a
//! value (as its Getopt::Long spec says), and hrun's answer to it. The table itself is in
//! [`super::table`]; the parser ([`super::getopt`]) and the documentation ([`super::doc`]) read
//! it, so an option is stated once.

/// One GNU parallel option, as GNU's option table declares it.
#[derive(Debug, PartialEq, Eq)]
pub struct GnuOption {
    /// GNU's names for it, in GNU's order; the first is the one Getopt::Long reports it by.
    /// One character: `-X`; longer: `--name` (Getopt::Long also takes `--X` for a one-letter
    /// name and `-name` for nothing: `-name` is the bundle `-n -a -m -e`).
    pub names: &'static [&'static str],
    pub takes: Takes,
    pub repeats: Repeats,
    pub answer: Answer,
}

/// Whether the option takes a value, and of what kind (Getopt::Long's `=s`, `:s`, `=i`, `=f`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takes {
    Nothing,
    /// `=`: a value is required; `--opt=v`, `--opt v`, `-ov`, `-o v`.
    Required(Kind),
    /// `:`: the value may be left out (`--opt=v` or `--opt v` with `v` not option-like;
    /// bundled, whatever follows the letter); left out, GNU uses `''` or `0`.
    Optional(Kind),
}

/// The kind of value Getopt::Long checks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any text (a required one takes even `--x` or `--`).
    Text,
    /// An integer: `[-+]?_*[0-9][0-9_]*` (underscores dropped).
    Int,
    /// A real number: `[-+]?` digits, optional `.fraction`, optional exponent.
    Float,
    /// `KEY=VALUE` (a Perl hash option: only `--template`).
    KeyValue,
}

/// What giving the option again does (the spec's destination: a scalar or a list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeats {
    /// The last one counts.
    Last,
    /// Every one counts, in order (a list of values; for a flag, a count: `-v -v`).
    Each,
}

/// hrun's answer to a GNU option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// hrun does (or is to do) what GNU does with it.
    Accepted(Meaning),
    /// Taken and ignored: it changes nothing hrun's users can see; the text says why.
    Ignored(&'static str),
    /// Refused with this line, which says what to do in hrun instead.
    Refused(&'static str),
    /// GNU itself refuses it with this line (or lines, split by `\n`) and exit status 255;
    /// [`RETIRED_LINES`] is what GNU prints for any of the ten retired options.
    Retired(&'static str),
}

/// What GNU prints, one error line each, when any of its ten retired options (`-g`, `-B`, `-T`,
/// `-U`, `-W`, `-Y`, `-H`, `--sql`, `--ctrlc`, `--noctrlc`) was given: all ten, whichever it was.
pub const RETIRED_LINES: &[&str] = &[
    "-g has been retired. Use --group.",
    "-B has been retired. Use --bf.",
    "-T has been retired. Use --tty.",
    "-U has been retired. Use --er.",
    "-W has been retired. Use --wd.",
    "-Y has been retired. Use --shebang.",
    "-H has been retired. Use --halt.",
    "--sql has been retired. Use --sqlmaster.",
    "--ctrlc has been retired.",
    "--noctrlc has been retired.",
];

/// What an accepted option means in hrun: one variant per GNU meaning (aliases, and options GNU
/// treats as the same, share one: `-j` and `-P` are both [`Meaning::Jobs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Meaning {
    Jobs,
    KeepOrder,
    NoKeepOrder,
    Group,
    Ungroup,
    LineBuffer,
    Tag,
    TagString,
    Ctag,
    CtagString,
    Color,
    ColorFailed,
    PrintCommands,
    Verbose,
    Silent,
    ReplaceStr,
    Replace,
    ExtensionReplace,
    BasenameReplace,
    DirnameReplace,
    BasenameExtensionReplace,
    SeqReplace,
    SlotReplace,
    Plus,
    ContextReplace,
    Xargs,
    MaxLines,
    Pipe,
    PipePart,
    BlockSize,
    RecStart,
    Regexp,
    RoundRobin,
    RemoveRecSep,
    Tee,
    RecEnd,
    Cat,
    Fifo,
    MaxArgs,
    MaxReplaceArgs,
    MaxChars,
    ExitIfTooLong,
    ArgSep,
    ArgFileSep,
    ArgFile,
    Delimiter,
    Null,
    Colsep,
    Csv,
    Header,
    Trim,
    NoRunIfEmpty,
    Eof,
    SkipFirstLine,
    Shebang,
    ShebangWrap,
    Link,
    Shuf,
    DryRun,
    Joblog,
    Results,
    Files,
    Compress,
    CompressProgram,
    DecompressProgram,
    Resume,
    ResumeFailed,
    Retries,
    Timeout,
    TermSeq,
    Halt,
    Delay,
    SshDelay,
    Sshlogin,
    SshloginFile,
    Ssh,
    Load,
    Memfree,
    Nice,
    Env,
    Workdir,
    Tmpdir,
    ProcessSlotVar,
    TotalJobs,
    Quote,
    ShellQuote,
    UseSockets,
    UseCores,
    NumberOfSockets,
    NumberOfCores,
    Progress,
    Eta,
    NumberOfThreads,
    MaxLineLengthAllowed,
    ShowLimits,
    Plain,
    Profile,
    Help,
    Version,
    MinVersion,
    Citation,
    ShellCompletion,
}

impl Meaning {
    /// What hrun does with it, in a line (the documentation's "hrun" column).
    pub fn describe(self) -> &'static str {
        use Meaning::*;
        match self {
            Jobs => {
                "jobs at once: N, N%, +N, -N, or a file holding one of these (read again as the run goes)"
            }
            KeepOrder => "output in input order",
            NoKeepOrder => "cancels an earlier -k (from a profile or $PARALLEL)",
            Group => "each job's output in one block when it ends (the default)",
            Ungroup => "output as it comes, unbuffered",
            LineBuffer => "output in whole lines as they come, jobs interleaved",
            Tag => "each output line prefixed by the job's values and a tab",
            TagString => "each output line prefixed by this string (replacement strings filled in) and a tab",
            Ctag => "--tag in colour",
            CtagString => "--tagstring in colour",
            Color => "each job's output in its own colour",
            ColorFailed => "failed jobs' output in red",
            PrintCommands => "print each command on standard output before its output (-v -v as -v)",
            Verbose => "print each command on standard error as it starts",
            Silent => "cancels -v",
            ReplaceStr => "this string instead of {}",
            Replace => "this string instead of {} (-i alone: {})",
            ExtensionReplace => "this string instead of {.}",
            BasenameReplace => "this string instead of {/}",
            DirnameReplace => "this string instead of {//}",
            BasenameExtensionReplace => "this string instead of {/.}",
            SeqReplace => "this string instead of {#}",
            SlotReplace => "this string instead of {%}",
            Plus => {
                "GNU's --plus replacement strings ({+/} {+.} {..} {/..} {##} {0#} {0%} {%X} {/X/Y} ..., \
                 {choose_k} and {uniq}, which skip jobs)"
            }
            ContextReplace => {
                "as many values per job as the command line holds, a word with {} repeated per value"
            }
            Xargs => "as many values per job as the command line holds, {} all of them space-separated",
            MaxLines => "N lines of input per job (-l alone: 1); with --pipe, records of N lines",
            Pipe => "standard input in blocks, one per job on its standard input, never cut inside a record",
            PipePart => "the blocks of a file (-a FILE), found by seeking; each job reads its own byte range",
            BlockSize => "bytes per block (k, K, M, G...; default 1M); with --pipepart -N: N blocks per slot",
            RecStart => "records start with this string (\\n, \\t, \\0 understood)",
            Regexp => "--recstart and --recend are regular expressions (no lookaround or backreferences)",
            RoundRobin => "one job per slot; blocks dealt to whichever job has taken its last one",
            RemoveRecSep => "each block without its record separators",
            Tee => "one job per value, all at once, each given the whole input",
            RecEnd => "records end with this string (default \\n)",
            Cat => "with --pipe: {} names a file holding the block",
            Fifo => "with --pipe: {} names a FIFO the block is written into",
            MaxArgs => "up to N values per job, {} all of them",
            MaxReplaceArgs => "up to N values per job, {1}..{N} each (context replace)",
            MaxChars => "a command line of at most N characters (with -X/-m)",
            ExitIfTooLong => "stop when a command line would exceed -s",
            ArgSep => "this word instead of :::",
            ArgFileSep => "this word instead of ::::",
            ArgFile => "values from this file, an input source before those on the command line",
            Delimiter => "values end with this delimiter (\\n, \\t, \\0, \\NNN understood)",
            Null => "values end with NUL",
            Colsep => "split each value into columns {1} {2} ... at this regular expression",
            Csv => "read values as CSV records, columns {1} {2} ...",
            Header => {
                "the first value of each source names its columns ({name}); `:` for the first line; with \
                 --pipe/--pipepart the first N lines (`:` one) go before every block"
            }
            Trim => "trim blanks from values: n, l, r, lr, rl",
            NoRunIfEmpty => "skip values that are empty or blank",
            Eof => "stop reading input at a line equal to this string",
            SkipFirstLine => "skip the first line of input (--shebang's)",
            Shebang => "run as a #! interpreter: the script's lines are the values",
            ShebangWrap => "run as a #! interpreter that wraps one, once per argument of the script",
            Link => "pair the input sources instead of taking every combination",
            Shuf => "run the jobs in random order",
            DryRun => "print the commands, run nothing",
            Joblog => "GNU's joblog (+FILE appends)",
            Results => "results in DIR/1/VALUE/... or one FILE.csv/.tsv/.json table",
            Files => "each job's output in a file; print the file names",
            Compress => {
                "the files left behind (--files, --results DIR) compressed, by GNU's first program on PATH \
                 (pzstd, lbzip2, pbzip2, zstd, ...: PRG -c -1); stdout unchanged; hrun's own buffers are \
                 not compressed"
            }
            CompressProgram => "--compress with this program (a shell command, stdin to stdout)",
            DecompressProgram => "taken; nothing to decompress (hrun does not compress its buffers)",
            Resume => "skip the jobs the joblog shows as run",
            ResumeFailed => "skip the jobs the joblog shows as succeeded; run the rest again",
            Retries => "run a failing job up to N times in all (0: for ever)",
            Timeout => "kill a job after this long (N seconds, N%, 1h2m3s)",
            TermSeq => "the signals (and waits in ms) that end a job: TERM,200,TERM,100,TERM,50,KILL,25",
            Halt => "when to stop: now/soon, fail/success/done=N or N%",
            Delay => "at least this long between two job starts",
            SshDelay => "the --delay when none is given (GNU: between ssh starts)",
            Sshlogin => {
                "run on these hosts over ssh (`N/host`, `:` this host): a launcher on each pins, reaps and \
                 reports; no files are transferred (a shared filesystem is assumed)"
            }
            SshloginFile => {
                "the hosts of --sshlogin, one per line, from this file (`..`: ~/.parallel/sshloginfile)"
            }
            Ssh => "the ssh command for --sshlogin hosts (also $PARALLEL_SSH)",
            Load => "start a job only while the load average is below this",
            Memfree => "start a job only while this much memory is free",
            Nice => "run the jobs at this niceness",
            Env => "pass this variable to the jobs (all are passed on one node)",
            Workdir => "run the jobs in this directory (`...`: a temporary one per job)",
            Tmpdir => "temporary files (buffered output) go here",
            ProcessSlotVar => "set this variable to the job's slot number - 1",
            TotalJobs => "the number {##} and the progress show",
            Quote => "quote the command: run it as one program and its words, no shell syntax",
            ShellQuote => "print the command shell-quoted; run nothing",
            UseSockets => "-j counts CPU sockets instead of CPU threads",
            UseCores => "-j counts CPU cores instead of CPU threads",
            NumberOfSockets => "print the number of CPU sockets",
            Progress => "GNU's progress text on standard error (as `parallel`; hrun exec shows its own)",
            Eta => "GNU's progress text with an estimate of the time left (as `parallel`)",
            NumberOfCores => "print the number of CPU cores",
            NumberOfThreads => "print the number of CPU threads",
            MaxLineLengthAllowed => "print the longest command line allowed",
            ShowLimits => "print the longest and the usable command line, then run",
            Plain => "ignore profiles and $PARALLEL",
            Profile => "read options from this profile instead of the default ones",
            Help => "print the usage",
            Version => "print the version",
            MinVersion => "print the version; exit 255 if it is older than this",
            Citation => "print how to cite GNU parallel",
            ShellCompletion => {
                "print the shell completion for these options (bash; zsh through bashcompinit)"
            }
        }
    }
}

impl GnuOption {
    /// GNU's name for it (its first).
    pub fn name(&self) -> &'static str {
        self.names[0]
    }

    /// `--name` for a long name, `-X` for a one-letter one.
    pub fn dashed(name: &str) -> String {
        if name.chars().count() == 1 { format!("-{name}") } else { format!("--{name}") }
    }

    /// What hrun means by it, if it accepts it.
    pub fn meaning(&self) -> Option<Meaning> {
        match self.answer {
            Answer::Accepted(m) => Some(m),
            _ => None,
        }
    }
}

/// The option whose names include `name` (exactly, as written in the table).
pub fn by_name(name: &str) -> Option<&'static GnuOption> {
    super::table::OPTIONS.iter().find(|o| o.names.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::super::table::OPTIONS;
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_getopt_keys_do_not_collide() {
        // Getopt::Long lowercases every name longer than one letter (bundling keeps one-letter
        // names as written): two options may not share a key.
        let mut seen = HashSet::new();
        for o in OPTIONS {
            for n in o.names {
                let key = if n.len() == 1 { n.to_string() } else { n.to_lowercase() };
                assert!(seen.insert(key), "{n} is declared twice");
            }
        }
    }

    #[test]
    fn every_refusal_and_ignore_says_something() {
        for o in OPTIONS {
            match o.answer {
                Answer::Refused(s) | Answer::Ignored(s) | Answer::Retired(s) => {
                    assert!(s.len() > 10, "{} has no real text", o.name())
                }
                Answer::Accepted(m) => assert!(!m.describe().is_empty()),
            }
        }
    }

    #[test]
    fn retired_options_say_gnus_own_line() {
        for o in OPTIONS {
            if let Answer::Retired(line) = o.answer
                && o.name() != "tollef"
            {
                assert!(RETIRED_LINES.contains(&line), "{line}");
                let first = line.split(' ').next().unwrap();
                assert!(o.names.contains(&first.trim_start_matches('-')), "{line}");
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(by_name("jl").unwrap().name(), "joblog");
        assert_eq!(by_name("P").unwrap().meaning(), Some(Meaning::Jobs));
        assert_eq!(by_name("j").unwrap().meaning(), Some(Meaning::Jobs));
        assert!(by_name("no-such").is_none());
        assert_eq!(GnuOption::dashed("X"), "-X");
        assert_eq!(GnuOption::dashed("res"), "--res");
    }
}
