//! A launcher on another node (`hrun __hrun-launcher`, started by srun or ssh): the same
//! launcher, serving requests that come as frames on its standard input (`frames.rs`) and
//! answering on its standard output. A task's output goes to two unlinked files on this node,
//! sent back as `OUTPUT` frames when the task ends, before its `REAPED`. When the stream
//! closes (hrun, its proxy, srun or ssh gone), it kills every task, as a local launcher does
//! when its socket closes.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;

use super::frames::{self, Frames, Hello};
use super::protocol::START;
use super::{Link, serve_link};

/// Output is sent back in frames of at most this many bytes.
const CHUNK: usize = 256 << 10;

/// Reads the `SETUP` frame hrun's side sends first: the tasks' base environment.
pub fn read_setup() -> io::Result<Vec<CString>> {
    // SAFETY: standard input is open for the process's life; the File is never dropped.
    let mut stdin = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
    let mut head = [0u8; 4];
    stdin.read_exact(&mut head)?;
    let len = u32::from_le_bytes(head) as usize;
    if len > frames::MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not hrun's launcher protocol"));
    }
    let mut msg = vec![0u8; len];
    stdin.read_exact(&mut msg)?;
    frames::decode_setup(&msg)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "the first frame is not a setup"))
}

/// Answers with this node's name and slots.
pub fn write_hello(hello: &Hello) -> io::Result<()> {
    write_all(1, &frames::frame(&frames::encode_hello(hello)))
}

/// Serves hrun over standard input and output until the stream closes; then kills every task
/// and exits.
pub fn serve_stdio(base_env: &[CString]) -> ! {
    serve_link(&mut StreamLink::default(), base_env)
}

#[derive(Default)]
struct StreamLink {
    frames: Frames,
    /// Frames sent since the last flush: written together, once per wake-up.
    out: Vec<u8>,
}

/// Held frames are written at once past this many bytes (a task's large output).
const HOLD: usize = 1 << 20;

impl Link for StreamLink {
    fn fd(&self) -> RawFd {
        0
    }

    fn receive(&mut self, buf: &mut [u8]) -> io::Result<Option<(usize, Vec<OwnedFd>)>> {
        loop {
            match self.frames.next() {
                Err(()) => return Ok(None),
                Ok(Some(msg)) if msg.len() <= buf.len() => {
                    buf[..msg.len()].copy_from_slice(&msg);
                    let fds = if msg.first() == Some(&START) {
                        vec![tempfile::tempfile()?.into(), tempfile::tempfile()?.into()]
                    } else {
                        Vec::new()
                    };
                    return Ok(Some((msg.len(), fds)));
                }
                Ok(Some(_)) => return Ok(None),
                Ok(None) => {}
            }
            // Only a readable stream is read: the descriptor stays blocking (srun or ssh may
            // share one file description between standard input and output).
            if !crate::sys::readable(0) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut chunk = [0u8; 64 << 10];
            // SAFETY: reading into a buffer of its length.
            let n = unsafe { libc::read(0, chunk.as_mut_ptr().cast(), chunk.len()) };
            match n {
                0 => return Ok(None),
                n if n < 0 => return Err(io::Error::last_os_error()),
                n => self.frames.push(&chunk[..n as usize]),
            }
        }
    }

    fn send(&mut self, msg: &[u8]) -> bool {
        self.out.extend_from_slice(&frames::frame(msg));
        self.out.len() < HOLD || self.flush()
    }

    fn flush(&mut self) -> bool {
        let ok = self.out.is_empty() || write_all(1, &self.out).is_ok();
        self.out.clear();
        ok
    }

    fn keeps_outputs(&self) -> bool {
        true
    }

    fn outputs(&mut self, pid: i32, fds: &[OwnedFd]) -> bool {
        for (stream, fd) in (1u8..).zip(fds) {
            // SAFETY: the descriptor is the task's output file, borrowed for the call.
            let file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd.as_raw_fd()) });
            let mut buf = vec![0u8; CHUNK];
            let mut at = 0u64;
            loop {
                let n = match file.read_at(&mut buf, at) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if !self.send(&frames::encode_output(pid, stream, &buf[..n])) {
                    return false;
                }
                at += n as u64;
            }
        }
        true
    }
}

/// Writes all of `bytes` to `fd`, waiting while it is full.
fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: writing from a valid buffer of its length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    let mut pfd = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
                    // SAFETY: one valid pollfd.
                    unsafe { libc::poll(&mut pfd, 1, -1) };
                    continue;
                }
                _ => return Err(err),
            }
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}
