//! One wave of `hrun tune`: a task file with one task per slot, run by a child `hrun exec` of
//! its own, and what that child's run log says of it.
//!
//! Why a child process and not `exec::run` in tune's own process: every task carries
//! `HRUN_PID=<its hrun>`, and when a run ends its guardian wakes up and kills every process
//! marked with that pid. With all waves in one process, wave k's guardian was still scanning
//! `/proc` when wave k+1's tasks (marked with the same pid) started, and killed them ("killing
//! 1 stray process(es)" was wave k+1 finding wave k's guardian). A child per wave has its own
//! pid, guardian, subreaper and signal state: a wave can only ever touch its own tasks.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use anyhow::{Context, Result, anyhow, bail};

use crate::exit::{self, UsageError};
use crate::log::{EndSummary, Outcome, Record};
use crate::placement::Placement;
use crate::sys::{self, SignalFd};
use crate::text::printable;

/// How many failed tasks of a wave are named (the rest are counted).
pub const FAILURES_SHOWN: usize = 10;

/// A wave that ran to its end.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wave {
    /// First task start to last task end.
    pub wall_s: f64,
    /// Tasks that ended.
    pub tasks: u64,
    /// Tasks whose last attempt failed.
    pub failed: u64,
    /// The first [`FAILURES_SHOWN`] of them.
    pub failures: Vec<Failure>,
    /// CPU seconds (user + system) and wall seconds of its tasks, summed.
    pub cpu_s: f64,
    pub task_wall_s: f64,
}

/// A failed task of a wave, as the user should see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub seq: u64,
    /// `exit 1`, `SIGKILL`.
    pub status: String,
    pub cmd: String,
    /// The last line the task wrote to its stderr, if any.
    pub said: Option<String>,
}

/// How a wave ended.
#[derive(Debug)]
pub enum Ended {
    Ran(Wave),
    /// The sweep must stop, with this exit status and reason: a signal reached tune (it was
    /// passed on to the wave), or the wave's hrun stopped early (the Slurm job's deadline).
    Stopped(i32, String),
}

/// Runs waves one after the other, each in a child `hrun exec`, passing on the signals tune
/// receives.
pub struct Runner<'a> {
    hrun: &'a Path,
    dir: &'a Path,
    placement: &'a Placement,
    signals: SignalFd,
    /// A signal that came while no wave ran: the next wave does not start.
    pending: Option<i32>,
    waves: usize,
}

