//! GNU parallel's options in `hrun exec`'s words, answered from GNU's option table
//! ([`crate::gnu`]) before hrun's own parser reads them: an option hrun exec knows is left as
//! it is; one GNU spells differently (an alias, an abbreviation, another case, a bundle) is
//! rewritten to hrun's spelling; one GNU takes and hrun ignores is dropped; one hrun refuses,
//! or does not do yet, stops the run with the line that says why and what to do instead.
//! A refusal is reported even when an option nobody knows comes before it (GNU's own parser
//! goes on past an unknown option too).

use std::ffi::{OsStr, OsString};

use crate::gnu::{self, Answer, Given, Kind, Takes};

/// An option of `hrun exec` as its parser knows it.
#[derive(Clone, Debug)]
struct Known {
    longs: Vec<String>,
    shorts: Vec<char>,
    /// It needs a value (`--jobs 4`); an optional one is never taken from the next word here.
    takes_value: bool,
}

/// `hrun exec`'s options, read from its clap command.
fn known(exec: &clap::Command) -> Vec<Known> {
    exec.get_arguments()
        .filter(|a| !a.is_positional())
        .map(|a| Known {
            longs: a
                .get_long()
                .into_iter()
                .chain(a.get_all_aliases().unwrap_or_default())
                .map(String::from)
                .collect(),
            shorts: a.get_short().into_iter().chain(a.get_all_short_aliases().unwrap_or_default()).collect(),
            takes_value: a.get_action().takes_values() && a.get_num_args().is_none_or(|n| n.min_values() > 0),
        })
        .collect()
}

fn find_long<'a>(known: &'a [Known], name: &str) -> Option<&'a Known> {
    known.iter().find(|k| k.longs.iter().any(|l| l == name))
}

fn find_short(known: &[Known], c: char) -> Option<&Known> {
    known.iter().find(|k| k.shorts.contains(&c))
}

/// GNU's one-letter options that mean something else in `hrun exec`, and what.
pub const CLASHES: &[(char, &str)] = &[('t', "--threads"), ('q', "--quiet")];

/// What `-X` means in hrun exec when GNU's `-X` is something else.
pub fn clash(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else { return None };
    CLASHES.iter().find(|(l, _)| *l == c).map(|(_, m)| *m)
}

/// True when `hrun exec` takes the GNU option (by any of its names, but a letter that means
/// something else in hrun): hrun does it.
pub fn implemented(exec: &clap::Command, option: &gnu::GnuOption) -> bool {
    let known = known(exec);
    option.names.iter().filter(|n| clash(n).is_none()).any(|n| match n.chars().collect::<Vec<_>>()[..] {
        [c] => find_short(&known, c).is_some(),
        _ => find_long(&known, n).is_some(),
    })
}

/// `words` (those after `exec`) with GNU's spellings made hrun's and ignored options dropped;
/// or the line that refuses an option.
pub fn answer(exec: &clap::Command, words: &[OsString]) -> Result<Vec<OsString>, String> {
    answer_as(exec, words, false).map_err(|r| r.line())
}

/// Why an option is not taken: hrun's line, or the lines GNU itself dies with (a retired
/// option), which `parallel` prints as GNU does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Hrun(String),
    Gnu(&'static str),
}

impl Refusal {
    /// hrun's one line.
    pub fn line(&self) -> String {
        match self {
            Refusal::Hrun(line) => line.clone(),
            Refusal::Gnu(lines) => lines.replace('\n', " "),
        }
    }

    /// GNU's error lines (after `parallel: Error: `), when GNU refuses it itself: for any of
    /// its ten retired options, all ten, as GNU prints them.
    pub fn gnu_lines(&self) -> Option<Vec<&'static str>> {
        match self {
            Refusal::Gnu(lines) if gnu::options::RETIRED_LINES.contains(lines) => {
                Some(gnu::options::RETIRED_LINES.to_vec())
            }
            Refusal::Gnu(lines) => Some(lines.split('\n').collect()),
            Refusal::Hrun(_) => None,
        }
    }
}

/// The flag that tells `hrun exec` it runs as `parallel` (first of its words, put there by
/// [`as_parallel`]).
pub const PERSONALITY: &str = "--gnu-personality";

