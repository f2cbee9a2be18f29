//! The task file, the environment and replacement strings, exit statuses, and the run log.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

#[test]
fn exit_status_counts_failed_tasks() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "exit 0\nexit 1\nexit 7\nkill -KILL $$\ntrue\n");
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 3);
    let exits: Vec<_> = sb.records().tasks.iter().map(|t| t.exit).collect();
    assert_eq!(exits, [Some(0), Some(1), Some(7), None, Some(0)]);
    assert!(stderr(&out).contains("5 tasks: 2 ok, 3 failed"), "{}", stderr(&out));
}

#[test]
fn more_than_100_failures_exit_101() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "exit 1\n".repeat(101));
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 101);
    sb.write("tasks.txt", "exit 1\n".repeat(100));
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 100);
}

#[test]
fn replacement_strings_and_environment() {
    let sb = Sandbox::new();
    let line = "echo {#} {%} $HRUN_SEQ $HRUN_SLOT $PARALLEL_SEQ $PARALLEL_JOBSLOT $HRUN_CPUS \
                $HRUN_THREADS $OMP_NUM_THREADS $RAYON_NUM_THREADS > {#}.env\n";
    sb.write("tasks.txt", line.repeat(5));
    let out = run(sb.exec().arg("tasks.txt").env_remove("OMP_NUM_THREADS").env_remove("RAYON_NUM_THREADS"));
    assert_status!(out, 0);
    for t in &sb.records().tasks {
        let (seq, slot, cpus) = (t.seq, t.slot, &t.cpus);
        let got = sb.read(&format!("{seq}.env"));
        assert_eq!(got.trim(), format!("{seq} {slot} {seq} {slot} {seq} {slot} {cpus} 1 1 1"));
    }
}

#[test]
fn callers_thread_variables_are_passed_on_unchanged_with_a_warning() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo $OMP_NUM_THREADS $RAYON_NUM_THREADS $HRUN_THREADS > env\n");
    let out = run(sb.exec().arg("tasks.txt").env("OMP_NUM_THREADS", "7").env_remove("RAYON_NUM_THREADS"));
    assert_status!(out, 0);
    assert_eq!(sb.read("env").trim(), "7 1 1");
    assert!(stderr(&out).contains("OMP_NUM_THREADS=7 is set"), "{}", stderr(&out));
}

#[test]
fn crlf_comments_blank_lines_and_the_threads_directive() {
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        "# a sweep\r\n#hrun threads=1\r\n\r\necho one > {#}.out\r\n   # indented comment\r\n\r\necho two > {#}.out\r\n",
    );
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 0);
    // No stray carriage return reaches the command.
    assert_eq!(sb.read("1.out"), "one\n");
    assert_eq!(sb.read("2.out"), "two\n");
    let log = sb.records();
    assert_eq!(log.runs[0].threads, 1);
    let lines: Vec<_> = log.tasks.iter().map(|t| (t.seq, t.line)).collect();
    assert_eq!(lines, [(1, 4), (2, 7)]);
    assert_eq!(log.tasks[0].cmd, "echo one > {#}.out");
}

#[test]
fn threads_flag_overrides_the_directive() {
    let cpus = usable_cpus();
    let sb = Sandbox::new();
    sb.write("tasks.txt", format!("#hrun threads={}\necho $HRUN_THREADS > t\n", cpus.len() + 1));
    let out = run(sb.exec().args(["--threads", "1", "tasks.txt"]));
    assert_status!(out, 0);
    assert_eq!(sb.read("t").trim(), "1");
    // Without the flag the directive applies, and is refused here.
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 2);
    assert!(stderr(&out).contains(&format!("--threads {}", cpus.len() + 1)));
}

#[test]
fn tasks_from_standard_input() {
    let sb = Sandbox::new();
    let mut child = sb.exec().arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"echo a > a\necho b > b\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_status!(out, 0);
    assert_eq!(sb.read("a"), "a\n");
    assert_eq!(sb.read("b"), "b\n");
    assert_eq!(sb.records().runs[0].taskfile, "<stdin>");
}

#[test]
fn an_empty_task_file_runs_nothing_and_succeeds() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "# nothing here\n\n");
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 0);
    assert!(stderr(&out).contains("no tasks in tasks.txt"), "{}", stderr(&out));
}

