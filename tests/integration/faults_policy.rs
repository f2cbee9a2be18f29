//! --timeout, --retries and --halt on real tasks.

use std::process::Stdio;

use crate::harness::*;

#[test]
fn a_task_past_its_timeout_gets_sigterm_and_is_recorded() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 30\ntrue\n");
    let out = run(sb.exec().args(["--timeout", "300ms", "tasks.txt"]));
    assert_status!(out, 1);
    let tasks = sb.records().tasks;
    let t = &tasks[0];
    assert_eq!((t.timeout, t.signal), (true, Some(15)), "{t:?}");
    assert!((0.3..5.0).contains(&t.wall_s), "{}", t.wall_s);
    assert!(!tasks[1].timeout);
    assert!(stderr(&out).contains("1 timed out"), "{}", stderr(&out));
}

#[test]
fn a_task_ignoring_sigterm_at_its_timeout_is_killed_after_the_grace() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "trap '' TERM; sleep 30 & wait; sleep 30\n");
    let out = run(sb.exec().args(["--timeout", "200ms", "--grace", "300ms", "tasks.txt"]));
    assert_status!(out, 1);
    let tasks = sb.records().tasks;
    assert_eq!((tasks[0].timeout, tasks[0].signal), (true, Some(9)), "{:?}", tasks[0]);
    let wall = tasks[0].wall_s;
    assert!((0.5..5.0).contains(&wall), "TERM at 0.2 s, KILL 0.3 s later: {wall}");
}

/// `N%`: once 3 tasks succeeded, a task running past N% of their median is stopped.
#[test]
fn a_percentage_timeout_follows_the_median_of_successful_tasks() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 0.1\nsleep 0.1\nsleep 0.1\nsleep 30\n");
    let out = run(sb.exec().args(["--jobs", "1", "--timeout", "300%", "tasks.txt"]));
    assert_status!(out, 1);
    let tasks = sb.records().tasks;
    assert_eq!(tasks.iter().map(|t| t.timeout).collect::<Vec<_>>(), [false, false, false, true]);
    let wall = tasks[3].wall_s;
    assert!((0.25..3.0).contains(&wall), "3 x ~0.1 s median: {wall}");
}

#[test]
fn retries_rerun_a_failing_task_and_log_every_attempt() {
    let sb = Sandbox::new();
    // Fails twice, then succeeds; the other task always fails.
    sb.write(
        "tasks.txt",
        "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]\nexit 5\n",
    );
    // As GNU parallel: --retries 4 is 4 attempts in all.
    let out = run(sb.exec().args(["--jobs", "1", "--retries", "4", "tasks.txt"]));
    // Only the task whose last attempt failed counts.
    assert_status!(out, 1);
    let log = sb.records();
    let mut first = log.task(1);
    first.sort_by_key(|t| t.attempt);
    let summary: Vec<_> = first.iter().map(|t| (t.attempt, t.exit, t.last_attempt)).collect();
    assert_eq!(summary, [(1, Some(1), false), (2, Some(1), false), (3, Some(0), true)]);
    let second = log.task(2);
    assert_eq!(second.len(), 4, "4 attempts");
    assert!(second.iter().all(|t| t.exit == Some(5)));
    assert_eq!(second.iter().filter(|t| t.last_attempt).count(), 1);
    assert!(stderr(&out).contains("2 tasks: 1 ok, 1 failed (7 attempts)"), "{}", stderr(&out));
}

#[test]
fn halt_soon_fail_1_starts_nothing_after_the_failure() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\nexit 3\ntouch never\n");
    let out = run(sb.exec().args(["--jobs", "1", "--halt", "soon,fail=1", "tasks.txt"]));
    // GNU parallel: with fail=1 the exit status is the failing task's.
    assert_status!(out, 3);
    assert!(!sb.path("never").exists());
    assert!(stderr(&out).contains("1 not run"), "{}", stderr(&out));
}

#[test]
fn halt_now_fail_kills_the_running_tasks() {
    if usable_cpus().len() < 2 {
        eprintln!("skipped: needs 2 CPUs");
        return;
    }
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        "touch ready; sleep 30\nwhile [ ! -e ready ]; do sleep 0.01; done; exit 4\ntouch never\n",
    );
    let out = run(sb.exec().args(["--jobs", "2", "--halt", "now,fail=1", "--grace", "2s", "tasks.txt"]));
    assert_status!(out, 4);
    let tasks = sb.records().tasks;
    let long = &tasks[0];
    assert_eq!((long.cancelled, long.signal), (true, Some(15)), "{long:?}");
    assert!(long.wall_s < 10.0);
    assert!(!sb.path("never").exists());
}

#[test]
fn halt_now_success_stops_at_the_first_success() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "exit 1\ntrue\ntouch never\n");
    let out = run(sb.exec().args(["--jobs", "1", "--halt", "now,success=1", "tasks.txt"]));
    assert_status!(out, 0);
    assert!(!sb.path("never").exists());
}

#[test]
fn halt_by_percentage_of_all_tasks() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "exit 1\nexit 1\ntouch a\ntouch b\n");
    let out = run(sb.exec().args(["--jobs", "1", "--halt", "soon,fail=50%", "tasks.txt"]));
    // 2 of 4 tasks failed: 50%.
    assert_status!(out, 50);
    assert!(!sb.path("a").exists());
    // A percentage needs the total, so it needs a file, not a pipe.
    let mut child = sb
        .exec()
        .args(["--halt", "soon,fail=50%", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_status!(out, 2);
    assert!(stderr(&out).contains("needs the task file as a regular file"), "{}", stderr(&out));
}

#[test]
fn timeouts_and_retries_together() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 30\n");
    let out = run(sb.exec().args(["--timeout", "100ms", "--retries", "2", "tasks.txt"]));
    assert_status!(out, 1);
    let tasks = sb.records().tasks;
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.timeout));
}
