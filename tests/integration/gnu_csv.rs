//! Issue 22: GNU parallel's `--csv`. GNU needs perl's Text::CSV, which the installed package
//! may lack (it then stops with an error): the expected lines are GNU's own, from its test
//! suite's wanted results for `par_csv` (release 20221122), and `--colsep` runs of GNU where
//! no quoting is involved.

use std::process::Command;

use crate::harness::*;

fn hrun_as_parallel(sb: &Sandbox) -> Command {
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let p = bin.join("parallel");
    if !p.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hrun"), &p).unwrap();
    }
    let mut c = Command::new(p);
    c.env("PARALLEL_HOME", sb.path("ph"));
    c
}

#[test]
fn csv_records_span_lines_and_quote_as_gnus_wanted_results() {
    let sb = Sandbox::new();
    let mut c = hrun_as_parallel(&sb);
    c.args(["--csv", "echo", "{1}-{2}-{3}-{4}"]);
    let input = "\"col1\"\"x3\"\"\",\"new\nline col2\",\"new2\nline col3\",col 4\n";
    let out = run_with(c, sb.root(), input.as_bytes());
    assert_eq!(
        (stdout(&out).as_str(), out.status.code()),
        ("col1\"x3\"-new\nline col2-new2\nline col3-col 4\n", Some(0))
    );
    let mut c = hrun_as_parallel(&sb);
    c.args(["--csv", "echo", "{1}-{2}-{3}"]);
    let out = run_with(c, sb.root(), b"\"2\"\"x3\"\" board\",\"Value with ,\",Column 3\n");
    assert_eq!(stdout(&out), "2\"x3\" board-Value with ,-Column 3\n", "{}", stderr(&out));
}

/// Without quotes, `--csv --colsep X` splits as `--colsep X` does: compared with GNU's
/// `--colsep` (trimmed, as GNU trims with a --colsep given), with `--header :` names too.
#[test]
fn unquoted_csv_splits_as_gnus_colsep() {
    let Some(mut gnu) = gnu_parallel() else { return };
    let sb = Sandbox::new();
    let input: &[u8] = b"x;y\n a ;b\nc;d \n";
    gnu.args(["-k", "--colsep", ";", "--header", ":", "echo", "{y}-{x}"]);
    let g = run_with(gnu, sb.root(), input);
    let mut c = hrun_as_parallel(&sb);
    c.args(["-k", "--csv", "--colsep", ";", "--header", ":", "echo", "{y}-{x}"]);
    let h = run_with(c, sb.root(), input);
    assert_eq!(stdout(&h), stdout(&g), "{}", stderr(&h));
    assert_eq!(stdout(&h), "b-a\nd-c\n");
    // A separator of more than one character is refused, naming it.
    let mut c = hrun_as_parallel(&sb);
    c.args(["--csv", "--colsep", ";;", "echo"]);
    let out = run_with(c, sb.root(), b"a\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--csv --colsep \";;\""), "{}", stderr(&out));
}
