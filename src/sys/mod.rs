//! Every raw syscall hrun makes, and the only `unsafe` in the crate (the crate denies
//! `unsafe_code`; this module alone allows it, and clippy's `undocumented_unsafe_blocks` asks
//! each block for its SAFETY note): here, reading the
//! affinity mask, reaping with `wait4`, signalling process groups, the signal fd the
//! dispatcher sleeps on and the log lock; in `clone`, spawning a child pinned to its slot; in
//! `procfs`, the subreaper and `/proc`; in `guardian`, the process that outlives hrun.
//!
//! Rules that keep this sound:
//! - a spawned child runs between `clone` and `exec` in the parent's memory, so it only
//!   makes raw, async-signal-safe syscalls on data prepared before the clone;
//! - children are reaped only here, with `wait4(-1)`: nothing else (std's `Child::wait`,
//!   tokio) may wait on them, or rusage would be lost to whoever reaped first.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::cpuset::CpuSet;

mod clock;
mod clone;
pub mod feed;
mod guardian;
mod launcher;
mod limits;
mod locks;
pub mod meminfo;
mod procfs;
mod stdin;

pub use clock::local_date_time;
pub use clone::{Program, Spawner};
pub use guardian::{Guardian, OWNER_VAR};
pub use launcher::{
    Event, Hello, Launcher, MAX_REMOTE, Next, Stamp, TooLarge, When, read_setup, remote_pid, serve_stdio,
    write_hello,
};
pub use limits::{arg_max, block_file_size_signal, page_size};
pub use locks::lock_holder;
pub use procfs::{
    ProcInfo, become_subreaper, children_of, children_of_process, cpus_outside, inherited_children,
    own_children, proc_info, processes_of_this_user, signal_process, subtree,
};
pub use stdin::stdin_has_data;

/// The CPUs this process may run on (`sched_getaffinity(0)`): under Slurm, what the job was
/// given; never the machine's CPU count.
pub fn affinity() -> io::Result<CpuSet> {
    // The kernel refuses a buffer smaller than its cpumask; grow until it fits.
    let mut words = 16usize; // 1024 CPUs
    loop {
        let mut mask = vec![0u64; words];
        // SAFETY: the buffer is valid for `words * 8` bytes, which is the size passed.
        let r = unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, words * 8, mask.as_mut_ptr()) };
        if r >= 0 {
            return Ok(CpuSet::from_mask_words(&mask));
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINVAL) && words < 1 << 12 {
            words *= 2;
            continue;
        }
        return Err(err);
    }
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

/// The child's resource usage as `wait4` reports it for that child alone (plus the
/// descendants it waited for), the figures `/usr/bin/time -v` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rusage {
    pub utime_s: f64,
    pub stime_s: f64,
    pub maxrss_kb: u64,
    pub minflt: u64,
    pub majflt: u64,
    pub nvcsw: u64,
    pub nivcsw: u64,
}

/// One reaped child.
#[derive(Clone, Copy, Debug)]
pub struct Reaped {
    pub pid: i32,
    pub ended: Ended,
    pub rusage: Rusage,
}

/// Now on this host's wall clock and monotonic clock, as a launcher reports it.
pub fn stamp_now() -> Stamp {
    let read = |clock| {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec we own.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    };
    Stamp { unix_ns: read(libc::CLOCK_REALTIME), mono_ns: read(libc::CLOCK_MONOTONIC) as u64 }
}

/// Reaps one child that has ended, without blocking; `Ok(None)` when none has.
pub fn reap() -> io::Result<Option<Reaped>> {
    let mut status: libc::c_int = 0;
    // SAFETY: all-zero is a valid rusage (plain integers).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals that outlive the call.
    let pid = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut ru) };
    if pid == 0 {
        return Ok(None);
    }
    if pid < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ECHILD) => Ok(None),
            _ => Err(err),
        };
    }
    let ended = if libc::WIFSIGNALED(status) {
        Ended::Signaled(libc::WTERMSIG(status))
    } else {
        Ended::Exited(libc::WEXITSTATUS(status))
    };
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    let rusage = Rusage {
        utime_s: secs(ru.ru_utime),
        stime_s: secs(ru.ru_stime),
        maxrss_kb: ru.ru_maxrss as u64,
        minflt: ru.ru_minflt as u64,
        majflt: ru.ru_majflt as u64,
        nvcsw: ru.ru_nvcsw as u64,
        nivcsw: ru.ru_nivcsw as u64,
    };
    Ok(Some(Reaped { pid, ended, rusage }))
}

