//! The parser's rules, one test each, with cases checked against GNU parallel 20221122
//! (`gnu::oracle` checks many more against the installed program).

use std::ffi::OsString;

use super::getopt::{self, Mode, Origin, Parsed, Problem, float_len, int_len, parse, parse_layers, prescan};
use super::options::{Answer, GnuOption, Kind, Takes};
use super::table::OPTIONS;

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn p(words: &[&str]) -> Parsed {
    parse(&os(words), Mode::default())
}

type Opts = Vec<(String, Option<String>)>;

/// (name, value) of each option, then the rest, then the problems.
fn summary(parsed: &Parsed) -> (Opts, Vec<String>, Vec<String>) {
    (
        parsed.options.iter().map(|g| (g.option.name().to_string(), g.value.clone())).collect(),
        parsed.rest.iter().map(|w| w.to_string_lossy().into_owned()).collect(),
        parsed.problems.iter().map(ToString::to_string).collect(),
    )
}

fn opts(words: &[&str]) -> Opts {
    let parsed = p(words);
    assert!(parsed.problems.is_empty(), "{words:?}: {:?}", parsed.problems);
    summary(&parsed).0
}

fn problems(words: &[&str]) -> Vec<String> {
    summary(&p(words)).2
}

fn o(name: &str, value: Option<&str>) -> (String, Option<String>) {
    (name.to_string(), value.map(String::from))
}

#[test]
fn every_name_of_every_option_parses() {
    for option in OPTIONS {
        for name in option.names {
            let dashed = GnuOption::dashed(name);
            let sample = match option.takes {
                Takes::Nothing => None,
                Takes::Required(Kind::KeyValue) => Some("k=v"),
                Takes::Required(_) | Takes::Optional(_) => Some("5"),
            };
            let mut words = vec![dashed.as_str()];
            words.extend(sample);
            words.push("echo");
            let parsed = p(&words);
            assert!(parsed.problems.is_empty(), "{words:?}: {:?}", parsed.problems);
            assert_eq!(parsed.options.len(), 1, "{words:?}");
            assert!(std::ptr::eq(parsed.options[0].option, option), "{words:?}");
            assert_eq!(parsed.options[0].value.as_deref(), sample, "{words:?}");
            assert_eq!(parsed.options[0].written, dashed);
            assert_eq!(parsed.rest, os(&["echo"]), "{words:?}");
            if let (Some(v), true) = (sample, name.len() > 1) {
                let joined = format!("{dashed}={v}");
                assert_eq!(opts(&[&joined, "echo"]), [o(option.name(), Some(v))], "{joined}");
            }
        }
    }
}

#[test]
fn options_stop_at_the_command_at_markers_and_at_double_dash() {
    let (o1, rest, _) = summary(&p(&["-k", "echo", "-j", "2", ":::", "a"]));
    assert_eq!(
        (o1, rest),
        (vec![o("keep-order", None)], ["echo", "-j", "2", ":::", "a"].map(String::from).into())
    );
    let (_, rest, _) = summary(&p(&["-j2", ":::", "-k"]));
    assert_eq!(rest, [":::", "-k"]);
    let (_, rest, _) = summary(&p(&["::::", "f"]));
    assert_eq!(rest, ["::::", "f"]);
    let (o2, rest, _) = summary(&p(&["-k", "--", "-u", "x"]));
    assert_eq!((o2.len(), rest), (1, ["-u", "x"].map(String::from).into()));
    // A lone "-" is not an option.
    let (_, rest, _) = summary(&p(&["-", "-k"]));
    assert_eq!(rest, ["-", "-k"]);
}

#[test]
fn long_options_take_values_inline_or_next() {
    assert_eq!(opts(&["--jobs=4"]), [o("jobs", Some("4"))]);
    assert_eq!(opts(&["--jobs", "4"]), [o("jobs", Some("4"))]);
    assert_eq!(opts(&["--jobs", "--"]), [o("jobs", Some("--"))]);
    assert_eq!(opts(&["--tagstring=a=b"]), [o("tag-string", Some("a=b"))]);
    assert_eq!(opts(&["--colsep", ""]), [o("col-sep", Some(""))]);
    assert_eq!(problems(&["--jobs="]), ["Option jobs requires an argument"]);
    assert_eq!(problems(&["--jobs"]), ["Option jobs requires an argument"]);
    assert_eq!(problems(&["--keep-order=1"]), ["Option keep-order does not take an argument"]);
}

