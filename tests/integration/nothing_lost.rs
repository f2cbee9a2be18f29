//! Issue 23: nothing is written before every check passed, and nothing already written is
//! lost after: refusals that leave yesterday's files as they were, outputs that follow a task
//! across `--resume`, inputs that change under a run, outputs shared between runs.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Yesterday's sweep: a results table, a joblog and a run log with a run in them.
fn with_yesterday() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo {#}\n".repeat(3));
    let out = run(sb.exec().args(["-q", "--results", "r.csv", "--joblog", "jl.txt", "tasks.txt"]));
    assert_status!(out, 0);
    sb
}

/// A 64 KiB tmpfs mounted on `name` in the sandbox (unmounted when the guard drops); `None`
/// where mounting is not allowed (not root, a container without the capability).
fn small_tmpfs(sb: &Sandbox, name: &str) -> Option<Unmount> {
    std::fs::create_dir(sb.path(name)).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(sb.path(name))
        .output()
        .is_ok_and(|o| o.status.success());
    mounted.then(|| Unmount(sb.path(name)))
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn snapshot(sb: &Sandbox) -> Vec<(String, Option<Vec<u8>>)> {
    ["r.csv", "jl.txt", "log.jsonl", "new.jsonl"]
        .iter()
        .map(|n| (n.to_string(), std::fs::read(sb.path(n)).ok()))
        .collect()
}

/// A run refused with exit 2 had already emptied the previous `--results` table and
/// `--joblog` (and left an empty run log): every refusal now comes before any output is
/// opened, and a refusal found while claiming the outputs removes what it created.
#[test]
fn a_refused_run_leaves_yesterdays_files_as_they_were() {
    let sb = with_yesterday();
    sb.write("afile", "x");
    let before = snapshot(&sb);
    assert!(before[0].1.as_ref().is_some_and(|t| t.len() > 100), "yesterday's table");
    let common = ["exec", "--results", "r.csv", "--joblog", "jl.txt"];
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            vec!["--log", "log.jsonl", "--output-dir", "afile/out", "tasks.txt"],
            vec![],
            "cannot create output directory",
        ),
        (
            vec!["--log", "new.jsonl", "--output-dir", "r.csv", "tasks.txt"],
            vec![],
            "cannot create output directory",
        ),
        (
            vec!["--log", "new.jsonl", "tasks.txt"],
            vec![("TMPDIR", "/nonexistent-hrun-tmp")],
            "temporary file",
        ),
        (vec!["--log", "new.jsonl", "--threads", "100000", "tasks.txt"], vec![], "--threads 100000"),
        (vec!["--log", "new.jsonl", "--retries=-1", "tasks.txt"], vec![], "--retries"),
    ];
    for (args, env, needle) in cases {
        let mut cmd = hrun();
        cmd.current_dir(sb.root()).args(common).args(&args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = run(&mut cmd);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert_eq!(snapshot(&sb), before, "{args:?}: a file changed");
    }
}

/// A `--results` name whose replacement strings are refused (a perl expression) was parsed
/// after the outputs were claimed: the refusal (exit 2) had emptied the joblog and left an
/// empty run log. It is checked before anything is claimed now.
#[test]
fn a_refused_results_name_leaves_yesterdays_files_as_they_were() {
    let sb = with_yesterday();
    let before = snapshot(&sb);
    for log in [&["--log", "new.jsonl"][..], &[]] {
        let out = run(hrun()
            .current_dir(sb.root())
            .args(["exec", "--joblog", "jl.txt", "--results", "q/{=x=}/"])
            .args(log)
            .arg("tasks.txt"));
        assert_status!(out, 2);
        assert!(stderr(&out).contains("--results q/{=x=}/: "), "{}", stderr(&out));
        assert_eq!(snapshot(&sb), before, "{log:?}: a file changed");
        assert!(!sb.path(".hrun/tasks.hrun.jsonl").exists(), "no default log made");
        assert!(!sb.path("q").exists());
    }
}

