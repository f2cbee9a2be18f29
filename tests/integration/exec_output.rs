//! Task output: grouped per task, never interleaved, never buffered in memory.

use crate::harness::*;

#[test]
fn concurrent_tasks_output_never_interleaves() {
    let sb = Sandbox::new();
    // Each task prints many lines slowly enough to overlap with the others.
    let mut file = String::new();
    for name in ["A", "B", "C", "D"] {
        file += &format!("for i in $(seq 2000); do echo {name}$i; echo err{name}$i >&2; done\n");
    }
    sb.write("tasks.txt", file);
    let out = run(sb.exec().arg("tasks.txt"));
    assert_eq!(out.status.code(), Some(0));
    for (text, prefix) in [(stdout(&out), ""), (stderr(&out), "err")] {
        // Each task's lines form one contiguous block, in order.
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("hrun:")).collect();
        assert_eq!(lines.len(), 8000);
        for block in lines.chunks(2000) {
            let name = &block[0][prefix.len()..prefix.len() + 1];
            for (i, l) in block.iter().enumerate() {
                assert_eq!(*l, format!("{prefix}{name}{}", i + 1));
            }
        }
    }
}

/// A task printing 200 MB: the bytes all arrive, and hrun's own memory stays small. hrun's
/// peak RSS is measured by running it as a task of an outer hrun, whose log records it.
#[test]
fn a_task_printing_200_mb_goes_through_without_growing_hrun() {
    let sb = Sandbox::new();
    sb.write("inner.txt", "head -c 200000000 /dev/zero\necho small\n");
    sb.write(
        "outer.txt",
        format!("{} exec --log inner.jsonl --jobs 1 inner.txt > big.out\n", env!("CARGO_BIN_EXE_hrun")),
    );
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--log", "outer.jsonl", "outer.txt"]));
    assert_status!(out, 0);
    let size = std::fs::metadata(sb.path("big.out")).unwrap().len();
    assert_eq!(size, 200_000_000 + "small\n".len() as u64);
    let rss_kb = read_records(&sb.path("outer.jsonl")).tasks[0].rusage.maxrss_kb;
    assert!(rss_kb < 64 * 1024, "hrun (and its tasks) peaked at {rss_kb} kB while passing 200 MB through");
}

#[test]
fn output_dir_gets_one_out_and_err_file_per_task() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo out{#}; echo err{#} >&2\n".repeat(3));
    let out = run(sb.exec().args(["--output-dir", "outdir", "tasks.txt"]));
    assert_status!(out, 0);
    assert!(stdout(&out).is_empty(), "task output went to files: {}", stdout(&out));
    for seq in 1..=3 {
        assert_eq!(sb.read(&format!("outdir/{seq}.out")), format!("out{seq}\n"));
        assert_eq!(sb.read(&format!("outdir/{seq}.err")), format!("err{seq}\n"));
    }
}

