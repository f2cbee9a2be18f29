//! The decisions, fed the events a run produces, with no process: each test checks the state
//! and the effects asked of the world.

use super::refused::{REFUSED_FOR, backoff};
use super::*;
use crate::exec::attempt::{Cut, Lingering, Phase};
use crate::exec::halt::Halt;
use crate::exec::output::Captured;
use crate::exec::spawn::Launch;

const TERM: i32 = libc::SIGTERM;
const KILL: i32 = libc::SIGKILL;

fn seq() -> TermSeq {
    TermSeq::with_grace(Duration::from_secs(2))
}

fn task(seq: u64) -> Task {
    Task { seq, line: seq, cmd: format!("work {seq}"), job: None, occurrence: 1, block: None }
}

fn starting(seq: u64) -> Starting {
    Starting {
        task: task(seq),
        number: 1,
        captured: Captured::scratch(),
        limit: None,
        launch: Launch::Direct,
        sent: Instant::now(),
        exe: None,
    }
}

fn state(slots: usize) -> RunState {
    RunState::new(slots, 1, Median::default(), None)
}

/// Task `seq` running on `slot` as pid 1000 + slot.
fn run(st: &mut RunState, slot: usize, seq: u64) {
    let pid = 1000 + slot as i32;
    let r = starting(seq).started(slot, pid, crate::sys::stamp_now(), Instant::now());
    st.now_running(slot, r, &self::seq());
}

/// A request for task `seq` waiting behind `slot`'s task.
fn queue(st: &mut RunState, slot: usize, seq: u64) {
    st.queued[slot] = Some(prefetch::Queued { starting: Box::new(starting(seq)), withdrawing: false });
}

fn signals(fx: &[Effect]) -> Vec<(i32, i32)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Signal { pgid, sig } => Some((*pgid, *sig)),
            _ => None,
        })
        .collect()
}

fn withdrawn(fx: &[Effect]) -> Vec<usize> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Withdraw { slot } => Some(*slot),
            _ => None,
        })
        .collect()
}

