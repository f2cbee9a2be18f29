//! Launchers: small processes, forked by hrun before it starts any thread, that start the
//! tasks and are their parents. hrun sends a launcher "run this program on these CPUs with
//! these output files" over a socket; the launcher clones, pins and execs the task, answers
//! with its pid, reaps it with `wait4` and sends back how it ended and its rusage.
//!
//! Why processes of their own:
//! - Speed: `clone(CLONE_VFORK)` holds the caller until the child has exec'd. With one
//!   caller, a whole node starts tasks at one thread's exec rate; with several launchers,
//!   tasks start in parallel while hrun's dispatcher thread keeps only the bookkeeping.
//! - Nothing left behind: each launcher is a child subreaper and the ancestor of every
//!   process its tasks start, `setsid` or cleared environment or not. When hrun dies, even
//!   of SIGKILL, the launcher sees its socket close and SIGKILLs everything below it before
//!   it exits. When a launcher dies, its tasks get `PR_SET_PDEATHSIG`, and what they
//!   started is re-parented to hrun, itself a subreaper.
//!
//! A launcher blocks every signal hrun handles (a Ctrl-C or `scancel` reaches the whole
//! process group or step): only hrun decides what its tasks get; the tasks' masks are
//! cleared before exec.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{Ended, Program, Reaped, Rusage, Spawner};
use crate::cpuset::CpuSet;

/// The largest request or reply; a command beyond it cannot be passed (the kernel refuses
/// any single argument over 128 KiB anyway).
const MAX_MESSAGE: usize = 1 << 20;

const SPAWN: u8 = 1;
const SPAWNED: u8 = 2;
const REAPED: u8 = 3;

/// What a launcher tells hrun.
#[derive(Clone, Debug)]
pub enum Event {
    /// The request `token` started as `pid`, or failed with an errno (before or at exec).
    Spawned { token: u64, result: Result<i32, i32> },
    /// A child of the launcher ended: a task, or an orphan re-parented to it.
    Reaped(Reaped),
}

/// hrun's end of one launcher.
pub struct Launcher {
    pid: i32,
    sock: OwnedFd,
}

impl Launcher {
    /// Forks a launcher. hrun must still be single-threaded; `base_env` is the environment
    /// every task starts from (the launcher keeps its copy).
    pub fn start(base_env: &[CString]) -> io::Result<Launcher> {
        let mut fds = [0; 2];
        // SAFETY: socketpair fills two fds; fork is called while hrun is single-threaded (see
        // exec::run), so the child is an ordinary single-threaded process.
        unsafe {
            if libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
                != 0
            {
                return Err(io::Error::last_os_error());
            }
            for fd in fds {
                let size: libc::c_int = MAX_MESSAGE as libc::c_int * 2;
                for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
                    libc::setsockopt(fd, libc::SOL_SOCKET, opt, (&size as *const libc::c_int).cast(), 4);
                }
            }
            match libc::fork() {
                -1 => Err(io::Error::last_os_error()),
                0 => {
                    libc::close(fds[0]);
                    launcher_main(fds[1], base_env)
                }
                pid => {
                    libc::close(fds[1]);
                    Ok(Launcher { pid, sock: OwnedFd::from_raw_fd(fds[0]) })
                }
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The socket to poll for events.
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Asks the launcher to start `program` pinned to `cpus`, with `stdout` and `stderr`;
    /// the answer comes as [`Event::Spawned`] with `token`.
    pub fn spawn(
        &self,
        token: u64,
        program: &Program,
        stdout: &File,
        stderr: &File,
        cpus: &CpuSet,
    ) -> io::Result<()> {
        let mut msg = Vec::with_capacity(256);
        msg.push(SPAWN);
        msg.extend_from_slice(&token.to_le_bytes());
        let mask = cpus.to_mask_words();
        put_u32(&mut msg, mask.len() as u32);
        for w in &mask {
            msg.extend_from_slice(&w.to_le_bytes());
        }
        put_u32(&mut msg, program.argv.len() as u32);
        put_u32(&mut msg, program.env.len() as u32);
        for s in std::iter::once(&program.path).chain(&program.argv).chain(&program.env) {
            let b = s.as_bytes();
            put_u32(&mut msg, b.len() as u32);
            msg.extend_from_slice(b);
        }
        if msg.len() > MAX_MESSAGE {
            return Err(io::Error::from_raw_os_error(libc::E2BIG));
        }
        send_with_fds(self.sock.as_raw_fd(), &msg, &[stdout.as_raw_fd(), stderr.as_raw_fd()])
    }

    /// Every event the launcher has sent so far (never waits). `Ok(None)` when the launcher
    /// is gone (its socket closed).
    pub fn events(&self) -> io::Result<Option<Vec<Event>>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 128];
        loop {
            // SAFETY: recv into a stack buffer of its length.
            let n = unsafe {
                libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
            };
            if n == 0 {
                return Ok(None);
            }
            if n < 0 {
                let err = io::Error::last_os_error();
                return match err.kind() {
                    io::ErrorKind::WouldBlock => Ok(Some(out)),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(err),
                };
            }
            if let Some(e) = decode_event(&buf[..n as usize]) {
                out.push(e);
            }
        }
    }
}

