//! gen -> exec -> reduce on the bundled worker, and `hrun run`, end to end.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use crate::harness::*;

/// The worker binary built beside hrun (the workspace builds both).
fn worker_path() -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_BIN_EXE_hrun")).with_file_name("hrun-mc-pi");
    assert!(
        p.is_file(),
        "{} missing: run the tests from the workspace root (cargo test builds it)",
        p.display()
    );
    p
}

fn reduce_json(sb: &Sandbox, dir: &str) -> Value {
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "--json", dir]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn gen_piped_into_exec_then_reduce_estimates_pi() {
    worker_path();
    let sb = Sandbox::new();
    let generated = run(hrun().current_dir(sb.root()).args([
        "gen",
        "--tasks",
        "6",
        "--threads",
        "1",
        "-n",
        "300000",
        "--seed",
        "40",
    ]));
    assert_eq!(generated.status.code(), Some(0), "{}", stderr(&generated));
    let text = stdout(&generated);
    assert!(text.contains("#hrun threads=1"));
    assert!(text.contains(&format!("{} -t 1 -n 300000 --seed 41 -o ", worker_path().display())));

    let mut exec = sb.exec().arg("-").stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    exec.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = exec.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let files = std::fs::read_dir(sb.path("results")).unwrap().count();
    assert_eq!(files, 6);
    let r = reduce_json(&sb, "results");
    assert_eq!(r["tasks"], 6);
    assert_eq!(r["samples"], 1_800_000);
    assert!(r["z"].as_f64().unwrap().abs() < 5.0, "{r}");
    let (pi, se) = (r["pi"].as_f64().unwrap(), r["stderr"].as_f64().unwrap());
    assert!((pi - std::f64::consts::PI).abs() < 5.0 * se, "{r}");
    for key in ["hits", "samples_per_s", "cpu_s"] {
        assert!(r[key].as_f64().unwrap() > 0.0, "{key}: {r}");
    }

    let human = run(hrun().current_dir(sb.root()).args(["reduce", "results"]));
    let h = stdout(&human);
    for label in ["tasks", "samples", "hits", "pi", "standard error", "worker CPU time", "samples/s"] {
        assert!(h.contains(label), "{label} missing from:\n{h}");
    }
}

#[test]
fn run_does_gen_exec_and_reduce_in_a_fresh_directory() {
    worker_path();
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args([
        "run",
        "--tasks",
        "4",
        "--threads",
        "1",
        "-n",
        "200000",
        "--dir",
        "r1",
        "--json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["tasks"], 4);
    assert!(r["z"].as_f64().unwrap().abs() < 5.0);
    assert!(sb.path("r1/tasks.txt").is_file());
    let (runs, tasks) = read_log(&sb.path("r1/hrun.jsonl"));
    assert_eq!((runs.len(), tasks.len()), (1, 4));
    assert_eq!(std::fs::read_dir(sb.path("r1/results")).unwrap().count(), 4);
    // The same seeds reduce to the same estimate as the directory's own reduce.
    assert_eq!(reduce_json(&sb, "r1/results")["hits"], r["hits"]);

    // A run directory is never reused.
    let again =
        run(hrun().current_dir(sb.root()).args(["run", "--tasks", "1", "--threads", "1", "--dir", "r1"]));
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists and is not empty"), "{}", stderr(&again));
}

/// Hand-made result files with known sums.
fn write_result(sb: &Sandbox, name: &str, seed: u64, samples: u64, hits: u64) {
    let text = format!(
        "format = \"hrun-mc-pi/1\"\nseed = {seed}\nthreads = 1\nsamples_per_thread = {samples}\n\
         samples = {samples}\nhits = {hits}\npi = 3.0\nstart = 1000.0\nelapsed_s = 2.0\n\
         samples_per_s = 1.0\ncpu_s = 1.5\ncpus = \"0\"\nhost = \"h\"\nversion = \"0\"\nkernel = \"scalar\"\n"
    );
    sb.write(name, text);
}

#[test]
fn reduce_sums_hand_made_results_exactly() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("r")).unwrap();
    write_result(&sb, "r/a.toml", 1, 4_000_000_000, 3_141_592_653);
    write_result(&sb, "r/b.toml", 2, 1_000, 786);
    sb.write("r/notes.txt", "not a result, and not a .toml: ignored");
    sb.write("r/.a.toml.tmp.123", "half-writ");
    let r = reduce_json(&sb, "r");
    assert_eq!(r["tasks"], 2);
    assert_eq!(r["samples"], 4_000_001_000u64);
    assert_eq!(r["hits"], 3_141_593_439u64);
    let p = 3_141_593_439f64 / 4_000_001_000f64;
    assert_eq!(r["pi"].as_f64().unwrap(), 4.0 * p);
    assert!((r["stderr"].as_f64().unwrap() - 4.0 * (p * (1.0 - p) / 4_000_001_000f64).sqrt()).abs() < 1e-15);
    assert_eq!(r["cpu_s"], 3.0);
}

