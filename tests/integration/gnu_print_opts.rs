//! Issue 22: GNU parallel's `--shell-quote`, `--shell-completion`, `--bibtex`, and `-j` counted
//! in cores or sockets, compared with GNU parallel where it answers the same question.

use std::process::Command;

use crate::harness::*;

/// GNU parallel and hrun as `parallel` on the same words and standard input: the same stdout
/// and exit status.
fn same(args: &[&str], stdin: &[u8]) -> Option<String> {
    let sb = Sandbox::new();
    let (g, h) = gnu_and_ours(&sb, args, stdin)?;
    assert_eq!(stdout(&h), stdout(&g), "{args:?}: stdout, hrun (left) and GNU; hrun said {}", stderr(&h));
    assert_eq!(h.status.code(), g.status.code(), "{args:?}: exit status");
    Some(stdout(&h))
}

/// GNU parallel and hrun as `parallel` on the same words, in the sandbox's root: GNU's output,
/// then hrun's.
fn gnu_and_ours(
    sb: &Sandbox,
    args: &[&str],
    stdin: &[u8],
) -> Option<(std::process::Output, std::process::Output)> {
    let g = run_gnu(sb, args, stdin)?;
    Some((g, run_as_parallel(sb, args, stdin)))
}

#[test]
fn shell_quote_prints_each_job_quoted_as_gnu() {
    let Some(out) = same(&["--shell-quote", "-k", ":::", "a b", "c'd", "x$y", ""], b"") else { return };
    assert_eq!(out, "'a b'\n'c'\"'\"'d'\n'x$y'\n''\n");
    same(&["--shell-quote", "-k", "echo", "{}", "{}", ":::", "x", "y z"], b"");
    same(&["--shellquote", "--shell-quote", "-k", ":::", "a b"], b"");
    same(&["--shell-quote", "-k"], b"a b\nc\n");
    same(&["--shell-quote", "-k", "-q", "echo", "a;b", ":::", "1"], b"");
}

