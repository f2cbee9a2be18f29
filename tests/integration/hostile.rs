//! Careless and hostile input, each case a defect once (issue 13 and the template review):
//! hrun must not lose data, write over its inputs, hang, or stop a whole run for one task.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(30);

/// A shell line's child that checkpoints on SIGTERM gets the whole --grace, with --timeout and
/// with a SIGTERM forwarded to the run alike; it is not killed at once and not called leaked.
#[test]
fn grace_reaches_the_children_of_a_shell_line() {
    let line = |x: &str| {
        format!(
            "cd . && sh -c \"trap 'sleep 0.5; echo saved > ckpt.{x}; exit 0' TERM; touch ready.{x}; \
             while :; do sleep 0.05; done\"\n"
        )
    };
    // --timeout: the shell (the task's main process) dies of the TERM at once, its child saves.
    let sb = Sandbox::new();
    sb.write("tasks.txt", line("t"));
    let out = run(sb.exec().args(["--timeout", "1s", "--grace", "5s", "tasks.txt"]));
    assert_status!(out, 1);
    assert_eq!(sb.read("ckpt.t"), "saved\n", "the child had its grace");
    let tasks = sb.records().tasks;
    assert_eq!((tasks[0].timeout, tasks[0].leaked), (true, false));
    // A SIGTERM to hrun, forwarded to the task's group.
    let sb = Sandbox::new();
    sb.write("tasks.txt", line("s"));
    let mut h = sb.exec().args(["--grace", "5s", "tasks.txt"]).stderr(Stdio::null()).spawn().unwrap();
    wait_for_file(&sb.path("ready.s"), LIMIT);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(h.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    assert_eq!(h.wait().unwrap().code(), Some(143));
    assert_eq!(sb.read("ckpt.s"), "saved\n");
    let tasks = sb.records().tasks;
    assert_eq!((tasks[0].cancelled, tasks[0].leaked), (true, false));
}

/// No output path may be an input (or another output): refused before anything is written.
#[test]
fn hrun_never_writes_over_its_inputs() {
    let sb = Sandbox::new();
    sb.write("t.txt", "touch ran\n");
    sb.write("vals", "a\n");
    std::fs::create_dir(sb.path(".hrun")).unwrap();
    std::os::unix::fs::symlink("../t.txt", sb.path(".hrun/t.hrun.jsonl")).unwrap();
    sb.write("1.out", "touch ran\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["exec", "--log", "t.txt", "t.txt"], "--log t.txt is the task file"),
        (vec!["exec", "t.txt"], "--log .hrun/t.hrun.jsonl is the task file"),
        (vec!["exec", "--log", "x.jsonl", "--joblog", "t.txt", "t.txt"], "--joblog t.txt is the task file"),
        (
            vec!["exec", "--log", "x.jsonl", "--results", "vals.csv", "--joblog", "x.jsonl", "t.txt"],
            "also the --log",
        ),
        (
            vec!["exec", "--log", "x.jsonl", "--joblog", "vals", "touch", "ran", "::::", "vals"],
            "is an input source",
        ),
        (vec!["exec", "--log", "x.jsonl", "--output-dir", ".", "1.out"], "is in --output-dir"),
    ];
    for (args, needle) in cases {
        let out = run(hrun().current_dir(sb.root()).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!sb.path("ran").exists(), "{args:?}");
        assert_eq!(sb.read("t.txt"), "touch ran\n", "{args:?}: the task file changed");
        assert_eq!(sb.read("vals"), "a\n");
        assert_eq!(sb.read("1.out"), "touch ran\n");
    }
    sb.write("tasks.txt", "true\n");
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    let log = std::fs::read(sb.path("log.jsonl")).unwrap();
    for sub in [["report", "log.jsonl", "-o", "log.jsonl"], ["results", "log.jsonl", "-o", "log.jsonl"]] {
        let out = run(hrun().current_dir(sb.root()).args(sub));
        assert_eq!(out.status.code(), Some(2), "{sub:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("is a run log being read"), "{}", stderr(&out));
        assert_eq!(std::fs::read(sb.path("log.jsonl")).unwrap(), log, "{sub:?} replaced the log");
    }
}

/// A task file truncated or rewritten in place while hrun reads it stops the run with an
/// error (exit 2), not "all ok" with tasks never run, nor a fragment of a line run.
#[test]
fn a_task_file_changed_during_the_run_stops_it() {
    for how in ["truncate", "rewrite"] {
        let sb = Sandbox::new();
        // Long enough that hrun holds only part of it: 4000 lines of ~70 bytes.
        let lines: String =
            (0..4000).map(|i| format!("echo task-{i:05} >> ran; [ -e go ] || sleep 0.2\n")).collect();
        sb.write("tasks.txt", &lines);
        let h = sb
            .exec()
            .args(["-j", "1", "tasks.txt"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_file(&sb.path("ran"), LIMIT);
        match how {
            "truncate" => std::fs::write(sb.path("tasks.txt"), &lines[..lines.len() / 3]).unwrap(),
            _ => {
                let mut f = std::fs::OpenOptions::new().write(true).open(sb.path("tasks.txt")).unwrap();
                f.write_all(&b"rm -rf x #".repeat(lines.len() / 10)).unwrap();
            }
        }
        sb.write("go", "");
        let out = h.wait_with_output().unwrap();
        let err = stderr(&out);
        // 255, not 2: tasks ran before the change was found (2 promises nothing was written).
        assert_eq!(out.status.code(), Some(255), "{how}: {err}");
        assert!(err.contains("changed while hrun was reading it"), "{how}: {err}");
        assert!(!sb.read("ran").contains("rm"), "{how}");
        let ran = sb.read("ran");
        assert!(ran.lines().all(|l| l.starts_with("task-") && l.len() == 10), "{how}: a fragment ran: {ran}");
    }
}

/// A task whose command is too long for the kernel fails on its own (exit 127, the reason in
/// its record); the run goes on, and the message is short.
#[test]
fn a_command_too_long_for_the_kernel_fails_alone() {
    let sb = Sandbox::new();
    sb.write("vals", format!("short1\n{}\nshort2\n", "c".repeat(200_000)));
    let out = run(sb.exec().args(["-j", "1", "-k", "echo {} | wc -c", "::::", "vals"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.len() < 2000, "a short message, not the whole command: {} bytes", err.len());
    assert!(err.contains("job 2 failed: its command (200013 bytes) is too long for the kernel"), "{err}");
    assert_eq!(stdout(&out).lines().map(|l| l.trim()).collect::<Vec<_>>(), ["7", "7"]);
    let tasks = sb.records().tasks;
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[1].exit, Some(127));
    assert!(tasks[1].error.as_deref().unwrap_or("").contains("too long for the kernel"));
}

/// `--output-dir DIR` writes only files it made: a symlink planted as `DIR/1.out` is replaced,
/// its target left alone.
#[test]
fn a_symlink_planted_in_the_output_dir_is_not_followed() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("out")).unwrap();
    sb.write("victim", "precious\n");
    std::os::unix::fs::symlink("../victim", sb.path("out/1.out")).unwrap();
    std::fs::hard_link(sb.path("victim"), sb.path("out/1.err")).unwrap();
    sb.write("tasks.txt", "echo written; echo err >&2\n");
    let out = run(sb.exec().args(["--output-dir", "out", "tasks.txt"]));
    assert_status!(out, 0);
    assert_eq!(sb.read("victim"), "precious\n");
    assert_eq!(sb.read("out/1.out"), "written\n");
    assert!(!std::fs::symlink_metadata(sb.path("out/1.out")).unwrap().file_type().is_symlink());
}

/// `--resume` while another hrun runs a shard of the same task file: its tasks are running, so
/// resuming now would run them twice: refused.
#[test]
fn resume_refuses_while_another_hrun_holds_a_log() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 30\nsleep 30\n");
    let mut shard = hrun()
        .current_dir(sb.root())
        .args(["exec", "-q", "--shard", "1/2", "tasks.txt"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the shard's first start record", LIMIT, || {
        std::fs::read_to_string(sb.path(".hrun/tasks.shard-1-of-2.hrun.jsonl"))
            .is_ok_and(|t| t.contains("\"kind\":\"start\""))
    });
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--resume", "tasks.txt"]));
    shard.kill().unwrap();
    shard.wait().unwrap();
    assert_status!(out, 2);
    assert!(stderr(&out).contains("in use by another hrun"), "{}", stderr(&out));
}

/// A task naming a device as its program: hrun does not read the device (no hash of
/// /dev/zero), so the run ends at once and stays deaf to nothing.
#[test]
fn a_device_as_a_program_is_not_hashed() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "/dev/zero\n");
    let t0 = Instant::now();
    let out = run_within(sb.exec().arg("tasks.txt"), LIMIT);
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_status!(out, 1);
    assert_eq!(sb.records().tasks[0].exe_sha256, None);
}

