//! Blocks dealt to long-lived jobs: `--round-robin` (one job per slot, each block to the job
//! that has taken its last one), `--tee` (the whole input to one job per value) and
//! `--remove-rec-sep`, against GNU parallel 20221122 where
//! GNU is deterministic: the totals, one job, blocks small enough to be written at once.

use std::process::Stdio;

use crate::harness::*;
use crate::pipe::{SHOW, fed, same, seq};

/// Sum of the numbers `wc -l` printed, and how many it printed.
fn totals(out: &str) -> (u64, usize) {
    let n: Vec<u64> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
    (n.iter().sum(), n.len())
}

#[test]
fn round_robin_deals_every_record_to_at_most_one_job_per_slot() {
    let sb = Sandbox::new();
    let input = seq(200_000);
    let args = ["-j2", "--pipe", "--round-robin", "--block", "10k", "wc", "-l"];
    let h = fed(sb.exec().args(args), &input);
    assert_eq!(h.status.code(), Some(0), "{}", stderr(&h));
    assert_eq!(totals(&stdout(&h)), (200_000, 2), "{}", stdout(&h));
    if let Some(mut gnu) = gnu_parallel() {
        let g = fed(gnu.current_dir(sb.root()).args(args), &input);
        assert_eq!(totals(&stdout(&g)), totals(&stdout(&h)));
    }
    // Each job a task in the log, its command as given.
    let (_, tasks) = sb.log();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(tasks.iter().all(|t| t["cmd"] == "wc -l" && t["exit"] == 0), "{tasks:?}");
}

#[test]
fn round_robin_output_is_gnus_where_gnu_is_deterministic() {
    let sb = Sandbox::new();
    // One job: every block to it.
    same(&sb, &["-j1", "--pipe", "--round-robin", "--block", "1k", "-k", "wc", "-l"], &seq(10_000));
    // Fewer blocks than slots: one job per block; none for nothing.
    same(&sb, &["-j4", "--pipe", "--round-robin", "-k", "echo x; wc -l"], &seq(3));
    same(&sb, &["-j4", "--pipe", "--round-robin", "-k", "echo x; wc -l"], b"");
    // Small blocks are written at once: dealt 1, 2, 1, 2 with the header once per job.
    same(&sb, &["-j2", "--pipe", "--round-robin", "--header", "1", "-N1", "-k", "cat"], b"h\n1\n2\n3\n");
    same(&sb, &["-j3", "--pipe", "--round-robin", "-N2", "-k", SHOW], &seq(20));
    // --pipepart --round-robin is one block per slot, whatever --block says.
    std::fs::write(sb.path("in.txt"), seq(5000)).unwrap();
    same(
        &sb,
        &["-j2", "--pipepart", "--round-robin", "--block", "1k", "-a", "in.txt", "-k", "wc", "-l"],
        b"",
    );
}

#[test]
fn a_round_robin_job_that_stops_reading_gets_no_more_blocks() {
    let sb = Sandbox::new();
    let out = fed(
        sb.exec().args(["-j2", "--pipe", "--round-robin", "--block", "10k", "-k", "head", "-1"]),
        &seq(300_000),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The second job's first line is its first block's, which depends on timing.
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!((lines.len(), lines[0].as_str()), (2, "1"), "{lines:?}");
}

#[test]
fn round_robin_is_refused_where_it_cannot_apply() {
    let sb = Sandbox::new();
    for (args, needle) in [
        (vec!["--round-robin", "echo", ":::", "a"], "--round-robin applies to blocks of input"),
        (vec!["--rrs", "echo", ":::", "a"], "--remove-rec-sep applies to blocks of input"),
        (vec!["--pipe", "--round-robin", "--cat", "wc"], "--round-robin with --cat/--fifo"),
    ] {
        let out = run(sb.exec().args(&args).stdin(Stdio::null()));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn remove_rec_sep_takes_the_separators_out_as_gnu() {
    let sb = Sandbox::new();
    let fasta = b">r1\nACGT\n>r2\nGG\nTT\n>r3\nA\n";
    same(&sb, &["--pipe", "--rrs", "-N1", "-k", SHOW], b"a\nb\nc\n");
    same(&sb, &["--pipe", "--rrs", "--recend", "b", "-k", SHOW], b"a\nb\nc\n");
    same(&sb, &["--pipe", "--rrs", "--recstart", ">", "-N1", "-k", SHOW], fasta);
    same(
        &sb,
        &["--pipe", "--remove-rec-sep", "--recstart", ">", "--recend", "\\n", "-N2", "-k", SHOW],
        fasta,
    );
    same(&sb, &["--pipe", "--rrs", "--regexp", "--recstart", "[>@]", "-N1", "-k", SHOW], b">a\nx\n@b\ny\n");
    // As GNU: --pipepart's blocks keep their separators (each job reads the file itself).
    std::fs::write(sb.path("in.fa"), fasta).unwrap();
    same(&sb, &["--pipepart", "--rrs", "--recstart", ">", "--block", "10", "-a", "in.fa", "-k", SHOW], b"");
    same(&sb, &["-j1", "--pipe", "--round-robin", "--rrs", "-N1", "-k", SHOW], &seq(5));
}

#[test]
fn tee_gives_the_whole_input_to_one_job_per_value_as_gnu() {
    let sb = Sandbox::new();
    same(&sb, &["-j3", "--pipe", "--tee", "-k", "echo {}; grep -c {}", ":::", "1", "2", "3"], &seq(10));
    same(&sb, &["-j2", "--pipe", "--tee", "-k", "echo {} {#}; wc -l", ":::", "a b", "c"], &seq(300_000));
    same(&sb, &["-j2", "--pipe", "--tee", "-k", "wc", "-l", ":::", "1", "2"], b"");
    // One job per value, each a task in the log with its own command.
    let out = fed(sb.exec().args(["-j2", "--pipe", "--tee", "-k", "grep", "{}", ":::", "1", "2"]), &seq(10));
    assert_eq!(stdout(&out), "1\n10\n2\n", "{}", stderr(&out));
    let (_, tasks) = sb.log();
    let mut cmds: Vec<&str> =
        tasks.iter().filter_map(|t| t["cmd"].as_str()).filter(|c| c.starts_with("grep")).collect();
    cmds.sort();
    assert_eq!(cmds, ["grep 1", "grep 2"]);
}

#[test]
fn tee_is_refused_without_values_or_slots_for_them() {
    let sb = Sandbox::new();
    for (args, needle) in [
        (vec!["--pipe", "--tee", "wc"], "--tee gives the whole input to one job per value"),
        (vec!["-j2", "--pipe", "--tee", "wc", ":::", "a", "b", "c"], "3 values need -j 3"),
        (vec!["--tee", "echo", ":::", "a"], "--tee applies to blocks of input"),
    ] {
        let out = run(sb.exec().args(&args).stdin(Stdio::null()));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}