#[test]
fn an_unwritable_output_dir_is_refused_before_anything_runs() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    sb.write("file", "");
    let out = run(sb.exec().args(["--output-dir", "file/sub", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot create output directory file/sub"), "{}", stderr(&out));
    assert!(!sb.path("ran").exists());
}

/// Not a terminal (a Slurm log): plain status lines on the interval and at the end, with no
/// carriage return or escape code; `--quiet` prints none.
#[test]
fn progress_lines_in_a_log_and_quiet() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 0.25\n".repeat(4));
    let out = run(sb.exec().args(["--jobs", "1", "--progress-interval", "100ms", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("hrun: progress: ")).collect();
    assert!(lines.len() >= 3, "{err}");
    assert!(
        lines.last().unwrap().starts_with("hrun: progress: 4/4 done (ok 4, failed 0, running 0)"),
        "{err}"
    );
    assert!(!err.contains('\r') && !err.contains('\x1b'), "no terminal codes in a log: {err:?}");
    let out = run(sb.exec().args(["--quiet", "--progress-interval", "100ms", "tasks.txt"]));
    assert!(!stderr(&out).contains("progress:"), "{}", stderr(&out));
}

/// On a terminal: a bar, which task output never lands inside.
#[test]
fn progress_bar_on_a_terminal_keeps_task_output_whole() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 0.2; echo LINE-A\nsleep 0.3; echo LINE-B\n".repeat(2));
    let cmd = format!(
        "{} exec --log {} {}",
        env!("CARGO_BIN_EXE_hrun"),
        sb.path("log.jsonl").display(),
        sb.path("tasks.txt").display()
    );
    let out = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("ok 4, failed 0, running 0") || screen.contains("4/4"),
        "a bar was drawn: {screen:?}"
    );
    for name in ["LINE-A", "LINE-B"] {
        assert_eq!(
            screen.matches(&format!("{name}\r\n")).count(),
            2,
            "{name} whole on its own line: {screen:?}"
        );
    }
}

/// Issue 15: a frame showed `16/16 ok 15, running 1` (the position drawn before the counts
/// followed). On a real terminal, every frame's numbers agree with each other.
#[test]
fn progress_bar_frames_on_a_terminal_are_consistent() {
    let sb = Sandbox::new();
    let tasks: String = (0..16).map(|i| format!("sleep 0.0{}\n", i % 5)).collect();
    sb.write("tasks.txt", tasks);
    let cmd = format!(
        "{} exec --log {} {}",
        env!("CARGO_BIN_EXE_hrun"),
        sb.path("log.jsonl").display(),
        sb.path("tasks.txt").display()
    );
    let out = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let screen = String::from_utf8_lossy(&out.stdout);
    let re = regex::Regex::new(r"(\d+)/(\d+) ok (\d+), failed (\d+), running (\d+)").unwrap();
    let frames: Vec<[u64; 5]> =
        re.captures_iter(&screen).map(|c| [1, 2, 3, 4, 5].map(|i| c[i].parse().unwrap())).collect();
    assert!(!frames.is_empty(), "a bar was drawn: {screen:?}");
    for [done, total, ok, failed, running] in &frames {
        assert_eq!(
            *done,
            ok + failed,
            "{done}/{total} ok {ok}, failed {failed}, running {running}: {screen:?}"
        );
        assert!(done + running <= *total && *total == 16, "{screen:?}");
    }
}

/// GNU's `--line-buffer`: a running task's whole lines are shown as they come (here the task
/// waits for its first line to be seen before it ends), lines are never cut, and the bytes
/// are GNU parallel's (`--tag`, a last line without a newline, one slot for a fixed order).
#[test]
fn line_buffer_shows_whole_lines_as_they_come() {
    use std::io::BufRead;
    let sb = Sandbox::new();
    let mut child = sb
        .exec()
        .args([
            "-q",
            "--line-buffer",
            "echo started-{}; while [ ! -e go ]; do sleep 0.05; done; echo done-{}",
            ":::",
            "a",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, "started-a", "the first line comes while the task still runs");
    sb.write("go", "");
    assert_eq!(lines.next().unwrap().unwrap(), "done-a");
    assert!(child.wait().unwrap().success());
    let Some(mut gnu) = gnu_parallel() else { return };
    let args = ["-j", "1", "--line-buffer", "--tag", "printf '{}-a\\n{}-b'", ":::", "x", "y"];
    let g = run(gnu.current_dir(sb.root()).args(args));
    let h = run(sb.exec().arg("-q").args(args));
    assert_eq!(stdout(&h), stdout(&g), "hrun (left) and GNU");
    assert_eq!(h.status.code(), g.status.code());
}

/// GNU's `-k --line-buffer` (refused before): the oldest running task's lines come as it
/// writes them (here it waits for its first line to be seen), later tasks' when every task
/// before them has ended, so the bytes are `-k`'s: GNU's, stdout and stderr, as `parallel`.
#[test]
fn keep_order_line_buffer_shows_the_oldest_task_as_it_comes_the_rest_in_order() {
    use std::io::BufRead;
    let sb = Sandbox::new();
    let wait = "echo start-{}; [ {} = 1 ] && while [ ! -e go ]; do sleep 0.05; done; echo end-{}";
    let mut child = std::process::Command::new(as_parallel(&sb))
        .current_dir(sb.root())
        .env("PARALLEL_HOME", sb.path("ph"))
        .args(["--will-cite", "-k", "--lb", "-j", "3", wait, ":::", "1", "2", "3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "start-1", "the oldest task's line while it runs");
    sb.write("go", "");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(rest, ["end-1", "start-2", "end-2", "start-3", "end-3"]);
    assert!(child.wait().unwrap().success());
    let mixed = "echo o{}; echo e{} >&2; sleep 0.{}; printf 'p{}'";
    for args in [
        vec!["-k", "--lb", mixed, ":::", "3", "1", "2"],
        vec!["-k", "--line-buffer", "--tag", mixed, ":::", "2", "1"],
        vec!["-k", "--lb", "-j", "1", mixed, ":::", "1", "2"],
    ] {
        let Some(g) = run_gnu(&sb, &args, b"") else { return };
        parallel_matches(&sb, &args, b"", &g);
    }
}

/// Two runs one after the other on one `--output-dir`, their outputs of one size: `hrun
/// results` of the first showed the second's `1.out` as its task's Stdout (the check was by
/// size and by a time two seconds wide). The record names the file the task wrote.
#[test]
fn results_of_an_earlier_run_never_show_a_later_runs_output_file() {
    let sb = Sandbox::new();
    for (log, word) in [("a.jsonl", "aaa"), ("b.jsonl", "bbb")] {
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "-q",
            "--log",
            log,
            "--output-dir",
            "out",
            "echo",
            word,
            ":::",
            "1",
            "2",
        ]));
        assert_status!(out, 0);
    }
    let rows = |log: &str| {
        let out = run(hrun().current_dir(sb.root()).args(["results", log, "-o", "-.json"]));
        assert_status!(out, 0);
        let stdouts: Vec<String> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["Stdout"].as_str().unwrap().into())
            .collect();
        (stdouts, stderr(&out))
    };
    let (a, warned) = rows("a.jsonl");
    assert_eq!(a, ["", ""], "run A's rows must not hold run B's output");
    assert!(warned.contains("out/1.out is not the output of task 1"), "{warned}");
    assert!(warned.contains("out/2.out is not the output of task 2"), "{warned}");
    let (b, warned) = rows("b.jsonl");
    assert_eq!(b, ["bbb 1\n", "bbb 2\n"], "{warned}");
    assert!(!warned.contains("is not the output"), "{warned}");
}
