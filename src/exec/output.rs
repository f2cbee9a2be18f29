//! Where a task's stdout and stderr go, so that no two tasks' output ever interleaves and a
//! task printing gigabytes neither blocks the dispatcher nor grows hrun's memory.
//!
//! - [`OutputMode::Group`] (default, like `parallel --group`): the task writes into two
//!   unlinked temporary files in `$TMPDIR`; when it ends, a writer thread copies them to
//!   hrun's stdout and stderr as one block each. Files, not pipes: nothing has to drain them
//!   while the task runs, so a chatty task can never stall on a full pipe.
//! - [`OutputMode::Dir`]: the task writes straight into `DIR/<seq>.out` and `DIR/<seq>.err`.
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
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::{Context, Result};

/// Finished tasks whose output may wait for the writer thread before the dispatcher waits.
const WRITER_BACKLOG: usize = 64;
/// Empty file pairs kept for reuse.
const POOL_MAX: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputMode {
    Group,
    Dir(PathBuf),
}

/// A running task's output files, as hrun holds them.
pub struct Captured {
    stdout: File,
    stderr: File,
}

impl Captured {
    /// The files the child writes to (it gets them as its fds 1 and 2).
    pub fn files(&self) -> (&File, &File) {
        (&self.stdout, &self.stderr)
    }

    fn is_empty(&self) -> bool {
        let len = |f: &File| f.metadata().map_or(1, |m| m.len());
        len(&self.stdout) == 0 && len(&self.stderr) == 0
    }

    /// Bytes the task wrote to stdout (GNU parallel's joblog `Receive`).
    pub fn stdout_len(&self) -> u64 {
        self.stdout.metadata().map(|m| m.len()).unwrap_or(0)
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
}

/// Hands out per-task output files and delivers grouped output in task-end order.
pub struct Output {
    mode: OutputMode,
    writer: Option<(mpsc::SyncSender<Block>, JoinHandle<()>)>,
    returned: Option<mpsc::Receiver<Captured>>,
    pool: RefCell<Vec<Captured>>,
}

impl Output {
    /// Checks the mode can work (creating the output directory) before any task starts.
    pub fn start(mode: OutputMode, bar: Option<indicatif::ProgressBar>) -> Result<Output> {
        let (writer, returned) = match &mode {
            OutputMode::Dir(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create output directory {}", dir.display()))?;
                let probe = dir.join(".hrun-write-test");
                File::create(&probe)
                    .and_then(|_| std::fs::remove_file(&probe))
                    .with_context(|| format!("output directory {} is not writable", dir.display()))?;
                (None, None)
            }
            OutputMode::Group => {
                tempfile::tempfile().context(
                    "cannot create a temporary file for task output (set TMPDIR to a writable directory)",
                )?;
                // Bounded: if hrun's stdout is slower than the tasks, the dispatcher waits
                // for it rather than piling up open files (two descriptors per task).
                let (tx, rx) = mpsc::sync_channel::<Block>(WRITER_BACKLOG);
                let (back_tx, back_rx) = mpsc::channel::<Captured>();
                let handle = std::thread::Builder::new()
                    .name("hrun-output".into())
                    .spawn(move || write_blocks(rx, back_tx, bar))
                    .context("cannot start the output thread")?;
                (Some((tx, handle)), Some(back_rx))
            }
        };
        Ok(Output { mode, writer, returned, pool: RefCell::new(Vec::new()) })
    }

    /// Opens the files task `seq` will write to.
    pub fn open(&self, seq: u64) -> Result<Captured> {
        match &self.mode {
            OutputMode::Group => {
                let mut pool = self.pool.borrow_mut();
                if let Some(rx) = &self.returned {
                    pool.extend(rx.try_iter());
                }
                if let Some(c) = pool.pop() {
                    return Ok(c);
                }
                let tmp = || {
                    tempfile::tempfile()
                        .context("cannot create a temporary file for task output (is $TMPDIR full?)")
                };
                Ok(Captured { stdout: tmp()?, stderr: tmp()? })
            }
            OutputMode::Dir(dir) => Ok(Captured {
                stdout: create_truncated(&dir.join(format!("{seq}.out")))?,
                stderr: create_truncated(&dir.join(format!("{seq}.err")))?,
            }),
        }
    }

    /// Called when the task has ended. Grouped output goes to the writer thread, unless the
    /// task printed nothing. `recycle`: no process of the task can still hold the files.
    pub fn finish(&self, captured: Captured, recycle: bool) {
        let Some((tx, _)) = &self.writer else { return };
        if captured.is_empty() {
            let mut pool = self.pool.borrow_mut();
            if recycle && pool.len() < POOL_MAX {
                pool.push(captured);
            }
            return;
        }
        // The writer only stops when `tx` is dropped, in `close`.
        let _ = tx.send(Block { captured, recycle });
    }

    /// Waits until every block handed to [`Output::finish`] has been written.
    pub fn close(mut self) {
        if let Some((tx, handle)) = self.writer.take() {
            drop(tx);
            let _ = handle.join();
        }
    }
}

fn create_truncated(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("cannot create task output file {}", path.display()))
}

/// The writer thread: copies each finished task's output as one block, then empties the
/// files and sends them back for reuse.
fn write_blocks(
    rx: mpsc::Receiver<Block>,
    back: mpsc::Sender<Captured>,
    bar: Option<indicatif::ProgressBar>,
) {
    let mut stdout_open = true;
    let mut stderr_open = true;
    for Block { mut captured, recycle } in rx {
        let mut write = || {
            if stdout_open {
                stdout_open = copy_block(&mut captured.stdout, &mut io::stdout().lock());
            }
            if stderr_open {
                stderr_open = copy_block(&mut captured.stderr, &mut io::stderr().lock());
            }
        };
        // The bar is cleared while the block is written, and drawn again after it.
        match &bar {
            Some(b) => b.suspend(write),
            None => write(),
        }
        if recycle && captured.reset().is_ok() {
            let _ = back.send(captured);
        }
    }
}

/// Copies one whole file to `out`; false once `out` is gone (a closed pipe).
fn copy_block(file: &mut File, out: &mut impl Write) -> bool {
    if file.metadata().map(|m| m.len() == 0).unwrap_or(false) {
        return true;
    }
    let result = file.seek(SeekFrom::Start(0)).and_then(|_| io::copy(file, out)).and_then(|_| out.flush());
    match result {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => false,
        Err(e) => {
            eprintln!("hrun: warning: lost task output: {e}");
            true
        }
    }
}
