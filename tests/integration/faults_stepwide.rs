//! Slurm signals every process of a job step at once (the time limit, `scancel`, srun's
//! forwarding, `--signal` without `B:`): a task can die of a signal a moment before hrun gets
//! the same one. Such a task was cut short, not failed: it is recorded as cancelled, and
//! `--resume` runs it again. A task killed alone by such a signal still failed.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

/// The pid of task `seq`'s main process, from its `start` record.
fn task_pid(sb: &Sandbox, seq: u64) -> i32 {
    let log = read_records_so_far(&sb.path("log.jsonl"));
    log.starts.iter().find(|s| s.seq == seq).expect("a start record").pid
}

const TASK: &str = "[ -e fast ] && exit 0; touch ready.{#}; exec sleep 30\n";

#[test]
fn a_task_killed_just_before_hrun_by_the_same_signal_is_cancelled_and_resume_reruns_it() {
    for (sig, status) in [(libc::SIGUSR1, 102), (libc::SIGTERM, 143)] {
        let sb = Sandbox::new();
        sb.write("tasks.txt", TASK.repeat(3));
        let child = sb
            .exec()
            .args(["--jobs", "1", "--grace", "1s", "tasks.txt"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_file(&sb.path("ready.1"), Duration::from_secs(10));
        // The task first, hrun 50 ms later: the order a step-wide signal may take.
        assert!(signal(task_pid(&sb, 1), sig), "the task is gone");
        std::thread::sleep(Duration::from_millis(50));
        assert!(signal(child.id() as i32, sig), "hrun is gone");
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "signal {sig}: {err}");
        let tasks = sb.records().tasks;
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert!(tasks[0].cancelled, "signal {sig}: {:?}", tasks[0]);
        assert!(err.contains("1 cancelled") && err.contains("2 not run"), "{err}");

        sb.write("fast", "");
        let out = run(sb.exec().args(["--resume", "tasks.txt"]));
        assert_status!(out, 0);
        assert!(stderr(&out).contains("3 tasks: 3 ok"), "task 1 runs again: {}", stderr(&out));
    }
}

#[test]
fn a_task_killed_alone_by_such_a_signal_failed() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", TASK.repeat(3));
    let child = sb.exec().args(["--jobs", "1", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_file(&sb.path("ready.1"), Duration::from_secs(10));
    sb.write("fast", "");
    assert!(signal(task_pid(&sb, 1), libc::SIGUSR1), "the task is gone");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "one task failed: {err}");
    let tasks = sb.records().tasks;
    assert_eq!(tasks.len(), 3);
    assert_eq!((tasks[0].cancelled, tasks[0].signal_name.as_deref()), (false, Some("SIGUSR1")));
}
