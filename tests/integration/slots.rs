//! `hrun slots` on fake sysfs trees of real node types, `--cpus`, `--smt`, and `exec` using
//! exactly the plan `slots` shows.

use hrun::topology::{CpuInfo, Topology, fixtures};
use serde_json::Value;

use crate::harness::*;

/// Writes `topo` as a sysfs tree in the sandbox and returns its path.
fn tree(sb: &Sandbox, name: &str, topo: &Topology) -> String {
    let root = sb.path(name);
    fixtures::write_sysfs(topo, &root).unwrap();
    root.display().to_string()
}

fn slots_json(args: &[&str]) -> Value {
    let out = run(hrun().arg("slots").arg("--json").args(args));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn cpu_lists(v: &Value) -> Vec<String> {
    v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let ids = s["cpus"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap() as usize);
            hrun::cpuset::CpuSet::from_ids(ids).to_string()
        })
        .collect()
}

#[test]
fn plans_on_fake_nodes() {
    let sb = Sandbox::new();
    let grace = tree(&sb, "grace", &fixtures::grace());
    let amd = tree(&sb, "amd", &fixtures::amd_2x64_smt());
    let intel = tree(&sb, "intel", &fixtures::intel_2x28_ht());

    let v = slots_json(&["--sysfs-root", &grace, "--threads", "4"]);
    assert_eq!(v["threads"], 4);
    assert_eq!(v["slots"].as_array().unwrap().len(), 36);
    assert_eq!(
        v["slots"][18],
        serde_json::json!({"slot": 19, "cpus": [72, 73, 74, 75], "package": 1, "numa": 1, "l3": 72})
    );
    assert_eq!(v["leftover"], serde_json::json!([]));

    let v = slots_json(&["--sysfs-root", &grace, "--threads", "48"]);
    assert_eq!(cpu_lists(&v), ["0-47", "72-119", "48-71,120-143"]);
    assert_eq!(v["slots"][2]["package"], Value::Null, "the one slot that must straddle sockets says so");

    let v = slots_json(&["--sysfs-root", &amd, "--threads", "8"]);
    assert_eq!(v["slots"].as_array().unwrap().len(), 16, "one slot per CCX, siblings idle");
    assert_eq!(cpu_lists(&v)[..2], ["0-7", "8-15"]);
    assert_eq!(v["smt_idle"].as_array().unwrap().len(), 128);
    let v = slots_json(&["--sysfs-root", &amd, "--threads", "16", "--smt", "use"]);
    assert_eq!(cpu_lists(&v)[0], "0-7,128-135");

    let v = slots_json(&["--sysfs-root", &intel, "--threads", "2", "--smt", "use"]);
    assert_eq!(cpu_lists(&v)[0], "0,56");
    let v = slots_json(&["--sysfs-root", &intel, "--threads", "2"]);
    assert_eq!(cpu_lists(&v)[0], "0-1");
}

