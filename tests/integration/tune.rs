//! `hrun tune`: waves that only ever touch their own tasks, failures that fail the sweep, and
//! signals passed on to the running wave.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

/// Issue 15: every wave ran in the same hrun process, so every task carried the same
/// `HRUN_PID`, and the guardian of wave k (still scanning /proc after its run) killed wave
/// k+1's tasks, which then found wave k's guardian as "1 stray process". 4 of 10 sweeps had a
/// failed wave; 40 waves in one sweep hit it every time.
#[test]
fn waves_never_touch_each_other() {
    let sb = Sandbox::new();
    let list = vec!["1"; 40].join(",");
    let out = run(hrun().current_dir(sb.root()).args([
        "tune",
        "--min-wave",
        "0s",
        "--threads-list",
        &list,
        "--",
        "sleep",
        "0.05",
    ]));
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    assert_eq!(
        err.lines()
            .filter(|l| !l.starts_with("hrun: tune: the command has no {samples}"))
            .filter(|l| !l.starts_with("hrun: tune: the node was busy"))
            .count(),
        0,
        "nothing killed, nothing failed: {err}"
    );
    let rows: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with("1 ")).collect();
    assert_eq!(rows.len(), 40, "{text}");
    for r in rows {
        assert!(r.ends_with('%') && !r.contains("failed"), "{r}");
    }
}

/// `hrun tune --threads-list 1 -- false` exited 0 and showed a "vs best" figure for a wave
/// whose every task failed.
#[test]
fn a_wave_with_failures_fails_the_sweep_and_gets_no_figure() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args(["tune", "--threads-list", "1", "--", "false"]));
    let (text, err) = (stdout(&out), stderr(&out));
    let err = err.split_once('\n').unwrap().1;
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    let n = usable_cpus().len();
    let tasks = if n == 1 { "1 task".to_string() } else { format!("{n} tasks") };
    let row = text.lines().nth(1).unwrap();
    assert!(row.contains(&format!("failed  ({n} of {tasks} failed)")), "{text}");
    assert!(!row.contains('%'), "no figure against the best: {row}");
    assert!(text.ends_with("no thread count ran without failures\n"), "{text}");
    // (A machine busy with other tests gets a note first.)
    let err: String = err
        .lines()
        .filter(|l| !l.starts_with("hrun: tune: the node was busy"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        err.starts_with(&format!("hrun: tune: T = 1: {n} of {tasks} failed:\n  task 1: exit 1: false\n")),
        "{err}"
    );

    // One failed wave among good ones: the others are still compared and recommended.
    let out = run(hrun().current_dir(sb.root()).args([
        "tune",
        "--min-wave",
        "0s",
        "--threads-list",
        "1,1",
        "--",
        "sh",
        "-c",
        "'mkdir failed-once 2>/dev/null && { echo broke >&2; exit 3; }; true'",
    ]));
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    let rows: Vec<&str> = text.lines().skip(1).take(2).collect();
    assert!(rows[0].contains(&format!("failed  (1 of {tasks} failed)")), "{text}");
    assert!(rows[1].ends_with("100.0%"), "{text}");
    let slots = if n == 1 { "1 slot".to_string() } else { format!("{n} slots") };
    assert!(text.ends_with(&format!("recommended: --threads 1 ({slots})\n")), "{text}");
    assert!(err.contains(": exit 3: sh -c") && err.contains("its stderr ends: broke"), "{err}");
}

/// A signal to tune reaches the running wave (which stops its tasks) and stops the sweep:
/// tune exits 128 + N, and nothing of the wave outlives it.
#[test]
fn a_signal_stops_the_wave_and_the_sweep() {
    let sb = Sandbox::new();
    let child = hrun()
        .current_dir(sb.root())
        .args([
            "tune",
            "--threads-list",
            "1,1",
            "--",
            "sh",
            "-c",
            "'echo $$ > pid.tmp.{#} && mv pid.tmp.{#} pid.{#} && exec sleep 30'",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&sb.path("pid.1"), Duration::from_secs(20));
    let pid: i32 = sb.read("pid.1").trim().parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let t0 = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(8), "the wave was stopped, not waited for");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("hrun: tune: interrupted by SIGINT"), "{}", stderr(&out));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the wave's task is gone");
    // The second wave never started.
    assert!(stdout(&out).ends_with("vs best\nno wave ran to its end\n"), "{}", stdout(&out));
}

