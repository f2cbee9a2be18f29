//! `--shard K/N`: shards run disjoint subsets that together cover every task once, each with
//! its own log; `--shard auto` reads srun's variables.

use crate::harness::*;

#[test]
fn shards_cover_every_task_once_with_their_own_logs() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "# a sweep\n".to_string() + &"echo {#} >> ran\n".repeat(10));
    for k in 1..=3 {
        let out = run(hrun().current_dir(sb.root()).args([
            "exec",
            "-q",
            "--shard",
            &format!("{k}/3"),
            "tasks.txt",
        ]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (runs, tasks) = read_log(&sb.path(&format!("tasks.shard-{k}-of-3.hrun.jsonl")));
        assert_eq!(runs[0]["shard"], format!("{k}/3"));
        assert_eq!(runs[0]["tasks_total"].as_u64().unwrap() as usize, tasks.len());
        for t in &tasks {
            assert_eq!((t["seq"].as_u64().unwrap() - 1) % 3, k - 1, "shard {k} ran task {}", t["seq"]);
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ran: Vec<String> = sb.read("ran").lines().map(String::from).collect();
    ran.sort();
    assert_eq!(ran, ["2", "4"]);
    assert!(sb.path("tasks.shard-2-of-2.hrun.jsonl").exists());
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
