//! Launchers: small processes, forked by hrun before it starts any thread, that start the
//! tasks and are their parents. hrun sends a launcher "run this program on these CPUs with
//! these output files" over a socket; the launcher clones, pins and execs the task, answers
//! with its pid, reaps it with `wait4` and sends back how it ended and its rusage.
//!
//! Prefetch: hrun may send the next request for a slot while the slot's task still runs; the
//! launcher holds it and starts it the moment it reaps that task (if it exited as the request
//! asked and left nothing behind), then reports both, so a slot's next task never waits for hrun's round
//! trip. hrun withdraws a held request when the run stops (see `protocol.rs`).
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
mod frames;
mod protocol;
mod proxy;
mod stdio;

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub use frames::Hello;
pub use protocol::{Event, Next, Stamp, When};
use protocol::{
    Request, decode_event, decode_request, encode_reaped, encode_spawned, encode_start, encode_withdrawn,
};
pub use proxy::{MAX_REMOTE, remote_pid};
pub use stdio::{read_setup, serve_stdio, write_hello};

use super::{Ended, Program, Spawner};
use crate::cpuset::CpuSet;

/// The largest request or reply; a command beyond it cannot be passed (the kernel refuses
/// any single argument over 128 KiB anyway).
const MAX_MESSAGE: usize = 1 << 20;

/// hrun's end of one launcher.
pub struct Launcher {
    pid: i32,
    sock: OwnedFd,
    /// The largest request its socket carries: its send buffer as the kernel granted it,
    /// less the kernel's own share, at most [`MAX_MESSAGE`].
    capacity: usize,
    /// A proxy for a launcher on another node: its tasks' pids are tagged (see
    /// [`remote_pid`]), and signals to them go through it.
    remote: bool,
}

/// A request larger than a launcher's socket carries: that task cannot be started.
#[derive(Debug, thiserror::Error)]
#[error(
    "its request to the launcher ({size} bytes: command, arguments and environment) is larger than \
     the launcher's socket carries ({capacity} bytes, its send buffer; the kernel caps that at \
     net.core.wmem_max); pass big values in a file"
)]
pub struct TooLarge {
    pub size: usize,
    pub capacity: usize,
}

impl Launcher {
    /// Forks a launcher. hrun must still be single-threaded; `base_env` is the environment
    /// every task starts from (the launcher keeps its copy).
    /// `send_buffer`: the size asked for hrun's end of the socket (default: twice
    /// [`MAX_MESSAGE`]); the kernel may grant less, which caps the requests.
    pub fn start(base_env: &[CString], send_buffer: Option<usize>) -> io::Result<Launcher> {
        Self::fork_with(send_buffer, false, |sock| launcher_main(sock, base_env))
    }

    /// Forks a proxy for a launcher on another node, which `command` (srun or ssh, then
    /// `hrun __hrun-launcher ...`) starts; `index` tags its tasks' pids. Its first word is a
    /// [`Hello`], read with [`Launcher::hello`].
    pub fn remote(
        base_env: &[CString],
        command: &[std::ffi::OsString],
        index: usize,
    ) -> io::Result<Launcher> {
        Self::fork_with(None, true, |sock| proxy::proxy_main(sock, base_env, command, index))
    }

