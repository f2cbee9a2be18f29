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
    sb.write(".hrun/tasks.shard-1-of-3.hrun.jsonl", "");
    let warning = "hrun: warning: skipping .hrun/tasks.shard-1-of-3.hrun.jsonl: it holds no hrun run\n";
    let out = run(hrun().current_dir(sb.root()).arg("status"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), warning);
    assert!(
        stdout(&out).contains("== all 2 logs: 4 done (4 ok, 0 failed), 0 running, 0 left of 4"),
        "{}",
        stdout(&out)
    );
    // Each shard's lines say which shard they are about.
    for k in 1..=2 {
        assert!(stdout(&out).contains(&format!("\nshard {k}/2: run on ")), "{}", stdout(&out));
        assert!(
            stdout(&out).contains(&format!("\nshard {k}/2: tasks: 2 done (2 ok, 0 failed)")),
            "{}",
            stdout(&out)
        );
    }
    let out = run(hrun().current_dir(sb.root()).args(["report", "-o", "r.html"]));
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
    assert_eq!(stderr(&out), "hrun: report of 1 task attempt written to r\\x1b[2J.html\n");
    assert!(sb.path("r\u{1b}[2J.html").is_file());
}

/// Control characters and bidirectional overrides from a task's line reached the page raw (a
/// command that reads differently than it runs); they are shown as escapes, as status does.
#[test]
fn report_shows_control_and_bidi_characters_escaped() {
    let sb = Sandbox::new();
    sb.write("v", "evil\u{202e}txt\u{1}\u{1b}[31m\n");
    assert_eq!(run(sb.exec().args(["-q", "echo {}", "::::", "v"])).status.code(), Some(0));
    let out = run(hrun().current_dir(sb.root()).args(["report", "log.jsonl", "-o", "r.html"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = sb.read("r.html");
    for raw in ['\u{202e}', '\u{1}', '\u{1b}'] {
        assert!(!page.contains(raw), "{raw:?} in the page");
    }
    assert!(page.contains("evil\\u{202e}txt\\x01\\x1b[31m"), "the command, escaped");
}

/// `report -o` wrote over any file: a live run's log became HTML under it. It claims its
/// page as runs claim their outputs: a file a live hrun writes is refused with its pid.
#[test]
fn report_over_a_file_a_live_run_writes_is_refused() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n");
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    let mut live = hrun()
        .current_dir(sb.root())
        .args([
            "exec",
            "-q",
            "--log",
            "live.jsonl",
            "--joblog",
            "jl.txt",
            "touch ready; while [ ! -e go ]; do sleep 0.02; done; : {}",
            ":::",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&sb.path("ready"), std::time::Duration::from_secs(60));
    // The task can touch `ready` before hrun writes its start record: wait for the record, so
    // that the log does not change under the check below for a reason of its own.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !sb.read("live.jsonl").contains(r#""kind":"start""#) {
        assert!(std::time::Instant::now() < until, "no start record: {}", sb.read("live.jsonl"));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for target in ["live.jsonl", "jl.txt"] {
        let before = sb.read(target);
        let out = run(hrun().current_dir(sb.root()).args(["report", "log.jsonl", "-o", target]));
        assert_eq!(out.status.code(), Some(2), "{target}: {}", stderr(&out));
        let want = format!("-o {target}: in use by another hrun (pid {})", live.id());
        assert!(stderr(&out).contains(&want), "{target}: {}", stderr(&out));
        assert_eq!(sb.read(target), before, "{target} unchanged");
    }
    sb.write("go", "");
    assert_eq!(live.wait().unwrap().code(), Some(0));
    let out = run(hrun().arg("status").arg(sb.path("live.jsonl")));
    assert_eq!(out.status.code(), Some(0), "the live run's log is whole: {}", stderr(&out));
}

fn status_of(sb: &Sandbox) -> String {
    let out = run(hrun().arg("status").arg(sb.path("log.jsonl")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

/// Issue 15: on a log whose hrun was SIGKILLed, `status` said "running" forever (and kept an
/// ETA). The log's lock is gone with hrun: it says so, and lists what was running then.
#[test]
fn status_of_a_sigkilled_hrun_says_it_is_gone() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ready; exec sleep 1000\ntrue\n".repeat(4));
    let mut child =
        sb.exec().args(["--jobs", "1", "tasks.txt"]).stderr(std::process::Stdio::null()).spawn().unwrap();
    wait_for_file(&sb.path("ready"), std::time::Duration::from_secs(10));
    // The task may touch its file before hrun has logged its start: wait for that too.
    let t0 = std::time::Instant::now();
    while !sb.read("log.jsonl").contains("\"kind\":\"start\"") {
        assert!(t0.elapsed() < std::time::Duration::from_secs(10), "no start record");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let text = status_of(&sb);
    assert!(text.contains(&format!("(pid {}), running, elapsed", child.id())), "{text}");
    assert!(signal(child.id() as i32, libc::SIGKILL), "hrun is gone");
    child.wait().unwrap();
    let text = status_of(&sb);
    assert!(
        text.contains(&format!("(pid {0}), not running (hrun pid {0} is gone), elapsed", child.id())),
        "{text}"
    );
    assert!(
        text.contains("tasks: 0 done (0 ok, 0 failed), 1 started, never ended (no record), 7 left of 8\n"),
        "{text}"
    );
    assert!(!text.contains("ETA") && text.contains("running when hrun stopped:\n  task 1 "), "{text}");
    assert!(text.ends_with("to run the rest: the same hrun exec command with --resume\n"), "{text}");
}

/// Issue 15: an interrupted run (SIGINT) said "finished". The end record says how it ended:
/// a signal, a drain (SIGUSR1), the deadline.
#[test]
fn status_says_how_a_run_was_stopped() {
    for (sig, says) in [(libc::SIGINT, "interrupted by SIGINT"), (libc::SIGUSR1, "drained (SIGUSR1)")] {
        let sb = Sandbox::new();
        sb.write("tasks.txt", "touch ready.{#}; while [ ! -e go ]; do sleep 0.01; done\n".repeat(3));
        let mut child = sb
            .exec()
            .args(["--jobs", "1", "tasks.txt"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = StderrLines::take(&mut child);
        wait_for_file(&sb.path("ready.1"), std::time::Duration::from_secs(10));
        assert!(signal(child.id() as i32, sig), "hrun is gone");
        err.wait_for(
            &format!("{}: ", if sig == libc::SIGINT { "SIGINT" } else { "SIGUSR1" }),
            std::time::Duration::from_secs(5),
        );
        sb.write("go", "");
        child.wait().unwrap();
        let text = status_of(&sb);
        assert!(text.contains(&format!(", {says}, elapsed")), "{says}: {text}");
        assert!(text.contains(", 2 not run") && text.ends_with("with --resume\n"), "{says}: {text}");
    }
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 30\n");
    let out =
        run(sb.exec().args(["--deadline", "+1s", "--deadline-margin", "0", "--grace", "1s", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(102), "{}", stderr(&out));
    let text = status_of(&sb);
    assert!(text.contains(", stopped at the deadline ") && text.contains(", 1 cancelled\n"), "{text}");
}

/// A finished run: which tasks failed (at most 10 named), and the run's numbers.
#[test]
fn status_of_a_finished_run_names_failures_and_gives_its_numbers() {
    let sb = Sandbox::new();
    let mut tasks = String::from("true\nsleep 0.2\n");
    for i in 1..=12 {
        tasks += &format!("sh -c 'exit {i}' # \u{1b}[31m\n");
    }
    sb.write("tasks.txt", tasks);
    // One slot: the tasks end in their order, so the ten named are tasks 3 to 12 (with two,
    // a task can wait behind `sleep 0.2` while the other slot runs later ones).
    let out = run(sb.exec().args(["--jobs", "1", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    let text = status_of(&sb);
    assert!(text.contains(", finished, elapsed"), "{text}");
    assert!(text.contains("tasks: 14 done (2 ok, 12 failed), 0 running, 0 left of 14\n"), "{text}");
    assert!(text.contains("failed:\n  task 3      exit 1   sh -c 'exit 1' # \\x1b[31m\n"), "{text}");
    assert!(text.contains("  task 12     exit 10  sh -c 'exit 10' # \\x1b[31m\n  and 2 more\n"), "{text}");
    let numbers = text.lines().find(|l| l.starts_with("makespan ")).unwrap_or_else(|| panic!("{text}"));
    let re = regex::Regex::new(
        r"^makespan \d+\.\d\d s, wall time median \d+\.\d\d s max 0\.[2-9]\d s, CPU per task median \d+%, CPU efficiency \d+\.\d%, 0 not run$",
    )
    .unwrap();
    assert!(re.is_match(numbers), "{numbers}");
    assert!(!text.contains("--resume"), "nothing left to run: {text}");
}

/// Two unrelated sweeps (3 and 5 tasks) in one directory were summed as "5 done of 5": logs
/// that are not shards of one sweep keep their own totals (issue 26: 5).
#[test]
fn logs_of_unrelated_sweeps_keep_their_own_totals() {
    let sb = Sandbox::new();
    for (log, n) in [("a.jsonl", "3"), ("b.jsonl", "5")] {
        let out = run(hrun()
            .current_dir(sb.root())
            .args(["exec", "-q", "--log", log, "true", ":::"])
            .args((1..=n.parse::<u32>().unwrap()).map(|i| i.to_string())));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = run(hrun().current_dir(sb.root()).args(["status", "a.jsonl", "b.jsonl"]));
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(text.contains("3 done (3 ok, 0 failed)") && text.contains("5 done (5 ok, 0 failed)"), "{text}");
    assert!(!text.contains("== all 2 logs"), "unrelated logs summed: {text}");
    assert!(text.contains("== 2 logs of 2 different sweeps"), "{text}");
}

/// `hrun status results/` after a job ran `hrun exec` in results/ (the Slurm scripts do): the
/// logs are in results/.hrun/, and the directory named finds them; one with no log anywhere is
/// a one-line error naming it.
#[test]
fn status_of_the_directory_a_run_was_started_in_reads_its_dot_hrun() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("results")).unwrap();
    sb.write("results/tasks.txt", "true\nfalse\n");
    let out = run(hrun().current_dir(sb.path("results")).args(["exec", "-q", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).args(["status", "results"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("tasks: 2 done (1 ok, 1 failed)"), "{}", stdout(&out));
    std::fs::create_dir(sb.path("nothing")).unwrap();
    let out = run(hrun().current_dir(sb.root()).args(["status", "nothing"]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "hrun: error: nothing holds no run log (*.hrun.jsonl, in it or in its .hrun/)\n"
    );
}

/// Issue 26: the CPU use a task got (`/usr/bin/time -v`'s "Percent of CPU") is in `--results`
/// and `hrun results`; status gives its median over the finished tasks, the report each task's.
#[test]
fn status_and_report_give_the_cpu_use_of_tasks() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args([
        "exec",
        "-q",
        "--log",
        "l.jsonl",
        "sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo {}'",
        ":::",
        "a",
        "b",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&run(hrun().current_dir(sb.root()).args(["status", "l.jsonl"])));
    let pct: f64 = text
        .split("CPU per task median ")
        .nth(1)
        .and_then(|r| r.split('%').next())
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    assert!(pct > 0.0 && pct <= 110.0, "a shell loop keeps at most one CPU busy: {text}");
    let out = run(hrun().current_dir(sb.root()).args(["report", "l.jsonl", "-o", "r.html"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sb.read("r.html").matches("of its 1 CPU)</title>").count(), 2, "each task's tooltip");
}

/// Issue 26 (second walkthrough, 5): two sweeps of one template share a default log, and
/// `hrun status` showed the second's 2 tasks with no word of the first's 3.
#[test]
fn an_earlier_sweep_in_a_shared_log_is_said() {
    let sb = Sandbox::new();
    for values in [&["1", "2", "3"][..], &["4", "5"]] {
        let out = run(sb.exec().args(["-q", "true", "{}", ":::"]).args(values));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = run(hrun().current_dir(sb.root()).args(["status", "log.jsonl"]));
    let text = stdout(&out);
    assert!(text.contains("tasks: 2 done (2 ok, 0 failed)"), "{text}");
    assert!(text.contains("this log also holds 1 earlier sweep before this one"), "{text}");
    assert!(text.contains("hrun results --sweep N"), "{text}");
    // A resumed run is the same sweep: nothing more to say.
    let out = run(sb.exec().args(["-q", "--resume", "true", "{}", ":::", "4", "5", "6"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&run(hrun().current_dir(sb.root()).args(["status", "log.jsonl"])));
    assert!(text.contains("1 earlier sweep"), "{text}");
}

/// Issue 26 (second walkthrough): status said "task 3" where exec says "job 3" for a
/// template's jobs.
#[test]
fn status_names_template_jobs_as_exec_does() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["-q", "exit {}", ":::", "0", "0", "3"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("job 3"), "{}", stderr(&out));
    let text = stdout(&run(hrun().current_dir(sb.root()).args(["status", "log.jsonl"])));
    assert!(text.contains("failed:\n  job 3       exit 3   exit 3\n"), "{text}");
}