fn said(fx: &[Effect]) -> String {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Say(l) | Effect::Warn(l) | Effect::Tell { hrun: Some(l), .. } => Some(l.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lines said in GNU's words (as `parallel`).
fn gnu(fx: Vec<Effect>) -> Vec<String> {
    fx.into_iter()
        .filter_map(|e| match e {
            Effect::Tell { gnu, .. } => gnu,
            _ => None,
        })
        .collect()
}

fn running(st: &RunState, slot: usize) -> &Attempt {
    match &st.slots[slot] {
        SlotState::Running(r) => r,
        _ => panic!("slot {slot} is not running"),
    }
}

#[test]
fn a_signal_while_a_start_is_in_flight_cuts_the_task_short_as_it_starts() {
    let mut st = state(2);
    run(&mut st, 0, 1);
    st.slots[1] = SlotState::Starting(Box::new(starting(2)));
    st.on_signal(TERM, &seq());
    assert_eq!(st.phase.stop(), Some(Stop::Signal(TERM)));
    assert_eq!(signals(st.fx.peek()), [(1000, TERM)], "only the running task is signalled now");
    assert!(said(st.fx.peek()).starts_with("SIGTERM: "), "{}", said(st.fx.peek()));
    st.fx.take();
    // The launcher answers: it started. It gets the same signal at once, and is cancelled.
    let SlotState::Starting(s) = std::mem::replace(&mut st.slots[1], SlotState::Free) else { panic!() };
    let r = s.started(1, 1001, crate::sys::stamp_now(), Instant::now());
    st.now_running(1, r, &seq());
    assert_eq!(signals(&st.fx.take()), [(1001, TERM)]);
    assert_eq!(running(&st, 1).cut, Some(Cut::Cancelled));
    assert_eq!(st.by_pid.get(&1001), Some(&1));
}

#[test]
fn a_second_sigint_kills_at_once_and_a_second_term_does_not_restart_the_grace() {
    let mut st = state(1);
    run(&mut st, 0, 1);
    st.on_signal(libc::SIGINT, &seq());
    assert_eq!(signals(&st.fx.take()), [(1000, libc::SIGINT)]);
    assert!(matches!(running(&st, 0).phase, Phase::Terminating { step: 0, .. }));
    st.on_signal(TERM, &seq());
    assert!(signals(&st.fx.take()).is_empty(), "another signal does not start the sequence again");
    st.on_signal(libc::SIGINT, &seq());
    let fx = st.fx.take();
    assert_eq!(signals(&fx), [(1000, KILL)]);
    assert!(said(&fx).contains("second SIGINT: killing 1 running task now"), "{}", said(&fx));
    assert_eq!(running(&st, 0).phase, Phase::Killed);
}

#[test]
fn sigusr1_drains_running_tasks_finish_and_waiting_requests_are_withdrawn() {
    let mut st = state(2);
    run(&mut st, 0, 1);
    queue(&mut st, 0, 3);
    st.on_signal(libc::SIGUSR1, &seq());
    let fx = st.fx.take();
    assert_eq!(st.phase.stop(), Some(Stop::Drain));
    assert!(signals(&fx).is_empty(), "draining signals no task");
    assert_eq!(withdrawn(&fx), [0]);
    // Withdrawn once, however often the run says so.
    st.withdraw_all();
    assert!(st.fx.take().is_empty());
    // The launcher answers it did not start: the task waits at the front, not run.
    st.given_back(0);
    assert_eq!(st.retry.front().map(|p| p.task.seq), Some(3));
    assert!(st.queued[0].is_none());
}

#[test]
fn a_launcher_gone_ends_its_slots_tasks_as_cancelled_and_counts_the_rest_not_run() {
    // Two launchers: launcher 0 serves slots 0 and 2, launcher 1 slot 1 and 3.
    let mut st = state(4);
    run(&mut st, 0, 1);
    run(&mut st, 1, 2);
    st.slots[2] = SlotState::Starting(Box::new(starting(3)));
    queue(&mut st, 0, 4);
    let ended = st.launcher_gone(&[0, 2], &lost::Gone::Local(77));
    assert_eq!(ended.len(), 1);
    let e = &ended[0];
    assert_eq!((e.slot, e.attempt.task.seq, e.reaped.ended), (0, 1, Ended::Signaled(KILL)));
    assert_eq!(e.attempt.cut, Some(Cut::Cancelled));
    assert_eq!(st.summary.not_run, 2, "the starting task and the waiting request");
    assert!(matches!(st.slots[1], SlotState::Running(_)), "the other launcher's task runs on");
    assert!(!st.by_pid.contains_key(&1000) && st.by_pid.contains_key(&1001));
    assert_eq!(signals(&st.fx.take()), [(1000, KILL)], "what the lost task started goes with it");
    assert_eq!(st.phase.stop(), Some(Stop::Error));
    assert!(format!("{:#}", st.deferred.unwrap()).contains("launcher process 77 ended"));
}

#[test]
fn a_node_lost_runs_its_tasks_again_elsewhere_and_the_run_goes_on() {
    // Two nodes: slots 0 and 1 on the first, 2 and 3 on the second.
    let mut st = state(4);
    run(&mut st, 0, 1);
    run(&mut st, 2, 2);
    st.slots[3] = SlotState::Starting(Box::new(starting(3)));
    queue(&mut st, 2, 4);
    let ended = st.launcher_gone(&[2, 3], &lost::Gone::Node("node2".into()));
    assert_eq!(ended.len(), 1);
    assert_eq!((ended[0].slot, ended[0].attempt.task.seq), (2, 2));
    assert_eq!(ended[0].attempt.cut, Some(Cut::Lost));
    let again: Vec<u64> = st.retry.iter().map(|p| p.task.seq).collect();
    assert_eq!(again, [3, 4], "the starting and the waiting task run again, before any other");
    assert_eq!((st.summary.not_run, st.phase.stop()), (0, None), "the run goes on");
    assert_eq!(st.dead, [false, false, true, true]);
    assert_eq!(st.summary.lost_nodes, ["node2"]);
    assert!(matches!(st.fx.take().as_slice(), [Effect::Warn(w)] if w.contains("node node2 was lost")));
    // The last node lost: the run stops.
    st.launcher_gone(&[0, 1], &lost::Gone::Node("node1".into()));
    assert_eq!(st.phase.stop(), Some(Stop::Error));
    assert!(format!("{:#}", st.deferred.unwrap()).contains("every node was lost"));
}

#[test]
fn halt_now_stops_the_running_tasks_and_withdraws_the_waiting_requests() {
    let halt: Halt = "now,fail=1".parse().unwrap();
    let mut st = state(2);
    run(&mut st, 0, 1);
    run(&mut st, 1, 2);
    queue(&mut st, 1, 3);
    st.tally.failed = 1;
    st.check_halt(Ended::Exited(1), &halt, 0, &seq(), || "job".into());
    let fx = st.fx.take();
    assert_eq!(st.phase.stop(), Some(Stop::Halt(1)));
    assert_eq!(withdrawn(&fx), [1]);
    assert_eq!(signals(&fx), [(1000, TERM), (1001, TERM)]);
    assert_eq!(st.phase.teardown(), Some(TERM));
    assert!(said(&fx).contains("killing the running ones"), "{}", said(&fx));
    // Once stopped, later ends do not fire it again.
    st.check_halt(Ended::Exited(1), &halt, 0, &seq(), || "job".into());
    assert!(st.fx.take().is_empty());
}

#[test]
fn halt_soon_lets_the_running_tasks_finish() {
    let halt: Halt = "soon,fail=1".parse().unwrap();
    let mut st = state(2);
    run(&mut st, 0, 1);
    st.tally.failed = 1;
    st.check_halt(Ended::Exited(3), &halt, 0, &seq(), || "job".into());
    // fail=1 exits with the failed task's status, as GNU parallel does.
    assert_eq!(st.phase.stop(), Some(Stop::Halt(3)));
    assert!(signals(&st.fx.take()).is_empty());
    assert_eq!(running(&st, 0).cut, None);
}

#[test]
fn halt_soon_names_each_counted_job_as_gnu_and_how_many_still_run() {
    let halt: Halt = "soon,fail=2".parse().unwrap();
    let mut st = state(3);
    run(&mut st, 0, 1);
    run(&mut st, 1, 2);
    // A failure before the rule fires is named; a success it does not count is not.
    st.tally.failed = 1;
    st.check_halt(Ended::Exited(1), &halt, 0, &seq(), || "job a".into());
    assert_eq!(gnu(st.fx.take()), ["parallel: This job failed:\njob a"]);
    st.check_halt(Ended::Exited(0), &halt, 0, &seq(), || unreachable!("not named"));
    assert!(st.fx.take().is_empty());
    // The second fires it: named, then the jobs still running.
    st.tally.failed = 2;
    st.check_halt(Ended::Exited(1), &halt, 0, &seq(), || "job b".into());
    let fx = st.fx.take();
    assert!(said(&fx).contains("--halt soon,fail=2 reached"), "{}", said(&fx));
    assert_eq!(
        gnu(fx),
        ["parallel: This job failed:\njob b\nparallel: Starting no more jobs. Waiting for 2 jobs to finish."]
    );
    // After it fired: GNU's lines for each failure, hrun's line not again.
    st.slots[0] = SlotState::Free;
    st.tally.failed = 3;
    st.check_halt(Ended::Signaled(9), &halt, 0, &seq(), || "job c".into());
    let fx = st.fx.take();
    assert!(said(&fx).is_empty(), "{}", said(&fx));
    assert_eq!(
        gnu(fx),
        ["parallel: This job failed:\njob c\nparallel: Starting no more jobs. Waiting for 1 jobs to finish."]
    );
}

#[test]
fn the_deadline_with_tasks_running_stops_them_for_resume_and_keeps_an_earlier_reason() {
    let mut st = state(2);
    run(&mut st, 0, 1);
    st.deadline_passed("the job's end", &seq());
    let fx = st.fx.take();
    assert_eq!(st.phase.stop(), Some(Stop::Deadline));
    assert_eq!(signals(&fx), [(1000, TERM)]);
    assert_eq!(running(&st, 0).cut, Some(Cut::Cancelled), "cancelled: --resume runs it again");
    assert!(said(&fx).contains("the job's end reached: stopping 1 running task"), "{}", said(&fx));
    // A run already stopped by a signal keeps that reason (and its exit status).
    let mut st = state(1);
    run(&mut st, 0, 1);
    st.on_signal(libc::SIGHUP, &seq());
    st.deadline_passed("the job's end", &seq());
    assert_eq!(st.phase.stop(), Some(Stop::Signal(libc::SIGHUP)));
}

#[test]
fn a_timeout_terms_then_kills_after_the_grace_and_frees_the_request_behind_it() {
    let mut st = state(1);
    let t0 = Instant::now();
    let mut r = starting(1).started(0, 1000, crate::sys::stamp_now(), t0);
    r.deadline = Some(t0 + Duration::from_secs(5));
    st.now_running(0, r, &seq());
    queue(&mut st, 0, 2);
    assert!(st.on_clock(t0 + Duration::from_secs(4), &seq()).is_empty());
    assert!(st.fx.take().is_empty(), "nothing due before the timeout");
    st.on_clock(t0 + Duration::from_secs(5), &seq());
    let fx = st.fx.take();
    assert_eq!(signals(&fx), [(1000, TERM)]);
    assert_eq!(withdrawn(&fx), [0], "the request behind a failing task is withdrawn");
    assert_eq!(running(&st, 0).cut, Some(Cut::TimedOut));
    st.on_clock(t0 + Duration::from_secs(6), &seq());
    assert!(st.fx.take().is_empty(), "within the grace");
    st.on_clock(t0 + Duration::from_secs(7), &seq());
    assert_eq!(signals(&st.fx.take()), [(1000, KILL)]);
    st.on_clock(t0 + Duration::from_secs(60), &seq());
    assert!(st.fx.take().is_empty(), "killed: only waited for");
}

fn linger(st: &mut RunState, slot: usize, until: Instant, awaiting: Option<i32>) {
    let attempt = starting(slot as u64 + 1).started(slot, 1000, crate::sys::stamp_now(), Instant::now());
    let reaped = Reaped { pid: 1000, ended: Ended::Signaled(TERM), rusage: Default::default() };
    st.slots[slot] =
        SlotState::Lingering(Box::new(Lingering { attempt, reaped, ended: Instant::now(), until, awaiting }));
}

#[test]
fn lingering_leftovers_are_due_at_their_time_not_before() {
    let mut st = state(2);
    let now = Instant::now();
    linger(&mut st, 0, now + Duration::from_secs(1), None);
    linger(&mut st, 1, now + Duration::from_secs(3), None);
    assert!(st.on_clock(now, &seq()).is_empty());
    assert_eq!(st.on_clock(now + Duration::from_secs(2), &seq()), [0]);
    assert_eq!(st.on_clock(now + Duration::from_secs(3), &seq()), [0, 1]);
    assert!(st.fx.take().is_empty(), "the shell kills the leftovers it finds");
}

#[test]
fn a_step_wide_signal_that_killed_a_task_just_before_hrun_got_it_cancels_that_task() {
    let mut st = state(2);
    linger(&mut st, 0, Instant::now() + Duration::from_millis(250), Some(TERM));
    linger(&mut st, 1, Instant::now() + Duration::from_millis(250), Some(libc::SIGINT));
    st.on_signal(TERM, &seq());
    let cut = |s: &SlotState| match s {
        SlotState::Lingering(l) => l.attempt.cut,
        _ => panic!(),
    };
    assert_eq!(cut(&st.slots[0]), Some(Cut::Cancelled), "died of the TERM that hit the whole step");
    assert_eq!(cut(&st.slots[1]), None, "died of another signal: a failure");
    assert!(signals(&st.fx.take()).is_empty(), "nothing running to signal");
}

#[test]
fn a_transient_spawn_failure_requeues_the_task_with_a_doubling_backoff_and_fewer_at_once() {
    let mut st = state(4);
    run(&mut st, 0, 1);
    run(&mut st, 1, 2);
    let now = Instant::now();
    st.start_refused(starting(3), libc::EAGAIN, now, Some(64));
    assert_eq!(st.retry.front().map(|p| (p.task.seq, p.announced)), Some((3, true)));
    assert_eq!(st.backoff, Some((now + Duration::from_millis(10), Duration::from_millis(10))));
    assert_eq!(st.at_once, Some(1), "half of the two running");
    assert!(!st.stopped(), "not fatal");
    let fx = st.fx.take();
    assert!(
        said(&fx).contains("cannot start task 3 now") && said(&fx).contains("ulimit -u 64"),
        "{}",
        said(&fx)
    );
    st.retry.clear();
    st.start_refused(starting(3), libc::EAGAIN, now, Some(64));
    assert_eq!(st.backoff.map(|(_, w)| w), Some(Duration::from_millis(20)));
    assert!(!said(&st.fx.take()).contains("cannot start task"), "said once");
    let mut waits = vec![backoff(None)];
    for _ in 0..10 {
        waits.push(backoff(waits.last().copied()));
    }
    let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]);
}

