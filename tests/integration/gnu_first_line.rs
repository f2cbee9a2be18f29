//! Issue 22: a GNU parallel user's first literal translation works, or says exactly why not:
//! the shell lines run in, commands on standard input, a quiet run.

use std::process::Stdio;

use crate::harness::*;

/// Runs `args` through GNU parallel and `hrun exec` (with `--quiet`) in `sb`, with `stdin`;
/// asserts the same stdout bytes and exit status.
fn same(sb: &Sandbox, args: &[&str], stdin: &[u8]) {
    same_with(sb, &[], args, stdin)
}

/// [`same`] with variables `env` set for both.
fn same_with(sb: &Sandbox, env: &[(&str, &str)], args: &[&str], stdin: &[u8]) {
    use std::io::Write;
    let Some(mut gnu) = gnu_parallel() else { return };
    let mut ours = hrun();
    ours.args(["exec", "--quiet", "--log"]).arg(sb.path("log.jsonl"));
    // One after the other: a command may keep state in files.
    let mut outs = Vec::new();
    for c in [gnu.args(args), ours.args(args)] {
        c.envs(env.iter().copied());
        c.current_dir(sb.root()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        outs.push(child.wait_with_output().unwrap());
    }
    let (g, h) = (&outs[0], &outs[1]);
    assert_eq!(stdout(h), stdout(g), "{args:?}: hrun (left), GNU (right); hrun said {}", stderr(h));
    assert_eq!(h.status.code(), g.status.code(), "{args:?}: exit; hrun said {}", stderr(h));
}

/// `cat cmds.txt | parallel` and `parallel < cmds.txt` run each line as a command; hrun
/// stopped with "nothing to run".
#[test]
fn commands_on_standard_input_run_as_under_gnu_parallel() {
    let sb = Sandbox::new();
    same(&sb, &["-k"], b"echo 1\necho 'a b'\n# a shell comment\necho {} {#}\nexit 3\necho last");
    same(&sb, &["-k", "-j", "1"], b"");
    // Redirected from a file, it can be resumed: nothing runs twice.
    sb.write("cmds.txt", "echo one >> ran\necho two >> ran\n");
    let stdin = || std::fs::File::open(sb.path("cmds.txt")).unwrap();
    let out = sb.exec().args(["-q", "-j", "1"]).stdin(stdin()).output().unwrap();
    assert_status!(out, 0);
    let out = sb.exec().args(["-q", "-j", "1", "--resume"]).stdin(stdin()).output().unwrap();
    assert_status!(out, 0);
    assert_eq!(sb.read("ran"), "one\ntwo\n");
}

/// GNU parallel runs lines in the shell it was started from ($PARALLEL_SHELL, else its
/// nearest shell ancestor, else $SHELL): bash syntax from a bash prompt works. hrun used
/// /bin/sh, so `<(...)`, `[[ ]]` and `set -o pipefail` failed with dash's syntax errors.
#[test]
fn lines_run_in_the_shell_hrun_was_started_from() {
    let sb = Sandbox::new();
    let bashism = "set -o pipefail; paste <(echo {}) <(echo x); [[ {} == a ]] && echo is-a; true";
    same(&sb, &["-k", bashism, ":::", "a", "b"], b"");
    // Started from bash, whatever the tests run under.
    let hrun_bin = env!("CARGO_BIN_EXE_hrun");
    let script = format!("'{hrun_bin}' exec -q -k --log l.jsonl '{bashism}' ::: a b");
    let out = run(std::process::Command::new("bash")
        .current_dir(sb.root())
        .env_remove("PARALLEL_SHELL")
        .args(["-c", &script]));
    assert_status!(out, 0);
    assert_eq!(stdout(&out), "a\tx\nis-a\nb\tx\n");
    // PARALLEL_SHELL wins, as in GNU parallel.
    let out = run(std::process::Command::new("bash")
        .current_dir(sb.root())
        .env("PARALLEL_SHELL", "/bin/sh")
        .args(["-c", &script]));
    assert_ne!(out.status.code(), Some(0), "dash has no [[ ]] or <(...): {}", stdout(&out));
}

/// Issue 23: a value equal to the name of an exported bash function switched that one job to
/// bash; the shell is decided from the template, never from the values.
#[test]
fn a_value_naming_a_function_does_not_change_the_shell() {
    let sb = Sandbox::new();
    let hrun_bin = env!("CARGO_BIN_EXE_hrun");
    let script = format!(
        "f() {{ echo called-f; }}; export -f f; '{hrun_bin}' exec -q -k --shell /bin/sh --log l.jsonl \
         'echo bash=${{BASH_VERSION:+yes}} {{}}' ::: f g; '{hrun_bin}' exec -q -k --shell /bin/sh --log m.jsonl f ::: 1"
    );
    let out = run(std::process::Command::new("bash").current_dir(sb.root()).args(["-c", &script]));
    assert_status!(out, 0);
    assert_eq!(
        stdout(&out),
        "bash= f\nbash= g\ncalled-f\n",
        "the template that calls f runs with bash, the values never"
    );
}

/// `--quiet` said "no progress bar or status lines" but the summary still printed: a
/// `2>&1 | tee` log differed from GNU's. Now nothing but warnings, errors and failed tasks.
#[test]
fn quiet_prints_nothing_but_failures() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["--quiet", "-k", "echo {}", ":::", "a", "b"]));
    assert_eq!((out.status.code(), stdout(&out).as_str(), stderr(&out).as_str()), (Some(0), "a\nb\n", ""));
    let out = run(sb.exec().args(["-q", "-k", "exit {}", ":::", "0", "3"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "hrun: failed: job 2, exit 3: exit 3\n");
}

/// `--retries 3` made 4 attempts where GNU makes 3, and `--retries 0` (GNU: until it
/// succeeds) made one; `-N0` (run the command once per value, inserting none) was refused;
/// `-d` splits `:::` values too in GNU; `{1<newline>}` is `{1}` there.
#[test]
fn retries_n0_delimited_values_and_blank_replacement_strings_as_gnu() {
    let sb = Sandbox::new();
    // Each tool's own count: hrun's tasks see HRUN_PID.
    let count = "f=n_{}${HRUN_PID:+h}; echo x >> $f; [ $(wc -l < $f) -ge 5 ] && wc -l < $f";
    for (i, args) in [
        vec!["-k", "--retries", "3", "echo x >> m_{}; false", ":::", "a"],
        vec!["-k", "--retries", "0", count, ":::", "b"],
        vec!["-k", "-N0", "echo", "hi", "{#}", ":::", "a", "b", "c"],
        vec!["-k", "-d", ",", "echo", "[{}]", ":::", "a,b,", "c\nd", ",x"],
        vec!["-k", "echo {1\n} {1 .} {-1 } {1. }", ":::", "a/b.x"],
    ]
    .into_iter()
    .enumerate()
    {
        same(&sb, &args, b"");
        if i == 0 {
            // Each ran a and wrote m_a: GNU's three lines, then hrun's three.
            assert_eq!(sb.read("m_a").lines().count(), 6, "3 attempts each");
        }
    }
}

/// `--joblog +FILE` created a file named `+FILE`; GNU appends to FILE. `$PARALLEL` and
/// `~/.parallel/config` were silently ignored by `hrun exec`: it says so.
#[test]
fn joblog_plus_appends_and_gnus_own_settings_are_named_when_ignored() {
    let sb = Sandbox::new();
    for (tool, file) in [("gnu", "g.txt"), ("hrun", "h.txt")] {
        for _ in 0..2 {
            let plus = format!("+{file}");
            let out = match tool {
                "gnu" => match gnu_parallel() {
                    Some(mut c) => {
                        run(c.current_dir(sb.root()).args(["--joblog", &plus, "true", ":::", "a"]))
                    }
                    None => continue,
                },
                _ => run(sb.exec().args(["-q", "--joblog", &plus, "true", ":::", "a"])),
            };
            assert_eq!(out.status.code(), Some(0), "{tool}: {}", stderr(&out));
        }
        if tool == "hrun" || sb.path(file).exists() {
            let rows: Vec<String> =
                sb.read(file).lines().map(|l| l.split('\t').next().unwrap().to_string()).collect();
            assert_eq!(rows, ["1", "1"], "{tool}: a row per run, no header (GNU writes none with +)");
        }
    }
    assert!(!sb.path("+h.txt").exists());
    let home = sb.path("home");
    std::fs::create_dir_all(home.join(".parallel")).unwrap();
    std::fs::write(home.join(".parallel/config"), "-j1\n").unwrap();
    let out = run(sb.exec().env("HOME", &home).env("PARALLEL", "-k").args(["true", ":::", "a"]));
    let err = stderr(&out);
    assert!(err.contains("hrun exec does not read GNU parallel's options in $PARALLEL and"), "{err}");
    assert!(err.contains(".parallel/config"), "{err}");
}

/// GNU ran jobs 1-3 of a sweep, then `hrun exec --resume --joblog jl` on the same line ran
/// them again: where no hrun log knows the sweep, it resumes from the GNU joblog as GNU does,
/// and says so. `--resume-failed` reruns the jobs whose latest row failed.
#[test]
fn a_sweep_gnu_parallel_began_resumes_from_its_joblog() {
    let sb = Sandbox::new();
    let Some(mut gnu) = gnu_parallel() else { return };
    let job = ["echo {} >> ran; [ {} != 2 ]", ":::", "1", "2", "3"];
    run(gnu.current_dir(sb.root()).args(["--joblog", "jl"]).args(job));
    assert_eq!(sb.read("ran").lines().count(), 3);
    let more = ["echo {} >> ran; [ {} != 2 ]", ":::", "1", "2", "3", "4"];
    let out = run(sb.exec().args(["--resume", "--joblog", "jl"]).args(more));
    assert_status!(out, 0);
    assert!(
        stderr(&out).contains("resuming from the joblog jl as GNU parallel does (3 jobs in it"),
        "{}",
        stderr(&out)
    );
    let ran: Vec<String> = sb.read("ran").lines().map(String::from).collect();
    assert_eq!(ran.len(), 4, "only job 4 ran: {ran:?}");
    assert_eq!(ran[3], "4");
    // Now hrun's log knows the sweep (job 4); the joblog is GNU's and hrun's alike.
    let out = run(sb.exec().args(["--resume-failed", "--joblog", "jl"]).args(more));
    assert!(!stderr(&out).contains("resuming from the joblog"), "{}", stderr(&out));
}

/// `ls *.gz | hrun exec --resume ...` (the standard idiom) was refused because the input is
/// read twice; it is read once, each value checked against the log as it streams in.
#[test]
fn resume_streams_input_read_once_against_the_log() {
    use std::io::Write;
    let sb = Sandbox::new();
    let feed = |input: &[u8], extra: &[&str]| {
        let mut child = sb
            .exec()
            .args(["-q", "-j", "1"])
            .args(extra)
            .args(["echo {} >> ran; [ {} != b ]"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    assert_eq!(feed(b"a\nb\n", &[]).status.code(), Some(1), "b fails");
    let out = feed(b"a\nb\nc\na\n", &["--resume"]);
    assert_status!(out, 0);
    assert_eq!(sb.read("ran"), "a\nb\nc\na\n", "c and the second a are new; a and b were done");
    let out = feed(b"a\nb\nc\na\n", &["--resume-failed"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(sb.read("ran"), "a\nb\nc\na\nb\n", "only b again");
    let numbers: Vec<(u64, String)> = sb
        .records()
        .tasks
        .iter()
        .map(|t| (t.seq, t.values.as_ref().expect("a job's values")[0].clone()))
        .collect();
    assert!(numbers.contains(&(3, "c".into())) && numbers.contains(&(4, "a".into())), "{numbers:?}");
}

/// GNU options real scripts use, once refused or unknown: `-I`/`--replace`/`-i`, `--arg-sep`,
/// `--arg-file-sep`, `--trim`, `--tagstring` (with `{#}`), `--dryrun`; byte for byte.
#[test]
fn replace_separators_trim_and_tagstring_as_gnu() {
    let sb = Sandbox::new();
    sb.write("in.txt", "a,b\n c , d \n");
    for args in [
        vec!["-k", "-I", "@@", "echo", "@@", "{.}", "{}", "{1}", "x@@y", ":::", "a.x", "b c"],
        vec!["-k", "-i", "echo", "{}", ":::", "a"],
        vec!["-k", "--arg-sep", ",,", "echo", ",,", "a", "b", ",,+", "1", "2"],
        vec!["-k", "--arg-file-sep", "@@", "echo", "@@", "in.txt"],
        vec!["-k", "--trim", "l", "echo", "[{}]", ":::", " a ", "b "],
        vec!["-k", "--trim", "r", "echo", "[{}]", ":::", " a ", "b "],
        vec!["-k", "--trim", "n", "--colsep", ",", "echo", "[{1}][{2}]", "::::", "in.txt"],
        vec!["-k", "--colsep", ",", "echo", "[{1}][{2}]", "::::", "in.txt"],
        vec!["-k", "--tagstring", "{#}:{1}-x", "echo", "hi", ":::", "a", "b c"],
        vec!["-k", "--dryrun", "echo", "{}", ":::", "a b"],
    ] {
        same(&sb, &args, b"");
    }
}

/// `-E EOF`/`--eof`/`-e` end each input source at a value equal to EOF (an empty EOF, or the
/// option alone, is no end mark), and `--skip-first-line` drops the first value of the first
/// source only; byte for byte with GNU parallel, on stdin, files and `:::` values.
#[test]
fn eof_marks_and_skip_first_line_as_gnu() {
    let sb = Sandbox::new();
    sb.write("f3", "a\nb\nc\n");
    for args in [
        vec!["-k", "-E", "b", "echo", ":::", "a", "b", "c"],
        vec!["-k", "-E", "b", "echo", "::::", "f3", ":::", "x", "y"],
        vec!["-k", "--eof=c", "echo", "::::", "f3"],
        vec!["-k", "-E", "", "echo", ":::", "a", "b"],
        vec!["-k", "-E", " b ", "echo", ":::", "a", "b", " b "],
        vec!["-k", "-E", "b", "echo"],
        vec!["-k", "--skip-first-line", "echo", "::::", "f3", ":::", "1", "2"],
        vec!["-k", "--skip-first-line", "echo"],
    ] {
        same(&sb, &args, b"one\nb\nthree\n");
    }
}

/// Values are quoted for the shell that runs the line: csh and tcsh as GNU parallel quotes
/// for them (`!`, newlines), fish with fish's rules (GNU 20221122 quotes `a\` as `'a\'`, which
/// fish reads as an open quote: here the value arrives whole), and a shell whose quoting hrun
/// does not know is refused before anything is written.
#[test]
fn values_are_quoted_for_the_shell_that_runs_them() {
    let sb = Sandbox::new();
    let values = ["a b", "it's", "x!y", "$HOME", "`id`", "*", "a;b", "{}", "~", "a\\b"];
    for shell in ["tcsh", "csh", "fish"] {
        let Some(path) = which(shell) else {
            assert!(std::env::var_os("CI").is_none(), "{shell} must be installed in CI");
            eprintln!("skipped: {shell} is not installed");
            continue;
        };
        let env = [("PARALLEL_SHELL", path.to_str().unwrap())];
        let mut args = vec!["-k", "-j1", "echo", "x{}x", ":::"];
        args.extend(values);
        same_with(&sb, &env, &args, b"");
        // A dry run shows the lines as that shell gets them: GNU's, but where fish would read
        // a backslash as an escape.
        args.insert(0, "--dry-run");
        if shell == "fish" {
            args.retain(|a| !a.contains('\\'));
            let out = sb
                .exec()
                .args(["-q", "--dry-run", "echo", ":::", "a\\b"])
                .env("PARALLEL_SHELL", &path)
                .output()
                .unwrap();
            assert_eq!(stdout(&out), "echo 'a\\\\b'\n");
        }
        same_with(&sb, &env, &args, b"");
        // A newline in a value (read with -0), and GNU's fish hole closed: a value ends in a
        // backslash.
        sb.write("values", "l1\nl2\0end\\\0é!\0");
        let out = sb
            .exec()
            .args(["-q", "-k", "-0", "-a", "values", "printf", "'<%s>'"])
            .env("PARALLEL_SHELL", &path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        assert_eq!(stdout(&out), "<l1\nl2><end\\><é!>", "{shell}");
    }
    // A shell whose quoting hrun does not know: refused (exit 2), nothing written.
    let sb = Sandbox::new();
    let out = sb
        .exec()
        .args(["--results", "r.csv", "echo", "{}", ":::", "a"])
        .env("PARALLEL_SHELL", which("python3").unwrap())
        .output()
        .unwrap();
    assert_status!(out, 2);
    assert!(stderr(&out).contains("cannot be quoted safely") && stderr(&out).contains("PARALLEL_SHELL"));
    assert!(!sb.path("log.jsonl").exists() && !sb.path("r.csv").exists());
    // With no command the values are the commands: nothing is quoted, nothing refused.
    let out = sb
        .exec()
        .args(["-q", ":::", "print(7)"])
        .env("PARALLEL_SHELL", which("python3").unwrap())
        .output()
        .unwrap();
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "7\n"), "{}", stderr(&out));
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// GNU's `--number-of-cores/-cpus/-threads/-sockets` count the CPUs it may use; so does hrun
/// exec, on this machine (compared with GNU, also under taskset) and on a faked 2x64-core
/// node with SMT.
#[test]
fn number_of_cpus_as_gnu_counts_them() {
    for o in ["--number-of-cores", "--number-of-cpus", "--number-of-threads", "--number-of-sockets"] {
        let Some(mut gnu) = gnu_parallel() else { return };
        let gnus = stdout(&run(gnu.arg(o)));
        let ours = run(hrun().args(["exec", o]));
        assert_eq!((ours.status.code(), stdout(&ours)), (Some(0), gnus), "{o}: {}", stderr(&ours));
        let mut gnu = gnu_parallel().unwrap();
        let one = |c: &mut std::process::Command| {
            let mut t = std::process::Command::new("taskset");
            t.args(["-c", "0"]).arg(c.get_program()).args(c.get_args());
            stdout(&run(&mut t))
        };
        assert_eq!(one(hrun().args(["exec", o])), one(gnu.arg(o)), "{o} under taskset -c 0");
    }
    let sb = Sandbox::new();
    let root = sb.path("sys");
    hrun::topology::fixtures::write_sysfs(&hrun::topology::fixtures::amd_2x64_smt(), &root).unwrap();
    for (o, want) in
        [("--number-of-cores", "128\n"), ("--number-of-threads", "256\n"), ("--number-of-sockets", "2\n")]
    {
        let out = run(hrun().args(["exec", o, "--sysfs-root", root.to_str().unwrap()]));
        assert_eq!(stdout(&out), want, "{o}: {}", stderr(&out));
    }
}
