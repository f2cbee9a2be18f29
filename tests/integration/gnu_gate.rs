//! Issue 22: GNU parallel's `--memfree` and `--load`. hrun reads `/proc/meminfo` and
//! `/proc/loadavg` from `HRUN_PROC_ROOT` when it is set: here a FIFO the test serves, one
//! answer per read, so the test knows each time hrun looked, and what it saw.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;

const LOW: &str = "MemTotal: 16000000 kB\nMemFree: 100 kB\nBuffers: 0 kB\nCached: 0 kB\nSwapCached: 0 kB\n";
const HIGH: &str = "MemTotal: 16000000 kB\nMemFree: 900000 kB\nBuffers: 10 kB\nCached: 10 kB\n";

/// Serves `path` (a FIFO) to each reader: the text in `now` at the time it opens.
struct Server {
    now: Arc<Mutex<String>>,
    opens: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(path: &Path, first: &str) -> Server {
        mkfifo(path);
        let s = Server {
            now: Arc::new(Mutex::new(first.to_string())),
            opens: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (now, opens, stop, path) = (s.now.clone(), s.opens.clone(), s.stop.clone(), path.to_path_buf());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // A writer opens only once a reader has: no reader, no answer (ENXIO).
                match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&path) {
                    Ok(mut f) => {
                        let text = now.lock().unwrap().clone();
                        let _ = f.write_all(text.as_bytes());
                        drop(f);
                        opens.fetch_add(1, Ordering::SeqCst);
                        // Let this reader see the end before the next answer.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        s
    }

    fn set(&self, text: &str) {
        *self.now.lock().unwrap() = text.to_string();
    }

    /// Waits until hrun has read the file `n` more times, or `done` holds.
    fn wait_reads(&self, n: usize, done: impl Fn() -> bool) {
        let target = self.opens.load(Ordering::SeqCst) + n;
        let t0 = Instant::now();
        while self.opens.load(Ordering::SeqCst) < target && !done() {
            assert!(t0.elapsed() < Duration::from_secs(30), "hrun did not look again");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn spawn(sb: &Sandbox, args: &[&str]) -> Child {
    hrun()
        .current_dir(sb.root())
        .env("HRUN_PROC_ROOT", sb.path("proc"))
        .args(["exec", "--log", "none"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn proc_dir(sb: &Sandbox) -> PathBuf {
    let p = sb.path("proc");
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn memfree_holds_jobs_while_memory_is_low_and_starts_them_when_it_is_free() {
    let sb = Sandbox::new();
    let server = Server::start(&proc_dir(&sb).join("meminfo"), LOW);
    let child = spawn(&sb, &["--memfree", "1M", "touch", "started_{}", ":::", "a"]);
    let started = || sb.path("started_a").exists();
    // The look at the node's size, then two looks that hold the job back.
    server.wait_reads(3, started);
    assert!(!started(), "a job started with 100 kB free and --memfree 1M");
    server.set(HIGH);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started());
}

#[test]
fn load_holds_jobs_while_the_load_is_high() {
    let sb = Sandbox::new();
    let server = Server::start(&proc_dir(&sb).join("loadavg"), "7.50 1.00 1.00 3/300 999\n");
    let child = spawn(&sb, &["--load", "2.5", "touch", "started_{}", ":::", "a"]);
    let started = || sb.path("started_a").exists();
    server.wait_reads(2, started);
    assert!(!started(), "a job started at load 7.5 with --load 2.5");
    server.set("2.49 9.00 9.00 1/300 999\n");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started());
}

#[test]
fn memory_below_half_of_memfree_stops_the_youngest_job() {
    let sb = Sandbox::new();
    let server = Server::start(&proc_dir(&sb).join("meminfo"), HIGH);
    let script = "trap 'echo TERM >> rec_{}; exit 7' TERM; touch started_{}; while :; do sleep 0.05; done";
    let child = spawn(&sb, &["--memfree", "1M", "-j", "1", script, ":::", "a"]);
    wait_for_file(&sb.path("started_a"), Duration::from_secs(30));
    server.set(LOW);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(sb.read("rec_a"), "TERM\n");
    assert!(stderr(&out).contains("stopping the youngest task, 1 (line 1)"), "{}", stderr(&out));
}

#[test]
fn memfree_and_load_refusals() {
    let sb = Sandbox::new();
    std::fs::write(proc_dir(&sb).join("meminfo"), LOW).unwrap();
    for (args, says) in [
        (&["--memfree", "1t"][..], "more than this node's memory"),
        (&["--memfree", "lots"][..], "--memfree \"lots\""),
        (&["--load", "high"][..], "--load \"high\""),
    ] {
        let out = run(hrun()
            .current_dir(sb.root())
            .env("HRUN_PROC_ROOT", sb.path("proc"))
            .args(["exec", "--joblog", "jl"])
            .args(args)
            .args(["echo", ":::", "a"]));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains(says) && stderr(&out).lines().count() == 1,
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty() && !sb.path("jl").exists(), "{args:?}");
    }
}

/// With room to spare, the output is GNU's (`par_memfree`'s first line).
#[test]
fn with_enough_memory_and_a_high_load_limit_the_output_is_gnus() {
    let sb = Sandbox::new();
    let args = ["-k", "--memfree", "1k", "--load", "1000", "echo", "Free mem:", ":::", "1k", "2k"];
    let h = run(hrun().current_dir(sb.root()).args(["exec", "--log", "none"]).args(args));
    assert!(h.status.success(), "{}", stderr(&h));
    assert_eq!(stdout(&h), "Free mem: 1k\nFree mem: 2k\n");
    if let Some(mut g) = gnu_parallel() {
        let g = run(g.current_dir(sb.root()).args(args));
        assert_eq!(stdout(&h), stdout(&g));
    }
}