#[test]
fn a_kernel_that_refuses_every_start_for_long_with_nothing_running_stops_the_run() {
    let mut st = state(1);
    let t0 = Instant::now();
    st.start_refused(starting(1), libc::EAGAIN, t0, None);
    assert!(!st.stopped());
    st.retry.clear();
    st.start_refused(starting(1), libc::EAGAIN, t0 + REFUSED_FOR, None);
    assert_eq!(st.phase.stop(), Some(Stop::Error));
    assert!(format!("{:#}", st.deferred.unwrap()).contains("refused to start any task for 10s"));
}

#[test]
fn stdout_closed_starts_nothing_new_and_lets_the_running_finish() {
    let mut st = state(1);
    run(&mut st, 0, 1);
    queue(&mut st, 0, 2);
    st.output_closed();
    let fx = st.fx.take();
    assert_eq!(st.phase.stop(), Some(Stop::OutputClosed));
    assert!(signals(&fx).is_empty());
    assert_eq!(withdrawn(&fx), [0]);
    assert!(said(&fx).contains("1 running will finish"));
}

#[test]
fn a_prefetching_launchers_events_promote_the_waiting_request_or_give_it_back() {
    // The launcher reaped slot 0's task and started the waiting request at once: its
    // report of the end comes first, then the new task's pid.
    let mut st = state(1);
    run(&mut st, 0, 1);
    queue(&mut st, 0, 2);
    st.slots[0] = SlotState::Free; // the end, recorded by the shell
    st.by_pid.remove(&1000);
    st.promote(0);
    let SlotState::Starting(s) = std::mem::replace(&mut st.slots[0], SlotState::Free) else {
        panic!("the waiting request is the slot's starting task")
    };
    assert_eq!(s.task.seq, 2);
    assert!(st.queued[0].is_none());
    st.now_running(0, s.started(0, 1002, crate::sys::stamp_now(), Instant::now()), &seq());
    assert_eq!(st.by_pid.get(&1002), Some(&0));
    // Its task failed: the launcher gives the waiting request back, to go first.
    queue(&mut st, 0, 3);
    st.given_back(0);
    assert_eq!(st.retry.iter().map(|p| p.task.seq).collect::<Vec<_>>(), [3]);
    // A withdrawal answered after it started: nothing waits any more, nothing is lost.
    st.given_back(0);
    assert_eq!(st.retry.len(), 1);
    assert_eq!(st.summary.attempts, 2);
}

