//! The file size limit (`ulimit -f`): a write past it sends SIGXFSZ, whose default action
//! kills the process (with a core dump) in the middle of a row or record. hrun blocks it, so
//! the write fails with EFBIG instead and hrun says so and stops in order; tasks get the
//! default back with the rest of their signal mask before exec.

/// Blocks SIGXFSZ in the calling thread and the threads and processes it starts afterwards.
pub fn block_file_size_signal() {
    // SAFETY: a sigset built with sigemptyset/sigaddset, given to pthread_sigmask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGXFSZ);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The memory page size (for the longest single argument exec takes: 32 pages).
pub fn page_size() -> usize {
    // SAFETY: sysconf reads a system constant.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// The most bytes of arguments and environment exec takes (`getconf ARG_MAX`), if known.
pub fn arg_max() -> Option<usize> {
    // SAFETY: sysconf reads a system limit.
    let n = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    (n > 0).then_some(n as usize)
}
