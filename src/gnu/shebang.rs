//! GNU parallel as a script's interpreter. Linux passes everything after the interpreter on a
//! `#!` line as one argument, so a script starting `#!/usr/bin/parallel --shebang-wrap -k
//! python3` and run as `./s.py a b` gives parallel the words `--shebang-wrap -k python3`,
//! `./s.py`, `a`, `b`. GNU recognises this before parsing options (only in the first word) and
//! starts itself again with the command line [`rewrite`] returns.

use std::ffi::OsString;

use super::shellwords;

/// How a `#!` line started GNU parallel, and the command line GNU then reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shebang {
    /// `--shebang` (or `--hashbang`) OPTIONS... COMMAND: the script's lines after the first are
    /// the values: `--skip-first-line -a SCRIPT OPTIONS... COMMAND`.
    Shebang(Vec<OsString>),
    /// `--shebang-wrap` (or `--shebangwrap`) [OPTIONS...] INTERPRETER: the interpreter runs the
    /// script once per argument: `--_pipe-means-argfiles OPTIONS... INTERPRETER SCRIPT ::: ARGS`.
    Wrap(Vec<OsString>),
}

/// The command line GNU restarts itself with when its first word starts with `--shebang`,
/// `--shebang-wrap`/`--shebangwrap` or `--hashbang`; None otherwise.
///
/// GNU builds that command line as one string for `/bin/sh`; here the options' text is split by
/// [`shellwords`] (the same for plain words and quotes) and the script's own arguments stay
/// whole words, where GNU's shell splits and globs them (`./s.py 'a b'` runs twice in GNU).
/// Like GNU, `--shebang` takes the last word as the script (the only one, normally).
pub fn rewrite(argv: &[OsString]) -> Option<Shebang> {
    let first = argv.first()?.to_str()?;
    if !(first.starts_with("--shebang") || first.starts_with("--hashbang")) {
        return None;
    }
    let mut text = first.to_string();
    let wrap = strip(&mut text, "--shebang-wrap") || strip(&mut text, "--shebangwrap");
    let shebang = strip(&mut text, "--shebang") | strip(&mut text, "--hashbang");
    let options = shellwords::split(&text).unwrap_or_default().into_iter().map(OsString::from);
    let mut rest: Vec<OsString> = argv[1..].to_vec();
    if shebang {
        // GNU pops the last word of its arguments, the first one included.
        let script = match rest.pop() {
            Some(s) => Some(s),
            None => {
                return Some(Shebang::Shebang(
                    ["--skip-first-line", "-a", text.as_str()].map(Into::into).into(),
                ));
            }
        };
        let mut out: Vec<OsString> = ["--skip-first-line".into(), "-a".into()].into();
        out.extend(script);
        out.extend(options);
        out.extend(rest);
        return Some(Shebang::Shebang(out));
    }
    debug_assert!(wrap, "--shebang or --shebang-wrap matched");
    let mut out: Vec<OsString> = vec!["--_pipe-means-argfiles".into()];
    out.extend(options);
    if !rest.is_empty() {
        out.push(rest.remove(0));
    }
    out.push(":::".into());
    out.extend(rest);
    Some(Shebang::Wrap(out))
}

/// GNU's `s/^NAME *//`: removes `name` and the spaces after it from the start of `text`.
fn strip(text: &mut String, name: &str) -> bool {
    let Some(after) = text.strip_prefix(name) else { return false };
    *text = after.trim_start_matches(' ').to_string();
    true
}

/// True where GNU warns "--shebang and --shebang-wrap must be the first argument.": the first
/// word holds ` --shebang `, ` --shebang-wrap ` or ` --shebangwrap ` (spaces both sides).
pub fn misplaced(argv: &[OsString]) -> bool {
    let Some(first) = argv.first().and_then(|w| w.to_str()) else { return false };
    [" --shebang ", " --shebang-wrap ", " --shebangwrap "].iter().any(|n| first.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn shebang_reads_the_script_as_values() {
        let got = rewrite(&os(&["--shebang -r --verbose -k echo", "./script"])).unwrap();
        let want = os(&["--skip-first-line", "-a", "./script", "-r", "--verbose", "-k", "echo"]);
        assert_eq!(got, Shebang::Shebang(want));
        let got = rewrite(&os(&["--hashbang echo", "./s"])).unwrap();
        assert_eq!(got, Shebang::Shebang(os(&["--skip-first-line", "-a", "./s", "echo"])));
        // GNU takes the last word as the script.
        let got = rewrite(&os(&["--shebang echo", "./s", "x"])).unwrap();
        assert_eq!(got, Shebang::Shebang(os(&["--skip-first-line", "-a", "x", "echo", "./s"])));
    }

    #[test]
    fn shebang_wrap_runs_the_interpreter_once_per_argument() {
        let got = rewrite(&os(&["--shebang-wrap -k python3", "./s.py", "a b", "c"])).unwrap();
        let want = os(&["--_pipe-means-argfiles", "-k", "python3", "./s.py", ":::", "a b", "c"]);
        assert_eq!(got, Shebang::Wrap(want));
        let got = rewrite(&os(&["--shebangwrap perl", "./s.pl"])).unwrap();
        assert_eq!(got, Shebang::Wrap(os(&["--_pipe-means-argfiles", "perl", "./s.pl", ":::"])));
    }

    #[test]
    fn only_the_first_word_counts() {
        assert_eq!(rewrite(&os(&["-k", "--shebang"])), None);
        assert_eq!(rewrite(&os(&["--she"])), None);
        assert_eq!(rewrite(&[]), None);
        assert!(misplaced(&os(&["-k --shebang echo"])));
        assert!(!misplaced(&os(&["-k --shebangx echo"])));
        assert!(!misplaced(&os(&["--shebang echo"])));
    }
}