/// tune killed outright (no chance to pass anything on): the wave's hrun gets SIGTERM from
/// the kernel and ends its task, rather than running on unwatched.
#[test]
fn a_killed_tune_takes_its_wave_with_it() {
    let sb = Sandbox::new();
    let mut child = hrun()
        .current_dir(sb.root())
        .args(["tune", "--threads-list", "1", "--", "sh", "-c"])
        .arg("'echo $$ > pid.tmp.{#} && mv pid.tmp.{#} pid.{#} && exec sleep 30'")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&sb.path("pid.1"), Duration::from_secs(20));
    let pid: i32 = sb.read("pid.1").trim().parse().unwrap();
    assert!(send_signal(child.id() as i32, libc::SIGKILL));
    child.wait().unwrap();
    let t0 = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(t0.elapsed() < Duration::from_secs(10), "the wave's task {pid} outlived tune");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The default wave was 1e8 samples per thread: 0.05 s per task with AVX2, too short to tell
/// thread counts apart. Without -n the worker is timed first and a task runs about 0.75 s.
#[test]
fn the_default_wave_is_long_enough_to_measure() {
    let out = run(hrun().args(["tune", "--threads-list", "1"]));
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    assert!(
        err.starts_with("hrun: tune: -n ") && err.contains("samples per thread: about 0.75 s per task"),
        "{err}"
    );
    let wall: f64 = text.lines().nth(1).unwrap().split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(wall >= 0.5, "a wave of {wall} s: {text}");
}

/// `--repeat N` runs every wave N times and shows the median and the spread.
#[test]
fn repeats_show_the_median_and_the_spread() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args([
        "tune",
        "--min-wave",
        "0s",
        "--repeat",
        "3",
        "--threads-list",
        "1",
        "--",
        "sh",
        "-c",
        "'echo {threads} >> waves'",
    ]));
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.starts_with("threads  slots  median s       min-max s  CPUs        tasks/s    vs best\n"),
        "{text}"
    );
    let cols: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    let (lo, hi) = cols[3].split_once('-').unwrap();
    let median: f64 = cols[2].parse().unwrap();
    assert!(lo.parse::<f64>().unwrap() <= median && median <= hi.parse::<f64>().unwrap(), "{text}");
    assert_eq!(sb.read("waves").lines().count(), 3 * usable_cpus().len(), "3 waves of one task per slot");
}

/// `{samples}` in a command is the samples per thread (S x CPUs / (slots x T) with --strong),
/// and the throughput is then in samples/s.
#[test]
fn a_command_takes_samples_through_its_placeholder() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args([
        "tune",
        "--min-wave",
        "0s",
        "-n",
        "1000",
        "--strong",
        "--threads-list",
        "1",
        "--",
        "sh",
        "-c",
        "'echo {threads} {samples} >> seen'",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("samples/s"), "{}", stdout(&out));
    assert_eq!(sb.read("seen").lines().collect::<Vec<_>>(), vec!["1 1000"; usable_cpus().len()]);
}

