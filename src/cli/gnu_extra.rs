//! GNU parallel's options of `hrun exec` for `#!` scripts, CSV input, compressed output files,
//! quoting commands, and the questions answered without running anything (issue 22).

use clap::Args;

/// GNU parallel's `#!` options, CSV, compression, quoting and printing options.
#[derive(Debug, Args)]
#[command(next_help_heading = "GNU parallel: scripts, CSV, compression")]
pub struct GnuExtraArgs {
    /// As the first word only (a `#!` line: `#!/usr/bin/env -S hrun exec --shebang -k echo`):
    /// the script's lines after the first are the values; later on a line it does nothing,
    /// as in GNU parallel
    #[arg(long, alias = "hashbang")]
    pub shebang: bool,

    /// As the first word only (a `#!` line: `#!/usr/bin/env -S hrun exec --shebang-wrap
    /// python3`): run the interpreter on the script once per argument of the script (or line
    /// of standard input when it has none)
    #[arg(long, alias = "shebangwrap")]
    pub shebang_wrap: bool,

    /// Print the shell completion for `parallel`'s options (bash; `auto`: the shell hrun runs
    /// lines with) and exit
    #[arg(long, alias = "shellcompletion", value_name = "bash|auto")]
    pub shell_completion: Option<String>,

    /// Print how to cite GNU parallel, whose options hrun takes, and exit
    #[arg(long, alias = "citation")]
    pub bibtex: bool,

    /// -j counts CPU cores (the physical cores of the usable CPUs) instead of CPU threads:
    /// -j 100% (the default) runs one task per core
    #[arg(long, alias = "usecoresinsteadofthreads", conflicts_with = "use_sockets_instead_of_threads")]
    pub use_cores_instead_of_threads: bool,

    /// -j counts CPU sockets instead of CPU threads: -j 100% (the default) runs one task per
    /// socket
    #[arg(long, alias = "usesocketsinsteadofthreads")]
    pub use_sockets_instead_of_threads: bool,

    /// Each job prints its command line shell-quoted instead of running it (given twice:
    /// quoted twice)
    #[arg(long, alias = "shellquote", alias = "shell_quote", action = clap::ArgAction::Count)]
    pub shell_quote: u8,

    /// Read values as CSV records: a quoted field may hold the separator, `""` and newlines;
    /// the fields are the columns {1} {2} ... (separator: --colsep's one character, else `,`)
    #[arg(long)]
    pub csv: bool,

    /// Compress the output files left behind (--files, --results DIR) with the first of GNU
    /// parallel's list found on PATH (pzstd, lbzip2, pbzip2, zstd, ..., gzip, ...: `PRG -c
    /// -1`); standard output and a results table show the output as written
    #[arg(long)]
    pub compress: bool,

    /// Compress them with this shell command (reading standard input, writing standard
    /// output); implies --compress
    #[arg(
        long,
        alias = "use-compress-program",
        alias = "usecompressprogram",
        alias = "compressprogram",
        value_name = "PRG"
    )]
    pub compress_program: Option<String>,

    /// Read compressed grouped output back with this shell command [default: PRG -dc, PRG
    /// the compressor]
    #[arg(
        long,
        alias = "use-decompress-program",
        alias = "usedecompressprogram",
        alias = "decompressprogram",
        value_name = "PRG"
    )]
    pub decompress_program: Option<String>,
}
