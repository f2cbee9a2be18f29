//! A block on a command's standard input (see `pipe::feed`): the file itself when the block
//! is the whole file, else a pipe a forked child fills from the file's ranges with `splice`.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// How the block reaches the command.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// On standard input.
    Stdin,
    /// A file open on this descriptor (`{}` is `/dev/fd/N`).
    Cat(i32),
    /// A FIFO made at this path, written to by a forked child once the command opens it.
    Fifo(PathBuf),
}

/// Execs `argv` with the `ranges` (offset, length) of the file at `path` delivered as `mode`
/// says; returns only the error that stopped it.
pub fn exec_fed(mode: &Mode, path: &Path, ranges: &[(u64, u64)], argv: &[OsString]) -> io::Error {
    match deliver(mode, path, ranges) {
        // std's exec restores SIGPIPE and an empty signal mask, as the launcher's child did.
        Ok(()) => std::process::Command::new(&argv[0]).args(&argv[1..]).exec(),
        Err(e) => e,
    }
}

fn deliver(mode: &Mode, path: &Path, ranges: &[(u64, u64)]) -> io::Result<()> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    // A pipe (a --round-robin job's) is standard input as it is: hrun's dealer writes into it.
    let whole = (ranges.len() == 1 && ranges[0] == (0, meta.len()) && meta.is_file())
        || (ranges.is_empty() && std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()));
    match mode {
        Mode::Stdin => {
            let fd = if whole { OwnedFd::from(file) } else { stream(file, ranges)? };
            onto(fd, 0)
        }
        Mode::Cat(n) => {
            // `file` is closed before the copy takes descriptor N (it may hold N itself).
            let fd = if whole { OwnedFd::from(file) } else { OwnedFd::from(copy_out(file, ranges)?) };
            onto(fd, *n)
        }
        Mode::Fifo(fifo) => {
            let _ = std::fs::remove_file(fifo);
            nix::unistd::mkfifo(
                fifo.as_path(),
                nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
            )
            .map_err(io::Error::from)?;
            // SAFETY: this process is single-threaded (hrun's feed step, before exec): the
            // child may run any code; it only copies and exits.
            match unsafe { libc::fork() } {
                -1 => Err(io::Error::last_os_error()),
                0 => {
                    // Waits for the command to open the FIFO; the name is not needed after.
                    let ok = std::fs::OpenOptions::new().write(true).open(fifo).is_ok_and(|out| {
                        let _ = std::fs::remove_file(fifo);
                        let out = OwnedFd::from(out);
                        ranges.iter().all(|&(offset, len)| copy_range(&file, offset, len, &out).is_ok())
                    });
                    // SAFETY: ending the child without running the parent's atexit handlers.
                    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
                }
                _ => Ok(()),
            }
        }
    }
}

/// `fd` as descriptor `target`, kept across exec.
fn onto(fd: OwnedFd, target: i32) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: dup2/fcntl on descriptors we own; dup2 onto itself would keep close-on-exec,
    // so that case clears it instead.
    let r =
        unsafe { if raw == target { libc::fcntl(raw, libc::F_SETFD, 0) } else { libc::dup2(raw, target) } };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if raw == target {
        // It is the target now: not to be closed.
        std::mem::forget(fd);
    }
    Ok(())
}

/// An unlinked file in `$TMPDIR` holding the ranges of `file`.
fn copy_out(file: File, ranges: &[(u64, u64)]) -> io::Result<File> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let mut out = tempfile::tempfile()?;
    let mut buf = vec![0u8; 1 << 16];
    for &(offset, len) in ranges {
        let (mut at, end) = (offset, offset + len);
        while at < end {
            let want = ((end - at) as usize).min(buf.len());
            let n = file.read_at(&mut buf[..want], at)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            at += n as u64;
        }
    }
    Ok(out)
}

