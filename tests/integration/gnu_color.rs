//! Issue 22: GNU parallel's `--color`, `--color-failed` (`--cf`), `--ctag` and `--ctag-string`:
//! the same bytes (escape sequences, colour per job, white on red for a failed one) and exit
//! status from GNU parallel 20221122, from hrun as `parallel` and from `hrun exec`.

use std::process::{Command, Output, Stdio};

use crate::harness::*;

fn run_as(c: &mut Command, sb: &Sandbox, args: &[&str]) -> Output {
    c.current_dir(sb.root())
        .env("PARALLEL_HOME", sb.path("ph"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Each of `cases` gives the same stdout and status under the three.
fn same(cases: &[&[&str]]) {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("ph")).unwrap();
    let link = sb.path("parallel");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hrun"), &link).unwrap();
    for args in cases {
        let mut exec = hrun();
        exec.args(["exec", "--log", "none"]);
        let e = run_as(&mut exec, &sb, args);
        let mut as_parallel = hrun();
        std::os::unix::process::CommandExt::arg0(&mut as_parallel, &link);
        let p = run_as(as_parallel.arg("--will-cite"), &sb, args);
        assert_eq!(stdout(&e), stdout(&p), "{args:?}: hrun exec (left) and as parallel");
        assert_eq!(e.status.code(), p.status.code(), "{args:?}");
        assert!(stdout(&e).contains('\x1b'), "{args:?}: no colour at all: {}", stdout(&e));
        if let Some(mut g) = gnu_parallel() {
            let g = run_as(&mut g, &sb, args);
            assert_eq!(stdout(&p), stdout(&g), "{args:?}: hrun (left) and GNU");
            assert_eq!(p.status.code(), g.status.code(), "{args:?}");
            assert_eq!(stderr(&p), stderr(&g), "{args:?}: stderr, hrun (left) and GNU");
        }
    }
}

#[test]
fn color_and_ctag_as_gnu() {
    same(&[
        &["-k", "--color", "echo", ":::", "1", "2", "3", "4"],
        &["-k", "--colour", "--tag", "echo", ":::", "a", "b"],
        &["-k", "--ctag", "echo", ":::", "a", "b"],
        &["-k", "--ctagstring", "{#}:{}", "echo", ":::", "a", "b"],
        // GNU's par_ctagstring: `\t` in a tag string is a tab.
        &["--ctagstring", "I{1}\\tB{2}", "echo", ":::", "1", ":::", "a"],
        &["-k", "--ctag-string", "<{%}>", "printf 'one\\ntwo\\rthree'", ":::", "x"],
    ]);
}

#[test]
fn color_failed_as_gnu() {
    same(&[
        &["-k", "--cf", "echo {}; exit {}", ":::", "0", "1", "2"],
        &["-k", "--color-failed", "--tag", "printf '{}\\ra'; exit {}", ":::", "0", "3"],
        &["-k", "--color", "--colorfailed", "echo {}; echo err {} >&2; exit {}", ":::", "0", "1"],
    ]);
}

#[test]
fn line_buffer_color_as_gnu() {
    same(&[
        &["-j1", "--lb", "--color", "echo", ":::", "1", "2"],
        &["-j1", "--lb", "--ctag", "printf '{}\\ny'", ":::", "1", "2"],
    ]);
}