/// Sends `signal` to the process group led by `pgid`. A group that is already gone is fine.
pub fn signal_group(pgid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: killpg has no memory preconditions.
    if unsafe { libc::killpg(pgid, signal) } != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(err);
        }
    }
    Ok(())
}

/// True when `signal` is pending for hrun (blocked, so waiting in the signalfd, not yet read).
pub fn signal_pending(signal: i32) -> bool {
    // SAFETY: sigpending fills a zeroed sigset_t; sigismember only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set) == 0 && libc::sigismember(&set, signal) == 1
    }
}

/// The signals the dispatcher handles itself. They are blocked in every thread of hrun
/// (so call [`SignalFd::install`] before spawning any thread) and read from a signalfd
/// instead; [`Spawner::spawn`] clears the mask again in each child before exec.
pub const HANDLED_SIGNALS: [i32; 5] =
    [libc::SIGCHLD, libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1];

/// A signalfd over [`HANDLED_SIGNALS`]: the one thing the dispatcher sleeps on.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    pub fn install() -> io::Result<SignalFd> {
        // SAFETY: plain libc calls on a locally owned sigset; the fd returned is checked.
        unsafe {
            // An inherited SIG_IGN for SIGCHLD makes the kernel reap children itself, which
            // would lose their exit status and rusage.
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in HANDLED_SIGNALS {
                libc::sigaddset(&mut set, s);
            }
            let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if r != 0 {
                return Err(io::Error::from_raw_os_error(r));
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(SignalFd { fd: OwnedFd::from_raw_fd(fd) })
        }
    }

    /// Sleeps until a signal is pending, one of `also` has input, or `timeout` passes
    /// (`None`: no limit). Returns which of `also` have input (or were closed).
    pub fn wait(&self, timeout: Option<Duration>, also: &[i32]) -> io::Result<Vec<bool>> {
        // Round up: a deadline 0.4 ms away must not turn into a busy loop of 0 ms polls.
        let ms = timeout.map_or(-1, |t| t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32);
        let mut pfds: Vec<libc::pollfd> = std::iter::once(self.fd.as_raw_fd())
            .chain(also.iter().copied())
            .map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 })
            .collect();
        // SAFETY: valid pollfds, as many as passed.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if r < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(pfds[1..].iter().map(|p| r > 0 && p.revents != 0).collect())
    }

    /// Takes every pending signal, in arrival order (SIGCHLDs may arrive coalesced).
    pub fn take(&self) -> io::Result<Vec<i32>> {
        let mut out = Vec::new();
        loop {
            // SAFETY: all-zero is a valid signalfd_siginfo (plain integers).
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: reads at most the struct's size into the struct.
            let r = unsafe {
                libc::read(self.fd.as_raw_fd(), (&mut info as *mut libc::signalfd_siginfo).cast(), size)
            };
            if r == size as isize {
                out.push(info.ssi_signo as i32);
                continue;
            }
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock => Ok(out),
                io::ErrorKind::Interrupted => continue,
                _ => Err(err),
            };
        }
    }
}

/// True when reading `fd` would not block (data, end of file or an error is there).
pub fn readable(fd: i32) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, no waiting.
    unsafe { libc::poll(&mut pfd, 1, 0) > 0 }
}

/// Takes an exclusive, non-blocking `flock` on `file`: two hrun processes must never append to
/// the same run log. `Ok(false)` when another process holds it.
pub fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a valid fd.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::WouldBlock { Ok(false) } else { Err(err) }
}

/// Whether another process holds `file`'s exclusive `flock`: probed with a shared,
/// non-blocking lock, released at once (closing `file` would release it too).
pub fn someone_holds_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a valid fd.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
        // SAFETY: as above; unlocking a lock this fd holds.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        return Ok(false);
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::WouldBlock { Ok(true) } else { Err(err) }
}

/// The child that `cmd` starts gets SIGTERM when this process dies, however it dies (the
/// kernel's parent-death signal), and so ends in order as on any SIGTERM.
pub fn term_when_parent_dies(cmd: &mut std::process::Command) {
    let parent = std::process::id() as i32;
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe
    // syscalls (prctl, getppid, kill) on values copied before the fork.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent died before the prctl: no signal would ever come.
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGTERM);
            }
            Ok(())
        });
    }
}

