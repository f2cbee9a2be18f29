//! hrun: runs many independent tasks on one HPC node, each pinned to its own CPUs.
//! `main` parses the command line, runs it, and maps errors to documented exit statuses.

use hrun::cli::{Cli, Cmd};
use hrun::log::read::named_or_here as expand_logs;
use hrun::{exec, exit, generate, pipeline, placement, reduce};

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == hrun::pipe::feed::FEED) {
        std::process::exit(hrun::pipe::feed::main(&argv[2..]));
    }
    if argv.get(1).is_some_and(|a| a == hrun::nodes::LAUNCHER) {
        std::process::exit(hrun::nodes::launcher_main(&argv[2..]));
    }
    let cli = Cli::parse_argv(argv);
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) if exit::gnu_error(&e).is_some() => {
            // As `parallel`, an error GNU parallel has is said in its words, with its status.
            eprintln!("parallel: Error: {}", exit::gnu_error(&e).unwrap_or_default());
            exit::INTERNAL
        }
        Err(e) => {
            // One line, whatever a path or value in it holds (a newline, an escape sequence).
            eprintln!("hrun: error: {}", hrun::text::printable_max(&format!("{e:#}"), 2000));
            if e.downcast_ref::<exit::UsageError>().is_some() { exit::USAGE } else { exit::INTERNAL }
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let config = hrun::config::Config::load()?;
    match cli.command {
        Cmd::Exec(args) => match args.gnu_query(&config)? {
            Some((answer, code)) => print_bytes(answer).map(|_| code),
            None => Ok(exec::run(&args.resolve(&config)?)?.exit_code()),
        },
        Cmd::Run(args) => pipeline::run(&args.resolve(&config)?),
        Cmd::Gen(args) => {
            let written = generate::write_task_file(&args.resolve(), &mut std::io::stdout().lock());
            hrun::stdout::pipe_closed_is_ok(written).map(|()| exit::OK)
        }
        Cmd::Reduce(args) => {
            let by = args.by.map(|b| b.into_iter().filter(|n| !n.is_empty()).collect());
            let req = reduce::Request {
                paths: &args.dirs,
                by,
                json: args.json,
                csv: args.csv,
                skip_bad: args.skip_bad,
            };
            print_bytes(reduce::command(&req)?)
        }
        Cmd::Slots(args) => {
            let placement = args.placement.placement(&config)?;
            let planned = placement::plan(&placement, args.threads, None)?;
            let json = args.json.then(|| placement::to_json(&planned, placement.smt) + "\n");
            print_bytes(json.unwrap_or_else(|| placement::render(&planned, placement.smt)))
        }
        Cmd::Tune(args) => {
            let outcome = hrun::tune::sweep(&args.resolve(&config)?)?;
            print_bytes(hrun::tune::render(&outcome))?;
            if let Some((_, why)) = &outcome.stopped {
                eprintln!("hrun: tune: {why}; the table shows the waves that ran");
            }
            Ok(outcome.exit_code())
        }
        Cmd::Status { logs } => {
            let states = hrun::status::read_many(&expand_logs(&logs)?)?;
            print_bytes(
                hrun::status::render_many(&states, hrun::civil::unix_seconds(std::time::SystemTime::now()))
                    .as_bytes(),
            )
        }
        Cmd::Report { logs, output } => {
            let logs = expand_logs(&logs)?;
            // `-o -`: the page on standard output (it was written to a file named `-`).
            if output.as_deref().is_some_and(|o| o.as_os_str() == "-") {
                return print_bytes(hrun::report::render(&hrun::report::read(&logs)?));
            }
            let path = hrun::report::output_path(&logs, output)?;
            let run = hrun::report::read(&logs)?;
            hrun::report::write_page(&path, &hrun::report::render(&run))?;
            let shown = hrun::text::printable(&path.display().to_string()).into_owned();
            eprintln!(
                "hrun: report of {} written to {shown}",
                hrun::text::count(run.bars.len() as u64, "task attempt")
            );
            Ok(exit::OK)
        }
        Cmd::Results { logs, output, sweep } => {
            let (logs, out) = (expand_logs(&logs)?, output.unwrap_or_else(|| "-.csv".into()));
            hrun::same_file::refuse_over_logs(&logs, "-o", &out)?;
            let rows = hrun::results::from_logs(&logs, &out, sweep)?;
            if out.file_stem().is_none_or(|s| s != "-") {
                eprintln!("hrun: {} written to {}", hrun::text::count(rows, "row"), out.display());
            }
            Ok(exit::OK)
        }
        Cmd::Config => print_bytes(config.render().as_bytes()),
        Cmd::Completions { shell } => print_bytes(Cli::completions(shell)),
        Cmd::Man { command } => print_bytes(Cli::man_page(command.as_deref())?),
    }
}

/// Writes to stdout: a write error is an error, a closed pipe (`hrun man | head`) is not.
fn print_bytes(bytes: impl AsRef<[u8]>) -> anyhow::Result<i32> {
    hrun::stdout::print(bytes).map(|()| exit::OK)
}
