//! hrun's end of a launcher on another node: a process forked like a local launcher, which
//! hrun talks to over the same socket with the same requests (their output descriptors
//! beside them), and which relays them as frames to the remote launcher that `srun` or `ssh`
//! started (`stdio.rs`), writing the output that comes back into the descriptors and passing
//! the events on. So the dispatcher sees one more launcher, whatever the node.
//!
//! A remote task's pid is tagged with the launcher's index ([`remote_pid`]): pids of several
//! nodes never collide in hrun's tables, and a tagged pid is never a process on hrun's host,
//! so hrun cannot signal a local process by mistake; signals to a remote task go through
//! `SIGNAL` requests.

use std::collections::{HashMap, VecDeque};
use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Child, Command, Stdio};

use super::frames::{self, Frames};
use super::protocol::{self, Event, Next, START, WITHDRAW};
use super::{MAX_MESSAGE, close_inherited, receive, send};

/// Remote pids are tagged above the highest pid Linux gives (`pid_max` is at most 2^22).
pub const REMOTE_PID_SHIFT: u32 = 22;

/// The most launchers on other nodes one run may have (the tag must fit a positive `i32`).
pub const MAX_REMOTE: usize = (1 << (31 - REMOTE_PID_SHIFT)) - 1;

/// A tagged pid's launcher index and its pid on its own node; `None` for a local pid.
pub fn remote_pid(pid: i32) -> Option<(usize, i32)> {
    (pid >> REMOTE_PID_SHIFT > 0)
        .then(|| ((pid >> REMOTE_PID_SHIFT) as usize - 1, pid & ((1 << REMOTE_PID_SHIFT) - 1)))
}

fn tag(index: usize, pid: i32) -> i32 {
    if pid <= 0 { pid } else { ((index as i32 + 1) << REMOTE_PID_SHIFT) | pid }
}

/// The proxy process: starts `command`, relays until either side ends, then exits (hrun sees
/// its socket close: the node is lost).
pub(super) fn proxy_main(sock: RawFd, base_env: &[CString], command: &[OsString], index: usize) -> ! {
    close_inherited(sock);
    let code = match Relay::start(sock, base_env, command, index) {
        Ok(mut relay) => {
            let code = relay.run();
            relay.finish();
            code
        }
        Err(e) => {
            let shown = command.iter().map(|w| w.to_string_lossy()).collect::<Vec<_>>().join(" ");
            eprintln!("hrun: cannot start a launcher with `{shown}`: {e}");
            1
        }
    };
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(code) }
}

struct Relay {
    sock: RawFd,
    index: usize,
    child: Child,
    to: Option<std::process::ChildStdin>,
    from: std::process::ChildStdout,
    frames: Frames,
    /// Each slot's requests not started yet, oldest first, with their output descriptors.
    pending: HashMap<u64, VecDeque<Vec<OwnedFd>>>,
    /// Each running task's slot and output descriptors, by its pid on its node.
    running: HashMap<i32, (u64, Vec<OwnedFd>)>,
}