/// A run log on a full file system: the run stopped (255) only when its run record could not
/// be written, after yesterday's table and joblog had been emptied. The log's room is
/// reserved before anything is emptied now. Needs a small tmpfs (root, mount allowed).
#[test]
fn a_full_file_system_under_the_log_empties_nothing() {
    let sb = with_yesterday();
    let Some(_unmount) = small_tmpfs(&sb, "full") else {
        eprintln!("a_full_file_system_under_the_log_empties_nothing: cannot mount a tmpfs here; not run");
        return;
    };
    // Fill it: the writes stop at ENOSPC.
    let _ = std::fs::write(sb.path("full/fill"), vec![0u8; 128 << 10]);
    let before = snapshot(&sb);
    let out = run(hrun().current_dir(sb.root()).args([
        "exec",
        "--log",
        "full/l.jsonl",
        "--results",
        "r.csv",
        "--joblog",
        "jl.txt",
        "tasks.txt",
    ]));
    assert_status!(out, 255);
    assert!(stderr(&out).contains("run log full/l.jsonl has no room"), "{}", stderr(&out));
    assert_eq!(snapshot(&sb), before, "yesterday's table and joblog as they were");
    assert!(!sb.path("full/l.jsonl").exists(), "the log it created is removed again");
}

/// A joblog on a file system that fills up: hrun exited 255 without an end record, and the
/// torn row's task counted as done, so `--resume` never wrote its row. Now a row that cannot
/// be written is cut off again, the run stops with its end record, and the task's record is
/// left out, so `--resume` (with room again) runs it and the joblog has every row once.
#[test]
fn a_joblog_on_a_full_file_system_stops_the_run_and_resume_completes_it() {
    let sb = Sandbox::new();
    let Some(_unmount) = small_tmpfs(&sb, "full") else {
        eprintln!("a_joblog_on_a_full_file_system_...: cannot mount a tmpfs here; not run");
        return;
    };
    // One page left: about a hundred rows.
    std::fs::write(sb.path("full/fill"), vec![0u8; 60 << 10]).unwrap();
    let values: Vec<String> = (1..=300).map(|i| i.to_string()).collect();
    let args = ["-q", "-j", "1", "--joblog", "full/jl.txt", "echo", ":::"];
    let out = run(sb.exec().args(args).args(&values));
    assert_status!(out, 255);
    assert!(
        stderr(&out).contains("joblog row could not be written; --resume runs it again"),
        "{}",
        stderr(&out)
    );
    assert!(sb.read("log.jsonl").contains(r#""kind":"end""#), "the run ended in its log");
    std::fs::remove_file(sb.path("full/fill")).unwrap();
    let out = run(sb.exec().arg("--resume").args(args).args(&values));
    assert_status!(out, 0);
    let joblog = sb.read("full/jl.txt");
    let mut seqs: Vec<u64> = joblog
        .lines()
        .skip(1)
        .map(|l| {
            assert_eq!(l.split('\t').count(), 9, "a whole row: {l:?}");
            l.split('\t').next().unwrap().parse().unwrap()
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=300).collect::<Vec<u64>>(), "every task's row, once");
}

/// Standard input redirected from a file is an input even when the values come from `:::`:
/// a joblog naming it (or `/dev/stdin`) truncated it with exit 0. Refused now, unchanged.
#[test]
fn standard_input_from_a_file_is_never_written_over() {
    let sb = with_yesterday();
    for joblog in ["jl.txt", "/dev/stdin"] {
        let before = sb.read("jl.txt");
        let out = hrun()
            .current_dir(sb.root())
            .args(["exec", "--log", "new.jsonl", "--joblog", joblog, "echo", ":::", "a"])
            .stdin(std::fs::File::open(sb.path("jl.txt")).unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{joblog}: {}", stderr(&out));
        assert!(stderr(&out).contains("is standard input"), "{}", stderr(&out));
        assert_eq!(sb.read("jl.txt"), before, "{joblog}");
        assert!(!sb.path("new.jsonl").exists());
    }
}

/// A value bigger than the log's line cap (a 17 MiB line of a value file) made a record hrun
/// could not read back: status showed the task as left and every --resume ran it again,
/// adding as much to the log. Records keep the head of such text, and the task is known by
/// the hash of all of it.
#[test]
fn a_huge_value_makes_a_record_hrun_reads_back() {
    let sb = Sandbox::new();
    sb.write("big", format!("{}\nsmall\n", "x".repeat(17 << 20)));
    let args = ["-q", "printf %s {} | wc -c", "::::", "big"];
    let out = run(sb.exec().args(args));
    assert_eq!(out.status.code(), Some(1), "the huge one fails (too long for execve): {}", stderr(&out));
    let size = std::fs::metadata(sb.path("log.jsonl")).unwrap().len();
    assert!(size < 4 << 20, "{size} bytes of log");
    let status = run(hrun().arg("status").arg(sb.path("log.jsonl")));
    assert!(
        stdout(&status).contains("tasks: 2 done (1 ok, 1 failed), 0 running, 0 left of 2"),
        "{}",
        stdout(&status)
    );
    let tasks = |sb: &Sandbox| sb.read("log.jsonl").matches(r#""kind":"task""#).count();
    let before = tasks(&sb);
    let out = run(sb.exec().arg("--resume").args(args));
    assert_eq!(out.status.code(), Some(0), "nothing left to run: {}", stderr(&out));
    assert_eq!(tasks(&sb), before, "no task ran again");
}

/// Two runs on one --output-dir (or GNU's --results DIR) wrote over each other's files, both
/// exiting 0: the directory is locked for the run, and a second live run is refused with the
/// holder's pid, nothing written.
#[test]
fn an_output_directory_a_live_run_writes_is_refused_naming_its_pid() {
    let sb = Sandbox::new();
    let mut first = hrun()
        .current_dir(sb.root())
        .args(["exec", "-q", "--log", "a.jsonl", "--output-dir", "out"])
        .args(["touch ready; while [ ! -e go ]; do sleep 0.02; done; echo A-{}", ":::", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&sb.path("ready"), LIMIT);
    for (flag, dir) in [("--output-dir", "out"), ("--output-dir", "out/"), ("--results", "out/")] {
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "--log",
            "b.jsonl",
            flag,
            dir,
            "echo B-{}",
            ":::",
            "1",
        ]));
        assert_eq!(out.status.code(), Some(2), "{flag} {dir}: {}", stderr(&out));
        let want = format!("{flag} {dir}: in use by another hrun (pid {})", first.id());
        assert!(stderr(&out).contains(&want), "{}", stderr(&out));
        assert!(!sb.path("b.jsonl").exists(), "nothing written");
    }
    sb.write("go", "");
    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_eq!(sb.read("out/1.out"), "A-1\n");
    // Once it ended, the directory is free again.
    let out = run(hrun().current_dir(sb.root()).args([
        "exec",
        "-q",
        "--log",
        "b.jsonl",
        "--output-dir",
        "out",
        "echo B-{}",
        ":::",
        "1",
    ]));
    assert_status!(out, 0);
    assert_eq!(sb.read("out/1.out"), "B-1\n");
}

/// Another live hrun holds a file this run would write (its run log named as this run's
/// table, or one table two sweeps both name): refused with the holder's pid, and the live
/// run's file is untouched.
#[test]
fn a_file_a_live_run_writes_is_refused_naming_its_pid() {
    let sb = Sandbox::new();
    sb.write("slow.txt", "touch ready; while [ ! -e go ]; do sleep 0.02; done\n");
    sb.write("other.txt", "touch ran\n");
    let mut first = hrun()
        .current_dir(sb.root())
        .args(["exec", "-q", "--log", "run.json", "--results", "sweep.csv", "slow.txt"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&sb.path("ready"), LIMIT);
    let log_before = sb.read("run.json");
    for (flag, file) in [("--results", "run.json"), ("--results", "sweep.csv"), ("--joblog", "run.json")] {
        let out =
            run(hrun().current_dir(sb.root()).args(["exec", "--log", "o.jsonl", flag, file, "other.txt"]));
        assert_eq!(out.status.code(), Some(2), "{flag} {file}: {}", stderr(&out));
        let want = format!("{flag} {file}: in use by another hrun (pid {})", first.id());
        assert!(stderr(&out).contains(&want), "{flag} {file}: {}", stderr(&out));
        assert_eq!(sb.read("run.json"), log_before, "the live run's log is untouched");
        assert!(!sb.path("ran").exists() && !sb.path("o.jsonl").exists());
    }
    sb.write("go", "");
    assert_eq!(first.wait().unwrap().code(), Some(0));
}

/// `--resume` after a line was inserted at the top gave the new task the number of the old
/// first one: its output replaced `out/1.out`. A task keeps the number its log gave it; a new
/// one gets a number after them, so no output (and no `{#}`) moves to another task.
#[test]
fn resume_after_inserting_a_line_overwrites_no_output() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo a\necho b\n");
    let args = ["-q", "--output-dir", "out", "tasks.txt"];
    assert_eq!(run(sb.exec().args(args)).status.code(), Some(0));
    sb.write("tasks.txt", "echo new-{#}\necho a\necho b\n");
    let out = run(sb.exec().arg("--resume").args(args));
    assert_status!(out, 0);
    assert_eq!(sb.read("out/1.out"), "a\n", "task 1's output is still its own");
    assert_eq!(sb.read("out/2.out"), "b\n");
    assert_eq!(sb.read("out/3.out"), "new-3\n", "the new task has a number of its own, {{#}} too");
    let seqs: Vec<u64> = sb.records().tasks.iter().map(|t| t.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let table = stdout(&run(hrun().current_dir(sb.root()).args(["results", "log.jsonl", "-o", "-.json"])));
    let rows: Vec<(u64, String)> = table
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["Seq"].as_u64().unwrap(), v["Command"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(rows, [(1, "echo a".into()), (2, "echo b".into()), (3, "echo new-3".into())], "{table}");
}

/// A value file regenerated while a run read it fed a task a fragment of a value. Value
/// files are guarded as task files are: the run stops (255: tasks ran) and no fragment runs.
#[test]
fn a_value_file_changed_under_the_run_stops_it_before_a_fragment_runs() {
    use std::io::Write;
    let sb = Sandbox::new();
    let values: String = (0..4000).map(|i| format!("value-{i:05}\n")).collect();
    sb.write("vals", &values);
    let child = sb
        .exec()
        .args(["-j", "1", "echo {} >> ran; [ -e go ] || sleep 0.05", "::::", "vals"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&sb.path("ran"), LIMIT);
    let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(sb.path("vals")).unwrap();
    f.write_all(&b"/data/x\n".repeat(100)).unwrap();
    drop(f);
    sb.write("go", "");
    let out = child.wait_with_output().unwrap();
    assert_status!(out, 255);
    assert!(stderr(&out).contains("vals: it changed while hrun was reading it"), "{}", stderr(&out));
    let ran = sb.read("ran");
    assert!(ran.lines().all(|l| l.starts_with("value-") && l.len() == 11), "a fragment ran: {ran}");
}

/// Standard input from a file whose offset the caller advanced was read again from byte 0:
/// hrun starts where the caller left it, as GNU parallel.
#[test]
fn standard_input_is_read_from_where_the_caller_left_it() {
    let sb = Sandbox::new();
    sb.write("data.txt", "header\na\nb\n");
    let hrun_bin = env!("CARGO_BIN_EXE_hrun");
    let script = format!("{{ read header; '{hrun_bin}' exec -q --log log.jsonl -k echo {{}}; }} < data.txt");
    let out = run(std::process::Command::new("bash").current_dir(sb.root()).args(["-c", &script]));
    assert_status!(out, 0);
    assert_eq!(stdout(&out), "a\nb\n");
    // The task file from standard input, resumed: the same offset both times.
    sb.write("tasks.txt", "# skipped by the caller\necho one\necho two\n");
    let script = format!("{{ read skip; '{hrun_bin}' exec -q --log t.jsonl -k -; }} < tasks.txt");
    let out = run(std::process::Command::new("bash").current_dir(sb.root()).args(["-c", &script]));
    assert_eq!(stdout(&out), "one\ntwo\n", "{}", stderr(&out));
}

/// The `--results` header was sized by the first task to finish: with `-N` the short last job
/// (or a resumed one) set too few V columns and every later column shifted. Sized from `-N`
/// and the sources as GNU does, short rows padded so every column stays in place.
#[test]
fn the_results_header_is_sized_from_the_sources_and_rows_are_padded() {
    let sb = Sandbox::new();
    let out =
        run(sb.exec().args(["-q", "-j", "1", "-N", "2", "--results", "r.tsv", "true", ":::", "1", "2", "3"]));
    assert_status!(out, 0);
    let table = sb.read("r.tsv");
    let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(&lines[0][9..12], ["V1", "V2", "Stdout"], "{table}");
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines.iter().all(|l| l.len() == lines[0].len()), "every row as wide as the header: {table}");
    let short = lines.iter().find(|l| l[0] == "2").expect("job 2");
    assert_eq!(&short[9..11], ["3", ""], "the short job's V2 is empty, not its Stdout: {table}");
}

/// A torn last joblog line was not ended before `--resume` appended, gluing two rows.
#[test]
fn resume_ends_a_torn_joblog_row_before_appending() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\ntrue\n");
    assert_eq!(
        run(sb.exec().args(["-q", "-j", "1", "--joblog", "jl.txt", "tasks.txt"])).status.code(),
        Some(0)
    );
    let mut text = sb.read("jl.txt");
    let cut = text.trim_end().rfind('\n').unwrap() + 5;
    text.truncate(cut);
    sb.write("jl.txt", &text);
    std::fs::write(
        sb.path("log.jsonl"),
        sb.read("log.jsonl").lines().take(3).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let out = run(sb.exec().args(["-q", "-j", "1", "--resume", "--joblog", "jl.txt", "tasks.txt"]));
    assert_status!(out, 0);
    let rows: Vec<String> = sb.read("jl.txt").lines().map(String::from).collect();
    let last: Vec<&str> = rows.last().unwrap().split('\t').collect();
    assert_eq!((last.len(), last[0]), (9, "2"), "the new row stands on a line of its own: {rows:?}");
}

/// `... | hrun exec gzip` ran the lines of a file named `gzip` in the working directory,
/// ignoring the piped values: a bare word that is both a file and a program, or a bare file
/// name while standard input holds data, is refused as ambiguous, saying how to choose.
#[test]
fn a_word_that_is_both_a_file_and_a_program_is_refused() {
    let sb = Sandbox::new();
    sb.write("true", "touch ran-as-task-file\n");
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--log", "l.jsonl", "true"]));
    assert_status!(out, 2);
    assert!(stderr(&out).contains("true is both a file here and a program on PATH"), "{}", stderr(&out));
    assert!(stderr(&out).contains("hrun exec ./true"), "{}", stderr(&out));
    sb.write("tasks.txt", "touch ran\n");
    sb.write("values", "a\nb\n");
    let out = hrun()
        .current_dir(sb.root())
        .args(["exec", "--log", "l.jsonl", "tasks.txt"])
        .stdin(std::fs::File::open(sb.path("values")).unwrap())
        .output()
        .unwrap();
    assert_status!(out, 2);
    assert!(
        stderr(&out).contains("standard input holds data, but tasks.txt is a task file"),
        "{}",
        stderr(&out)
    );
    assert!(!sb.path("ran").exists() && !sb.path("ran-as-task-file").exists());
    // A path says which it is.
    let out = run(hrun().current_dir(sb.root()).args(["exec", "-q", "--log", "l.jsonl", "./true"]));
    assert_status!(out, 0);
    assert!(sb.path("ran-as-task-file").exists());
}

/// A `hrun.toml` picked up from the working directory could point the log at any writable
/// file. A log a config file names must be new or a run log; the run record and the summary
/// say which config file was used.
#[test]
fn a_config_file_cannot_point_the_log_at_a_foreign_file() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n");
    sb.write("precious.txt", "my thesis\n");
    sb.write("hrun.toml", "log = \"precious.txt\"\n");
    let out = run(hrun().current_dir(sb.root()).args(["exec", "tasks.txt"]));
    assert_status!(out, 2);
    assert!(
        stderr(&out).contains("hrun.toml sets log = precious.txt, which exists and is not an hrun run log"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sb.read("precious.txt"), "my thesis\n");
    sb.write("hrun.toml", "log = \"mine.jsonl\"\ngrace = \"3s\"\n");
    let out = run(hrun().current_dir(sb.root()).args(["exec", "tasks.txt"]));
    assert_status!(out, 0);
    let config = sb.path("hrun.toml").canonicalize().unwrap();
    assert!(stderr(&out).contains(&format!("hrun: settings from {}", config.display())), "{}", stderr(&out));
    let runs = read_records(&sb.path("mine.jsonl")).runs;
    assert_eq!(runs[0].config.as_deref(), Some(sb.path("hrun.toml").canonicalize().unwrap().as_path()));
    // A run log of its own is fine again.
    assert_eq!(run(hrun().current_dir(sb.root()).args(["exec", "tasks.txt"])).status.code(), Some(0));
    // --log on the command line is the user's own choice.
    let out = run(hrun().current_dir(sb.root()).args(["exec", "-q", "--log", "x.jsonl", "tasks.txt"]));
    assert_status!(out, 0);
}

/// `--progress-interval 0s` busy-looped, printing about a million lines in 2 s.
#[test]
fn a_progress_interval_under_100ms_is_refused() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n");
    for (args, env) in [(vec!["--progress-interval", "0s"], None), (vec![], Some("10ms"))] {
        let mut cmd = sb.exec();
        cmd.args(&args).arg("tasks.txt");
        if let Some(v) = env {
            cmd.env("HRUN_PROGRESS_INTERVAL", v);
        }
        let out = run(&mut cmd);
        assert_status!(out, 2);
        assert!(stderr(&out).contains("is too short: give at least 100ms"), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
    }
}

/// `HRUN_LOG=` (empty) gave a message with no name; `HRUN_LOG=none` made a file named
/// `none`. The first names where it came from; `none` runs without a log.
#[test]
fn an_empty_log_name_is_refused_and_none_keeps_no_log() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    let out = run(hrun().current_dir(sb.root()).env("HRUN_LOG", "").args(["exec", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the run log's name (environment HRUN_LOG) is empty"), "{}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).env("HRUN_LOG", "none").args(["exec", "tasks.txt"]));
    assert_status!(out, 0);
    assert!(sb.path("ran").exists());
    assert!(!sb.path("none").exists() && !sb.path(".hrun").exists(), "no log anywhere");
    assert!(stderr(&out).contains("run log none (--log none)"), "said as such: {}", stderr(&out));
    assert!(stderr(&out).contains("keeps no run log"), "{}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--log", "none", "--resume", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(2));
}

/// A run log that is one huge line (a zeroed file after a node crash) made every reader
/// allocate the whole file and abort; the line is skipped as unreadable.
#[test]
fn a_log_of_one_huge_line_is_read_past() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n");
    assert_eq!(run(sb.exec().args(["-q", "tasks.txt"])).status.code(), Some(0));
    let mut f = std::fs::OpenOptions::new().append(true).open(sb.path("log.jsonl")).unwrap();
    std::io::Write::write_all(&mut f, &vec![0u8; 40 << 20]).unwrap();
    drop(f);
    let out = run_within(hrun().current_dir(sb.root()).args(["status", "log.jsonl"]), LIMIT);
    assert_status!(out, 0);
    assert!(stdout(&out).contains("1 done"), "{}", stdout(&out));
}

/// Issue 23's smaller items: `--cpus -1` was clap's "unexpected argument"; `-N` past the
/// machine's word size wrapped; a fake sysfs tree naming CPUs this machine lacks failed every
/// start with "Invalid argument"; `report -o -` wrote a file named `-`.
#[test]
fn small_mistakes_get_a_message_that_names_them() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cpus", "-1", "tasks.txt"], "invalid CPU list \"-1\""),
        (vec!["-N", "9223372036854775808", "echo", ":::", "a"], "-N/-n 9223372036854775808: at most"),
    ];
    for (args, needle) in cases {
        let out = run(sb.exec().args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    let big = hrun::topology::fixtures::grace();
    let root = sb.path("grace");
    hrun::topology::fixtures::write_sysfs(&big, &root).unwrap();
    let out = run(sb.exec().args(["--sysfs-root", root.to_str().unwrap(), "tasks.txt"]));
    assert_status!(out, 2);
    assert!(stderr(&out).contains("that this process may not run on"), "{}", stderr(&out));
    assert!(!sb.path("ran").exists());
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    let out = run(hrun().current_dir(sb.root()).args(["report", "log.jsonl", "-o", "-"]));
    assert_status!(out, 0);
    assert!(stdout(&out).starts_with("<!DOCTYPE html>"));
    assert!(!sb.path("-").exists());
}

/// Two sweeps of one template over different values share a default log, and `hrun results`
/// interleaved them with repeated Seq; an output file a later run rewrote was shown as an
/// earlier task's Stdout. Each log's latest sweep is its table, and a file is used only while
/// it is still the task's own.
#[test]
fn hrun_results_shows_the_latest_sweep_with_its_own_outputs() {
    let sb = Sandbox::new();
    for values in [["a", "b", "c"], ["x", "y", "z"]] {
        let out =
            run(hrun().current_dir(sb.root()).args(["exec", "-q", "-k", "echo {}", ":::"]).args(values));
        assert_status!(out, 0);
    }
    let table = stdout(&run(hrun().current_dir(sb.root()).args(["results", "-o", "-.json"])));
    let rows: Vec<(u64, String)> = table
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["Seq"].as_u64().unwrap(), v["V"][0].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(rows, [(1, "x".into()), (2, "y".into()), (3, "z".into())], "{table}");

    // Run A writes out/1.out; run B (its own log) rewrites it later.
    for (log, word) in [("a.jsonl", "first"), ("b.jsonl", "second-longer")] {
        let out = run(hrun()
            .current_dir(sb.root())
            .args(["exec", "-q", "--log", log, "--output-dir", "out", "echo", word])
            .arg(":::")
            .arg("1"));
        assert_status!(out, 0);
    }
    let out = run(hrun().current_dir(sb.root()).args(["results", "a.jsonl", "-o", "-.json"]));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(v["Stdout"], "", "not run A's output");
    assert!(stderr(&out).contains("is not the output of task 1"), "{}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).args(["results", "b.jsonl", "-o", "-.json"]));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(v["Stdout"], "second-longer 1\n");
}

/// A run killed while writing its first row (header and row go out in one write) has no task
/// record, and the repair only considered runs with one: the torn row stayed. The run
/// record keeps the table's length at the start, which is what the log vouches for.
#[test]
fn a_crash_during_the_first_row_is_repaired_by_resume() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo a\necho b\n");
    let args = ["-q", "-j", "1", "--results", "r.csv", "tasks.txt"];
    assert_eq!(run(sb.exec().args(args)).status.code(), Some(0));
    // As a kill -9 in the first row's write leaves them: the run record alone, a torn table.
    let log = sb.read("log.jsonl");
    sb.write("log.jsonl", format!("{}\n", log.lines().next().unwrap()));
    let table = sb.read("r.csv");
    let torn = &table[..table.find('\n').unwrap() + 12];
    sb.write("r.csv", torn);
    let out = run(sb.exec().arg("--resume").args(args));
    assert_status!(out, 0);
    assert!(stderr(&out).is_empty() || !stderr(&out).contains("left as they are"), "{}", stderr(&out));
    let table = sb.read("r.csv");
    assert_eq!(table.lines().filter(|l| l.starts_with("Seq,")).count(), 1, "one header: {table}");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with(char::is_numeric)).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|r| r.split(',').count() > 9), "whole rows only: {table}");
    assert_eq!(table.lines().count(), 5, "a header and two rows of two lines: {table}");
}

/// A results table that cannot be written (a full disk, here a file size limit hrun and its
/// tasks run under) stopped nothing: rows and the output they held were lost and the run
/// exited 0 with an end record, so `--resume` never repaired the torn row. Now the run stops,
/// exits 255, and `--resume` cuts the table back to its last whole row and runs the tasks
/// without a row again: every task has one whole row in the end.
#[test]
fn a_results_table_that_cannot_be_written_stops_the_run_and_resume_repairs_it() {
    let sb = Sandbox::new();
    // 3000 bytes of output per task: the table passes 16 KiB after five rows; the log and
    // each task's own output stay far below.
    let args =
        ["-q", "-j", "1", "--results", "r.csv", "head -c 3000 /dev/zero | tr '\\0' x; printf %s {}", ":::"];
    let values: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    // util-linux's prlimit: the soft limit for hrun and what it starts (EFBIG, SIGXFSZ blocked).
    let mut cmd = std::process::Command::new("prlimit");
    cmd.current_dir(sb.root()).args(["--fsize=16384:unlimited", "--", env!("CARGO_BIN_EXE_hrun"), "exec"]);
    cmd.arg("--log").arg(sb.path("log.jsonl")).args(args).args(&values);
    let out = run(&mut cmd);
    assert_status!(out, 255);
    assert!(stderr(&out).contains("cannot write results table r.csv"), "{}", stderr(&out));
    assert!(stderr(&out).contains("not run"), "it stopped starting tasks: {}", stderr(&out));
    let out = run(sb.exec().arg("--resume").args(args).args(&values));
    assert_status!(out, 0);
    let table = sb.read("r.csv");
    let rows: Vec<&str> = table.lines().skip(1).collect();
    let mut seqs: Vec<u64> = rows.iter().map(|r| r.split(',').next().unwrap().parse().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>(), "one row per task: {table}");
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields[10].len(), 3000 + fields[9].len(), "the whole output: {row:.80}");
    }
}

