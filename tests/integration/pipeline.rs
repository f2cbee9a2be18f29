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
    let r = reduce_json(sb.root(), &["results"]);
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
    assert_eq!(reduce_json(sb.root(), &["r1/results"])["hits"], r["hits"]);

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
    let r = reduce_json(sb.root(), &["r"]);
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
    assert!(err.contains("skipped 2 bad files"), "{err}");
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

/// A newline in a path that goes into task lines ended the line early: the rest ran as a
/// command of its own (`touch PWNED`). Such paths are refused, naming the value escaped.
#[test]
fn a_newline_in_a_path_cannot_inject_a_task_line() {
    worker_path();
    let sb = Sandbox::new();
    let evil = "x\ntouch PWNED #";
    let shown = format!("\"{}/x\\ntouch PWNED #\"", sb.root().display());
    let size = ["--tasks", "1", "-t", "1", "-n", "10"];
    let cases: Vec<(Vec<&str>, String)> = vec![
        ([&["gen", "--results", evil][..], &size].concat(), format!("--results {shown}")),
        ([&["gen", "--worker", evil][..], &size].concat(), format!("--worker {shown}")),
        ([&["run", "--dir", evil][..], &size].concat(), format!("--dir {shown}")),
        ([&["run", "--worker", evil][..], &size].concat(), format!("--worker {shown}")),
        (
            vec!["tune", "--threads-list", "1", "--", "true\ntouch PWNED"],
            "command \"true\\ntouch PWNED\"".into(),
        ),
    ];
    for (args, needle) in cases {
        let out = run(hrun().current_dir(sb.root()).args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(&format!("hrun: error: {needle}: ")), "{args:?}: {err}");
        // Whatever gen printed, run it: nothing may come of the injected line.
        sb.write("tasks.txt", &out.stdout);
        run(sb.exec().arg("tasks.txt"));
        assert!(!sb.path("PWNED").exists(), "{args:?} injected a command");
        assert!(!sb.path(evil).exists(), "{args:?} created its directory");
    }
}

/// Two `hrun run` started in the same second (a job array does this) shared
/// `hrun-run-<second>/`: one failed with "log in use", or reported the other's tasks. Each now
/// claims its own directory with `mkdir`, taking `-2`, `-3`... when the name is taken.
#[test]
fn runs_started_in_the_same_second_get_their_own_directories() {
    worker_path();
    let sb = Sandbox::new();
    // The default names of the coming seconds are taken, as by runs started just before.
    let now = std::time::SystemTime::now();
    for s in 0..30 {
        let name = format!("hrun-run-{}", hrun::pipeline::utc_stamp(now + std::time::Duration::from_secs(s)));
        std::fs::create_dir(sb.path(&name)).unwrap();
        sb.write(&format!("{name}/keep"), "earlier run");
    }
    let children: Vec<_> = (1..=4u64)
        .map(|k| {
            let seed = (100 * k).to_string();
            let args =
                ["run", "--tasks", "3", "--threads", "1", "-n", "1000", "--seed", &seed, "--json", "-q"];
            let mut cmd = hrun();
            cmd.current_dir(sb.root()).args(args).stdin(Stdio::null()).stdout(Stdio::piped());
            (k, cmd.stderr(Stdio::piped()).spawn().unwrap())
        })
        .collect();
    let mut dirs = std::collections::BTreeSet::new();
    for (k, child) in children {
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "run {k}: {err}");
        let dir = err.lines().find_map(|l| l.strip_prefix("hrun: 3 tasks x 1 thread into ")).unwrap();
        assert!(dirs.insert(dir.to_string()), "run {k} shares {dir}");
        assert!(!sb.path(dir).join("keep").exists(), "run {k} took an earlier run's {dir}");
        // Its own results, and its estimate sums exactly them.
        let results = std::fs::read_dir(sb.path(dir).join("results")).unwrap();
        let parsed: Vec<_> = results
            .map(|e| {
                hrun_protocol::result::McPiResult::parse(&std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .unwrap()
            })
            .collect();
        let mut seeds: Vec<u64> = parsed.iter().map(|r| r.seed).collect();
        seeds.sort();
        assert_eq!(seeds, [100 * k + 1, 100 * k + 2, 100 * k + 3], "run {k} in {dir}");
        let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(r["hits"].as_u64(), Some(parsed.iter().map(|r| r.hits).sum()), "run {k}");
        let (runs, tasks) = read_log(&sb.path(dir).join("hrun.jsonl"));
        assert_eq!((runs.len(), tasks.len()), (1, 3), "run {k}: one run of its own 3 tasks in its log");
    }
    let kept =
        std::fs::read_dir(sb.root()).unwrap().filter(|e| e.as_ref().unwrap().path().join("keep").exists());
    assert_eq!(kept.count(), 30, "earlier runs' directories untouched");
}

/// A result file as `write_result` makes it, with one `key = value` line replaced.
fn write_result_with(sb: &Sandbox, name: &str, seed: u64, from: &str, to: &str) {
    write_result(sb, name, seed, 1000, 790);
    let text = sb.read(name);
    assert!(text.contains(from), "{from} not in {text}");
    sb.write(name, text.replace(from, to));
}