impl Relay {
    fn start(sock: RawFd, base_env: &[CString], command: &[OsString], index: usize) -> io::Result<Relay> {
        let (program, args) = command.split_first().ok_or(io::ErrorKind::InvalidInput)?;
        // A process group of its own: a Ctrl-C at the terminal is hrun's to pass on, not srun's
        // (two of which would cancel the step).
        let mut child = std::os::unix::process::CommandExt::process_group(
            Command::new(program).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()),
            0,
        )
        .spawn()?;
        let mut to = child.stdin.take().ok_or(io::ErrorKind::BrokenPipe)?;
        let from = child.stdout.take().ok_or(io::ErrorKind::BrokenPipe)?;
        to.write_all(&frames::frame(&frames::encode_setup(base_env)))?;
        let mut relay = Relay {
            sock,
            index,
            child,
            to: Some(to),
            from,
            frames: Frames::default(),
            pending: HashMap::new(),
            running: HashMap::new(),
        };
        let hello = loop {
            if let Some(msg) = relay.frames.next().map_err(|()| io::ErrorKind::InvalidData)? {
                break msg;
            }
            let mut buf = [0u8; 4096];
            match relay.from.read(&mut buf)? {
                0 => {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "it ended before saying hello"));
                }
                n => relay.frames.push(&buf[..n]),
            }
        };
        if frames::decode_hello(&hello).is_none() || !send(sock, &hello) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "its first word is not a hello"));
        }
        Ok(relay)
    }

    /// Relays until hrun or the remote launcher is gone.
    fn run(&mut self) -> i32 {
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            let mut pfds = [
                libc::pollfd { fd: self.sock, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: self.from.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: two valid pollfds.
            if unsafe { libc::poll(pfds.as_mut_ptr(), 2, -1) } < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return 1;
            }
            if pfds[0].revents != 0 && !self.requests(&mut buf) {
                return 0;
            }
            if pfds[1].revents != 0 && !self.events() {
                return 1;
            }
        }
    }

    /// Passes on every request hrun sent; false when hrun is gone.
    fn requests(&mut self, buf: &mut [u8]) -> bool {
        // Every request of this wake-up goes out in one write (see `serve`'s flush).
        let mut batch = Vec::new();
        let here = loop {
            let (n, fds) = match receive(self.sock, buf) {
                Ok(Some(got)) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(None) | Err(_) => break false,
            };
            let msg = &buf[..n];
            let forwarded = match msg.first() {
                Some(&START) => {
                    let token = u64::from_le_bytes(msg[1..9].try_into().unwrap_or_default());
                    self.pending.entry(token).or_default().push_back(fds);
                    msg.to_vec()
                }
                Some(&WITHDRAW) => msg.to_vec(),
                Some(&protocol::SIGNAL) if msg.len() >= 9 => {
                    let pid = i32::from_le_bytes(msg[1..5].try_into().unwrap_or_default());
                    let sig = i32::from_le_bytes(msg[5..9].try_into().unwrap_or_default());
                    let Some((_, pid)) = remote_pid(pid) else { continue };
                    protocol::encode_signal(pid, sig)
                }
                _ => continue,
            };
            batch.extend_from_slice(&frames::frame(&forwarded));
        };
        if let Some(to) = &mut self.to
            && !batch.is_empty()
            && to.write_all(&batch).is_err()
        {
            // The remote side is gone: its end is read from its output.
            self.to = None;
        }
        here
    }

    /// Handles what the remote launcher sent; false when it is gone.
    fn events(&mut self) -> bool {
        let mut chunk = vec![0u8; 256 << 10];
        let n = match self.from.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        self.frames.push(&chunk[..n]);
        loop {
            let msg = match self.frames.next() {
                Ok(Some(msg)) => msg,
                Ok(None) => return true,
                Err(()) => return false,
            };
            if let Some((pid, stream, bytes)) = frames::decode_output(&msg) {
                if let Some((_, fds)) = self.running.get(&pid)
                    && let Some(fd) = fds.get(usize::from(stream).wrapping_sub(1))
                {
                    // SAFETY: the descriptor came with the task's request, borrowed for the call.
                    let mut out = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd.as_raw_fd()) });
                    let _ = out.write_all(bytes);
                }
                continue;
            }
            let Some(event) = protocol::decode_event(&msg) else { continue };
            let relayed = self.relayed(event);
            if !send(self.sock, &relayed) {
                return false;
            }
        }
    }

    /// An event as hrun must see it (its pid tagged), with this side's bookkeeping done.
    fn relayed(&mut self, event: Event) -> Vec<u8> {
        match event {
            Event::Spawned { token, result, at } => {
                let fds = self.pending.get_mut(&token).and_then(VecDeque::pop_front).unwrap_or_default();
                if let Ok(pid) = result {
                    self.running.insert(pid, (token, fds));
                }
                protocol::encode_spawned(token, result.map(|p| tag(self.index, p)), at)
            }
            Event::Reaped { mut reaped, at, next, clean } => {
                if let Some((token, _)) = self.running.remove(&reaped.pid)
                    && next == Next::GivenBack
                {
                    self.pending.get_mut(&token).and_then(VecDeque::pop_front);
                }
                reaped.pid = tag(self.index, reaped.pid);
                protocol::encode_reaped(&reaped, at, next, clean)
            }
            Event::Withdrawn { token } => {
                self.pending.get_mut(&token).and_then(VecDeque::pop_front);
                protocol::encode_withdrawn(token)
            }
        }
    }

    /// Closes the stream (the remote launcher kills its tasks and ends) and waits a moment
    /// for srun or ssh to end; then kills it.
    fn finish(&mut self) {
        self.to = None;
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
