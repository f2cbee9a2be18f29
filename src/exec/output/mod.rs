//! Where a task's stdout and stderr go, so that no two tasks' output ever interleaves and a
//! task printing gigabytes neither blocks the dispatcher nor grows hrun's memory.
//!
//! - [`OutputMode::Group`] (default, like `parallel --group`): the task writes into two
//!   unlinked temporary files in `$TMPDIR`; when it ends, a writer thread copies them to
//!   hrun's stdout and stderr as one block each. Files, not pipes: nothing has to drain them
//!   while the task runs, so a chatty task can never stall on a full pipe.
//! - [`OutputMode::Ordered`] (`-k`): the same blocks, in task order: a block that ends before
//!   an earlier task's is copied into a spill file (so held blocks cost disk, not descriptors)
//!   and written when its turn comes.
//! - [`OutputMode::Dir`]: the task writes straight into `DIR/<seq>.out` and `DIR/<seq>.err`.
//! - [`OutputMode::Results`] (GNU's `--results DIR`): the task writes straight into the files
//!   [`super::results_files`] lays out for its values, with its number in a `seq` file.
//! - [`OutputMode::Lines`] (`--line-buffer`): the same files, and the writer thread shows each
//!   running task's whole lines as they come ([`super::line_buffer`]).
//! - [`OutputMode::Ungroup`] (`-u`): the task writes to hrun's own stdout and stderr as it
//!   runs; lines of different tasks may mix.
//!
//! As GNU parallel, only a task's last attempt is shown: the output of an attempt that is
//! retried is dropped (its record is in the log).
//!
//! Temporary files are recycled (creating one costs an inode allocation, a measurable part
//! of a short task): a task that printed nothing gives its files straight back, and the
//! writer thread empties the others and sends them back. Files of a task that leaked
//! processes are never recycled, since a leftover could still hold them.
//!
//! If hrun's own stdout is closed (`hrun exec ... | head`), further output is dropped and the
//! run goes on: the log and the tasks' own result files are what matter.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::{Context, Result};

/// Finished tasks whose output may wait for the writer thread before the dispatcher waits.
const WRITER_BACKLOG: usize = 64;
/// Empty file pairs kept for reuse.
pub const POOL_MAX: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputMode {
    Group,
    Ordered,
    Dir(PathBuf),
    Ungroup,
    /// GNU's `--results NAME` where NAME is not a table.
    Results(super::results_files::ResultsFiles),
    /// GNU's `--line-buffer`: whole lines as they come, tasks interleaved; `ordered` (`-k`):
    /// the oldest running task's lines as they come, the others' when their turn comes.
    Lines {
        ordered: bool,
    },
}

impl OutputMode {
    /// The task writes into files of its own (nothing of it reaches hrun's stdout).
    fn own_files(&self) -> bool {
        matches!(self, OutputMode::Dir(_) | OutputMode::Results(_))
    }
}

/// What `--results DIR` needs to name a task's files: the values' `--header :` names, how many
/// tuples of values a job holds (`-N`), and a name with replacement strings, parsed.
#[derive(Debug, Default)]
pub struct ValueLayout {
    pub names: Vec<String>,
    pub per_job: usize,
    named: Option<crate::template::Template>,
}

/// A running task's output files, as hrun holds them.
pub struct Captured {
    stdout: File,
    stderr: File,
}

impl Captured {
    /// Two anonymous files, for tests of what happens around a task.
    #[cfg(test)]
    pub fn scratch() -> Captured {
        Captured { stdout: tempfile::tempfile().unwrap(), stderr: tempfile::tempfile().unwrap() }
    }

    /// The files the child writes to (it gets them as its fds 1 and 2).
    pub fn files(&self) -> (&File, &File) {
        (&self.stdout, &self.stderr)
    }

    fn is_empty(&self) -> bool {
        let len = |f: &File| f.metadata().map_or(1, |m| m.len());
        len(&self.stdout) == 0 && len(&self.stderr) == 0
    }

    /// The two files as they are now (for `--output-dir`: which files the task wrote).
    pub fn stamps(&self) -> Option<crate::log::OutputFiles> {
        let stamp = |f: &File| f.metadata().ok().map(|m| crate::log::FileStamp::of(&m));
        Some(crate::log::OutputFiles { out: stamp(&self.stdout)?, err: stamp(&self.stderr)? })
    }

