//! The real `hrun-mc-pi` binary: determinism under load, independence, statistics, bad input.

use std::process::{Child, Command, Output, Stdio};

use hrun_protocol::result::McPiResult;

#[macro_use]
#[path = "../common/mod.rs"]
mod common;
mod kernels;
mod reduce;
mod statistics;
mod stats;

fn worker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hrun-mc-pi"))
}

fn result_of(out: &Output) -> McPiResult {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    McPiResult::parse(&String::from_utf8_lossy(&out.stdout)).unwrap()
}

fn hits(args: &[&str]) -> u64 {
    result_of(&worker().args(args).output().unwrap()).hits
}

/// Busy loops on every CPU, killed on drop.
struct Hog(Vec<Child>);

impl Hog {
    fn start() -> Hog {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hog((0..n).map(|_| Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap()).collect())
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn same_inputs_give_identical_hits_alone_under_load_and_oversubscribed() {
    let args = ["-n", "2000000", "-t", "4", "--seed", "17"];
    let quiet = hits(&args);
    assert_eq!(hits(&args), quiet);
    let _hog = Hog::start();
    assert_eq!(hits(&args), quiet, "a loaded machine changed the result");
    // Four threads squeezed onto one CPU: scheduling differs completely, the hits do not.
    let cpu = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:").map(|v| v.trim().to_string()))
        .unwrap();
    let first_cpu = cpu.split([',', '-']).next().unwrap().to_string();
    let out = Command::new("taskset")
        .args(["-c", &first_cpu, env!("CARGO_BIN_EXE_hrun-mc-pi")])
        .args(args)
        .output()
        .unwrap();
    let r = result_of(&out);
    assert_eq!(r.hits, quiet);
    assert_eq!(r.cpus, first_cpu, "the result records the worker's own affinity");
    // --bind pins threads but computes the same.
    assert_eq!(hits(&["-n", "2000000", "-t", "4", "--seed", "17", "--bind"]), quiet);
}

#[test]
fn different_seeds_give_different_results() {
    let a = hits(&["-n", "1000000", "--seed", "1"]);
    let b = hits(&["-n", "1000000", "--seed", "2"]);
    let c = hits(&["-n", "1000000", "--seed", "3"]);
    assert!(a != b && b != c && a != c, "{a} {b} {c}");
}

#[test]
fn result_file_has_every_field_and_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/r.toml");
    let out = worker().args(["-n", "1000", "-t", "2", "--seed", "5", "-o"]).arg(&path).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");
    let text = std::fs::read_to_string(&path).unwrap();
    for key in [
        "seed",
        "threads",
        "samples_per_thread",
        "samples",
        "hits",
        "pi",
        "elapsed_s",
        "samples_per_s",
        "cpus",
        "host",
        "version",
        "cpu_s",
        "start",
        "format",
        "kernel",
    ] {
        assert!(text.lines().any(|l| l.starts_with(&format!("{key} = "))), "missing {key}:\n{text}");
    }
    let r = McPiResult::parse(&text).unwrap();
    assert_eq!((r.seed, r.threads, r.samples_per_thread, r.samples), (5, 2, 1000, 2000));
    assert_eq!(r.pi, 4.0 * r.hits as f64 / 2000.0);
    let names: Vec<_> =
        std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["r.toml"], "no temporary file is left behind");
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let unwritable = blocker.join("r.toml");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["-n".into(), "0".into()], "-n/--samples must be at least 1"),
        (vec!["-n".into(), "10".into(), "-t".into(), "0".into()], "-t/--threads must be at least 1"),
        (vec!["-n".into(), "ten".into()], "invalid value 'ten'"),
        (vec!["-n".into(), "10".into(), "--seed".into(), "-1".into()], "'-1'"),
        (
            vec!["-n".into(), "10".into(), "-o".into(), unwritable.display().to_string()],
            "cannot write result to",
        ),
        (vec![], "--samples"),
    ];
    for (args, needle) in cases {
        let out = worker().args(&args).stdin(Stdio::null()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// The names in a directory, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mkfifo(path: &std::path::Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR).unwrap();
}

/// The atomic rename replaced whatever `-o` named: as root, `-o /dev/null` made /dev/null a
/// regular file. A FIFO (as a device) is now written straight through and stays what it is.
#[test]
fn a_fifo_given_to_o_is_written_through_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("results.fifo");
    mkfifo(&fifo);
    let reading = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read_to_string(reading).unwrap());
    let out = worker().args(["-n", "1000", "--seed", "3", "-o"]).arg(&fifo).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    assert_eq!(names(dir.path()), ["results.fifo"], "no temporary file");
    let r = McPiResult::parse(&reader.join().unwrap()).unwrap();
    assert_eq!((r.seed, r.samples), (3, 1000));
}

/// A symbolic link given to `-o` was replaced by a regular file; it is followed, and the file
/// it points to (existing, or not yet) is written atomically.
#[test]
fn a_symlink_given_to_o_is_followed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("store")).unwrap();
    std::fs::write(dir.path().join("store/old.toml"), "stale").unwrap();
    for (link, target) in [("existing.toml", "store/old.toml"), ("dangling.toml", "store/new.toml")] {
        let link = dir.path().join(link);
        std::os::unix::fs::symlink(target, &link).unwrap();
        let out = worker().args(["-n", "1000", "--seed", "4", "-o"]).arg(&link).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read_link(&link).unwrap(), std::path::Path::new(target), "the link was replaced");
        let r = McPiResult::parse(&std::fs::read_to_string(dir.path().join(target)).unwrap()).unwrap();
        assert_eq!(r.seed, 4);
    }
    assert_eq!(names(&dir.path().join("store")), ["new.toml", "old.toml"], "no temporary file");
    assert_eq!(names(dir.path()), ["dangling.toml", "existing.toml", "store"]);
}

/// SIGINT or SIGTERM mid-run (Ctrl-C, hrun's --timeout) left `.r.toml.tmp.PID` behind; the
/// worker now removes it and still dies of the signal.
#[test]
fn a_signal_mid_run_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        // Hours of work: it is still sampling when the signal comes.
        let mut child = worker().args(["-n", "1000000000000000", "-o"]).arg(&path).spawn().unwrap();
        let tmp = dir.path().join(format!(".r.toml.tmp.{}", child.id()));
        // Ready: the temporary file exists once the output is reserved, before sampling.
        let t0 = std::time::Instant::now();
        while !tmp.exists() {
            assert!(t0.elapsed() < std::time::Duration::from_secs(20), "{} never appeared", tmp.display());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::try_from(sig).unwrap()).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(sig), "{status:?}");
        assert_eq!(names(dir.path()), Vec::<String>::new(), "signal {sig} left a file");
    }
}

/// A directory given to `-o` is refused before the work, not after it (the rename failed).
#[test]
fn a_directory_given_to_o_is_refused_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = worker().args(["-n", "10", "-o"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!("hrun-mc-pi: error: cannot write result to {}: it is a directory", dir.path().display())
    );
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

/// A run that fails after the output was reserved (here: a sample count that overflows)
/// exited without removing its temporary file.
#[test]
fn a_failed_run_removes_its_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.toml");
    let out = worker().args(["-n", "18446744073709551615", "-t", "2", "-o"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(names(dir.path()), Vec::<String>::new());
}
