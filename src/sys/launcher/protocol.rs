//! The launcher protocol: the messages hrun and a launcher exchange, one message per
//! `SOCK_SEQPACKET` packet, little-endian fields. Pure encoding and decoding, so that a
//! launcher on another host can speak it later: nothing in a message means something only on
//! one host. The task's output files travel beside a request as descriptors (`SCM_RIGHTS`),
//! which a request says with its `outputs` field; that is the local transport, not part of a
//! request's meaning.
//!
//! Requests (hrun to launcher):
//! - `START token when outputs cpus program`: start `program` on slot `token`, pinned to
//!   `cpus`. `when` is [`When::Now`] (the slot is idle), or one of the `After` kinds: the
//!   launcher holds the request and starts it the moment it reaps the slot's current task, if
//!   that task exited (with status 0 for [`When::AfterSuccess`]) and left no process behind;
//!   otherwise it gives the request back unstarted. At most one request waits per slot.
//! - `WITHDRAW token`: drop slot `token`'s waiting request if it has not started.
//! - `SIGNAL pid sig`: send `sig` to the process group of the launcher's task `pid` (a
//!   launcher on another node: hrun cannot signal it itself). Ignored for any other pid.
//!
//! Events (launcher to hrun), in the order things happened:
//! - `SPAWNED token result at`: a request started as a pid (or failed with an errno), at `at`.
//! - `REAPED pid ended rusage at next`: a child of the launcher ended at `at` (a task, or an
//!   orphan re-parented to it); for a task, `next` says what became of its slot's waiting
//!   request: none, started (its `SPAWNED` follows), or given back.
//! - `WITHDRAWN token`: slot `token`'s waiting request did not start and never will
//!   (withdrawn, or asked to wait behind a task that had already ended).

use std::ffi::CString;

use super::super::{Ended, Program, Reaped, Rusage};
use crate::cpuset::CpuSet;

pub(super) const START: u8 = 1;
pub(super) const SPAWNED: u8 = 2;
pub(super) const REAPED: u8 = 3;
pub(super) const WITHDRAW: u8 = 4;
pub(super) const WITHDRAWN: u8 = 5;
pub(super) const SIGNAL: u8 = 6;
/// In a `REAPED` message's last byte, beside what became of the next request: the task left
/// no process behind.
const CLEAN: u8 = 0x10;

/// The task's stdout and stderr come with the request as two descriptors (same host).
pub(super) const OUTPUTS_ATTACHED: u8 = 1;

/// When a launcher starts a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Now: hrun knows the slot is idle.
    Now,
    /// When the slot's current task exits 0, leaving nothing behind.
    AfterSuccess,
    /// When the slot's current task exits (any status; not killed by a signal), leaving
    /// nothing behind.
    AfterExit,
}

impl When {
    /// True when a task that ended as `ended` lets a request waiting this way start.
    pub fn follows(self, ended: Ended) -> bool {
        match self {
            When::Now => true,
            When::AfterSuccess => ended == Ended::Exited(0),
            When::AfterExit => matches!(ended, Ended::Exited(_)),
        }
    }
}

/// A moment on the launcher's host: its wall clock (Unix nanoseconds), and its monotonic
/// clock, of which only differences between two stamps of one launcher mean anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    pub unix_ns: i64,
    pub mono_ns: u64,
}

impl Stamp {
    /// Seconds from `self` to `later`, by the monotonic clock (0 if `later` is not later).
    pub fn secs_until(self, later: Stamp) -> f64 {
        later.mono_ns.saturating_sub(self.mono_ns) as f64 / 1e9
    }

    /// Wall-clock Unix seconds.
    pub fn unix_secs(self) -> f64 {
        self.unix_ns as f64 / 1e9
    }
}

/// What became of a slot's waiting request when the launcher reaped the slot's task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// No request was waiting (or the process was not a task).
    None,
    /// It started: its `SPAWNED` follows.
    Started,
    /// It did not start (the task failed, died of a signal, or left processes behind): hrun
    /// has it back.
    GivenBack,
}

/// What a launcher tells hrun.
#[derive(Clone, Debug)]
pub enum Event {
    /// The request for slot `token` started as a pid, or failed with an errno (before or at
    /// exec), at `at`.
    Spawned { token: u64, result: Result<i32, i32>, at: Stamp },
    /// A child of the launcher ended at `at`: a task, or an orphan re-parented to it.
    /// `clean`: the launcher saw no process left behind by it (when false, hrun looks).
    Reaped { reaped: Reaped, at: Stamp, next: Next, clean: bool },
    /// Slot `token`'s waiting request did not start, and never will.
    Withdrawn { token: u64 },
}

/// A request as the launcher reads it.
pub(super) enum Request {
    Start { token: u64, when: When, cpus: CpuSet, program: Program },
    Withdraw { token: u64 },
    Signal { pid: i32, sig: i32 },
}

pub(super) fn put_u32(msg: &mut Vec<u8>, v: u32) {
    msg.extend_from_slice(&v.to_le_bytes());
}