fn put_u32(msg: &mut Vec<u8>, v: u32) {
    msg.extend_from_slice(&v.to_le_bytes());
}

fn send_with_fds(sock: RawFd, msg: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: the control buffer is sized with CMSG_SPACE for `fds`; the header is filled as
    // cmsg(3) describes before sendmsg reads it.
    unsafe {
        let space = libc::CMSG_SPACE(fd_bytes as u32) as usize;
        let mut control = vec![0u8; space];
        let mut iov = libc::iovec { iov_base: msg.as_ptr() as *mut libc::c_void, iov_len: msg.len() };
        let mut hdr: libc::msghdr = std::mem::zeroed();
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.as_mut_ptr().cast();
        hdr.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&hdr);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast::<RawFd>(), fds.len());
        loop {
            if libc::sendmsg(sock, &hdr, libc::MSG_NOSIGNAL) >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

fn send(sock: RawFd, msg: &[u8]) -> bool {
    loop {
        // SAFETY: send from a valid buffer of its length.
        if unsafe { libc::send(sock, msg.as_ptr().cast(), msg.len(), libc::MSG_NOSIGNAL) } >= 0 {
            return true;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return false;
        }
    }
}

fn encode_spawned(token: u64, result: Result<i32, i32>) -> Vec<u8> {
    let mut m = vec![SPAWNED];
    m.extend_from_slice(&token.to_le_bytes());
    let (pid, errno) = match result {
        Ok(pid) => (pid, 0),
        Err(e) => (0, e),
    };
    m.extend_from_slice(&pid.to_le_bytes());
    m.extend_from_slice(&errno.to_le_bytes());
    m
}

fn encode_reaped(r: &Reaped) -> Vec<u8> {
    let mut m = vec![REAPED];
    m.extend_from_slice(&r.pid.to_le_bytes());
    let (kind, code) = match r.ended {
        Ended::Exited(c) => (0u8, c),
        Ended::Signaled(s) => (1u8, s),
    };
    m.push(kind);
    m.extend_from_slice(&code.to_le_bytes());
    let u = &r.rusage;
    m.extend_from_slice(&u.utime_s.to_le_bytes());
    m.extend_from_slice(&u.stime_s.to_le_bytes());
    for v in [u.maxrss_kb, u.minflt, u.majflt, u.nvcsw, u.nivcsw] {
        m.extend_from_slice(&v.to_le_bytes());
    }
    m
}

/// Reads little-endian fields off a message.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
}

fn decode_event(msg: &[u8]) -> Option<Event> {
    let (&kind, rest) = msg.split_first()?;
    let mut r = Reader(rest);
    match kind {
        SPAWNED => {
            let token = r.u64()?;
            let (pid, errno) = (r.i32()?, r.i32()?);
            Some(Event::Spawned { token, result: if errno == 0 { Ok(pid) } else { Err(errno) } })
        }
        REAPED => {
            let pid = r.i32()?;
            let kind: [u8; 1] = r.take()?;
            let code = r.i32()?;
            let ended = if kind[0] == 0 { Ended::Exited(code) } else { Ended::Signaled(code) };
            let rusage = Rusage {
                utime_s: r.f64()?,
                stime_s: r.f64()?,
                maxrss_kb: r.u64()?,
                minflt: r.u64()?,
                majflt: r.u64()?,
                nvcsw: r.u64()?,
                nivcsw: r.u64()?,
            };
            Some(Event::Reaped(Reaped { pid, ended, rusage }))
        }
        _ => None,
    }
}

