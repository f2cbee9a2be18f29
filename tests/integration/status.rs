//! `hrun status` and `hrun report` on logs hrun did not write well: text from the log shown
//! escaped, and an empty log among several skipped with a warning.

use crate::harness::*;

/// A log whose one task is still running, with `cmd` as its line.
fn running_log(sb: &Sandbox, name: &str, cmd: &str) {
    let run = serde_json::json!({"kind": "run", "host": "node\u{1b}]0;owned\u{7}", "pid": 7, "start": 1000.0,
        "tasks_total": 1, "file_tasks": 1});
    let start = serde_json::json!({"kind": "start", "seq": 1, "attempt": 1, "slot": 1, "cpus": "0",
        "cmd": cmd, "start": 1000.0});
    sb.write(name, format!("{run}\n{start}\n"));
}

#[test]
fn status_shows_escape_sequences_in_task_lines_escaped() {
    let sb = Sandbox::new();
    running_log(&sb, "log.jsonl", "sleep 9 # \u{1b}[2J\u{1b}[31mfake prompt\u{9b}1m\r");
    let out = run(hrun().arg("status").arg(sb.path("log.jsonl")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for raw in ['\u{1b}', '\u{7}', '\u{9b}', '\r'] {
        assert!(!text.contains(raw), "{raw:?} reached the terminal: {text:?}");
    }
    assert!(text.contains(r"sleep 9 # \x1b[2J\x1b[31mfake prompt\u{9b}1m\r"), "{text}");
    assert!(text.contains(r"run on node\x1b]0;owned\x07 (pid 7)"), "{text}");
}

/// One empty log in a directory of shard logs (a run that failed before its first record)
/// made `status DIR` and `report DIR` fail; it is skipped with a warning naming it.
#[test]
fn an_empty_log_among_several_is_skipped_with_a_warning() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n".repeat(4));
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = run(hrun().current_dir(sb.root()).args(["exec", "-q", "--shard", &shard, "tasks.txt"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    sb.write("tasks.shard-1-of-3.hrun.jsonl", "");
    let warning = "hrun: warning: skipping ./tasks.shard-1-of-3.hrun.jsonl: it holds no hrun run\n";
    let out = run(hrun().current_dir(sb.root()).args(["status", "."]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), warning);
    assert!(
        stdout(&out).contains("== all 2 logs: 4 done (4 ok, 0 failed), 0 running, 0 left of 4"),
        "{}",
        stdout(&out)
    );
    let out = run(hrun().current_dir(sb.root()).args(["report", ".", "-o", "r.html"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).starts_with(warning), "{}", stderr(&out));
    assert_eq!(sb.read("r.html").matches("<rect class=\"task\"").count(), 4);
    // Only empty logs: nothing to show, a one-line error.
    std::fs::create_dir(sb.path("empty")).unwrap();
    for name in ["a.hrun.jsonl", "b.hrun.jsonl"] {
        sb.write(&format!("empty/{name}"), "");
    }
    for cmd in ["status", "report"] {
        let out = run(hrun().current_dir(sb.root()).args([cmd, "empty"]));
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).ends_with("hrun: error: none of the 2 logs holds an hrun run\n"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
}

/// `report` says where it wrote the page; a name with an escape sequence is shown escaped.
#[test]
fn report_shows_its_output_path_escaped() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n");
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    let out = run(hrun().current_dir(sb.root()).args(["report", "log.jsonl", "-o", "r\u{1b}[2J.html"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "hrun: report of 1 task attempt(s) written to r\\x1b[2J.html\n");
    assert!(sb.path("r\u{1b}[2J.html").is_file());
}