/// `nan`, `inf` and negative numbers were summed ("worker CPU time -inf s").
#[test]
fn reduce_refuses_non_finite_and_negative_numbers() {
    for (from, to, needle) in [
        ("cpu_s = 1.5", "cpu_s = -inf", "cpu_s = -inf: not a finite number of at least 0"),
        ("cpu_s = 1.5", "cpu_s = nan", "cpu_s = NaN: not a finite number"),
        ("elapsed_s = 2.0", "elapsed_s = -2.0", "elapsed_s = -2: not a finite number"),
        ("start = 1000.0", "start = inf", "start = inf: not a finite number"),
        ("pi = 3.0", "pi = -3.0", "pi = -3: not a finite number"),
    ] {
        let sb = Sandbox::new();
        std::fs::create_dir(sb.path("r")).unwrap();
        write_result(&sb, "r/a.toml", 1, 1000, 790);
        write_result_with(&sb, "r/b.toml", 2, from, to);
        let out = run(hrun().current_dir(sb.root()).args(["reduce", "r"]));
        assert_eq!(out.status.code(), Some(2), "{to}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("r/b.toml: inconsistent result: {needle}")),
            "{}",
            stderr(&out)
        );
        let out = run(hrun().current_dir(sb.root()).args(["reduce", "--skip-bad", "--json", "r"]));
        assert_eq!(out.status.code(), Some(0), "{to}: {}", stderr(&out));
        let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            (r["tasks"].as_u64(), r["skipped"].as_u64(), r["cpu_s"].as_f64()),
            (Some(1), Some(1), Some(1.5))
        );
    }
}

/// Two files with one seed but different samples were "identical samples", counted once:
/// which one counted depended on the file names. They cannot both be right: an error.
#[test]
fn reduce_tells_conflicting_duplicates_from_identical_ones() {
    for (samples, hits) in [(2000, 1580), (1000, 791)] {
        let sb = Sandbox::new();
        std::fs::create_dir(sb.path("r")).unwrap();
        write_result(&sb, "r/mc_pi_1.toml", 7, 1000, 790);
        write_result(&sb, "r/mc_pi_2.toml", 7, samples, hits);
        write_result(&sb, "r/mc_pi_3.toml", 7, 1000, 790);
        let out = run(hrun().current_dir(sb.root()).args(["reduce", "r"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "r/mc_pi_2.toml: seed 7 is also in r/mc_pi_1.toml, with different samples (there 1 x 1000 \
                 samples, 790 hits; here 1 x {samples}, {hits} hits): they cannot both be right"
            )),
            "{err}"
        );
        let out = run(hrun().current_dir(sb.root()).args(["reduce", "--skip-bad", "--json", "r"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("skipping r/mc_pi_2.toml: seed 7 is also in r/mc_pi_1.toml"), "{err}");
        assert!(err.contains("r/mc_pi_3.toml has the same seed 7 as r/mc_pi_1.toml"), "{err}");
        let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            (r["tasks"].as_u64(), r["hits"].as_u64(), r["skipped"].as_u64(), r["duplicates"].as_u64()),
            (Some(1), Some(790), Some(1), Some(1))
        );
    }
}

/// A result file with a 300 MB line made a 300 MB message and 1.5 GB of memory; a FIFO named
/// `*.toml` blocked reduce forever. Only regular files up to 1 MiB are read, and quoted
/// content in messages is cut to a few hundred bytes.
#[test]
fn reduce_reads_only_small_regular_files_and_keeps_messages_short() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("r")).unwrap();
    write_result(&sb, "r/good.toml", 1, 1000, 790);
    sb.write("r/long.toml", format!("hits = [{}\n", "\u{1b}[2J9".repeat(200_000)));
    sb.write("r/foreign.toml", format!("format = \"{}\"\n", "x".repeat(900_000)));
    std::fs::File::create(sb.path("r/big.toml")).unwrap().set_len(2 << 20).unwrap();
    mkfifo(&sb.path("r/fifo.toml"));
    let expect = [
        (
            "big.toml",
            format!("cannot read: {} bytes, more than the {} such a file may have", 2 << 20, 1 << 20),
        ),
        ("fifo.toml", "cannot read: not a regular file (a FIFO)".into()),
        ("foreign.toml", "not an hrun-mc-pi result: format is \"xxx".into()),
        ("long.toml", "not TOML: ".into()),
    ];
    let out = run_within(
        hrun().current_dir(sb.root()).args(["reduce", "--skip-bad", "--json", "r"]),
        std::time::Duration::from_secs(20),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains('\u{1b}'), "an escape sequence reached the terminal");
    for (name, why) in &expect {
        let line =
            err.lines().find(|l| l.contains(&format!("r/{name}"))).unwrap_or_else(|| panic!("{name}: {err}"));
        assert!(line.contains(why), "{name}: {line}");
        assert!(line.len() < 700, "{name}: a {} byte message", line.len());
    }
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((r["tasks"].as_u64(), r["skipped"].as_u64()), (Some(1), Some(4)));
    // Without --skip-bad, the first bad file is the one-line error.
    let out =
        run_within(hrun().current_dir(sb.root()).args(["reduce", "r"]), std::time::Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(stderr(&out).len() < 700, "{}", stderr(&out));
}