/// The child that `cmd` starts gets no blocked signals: hrun's threads block the signals it
/// reads from its signalfd, a blocked mask survives exec, and std does not reset it.
pub fn default_signals(cmd: &mut std::process::Command) {
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls
    // (sigemptyset, sigprocmask) on a local set.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Clears `O_NONBLOCK` on an open file, keeping its other status flags (`O_APPEND`).
pub fn set_blocking(file: &File) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(file, FcntlArg::F_GETFL)?);
    fcntl(file, FcntlArg::F_SETFL(flags & !OFlag::O_NONBLOCK))?;
    Ok(())
}

/// The signal's name (`SIGKILL`), or `SIG<n>` for one without a name.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{signal}"))
}

/// True when `signal` is a signal this system has (not 0).
pub fn signal_exists(signal: i32) -> bool {
    nix::sys::signal::Signal::try_from(signal).is_ok()
}

/// The number of the signal named `name` (`SIGTERM`).
pub fn signal_by_name(name: &str) -> Option<i32> {
    name.parse::<nix::sys::signal::Signal>().ok().map(|s| s as i32)
}

/// The running kernel's release (`uname -r`).
pub fn kernel_release() -> String {
    // SAFETY: uname fills the zeroed struct; release is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "unknown".into();
        }
        std::ffi::CStr::from_ptr(u.release.as_ptr()).to_string_lossy().into_owned()
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Seconds since the epoch of a local date and time (the zone from `TZ` or /etc/localtime, as
/// `date` and `squeue` use); `None` for a time the zone does not have.
pub fn local_time(c: &crate::civil::Civil) -> Option<i64> {
    // SAFETY: mktime reads and normalises a zeroed, filled-in struct tm.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = c.year - 1900;
        tm.tm_mon = c.month as i32 - 1;
        tm.tm_mday = c.day as i32;
        tm.tm_hour = c.hour as i32;
        tm.tm_min = c.minute as i32;
        tm.tm_sec = c.second as i32;
        tm.tm_isdst = -1;
        let t = libc::mktime(&mut tm);
        (t != -1 || (c.year, c.month, c.day) == (1969, 12, 31)).then_some(t)
    }
}

/// `HH:MM:SS` local time of a Unix time, for messages.
pub fn local_clock(t: i64) -> String {
    // SAFETY: localtime_r fills a zeroed struct tm from a valid time_t.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let secs = t as libc::time_t;
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return format!("@{t}");
        }
        format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
    }
}

/// The process's file-mode creation mask (what `open` takes away from a new file's mode).
pub fn umask() -> u32 {
    // SAFETY: umask(2) cannot fail; the mask is read by setting it and put back at once, while
    // hrun is still single-threaded (no file is created in between).
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

/// Raises the soft limit on open files to the hard one (many tasks at once take two files each)
/// and returns it.
pub fn raise_open_files_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit on a valid struct; no memory is shared with anything else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

/// The soft limit on processes of this user (`ulimit -u`); `None` when unlimited or unknown.
pub fn process_limit() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit on a valid struct.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// Bytes free for an unprivileged user on the file system holding `path`.
pub fn free_bytes(path: &std::path::Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    Some(st.blocks_available() as u64 * st.fragment_size() as u64)
}

/// Reserves `bytes` of disk space past the end of `file` without changing its size
/// (`fallocate(FALLOC_FL_KEEP_SIZE)`), so that writes up to that much cannot fail for want of
/// room. A file system that cannot reserve (NFS, a pipe) is not an error: there is nothing to
/// check ahead there. A full one (ENOSPC, EDQUOT) is.
pub fn reserve_space(file: &std::fs::File, bytes: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = file.metadata()?.len();
    // SAFETY: fallocate on a descriptor this process owns; no memory is passed.
    let rc = unsafe {
        libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, len as libc::off_t, bytes as libc::off_t)
    };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => Err(e),
        _ => Ok(()),
    }
}

/// Sets `$TMPDIR` for hrun (its temporary files) and, through the environment it passes on,
/// for its tasks (GNU parallel's `--tmpdir`). Called once, before hrun starts any thread.
pub fn set_tmpdir(dir: &std::path::Path) {
    // SAFETY: called from `exec::run` before the launchers, the guardian or any thread of
    // hrun's start (the output and input threads start later), so nothing reads the
    // environment concurrently.
    unsafe { std::env::set_var("TMPDIR", dir) };
}
