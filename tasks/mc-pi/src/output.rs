//! Where the worker's result goes (`-o PATH`), decided by what PATH is:
//!
//! - nothing yet, or a regular file: written atomically (a temporary file beside it, synced,
//!   then renamed over it), so a crash never leaves a half-written result;
//! - a symbolic link: followed, and the file it points to written atomically (the link stays);
//! - a FIFO or a character device: written straight through, with no temporary file. Renaming
//!   over it would replace it: as root, `-o /dev/null` turned `/dev/null` into a regular file
//!   for the whole machine;
//! - a directory, a block device (a disk) or a socket: refused.

use std::fs::{self, File, FileType, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// What `-o` names, as stat(2) sees it after following symbolic links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Missing,
    Regular,
    Fifo,
    CharDevice,
    BlockDevice,
    Directory,
    Other,
}

/// How the result is written to a [`Target`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Temporary file beside the (final) path, fsync, rename.
    Atomic,
    /// Open the path for writing (no create, no truncate) and write.
    WriteThrough,
    /// Not a place for a result: why.
    Refuse(&'static str),
}

/// The decision, pure: rename only over a regular file or nothing.
pub fn strategy(target: Target) -> Strategy {
    match target {
        Target::Missing | Target::Regular => Strategy::Atomic,
        Target::Fifo | Target::CharDevice => Strategy::WriteThrough,
        Target::Directory => Strategy::Refuse("a directory"),
        Target::BlockDevice => {
            Strategy::Refuse("a block device (writing a result there would overwrite a disk)")
        }
        Target::Other => Strategy::Refuse("a socket or other special file"),
    }
}

/// The [`Target`] of a file type.
pub fn target_of(t: FileType) -> Target {
    match () {
        _ if t.is_file() => Target::Regular,
        _ if t.is_dir() => Target::Directory,
        _ if t.is_fifo() => Target::Fifo,
        _ if t.is_char_device() => Target::CharDevice,
        _ if t.is_block_device() => Target::BlockDevice,
        _ => Target::Other,
    }
}

/// What `path` names, symbolic links followed (`/proc/self/fd/N` of a pipe too).
pub fn classify(path: &Path) -> io::Result<Target> {
    match fs::metadata(path) {
        Ok(m) => Ok(target_of(m.file_type())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Target::Missing),
        Err(e) => Err(e),
    }
}

/// The path a chain of symbolic links ends at (which may not exist yet): where an atomic
/// write renames to, so that the link is followed rather than replaced.
fn final_path(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)?;
                p = p.parent().map_or_else(|| target.clone(), |dir| dir.join(&target));
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// A result reserved before the computation (so an unwritable path fails at once) and put in
/// place by [`PendingResult::commit`]. Dropped without commit, it removes its temporary file;
/// so does a SIGINT, SIGTERM or SIGHUP (see [`crate::cleanup`]).
pub struct PendingResult {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    /// The temporary file, its path, and the final path it is renamed to.
    Atomic(Option<(File, PathBuf)>, PathBuf),
    WriteThrough,
}

impl PendingResult {
    /// Decides how `path` is written; for an atomic write, creates the parent directory if
    /// needed and the temporary file beside the final path.
    pub fn reserve(path: &Path) -> io::Result<PendingResult> {
        let sink = match strategy(classify(path)?) {
            Strategy::Refuse(what) => return Err(io::Error::other(format!("it is {what}"))),
            Strategy::WriteThrough => Sink::WriteThrough,
            Strategy::Atomic => {
                let dest = final_path(path)?;
                Sink::Atomic(Some(temporary_beside(&dest)?), dest)
            }
        };
        Ok(PendingResult { path: path.to_path_buf(), sink })
    }

    /// Writes `text`: synced and renamed into place, or straight through.
    pub fn commit(mut self, text: &str) -> io::Result<()> {
        match &mut self.sink {
            Sink::WriteThrough => write_through(&self.path, text),
            Sink::Atomic(tmp, dest) => {
                let (mut file, tmp_path) = tmp.take().expect("committed once");
                let result = file
                    .write_all(text.as_bytes())
                    .and_then(|_| file.sync_all())
                    .and_then(|_| fs::rename(&tmp_path, dest));
                if result.is_err() {
                    let _ = fs::remove_file(&tmp_path);
                }
                crate::cleanup::forget();
                result
            }
        }
    }
}

