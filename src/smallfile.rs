//! Reading a small file that hrun does not control (a config file, a worker's result file):
//! only a regular file, only up to a size cap, checked before a byte is read, and opened so
//! that a FIFO or device put in its place can neither block hrun nor feed it without end.

use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// One mebibyte: room for any config or result file (a result is about 500 bytes).
pub const MIB: u64 = 1 << 20;

/// Why a small file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file (a {0})")]
    NotRegular(&'static str),
    #[error("{0} bytes, more than the {1} such a file may have")]
    TooLarge(u64, u64),
    #[error("not valid UTF-8")]
    NotUtf8,
}

/// The text of the regular file at `path` (symlinks followed), if it holds at most `max` bytes.
pub fn read(path: &Path, max: u64) -> Result<String, Error> {
    // Refuse what is not a regular file before opening it (opening some devices acts).
    check(&std::fs::metadata(path)?, max)?;
    // Non-blocking, in case a FIFO replaced the file since: its open would wait for a writer.
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    check(&file.metadata()?, max)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Error::TooLarge(bytes.len() as u64, max));
    }
    String::from_utf8(bytes).map_err(|_| Error::NotUtf8)
}

fn check(meta: &std::fs::Metadata, max: u64) -> Result<(), Error> {
    if !meta.is_file() {
        return Err(Error::NotRegular(kind_name(meta.file_type())));
    }
    if meta.len() > max {
        return Err(Error::TooLarge(meta.len(), max));
    }
    Ok(())
}

/// "FIFO", "directory", "character device"...: what a file is, for messages.
pub fn kind_name(t: FileType) -> &'static str {
    match () {
        _ if t.is_file() => "regular file",
        _ if t.is_dir() => "directory",
        _ if t.is_symlink() => "symbolic link",
        _ if t.is_fifo() => "FIFO",
        _ if t.is_char_device() => "character device",
        _ if t.is_block_device() => "block device",
        _ if t.is_socket() => "socket",
        _ => "special file",
    }
}

/// Refuses an opened file that is not a regular file (one opened with `O_NONBLOCK`, so that a
/// FIFO in its place did not block the open).
pub fn ensure_regular(file: &File) -> Result<(), Error> {
    let meta = file.metadata()?;
    if meta.is_file() { Ok(()) } else { Err(Error::NotRegular(kind_name(meta.file_type()))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "x = 1\n").unwrap();
        assert_eq!(read(&p, 6).unwrap(), "x = 1\n");
        let e = read(&p, 5).unwrap_err().to_string();
        assert_eq!(e, "6 bytes, more than the 5 such a file may have");
    }

    #[test]
    fn refuses_fifos_directories_and_big_files_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // No writer ever opens it: a blocking open or read would hang this test.
        assert_eq!(read(&fifo, MIB).unwrap_err().to_string(), "not a regular file (a FIFO)");
        assert_eq!(read(dir.path(), MIB).unwrap_err().to_string(), "not a regular file (a directory)");
        let big = dir.path().join("big");
        File::create(&big).unwrap().set_len(MIB + 1).unwrap();
        assert!(matches!(read(&big, MIB), Err(Error::TooLarge(n, MIB)) if n == MIB + 1));
        std::fs::write(&big, b"\xff\xfe").unwrap();
        assert!(matches!(read(&big, MIB), Err(Error::NotUtf8)));
        assert!(matches!(read(&dir.path().join("missing"), MIB), Err(Error::Io(_))));
    }
}
