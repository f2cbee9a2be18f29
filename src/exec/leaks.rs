//! Processes a task leaves behind, found among hrun's own children: hrun is a child
//! subreaper, so when a task's main process ends, what it started is re-parented to hrun.
//! A leftover belongs to the task when it is in the task's process group, or carries the
//! task's `HRUN_SEQ` (it called setsid, or double-forked into a group of its own).

use std::time::{Duration, Instant};

use super::os;

/// Live leftovers of the task whose main process was `task_pid`. Only children hrun does not
/// know (`known`: running tasks, the guardian) are looked at, so the usual cost is one read
/// of hrun's children list.
pub fn leftovers(task_pid: i32, seq: u64, known: impl Fn(i32) -> bool) -> Vec<i32> {
    os::own_children()
        .into_iter()
        .filter(|&pid| pid != task_pid && !known(pid))
        .filter(|&pid| {
            os::proc_info(pid).is_some_and(|p| !p.zombie && (p.pgid == task_pid || p.hrun_seq == Some(seq)))
        })
        .collect()
}

/// SIGKILLs each process with all its descendants; returns every pid signalled.
pub fn kill_trees(roots: &[i32]) -> Vec<i32> {
    let mut killed = Vec::new();
    for &root in roots {
        for p in os::subtree(root) {
            os::signal_process(p, libc::SIGKILL);
            killed.push(p);
        }
    }
    killed
}

/// Kills whatever is still re-parented to hrun when the run ends (leftovers of leftovers,
/// processes that cleared their environment), and reaps it, so hrun leaves nothing behind.
pub fn sweep_strays(guardian: i32) {
    let strays: Vec<i32> = os::own_children()
        .into_iter()
        .filter(|&p| p != guardian)
        .filter(|&p| os::proc_info(p).is_some_and(|i| !i.zombie))
        .collect();
    if !strays.is_empty() {
        eprintln!("hrun: warning: killing {} stray process(es) left by tasks: {strays:?}", strays.len());
    }
    kill_trees(&strays);
    // Bounded: a process stuck in the kernel is not waited for.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        while let Ok(Some(_)) = os::reap() {}
        if os::own_children().iter().all(|&p| p == guardian) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