    /// A socket pair, and a forked child running `child` on its end. hrun must still be
    /// single-threaded.
    fn fork_with(
        send_buffer: Option<usize>,
        remote: bool,
        child: impl FnOnce(RawFd),
    ) -> io::Result<Launcher> {
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
            if let Some(asked) = send_buffer {
                let size = asked.min(i32::MAX as usize) as libc::c_int;
                libc::setsockopt(
                    fds[0],
                    libc::SOL_SOCKET,
                    libc::SO_SNDBUF,
                    (&size as *const libc::c_int).cast(),
                    4,
                );
            }
            let mut granted: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            libc::getsockopt(
                fds[0],
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&mut granted as *mut libc::c_int).cast(),
                &mut len,
            );
            let capacity = request_capacity(granted.max(0) as usize);
            match libc::fork() {
                -1 => Err(io::Error::last_os_error()),
                0 => {
                    libc::close(fds[0]);
                    child(fds[1]);
                    libc::_exit(1)
                }
                pid => {
                    libc::close(fds[1]);
                    Ok(Launcher { pid, sock: OwnedFd::from_raw_fd(fds[0]), capacity, remote })
                }
            }
        }
    }

    /// A remote launcher's first word: its node and slots, waited for at most `limit`.
    /// `Ok(None)`: it ended first, or said nothing in time.
    pub fn hello(&self, limit: std::time::Duration) -> io::Result<Option<Hello>> {
        let mut pfd = libc::pollfd { fd: self.sock.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = limit.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; 1 << 16];
        // SAFETY: recv into a buffer of its length.
        let n = unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(frames::decode_hello(&buf[..n as usize]))
    }

    /// True for a proxy of a launcher on another node.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// Asks a remote launcher to send `sig` to the process group of its task `pid` (as hrun
    /// knows it: tagged, see [`remote_pid`]; the proxy passes on the node's own pid).
    pub fn signal(&self, pid: i32, sig: i32) -> io::Result<()> {
        if send(self.sock.as_raw_fd(), &protocol::encode_signal(pid, sig)) {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The socket to poll for events.
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Asks the launcher to start `program` on slot `token` pinned to `cpus`, with `stdout`
    /// and `stderr`, now or after the slot's current task (`when`); the answer comes as
    /// [`Event::Spawned`] with `token` (or, for a request that waits and does not start,
    /// [`Next::GivenBack`] or [`Event::Withdrawn`]).
    pub fn start_task(
        &self,
        token: u64,
        when: When,
        program: &Program,
        stdout: &File,
        stderr: &File,
        cpus: &CpuSet,
    ) -> io::Result<()> {
        let msg = encode_start(token, when, program, cpus);
        if msg.len() > MAX_MESSAGE {
            return Err(io::Error::from_raw_os_error(libc::E2BIG));
        }
        let too_large = || {
            io::Error::new(io::ErrorKind::InvalidInput, TooLarge { size: msg.len(), capacity: self.capacity })
        };
        if msg.len() > self.capacity {
            return Err(too_large());
        }
        match send_with_fds(self.sock.as_raw_fd(), &msg, &[stdout.as_raw_fd(), stderr.as_raw_fd()]) {
            Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => Err(too_large()),
            sent => sent,
        }
    }

    /// Asks the launcher to drop slot `token`'s waiting request if it has not started: the
    /// answer is [`Event::Withdrawn`], unless it started or was given back already.
    pub fn withdraw(&self, token: u64) -> io::Result<()> {
        if send(self.sock.as_raw_fd(), &protocol::encode_withdraw(token)) {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Every event the launcher has sent so far (never waits). `Ok(None)` when the launcher
    /// is gone (its socket closed).
    pub fn events(&self) -> io::Result<Option<Vec<Event>>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
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
                    // It ended with a request unread: gone all the same.
                    io::ErrorKind::ConnectionReset => Ok(None),
                    _ => Err(err),
                };
            }
            if let Some(e) = decode_event(&buf[..n as usize]) {
                out.push(e);
            }
        }
    }
}

/// The largest message a `SOCK_SEQPACKET` socket with send buffer `granted` (as
/// `getsockopt` reads it) carries: the kernel refuses one over the buffer less 32 bytes.
fn request_capacity(granted: usize) -> usize {
    granted.saturating_sub(32).min(MAX_MESSAGE)
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
    close_inherited(sock);
    serve_link(&mut SocketLink(sock), base_env)
}

/// Becomes a launcher serving `link` (this process is single-threaded): a subreaper with
/// hrun's signals blocked; when the link ends, kills everything below it and exits.
fn serve_link(link: &mut dyn Link, base_env: &[CString]) -> ! {
    // SAFETY: plain libc calls in a single-threaded process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0);
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
            serve(link, sigfd, &spawner, base_env);
        }
        clean_up_and_exit()
    }
}

/// How a launcher hears hrun and answers it: a local socket (requests with their output
/// descriptors), or a byte stream to a remote hrun (`stdio.rs`: outputs kept in files here and
/// sent back before the task's end).
trait Link {
    /// The descriptor to poll for requests.
    fn fd(&self) -> RawFd;
    /// The next request and its descriptors; `Ok(None)` when hrun is gone, `WouldBlock` when
    /// there is none now.
    fn receive(&mut self, buf: &mut [u8]) -> io::Result<Option<(usize, Vec<OwnedFd>)>>;
    /// Sends one event; false when hrun is gone.
    fn send(&mut self, msg: &[u8]) -> bool;
    /// True when a task's output descriptors are kept until its end and handed to
    /// [`Link::outputs`].
    fn keeps_outputs(&self) -> bool {
        false
    }
    /// Sends what task `pid` wrote, before its end; false when hrun is gone.
    fn outputs(&mut self, _pid: i32, _fds: &[OwnedFd]) -> bool {
        true
    }
    /// Sends what [`Link::send`] held back; false when hrun is gone.
    fn flush(&mut self) -> bool {
        true
    }
}

