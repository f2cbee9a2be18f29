//! Whether standard input holds data now, without reading it.

use std::os::fd::AsRawFd;

/// True when bytes are waiting on standard input: a regular file with bytes after its offset,
/// or a pipe, FIFO or socket with bytes in it now. A terminal, `/dev/null`, an empty pipe (its
/// writer may not have written yet) or a closed one: false.
pub fn stdin_has_data() -> bool {
    let fd = std::io::stdin().as_raw_fd();
    let Ok(meta) = std::fs::metadata("/proc/self/fd/0") else { return false };
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        // SAFETY: lseek on a valid descriptor; SEEK_CUR with 0 moves nothing.
        let at = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
        return at >= 0 && (at as u64) < meta.len();
    }
    if !(t.is_fifo() || t.is_socket()) {
        return false;
    }
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`.
    let ok = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } == 0;
    ok && n > 0
}
