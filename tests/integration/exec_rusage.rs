//! rusage per task, from `wait4` on that task: checked against what the task really did.

use hrun::log::TaskRecord;

use crate::harness::*;

fn task_record(cmd: &str) -> TaskRecord {
    let sb = Sandbox::new();
    sb.write("tasks.txt", format!("{cmd}\n"));
    let out = run(sb.exec().arg("tasks.txt"));
    let mut tasks = sb.records().tasks;
    assert_eq!(tasks.len(), 1, "{}", stderr(&out));
    tasks.remove(0)
}

#[test]
fn a_task_touching_200_mb_reports_it_as_max_rss() {
    // dd reads 200 MiB into one buffer, touching every page of it.
    let t = task_record("dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null");
    assert_eq!(t.exit, Some(0));
    let kb = t.rusage.maxrss_kb;
    assert!(kb >= 200 * 1024, "maxrss_kb {kb} < 200 MiB");
    assert!(kb < 400 * 1024, "maxrss_kb {kb}: far more than the task used");
    assert!(t.rusage.minflt >= 200 * 1024 / 4 / 2, "touching 200 MiB faults pages in: {t:?}");
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
    assert_status!(out, 0);
    let tasks = sb.records().tasks;
    let t = &tasks[0];
    let (user, sys, wall) = (t.rusage.utime_s, t.rusage.stime_s, t.wall_s);
    let hz = 100.0; // USER_HZ on Linux
    let inside: f64 = sb.read("ticks").trim().parse::<f64>().unwrap() / hz;
    assert!(wall > 0.1, "the loop should take a while: {t:?}");
    assert!(user > 0.1, "{t:?}");
    // awk's CPU time as the shell saw it, to the clock tick, plus the shell's own and cut's.
    assert!((user + sys - inside).abs() < 0.05 + 0.05 * inside, "hrun {user}+{sys} s, kernel {inside} s");
    assert!(user + sys <= wall * 1.05 + 0.02, "one pinned CPU cannot give more CPU time than wall: {t:?}");
    if t.rusage.nivcsw < 20 {
        assert!(user >= 0.8 * wall, "not preempted, yet user {user} s vs wall {wall} s: {t:?}");
    }
}

#[test]
fn a_sleeping_task_uses_almost_no_cpu_and_switches_voluntarily() {
    let t = task_record("sleep 0.3");
    assert!(t.wall_s >= 0.3);
    assert!(t.rusage.utime_s + t.rusage.stime_s < 0.1, "{t:?}");
    assert!(t.rusage.nvcsw >= 1, "{t:?}");
}

#[test]
fn a_task_killed_by_a_signal_reports_the_signal_not_an_exit_code() {
    for (cmd, num, name) in [("kill -KILL $$", 9, "SIGKILL"), ("kill -TERM $$", 15, "SIGTERM")] {
        let t = task_record(cmd);
        assert_eq!(t.exit, None, "{t:?}");
        assert_eq!(t.signal, Some(num), "{t:?}");
        assert_eq!(t.signal_name.as_deref(), Some(name), "{t:?}");
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

/// The `cpu_pct` and `efficiency` columns of a one-task table (issue 26: 2), and hrun's stderr.
fn cpu_columns(sb: &Sandbox, args: &[&str]) -> (f64, f64, f64, String) {
    let out = run(sb.exec().args(["--results", "t.csv"]).args(args));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = sb.read("t.csv");
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split(',').collect()).collect();
    let col =
        |name: &str| rows[0].iter().position(|c| *c == name).unwrap_or_else(|| panic!("{name}: {table}"));
    let num = |name: &str| rows[1][col(name)].parse::<f64>().unwrap();
    // The columns come last, after hrun's earlier ones: GNU's and those keep their places.
    assert_eq!(rows[0][rows[0].len() - 3..], ["exe_sha256", "cpu_pct", "efficiency"], "{table}");
    let cpu = num("utime_s") + num("stime_s");
    (num("cpu_pct"), num("efficiency"), cpu / num("JobRuntime"), stderr(&out))
}

/// A single-threaded busy loop on a slot of 2 CPUs: about one CPU of two, and the summary says so.
#[test]
fn a_single_threaded_task_on_a_two_cpu_slot_is_named() {
    if usable_cpus().len() < 2 {
        eprintln!("skipped: needs 2 CPUs");
        return;
    }
    let sb = Sandbox::new();
    sb.write("busy1", "#!/bin/sh\ntimeout 1.2 sh -c 'while :; do :; done'\nexit 0\n");
    std::fs::set_permissions(sb.path("busy1"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (pct, eff, used, err) = cpu_columns(&sb, &["--threads", "2", "-j", "1", "./busy1", ":::", "1"]);
    assert!((pct - 100.0 * used).abs() < 1.0, "cpu_pct {pct} against {used} CPU from rusage / JobRuntime");
    assert!((eff - used / 2.0).abs() < 0.01, "efficiency {eff} against {used} / 2");
    assert!(pct <= 101.0, "one thread cannot use more than one CPU: {pct}");
    assert!(err.contains("of the 2 CPUs of their slot: a single-threaded program? --threads 1"), "{err}");
}

/// Two busy threads re-pinned with `taskset` onto every CPU from a slot of 1: CPU time beyond
/// the slot, named as oversubscription whenever the machine let them have it (the test machine
/// may be loaded: the warning must follow what the table measured, either way).
#[test]
fn a_task_that_escapes_its_slot_is_named_as_oversubscribing() {
    if usable_cpus().len() < 2 {
        eprintln!("skipped: needs 2 CPUs");
        return;
    }
    let sb = Sandbox::new();
    let all = usable_cpus().to_string();
    sb.write("busy2", "#!/bin/sh\nfor i in 1 2; do timeout 1.5 sh -c 'while :; do :; done' & done\nwait\n");
    std::fs::set_permissions(sb.path("busy2"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (pct, eff, used, err) =
        cpu_columns(&sb, &["--threads", "1", "-j", "1", "taskset", "-c", &all, "./busy2", ":::", "1"]);
    assert!((pct - 100.0 * used).abs() < 1.0 && (eff - used).abs() < 0.01, "{pct} {eff} {used}");
    let warned = err.contains("more than the 1 CPU of their slot: they run on CPUs outside it");
    assert_eq!(warned, used > 1.2, "cpu_pct {pct}: {err}");
}