    /// Bytes the task wrote to stdout (GNU parallel's joblog `Receive`).
    pub fn stdout_len(&self) -> u64 {
        self.stdout.metadata().map(|m| m.len()).unwrap_or(0)
    }

    /// Empties both files when `dirty` (output that is dropped, not copied).
    fn reset_if(&self, dirty: bool) -> io::Result<()> {
        if dirty {
            for f in [&self.stdout, &self.stderr] {
                f.set_len(0)?;
                (&*f).seek(SeekFrom::Start(0))?;
            }
        }
        Ok(())
    }

    /// Empties both files for the next task (the offset is shared with the child's copies).
    fn reset(&mut self) -> io::Result<()> {
        for f in [&mut self.stdout, &mut self.stderr] {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
        }
        Ok(())
    }
}

/// A finished task's output on its way to the writer thread.
struct Block {
    captured: Captured,
    /// Send the files back for reuse once copied.
    recycle: bool,
    /// `--tag`: each line is prefixed with this and a tab.
    tag: Option<String>,
    /// `--color`, `--color-failed`: the colour each line starts with.
    paint: Option<String>,
}

/// What the writer thread is told.
enum Msg {
    /// Task `seq` started (`-k`: its block comes next after those started before it).
    Started(u64),
    /// Task `seq` is done: its output, `None` when there is none to show.
    Done(u64, Option<Block>),
    /// A finished task's row for the results table, with its output.
    Row(Box<crate::log::TaskRecord>, Block),
    /// `-k` with a results table: task `seq` ended without a row (cut short); the rows held
    /// behind it go.
    NoRow(u64),
    /// `--line-buffer`: task `seq` writes into these files (hrun's own descriptors of them),
    /// its lines led by this tag.
    Watch(u64, File, File, Option<String>, Option<String>),
    /// `--line-buffer`: an attempt of task `seq` ended; the rest of its output is shown
    /// (`true`: not an attempt that is retried), and its files are given back.
    Ended(u64, Block, bool),
    /// A line of hrun's own for standard error, after the output sent before it (GNU prints
    /// `This job failed:` after the job's output).
    Say(String),
}

/// Hands out per-task output files and delivers grouped output in task-end order.
pub struct Output {
    mode: OutputMode,
    writer: Option<(mpsc::SyncSender<Msg>, JoinHandle<()>)>,
    returned: Option<mpsc::Receiver<Captured>>,
    pool: RefCell<Vec<Captured>>,
    /// hrun's stdout was found closed (its reader ended) while writing task output.
    stdout_closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Task output that could not be written.
    lost: SharedLost,
    /// A results table in a regular file: written by the dispatcher, each row before its
    /// task's record (see [`Output::write_row`]); `None` once writing it failed.
    file_table: RefCell<Option<crate::results::Table>>,
    /// Writing the table in a file failed: no row is written from then on.
    table_failed: std::cell::Cell<bool>,
    /// GNU's `-v` and `-t`: each command shown as it starts.
    echo: Echo,
    /// `--results DIR`: how a task's values name its files.
    layout: ValueLayout,
    /// `--tag`: for `--line-buffer`'s lines.
    tags: bool,
    /// `--color`, `--color-failed`.
    colors: super::color::Colors,
    /// GNU's `--files`: each task's stdout stays in a file of its own in `$TMPDIR`, whose
    /// name is shown instead of the output; the attempts' files by task.
    files: Option<RefCell<std::collections::HashMap<u64, PathBuf>>>,
    /// GNU's `--compress`: the files a task's output is left in are compressed when it ends.
    compress: Option<Compression>,
    /// Tasks that succeeded whose compressor failed.
    compress_failed: std::cell::Cell<u64>,
}

/// Task output that could not be written to hrun's stdout (a full disk, an I/O error; not a
/// reader that closed the pipe): which tasks', and why, for the dispatcher to stop on and for
/// the log to say (`--resume` runs them again).
#[derive(Debug, Default)]
pub struct LostOutput {
    pub error: Option<String>,
    pub seqs: Vec<u64>,
}

type SharedLost = std::sync::Arc<std::sync::Mutex<LostOutput>>;

