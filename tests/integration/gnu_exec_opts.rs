//! Issue 22: GNU parallel's options for where and how jobs run (`--workdir`, `--nice`,
//! `--tmpdir`, `--files`, `--shuf`), in `hrun exec` and as `parallel`, compared with GNU
//! parallel 20221122 byte for byte where its output is deterministic.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::harness::*;

/// `program args` in `sb`, HOME `sb`, GNU's profiles from `sb/ph`, no hrun settings.
fn run_in(sb: &Sandbox, program: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(program);
    c.current_dir(sb.root())
        .env("PARALLEL_HOME", sb.path("ph"))
        .env("HOME", sb.root())
        .env("XDG_CONFIG_HOME", "/nonexistent-hrun-test-config")
        .env_remove("PARALLEL")
        .env_remove("TMPDIR")
        .args(args)
        .stdin(Stdio::null());
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("HRUN_") {
            c.env_remove(var);
        }
    }
    c.output().unwrap()
}

/// GNU's run and hrun's as `parallel`; None when GNU parallel is not installed.
fn both(sb: &Sandbox, args: &[&str]) -> Option<(Output, Output)> {
    gnu_parallel()?;
    let mut with = vec!["--will-cite"];
    with.extend_from_slice(args);
    let g = run_in(sb, Path::new("parallel"), &with);
    let h = run_in(sb, &as_parallel(sb), &with);
    Some((g, h))
}

/// The same stdout and exit status from GNU and from hrun as `parallel`, and the same stdout
/// from `hrun exec`; returns that stdout.
fn same_stdout(sb: &Sandbox, args: &[&str]) -> String {
    let mut exec = vec!["exec", "--log", "none"];
    exec.extend_from_slice(args);
    let e = run_in(sb, Path::new(env!("CARGO_BIN_EXE_hrun")), &exec);
    assert!(e.status.success(), "hrun exec {args:?}: {}", stderr(&e));
    if let Some((g, h)) = both(sb, args) {
        assert_eq!(stdout(&h), stdout(&g), "{args:?}: stdout as parallel (left) and GNU's");
        assert_eq!(stderr(&h), stderr(&g), "{args:?}: stderr as parallel (left) and GNU's");
        assert_eq!(h.status.code(), g.status.code(), "{args:?}: exit status");
        assert_eq!(stdout(&e), stdout(&g), "{args:?}: stdout of hrun exec (left) and GNU's");
    }
    stdout(&e)
}