/// GNU's bash completion lists every name of its option table; Debian's package (the one CI
/// installs) comments out upstream's --bibtex/--citation, which hrun lists as upstream does.
#[test]
fn bash_completion_is_gnus_byte_for_byte() {
    let Some(mut gnu) = gnu_parallel() else { return };
    let theirs = stdout(&run(gnu.args(["--shell-completion", "bash"])));
    let ours = stdout(&run(hrun().args(["exec", "--shell-completion", "bash"])));
    let upstream = theirs.replacen("--xapplyinputsource ", "--xapplyinputsource --bibtex --citation ", 1);
    let theirs = if theirs.contains("--bibtex") { theirs } else { upstream };
    assert_eq!(ours, theirs);
    assert!(ours.starts_with("complete -F _comp_parallel parallel;"), "{ours}");
    // GNU says it has none for fish (exit 255); hrun too, as a usage error (exit 2).
    let o = run(hrun().args(["exec", "--shell-completion", "fish"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not implemented for 'fish'"), "{}", stderr(&o));
    // hrun exec answers too; zsh is refused with what to do.
    let o = run(hrun().args(["exec", "--shell-completion", "zsh"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bashcompinit"), "{}", stderr(&o));
}

#[test]
fn bibtex_prints_the_entry_and_runs_nothing() {
    let o = run(hrun().args(["exec", "--citation", "touch", "x"]));
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("doi          = {10.5281/zenodo.7347980}"), "{}", stdout(&o));
    assert!(!std::path::Path::new("x").exists());
}

/// The slots of hrun's run, from its run record.
fn slots(extra: &[&str]) -> usize {
    let sb = Sandbox::new();
    let log = sb.path("l.jsonl");
    let out = run(hrun()
        .current_dir(sb.root())
        .args(["exec", "--log", log.to_str().unwrap()])
        .args(extra)
        .args(["true", ":::", "1"]));
    assert_status!(out, 0);
    read_records(&log).runs[0].slots.len()
}

/// `--use-cores-instead-of-threads` and `--use-sockets-instead-of-threads`: -j counts the
/// cores or sockets GNU's `--number-of-cores`/`--number-of-sockets` count on this machine.
#[test]
fn jobs_count_cores_or_sockets_as_gnu_counts_them() {
    let Some(mut gnu) = gnu_parallel() else { return };
    let cores: usize = stdout(&run(gnu.arg("--number-of-cores"))).trim().parse().unwrap();
    let sockets: usize =
        stdout(&run(gnu_parallel().unwrap().arg("--number-of-sockets"))).trim().parse().unwrap();
    assert_eq!(slots(&["--use-cores-instead-of-threads"]), cores);
    assert_eq!(slots(&["--use-sockets-instead-of-threads"]), sockets);
    assert_eq!(slots(&["--use-sockets-instead-of-threads", "-j", "200%"]), 2 * sockets);
    assert_eq!(slots(&["--use-sockets-instead-of-threads", "-j", "+1"]), sockets + 1);
}

/// GNU's `--progress` and `--eta` print on standard error whether or not it is a terminal: the
/// host table, then a status after each change, each after a carriage return, and a newline at
/// the end (with no job at all, GNU's own last line). As `parallel`, hrun prints the same:
/// byte for byte with no job, the same lines (times aside) with jobs.
#[test]
fn progress_and_eta_print_gnus_text_on_stderr() {
    if gnu_parallel().is_none() {
        return;
    }
    let sb = Sandbox::new();
    // GNU asks /dev/tty for the terminal's width, and its shell complains when there is none.
    let text = |o: &std::process::Output| -> String {
        stderr(o).lines().filter(|l| !l.contains("/dev/tty")).collect::<Vec<_>>().join("\n")
    };
    let both = |args: &[&str], stdin: &[u8]| gnu_and_ours(&sb, args, stdin).unwrap();
    for flag in ["--progress", "--eta"] {
        let (g, h) = both(&["-j", "2", flag, "echo {}"], b"");
        assert_eq!(text(&h), text(&g), "{flag} with no job: hrun (left) and GNU");
        assert!(text(&h).contains("Computers / CPU cores / Max jobs to run\n1:local / "), "{}", text(&h));
        let (g, h) = both(&["-j", "2", flag, "sleep 0.1; echo {}", ":::", "1", "2", "3", "4", "5"], b"");
        assert_eq!(stdout(&h).lines().count(), 5);
        let lines = |s: String| {
            s.split('\n').map(|l| l.rsplit('\r').next().unwrap_or("").to_string()).collect::<Vec<_>>()
        };
        let (ours, theirs) = (lines(text(&h)), lines(text(&g)));
        assert_eq!(ours.len(), theirs.len(), "{flag}: {ours:?} / GNU {theirs:?}");
        assert_eq!(ours[..5], theirs[..5], "{flag}: the tables");
        // The last status: every job done, none running.
        assert!(ours[5].contains("local:0/5/100%/"), "{flag}: {ours:?}");
        assert!(theirs[5].contains("local:0/5/100%/"), "{flag}: GNU {theirs:?}");
    }
    // hrun exec takes them (a GNU script's words) and shows its own progress.
    let o = run(hrun().args([
        "exec",
        "--progress",
        "--eta",
        "--log",
        &sb.path("l.jsonl").to_string_lossy(),
        "true",
        ":::",
        "1",
    ]));
    assert_status!(o, 0);
    assert!(!stderr(&o).contains("Computers"), "{}", stderr(&o));
}

/// Errors GNU parallel has too are said in its words as `parallel`, with its status: a `--trim`
/// it does not know, a `--wd` it cannot make or enter (GNU makes it, then says why it could
/// not enter it: the error its test of the directory left).
#[test]
fn trim_and_workdir_errors_are_gnus_words() {
    if gnu_parallel().is_none() {
        return;
    }
    let sb = Sandbox::new();
    sb.write("afile", "");
    let file = sb.path("afile").to_string_lossy().into_owned();
    let under = sb.path("afile/sub").to_string_lossy().into_owned();
    for args in [
        vec!["--trim", "fj", ":::", "echo"],
        vec!["--wd", &file, "pwd", ":::", "x"],
        vec!["--wd", &under, "pwd", ":::", "x"],
        // Retired options: GNU's own lines (all ten for any of the ten), unless --gnu
        // overrides --tollef.
        vec!["-k", "--tollef", "echo", "--", "1", ":::", "a"],
        vec!["-k", "--tollef", "--gnu", "echo", ":::", "1", "2", "--", "a"],
        vec!["-g", "echo", ":::", "x"],
    ] {
        let (g, h) = gnu_and_ours(&sb, &args, b"").unwrap();
        assert_eq!(stderr(&h), stderr(&g), "{args:?}: stderr, hrun (left) and GNU");
        assert_eq!((stdout(&h), h.status.code()), (stdout(&g), g.status.code()), "{args:?}");
    }
    // A shell that is not there (GNU's par_testquote).
    for shell in ["no-such-shell", "/no/such/dir/sh"] {
        let args = ["echo", ":::", "x"];
        let (mut g, mut h) = (gnu_parallel().unwrap(), Command::new(as_parallel(&sb)));
        g.env("PARALLEL_SHELL", shell).args(args);
        h.env("PARALLEL_SHELL", shell).env("PARALLEL_HOME", sb.path("ph")).arg("--will-cite").args(args);
        let (g, h) = (run_with(g, sb.root(), b""), run_with(h, sb.root(), b""));
        assert_eq!(stderr(&h), stderr(&g), "PARALLEL_SHELL={shell}: stderr, hrun (left) and GNU");
        assert_eq!((stdout(&h), h.status.code()), (stdout(&g), g.status.code()), "{args:?}");
        assert!(h.status.code() == Some(0) || stderr(&h).starts_with("parallel: Error: "), "{}", stderr(&h));
    }
    // hrun exec keeps its own words and usage status.
    let o = run(hrun().args(["exec", "--trim", "fj", "echo", ":::", "x"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--trim \"fj\": give n, l, r or lr"), "{}", stderr(&o));
}

/// GNU warns once when the first three values read from a file or standard input end in
/// CR-NL (a DOS text file), unless -d is given, or a value among them ends in NL only.
#[test]
fn dos_line_ends_are_warned_about_as_gnu() {
    if gnu_parallel().is_none() {
        return;
    }
    let sb = Sandbox::new();
    for (args, input) in [
        (vec!["-k", "echo", "{}a"], &b"b\r\nc\r\nd\r\ne\r\nf\r\n"[..]),
        (vec!["-k", "-d", "\\r\\n", "echo", "{}a"], &b"b\r\nc\r\nd\r\ne\r\nf\r\n"[..]),
        (vec!["-k", "echo", "{}a"], &b"b\r\nc\nd\r\ne\r\nf\r\n"[..]),
        (vec!["-k", "echo", "{}a"], &b"b\r\nc\r\n"[..]),
    ] {
        let (g, h) = gnu_and_ours(&sb, &args, input).unwrap();
        assert_eq!(
            (stdout(&h), stderr(&h)),
            (stdout(&g), stderr(&g)),
            "{args:?} {input:?}: hrun (left) and GNU"
        );
    }
    let (_, h) = gnu_and_ours(&sb, &["echo", "{}"], b"a\r\nb\r\nc\r\n").unwrap();
    assert_eq!(stderr(&h).matches("CR-NL").count(), 1, "once: {}", stderr(&h));
    // hrun exec says it its way, naming the source.
    sb.write("dos.txt", "a\r\nb\r\nc\r\nd\r\n");
    let o = run(sb.exec().args(["echo", "{}", "::::", "dos.txt"]));
    assert_status!(o, 0);
    assert!(
        stderr(&o).contains("hrun: warning: the first three values of dos.txt end in CR-NL"),
        "{}",
        stderr(&o)
    );
}
