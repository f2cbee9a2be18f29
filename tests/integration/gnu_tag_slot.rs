//! Issue 22/23: `{%}` (the job's slot) in `--tagstring` is the slot the job ran on, as under
//! GNU parallel; it was left as the text `{%}`.

use crate::harness::*;

#[test]
fn slot_in_tagstring_is_the_jobs_slot() {
    let sb = Sandbox::new();
    // Each job prints its own slot (GNU's PARALLEL_JOBSLOT0 + 1): the tag must say the same.
    let out = run(hrun().current_dir(sb.root()).args([
        "exec",
        "--log",
        "none",
        "-j",
        "2",
        "--tagstring",
        "{%}/{#}",
        "echo $((PARALLEL_JOBSLOT0 + 1))/{#}",
        ":::",
        "a",
        "b",
        "c",
        "d",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    for l in &lines {
        let (tag, said) = l.split_once('\t').unwrap();
        assert_eq!(tag, said, "{l}");
        assert!(tag.starts_with("1/") || tag.starts_with("2/"), "{l}");
    }
}

#[test]
fn slot_in_tagstring_is_gnus_with_one_slot() {
    let sb = Sandbox::new();
    let args = ["-k", "-j", "1", "--tagstring", "{%}-{#}-{}", "echo", ":::", "x", "y"];
    let h = run(hrun().current_dir(sb.root()).args(["exec", "--log", "none"]).args(args));
    assert_eq!(stdout(&h), "1-1-x\tx\n1-2-y\ty\n", "{}", stderr(&h));
    if let Some(mut g) = gnu_parallel() {
        let g = run(g.current_dir(sb.root()).args(args));
        assert_eq!(stdout(&h), stdout(&g));
    }
}

/// GNU's par_bug37042: a --tagstring with no replacement string is the tag as written (the
/// values were appended to it, as to a command).
#[test]
fn a_tagstring_without_replacement_strings_is_its_text() {
    let sb = Sandbox::new();
    gnu_exec_and_parallel_agree(&sb, &["--tagstring", "tag_with_a", "-k", "echo", ":::", "a", "b"], b"");
    gnu_exec_and_parallel_agree(&sb, &["--tagstring", "t {}-{#}", "-k", "echo", ":::", "a", "b"], b"");
}
