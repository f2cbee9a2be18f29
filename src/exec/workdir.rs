//! GNU parallel's `--workdir DIR` (`--wd`): the directory each task starts in.
//!
//! As GNU parallel 20221122 does on the local machine:
//! - `DIR`: made with its parents if missing; replacement strings in it (`{}`, `{#}`, `{1}`
//!   ...) are filled in per job, values unquoted, so each job may get its own;
//! - `.`: hrun's own working directory (GNU's default too);
//! - `...`: a fresh directory per job, `$HOME/.parallel/tmp/<host>-<pid>-<seq>`, removed
//!   with everything in it when the task ends (GNU removes it from the job's shell after the
//!   command; hrun after the task and any leftover processes of it, and at the end of the
//!   run those of tasks that never started).
//!
//! GNU runs `cd DIR || exit 255; CMD` in the task's shell; hrun changes directory in the
//! task's process before it execs (`sys::Spawner`), so a plain line still skips the shell.
//! The naming here is pure; making and removing directories is [`Workdir::prepare`] and
//! [`Workdir::done`].

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::task::Task;

/// Where tasks start.
#[derive(Debug)]
pub enum Workdir {
    /// One directory for every task (made before the run).
    Fixed(PathBuf),
    /// A directory named per job by replacement strings.
    PerJob(String, crate::template::Template),
    /// `...`: a fresh directory per task under `root`, removed when the task ends; those made
    /// and not yet removed.
    Fresh { root: PathBuf, prefix: String, made: RefCell<HashSet<PathBuf>> },
}

impl Workdir {
    /// `--workdir DIR` as given (`.`: hrun's own directory, where tasks get `$OLDPWD` as after
    /// GNU's `cd .`). `home`: `$HOME`, for `...`.
    pub fn parse(dir: &str, home: Option<&Path>, host: &str) -> Result<Option<Workdir>, String> {
        match dir {
            "" => {
                Err("--workdir needs a directory (`.`: the current one, `...`: a fresh one per job)".into())
            }
            "..." => {
                let home = home.ok_or(
                    "--workdir ...: $HOME is not set (the fresh directories go in $HOME/.parallel/tmp)",
                )?;
                Ok(Some(Workdir::Fresh {
                    root: home.join(".parallel/tmp"),
                    prefix: format!("{host}-{}-", std::process::id()),
                    made: RefCell::new(HashSet::new()),
                }))
            }
            _ if dir.contains('{') => {
                let syntax =
                    crate::template::Syntax { quoting: crate::template::Quoting::Raw, ..Default::default() };
                let t = crate::template::Template::parse_in(&[dir.to_string()], &syntax)
                    .map_err(|e| format!("--workdir {dir}: {e}"))?;
                // No replacement string after all (`{` as text): one directory.
                match t.text() == dir {
                    true => Ok(Some(Workdir::Fixed(PathBuf::from(dir)))),
                    false => Ok(Some(Workdir::PerJob(dir.to_string(), t))),
                }
            }
            _ => Ok(Some(Workdir::Fixed(PathBuf::from(dir)))),
        }
    }

    /// The directory `task` starts in on slot `slot` (pure).
    pub fn for_task(&self, task: &Task, slot: usize) -> PathBuf {
        match self {
            Workdir::Fixed(d) => d.clone(),
            Workdir::PerJob(text, t) => PathBuf::from(match &task.job {
                Some(job) => {
                    t.render_as(&job.args, Some(task.seq), Some(slot), crate::template::Quoting::Raw)
                }
                None => crate::task::expand(text, task.seq, slot).into_owned(),
            }),
            Workdir::Fresh { root, prefix, .. } => root.join(format!("{prefix}{}", task.seq)),
        }
    }

    /// Before the run: a single directory is made now (with its parents), so that one that
    /// cannot be is refused before anything runs.
    pub fn check(&self) -> Result<()> {
        match self {
            Workdir::Fixed(d) => make(d),
            Workdir::Fresh { root, .. } => make(root),
            Workdir::PerJob(..) => Ok(()),
        }
    }