/// hrun's local socket: one request per packet, its descriptors beside it.
struct SocketLink(RawFd);

impl Link for SocketLink {
    fn fd(&self) -> RawFd {
        self.0
    }
    fn receive(&mut self, buf: &mut [u8]) -> io::Result<Option<(usize, Vec<OwnedFd>)>> {
        receive(self.0, buf)
    }
    fn send(&mut self, msg: &[u8]) -> bool {
        send(self.0, msg)
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

/// A request waiting for its slot's task to end.
struct Waiting {
    when: When,
    cpus: CpuSet,
    program: Program,
    fds: Vec<OwnedFd>,
}

/// A launcher's slots: the task each runs and the request waiting behind it.
#[derive(Default)]
struct Slots {
    running: HashMap<u64, i32>,
    slot_of: HashMap<i32, u64>,
    waiting: HashMap<u64, Waiting>,
    /// A running task's output descriptors, where the link sends outputs at the task's end.
    outputs: HashMap<i32, Vec<OwnedFd>>,
    /// How the last task of each idle slot ended, when it left nothing behind: a request
    /// sent ahead that comes after that task was reaped starts at once if it follows such an
    /// end, as it would have at the reaping (hrun, which has the end, has not started another).
    ended_clean: HashMap<u64, Ended>,
}

/// Why the launcher stops serving: hrun is gone, or lost track of its slots.
struct Gone;

/// The launcher's loop: requests first, then what ended (so that a withdrawal sent before a
/// task ended is always honoured), until hrun's link ends.
fn serve(link: &mut dyn Link, sigfd: RawFd, spawner: &Spawner, base_env: &[CString]) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut slots = Slots::default();
    let me = std::process::id() as i32;
    loop {
        let mut pfds = [
            libc::pollfd { fd: link.fd(), events: libc::POLLIN, revents: 0 },
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
        // Every wake-up does all there is: read every request, then reap what ended (whether
        // or not its SIGCHLD has been read yet), starting what waited behind it.
        let mut served = Served { link: &mut *link, buf: &mut buf, spawner, env: base_env };
        if slots.requests(&mut served).and_then(|()| slots.reap_all(&mut served, me)).is_err() {
            return;
        }
        // What this wake-up said goes out in one write (a stream through srun is a TCP
        // connection: small writes one after another wait for each other's acknowledgement).
        if !link.flush() {
            return;
        }
    }
}

/// What serving needs: hrun's link, the receive buffer, the spawner, the base environment.
struct Served<'a> {
    link: &'a mut dyn Link,
    buf: &'a mut [u8],
    spawner: &'a Spawner,
    env: &'a [CString],
}

impl Served<'_> {
    fn send(&mut self, msg: &[u8]) -> Result<(), Gone> {
        if self.link.send(msg) { Ok(()) } else { Err(Gone) }
    }
}

impl Slots {
    /// Handles every request hrun has sent so far.
    fn requests(&mut self, io: &mut Served<'_>) -> Result<(), Gone> {
        loop {
            let (n, fds) = match io.link.receive(io.buf) {
                Ok(Some(got)) => got,
                Ok(None) => return Err(Gone),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(_) => return Err(Gone),
            };
            match decode_request(&io.buf[..n]) {
                Some(Request::Start { token, when, cpus, program }) => {
                    let w = Waiting { when, cpus, program, fds };
                    if when == When::Now {
                        let spawned = self.start(io, token, w);
                        io.send(&spawned)?;
                    } else if self.waiting.contains_key(&token) {
                        // hrun keeps at most one waiting request per slot: it lost track.
                        return Err(Gone);
                    } else if self.running.contains_key(&token) {
                        self.waiting.insert(token, w);
                    } else if self.ended_clean.get(&token).is_some_and(|&e| when.follows(e)) {
                        // The slot's task ended (and was reported) before this came, as the
                        // request asks and leaving nothing behind: it starts now rather than
                        // after a round trip to hrun (a short task often ends that soon).
                        let spawned = self.start(io, token, w);
                        io.send(&spawned)?;
                    } else {
                        // The slot's task ended otherwise: hrun decides what follows.
                        io.send(&encode_withdrawn(token))?;
                    }
                }
                Some(Request::Withdraw { token }) if self.waiting.remove(&token).is_some() => {
                    io.send(&encode_withdrawn(token))?;
                }
                // Only a task of this launcher's, still running: never another process.
                Some(Request::Signal { pid, sig }) if self.slot_of.contains_key(&pid) => {
                    let _ = super::signal_group(pid, sig);
                }
                Some(Request::Withdraw { .. } | Request::Signal { .. }) | None => {}
            }
        }
    }

