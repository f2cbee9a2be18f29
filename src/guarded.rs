//! Reading an input file that nothing may change while hrun reads it: a task file, a file of
//! values (`:::: FILE`, `-a FILE`), or standard input redirected from a file. A list
//! regenerated while a run reads it must never feed a task a fragment of a line
//! (`rm -rf /data/run_002340/input_file_with` cut at a buffer's end is a parent directory), so
//! every read checks the file's size and modification time against those it had when opened,
//! before and after the read; a change stops the read with an error instead.
//!
//! Standard input redirected from a file is opened anew (so it can be read twice: to count,
//! to `--resume`), starting where the caller left its offset: `{ read header; hrun exec ...; }
//! < data.txt` reads from the second line, as GNU parallel does.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, RawFd};

/// A regular file read under the guard (see the module documentation).
pub struct Guarded {
    file: File,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Guarded {
    /// Guards `file`, as it is now.
    pub fn new(file: File) -> io::Result<Guarded> {
        let meta = file.metadata()?;
        Ok(Guarded { len: meta.len(), modified: meta.modified().ok(), file })
    }

    fn check(&self) -> io::Result<()> {
        let meta = self.file.metadata()?;
        if meta.len() != self.len || meta.modified().ok() != self.modified {
            return Err(io::Error::other(format!(
                "it changed while hrun was reading it ({} bytes when opened, {} now); once it is final, \
                 run it again with --resume",
                self.len,
                meta.len()
            )));
        }
        Ok(())
    }
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        let n = self.file.read(buf)?;
        // A change during the read may have mixed old and new bytes in `buf`.
        self.check()?;
        Ok(n)
    }
}

/// Opens `path` for reading: a regular file guarded, anything else (a FIFO, a device) as it
/// comes, with the descriptor to poll (it may have no data yet).
pub fn open(path: &std::path::Path) -> io::Result<(Box<dyn Read>, Option<RawFd>)> {
    let file = File::open(path)?;
    if file.metadata()?.is_file() {
        return Ok((Box::new(Guarded::new(file)?), None));
    }
    let fd = file.as_raw_fd();
    Ok((Box::new(file), Some(fd)))
}

/// Standard input to read from where the caller left it: a regular file (`< tasks.txt`) is
/// opened anew at the caller's offset and guarded, so it can be read more than once; anything
/// else is read as it comes, with the descriptor to poll.
pub fn open_stdin() -> (Box<dyn Read>, Option<RawFd>) {
    if stdin_is_file()
        && let Ok(mut f) = File::open("/proc/self/fd/0")
        && f.seek(SeekFrom::Start(stdin_offset())).is_ok()
        && let Ok(g) = Guarded::new(f)
    {
        return (Box::new(g), None);
    }
    (Box::new(io::stdin()), Some(io::stdin().as_raw_fd()))
}

/// Where the caller left standard input's offset (0 when it cannot seek). hrun never reads
/// its own descriptor 0 when it is a regular file, so the offset stays the caller's.
fn stdin_offset() -> u64 {
    // A duplicate shares the offset; closing it leaves descriptor 0 alone.
    let dup = std::os::fd::AsFd::as_fd(&io::stdin()).try_clone_to_owned();
    dup.ok().and_then(|fd| File::from(fd).stream_position().ok()).unwrap_or(0)
}

/// True when standard input is a regular file (so it can be read again).
pub fn stdin_is_file() -> bool {
    std::fs::metadata("/proc/self/fd/0").is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_under_the_reader_stops_it() {
        use std::io::{BufRead, BufReader, Write};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("values");
        let line = "x".repeat(100);
        std::fs::write(&p, format!("{line}\n").repeat(2000)).unwrap();
        let (reader, fd) = open(&p).unwrap();
        assert!(fd.is_none());
        let mut lines = BufReader::with_capacity(4096, reader);
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        // The list is regenerated in place: shorter lines.
        let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(&p).unwrap();
        f.write_all(b"a\nb\n").unwrap();
        drop(f);
        let e = lines.lines().find_map(Result::err).expect("the change is found before the end");
        assert!(e.to_string().contains("changed while hrun was reading it"), "{e}");
    }
}