/// A pipe's read end, its write end filled with the ranges by a forked child.
fn stream(file: File, ranges: &[(u64, u64)]) -> io::Result<OwnedFd> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and ours.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: this process is single-threaded (hrun's feed step, before exec): the child may
    // run any code; it only copies and exits.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            drop(read);
            let ok = ranges.iter().all(|&(offset, len)| copy_range(&file, offset, len, &write).is_ok());
            // SAFETY: ending the child without running the parent's atexit handlers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        _ => Ok(read),
    }
}

/// `len` bytes of `file` from `offset` into the pipe `out`: spliced, or read and written
/// where splice cannot (a file system without it).
fn copy_range(file: &File, offset: u64, len: u64, out: &OwnedFd) -> io::Result<()> {
    let mut off = offset as libc::loff_t;
    let end = offset + len;
    while (off as u64) < end {
        let want = ((end - off as u64) as usize).min(1 << 20);
        // SAFETY: splice between descriptors we hold; `off` is ours.
        let n = unsafe {
            libc::splice(
                file.as_raw_fd(),
                &mut off,
                out.as_raw_fd(),
                std::ptr::null_mut(),
                want,
                libc::SPLICE_F_MORE,
            )
        };
        match n {
            0 => return Ok(()), // the file is shorter than it was
            n if n > 0 => {}
            _ => {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                if e.raw_os_error() == Some(libc::EINVAL) {
                    return copy_by_reads(file, off as u64, end, out);
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

fn copy_by_reads(file: &File, mut at: u64, end: u64, out: &OwnedFd) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 16];
    let mut pipe = File::from(out.try_clone()?);
    while at < end {
        let want = ((end - at) as usize).min(buf.len());
        let n = file.read_at(&mut buf[..want], at)?;
        if n == 0 {
            return Ok(());
        }
        pipe.write_all(&buf[..n])?;
        at += n as u64;
    }
    Ok(())
}

/// Appends up to `want` bytes of `input` to `out` at offset `at`, spliced when `input` is a
/// pipe (the bytes go from the pipe to the file's pages without passing through hrun), read
/// and written otherwise; fewer only at the end of the input.
pub fn append(input: &File, out: &File, at: u64, want: usize) -> io::Result<usize> {
    let mut off = at as libc::loff_t;
    let mut done = 0;
    while done < want {
        // SAFETY: splice between descriptors we hold; `off` is ours.
        let n = unsafe {
            libc::splice(
                input.as_raw_fd(),
                std::ptr::null_mut(),
                out.as_raw_fd(),
                &mut off,
                want - done,
                libc::SPLICE_F_MOVE,
            )
        };
        match n {
            0 => return Ok(done),
            n if n > 0 => done += n as usize,
            _ => {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // Not a pipe (a file, a terminal, a socket): read and write.
                    Some(libc::EINVAL) => {
                        return Ok(done + append_by_reads(input, out, off as u64, want - done)?);
                    }
                    _ => return Err(e),
                }
            }
        }
    }
    Ok(done)
}

fn append_by_reads(mut input: &File, out: &File, mut at: u64, want: usize) -> io::Result<usize> {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; (128 * 1024).min(want.max(1))];
    let mut done = 0;
    while done < want {
        let chunk = (want - done).min(buf.len());
        let n = match input.read(&mut buf[..chunk]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all_at(&buf[..n], at)?;
        at += n as u64;
        done += n;
    }
    Ok(done)
}

/// A pipe (read end, write end), both closed on exec; the write end non-blocking when asked
/// (hrun's `--round-robin` dealer writes into a job's pipe only what fits).
pub fn pipe(nonblocking_write: bool) -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and ours.
    let (read, write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on a descriptor we own.
    if nonblocking_write && unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((read, write))
}

/// Waits up to `timeout_ms` until one of `fds` can be written to (or its reader is gone).
pub fn wait_writable(fds: &[i32], timeout_ms: i32) -> io::Result<()> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLOUT, revents: 0 }).collect();
    // SAFETY: a valid array of pollfds of the length given.
    let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
    Ok(())
}