impl Drop for PendingResult {
    fn drop(&mut self) {
        if let Sink::Atomic(Some((_, tmp)), _) = &self.sink {
            let _ = fs::remove_file(tmp);
            crate::cleanup::forget();
        }
    }
}

/// `.NAME.tmp.PID` beside `dest`, created (with `dest`'s directory if needed), and known to the
/// signal handler before it exists.
fn temporary_beside(dest: &Path) -> io::Result<(File, PathBuf)> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = dest.file_name().ok_or_else(|| io::Error::other("the output path names no file"))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    crate::cleanup::remove_on_signal(&tmp);
    match File::create(&tmp) {
        Ok(file) => Ok((file, tmp)),
        Err(e) => {
            crate::cleanup::forget();
            Err(e)
        }
    }
}

/// Opens a FIFO or device (neither created nor truncated) and writes to it; if something else
/// took its place since [`PendingResult::reserve`] looked, nothing is written.
fn write_through(path: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    if strategy(target_of(file.metadata()?.file_type())) != Strategy::WriteThrough {
        return Err(io::Error::other("it was replaced by a regular file while the worker ran"));
    }
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_or_nothing_is_renamed_over() {
        assert_eq!(strategy(Target::Missing), Strategy::Atomic);
        assert_eq!(strategy(Target::Regular), Strategy::Atomic);
        assert_eq!(strategy(Target::Fifo), Strategy::WriteThrough);
        assert_eq!(strategy(Target::CharDevice), Strategy::WriteThrough, "/dev/null stays a device");
        for refused in [Target::Directory, Target::BlockDevice, Target::Other] {
            assert!(matches!(strategy(refused), Strategy::Refuse(_)), "{refused:?}");
        }
    }

    #[test]
    fn targets_are_classified_through_symlinks_and_proc_fd_links() {
        let dir = tempfile::tempdir().unwrap();
        let (file, fifo, link) = (dir.path().join("f"), dir.path().join("p"), dir.path().join("l"));
        fs::write(&file, "").unwrap();
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert_eq!(classify(&file).unwrap(), Target::Regular);
        assert_eq!(classify(&fifo).unwrap(), Target::Fifo);
        assert_eq!(classify(&link).unwrap(), Target::Fifo, "a link is judged by what it points to");
        assert_eq!(classify(dir.path()).unwrap(), Target::Directory);
        assert_eq!(classify(&dir.path().join("none")).unwrap(), Target::Missing);
        // `-o /dev/stdout` or `-o >(cmd)`: a magic link to a pipe is written through.
        let (_reader, writer) = io::pipe().unwrap();
        use std::os::fd::AsRawFd;
        let proc_fd = PathBuf::from(format!("/proc/self/fd/{}", writer.as_raw_fd()));
        assert_eq!(strategy(classify(&proc_fd).unwrap()), Strategy::WriteThrough);
    }

    #[test]
    fn links_are_followed_to_the_file_they_end_at() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("sub/b"));
        std::os::unix::fs::symlink("sub/b", &a).unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("../real.toml", &b).unwrap();
        assert_eq!(final_path(&a).unwrap(), dir.path().join("sub/../real.toml"));
        let lo = dir.path().join("loop");
        std::os::unix::fs::symlink("loop", &lo).unwrap();
        assert_eq!(final_path(&lo).unwrap_err().raw_os_error(), Some(libc::ELOOP));
    }

    #[test]
    fn commit_is_atomic_and_abandon_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.toml");
        let p = PendingResult::reserve(&path).unwrap();
        assert!(!path.exists(), "nothing at the final path before commit");
        p.commit("x = 1\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "x = 1\n");
        let p = PendingResult::reserve(&dir.path().join("other.toml")).unwrap();
        drop(p);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["sub"], "an abandoned result leaves no file, temporary or final");
        let sub: Vec<_> =
            fs::read_dir(dir.path().join("sub")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(sub, ["r.toml"], "the committed result leaves no temporary file");
        let e = PendingResult::reserve(dir.path()).err().unwrap().to_string();
        assert_eq!(e, "it is a directory");
    }
}