/// [`answer`]; `personality`: hrun runs as `parallel`, so every option GNU knows has GNU's
/// meaning (`-q` is `--quote`, `-t` is `--verbose`), and hrun's own options are taken only
/// where GNU has no such option.
pub fn answer_as(
    exec: &clap::Command,
    words: &[OsString],
    personality: bool,
) -> Result<Vec<OsString>, Refusal> {
    let known = known(exec);
    let mut out = Vec::with_capacity(words.len());
    let mut refusal: Option<Refusal> = None;
    // GNU's --gnu overrides --tollef (which it otherwise refuses as retired).
    let gnu_flag = words.iter().any(|w| w == "--gnu");
    let mut i = 0;
    if personality && words.first().is_some_and(|w| w == PERSONALITY) {
        out.push(words[0].clone());
        i = 1;
    }
    let pass = |i: usize, skip: usize, out: &mut Vec<OsString>| {
        let end = (i + skip).min(words.len());
        out.extend_from_slice(&words[i..end]);
        end
    };
    while i < words.len() {
        let word = &words[i];
        let text = word.to_string_lossy();
        if !text.starts_with('-') || text == "-" || text == "--" {
            break;
        }
        // `-l` alone takes no value from the next word (GNU's optional number): read as GNU reads it.
        let bare_lines = matches!(&*text, "-l" | "--max-lines" | "--maxlines");
        if !personality
            && !bare_lines
            && let Some(skip) = hrun_knows(&known, &text)
        {
            i = pass(i, skip, &mut out);
            continue;
        }
        // GNU's reading of this word, and of the next when the option needs a value.
        let next = words.get(i + 1).cloned();
        let alone = gnu::getopt::parse(std::slice::from_ref(word), gnu::Mode::from_env());
        let (parsed, used) = match next {
            // An optional number (`--max-lines 2`) is taken from the next word when it is one.
            Some(next)
                if !alone.problems.is_empty()
                    || alone.options.last().is_some_and(|g| {
                        g.value.is_none()
                            && matches!(g.option.takes, Takes::Optional(Kind::Int | Kind::Float))
                    }) =>
            {
                let with = gnu::getopt::parse(&[word.clone(), next.clone()], gnu::Mode::from_env());
                let took =
                    with.options.last().is_some_and(|g| g.value.as_deref().map(OsStr::new) == Some(&next));
                if took { (with, 2) } else { (alone, 1) }
            }
            _ => (alone, 1),
        };
        if !parsed.problems.is_empty() || parsed.options.is_empty() {
            if let Some(skip) = hrun_knows(&known, &text) {
                // One of hrun's own options that GNU does not have (as `parallel`).
                i = pass(i, skip, &mut out);
                continue;
            }
            // Not GNU's either: hrun's parser says so, unless a refusal comes later.
            i = pass(i, used, &mut out);
            continue;
        }
        for given in &parsed.options {
            if gnu_flag && given.option.name() == "tollef" {
                continue;
            }
            match respell(&known, exec, given) {
                Ok(words) => out.extend(words),
                Err(line) => {
                    refusal.get_or_insert(line);
                }
            }
        }
        i += used;
    }
    if let Some(line) = refusal {
        return Err(line);
    }
    out.extend_from_slice(&words[i..]);
    Ok(out)
}

/// hrun's command line when it runs as `parallel` (its program name, a symlink or a copy):
/// `exec` in GNU's personality, after the words GNU reads first, from its profiles
/// (`~/.parallel/config`, `-J NAME`) and `$PARALLEL`, unless `--plain`. Any other name: as given.
pub fn as_parallel(argv: Vec<OsString>) -> Vec<OsString> {
    let named =
        argv.first().and_then(|a| std::path::Path::new(a).file_name()).is_some_and(|n| n == "parallel");
    if !named {
        return argv;
    }
    // GNU reads a `#!` line's words first, and starts again with what they say.
    let words = &shebang_words(&argv[1..], true);
    let mode = gnu::Mode::from_env();
    let prescan = gnu::getopt::prescan(words, mode);
    let (profile, env) = gnu::profile::words_before(&prescan)
        .unwrap_or_else(|e| hrun_protocol::cli_error::usage_exit("hrun", &e.to_string()));
    for (layer, what) in [(&profile, "a profile of GNU parallel's"), (&env, "$PARALLEL")] {
        let layer: Vec<OsString> = layer.iter().map(OsString::from).collect();
        let rest = gnu::getopt::parse(&layer, mode).rest;
        if !rest.is_empty() {
            let rest: Vec<_> = rest.iter().map(|w| w.to_string_lossy()).collect();
            hrun_protocol::cli_error::usage_exit(
                "hrun",
                &format!(
                    "{what} holds words of a command ({}): hrun as parallel takes only options from it",
                    rest.join(" ")
                ),
            );
        }
    }
    let mut out: Vec<OsString> = vec![argv[0].clone(), "exec".into(), PERSONALITY.into()];
    out.extend(profile.into_iter().chain(env).map(OsString::from));
    out.extend_from_slice(words);
    out
}

