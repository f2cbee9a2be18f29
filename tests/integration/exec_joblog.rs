//! `--joblog` is GNU parallel's format, checked by the real GNU parallel reading it.

use crate::harness::*;

/// Tasks append their name to `ran`, so we can see which ones GNU parallel reruns. The file
/// has comments and blank lines: GNU parallel counts those as jobs, hrun's joblog must agree.
const TASKS: &str =
    "#hrun threads=1\n# a comment\necho t1 >> ran\n\necho t2 >> ran\nexit 1\necho t4 >> ran\n";

fn parallel_resume(sb: &Sandbox, flag: &str) -> Vec<String> {
    let _ = std::fs::remove_file(sb.path("ran"));
    let Some(mut p) = gnu_parallel() else { return vec!["skipped".into()] };
    let tasks = std::fs::File::open(sb.path("tasks.txt")).unwrap();
    let out = p.current_dir(sb.root()).args([flag, "--joblog", "job.log"]).stdin(tasks).output().unwrap();
    assert!(out.status.code().is_some(), "parallel died: {}", stderr(&out));
    assert!(!stderr(&out).contains("wrong"), "parallel rejected the joblog: {}", stderr(&out));
    std::fs::read_to_string(sb.path("ran")).unwrap_or_default().lines().map(String::from).collect()
}

#[test]
fn gnu_parallel_resume_reruns_none_of_hruns_tasks() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", TASKS);
    let out = run(sb.exec().args(["--joblog", "job.log", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let joblog = sb.read("job.log");
    assert!(
        joblog.starts_with("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n")
    );
    assert_eq!(joblog.lines().count(), 5);

    let again = parallel_resume(&sb, "--resume");
    if again != ["skipped"] {
        assert!(again.is_empty(), "parallel --resume reran {again:?}");
    }
}

#[test]
fn gnu_parallel_resume_runs_exactly_what_hrun_did_not() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", TASKS);
    run(sb.exec().args(["--joblog", "job.log", "tasks.txt"]));
    // Keep the header and the rows of the tasks on lines 3, 5 and 6, as if hrun had been
    // stopped before the last one (rows are in order of completion, so pick them by Seq).
    let joblog = sb.read("job.log");
    let kept: Vec<&str> = joblog
        .lines()
        .filter(|row| row.starts_with("Seq\t") || ["3", "5", "6"].contains(&row.split('\t').next().unwrap()))
        .collect();
    assert_eq!(kept.len(), 4, "{joblog}");
    sb.write("job.log", kept.join("\n") + "\n");
    let mut again = parallel_resume(&sb, "--resume");
    if again == ["skipped"] {
        return;
    }
    again.sort();
    assert_eq!(again, ["t4"]);
}

#[test]
fn gnu_parallel_resume_failed_reruns_the_failed_task_only() {
    let sb = Sandbox::new();
    // The failing task leaves a mark, so its rerun is visible.
    sb.write("tasks.txt", TASKS.replace("exit 1", "echo t3 >> ran; exit 1"));
    run(sb.exec().args(["--joblog", "job.log", "tasks.txt"]));
    let again = parallel_resume(&sb, "--resume-failed");
    if again != ["skipped"] {
        assert_eq!(again, ["t3"]);
    }
}
