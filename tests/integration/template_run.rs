//! Command templates as hrun runs them: refusals, pinning and the log, resume and
//! `--emit-tasks`, streaming standard input, ordering, `--delay`, the shell.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

fn exec_in(sb: &Sandbox) -> Command {
    let mut c = hrun();
    c.current_dir(sb.root()).arg("exec");
    c
}

/// Bad input is refused before anything runs: exit 2, one line naming it, nothing written.
#[test]
fn bad_templates_and_sources_are_refused_before_anything_runs() {
    let sb = Sandbox::new();
    sb.write("empty", "");
    std::fs::write(sb.path("prog"), "#!/bin/sh\ntouch ran\n").unwrap();
    for (args, needle) in [
        (vec!["touch", "ran", ":::", "a\nb"], "contains a newline"),
        (vec!["touch", "ran", ":::"], "::: with no values"),
        (vec!["touch", "ran", ":::", "a", ":::+"], ":::+ with no values"),
        (vec!["touch", "ran", "::::", "empty"], "input source empty is empty"),
        (vec!["touch", "ran", ":::", "a", "::::", "empty"], "input source empty is empty"),
        (vec!["--colsep", "|", "touch", "ran", ":::", "a|b"], "can match the empty string"),
        (vec!["--colsep", "x*", "touch", "ran", ":::", "a"], "can match the empty string"),
        (vec!["--colsep", "(", "touch", "ran", ":::", "a"], "is not a regular expression"),
        (vec!["touch", "ran{3}", ":::", "a", ":::", "b"], "uses argument {3}"),
        (vec!["touch", "ran{-2}", ":::", "a"], "uses argument {2}"),
        (vec!["touch", "ran{0}", ":::", "a"], "positions start at 1"),
        (vec!["touch", "{= s/a/b/ =}", ":::", "a"], "Perl expressions"),
        (vec!["--onall", "-S", "node2", "touch", "ran", ":::", "a"], "srun --ntasks-per-node=1 CMD"),
        (vec!["--sshloginfile", "nodes", "touch", "ran", ":::", "a"], "--sshloginfile nodes: No such file"),
        (vec!["--pipe", "touch", "ran", ":::", "a"], "--pipe gives each job a block of input, not values"),
        (vec!["--group-by", "1", "touch", "ran", ":::", "a"], "split the input into files first"),
        // GNU's spellings: an abbreviation of a refused option, a refusal after an unknown option.
        (
            vec!["--pipep", "touch", "ran", ":::", "a"],
            "--pipepart gives each job a block of input, not values",
        ),
        (
            vec!["--block-timeo", "1", "touch", "ran", ":::", "a"],
            "--block-timeo (--block-timeout): hrun exec does not do this with",
        ),
        (vec!["--no-such", "--nonall", "touch", "ran", ":::", "a"], "--nonall: hrun runs each job once"),
        (vec!["touch", "ran", "::::", "-", "::::", "-"], "are the same stream"),
        (vec!["-d", "", "touch", "ran", ":::", "a"], "-d needs a delimiter"),
        (vec!["touch", "ran", "::::", "nonexistent"], "cannot open input source nonexistent"),
        (vec!["prog"], "prog is a program, not a task file"),
        (vec!["no-such-thing-hrun"], "cannot open task file no-such-thing-hrun"),
    ] {
        let out = run(exec_in(&sb).args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(!sb.path("ran").exists(), "{args:?} ran something");
        let logs: Vec<_> = std::fs::read_dir(sb.root())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
            .collect();
        assert!(logs.is_empty(), "{args:?} wrote a log");
    }
}

/// A template's jobs are tasks like any other: pinned to their slot, with the task
/// environment, a record each with the job's values, and `cmd` the job's identity.
#[test]
fn template_jobs_are_pinned_logged_and_see_the_task_environment() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args([
        "-j",
        "2",
        "grep Cpus_allowed_list /proc/self/status > cpus.{#}; echo $HRUN_SEQ $HRUN_SLOT {%} {1} {2} > env.{#}",
        ":::",
        "a b",
        "c",
        ":::",
        "1",
        "2",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (runs, tasks) = sb.log();
    assert_eq!(tasks.len(), 4);
    assert!(runs[0]["template"].as_str().unwrap().starts_with("grep Cpus_allowed_list"));
    let slots: Vec<(u64, CpuSetOf)> = runs[0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["slot"].as_u64().unwrap(), s["cpus"].as_str().unwrap().parse().unwrap()))
        .collect();
    for (t, values) in tasks.iter().zip([["a b", "1"], ["a b", "2"], ["c", "1"], ["c", "2"]]) {
        let seq = t["seq"].as_u64().unwrap();
        assert_eq!(t["values"], serde_json::json!(values), "{t}");
        let quoted = if values[0] == "a b" { "'a b'" } else { "c" };
        assert_eq!(
            t["cmd"].as_str().unwrap(),
            format!(
                "grep Cpus_allowed_list /proc/self/status > cpus.{{#}}; echo $HRUN_SEQ $HRUN_SLOT {{%}} {quoted} {} > env.{{#}}",
                values[1]
            )
        );
        let slot = t["slot"].as_u64().unwrap();
        let want = &slots.iter().find(|(s, _)| *s == slot).unwrap().1;
        assert_eq!(&cpus_allowed(&sb.read(&format!("cpus.{seq}"))), want, "task {seq}");
        assert_eq!(
            sb.read(&format!("env.{seq}")).trim(),
            format!("{seq} {slot} {slot} {} {}", values[0], values[1])
        );
    }
}

type CpuSetOf = hrun::cpuset::CpuSet;

/// The same command line finds its log again: `--resume` runs what is left, and
/// `--resume-failed` the failed jobs; other sources get another log.
#[test]
fn a_template_resumes_from_its_default_log() {
    let sb = Sandbox::new();
    let job = ["-j", "1", "echo {} >> ran; [ {} != b ]", ":::", "a", "b", "c"];
    let out = run(exec_in(&sb).args(job));
    assert_eq!(out.status.code(), Some(1), "b fails: {}", stderr(&out));
    let logs = |sb: &Sandbox| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(sb.path(".hrun"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".hrun.jsonl"))
            .collect();
        v.sort();
        v
    };
    let first = logs(&sb);
    assert_eq!(first.len(), 1);
    let strewn = std::fs::read_dir(sb.root())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".jsonl"));
    assert!(!strewn, "default logs go into .hrun/, not the working directory");
    assert!(first[0].starts_with("echo-"), "{first:?}");
    let out = run(exec_in(&sb).arg("--resume").args(job));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.read("ran"), "a\nb\nc\n", "--resume reran nothing");
    let out = run(exec_in(&sb).arg("--resume-failed").args(job));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(sb.read("ran"), "a\nb\nc\nb\n", "--resume-failed reran b only");
    assert_eq!(logs(&sb), first, "the same log each time");
    run(exec_in(&sb).args(["echo {} >> ran", ":::", "d"]));
    assert_eq!(logs(&sb).len(), 2, "another command line, another log");
}

