//! Tests against a real Slurm: the scripts in `slurm/` and hrun inside jobs, on a throw-away
//! cluster (`slurm/dev/local-slurm.sh`: slurmctld and three slurmd, node1..node3, on this
//! machine, with task/affinity binding jobs to their CPUs). The cluster starts with the first
//! test that needs it and stops when this test process ends.
//!
//! Where Slurm cannot be started (not root, packages missing) the tests say so on the terminal
//! and pass, except under CI (`CI` set) or with `HRUN_SLURM_TESTS=require`, where that fails.
//! Tests take turns: they share the cluster's nodes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

use common::{read_records, reduce_json, signal};

struct Cluster {
    conf: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static TURN: Mutex<()> = Mutex::new(());

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_hrun")).parent().unwrap().to_path_buf()
}

fn start_cluster() -> Result<Cluster, String> {
    // The owner of /proc/self is this process's effective user.
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) != 0 {
        return Err("not root (the local cluster's daemons run as root)".into());
    }
    let have = |p: &str| {
        Command::new("sh").args(["-c", &format!("command -v {p}")]).output().is_ok_and(|o| o.status.success())
    };
    if !(have("slurmctld") && have("slurmd") && have("sbatch") && have("munged")) {
        return Err(format!("Slurm or munge not installed (run {REPO}/slurm/dev/local-slurm.sh install)"));
    }
    // A cluster of an earlier test run whose watcher has not stopped it yet holds the ports.
    let script = format!("{REPO}/slurm/dev/local-slurm.sh");
    for old in std::fs::read_dir(std::env::temp_dir()).map_err(|e| e.to_string())?.flatten() {
        if old.file_name().to_string_lossy().starts_with("hrun-slurm-test-") {
            let _ = Command::new(&script).arg("stop").arg(old.path()).output();
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    let dir = std::env::temp_dir().join(format!("hrun-slurm-test-{}", std::process::id()));
    let out = Command::new(&script)
        .arg("start")
        .arg(&dir)
        .arg("--watch")
        .arg(std::process::id().to_string())
        .output()
        .map_err(|e| format!("cannot run local-slurm.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!("local-slurm.sh start failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(Cluster { conf: dir.join("slurm.conf") })
}

/// The cluster and this test's turn on it; `None` (after saying so) where Slurm cannot run.
fn cluster() -> Option<(MutexGuard<'static, ()>, &'static Cluster)> {
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    match CLUSTER.get_or_init(start_cluster) {
        Ok(c) => Some((turn, c)),
        Err(why) => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var("HRUN_SLURM_TESTS").is_ok_and(|v| v == "require");
            assert!(!required, "the Slurm tests must run here (CI or HRUN_SLURM_TESTS=require): {why}");
            // Straight to the terminal: the test harness captures eprintln!.
            let _ = writeln!(std::io::stderr(), "SKIPPED (Slurm): {why}");
            None
        }
    }
}

impl Cluster {
    fn cmd(&self, program: &str, dir: &Path) -> Command {
        let mut c = Command::new(program);
        let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
        c.current_dir(dir).env("SLURM_CONF", &self.conf).env("PATH", path);
        // The jobs get this environment (--export=ALL): keep the tester's hrun settings out.
        for (k, _) in std::env::vars() {
            if k.starts_with("HRUN_") || (k.starts_with("SLURM_") && k != "SLURM_CONF") {
                c.env_remove(k);
            }
        }
        c.env("XDG_CONFIG_HOME", "/nonexistent-hrun-test-config");
        c
    }

    /// Submits with `sbatch --parsable ARGS` in `dir`; returns the job id.
    fn sbatch(&self, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> u64 {
        let out =
            self.cmd("sbatch", dir).envs(env.iter().copied()).arg("--parsable").args(args).output().unwrap();
        assert!(out.status.success(), "sbatch {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim().split(';').next().unwrap().parse().unwrap_or_else(|_| panic!("sbatch printed {text:?}"))
    }

    /// Waits for a job to leave the queue; returns (state, exit code) from scontrol.
    fn wait(&self, job: u64, limit: Duration, dir: &Path) -> (String, i32) {
        let until = Instant::now() + limit;
        loop {
            let out =
                self.cmd("squeue", dir).args(["-h", "-j", &job.to_string(), "-o", "%T"]).output().unwrap();
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            // Only a final state ends the wait: a running job can show transient ones too
            // (SIGNALING while a --signal is delivered, COMPLETING, CONFIGURING...).
            if state.is_empty() || FINAL_STATES.contains(&state.as_str()) {
                break;
            }
            if Instant::now() > until {
                let _ = self.cmd("scancel", dir).arg(job.to_string()).status();
                panic!("job {job} still {state} after {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = self.cmd("scontrol", dir).args(["show", "job", "-o", &job.to_string()]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let field = |k: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("no {k} in scontrol's {text:?}"))
                .to_string()
        };
        let exit: i32 = field("ExitCode").split(':').next().unwrap().parse().unwrap();
        (field("JobState"), exit)
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn cpus_of(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| status.trim().to_string())
}

fn count_cpus(list: &str) -> usize {
    list.parse::<hrun::cpuset::CpuSet>().unwrap().len()
}

/// `hrun reduce --json DIR`.
fn reduce(dir: &Path) -> Value {
    reduce_json(dir, &[dir.to_str().expect("a UTF-8 path")])
}

/// The same sweep run here, outside Slurm: gen + exec, reduced.
fn reference(tasks: u32, samples: u32, seed: u32) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let hrun = bin_dir().join("hrun");
    let generated = Command::new(&hrun)
        .current_dir(dir.path())
        .args(["gen", "--threads", "1", "--tasks", &tasks.to_string()])
        .args(["--samples", &samples.to_string(), "--seed", &seed.to_string(), "--results", "res"])
        .output()
        .unwrap();
    assert!(generated.status.success());
    std::fs::write(dir.path().join("tasks.txt"), generated.stdout).unwrap();
    let run = Command::new(&hrun)
        .current_dir(dir.path())
        .args(["exec", "-q", "--deadline", "none", "tasks.txt"])
        .env("XDG_CONFIG_HOME", "/nonexistent-hrun-test-config")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    reduce(&dir.path().join("res"))
}

/// A worker that takes at least `secs` seconds per task: a wrapper that sleeps, then runs it.
fn slow_worker(dir: &Path, secs: u32) -> PathBuf {
    let path = dir.join("slow-worker");
    let script = format!("#!/bin/sh\nsleep {secs}\nexec {}/hrun-mc-pi \"$@\"\n", bin_dir().display());
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    path
}

/// Task number -> successful attempts, over the logs.
fn successes(logs: &[PathBuf]) -> BTreeMap<u64, usize> {
    let mut ok = BTreeMap::new();
    for log in logs {
        for t in read_records(log).tasks.iter().filter(|t| t.exit == Some(0)) {
            *ok.entry(t.seq).or_default() += 1;
        }
    }
    ok
}

fn same_estimate(a: &Value, b: &Value) {
    for k in ["tasks", "samples", "hits", "pi"] {
        assert_eq!(a[k], b[k], "{k}: {a} vs {b}");
    }
}

const WAIT: Duration = Duration::from_secs(120);

/// Job states after which a job does nothing more (squeue drops it after MinJobAge).
const FINAL_STATES: [&str; 10] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "REVOKED",
];

#[test]
fn a_one_cpu_job_runs_one_slot_on_its_cpu_and_an_exclusive_job_uses_every_cpu() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tasks.txt"),
        "awk '/Cpus_allowed_list/{print $2}' /proc/self/status > task-$HRUN_SEQ.cpus\n".repeat(4),
    )
    .unwrap();
    let online = cpus_of(&read(Path::new("/sys/devices/system/cpu/online")));
    for (name, args) in [("one", vec!["-c", "1"]), ("excl", vec!["--exclusive"])] {
        let wrap = format!(
            "mkdir {name} && cd {name} && grep Cpus_allowed_list /proc/self/status > shell.cpus && \
             hrun exec --log run.jsonl ../tasks.txt"
        );
        let mut all = vec!["-w", "node1", "-o", "job-%j.out"];
        all.extend(args);
        all.extend(["--wrap", &wrap]);
        let job = c.sbatch(d, &[], &all);
        let (state, exit) = c.wait(job, WAIT, d);
        assert_eq!(
            (state.as_str(), exit),
            ("COMPLETED", 0),
            "{name}: {}",
            read(&d.join(format!("job-{job}.out")))
        );
        let w = d.join(name);
        let shell = cpus_of(&read(&w.join("shell.cpus")));
        let log = read_records(&w.join("run.jsonl"));
        let run = &log.runs[0];
        assert_eq!(run.cpus, shell, "{name}: hrun's CPUs are the job's");
        let job_id = run.slurm.as_ref().and_then(|s| s.job_id.clone());
        assert_eq!(job_id, Some(job.to_string()), "{run:?}");
        let slots = &run.slots;
        if name == "one" {
            assert_eq!(count_cpus(&shell), 1, "a -c 1 job is bound to one CPU: {shell}");
            assert_eq!(slots.len(), 1);
            assert_eq!(slots[0].cpus, shell);
        } else {
            assert_eq!(shell, online, "an exclusive job gets every CPU");
            assert_eq!(slots.len(), count_cpus(&online));
        }
        for seq in 1..=4 {
            let task = read(&w.join(format!("task-{seq}.cpus"))).trim().to_string();
            let slot = &log.task(seq)[0].cpus;
            assert_eq!(*slot, task, "{name}: task {seq} pinned to its slot");
            assert_eq!(count_cpus(&task), 1);
        }
    }
}

#[test]
fn b_node_script_and_job_array_give_the_same_estimate() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (node, array) = (d.join("node"), d.join("array"));
    let (ns, ars) = (node.display().to_string(), array.display().to_string());
    let env = |r: &'static str| {
        [("TASKS", "5"), ("THREADS", "1"), ("SAMPLES", "300000"), ("SEED", "40"), ("RESULTS", r)]
    };
    let node_env = env("");
    let node_env: Vec<(&str, &str)> =
        node_env.iter().map(|&(k, v)| if k == "RESULTS" { (k, ns.as_str()) } else { (k, v) }).collect();
    let array_env: Vec<(&str, &str)> =
        node_env.iter().map(|&(k, v)| if k == "RESULTS" { (k, ars.as_str()) } else { (k, v) }).collect();
    let job = c.sbatch(d, &node_env, &["-o", "node-%j.out", &format!("{REPO}/slurm/hrun-node.sbatch")]);
    let submitter = c.sbatch(d, &array_env, &["-o", "submit-%j.out", &format!("{REPO}/slurm/array.sbatch")]);

    let (state, exit) = c.wait(job, WAIT, d);
    let node_out = read(&d.join(format!("node-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{node_out}");
    assert!(node_out.contains("tasks            5"), "the job reduces: {node_out}");
    assert_eq!(c.wait(submitter, WAIT, d).1, 0);
    let said = read(&d.join(format!("submit-{submitter}.out")));
    let id_after = |what: &str| -> u64 {
        let rest = &said[said.find(what).unwrap_or_else(|| panic!("no {what:?} in {said:?}")) + what.len()..];
        rest.split(|ch: char| !ch.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let (array_job, reduce_job) = (id_after("array job "), id_after("reduce job "));
    assert!(said.contains(&format!("array job {array_job} (5 elements")), "{said}");
    let (state, exit) = c.wait(reduce_job, WAIT, d);
    let elements: Vec<String> = (1..=5)
        .map(|i| std::fs::read_to_string(array.join(format!("element-{i}.out"))).unwrap_or_default())
        .collect();
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "reduce job {reduce_job}: {said} {elements:?}");
    assert!(read(&array.join("reduce.out")).contains("tasks            5"));
    for i in 1..=5 {
        assert!(array.join(format!("mc_pi_{i}.toml")).is_file(), "element {i}'s result");
    }
    let (a, b) = (reduce(&node), reduce(&array));
    same_estimate(&a, &b);
    assert_eq!(a["tasks"], 5);
    same_estimate(&a, &reference(5, 300_000, 40));
}

#[test]
fn c_three_nodes_run_every_task_once_and_reduce_matches_one_node() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = d.join("r");
    let rs = r.display().to_string();
    let env =
        [("TASKS", "8"), ("THREADS", "1"), ("SAMPLES", "200000"), ("SEED", "7"), ("RESULTS", rs.as_str())];
    let script = format!("{REPO}/slurm/hrun-multinode.sbatch");
    let job = c.sbatch(d, &env, &["-N", "3", "-o", "multi-%j.out", &script]);
    let (state, exit) = c.wait(job, WAIT, d);
    let out = read(&d.join(format!("multi-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{out}");

    // One hrun over the three nodes (the script's default, --nodes all): one log.
    let logs: Vec<_> = std::fs::read_dir(r.join(".hrun")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(logs, ["tasks.hrun.jsonl"], "one log for the whole job");
    let records = read_records(&r.join(".hrun").join("tasks.hrun.jsonl"));
    assert_eq!(records.runs.len(), 1);
    let mut runs_by: BTreeMap<u64, usize> = BTreeMap::new();
    for t in &records.tasks {
        assert_eq!(t.exit, Some(0), "{t:?}");
        *runs_by.entry(t.seq).or_default() += 1;
    }
    let hosts: std::collections::BTreeSet<&str> = records.tasks.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["node1", "node2", "node3"].into(),
        "8 tasks on 3 nodes x 2 slots: every node ran some"
    );
    assert_eq!(runs_by, (1..=8).map(|s| (s, 1)).collect(), "every task exactly once");
    assert!(out.contains("tasks            8"), "{out}");
    same_estimate(&reduce(&r), &reference(8, 200_000, 7));

    let status = Command::new(bin_dir().join("hrun")).arg("status").arg(&r).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("tasks: 8 done (8 ok, 0 failed)"), "{text}");
}

/// Issue 15: the script asked Slurm for `--signal=B:USR1@300`, so a job with a short limit
/// (`--time=1`) drained at once (2 of 100 tasks ran). hrun's deadline does the timing now, with
/// the script's own fallback drain inside the limit; and `HRUN_RESUBMIT=1` submits the next job
/// itself, which finishes the sweep.
#[test]
fn d_a_job_at_its_time_limit_drains_and_a_resubmitted_job_finishes_the_rest() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Tasks of at least 2 s (a wrapper sleeps, then runs the worker): 56 of them on the node's
    // CPUs need more than the 1-minute limit on a 2-CPU machine.
    let slow = slow_worker(d, 2);
    let online = cpus_of(&read(Path::new("/sys/devices/system/cpu/online")));
    let tasks = 28 * count_cpus(&online) as u32;
    let r = d.join("r");
    let (rs, ws, ts) = (r.display().to_string(), slow.display().to_string(), tasks.to_string());
    let env = [
        ("TASKS", ts.as_str()),
        ("THREADS", "1"),
        ("SAMPLES", "100000"),
        ("SEED", "3"),
        ("RESULTS", rs.as_str()),
        ("WORKER", ws.as_str()),
        ("HRUN_DEADLINE_MARGIN", "5s"),
        ("HRUN_RESUBMIT", "1"),
    ];
    let script = format!("{REPO}/slurm/hrun-node.sbatch");
    let first = c.sbatch(d, &env, &["-w", "node1", "--time=1", "-o", "first-%j.out", &script]);
    let (state, exit) = c.wait(first, Duration::from_secs(150), d);
    let out = read(&d.join(format!("first-{first}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "the first job resubmitted the rest: {out}");
    let second: u64 = out
        .split("resubmitted as job ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no resubmission in {out}"));
    let log = r.join(".hrun/tasks.hrun.jsonl");
    let records = read_records(&log);
    let end = records.ends[0].clone();
    let stopped_by = end.stopped_by.clone().unwrap_or_default();
    assert!(stopped_by.contains("SIGUSR1") || stopped_by.contains("deadline"), "{end:?}");
    assert!(end.not_run > 0, "{end:?}");
    assert_eq!(end.cancelled, 0, "a drain lets running tasks finish: {end:?}");
    let done_first = records.tasks.len();
    // Tasks of 2 s, for about 55 s, on every CPU: far more than the one per CPU that a drain at
    // the job's start would have let through.
    assert!(done_first >= 8 * count_cpus(&online), "only {done_first} tasks ran in the first job: {out}");

    let (state, exit) = c.wait(second, Duration::from_secs(150), d);
    let out2 = read(&d.join(format!("hrun-node-{second}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{out2}");
    assert!(out2.contains(&format!("{done_first} already done (skipped)")), "{out2}");
    assert_eq!(
        successes(&[log]),
        (1..=u64::from(tasks)).map(|s| (s, 1)).collect(),
        "each task succeeded once"
    );
    same_estimate(&reduce(&r), &reference(tasks, 100_000, 3));
}

#[test]
fn e_a_step_wide_usr1_on_a_multinode_job_fails_no_task_and_two_nodes_finish_it() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let slow = slow_worker(d, 1);
    let r = d.join("r");
    let (rs, ws) = (r.display().to_string(), slow.display().to_string());
    let env = [
        ("TASKS", "30"),
        ("THREADS", "1"),
        ("SAMPLES", "100000"),
        ("SEED", "11"),
        ("RESULTS", rs.as_str()),
        ("WORKER", ws.as_str()),
        ("HRUN_SHARDS", "1"),
    ];
    let script = format!("{REPO}/slurm/hrun-multinode.sbatch");
    let job = c.sbatch(d, &env, &["-N", "3", "-o", "first-%j.out", &script]);
    // Once every shard has a task running, signal every process of the job's steps.
    let logs: Vec<PathBuf> =
        (1..=3).map(|k| r.join(".hrun").join(format!("tasks.shard-{k}-of-3.hrun.jsonl"))).collect();
    let until = Instant::now() + WAIT;
    while !logs.iter().all(|l| std::fs::read_to_string(l).is_ok_and(|t| t.contains("\"kind\":\"start\""))) {
        assert!(Instant::now() < until, "no task started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = c.cmd("scancel", d).args(["--signal=USR1", &job.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, exit) = c.wait(job, WAIT, d);
    let said = read(&d.join(format!("first-{job}.out")));
    assert_eq!(exit, 102, "{said}");
    let mut cancelled = 0;
    for log in &logs {
        let records = read_records(log);
        for t in &records.tasks {
            assert!(t.exit == Some(0) || t.cancelled, "a task hit by the step's USR1 is not failed: {t:?}");
            cancelled += t.cancelled as usize;
        }
        assert!(records.ends[0].stopped_by.as_deref().unwrap_or_default().contains("SIGUSR1"));
    }
    assert!(cancelled > 0, "the tasks running got the USR1 too: {said}");

    // Finished on two nodes: the new shards read the three old shards' logs.
    let again = c.sbatch(d, &env, &["-N", "2", "-o", "again-%j.out", &script]);
    let (state, exit) = c.wait(again, WAIT, d);
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{}", read(&d.join(format!("again-{again}.out"))));
    let all_logs: Vec<PathBuf> = logs
        .iter()
        .cloned()
        .chain((1..=2).map(|k| r.join(".hrun").join(format!("tasks.shard-{k}-of-2.hrun.jsonl"))))
        .collect();
    assert_eq!(successes(&all_logs), (1..=30).map(|s| (s, 1)).collect(), "each task succeeded exactly once");
    same_estimate(&reduce(&r), &reference(30, 100_000, 11));
}

/// Issue 15: when `hrun exec` refused its input inside a job, the script went on to `hrun status`
/// on a log that did not exist ("cannot open run log") and printed "hrun exec exited with 2; "
/// with nothing after. hrun's one-line reason is the only explanation now. And with
/// `HRUN_EXIT_ZERO_ON_INCOMPLETE=1`, a job that stops with tasks left ends COMPLETED (status 0,
/// which `afterok` accepts), the log saying what is left.
#[test]
fn f_a_refused_run_says_why_once_and_incomplete_runs_can_end_with_status_0() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = format!("{REPO}/slurm/hrun-node.sbatch");
    let (refused, left) = (d.join("refused"), d.join("left"));
    let (rs, ls) = (refused.display().to_string(), left.display().to_string());
    let base = [("TASKS", "3"), ("THREADS", "1"), ("SAMPLES", "1000")];
    let env: Vec<(&str, &str)> =
        base.iter().copied().chain([("RESULTS", rs.as_str()), ("HRUN_JOBS", "0")]).collect();
    let job = c.sbatch(d, &env, &["-w", "node1", "-o", "refused-%j.out", &script]);
    // A deadline in the past: nothing starts, every task is left (exit 102 from hrun).
    let env: Vec<(&str, &str)> = base
        .iter()
        .copied()
        .chain([("RESULTS", ls.as_str()), ("HRUN_DEADLINE", "@1"), ("HRUN_EXIT_ZERO_ON_INCOMPLETE", "1")])
        .collect();
    let job2 = c.sbatch(d, &env, &["-w", "node2", "-o", "left-%j.out", &script]);

    let (state, exit) = c.wait(job, WAIT, d);
    let out = read(&d.join(format!("refused-{job}.out")));
    assert_eq!((state.as_str(), exit), ("FAILED", 2), "{out}");
    assert_eq!(out.matches("hrun: error: ").count(), 1, "hrun's reason, once: {out}");
    assert!(out.contains("hrun exec exited with 2 before running any task"), "{out}");
    assert!(!out.contains("cannot open run log") && !out.contains("exited with 2; "), "{out}");

    let (state, exit) = c.wait(job2, WAIT, d);
    let out = read(&d.join(format!("left-{job2}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{out}");
    assert!(out.contains("exiting 0 (HRUN_EXIT_ZERO_ON_INCOMPLETE=1)"), "{out}");
    let records = read_records(&left.join(".hrun/tasks.hrun.jsonl"));
    assert_eq!(records.ends[0].not_run, 3, "the log says what is left");
}

/// Issue 26: the sbatch scripts ran only the bundled worker. With arguments they run your own
/// sweep (`hrun exec --resume ARGS` from the submit directory; `--shard auto` on every node of
/// the multi-node script) with the same time-limit and resume handling, then REDUCE.
#[test]
fn fb_your_own_sweep_runs_from_the_node_and_multinode_scripts() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // sbatch takes a lone `:` for its own (it separates the parts of a heterogeneous job).
    let sweep = [
        "--results",
        "sweep.csv",
        "--header=:",
        "echo {a}-{b}",
        ":::",
        "a",
        "1",
        "2",
        "3",
        ":::",
        "b",
        "x",
        "y",
    ];
    let jobs = ["1-x", "1-y", "2-x", "2-y", "3-x", "3-y"];
    let one = d.join("one");
    std::fs::create_dir(&one).unwrap();
    let env = [("REDUCE", "grep -c '\"echo ' sweep.csv > rows.txt")];
    let script = format!("{REPO}/slurm/hrun-node.sbatch");
    let mut args = vec!["-w", "node1", "-o", "own-%j.out", script.as_str()];
    args.extend(sweep);
    let job = c.sbatch(&one, &env, &args);
    let (state, exit) = c.wait(job, WAIT, d);
    let out = read(&one.join(format!("own-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{out}");
    let table = read(&one.join("sweep.csv"));
    for v in jobs {
        assert_eq!(table.matches(&format!("\"echo {v}\"")).count(), 1, "{v}: {table}");
    }
    assert_eq!(read(&one.join("rows.txt")).trim(), "6", "REDUCE ran after the sweep: {out}");
    assert!(!one.join("results").exists(), "no worker run: {out}");

    let many = d.join("many");
    std::fs::create_dir(&many).unwrap();
    let script = format!("{REPO}/slurm/hrun-multinode.sbatch");
    let mut args = vec!["-N", "3", "-o", "own-%j.out", script.as_str()];
    args.extend(sweep);
    let job = c.sbatch(&many, &[], &args);
    let (state, exit) = c.wait(job, WAIT, d);
    let out = read(&many.join(format!("own-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{out}");
    let table = read(&many.join("sweep.csv"));
    for v in jobs {
        assert_eq!(table.matches(&format!("\"echo {v}\"")).count(), 1, "{v}, once on some node: {out}");
    }
    // HRUN_SHARDS=1: one hrun per node, a table each.
    let shards = d.join("shards");
    std::fs::create_dir(&shards).unwrap();
    let job = c.sbatch(&shards, &[("HRUN_SHARDS", "1")], &args);
    let (state, exit) = c.wait(job, WAIT, d);
    let out = read(&shards.join(format!("own-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{out}");
    let tables: String = (1..=3).map(|k| read(&shards.join(format!("sweep.shard-{k}-of-3.csv")))).collect();
    for v in jobs {
        assert_eq!(tables.matches(&format!("\"echo {v}\"")).count(), 1, "{v}, once on some node: {out}");
    }
}

/// Issue 15: the cluster's munged outlived `local-slurm.sh stop` (and so every `cargo test`).
/// The cluster runs a munged of its own, on a socket in its directory, and `stop` ends it with
/// the Slurm daemons. The cluster is started again for the other tests.
/// Issue 25: one hrun over the three nodes (`--nodes all`), a launcher on each started by
/// srun: 60 sleeps of seeded long-tailed lengths (0.02-1 s) each run exactly once, on every
/// node, each with its node's slot, CPUs and OMP_NUM_THREADS, its output back in order in
/// the job's one output, one log and one joblog.
#[test]
fn fc_nodes_all_runs_every_task_once_over_three_nodes_with_one_log() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut x: u64 = 25;
    let mut uniform = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut lines = String::new();
    for i in 1..=60 {
        let (u1, u2) = (uniform().max(1e-12), uniform());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let secs = (0.12 * (0.9 * z).exp()).clamp(0.02, 1.0);
        lines += &format!(
            "sleep {secs:.3}; echo task {i} on $SLURMD_NODENAME slot $HRUN_SLOT cpus $HRUN_CPUS omp $OMP_NUM_THREADS\n"
        );
    }
    std::fs::write(d.join("tasks.txt"), lines).unwrap();
    let script =
        "#!/bin/bash\nhrun exec --nodes all -k --joblog jl.txt --deadline none tasks.txt > out.txt\n";
    std::fs::write(d.join("job.sh"), script).unwrap();
    let job = c.sbatch(d, &[], &["-N", "3", "--exclusive", "-o", "job-%j.out", "job.sh"]);
    let (state, exit) = c.wait(job, WAIT, d);
    let job_out = read(&d.join(format!("job-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{job_out}");
    let records = read_records(&d.join(".hrun").join("tasks.hrun.jsonl"));
    assert_eq!(records.runs.len(), 1, "one run, one log");
    let seqs: Vec<u64> = records.tasks.iter().map(|t| t.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=60).collect::<Vec<_>>(), "every task exactly once: {job_out}");
    let hosts: std::collections::BTreeSet<&str> = records.tasks.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(hosts, ["node1", "node2", "node3"].into(), "tasks on all three nodes");
    let out = read(&d.join("out.txt"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 60, "{out}");
    for (i, line) in lines.iter().enumerate() {
        let seq = i as u64 + 1;
        let t = records.tasks.iter().find(|t| t.seq == seq).unwrap();
        assert_eq!(t.exit, Some(0), "{t:?}");
        let expected = format!("task {seq} on {} slot {} cpus {} omp 1", t.host, t.slot, t.cpus);
        assert_eq!(*line, expected, "-k: task order; each line from the node its record names");
    }
    assert_eq!(read(&d.join("jl.txt")).lines().count(), 61, "a joblog header and a row per task");
}

/// Issue 25: faults of one hrun over three nodes on the real Slurm. A node's launcher killed
/// mid-run costs only its running tasks, which end on the other nodes (every task once, the
/// summary names the node); `scancel` mid-run leaves nothing running on any node, records the
/// running tasks as cancelled, and `--resume` in a new job finishes the rest.
#[test]
fn fd_nodes_all_survives_a_lost_launcher_and_scancel_then_resumes() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lines: String = (1..=24)
        .map(|_| {
            "echo $PPID > started-$HRUN_SEQ-$SLURMD_NODENAME; until [ -e go ]; do sleep 0.05; done; \
             echo task $HRUN_SEQ on $SLURMD_NODENAME\n"
        })
        .collect();
    std::fs::write(d.join("tasks.txt"), lines).unwrap();
    std::fs::write(
        d.join("job.sh"),
        "#!/bin/bash\nhrun exec --nodes all --deadline none tasks.txt > out.txt\n",
    )
    .unwrap();
    // (node, seq, the launcher's pid) of each task that started.
    let started = |dir: &Path| -> Vec<(String, u64, i32)> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let (seq, node) = name.strip_prefix("started-")?.split_once('-')?;
                let pid = std::fs::read_to_string(e.path()).ok()?.trim().parse().ok()?;
                Some((node.to_string(), seq.parse().ok()?, pid))
            })
            .collect()
    };
    let wait_until = |what: &str, ok: &dyn Fn() -> bool| {
        let until = Instant::now() + WAIT;
        while !ok() {
            assert!(Instant::now() < until, "{what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let job = c.sbatch(d, &[], &["-N", "3", "--exclusive", "-o", "job-%j.out", "job.sh"]);
    wait_until("tasks running on every node", &|| {
        let s = started(d);
        ["node1", "node2", "node3"].iter().all(|n| s.iter().any(|(node, _, _)| node == n))
    });
    let launcher = started(d).into_iter().find(|(n, _, _)| n == "node2").unwrap().2;
    assert!(signal(launcher, libc::SIGKILL), "node2's launcher ({launcher}) runs");
    let lost: Vec<u64> = started(d).into_iter().filter(|(n, _, _)| n == "node2").map(|(_, s, _)| s).collect();
    std::fs::write(d.join("go"), "").unwrap();
    let (state, exit) = c.wait(job, WAIT, d);
    let said = read(&d.join(format!("job-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{said}");
    assert!(said.contains("lost node (node2)"), "the summary names the node: {said}");
    let log = d.join(".hrun").join("tasks.hrun.jsonl");
    let records = read_records(&log);
    let mut ok: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for t in records.tasks.iter().filter(|t| t.exit == Some(0)) {
        ok.entry(t.seq).or_default().push(t.host.as_str());
    }
    assert_eq!(ok.keys().copied().collect::<Vec<_>>(), (1..=24).collect::<Vec<_>>(), "{said}");
    assert!(ok.values().all(|h| h.len() == 1), "every task ends exactly once: {ok:?}");
    for seq in &lost {
        assert_ne!(ok[seq], ["node2"], "task {seq}, running on node2 when it was lost, ended elsewhere");
    }
    assert_eq!(read(&d.join("out.txt")).lines().count(), 24, "each task's output once");

    // scancel mid-run, then --resume in a new job.
    let again = d.join("again");
    std::fs::create_dir(&again).unwrap();
    std::fs::copy(d.join("tasks.txt"), again.join("tasks.txt")).unwrap();
    std::fs::write(
        again.join("job.sh"),
        "#!/bin/bash\nhrun exec --nodes all --resume --deadline none tasks.txt >> out.txt\n",
    )
    .unwrap();
    let job = c.sbatch(&again, &[], &["-N", "3", "--exclusive", "-o", "job-%j.out", "job.sh"]);
    wait_until("six tasks running", &|| started(&again).len() == 6);
    let running: Vec<(String, u64, i32)> = started(&again);
    let out = c.cmd("scancel", &again).arg(job.to_string()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (state, _) = c.wait(job, WAIT, &again);
    let said = read(&again.join(format!("job-{job}.out")));
    assert_eq!(state, "CANCELLED", "{said}");
    // Nothing left on any node: no launcher, no task (their shells wrote the launcher's pid).
    for (node, seq, launcher) in &running {
        wait_until(&format!("the launcher on {node} (task {seq}) ends"), &|| {
            !Path::new(&format!("/proc/{launcher}")).exists()
                || read(Path::new(&format!("/proc/{launcher}/stat"))).split(' ').nth(2) == Some("Z")
        });
    }
    let tasks_left = Command::new("pgrep").args(["-f", "until \\[ -e go \\]"]).output().unwrap();
    assert!(tasks_left.stdout.is_empty(), "tasks still run: {}", String::from_utf8_lossy(&tasks_left.stdout));
    let log = again.join(".hrun").join("tasks.hrun.jsonl");
    let records = read_records(&log);
    assert!(!records.tasks.is_empty(), "the running tasks' records were written: {said}");
    for t in &records.tasks {
        assert!(t.cancelled && t.exit != Some(0), "cancelled, not failed: {t:?}");
    }
    std::fs::write(again.join("go"), "").unwrap();
    let job = c.sbatch(&again, &[], &["-N", "2", "--exclusive", "-o", "job-%j.out", "job.sh"]);
    let (state, exit) = c.wait(job, WAIT, &again);
    let said = read(&again.join(format!("job-{job}.out")));
    assert_eq!((state.as_str(), exit), ("COMPLETED", 0), "{said}");
    assert_eq!(successes(&[log]), (1..=24).map(|s| (s, 1)).collect(), "each task succeeded exactly once");
}

#[test]
fn g_stopping_the_cluster_stops_its_munged() {
    let Some((_turn, c)) = cluster() else { return };
    let dir = c.conf.parent().unwrap();
    let pid_of = |f: &str| -> i32 { read(&dir.join(f)).trim().parse().unwrap() };
    let (munged, ctld) = (pid_of("munge/munged.pid"), pid_of("slurmctld.pid"));
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
    };
    assert!(alive(munged) && alive(ctld), "the cluster's munged and slurmctld run");
    let conf = read(&c.conf);
    assert!(conf.contains(&format!("AuthInfo=socket={}/munge/munge.socket", dir.display())), "{conf}");
    let script = format!("{REPO}/slurm/dev/local-slurm.sh");
    let out = Command::new(&script).arg("stop").arg(dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!alive(munged), "munged {munged} stopped with the cluster");
    assert!(!alive(ctld), "slurmctld {ctld} stopped");
    let out = Command::new(&script).arg("start").arg(dir).output().unwrap();
    assert!(out.status.success(), "started again: {}", String::from_utf8_lossy(&out.stderr));
}
