//! hrun: runs many independent tasks on one HPC node, each pinned to its own CPUs.
//! `main` parses the command line, runs it, and maps errors to documented exit statuses.

use hrun::cli::{Cli, Cmd, ExecArgs};
use hrun::{exec, exit, generate, input, pipeline, placement, reduce};

fn main() {
    let cli = Cli::parse_argv(std::env::args_os().collect());
    let code = match run(cli) {
        Ok(code) => code,
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
        Cmd::Exec(args) => Ok(exec::run(&exec_config(*args, &config)?)?.exit_code()),
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
            if let Some(out) = &output {
                refuse_over_logs(&logs, "-o", out)?;
            }
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
        Cmd::Results { logs, output } => {
            let logs = hrun::log::read::expand_logs(&logs).map_err(exit::UsageError)?;
            let out = output.unwrap_or_else(|| "-.csv".into());
            refuse_over_logs(&logs, "-o", &out)?;
            let rows = hrun::results::from_logs(&logs, &out)?;
            if out.file_stem().is_none_or(|s| s != "-") {
                eprintln!("hrun: {rows} row(s) written to {}", out.display());
            }
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
                repeat: args.repeat,
                command: (!args.command.is_empty()).then(|| args.command.join(" ")),
                worker: args.worker,
                placement: args.placement.placement(&config)?,
                hrun: std::env::current_exe()
                    .map_err(|e| anyhow::anyhow!("cannot locate the hrun binary to run the waves: {e}"))?,
            };
            let outcome = hrun::tune::sweep(&cfg)?;
            print_bytes(hrun::tune::render(&outcome))?;
            if let Some((_, why)) = &outcome.stopped {
                eprintln!("hrun: tune: {why}; the table shows the waves that ran");
            }
            Ok(outcome.exit_code())
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

/// `hrun exec`'s flags over the environment and hrun.toml, and its words read as a task file
/// or a command template.
fn exec_config(args: ExecArgs, config: &hrun::config::Config) -> anyhow::Result<exec::ExecConfig> {
    let usage = |msg: String| -> anyhow::Error { exit::UsageError(anyhow::anyhow!(msg)).into() };
    if let Some(why) = args.gnu.refusal() {
        return Err(usage(why.to_string()));
    }
    let t = &args.template;
    let reading = input::reading(input::ReadingFlags {
        null: t.null,
        delimiter: t.delimiter.as_deref(),
        colsep: t.colsep.as_deref(),
        header: t.header.as_deref(),
        skip_empty: t.no_run_if_empty,
    })
    .map_err(usage)?;
    let max_args = match (t.max_replace_args, t.max_args) {
        (Some(0), _) | (_, Some(0)) => return Err(usage("-N/-n needs at least 1 value per job".into())),
        (Some(n), _) => Some(hrun::template::MaxArgs { n, context: true }),
        (None, Some(n)) => Some(hrun::template::MaxArgs { n, context: false }),
        (None, None) => None,
    };
    let opts = input::TemplateOptions { arg_files: t.arg_files.clone(), link: t.link, reading, max_args };
    let tasks = input::classify(&args.words, opts).map_err(usage)?;
    Ok(exec::ExecConfig {
        tasks,
        threads: args.threads,
        jobs: config.get("jobs", args.control.jobs)?,
        log: config.get("log", args.log)?,
        threads_default: config.file_threads()?,
        joblog: args.joblog,
        output: match (args.output_dir, args.ungroup, args.keep_order) {
            (Some(dir), _, _) => exec::output::OutputMode::Dir(dir),
            (None, true, _) => exec::output::OutputMode::Ungroup,
            // With --results, output goes into the table, in the order tasks finish.
            (None, false, true) if args.results.is_none() => exec::output::OutputMode::Ordered,
            (None, false, true) => exec::output::OutputMode::Group,
            (None, false, false) => exec::output::OutputMode::Group,
        },
        policy: args.control.faults.policy(config)?,
        resume: match (args.resume, args.resume_failed) {
            (_, true) => Some(exec::resume::ResumeMode::Succeeded),
            (true, false) => Some(exec::resume::ResumeMode::Finished),
            (false, false) => None,
        },
        force: args.force,
        placement: args.control.placement.placement(config)?,
        quiet: false,
        progress: args.control.progress.mode(config)?,
        shard: args
            .shard
            .map(|s| s.resolve(|k| std::env::var(k).ok()))
            .transpose()
            .map_err(|e| exit::UsageError(anyhow::anyhow!(e)))?,
        delay: args.delay,
        shell: args.shell,
        dry_run: t.dry_run,
        emit_tasks: t.emit_tasks.clone(),
        tag: args.tag,
        results: args.results,
    })
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

/// Refuses an output file that is one of the logs being read.
fn refuse_over_logs(logs: &[std::path::PathBuf], what: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let inputs: Vec<hrun::same_file::Named<'_>> =
        logs.iter().map(|l| ("a run log being read", l.as_path())).collect();
    hrun::same_file::refuse_overlap(&inputs, &[(what, out)])
        .map_err(|e| exit::UsageError(anyhow::anyhow!(e)).into())
}
