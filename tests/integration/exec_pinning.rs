//! Slots and pinning, read back from the tasks' own `/proc/<pid>/status`.

use std::collections::HashMap;
use std::process::Command;

use hrun::cpuset::CpuSet;

use crate::harness::*;

/// Each task records the `Cpus_allowed_list` of a process it started (so inheritance is
/// checked too) and its start/end times; three times more tasks than CPUs, one CPU each.
#[test]
fn every_task_runs_on_its_slot_and_overlapping_tasks_never_share_a_cpu() {
    let sb = Sandbox::new();
    let cpus = usable_cpus();
    let n_tasks = 3 * cpus.len();
    let mut file = String::from("#hrun threads=1\n");
    for _ in 0..n_tasks {
        file += "s=$(date +%s%N); grep Cpus_allowed_list /proc/self/status > {#}.cpus; \
                 sleep 0.2; echo $s $(date +%s%N) > {#}.time\n";
    }
    sb.write("tasks.txt", file);
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 0);

    let Log { runs, tasks, .. } = sb.records();
    assert_eq!(runs[0].cpus, cpus.to_string());
    assert_eq!(runs[0].slots.len(), cpus.len());
    assert_eq!(tasks.len(), n_tasks);

    struct Seen {
        mask: CpuSet,
        start: u128,
        end: u128,
    }
    let mut seen = Vec::new();
    let mut slots_used = HashMap::new();
    for t in &tasks {
        let seq = t.seq;
        let mask = cpus_allowed(&sb.read(&format!("{seq}.cpus")));
        let slot_cpus: CpuSet = t.cpus.parse().unwrap();
        assert_eq!(mask, slot_cpus, "task {seq} ran on {mask}, its slot is {slot_cpus}");
        assert_eq!(mask.len(), 1);
        assert!(cpus.contains(mask.ids()[0]));
        slots_used.insert(t.slot, mask.clone());
        let times = sb.read(&format!("{seq}.time"));
        let (s, e) = times.trim().split_once(' ').unwrap();
        seen.push(Seen { mask, start: s.parse().unwrap(), end: e.parse().unwrap() });
    }
    assert_eq!(slots_used.len(), cpus.len(), "every slot is used");
    let mut overlaps = 0;
    for (i, a) in seen.iter().enumerate() {
        for b in &seen[i + 1..] {
            if a.start < b.end && b.start < a.end {
                overlaps += 1;
                assert!(a.mask.is_disjoint(&b.mask), "tasks overlapping in time share CPUs {}", a.mask);
            }
        }
    }
    if cpus.len() > 1 {
        assert!(overlaps > 0, "with {} slots some tasks must have run at once", cpus.len());
    }
}

/// Threads inherit the slot, and a slot of T CPUs is exactly T CPUs.
#[test]
fn multi_cpu_slots_are_disjoint_blocks() {
    let cpus = usable_cpus();
    if cpus.len() < 2 {
        eprintln!("skipped: needs 2 CPUs, this machine gives {cpus}");
        return;
    }
    let sb = Sandbox::new();
    let t = 2;
    let mut file = String::new();
    for _ in 0..4 {
        file += "grep Cpus_allowed_list /proc/self/status > {#}.cpus\n";
    }
    sb.write("tasks.txt", file);
    let out = run(sb.exec().args(["--threads", "2", "tasks.txt"]));
    assert_status!(out, 0);
    let Log { runs, tasks, .. } = sb.records();
    assert_eq!(runs[0].slots.len(), cpus.len() / t);
    for t in &tasks {
        let mask = cpus_allowed(&sb.read(&format!("{}.cpus", t.seq)));
        assert_eq!(mask.len(), 2);
        assert_eq!(mask.to_string(), t.cpus);
    }
}

#[test]
fn taskset_to_one_cpu_gives_one_slot_on_that_cpu() {
    let cpu = *usable_cpus().ids().last().unwrap();
    let sb = Sandbox::new();
    sb.write("tasks.txt", "grep Cpus_allowed_list /proc/self/status > {#}.cpus\n".repeat(3));
    let out = run(Command::new("taskset")
        .arg("-c")
        .arg(cpu.to_string())
        .arg(env!("CARGO_BIN_EXE_hrun"))
        .current_dir(sb.root())
        .args(["exec", "--log", "log.jsonl", "tasks.txt"]));
    assert_status!(out, 0);
    let Log { runs, tasks, .. } = sb.records();
    assert_eq!(runs[0].cpus, cpu.to_string());
    assert_eq!(runs[0].slots.len(), 1);
    for t in &tasks {
        assert_eq!(t.slot, 1);
        assert_eq!(cpus_allowed(&sb.read(&format!("{}.cpus", t.seq))).to_string(), cpu.to_string());
    }
}

#[test]
fn too_many_threads_for_the_allocation_is_refused_before_anything_runs() {
    let allowed = first_cpus(2);
    let threads = allowed.len() + 1;
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    let out = run(Command::new("taskset")
        .arg("-c")
        .arg(allowed.to_string())
        .arg(env!("CARGO_BIN_EXE_hrun"))
        .current_dir(sb.root())
        .args(["exec", "--log", "log.jsonl", "--threads", &threads.to_string(), "tasks.txt"]));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");
    assert!(err.contains(&format!("--threads {threads}")) && err.contains(&allowed.to_string()), "{err}");
    assert!(!sb.path("ran").exists(), "no task may start");
    assert!(!sb.path("log.jsonl").exists(), "nothing is written");
}