/// Counting a huge input happens before signals are taken over: Ctrl-C or scancel ends it.
#[test]
fn counting_a_huge_product_can_be_interrupted() {
    let sb = Sandbox::new();
    let mut args = vec!["exec".to_string(), "-q".into(), "true".into()];
    for _ in 0..30 {
        args.extend([":::".into(), "a".into(), "b".into()]);
    }
    let mut h = hrun().current_dir(sb.root()).args(&args).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(h.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let status = h.wait().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5), "SIGTERM took {:?}", t0.elapsed());
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15));
}

/// Too many tasks at once for the open-files limit: hrun runs as many at once as fit and says
/// so (as GNU parallel does; it refused the run, suggesting a --jobs it refuses itself when
/// not even one fit); a limit too low for one task is refused, naming it.
#[test]
fn jobs_beyond_the_open_files_limit_run_fewer_at_once() {
    let sb = Sandbox::new();
    let hrun_bin = env!("CARGO_BIN_EXE_hrun");
    let values: String = (0..200).map(|i| format!(" {i}")).collect();
    let script = format!(
        "ulimit -n 256 && exec {hrun_bin} exec --log l.jsonl -j 200 'sleep 0.05; touch ran{{}}' :::{values}"
    );
    let out = run(Command::new("sh").arg("-c").arg(script).current_dir(sb.root()));
    assert_status!(out, 0);
    assert!(
        stderr(&out).contains(
            "hrun: warning: only enough open files (ulimit -n 256) to run 38 of the 200 tasks at once: running 38 at a time"
        ),
        "{}",
        stderr(&out)
    );
    assert!((0..200).all(|i| sb.path(&format!("ran{i}")).exists()), "every task ran");
    let slots: std::collections::BTreeSet<usize> =
        read_records(&sb.path("l.jsonl")).tasks.iter().map(|t| t.slot).collect();
    assert!(slots.len() <= 38 && slots.len() > 1, "{slots:?}");
    let script = format!("ulimit -n 20 && exec {hrun_bin} exec -q --log l2.jsonl touch never ::: 1");
    let out = run(Command::new("sh").arg("-c").arg(script).current_dir(sb.root()));
    assert_status!(out, 2);
    assert!(
        stderr(&out).contains("but this process may open only 20 (ulimit -n): raise the limit"),
        "{}",
        stderr(&out)
    );
    assert!(!sb.path("never").exists() && !sb.path("l2.jsonl").exists());
}

