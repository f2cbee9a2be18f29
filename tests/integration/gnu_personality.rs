//! Issue 22: hrun run as `parallel` (a symlink named so) behaves as GNU parallel 20221122 on
//! its command line and standard streams, byte for byte, while every task still gets its slot,
//! its rusage and its record in the log; `hrun exec` keeps hrun's own conventions.

use std::process::{Command, Output, Stdio};

use crate::harness::*;

/// Runs `program args` in `sb` with GNU's profile directory `sb/ph`, HOME `sb` and `env`.
fn run_as(
    sb: &Sandbox,
    program: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &[u8],
) -> Output {
    use std::io::Write;
    let mut c = Command::new(program);
    c.current_dir(sb.root())
        .env("PARALLEL_HOME", sb.path("ph"))
        .env("HOME", sb.root())
        .env_remove("PARALLEL")
        .envs(env.iter().copied())
        .arg("--will-cite")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// GNU parallel and hrun as `parallel` on the same words: the same stdout, stderr and exit.
fn same(sb: &Sandbox, env: &[(&str, &str)], args: &[&str], stdin: &[u8]) {
    if gnu_parallel().is_none() {
        return;
    }
    let ours = as_parallel(sb);
    let g = run_as(sb, std::path::Path::new("parallel"), env, args, stdin);
    let h = run_as(sb, &ours, env, args, stdin);
    assert_eq!(stdout(&h), stdout(&g), "{args:?} {env:?}: stdout, hrun (left) and GNU");
    assert_eq!(stderr(&h), stderr(&g), "{args:?} {env:?}: stderr, hrun (left) and GNU");
    assert_eq!(h.status.code(), g.status.code(), "{args:?} {env:?}: exit");
}

/// GNU's meanings of `-q` (quote), `-t` (commands on stderr), `-v` (commands before their
/// output), `--silent`, no summary and no hrun notes or warnings, exit = failed jobs,
/// `--min-version`; each against GNU byte for byte.
#[test]
fn as_parallel_the_streams_are_gnus() {
    let sb = Sandbox::new();
    for args in [
        vec!["-k", "-v", "echo", "{}", ":::", "a", "b c"],
        vec!["-k", "-t", "echo", "{}", ":::", "a", "b c"],
        vec!["-q", "-k", "echo", "{} x;y", ":::", "a b", "c'd"],
        vec!["-k", "-q", "echo", "$HOME", "{}{}", ":::", "$x"],
        vec!["-kv", "--tag", "echo", "{}", ":::", "a", "b"],
        vec!["-k", "-v", "--silent", "echo", ":::", "a"],
        vec!["-k", "-j", "8", "echo", ":::", "1", "2", "3"],
        vec!["-k", "sh", "-c", "echo {}; exit {}", ":::", "0", "1", "3"],
        vec!["--min-version", "20130222"],
        vec!["--min-version", "20991231"],
        vec!["-k", "--group", "--no-keep-order", "-j", "1", "echo", ":::", "a", "b"],
    ] {
        same(&sb, &[], &args, b"");
    }
    // Commands on standard input, as `parallel < cmds.txt`.
    same(&sb, &[], &["-k", "-v"], b"echo 1\nexit 3\necho 'a b'\n");
}

/// As `parallel`, hrun reads what GNU reads before the command line: its profile (and `-J
/// NAME`), `$PARALLEL`, and neither after `--plain`; compared with GNU.
#[test]
fn as_parallel_profiles_and_the_variable_are_read() {
    let sb = Sandbox::new();
    as_parallel(&sb);
    sb.write("ph/config", "-k\n# a comment --nothing\n--tag\n");
    sb.write("ph/fast", "-k --tagstring [{}]\n");
    same(&sb, &[], &["echo", ":::", "b", "a"], b"");
    same(&sb, &[], &["--plain", "-k", "echo", ":::", "b", "a"], b"");
    same(&sb, &[], &["-J", "fast", "echo", ":::", "b", "a"], b"");
    same(&sb, &[("PARALLEL", "-v -j1")], &["echo", ":::", "b", "a"], b"");
    // A profile that holds a command (GNU would put it before the line's) is refused.
    sb.write("ph/config", "nice -n 5\n");
    let ours = as_parallel(&sb);
    let out = run_as(&sb, &ours, &[], &["echo", ":::", "a"], b"");
    assert_status!(out, 2);
    assert!(stderr(&out).contains("holds words of a command (nice -n 5)"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

/// Every task run as `parallel` is still hrun's: pinned to a slot, its rusage and exit in
/// the run log (under .hrun/), which `hrun status` reads.
#[test]
fn as_parallel_every_task_is_still_logged_and_pinned() {
    let sb = Sandbox::new();
    let ours = as_parallel(&sb);
    let out = run_as(
        &sb,
        &ours,
        &[],
        &["-j", "2", "grep Cpus_allowed_list /proc/self/status; exit {}", ":::", "0", "1", "0"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "one job failed: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "nothing of hrun's own on stderr");
    let logs: Vec<_> = std::fs::read_dir(sb.path(".hrun")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(logs.len(), 1, "one default log: {logs:?}");
    let tasks = read_records(&logs[0]).tasks;
    assert_eq!(tasks.len(), 3);
    for t in &tasks {
        assert!(!t.cpus.is_empty(), "{t:?}");
        assert!(t.rusage.maxrss_kb > 0, "{t:?}");
    }
    let printed = stdout(&out);
    let pinned: Vec<&str> = printed.lines().map(|l| l.split('\t').next_back().unwrap_or("").trim()).collect();
    let logged: Vec<&str> = tasks.iter().map(|t| t.cpus.as_str()).collect();
    for cpus in &pinned {
        assert!(logged.contains(cpus), "a task ran on {cpus}, not a slot of the log {logged:?}");
    }
}

/// `hrun exec` keeps hrun's conventions: `-q` is `--quiet`, `-t` is `--threads`, and GNU's
/// meanings are there by their long names (`--quote`, `--verbose`).
#[test]
fn hrun_exec_keeps_its_own_q_and_t() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["-q", "-t", "1", "-k", "echo", "{}", ":::", "a;b"]));
    assert_status!(out, 0);
    assert_eq!(stdout(&out), "a;b\n");
    assert_eq!(stderr(&out), "", "-q is --quiet");
    let out = run(sb.exec().args(["-q", "-k", "--quote", "--verbose", "echo", "{} x;y", ":::", "a"]));
    assert_eq!(stdout(&out), "a x;y\n");
    assert_eq!(stderr(&out), "echo 'a x;y'\n");
}

/// Several `parallel` runs of one command at once (a script starting them in the background)
/// each run, as GNU's do: a default run log another run holds gives way to a sibling
/// (`<stem>.run-2.hrun.jsonl`, which `--resume` reads too), never a refusal. The second run's streams and exit are GNU's.
#[test]
fn as_parallel_runs_of_one_command_at_once_each_get_a_log() {
    let sb = Sandbox::new();
    let ours = as_parallel(&sb);
    let cmd = "[ {} = a ] && { touch started; while [ ! -e go ]; do sleep 0.05; done; }; echo {}";
    let mut first = Command::new(&ours);
    first
        .current_dir(sb.root())
        .env("PARALLEL_HOME", sb.path("ph"))
        .env_remove("PARALLEL")
        .args(["--will-cite", cmd, ":::", "a"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let first = first.spawn().unwrap();
    wait_for_file(&sb.path("started"), std::time::Duration::from_secs(60));
    let second = run_as_parallel(&sb, &[cmd, ":::", "b"], b"");
    std::fs::write(sb.path("go"), "").unwrap();
    let first = first.wait_with_output().unwrap();
    assert_eq!((stdout(&first).as_str(), stderr(&first).as_str()), ("a\n", ""));
    assert_eq!(first.status.code(), Some(0));
    if let Some(g) = run_gnu(&sb, &[cmd, ":::", "b"], b"") {
        assert_eq!(stdout(&second), stdout(&g), "second run's stdout, hrun (left) and GNU");
        assert_eq!(stderr(&second), stderr(&g), "second run's stderr, hrun (left) and GNU");
        assert_eq!(second.status.code(), g.status.code(), "second run's exit");
    }
    assert_eq!(stdout(&second), "b\n", "{}", stderr(&second));
    let logs: Vec<String> = std::fs::read_dir(sb.path(".hrun"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(logs.len(), 2, "a log each: {logs:?}");
    let first_log = logs.iter().find(|l| !l.contains(".run-")).expect("the default name");
    let second_log = first_log.replace(".hrun.jsonl", ".run-2.hrun.jsonl");
    assert!(logs.contains(&second_log), "{logs:?}");
    for (log, value) in [(first_log, "a"), (&second_log, "b")] {
        let tasks = read_records(&sb.path(&format!(".hrun/{log}"))).tasks;
        assert_eq!(tasks.len(), 1, "{log}");
        assert!(tasks[0].cmd.ends_with(&format!("echo {value}")), "{log}: {:?}", tasks[0].cmd);
    }
}

/// GNU's `-j 0` as `parallel`: as many jobs at once as possible (here all three wait until all
/// three have started), GNU's streams and exit; `hrun exec` still refuses it (its tests).
#[test]
fn as_parallel_jobs_zero_runs_every_job_at_once() {
    let sb = Sandbox::new();
    let barrier = "touch s{}; while [ $(ls s? | wc -l) -lt 3 ]; do sleep 0.05; done; echo {}";
    let mut ours = Command::new(as_parallel(&sb));
    ours.current_dir(sb.root()).env("PARALLEL_HOME", sb.path("ph")).env_remove("PARALLEL");
    ours.args(["--will-cite", "-j0", "-k", barrier, ":::", "1", "2", "3"]);
    let h = run_within(&mut ours, std::time::Duration::from_secs(60));
    assert_eq!((stdout(&h).as_str(), stderr(&h).as_str(), h.status.code()), ("1\n2\n3\n", "", Some(0)));
    for f in ["s1", "s2", "s3"] {
        std::fs::remove_file(sb.path(f)).unwrap();
    }
    if let Some(g) = run_gnu(&sb, &["-j0", "-k", barrier, ":::", "1", "2", "3"], b"") {
        assert_eq!(stdout(&h), stdout(&g), "hrun (left) and GNU");
        assert_eq!(h.status.code(), g.status.code());
    }
}

/// GNU's par_incomplete_linebuffer, par_max_length_len_128k: when the reader of its output
/// ends (`| head`), GNU says nothing; as `parallel`, nor does hrun (hrun exec explains it).
#[test]
fn a_closed_standard_output_is_not_remarked_on_as_parallel() {
    let sb = Sandbox::new();
    let parallel = as_parallel(&sb);
    let line = format!(
        "seq 1 100 | PARALLEL_HOME={} {} --will-cite -j1 'echo {{}}' | head -2",
        sb.path("ph").display(),
        parallel.display()
    );
    let out = run(Command::new("sh").current_dir(sb.root()).args(["-c", &line]));
    assert_eq!(stdout(&out), "1\n2\n");
    assert_eq!(stderr(&out), "", "nothing said");
}

/// GNU's par_PARALLEL_ENV, par_do_not_export_PARALLEL_ENV: `$PARALLEL_ENV` (env_parallel's
/// shell code, or a file of it, `\x01` for a newline) runs before every command and is not
/// passed on.
#[test]
fn parallel_env_runs_before_each_command_and_is_not_passed_on() {
    let sb = Sandbox::new();
    sb.write("penv", "f() { echo in f $1; }\x01v=set");
    for env in ["myvar=\"OK as variable\"".to_string(), sb.path("penv").display().to_string()] {
        for args in
            [&["-k", "echo $myvar {} x$PARALLEL_ENV", ":::", "1", "2"][..], &["f {}; echo $v", ":::", "3"]]
        {
            let gnu = gnu_parallel()
                .map(|mut g| run(g.env("PARALLEL_ENV", &env).current_dir(sb.root()).args(args)));
            let mut exec = sb.exec();
            let hrun = run(exec.env("PARALLEL_ENV", &env).arg("--quiet").args(args));
            assert_status!(hrun, 0);
            if env.starts_with("myvar") && args.len() == 5 {
                assert_eq!(stdout(&hrun), "OK as variable 1 x\nOK as variable 2 x\n");
            }
            if !env.starts_with("myvar") && args.len() == 3 {
                assert_eq!(stdout(&hrun), "in f 3\nset\n");
            }
            if let Some(g) = gnu {
                assert_eq!(stdout(&hrun), stdout(&g), "{env}: {args:?}");
            }
        }
    }
}
