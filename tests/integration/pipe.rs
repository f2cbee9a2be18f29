//! `--pipe` and `--pipepart` against the oracle: GNU parallel 20221122 and `hrun exec` split
//! the same input with the same arguments, and the outputs are compared byte for byte (with
//! `-k`, so the order is the blocks'). Then what hrun adds: each block a task in the log with
//! its offset and length, nothing spooled left behind, `--resume` refused for a stream and
//! honoured for a file.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::harness::*;

/// Runs `cmd` with `input` on its standard input.
pub(crate) fn fed(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A writer thread: the reader may not read everything before the writer is done.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// hrun's and GNU's standard output for the same words and input; None without GNU.
pub(crate) fn both(sb: &Sandbox, args: &[&str], input: &[u8]) -> Option<(String, String)> {
    let mut gnu = gnu_parallel()?;
    let g = fed(gnu.current_dir(sb.root()).args(args), input);
    let h = fed(sb.exec().args(args), input);
    assert!(g.status.success(), "GNU {args:?}: {}", stderr(&g));
    assert_eq!(h.status.code(), Some(0), "hrun {args:?}: {}", stderr(&h));
    Some((stdout(&h), stdout(&g)))
}

pub(crate) fn same(sb: &Sandbox, args: &[&str], input: &[u8]) {
    if let Some((h, g)) = both(sb, args, input) {
        assert!(!g.is_empty() || input.is_empty(), "{args:?}: GNU printed nothing");
        assert_eq!(h, g, "{args:?}");
    }
}

pub(crate) fn seq(n: u32) -> Vec<u8> {
    (1..=n).map(|i| format!("{i}\n")).collect::<String>().into_bytes()
}

/// Shows each block whole, and where it ends.
pub(crate) const SHOW: &str = "cat; echo '|'";

#[test]
fn blocks_of_lines_are_cut_where_gnu_cuts_them() {
    let sb = Sandbox::new();
    same(&sb, &["-j2", "--pipe", "--block", "10k", "-k", "wc", "-l"], &seq(100_000));
    same(&sb, &["-j2", "--pipe", "-k", "wc", "-l"], &seq(300_000));
    same(&sb, &["-j2", "--pipe", "--block", "100", "-k", SHOW], &seq(200));
}

#[test]
fn records_of_n_lines_and_n_records() {
    let sb = Sandbox::new();
    same(&sb, &["-j2", "--pipe", "-L", "4", "--block", "30", "-k", SHOW], &seq(50));
    same(&sb, &["-j2", "--pipe", "-L", "3", "-k", SHOW], &seq(10));
    let fasta: String = (1..=30).map(|i| format!(">seq{i}\nACGT{i}\nTT\n")).collect();
    same(&sb, &["-j2", "--pipe", "--recstart", ">", "-N", "4", "-k", SHOW], fasta.as_bytes());
}

#[test]
fn record_starts_and_ends_of_our_choosing() {
    let sb = Sandbox::new();
    let fasta: String = (1..=40).map(|i| format!(">seq{i}\nACGT{i}\n")).collect();
    same(&sb, &["-j2", "--pipe", "--recstart", ">", "--block", "50", "-k", SHOW], fasta.as_bytes());
    let semis: String = (1..=60).map(|i| format!("rec{i};")).collect();
    same(&sb, &["-j2", "--pipe", "--recend", ";", "--block", "40", "-k", SHOW], semis.as_bytes());
    same(
        &sb,
        &["-j2", "--pipe", "--recend", "\\n", "--recstart", ">", "--block", "60", "-k", SHOW],
        fasta.as_bytes(),
    );
}

#[test]
fn awkward_input_empty_unterminated_and_a_record_longer_than_the_block() {
    let sb = Sandbox::new();
    same(&sb, &["--pipe", "-k", "wc", "-c"], b"");
    same(&sb, &["-j2", "--pipe", "--block", "5", "-k", SHOW], b"a\nbb\nccc\ndddd");
    let long = format!("short\n{}\nafter\n", "x".repeat(1000));
    same(&sb, &["-j2", "--pipe", "--block", "10", "-k", SHOW], long.as_bytes());
    // hrun says so on standard error, as GNU does.
    let out = fed(sb.exec().args(["--pipe", "--block", "10", "-k", "wc", "-c"]), long.as_bytes());
    assert!(stderr(&out).contains("a record was longer than 10 bytes"), "{}", stderr(&out));
}

#[test]
fn pipepart_blocks_are_found_by_seeking_as_gnu_finds_them() {
    let sb = Sandbox::new();
    sb.write("big.txt", seq(200_000));
    same(&sb, &["-j2", "--pipepart", "-a", "big.txt", "--block", "100k", "-k", "wc", "-c"], b"");
    same(&sb, &["-j2", "--pipepart", "--block", "-3", "-k", "wc", "-l", "::::", "big.txt"], b"");
    same(&sb, &["-j2", "--pipepart", "-a", "big.txt", "-k", "wc", "-l"], b"");
    sb.write("odd.txt", b"a\nbb\nccc\ndddd");
    same(&sb, &["-j2", "--pipepart", "-a", "odd.txt", "--block", "3", "-k", SHOW], b"");
    let fasta: String = (1..=50).map(|i| format!(">seq{i}\nACGT{i}\n")).collect();
    sb.write("f.fa", &fasta);
    same(&sb, &["-j2", "--pipepart", "-a", "f.fa", "--recstart", ">", "--block", "70", "-k", SHOW], b"");
}

#[test]
fn each_block_is_a_task_in_the_log_with_its_range_and_no_spool_is_left() {
    let sb = Sandbox::new();
    let spool = sb.path("tmp");
    std::fs::create_dir(&spool).unwrap();
    let input = seq(1000);
    let out =
        fed(sb.exec().env("TMPDIR", &spool).args(["--pipe", "--block", "1k", "-k", "wc", "-c"]), &input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let counts: Vec<u64> = stdout(&out).lines().map(|l| l.trim().parse().unwrap()).collect();
    let (_, tasks) = sb.log();
    assert_eq!(tasks.len(), counts.len());
    let mut at = 0;
    for (t, c) in tasks.iter().zip(&counts) {
        assert_eq!(t["block_offset"].as_u64(), Some(at), "{t}");
        assert_eq!(t["block_bytes"].as_u64(), Some(*c), "{t}");
        assert_eq!(t["cmd"], "wc -c");
        at += c;
    }
    assert_eq!(at, input.len() as u64);
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0, "spool files left behind");
}

#[test]
fn failures_timeouts_and_halt_apply_to_block_tasks() {
    let sb = Sandbox::new();
    // The block holding 3 fails; --halt now stops the rest.
    let out = fed(
        sb.exec().args([
            "-j1",
            "--pipe",
            "-L",
            "1",
            "--block",
            "2",
            "--halt",
            "now,fail=1",
            "grep -qv '^3$'",
        ]),
        &seq(9),
    );
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, tasks) = sb.log();
    assert_eq!(tasks.last().unwrap()["exit"], 1, "{tasks:?}");
    assert_eq!(tasks.len(), 3, "halted after the failing block: {tasks:?}");
}