/// hrun's stdout closed (`hrun exec ... | head -1`): hrun says so, starts no new task, and
/// exits 141 as a writer killed by SIGPIPE would (and GNU parallel does).
#[test]
fn a_closed_stdout_stops_the_run_and_says_so() {
    let sb = Sandbox::new();
    let lines: String = (0..50).map(|i| format!("seq 1 20000; echo {i} >> ran\n")).collect();
    sb.write("tasks.txt", lines);
    let mut h = sb
        .exec()
        .args(["-j", "1", "tasks.txt"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 2];
    use std::io::Read;
    h.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's read end is closed here.
    let out = h.wait_with_output().unwrap();
    assert_status!(out, 141);
    assert!(stderr(&out).contains("standard output was closed"), "{}", stderr(&out));
    assert!(sb.read("ran").lines().count() < 50, "it stopped starting tasks");
}

/// Escape sequences in a task file's name or a task line never reach the terminal raw.
#[test]
fn escape_sequences_are_shown_escaped() {
    let sb = Sandbox::new();
    let name = "t\x1b]0;pwned\x07.txt";
    sb.write(name, "# no task\n");
    let out = run(sb.exec().arg(name));
    assert!(!stderr(&out).contains('\x1b'), "{:?}", stderr(&out));
    assert!(stderr(&out).contains("\\x1b"), "{:?}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--log", "new.jsonl", "no\x1bsuch"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains('\x1b'), "{:?}", stderr(&out));
}

/// Standard input redirected from a file can be read again: --resume works with `-`.
#[test]
fn stdin_from_a_regular_file_resumes() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo a >> ran\nexit 3\necho c >> ran\n");
    let stdin = || std::fs::File::open(sb.path("tasks.txt")).unwrap();
    let out = sb.exec().args(["-j", "1", "--halt", "soon,fail=1", "-"]).stdin(stdin()).output().unwrap();
    assert_status!(out, 3);
    let out = sb.exec().args(["--resume-failed", "-"]).stdin(stdin()).output().unwrap();
    assert_status!(out, 1);
    assert_eq!(sb.read("ran"), "a\nc\n", "task 1 was not run again, task 3 ran");
}