#[test]
fn a_request_sent_ahead_that_came_after_its_slots_task_ended_starts_late() {
    // The launcher reported task 1's end before hrun's request for task 2 reached it; task 1
    // ended cleanly, so the launcher started task 2 at once and says so with its pid.
    let mut st = state(2);
    run(&mut st, 0, 1);
    queue(&mut st, 0, 2);
    assert!(!st.started_late(0), "while task 1 runs, the request only waits");
    assert!(st.queued[0].is_some());
    st.slots[0] = SlotState::Free; // task 1 recorded
    assert!(st.started_late(0));
    let SlotState::Starting(s) = &st.slots[0] else { panic!("the request is the slot's starting task") };
    assert_eq!(s.task.seq, 2);
    assert!(st.queued[0].is_none());
    // Withdrawn meanwhile (the run stopped): starting first answers the withdrawal.
    run(&mut st, 1, 3);
    queue(&mut st, 1, 4);
    st.withdraw_all();
    assert_eq!(withdrawn(&st.fx.take()), [1]);
    st.slots[1] = SlotState::Free;
    assert!(st.started_late(1));
    assert!(st.queued[1].is_none() && st.retry.is_empty(), "nothing waits, nothing is run twice");
    // A free slot with nothing waiting: nothing to start.
    st.slots[1] = SlotState::Free;
    assert!(!st.started_late(1));
}

