//! Issue 22: GNU parallel's `--shell-quote`, `--shell-completion`, `--bibtex`, and `-j` counted
//! in cores or sockets, compared with GNU parallel where it answers the same question.

use std::process::Command;

use crate::harness::*;

/// GNU parallel and hrun as `parallel` on the same words and standard input: the same stdout
/// and exit status.
fn same(args: &[&str], stdin: &[u8]) -> Option<String> {
    let gnu = gnu_parallel()?;
    let sb = Sandbox::new();
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hrun"), bin.join("parallel")).unwrap();
    let mut ours = Command::new(bin.join("parallel"));
    ours.env("PARALLEL_HOME", sb.path("ph")).arg("--will-cite").args(args);
    let mut theirs = gnu;
    theirs.args(args);
    let (g, h) = (run_with(theirs, sb.root(), stdin), run_with(ours, sb.root(), stdin));
    assert_eq!(stdout(&h), stdout(&g), "{args:?}: stdout, hrun (left) and GNU; hrun said {}", stderr(&h));
    assert_eq!(h.status.code(), g.status.code(), "{args:?}: exit status");
    Some(stdout(&h))
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