/// A descendant that starts a session of its own and clears its environment (`setsid env -i`)
/// escaped the guardian when hrun was SIGKILLed; its launcher, a subreaper above every task,
/// now kills it when hrun's socket closes.
#[test]
fn a_setsid_env_cleared_descendant_dies_with_a_killed_hrun() {
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        "setsid env -i sh -c 'echo $$ > escapee.pid; exec sleep 330' & \
         while [ ! -s escapee.pid ]; do sleep 0.01; done; sleep 330\n",
    );
    let mut h = sb.exec().arg("tasks.txt").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for_file(&sb.path("escapee.pid"), LIMIT);
    eventually("the escapee's pid written", LIMIT, || sb.read("escapee.pid").ends_with('\n'));
    let pid: i32 = sb.read("escapee.pid").trim().parse().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    assert!(!environ.windows(8).any(|w| w == b"HRUN_PID"), "the escapee cleared its environment");
    h.kill().unwrap();
    h.wait().unwrap();
    eventually("the escapee gone", LIMIT, || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |s| s.split_whitespace().nth(2) == Some("Z"))
    });
}

/// Under a per-user process limit (`ulimit -u`) hrun ran as many at once as asked, retrying
/// refused starts for ever (a hang when none fit): it runs fewer at once once the kernel
/// refuses (saying so), and stops (255) when every start is refused for 10 s with nothing
/// running. Root is exempt from the limit, so the runs are an unprivileged user's (nobody,
/// through util-linux's setpriv).
#[test]
fn a_process_limit_lowers_how_many_run_at_once_and_never_hangs() {
    let sb = Sandbox::new();
    std::fs::set_permissions(sb.root(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let nobody = |nproc: &str, args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "prlimit", nproc]);
        c.arg(env!("CARGO_BIN_EXE_hrun")).args(args).current_dir(sb.root());
        c
    };
    if !run(&mut nobody("--nproc=64:64", &["--version"])).status.success() {
        eprintln!(
            "a_process_limit_...: nobody cannot run hrun here (setpriv, or a private directory); not run"
        );
        return;
    }
    let mut cmd =
        nobody("--nproc=6:6", &["exec", "--log", "l.jsonl", "-j", "8", "sleep", ":::", "0.3", "0.3", "0.3"]);
    let out = run_within(&mut cmd, Duration::from_secs(60));
    let err = stderr(&out);
    match out.status.code() {
        Some(0) => {
            assert!(read_records(&sb.path("l.jsonl")).tasks.iter().all(|t| t.exit == Some(0)), "{err}");
            if err.contains("the kernel cannot start task") {
                assert!(err.contains("hrun: warning: only enough processes to run"), "{err}");
            }
        }
        // So few that one of hrun's own threads or processes could not start: said.
        Some(255) => assert!(
            err.contains("the kernel refused to start any task for 10s")
                || (err.contains("hrun: error: cannot start the ")
                    && err.contains("Resource temporarily unavailable")),
            "{err}"
        ),
        other => panic!("{other:?}: {err}"),
    }
    // Tasks that start a process of their own (a shell running `sleep`): the first wave of
    // 8 took every process left and the tasks' shells could not fork ("Cannot fork", GNU
    // parallel fails some too). hrun counts what is left before it starts, and keeps room.
    let mut cmd = nobody(
        "--nproc=16:16",
        &[
            "exec",
            "--log",
            "l3.jsonl",
            "-j",
            "8",
            "sh -c 'sleep 0.2; echo {}'",
            ":::",
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "7",
            "8",
        ],
    );
    let out = run_within(&mut cmd, Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("hrun: warning: only enough processes to run"), "{err}");
    assert!(!err.contains("Cannot fork"), "{err}");
    assert_eq!(
        read_records(&sb.path("l3.jsonl")).tasks.iter().filter(|t| t.exit == Some(0)).count(),
        8,
        "{err}"
    );
    // None fits beside hrun's own processes: stopped, not hung.
    let mut cmd =
        nobody("--nproc=4:4", &["exec", "--log", "l2.jsonl", "-j", "8", "sleep", ":::", "0.3", "0.3"]);
    let out = run_within(&mut cmd, Duration::from_secs(60));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
}