/// Issue 26 (second walkthrough): "1 slot(s) of 1 CPU(s)".
#[test]
fn one_slot_reads_as_one_slot() {
    let sb = Sandbox::new();
    let grace = tree(&sb, "grace", &fixtures::grace());
    let out = run(hrun().args(["slots", "--sysfs-root", &grace, "--threads", "1", "--cpus", "3"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("1 slot of 1 CPU on 1 usable CPU (3); "), "{}", stdout(&out));
}

#[test]
fn the_text_table_on_each_fixture_snapshot() {
    let sb = Sandbox::new();
    let grace = tree(&sb, "grace", &fixtures::grace());
    let out = run(hrun().args(["slots", "--sysfs-root", &grace, "--threads", "5", "--cpus", "0-11,72-83"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = "\
4 slots of 5 CPUs on 24 usable CPUs (0-11,72-83); SMT: avoid; topology-aware
slot   cpus                     package  numa    l3
1      0-4                            0     0     0
2      5-9                            0     0     0
3      72-76                          1     1    72
4      77-81                          1     1    72
leftover: 10-11,82-83
";
    assert_eq!(stdout(&out), want);

    let amd = tree(&sb, "amd", &fixtures::amd_2x64_smt());
    let out = run(hrun().args(["slots", "--sysfs-root", &amd, "--threads", "4", "--cpus", "0-15,128-143"]));
    let want = "\
4 slots of 4 CPUs on 32 usable CPUs (0-15,128-143); SMT: avoid; topology-aware
slot   cpus                     package  numa    l3
1      0-3                            0     0     0
2      4-7                            0     0     0
3      8-11                           0     0     8
4      12-15                          0     0     8
leftover: 128-143 (SMT siblings left idle: 128-143)
";
    assert_eq!(stdout(&out), want);

    let intel = tree(&sb, "intel", &fixtures::intel_2x28_ht());
    let out = run(hrun().args([
        "slots",
        "--sysfs-root",
        &intel,
        "--threads",
        "2",
        "--cpus",
        "0-3,56-59",
        "--smt",
        "use",
    ]));
    let want = "\
4 slots of 2 CPUs on 8 usable CPUs (0-3,56-59); SMT: use; topology-aware
slot   cpus                     package  numa    l3
1      0,56                           0     0     0
2      1,57                           0     0     0
3      2,58                           0     0     0
4      3,59                           0     0     0
leftover: none
";
    assert_eq!(stdout(&out), want);
}

#[test]
fn cpus_restricts_and_names_a_cpu_that_is_not_usable() {
    let sb = Sandbox::new();
    let grace = tree(&sb, "grace", &fixtures::grace());
    let v = slots_json(&["--sysfs-root", &grace, "--threads", "4", "--cpus", "0-3,72-75"]);
    assert_eq!(cpu_lists(&v), ["0-3", "72-75"]);
    let out = run(hrun().args(["slots", "--sysfs-root", &grace, "--cpus", "0-3,500"]));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--cpus 0-3,500: CPU(s) 500 are not usable here (usable: 0-143)"), "{err}");
    assert_eq!(err.lines().count(), 1);
    let out = run(hrun().args(["slots", "--sysfs-root", &grace, "--cpus", "0-1", "--threads", "3"]));
    assert_eq!(out.status.code(), Some(2));
    // On the real machine too: a CPU outside the affinity mask.
    let out = run(hrun().args(["slots", "--cpus", "60000"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CPU(s) 60000 are not usable here"), "{}", stderr(&out));
}

#[test]
fn smt_avoid_with_more_threads_than_cores_suggests_smt_use() {
    let sb = Sandbox::new();
    let intel = tree(&sb, "intel", &fixtures::intel_2x28_ht());
    let out = run(hrun().args(["slots", "--sysfs-root", &intel, "--cpus", "0-1,56-57", "--threads", "4"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--smt use"), "{}", stderr(&out));
    let v = slots_json(&["--sysfs-root", &intel, "--cpus", "0-1,56-57", "--threads", "4", "--smt", "use"]);
    assert_eq!(cpu_lists(&v), ["0-1,56-57"]);
}

#[test]
fn missing_topology_falls_back_to_the_flat_plan_with_a_note() {
    let sb = Sandbox::new();
    let root = sb.path("bare");
    std::fs::create_dir_all(root.join("devices/system/cpu")).unwrap();
    std::fs::write(root.join("devices/system/cpu/online"), "0-7\n").unwrap();
    let v = slots_json(&["--sysfs-root", root.to_str().unwrap(), "--threads", "3"]);
    assert_eq!(v["topology"], false);
    assert_eq!(cpu_lists(&v), ["0-2", "3-5"]);
    assert!(v["notes"][0].as_str().unwrap().contains("slots are cut in CPU order"), "{v}");
}

/// `exec` plans exactly as `slots` shows, on the real machine.
#[test]
fn exec_uses_the_plan_slots_shows() {
    let sb = Sandbox::new();
    let shown = slots_json(&["--threads", "1"]);
    sb.write("tasks.txt", "true\n");
    let out = run(sb.exec().arg("tasks.txt"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (runs, _) = sb.log();
    let logged: Vec<String> = runs[0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cpus"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(logged, cpu_lists(&shown));
}

/// `exec` follows the topology: on a (fake) node where the usable CPUs are the two hardware
/// threads of one core, `--smt avoid` gives one slot on one thread and leaves the sibling idle.
#[test]
fn exec_pins_to_the_topology_plan() {
    let cpu = usable_cpus().ids()[0];
    let sb = Sandbox::new();
    let sibling = |id| CpuInfo { id, package: 0, core: 0, l3: Some(cpu), numa: Some(0) };
    let root = tree(&sb, "one-core", &Topology::from_cpus([sibling(cpu), sibling(cpu + 1)]));
    sb.write("tasks.txt", "grep Cpus_allowed_list /proc/self/status > {#}.cpus\n".repeat(2));
    let out = run(sb.exec().args(["--sysfs-root", &root, "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (runs, tasks) = sb.log();
    assert_eq!(runs[0]["slots"].as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["smt"], "avoid");
    for t in &tasks {
        assert_eq!(cpus_allowed(&sb.read(&format!("{}.cpus", t["seq"]))).ids(), [cpu]);
    }
}

#[test]
fn tune_runs_one_wave_per_thread_count_and_recommends_one() {
    let n = usable_cpus().len();
    let out = run(hrun().args(["tune", "-n", "2000000"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> =
        text.lines().skip(1).filter(|l| !l.starts_with("recommended") && !l.starts_with("note:")).collect();
    let divisors: Vec<usize> = (1..=n).filter(|t| n.is_multiple_of(*t)).collect();
    assert_eq!(rows.len(), divisors.len(), "a row per T dividing {n}: {text}");
    for (row, t) in rows.iter().zip(&divisors) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[0], t.to_string());
        assert_eq!(cols[1], (n / t).to_string(), "slots for T={t}");
    }
    assert!(text.lines().last().unwrap().starts_with("recommended: --threads "), "{text}");

    // A user command, its {threads} filled in; throughput in tasks/s.
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args([
        "tune",
        "--min-wave",
        "0s",
        "--threads-list",
        "1",
        "--",
        "sh",
        "-c",
        "'echo {threads} >> t'",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("tasks/s"));
    assert_eq!(sb.read("t").lines().collect::<Vec<_>>(), vec!["1"; n]);
}

/// docs/exec.md's `--sysfs-root` example (the tree written by `examples/sysfs_tree.rs`, i.e.
/// `fixtures::write_sysfs`) prints exactly what the page shows.
#[test]
fn the_docs_slots_example_is_what_hrun_prints() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exec.md")).unwrap();
    let cmd = "$ hrun slots --threads 5 --cpus 0-11,72-83 --sysfs-root grace-sysfs\n";
    assert!(
        readme.contains("$ cargo run --release --example sysfs_tree -- grace grace-sysfs\n"),
        "docs/exec.md"
    );
    let at = readme.find(cmd).expect("the example in docs/exec.md") + cmd.len();
    let shown = &readme[at..at + readme[at..].find("```").unwrap()];
    let sb = Sandbox::new();
    tree(&sb, "grace-sysfs", &fixtures::grace());
    let out = run(hrun().current_dir(sb.root()).args(cmd[7..].trim().split(' ')));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), shown);
}