fn end_of(slot: usize, seq: u64, number: u32, fate: Disposition, reaped: Ended) -> TaskEnd {
    TaskEnd {
        slot,
        task: task(seq),
        number,
        fate,
        reaped,
        timed_out: false,
        start_wall: 100.0,
        wall_s: 2.0,
        cpu_s: 1.5,
    }
}

#[test]
fn a_failed_attempt_with_retries_left_runs_again_but_while_stopping_is_left_for_resume() {
    let policy = Policy { retries: 2, ..Policy::default() };
    let mut st = state(1);
    // Attempt 1 of 3 failed, the run goes on: it runs again, after what waits already.
    st.retry.push_back(Pending { task: task(9), number: 1, announced: true });
    let fate = Disposition::of(false, false, 1, policy.retries, st.stopped());
    st.account(end_of(0, 1, 1, fate, Ended::Exited(1)), Instant::now(), 0, &policy, 0);
    assert_eq!(st.retry.iter().map(|p| (p.task.seq, p.number)).collect::<Vec<_>>(), [(9, 1), (1, 2)]);
    assert_eq!((st.summary.tasks, st.summary.failed, st.summary.not_run), (0, 0, 0));
    // Attempt 2 fails while the run stops (a drain): not run again now, nor counted failed.
    st.retry.clear();
    st.on_signal(libc::SIGUSR1, &seq());
    let fate = Disposition::of(false, false, 2, policy.retries, st.stopped());
    assert_eq!(fate, Disposition::LeftForResume);
    st.account(end_of(0, 1, 2, fate, Ended::Exited(1)), Instant::now(), 0, &policy, 0);
    assert!(st.retry.is_empty());
    assert_eq!((st.summary.failed, st.summary.not_run), (0, 1));
    // Its time counts either way: 2 attempts of 2 s.
    assert_eq!(st.summary.busy_s, 4.0);
}