#[test]
fn unambiguous_prefixes_any_case() {
    assert_eq!(opts(&["--res", "x.csv"]), [o("results", Some("x.csv"))]);
    assert_eq!(opts(&["--resul", "x"]), [o("results", Some("x"))]);
    assert_eq!(opts(&["--joblo", "jl"]), [o("joblog", Some("jl"))]);
    assert_eq!(opts(&["--JOBS", "3"]), [o("jobs", Some("3"))]);
    assert_eq!(opts(&["--Keep-Order"]), [o("keep-order", None)]);
    // Prefixes of one option's aliases only are not ambiguous.
    assert_eq!(opts(&["--line-buf"]), [o("line-buffer", None)]);
    assert_eq!(opts(&["--colour-f"]), [o("color-failed", None)]);
    assert_eq!(
        problems(&["--colo"]),
        ["Option colo is ambiguous (color, color-fail, color-failed, colorfail, colorfailed, colour, \
          colour-fail, colour-failed, colourfail, colourfailed)"]
    );
    // An exact name wins over longer ones; one-letter names too.
    assert_eq!(
        opts(&["--k", "--j", "2", "--v"]),
        [o("keep-order", None), o("jobs", Some("2")), o("v", None)]
    );
    // `--X` is lowercased first: it is `--x`, exit.
    assert_eq!(opts(&["--X"]), [o("exit", None)]);
    assert_eq!(opts(&["--V"]), [o("v", None)]);
}

#[test]
fn ambiguous_prefixes_name_every_candidate() {
    assert_eq!(problems(&["--jo", "2"]), ["Option jo is ambiguous (joblog, jobs)"]);
    assert_eq!(
        problems(&["--resu"]),
        ["Option resu is ambiguous (result, results, resume, resume-failed, resumefailed)"]
    );
    assert_eq!(
        problems(&["--shell"]),
        [
            "Option shell is ambiguous (shell-completion, shell-quote, shell_quote, shellcompletion, shellquote)"
        ]
    );
}

#[test]
fn unknown_options_as_getopt_long_words_them() {
    assert_eq!(problems(&["--FOO"]), ["Unknown option: foo"]);
    assert_eq!(problems(&["--foo=bar", "--baz", "echo"]), ["Unknown option: foo", "Unknown option: baz"]);
    // A bundle reports the letter and goes on with the rest of it.
    let parsed = p(&["-kZj4", "echo"]);
    assert_eq!(summary(&parsed).2, ["Unknown option: Z"]);
    assert_eq!(summary(&parsed).0, [o("keep-order", None), o("jobs", Some("4"))]);
    assert_eq!(problems(&["+jobs=4"]), ["Unknown option: j"]);
    assert_eq!(problems(&["+", "echo"]), ["Missing option after +"]);
    assert_eq!(problems(&["---x"]), ["Unknown option: -x"]);
}

#[test]
fn bundles_of_letters() {
    assert_eq!(opts(&["-kj4"]), [o("keep-order", None), o("jobs", Some("4"))]);
    assert_eq!(opts(&["-j4"]), [o("jobs", Some("4"))]);
    assert_eq!(opts(&["-j", "4"]), [o("jobs", Some("4"))]);
    assert_eq!(opts(&["-j=4"]), [o("jobs", Some("=4"))]);
    assert_eq!(opts(&["-kuv"]), [o("keep-order", None), o("ungroup", None), o("v", None)]);
    assert_eq!(opts(&["-0a", "f"]), [o("null", None), o("arg-file", Some("f"))]);
    // Letters are case-sensitive: -X is not -x.
    assert_eq!(opts(&["-X", "-x"]), [o("X", None), o("exit", None)]);
    // An integer in a bundle ends where the digits end; the rest are options.
    assert_eq!(opts(&["--nice", "+0_5"]), [o("nice", Some("5"))]);
    assert_eq!(problems(&["--nice", "abc"]), ["Value \"abc\" invalid for option nice (number expected)"]);
    assert_eq!(problems(&["-j"]), ["Option j requires an argument"]);
}

