//! The next task on a slot, sent ahead: its launcher starts it the moment it reaps the slot's
//! task, without waiting for hrun; a run that stops withdraws what waits (not run, not
//! started, `--resume` runs it); start and end times are the launcher's, so `wall_s` and
//! `--timeout` hold even while hrun itself is slow. Tasks report through files; no test
//! relies on a fixed sleep to synchronise.

use std::process::Stdio;
use std::time::Duration;

use hrun::log::EndSummary;

use crate::harness::*;

fn started_seqs(sb: &Sandbox) -> Vec<u64> {
    sb.records().starts.iter().map(|s| s.seq).collect()
}

fn end_record(sb: &Sandbox) -> EndSummary {
    sb.records().end().clone()
}

/// The state letter of a process (`T`: stopped), from /proc.
fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit(')').next().unwrap().trim_start().chars().next().unwrap()
}

/// hrun stopped (SIGSTOP) by its own first task: the second, sent ahead, starts anyway, and
/// the first task's `wall_s` is its own, not the time hrun took to hear of its end.
#[test]
fn the_next_task_starts_while_hrun_is_stopped_and_wall_time_is_the_tasks_own() {
    let sb = Sandbox::new();
    // The first task stops hrun once hrun logged its start (by then the second was sent).
    sb.write(
        "tasks.txt",
        "until grep -q '\"kind\":\"start\"' log.jsonl; do sleep 0.01; done; kill -STOP $HRUN_PID\ntouch ran.2\n",
    );
    let mut child = sb.exec().args(["--jobs", "1", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let t0 = std::time::Instant::now();
    while state(pid) != 'T' {
        assert!(t0.elapsed() < Duration::from_secs(20), "hrun was not stopped by its task");
        std::thread::sleep(Duration::from_millis(10));
    }
    let t0 = std::time::Instant::now();
    while !sb.path("ran.2").exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (ran, still_stopped) = (sb.path("ran.2").exists(), state(pid) == 'T');
    if !(ran && still_stopped) {
        child.kill().unwrap();
        child.wait().unwrap();
        panic!(
            "the second task started while hrun was stopped: ran {ran}, hrun still stopped {still_stopped}"
        );
    }
    // hrun stays stopped for a while after both tasks ended.
    let stopped = Duration::from_secs(3);
    std::thread::sleep(stopped);
    send_signal(pid as i32, libc::SIGCONT);
    let errors = StderrLines::take(&mut child).rest();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{errors}");
    let tasks = sb.records().tasks;
    let wall: Vec<f64> = tasks.iter().map(|t| t.wall_s).collect();
    assert!(wall[0] < stopped.as_secs_f64() / 2.0, "the first task's wall time is its own: {wall:?}");
    let (start1, start2) = (tasks[0].start, tasks[1].start);
    assert!(start2 >= start1 + wall[0], "the second started after the first ended: {tasks:?}");
    assert_eq!(started_seqs(&sb), [1, 2]);
}

/// `--halt now,fail=1`: the task waiting behind the one that failed does not start.
#[test]
fn a_failure_that_halts_the_run_starts_nothing_waiting_behind_it() {
    for halt in ["now,fail=1", "soon,fail=1"] {
        let sb = Sandbox::new();
        sb.write("tasks.txt", "sleep 0.3; exit 1\ntouch ran.2\ntouch ran.3\n");
        let out = run(sb.exec().args(["--jobs", "1", "--halt", halt, "tasks.txt"]));
        assert_eq!(out.status.code(), Some(1), "{halt}: {}", stderr(&out));
        assert!(!sb.path("ran.2").exists() && !sb.path("ran.3").exists(), "{halt}: nothing else ran");
        assert_eq!(started_seqs(&sb), [1], "{halt}");
        assert_eq!(end_record(&sb).not_run, 2, "{halt}: {}", stderr(&out));
    }
}

/// SIGUSR1 (drain): the running task finishes; the one waiting behind it is withdrawn, is
/// reported not run, and `--resume` runs it.
#[test]
fn a_drain_withdraws_the_task_waiting_behind_the_running_one() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ready; until [ -e go ]; do sleep 0.01; done\ntouch ran.2\n");
    let mut child = sb.exec().args(["--jobs", "1", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = StderrLines::take(&mut child);
    wait_for_file(&sb.path("ready"), Duration::from_secs(20));
    send_signal(child.id() as i32, libc::SIGUSR1);
    // hrun withdrew the waiting task before it said so: the first task may end now.
    err.wait_for("SIGUSR1", Duration::from_secs(20));
    sb.write("go", "");
    let status = child.wait().unwrap();
    let said = err.rest();
    assert_eq!(status.code(), Some(102), "stopped with a task left: {said}");
    assert!(!sb.path("ran.2").exists(), "the waiting task did not run");
    assert_eq!(started_seqs(&sb), [1]);
    assert_eq!(end_record(&sb).not_run, 1, "{said}");
    let out = run(sb.exec().args(["--jobs", "1", "--resume", "tasks.txt"]));
    assert_status!(out, 0);
    assert!(sb.path("ran.2").exists(), "--resume ran it");
}

/// SIGTERM: the running task is cut short, the waiting one never starts; `--resume` runs both.
#[test]
fn a_signal_withdraws_the_task_waiting_behind_the_running_one() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ready; [ -e again ] || sleep 30\ntouch ran.2\n");
    let child = sb.exec().args(["--jobs", "1", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_file(&sb.path("ready"), Duration::from_secs(20));
    send_signal(child.id() as i32, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_status!(out, 143);
    assert!(!sb.path("ran.2").exists(), "the waiting task did not run");
    assert_eq!(started_seqs(&sb), [1]);
    let end = end_record(&sb);
    assert_eq!((end.cancelled, end.not_run), (1, 1), "{end:?}");
    sb.write("again", "");
    let out = run(sb.exec().args(["--jobs", "1", "--resume", "tasks.txt"]));
    assert_status!(out, 0);
    assert!(sb.path("ran.2").exists(), "--resume ran it");
}

/// A task's `--timeout` counts from when it really started, not from when it was sent ahead
/// (behind a task that took most of the timeout).
#[test]
fn a_timeout_counts_from_the_real_start() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 2\nsleep 2\n");
    let out = run(sb.exec().args(["--jobs", "1", "--timeout", "3s", "tasks.txt"]));
    assert_status!(out, 0);
    let tasks = sb.records().tasks;
    assert!(tasks.iter().all(|t| !t.timeout && t.exit == Some(0)), "{tasks:?}");
}

/// The last tasks never wait behind a long one: a slot that falls idle takes back the task
/// sent ahead to a busy slot.
#[test]
fn an_idle_slot_takes_back_the_task_waiting_behind_a_long_one() {
    let sb = Sandbox::new();
    // Slot 1 runs the long task, and the third is sent ahead to it (slots fill in order);
    // slot 2 falls idle when the second ends.
    sb.write("tasks.txt", "sleep 6\nsleep 0.5\ntrue\n");
    let out = run(sb.exec().args(["--jobs", "2", "tasks.txt"]));
    assert_status!(out, 0);
    let tasks = sb.records().tasks;
    let long_end = tasks[0].start + tasks[0].wall_s;
    let third = tasks[2].start;
    assert!(third < long_end, "the third task started before the long one ended: {tasks:?}");
    assert_eq!(tasks[2].slot, tasks[1].slot, "on the slot that fell idle: {tasks:?}");
}

/// A request larger than the launcher's socket carries (a small send buffer here) fails that
/// task alone, naming the socket's real limit; the tasks around it run.
#[test]
fn a_request_too_large_for_the_launchers_socket_fails_that_task_alone() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", format!("echo small\necho {}\necho after\n", "x".repeat(60_000)));
    let out = run(sb.exec().env("HRUN_LAUNCHER_SNDBUF", "16384").args(["--jobs", "1", "tasks.txt"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("failed: its request to the launcher (60"), "{err}");
    assert!(err.contains("larger than the launcher's socket carries (32736 bytes"), "{err}");
    assert_eq!(stdout(&out), "small\nafter\n");
    let tasks = sb.records().tasks;
    assert_eq!(tasks[1].exit, Some(127), "{:?}", tasks[1]);
    assert!(tasks[1].error.as_deref().unwrap_or("").contains("socket carries"), "{:?}", tasks[1]);
}
