//! Bad input: a one-line error naming the file, line or value, exit status 2, and nothing
//! already written (the run log, results) touched.

use crate::harness::*;

/// A sandbox with a real run log and a result file, to check they survive bad input.
fn with_history() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo one\necho two\n");
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    std::fs::create_dir(sb.path("results")).unwrap();
    sb.write("results/keep.toml", "seed = 1\n");
    sb.write("other.txt", "echo three\n");
    sb.write("baddirective.txt", "#hrun threads=x\necho a\n");
    sb.write("notutf8.txt", b"echo \xff\xfe\n");
    sb.write("file", "");
    sb
}

#[test]
fn bad_input_is_one_line_exit_2_and_touches_nothing() {
    let too_many = (usable_cpus().len() + 1).to_string();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["nope.txt"], "cannot open task file nope.txt: No such file".into()),
        (vec!["."], "cannot open task file .: it is a directory".into()),
        (vec!["/proc/self/mem"], "cannot read task file /proc/self/mem".into()),
        (vec!["baddirective.txt"], "baddirective.txt:1: directive threads=\"x\": not a whole number".into()),
        (vec!["notutf8.txt"], "notutf8.txt:1: not valid UTF-8".into()),
        (vec!["--threads", "0", "tasks.txt"], "--threads must be at least 1 (got 0)".into()),
        (vec!["--threads", &too_many, "tasks.txt"], format!("--threads {too_many} needs {too_many} CPUs")),
        (vec!["--jobs", "0", "tasks.txt"], "--jobs 0 (GNU parallel: as many as possible)".into()),
        (vec!["--jobs", "-99999", "tasks.txt"], "--jobs -99999 leaves no task to run".into()),
        (vec!["--jobs", "x%", "tasks.txt"], "\"x%\" is not a job count".into()),
        (vec!["--joblog", "nodir/job.log", "tasks.txt"], "--joblog nodir/job.log: cannot create it".into()),
        (vec!["--output-dir", "file/out", "tasks.txt"], "cannot create output directory file/out".into()),
        (vec!["--grace", "10x", "tasks.txt"], "invalid duration \"10x\"".into()),
        (vec!["--grace=-5s", "tasks.txt"], "invalid duration \"-5s\"".into()),
        (vec!["--timeout=-5s", "tasks.txt"], "invalid duration \"-5s\"".into()),
        (vec!["--timeout", "0", "tasks.txt"], "a timeout must be above 0".into()),
        (vec!["--halt", "later,fail=1", "tasks.txt"], "invalid --halt \"later,fail=1\"".into()),
        (vec!["--retries=-1", "tasks.txt"], "invalid value '-1' for '--retries".into()),
    ];
    for (args, needle) in cases {
        let sb = with_history();
        let log_before = std::fs::read(sb.path("log.jsonl")).unwrap();
        let out = run(sb.exec().args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&needle), "{args:?}: expected {needle:?} in {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
        assert!(err.starts_with("hrun: error: "), "{err}");
        assert_eq!(std::fs::read(sb.path("log.jsonl")).unwrap(), log_before, "{args:?}: the run log changed");
        assert_eq!(sb.read("results/keep.toml"), "seed = 1\n", "{args:?}: a result changed");
        assert!(!sb.path("nodir").exists());
    }
}

#[test]
fn an_unwritable_log_is_refused_before_anything_runs() {
    let sb = with_history();
    sb.write("marks.txt", "touch ran\n");
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--log", "nodir/log.jsonl", "marks.txt"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("run log nodir/log.jsonl: cannot create it"), "{}", stderr(&out));
    assert!(!sb.path("ran").exists());
}

#[test]
fn an_empty_task_file_says_so_and_exits_0() {
    let sb = with_history();
    sb.write("empty.txt", "");
    let out = run(sb.exec().arg("empty.txt"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out).trim(), "hrun: no tasks in empty.txt: nothing to run");
}
