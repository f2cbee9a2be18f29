//! Running nothing: `--dry-run` prints the commands a run would start, `--emit-tasks` writes
//! a template's jobs as a task file.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, anyhow};

use super::ExecConfig;
use crate::exit::UsageError;
use crate::input::TaskSpec;
use crate::task::Task;

/// Prints the command of every task the run would start (after `--resume` and `--shard`), in
/// order, one per line, as GNU parallel's `--dry-run`: `{#}` filled in, `{%}` as 1 (the
/// slot is only known when it runs). Returns how many of them GNU would skip (`{choose_k}`,
/// `{uniq}`): GNU counts them as failed even here.
pub fn dry_run(cfg: &ExecConfig) -> Result<u64> {
    if cfg.resume.is_some() && !cfg.tasks.rereadable() {
        return Err(UsageError(anyhow!(
            "--resume needs {} (hrun reads the tasks twice)",
            cfg.tasks.once_only()
        ))
        .into());
    }
    let threads = cfg.threads.or(cfg.threads_default).unwrap_or(super::DEFAULT_THREADS);
    super::preflight::give_counts(cfg, None, threads)?;
    let mut tasks = cfg.tasks.open().and_then(|t| t.shuffled(cfg.shuf)).map_err(|e| UsageError(e.into()))?;
    let plan = super::preflight::resume_plan(cfg, super::preflight::log_path(cfg).as_deref())?;
    let mut skipped = 0;
    let mut skips = 0;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while let Some(task) = plan.next_to_run(&mut tasks, &mut skipped).map_err(|e| UsageError(e.into()))? {
        let line = task.command(1);
        skips += u64::from(task.job.as_ref().is_some_and(|j| j.skipped()));
        let tag = if cfg.tag { format!("{}\t", task.tag(Some(1))) } else { String::new() };
        let written = out
            .write_all(tag.as_bytes())
            .and_then(|()| out.write_all(line.as_bytes()))
            .and_then(|()| out.write_all(b"\n"));
        if let Err(e) = written {
            // `hrun exec --dry-run ... | head` is not an error.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(skips);
            }
            return Err(anyhow!(e).context("cannot write to standard output"));
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow!(e).context("cannot write to standard output"))
        }
        _ => Ok(skips),
    }
}

