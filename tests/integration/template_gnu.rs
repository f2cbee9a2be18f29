//! Command templates against the oracle: GNU parallel 20221122 and `hrun exec` run on the same
//! arguments (in the same directory, with the same standard input), and their outputs are
//! compared byte for byte: `--dry-run -k` (the commands), then real runs (what the shell made
//! of the quoting).

use std::process::Output;

use crate::harness::*;

/// Values that exercise the quoting: blanks, quotes, every shell metacharacter, globs,
/// tilde, empty, UTF-8, tabs, and options in disguise.
const AWKWARD: &[&str] = &[
    "plain",
    "a b",
    "",
    " ",
    "  two  spaces ",
    "it's",
    "'",
    "''",
    "'a",
    "a'",
    "\"dq\"",
    "$HOME",
    "${x}",
    "$(id)",
    "`id`",
    "a\\b",
    "\\",
    "*",
    "?",
    "[a]",
    "*.txt",
    "~",
    "~root",
    "~/x",
    "a;b",
    "a&b",
    "a&&b",
    "a|b",
    "a<b",
    "a>b",
    "a>>b",
    "(x)",
    "!x",
    "#x",
    "x#",
    "{x}",
    "{}",
    "a=b",
    "-n",
    "--opt=v",
    "-",
    "--",
    "é",
    "日本語",
    "a\tb",
    "\t",
    "x%y",
    "@",
    ",",
    ":",
    "a+b",
    "a/b.c",
    "/abs/path",
    "./rel",
    "..",
    "\r",
    "a\rb",
    "{#}",
    "{%}",
    "{1}",
    "100%",
    "^x",
    "a*b?c",
];

/// Paths for the replacement strings: dots, hidden files, trailing slashes, spaces.
const PATHS: &[&str] = &[
    "a/b.c/d.e",
    ".hidden",
    "dir/",
    "dir/sub/",
    "/",
    "a",
    "a.b/",
    "/a",
    "//a",
    "a//b",
    "x.tar.gz",
    ".a.b",
    "sp ace/f ile.t xt",
    "./x",
    "../y.z",
    "a.b.c/d",
    "~/f.txt",
    "",
    ".",
    "..",
    "a.",
    "/x/.y",
    "d.d/",
];

/// Runs GNU parallel and hrun exec on the same arguments; returns (parallel, hrun), or None
/// where GNU parallel is not installed.
fn both(sb: &Sandbox, args: &[&str], stdin: &[u8]) -> Option<(Output, Output)> {
    let mut p = gnu_parallel()?;
    p.args(args);
    let mut h = hrun();
    h.args(["exec", "--quiet", "--log"]).arg(sb.path("log.jsonl")).args(args);
    Some((run_with(p, sb.root(), stdin), run_with(h, sb.root(), stdin)))
}

/// Asserts that both print the same bytes on stdout and exit alike.
fn same(sb: &Sandbox, args: &[&str], stdin: &[u8]) {
    let Some((p, h)) = both(sb, args, stdin) else { return };
    assert_eq!(
        String::from_utf8_lossy(&h.stdout),
        String::from_utf8_lossy(&p.stdout),
        "{args:?}: hrun (left) and GNU parallel (right) differ; hrun said {}",
        stderr(&h)
    );
    assert_eq!(h.stdout, p.stdout, "{args:?}: bytes differ");
    assert_eq!(h.status.code(), p.status.code(), "{args:?}: exit status; hrun said {}", stderr(&h));
}

fn dry<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--dry-run", "-k"];
    v.extend_from_slice(extra);
    v
}

fn with_values<'a>(head: &[&'a str], values: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.push(":::");
    v.extend_from_slice(values);
    v
}

#[test]
fn quoting_of_every_awkward_value_matches_gnu_parallel() {
    let sb = Sandbox::new();
    for template in
        [&["echo"][..], &["echo", "{}"], &["echo", "x{}y"], &["echo", "{}", "{}"], &["echo", "'{}'"]]
    {
        let args = with_values(&dry(template), AWKWARD);
        same(&sb, &args, b"");
    }
}

