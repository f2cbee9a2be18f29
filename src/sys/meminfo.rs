//! The node's memory and load as the kernel reports them (`/proc/meminfo`, `/proc/loadavg`),
//! for `--memfree` and `--load`. `HRUN_PROC_ROOT=DIR` reads `DIR/meminfo` and `DIR/loadavg`
//! instead, so that tests can fake a node short of memory or busy.

use std::io;
use std::path::PathBuf;

/// The directory the files are read from: `HRUN_PROC_ROOT`, else `/proc`.
fn root() -> PathBuf {
    std::env::var_os("HRUN_PROC_ROOT").map_or_else(|| PathBuf::from("/proc"), PathBuf::from)
}

/// The text of `/proc/meminfo` (or its fake).
pub fn meminfo() -> io::Result<String> {
    std::fs::read_to_string(root().join("meminfo"))
}

/// The text of `/proc/loadavg` (or its fake).
pub fn loadavg() -> io::Result<String> {
    std::fs::read_to_string(root().join("loadavg"))
}
