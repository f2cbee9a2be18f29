//! rusage per task, from `wait4` on that task: checked against what the task really did.

use crate::harness::*;

fn task_record(cmd: &str) -> serde_json::Value {
    let sb = Sandbox::new();
    sb.write("tasks.txt", format!("{cmd}\n"));
    let out = run(sb.exec().arg("tasks.txt"));
    let (_, mut tasks) = sb.log();
    assert_eq!(tasks.len(), 1, "{}", stderr(&out));
    tasks.remove(0)
}

#[test]
fn a_task_touching_200_mb_reports_it_as_max_rss() {
    // dd reads 200 MiB into one buffer, touching every page of it.
    let t = task_record("dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null");
    assert_eq!(t["exit"], 0);
    let kb = t["maxrss_kb"].as_u64().unwrap();
    assert!(kb >= 200 * 1024, "maxrss_kb {kb} < 200 MiB");
    assert!(kb < 400 * 1024, "maxrss_kb {kb}: far more than the task used");
    assert!(t["minflt"].as_u64().unwrap() >= 200 * 1024 / 4 / 2, "touching 200 MiB faults pages in: {t}");
}

/// CPU time is checked against the kernel's own accounting seen from inside the task (the
/// shell's `cutime + cstime` after it waited for awk), which holds however loaded the
/// machine is; closeness to wall time is checked when nothing else took the task's CPU.
#[test]
fn a_cpu_bound_task_reports_user_time_close_to_its_wall_time() {
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        "awk 'BEGIN { for (i = 0; i < 2e7; i++) s += i; print s }' >/dev/null; \
         cut -d')' -f2 /proc/$$/stat | awk '{ print $12 + $13 + $14 + $15 }' > ticks\n",
    );
    let out = run(sb.exec().arg("tasks.txt"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, tasks) = sb.log();
    let t = &tasks[0];
    let (user, sys, wall) =
        (t["utime_s"].as_f64().unwrap(), t["stime_s"].as_f64().unwrap(), t["wall_s"].as_f64().unwrap());
    let hz = 100.0; // USER_HZ on Linux
    let inside: f64 = sb.read("ticks").trim().parse::<f64>().unwrap() / hz;
    assert!(wall > 0.1, "the loop should take a while: {t}");
    assert!(user > 0.1, "{t}");
    // awk's CPU time as the shell saw it, to the clock tick, plus the shell's own and cut's.
    assert!((user + sys - inside).abs() < 0.05 + 0.05 * inside, "hrun {user}+{sys} s, kernel {inside} s");
    assert!(user + sys <= wall * 1.05 + 0.02, "one pinned CPU cannot give more CPU time than wall: {t}");
    if t["nivcsw"].as_u64().unwrap() < 20 {
        assert!(user >= 0.8 * wall, "not preempted, yet user {user} s vs wall {wall} s: {t}");
    }
}

#[test]
fn a_sleeping_task_uses_almost_no_cpu_and_switches_voluntarily() {
    let t = task_record("sleep 0.3");
    assert!(t["wall_s"].as_f64().unwrap() >= 0.3);
    assert!(t["utime_s"].as_f64().unwrap() + t["stime_s"].as_f64().unwrap() < 0.1, "{t}");
    assert!(t["nvcsw"].as_u64().unwrap() >= 1, "{t}");
}

#[test]
fn a_task_killed_by_a_signal_reports_the_signal_not_an_exit_code() {
    for (cmd, num, name) in [("kill -KILL $$", 9, "SIGKILL"), ("kill -TERM $$", 15, "SIGTERM")] {
        let t = task_record(cmd);
        assert_eq!(t["exit"], serde_json::Value::Null, "{t}");
        assert_eq!(t["signal"], num, "{t}");
        assert_eq!(t["signal_name"], name, "{t}");
    }
}

/// hrun blocks the signals it handles; its tasks must start with none blocked (a blocked
/// SIGTERM would make a task deaf to Slurm's and hrun's termination requests).
#[test]
fn tasks_start_with_no_signal_blocked() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "grep -E '^SigBlk' /proc/self/status > mask\n");
    let out = run(sb.exec().arg("tasks.txt"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sb.read("mask"), "SigBlk:\t0000000000000000\n");
}
