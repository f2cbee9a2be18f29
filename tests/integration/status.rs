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
