//! hrun's own output on standard output: a failed write is a one-line error with exit 255,
//! a reader that closed the pipe early ends it quietly with exit 0. Never a panic.

use std::fs::File;
use std::process::{Command, Output, Stdio};

use crate::harness::*;

/// Commands that print to stdout, run in `sb` (which holds a result directory `r`).
fn printers() -> Vec<Vec<&'static str>> {
    vec![
        vec!["slots"],
        vec!["slots", "--json"],
        vec!["reduce", "r"],
        vec!["reduce", "--json", "r"],
        vec!["config"],
        vec!["man"],
        vec!["completions", "bash"],
        vec!["status", "log.jsonl"],
    ]
}

fn sandbox_with_outputs() -> Sandbox {
    let sb = Sandbox::new();
    let worker = std::path::Path::new(env!("CARGO_BIN_EXE_hrun")).with_file_name("hrun-mc-pi");
    let made =
        Command::new(worker).args(["-n", "1000", "-o"]).arg(sb.path("r/mc_pi_1.toml")).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    sb.write("tasks.txt", "true\n");
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    sb
}

fn with_stdout(sb: &Sandbox, args: &[&str], out: impl Into<Stdio>) -> Output {
    hrun().current_dir(sb.root()).args(args).stdin(Stdio::null()).stdout(out).output().unwrap()
}

#[test]
fn a_full_disk_on_stdout_is_a_one_line_error_with_exit_255() {
    let sb = sandbox_with_outputs();
    for args in printers() {
        // /dev/full is only opened for writing as the child's stdout; nothing in /dev changes.
        let full = File::options().write(true).open("/dev/full").unwrap();
        let out = with_stdout(&sb, &args, full);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(255), "{args:?}: {err}");
        assert_eq!(
            err.trim_end(),
            "hrun: error: cannot write to standard output: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}

#[test]
fn a_reader_that_closed_the_pipe_ends_the_output_quietly() {
    let sb = sandbox_with_outputs();
    // `hrun results LOG | head -1` exited 255 ("cannot write results table -.csv: Broken pipe").
    for args in printers().into_iter().chain([vec!["results", "log.jsonl"]]) {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = with_stdout(&sb, &args, writer);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// `hrun run` writes its results and log before printing the estimate: a closed pipe keeps
/// the run's own exit status, a full disk is an error, and the run directory is complete.
#[test]
fn run_reports_a_failed_estimate_write_after_keeping_its_results() {
    let sb = Sandbox::new();
    let args = ["run", "--tasks", "2", "--threads", "1", "-n", "1000", "-q", "--dir"];
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = with_stdout(&sb, &[&args[..], &["piped"]].concat(), writer);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let full = File::options().write(true).open("/dev/full").unwrap();
    let out = with_stdout(&sb, &[&args[..], &["full"]].concat(), full);
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    assert!(
        stderr(&out).ends_with(
            "hrun: error: cannot write to standard output: No space left on device (os error 28)\n"
        )
    );
    for dir in ["piped", "full"] {
        assert_eq!(std::fs::read_dir(sb.path(dir).join("results")).unwrap().count(), 2, "{dir}");
    }
}
