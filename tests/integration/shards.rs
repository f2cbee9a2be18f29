//! `--shard K/N`: shards run disjoint subsets that together cover every task once, each with
//! its own log; `--shard auto` reads srun's variables.

use crate::harness::*;

/// Runs `tasks.txt` as N shards, one after the other, in the sandbox.
fn run_shards(sb: &Sandbox, n: u32) {
    for k in 1..=n {
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "-q",
            "--shard",
            &format!("{k}/{n}"),
            "tasks.txt",
        ]));
        assert_eq!(out.status.code(), Some(0), "shard {k}/{n}: {}", stderr(&out));
    }
}

#[test]
fn shards_cover_every_task_once_with_their_own_logs() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "# a sweep\n".to_string() + &"echo {#} >> ran\n".repeat(10));
    run_shards(&sb, 3);
    for k in 1..=3 {
        let Log { runs, tasks, .. } =
            read_records(&sb.path(&format!(".hrun/tasks.shard-{k}-of-3.hrun.jsonl")));
        assert_eq!(runs[0].shard, Some(format!("{k}/3")));
        assert_eq!(runs[0].tasks_total, Some(tasks.len() as u64));
        for t in &tasks {
            assert_eq!((t.seq - 1) % 3, k - 1, "shard {k} ran task {}", t.seq);
        }
    }
    let mut ran: Vec<u64> = sb.read("ran").lines().map(|l| l.parse().unwrap()).collect();
    ran.sort();
    assert_eq!(ran, (1..=10).collect::<Vec<_>>());
    // Resuming a shard reruns nothing of it, and nothing of the others.
    let out =
        run(hrun().current_dir(sb.root()).args(["exec", "-q", "--resume", "--shard", "2/3", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sb.read("ran").lines().count(), 10);
}

#[test]
fn shard_auto_follows_srun_and_refuses_outside_slurm() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo {#} >> ran\n".repeat(4));
    let out = run(hrun()
        .current_dir(sb.root())
        .args(["exec", "-q", "--shard", "auto", "tasks.txt"])
        .env("SLURM_PROCID", "1")
        .env("SLURM_NTASKS", "2"));
    assert_status!(out, 0);
    let mut ran: Vec<String> = sb.read("ran").lines().map(String::from).collect();
    ran.sort();
    assert_eq!(ran, ["2", "4"]);
    assert!(sb.path(".hrun/tasks.shard-2-of-2.hrun.jsonl").exists());
    let out = run(hrun()
        .current_dir(sb.root())
        .args(["exec", "--shard", "auto", "tasks.txt"])
        .env_remove("SLURM_PROCID")
        .env_remove("SLURM_NTASKS")
        .env_remove("SLURM_NODEID")
        .env_remove("SLURM_NNODES"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("run it under srun, or give --shard K/N"), "{}", stderr(&out));
}

/// `status` and `report` over a directory: every shard's log, with totals and one timeline
/// row per slot of each; a directory without logs is a one-line usage error.
#[test]
fn status_and_report_take_every_shard_log_of_a_directory() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n".repeat(7));
    run_shards(&sb, 3);
    let out = run(hrun().current_dir(sb.root()).arg("status"));
    let text = stdout(&out);
    assert_status!(out, 0);
    for k in 1..=3 {
        assert!(text.contains(&format!("== .hrun/tasks.shard-{k}-of-3.hrun.jsonl\n")), "{text}");
    }
    assert!(
        text.contains("== all 3 logs: 7 done (7 ok, 0 failed), 0 running, 0 left of 7; 3 of 3 runs ended"),
        "{text}"
    );
    // The same with the logs named one by one.
    let named = run(hrun().current_dir(sb.root()).args([
        "status",
        ".hrun/tasks.shard-1-of-3.hrun.jsonl",
        ".hrun/tasks.shard-2-of-3.hrun.jsonl",
    ]));
    assert!(stdout(&named).contains("== all 2 logs: 5 done"), "{}", stdout(&named));

    let out = run(hrun().current_dir(sb.root()).args(["report", "-o", "all.html"]));
    assert_status!(out, 0);
    let page = sb.read("all.html");
    assert_eq!(page.matches("<rect class=\"task\"").count(), 7, "one bar per task of every shard");
    let slots = usable_cpus().len();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let rows: Vec<&str> = page.split("<text class=\"row\"").skip(1).collect();
    assert_eq!(rows.len(), 3 * slots, "a row per slot of each log");
    assert!(rows.iter().all(|r| r.contains(&format!(">{} ", host.trim()))), "rows name the host: {rows:?}");
    for k in 1..=3 {
        let label = format!(">{} {k}/3 slot 1 (", host.trim());
        assert_eq!(rows.iter().filter(|r| r.contains(&label)).count(), 1, "rows name the shard: {rows:?}");
    }
    assert!(page.contains(&format!("hrun run on {}", host.trim())), "one host, named once");

    std::fs::create_dir(sb.path("empty")).unwrap();
    let out = run(hrun().current_dir(sb.root()).args(["status", "empty"]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "hrun: error: empty holds no run log (*.hrun.jsonl, in it or in its .hrun/)"
    );
}

/// A sweep begun on 3 nodes can be finished on 2, or on one: `--resume` with the default log
/// name reads every shard log of the task file, so only tasks no log shows done run.
#[test]
fn resume_counts_the_logs_of_every_earlier_shard_split() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo {#} >> ran\n".repeat(9));
    for k in [1, 2] {
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "-q",
            "--shard",
            &format!("{k}/3"),
            "tasks.txt",
        ]));
        assert_status!(out, 0);
    }
    // Shard 3 of 3 (tasks 3, 6, 9) never ran; finish on two nodes.
    for k in [1, 2] {
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "-q",
            "--resume",
            "--shard",
            &format!("{k}/2"),
            "tasks.txt",
        ]));
        assert_status!(out, 0);
    }
    let mut ran: Vec<u64> = sb.read("ran").lines().map(|l| l.parse().unwrap()).collect();
    ran.sort();
    assert_eq!(ran, (1..=9).collect::<Vec<_>>(), "every task exactly once");
    // The status of the directory counts each task once over the two splits.
    let status = stdout(&run(hrun().current_dir(sb.root()).arg("status")));
    assert!(status.contains("== all 4 logs: 9 done (9 ok, 0 failed), 0 running, 0 left of 9"), "{status}");
    // On one node, nothing is left.
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--resume", "tasks.txt"]));
    assert!(stderr(&out).contains("9 already done (skipped)"), "{}", stderr(&out));
    assert_eq!(sb.read("ran").lines().count(), 9);
    // A log named with --log stands alone.
    let out = run(hrun().current_dir(sb.root()).args([
        "exec",
        "-q",
        "--resume",
        "--log",
        "own.jsonl",
        "tasks.txt",
    ]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sb.read("ran").lines().count(), 18);
}