#[test]
fn real_runs_see_the_same_arguments_as_under_gnu_parallel() {
    let sb = Sandbox::new();
    // printf shows each argument the shell passed, brackets marking its ends.
    let args = with_values(&["-k", "printf", "[%s]\\n", "{}", "x{}"], AWKWARD);
    same(&sb, &args, b"");
    let args = with_values(&["-k", "sh -c 'printf \"<%s>\" \"$@\"; echo' _ {} {}"], AWKWARD);
    same(&sb, &args, b"");
}

#[test]
fn every_replacement_string_on_awkward_paths_matches_gnu_parallel() {
    let sb = Sandbox::new();
    let args = with_values(&dry(&["echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}"]), PATHS);
    same(&sb, &args, b"");
    let args = with_values(&dry(&["echo", "{1}", "{1.}", "{1/}", "{1//}", "{1/.}", "{-1}", "{-1/.}"]), PATHS);
    same(&sb, &args, b"");
    // Replacement strings inside words and in shell code.
    let args = with_values(&dry(&["cp {} {.}.bak && echo {/.} > {//}/log"]), PATHS);
    same(&sb, &args, b"");
}

#[test]
fn several_sources_linked_sources_and_link_match_gnu_parallel() {
    let sb = Sandbox::new();
    sb.write("f1", "x\r\ny\n\n  z  \nlast");
    sb.write("f2", "p\nq\n");
    sb.write("f3", "1\n2\n3\n");
    for extra in [
        &["echo", ":::", "a", "b", ":::", "1", "2", "3", ":::", "X", "Y"][..],
        &["echo", "{3}", "{1}", "{2}", ":::", "a", "b", ":::", "1", "2", ":::", "X"],
        &["echo", "{}", "{-2}", ":::", "a", "b", ":::", "1", "2"],
        &["echo", ":::", "a", "b", "c", ":::+", "1", "2", ":::", "X", "Y"],
        &["--link", "echo", ":::", "a", "b", "c", ":::+", "1", "2", ":::", "X", "Y"],
        &["--link", "echo", ":::", "a", "b", "c", "d", "e", ":::", "1", "2"],
        &["echo", ":::", "a", "b", "::::", "f1", "f2"],
        &["echo", ":::", "a", "b", "::::+", "f3", "f2"],
        &["echo", "::::", "f1"],
        &["-a", "f2", "echo", ":::", "A"],
        &["-a", "f2", "-a", "f3", "echo"],
        &["-a", "f3", "echo", "{2}", "{1}", "::::", "f2"],
        &[":::", "echo 1", "echo '2 3'", "true"],
        &[":::", "echo", "printf", ":::", "a", "b c"],
        &["--", "echo", "--", "-n", ":::", "-x"],
    ] {
        same(&sb, &dry(extra), b"");
    }
}

#[test]
fn values_from_standard_input_match_gnu_parallel() {
    let sb = Sandbox::new();
    let input = b"a\n\n b \nc d\r\n'q'\nlast";
    for extra in [
        &["echo"][..],
        &["echo", "{}", "{.}"],
        &["echo", "::::", "-"],
        &["-a", "-", "echo", "{1}"],
        &["echo", ":::", "x", "y", "::::", "-"],
    ] {
        same(&sb, &dry(extra), input);
    }
    // find | parallel: file names, one per line.
    same(&sb, &dry(&["gzip", "--keep", "{}"]), b"./a b.txt\n./c.txt\n./d'e.txt\n");
}

#[test]
fn separators_and_colsep_match_gnu_parallel() {
    let sb = Sandbox::new();
    sb.write("csv", "a,b,,\n1,,3\n,\n\n x , y \nsingle\n");
    sb.write("tsv", "a\tb\tc\n1\t2\n");
    sb.write("nul", "a b\0c\nd\0\0last");
    sb.write("colon", "a:b::c\n");
    sb.write("crlf", "a\r\nb\r\n");
    for extra in [
        &["--colsep", ",", "echo", "{1}", "{2}", "{3}", "{4}", "X", "::::", "csv"][..],
        &["--colsep", ",", "echo", "::::", "csv"],
        &["--colsep", ",", "echo", "{}", "::::", "csv"],
        &["--colsep", ",", "echo", "{-1}", "{2.}", "::::", "csv"],
        &["--colsep", "\\t", "echo", "{2}", "{1}", "::::", "tsv"],
        &["--colsep", "\t", "echo", "::::", "tsv"],
        &["--colsep", "\\s+", "echo", "{2}", ":::", "a  b\tc", " lead", "trail "],
        &["--colsep", ",", "echo", "{1}", "{3}", "::::", "csv", ":::", "p,q"],
        &["--colsep", "[,;]", "echo", ":::", "a;b,c"],
        &["-0", "echo", "::::", "nul"],
        &["--null", "echo", "{}", "::::", "nul"],
        &["-d", ":", "echo", "::::", "colon"],
        &["-d", "\\r\\n", "echo", "::::", "crlf"],
        &["echo", "::::", "crlf"],
    ] {
        same(&sb, &dry(extra), b"");
    }
    same(&sb, &dry(&["-0", "echo"]), b"x\ny\0z\0");
}

