//! The guardian: kills what hrun was running when hrun itself is killed.

use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;

/// The variable that marks every task (and whatever it starts) as this hrun's.
pub const OWNER_VAR: &str = "HRUN_PID";

/// A helper process that outlives a SIGKILLed hrun just long enough to kill what hrun was
/// running. `PR_SET_PDEATHSIG` only reaches hrun's direct children; a task's own children
/// (`sh -c 'a; b'` forks) would otherwise survive it, re-parented to init.
///
/// It costs nothing per task: it holds the read end of a pipe whose write end only hrun
/// has. When hrun dies for any reason the kernel closes the pipe; the guardian reads EOF,
/// SIGKILLs every process whose environment carries `HRUN_PID=<hrun's pid>` (every task
/// gets it, and their children inherit it) together with its process group, and exits.
/// It is forked while hrun is still single-threaded.
pub struct Guardian {
    _pipe: File,
    pid: i32,
}

impl Guardian {
    pub fn start() -> io::Result<Guardian> {
        let mut fds = [0; 2];
        // SAFETY: getpid has no preconditions.
        let owner = unsafe { libc::getpid() };
        // SAFETY: pipe2 fills two fds; fork is called while hrun is single-threaded (see
        // exec::run), so the child is an ordinary single-threaded process.
        unsafe {
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                return Err(io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => Err(io::Error::last_os_error()),
                0 => {
                    libc::close(fds[1]);
                    // A group of its own: `kill -9 -<hrun's group>` must not take it along.
                    libc::setpgid(0, 0);
                    let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                    if devnull >= 0 {
                        for fd in 0..3 {
                            libc::dup2(devnull, fd);
                        }
                    }
                    guardian_main(fds[0], owner)
                }
                pid => {
                    libc::close(fds[0]);
                    Ok(Guardian { _pipe: File::from_raw_fd(fds[1]), pid })
                }
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }
}

fn guardian_main(fd: i32, owner: i32) -> ! {
    let mut buf = [0u8; 64];
    // Nothing is ever written: read returns 0 (EOF) once hrun is gone.
    // SAFETY: reading into a stack buffer of its length.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break;
        }
    }
    let me = std::process::id() as i32;
    let marker = format!("{OWNER_VAR}={owner}");
    // Two passes: a task may fork between the scan and the kill.
    for _ in 0..2 {
        for pid in owned_processes(marker.as_bytes()).into_iter().filter(|&p| p != me) {
            // SAFETY: plain signal syscalls.
            unsafe {
                let pgid = libc::getpgid(pid);
                if pgid > 1 && pgid != libc::getpgrp() {
                    libc::killpg(pgid, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(0) }
}

/// Every process whose environment holds the exact entry `marker`.
fn owned_processes(marker: &[u8]) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|kv| kv == marker))
        })
        .collect()
}
