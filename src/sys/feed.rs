//! A block on a command's standard input (see `pipe::feed`): the file itself when the block
//! is the whole file, else a pipe a forked child fills from the file's ranges with `splice`.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;

/// Execs `argv` with the `ranges` (offset, length) of the file at `path` on standard input;
/// returns only the error that stopped it.
pub fn exec_with_stdin(path: &Path, ranges: &[(u64, u64)], argv: &[OsString]) -> io::Error {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let whole = match file.metadata() {
        Ok(m) => ranges.len() == 1 && ranges[0] == (0, m.len()) && m.is_file(),
        Err(e) => return e,
    };
    let stdin = if whole {
        OwnedFd::from(file)
    } else {
        match stream(file, ranges) {
            Ok(fd) => fd,
            Err(e) => return e,
        }
    };
    // SAFETY: dup2 of a descriptor we own onto 0; the original is closed when `stdin` drops
    // (it is close-on-exec anyway).
    if unsafe { libc::dup2(stdin.as_raw_fd(), 0) } < 0 {
        return io::Error::last_os_error();
    }
    drop(stdin);
    // std's exec restores SIGPIPE and an empty signal mask, as the launcher's child did.
    std::process::Command::new(&argv[0]).args(&argv[1..]).exec()
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