#[test]
fn a_failure_on_the_last_attempt_is_counted_named_and_may_fire_halt() {
    let policy = Policy { halt: "soon,fail=2".parse().unwrap(), ..Policy::default() };
    let mut st = state(2);
    for (seq, ended) in [(1, Ended::Exited(3)), (2, Ended::Signaled(libc::SIGSEGV))] {
        let fate = Disposition::of(false, false, 1, 0, st.stopped());
        st.account(end_of(0, seq, 1, fate, ended), Instant::now(), 0, &policy, 0);
    }
    let how: Vec<_> = st.summary.failures.iter().map(|f| (f.seq, f.how.as_str())).collect();
    assert_eq!(how, [(1, "exit 3"), (2, "SIGSEGV")]);
    assert_eq!((st.summary.tasks, st.summary.failed, st.tally.failed), (2, 2, 2));
    assert!(matches!(st.phase.stop(), Some(Stop::Halt(_))), "the second failure fires fail=2");
    assert!(said(&st.fx.take()).contains("--halt soon,fail=2 reached"));
    // A success is counted, and its runtime joins the median for --timeout N%.
    let mut st = state(1);
    st.account(end_of(0, 1, 1, Disposition::Succeeded, Ended::Exited(0)), Instant::now(), 3, &policy, 0);
    assert_eq!(
        (st.tally.succeeded, st.median.count(), st.summary.leaked, st.summary.leaked_processes),
        (1, 1, 1, 3)
    );
    assert!(st.freed_at[0].is_some(), "the slot is free from the task's end");
}

