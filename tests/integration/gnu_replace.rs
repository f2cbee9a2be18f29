//! Issue 22: GNU parallel 20221122's `--plus` replacement strings, the options that rename its
//! strings (`--er`, `--bnr`, `--dnr`, `--bner`, `--seqreplace`, `--slotreplace`), `--total-jobs`
//! and `--process-slot-var`, each run by GNU, by `hrun exec` and by hrun as `parallel` on the same
//! words and compared byte for byte (standard output and exit status).

use crate::harness::*;

fn same(sb: &Sandbox, args: &[&str], stdin: &[u8]) {
    gnu_exec_and_parallel_agree(sb, args, stdin);
}

fn with<'a>(head: &[&'a str], values: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.push(":::");
    v.extend_from_slice(values);
    v
}

const PATHS: &[&str] = &[
    "a/b.c.d.e",
    "x.y",
    "noext",
    "/r/s.t",
    ".hidden",
    "dir/",
    "/",
    "",
    "x.tar.gz",
    "a.b/c",
    "sp ace/f ile.t xt",
    "it's/a.b.c",
    "../y.z",
    "é/ü.ß.x",
];

#[test]
fn plus_path_strings_match_gnu_parallel() {
    let sb = Sandbox::new();
    let strings = "{+/} {+.} {+..} {+...} {..} {...} {/..} {/...}";
    same(&sb, &with(&["--dry-run", "-k", "--plus", "echo", strings], PATHS), b"");
    let positions = "{1+/} {-1..} {2/...} {1 +.} {2+..}";
    same(
        &sb,
        &["--dry-run", "-k", "--plus", "echo", positions, ":::", "a/b.c", "d.e", ":::", "x/y.z.w"],
        b"",
    );
    // A real run: what the shell made of the quoting.
    same(&sb, &with(&["-k", "-j1", "--plus", "printf", "[%s]\\n", "{+/}", "{..}", "{+.}"], PATHS), b"");
}

/// Values that must stay one word after an edit: quotes, backslashes, shell syntax, blanks.
const HOSTILE: &[&str] =
    &["it's", "a\\", "\\'", "$(id)", "`id`", "a b.c", "\"q\".gz", "x;y.gz", "0", "", "~", "*.gz"];

#[test]
fn bash_like_edits_match_gnu_parallel() {
    let sb = Sandbox::new();
    let edits = [
        "{:-def} {:2} {:1:3} {:9}",
        "{#a} {##a*} {%.gz} {%%.*} {#*}",
        "{/b/X} {/#a/Z} {/%c/Y} {//b/W} {/a/$1} {/a/\\1}",
        "{^a} {^^b} {,A} {,,B} {^^.}",
        "{%a|b} {#a|b} {/[[:space:]]/_} {%%\\.[a-z]*}",
    ];
    let values = ["abcb.c.c", "AbBa.c", "xaybz", "a.tar.gz", "bab"];
    for e in edits {
        same(&sb, &with(&["--dry-run", "-k", "--plus", "echo", e], &values), b"");
        same(&sb, &with(&["--dry-run", "-k", "--plus", "echo", e], HOSTILE), b"");
    }
    for e in ["{%.gz}", "{:-it's here}", "{/'/\\}", "{1:1}"] {
        same(&sb, &with(&["-k", "-j1", "--plus", "printf", "[%s]\\n", e], HOSTILE), b"");
    }
    // Values with newlines (from a file, NUL-separated) stay quoted too.
    sb.write("nl", "a\nb.gz\0c\\\n.gz\0'\n'\0");
    same(&sb, &["-0", "-k", "-j1", "--plus", "printf", "[%s]\\n", "{%.gz}", "{+.}", "::::", "nl"], b"");
}

