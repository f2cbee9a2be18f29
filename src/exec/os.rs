//! Every raw syscall hrun makes, and the only `unsafe` in the crate: reading the affinity
//! mask, spawning a child pinned to its slot, reaping with `wait4`, signalling process
//! groups, the signal fd the dispatcher sleeps on, the log lock, the subreaper and `/proc`,
//! and the guardian.
//!
//! Rules that keep this sound:
//! - a spawned child runs between `clone` and `exec` in the parent's memory, so it only
//!   makes raw, async-signal-safe syscalls on data prepared before the clone;
//! - children are reaped only here, with `wait4(-1)`: nothing else (std's `Child::wait`,
//!   tokio) may wait on them, or rusage would be lost to whoever reaped first.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::cpuset::CpuSet;

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

/// What a task's process executes, prepared in the parent: between `clone` and `execve` the
/// child must not allocate, so every string is ready before.
pub struct Program {
    /// The file to execute (absolute, or relative to the working directory).
    pub path: CString,
    pub argv: Vec<CString>,
    /// Variables set for this task, on top of the base environment given to `spawn`.
    pub env: Vec<CString>,
}

/// Starts tasks with `clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn` does, instead of
/// `fork`: no page tables are copied and no copy-on-write faults follow, which is most of
/// what a fork costs the parent. Unlike `posix_spawn`, the child also sets what hrun needs
/// before it execs: its own process group, the slot's CPUs (`sched_setaffinity`, inherited
/// by every thread and child it makes), SIGKILL when hrun dies (`PR_SET_PDEATHSIG`), no
/// blocked signals and default dispositions.
///
/// The child runs on a stack of its own (mapped once here) while the parent is suspended,
/// shares the parent's memory, and only makes raw syscalls on data prepared beforehand. An
/// exec failure is reported back through that shared memory, and the failed child reaped.
pub struct Spawner {
    stack: *mut libc::c_void,
    devnull: OwnedFd,
}

const CHILD_STACK: usize = 256 * 1024;

impl Spawner {
    pub fn new() -> io::Result<Spawner> {
        // SAFETY: a fresh private anonymous mapping; the lowest page becomes a guard page.
        let stack = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                CHILD_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            libc::mprotect(p, 4096, libc::PROT_NONE);
            p
        };
        let devnull = File::open("/dev/null")?.into();
        Ok(Spawner { stack, devnull })
    }

    /// Starts `program` with stdin from /dev/null, the given stdout and stderr, pinned to
    /// `cpus`, as the leader of a new process group. Returns its pid; [`reap`] collects it.
    pub fn spawn(
        &self,
        program: &Program,
        base_env: &[CString],
        stdout: &File,
        stderr: &File,
        cpus: &CpuSet,
    ) -> io::Result<i32> {
        let mask = cpus.to_mask_words();
        let argv: Vec<*const libc::c_char> =
            program.argv.iter().map(|a| a.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
        let envp: Vec<*const libc::c_char> = base_env
            .iter()
            .chain(&program.env)
            .map(|e| e.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let mut ctx = ChildCtx {
            path: program.path.as_ptr(),
            argv: argv.as_ptr(),
            envp: envp.as_ptr(),
            fds: [self.devnull.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()],
            mask: mask.as_ptr(),
            mask_bytes: mask.len() * 8,
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
            err: 0,
        };
        // SAFETY: all signals are blocked around clone so that no handler can run in the
        // child before it resets them; the child gets the top of our private stack (16-byte
        // aligned) and a pointer to `ctx`, which outlives it: CLONE_VFORK suspends us until
        // the child has exec'd or exited.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            let top = (self.stack as usize + CHILD_STACK) & !15;
            let pid = libc::clone(
                child_main,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&mut ctx as *mut ChildCtx).cast(),
            );
            let clone_err = io::Error::last_os_error();
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            if pid < 0 {
                return Err(clone_err);
            }
            // The child wrote `err` through the shared memory before it exited.
            let err = std::ptr::read_volatile(&ctx.err);
            if err != 0 {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
                return Err(io::Error::from_raw_os_error(err));
            }
            Ok(pid)
        }
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; no child runs on it any more.
        unsafe { libc::munmap(self.stack, CHILD_STACK) };
    }
}

#[repr(C)]
struct ChildCtx {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// The child's stdin, stdout, stderr.
    fds: [libc::c_int; 3],
    mask: *const u64,
    mask_bytes: usize,
    parent: libc::pid_t,
    /// errno of the step that failed; 0 when the exec went through.
    err: libc::c_int,
}