/// `words` as GNU reads them when the first one comes from a `#!` line (`--shebang ...`,
/// `--shebang-wrap ...`): see [`gnu::shebang`]. `gnu`: as `parallel`, where GNU's warning for
/// a `--shebang` later on that line is printed.
fn shebang_words(words: &[OsString], gnu: bool) -> Vec<OsString> {
    if gnu && gnu::shebang::misplaced(words) {
        eprintln!("parallel: Warning: --shebang and --shebang-wrap must be the first argument.");
    }
    let Some(gnu::shebang::Shebang::Shebang(w) | gnu::shebang::Shebang::Wrap(w)) =
        gnu::shebang::rewrite(words)
    else {
        return words.to_vec();
    };
    // GNU starts itself again through perl's `exec STRING`, which runs `sh -c STRING` when the
    // string holds a shell character: sh is then the parent whose shell runs the jobs.
    let through_sh = words.iter().any(|w| w.to_string_lossy().contains(|c| PERL_SH_METACHARS.contains(c)));
    let parallel_shell = std::env::var_os("PARALLEL_SHELL").is_some_and(|s| !s.is_empty());
    match crate::shell::which("sh") {
        Some(sh) if gnu && through_sh && !parallel_shell => {
            [OsString::from("--shell"), sh.into_os_string()].into_iter().chain(w).collect()
        }
        _ => w,
    }
}

/// The characters that make perl's `exec STRING` run the string with `sh -c`.
const PERL_SH_METACHARS: &str = "$&*(){}[]'\";\\|?<>~`\n";

/// hrun's command line with `exec`'s `#!` words read as GNU reads them: `#!/usr/bin/env -S hrun
/// exec --shebang-wrap python3` (the words split), and `#!/usr/bin/hrun exec --shebang-wrap
/// python3` (Linux gives `exec --shebang-wrap python3` as one word).
pub fn exec_shebang(mut argv: Vec<OsString>) -> Vec<OsString> {
    let Some(at) = argv.iter().skip(1).position(|w| !w.to_string_lossy().starts_with('-')).map(|p| p + 1)
    else {
        return argv;
    };
    let word = argv[at].to_string_lossy().into_owned();
    if let Some(rest) = word.strip_prefix("exec ").map(|r| r.trim_start_matches(' '))
        && (rest.starts_with("--shebang") || rest.starts_with("--hashbang"))
    {
        argv[at] = "exec".into();
        argv.insert(at + 1, rest.into());
    }
    if argv[at] != "exec" {
        return argv;
    }
    let words = shebang_words(&argv[at + 1..], false);
    argv.truncate(at + 1);
    argv.extend(words);
    argv
}

/// How many words an option hrun exec knows as written takes (itself and its value), or None.
fn hrun_knows(known: &[Known], word: &str) -> Option<usize> {
    if let Some(long) = word.strip_prefix("--") {
        let (name, attached) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        let k = find_long(known, name)?;
        return Some(if k.takes_value && !attached { 2 } else { 1 });
    }
    // A bundle of short options: each letter known, up to one that takes the rest as value.
    let letters: Vec<char> = word[1..].chars().collect();
    for (j, c) in letters.iter().enumerate() {
        let k = find_short(known, *c)?;
        if k.takes_value {
            return Some(if j + 1 == letters.len() { 2 } else { 1 });
        }
    }
    Some(1)
}

