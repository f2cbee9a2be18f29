//! FIFOs where hrun expects a regular file: refused at once with one line (exit 2), never a
//! hang in `open()` waiting for the other end.

use std::time::Duration;

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_fifo_as_the_run_log_is_refused_without_blocking() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    mkfifo(&sb.path("log.jsonl"));
    let out =
        run_within(hrun().current_dir(sb.root()).args(["exec", "--log", "log.jsonl", "tasks.txt"]), LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out), "hrun: error: run log log.jsonl: not a regular file (a FIFO); give a file\n");
    // --resume reads the log first.
    let out = run_within(
        hrun().current_dir(sb.root()).args(["exec", "--resume", "--log", "log.jsonl", "tasks.txt"]),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("log.jsonl: not a regular file (a FIFO)"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(!sb.path("ran").exists());
}

#[test]
fn status_and_report_of_a_fifo_are_refused_without_blocking() {
    let sb = Sandbox::new();
    mkfifo(&sb.path("log.jsonl"));
    for args in [vec!["status", "log.jsonl"], vec!["report", "log.jsonl", "-o", "r.html"]] {
        let out = run_within(hrun().current_dir(sb.root()).args(&args), LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "hrun: error: cannot read run log log.jsonl: not a regular file (a FIFO)\n",
            "{args:?}"
        );
    }
    assert!(!sb.path("r.html").exists());
}

/// A `--results` table or `--joblog` that is a FIFO nobody reads: refused at once (exit 2, one
/// line), where the open waited for a reader forever with hrun's signals already blocked
/// (only kill -9 ended it). Nothing runs.
#[test]
fn a_fifo_without_a_reader_as_table_or_joblog_is_refused_not_waited_on() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    mkfifo(&sb.path("f.csv"));
    for flag in ["--results", "--joblog"] {
        let out = run_within(sb.exec().args([flag, "f.csv", "tasks.txt"]), Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        assert!(stderr(&out).contains("it is a FIFO that no process reads"), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(!sb.path("ran").exists());
    }
}
