//! `--nodes`: one hrun over the nodes of a Slurm allocation. The real thing runs against the
//! local Slurm (`tests/slurm`); here a shim stands in for `srun` (it drops srun's options and
//! runs the launcher command, with `SLURMD_NODENAME` from `--nodelist`, as srun would on that
//! node), so the launchers, the stream protocol, the proxies and a lost node are tested on
//! every machine, with real processes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::harness::*;

/// A directory holding the `srun` shim; it writes its pid (the launcher's, after exec) to
/// `launcher-NODE.pid` in the sandbox.
fn fake_srun(sb: &Sandbox) -> PathBuf {
    let script = format!(
        "#!/bin/sh\nwhile [ \"${{1#-}}\" != \"$1\" ]; do\n  case \"$1\" in --nodelist=*) \
         SLURMD_NODENAME=\"${{1#--nodelist=}}\"; export SLURMD_NODENAME;; esac\n  shift\ndone\n\
         echo $$ > {}/launcher-$SLURMD_NODENAME.pid\nexec \"$@\"\n",
        sb.root().display()
    );
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    sb.write("bin/srun", script);
    std::process::Command::new("chmod").arg("+x").arg(bin.join("srun")).status().unwrap();
    bin
}

fn on_nodes(sb: &Sandbox, nodelist: &str) -> std::process::Command {
    let mut c = sb.exec();
    let path = format!("{}:{}", fake_srun(sb).display(), std::env::var("PATH").unwrap_or_default());
    c.env("PATH", path).env("SLURM_JOB_NODELIST", nodelist).env_remove("SLURM_NODELIST");
    c.args(["--deadline", "none"]);
    c
}