#[test]
fn a_retried_block_reads_the_same_block_again() {
    let sb = Sandbox::new();
    // Each block's first attempt fails after reading its block; the retry must see it whole.
    let cmd = "if [ -e tried-$PARALLEL_SEQ ]; then wc -l; else touch tried-$PARALLEL_SEQ; cat >/dev/null; exit 1; fi";
    let out =
        fed(sb.exec().args(["-j2", "--pipe", "--block", "2k", "--retries", "2", "-k", cmd]), &seq(3000));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let counts: Vec<u64> = stdout(&out).lines().map(|l| l.trim().parse().unwrap()).collect();
    assert!(counts.len() > 5, "{counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 3000);
    let (_, tasks) = sb.log();
    assert_eq!(tasks.len(), 2 * counts.len(), "two attempts per block");
}

#[test]
fn emit_tasks_is_refused_for_blocks() {
    let sb = Sandbox::new();
    let out = fed(sb.exec().args(["--pipe", "--emit-tasks", "t.txt", "wc", "-l"]), b"1\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("a task file cannot hold"), "{}", stderr(&out));
    assert!(!sb.path("t.txt").exists());
}

#[test]
fn resume_is_refused_for_a_stream_and_done_for_a_file() {
    let sb = Sandbox::new();
    let out = fed(sb.exec().args(["--pipe", "--resume", "wc", "-l"]), b"1\n2\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--pipepart -a FILE"), "{}", stderr(&out));
    sb.write("big.txt", seq(5000));
    let args = ["--pipepart", "-a", "big.txt", "--block", "4k", "-k", "wc", "-l"];
    let first = run(sb.exec().args(args).stdin(Stdio::null()));
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let lines: u64 = stdout(&first).lines().map(|l| l.trim().parse::<u64>().unwrap()).sum();
    assert_eq!(lines, 5000);
    let again = run(sb.exec().arg("--resume").args(args).stdin(Stdio::null()));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again), "", "every block ran already");
}

