//! Small helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use crate::common::{Log, eventually, read_records, read_records_so_far, reduce_json, signal};
use hrun::cpuset::CpuSet;
use serde_json::Value;

/// A `Command` for the `hrun` binary under test, isolated from the user's hrun config.
pub fn hrun() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hrun"));
    c.env("XDG_CONFIG_HOME", "/nonexistent-hrun-test-config");
    // Every HRUN_ variable, today's settings and tomorrow's: a test sets what it means to.
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("HRUN_") {
            c.env_remove(var);
        }
    }
    c
}

/// The CPUs this test process may use: tests adapt to them instead of assuming 2.
pub fn usable_cpus() -> CpuSet {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    cpus_allowed(&status)
}

/// The `Cpus_allowed_list` of a `/proc/<pid>/status` text.
pub fn cpus_allowed(status: &str) -> CpuSet {
    let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:")).expect("Cpus_allowed_list");
    line.split_once(':').unwrap().1.trim().parse().unwrap()
}

/// A temporary directory the test works in; removed on drop.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// `hrun exec` with the working directory and log inside the sandbox.
    pub fn exec(&self) -> Command {
        let mut c = hrun();
        c.current_dir(self.root()).arg("exec").arg("--log").arg(self.path("log.jsonl"));
        c
    }

    /// The run log as JSON: (run records, task records sorted by seq). Prefer [`Sandbox::records`].
    pub fn log(&self) -> (Vec<Value>, Vec<Value>) {
        read_log(&self.path("log.jsonl"))
    }

    /// The run log's records, typed.
    pub fn records(&self) -> Log {
        read_records(&self.path("log.jsonl"))
    }
}

pub fn read_log(path: &Path) -> (Vec<Value>, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut runs = Vec::new();
    let mut tasks = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("bad log line {line:?}: {e}"));
        match v["kind"].as_str() {
            Some("run") => runs.push(v),
            Some("task") => tasks.push(v),
            Some("end") | Some("start") => {}
            other => panic!("unknown record kind {other:?}"),
        }
    }
    tasks.sort_by_key(|t| t["seq"].as_u64().unwrap());
    (runs, tasks)
}

/// Runs to completion, capturing output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("spawn hrun")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Waits (polling, bounded) until `path` exists: tasks signal "ready" by creating a file.
pub fn wait_for_file(path: &Path, limit: Duration) {
    eventually(&format!("{} appears", path.display()), limit, || path.exists());
}

/// The test's CPUs taken `k` at a time, for `taskset -c`.
pub fn first_cpus(k: usize) -> CpuSet {
    CpuSet::from_ids(usable_cpus().ids().iter().copied().take(k))
}

/// hrun's stderr, line by line, read on a thread: tests wait for what hrun says (e.g. that
/// it handled a signal) instead of sleeping.
pub struct StderrLines {
    rx: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl StderrLines {
    pub fn take(child: &mut std::process::Child) -> Self {
        use std::io::BufRead;
        let err = child.stderr.take().expect("stderr piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        StderrLines { rx, seen: Vec::new() }
    }

    /// Waits for a line containing `needle`.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) {
        let t0 = Instant::now();
        loop {
            if self.seen.iter().any(|l| l.contains(needle)) {
                return;
            }
            let left = limit.checked_sub(t0.elapsed()).unwrap_or_else(|| {
                panic!("hrun did not say {needle:?} within {limit:?}; it said {:?}", self.seen)
            });
            if let Ok(line) = self.rx.recv_timeout(left) {
                self.seen.push(line);
            }
        }
    }

    /// Everything said until hrun closed stderr.
    pub fn rest(mut self) -> String {
        self.seen.extend(self.rx.iter());
        self.seen.join("\n")
    }
}

/// The real GNU `parallel`, or None (the test is skipped, visibly) where it is not installed.
/// CI installs it, and there a missing `parallel` fails the test instead. It chooses its shell
/// as hrun does (`$PARALLEL_SHELL`, else the nearest shell among its ancestors, the test's own).
pub fn gnu_parallel() -> Option<Command> {
    let found = Command::new("parallel").arg("--version").stdout(Stdio::null()).status().is_ok();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "GNU parallel must be installed in CI (.ci/run does)");
        eprintln!("skipped: GNU parallel is not installed");
        return None;
    }
    let mut c = Command::new("parallel");
    c.env("PARALLEL_HOME", std::env::temp_dir().join("hrun-test-parallel-home")).arg("--will-cite");
    Some(c)
}

