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
}
