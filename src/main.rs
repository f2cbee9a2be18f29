//! hrun: runs many independent tasks on one HPC node, each pinned to its own CPUs.
//! `main` parses the command line, runs it, and maps errors to documented exit statuses.

use clap::Parser;

use hrun::cli::{Cli, Cmd};
use hrun::{exec, exit, taskfile};

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hrun: error: {e:#}");
            if e.downcast_ref::<exit::UsageError>().is_some() { exit::USAGE } else { exit::INTERNAL }
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Cmd::Exec(args) => {
            let cfg = exec::ExecConfig {
                source: taskfile::Source::from_arg(&args.taskfile),
                threads: args.threads,
                jobs: args.jobs,
                log: args.log,
                joblog: args.joblog,
                output: match args.output_dir {
                    Some(dir) => exec::output::OutputMode::Dir(dir),
                    None => exec::output::OutputMode::Group,
                },
                grace: args.grace,
            };
            Ok(exec::run(&cfg)?.exit_code())
        }
    }
}
