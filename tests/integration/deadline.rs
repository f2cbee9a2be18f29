//! `--deadline` and the Slurm job's end: no task starts that would not end in time, tasks still
//! running at the deadline are stopped, the rest is left for `--resume` (exit 102).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::*;

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// 8 tasks of 0.4 s on one slot with 1.5 s left: the first runs blind, then each starts only
/// if the median (0.4 s) still fits; about 3 run, the rest are not run; --resume does them.
#[test]
fn tasks_that_would_not_end_in_time_are_not_started_and_resume_runs_them() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 0.4; echo {#} >> done\n".repeat(8));
    let out =
        run(sb.exec().args(["--jobs", "1", "--deadline", "+1.5s", "--deadline-margin", "0", "tasks.txt"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(102), "{err}");
    let ran = sb.read("done").lines().count();
    assert!((2..=4).contains(&ran), "{ran} ran: {err}");
    assert!(err.contains("is less than the median runtime"), "{err}");
    assert!(err.contains(&format!("{} not run", 8 - ran)), "{err}");
    let Log { runs, tasks, .. } = sb.records();
    assert_eq!(tasks.len(), ran);
    assert!(tasks.iter().all(|t| t.exit == Some(0) && !t.cancelled), "no task was cut short");
    // No task ended after the deadline.
    let deadline = runs[0].deadline.expect("a deadline");
    assert_eq!(runs[0].deadline_source.as_deref(), Some("--deadline"));
    for t in &tasks {
        assert!(t.start + t.wall_s <= deadline + 0.05, "{t:?}");
    }

    let out = run(sb.exec().args(["--resume", "--deadline", "none", "tasks.txt"]));
    assert_status!(out, 0);
    let mut done: Vec<u32> = sb.read("done").lines().map(|l| l.parse().unwrap()).collect();
    done.sort();
    assert_eq!(done, (1..=8).collect::<Vec<_>>());
}

/// At the deadline itself, a task still running is stopped (TERM, grace, KILL), recorded as
/// cancelled, and reruns on --resume.
#[test]
fn tasks_running_at_the_deadline_are_stopped_and_rerun_on_resume() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "[ -e fast ] || sleep 30\n");
    let t0 = std::time::Instant::now();
    let out =
        run(sb.exec().args(["--deadline", "+1s", "--deadline-margin", "0", "--grace", "1s", "tasks.txt"]));
    assert!(t0.elapsed() < Duration::from_secs(5), "stopped at the deadline, not after 30 s");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(102), "{err}");
    assert!(err.contains("reached: stopping 1 running task") && err.contains("1 cancelled"), "{err}");
    assert!(sb.records().tasks[0].cancelled);
    sb.write("fast", "");
    let out = run(sb.exec().args(["--resume", "tasks.txt"]));
    assert_status!(out, 0);
    assert_eq!(sb.records().tasks.len(), 2);
}

/// A deadline already too close: nothing starts, all are left for the next job.
#[test]
fn a_past_deadline_starts_nothing() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran.{#}\n".repeat(3));
    for when in ["2000-01-01T00:00", "2000-01-01T00:00:00Z", "@946684800", "+10s"] {
        let out = run(sb.exec().args(["--deadline", when, "tasks.txt"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(102), "{when}: {err}");
        assert!(err.contains("3 not run") && err.contains("--deadline"), "{when}: {err}");
    }
    assert!(!sb.path("ran.1").exists());
    // A deadline far away changes nothing.
    let out = run(sb.exec().args(["--deadline", "2099-01-01T00:00", "tasks.txt"]));
    assert_status!(out, 0);
}

#[test]
fn bad_deadlines_are_one_line_usage_errors() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n");
    for bad in ["soon", "+5x", "2026-02-30T10:00", "25:00"] {
        let out = run(sb.exec().args(["--deadline", bad, "tasks.txt"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{bad}: {err}");
        assert!(err.contains(bad) && err.contains("+DURATION"), "{bad}: {err}");
    }
    let out = run(sb.exec().env("HRUN_DEADLINE", "later").arg("tasks.txt"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("HRUN_DEADLINE"), "{}", stderr(&out));
    assert!(!sb.path("log.jsonl").exists(), "refused before writing anything");
}

/// A fake `squeue` on PATH answers for the job, as the real one does (`%e`: local time).
fn fake_squeue(sb: &Sandbox, script: &str) -> String {
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let squeue = bin.join("squeue");
    std::fs::write(
        &squeue,
        format!("#!/bin/sh\necho \"$@\" > {}\n{script}\n", sb.path("squeue.args").display()),
    )
    .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&squeue).status().unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

fn utc(t: f64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{}", t as i64), "+%Y-%m-%dT%H:%M:%S"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Inside a Slurm job (SLURM_JOB_ID), the default deadline is the job's end from squeue.
#[test]
fn inside_slurm_the_deadline_is_the_jobs_end_from_squeue() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 0.3\n".repeat(20));
    let end = now() + 2.0;
    let path = fake_squeue(&sb, &format!("echo {}", utc(end.ceil())));
    let out = run(sb
        .exec()
        .env("PATH", path)
        .env("TZ", "UTC")
        .env("SLURM_JOB_ID", "4242")
        .env_remove("SLURM_JOB_END_TIME")
        .args(["--jobs", "1", "--deadline-margin", "0.5s", "tasks.txt"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(102), "{err}");
    assert_eq!(sb.read("squeue.args").trim(), "-h -j 4242 -o %e");
    let Log { runs, tasks, .. } = sb.records();
    assert_eq!(runs[0].deadline, Some(end.ceil()));
    assert_eq!(runs[0].deadline_source.as_deref(), Some("Slurm job 4242's time limit"));
    assert!(!tasks.is_empty() && tasks.len() < 20, "{err}");
    assert!(err.contains("Slurm job 4242"), "{err}");
}

/// SLURM_JOB_END_TIME (Slurm 23.02+) wins over squeue; a job without a limit, or a squeue that
/// fails, gives no deadline (the latter with a warning), and the run goes on.
#[test]
fn slurm_end_time_from_the_environment_and_squeue_failures() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n");
    let log = sb.path("log.jsonl");
    let deadline_of = |log: &Path| read_records(log).runs.last().expect("a run record").deadline;
    let path = fake_squeue(&sb, "echo 2000-01-01T00:00:00");
    let out = run(sb
        .exec()
        .env("PATH", &path)
        .env("SLURM_JOB_ID", "7")
        .env("SLURM_JOB_END_TIME", "4102444800")
        .arg("tasks.txt"));
    assert_status!(out, 0);
    assert_eq!(deadline_of(&log), Some(4_102_444_800.0));
    assert!(!sb.path("squeue.args").exists(), "squeue not asked");

    for (script, warns) in
        [("echo N/A", false), ("echo 'slurm_load_jobs error' >&2; exit 1", true), ("sleep 60", true)]
    {
        std::fs::remove_file(&log).unwrap();
        let path = fake_squeue(&sb, script);
        let t0 = std::time::Instant::now();
        let out = run(sb
            .exec()
            .env("PATH", &path)
            .env("SLURM_JOB_ID", "7")
            .env_remove("SLURM_JOB_END_TIME")
            .arg("tasks.txt"));
        assert!(t0.elapsed() < Duration::from_secs(15), "a hung squeue is given up on");
        assert_eq!(out.status.code(), Some(0), "{script}: {}", stderr(&out));
        assert_eq!(deadline_of(&log), None, "{script}");
        assert_eq!(
            stderr(&out).contains("cannot read Slurm job 7's end time"),
            warns,
            "{script}: {}",
            stderr(&out)
        );
    }
}
