//! Signals to hrun, hrun killed, leaked processes: nothing is lost and nothing is left behind.
//! Tasks report "ready" through marker files; no test relies on a fixed sleep to synchronise.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::*;

/// A process is gone when /proc has no entry for it, or only a zombie (PID 1 in containers
/// does not always reap re-parented processes).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn pids_in(sb: &Sandbox, prefix: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir(sb.root()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) {
            pids.push(std::fs::read_to_string(e.path()).unwrap().trim().parse().unwrap());
        }
    }
    pids
}

/// Tasks that ignore SIGTERM (and whose child does too) are SIGKILLed after the grace.
#[test]
fn sigterm_reaches_tasks_that_ignore_it_and_grace_ends_in_sigkill() {
    let sb = Sandbox::new();
    let slots = usable_cpus().len();
    let task = "trap '' TERM; echo $$ > sh.{#}; sleep 1000 & echo $! > kid.{#}; touch ready.{#}; wait\n";
    sb.write("tasks.txt", task.repeat(slots + 2));
    let child = sb.exec().args(["--grace", "1s", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    for i in 1..=slots {
        wait_for_file(&sb.path(&format!("ready.{i}")), Duration::from_secs(10));
    }
    let t0 = Instant::now();
    signal(child.id() as i32, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let took = t0.elapsed();
    assert_status!(out, 143);
    assert!(took >= Duration::from_millis(900), "SIGKILL came before the grace: {took:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let pids: Vec<i32> = pids_in(&sb, "sh.").into_iter().chain(pids_in(&sb, "kid.")).collect();
    assert_eq!(pids.len(), 2 * slots);
    eventually("every task process gone", Duration::from_secs(1), || pids.iter().all(|&p| gone(p)));
    let tasks = sb.records().tasks;
    assert_eq!(tasks.len(), slots, "one record per started task");
    for t in &tasks {
        assert_eq!((t.cancelled, t.signal), (true, Some(9)), "{t:?}");
    }
    assert!(stderr(&out).contains("2 not run"), "{}", stderr(&out));
}

#[test]
fn a_second_sigint_kills_at_once() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "trap '' INT TERM; touch ready; sleep 1000\n");
    let mut child = sb.exec().args(["--grace", "60s", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = StderrLines::take(&mut child);
    wait_for_file(&sb.path("ready"), Duration::from_secs(10));
    let t0 = Instant::now();
    signal(child.id() as i32, libc::SIGINT);
    // hrun says it forwarded the first one: only then is the second a second.
    err.wait_for("SIGINT: forwarding it", Duration::from_secs(5));
    signal(child.id() as i32, libc::SIGINT);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(t0.elapsed() < Duration::from_secs(10), "the second SIGINT must not wait for the 60 s grace");
    assert!(err.rest().contains("second SIGINT"));
}

/// SIGUSR1 (sbatch --signal=B:USR1@60): running tasks finish, nothing new starts, and
/// --resume in the next job runs exactly the rest.
#[test]
fn sigusr1_drains_and_resume_runs_the_rest() {
    let sb = Sandbox::new();
    let task = "touch ready.{#}; while [ ! -e go ]; do sleep 0.01; done; echo {#} >> done\n";
    sb.write("tasks.txt", task.repeat(6));
    let mut child = sb.exec().args(["--jobs", "1", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = StderrLines::take(&mut child);
    wait_for_file(&sb.path("ready.1"), Duration::from_secs(10));
    signal(child.id() as i32, libc::SIGUSR1);
    err.wait_for("SIGUSR1: starting no new task", Duration::from_secs(5));
    sb.write("go", "");
    assert_eq!(child.wait().unwrap().code(), Some(102), "stopped early with tasks left: 102");
    let said = err.rest();
    assert!(said.contains("5 not run") && said.contains("stopped early by SIGUSR1"), "{said}");
    assert_eq!(sb.read("done"), "1\n");

    let out = run(sb.exec().args(["--resume", "tasks.txt"]));
    assert_status!(out, 0);
    let mut done: Vec<u32> = sb.read("done").lines().map(|l| l.parse().unwrap()).collect();
    done.sort();
    assert_eq!(done, [1, 2, 3, 4, 5, 6]);
    assert!(stderr(&out).contains("1 already done (skipped)"), "{}", stderr(&out));
}

/// SIGKILL to hrun: its tasks and their children die too (PR_SET_PDEATHSIG for the task,
/// the guardian process for what the task started).
#[test]
fn kill_9_of_hrun_leaves_no_task_process_behind() {
    let sb = Sandbox::new();
    let slots = usable_cpus().len();
    let task = "echo $$ > sh.{#}; sleep 1000 & echo $! > kid.{#}; touch ready.{#}; wait\n";
    sb.write("tasks.txt", task.repeat(slots));
    let mut child = sb.exec().arg("tasks.txt").stderr(Stdio::null()).spawn().unwrap();
    for i in 1..=slots {
        wait_for_file(&sb.path(&format!("ready.{i}")), Duration::from_secs(10));
    }
    signal(child.id() as i32, libc::SIGKILL);
    child.wait().unwrap();
    let pids: Vec<i32> = pids_in(&sb, "sh.").into_iter().chain(pids_in(&sb, "kid.")).collect();
    assert_eq!(pids.len(), 2 * slots);
    eventually("every task process gone after kill -9 of hrun", Duration::from_secs(3), || {
        pids.iter().all(|&p| gone(p))
    });
}

/// A task that double-forks a daemon holding its stdout: hrun does not hang, kills the
/// daemon after the leak timeout, and records the leak.
#[test]
fn a_double_forked_daemon_holding_stdout_is_killed_and_logged() {
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        "(setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' &); while [ ! -s daemon.pid ]; do sleep 0.01; done; echo out\n\
         sleep 1000 & echo $! > bg.pid\n",
    );
    let t0 = Instant::now();
    let out = run(sb.exec().args(["--leak-timeout", "200ms", "tasks.txt"]));
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_status!(out, 0);
    assert_eq!(stdout(&out), "out\n");
    let (daemon, bg) = (pids_in(&sb, "daemon.pid")[0], pids_in(&sb, "bg.pid")[0]);
    assert!(gone(daemon) && gone(bg), "leftovers still running");
    let tasks = sb.records().tasks;
    for (t, pid) in tasks.iter().zip([daemon, bg]) {
        assert!(t.leaked, "{t:?}");
        assert!(t.leaked_pids.contains(&pid), "{t:?} should list {pid}");
        assert_eq!(t.exit, Some(0));
    }
    assert!(stderr(&out).contains("2 left 2 process(es) behind (killed)"), "{}", stderr(&out));
}

/// A background child that ends within the leak timeout is waited for, not killed, and its
/// output is kept.
#[test]
fn a_short_lived_leftover_is_waited_for_not_killed() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "(sleep 0.2; echo late) &\necho now\n");
    let out = run(sb.exec().args(["--jobs", "1", "--leak-timeout", "5s", "tasks.txt"]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "late\nnow\n");
    assert!(!sb.records().tasks[0].leaked);
}

/// A task that clears its environment escapes the guardian's `HRUN_PID` scan; as hrun's
/// direct child it still dies with hrun (`PR_SET_PDEATHSIG`).
#[test]
fn a_direct_child_with_a_cleared_environment_dies_with_hrun() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo $$ > pid; touch ready; exec env -i sleep 1000\n");
    let mut child = sb.exec().arg("tasks.txt").stderr(Stdio::null()).spawn().unwrap();
    wait_for_file(&sb.path("ready"), Duration::from_secs(10));
    let pid = pids_in(&sb, "pid")[0];
    // Wait until the task really is `sleep` with an empty environment.
    eventually("the task exec'd sleep", Duration::from_secs(5), || {
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|e| e.is_empty())
    });
    signal(child.id() as i32, libc::SIGKILL);
    child.wait().unwrap();
    eventually("the task gone after kill -9 of hrun", Duration::from_secs(3), || gone(pid));
}

/// Tasks from a pipe whose producer is slow: while hrun waits for the next line it still
/// handles signals (it waits in poll, not in a read no signal interrupts).
#[test]
fn waiting_for_input_on_stdin_does_not_block_signals() {
    use std::io::Write;
    let sb = Sandbox::new();
    let mut child = sb.exec().arg("-").stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"touch a\n").unwrap();
    input.flush().unwrap();
    wait_for_file(&sb.path("a"), Duration::from_secs(10));
    let mut err = StderrLines::take(&mut child);
    // The producer is still there, with nothing more to say yet.
    input.write_all(b"touch b\n").unwrap();
    input.flush().unwrap();
    wait_for_file(&sb.path("b"), Duration::from_secs(10));
    let t0 = Instant::now();
    signal(child.id() as i32, libc::SIGTERM);
    err.wait_for("SIGTERM: forwarding it", Duration::from_secs(5));
    // Ends without waiting for the producer to close its end.
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(err.rest().contains("the rest of standard input not read"));
    drop(input);
    let (_, tasks) = sb.log();
    assert_eq!(tasks.len(), 2);
}

/// `hrun status` from another shell while the run goes on, then after it ended.
#[test]
fn status_reads_a_log_being_written() {
    let sb = Sandbox::new();
    let slots = usable_cpus().len();
    let task = "touch ready.{#}; while [ ! -e go ]; do sleep 0.01; done\n";
    sb.write("tasks.txt", task.repeat(slots + 3) + "exit 3\n");
    let mut child = sb.exec().args(["tasks.txt"]).stderr(Stdio::null()).spawn().unwrap();
    for i in 1..=slots {
        wait_for_file(&sb.path(&format!("ready.{i}")), Duration::from_secs(10));
    }
    let out = run(hrun().arg("status").arg(sb.path("log.jsonl")));
    assert_status!(out, 0);
    let text = stdout(&out);
    assert!(text.contains(", running, elapsed"), "{text}");
    assert!(
        text.contains(&format!("tasks: 0 done (0 ok, 0 failed), {slots} running, 4 left of {}", slots + 4)),
        "{text}"
    );
    assert!(text.contains("longest running:") && text.contains("task 1 "), "{text}");
    sb.write("go", "");
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let text = stdout(&run(hrun().arg("status").arg(sb.path("log.jsonl"))));
    assert!(text.contains(", finished, elapsed"), "{text}");
    assert!(
        text.contains(&format!("tasks: {} done ({} ok, 1 failed), 0 running, 0 left", slots + 4, slots + 3)),
        "{text}"
    );
    let out = run(hrun().arg("status").arg(sb.path("nope.jsonl")));
    assert_eq!(out.status.code(), Some(2));
}

/// A launcher that dies (here SIGKILLed) takes its task with it (`PR_SET_PDEATHSIG`, and hrun
/// kills what it started): hrun stops starting tasks, records that task as cancelled, lets the
/// task of the other slot's launcher finish, records the run as failed (255), and `--resume`
/// runs what did not succeed.
#[test]
fn a_killed_launcher_stops_the_run_and_resume_runs_its_tasks() {
    let sb = Sandbox::new();
    let task = "if [ -e go ]; then echo {#} >> ran; else echo $$ > sh.{#}; sleep 1000 & echo $! > kid.{#}; \
                touch ready.{#}; wait; fi\n";
    sb.write("tasks.txt", task.repeat(3));
    let child = sb.exec().args(["-j", "2", "tasks.txt"]).stderr(Stdio::piped()).spawn().unwrap();
    for i in 1..=2 {
        wait_for_file(&sb.path(&format!("ready.{i}")), Duration::from_secs(10));
    }
    // The launcher is the task's parent; hrun is the launcher's.
    let ppid = |pid: i32| -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        stat.rsplit(')').next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let launcher = ppid(pids_in(&sb, "sh.1")[0]);
    assert_eq!(ppid(launcher), child.id() as i32, "a task's parent is a launcher of hrun's");
    assert_ne!(ppid(pids_in(&sb, "sh.2")[0]), launcher, "each slot has its own launcher");
    signal(launcher, libc::SIGKILL);
    // Task 1 dies with its launcher; the run stops (task 3 does not start) and task 2, on
    // another launcher, runs on until it ends (its `wait` returns 0 once its child is gone).
    let first: Vec<i32> = pids_in(&sb, "sh.1").into_iter().chain(pids_in(&sb, "kid.1")).collect();
    eventually("task 1's processes gone with its launcher", Duration::from_secs(3), || {
        first.iter().all(|&p| gone(p))
    });
    let mut child = child;
    assert!(child.try_wait().unwrap().is_none(), "hrun waits for the task still running");
    signal(pids_in(&sb, "kid.2")[0], libc::SIGKILL);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{err}");
    assert!(err.contains(&format!("launcher process {launcher} ended")), "{err}");
    assert!(!sb.path("sh.3").exists(), "no task starts once a launcher is gone");
    let log = sb.records();
    let tasks = &log.tasks;
    assert_eq!(tasks.len(), 2, "two attempts were running: {tasks:?}");
    let by_seq = |seq: u64| tasks.iter().find(|t| t.seq == seq).unwrap();
    assert!(by_seq(1).cancelled, "{tasks:?}");
    assert!(!by_seq(2).cancelled && by_seq(2).exit == Some(0), "{tasks:?}");
    let last = sb.read("log.jsonl").lines().last().unwrap().to_string();
    assert!(last.contains("\"kind\":\"end\""), "the end record comes last: {last}");
    assert_eq!((log.end().cancelled, log.end().not_run), (1, 1));
    sb.write("go", "");
    let out = run(sb.exec().args(["-j", "2", "--resume", "tasks.txt"]));
    assert_status!(out, 0);
    let mut ran: Vec<String> = sb.read("ran").lines().map(String::from).collect();
    ran.sort();
    assert_eq!(ran, ["1", "3"], "resume runs the cancelled task and the one not run");
}

/// A script's `hrun ... &` starts hrun with SIGINT and SIGQUIT ignored; its tasks get the
/// signals hrun passes on back at their defaults (an ignored signal stays ignored across exec),
/// so that hrun's forwarding of Ctrl-C reaches them, as GNU parallel's tasks.
#[test]
fn tasks_of_a_backgrounded_hrun_do_not_ignore_the_signals_it_forwards() {
    let sb = Sandbox::new();
    let line = format!(
        "{} exec --log {} 'grep SigIgn /proc/self/status' ::: x & wait",
        env!("CARGO_BIN_EXE_hrun"),
        sb.path("log.jsonl").display()
    );
    let out = run(std::process::Command::new("sh").current_dir(sb.root()).args(["-c", &line]));
    let text = stdout(&out);
    let mask = text.split_whitespace().last().and_then(|m| u64::from_str_radix(m, 16).ok()).expect(&text);
    for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1] {
        assert_eq!(mask & (1 << (sig - 1)), 0, "signal {sig} ignored in the task: {text}");
    }
}