#[test]
fn reduce_errors_name_the_directory_or_file() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("empty")).unwrap();
    std::fs::create_dir(sb.path("bad")).unwrap();
    write_result(&sb, "bad/good.toml", 1, 100, 80);
    sb.write("bad/broken.toml", "hits = [");
    sb.write("bad/foreign.toml", "title = \"my notes\"\n");
    for (dir, needle) in [
        ("missing", "cannot read results directory missing"),
        ("empty", "no result files (*.toml) in empty"),
        ("bad", "bad/broken.toml: not TOML"),
    ] {
        let out = run(hrun().current_dir(sb.root()).args(["reduce", dir]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{dir}: {err}");
        assert!(err.contains(needle), "{dir}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "--skip-bad", "--json", "bad"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("skipping bad/broken.toml: not TOML"), "{err}");
    assert!(err.contains("skipping bad/foreign.toml: not an hrun-mc-pi result"), "{err}");
    assert!(err.contains("skipped 2 bad file(s)"), "{err}");
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((r["tasks"].as_u64(), r["skipped"].as_u64()), (Some(1), Some(2)));
}

#[test]
fn a_repeated_seed_is_warned_about_and_counted_once() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("r")).unwrap();
    write_result(&sb, "r/mc_pi_1.toml", 7, 1000, 790);
    write_result(&sb, "r/mc_pi_2.toml", 8, 1000, 780);
    write_result(&sb, "r/mc_pi_10.toml", 7, 1000, 790);
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "--json", "r"]));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("r/mc_pi_10.toml has the same seed 7 as r/mc_pi_1.toml"),
        "{}",
        stderr(&out)
    );
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (r["tasks"].as_u64(), r["samples"].as_u64(), r["hits"].as_u64()),
        (Some(2), Some(2000), Some(1570))
    );
}