/// Where each command is shown as its task starts (GNU parallel's `-v` and `-t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Echo {
    /// `-v`: on standard output, before the task's output (in its block when grouped).
    pub stdout: bool,
    /// `-t` (GNU's `--verbose`): on standard error.
    pub stderr: bool,
}

/// A `--results` name with replacement strings, parsed (its `{name}`s are the header's
/// `names`); a usage error names it. `None` for any other output.
pub fn results_name(mode: &OutputMode, names: &[String]) -> Result<Option<crate::template::Template>> {
    let OutputMode::Results(super::results_files::ResultsFiles::Named(name)) = mode else { return Ok(None) };
    let syntax = crate::template::Syntax {
        names: names.to_vec(),
        quoting: crate::template::Quoting::Raw,
        ..Default::default()
    };
    crate::template::Template::parse_in(std::slice::from_ref(name), &syntax)
        .map(Some)
        .map_err(|e| crate::exit::UsageError(anyhow::anyhow!("--results {name}: {e}")).into())
}

/// Checks before the run that `mode` can work: `--output-dir` is created (with its parents)
/// and must take a new file; grouped output needs a temporary file in `$TMPDIR`. Only
/// directories and unlinked temporary files are made.
pub fn prepare(mode: &OutputMode) -> Result<()> {
    match mode {
        OutputMode::Dir(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create output directory {}", dir.display()))?;
            tempfile::tempfile_in(dir)
                .with_context(|| format!("output directory {} is not writable", dir.display()))?;
        }
        OutputMode::Results(files) => {
            if let Some(dir) = files.root() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create results directory {}", dir.display()))?;
                tempfile::tempfile_in(dir)
                    .with_context(|| format!("results directory {} is not writable", dir.display()))?;
            }
        }
        OutputMode::Ungroup => {}
        OutputMode::Group | OutputMode::Ordered | OutputMode::Lines { .. } => {
            tempfile::tempfile().context(
                "cannot create a temporary file for task output (set TMPDIR to a writable directory)",
            )?;
        }
    }
    Ok(())
}

impl Output {
    /// Starts the writer thread for `mode` (checked by [`prepare`]). With a results `table`,
    /// finished tasks' output goes into it instead of to hrun's stdout.
    pub fn start(
        mode: OutputMode,
        bar: Option<indicatif::ProgressBar>,
        table: Option<crate::results::Table>,
    ) -> Result<Output> {
        let threaded = match &mode {
            OutputMode::Dir(_) => table.is_some(),
            OutputMode::Ungroup | OutputMode::Results(_) => false,
            OutputMode::Group | OutputMode::Ordered | OutputMode::Lines { .. } => true,
        };
        let lines = matches!(mode, OutputMode::Lines { .. });
        let stdout_closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let closed = stdout_closed.clone();
        let lost = SharedLost::default();
        let lost_w = lost.clone();
        // A table on standard output is the writer thread's, like the rest of hrun's stdout.
        let (file_table, table) = match table {
            Some(t) if t.end().is_some() => (Some(t), None),
            other => (None, other),
        };
        // -k: blocks, or rows of a table on standard output, in task order (the dispatcher
        // orders the rows of a table in a file).
        let ordered = (mode == OutputMode::Ordered && file_table.is_none())
            || mode == OutputMode::Lines { ordered: true };
        let (writer, returned) = if threaded {
            // Bounded: if hrun's stdout is slower than the tasks, the dispatcher waits for it
            // rather than piling up open files (two descriptors per task).
            let (tx, rx) = mpsc::sync_channel::<Msg>(WRITER_BACKLOG);
            let (back_tx, back_rx) = mpsc::channel::<Captured>();
            let handle = std::thread::Builder::new()
                .name("hrun-output".into())
                .spawn(move || {
                    let sink = Sink::new(bar, closed, lost_w);
                    write_blocks(rx, back_tx, sink, Writing { ordered, lines }, table)
                })
                .context("cannot start the output thread")?;
            (Some((tx, handle)), Some(back_rx))
        } else {
            (None, None)
        };
        Ok(Output {
            mode,
            writer,
            returned,
            pool: RefCell::new(Vec::new()),
            stdout_closed,
            lost,
            file_table: RefCell::new(file_table),
            table_failed: std::cell::Cell::new(false),
            echo: Echo::default(),
            layout: ValueLayout::default(),
            tags: false,
            colors: Default::default(),
            files: None,
            compress: None,
            compress_failed: std::cell::Cell::new(0),
        })
    }