fn put_stamp(msg: &mut Vec<u8>, at: Stamp) {
    msg.extend_from_slice(&at.unix_ns.to_le_bytes());
    msg.extend_from_slice(&at.mono_ns.to_le_bytes());
}

pub(super) fn encode_start(token: u64, when: When, program: &Program, cpus: &CpuSet) -> Vec<u8> {
    let mut msg = Vec::with_capacity(256);
    msg.push(START);
    msg.extend_from_slice(&token.to_le_bytes());
    msg.push(match when {
        When::Now => 0,
        When::AfterSuccess => 1,
        When::AfterExit => 2,
    });
    msg.push(OUTPUTS_ATTACHED);
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
    // The working directory (empty: hrun's own; no directory has an empty name) and the
    // niceness (a flag byte, then the value).
    let dir = program.dir.as_ref().map_or(&b""[..], |d| d.as_bytes());
    put_u32(&mut msg, dir.len() as u32);
    msg.extend_from_slice(dir);
    msg.push(u8::from(program.nice.is_some()));
    msg.extend_from_slice(&program.nice.unwrap_or(0).to_le_bytes());
    msg
}

pub(super) fn encode_withdraw(token: u64) -> Vec<u8> {
    let mut msg = vec![WITHDRAW];
    msg.extend_from_slice(&token.to_le_bytes());
    msg
}

pub(super) fn encode_signal(pid: i32, sig: i32) -> Vec<u8> {
    let mut msg = vec![SIGNAL];
    msg.extend_from_slice(&pid.to_le_bytes());
    msg.extend_from_slice(&sig.to_le_bytes());
    msg
}

pub(super) fn encode_spawned(token: u64, result: Result<i32, i32>, at: Stamp) -> Vec<u8> {
    let mut m = vec![SPAWNED];
    m.extend_from_slice(&token.to_le_bytes());
    let (pid, errno) = match result {
        Ok(pid) => (pid, 0),
        Err(e) => (0, e),
    };
    m.extend_from_slice(&pid.to_le_bytes());
    m.extend_from_slice(&errno.to_le_bytes());
    put_stamp(&mut m, at);
    m
}

pub(super) fn encode_withdrawn(token: u64) -> Vec<u8> {
    let mut m = vec![WITHDRAWN];
    m.extend_from_slice(&token.to_le_bytes());
    m
}

/// `clean`: every child of the launcher was a task it knows when it reaped this one (the
/// task left no process behind).
pub(super) fn encode_reaped(r: &Reaped, at: Stamp, next: Next, clean: bool) -> Vec<u8> {
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
    put_stamp(&mut m, at);
    let next = match next {
        Next::None => 0,
        Next::Started => 1,
        Next::GivenBack => 2,
    };
    m.push(next | if clean { CLEAN } else { 0 });
    m
}

/// Reads little-endian fields off a message.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl Reader<'_> {
    pub(super) fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    pub(super) fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_le_bytes)
    }
    pub(super) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    pub(super) fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    pub(super) fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
    pub(super) fn stamp(&mut self) -> Option<Stamp> {
        Some(Stamp { unix_ns: self.i64()?, mono_ns: self.u64()? })
    }
    pub(super) fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
}

pub(super) fn decode_event(msg: &[u8]) -> Option<Event> {
    let (&kind, rest) = msg.split_first()?;
    let mut r = Reader(rest);
    match kind {
        SPAWNED => {
            let token = r.u64()?;
            let (pid, errno) = (r.i32()?, r.i32()?);
            let at = r.stamp()?;
            Some(Event::Spawned { token, result: if errno == 0 { Ok(pid) } else { Err(errno) }, at })
        }
        REAPED => {
            let pid = r.i32()?;
            let kind = r.u8()?;
            let code = r.i32()?;
            let ended = if kind == 0 { Ended::Exited(code) } else { Ended::Signaled(code) };
            let rusage = Rusage {
                utime_s: r.f64()?,
                stime_s: r.f64()?,
                maxrss_kb: r.u64()?,
                minflt: r.u64()?,
                majflt: r.u64()?,
                nvcsw: r.u64()?,
                nivcsw: r.u64()?,
            };
            let at = r.stamp()?;
            let byte = r.u8()?;
            let next = match byte & !CLEAN {
                0 => Next::None,
                1 => Next::Started,
                2 => Next::GivenBack,
                _ => return None,
            };
            Some(Event::Reaped { reaped: Reaped { pid, ended, rusage }, at, next, clean: byte & CLEAN != 0 })
        }
        WITHDRAWN => Some(Event::Withdrawn { token: r.u64()? }),
        _ => None,
    }
}