impl<'a> Runner<'a> {
    /// Blocks the signals tune passes on (read from a signalfd instead) before any child starts;
    /// children get an empty signal mask again from std's spawn.
    pub fn new(hrun: &'a Path, dir: &'a Path, placement: &'a Placement) -> Result<Runner<'a>> {
        let signals = SignalFd::install().context("cannot set up signal handling")?;
        // An empty config file: the waves run with the flags tune gives and the built-in
        // defaults, whatever hrun.toml or HRUN_* say (as `exec::run` in-process did).
        std::fs::write(dir.join("hrun.toml"), "")
            .context("cannot write into the sweep's scratch directory")?;
        Ok(Runner { hrun, dir, placement, signals, pending: None, waves: 0 })
    }

    /// Runs one wave of `lines` with `threads` CPUs per task.
    pub fn run(&mut self, threads: usize, lines: &[String]) -> Result<Ended> {
        self.take_signals(None);
        if let Some(sig) = self.pending {
            return Ok(stopped_by_signal(sig));
        }
        self.waves += 1;
        let name = format!("w{}", self.waves);
        let taskfile = self.dir.join(format!("{name}.txt"));
        let mut text = format!("#hrun threads={threads}\n");
        for l in lines {
            text += l;
            text.push('\n');
        }
        std::fs::write(&taskfile, text).context("cannot write the sweep's task file")?;
        let log = self.dir.join(format!("{name}.hrun.jsonl"));
        let outputs = self.dir.join(format!("{name}.out"));
        let said = self.dir.join(format!("{name}.stderr"));
        let mut child = self
            .command(threads, &taskfile, &log, &outputs, &said)?
            .spawn()
            .with_context(|| format!("cannot run {}", self.hrun.display()))?;
        let status = self.wait(&mut child)?;
        self.ended(threads, status, &log, &outputs, &said)
    }

    fn command(
        &self,
        threads: usize,
        taskfile: &Path,
        log: &Path,
        outputs: &Path,
        said: &Path,
    ) -> Result<Command> {
        let mut c = Command::new(self.hrun);
        for var in crate::config::environment_variables() {
            c.env_remove(var);
        }
        c.env("HRUN_CONFIG", self.dir.join("hrun.toml"));
        c.arg("exec").arg("--quiet").arg("--threads").arg(threads.to_string());
        c.arg("--log").arg(log).arg("--output-dir").arg(outputs);
        if let Some(cpus) = &self.placement.cpus {
            c.arg("--cpus").arg(cpus.to_string());
        }
        c.arg("--smt").arg(match self.placement.smt {
            crate::slots::Smt::Use => "use",
            crate::slots::Smt::Avoid => "avoid",
        });
        if let Some(root) = &self.placement.sysfs_root {
            c.arg("--sysfs-root").arg(root);
        }
        c.arg(taskfile);
        // A process group of its own: a Ctrl-C on the terminal reaches tune alone, which
        // passes it on once (a second SIGINT would make hrun kill at once).
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        // tune killed outright (SIGKILL, the OOM killer) must not leave the wave running.
        crate::sys::term_when_parent_dies(&mut c);
        let file = File::create(said).context("cannot write into the sweep's scratch directory")?;
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(file);
        Ok(c)
    }

    /// Waits for the wave's hrun, passing on every signal tune receives meanwhile.
    fn wait(&mut self, child: &mut Child) -> Result<ExitStatus> {
        loop {
            if let Some(status) = child.try_wait().context("waiting for a wave")? {
                return Ok(status);
            }
            // SIGCHLD is among the signals read here: the child's end wakes this up.
            self.signals.wait(None, &[]).context("waiting for a wave")?;
            self.take_signals(Some(child.id() as i32));
        }
    }

    /// Reads pending signals; passes each on to `child` (if one runs) and remembers the first.
    fn take_signals(&mut self, child: Option<i32>) {
        for sig in self.signals.take().unwrap_or_default() {
            if sig == libc::SIGCHLD {
                continue;
            }
            if let Some(pid) = child {
                sys::signal_process(pid, sig);
            }
            self.pending.get_or_insert(sig);
        }
    }

    fn ended(
        &mut self,
        threads: usize,
        status: ExitStatus,
        log: &Path,
        outputs: &Path,
        said: &Path,
    ) -> Result<Ended> {
        let code = match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
            (Some(code), _) => code,
            (None, Some(sig)) => {
                bail!("the hrun running the wave of T = {threads} was killed by {}", sys::signal_name(sig))
            }
            (None, None) => bail!("the hrun running the wave of T = {threads} ended without a status"),
        };
        let end = read_log(log, outputs)?;
        if let Some(sig) = self.pending {
            return Ok(stopped_by_signal(sig));
        }
        match (code, end) {
            // 2 is ambiguous (two failed tasks, or a refusal): the end record tells them apart.
            (0..=exit::MANY_FAILED, Some(wave)) => Ok(Ended::Ran(wave)),
            // Tune passes SIGUSR1 on as a signal (above): 102 here is the wave's deadline, the
            // end of the Slurm job tune runs in.
            (exit::INCOMPLETE, _) => Ok(Ended::Stopped(
                exit::INCOMPLETE,
                format!("the wave of T = {threads} stopped at the deadline (the Slurm job's end is near)"),
            )),
            (c, _) if (129..160).contains(&c) => Ok(stopped_by_signal(c - 128)),
            (exit::USAGE, None) => Err(UsageError(anyhow!("{}", last_line(said))).into()),
            (c, _) => {
                bail!("the hrun running the wave of T = {threads} failed (exit {c}): {}", last_line(said))
            }
        }
    }
}

fn stopped_by_signal(sig: i32) -> Ended {
    Ended::Stopped(128 + sig, format!("interrupted by {}", sys::signal_name(sig)))
}

/// hrun's last word on its stderr (`hrun: error: ...`), without the prefix.
fn last_line(said: &Path) -> String {
    let text = std::fs::read(said).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let line = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(it said nothing)");
    let line = line.strip_prefix("hrun: error: ").or_else(|| line.strip_prefix("hrun: ")).unwrap_or(line);
    printable(line).into_owned()
}

/// The wave as its log tells it; `None` when the log holds no end record (the run was refused
/// before it started, or did not end).
fn read_log(log: &Path, outputs: &Path) -> Result<Option<Wave>> {
    if !log.exists() {
        return Ok(None);
    }
    let mut wave = Wave::default();
    let mut end: Option<EndSummary> = None;
    crate::log::read::for_each_record(log, |record| match record {
        Record::Task(t) => {
            wave.cpu_s += t.rusage.utime_s + t.rusage.stime_s;
            wave.task_wall_s += t.wall_s;
            if t.outcome() == Outcome::Failed && wave.failures.len() < FAILURES_SHOWN {
                wave.failures.push(Failure {
                    seq: t.seq,
                    status: t.status_and_timeout(),
                    said: last_stderr_line(&outputs.join(format!("{}.err", t.seq))),
                    cmd: t.cmd,
                });
            }
        }
        Record::End(e) => end = Some(e),
        _ => {}
    })?;
    // Named in task order, whatever order they ended in.
    wave.failures.sort_by_key(|f| f.seq);
    Ok(end.map(|e| Wave { wall_s: e.makespan_s, tasks: e.tasks, failed: e.failed, ..wave }))
}

/// The last non-blank line of a task's stderr file (its last 4 KiB), shown escaped.
fn last_stderr_line(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(4096))).ok()?;
    let mut buf = Vec::new();
    f.take(4096).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(printable(line.trim_end()).into_owned())
}