/// `--emit-tasks` writes the task file whose lines are the jobs' identities: the template
/// and the task file resume each other through one log.
#[test]
fn emitted_task_files_and_templates_resume_each_other() {
    let sb = Sandbox::new();
    let job = ["-j", "1", "--log", "L.jsonl", "echo {#} {} >> ran", ":::", "x y", "it's", "z"];
    let out = run(exec_in(&sb).args(["--emit-tasks", "tasks.txt", "--threads", "1"]).args(job));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!sb.path("ran").exists(), "emitting runs nothing");
    let text = sb.read("tasks.txt");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines, ["echo {#} 'x y' >> ran", "echo {#} 'it'\"'\"'s' >> ran", "echo {#} z >> ran"]);
    assert!(text.contains("#hrun threads=1\n"));
    // Run two of three from the task file, then resume with the template: only the third.
    sb.write("two.txt", lines[..2].join("\n") + "\n");
    let out = run(exec_in(&sb).args(["-j", "1", "--log", "L.jsonl", "two.txt"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(exec_in(&sb).arg("--resume").args(job));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.read("ran"), "1 x y\n2 it's\n3 z\n");
    // And the task file resumes after the template: nothing left.
    let out = run(exec_in(&sb).args(["--resume", "--log", "L.jsonl", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.read("ran").lines().count(), 3);
}

#[test]
fn emit_tasks_refuses_what_a_task_file_cannot_hold_and_its_own_inputs() {
    let sb = Sandbox::new();
    sb.write("vals", "a\nb\n");
    sb.write("nul", "multi\nline\0x\0");
    for (args, needle) in [
        (vec!["--emit-tasks", "out.txt", "-0", "echo", "::::", "nul"], "contains a newline"),
        (vec!["--emit-tasks", "out.txt", ":::", "", "echo a"], "is empty"),
        (vec!["--emit-tasks", "out.txt", ":::", "# c"], "starts with #"),
        (vec!["--emit-tasks", "out.txt", "echo", ":::", "{#}"], "containing {#}"),
        (vec!["--emit-tasks", "vals", "echo", "::::", "vals"], "never writes over its input"),
    ] {
        let out = run(exec_in(&sb).args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!sb.path("out.txt").exists(), "{args:?}: a partial task file was left");
    }
    assert_eq!(sb.read("vals"), "a\nb\n");
}

/// Values from standard input stream: a job starts before the producer has finished (and
/// the run never holds all of the input).
#[test]
fn values_from_standard_input_start_as_they_arrive() {
    let sb = Sandbox::new();
    let mut child = exec_in(&sb)
        .args(["--quiet", "touch", "got.{}"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"first\n").unwrap();
    input.flush().unwrap();
    wait_for_file(&sb.path("got.first"), Duration::from_secs(20));
    input.write_all(b"second\n").unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(sb.path("got.second").exists());
}

/// `-k` keeps task order for task files too; only a retried task's last attempt is shown.
#[test]
fn keep_order_and_only_the_last_attempt_is_shown() {
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        "sleep 0.4; echo one\necho two\necho try >> tries; n=$(wc -l < tries); echo three-$n; [ $n -ge 2 ]\n",
    );
    let out = run(sb.exec().args(["-k", "-j", "3", "--retries", "3", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "one\ntwo\nthree-2\n");
}

/// `--delay` spaces the starts, even with free slots.
#[test]
fn delay_spaces_task_starts() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["-j", "3", "--delay", "0.3s", "true", ":::", "1", "2", "3"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, tasks) = sb.log();
    let starts: Vec<f64> = tasks.iter().map(|t| t["start"].as_f64().unwrap()).collect();
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= 0.29, "starts {starts:?} closer than --delay");
    }
}

/// `-u`: a task's output reaches hrun's stdout while it still runs.
#[test]
fn ungrouped_output_arrives_while_the_task_runs() {
    use std::io::BufRead;
    let sb = Sandbox::new();
    let mut child = sb
        .exec()
        .args(["-u", "echo early; i=0; while [ ! -e go ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; echo late"])
        .arg(":::")
        .arg("x")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "early");
    sb.write("go", "");
    assert_eq!(lines.next().unwrap().unwrap(), "late x");
    assert!(child.wait().unwrap().success());
}

/// `export -f` functions run with bash, as under GNU parallel (dash drops them), from
/// templates and task files; `--shell` and `PARALLEL_SHELL` choose the shell.
#[test]
fn exported_functions_and_the_shell() {
    let sb = Sandbox::new();
    if !std::path::Path::new("/bin/bash").exists() {
        eprintln!("skipped: no /bin/bash");
        return;
    }
    sb.write("tasks.txt", "greet file\n");
    let script = format!(
        "greet() {{ echo \"hello $1 from ${{BASH_VERSION:+bash}}\"; }}; export -f greet; \
         {hrun} exec -q --log t.jsonl greet ::: a && {hrun} exec -q --log f.jsonl tasks.txt && \
         {hrun} exec -q --log s.jsonl greet {{}} ::: b",
        hrun = env!("CARGO_BIN_EXE_hrun")
    );
    let out = run(Command::new("/bin/bash").arg("-c").arg(script).current_dir(sb.root()));
    assert_eq!(
        stdout(&out),
        "hello a from bash\nhello file from bash\nhello b from bash\n",
        "{}",
        stderr(&out)
    );
    let probe = "echo ${BASH_VERSION:+bash}";
    let out = run(sb.exec().args(["-q", "--shell", "/bin/bash", probe, ":::", "x"]));
    assert_eq!(stdout(&out), "bash x\n", "{}", stderr(&out));
    let out = run(sb.exec().args(["-q", probe, ":::", "x"]).env("PARALLEL_SHELL", "/bin/bash"));
    assert_eq!(stdout(&out), "bash x\n", "{}", stderr(&out));
    // Started from /bin/sh (no shell above it that is bash), lines run in /bin/sh.
    let sh = run(Command::new("/bin/sh").args(["-c", &format!("{probe} x")]));
    let from_sh = format!("'{}' exec -q --log l.jsonl '{probe}' ::: x; true", env!("CARGO_BIN_EXE_hrun"));
    let out = run(Command::new("/bin/sh")
        .current_dir(sb.root())
        .args(["-c", &from_sh])
        .env_remove("PARALLEL_SHELL"));
    assert_eq!(stdout(&out), stdout(&sh), "the shell hrun was started from");
    let out = run(sb.exec().args(["--shell", "/no/such/shell", "true", ":::", "x"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--shell /no/such/shell: no such executable shell"), "{}", stderr(&out));
}

/// GNU's joblog for a template: Seq is the job number, Command the command as run.
#[test]
fn a_templates_joblog_has_job_numbers_and_the_commands_run() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["-j", "1", "--joblog", "job.log", "echo {#} {}", ":::", "a", "b c"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<Vec<String>> =
        sb.read("job.log").lines().skip(1).map(|l| l.split('\t').map(String::from).collect()).collect();
    let got: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[8].as_str())).collect();
    assert_eq!(got, [("1", "echo 1 a"), ("2", "echo 2 'b c'")]);
}

/// Shards split a template's jobs as they split a task file's lines.
#[test]
fn shards_split_template_jobs() {
    let sb = Sandbox::new();
    let out = run(exec_in(&sb).args(["-q", "-k", "--shard", "2/2", "echo", ":::", "a", "b", "c", "d"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "b\nd\n");
    let names: Vec<String> = std::fs::read_dir(sb.path(".hrun"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("echo-") && n.ends_with(".shard-2-of-2.hrun.jsonl")),
        "{names:?}"
    );
}

/// Options after a task file are options (as before templates); a stray word is refused.
#[test]
fn options_after_a_task_file_are_still_options() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo a\necho b\n");
    let out = run(sb.exec().args(["tasks.txt", "-k", "--threads", "1"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "a\nb\n");
    let out = run(sb.exec().args(["tasks.txt", "--threads", "1", "extra"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tasks.txt is a task file, and \"extra\" after it is not an option"),
        "{}",
        stderr(&out)
    );
    // With --, the words are a command: here one that does not exist (the shell says 127).
    let out = run(sb.exec().args(["-q", "--", "tasks.txt", "--x", ":::", "v"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// `--dry-run` on a task file with `--resume` shows what is left.
#[test]
fn dry_run_shows_what_resume_would_run() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo a {#}\nfalse\necho c {#}\n");
    let out = run(sb.exec().args(["-j", "1", "--halt", "soon,fail=1", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = run(sb.exec().args(["--dry-run", "--resume", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "echo c 3\n");
    let (runs, _) = sb.log();
    assert_eq!(runs.len(), 1, "a dry run writes no run record");
}
