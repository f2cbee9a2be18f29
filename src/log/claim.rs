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

/// Why a claim was refused.
#[derive(Debug)]
enum Refused {
    /// Another live hrun holds the file's lock.
    InUse(String),
    /// Anything else (not a regular file, cannot be opened or locked).
    Other(String),
}

impl Refused {
    fn message(self) -> String {
        match self {
            Refused::InUse(m) | Refused::Other(m) => m,
        }
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
                return Err(e.message());
            }
        }
    }
    Ok(claimed)
}

/// How many sibling names [`claim_default_log`] tries before it gives up.
const SIBLINGS: u32 = 1000;

/// Claims a default run log (`.hrun/<stem>.hrun.jsonl`, no `--log` given): when another live
/// hrun holds it (the same command started again while the first still runs, as scripts that
/// start several `parallel` at once do), the first of `<stem>.run-2.hrun.jsonl`,
/// `<stem>.run-3.hrun.jsonl`... that no run holds, so each run gets a log of its own instead of a
/// refusal (`--resume` reads these siblings too). Any other refusal is said as [`claim_all`]
/// says it.
pub fn claim_default_log(path: &Path) -> Result<Claimed, String> {
    let mut first_refusal = None;
    for n in 1..=SIBLINGS {
        let candidate = sibling(path, n);
        match claim("run log", &candidate, Kind::Log) {
            Ok(c) => return Ok(c),
            Err(Refused::InUse(m)) => {
                first_refusal.get_or_insert(m);
            }
            Err(Refused::Other(m)) => return Err(m),
        }
    }
    Err(first_refusal.unwrap_or_default())
}

/// The `n`th name of a default log: `n` = 1 is the name itself, then `<stem>.run-<n>.hrun.jsonl`
/// (a name without the `.hrun.jsonl` ending gets `.run-<n>` added).
pub fn sibling(path: &Path, n: u32) -> PathBuf {
    if n == 1 {
        return path.to_path_buf();
    }
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match name.strip_suffix(".hrun.jsonl") {
        Some(stem) => format!("{stem}.run-{n}.hrun.jsonl"),
        None => format!("{name}.run-{n}"),
    };
    path.with_file_name(name)
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

fn claim(what: &str, path: &Path, kind: Kind) -> Result<Claimed, Refused> {
    let shown = crate::text::printable(&path.display().to_string()).into_owned();
    let fail = |why: String| Refused::Other(format!("{what} {shown}: {why}"));
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
                return Err(Refused::InUse(format!(
                    "{what} {shown}: in use by another hrun{holder}, which writes it now; wait for it \
                     to end, or give this run a file of its own"
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

    #[test]
    fn a_default_log_in_use_gives_way_to_the_first_free_sibling() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep-ab12.hrun.jsonl");
        let first = claim_default_log(&log).unwrap();
        assert_eq!(first.path, log);
        let second = claim_default_log(&log).unwrap();
        assert_eq!(second.path, dir.path().join("sleep-ab12.run-2.hrun.jsonl"));
        let third = claim_default_log(&log).unwrap();
        assert_eq!(third.path, dir.path().join("sleep-ab12.run-3.hrun.jsonl"));
        drop(second);
        let again = claim_default_log(&log).unwrap();
        assert_eq!(again.path, dir.path().join("sleep-ab12.run-2.hrun.jsonl"), "a freed name is taken again");
        drop((first, third));
    }

    #[test]
    fn a_default_log_that_is_not_a_file_is_refused_not_stepped_over() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.hrun.jsonl");
        std::fs::create_dir(&log).unwrap();
        let e = claim_default_log(&log).unwrap_err();
        assert!(e.contains("not a regular file (a directory)"), "{e}");
        assert_eq!(sibling(Path::new("a/b"), 3), Path::new("a/b.run-3"));
    }
}