/// Issue 15: report rows of a multi-node job were labelled by host name alone; under Slurm
/// they name the node and the shard.
#[test]
fn report_rows_name_the_node_and_the_shard() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n".repeat(4));
    for (k, node) in [(1, "node1"), (2, "node2")] {
        let out = run(hrun().current_dir(sb.root()).env("SLURMD_NODENAME", node).args([
            "exec",
            "-q",
            "--shard",
            &format!("{k}/2"),
            "tasks.txt",
        ]));
        assert_status!(out, 0);
    }
    let out = run(hrun().current_dir(sb.root()).args(["report", "-o", "r.html"]));
    assert_status!(out, 0);
    let page = sb.read("r.html");
    for label in [">node1 1/2 slot 1 (", ">node2 2/2 slot 1 ("] {
        assert!(page.contains(label), "{label} in {page}");
    }
    assert!(page.contains("hrun run on node1, node2"), "{page}");
}

/// One `--results` and `--joblog` name for a sweep run as shards (one hrun per node, the
/// same command line): each shard writes a file of its own, so no shard truncates another's
/// rows (each run started by emptying the one shared table), and `hrun results` over the
/// shard logs gives the whole table.
#[test]
fn shards_write_results_and_joblog_files_of_their_own() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo {#}\n".repeat(6));
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "--shard",
            &shard,
            "--results",
            "r.csv",
            "--joblog",
            "jl.txt",
            "tasks.txt",
        ]));
        assert_status!(out, 0);
        let name = format!("r.shard-{k}-of-2.csv");
        assert!(
            stderr(&out).contains(&format!("shard {shard} writes its results table to {name}")),
            "{}",
            stderr(&out)
        );
    }
    assert!(!sb.path("r.csv").exists() && !sb.path("jl.txt").exists());
    for k in 1..=2u64 {
        let table = sb.read(&format!("r.shard-{k}-of-2.csv"));
        let seqs: Vec<u64> =
            table.lines().skip(1).filter_map(|l| l.split(',').next()?.parse().ok()).collect();
        assert_eq!(seqs.len(), 3, "{table}");
        assert!(seqs.iter().all(|s| (s - 1) % 2 == k - 1), "shard {k}: {seqs:?}");
        assert_eq!(sb.read(&format!("jl.shard-{k}-of-2.txt")).lines().count(), 4, "a header and 3 rows");
    }
    let out = run(hrun().current_dir(sb.root()).arg("results"));
    assert_status!(out, 0);
    assert_eq!(stdout(&out).lines().count(), 7, "{}", stdout(&out));
}