#[test]
fn optional_values() {
    // -i takes the next word unless it looks like an option (GNU's -i echo {} gives "{} a").
    assert_eq!(summary(&p(&["-i", "echo", "{}"])).0, [o("replace", Some("echo"))]);
    assert_eq!(opts(&["-i", "-k"]), [o("replace", None), o("keep-order", None)]);
    assert_eq!(opts(&["-i", "-"]), [o("replace", Some("-"))]);
    assert_eq!(opts(&["-i"]), [o("replace", None)]);
    assert_eq!(opts(&["--replace="]), [o("replace", None)]);
    assert_eq!(opts(&["-i{}"]), [o("replace", Some("{}"))]);
    assert_eq!(opts(&["-e", "--"]), [o("eof", None)]);
    // -l takes a number only; anything else goes back.
    assert_eq!(summary(&p(&["-l", "echo"])).0, [o("max-lines", None)]);
    assert_eq!(summary(&p(&["-l", "echo"])).1, ["echo"]);
    assert_eq!(opts(&["-l", "3"]), [o("max-lines", Some("3"))]);
    assert_eq!(opts(&["-l", "-0"]), [o("max-lines", Some("-0"))]);
    assert_eq!(opts(&["-l2k"]), [o("max-lines", Some("2")), o("keep-order", None)]);
    assert_eq!(opts(&["-lk"]), [o("max-lines", None), o("keep-order", None)]);
    assert_eq!(
        problems(&["--max-lines=x"]),
        ["Value \"x\" invalid for option max-lines (real number expected)"]
    );
}

#[test]
fn numbers_as_getopt_long_reads_them() {
    assert_eq!(int_len("12ab"), Some(2));
    assert_eq!(int_len("-_1_2"), Some(5));
    assert_eq!(int_len("+"), None);
    assert_eq!(float_len("1.5e3x"), Some(5));
    assert_eq!(float_len(".5"), Some(2));
    assert_eq!(float_len("1e"), Some(1));
    assert_eq!(float_len("."), Some(0));
    assert_eq!(float_len("x"), None);
    assert_eq!(opts(&["--sshdelay", "1.5e1"]), [o("ssh-delay", Some("1.5e1"))]);
}

#[test]
fn key_value_options() {
    assert_eq!(opts(&["--tmpl", "a=b"]), [o("template", Some("a=b"))]);
    assert_eq!(problems(&["--tmpl", "x"]), ["Option tmpl, key \"x\", requires a value"]);
}

#[test]
fn posixly_correct_takes_no_prefixes_and_no_plus() {
    let posix = Mode { posixly_correct: true };
    let parsed = parse(&os(&["--resul", "x"]), posix);
    assert_eq!(summary(&parsed).2, ["Unknown option: resul"]);
    let parsed = parse(&os(&["--RESULTS", "x", "+k"]), posix);
    assert_eq!(summary(&parsed).0, [o("results", Some("x"))]);
    assert_eq!(summary(&parsed).1, ["+k"]);
    assert_eq!(summary(&parse(&os(&["--FOO"]), posix)).2, ["Unknown option: FOO"]);
}

