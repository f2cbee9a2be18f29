//! The launcher protocol over a byte stream (a remote launcher's standard input and output,
//! through srun or ssh): each message of `protocol.rs` as one frame, a little-endian `u32`
//! length then the message, and the words only a stream needs:
//! - `SETUP env...` (hrun's side to the remote launcher, first): the environment every task
//!   starts from, as hrun would give it on its own node.
//! - `HELLO node slots...` (the remote launcher's first answer): its node's name and the CPUs
//!   of each slot it planned there, as `hrun slots` would plan them.
//! - `OUTPUT pid stream bytes`: what task `pid` wrote to its stdout (1) or stderr (2), sent
//!   before its `REAPED`: a remote task writes into files on its own node, which the launcher
//!   sends back when the task ends (as hrun copies a local task's output files after its end).

use std::ffi::CString;

use super::protocol::{Reader, put_u32};
use crate::cpuset::CpuSet;

pub(super) const HELLO: u8 = 7;
pub(super) const OUTPUT: u8 = 8;
pub(super) const SETUP: u8 = 9;

/// The largest frame accepted: a request is at most `MAX_MESSAGE`, output is sent in chunks.
pub(super) const MAX_FRAME: usize = super::MAX_MESSAGE + 64;

/// A remote launcher's first word: where it runs and the slots it planned there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Slurm's `SLURMD_NODENAME` there, else its host name.
    pub node: String,
    pub slots: Vec<CpuSet>,
}

/// `msg` as one frame.
pub(super) fn frame(msg: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(msg.len() + 4);
    put_u32(&mut f, msg.len() as u32);
    f.extend_from_slice(msg);
    f
}

/// Bytes read off a stream, cut into frames as they complete.
#[derive(Default)]
pub(super) struct Frames {
    buf: Vec<u8>,
}

impl Frames {
    pub(super) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame's message; `Err(())` for a length no frame may have (the stream
    /// is not hrun's protocol).
    pub(super) fn next(&mut self) -> Result<Option<Vec<u8>>, ()> {
        let Some(head) = self.buf.first_chunk::<4>() else { return Ok(None) };
        let len = u32::from_le_bytes(*head) as usize;
        if len > MAX_FRAME {
            return Err(());
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let msg = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some(msg))
    }
}

fn put_bytes(msg: &mut Vec<u8>, b: &[u8]) {
    put_u32(msg, b.len() as u32);
    msg.extend_from_slice(b);
}

pub(super) fn encode_hello(h: &Hello) -> Vec<u8> {
    let mut m = vec![HELLO];
    put_bytes(&mut m, h.node.as_bytes());
    put_u32(&mut m, h.slots.len() as u32);
    for s in &h.slots {
        put_bytes(&mut m, s.to_string().as_bytes());
    }
    m
}

pub(super) fn decode_hello(msg: &[u8]) -> Option<Hello> {
    let (&HELLO, rest) = msg.split_first()? else { return None };
    let mut r = Reader(rest);
    let node = text(&mut r)?;
    let n = r.u32()? as usize;
    let slots = (0..n).map(|_| text(&mut r)?.parse().ok()).collect::<Option<Vec<CpuSet>>>()?;
    Some(Hello { node, slots })
}

fn text(r: &mut Reader<'_>) -> Option<String> {
    let n = r.u32()? as usize;
    String::from_utf8(r.bytes(n)?.to_vec()).ok()
}

pub(super) fn encode_output(pid: i32, stream: u8, bytes: &[u8]) -> Vec<u8> {
    let mut m = vec![OUTPUT];
    m.extend_from_slice(&pid.to_le_bytes());
    m.push(stream);
    m.extend_from_slice(bytes);
    m
}

/// `(pid, stream, bytes)` of an `OUTPUT` message.
pub(super) fn decode_output(msg: &[u8]) -> Option<(i32, u8, &[u8])> {
    let (&OUTPUT, rest) = msg.split_first()? else { return None };
    let (pid, rest) = rest.split_first_chunk::<4>()?;
    let (&stream, bytes) = rest.split_first()?;
    Some((i32::from_le_bytes(*pid), stream, bytes))
}

pub(super) fn encode_setup(env: &[CString]) -> Vec<u8> {
    let mut m = vec![SETUP];
    put_u32(&mut m, env.len() as u32);
    for v in env {
        put_bytes(&mut m, v.as_bytes());
    }
    m
}

pub(super) fn decode_setup(msg: &[u8]) -> Option<Vec<CString>> {
    let (&SETUP, rest) = msg.split_first()? else { return None };
    let mut r = Reader(rest);
    let n = r.u32()? as usize;
    (0..n)
        .map(|_| {
            let len = r.u32()? as usize;
            CString::new(r.bytes(len)?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_whole_whatever_the_reads() {
        let stream: Vec<u8> = [frame(b"abc"), frame(b""), frame(&[7; 300])].concat();
        for cut in [1, 3, 5, 64, stream.len()] {
            let mut f = Frames::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(cut) {
                f.push(chunk);
                while let Some(m) = f.next().unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got, vec![b"abc".to_vec(), vec![], vec![7; 300]], "reads of {cut}");
        }
        let mut bad = Frames::default();
        bad.push(&u32::MAX.to_le_bytes());
        assert!(bad.next().is_err(), "a length beyond any frame is refused");
    }

    #[test]
    fn hello_output_and_setup_round_trip() {
        let h = Hello { node: "node2".into(), slots: vec!["0".parse().unwrap(), "1-3,8".parse().unwrap()] };
        assert_eq!(decode_hello(&encode_hello(&h)), Some(h.clone()));
        let m = encode_hello(&h);
        assert_eq!(decode_hello(&m[..m.len() - 1]), None, "a short hello is refused");
        assert_eq!(decode_output(&encode_output(42, 2, b"x\n")), Some((42, 2, &b"x\n"[..])));
        let env = vec![CString::new("A=1").unwrap(), CString::new("B=").unwrap()];
        assert_eq!(decode_setup(&encode_setup(&env)), Some(env));
        assert_eq!(decode_setup(&encode_hello(&h)), None, "another kind is not a setup");
    }
}