/// Writes a template's jobs as a task file that `hrun exec FILE` runs the same way and that
/// resumes with the template's log (each line is the job's identity). `-` is standard output.
pub fn emit(cfg: &ExecConfig, path: &Path) -> Result<()> {
    let usage = |msg: String| -> anyhow::Error { UsageError(anyhow!(msg)).into() };
    let Some(spec) = cfg.tasks.template() else {
        return Err(usage(format!(
            "--emit-tasks writes a command template's jobs as a task file; {} is a task file already",
            cfg.tasks.name()
        )));
    };
    let to_stdout = path.as_os_str() == "-";
    if !to_stdout {
        refuse_input_as_output(&cfg.tasks, path)?;
    }
    let mut tasks = cfg.tasks.open().and_then(|t| t.shuffled(cfg.shuf)).map_err(|e| UsageError(e.into()))?;
    let mut text = format!("# hrun exec --emit-tasks: {}\n", spec.describe().replace('\n', " "));
    if let Some(t) = cfg.threads {
        text += &format!("#hrun threads={t}\n");
    }
    let mut n = 0u64;
    let target = if to_stdout { None } else { Some(Target::open(path)?) };
    let mut sink: Box<dyn Write + '_> = match &target {
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        Some(t) => Box::new(std::io::BufWriter::new(t.file())),
    };
    let io = |e: std::io::Error| anyhow!(e).context(format!("cannot write the task file {}", path.display()));
    sink.write_all(text.as_bytes()).map_err(io)?;
    let shard = super::ResumePlan::none().with_shard(cfg.shard);
    while let Some(task) = tasks.next_task().map_err(|e| UsageError(e.into()))? {
        if !shard.owns(task.seq) {
            continue;
        }
        check_line(&task).map_err(usage)?;
        sink.write_all(task.cmd.as_bytes()).and_then(|()| sink.write_all(b"\n")).map_err(io)?;
        n += 1;
    }
    sink.flush().map_err(io)?;
    drop(sink);
    if let Some(t) = target {
        t.finish().map_err(io)?;
        eprintln!(
            "hrun: wrote {} to {}; `hrun exec {}` runs them",
            crate::text::count(n, "task"),
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Where an emitted task file goes: a temporary file beside it, renamed over it when complete
/// (a regular file, or nothing yet; a symlink's target), or straight into a FIFO or device.
enum Target {
    Atomic(tempfile::NamedTempFile, std::path::PathBuf),
    Through(std::fs::File),
}

impl Target {
    fn open(path: &Path) -> Result<Target> {
        let cannot = |e: std::io::Error| {
            UsageError(anyhow!(
                "cannot create task file {}: {}",
                path.display(),
                crate::text::printable(&e.to_string())
            ))
        };
        let real = follow_links(path);
        let dir = real.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        if !dir.is_dir() {
            return Err(cannot(std::io::Error::other(format!("no directory {}", dir.display()))).into());
        }
        match std::fs::metadata(&real) {
            Ok(m) if m.is_dir() => {
                Err(UsageError(anyhow!("--emit-tasks {} is a directory", path.display())).into())
            }
            Ok(m) if !m.is_file() => {
                Ok(Target::Through(std::fs::OpenOptions::new().write(true).open(&real).map_err(cannot)?))
            }
            existing => {
                use std::os::unix::fs::PermissionsExt;
                // The mode a shell's `>` would give: the old file's, else 0666 less the umask.
                let mode = existing.map_or(0o666 & !crate::sys::umask(), |m| m.permissions().mode() & 0o7777);
                let tmp = tempfile::Builder::new()
                    .prefix(".hrun-emit-")
                    .permissions(std::fs::Permissions::from_mode(mode))
                    .tempfile_in(&dir)
                    .map_err(cannot)?;
                Ok(Target::Atomic(tmp, real))
            }
        }
    }

    fn file(&self) -> &std::fs::File {
        match self {
            Target::Atomic(t, _) => t.as_file(),
            Target::Through(f) => f,
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Target::Atomic(t, path) => {
                t.as_file().sync_data()?;
                t.persist(&path).map(|_| ()).map_err(|e| e.error)
            }
            Target::Through(_) => Ok(()),
        }
    }
}

/// Where writing `path` lands: a symlink's target (followed through a few links, even to a
/// file that does not exist yet), so the link stays a link.
fn follow_links(path: &Path) -> std::path::PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(target) => p = p.parent().map_or(target.clone(), |dir| dir.join(&target)),
            Err(_) => return p,
        }
    }
    p
}

/// A job whose command, written as a task-file line, would not read back as the same task.
fn check_line(task: &Task) -> Result<(), String> {
    let why = if task.cmd.contains('\n') {
        "contains a newline (a value read with -0 or -d); a task file holds one command per line"
    } else if task.cmd.trim().is_empty() {
        "is empty, and a task file skips blank lines"
    } else if task.cmd.trim_start().starts_with('#') {
        "starts with #, which a task file reads as a comment"
    } else if task.cmd.ends_with('\r') {
        "ends with a carriage return, which a task file strips"
    } else if task.job.as_ref().is_some_and(|j| j.args.iter().any(|a| a.contains("{#}") || a.contains("{%}")))
    {
        "has a value containing {#} or {%}, which a task file would replace"
    } else {
        return Ok(());
    };
    Err(format!("job {} cannot be a task-file line: its command {why}; run the template itself", task.seq))
}

/// Refuses to write `out` when it is one of the inputs (see `same_file`).
fn refuse_input_as_output(tasks: &TaskSpec, out: &Path) -> Result<()> {
    let inputs: Vec<crate::same_file::Named<'_>> = match tasks {
        TaskSpec::Template(t) => {
            crate::template::sources::files(&t.sources).map(|p| ("an input source", p)).collect()
        }
        TaskSpec::File(crate::taskfile::Source::Path(p)) => vec![("the task file", p.as_path())],
        TaskSpec::File(crate::taskfile::Source::Stdin) => vec![],
        TaskSpec::Blocks(b) => match &b.source {
            crate::pipe::Source::Part(files) => {
                files.iter().map(|p| ("a --pipepart file", p.as_path())).collect()
            }
            crate::pipe::Source::Stdin => vec![],
        },
    };
    crate::same_file::refuse_overlap(&inputs, &[("--emit-tasks", out)])
        .map_err(|e| UsageError(anyhow!(e)).into())
}
