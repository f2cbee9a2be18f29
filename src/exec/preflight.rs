//! Everything a run checks before it starts: every input read and checked, the log to resume
//! from, the slot plan, the shell, the directories and the output spool. A refusal here is a
//! [`UsageError`] (exit 2), and nothing hrun writes has been opened: the only things made are
//! directories (`--output-dir`, the default log's `.hrun/`) and unlinked temporary files.
//! The outputs themselves are claimed after this (`log::claim`), cut or written only once
//! every claim holds.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use super::ExecConfig;
use super::output::{self, OutputMode};
use super::resume::{self, ResumePlan};
use crate::exit::UsageError;
use crate::input::{TaskSpec, TaskStream};
use crate::log::LOG_DIR;

/// What the checks found, ready for the run.
pub struct Checked {
    /// The run log, `None` for `--log none`.
    pub log: Option<PathBuf>,
    pub tasks: TaskStream,
    pub resume: ResumePlan,
    pub shell: crate::shell::Shell,
    /// Tasks this hrun runs (after shards), and in the whole input; unknown from a pipe.
    pub total: Option<u64>,
    pub file_tasks: Option<u64>,
    /// The widest job's number of values, where it is known before the run (the results
    /// table's value columns).
    pub width: Option<usize>,
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    UsageError(anyhow!("{e}")).into()
}

/// The run log a run writes: `--log` (`none`: no log), else the default name in `.hrun/`.
pub fn log_path(cfg: &ExecConfig) -> Option<PathBuf> {
    match &cfg.log {
        Some(p) if p.as_os_str() == "none" => None,
        Some(p) => Some(p.clone()),
        None => Some(default_log_path(&cfg.tasks, cfg.shard)),
    }
}

/// The default run log: `.hrun/<stem>.hrun.jsonl` in the working directory (the task file's
/// name without its extension, `stdin`, or a template's program and fingerprint), or
/// `.hrun/<stem>.shard-K-of-N.hrun.jsonl` for a shard, so shards never share a log.
pub fn default_log_path(tasks: &TaskSpec, shard: Option<crate::shard::Shard>) -> PathBuf {
    let stem = tasks.log_stem();
    let name = match shard {
        Some(s) => format!("{stem}.{}.hrun.jsonl", s.label()),
        None => format!("{stem}.hrun.jsonl"),
    };
    Path::new(LOG_DIR).join(name)
}

/// Checks everything before the run (see the module documentation).
pub fn check(cfg: &ExecConfig) -> Result<Checked> {
    let log = log_path(cfg);
    check_log_choice(cfg, log.as_deref())?;
    check_outputs(cfg, log.as_deref()).map_err(usage)?;
    if let Some(table) = &cfg.results {
        crate::results::Format::of(table)?;
    }
    output::prepare(&cfg.output).map_err(|e| usage(format!("{e:#}")))?;
    if let Some(dir) = log.as_deref().and_then(Path::parent).filter(|d| cfg.log.is_none() && !d.exists()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| usage(format!("cannot create the run log directory {}: {e}", dir.display())))?;
    }
    say_reading_terminal(&cfg.tasks);
    // Everything read before the run (the first task, the logs to resume, the count) is read
    // while signals still have their default effect: nothing has started, and Ctrl-C or
    // scancel ends hrun at once, even in a long count.
    let mut tasks = cfg.tasks.open().and_then(|t| t.shuffled(cfg.shuf)).map_err(usage)?;
    if cfg.resume.is_some() && !cfg.tasks.rereadable() {
        // Resumed as it streams: each task is known by its command and which copy it is.
        tasks.track_copies();
    }
    let resume = resume_plan(cfg, log.as_deref())?;
    let shell = crate::shell::Shell::choose(cfg.shell.as_deref()).map_err(usage)?;
    let (total, file_tasks, width) = totals(cfg, &mut tasks, &resume)?;
    Ok(Checked { log, tasks, resume, shell, total, file_tasks, width })
}

/// `--log none` cannot be resumed; an empty log name is a mistake; a log that a config file
/// names must be new or a run log already (a `hrun.toml` found in the working directory must
/// not make hrun append to any file it names).
fn check_log_choice(cfg: &ExecConfig, log: Option<&Path>) -> Result<()> {
    let Some(log) = log else {
        if cfg.resume.is_some() {
            return Err(usage("--resume needs a run log to resume from: --log none keeps none"));
        }
        crate::messages::note(format_args!(
            "--log none: this run keeps no run log (no --resume, no hrun status)"
        ));
        return Ok(());
    };
    if log.as_os_str().is_empty() {
        let from = cfg.log_origin.as_deref().unwrap_or("--log");
        return Err(usage(format!(
            "the run log's name ({from}) is empty: name a file, or `none` for no log"
        )));
    }
    if let Some(config) = &cfg.log_from_config
        && let Err(why) = is_new_or_run_log(log)
    {
        return Err(usage(format!(
            "{} sets log = {}, which {why}: hrun appends only to a new file or a run log of its own \
             when a config file names it (give --log on the command line to use it anyway)",
            config.display(),
            crate::text::printable(&log.display().to_string())
        )));
    }
    Ok(())
}

