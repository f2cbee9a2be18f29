//! Crash-safe resume: kill -9 of hrun at random points, then --resume, until done. The
//! contract: each task has exactly one successful record and one result file, and reduce
//! gives what an uninterrupted run gives.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::*;

const TASKS: u64 = 24;
const SAMPLES: &str = "15000000";

fn gen_tasks(sb: &Sandbox) {
    let out = run(hrun().current_dir(sb.root()).args([
        "gen",
        "--tasks",
        &TASKS.to_string(),
        "--threads",
        "1",
        "-n",
        SAMPLES,
        "--seed",
        "100",
    ]));
    assert_status!(out, 0);
    sb.write("tasks.txt", out.stdout);
}

/// Processes whose environment says this hrun started them.
fn owned_by(hrun_pid: u32) -> Vec<i32> {
    let marker = format!("HRUN_PID={hrun_pid}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'));
            alive
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|&b| b == 0).any(|kv| kv == marker.as_bytes()))
        })
        .collect()
}

/// A small xorshift, seeded from the clock (or HRUN_TEST_SEED to replay a failure).
fn delays(rounds: usize) -> (u64, Vec<u64>) {
    let seed = std::env::var("HRUN_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    let mut x = seed;
    let v = (0..rounds)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            20 + x % 300
        })
        .collect();
    (seed, v)
}

#[test]
fn kill_9_at_random_points_then_resume_loses_and_duplicates_nothing() {
    let sb = Sandbox::new();
    gen_tasks(&sb);
    let (seed, kill_after) = delays(6);
    eprintln!("kill delays (ms) {kill_after:?}; replay with HRUN_TEST_SEED={seed}");
    for ms in &kill_after {
        let mut child = sb
            .exec()
            .args(["--resume", "tasks.txt"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*ms));
        send_signal(child.id() as i32, libc::SIGKILL);
        child.wait().unwrap();
        // Nothing hrun started outlives it.
        let t0 = Instant::now();
        while !owned_by(child.id()).is_empty() {
            assert!(
                t0.elapsed() < Duration::from_secs(3),
                "workers outlived kill -9: {:?}",
                owned_by(child.id())
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let out = run(sb.exec().args(["--resume", "tasks.txt"]));
    assert_status!(out, 0);

    // Exactly one successful record per task.
    let Log { runs, tasks, .. } = sb.records();
    // Each killed hrun wrote its run record, or none when killed before it got that far (a
    // loaded machine can take longer than the shortest delay, 20 ms, to get there).
    assert!((2..=kill_after.len() + 1).contains(&runs.len()), "{} runs", runs.len());
    let mut ok: HashMap<u64, usize> = HashMap::new();
    for t in tasks.iter().filter(|t| t.exit == Some(0)) {
        *ok.entry(t.seq).or_default() += 1;
    }
    for seq in 1..=TASKS {
        assert_eq!(ok.get(&seq), Some(&1), "task {seq}: successful records {:?}", ok.get(&seq));
    }
    // Exactly one result file per task (a killed worker's temporary file is hidden).
    let mut results: Vec<String> = std::fs::read_dir(sb.path("results"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    results.sort();
    assert_eq!(results.len(), TASKS as usize, "{results:?}");

    // The same estimate as an uninterrupted run.
    let clean = Sandbox::new();
    gen_tasks(&clean);
    let out = run(clean.exec().arg("tasks.txt"));
    assert_eq!(out.status.code(), Some(0));
    let (a, b) = (reduce_json(sb.root(), &["results"]), reduce_json(clean.root(), &["results"]));
    for key in ["tasks", "samples", "hits", "pi", "stderr"] {
        assert_eq!(a[key], b[key], "{key}");
    }
}

/// Tasks are known by their command, not their line: a changed line runs anew, inserted and
/// moved lines do not disturb the rest, a removed one is reported, and nothing is refused.
#[test]
fn resume_knows_tasks_by_content() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo a >> ran\necho b >> ran\necho c >> ran\n");
    assert_eq!(run(sb.exec().args(["--jobs", "1", "tasks.txt"])).status.code(), Some(0));
    // b changed to B, a line prepended, c moved before a.
    sb.write("tasks.txt", "echo new >> ran\necho c >> ran\necho a >> ran\necho B >> ran\n");
    let out = run(sb.exec().args(["--jobs", "1", "--resume", "tasks.txt"]));
    assert_status!(out, 0);
    assert_eq!(sb.read("ran"), "a\nb\nc\nnew\nB\n", "only the new and the changed task ran");
    let err = stderr(&out);
    assert!(err.contains("1 finished task of the run log no longer in tasks.txt"), "{err}");
    assert!(err.contains("2 already done"), "{err}");
    // Now nothing is left; --force is still accepted (older scripts) and changes nothing.
    let out = run(sb.exec().args(["--resume", "--force", "tasks.txt"]));
    assert_status!(out, 0);
    assert_eq!(sb.read("ran").lines().count(), 5);
    // A template's sweep given one more value: only the new job runs.
    let job = |values: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["-j", "1", "echo {} >> swept", ":::"].map(String::from).to_vec();
        v.extend(values.iter().map(|s| s.to_string()));
        v
    };
    run(hrun().current_dir(sb.root()).arg("exec").args(job(&["1", "2"])));
    // A value prepended: the default log is found again, and only its job runs.
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--resume"]).args(job(&["0", "1", "2"])));
    assert_status!(out, 0);
    assert_eq!(sb.read("swept"), "1\n2\n0\n");
}

#[test]
fn resume_failed_reruns_failed_tasks_and_resume_does_not() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo ok >> ran\necho bad >> ran; exit 1\n");
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(1));
    assert_eq!(run(sb.exec().args(["--resume", "tasks.txt"])).status.code(), Some(0));
    assert_eq!(sb.read("ran").lines().count(), 2, "--resume skips finished tasks, failed ones too");
    assert_eq!(run(sb.exec().args(["--resume-failed", "tasks.txt"])).status.code(), Some(1));
    assert_eq!(
        sb.read("ran").lines().filter(|l| *l == "bad").count(),
        2,
        "--resume-failed reruns the failure"
    );
    assert_eq!(sb.read("ran").lines().filter(|l| *l == "ok").count(), 1);
}

/// A torn last line (hrun killed mid-write, or a disk that filled up) is ended and skipped.
#[test]
fn a_torn_log_line_is_skipped_and_the_next_run_starts_a_clean_line() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo x >> ran\necho y >> ran\n");
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    // As if hrun died writing its last task record: drop the end record, cut the last line.
    let text = sb.read("log.jsonl");
    let mut log: String =
        text.lines().filter(|l| !l.contains("\"kind\":\"end\"")).collect::<Vec<_>>().join("\n");
    log.truncate(log.len() - 40);
    sb.write("log.jsonl", &log);
    let out = run(sb.exec().args(["--resume", "tasks.txt"]));
    assert_status!(out, 0);
    assert!(stderr(&out).contains("1 unreadable line in"), "{}", stderr(&out));
    assert_eq!(sb.read("ran").lines().count(), 3, "the task whose record was torn ran again");
    let text = sb.read("log.jsonl");
    let bad = text.lines().filter(|l| serde_json::from_str::<Value>(l).is_err()).count();
    assert_eq!(bad, 1, "only the torn line is unreadable; the next run started a new line");
}