#[test]
fn a_missing_or_directory_task_file_is_a_one_line_error() {
    let sb = Sandbox::new();
    for (arg, needle) in [("nope.txt", "cannot open task file nope.txt"), (".", "it is a directory")] {
        let out = run(sb.exec().arg(arg));
        assert_status!(out, 2);
        let err = stderr(&out);
        assert!(err.contains(needle), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// A bad line in a task file that can be read twice: refused before anything runs, naming
/// the file, the line and the value.
#[test]
fn a_bad_line_in_a_file_is_refused_before_anything_runs() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", b"touch a\ntouch b\nbad \xff line\ntouch c\n");
    let out = run(sb.exec().args(["--jobs", "1", "tasks.txt"]));
    assert_status!(out, 2);
    let err = stderr(&out);
    assert!(err.contains("tasks.txt:3: not valid UTF-8"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!sb.path("a").exists() && !sb.path("log.jsonl").exists(), "nothing runs, nothing is written");
}

/// A bad line in the middle of a stream (stdin): the tasks before it ran and are logged,
/// nothing after it starts, and the error names the line and the value.
#[test]
fn a_bad_line_mid_stream_stops_starting_tasks_and_keeps_the_log() {
    use std::io::Write;
    let sb = Sandbox::new();
    let mut child =
        sb.exec().args(["--jobs", "1", "-"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"touch a\ntouch b\nbad \xff line\ntouch c\n").unwrap();
    let out = child.wait_with_output().unwrap();
    // Not 2: tasks ran and were logged; 2 promises that nothing was written.
    assert_status!(out, 255);
    let err = stderr(&out);
    assert!(err.contains("<stdin>:3: not valid UTF-8"), "{err}");
    assert!(sb.path("a").exists() && sb.path("b").exists());
    assert!(!sb.path("c").exists(), "no task after the bad line may start");
    assert_eq!(sb.records().tasks.len(), 2);
}

#[test]
fn the_log_is_appended_run_after_run() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\ntrue\n");
    run(sb.exec().arg("tasks.txt"));
    run(sb.exec().arg("tasks.txt"));
    let (runs, tasks) = sb.log();
    assert_eq!(runs.len(), 2);
    assert_eq!(tasks.len(), 4);
    for key in ["version", "taskfile", "threads", "slots", "start", "host", "cpus"] {
        assert!(!runs[0][key].is_null(), "run record lacks {key}");
    }
    for key in [
        "seq",
        "slot",
        "cpus",
        "cmd",
        "start",
        "wall_s",
        "exit",
        "signal",
        "utime_s",
        "stime_s",
        "maxrss_kb",
        "minflt",
        "majflt",
        "nvcsw",
        "nivcsw",
        "host",
    ] {
        assert!(tasks[0].get(key).is_some(), "task record lacks {key}");
    }
}

#[test]
fn the_default_log_is_named_after_the_task_file() {
    let sb = Sandbox::new();
    sb.write("sweep.txt", "true\n");
    let out = run(hrun().current_dir(sb.root()).args(["exec", "sweep.txt"]));
    assert_status!(out, 0);
    let log = read_records(&sb.path(".hrun/sweep.hrun.jsonl"));
    assert_eq!((log.runs.len(), log.tasks.len()), (1, 1));
    assert!(stderr(&out).contains("run log .hrun/sweep.hrun.jsonl"), "{}", stderr(&out));
    // `hrun status` with no log named reads them there.
    let status = run(hrun().current_dir(sb.root()).arg("status"));
    assert_status!(status, 0);
    assert!(String::from_utf8_lossy(&status.stdout).contains("1 done"), "{:?}", status);
}

#[test]
fn a_second_hrun_on_the_same_log_is_refused() {
    let sb = Sandbox::new();
    sb.write("slow.txt", "touch ready; while [ ! -e go ]; do sleep 0.02; done\n");
    sb.write("other.txt", "touch ran\n");
    let mut first = sb.exec().arg("slow.txt").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for_file(&sb.path("ready"), Duration::from_secs(10));
    let out = run(sb.exec().arg("other.txt"));
    assert_status!(out, 2);
    assert!(stderr(&out).contains("in use by another hrun"), "{}", stderr(&out));
    assert!(!sb.path("ran").exists());
    sb.write("go", "");
    assert_eq!(first.wait().unwrap().code(), Some(0));
}

/// SIGTERM to hrun reaches every running task's process group; hrun logs them and exits 143.
#[test]
fn sigterm_is_forwarded_to_running_tasks_and_logged() {
    let sb = Sandbox::new();
    // The task's child `sleep` is in the task's process group, so it gets the signal too.
    sb.write("tasks.txt", "touch ready.{#}; sleep 100\n".repeat(2) + "touch never\n");
    let child = sb.exec().args(["--jobs", "1", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_file(&sb.path("ready.1"), Duration::from_secs(10));
    let pid = child.id() as i32;
    send_signal(pid, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_status!(out, 143);
    assert!(!sb.path("never").exists());
    let tasks = sb.records().tasks;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].signal, Some(15));
    assert!(stderr(&out).contains("2 not run"), "{}", stderr(&out));
}

/// Lines without shell syntax run without a shell; what the shell would report (command not
/// found 127, not executable 126, a script without `#!`) must not change.
#[test]
fn plain_lines_behave_exactly_as_through_the_shell() {
    let sb = Sandbox::new();
    sb.write("script", "echo from-script > script.out\n");
    sb.write("noexec", "#!/bin/sh\ntrue\n");
    std::process::Command::new("chmod").args(["+x", "script"]).current_dir(sb.root()).status().unwrap();
    sb.write(
        "tasks.txt",
        "no_such_program_hrun_test --flag\n./script\n./noexec\nsh -c exit\\ 9\ntrue\nfalse\n",
    );
    let out = run(sb.exec().args(["--jobs", "1", "tasks.txt"]));
    let exits: Vec<_> = sb.records().tasks.iter().map(|t| t.exit).collect();
    assert_eq!(exits, [Some(127), Some(0), Some(126), Some(9), Some(0), Some(1)], "{}", stderr(&out));
    assert_eq!(sb.read("script.out"), "from-script\n");
    let err = stderr(&out);
    // The message is the shell's: dash says "not found", bash "command not found".
    assert!(
        err.contains("no_such_program_hrun_test: ") && err.contains("not found"),
        "the shell's message: {err}"
    );
}

/// Each run ends its log section with an end record holding the summary's numbers, and the
/// summary reports the dispatch latency hrun measured.
#[test]
fn the_run_ends_with_an_end_record_and_reports_dispatch_latency() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n".repeat(6) + "false\n");
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 1);
    let log = sb.records();
    let end = log.end();
    assert_eq!((end.tasks, end.failed, end.exit), (7, 1, 1));
    assert!((0.0..=1.05).contains(&end.cpu_efficiency), "{end:?}");
    // The dispatch latency is the end line's alone (not in the summary type).
    let text = sb.read("log.jsonl");
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "end");
    let mean = last["dispatch_mean_us"].as_f64().unwrap();
    let max = last["dispatch_max_us"].as_f64().unwrap();
    assert!(mean > 0.0 && max >= mean, "{last}");
    assert!(stderr(&out).contains("CPU efficiency"), "{}", stderr(&out));
    assert!(stderr(&out).contains("dispatch latency (slot free -> next exec) mean"), "{}", stderr(&out));
}

#[test]
fn hrun_alone_prints_the_help_and_exits_2() {
    let out = run(&mut hrun());
    assert_status!(out, 2);
    let err = stderr(&out);
    for sub in ["exec", "gen", "reduce", "run", "slots", "tune"] {
        assert!(err.contains(sub), "{sub} missing from the help: {err}");
    }
    // Every exit status, 102 (stopped early with tasks left) included, in both helps.
    assert!(err.contains("  102      stopped early with tasks left"), "{err}");
    let out = run(hrun().args(["exec", "--help"]));
    assert!(stdout(&out).contains("  102      stopped early with tasks left"), "{}", stdout(&out));
}

/// Provenance: the run record names the kernel and Slurm job; each task record names the
/// program its line ran and the SHA-256 of that file.
#[test]
fn records_carry_provenance() {
    let sb = Sandbox::new();
    let copy = sb.path("myprog");
    std::fs::copy("/bin/true", &copy).unwrap();
    sb.write("tasks.txt", format!("{} --x\necho hi > out\ncd /\n", copy.display()));
    let out = run(sb.exec().arg("tasks.txt").env("SLURM_JOB_ID", "4242").env("SLURMD_NODENAME", "n017"));
    assert_status!(out, 0);
    let Log { runs, tasks, .. } = sb.records();
    assert!(!runs[0].kernel.is_empty());
    let slurm = runs[0].slurm.clone().expect("the Slurm job");
    assert_eq!((slurm.job_id.as_deref(), slurm.node.as_deref()), (Some("4242"), Some("n017")));
    let want = std::process::Command::new("sha256sum").arg(&copy).output().unwrap();
    let want = String::from_utf8_lossy(&want.stdout).split_whitespace().next().unwrap().to_string();
    assert_eq!(tasks[0].exe.as_deref(), std::fs::canonicalize(&copy).unwrap().to_str());
    assert_eq!(tasks[0].exe_sha256.as_deref(), Some(want.as_str()));
    assert_eq!(tasks[1].exe, None, "echo through the shell is its builtin");
    assert_eq!(tasks[2].exe, None, "cd is a builtin");
}

#[test]
fn completions_and_man_page() {
    let out = run(hrun().args(["completions", "bash"]));
    assert_status!(out, 0);
    let script = stdout(&out);
    assert!(script.contains("exec") && script.contains("--threads"));
    let check =
        std::process::Command::new("bash").arg("-n").stdin(std::process::Stdio::piped()).spawn().and_then(
            |mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait()
            },
        );
    assert!(check.unwrap().success(), "the bash completion script parses");
    for shell in ["zsh", "fish"] {
        let out = run(hrun().args(["completions", shell]));
        assert!(out.status.success() && stdout(&out).contains("hrun"), "{shell}");
    }
    let man = run(hrun().arg("man"));
    assert!(stdout(&man).starts_with(".ie") || stdout(&man).contains(".TH hrun"), "{}", stdout(&man));
}