#[test]
fn block_options_without_pipe_are_refused() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["--block", "1M", "echo", ":::", "a"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--block applies to blocks of input"), "{}", stderr(&out));
    let out = run(sb.exec().args(["--pipepart", "wc", "-l"]).stdin(Stdio::null()));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("-a FILE"), "{}", stderr(&out));
}

#[test]
fn the_header_is_put_before_every_block() {
    let sb = Sandbox::new();
    let csv: String =
        std::iter::once("name,value\n".to_string()).chain((1..=40).map(|i| format!("r{i},{i}\n"))).collect();
    sb.write("t.csv", &csv);
    for header in [":", "2"] {
        same(&sb, &["-j2", "--pipe", "--header", header, "--block", "40", "-k", SHOW], csv.as_bytes());
        same(
            &sb,
            &["-j2", "--pipepart", "-a", "t.csv", "--header", header, "--block", "40", "-k", SHOW],
            b"",
        );
    }
    // Only a header: no block, no job.
    if let Some((h, g)) = both(&sb, &["--pipe", "--header", ":", "-k", SHOW], b"name,value\n") {
        assert_eq!((h.as_str(), g.as_str()), ("", ""));
    }
}

#[test]
fn cat_and_fifo_name_the_block_with_braces() {
    let sb = Sandbox::new();
    let spool = sb.path("tmp");
    std::fs::create_dir(&spool).unwrap();
    sb.write("big.txt", seq(30_000));
    for how in ["--cat", "--fifo"] {
        same(&sb, &["-j2", "--pipe", how, "--block", "20k", "-k", "wc -l < {}"], &seq(30_000));
        same(
            &sb,
            &[
                "-j2",
                "--pipepart",
                "-a",
                "big.txt",
                "--header",
                ":",
                how,
                "--block",
                "20k",
                "-k",
                "cat {} | wc -c",
            ],
            b"",
        );
        // Without {}, the name is appended, as GNU appends it.
        let out = fed(
            sb.exec().env("TMPDIR", &spool).args(["--pipe", how, "--block", "20k", "-k", "wc", "-l"]),
            &seq(30_000),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let total: u64 =
            stdout(&out).lines().map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap()).sum();
        assert_eq!(total, 30_000, "{how}: {}", stdout(&out));
        assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0, "{how} left files behind");
    }
}

#[test]
fn regexp_record_starts_and_ends_are_patterns() {
    let sb = Sandbox::new();
    let fasta: String = (1..=300).map(|i| format!(">r{i}\n{}\n", "ACGT".repeat(i % 7))).collect();
    let f = fasta.as_bytes();
    // The last separator of each block, a pattern matching several record starts.
    same(&sb, &["-j2", "--pipe", "--regexp", "--recstart", ">r\\d*[05]\\n", "--block", "1k", "-k", SHOW], f);
    // recend and recstart both patterns; -N records; -N with -L.
    same(
        &sb,
        &["-j2", "--pipe", "--regexp", "--recend", "[GT]\\n", "--recstart", ">", "-N", "7", "-k", SHOW],
        f,
    );
    same(&sb, &["-j2", "--pipe", "--regex", "--recend", "\\n", "-N", "5", "-L", "3", "-k", SHOW], f);
    // An alternation applies to the pattern only; (?i) as Perl's.
    same(&sb, &["-j2", "--pipe", "--regexp", "--recstart", "(?i)>R1|>r2", "--block", "2k", "-k", SHOW], f);
    // Bytes before the first record start are a record of their own with -N.
    same(
        &sb,
        &["--pipe", "--regexp", "--recstart", "^>", "-N", "1", "-k", SHOW],
        b"junk\nmore\n>a\n1\n>b\n2\n",
    );
    // --recend '' alone: any byte ends a record.
    same(&sb, &["-j2", "--pipe", "--regexp", "--recend", "", "--block", "3k", "-k", "wc", "-c"], f);
    // --pipepart finds its boundaries with the pattern too (GNU's last match in what it read).
    std::fs::write(sb.path("f.fa"), f).unwrap();
    let part = ["-j2", "--pipepart", "-a", "f.fa", "--regexp", "--block", "1k", "-k", SHOW];
    same(&sb, &[&part[..5], &["--recstart", ">r.?.?7"], &part[5..]].concat(), b"");
    same(&sb, &[&part[..5], &["--recend", "[AT]\\n", "--recstart", ">"], &part[5..]].concat(), b"");
    gnu_exec_and_parallel_agree(&sb, &["--pipe", "--regexp", "--recstart", "^>", "-N2", "-k", SHOW], f);
}