    /// Makes `dir` (for a task about to start) if it is missing.
    pub fn prepare(&self, dir: &Path) -> Result<()> {
        match self {
            Workdir::Fixed(_) => Ok(()),
            Workdir::PerJob(..) => make(dir),
            Workdir::Fresh { made, .. } => {
                make(dir)?;
                made.borrow_mut().insert(dir.to_path_buf());
                Ok(())
            }
        }
    }

    /// Task `task` ended (for good or to be retried): its fresh directory is removed.
    pub fn done(&self, task: &Task) {
        if let Workdir::Fresh { made, .. } = self {
            let dir = self.for_task(task, 0);
            if made.borrow_mut().remove(&dir) {
                remove(&dir);
            }
        }
    }
}

impl Drop for Workdir {
    /// Fresh directories of tasks that were made ready and never ran (a request withdrawn
    /// when the run stopped) go too.
    fn drop(&mut self) {
        if let Workdir::Fresh { made, .. } = self {
            for dir in made.borrow_mut().drain() {
                remove(&dir);
            }
        }
    }
}

/// `mkdir -p dir`, and it must be a directory hrun can enter. As `parallel`, one that cannot
/// be made is said as GNU says it (it makes the directory too, and then cannot enter it).
fn make(dir: &Path) -> Result<()> {
    let made = std::fs::create_dir_all(dir);
    if crate::messages::gnu() && !dir.is_dir() {
        // GNU's words, with the error its `-x` test leaves (the stat's, else the mkdir's).
        let why = match (std::fs::metadata(dir), made) {
            (Err(e), _) | (Ok(_), Err(e)) => e,
            (Ok(_), Ok(())) => std::io::Error::from_raw_os_error(libc::ENOTDIR),
        };
        let why = why.to_string();
        let why = why.split(" (os error").next().unwrap_or_default();
        anyhow::bail!("{}{}: {why}", crate::exit::CANNOT_CHDIR, dir.display());
    }
    made.with_context(|| {
        format!("--workdir: cannot make directory {}", crate::text::printable(&dir.display().to_string()))
    })?;
    let meta = std::fs::metadata(dir).with_context(|| {
        format!("--workdir: cannot enter {}", crate::text::printable(&dir.display().to_string()))
    })?;
    anyhow::ensure!(meta.is_dir(), "--workdir: {} is not a directory", dir.display());
    Ok(())
}

fn remove(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        crate::messages::warning(format_args!(
            "cannot remove --workdir ... directory {}: {e}",
            dir.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(seq: u64, cmd: &str) -> Task {
        Task { seq, line: seq, cmd: cmd.into(), job: None, occurrence: 1, block: None }
    }

    #[test]
    fn dot_is_hruns_own_directory_and_empty_is_refused() {
        assert!(
            matches!(Workdir::parse(".", None, "h").unwrap(), Some(Workdir::Fixed(ref d)) if d == Path::new("."))
        );
        assert!(Workdir::parse("", None, "h").is_err());
        assert!(Workdir::parse("...", None, "h").unwrap_err().contains("HOME"));
    }

    #[test]
    fn names_per_task() {
        let fixed = Workdir::parse("a/b", None, "h").unwrap().unwrap();
        assert_eq!(fixed.for_task(&task(3, "x"), 1), PathBuf::from("a/b"));
        let fresh = Workdir::parse("...", Some(Path::new("/home/u")), "node7").unwrap().unwrap();
        let want = format!("/home/u/.parallel/tmp/node7-{}-12", std::process::id());
        assert_eq!(fresh.for_task(&task(12, "x"), 2), PathBuf::from(want));
        let per = Workdir::parse("w/{#}-{%}", None, "h").unwrap().unwrap();
        assert_eq!(per.for_task(&task(4, "x"), 2), PathBuf::from("w/4-2"));
        let job = crate::template::JobArgs {
            template: std::sync::Arc::new(crate::template::Template::parse(&["echo".into()]).unwrap()),
            args: vec!["a b'c".into()],
            tag: None,
            counts: Default::default(),
        };
        let t = Task { job: Some(job), ..task(5, "echo") };
        let per = Workdir::parse("d/{}.{#}", None, "h").unwrap().unwrap();
        assert_eq!(per.for_task(&t, 1), PathBuf::from("d/a b'c.5"), "values unquoted");
    }
}