#[test]
fn renamed_replacement_strings_match_gnu_parallel() {
    let sb = Sandbox::new();
    let renames = [
        "--er",
        "EE",
        "--bnr",
        "BB",
        "--dnr",
        "DD",
        "--bner",
        "BE",
        "--seqreplace",
        "SS",
        "--slotreplace",
        "LL",
    ];
    let mut args = vec!["-k", "-j1"];
    args.extend(renames);
    args.extend(["echo", "EE BB DD BE SS LL {} {.} {1/} {#} {%}", ":::", "a/b.c", "x y/z.w.v"]);
    same(&sb, &args, b"");
    let mut dry = vec!["--dry-run"];
    dry.extend(&args);
    same(&sb, &dry, b"");
    // Renamed with a brace: positions work on it; with -I too; and GNU's abbreviations.
    same(
        &sb,
        &["--dry-run", "-k", "--er", "{E}", "-I", "@", "echo", "{E} {2E} @ {}", ":::", "a.b", ":::", "c.d"],
        b"",
    );
    same(&sb, &["--dry-run", "-k", "--basenamerep", "B", "--seqr", "N", "echo", "B N", ":::", "p/q"], b"");
    // A renamed string that another contains: the longer is taken first.
    same(&sb, &["--dry-run", "-k", "--er", "XY", "--bnr", "YZZ", "echo", "XYZZ", ":::", "a/b.c"], b"");
}

