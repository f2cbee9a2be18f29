//! The subreaper and what `/proc` says of hrun's children: how leftovers are found.

use std::io;

use crate::cpuset::CpuSet;

/// Makes hrun a child subreaper: descendants orphaned by a task (double fork, setsid) are
/// re-parented to hrun instead of init, so hrun can find, kill and reap them.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `signal` to one process; one that is already gone is fine.
pub fn signal_process(pid: i32, signal: i32) {
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(pid, signal) };
}

/// The live children of process `pid` (all its threads), from `/proc/<pid>/task/*/children`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

/// The children of a single-threaded process (a launcher): one file read.
pub fn children_of_process(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|t| t.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// hrun's children from before it started anything: a process substitution's reader the
/// calling shell forked before it exec'd hrun (`hrun exec ... > >(wc)`) is hrun's child, and not
/// hrun's to kill. Read on the first call, which `exec` makes before it starts a process.
pub fn inherited_children() -> &'static [i32] {
    static INHERITED: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();
    INHERITED.get_or_init(own_children)
}

/// hrun's own children: the tasks it started, the guardian, and the orphans re-parented to
/// it. Tasks are forked by the main thread and the kernel re-parents orphans to a
/// subreaper's main thread, so its `children` file lists them all.
pub fn own_children() -> Vec<i32> {
    let pid = std::process::id();
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|t| t.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// `pid` and all its descendants, parents before children.
pub fn subtree(pid: i32) -> Vec<i32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() && out.len() < 100_000 {
        for kid in children_of(out[i]) {
            if !out.contains(&kid) {
                out.push(kid);
            }
        }
        i += 1;
    }
    out
}

/// The CPUs outside `slot` that a thread of `pid` or of a process below it may run on
/// (`Cpus_allowed_list` of `/proc/<pid>/task/<tid>/status`): a task that re-pinned itself
/// (`taskset -c`, `numactl`, its own `sched_setaffinity`). Empty when every thread stays in
/// the slot, or the processes are gone.
pub fn cpus_outside(pid: i32, slot: &CpuSet) -> CpuSet {
    let mut outside = std::collections::BTreeSet::new();
    for p in subtree(pid) {
        let Ok(threads) = std::fs::read_dir(format!("/proc/{p}/task")) else { continue };
        for t in threads.flatten() {
            let Ok(status) = std::fs::read_to_string(t.path().join("status")) else { continue };
            let allowed = status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .and_then(|list| list.trim().parse::<CpuSet>().ok());
            if let Some(allowed) = allowed {
                outside.extend(allowed.ids().iter().copied().filter(|c| !slot.contains(*c)));
            }
        }
    }
    CpuSet::from_ids(outside)
}

/// What hrun needs to know of a process it did not start itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub pgid: i32,
    pub zombie: bool,
    /// `HRUN_SEQ` from its environment: the task it descends from.
    pub hrun_seq: Option<u64>,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/environ`; `None` if the process is gone.
pub fn proc_info(pid: i32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    let pgid: i32 = fields.next()?.parse().ok()?;
    let hrun_seq = std::fs::read(format!("/proc/{pid}/environ")).ok().and_then(|env| {
        env.split(|&b| b == 0)
            .find_map(|kv| kv.strip_prefix(b"HRUN_SEQ="))
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
    });
    Some(ProcInfo { pgid, zombie: state == "Z", hrun_seq })
}

/// Processes (threads: the kernel counts each against `ulimit -u`) of the real user running
/// hrun, from `/proc/*/status`, when that user is bound by the limit at all (root is not).
pub fn processes_of_this_user() -> Option<u64> {
    // SAFETY: getuid and geteuid have no preconditions.
    let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    if euid == 0 {
        return None;
    }
    let mut n = 0u64;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        if !entry.file_name().as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next())
        };
        if field("Uid:").and_then(|u| u.parse::<u32>().ok()) == Some(uid) {
            n += field("Threads:").and_then(|t| t.parse::<u64>().ok()).unwrap_or(1);
        }
    }
    Some(n)
}