/// A spawn request as the launcher reads it.
struct Request {
    token: u64,
    cpus: CpuSet,
    program: Program,
}

fn decode_request(msg: &[u8]) -> Option<Request> {
    let (&kind, rest) = msg.split_first()?;
    if kind != SPAWN {
        return None;
    }
    let mut r = Reader(rest);
    let token = r.u64()?;
    let words = r.u32()? as usize;
    let mask: Vec<u64> = (0..words).map(|_| r.u64()).collect::<Option<_>>()?;
    let (argc, envc) = (r.u32()? as usize, r.u32()? as usize);
    let mut string = || -> Option<CString> {
        let n = r.u32()? as usize;
        CString::new(r.bytes(n)?).ok()
    };
    let path = string()?;
    let argv = (0..argc).map(|_| string()).collect::<Option<Vec<_>>>()?;
    let env = (0..envc).map(|_| string()).collect::<Option<Vec<_>>>()?;
    Some(Request { token, cpus: CpuSet::from_mask_words(&mask), program: Program { path, argv, env } })
}

/// Receives one request and the two descriptors that came with it. `None` at end of input
/// (hrun is gone).
fn receive(sock: RawFd, buf: &mut [u8]) -> io::Result<Option<(usize, Vec<OwnedFd>)>> {
    // SAFETY: buffers sized for the message and for two descriptors; every descriptor the
    // kernel put in the control message is taken into an OwnedFd.
    unsafe {
        let space = libc::CMSG_SPACE(2 * std::mem::size_of::<RawFd>() as u32) as usize;
        let mut control = vec![0u8; space];
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut hdr: libc::msghdr = std::mem::zeroed();
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.as_mut_ptr().cast();
        hdr.msg_controllen = space as _;
        let n = libc::recvmsg(sock, &mut hdr, libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(None);
        }
        let mut fds = Vec::new();
        let mut cmsg = libc::CMSG_FIRSTHDR(&hdr);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let count =
                    ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&hdr, cmsg);
        }
        Ok(Some((n as usize, fds)))
    }
}

/// The launcher process: serves hrun until its socket closes, then kills everything below
/// it and exits.
fn launcher_main(sock: RawFd, base_env: &[CString]) -> ! {
    // SAFETY: plain libc calls in a freshly forked, single-threaded process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0);
        close_inherited(sock);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGCHLD, libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGQUIT] {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let mut chld: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut chld);
        libc::sigaddset(&mut chld, libc::SIGCHLD);
        let sigfd = libc::signalfd(-1, &chld, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        let spawner = Spawner::new();
        if let (true, Ok(spawner)) = (sigfd >= 0, spawner) {
            serve(sock, sigfd, &spawner, base_env);
        }
        clean_up_and_exit()
    }
}

/// Closes every descriptor hrun had open but the standard ones and `keep`: the launcher must
/// not hold hrun's log (its lock), pipes or input open.
fn close_inherited(keep: RawFd) {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    for fd in fds.into_iter().filter(|&fd| fd > 2 && fd != keep) {
        // SAFETY: closing a descriptor nothing else in this process uses (the directory's own
        // descriptor is already closed, and closing it again is harmless).
        unsafe { libc::close(fd) };
    }
}

fn serve(sock: RawFd, sigfd: RawFd, spawner: &Spawner, base_env: &[CString]) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let mut pfds = [
            libc::pollfd { fd: sock, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: sigfd, events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: two valid pollfds.
        if unsafe { libc::poll(pfds.as_mut_ptr(), 2, -1) } < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if pfds[1].revents != 0 {
            drain_signalfd(sigfd);
        }
        // Every wake-up does all there is: reap what ended (whether or not its SIGCHLD has been
        // read yet) and start every queued request, so hrun's answers go out in one go.
        if !report_reaped(sock) {
            return;
        }
        loop {
            match receive(sock, &mut buf) {
                Ok(Some((n, fds))) => {
                    if let Some(req) = decode_request(&buf[..n]) {
                        let result = start(spawner, &req, base_env, &fds);
                        drop(fds);
                        if !send(sock, &encode_spawned(req.token, result)) {
                            return;
                        }
                    }
                }
                Ok(None) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return,
            }
        }
    }
}

