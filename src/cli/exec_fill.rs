//! GNU parallel's options for how many values a job takes beyond `-n`/`-N`: as many as fit in
//! a command line (`-m`, `-X`, `--xargs`, `-s`), or lines of input (`-l`, `-L` without --pipe).

use clap::Args;

/// How many values a job takes, as xargs and GNU parallel count them (issue 22).
#[derive(Debug, Args)]
#[command(next_help_heading = "Values per job (GNU parallel, xargs)")]
pub struct FillArgs {
    /// As many values per job as fit in a command line (GNU's limit, or -s), {} being all of
    /// them space-separated; at the end of the input the last job's values are spread over
    /// the slots
    #[arg(short = 'm')]
    pub multiple: bool,

    /// As -m, with context replace: a word holding {} (or {.}, ...) is repeated once per value
    /// (`echo pre{}post` runs `echo preapost prebpost`)
    #[arg(short = 'X')]
    pub context_replace: bool,

    /// As -m, without spreading the last values over the slots (values appended when the
    /// command has no {})
    #[arg(long)]
    pub xargs: bool,

    /// A command line (as GNU parallel measures it) holds fewer than N characters [default: GNU's
    /// limit, --max-line-length-allowed's number, less 3000, halved]
    #[arg(short = 's', long = "max-chars", value_name = "N")]
    pub max_chars: Option<usize>,

    /// Stop if a command line would be too long (always so: accepted for xargs' scripts)
    #[arg(short = 'x', long = "exit")]
    pub exit: bool,

    /// Print the longest command line the system runs (as GNU parallel finds it) and exit
    #[arg(long)]
    pub max_line_length_allowed: bool,

    /// Print the longest command line and the usable one, then run as usual
    #[arg(long)]
    pub show_limits: bool,

    /// N lines of input per job (alone, or 0: 1), as -n; a line ending in a blank continues on
    /// the next (xargs' -l)
    #[arg(short = 'l', long = "max-lines", value_name = "N", num_args = 0..=1, default_missing_value = "0")]
    pub lines: Option<String>,
}

impl FillArgs {
    /// True when a job's values are gathered to fill a command line.
    pub fn fills(&self) -> bool {
        self.multiple || self.context_replace || self.xargs
    }
}