/// One GNU option as hrun exec's words, or the line refusing it.
fn respell(known: &[Known], exec: &clap::Command, given: &Given) -> Result<Vec<OsString>, Refusal> {
    let shown = || {
        let name = gnu::GnuOption::dashed(given.option.name());
        if given.written.trim_start_matches(['-', '+']).eq_ignore_ascii_case(given.option.name()) {
            given.written.clone()
        } else {
            format!("{} ({name})", given.written)
        }
    };
    match given.option.answer {
        Answer::Ignored(_) => Ok(Vec::new()),
        Answer::Retired(lines) => Err(Refusal::Gnu(lines)),
        Answer::Refused(_) => Err(Refusal::Hrun(given.refusal().unwrap_or_default())),
        Answer::Accepted(meaning) if !implemented(exec, given.option) => Err(Refusal::Hrun(format!(
            "{}: hrun exec does not do this yet ({}){}",
            shown(),
            meaning.describe(),
            instead(meaning).map_or(String::new(), |i| format!("; {i}"))
        ))),
        Answer::Accepted(_) => {
            let long = given.option.names.iter().find(|n| n.len() > 1 && find_long(known, n).is_some());
            let short = given
                .option
                .names
                .iter()
                .find(|n| n.len() == 1 && find_short(known, n.chars().next().unwrap_or('?')).is_some());
            let flag = match (long, short) {
                (Some(l), _) => format!("--{l}"),
                (None, Some(s)) => format!("-{s}"),
                (None, None) => {
                    return Err(Refusal::Hrun(format!("{}: not an option of hrun exec", shown())));
                }
            };
            let number = matches!(given.option.takes, Takes::Optional(Kind::Int | Kind::Float));
            Ok(match &given.value {
                // An optional number left out is 0 (Getopt::Long), never the next word.
                None if number && flag.starts_with("--") => vec![OsString::from(format!("{flag}=0"))],
                Some(v) if flag.starts_with("--") => vec![OsString::from(format!("{flag}={v}"))],
                Some(v) => vec![OsString::from(flag), OsString::from(v)],
                None => vec![OsString::from(flag)],
            })
        }
    }
}

/// What to use meanwhile, for GNU options hrun exec does not do yet.
fn instead(meaning: gnu::Meaning) -> Option<&'static str> {
    use gnu::Meaning::*;
    Some(match meaning {
        Verbose | PrintCommands => {
            "--dry-run prints the commands; the run log records each one (hrun status)"
        }
        Env => "on one node every variable of hrun's environment is passed to the jobs already",
        Results => "--output-dir DIR keeps each job's output in files of its own",
        Version | MinVersion => "`hrun --version` prints hrun's version",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec() -> clap::Command {
        let mut cli = crate::cli::Cli::documented();
        cli.build();
        cli.find_subcommand("exec").unwrap().clone()
    }

    fn answered(words: &[&str]) -> Result<Vec<String>, String> {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        answer(&exec(), &words).map(|w| w.iter().map(|w| w.to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn hrun_spellings_pass_unchanged() {
        let words = ["-j", "4", "--threads", "2", "-k", "echo", "-x", ":::", "a"];
        assert_eq!(answered(&words).unwrap(), words);
        assert_eq!(answered(&["-kj4", "--jobs=3", "echo"]).unwrap(), ["-kj4", "--jobs=3", "echo"]);
    }

    #[test]
    fn gnu_spellings_become_hruns() {
        // An abbreviation, another case, an alias.
        assert_eq!(answered(&["--keep", "echo"]).unwrap(), ["--keep-order", "echo"]);
        assert_eq!(answered(&["--JOBS", "2", "echo"]).unwrap(), ["--jobs=2", "echo"]);
        assert_eq!(answered(&["--argsep", "+++", "echo"]).unwrap(), ["--arg-sep=+++", "echo"]);
    }

    #[test]
    fn ignored_options_are_dropped() {
        // --bar is dropped; --eta is kept (GNU's progress text as `parallel`), but not after
        // the command.
        assert_eq!(
            answered(&["--eta", "--bar", "-k", "echo", "--bar"]).unwrap(),
            ["--eta", "-k", "echo", "--bar"]
        );
    }

    #[test]
    fn refusals_name_the_option_even_after_an_unknown_one() {
        let why = answered(&["--no-such-option", "--group-by", "1", "wc"]).unwrap_err();
        assert!(why.starts_with("--group-by: hrun exec does not do this with --pipe yet"), "{why}");
        let why = answered(&["-S", "host1", "--trc", "{}.out", "echo"]).unwrap_err();
        assert!(why.contains("does not copy files"), "{why}");
        assert_eq!(
            answered(&["--slf", "hosts", "-S", "h", "echo"]).unwrap(),
            ["--slf", "hosts", "-S", "h", "echo"]
        );
        // Not GNU's either: left for hrun's parser to name.
        assert_eq!(answered(&["--no-such-option", "echo"]).unwrap(), ["--no-such-option", "echo"]);
    }
}