pub(super) fn decode_request(msg: &[u8]) -> Option<Request> {
    let (&kind, rest) = msg.split_first()?;
    let mut r = Reader(rest);
    match kind {
        WITHDRAW => return Some(Request::Withdraw { token: r.u64()? }),
        SIGNAL => return Some(Request::Signal { pid: r.i32()?, sig: r.i32()? }),
        START => {}
        _ => return None,
    }
    let token = r.u64()?;
    let when = match r.u8()? {
        0 => When::Now,
        1 => When::AfterSuccess,
        2 => When::AfterExit,
        _ => return None,
    };
    if r.u8()? != OUTPUTS_ATTACHED {
        return None;
    }
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
    let dir = string()?;
    let dir = (!dir.is_empty()).then_some(dir);
    let nice = match (r.u8()?, r.i32()?) {
        (0, _) => None,
        (_, n) => Some(n),
    };
    Some(Request::Start {
        token,
        when,
        cpus: CpuSet::from_mask_words(&mask),
        program: Program { path, argv, env, dir, nice },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> Program {
        Program {
            path: CString::new("/bin/echo").unwrap(),
            argv: vec![CString::new("echo").unwrap(), CString::new("a b").unwrap()],
            env: vec![CString::new("HRUN_SEQ=3").unwrap()],
            dir: None,
            nice: None,
        }
    }

    #[test]
    fn requests_round_trip() {
        let cpus: CpuSet = "1,3-4".parse().unwrap();
        for when in [When::Now, When::AfterSuccess, When::AfterExit] {
            let msg = encode_start(7, when, &program(), &cpus);
            let Some(Request::Start { token, when: back, cpus: c, program: p }) = decode_request(&msg) else {
                panic!("{when:?}")
            };
            assert_eq!((token, back, c.to_string()), (7, when, "1,3-4".to_string()));
            assert_eq!((p.path, p.argv, p.env), (program().path, program().argv, program().env));
            assert_eq!((p.dir, p.nice), (None, None));
            assert!(decode_request(&msg[..msg.len() - 1]).is_none(), "a short message is refused");
        }
        let placed = Program { dir: Some(CString::new("/w/d").unwrap()), nice: Some(-3), ..program() };
        let Some(Request::Start { program: p, .. }) =
            decode_request(&encode_start(1, When::Now, &placed, &cpus))
        else {
            panic!()
        };
        assert_eq!((p.dir, p.nice), (placed.dir, Some(-3)));
        let Some(Request::Withdraw { token }) = decode_request(&encode_withdraw(5)) else { panic!() };
        assert_eq!(token, 5);
        let Some(Request::Signal { pid, sig }) = decode_request(&encode_signal(77, 15)) else { panic!() };
        assert_eq!((pid, sig), (77, 15));
        assert!(decode_request(&[9, 0, 0]).is_none(), "an unknown kind is refused");
    }

    #[test]
    fn events_round_trip() {
        let at = Stamp { unix_ns: 1_700_000_000_123_456_789, mono_ns: 42_000_000_000 };
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
        for next in [Next::None, Next::Started, Next::GivenBack] {
            for clean in [false, true] {
                let Some(Event::Reaped { reaped, at: a, next: n, clean: c }) =
                    decode_event(&encode_reaped(&r, at, next, clean))
                else {
                    panic!()
                };
                assert_eq!(
                    (reaped.pid, reaped.ended, reaped.rusage, a, n, c),
                    (42, Ended::Signaled(9), r.rusage, at, next, clean)
                );
            }
        }
        let Some(Event::Spawned { token, result, at: a }) =
            decode_event(&encode_spawned(9, Err(libc::E2BIG), at))
        else {
            panic!()
        };
        assert_eq!((token, result, a), (9, Err(libc::E2BIG), at));
        let Some(Event::Spawned { result, .. }) = decode_event(&encode_spawned(9, Ok(1234), at)) else {
            panic!()
        };
        assert_eq!(result, Ok(1234));
        let Some(Event::Withdrawn { token }) = decode_event(&encode_withdrawn(3)) else { panic!() };
        assert_eq!(token, 3);
        let m = encode_reaped(&r, at, Next::None, true);
        assert!(decode_event(&m[..m.len() - 1]).is_none(), "a short event is refused");
        let mut odd = m.clone();
        *odd.last_mut().unwrap() = 0x13;
        assert!(decode_event(&odd).is_none(), "an unknown next is refused");
    }

    #[test]
    fn a_waiting_request_follows_an_exit_never_a_signal() {
        let (ok, failed, killed) = (Ended::Exited(0), Ended::Exited(3), Ended::Signaled(libc::SIGTERM));
        assert!(When::AfterSuccess.follows(ok) && !When::AfterSuccess.follows(failed));
        assert!(When::AfterExit.follows(ok) && When::AfterExit.follows(failed));
        assert!(!When::AfterSuccess.follows(killed) && !When::AfterExit.follows(killed));
    }

    #[test]
    fn stamps_measure_on_the_monotonic_clock() {
        let a = Stamp { unix_ns: 5_000_000_000, mono_ns: 1_000_000_000 };
        // The wall clock stepped back meanwhile: the monotonic difference still holds.
        let b = Stamp { unix_ns: 1_000_000_000, mono_ns: 1_250_000_000 };
        assert_eq!(a.secs_until(b), 0.25);
        assert_eq!(b.secs_until(a), 0.0);
        assert_eq!(a.unix_secs(), 5.0);
    }
}