/// Runs to completion, capturing output, but fails the test (killing the child) if it takes
/// longer than `limit`: for tests of what used to hang (a FIFO opened for reading, say).
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    // The thread owns the child until it is reaped, so `pid` cannot be reused before the kill.
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("{cmd:?} did not end within {limit:?}: it hung");
        }
    }
}

/// A FIFO at `path` that nobody writes to.
pub fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR).unwrap();
}

/// Sends signal number `sig` to process `pid`; false if it is gone (the name older tests use
/// for [`signal`]).
pub use crate::common::signal as send_signal;

/// Runs `c` in `dir` with `stdin` fed to it (from a thread, so a child that writes before it
/// reads cannot deadlock), capturing stdout and stderr.
pub fn run_with(mut c: Command, dir: &Path, stdin: &[u8]) -> Output {
    use std::io::Write;
    c.current_dir(dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// hrun as `parallel` (its GNU personality): a symlink of that name in `sb/bin`, made once, with
/// an empty GNU profile directory `sb/ph`.
pub fn as_parallel(sb: &Sandbox) -> PathBuf {
    let link = sb.path("bin/parallel");
    if !link.exists() {
        std::fs::create_dir_all(sb.path("bin")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hrun"), &link).unwrap();
        std::fs::create_dir_all(sb.path("ph")).unwrap();
    }
    link
}

/// hrun as `parallel` on `args` in `sb` (GNU's profile directory `sb/ph`, no `$PARALLEL`).
pub fn run_as_parallel(sb: &Sandbox, args: &[&str], stdin: &[u8]) -> Output {
    let mut p = Command::new(as_parallel(sb));
    p.env("PARALLEL_HOME", sb.path("ph")).env_remove("PARALLEL").arg("--will-cite").args(args);
    run_with(p, sb.root(), stdin)
}

/// GNU parallel's run of `args` in `sb`, or None where GNU is not installed.
pub fn run_gnu(sb: &Sandbox, args: &[&str], stdin: &[u8]) -> Option<Output> {
    let mut gnu = gnu_parallel()?;
    gnu.args(args);
    Some(run_with(gnu, sb.root(), stdin))
}

/// hrun as `parallel` against GNU's run `g` of `args`: stdout (bytes), stderr and exit status.
pub fn parallel_matches(sb: &Sandbox, args: &[&str], stdin: &[u8], g: &Output) {
    let p = run_as_parallel(sb, args, stdin);
    assert_eq!(stdout(&p), stdout(g), "{args:?}: hrun as parallel (left) and GNU differ; {}", stderr(&p));
    assert_eq!(p.stdout, g.stdout, "{args:?}: bytes differ as parallel");
    assert_eq!(stderr(&p), stderr(g), "{args:?}: stderr as parallel");
    assert_eq!(p.status.code(), g.status.code(), "{args:?}: exit as parallel");
}

/// GNU, `hrun exec` and hrun as `parallel` on `args`: the same standard output and exit
/// status (GNU's standard error too, as `parallel`). GNU runs once; skipped where it is not
/// installed.
pub fn gnu_exec_and_parallel_agree(sb: &Sandbox, args: &[&str], stdin: &[u8]) {
    let Some(g) = run_gnu(sb, args, stdin) else { return };
    let mut exec = hrun();
    exec.args(["exec", "--quiet", "--log"]).arg(sb.path("log.jsonl")).args(args);
    let h = run_with(exec, sb.root(), stdin);
    assert_eq!(stdout(&h), stdout(&g), "{args:?}: hrun exec (left) and GNU differ; hrun said {}", stderr(&h));
    assert_eq!(h.stdout, g.stdout, "{args:?}: bytes differ");
    assert_eq!(h.status.code(), g.status.code(), "{args:?}: exit; hrun said {}", stderr(&h));
    parallel_matches(sb, args, stdin, &g);
}
