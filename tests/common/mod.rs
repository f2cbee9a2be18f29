//! What every test target shares (integration, slurm, worker): the run log read into hrun's
//! own record types, one exit-status assertion, one wait for a condition, one signal, one
//! reduce. Included by each target's main.rs (`#[macro_use] #[path = "../common/mod.rs"] mod
//! common;`): a target uses part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hrun::log::read::Reader;
use hrun::log::{EndSummary, LostRecord, Record, RunRecord, StartRecord, TaskRecord};
use serde_json::Value;

/// Asserts a finished command's exit status, printing its standard error (and any message
/// after the status) when it differs: `assert_status!(out, 0)`, `assert_status!(out, 2, "{x}")`.
macro_rules! assert_status {
    ($out:expr, $code:expr) => {{
        let out: &std::process::Output = &$out;
        assert_eq!(out.status.code(), Some($code), "exit status; stderr: {}", String::from_utf8_lossy(&out.stderr));
    }};
    ($out:expr, $code:expr, $($msg:tt)+) => {{
        let out: &std::process::Output = &$out;
        assert_eq!(
            out.status.code(),
            Some($code),
            "{}; stderr: {}",
            format!($($msg)+),
            String::from_utf8_lossy(&out.stderr)
        );
    }};
}

/// The records of a run log, typed as hrun writes them: a renamed field fails to compile here,
/// not at run time.
#[derive(Debug, Default)]
pub struct Log {
    pub runs: Vec<RunRecord>,
    pub starts: Vec<StartRecord>,
    /// Sorted by `seq` (attempts of one task in the order written).
    pub tasks: Vec<TaskRecord>,
    pub ends: Vec<EndSummary>,
    pub lost: Vec<LostRecord>,
}

impl Log {
    /// The last run's end record (a run that did not end has none).
    pub fn end(&self) -> &EndSummary {
        self.ends.last().expect("an end record")
    }

    /// The records of task `seq`, every attempt.
    pub fn task(&self, seq: u64) -> Vec<&TaskRecord> {
        self.tasks.iter().filter(|t| t.seq == seq).collect()
    }
}

/// The run log at `path` through hrun's own reader; every line must be a record it knows.
pub fn read_records(path: &Path) -> Log {
    read(path, true)
}

/// The records of a log an hrun is still writing: its last line may be half written.
pub fn read_records_so_far(path: &Path) -> Log {
    read(path, false)
}

fn read(path: &Path, whole: bool) -> Log {
    let mut reader = Reader::open(path).unwrap_or_else(|e| panic!("open {}: {e:#}", path.display()));
    let mut log = Log::default();
    while let Some(record) = reader.next_record().unwrap_or_else(|e| panic!("{e:#}")) {
        match record {
            Record::Run(r) => log.runs.push(*r),
            Record::Start(s) => log.starts.push(s),
            Record::Task(t) => log.tasks.push(*t),
            Record::End(e) => log.ends.push(e),
            Record::Lost(l) => log.lost.push(l),
            Record::Other => {}
        }
    }
    assert!(!whole || reader.unreadable() == 0, "{}: lines that are no record", path.display());
    log.tasks.sort_by_key(|t| t.seq);
    log
}

/// Waits, polling every 10 ms, until `ok()` holds; fails the test naming `what` after `limit`.
pub fn eventually(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends signal number `sig` (`libc::SIGTERM`...) to process `pid`; false if it is gone.
pub fn signal(pid: i32, sig: i32) -> bool {
    let sig = nix::sys::signal::Signal::try_from(sig).expect("a known signal number");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).is_ok()
}

/// `hrun reduce --json ARGS` in `dir`, which must succeed; its JSON.
pub fn reduce_json(dir: &Path, args: &[&str]) -> Value {
    let mut reduce = Command::new(env!("CARGO_BIN_EXE_hrun"));
    // The user's config and HRUN_ settings stay out, as in every test's hrun.
    reduce.env("XDG_CONFIG_HOME", "/nonexistent-hrun-test-config");
    for (var, _) in std::env::vars_os().filter(|(v, _)| v.to_string_lossy().starts_with("HRUN_")) {
        reduce.env_remove(var);
    }
    let out =
        reduce.current_dir(dir).arg("reduce").arg("--json").args(args).output().expect("spawn hrun reduce");
    assert_status!(out, 0, "hrun reduce --json {args:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("reduce --json printed no JSON: {e}"))
}
