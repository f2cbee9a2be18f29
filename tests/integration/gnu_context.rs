//! Issue 22: GNU parallel's `-X` (context replace), `-m`, `--xargs` (as many values per job as
//! fit in a command line, spread over the slots at the end of the input), `-s`, `-x`,
//! `--max-line-length-allowed`, and `-l`/`-L` (lines per job, a line ending in a blank
//! continuing), each run by GNU, by `hrun exec` and by hrun as `parallel` on the same words and
//! compared byte for byte (standard output and exit status; GNU's standard error too, as
//! `parallel`).

use crate::harness::*;

/// hrun as `parallel` against GNU.
fn same_as_parallel(sb: &Sandbox, args: &[&str], stdin: &[u8]) {
    if let Some(g) = run_gnu(sb, args, stdin) {
        parallel_matches(sb, args, stdin, &g);
    }
}

fn same(sb: &Sandbox, args: &[&str], stdin: &[u8]) {
    gnu_exec_and_parallel_agree(sb, args, stdin);
}

fn lines(range: std::ops::RangeInclusive<u32>) -> Vec<u8> {
    range.map(|i| format!("{i}\n")).collect::<String>().into_bytes()
}

#[test]
fn context_replace_and_multiple_values_with_replacement_strings() {
    let sb = Sandbox::new();
    for opt in ["-X", "-m"] {
        same(&sb, &["-j1", "-k", opt, "echo", "1{}2{.}3", "A{.}B{.}C"], b"foo\nbar\njoe.gif\n");
        same(&sb, &["-j1", "-k", opt, "echo", "pre{}post", "{#}", "x{%}y"], b"a\nb b\nc'd\n");
        same(&sb, &["-j2", "-k", opt, "echo", "pre{}post", ":::", "a", "b", "c"], b"");
        // Several sources: {1} and {2} are the job's first values, {} repeats per value.
        same(&sb, &["-j2", "-k", opt, "echo", "{1}-{2}", ":::", "a", "b", "c", ":::", "d", "e", "f"], b"");
        same(&sb, &["-j2", "-k", opt, "echo", "{}-{.}", ":::", "a.x", "b", "::::", "-"], b"c.y\nd\n");
        // -I names {} otherwise.
        same(&sb, &["-j1", "-k", opt, "-I", "::", "echo", "a::b", "c"], &lines(1..=7));
    }
    same(&sb, &["-j1", "-k", "--xargs", "echo", ":::", "a", "b", "c"], b"");
    same(&sb, &["-j1", "-k", "--xargs", "echo", "<{}>", ":::", "a", "b", "c"], b"");
}

#[test]
fn values_are_spread_over_the_slots_at_the_end_of_input() {
    let sb = Sandbox::new();
    for j in ["-j1", "-j2", "-j3", "-j4", "-j5"] {
        same(&sb, &[j, "-k", "-X", "-s", "100", "echo"], &lines(1..=92));
        same(&sb, &[j, "-k", "-m", "echo", ":::", "1", "2", "3", "4", "5", "6", "7", "8"], b"");
    }
    // --xargs fills lines without spreading; -N is never spread.
    same(&sb, &["-j4", "-k", "--xargs", "-s", "30", "echo"], &lines(1..=30));
    same(&sb, &["-j4", "-k", "-N", "10", "echo"], &lines(1..=19));
}

#[test]
fn max_chars_cuts_lines_as_gnu_measures_them() {
    let sb = Sandbox::new();
    for s in ["10", "11", "25", "40"] {
        for opt in ["-X", "-m", "--xargs"] {
            same(&sb, &["-j1", "-k", opt, "-s", s, "echo", "a{}b"], b"line 1\nline 1\nline 2\nx\ny'z\n");
            same(&sb, &["-j1", "-k", opt, "--max-chars", s, "echo"], &lines(1..=25));
        }
        // -x changes nothing in GNU 20221122: a line too long is an error anyway.
        same(&sb, &["-j1", "-k", "-m", "-x", "-s", s, "echo"], &lines(1..=15));
        // -n and -s together: whichever comes first.
        same(&sb, &["-j1", "-k", "-X", "-n", "3", "-s", s, "echo"], &lines(1..=15));
    }
}

#[test]
fn a_value_too_long_for_the_line_is_gnus_error_after_the_jobs_before_it() {
    let sb = Sandbox::new();
    let input = b"1\n2\n3\n4\n5\n12345\n6\n";
    for opt in ["-X", "-m"] {
        same(&sb, &["-j1", "-k", opt, "-s", "10", "echo"], input);
        same(&sb, &["-j1", "-k", opt, "-s", "10", "echo", ":::", "1", "2", "3", "12345", "4"], b"");
    }
    // As parallel the limit holds for every line (GNU cuts them all), with GNU's message.
    let long = "z".repeat(200_000);
    same_as_parallel(&sb, &["echo"], long.as_bytes());
}

