//! Processes a task leaves behind, found among its launcher's children: a launcher is a child
//! subreaper, so when a task's main process ends, what it started is re-parented to it. A
//! leftover belongs to the task when it is in the task's process group, or carries the task's
//! `HRUN_SEQ` (it called setsid, or double-forked into a group of its own).

use std::time::{Duration, Instant};

use crate::sys;

/// Live leftovers of the task whose main process was `task_pid`, started by `launcher`. Only
/// children the launcher has that hrun does not know (`known`: running tasks) are looked at,
/// so the usual cost is one read of the launcher's children list.
pub fn leftovers(launcher: i32, task_pid: i32, seq: u64, known: impl Fn(i32) -> bool) -> Vec<i32> {
    sys::children_of_process(launcher)
        .into_iter()
        .filter(|&pid| pid != task_pid && !known(pid))
        .filter(|&pid| {
            sys::proc_info(pid).is_some_and(|p| !p.zombie && (p.pgid == task_pid || p.hrun_seq == Some(seq)))
        })
        .collect()
}

/// SIGKILLs each process with all its descendants; returns every pid signalled.
pub fn kill_trees(roots: &[i32]) -> Vec<i32> {
    let mut killed = Vec::new();
    for &root in roots {
        for p in sys::subtree(root) {
            sys::signal_process(p, libc::SIGKILL);
            killed.push(p);
        }
    }
    killed
}

/// Kills whatever is still a child of `roots` (hrun and its launchers) when the run ends,
/// but the processes in `skip` (the launchers, the guardian): leftovers of leftovers,
/// processes that cleared their environment. Waits (a little) until they are reaped.
pub fn sweep_strays(roots: &[i32], skip: &[i32]) {
    let strays = |alive_only: bool| -> Vec<i32> {
        roots
            .iter()
            .flat_map(|&r| sys::children_of(r))
            .filter(|p| !skip.contains(p))
            .filter(|&p| !alive_only || sys::proc_info(p).is_some_and(|i| !i.zombie))
            .collect()
    };
    let strays_now = strays(true);
    let strays = |_: ()| strays(false);
    if !strays_now.is_empty() {
        crate::messages::warning(format_args!(
            "killing {} stray process(es) left by tasks: {strays_now:?}",
            strays_now.len()
        ));
    }
    kill_trees(&strays_now);
    // Bounded: a process stuck in the kernel is not waited for. (A launcher reaps its own.)
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        while let Ok(Some(_)) = sys::reap() {}
        if strays(()).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
