//! Issue 22: GNU parallel as a script's `#!` interpreter (`--shebang-wrap`, `--shebang`): a real
//! script file, made executable and run directly, its `#!` line naming GNU's parallel or hrun
//! as `parallel` (a symlink so named), or `hrun exec` through `env -S`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::*;

/// `dir/parallel` -> hrun.
fn hrun_as_parallel(sb: &Sandbox) -> PathBuf {
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let p = bin.join("parallel");
    if !p.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hrun"), &p).unwrap();
    }
    p
}

/// GNU's parallel program (a path for a `#!` line), or None where it is not installed.
fn gnu_path() -> Option<PathBuf> {
    gnu_parallel()?;
    let out = Command::new("sh").args(["-c", "command -v parallel"]).output().unwrap();
    Some(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()))
}

/// An executable script `name` in `sb`: `#!first` then `body`.
fn script(sb: &Sandbox, name: &str, first: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = sb.write(name, format!("#!{first}\n{body}"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Runs `script args` directly (the kernel reads its `#!` line) in `sb`, with GNU's profile
/// directory empty and `bin/` first on PATH.
fn run_script(sb: &Sandbox, script: &Path, args: &[&str], stdin: &[u8]) -> Output {
    std::fs::create_dir_all(sb.path("ph")).unwrap();
    let path = format!("{}:{}", sb.path("bin").display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new(script);
    c.args(args)
        .env("PARALLEL_HOME", sb.path("ph"))
        .env("HOME", sb.root())
        .env("PATH", path)
        .env_remove("PARALLEL");
    run_with(c, sb.root(), stdin)
}

/// The same script body under GNU's `#!` line and hrun's (as `parallel`), given `options`
/// after `--shebang-wrap` or `--shebang`: the same stdout, stderr and exit status.
fn same(how: &str, options: &str, body: &str, args: &[&str], stdin: &[u8]) -> Option<Output> {
    let sb = Sandbox::new();
    let gnu = gnu_path()?;
    let ours = hrun_as_parallel(&sb);
    let g = script(&sb, "gnu-script", &format!("{} {how} {options}", gnu.display()), body);
    let h = script(&sb, "hrun-script", &format!("{} {how} {options}", ours.display()), body);
    let (go, ho) = (run_script(&sb, &g, args, stdin), run_script(&sb, &h, args, stdin));
    let what = format!("{how} {options} {args:?}");
    assert_eq!(stdout(&ho), stdout(&go), "{what}: stdout, hrun (left) and GNU");
    assert_eq!(stderr(&ho), stderr(&go), "{what}: stderr, hrun (left) and GNU");
    assert_eq!(ho.status.code(), go.status.code(), "{what}: exit status");
    Some(ho)
}

#[test]
fn shebang_wrap_runs_the_interpreter_once_per_argument_as_gnu() {
    let perl = "\nprint \"Shebang from perl with args @ARGV\\n\";\n";
    let Some(out) = same("--shebang-wrap", "-k /usr/bin/perl", perl, &["arg1", "arg2"], b"") else { return };
    assert_eq!(stdout(&out), "Shebang from perl with args arg1\nShebang from perl with args arg2\n");
    // No arguments: one run per line of standard input.
    same("--shebang-wrap", "-k /usr/bin/perl", perl, &[], b"in1\nin2\n");
    // The interpreter's own options, and GNU's before it.
    same("--shebang-wrap", "-k -j1 /usr/bin/perl -w", perl, &["a"], b"");
    let sh = "echo Arguments \"$@\"; exit $1\n";
    let out = same("--shebang-wrap", "-k /bin/sh", sh, &["0", "3", "0", "4"], b"").unwrap();
    assert_eq!(out.status.code(), Some(2), "two failed");
}

#[test]
fn shebang_reads_the_script_lines_as_values_as_gnu() {
    let body = "a 1\nb\n\nc\n";
    let Some(out) = same("--shebang", "-k echo", body, &[], b"") else { return };
    assert_eq!(stdout(&out), "a 1\nb\n\nc\n");
    same("--shebang", "-r -k echo x", body, &[], b"");
}

#[test]
fn env_s_lines_work_for_parallel_and_for_hrun_exec() {
    // GNU 20221122 on Linux takes `-k` for the script on such a line and waits on standard
    // input; hrun finds the script by its `#!` line.
    let sb = Sandbox::new();
    hrun_as_parallel(&sb);
    let body = "echo Arguments \"$@\"\n";
    let s = script(&sb, "s1", "/usr/bin/env -S parallel --shebang-wrap -k /bin/sh", body);
    let out = run_script(&sb, &s, &["x", "y z"], b"");
    assert_eq!((stdout(&out).as_str(), out.status.code()), ("Arguments x\nArguments y z\n", Some(0)));
    // GNU's FreeBSD form ends the interpreter's words with `:::`.
    let s = script(&sb, "s2", "/usr/bin/env -S parallel --shebang-wrap -k /bin/sh -e :::", body);
    let out = run_script(&sb, &s, &["p", "q"], b"");
    assert_eq!((stdout(&out).as_str(), out.status.code()), ("Arguments p\nArguments q\n", Some(0)));
    // hrun exec keeps its own conventions (the summary on stderr), and runs the same jobs.
    let hrun = env!("CARGO_BIN_EXE_hrun");
    let s = script(&sb, "s3", &format!("/usr/bin/env -S {hrun} exec --shebang-wrap -k /bin/sh"), body);
    let out = run_script(&sb, &s, &["1", "2"], b"");
    assert_eq!((stdout(&out).as_str(), out.status.code()), ("Arguments 1\nArguments 2\n", Some(0)));
    assert!(stderr(&out).contains("2 tasks: 2 ok"), "{}", stderr(&out));
    // Linux gives `exec --shebang-wrap -k /bin/sh` as one word.
    let s = script(&sb, "s4", &format!("{hrun} exec --shebang-wrap -k /bin/sh"), body);
    let out = run_script(&sb, &s, &["3"], b"");
    assert_eq!((stdout(&out).as_str(), out.status.code()), ("Arguments 3\n", Some(0)));
}

#[test]
fn shebang_wrap_later_on_the_line_is_refused() {
    let out = hrun().args(["exec", "-k", "--shebang-wrap", "echo", ":::", "a"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--shebang-wrap is read only as the first word"), "{}", stderr(&out));
}