/// Ok for a path that does not exist, an empty file, or a file whose first line is a run
/// record; else why not.
fn is_new_or_run_log(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let Ok(meta) = std::fs::metadata(path) else { return Ok(()) };
    if !meta.is_file() {
        return Err(format!("is not a regular file (a {})", crate::smallfile::kind_name(meta.file_type())));
    }
    let mut head = [0u8; 64];
    let n = crate::log::read::open(path)
        .map_err(|e| format!("cannot be read ({e:#})"))?
        .read(&mut head)
        .map_err(|e| format!("cannot be read ({e})"))?;
    let head = &head[..n];
    let run = head.is_empty() || head.starts_with(br#"{"kind":"run""#);
    if run { Ok(()) } else { Err("exists and is not an hrun run log".into()) }
}

fn say_reading_terminal(tasks: &TaskSpec) {
    if tasks.reads_stdin() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("hrun: reading {} from the terminal, one per line; end with Ctrl-D", tasks.unit());
    }
}

/// The task count for progress, `hrun status` and `--halt X%` (`total`: this run's, after
/// resume and shards), the input's own, and the widest job: a quick pass over a file, which
/// also checks every line before anything runs. A pipe can only be read once: no count.
fn totals(
    cfg: &ExecConfig,
    tasks: &mut TaskStream,
    resume: &ResumePlan,
) -> Result<(Option<u64>, Option<u64>, Option<usize>)> {
    if cfg.tasks.rereadable() {
        let (mine, all, width) = count_tasks(&cfg.tasks, resume)?;
        tasks.expect_tasks(all);
        Ok((Some(mine), Some(all), Some(width)))
    } else if cfg.policy.halt.needs_total() {
        Err(usage(format!("--halt with a percentage needs {}", cfg.tasks.once_only())))
    } else {
        Ok((None, None, cfg.tasks.values_per_job()))
    }
}

/// Tasks this hrun runs (its shard's), in all, and the most values a job has, checking every
/// line or value on the way.
fn count_tasks(tasks: &TaskSpec, plan: &ResumePlan) -> Result<(u64, u64, usize)> {
    let mut tf = tasks.open().map_err(usage)?;
    let (mut mine, mut all, mut width) = (0, 0, 0);
    loop {
        let t = match tf.next_task() {
            Ok(Some(t)) => t,
            Ok(None) => break,
            // A line too long for `-s` stops the run where it comes, as in GNU: the jobs
            // before it run.
            Err(crate::input::InputError::Source(crate::template::SourceError::TooLong { .. })) => break,
            Err(e) => return Err(usage(e)),
        };
        mine += plan.owns(t.seq) as u64;
        all += 1;
        width = width.max(t.job.as_ref().map_or(1, |j| j.args.len()));
    }
    Ok((mine, all, tasks.values_per_job().unwrap_or(0).max(width)))
}

/// `{##}`, `{0#}` and `{0%}`: the number of jobs (`--total-jobs`, else the input's: `counted`,
/// or counted here) and of slots (as `-j` asks, before it is cut to the number of tasks: GNU's
/// width), given to the template before any job is rendered.
pub(super) fn give_counts(cfg: &ExecConfig, counted: Option<u64>, threads: usize) -> Result<()> {
    let Some(spec) = cfg.tasks.template() else { return Ok(()) };
    let tag = spec.tagstring.as_deref();
    if spec.template.needs_total() || tag.is_some_and(|t| t.needs_total()) {
        let n = match (cfg.total_jobs, counted) {
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) if cfg.tasks.rereadable() => {
                let mut tasks = cfg.tasks.open().map_err(usage)?;
                let mut n = 0;
                while tasks.next_task().map_err(usage)?.is_some() {
                    n += 1;
                }
                n
            }
            (None, None) => {
                return Err(usage(
                    "{##} and {0#} show the number of jobs, which hrun cannot know before the first starts \
                     when values come from standard input or a pipe (read once): give --total-jobs N, or \
                     the values in a file (:::: FILE)",
                ));
            }
        };
        spec.counts.set_total(n);
    }
    if spec.template.needs_slots() || tag.is_some_and(|t| t.needs_slots()) {
        spec.counts.set_slots(crate::placement::plan(&cfg.placement, threads, cfg.jobs)?.plan.slots.len());
    }
    Ok(())
}