/// Task output to a full standard output was dropped with a warning and the run exited 0, so
/// the output was gone for good. Now the run stops (exit 255), the log says which task's
/// output was lost, and `--resume` runs that task again (and the tasks not run).
#[test]
fn task_output_that_cannot_be_written_stops_the_run_and_resume_reruns_it() {
    let sb = Sandbox::new();
    for order in ["-k", "--group"] {
        let args = ["-j", "1", order, "echo", ":::", "a", "b", "c"];
        // /dev/full is only opened for writing as the child's stdout; nothing in /dev changes.
        let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
        let log = format!("{}.jsonl", order.trim_start_matches('-'));
        let out = hrun()
            .current_dir(sb.root())
            .args(["exec", "-q", "--log", &log])
            .args(args)
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "{order}: {}", stderr(&out));
        assert!(stderr(&out).contains("cannot write task output to standard output"), "{}", stderr(&out));
        assert!(sb.read(&log).contains(r#""kind":"lost""#), "the log names the task: {}", sb.read(&log));
        let out =
            run(hrun().current_dir(sb.root()).args(["exec", "-q", "--resume", "--log", &log]).args(args));
        assert_status!(out, 0);
        assert_eq!(stdout(&out), "a\nb\nc\n", "{order}: every task's output, once");
    }
    // A results table on standard output: its rows were lost with exit 0.
    let args = ["-j", "1", "--results", "-.csv", "echo", ":::", "a", "b", "c"];
    let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
    let out = hrun()
        .current_dir(sb.root())
        .args(["exec", "-q", "--log", "t.jsonl"])
        .args(args)
        .stdout(full)
        .output()
        .unwrap();
    assert_status!(out, 255);
    assert!(stderr(&out).contains("cannot write results table -.csv"), "{}", stderr(&out));
    // The first row that cannot be written stops the run: the tasks that ended by then are named
    // lost (how many depends on when the writer thread saw the error); the rest never started.
    let lost = sb.read("t.jsonl").matches(r#""kind":"lost""#).count();
    assert!((1..=3).contains(&lost), "{}", sb.read("t.jsonl"));
    let out =
        run(hrun().current_dir(sb.root()).args(["exec", "-q", "--resume", "--log", "t.jsonl"]).args(args));
    assert_status!(out, 0);
    let table = stdout(&out);
    let rows = table.lines().filter(|l| l.contains(",:,")).count();
    assert_eq!(rows, 3, "every task's row, once: {table}");
}

/// GNU's `par_blocking_redir`: the reader of a process substitution, which the shell forks
/// before it execs hrun, is hrun's child from the start. hrun killed it as a stray ("killing 1
/// stray process(es) left by tasks") and its output was lost; it is not hrun's to kill.
#[test]
fn a_child_hrun_had_before_it_started_is_not_killed() {
    let sb = Sandbox::new();
    let script = format!(
        "( echo 3 | {} exec -q --log none seq > >(echo stdout; wc -l) ) 2>&1 | cat",
        env!("CARGO_BIN_EXE_hrun")
    );
    let out = run(std::process::Command::new("bash").arg("-c").arg(&script).current_dir(sb.root()));
    let words: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    assert_eq!(words, ["stdout", "3"], "the reader's output, and no stray killed: {}", stdout(&out));
}