#[test]
fn zero_threads_and_zero_jobs_are_refused() {
    for (args, needle) in [
        (vec!["--threads".to_string(), "0".into()], "--threads must be at least 1".to_string()),
        (vec!["--jobs".into(), "0".into()], "--jobs 0 (GNU parallel: as many as possible)".into()),
    ] {
        let sb = Sandbox::new();
        sb.write("tasks.txt", "touch ran\n");
        let out = run(sb.exec().args(&args).arg("tasks.txt"));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!sb.path("ran").exists());
    }
}

/// `--jobs` caps concurrency: with -j1 no two tasks ever overlap.
#[test]
fn jobs_caps_concurrency() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "mkdir lock || echo overlap >> bad; sleep 0.1; rmdir lock\n".repeat(4));
    let out = run(sb.exec().args(["--jobs", "1", "tasks.txt"]));
    assert_status!(out, 0);
    assert!(!sb.path("bad").exists(), "two tasks ran at once under --jobs 1");
    let Log { runs, tasks, .. } = sb.records();
    assert_eq!(runs[0].slots.len(), 1);
    assert_eq!(tasks.len(), 4);
}

/// `-j N` above the slot count (I/O-bound work on few cores): N tasks run at once on slots
/// that share the CPUs round robin, each still pinned to its slot's CPUs, with a warning and
/// the sharing in the run record.
#[test]
fn jobs_above_the_slot_count_share_cpus_round_robin() {
    let cpu = first_cpus(1);
    let sb = Sandbox::new();
    // Each task marks itself started, then waits until all three have: only three tasks at
    // once (on one CPU) finish.
    let task = "touch started.$HRUN_SLOT; grep Cpus_allowed_list /proc/self/status > cpus.$HRUN_SLOT; \
                i=0; while [ $(ls started.* | wc -l) -lt 3 ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; \
                [ $(ls started.* | wc -l) -ge 3 ]\n";
    sb.write("tasks.txt", task.repeat(3));
    let out = run(Command::new("taskset")
        .args(["-c", &cpu.to_string()])
        .arg(env!("CARGO_BIN_EXE_hrun"))
        .current_dir(sb.root())
        .args(["exec", "--log", "log.jsonl", "-j", "3", "tasks.txt"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("--jobs 3 is more than the 1 slot") && err.contains("share CPUs round robin"),
        "{err}"
    );
    for slot in 1..=3 {
        let line = sb.read(&format!("cpus.{slot}"));
        assert_eq!(cpus_allowed(&line), cpu, "slot {slot}: {line}");
    }
    // -j 8 on 3 tasks makes 3 slots: the warning names the 8 asked for (it said "--jobs 3").
    let out = run(Command::new("taskset")
        .args(["-c", &cpu.to_string()])
        .arg(env!("CARGO_BIN_EXE_hrun"))
        .current_dir(sb.root())
        .args(["exec", "--log", "log.jsonl", "-j", "8", "tasks.txt"]));
    let err = stderr(&out);
    assert!(
        err.contains("--jobs 8 is more than the 1 slot") && err.contains("(3 made: one per task)"),
        "{err}"
    );
    let runs = sb.records().runs;
    assert_eq!(runs[0].sharing.as_ref().map(|s| (s.jobs, s.cpu_sets)), Some((3, 1)));
    assert_eq!(runs[0].slots.len(), 3);
}

/// Issue 26: a task that re-pins itself (`taskset -c` to another slot's CPU) shares that CPU
/// with the other slot's task, and nothing said so. hrun looks at each running task's threads
/// (1 s after its start, then less often) and names the task in the summary; a task that stays
/// in its slot is not named.
#[test]
fn a_task_that_re_pins_itself_outside_its_slot_is_named() {
    let two = first_cpus(2);
    if two.len() < 2 {
        eprintln!("a_task_that_re_pins_itself...: needs 2 CPUs; not run");
        return;
    }
    let (a, b) = (two.ids()[0], two.ids()[1]);
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        format!(
            "sh -c 'if [ \"$HRUN_CPUS\" = {a} ]; then c={b}; else c={a}; fi; exec taskset -c $c sleep 2.5'\n\
             sleep 2.5\n"
        ),
    );
    let out = run(Command::new("taskset")
        .arg("-c")
        .arg(two.to_string())
        .arg(env!("CARGO_BIN_EXE_hrun"))
        .current_dir(sb.root())
        .args(["exec", "--threads", "1", "--log", "log.jsonl", "tasks.txt"]));
    assert_status!(out, 0);
    let err = stderr(&out);
    let named: Vec<&str> = err.lines().filter(|l| l.contains("outside its slot")).collect();
    assert_eq!(named.len(), 1, "{err}");
    let slot_of_1 = sb.records().tasks.iter().find(|t| t.seq == 1).unwrap().cpus.clone();
    let other = if slot_of_1 == a.to_string() { b } else { a };
    assert!(
        named[0].starts_with(&format!(
            "hrun: warning: task 1 (line 1) may run on CPU {other}, outside its slot (CPU {slot_of_1}): it \
             re-pinned itself"
        )),
        "{err}"
    );
}
