//! Issue 22: GNU parallel's `--term-seq`, the signals and waits that end a job hrun stops
//! (`--timeout`, Ctrl-C): a real child traps the signals and writes down each one it gets, under
//! GNU parallel 20221122, `hrun exec` and hrun as `parallel`; the files must be the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// A bash script that writes `started`, then each signal it gets, into the file `$1`. Its loop
/// has no `$(seq ...)` to wait for: a signal that killed that child ended the loop, and the
/// script, before the next signal (seen on a loaded machine).
const TRAPPER: &str = "#!/bin/bash\nf=$1\nfor s in TERM INT USR1 USR2 HUP; do trap \"echo $s >> $f\" $s; done\n\
    echo started >> $f\ni=0\nwhile [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done\n";

/// Long waits, so that each signal is handled before the next one comes.
const SEQ: &str = "USR1,1000,INT,1000,USR2,1000,KILL,25";

fn setup(sb: &Sandbox) -> PathBuf {
    let script = sb.write("trap.sh", TRAPPER);
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let link = sb.path("parallel");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hrun"), &link).unwrap();
    link
}

/// The three programs: GNU's, `hrun exec`, hrun as `parallel`, each with its record file.
fn programs(sb: &Sandbox, link: &Path) -> Vec<(Command, &'static str)> {
    let mut out = Vec::new();
    if let Some(g) = gnu_parallel() {
        out.push((g, "rec.gnu"));
    }
    let mut e = hrun();
    e.args(["exec", "--log", "none"]);
    out.push((e, "rec.exec"));
    let mut p = hrun();
    p.env("PARALLEL_HOME", sb.path("ph")).arg0_as(link);
    out.push((p, "rec.parallel"));
    out
}

trait Arg0 {
    fn arg0_as(&mut self, link: &Path) -> &mut Self;
}

impl Arg0 for Command {
    /// Runs the same binary by the name `parallel` (its personality).
    fn arg0_as(&mut self, link: &Path) -> &mut Self {
        std::os::unix::process::CommandExt::arg0(self, link.as_os_str());
        self.arg("--will-cite")
    }
}

#[test]
fn a_timeout_sends_the_term_seq_in_order() {
    let sb = Sandbox::new();
    let link = setup(&sb);
    let mut seen = Vec::new();
    for (mut c, rec) in programs(&sb, &link) {
        let out = c
            .current_dir(sb.root())
            .args(["--timeout", "1", "--term-seq", SEQ, "./trap.sh", ":::", rec])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{rec}: {}", stderr(&out));
        seen.push((rec, sb.read(rec)));
    }
    for (rec, got) in &seen {
        assert_eq!(got, "started\nUSR1\nINT\nUSR2\n", "{rec}");
    }
}

#[test]
fn ctrl_c_sends_the_term_seq_not_the_signal() {
    let sb = Sandbox::new();
    let link = setup(&sb);
    for (mut c, rec) in programs(&sb, &link) {
        let mut child = c
            .current_dir(sb.root())
            .args(["--term-seq", SEQ, "./trap.sh", ":::", rec])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_file(&sb.path(rec), Duration::from_secs(20));
        // The trap is set before `started` is written.
        assert!(send_signal(child.id() as i32, libc::SIGINT));
        let status = child.wait().unwrap();
        assert!(!status.success(), "{rec}");
        assert_eq!(sb.read(rec), "started\nUSR1\nINT\nUSR2\n", "{rec}");
    }
}

#[test]
fn without_term_seq_hrun_exec_forwards_the_signal_then_kills() {
    let sb = Sandbox::new();
    setup(&sb);
    let mut child = hrun()
        .current_dir(sb.root())
        .args(["exec", "--log", "none", "--grace", "600ms", "./trap.sh", ":::", "rec"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&sb.path("rec"), Duration::from_secs(20));
    assert!(send_signal(child.id() as i32, libc::SIGHUP));
    assert_eq!(child.wait().unwrap().code(), Some(129));
    assert_eq!(sb.read("rec"), "started\nHUP\n");
}

#[test]
fn a_bad_term_seq_is_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    for bad in ["FOO,10", "TERM,abc", "TERM,-1", ""] {
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "--joblog",
            "jl",
            "--term-seq",
            bad,
            "echo",
            ":::",
            "a",
        ]));
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{bad}: {err}");
        assert!(err.contains("--term-seq") && err.contains(&format!("{bad:?}")), "{bad}: {err}");
        assert!(stdout(&out).is_empty() && !sb.path("jl").exists() && !sb.path(".hrun").exists(), "{bad}");
    }
}
