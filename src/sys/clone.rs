//! Starting a task: `clone(CLONE_VM | CLONE_VFORK)` and what the child does before `execve`.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::cpuset::CpuSet;

/// What a task's process executes, prepared in the parent: between `clone` and `execve` the
/// child must not allocate, so every string is ready before.
pub struct Program {
    /// The file to execute (absolute, or relative to the working directory).
    pub path: CString,
    pub argv: Vec<CString>,
    /// Variables set for this task, on top of the base environment given to `spawn`.
    pub env: Vec<CString>,
    /// `--workdir`: the directory the task starts in (it exists: made by the caller); None:
    /// hrun's own.
    pub dir: Option<CString>,
    /// `--nice`: the niceness the task runs at (absolute, as `setpriority`; GNU parallel sets
    /// it so too); None: hrun's own.
    pub nice: Option<i32>,
}

/// Starts tasks with `clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn` does, instead of
/// `fork`: no page tables are copied and no copy-on-write faults follow, which is most of
/// what a fork costs the parent. Unlike `posix_spawn`, the child also sets what hrun needs
/// before it execs: its own process group, the slot's CPUs (`sched_setaffinity`, inherited
/// by every thread and child it makes), its niceness (`--nice`) and working directory
/// (`--workdir`), SIGKILL when hrun dies (`PR_SET_PDEATHSIG`), no blocked signals and
/// default dispositions.
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
            dir: program.dir.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            nice: program.nice.unwrap_or(0),
            set_nice: program.nice.is_some(),
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
    /// The directory to start in; null: stay.
    dir: *const libc::c_char,
    nice: libc::c_int,
    set_nice: bool,
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
        // (SIGPIPE), and for the signals hrun passes on to its tasks: a shell that started
        // hrun in the background (`hrun ... &` in a script) ignored SIGINT and SIGQUIT, and an
        // ignored signal stays ignored across exec (GNU parallel's tasks get them back too).
        // clone without CLONE_SIGHAND gave the child its own table.
        for sig in [
            libc::SIGPIPE,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::signal(sig, libc::SIG_DFL);
        }
        if libc::setpgid(0, 0) != 0 {
            fail(ctx);
        }
        if libc::syscall(libc::SYS_sched_setaffinity, 0, ctx.mask_bytes, ctx.mask) != 0 {
            fail(ctx);
        }
        // As GNU parallel's `eval{ setpriority(0,0,$opt::nice) }`: a niceness the process may
        // not take (below its own, unprivileged) leaves it at hrun's, and the task runs.
        if ctx.set_nice {
            libc::setpriority(libc::PRIO_PROCESS, 0, ctx.nice);
        }
        if !ctx.dir.is_null() && libc::chdir(ctx.dir) != 0 {
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