#[test]
fn a_request_too_large_fails_that_task_alone_naming_the_limit_and_a_lost_launcher_stops_the_run() {
    use crate::sys::When;
    let mut st = state(2);
    let big = std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        crate::sys::TooLarge { size: 300_000, capacity: 212_992 },
    );
    let (refused, why) =
        st.sent(0, Box::new(starting(1)), When::Now, Err(big)).expect("the task fails alone");
    assert_eq!(refused.task.seq, 1);
    assert!(why.contains("300000 bytes") && why.contains("212992 bytes") && why.contains("work 1"), "{why}");
    assert!(!st.stopped() && matches!(st.slots[0], SlotState::Free));
    let e2big = std::io::Error::from_raw_os_error(libc::E2BIG);
    let (_, why) = st.sent(0, Box::new(starting(2)), When::Now, Err(e2big)).expect("fails alone");
    assert!(why.contains("too long for the kernel"), "{why}");
    // Sent: the slot is starting it, or it waits behind the slot's task.
    assert!(st.sent(0, Box::new(starting(3)), When::Now, Ok(())).is_none());
    assert!(matches!(st.slots[0], SlotState::Starting(_)));
    assert!(st.sent(0, Box::new(starting(4)), When::AfterExit, Ok(())).is_none());
    assert!(st.queued[0].is_some());
    // A launcher that cannot be asked at all: the run stops; the task was not run.
    let gone = std::io::Error::from_raw_os_error(libc::EPIPE);
    assert!(st.sent(1, Box::new(starting(5)), When::Now, Err(gone)).is_none());
    assert_eq!((st.phase.stop(), st.summary.not_run), (Some(Stop::Error), 1));
    assert!(format!("{:#}", st.deferred.unwrap()).contains("cannot ask a launcher to start task 5"));
}

#[test]
fn the_run_phase_moves_one_way_and_a_tear_down_keeps_its_signal_when_the_reason_changes() {
    let mut st = state(2);
    assert!(st.phase.more_input() && !st.stopped());
    // The input ends: no more input, not stopped; the run ends when the slots are empty.
    st.phase = RunPhase::InputDone;
    assert!(!st.phase.more_input() && !st.stopped());
    run(&mut st, 0, 1);
    // SIGUSR1 drains (nothing signalled), then the deadline tears down what runs.
    st.on_signal(libc::SIGUSR1, &seq());
    assert_eq!(st.phase, RunPhase::Stopping(Stop::Drain));
    assert_eq!(st.phase.teardown(), None);
    st.deadline_passed("the job's end", &seq());
    assert_eq!(st.phase, RunPhase::TearingDown { stop: Stop::Deadline, sig: TERM });
    // A later error changes why the run stopped, not the signal a late start gets.
    st.stop_with(anyhow::anyhow!("the log cannot be written"));
    assert_eq!(st.phase, RunPhase::TearingDown { stop: Stop::Error, sig: TERM });
    assert!(!st.phase.more_input());
    st.fx.take();
    st.slots[1] = SlotState::Starting(Box::new(starting(2)));
    let SlotState::Starting(s) = std::mem::replace(&mut st.slots[1], SlotState::Free) else { panic!() };
    st.now_running(1, s.started(1, 1001, crate::sys::stamp_now(), Instant::now()), &seq());
    assert_eq!(signals(&st.fx.take()), [(1001, TERM)]);
}

#[test]
fn a_running_task_is_looked_at_for_re_pinning_after_a_second_then_less_often_and_named_once() {
    let mut st = state(2);
    run(&mut st, 0, 1);
    let start = running(&st, 0).start;
    assert_eq!(st.affinity_wake(), Some(start + Duration::from_secs(1)));
    assert!(st.affinity_due(start).is_empty(), "not before a second");
    let t1 = start + Duration::from_secs(1);
    assert_eq!(st.affinity_due(t1), [(0, 1000)]);
    assert_eq!(st.affinity_wake(), Some(t1 + Duration::from_secs(2)), "then twice as long");
    assert!(st.affinity_due(t1 + Duration::from_secs(1)).is_empty());
    let slot: crate::cpuset::CpuSet = "0".parse().unwrap();
    st.repinned(0, "1".parse().unwrap(), &slot);
    st.repinned(0, "1".parse().unwrap(), &slot);
    assert_eq!(st.summary.repinned_tasks, 1, "named once");
    assert_eq!(st.summary.repinned[0].name, "task 1 (line 1)");
    assert_eq!(st.affinity_wake(), None, "not looked at again");
}