/// `--workdir DIR` is made with its parents, `{}` in it is filled in per job, `.` is the
/// current directory, and `...` a fresh empty directory per job, removed after: each as GNU.
#[test]
fn workdir_as_gnu() {
    let sb = Sandbox::new();
    let root = sb.root().canonicalize().unwrap();
    let out = same_stdout(&sb, &["-k", "--wd", "new/sub", "pwd; echo {}", ":::", "a", "b"]);
    let dir = root.join("new/sub").display().to_string();
    assert_eq!(out, format!("{dir}\na\n{dir}\nb\n"));
    let out = same_stdout(&sb, &["-k", "--workdir", "{}dir/", "pwd", ":::", "x", "y z"]);
    assert_eq!(out, format!("{}/xdir\n{}/y zdir\n", root.display(), root.display()));
    same_stdout(&sb, &["-k", "--wd", ".", "pwd", ":::", "1"]);
    // GNU's `cd . && ...`: $OLDPWD is this directory too (it was unset in hrun's tasks).
    same_stdout(&sb, &["-k", "--wd", ".", "echo $OLDPWD; echo $PWD", ":::", "1"]);
    // GNU's par_wd_dotdotdot: a directory named through a symlink is `pwd`'s as named, and
    // $OLDPWD is where the run started.
    std::fs::create_dir(sb.path("real")).unwrap();
    std::os::unix::fs::symlink(sb.path("real"), sb.path("link")).unwrap();
    let out = same_stdout(&sb, &["--wd", "link", "pwd; echo $OLDPWD", ":::", "1"]);
    assert!(out.starts_with(&format!("{}\n", sb.path("link").display())), "{out}");
    // A plain line (no shell) starts there too.
    let e = run_in(
        &sb,
        Path::new(env!("CARGO_BIN_EXE_hrun")),
        &["exec", "--log", "none", "--wd", "new", "/bin/pwd", ":::", "-P"],
    );
    assert_eq!(stdout(&e), format!("{}/new\n", root.display()), "{}", stderr(&e));
    // `...`: empty when the job starts, gone when it ends.
    let out = same_stdout(&sb, &["-k", "--wd", "...", "ls -A; touch f{}; echo {}", ":::", "1", "2"]);
    assert_eq!(out, "1\n2\n");
    let tmp = sb.path(".parallel/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "sshlogin") // GNU's own
        .collect();
    assert!(left.is_empty(), "left in {}: {left:?}", tmp.display());
}

/// A directory that cannot be made is refused before anything runs, in one line naming it.
#[test]
fn workdir_that_cannot_be_made_is_refused() {
    let sb = Sandbox::new();
    sb.write("afile", "");
    let o = run_in(
        &sb,
        Path::new(env!("CARGO_BIN_EXE_hrun")),
        &["exec", "--log", "l.jsonl", "--wd", "afile/x", "touch ran", ":::", "1"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("afile/x") && err.contains("Not a directory"), "{err}");
    assert!(!sb.path("ran").exists() && !sb.path("l.jsonl").exists(), "nothing written");
    // A per-job one fails that job alone, saying why.
    let o = run_in(
        &sb,
        Path::new(env!("CARGO_BIN_EXE_hrun")),
        &["exec", "--log", "none", "-k", "--wd", "{}/x", "echo", ":::", "afile", "ok"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ok\n");
    assert!(stderr(&o).contains("afile/x"), "{}", stderr(&o));
}

/// Field 19 of /proc/PID/stat: the niceness.
fn nice_of_stat(stat: &str) -> String {
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(16).unwrap().to_string()
}

/// `--nice N`: a task (through the shell or started directly) runs at niceness N, as GNU.
#[test]
fn nice_as_gnu() {
    let sb = Sandbox::new();
    let out = same_stdout(&sb, &["--nice", "7", "cut -d' ' -f19 /proc/$$/stat # {}", ":::", "1"]);
    assert_eq!(out, "7\n");
    // A plain line: the program itself, no shell in between.
    let o = run_in(
        &sb,
        Path::new(env!("CARGO_BIN_EXE_hrun")),
        &["exec", "--log", "none", "--nice", "11", "cat", ":::", "/proc/self/stat"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(cat)"), "{}", stdout(&o));
    assert_eq!(nice_of_stat(&stdout(&o)), "11");
}

/// `--tmpdir DIR`: hrun's buffered output lives there (a task sees its own stdout as an
/// unlinked file in DIR), tasks get TMPDIR=DIR as GNU gives it; a missing DIR is refused
/// before anything is written.
#[test]
fn tmpdir_holds_the_buffered_output() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("t")).unwrap();
    let out = same_stdout(&sb, &["--tmpdir", "t", "echo $TMPDIR {}", ":::", "a"]);
    assert_eq!(out, "t a\n");
    let o = run_in(
        &sb,
        Path::new(env!("CARGO_BIN_EXE_hrun")),
        &["exec", "--log", "none", "--tempdir", "t", "readlink", ":::", "/proc/self/fd/1"],
    );
    let t = sb.root().canonicalize().unwrap().join("t");
    assert!(stdout(&o).starts_with(&format!("{}/", t.display())), "{} {}", stdout(&o), stderr(&o));
    let sb = Sandbox::new();
    let o = run_in(
        &sb,
        Path::new(env!("CARGO_BIN_EXE_hrun")),
        &["exec", "--tmpdir", "missing", "touch ran", ":::", "1"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--tmpdir missing"), "{}", stderr(&o));
    assert!(!sb.path("ran").exists() && !sb.path(".hrun").exists(), "nothing written");
}

/// `--files`: each job's stdout left in a file in --tmpdir, its name printed (after the tag
/// with --tag, in job order with -k), as GNU: the same number of names, in the same order,
/// holding the same output (the random part of the names differs from run to run).
#[test]
fn files_as_gnu() {
    let sb = Sandbox::new();
    for d in ["g", "h", "e"] {
        std::fs::create_dir(sb.path(d)).unwrap();
    }
    let args = |d: &'static str| {
        vec!["-k", "--tag", "--tmpdir", d, "--files", "echo out{}; echo err{} >&2", ":::", "a", "b", ""]
    };
    let read = |o: &Output, d: &str| -> Vec<(String, String)> {
        stdout(o)
            .lines()
            .map(|l| {
                let (tag, name) = l.split_once('\t').unwrap();
                assert!(name.starts_with(&format!("{d}/par")) && name.ends_with(".par"), "{name}");
                (tag.to_string(), std::fs::read_to_string(sb.path(name)).unwrap())
            })
            .collect()
    };
    let mut exec = vec!["exec", "--log", "none"];
    exec.extend(args("e"));
    let e = run_in(&sb, Path::new(env!("CARGO_BIN_EXE_hrun")), &exec);
    assert!(e.status.success(), "{}", stderr(&e));
    let want: Vec<(String, String)> = [("a", "outa\n"), ("b", "outb\n"), ("", "out\n")]
        .iter()
        .map(|(t, o)| (t.to_string(), o.to_string()))
        .collect();
    assert_eq!(read(&e, "e"), want);
    if let (Some((g, _)), Some((_, h))) = (both(&sb, &args("g")), both(&sb, &args("h"))) {
        assert_eq!(read(&g, "g"), want, "GNU's");
        assert_eq!(read(&h, "h"), want, "hrun's as parallel");
        assert_eq!(h.status.code(), g.status.code());
    }
}

/// `--shuf`: every job runs exactly once, numbered in the order they run; the order is drawn
/// anew each run (HRUN_SHUF_SEED repeats one).
#[test]
fn shuf_runs_every_job_once_in_a_random_order() {
    let sb = Sandbox::new();
    let values: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let order = |seed: Option<&str>| -> Vec<(u64, String)> {
        let mut c = sb.exec();
        c.args(["-j", "1", "-k", "--shuf", "echo", "{#}", "{}", ":::"]).args(&values);
        if let Some(s) = seed {
            c.env("HRUN_SHUF_SEED", s);
        }
        let o = run(&mut c);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| {
                let (n, v) = l.split_once(' ').unwrap();
                (n.parse().unwrap(), v.to_string())
            })
            .collect()
    };
    let unseeded = order(None);
    let seqs: Vec<u64> = unseeded.iter().map(|(n, _)| *n).collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>(), "numbered in the order they run");
    let mut ran: Vec<String> = unseeded.iter().map(|(_, v)| v.clone()).collect();
    // 100 values in their input order by chance: 1 in 100!.
    assert_ne!(ran, values, "shuffled");
    ran.sort_by_key(|v| v.parse::<u32>().unwrap());
    assert_eq!(ran, values, "each job exactly once");
    assert_eq!(order(Some("42")), order(Some("42")), "one seed, one order");
    assert_ne!(order(Some("42")), order(Some("43")));
    // As `parallel`, GNU's option runs every job once too.
    if let Some((g, h)) = both(&sb, &["--shuf", "echo", ":::", "1", "2", "3"]) {
        let sorted = |o: &Output| {
            let mut l: Vec<String> = stdout(o).lines().map(String::from).collect();
            l.sort();
            l
        };
        assert_eq!(sorted(&h), sorted(&g));
        assert_eq!(h.status.code(), g.status.code());
    }
}

/// Every file under `dir`, by its path below it, with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// `--compress` with `--files`: the files left behind hold the output compressed by the
/// program GNU chooses (the first of its list on PATH, `-c -1`), byte for byte GNU's; the
/// job's stderr is not shown (GNU prints only the names); --line-buffer changes nothing.
#[test]
fn compress_files_as_gnu() {
    let sb = Sandbox::new();
    for d in ["g", "h", "e"] {
        std::fs::create_dir(sb.path(d)).unwrap();
    }
    let args = |d: &'static str| {
        vec!["-k", "--tmpdir", d, "--compress", "--files", "echo out{}; echo err{} >&2", ":::", "a", "b"]
    };
    let kept = |o: &Output, d: &str| -> Vec<Vec<u8>> {
        assert_eq!(stderr(o), "", "stderr");
        stdout(o)
            .lines()
            .map(|name| {
                assert!(name.starts_with(&format!("{d}/par")) && name.ends_with(".par"), "{name}");
                std::fs::read(sb.path(name)).unwrap()
            })
            .collect()
    };
    let mut exec = vec!["exec", "--quiet", "--log", "none"];
    exec.extend(args("e"));
    let e = run_in(&sb, Path::new(env!("CARGO_BIN_EXE_hrun")), &exec);
    assert!(e.status.success(), "{}", stderr(&e));
    let files = kept(&e, "e");
    assert_eq!(files.len(), 2);
    if Command::new("pzstd").arg("-V").output().is_ok_and(|o| o.status.success()) {
        // pzstd is GNU's first choice: its frames, and the output back.
        for (f, want) in files.iter().zip(["outa\n", "outb\n"]) {
            assert!(f.starts_with(b"\x50\x2a\x4d\x18"), "{f:?}");
            let mut child = Command::new("pzstd")
                .arg("-dc")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), f).unwrap();
            assert_eq!(String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap(), want);
        }
    }
    if let (Some((g, _)), Some((_, h))) = (both(&sb, &args("g")), both(&sb, &args("h"))) {
        assert_eq!(kept(&h, "h"), kept(&g, "g"), "hrun's as parallel (left) and GNU's");
        assert_eq!(kept(&g, "g"), files, "GNU's and hrun exec's");
        assert_eq!(h.status.code(), g.status.code());
    }
    // --line-buffer changes nothing with --files (GNU's bug #48658).
    let lb =
        |d: &'static str| vec!["-j1", "--tmpdir", d, "--files", "--line-buffer", "echo {}", ":::", "a", "b"];
    let mut exec = vec!["exec", "--quiet", "--log", "none"];
    exec.extend(lb("e"));
    let e = run_in(&sb, Path::new(env!("CARGO_BIN_EXE_hrun")), &exec);
    assert_eq!(kept(&e, "e"), [b"a\n".to_vec(), b"b\n".to_vec()]);
    if let (Some((g, _)), Some((_, h))) = (both(&sb, &lb("g")), both(&sb, &lb("h"))) {
        assert_eq!(kept(&h, "h"), kept(&g, "g"), "--line-buffer: hrun's as parallel (left) and GNU's");
    }
}