/// Reports errno to the parent through the shared memory, and ends the child.
unsafe fn fail(ctx: &mut ChildCtx) -> ! {
    // SAFETY: `ctx` is the parent's; errno is readable in this (cloned) thread.
    unsafe {
        std::ptr::write_volatile(&mut ctx.err, (*libc::__errno_location()).max(1));
        libc::_exit(127)
    }
}

/// The child between clone and exec: raw syscalls only, on memory prepared by the parent.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `ChildCtx`, alive while the parent is suspended.
    unsafe {
        let ctx = &mut *(arg as *mut ChildCtx);
        // Default dispositions for what hrun's runtime handles (SIGSEGV, SIGBUS) or ignores
        // (SIGPIPE); clone without CLONE_SIGHAND gave the child its own table.
        for sig in [libc::SIGPIPE, libc::SIGSEGV, libc::SIGBUS] {
            libc::signal(sig, libc::SIG_DFL);
        }
        if libc::setpgid(0, 0) != 0 {
            fail(ctx);
        }
        if libc::syscall(libc::SYS_sched_setaffinity, 0, ctx.mask_bytes, ctx.mask) != 0 {
            fail(ctx);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
            fail(ctx);
        }
        // hrun may have died before prctl: then nobody would send the signal.
        if libc::getppid() != ctx.parent {
            *libc::__errno_location() = libc::ESRCH;
            fail(ctx);
        }
        for (target, fd) in ctx.fds.into_iter().enumerate() {
            let target = target as libc::c_int;
            // dup2 onto itself keeps close-on-exec: clear it instead.
            let r = if fd == target { libc::fcntl(fd, libc::F_SETFD, 0) } else { libc::dup2(fd, target) };
            if r < 0 {
                fail(ctx);
            }
        }
        // Blocked signals survive exec: hrun blocks the ones it reads from its signalfd,
        // and blocked all of them around clone.
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &none,
            std::ptr::null::<libc::sigset_t>(),
            8,
        );
        libc::execve(ctx.path, ctx.argv, ctx.envp);
        fail(ctx)
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
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

/// Reaps one child that has ended, without blocking; `Ok(None)` when none has.
pub fn reap() -> io::Result<Option<Reaped>> {
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value; both pointers are valid for the call.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
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

    /// Sleeps until a signal is pending, `also` has input, or `timeout` passes (`None`:
    /// no limit).
    pub fn wait(&self, timeout: Option<Duration>, also: Option<i32>) -> io::Result<()> {
        // Round up: a deadline 0.4 ms away must not turn into a busy loop of 0 ms polls.
        let ms = timeout.map_or(-1, |t| t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32);
        let mut pfds = [
            libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: also.unwrap_or(-1), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: two valid pollfds (poll ignores a negative fd).
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), 2, ms) };
        if r < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Takes every pending signal, in arrival order (SIGCHLDs may arrive coalesced).
    pub fn take(&self) -> io::Result<Vec<i32>> {
        let mut out = Vec::new();
        loop {
            // SAFETY: zeroed siginfo is valid; the read size is the struct's size.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
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

/// Makes hrun a child subreaper: descendants orphaned by a task (double fork, setsid) are
/// re-parented to hrun instead of init, so hrun can find, kill and reap them.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `signal` to one process; one that is already gone is fine.
pub fn signal_process(pid: i32, signal: i32) {
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(pid, signal) };
}

/// The live children of process `pid` (all its threads), from `/proc/<pid>/task/*/children`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

/// hrun's own children: the tasks it started, the guardian, and the orphans re-parented to
/// it. Tasks are forked by the main thread and the kernel re-parents orphans to a
/// subreaper's main thread, so its `children` file lists them all.
pub fn own_children() -> Vec<i32> {
    let pid = std::process::id();
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|t| t.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// `pid` and all its descendants, parents before children.
pub fn subtree(pid: i32) -> Vec<i32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() && out.len() < 100_000 {
        for kid in children_of(out[i]) {
            if !out.contains(&kid) {
                out.push(kid);
            }
        }
        i += 1;
    }
    out
}

/// What hrun needs to know of a process it did not start itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub pgid: i32,
    pub zombie: bool,
    /// `HRUN_SEQ` from its environment: the task it descends from.
    pub hrun_seq: Option<u64>,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/environ`; `None` if the process is gone.
pub fn proc_info(pid: i32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    let pgid: i32 = fields.next()?.parse().ok()?;
    let hrun_seq = std::fs::read(format!("/proc/{pid}/environ")).ok().and_then(|env| {
        env.split(|&b| b == 0)
            .find_map(|kv| kv.strip_prefix(b"HRUN_SEQ="))
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
    });
    Some(ProcInfo { pgid, zombie: state == "Z", hrun_seq })
}

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

/// The signal's name (`SIGKILL`), or `SIG<n>` for one without a name.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{signal}"))
}

/// This machine's host name.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".to_string())
}