#[test]
fn job_counts_and_padded_numbers_match_gnu_parallel() {
    let sb = Sandbox::new();
    let values: Vec<String> = (1..=11).map(|i| format!("v{i}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    same(&sb, &with(&["-k", "-j1", "--plus", "echo", "{##} {0#} {#} {0%} {%}"], &values), b"");
    same(&sb, &with(&["--dry-run", "-k", "--plus", "echo", "{##}-{0#}"], &values), b"");
    same(
        &sb,
        &with(&["-k", "-j1", "--plus", "--total-jobs", "1000", "echo", "{##} {0#}"], &values[..3]),
        b"",
    );
    same(&sb, &["-k", "-j1", "--plus", "--total", "5", "echo", "{##} {0#} {}"], b"a\nb\n");
    same(&sb, &["-k", "-j1", "--plus", "--tagstring", "{0#}/{##}", "echo", ":::", "a", "b"], b"");
    sb.write("f12", (1..=12).map(|i| format!("{i}\n")).collect::<String>());
    same(&sb, &["-k", "-j1", "--plus", "echo", "{0#}", "{}", "::::", "f12", ":::", "x"], b"");
    // The slot is padded to the width of -j's number (GNU's floating point width is unit-tested).
    same(&sb, &["--dry-run", "-k", "--plus", "-j", "10", "echo", "{0%}", ":::", "a"], b"");
    same(&sb, &["-k", "-j1", "--plus", "echo", "{slot}x{host}y{hgrp}", ":::", "a"], b"");
}

/// From standard input GNU reads every value before the first job; hrun streams, so it asks
/// for --total-jobs instead of guessing, before anything runs.
#[test]
fn the_number_of_jobs_from_a_stream_needs_total_jobs() {
    let sb = Sandbox::new();
    let mut c = sb.exec();
    c.args(["--plus", "echo", "{##}", "{}"]);
    let out = run_with(c, sb.root(), b"a\nb\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("give --total-jobs N"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing ran");
}

#[test]
fn process_slot_var_matches_gnu_parallel() {
    let sb = Sandbox::new();
    same(&sb, &["-k", "-j1", "--process-slot-var", "SLOTVAR", "echo $SLOTVAR {}", ":::", "a", "b"], b"");
    // On several slots: each task's NAME is its slot less one (which slot runs which job varies).
    let out = run(sb.exec().args([
        "-j2",
        "--process-slot-var=SV",
        "echo $SV $HRUN_SLOT",
        ":::",
        "1",
        "2",
        "3",
        "4",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 4, "{text}");
    for line in text.lines() {
        let n: Vec<u64> = line.split(' ').map(|w| w.parse().unwrap()).collect();
        assert_eq!(n[0] + 1, n[1], "{line}");
    }
    let bad = run(sb.exec().args(["--process-slot-var", "A=B", "echo", ":::", "a"]));
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("not a variable name"), "{}", stderr(&bad));
}

/// What hrun does not do is refused before anything runs, naming the string.
#[test]
fn refusals_name_the_string_and_run_nothing() {
    let sb = Sandbox::new();
    for (template, why) in [
        ("{2#}", "{2#}: a position means nothing"),
        ("{%(?=x)}", "{%(?=x)}: hrun cannot read this regular expression"),
        ("{0#}", "add --plus"),
    ] {
        let plus = if template == "{0#}" { "--group" } else { "--plus" };
        let out = run(sb.exec().args([plus, "touch", template, ":::", "ran"]));
        assert_eq!(out.status.code(), Some(2), "{template}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{template}: {}", stderr(&out));
        assert!(!sb.path("ran").exists() && !sb.path("log.jsonl").exists(), "{template}: something ran");
    }
}

/// `{choose_k}` and `{uniq}`: a job whose values are not in strictly increasing order (as
/// text) or not all different (nor empty) runs nothing and counts as failed: the same output
/// and exit status (the number skipped) as GNU, with `-v` still showing its command and the
/// joblog giving it Exitval -2 (the rows compared without their times).
#[test]
fn choose_k_and_uniq_skip_jobs_as_gnu() {
    let sb = Sandbox::new();
    let abc = [":::", "A", "B", "C"];
    let abcd = [":::", "A", "B", "C", "D"];
    let cube = |head: &[&'static str], v: &[&'static str]| -> Vec<&'static str> {
        head.iter().chain(v).chain(v).chain(v).copied().collect()
    };
    let cases = [
        cube(&["--plus", "-k", "echo", "{choose_k}"], &abcd),
        cube(&["--plus", "-k", "echo", "{uniq}"], &abc),
        cube(&["--plus", "-k", "echo", "{1uniq}+{2uniq}+{3uniq}"], &abc),
        vec![
            "--plus",
            "-k",
            "-v",
            "echo",
            "{#}",
            "{2uniq}",
            "{choose_k}",
            ":::",
            "a",
            "b",
            "",
            ":::",
            "a",
            "10",
            "9",
        ],
        vec!["--plus", "--dry-run", "echo", "{choose_k}", ":::", "a", "b", ":::", "a", "b"],
    ];
    for args in &cases {
        same(&sb, args, b"");
    }
    let rows = |jl: &str| -> Vec<String> {
        let text = std::fs::read_to_string(sb.path(jl)).unwrap();
        let mut rows: Vec<(u64, String)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].parse().unwrap(), [f[0], f[4], f[5], f[6], f[7], f[8]].join("\t"))
            })
            .collect();
        rows.sort();
        rows.into_iter().map(|(_, r)| r).collect()
    };
    let args = |jl: &'static str| cube(&["--plus", "--joblog", jl, "echo", "{choose_k}"], &abc);
    let mut exec = hrun();
    exec.args(["exec", "--quiet", "--log"]).arg(sb.path("log.jsonl")).args(args("e.jl"));
    let e = run_with(exec, sb.root(), b"");
    assert_eq!(e.status.code(), Some(26), "{}", stderr(&e));
    let ours = rows("e.jl");
    assert_eq!(ours.len(), 27);
    assert_eq!(ours[0], "1\t0\t0\t-2\t0\techo A A A");
    assert_eq!(ours[5], "6\t0\t6\t0\t0\techo A B C");
    if let Some(g) = run_gnu(&sb, &args("g.jl"), b"") {
        let p = run_as_parallel(&sb, &args("p.jl"), b"");
        assert_eq!(p.status.code(), g.status.code());
        assert_eq!(rows("p.jl"), rows("g.jl"), "hrun as parallel (left) and GNU");
        assert_eq!(ours, rows("g.jl"), "hrun exec (left) and GNU");
    }
}