/// `--compress` and `--compress-program` with `--results DIR`: the tree GNU leaves, byte for
/// byte (`seq` as it is, `stdout` and `stderr` compressed, empty output left empty); nothing
/// on standard output. Grouped output and `--decompress-program` alone change nothing that
/// shows.
#[test]
fn compress_results_and_grouped_output_as_gnu() {
    let sb = Sandbox::new();
    let cmd = "echo out{}; echo err{} >&2; test {} = c || seq 3000";
    for opts in [&["--compress"][..], &["--compress-program", "gzip -9"], &["--compress-program", "cat"]] {
        let args = |d: &'static str| {
            let mut a = opts.to_vec();
            a.extend(["--results", d, cmd, ":::", "a", "b", "c"]);
            a
        };
        let mut exec = vec!["exec", "--quiet", "--log", "none"];
        exec.extend(args("e"));
        let e = run_in(&sb, Path::new(env!("CARGO_BIN_EXE_hrun")), &exec);
        assert!(e.status.success(), "{}", stderr(&e));
        assert_eq!(stdout(&e), "");
        let ours = tree(&sb.path("e"));
        assert_eq!(ours.len(), 9, "{:?}", ours.keys());
        assert!(!ours["1/c/stderr"].is_empty());
        let written: String =
            std::iter::once("outa\n".to_string()).chain((1..=3000).map(|i| format!("{i}\n"))).collect();
        if opts == ["--compress-program", "cat"] {
            assert_eq!(ours["1/a/stdout"], written.as_bytes());
        } else {
            assert!(ours["1/a/stdout"].len() < written.len() / 2, "compressed");
        }
        if let (Some((g, _)), Some((_, h))) = (both(&sb, &args("g")), both(&sb, &args("h"))) {
            assert_eq!(stdout(&h), stdout(&g));
            assert_eq!(h.status.code(), g.status.code());
            assert_eq!(tree(&sb.path("h")), tree(&sb.path("g")), "{opts:?}: hrun as parallel and GNU");
            assert_eq!(ours, tree(&sb.path("g")), "{opts:?}: hrun exec and GNU");
        }
        for d in ["e", "g", "h"] {
            let _ = std::fs::remove_dir_all(sb.path(d));
        }
    }
    for opts in
        [&["--compress"][..], &["--compress-program", "gzip", "--tag"], &["--decompress-program", "false"]]
    {
        let mut args = opts.to_vec();
        args.extend(["-k", cmd, ":::", "a", "b", "c"]);
        let out = same_stdout(&sb, &args);
        assert!(out.starts_with("outa\n1\n2\n") || out.starts_with("a\touta\na\t1\n"), "{out}");
    }
}