/// Refuses outputs that would write over an input or over each other (see `same_file`).
pub(super) fn check_outputs(cfg: &ExecConfig, log: Option<&Path>) -> Result<(), String> {
    let stdin = Path::new("/proc/self/fd/0");
    let mut inputs: Vec<crate::same_file::Named<'_>> = match &cfg.tasks {
        TaskSpec::File(crate::taskfile::Source::Path(p)) => vec![("the task file", p.as_path())],
        TaskSpec::File(crate::taskfile::Source::Stdin) => vec![],
        TaskSpec::Template(t) => {
            crate::template::sources::files(&t.sources).map(|p| ("an input source", p)).collect()
        }
        TaskSpec::Blocks(b) => match &b.source {
            crate::pipe::Source::Part(files) => {
                files.iter().map(|p| ("a --pipepart file", p.as_path())).collect()
            }
            crate::pipe::Source::Stdin => vec![],
        },
    };
    // Standard input redirected from a file is the user's input whether or not the values
    // come from it (`... ::: a < data.txt`): never written over.
    if crate::taskfile::stdin_is_file() {
        inputs.push(("standard input", stdin));
    }
    let mut outputs: Vec<crate::same_file::Named<'_>> = log.map(|l| ("--log", l)).into_iter().collect();
    outputs.extend(cfg.joblog.as_deref().map(|p| ("--joblog", p)));
    outputs.extend(
        cfg.results.as_deref().filter(|p| !crate::results::Target::is_stdout(p)).map(|p| ("--results", p)),
    );
    crate::same_file::refuse_overlap(&inputs, &outputs)?;
    let own_dir = match &cfg.output {
        OutputMode::Dir(dir) => Some(dir.as_path()),
        OutputMode::Results(files) => files.root(),
        _ => None,
    };
    if let Some(dir) = own_dir {
        crate::same_file::refuse_in_output_dir(&inputs, dir)?;
        crate::same_file::refuse_in_output_dir(&outputs, dir)?;
    }
    Ok(())
}

/// What `--resume` skips (nothing without it), restricted to this hrun's shard.
pub(super) fn resume_plan(cfg: &ExecConfig, log: Option<&Path>) -> Result<ResumePlan> {
    let (Some(mode), Some(log)) = (cfg.resume, log) else {
        return Ok(ResumePlan::none().with_shard(cfg.shard));
    };
    // With the default log name, the other shards' logs count too (a sweep started on N nodes
    // can be finished on M, or one), and so do the logs an older hrun kept in the working
    // directory itself.
    let logs = match cfg.log {
        Some(_) => vec![log.to_path_buf()],
        None => {
            let stem = cfg.tasks.log_stem();
            let mut logs = resume::sibling_logs(log, &stem);
            let legacy = resume::sibling_logs(&PathBuf::from(format!("{stem}.hrun.jsonl")), &stem);
            let legacy: Vec<PathBuf> = legacy.into_iter().filter(|l| l.exists()).collect();
            if !legacy.is_empty() {
                crate::messages::note(format_args!(
                    "also resuming from {} (where an older hrun kept its run logs; new ones go to \
                     {LOG_DIR}/)",
                    legacy.iter().map(|l| l.display().to_string()).collect::<Vec<_>>().join(", ")
                ));
            }
            logs.extend(legacy);
            logs
        }
    };
    if cfg.log.is_none() && cfg.tasks.template().is_some() && !logs.iter().any(|l| l.exists()) {
        crate::messages::note(format_args!(
            "no run log {} yet, so every job runs: a template's default log is named after \
             its command and how values are read, not the values (give --log to resume across a \
             change of the command)",
            log.display()
        ));
    }
    let mut plan = match cfg.tasks.rereadable() {
        true => resume::plan(&cfg.tasks, &logs, mode)?,
        // A pipe is read once, and checked against the logs as it streams.
        false => resume::plan_stream(&logs, mode)?,
    };
    // A sweep GNU parallel began: no hrun log knows it, its joblog does.
    if plan.logged == 0
        && cfg.tasks.rereadable()
        && let Some(joblog) = &cfg.joblog
        && let Some(from_joblog) = resume::plan_from_joblog(&cfg.tasks, joblog, mode)?
    {
        crate::messages::note(format_args!(
            "no run log knows this sweep: resuming from the joblog {} as GNU parallel does ({} in it; \
             a task is known by its job number there, by its command in hrun's log from now on)",
            crate::text::printable(&joblog.display().to_string()),
            crate::text::count(from_joblog.logged, "job")
        ));
        plan = from_joblog;
    }
    let plan = plan.with_shard(cfg.shard);
    if plan.gone > 0 {
        crate::messages::note(format_args!(
            "{} of the run log no longer in {} (changed or removed lines): not run",
            crate::text::count(plan.gone as u64, "finished task"),
            crate::text::printable(&cfg.tasks.name())
        ));
    }
    Ok(plan)
}