#[test]
fn refusals_name_the_option_and_come_first() {
    // A refused option is named even when an unknown one follows it.
    let parsed = p(&["--group-by", "1", "--blok", "10M", "wc"]);
    assert_eq!(summary(&parsed).2, ["Unknown option: blok"]);
    let line = parsed.first_error().unwrap();
    assert!(line.starts_with("--group-by: hrun exec does not do this with --pipe yet"), "{line}");
    let line = p(&["--block-timeo", "1", "--block", "10M", "wc"]).first_error().unwrap();
    assert!(line.starts_with("--block-timeo (--block-timeout): "), "{line}");
    let line = p(&["--onall", "-S", "host", "echo"]).first_error().unwrap();
    assert!(line.starts_with("--onall: hrun runs each job once"), "{line}");
    assert_eq!(p(&["-H", "1"]).first_error().unwrap(), "-H has been retired. Use --halt.");
    assert_eq!(p(&["--foo"]).first_error().unwrap(), "Unknown option: foo");
    assert_eq!(p(&["-k", "--will-cite", "echo"]).first_error(), None);
    // Every refused option, by every name, is named in its line.
    for option in OPTIONS {
        if !matches!(option.answer, Answer::Refused(_)) {
            continue;
        }
        for name in option.names {
            let dashed = GnuOption::dashed(name);
            let words: Vec<&str> = match option.takes {
                Takes::Required(Kind::KeyValue) => vec![&dashed, "k=v"],
                Takes::Nothing => vec![&dashed],
                _ => vec![&dashed, "1"],
            };
            let line = p(&words).first_error().unwrap_or_default();
            assert!(line.starts_with(&format!("{dashed}: ")), "{dashed}: {line}");
        }
    }
}

#[test]
fn words_that_are_not_text() {
    use std::os::unix::ffi::OsStringExt;
    let words = vec![OsString::from("--tagstring"), OsString::from_vec(vec![b'x', 0xff]), "echo".into()];
    let parsed = parse(&words, Mode::default());
    assert_eq!(parsed.problems.len(), 1);
    assert!(matches!(parsed.problems[0], Problem::NotText(_)));
    // After the options, words stay as they are.
    let words = vec![OsString::from("-k"), OsString::from_vec(vec![0xff])];
    let parsed = parse(&words, Mode::default());
    assert!(parsed.problems.is_empty());
    assert_eq!(parsed.rest, [OsString::from_vec(vec![0xff])]);
}

#[test]
fn profiles_then_the_variable_then_the_command_line() {
    let profile = ["-j".to_string(), "2".to_string(), "nice".to_string(), "-k".to_string()];
    let env = ["--tag".to_string()];
    let parsed = parse_layers(&profile, &env, &os(&["-u", "echo", ":::", "a"]), Mode::default());
    let (got, rest, problems) = summary(&parsed);
    assert!(problems.is_empty());
    assert_eq!(got, [o("jobs", Some("2")), o("tag", None), o("ungroup", None)]);
    // Each list stops at its own first non-option; what is left of each makes the command.
    assert_eq!(rest, ["nice", "-k", "echo", ":::", "a"]);
    let origins: Vec<Origin> = parsed.options.iter().map(|g| g.origin).collect();
    assert_eq!(origins, [Origin::Profile, Origin::Env, Origin::CommandLine]);
    // GNU reports the command line's problems first, then a profile's, then $PARALLEL's.
    let bad = |w: &str| vec![w.to_string()];
    let parsed = parse_layers(&bad("--p1"), &bad("--p2"), &os(&["--p3"]), Mode::default());
    assert_eq!(summary(&parsed).2, ["Unknown option: p3"]);
    let parsed = parse_layers(&bad("--p1"), &bad("--p2"), &os(&["-k"]), Mode::default());
    assert_eq!(summary(&parsed).2, ["Unknown option: p1"]);
    let parsed = parse_layers(&[], &bad("--p2"), &os(&["-k"]), Mode::default());
    assert_eq!(summary(&parsed).2, ["Unknown option: p2"]);
}

#[test]
fn the_first_pass_finds_profiles_and_plain() {
    let pre = prescan(&os(&["-J", "fast", "--profile=slow", "--plain", "echo", "-J", "x"]), Mode::default());
    assert_eq!(pre.profiles, ["fast", "slow"]);
    assert!(pre.plain);
    assert!(pre.problems.is_empty());
    // GNU's first pass does not check --template's KEY=VALUE; the full parse does.
    assert!(prescan(&os(&["--tmpl", "x"]), Mode::default()).problems.is_empty());
    assert!(!getopt::parse(&os(&["--tmpl", "x"]), Mode::default()).problems.is_empty());
}