/// Every page hrun(1) names in its SUBCOMMANDS section (`hrun-exec(1)`, ...) is one `hrun man`
/// prints; an unknown name is refused in one line.
#[test]
fn every_man_page_hrun_names_exists() {
    let top = stdout(&run(hrun().arg("man")));
    // The SUBCOMMANDS section: a line `hrun\-exec(1)` per command.
    let named: Vec<&str> =
        top.lines().filter_map(|l| l.strip_prefix("hrun\\-")?.strip_suffix("(1)")).collect();
    assert!(named.contains(&"exec") && named.contains(&"reduce"), "{named:?} in\n{top}");
    for name in named {
        let out = run(hrun().args(["man", name]));
        assert_eq!(out.status.code(), Some(0), "hrun man {name}: {}", stderr(&out));
        assert!(stdout(&out).contains(&format!(".TH hrun-{name} 1")), "hrun man {name}:\n{}", stdout(&out));
    }
    let out = run(hrun().args(["man", "nope"]));
    assert_status!(out, 2);
    assert!(stderr(&out).contains("no command \"nope\" (one of: exec,"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

/// A task file that is a pipe (`hrun exec <(gen ...)`, a FIFO) is read once, as a stream.
#[test]
fn a_fifo_task_file_is_read_once() {
    let sb = Sandbox::new();
    let fifo = sb.path("tasks.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, "echo a > a\necho b > b\n").unwrap())
    };
    let out = run(sb.exec().arg(&fifo));
    writer.join().unwrap();
    assert_status!(out, 0);
    assert_eq!((sb.read("a"), sb.read("b")), ("a\n".to_string(), "b\n".to_string()));
}

/// Issue 26: 7. Counts read as English ("1 slot x 1 CPU", not "1 slot(s) x 1 CPU(s)"), slot
/// utilisation is never shown above 100%, and `hrun gen --threads` above this machine's CPUs
/// notes it (the file may be for a bigger node) and still writes the file.
#[test]
fn summary_counts_and_gen_threads_read_plainly() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["-j", "1", "true", ":::", "1", "2"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains(" on 1 slot x 1 CPU; slot utilisation "), "{err}");
    // The summary's count (issue 26, second walkthrough: "1 task(s)").
    let one = run(sb.exec().args(["true", ":::", "1"]));
    assert!(stderr(&one).contains("hrun: 1 task: 1 ok, 0 failed"), "{}", stderr(&one));
    let pct: f64 = err.split("slot utilisation ").nth(1).unwrap().split('%').next().unwrap().parse().unwrap();
    assert!(pct <= 100.0, "{err}");
    let more = (usable_cpus().len() + 1).to_string();
    let out = run(hrun().current_dir(sb.root()).args(["gen", "--tasks", "1", "--threads", &more]));
    assert_status!(out, 0);
    assert!(
        stderr(&out)
            .contains(&format!("note: --threads {more} is more than the {} CPU", usable_cpus().len())),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains(&format!("#hrun threads={more}\n")));
    let out = run(hrun().current_dir(sb.root()).args(["gen", "--tasks", "1", "--threads", "1"]));
    assert!(!stderr(&out).contains("note"), "{}", stderr(&out));
}

/// Issue 26 (second walkthrough): `for i in 1; do echo {}; done` made `.hrun/i-....hrun.jsonl`,
/// the loop's variable taken for the program.
#[test]
fn a_default_log_is_named_after_the_program_a_loop_runs() {
    let sb = Sandbox::new();
    let out =
        run(hrun().current_dir(sb.root()).args(["exec", "-q", "for i in 1; do echo {}; done", ":::", "1"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let logs: Vec<String> = std::fs::read_dir(sb.path(".hrun"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(matches!(&logs[..], [one] if one.starts_with("echo-")), "{logs:?}");
}