/// Starts one requested task; `Err(errno)` when it could not.
fn start(spawner: &Spawner, req: &Request, base_env: &[CString], fds: &[OwnedFd]) -> Result<i32, i32> {
    let [out, err] = fds else { return Err(libc::EBADF) };
    // SAFETY: the descriptors are ours (received with the request), borrowed for the call.
    let (out, err) = unsafe {
        (
            std::mem::ManuallyDrop::new(File::from_raw_fd(out.as_raw_fd())),
            std::mem::ManuallyDrop::new(File::from_raw_fd(err.as_raw_fd())),
        )
    };
    spawner
        .spawn(&req.program, base_env, &out, &err, &req.cpus)
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

fn drain_signalfd(fd: RawFd) {
    let mut info = [0u8; 128];
    // SAFETY: reading into a buffer of its length; the fd is non-blocking.
    while unsafe { libc::read(fd, info.as_mut_ptr().cast(), info.len()) } > 0 {}
}

/// Reaps every child that ended and tells hrun; false when hrun is gone.
fn report_reaped(sock: RawFd) -> bool {
    while let Ok(Some(r)) = super::reap() {
        if !send(sock, &encode_reaped(&r)) {
            return false;
        }
    }
    true
}

/// hrun is gone (or the launcher cannot go on): SIGKILL every process below the launcher,
/// its tasks' process groups too, reap them, and exit.
fn clean_up_and_exit() -> ! {
    let me = std::process::id() as i32;
    for _ in 0..3 {
        let below: Vec<i32> = super::children_of(me).into_iter().flat_map(super::subtree).collect();
        if below.is_empty() {
            break;
        }
        for pid in below {
            // SAFETY: plain signal syscalls; a process already gone is fine.
            unsafe {
                let pgid = libc::getpgid(pid);
                if pgid > 1 && pgid != libc::getpgrp() {
                    libc::killpg(pgid, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let until = std::time::Instant::now() + std::time::Duration::from_millis(500);
        while std::time::Instant::now() < until && !super::children_of(me).is_empty() {
            while let Ok(Some(_)) = super::reap() {}
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_events_round_trip() {
        let program = Program {
            path: CString::new("/bin/echo").unwrap(),
            argv: vec![CString::new("echo").unwrap(), CString::new("a b").unwrap()],
            env: vec![CString::new("HRUN_SEQ=3").unwrap()],
        };
        let cpus: CpuSet = "1,3-4".parse().unwrap();
        let mut msg = vec![SPAWN];
        msg.extend_from_slice(&7u64.to_le_bytes());
        let mask = cpus.to_mask_words();
        put_u32(&mut msg, mask.len() as u32);
        for w in &mask {
            msg.extend_from_slice(&w.to_le_bytes());
        }
        put_u32(&mut msg, 2);
        put_u32(&mut msg, 1);
        for s in std::iter::once(&program.path).chain(&program.argv).chain(&program.env) {
            put_u32(&mut msg, s.as_bytes().len() as u32);
            msg.extend_from_slice(s.as_bytes());
        }
        let req = decode_request(&msg).unwrap();
        assert_eq!((req.token, req.cpus.to_string()), (7, "1,3-4".to_string()));
        assert_eq!(req.program.argv, program.argv);
        assert_eq!(req.program.env, program.env);
        let r = Reaped {
            pid: 42,
            ended: Ended::Signaled(9),
            rusage: Rusage {
                utime_s: 1.5,
                stime_s: 0.25,
                maxrss_kb: 7,
                minflt: 1,
                majflt: 2,
                nvcsw: 3,
                nivcsw: 4,
            },
        };
        let Some(Event::Reaped(back)) = decode_event(&encode_reaped(&r)) else { panic!() };
        assert_eq!((back.pid, back.ended, back.rusage), (42, Ended::Signaled(9), r.rusage));
        let Some(Event::Spawned { token, result }) = decode_event(&encode_spawned(9, Err(libc::E2BIG)))
        else {
            panic!()
        };
        assert_eq!((token, result), (9, Err(libc::E2BIG)));
        assert!(decode_request(&msg[..msg.len() - 1]).is_none(), "a short message is refused");
    }
}
