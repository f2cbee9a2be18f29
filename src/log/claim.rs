//! Claiming the files a run writes (its run log, `--joblog`, the `--results` table) before any
//! of them changes: each is opened for appending (created if missing) and locked with an
//! exclusive `flock` that the run holds until it exits, but nothing is truncated or written.
//! A run refused at this step (a file another hrun holds, a FIFO nobody reads) has changed
//! nothing: files it created are removed again. Only once every claim holds does the run cut
//! or write them.
//!
//! The lock is what keeps two runs off one file: a second `hrun exec` naming a live run's log,
//! table or joblog as any of its outputs is refused, with the other hrun's pid.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::sys;

/// What an output may be besides a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A run log: only a regular file (it is read back, locked, synced).
    Log,
    /// A joblog or a results table: a regular file, or a stream that something reads (a FIFO
    /// with a reader, a character device such as a terminal).
    Stream,
}

/// An output file open for appending and, when regular, locked by this process; unchanged.
#[derive(Debug)]
pub struct Claimed {
    pub file: File,
    pub path: PathBuf,
    /// The claim made the file: it goes again if the run is refused before it starts.
    created: bool,
    /// A regular file (locked, and one that can be cut or truncated).
    pub regular: bool,
}

impl Claimed {
    /// Empties the file (a run that starts a joblog or table afresh), once every claim held.
    pub fn truncate(&self) -> io::Result<()> {
        if self.regular { self.file.set_len(0) } else { Ok(()) }
    }
}

/// Claims every `(what, path, kind)` in order; the first refusal removes the files the earlier
/// claims created and says why (naming `what`, the path, and the holder's pid for a lock).
pub fn claim_all(outputs: &[(&str, &Path, Kind)]) -> Result<Vec<Claimed>, String> {
    let mut claimed: Vec<Claimed> = Vec::with_capacity(outputs.len());
    for &(what, path, kind) in outputs {
        match claim(what, path, kind) {
            Ok(c) => claimed.push(c),
            Err(e) => {
                release(claimed);
                return Err(e);
            }
        }
    }
    Ok(claimed)
}

/// Claims a directory a run writes task output files into (`--output-dir`, GNU's
/// `--results DIR`): the directory itself is locked (`flock`, nothing is created in it) for as
/// long as the returned handle lives, so two runs never write over each other's files there.
pub fn claim_dir(what: &str, path: &Path) -> Result<File, String> {
    let shown = crate::text::printable(&path.display().to_string()).into_owned();
    let fail = |why: String| format!("{what} {shown}: {why}");
    let dir = File::open(path).map_err(|e| fail(format!("cannot open it: {e}")))?;
    match lock_past_readers(&dir) {
        Ok(true) => Ok(dir),
        Ok(false) => {
            let holder = sys::lock_holder(&dir).map_or(String::new(), |pid| format!(" (pid {pid})"));
            Err(fail(format!(
                "in use by another hrun{holder}, which writes its tasks' files there now; wait for it \
                 to end, or give this run a directory of its own"
            )))
        }
        Err(e) => Err(fail(format!("cannot lock it: {e}"))),
    }
}

/// Gives claims back without using them: files they created are removed (an empty file the
/// refused run made is not left behind), the others are closed unchanged.
pub fn release(claims: Vec<Claimed>) {
    for c in claims {
        if c.created {
            let _ = std::fs::remove_file(&c.path);
        }
    }
}

fn claim(what: &str, path: &Path, kind: Kind) -> Result<Claimed, String> {
    let shown = crate::text::printable(&path.display().to_string()).into_owned();
    let fail = |why: String| format!("{what} {shown}: {why}");
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && (kind == Kind::Log || meta.is_dir())
    {
        let name = crate::smallfile::kind_name(meta.file_type());
        return Err(fail(format!("not a regular file (a {name}); give a file")));
    }
    let (file, created) = open(path).map_err(|e| fail(open_error(path, &e)))?;
    let regular = file.metadata().is_ok_and(|m| m.is_file());
    let unclaim = |file: File| {
        if created {
            let _ = std::fs::remove_file(path);
        }
        drop(file);
    };
    if !regular && kind == Kind::Log {
        unclaim(file);
        return Err(fail("not a regular file; give a file".into()));
    }
    if let Err(e) = sys::set_blocking(&file) {
        unclaim(file);
        return Err(fail(e.to_string()));
    }
    if regular {
        match lock_past_readers(&file) {
            Ok(true) => {}
            Ok(false) => {
                let holder = sys::lock_holder(&file).map_or(String::new(), |pid| format!(" (pid {pid})"));
                unclaim(file);
                return Err(fail(format!(
                    "in use by another hrun{holder}, which writes it now; wait for it to end, or give \
                     this run a file of its own"
                )));
            }
            Err(e) => {
                unclaim(file);
                return Err(fail(format!("cannot lock it: {e}")));
            }
        }
    }
    Ok(Claimed { file, path: path.to_path_buf(), created, regular })
}

/// Opens `path` for appending: an existing file as it is, a missing one created (`O_EXCL`, so
/// "created" is never a guess). Non-blocking, so that a FIFO nobody reads fails at once
/// (ENXIO) instead of hanging hrun in `open`.
fn open(path: &Path) -> io::Result<(File, bool)> {
    let base = || {
        let mut o = OpenOptions::new();
        o.append(true).custom_flags(libc::O_NONBLOCK);
        o
    };
    match base().open(path) {
        Ok(f) => Ok((f, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match base().create_new(true).open(path) {
            Ok(f) => Ok((f, true)),
            // Made by someone else between the two opens: take it as it is.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => base().open(path).map(|f| (f, false)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    }
}

fn open_error(path: &Path, e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENXIO) => "it is a FIFO that no process reads".into(),
        _ if !path.exists() => format!("cannot create it: {e}"),
        _ => format!("cannot open it for appending: {e}"),
    }
}

/// Takes the exclusive lock. `hrun status` probes the lock of a log whose run has no end
/// record with a shared lock that it drops at once: a probe must not make an hrun starting at
/// that instant fail as if another hrun wrote the file, so a lock held by someone is tried a
/// few more times over 100 ms. A writer holds it for its whole run: that still refuses.
pub(super) fn lock_past_readers(file: &File) -> io::Result<bool> {
    for _ in 0..10 {
        if sys::try_lock(file)? {
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sys::try_lock(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_claim_leaves_no_file_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.csv"));
        std::fs::write(&b, "row\n").unwrap();
        let held = claim_all(&[("--results", &b, Kind::Stream)]).unwrap();
        let e = claim_all(&[("--log", &a, Kind::Log), ("--results", &b, Kind::Stream)]).unwrap_err();
        assert!(e.contains("in use by another hrun") && e.contains("--results"), "{e}");
        assert!(!a.exists(), "the log this claim created is gone again");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "row\n", "unchanged");
        release(held);
        assert!(b.exists(), "a file the claim found is never removed");
    }

    #[test]
    fn a_log_must_be_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = claim_all(&[("--log", dir.path(), Kind::Log)]).unwrap_err();
        assert!(e.contains("not a regular file (a directory)"), "{e}");
        let fifo = dir.path().join("f");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = claim_all(&[("--log", &fifo, Kind::Log)]).unwrap_err();
        assert!(e.contains("a FIFO"), "{e}");
        let e = claim_all(&[("--joblog", &fifo, Kind::Stream)]).unwrap_err();
        assert!(e.contains("a FIFO that no process reads"), "{e}");
    }
}