#[test]
fn max_line_length_allowed_prints_gnus_number() {
    let sb = Sandbox::new();
    same(&sb, &["--max-line-length-allowed"], b"");
    same_as_parallel(&sb, &["-k", "--show-limits", "echo", "{}ar"], b"b\nc\n");
    same_as_parallel(&sb, &["-j1", "-kX", "--show-limits", "-s", "100", "echo", "{}ar"], b"b\nc\n");
}

#[test]
fn lines_per_job_with_trailing_blank_continuation() {
    let sb = Sandbox::new();
    let input = b"a_b \nc\nd\ne\nf \n\ng\n";
    for opts in [
        &["-L2"][..],
        &["-L", "1"],
        &["-L0"],
        &["-l"],
        &["-l0"],
        &["-l2"],
        &["--max-lines", "2"],
        &["--max-lines=3"],
        &["-m", "-L2"],
        &["-m", "-l2"],
        &["-r", "-L2"],
        &["-r", "-L2", "-E", "f"],
    ] {
        let mut args = vec!["-k", "-j1"];
        args.extend_from_slice(opts);
        args.extend(["echo", "x{}y"]);
        same(&sb, &args, input);
        args.pop();
        same(&sb, &args, input);
    }
    same(&sb, &["-kr", "-L2", "echo", ":::", "foo", "", "ole ", "bar", "quux"], b"");
    // -l alone takes no value from the next word (GNU's optional number).
    same(&sb, &["-k", "-l", "echo"], input);
}

#[test]
fn keep_order_and_dry_run() {
    let sb = Sandbox::new();
    for opt in ["-X", "-m"] {
        // The first values sleep longest: -k prints in job order anyway.
        same(&sb, &["-j3", "-k", opt, "-s", "20", "sleep 0.{1}; echo", "{}"], b"3\n2\n1\n0\n0\n0\n1\n");
        same(&sb, &["--dry-run", "-j2", "-k", opt, "echo", "a{}b", "{#}"], &lines(1..=9));
    }
}

/// The joblog's Command column holds each job's whole line, as GNU's.
#[test]
fn joblog_commands_match_gnus() {
    let sb = Sandbox::new();
    let args = ["-j1", "-k", "-X", "-s", "30", "--joblog"];
    let Some(g) = gnu_parallel() else { return };
    let mut g = g;
    g.args(args).arg(sb.path("gnu.log")).args(["echo", "a{}b"]);
    run_with(g, sb.root(), &lines(1..=12));
    let mut h = hrun();
    h.args(["exec", "--quiet", "--log"]).arg(sb.path("log.jsonl")).args(args).arg(sb.path("h.log"));
    h.args(["echo", "a{}b"]);
    let out = run_with(h, sb.root(), &lines(1..=12));
    assert!(out.status.success(), "{}", stderr(&out));
    let commands = |name: &str| -> Vec<String> {
        sb.read(name).lines().skip(1).map(|l| l.split('\t').nth(8).unwrap_or("").to_string()).collect()
    };
    let gnu_commands = commands("gnu.log");
    assert!(gnu_commands.len() > 2, "{gnu_commands:?}");
    assert_eq!(commands("h.log"), gnu_commands);
    // Each job is one task of the run log, holding all of its values.
    let (_, tasks) = sb.log();
    assert_eq!(tasks.len(), gnu_commands.len());
}

/// An -X run stopped by a failed job: --resume runs only the jobs that did not run, packed as
/// the first run packed them.
#[test]
fn resume_after_a_stopped_context_replace_run_runs_only_the_rest() {
    let sb = Sandbox::new();
    sb.write("values", lines(1..=20));
    let template =
        ["sh", "-c", "'echo \"$*\" >> ran; case \"$*\" in *x9y*) test -e ok;; esac'", "sh", "x{}y"];
    let run_once = |extra: &[&str]| {
        let mut h = hrun();
        h.args(["exec", "--quiet", "-j1", "-X", "-s", "100", "--halt", "now,fail=1", "--log"]);
        h.arg(sb.path("log.jsonl")).args(extra).args(template).args(["::::", "values"]);
        run_with(h, sb.root(), b"")
    };
    let first = run_once(&[]);
    assert!(!first.status.success(), "the job holding 9 fails: {}", stderr(&first));
    let ran_first = sb.read("ran");
    let last_first = ran_first.lines().last().unwrap().to_string();
    assert!(last_first.contains("x9y"), "{ran_first}");
    assert!(!ran_first.contains("x20y"), "the run stopped at the failed job: {ran_first}");
    std::fs::remove_file(sb.path("ran")).unwrap();
    let second = run_once(&["--resume"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let ran_second = sb.read("ran");
    // Only the jobs after the failed one (finished, as failed), and all of them.
    assert!(!ran_second.contains("x9y"), "{ran_second}");
    let all: Vec<String> = format!("{ran_first}{ran_second}")
        .lines()
        .flat_map(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
        .collect();
    let wanted: Vec<String> = (1..=20).map(|i| format!("x{i}y")).collect();
    assert_eq!(all, wanted);
}