    /// The values' names and grouping that `--results DIR` names files by, and a `--results`
    /// name's template ([`results_name`]).
    pub fn with_layout(
        self,
        names: Vec<String>,
        per_job: usize,
        named: Option<crate::template::Template>,
    ) -> Output {
        Output { layout: ValueLayout { names, per_job, named }, ..self }
    }

    /// Shows each command as its task starts ([`Output::announce`]).
    pub fn with_echo(self, echo: Echo) -> Output {
        Output { echo, ..self }
    }

    /// Shows `command` as GNU's `-v`/`-t` do, before the task that runs it starts: `-v` puts it
    /// at the start of the task's captured output, so it stays with that output (grouped, `-k`,
    /// `--tag`), or on hrun's stdout at once with `-u`.
    pub fn announce(&self, captured: &Captured, command: &str) -> io::Result<()> {
        let line = format!("{command}\n");
        if self.echo.stderr {
            io::stderr().lock().write_all(line.as_bytes())?;
        }
        if self.echo.stdout {
            match self.mode {
                OutputMode::Ungroup => io::stdout().lock().write_all(line.as_bytes())?,
                _ => (&captured.stdout).write_all(line.as_bytes())?,
            }
        }
        Ok(())
    }

    /// Opens the files `task` will write to (on slot `slot`: `{%}` in a `--results` name).
    pub fn open(&self, task: &crate::task::Task, slot: usize) -> Result<Captured> {
        let seq = task.seq;
        match &self.mode {
            OutputMode::Results(files) => {
                use super::results_files::{self as rf, ResultsFiles};
                let args = task.job.as_ref().map_or(&[][..], |j| &j.args[..]);
                let paths = match (files, &self.layout.named) {
                    (ResultsFiles::Named(_), Some(t)) => rf::named_paths(&t.render_as(
                        args,
                        Some(seq),
                        Some(slot),
                        crate::template::Quoting::Raw,
                    )),
                    (ResultsFiles::Tree(dir), _) => {
                        rf::tree_paths(dir, args, self.layout.per_job, &self.layout.names)
                    }
                    (ResultsFiles::Named(name), None) => rf::named_paths(name),
                };
                if let Some(dir) = paths.seq.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create results directory {}", dir.display()))?;
                }
                let mut seq_file = create_truncated(&paths.seq)?;
                seq_file
                    .write_all(seq.to_string().as_bytes())
                    .with_context(|| format!("cannot write {}", paths.seq.display()))?;
                Ok(Captured {
                    stdout: create_truncated(&paths.stdout)?,
                    stderr: create_truncated(&paths.stderr)?,
                })
            }
            OutputMode::Ungroup => {
                let dup = |fd: std::os::fd::BorrowedFd<'_>| -> Result<File> {
                    Ok(File::from(fd.try_clone_to_owned().context("cannot share hrun's output with a task")?))
                };
                use std::os::fd::AsFd;
                Ok(Captured { stdout: dup(io::stdout().as_fd())?, stderr: dup(io::stderr().as_fd())? })
            }
            OutputMode::Group | OutputMode::Ordered if self.files.is_some() => {
                let (stdout, name) = kept_file()?;
                if let Some(files) = &self.files {
                    files.borrow_mut().insert(seq, name);
                }
                let stderr = tempfile::tempfile()
                    .context("cannot create a temporary file for task output in $TMPDIR")?;
                Ok(Captured { stdout, stderr })
            }
            OutputMode::Group | OutputMode::Ordered | OutputMode::Lines { .. } => {
                let captured = self.spool()?;
                if let (OutputMode::Lines { .. }, Some((tx, _))) = (&self.mode, &self.writer) {
                    let (out, err) = (captured.stdout.try_clone(), captured.stderr.try_clone());
                    let tag = self.tags.then(|| task.tag(Some(slot)));
                    let _ = tx.send(Msg::Watch(
                        seq,
                        out.context("--line-buffer")?,
                        err.context("--line-buffer")?,
                        tag,
                        self.colors.of(seq, None),
                    ));
                }
                Ok(captured)
            }
            OutputMode::Dir(dir) => Ok(Captured {
                stdout: create_truncated(&dir.join(format!("{seq}.out")))?,
                stderr: create_truncated(&dir.join(format!("{seq}.err")))?,
            }),
        }
    }

    /// A pair of temporary files for a task's output: given back by an earlier task, or new.
    fn spool(&self) -> Result<Captured> {
        let mut pool = self.pool.borrow_mut();
        if let Some(rx) = &self.returned {
            pool.extend(rx.try_iter());
        }
        if let Some(c) = pool.pop() {
            return Ok(c);
        }
        let tmp =
            || tempfile::tempfile().context("cannot create a temporary file for task output in $TMPDIR");
        Ok(Captured { stdout: tmp()?, stderr: tmp()? })
    }

    /// `--tag` (or `--tagstring`): lines shown as they come (`--line-buffer`) carry the tag.
    pub fn with_tags(self, tags: bool) -> Output {
        Output { tags, ..self }
    }

    /// `--color`, `--color-failed`: each job's lines in its colour.
    pub fn with_colors(self, colors: super::color::Colors) -> Output {
        Output { colors, ..self }
    }

    /// GNU's `--files`: each task's stdout kept in a file of its own, its name shown.
    pub fn with_files(self, files: bool) -> Output {
        Output { files: files.then(RefCell::default), ..self }
    }

    /// GNU's `--compress`: the output files left behind (`--files`, `--results DIR`) are
    /// compressed by this program.
    pub fn with_compression(self, compress: Option<Compression>) -> Output {
        Output { compress, ..self }
    }

    /// The files of a finished task that outlive the run, compressed when asked: `--files`'
    /// stdout, `--results DIR`'s stdout and stderr. A program that fails leaves the output as
    /// it was, said as GNU says it.
    /// Grouped output (`OutputMode::Group`, `Ordered`; `--line-buffer` with `--compress` is
    /// one of these) passes through the compressor and back (`Compression::round_trip`), said
    /// the same way when it fails. True when a program failed.
    fn compress_kept(&self, captured: &mut Captured, row: bool) -> bool {
        let mut failed = false;
        let Some(c) = &self.compress else { return false };
        let grouped = matches!(self.mode, OutputMode::Group | OutputMode::Ordered | OutputMode::Lines { .. });
        let kept = match (&self.mode, &self.files) {
            (OutputMode::Results(_), _) => vec![&mut captured.stdout, &mut captured.stderr],
            // GNU compresses the stderr it drops too (a failing program is said twice).
            (_, Some(_)) => vec![&mut captured.stdout, &mut captured.stderr],
            _ if grouped && !row => vec![&mut captured.stdout, &mut captured.stderr],
            _ => return false,
        };
        for file in kept {
            let done = match grouped && self.files.is_none() {
                true => c.round_trip(file),
                false => c.compress_in_place(file),
            };
            if let Err(e) = done {
                failed = true;
                match crate::messages::gnu() {
                    true => eprintln!("parallel: Error: {} failed.", c.program),
                    false => eprintln!("hrun: error: --compress: {e:#}"),
                }
            }
        }
        failed
    }

    /// Tasks that succeeded but whose output's compressor failed (GNU counts them failed).
    pub fn compress_failed(&self) -> u64 {
        self.compress_failed.get()
    }

    /// True once hrun's stdout turned out closed (`hrun exec ... | head`): output of tasks
    /// that end from now on cannot be shown.
    pub fn stdout_closed(&self) -> bool {
        self.stdout_closed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when task output is buffered in `$TMPDIR` and that file system is (nearly) full:
    /// tasks writing output then fail with ENOSPC.
    pub fn spool_full(&self) -> bool {
        matches!(self.mode, OutputMode::Group | OutputMode::Ordered)
            && crate::sys::free_bytes(&std::env::temp_dir()).is_some_and(|b| b < 1 << 20)
    }

    /// Task `seq` started its first attempt (`-k` orders blocks and rows on standard output
    /// by this).
    pub fn started(&self, seq: u64) {
        if let (OutputMode::Ordered, Some((tx, _))) = (&self.mode, &self.writer)
            && !self.has_file_table()
        {
            let _ = tx.send(Msg::Started(seq));
        }
    }

    /// `-k` with a results table in a file: the dispatcher writes rows in the order tasks
    /// started (GNU's job order), holding those that finish early.
    pub fn rows_in_order(&self) -> bool {
        self.mode == OutputMode::Ordered && self.has_file_table()
    }

    /// Task `seq` ended for good without a row: with `-k` and a table on standard output, the
    /// rows held behind it go.
    pub fn no_row(&self, seq: u64) {
        if let (OutputMode::Ordered, Some((tx, _))) = (&self.mode, &self.writer)
            && !self.has_file_table()
        {
            let _ = tx.send(Msg::NoRow(seq));
        }
    }

    /// Called when an attempt of task `seq` has ended. `shown`: its output is shown, and
    /// whether the task failed (`--color-failed`); None for an attempt that is retried.
    /// Grouped output goes to the writer thread, unless the task printed nothing. `recycle`:
    /// no process of the task can still hold the files. `row`: with a results table, the
    /// record of a task that finished, for its row.
    pub fn finish(
        &self,
        seq: u64,
        captured: Captured,
        recycle: bool,
        shown: Option<bool>,
        tag: Option<String>,
        row: Option<crate::log::TaskRecord>,
    ) {
        let show = shown.is_some();
        let paint = self.colors.of(seq, Some(shown == Some(true)));
        let mut captured = captured;
        if show
            && self.compress_kept(&mut captured, row.is_some() || self.has_file_table())
            && shown == Some(false)
        {
            self.compress_failed.set(self.compress_failed.get() + 1);
        }
        let Some((tx, _)) = &self.writer else { return };
        if let Some(files) = &self.files {
            // The task's output stays in its file; its name is what is shown. A retried
            // attempt's file goes (GNU shows only the last attempt's output).
            let name = files.borrow_mut().remove(&seq);
            // GNU prints only the name: the job's stderr is not shown (nor kept).
            let _ = captured.stderr.set_len(0);
            match (name, show) {
                (Some(name), true) => match name_block(&name) {
                    Ok(f) => captured.stdout = f,
                    Err(e) => crate::messages::warning(format_args!(
                        "task {seq}'s output is in {}: {e}",
                        name.display()
                    )),
                },
                (Some(name), false) => {
                    let _ = std::fs::remove_file(name);
                }
                (None, _) => {}
            }
        }
        // Only temporary files are reused; a task's own files in --output-dir are not.
        // `--files` makes its files afresh for each task: none is taken back.
        let recycle = recycle
            && self.files.is_none()
            && matches!(self.mode, OutputMode::Group | OutputMode::Ordered | OutputMode::Lines { .. });
        if matches!(self.mode, OutputMode::Lines { .. }) && row.is_none() {
            // The writer thread shows the rest, then gives the files back: never reused while
            // it may still read them.
            let _ = tx.send(Msg::Ended(seq, Block { captured, recycle, tag, paint }, show));
            return;
        }
        if let Some(record) = row {
            let _ = tx.send(Msg::Row(Box::new(record), Block { captured, recycle, tag, paint }));
            return;
        }
        let ordered = self.mode == OutputMode::Ordered;
        if !show || captured.is_empty() || self.mode.own_files() {
            let mut pool = self.pool.borrow_mut();
            if recycle && pool.len() < POOL_MAX && captured.reset_if(!show).is_ok() {
                pool.push(captured);
            }
            if ordered && show {
                let _ = tx.send(Msg::Done(seq, None));
            }
            return;
        }
        // The writer only stops when `tx` is dropped, in `close`.
        let _ = tx.send(Msg::Done(seq, Some(Block { captured, recycle, tag, paint })));
    }

    /// `line` (and a newline) on standard error once the output sent so far is written.
    pub fn say(&self, line: String) {
        match &self.writer {
            Some((tx, _)) => {
                if let Err(mpsc::SendError(Msg::Say(line))) = tx.send(Msg::Say(line)) {
                    eprintln!("{line}");
                }
            }
            None => eprintln!("{line}"),
        }
    }

    /// With a results table in a file, writes the row of `record` (a finished task) with its
    /// output, and returns the table's length after it, which the task's record then keeps:
    /// the row is in the table before the record is in the log, so a crash can leave a row
    /// the log does not vouch for (cut at `--resume`), never a finished task without a row.
    /// `Ok(None)` without such a table (a table on standard output gets its row through
    /// [`Output::finish`]). A row that cannot be written (a full disk) is an error, and so is
    /// every later one: their tasks' records carry no `results_end`, so `--resume` cuts the
    /// table back to the last whole row and runs them again.
    pub fn write_row(
        &self,
        record: &crate::log::TaskRecord,
        captured: &mut Captured,
        tag: Option<&str>,
    ) -> Result<Option<u64>> {
        if self.table_failed.get() {
            anyhow::bail!("the results table could not be written");
        }
        let mut slot = self.file_table.borrow_mut();
        let Some(table) = slot.as_mut() else { return Ok(None) };
        match write_row(table, record.clone(), captured, tag) {
            Ok(()) => Ok(table.end()),
            Err(e) => {
                self.table_failed.set(true);
                *slot = None;
                Err(e)
            }
        }
    }

    /// The length of the results table in a file, before any row of this run.
    pub fn file_table_len(&self) -> Option<u64> {
        self.file_table.borrow().as_ref().and_then(crate::results::Table::end)
    }

    /// Whether rows go to a table in a file (written by [`Output::write_row`]).
    /// `--output-dir`: each task writes its own `<seq>.out` and `<seq>.err`.
    pub fn in_output_dir(&self) -> bool {
        matches!(self.mode, OutputMode::Dir(_))
    }

    pub fn has_file_table(&self) -> bool {
        self.file_table.borrow().is_some() || self.table_failed.get()
    }

    /// Why task output could not be written to stdout, once that happened.
    pub fn output_failed(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.error.clone())
    }

    /// Waits until every block handed to [`Output::finish`] has been written; returns the
    /// output that could not be.
    pub fn close(mut self) -> LostOutput {
        if let Some((tx, handle)) = self.writer.take() {
            drop(tx);
            let _ = handle.join();
        }
        self.lost.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }
}

