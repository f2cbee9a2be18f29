//! hrun: runs many independent tasks on one HPC node, each pinned to its own CPUs.
//! `main` parses the command line, runs it, and maps errors to documented exit statuses.

use hrun::cli::{Cli, Cmd};
use hrun::{exec, exit, generate, pipeline, placement, reduce, taskfile};

fn main() {
    let cli: Cli = mc_pi::cli_error::parse_or_exit("hrun");
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
    let config = hrun::config::Config::load()?;
    match cli.command {
        Cmd::Exec(args) => {
            let cfg = exec::ExecConfig {
                source: taskfile::Source::from_arg(&args.taskfile),
                threads: args.threads,
                jobs: config.get("jobs", args.control.jobs)?,
                log: config.get("log", args.log)?,
                threads_default: config.file_threads()?,
                joblog: args.joblog,
                output: match args.output_dir {
                    Some(dir) => exec::output::OutputMode::Dir(dir),
                    None => exec::output::OutputMode::Group,
                },
                policy: args.control.faults.policy(&config)?,
                resume: match (args.resume, args.resume_failed) {
                    (_, true) => Some(exec::resume::ResumeMode::Succeeded),
                    (true, false) => Some(exec::resume::ResumeMode::Finished),
                    (false, false) => None,
                },
                force: args.force,
                placement: args.control.placement.placement(&config)?,
                quiet: false,
                progress: args.control.progress.mode(&config)?,
                shard: args
                    .shard
                    .map(|s| s.resolve(|k| std::env::var(k).ok()))
                    .transpose()
                    .map_err(|e| exit::UsageError(anyhow::anyhow!(e)))?,
            };
            Ok(exec::run(&cfg)?.exit_code())
        }
        Cmd::Gen(args) => {
            let w = args.workload;
            let cfg = generate::GenConfig {
                tasks: w.tasks,
                threads: w.threads,
                samples: w.samples,
                seed: w.seed,
                results: args.results,
                worker: w.worker,
            };
            let stdout = std::io::stdout();
            match generate::write_task_file(&cfg, &mut stdout.lock()) {
                // `hrun gen | head` is not an error.
                Err(e) if is_broken_pipe(&e) => Ok(exit::OK),
                other => other.map(|()| exit::OK),
            }
        }
        Cmd::Reduce(args) => {
            let r = reduce::reduce_dirs(&args.dirs, args.skip_bad)?;
            print_bytes(if args.json { serde_json::to_string(&r)? + "\n" } else { reduce::render(&r) })
        }
        Cmd::Slots(args) => {
            let placement = args.placement.placement(&config)?;
            let planned = placement::plan(&placement, args.threads, None)?;
            print_bytes(if args.json {
                placement::to_json(&planned, placement.smt) + "\n"
            } else {
                placement::render(&planned, placement.smt)
            })
        }
        Cmd::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hrun", &mut script);
            print_bytes(&script)
        }
        Cmd::Status { logs } => {
            let logs = hrun::log::read::expand_logs(&logs).map_err(exit::UsageError)?;
            let states = hrun::status::read_many(&logs)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            print_bytes(hrun::status::render_many(&states, now).as_bytes())
        }
        Cmd::Report { logs, output } => {
            let logs = hrun::log::read::expand_logs(&logs).map_err(exit::UsageError)?;
            let run = hrun::report::read(&logs)?;
            let path = output.unwrap_or_else(|| match logs.as_slice() {
                [one] => one.with_extension("html"),
                [first, ..] => first.with_file_name("report.html"),
                [] => "report.html".into(),
            });
            std::fs::write(&path, hrun::report::render(&run))
                .map_err(|e| anyhow::anyhow!("cannot write report {}: {e}", path.display()))?;
            let shown = hrun::text::printable(&path.display().to_string()).into_owned();
            eprintln!("hrun: report of {} task attempt(s) written to {shown}", run.bars.len());
            Ok(exit::OK)
        }
        Cmd::Config => print_bytes(config.render().as_bytes()),
        Cmd::Man => {
            use clap::CommandFactory;
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            print_bytes(&page)
        }
        Cmd::Tune(args) => {
            let cfg = hrun::tune::TuneConfig {
                samples: args.samples,
                threads_list: args.threads_list,
                strong: args.strong,
                command: (!args.command.is_empty()).then(|| args.command.join(" ")),
                worker: args.worker,
                placement: args.placement.placement(&config)?,
            };
            let rows = hrun::tune::sweep(&cfg)?;
            let unit = if cfg.command.is_some() { "tasks/s" } else { "samples/s" };
            print_bytes(hrun::tune::render(&rows, unit))
        }
        Cmd::Run(args) => {
            let w = args.workload;
            pipeline::run(&pipeline::RunConfig {
                tasks: w.tasks,
                threads: w.threads,
                samples: w.samples,
                seed: w.seed,
                jobs: config.get("jobs", args.control.jobs)?,
                dir: args.dir,
                worker: w.worker,
                policy: args.control.faults.policy(&config)?,
                placement: args.control.placement.placement(&config)?,
                progress: args.control.progress.mode(&config)?,
                json: args.json,
            })
        }
    }
}

/// Writes to stdout: a write error is an error, a closed pipe (`hrun man | head`) is not.
fn print_bytes(bytes: impl AsRef<[u8]>) -> anyhow::Result<i32> {
    hrun::stdout::print(bytes).map(|()| exit::OK)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