#[test]
fn exit_statuses_output_order_and_stderr_match_gnu_parallel() {
    let sb = Sandbox::new();
    // -k: output in job order whatever order the jobs end in.
    same(&sb, &["-k", "-j3", "sh -c 'sleep 0.{}; echo {}; echo err{} >&2'", ":::", "3", "1", "2"], b"");
    // The exit status is the number of failed jobs, as GNU parallel's.
    same(&sb, &["-k", "sh -c 'echo {}; exit {}'", ":::", "0", "1", "2", "0", "3"], b"");
    let Some((p, h)) =
        both(&sb, &["-k", "-j3", "sh -c 'sleep 0.{}; echo err{} >&2'", ":::", "3", "1", "2"], b"")
    else {
        return;
    };
    // hrun's own lines (the -j warning, the summary) aside, the tasks' stderr in job order.
    let tasks_err: String =
        stderr(&h).lines().filter(|l| !l.starts_with("hrun: ")).map(|l| format!("{l}\n")).collect();
    assert_eq!(tasks_err, stderr(&p), "stderr blocks in job order");
}

/// Several values per job (-N with GNU's context replace, -n), skipping empty values (-r),
/// named sources (--header :) and tagged output (--tag), against GNU parallel.
#[test]
fn max_args_header_skip_empty_and_tag_match_gnu_parallel() {
    let sb = Sandbox::new();
    sb.write("h.tsv", "a\tb\n1\t2\n3\t4\n");
    sb.write("blanks", "a\n\n \n\tb\n\n");
    for extra in [
        &["-N", "2", "echo", ":::", "1", "2", "3", "4", "5"][..],
        &["-N", "2", "echo", "x{}y", "{1}", ":::", "1", "2", "3"],
        &["-N2", "echo", "{}-{1}", "'{}'", ":::", "a b", "c"],
        &["-N", "2", "echo", "{1}-{2}", ":::", "a", "b", ":::", "1", "2", "3"],
        &["-n", "2", "echo", "x{}y", ":::", "1", "2", "3"],
        &["-n", "3", "echo", "{.}", ":::", "a.x", "b.y", "c.z", "d"],
        &["-r", "echo", ":::", "", "a", " ", "\t"],
        &["-r", "echo", "::::", "blanks"],
        &["--header", ":", "echo", "{x}", "{y}", ":::", "x", "1", "2", ":::", "y", "3"],
        &["--header", ":", "echo", "{a}-{b}", "::::", "h.tsv"],
        &["--header", ":", "--colsep", "\t", "echo", "{b}", "::::", "h.tsv"],
    ] {
        same(&sb, &dry(extra), b"");
    }
    same(&sb, &dry(&["-r", "-N", "2", "echo"]), b"a\n\n  \nb\nc\n");
    for extra in [
        &["-k", "--tag", "sh -c 'echo out{}; echo err{} >&2; printf x'", ":::", "a", "b c"][..],
        &["-k", "--tag", "echo {2}", ":::", "a", ":::", "1", "2"],
        &["-k", "--tag", "--colsep", ",", "echo {2}", ":::", "a,b"],
        &["-k", "--tag", "true", ":::", "a"],
    ] {
        let Some((p, h)) = both(&sb, extra, b"") else { return };
        assert_eq!(stdout(&h), stdout(&p), "{extra:?}");
        let tasks_err: String =
            stderr(&h).lines().filter(|l| !l.starts_with("hrun: ")).map(|l| format!("{l}\n")).collect();
        assert_eq!(tasks_err, stderr(&p), "{extra:?}: stderr");
    }
}