/// GNU's `--files`: a new file `$TMPDIR/parXXXXX.par` (GNU's pattern) that outlives hrun,
/// readable by its owner only, and its name as GNU shows it (`$TMPDIR` as written, a relative
/// one too).
fn kept_file() -> Result<(File, PathBuf)> {
    let dir = std::env::temp_dir();
    let file = tempfile::Builder::new()
        .prefix("par")
        .suffix(".par")
        .rand_bytes(5)
        .tempfile_in(&dir)
        .context("--files: cannot create a file for task output in $TMPDIR")?;
    let (file, path) = file.keep().context("--files: cannot keep a task's output file")?;
    Ok((file, path.file_name().map_or(path.clone(), |n| dir.join(n))))
}

/// What `--files` shows for a task: the name of the file holding its output, on a line.
fn name_block(name: &Path) -> io::Result<File> {
    use std::os::unix::ffi::OsStrExt;
    let mut f = tempfile::tempfile()?;
    f.write_all(name.as_os_str().as_bytes())?;
    f.write_all(b"\n")?;
    f.seek(SeekFrom::Start(0))?;
    Ok(f)
}

/// A task's own output file in `--output-dir`, made new: whatever had its name (an earlier
/// attempt's output, or a symlink or hard link planted there to make hrun write elsewhere) is
/// removed first, and the file is created with `O_EXCL | O_NOFOLLOW`, so hrun writes only into
/// a file it just made.
fn create_truncated(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            anyhow::bail!("cannot create task output file {}: it is a directory", path.display())
        }
        Ok(_) => std::fs::remove_file(path)
            .with_context(|| format!("cannot replace task output file {}", path.display()))?,
        Err(_) => {}
    }
    // Readable too: a results table copies the output back.
    OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot create task output file {}", path.display()))
}

/// A finished task's row, with the output it captured (`--tag`: tagged), written to `table`.
fn write_row(
    table: &mut crate::results::Table,
    record: crate::log::TaskRecord,
    captured: &mut Captured,
    tag: Option<&str>,
) -> Result<()> {
    let seq = record.seq;
    let stdout = crate::results::read_output(&mut captured.stdout, seq, "stdout");
    let stderr = crate::results::read_output(&mut captured.stderr, seq, "stderr");
    table.write(&crate::results::Row::new(record, stdout, stderr).tagged(tag))
}

mod compress;
mod writer;
pub use compress::{Compression, from_path as compression_from_path};
use writer::*;
