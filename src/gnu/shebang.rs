//! GNU parallel as a script's interpreter. Linux passes everything after the interpreter on a
//! `#!` line as one argument, so a script starting `#!/usr/bin/parallel --shebang-wrap -k
//! python3` and run as `./s.py a b` gives parallel the words `--shebang-wrap -k python3`,
//! `./s.py`, `a`, `b`. GNU recognises this before parsing options (only in the first word) and
//! starts itself again with the command line [`rewrite`] returns.
//!
//! `#!/usr/bin/env -S parallel --shebang-wrap perl` gives the words split instead:
//! `--shebang-wrap`, `perl`, `./s.pl`, `a`. GNU 20221122 on Linux misreads that form (it
//! takes the first option as the script, and waits on standard input); hrun finds the script
//! among the words instead: the first one naming a file whose `#!` line asks for
//! `--shebang-wrap` ([`is_wrapping_script`], the only file read here).

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
    let split_form = text.is_empty();
    let script_at = if split_form { rest.iter().position(is_wrapping_script) } else { None };
    match script_at {
        // `env -S`: options and the interpreter's words, then the script (GNU's FreeBSD form
        // ends the interpreter's words with `:::`).
        Some(at) => {
            let mut before: Vec<OsString> = rest.drain(..at).collect();
            if before.last().is_some_and(|w| w == ":::") {
                before.pop();
            }
            out.extend(before);
        }
        None => out.extend(options),
    }
    if !rest.is_empty() {
        out.push(script_word(rest.remove(0)));
    }
    // GNU's `:::` with nothing after it reads standard input, as no `:::` does.
    if !rest.is_empty() {
        out.push(":::".into());
        out.extend(rest);
    }
    Some(Shebang::Wrap(out))
}

/// The script's path as a word of the command: GNU quotes it for the shell that splits its
/// command line again; hrun quotes it for the shell that runs the job (a path with a blank
/// stays one word).
fn script_word(path: OsString) -> OsString {
    match path.to_str() {
        Some(p) => OsString::from(crate::template::quote::quote(p).into_owned()),
        None => path,
    }
}

/// True when `path` is a file whose first line is a `#!` line asking for `--shebang-wrap`:
/// the script the kernel named after an `env -S` line's words.
pub fn is_wrapping_script(path: &OsString) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else { return false };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = Vec::with_capacity(512);
    if file.take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    line.starts_with("#!") && (line.contains("--shebang-wrap") || line.contains("--shebangwrap"))
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
        // No arguments: the values come from standard input.
        let got = rewrite(&os(&["--shebangwrap perl", "./s.pl"])).unwrap();
        assert_eq!(got, Shebang::Wrap(os(&["--_pipe-means-argfiles", "perl", "./s.pl"])));
        let got = rewrite(&os(&["--shebang-wrap perl", "./my s.pl", "a"])).unwrap();
        assert_eq!(got, Shebang::Wrap(os(&["--_pipe-means-argfiles", "perl", "'./my s.pl'", ":::", "a"])));
    }

    #[test]
    fn env_s_words_find_the_script_by_its_first_line() {
        let dir = std::env::temp_dir().join(format!("hrun-shebang-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s.pl");
        std::fs::write(&script, "#!/usr/bin/env -S parallel --shebang-wrap -k perl :::\nprint 1;\n").unwrap();
        let other = dir.join("data");
        std::fs::write(&other, "#!/bin/sh\n").unwrap();
        let s = script.to_str().unwrap();
        let o = other.to_str().unwrap();
        let got = rewrite(&os(&["--shebang-wrap", "-k", "perl", "-w", o, ":::", s, "a", "b"])).unwrap();
        let want = os(&["--_pipe-means-argfiles", "-k", "perl", "-w", o, s, ":::", "a", "b"]);
        assert_eq!(got, Shebang::Wrap(want));
        assert!(is_wrapping_script(&script.clone().into_os_string()));
        assert!(!is_wrapping_script(&other.into_os_string()));
        assert!(!is_wrapping_script(&dir.clone().into_os_string()));
        std::fs::remove_dir_all(&dir).unwrap();
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