#[test]
fn gen_refuses_zero_values() {
    let out = run(hrun().args(["gen", "--tasks", "0", "--threads", "1"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--tasks must be at least 1"));
}

/// Copies the built `hrun` (and the worker, if asked) into `dir`, as an install would.
fn install_into(dir: &std::path::Path, with_worker: bool) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_hrun"), dir.join("hrun")).unwrap();
    if with_worker {
        std::fs::copy(worker_path(), dir.join("hrun-mc-pi")).unwrap();
    }
    dir.join("hrun")
}

/// A copy of hrun with no worker beside it and none on PATH: gen and run refuse with exit 2
/// and one line naming both places looked at and the fixes; run creates no run directory.
#[test]
fn a_worker_neither_beside_hrun_nor_on_path_is_a_usage_error_naming_both() {
    let sb = Sandbox::new();
    let lone = install_into(&sb.path("lone"), false);
    let empty = sb.path("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    // A non-executable file of the worker's name on PATH does not count, as in a shell.
    std::fs::write(empty.join("hrun-mc-pi"), "not a program").unwrap();
    let beside = sb.path("lone").canonicalize().unwrap().join("hrun-mc-pi");
    for args in [
        &["gen", "--tasks", "1", "--threads", "1"][..],
        &["run", "--tasks", "1", "--threads", "1", "--dir", "out"],
    ] {
        let out =
            run(std::process::Command::new(&lone).current_dir(sb.root()).env("PATH", &empty).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        let want = format!(
            "hrun: error: the worker hrun-mc-pi is neither beside hrun ({}) nor on PATH ({});",
            beside.display(),
            empty.display()
        );
        assert!(err.starts_with(&want), "{err}");
        for fix in ["--worker PATH", "cargo install --locked --path .", "pip install ."] {
            assert!(err.contains(fix), "{err}");
        }
        assert!(stdout(&out).is_empty());
    }
    assert!(!sb.path("out").exists(), "run created its directory before finding the worker");
}

/// No worker beside hrun, one on PATH: gen and run use it, by its absolute path.
#[test]
fn the_worker_is_found_on_path_when_not_beside_hrun() {
    let sb = Sandbox::new();
    let hrun_bin = install_into(&sb.path("hrun-only"), false);
    let worker_dir = sb.path("worker-bin");
    install_into(&worker_dir, true);
    std::fs::remove_file(worker_dir.join("hrun")).unwrap();
    let path = format!("{}:/usr/bin:/bin", worker_dir.display());
    let out = run(std::process::Command::new(&hrun_bin).current_dir(sb.root()).env("PATH", &path).args([
        "run",
        "--tasks",
        "2",
        "--threads",
        "1",
        "-n",
        "20000",
        "--dir",
        "out",
        "--json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((r["tasks"].as_u64(), r["samples"].as_u64()), (Some(2), Some(40000)));
    let tasks = std::fs::read_to_string(sb.path("out/tasks.txt")).unwrap();
    let line = tasks.lines().find(|l| !l.starts_with('#')).unwrap();
    assert!(line.starts_with(&format!("{}/hrun-mc-pi -t 1 ", worker_dir.display())), "{tasks}");
}

/// pipx links `hrun` into `~/.local/bin` from its environment's `bin/`: the worker beside the
/// link's target is found, with nothing on PATH.
#[test]
fn the_worker_beside_a_symlinked_hrun_target_is_found() {
    let sb = Sandbox::new();
    let real = install_into(&sb.path("venv/bin"), true);
    std::fs::create_dir(sb.path("local-bin")).unwrap();
    let link = sb.path("local-bin/hrun");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = run(std::process::Command::new(&link)
        .current_dir(sb.root())
        .env("PATH", sb.path("local-bin"))
        .args(["gen", "--tasks", "1", "--threads", "1"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = format!("{}/hrun-mc-pi -t 1 ", sb.path("venv/bin").canonicalize().unwrap().display());
    assert!(stdout(&out).lines().any(|l| l.starts_with(&want)), "{}", stdout(&out));
}

/// Results spread over several directories (one per node) reduce together.
#[test]
fn reduce_combines_several_directories() {
    let sb = Sandbox::new();
    for d in ["n1", "n2"] {
        std::fs::create_dir(sb.path(d)).unwrap();
    }
    write_result(&sb, "n1/mc_pi_1.toml", 1, 1000, 790);
    write_result(&sb, "n2/mc_pi_2.toml", 2, 3000, 2350);
    write_result(&sb, "n2/mc_pi_9.toml", 1, 1000, 790);
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "--json", "n1", "n2"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (r["tasks"].as_u64(), r["samples"].as_u64(), r["hits"].as_u64()),
        (Some(2), Some(4000), Some(3140))
    );
    assert_eq!(r["duplicates"], 1, "seed 1 is in both directories");
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "n1", "missing"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read results directory missing"), "{}", stderr(&out));
}