    /// Starts a request on slot `token`; gives back the `SPAWNED` event to send.
    fn start(&mut self, io: &Served<'_>, token: u64, w: Waiting) -> Vec<u8> {
        // Stamped before the clone: the task's wall time may include its exec, never miss a
        // moment of its own.
        let at = super::stamp_now();
        let result = start(io.spawner, &w.program, &w.cpus, io.env, &w.fds);
        self.ended_clean.remove(&token);
        if let Ok(pid) = result {
            self.running.insert(token, pid);
            self.slot_of.insert(pid, token);
            if io.link.keeps_outputs() {
                self.outputs.insert(pid, w.fds);
            }
        }
        encode_spawned(token, result, at)
    }

    /// Reaps every child that ended and tells hrun; a slot's waiting request starts first
    /// when its task ended as the request asked and left no process behind, else it is given
    /// back.
    fn reap_all(&mut self, io: &mut Served<'_>, me: i32) -> Result<(), Gone> {
        let mut ended = Vec::new();
        while let Ok(Some(r)) = super::reap() {
            ended.push((r, super::stamp_now()));
        }
        if ended.is_empty() {
            return Ok(());
        }
        // Every child is a task the launcher knows: none of the tasks just reaped left a
        // process behind (their orphans were re-parented here before they could be reaped).
        // hrun then need not look in /proc itself.
        let clean = self.nothing_left(me);
        for (reaped, at) in ended {
            let slot = self.slot_of.remove(&reaped.pid);
            if let Some(s) = slot
                && self.running.get(&s) == Some(&reaped.pid)
            {
                self.running.remove(&s);
            }
            let mut next = Next::None;
            let mut spawned = None;
            if let Some(slot) = slot.filter(|s| self.waiting.contains_key(s)) {
                // A withdrawal hrun sent before this task ended must win: read it first.
                self.requests(io)?;
                if let Some(w) = self.waiting.remove(&slot) {
                    if w.when.follows(reaped.ended) && clean {
                        // Started before hrun hears of the end: the next task waits for no one.
                        spawned = Some(self.start(io, slot, w));
                        next = Next::Started;
                    } else {
                        next = Next::GivenBack;
                    }
                }
            }
            if let Some(fds) = self.outputs.remove(&reaped.pid)
                && !io.link.outputs(reaped.pid, &fds)
            {
                return Err(Gone);
            }
            if let Some(slot) = slot.filter(|s| clean && next == Next::None && !self.running.contains_key(s))
            {
                self.ended_clean.insert(slot, reaped.ended);
            }
            io.send(&encode_reaped(&reaped, at, next, clean))?;
            if let Some(spawned) = spawned {
                io.send(&spawned)?;
            }
        }
        Ok(())
    }

    /// True when every child of the launcher is a task it knows: no task left a process
    /// behind (a leftover of a task whose main process ended is re-parented to the launcher).
    fn nothing_left(&self, me: i32) -> bool {
        super::children_of_process(me).iter().all(|pid| self.slot_of.contains_key(pid))
    }
}

/// Starts one requested task; `Err(errno)` when it could not.
fn start(
    spawner: &Spawner,
    program: &Program,
    cpus: &CpuSet,
    base_env: &[CString],
    fds: &[OwnedFd],
) -> Result<i32, i32> {
    let [out, err] = fds else { return Err(libc::EBADF) };
    // SAFETY: the descriptors are ours (received with the request), borrowed for the call.
    let (out, err) = unsafe {
        (
            std::mem::ManuallyDrop::new(File::from_raw_fd(out.as_raw_fd())),
            std::mem::ManuallyDrop::new(File::from_raw_fd(err.as_raw_fd())),
        )
    };
    spawner.spawn(program, base_env, &out, &err, cpus).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

fn drain_signalfd(fd: RawFd) {
    let mut info = [0u8; 128];
    // SAFETY: reading into a buffer of its length; the fd is non-blocking.
    while unsafe { libc::read(fd, info.as_mut_ptr().cast(), info.len()) } > 0 {}
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
    fn a_request_fits_the_send_buffer_less_the_kernels_share() {
        // Linux doubles what is asked: 16 KiB asked reads back as 32 KiB.
        assert_eq!(request_capacity(32_768), 32_736);
        assert_eq!(request_capacity(0), 0);
        assert_eq!(request_capacity(64 << 20), MAX_MESSAGE);
    }
}