/// `-n` or `--strong` with a command that has no `{samples}` did nothing, silently.
#[test]
fn flags_a_command_cannot_use_are_refused() {
    for (args, needle) in [
        (&["-n", "5", "--", "./sim"][..], "-n 5: the command \"./sim\" has no {samples} to put it in"),
        (&["--strong", "--", "./sim"][..], "--strong: the command \"./sim\" has no {samples}"),
        (
            &["--", "./sim", "-n", "{samples}"][..],
            "the command \"./sim -n {samples}\" uses {samples}: give -n S",
        ),
        (&["--repeat", "0", "--", "true"][..], "--repeat must be at least 1 (got 0)"),
        (
            &["--worker", "/bin/true"][..],
            "the worker /bin/true printed no result while calibrating -n (give -n)",
        ),
    ] {
        let out = run(hrun().arg("tune").args(args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(&format!("hrun: error: {needle}")), "{args:?}: {err}");
    }
}

/// Inside a Slurm job whose end is near, a wave stops at its deadline (hrun exits 102 there);
/// the sweep stops too, with 102, instead of reading a cut wave as a measurement.
#[test]
fn a_wave_stopped_at_the_deadline_stops_the_sweep() {
    let out = run(hrun().env("SLURM_JOB_ID", "1").env("SLURM_JOB_END_TIME", "100").args([
        "tune",
        "--threads-list",
        "1,1",
        "--",
        "true",
    ]));
    assert_eq!(out.status.code(), Some(102), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("vs best\nno wave ran to its end\n"), "{}", stdout(&out));
    // (After the note on the calibration, and one on a node busy with other tests.)
    let err = stderr(&out);
    assert_eq!(
        err.lines()
            .filter(|l| !l.starts_with("hrun: tune: the node was busy"))
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
        "hrun: tune: the wave of T = 1 stopped at the deadline (the Slurm job's end is near); the table shows \
         the waves that ran\n"
    );
}

/// `hrun tune -- python3 pi.py -n {samples}` on a single-threaded program got S samples
/// whatever T and was credited T x S: it recommended --threads 2. A command told no thread
/// count gets T x S ({samples} is the task's work), and a program that keeps one CPU busy
/// whatever T is named.
#[test]
fn a_single_threaded_program_gets_t_times_s_and_is_named() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args([
        "tune",
        "--min-wave",
        "0s",
        "-n",
        "20000",
        "--threads-list",
        "1,2",
        "--cpus",
        "0-1",
        "--",
        "sh",
        "-c",
        "'echo {samples} >> seen; i=0; while [ $i -lt {samples} ]; do i=$((i+1)); done'",
    ]));
    let (text, err) = (stdout(&out), stderr(&out));
    if usable_cpus().len() < 2 {
        eprintln!("a_single_threaded_program_...: needs 2 CPUs; not run");
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    assert!(err.contains("{samples} is a task's work, T x S"), "{err}");
    let mut seen: Vec<String> = sb.read("seen").lines().map(String::from).collect();
    seen.sort();
    assert_eq!(seen, ["20000", "20000", "40000"], "T = 1: two slots of S; T = 2: one of 2 x S");
    let cpus: Vec<f64> =
        text.lines().skip(1).take(2).map(|l| l.split_whitespace().nth(3).unwrap().parse().unwrap()).collect();
    assert!(cpus.iter().all(|&c| c > 0.0 && c < 1.2), "a shell loop keeps one CPU busy: {text}");
    // Named when T = 1 had its CPU (a machine busy with other tests can starve it: then the
    // figures say nothing, and tune keeps quiet).
    assert_eq!(text.contains("the program does not use its threads"), cpus[0] >= 0.8, "{text}");
}

/// Waves of 0.27 s were measured and compared as they were: a wave shorter than --min-wave
/// runs again with more tasks per slot (this T, every repeat), and tune says so.
#[test]
fn a_wave_too_short_to_measure_runs_again_longer() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args([
        "tune",
        "--min-wave",
        "0.5s",
        "--threads-list",
        "1",
        "--",
        "sh",
        "-c",
        "'echo x >> ran'",
    ]));
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    let said = err.lines().find(|l| l.contains("is too short to measure")).unwrap_or_else(|| panic!("{err}"));
    let k: usize = said.split(" runs ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((2..=100).contains(&k), "{said}");
    let n = usable_cpus().len();
    assert_eq!(sb.read("ran").lines().count(), n + n * k, "the short wave, then one of {k} tasks per slot");
}

/// A sweep on a node busy with other work measured that work too, and said nothing: tune
/// reads the load average first (here a fake `/proc/loadavg`) and says, on stderr at once and
/// under the table, that the timings are not to be trusted.
#[test]
fn a_busy_node_is_said_before_and_under_the_table() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("proc")).unwrap();
    sb.write("proc/loadavg", "7.50 6.00 5.00 9/300 4242\n");
    let tune = || {
        run(hrun().current_dir(sb.root()).env("HRUN_PROC_ROOT", sb.path("proc")).args([
            "tune",
            "--min-wave",
            "0s",
            "--threads-list",
            "1",
            "--cpus",
            "0",
            "--",
            "true",
        ]))
    };
    let out = tune();
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    let said = "the node was busy before the sweep (load average 7.50 on 1 CPU)";
    assert!(err.contains(&format!("hrun: tune: {said}")), "{err}");
    assert!(text.contains(&format!("note: {said}")), "{text}");
    // A quiet node: no word.
    sb.write("proc/loadavg", "0.10 0.10 0.10 1/300 4242\n");
    let out = tune();
    assert!(!stdout(&out).contains("busy") && !stderr(&out).contains("busy"), "{}", stderr(&out));
}
