//! --timeout, --retries and --halt on real tasks.

use std::process::Stdio;

use serde_json::Value;

use crate::harness::*;

fn attempts_of(tasks: &[Value], seq: u64) -> Vec<&Value> {
    let mut v: Vec<&Value> = tasks.iter().filter(|t| t["seq"] == seq).collect();
    v.sort_by_key(|t| t["attempt"].as_u64());
    v
}

#[test]
fn a_task_past_its_timeout_gets_sigterm_and_is_recorded() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 30\ntrue\n");
    let out = run(sb.exec().args(["--timeout", "300ms", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (_, tasks) = sb.log();
    let t = &tasks[0];
    assert_eq!((t["timeout"].as_bool(), t["signal"].as_i64()), (Some(true), Some(15)), "{t}");
    let wall = t["wall_s"].as_f64().unwrap();
    assert!((0.3..5.0).contains(&wall), "{wall}");
    assert_eq!(tasks[1]["timeout"], false);
    assert!(stderr(&out).contains("1 timed out"), "{}", stderr(&out));
}

#[test]
fn a_task_ignoring_sigterm_at_its_timeout_is_killed_after_the_grace() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "trap '' TERM; sleep 30 & wait; sleep 30\n");
    let out = run(sb.exec().args(["--timeout", "200ms", "--grace", "300ms", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(1));
    let (_, tasks) = sb.log();
    assert_eq!(
        (tasks[0]["timeout"].as_bool(), tasks[0]["signal"].as_i64()),
        (Some(true), Some(9)),
        "{}",
        tasks[0]
    );
    let wall = tasks[0]["wall_s"].as_f64().unwrap();
    assert!((0.5..5.0).contains(&wall), "TERM at 0.2 s, KILL 0.3 s later: {wall}");
}

/// `N%`: once 3 tasks succeeded, a task running past N% of their median is stopped.
#[test]
fn a_percentage_timeout_follows_the_median_of_successful_tasks() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 0.1\nsleep 0.1\nsleep 0.1\nsleep 30\n");
    let out = run(sb.exec().args(["--jobs", "1", "--timeout", "300%", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (_, tasks) = sb.log();
    assert_eq!(
        tasks.iter().map(|t| t["timeout"].as_bool().unwrap()).collect::<Vec<_>>(),
        [false, false, false, true]
    );
    let wall = tasks[3]["wall_s"].as_f64().unwrap();
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
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (_, tasks) = sb.log();
    let first = attempts_of(&tasks, 1);
    let summary: Vec<_> = first
        .iter()
        .map(|t| (t["attempt"].as_u64(), t["exit"].as_i64(), t["last_attempt"].as_bool()))
        .collect();
    assert_eq!(
        summary,
        [(Some(1), Some(1), Some(false)), (Some(2), Some(1), Some(false)), (Some(3), Some(0), Some(true))]
    );
    let second = attempts_of(&tasks, 2);
    assert_eq!(second.len(), 4, "4 attempts");
    assert!(second.iter().all(|t| t["exit"] == 5));
    assert_eq!(second.iter().filter(|t| t["last_attempt"] == true).count(), 1);
    assert!(stderr(&out).contains("2 tasks: 1 ok, 1 failed (7 attempts)"), "{}", stderr(&out));
}

#[test]
fn halt_soon_fail_1_starts_nothing_after_the_failure() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\nexit 3\ntouch never\n");
    let out = run(sb.exec().args(["--jobs", "1", "--halt", "soon,fail=1", "tasks.txt"]));
    // GNU parallel: with fail=1 the exit status is the failing task's.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let (_, tasks) = sb.log();
    let long = &tasks[0];
    assert_eq!((long["cancelled"].as_bool(), long["signal"].as_i64()), (Some(true), Some(15)), "{long}");
    assert!(long["wall_s"].as_f64().unwrap() < 10.0);
    assert!(!sb.path("never").exists());
}

#[test]
fn halt_now_success_stops_at_the_first_success() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "exit 1\ntrue\ntouch never\n");
    let out = run(sb.exec().args(["--jobs", "1", "--halt", "now,success=1", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!sb.path("never").exists());
}

#[test]
fn halt_by_percentage_of_all_tasks() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "exit 1\nexit 1\ntouch a\ntouch b\n");
    let out = run(sb.exec().args(["--jobs", "1", "--halt", "soon,fail=50%", "tasks.txt"]));
    // 2 of 4 tasks failed: 50%.
    assert_eq!(out.status.code(), Some(50), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs the task file as a regular file"), "{}", stderr(&out));
}

#[test]
fn timeouts_and_retries_together() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 30\n");
    let out = run(sb.exec().args(["--timeout", "100ms", "--retries", "2", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(1));
    let (_, tasks) = sb.log();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t["timeout"] == true));
}