/// Grouped output (`-k` or not, `--tag`, `--line-buffer`) passes through the compressor and
/// the decompressor as GNU's buffers do: what the decompressor prints is shown; a failing
/// compressor is said once per stream (`--files` too, for the stderr it drops) and counts the
/// job failed in the exit status; a failing decompressor is not said. GNU's suite:
/// par_compress_prg_fails, par_failing_compressor. Against GNU as `parallel`: stdout and exit
/// status, stderr's lines in any order (the jobs' blocks and the errors come from two threads).
#[test]
fn grouped_output_passes_the_compress_programs_as_gnu() {
    let sb = Sandbox::new();
    let both_streams = "echo x{}; echo y{} >&2";
    let cases: [&[&str]; 6] = [
        &[
            "-k",
            "--compress-program",
            "tr a-z A-Z",
            "--decompress-program",
            "cat",
            both_streams,
            ":::",
            "a",
            "b",
        ],
        &[
            "-k",
            "--lb",
            "--compress-program",
            "tr a-z A-Z",
            "--decompress-program",
            "cat",
            "echo",
            ":::",
            "a",
            "b",
        ],
        &["-k", "-j1", "--tag", "--compress-program", "cat;false", both_streams, ":::", "1", "2"],
        &["--compress-program", "false", "echo x", ":::", "1"],
        &["-k", "--compress-program", "cat", "--decompress-program", "cat;false", both_streams, ":::", "a"],
        &["--compress-program", "false", "true", ":::", "1"],
    ];
    let sorted = |o: &Output| {
        let mut lines: Vec<String> = stderr(o).lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    for args in cases {
        let h = run_as_parallel(&sb, args, b"");
        let Some(g) = run_gnu(&sb, args, b"") else { return };
        assert_eq!(stdout(&h), stdout(&g), "{args:?}: stdout, hrun as parallel (left) and GNU");
        assert_eq!(sorted(&h), sorted(&g), "{args:?}: stderr");
        assert_eq!(h.status.code(), g.status.code(), "{args:?}: exit");
    }
    let files = ["--files", "--compress-program", "cat;false", both_streams, ":::", "1"];
    let h = run_as_parallel(&sb, &files, b"");
    assert_eq!(stderr(&h), "parallel: Error: cat;false failed.\n".repeat(2), "--files");
    assert_eq!(h.status.code(), Some(1));
    let e = run(sb.exec().args([
        "-q",
        "-k",
        "--compress-program",
        "tr a-z A-Z",
        "--decompress-program",
        "cat",
        "echo",
        ":::",
        "a",
    ]));
    assert_eq!(stdout(&e), "A\n", "hrun exec too: {}", stderr(&e));
}

/// GNU's own suite (par_failing_compressor, par_results_csv, par_test_delimiter): a repeated
/// option is no error; the last one counts.
#[test]
fn a_repeated_option_counts_once_the_last_one_winning_as_gnu() {
    let sb = Sandbox::new();
    for args in [
        &["-k", "-k", "echo", ":::", "a", "b", "c"][..],
        &["-j", "1", "-j", "2", "-k", "echo", ":::", "a", "b"],
        &["--tag", "--tag", "-k", "--delay", "0", "--delay", "0.01", "echo", ":::", "x"],
    ] {
        gnu_exec_and_parallel_agree(&sb, args, b"");
    }
}

/// GNU's par_halt_one_job, par_kill_children_timeout: as `parallel`, hrun names the job that
/// made --halt fire and the one --timeout killed, in GNU's words (standard error compared).
#[test]
fn halt_and_timeout_name_the_job_on_stderr_as_gnu() {
    let sb = Sandbox::new();
    for args in [
        &["-j1", "--halt", "soon,fail=1", "echo {}; exit {}", ":::", "0", "1", "0"][..],
        &["-j1", "--halt", "now,success=1", "echo {}; exit {}", ":::", "1", "0", "0"],
        // soon: each failed job is named as it ends, also after the rule fired, with how
        // many still run (GNU's par_print_before_halt_on_error).
        &["-j2", "--halt", "soon,fail=1", "sleep {}; exit 1", ":::", "0", "0.5"],
        &["-j2", "--halt", "soon,success=1", "sleep {}; exit 0", ":::", "0", "0.5", "0.7"],
        &["--timeout", "0.5", "sleep {}; echo {}", ":::", "3", "0.1"],
    ] {
        let Some(g) = run_gnu(&sb, args, b"") else { return };
        parallel_matches(&sb, args, b"", &g);
    }
}

/// GNU's par_halt_one_job: with standard output and error in one pipe, the job's output comes
/// before GNU's line about it (hrun's line went out as the job ended, before its output).
#[test]
fn halt_and_timeout_lines_come_where_gnus_do() {
    let Some(gnu) = gnu_parallel() else { return };
    let sb = Sandbox::new();
    let link = as_parallel(&sb);
    // GNU and hrun as `parallel` each run by `sh -c LINE 2>&1` (LINE made for each program):
    // their one merged stream.
    let merged = |line: &dyn Fn(&str) -> String| {
        let theirs = format!("{} --will-cite", gnu.get_program().to_string_lossy());
        let home = gnu.get_envs().find(|(k, _)| *k == "PARALLEL_HOME").and_then(|(_, v)| v).unwrap();
        let sh = |program: &str, home: &std::ffi::OsStr| {
            stdout(&run(Command::new("sh")
                .current_dir(sb.root())
                .env("PARALLEL_HOME", home)
                .args(["-c", &format!("{} 2>&1", line(program))])))
        };
        (sh(&theirs, home), sh(&format!("{} --will-cite", link.display()), sb.path("ph").as_os_str()))
    };
    for (when, values) in [("now", "1 0 1"), ("soon", "0 1 0")] {
        let (g, h) = merged(&|p| format!("{p} -j1 --halt {when},fail=1 'echo {{#}};exit {{}}' ::: {values}"));
        assert_eq!(h, g, "--halt {when},fail=1 ::: {values}: hrun (left) and GNU");
        assert!(h.contains("parallel: This job failed:"), "{h}");
    }
    // GNU's par_children_receive_sig: the timeout's warning comes when the job is killed,
    // before what the job prints as it dies (-u: its output as it comes).
    let job = r#"'trap "echo got TERM {}; exit 1" TERM; sleep 2 & wait'"#;
    let (g, h) = merged(&|p| format!("{p} -u --timeout 0.5 {job} ::: 1"));
    assert_eq!(h, g, "--timeout -u: hrun (left) and GNU");
    assert!(h.ends_with("got TERM 1\n"), "{h}");
}