#[test]
fn regexp_patterns_hrun_cannot_use_are_refused() {
    let sb = Sandbox::new();
    let out = fed(sb.exec().args(["--pipe", "--regexp", "--recstart", "(?=>)", "cat"]), b"a\n");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--recstart (?=>)") && err.contains("look-around"), "{err}");
    let out = fed(sb.exec().args(["--regexp", "echo", ":::", "a"]), b"");
    assert!(stderr(&out).contains("--regexp applies to blocks of input"), "{}", stderr(&out));
}

/// GNU's `--csv` needs perl's Text::CSV only to read values, which `--pipe` has none of:
/// where the module is not installed, GNU runs with a stand-in that loads (and is never
/// asked to parse).
fn csv_stub(sb: &Sandbox) -> String {
    let dir = sb.path("perl5/Text");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("CSV.pm"), "package Text::CSV;\nsub new { return bless {}, shift }\n1;\n")
        .unwrap();
    sb.path("perl5").display().to_string()
}

fn same_csv(sb: &Sandbox, args: &[&str], input: &[u8]) {
    let Some(mut gnu) = gnu_parallel() else { return };
    let g = fed(gnu.current_dir(sb.root()).env("PERL5LIB", csv_stub(sb)).args(args), input);
    let h = fed(sb.exec().args(args), input);
    assert!(g.status.success(), "GNU {args:?}: {}", stderr(&g));
    assert_eq!(h.status.code(), Some(0), "hrun {args:?}: {}", stderr(&h));
    assert!(!stdout(&g).is_empty(), "{args:?}: GNU printed nothing");
    assert_eq!(stdout(&h), stdout(&g), "{args:?}");
}

#[test]
fn csv_records_keep_newlines_inside_quotes() {
    let sb = Sandbox::new();
    let csv: String = (1..=400)
        .map(|i| {
            if i % 3 == 0 { format!("{i},\"two\nlines {i}\"\n") } else { format!("{i},\"one, \"\"q\"\"\"\n") }
        })
        .collect();
    same_csv(&sb, &["-j2", "--pipe", "--csv", "--block", "500", "-k", SHOW], csv.as_bytes());
    // A record longer than the block; the last one without its newline is a block of its own.
    same_csv(&sb, &["-j2", "--pipe", "--csv", "--block", "3", "-k", SHOW], b"a,\"x\ny\"\nb\nc");
    same_csv(&sb, &["-j2", "--pipe", "--csv", "-k", "wc", "-l"], csv.repeat(500).as_bytes());
}

#[test]
fn pipepart_splits_several_files_one_after_the_other() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("h1.txt"), [b"H1\n".as_slice(), &seq(2000)].concat()).unwrap();
    std::fs::write(sb.path("h2.txt"), [b"H2\n".as_slice(), &seq(300)].concat()).unwrap();
    std::fs::write(sb.path("odd.txt"), b"a\nb\nc").unwrap();
    // Each file's own header before its blocks; --block -N divides the files' size together.
    let two = ["-a", "h1.txt", "-a", "h2.txt"];
    same(
        &sb,
        &[&two[..], &["-j2", "--pipepart", "--header", ":", "--block", "1k", "-k", SHOW]].concat(),
        b"",
    );
    same(&sb, &[&two[..], &["-j3", "--pipepart", "--block", "-2", "-k", "wc", "-l"]].concat(), b"");
    same(&sb, &["-j2", "--pipepart", "-k", SHOW, "::::", "h2.txt", "odd.txt", "h1.txt"], b"");
    gnu_exec_and_parallel_agree(
        &sb,
        &["-j2", "--pipepart", "--block", "-1", "-k", "wc", "-l", "::::", "h1.txt", "h2.txt"],
        b"",
    );
}

#[test]
fn a_longer_record_grows_the_block_with_gnus_warning_as_parallel() {
    let sb = Sandbox::new();
    let input = b"a\nbbbbbbbbbbbbbbbbbbbbbbbbbb\nc\n";
    gnu_exec_and_parallel_agree(&sb, &["--pipe", "--block", "4", "-k", SHOW], input);
    gnu_exec_and_parallel_agree(
        &sb,
        &["--pipe", "--regexp", "--recend", "b\\n", "--block", "3", "-k", SHOW],
        input,
    );
}