#[test]
fn nodes_outside_an_allocation_or_not_in_it_are_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    let out = run(sb
        .exec()
        .env_remove("SLURM_JOB_NODELIST")
        .env_remove("SLURM_NODELIST")
        .args(["--nodes", "all", "--joblog", "jl", "echo", ":::", "a"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not inside a Slurm allocation"), "{}", stderr(&out));
    assert!(!sb.path("log.jsonl").exists() && !sb.path("jl").exists(), "nothing opened for writing");
    let out = run(on_nodes(&sb, "x[1-3]").args(["--nodes", "x[2-4]", "echo", ":::", "a"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("x4 is not a node of this job (x[1-3])"), "{}", stderr(&out));
    assert!(!sb.path("log.jsonl").exists());
}

#[test]
fn every_task_runs_once_on_the_nodes_pinned_with_its_output_back_in_order() {
    let sb = Sandbox::new();
    let out = run(on_nodes(&sb, "x[1-3]").args([
        "--nodes",
        "all",
        "-k",
        "--tag",
        "--joblog",
        "jl",
        "sleep 0.0{}; echo \"$SLURMD_NODENAME $HRUN_SLOT $HRUN_CPUS $OMP_NUM_THREADS $$\"; echo err{} >&2",
        ":::",
    ])
    .args((1..=24).map(|i| (i % 9).to_string() + &"0".repeat(i / 9))));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let Log { tasks, .. } = sb.records();
    assert_eq!(tasks.iter().map(|t| t.seq).collect::<Vec<_>>(), (1..=24).collect::<Vec<_>>(), "each once");
    let hosts: BTreeSet<&str> = tasks.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(hosts, ["x1", "x2", "x3"].into(), "tasks on every node");
    // -k: the lines in task order, each tagged with its value, saying where it ran.
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 24, "{lines:?}");
    for (t, line) in tasks.iter().zip(&lines) {
        let (tag, said) = line.split_once('\t').expect("a tagged line");
        assert_eq!(Some(tag.to_string()), t.values.as_ref().map(|v| v[0].clone()));
        let words: Vec<&str> = said.split(' ').collect();
        assert_eq!(words[0], t.host, "SLURMD_NODENAME is the node's: {line}");
        assert_eq!(words[1], t.slot.to_string(), "HRUN_SLOT: {line}");
        assert_eq!(words[2], t.cpus, "HRUN_CPUS: {line}");
        assert_eq!(words[3], "1", "OMP_NUM_THREADS: {line}");
        assert_eq!(words[4], t.pid.to_string(), "the record has the task's own pid: {line}");
        assert_eq!(t.exit, Some(0));
    }
    let errs = stderr(&out)
        .lines()
        .filter(|l| l.split_once('\t').is_some_and(|(_, e)| e.starts_with("err")))
        .count();
    assert_eq!(errs, 24, "stderr comes back too: {}", stderr(&out));
    // Slots of each node are the node's own: the same slot number never on two nodes.
    let mut node_of_slot: BTreeMap<usize, &str> = BTreeMap::new();
    for t in &tasks {
        assert_eq!(*node_of_slot.entry(t.slot).or_insert(&t.host), t.host, "slot {}", t.slot);
    }
    assert_eq!(sb.read("jl").lines().count(), 25, "a header and a row per task");
    // --results: each task's output, from its node, in its row.
    let out = run(on_nodes(&sb, "x[1-3]")
        .args(["--nodes", "x[2-3]", "--results", "res.csv", "echo out{}; echo err{} >&2", ":::"])
        .args((1..=9).map(|i| i.to_string())));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = sb.read("res.csv");
    for i in 1..=9 {
        assert!(table.contains(&format!("out{i}")) && table.contains(&format!("err{i}")), "{table}");
    }
}

#[test]
fn a_lost_nodes_tasks_run_again_on_the_others_and_the_summary_names_it() {
    let sb = Sandbox::new();
    let child = on_nodes(&sb, "x[1-2]")
        .args([
            "--nodes",
            "all",
            "touch started-{}-$SLURMD_NODENAME; until [ -e go ]; do sleep 0.02; done; echo {}",
            ":::",
        ])
        .args((1..=12).map(|i| i.to_string()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started_on_x2 = || {
        std::fs::read_dir(sb.root()).unwrap().flatten().any(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with("started-") && n.ends_with("-x2")
        })
    };
    eventually("a task started on x2", Duration::from_secs(20), started_on_x2);
    let pid: i32 = sb.read("launcher-x2.pid").trim().parse().unwrap();
    assert!(signal(pid, libc::SIGKILL), "x2's launcher runs");
    sb.write("go", "");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("node x2 was lost"), "{}", stderr(&out));
    assert!(stderr(&out).contains("lost node (x2)"), "the summary names it: {}", stderr(&out));
    let Log { tasks, .. } = sb.records();
    let mut ok: BTreeMap<u64, usize> = BTreeMap::new();
    for t in tasks.iter().filter(|t| t.exit == Some(0)) {
        *ok.entry(t.seq).or_default() += 1;
    }
    assert_eq!(ok, (1..=12).map(|s| (s, 1)).collect(), "every task ends once: {tasks:?}");
    // The tasks x2 had started (and that could not end before it was lost) ran on x1; a lost
    // attempt's record is a cancelled one that another follows.
    let on_x2: Vec<u64> = std::fs::read_dir(sb.root())
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("started-")?.strip_suffix("-x2")?.parse().ok())
        .collect();
    assert!(!on_x2.is_empty());
    for seq in on_x2 {
        let done: Vec<&str> =
            tasks.iter().filter(|t| t.seq == seq && t.exit == Some(0)).map(|t| t.host.as_str()).collect();
        assert_eq!(done, ["x1"], "task {seq}, started on x2, ended on x1");
    }
    for t in tasks.iter().filter(|t| t.exit != Some(0)) {
        assert!(t.host == "x2" && t.cancelled && !t.last_attempt, "{t:?}");
    }
    let mut printed: Vec<u64> = stdout(&out).lines().map(|l| l.parse().unwrap()).collect();
    printed.sort();
    assert_eq!(printed, (1..=12).collect::<Vec<_>>(), "each task's output once");
}

#[test]
fn a_signal_to_hrun_reaches_the_tasks_on_every_node_and_resume_finishes_the_rest() {
    let sb = Sandbox::new();
    let cmd = "if [ -e go ]; then echo ok {}; else echo $$ > pid-{}; sleep 30; fi";
    let values: Vec<String> = (1..=6).map(|i| i.to_string()).collect();
    let child = on_nodes(&sb, "x[1-2]")
        .args(["--nodes", "all", cmd, ":::"])
        .args(&values)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = || (1..=4).filter(|i| sb.path(&format!("pid-{i}")).exists()).count() == 4;
    eventually("four tasks started on two nodes", Duration::from_secs(20), started);
    assert!(signal(child.id() as i32, libc::SIGTERM));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM), "{}", stderr(&out));
    let Log { tasks, .. } = sb.records();
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    for t in &tasks {
        // Ended by the TERM hrun passed on (not by running out its 30 s), on both nodes.
        assert!(t.cancelled && t.signal == Some(libc::SIGTERM), "{t:?}");
    }
    let hosts: BTreeSet<&str> = tasks.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(hosts, ["x1", "x2"].into());
    for i in 1..=4 {
        let pid: i32 = sb.read(&format!("pid-{i}")).trim().parse().unwrap();
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "task {i} ({pid}) still runs");
    }
    sb.write("go", "");
    let out = run(on_nodes(&sb, "x[1-2]").args(["--resume", "--nodes", "all", cmd, ":::"]).args(&values));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut done: Vec<String> = stdout(&out).lines().map(String::from).collect();
    done.sort();
    assert_eq!(done, (1..=6).map(|i| format!("ok {i}")).collect::<Vec<_>>());
}

#[test]
fn a_few_tasks_spread_over_the_nodes_instead_of_crowding_the_first() {
    let sb = Sandbox::new();
    // Two slots per node (-j 2 on each), three tasks: one on each node, as GNU's -S spreads them.
    let out = run(on_nodes(&sb, "x[1-3]").args([
        "--nodes",
        "all",
        "-j",
        "2",
        "sleep 0.2; echo {}",
        ":::",
        "a",
        "b",
        "c",
    ]));
    assert_status!(out, 0);
    let Log { tasks, .. } = sb.records();
    let hosts: BTreeSet<&str> = tasks.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(hosts, ["x1", "x2", "x3"].into(), "{tasks:?}");
}
