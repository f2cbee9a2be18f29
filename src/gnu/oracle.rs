//! The table and the parser held to the installed GNU parallel 20221122: its own option table
//! (read from the program at test time and run through Perl's own Getopt::Long), its man page,
//! and the real program's complaints. Skipped, visibly, where GNU parallel or perl is missing;
//! under CI (which installs both) that fails instead.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::getopt::{Mode, Parsed, parse};
use super::options::{Kind, Repeats, Takes};
use super::table::{self, OPTIONS};

/// The installed GNU parallel 20221122 (a Perl script), or None (skipped) outside CI.
fn gnu_parallel() -> Option<PathBuf> {
    let path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("parallel"))
        .find(|p| p.is_file());
    let version = path.as_ref().and_then(|p| Command::new(p).arg("--version").output().ok());
    let ok =
        version.is_some_and(|v| String::from_utf8_lossy(&v.stdout).starts_with("GNU parallel 20221122\n"));
    let perl = Command::new("perl").arg("-e1").status().is_ok_and(|s| s.success());
    if !(ok && perl) {
        assert!(std::env::var_os("CI").is_none(), "GNU parallel 20221122 and perl must be installed in CI");
        eprintln!("skipped: GNU parallel 20221122 or perl is not installed");
        return None;
    }
    path
}

/// Loads GNU's option table from the program itself and either prints its specs (`specs`) or
/// parses each case (words split by \x1f, cases ended by \x1e) with Getopt::Long configured
/// as GNU configures it, printing what it got: `O name value`, `W warning`, `R word`.
const HARNESS: &str = r#"
use strict; use warnings; use Getopt::Long ();
my ($gnu, $mode) = @ARGV;
my $src = do { local $/; open(my $f, '<', $gnu) or die "$gnu: $!"; <$f> };
$src =~ /^(sub options_completion_hash\(\) \{.*?^\}\n)/ms or die "no option table in $gnu\n";
{ no strict; no warnings; eval "package main; $1; 1" or die $@; }
my @och = options_completion_hash();
my @specs;
for (my $i = 0; $i < @och; $i += 2) {
    (my $k = $och[$i]) =~ s/\[.*//s;
    push @specs, [$k, ref $och[$i + 1]];
}
if ($mode eq 'specs') { print "$_->[0]\t$_->[1]\n" for @specs; exit 0; }
# Debian's package comments out upstream's --bibtex/--citation: parse with upstream's table.
if (!grep { $_->[0] eq 'bibtex|citation' } @specs) {
    my ($at) = grep { $specs[$_][0] =~ /^linkinputsource\|/ } 0..$#specs;
    splice(@specs, $at + 1, 0, ['bibtex|citation', 'SCALAR']);
}
my @out;
my %spec;
for my $s (@specs) {
    my ($k, $ref) = @$s;
    $k .= '%' if $ref eq 'HASH';
    $spec{$k} = sub { my ($o, @v) = @_; push @out, "O\t$o\t" . join('=', @v) };
}
$SIG{__WARN__} = sub { my $m = shift; chomp $m; push @out, "W\t$m" };
Getopt::Long::Configure('bundling', 'require_order');
local $/ = "\x1e";
while (my $case = <STDIN>) {
    chomp $case;
    my @words = split(/\x1f/, $case, -1);
    shift @words;
    @out = ();
    Getopt::Long::GetOptionsFromArray(\@words, %spec);
    push @out, map { "R\t$_" } @words;
    print map({ "$_\n" } @out), "\x1e";
}
"#;

fn harness(gnu: &PathBuf, mode: &str, input: &str, posixly_correct: bool) -> String {
    let mut cmd = Command::new("perl");
    cmd.args(["-e", HARNESS]).arg(gnu).arg(mode).env_remove("POSIXLY_CORRECT");
    if posixly_correct {
        cmd.env("POSIXLY_CORRECT", "1");
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "the Perl harness failed");
    String::from_utf8(out.stdout).unwrap()
}

/// Our table entry as a Getopt::Long spec and Perl destination, as GNU writes them.
fn spec(o: &super::GnuOption) -> String {
    let kind = |k| match k {
        Kind::Text | Kind::KeyValue => "s",
        Kind::Int => "i",
        Kind::Float => "f",
    };
    let value = match o.takes {
        Takes::Nothing => String::new(),
        Takes::Required(k) => format!("={}", kind(k)),
        Takes::Optional(k) => format!(":{}", kind(k)),
    };
    let dest = match (o.repeats, o.takes) {
        (Repeats::Each, Takes::Required(Kind::KeyValue)) => "HASH",
        (Repeats::Each, _) => "ARRAY",
        (Repeats::Last, _) => "SCALAR",
    };
    format!("{}{value}\t{dest}", o.names.join("|"))
}

#[test]
fn the_table_is_gnus_own_option_table() {
    let Some(gnu) = gnu_parallel() else { return };
    let theirs: Vec<String> = harness(&gnu, "specs", "", false).lines().map(String::from).collect();
    let mut ours: Vec<String> = OPTIONS.iter().map(spec).collect();
    // Debian's package (the one CI installs) comments out upstream's --bibtex/--citation.
    let citation = "bibtex|citation\tSCALAR";
    if !theirs.iter().any(|s| s == citation) {
        ours.retain(|s| s != citation);
    }
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "option {i} differs (names, value, repeats; GNU's order)");
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn every_option_of_the_man_page_has_an_answer() {
    let Some(_) = gnu_parallel() else { return };
    let man = Command::new("sh")
        .args(["-c", "zcat \"$(man -w parallel 2>/dev/null || echo /usr/share/man/man1/parallel.1.gz)\""])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&man.stdout);
    let heads: Vec<String> = page
        .lines()
        .filter_map(|l| l.strip_prefix(".IP \"\\fB\\-"))
        .map(|l| l.split("\\fR").next().unwrap_or_default().replace("\\-", "-"))
        .map(|n| n.trim_start_matches('-').to_string())
        .collect();
    assert!(heads.len() > 150, "the man page lists {} options: not the page expected", heads.len());
    let names: Vec<&str> = table::all().flat_map(|o| o.names.iter().copied()).collect();
    for h in &heads {
        assert!(names.contains(&h.as_str()), "the man page's --{h} is not in the table");
    }
}

/// A small deterministic generator (xorshift), so a failing case can be found again.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const VALUES: &[&str] = &[
    "4", "0", "-0", "+2", "_3", "1.5", "1e3", ".5", "x", "a=b", "=c", "{}", "-", "--", ":::", "", "-k", "abc",
];

/// A word for the parser: a long option (any name, maybe cut short, maybe in capitals, maybe
/// with `=value`), a bundle of letters, a value, or a command word.
fn word(rng: &mut Rng) -> String {
    let names: Vec<&str> = OPTIONS.iter().flat_map(|o| o.names.iter().copied()).collect();
    match rng.below(10) {
        0..=3 => {
            let name = names[rng.below(names.len())];
            let cut = if rng.below(2) == 0 { name.len() } else { 1 + rng.below(name.len()) };
            let mut w = name[..cut].to_string();
            if rng.below(8) == 0 {
                w = w.to_uppercase();
            }
            let starter = if rng.below(10) == 0 { "+" } else { "--" };
            if rng.below(3) == 0 {
                format!("{starter}{w}={}", rng.pick(VALUES))
            } else {
                format!("{starter}{w}")
            }
        }
        4..=6 => {
            let letters: Vec<&str> =
                names.iter().copied().filter(|n| n.len() == 1).chain(["Z", "y", "K"]).collect();
            let mut w = String::from("-");
            for _ in 0..=rng.below(3) {
                w.push_str(letters[rng.below(letters.len())]);
            }
            if rng.below(3) == 0 {
                w.push_str(rng.pick(&["4", "2k", "x", "=5", "1.5", "-0"]));
            }
            w
        }
        7..=8 => rng.pick(VALUES).to_string(),
        _ => rng.pick(&["echo", ":::", "::::", "--", "-", "+", "---x", "{}"]).to_string(),
    }
}

/// What our parser got, in the harness's terms (Perl's value for a flag is 1, for an optional
/// value left out '' or 0).
fn ours(words: &[String], mode: Mode) -> (Vec<String>, Vec<String>, Vec<String>) {
    let argv: Vec<OsString> = words.iter().map(OsString::from).collect();
    let parsed: Parsed = parse(&argv, mode);
    let options = parsed
        .options
        .iter()
        .map(|g| {
            let v = g.value.clone().unwrap_or_else(|| match g.option.takes {
                Takes::Nothing => "1".into(),
                Takes::Optional(Kind::Text) => String::new(),
                _ => "0".into(),
            });
            format!("O\t{}\t{v}", g.option.name())
        })
        .collect();
    let problems = parsed.problems.iter().map(|p| format!("W\t{p}")).collect();
    let rest = parsed.rest.iter().map(|w| format!("R\t{}", w.to_string_lossy())).collect();
    (options, problems, rest)
}

fn theirs(block: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let lines: Vec<String> = block.lines().map(String::from).collect();
    let of = |p: &str| lines.iter().filter(|l| l.starts_with(p)).cloned().collect();
    (of("O\t"), of("W\t"), of("R\t"))
}

fn compare(gnu: &PathBuf, cases: &[Vec<String>], mode: Mode) {
    let input: String =
        cases.iter().map(|c| c.iter().map(|w| format!("\x1f{w}")).collect::<String>() + "\x1e").collect();
    let out = harness(gnu, "parse", &input, mode.posixly_correct);
    let blocks: Vec<&str> = out.split('\x1e').collect();
    assert_eq!(blocks.len(), cases.len() + 1, "one answer per case");
    let mut failed = Vec::new();
    for (case, block) in cases.iter().zip(&blocks) {
        let (a, b) = (ours(case, mode), theirs(block));
        if a != b {
            failed.push(format!("{case:?}\n  ours:   {a:?}\n  Perl's: {b:?}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases differ, e.g.:\n{}",
        failed.len(),
        cases.len(),
        failed[..failed.len().min(8)].join("\n")
    );
}

#[test]
fn every_prefix_of_every_name_parses_as_getopt_long_does() {
    let Some(gnu) = gnu_parallel() else { return };
    let prefixes: std::collections::BTreeSet<&str> = OPTIONS
        .iter()
        .flat_map(|o| o.names.iter().filter(|n| n.len() > 1))
        .flat_map(|n| (1..=n.len()).map(|cut| &n[..cut]))
        .collect();
    let mut cases = Vec::new();
    for (i, p) in prefixes.iter().enumerate() {
        cases.push(vec![format!("--{p}=")]);
        // `+name` takes no `=value`; every fifth prefix is tried that way too.
        let starter = if i % 5 == 0 { "+" } else { "--" };
        cases.push(vec![format!("{starter}{p}"), "5".into(), "echo".into()]);
    }
    compare(&gnu, &cases, Mode::default());
}

#[test]
fn random_command_lines_parse_as_getopt_long_does() {
    let Some(gnu) = gnu_parallel() else { return };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let cases: Vec<Vec<String>> =
        (0..2500).map(|_| (0..=rng.below(7)).map(|_| word(&mut rng)).collect()).collect();
    compare(&gnu, &cases, Mode::default());
    compare(&gnu, &cases[..600], Mode { posixly_correct: true });
}

/// The harness is GNU's parser: the real program complains in the same words (on standard
/// error, before its usage on standard output, exit 255).
#[test]
fn the_real_program_complains_as_the_parser_does() {
    let Some(gnu) = gnu_parallel() else { return };
    let home = tempfile::tempdir().unwrap();
    for case in [
        &["--jo", "2", "echo"][..],
        &["--resu", "echo"],
        &["--foo=bar", "--baz", "echo"],
        &["-kZj4", "echo"],
        &["+jobs=4", "echo"],
        &["--jobs="],
        &["--k=1", "echo"],
        &["--nice", "abc", "echo"],
        &["+", "echo"],
        &["--tmpl", "x", "echo"],
        &["--max-lines=x", "echo"],
        &["--shell", "echo"],
    ] {
        let out = Command::new(&gnu)
            .args(case)
            .env("PARALLEL_HOME", home.path())
            .env_remove("PARALLEL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "{case:?}");
        let words: Vec<String> = case.iter().map(|w| w.to_string()).collect();
        let want: Vec<String> = ours(&words, Mode::default()).1.iter().map(|l| l[2..].to_string()).collect();
        let got: Vec<String> = String::from_utf8_lossy(&out.stderr).lines().map(String::from).collect();
        assert_eq!(got, want, "{case:?}");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("Usage:"), "{case:?}");
    }
}

/// Profiles and `$PARALLEL` are split as Perl's Text::ParseWords splits them.
#[test]
fn lines_split_as_text_parsewords_splits_them() {
    let Some(_) = gnu_parallel() else { return };
    const SPLIT: &str = r#"use Text::ParseWords; local $/ = "\x1e";
        while (my $c = <STDIN>) { chomp $c; my @w = shellwords($c); print map({ "\x1f$_" } @w), "\x1e"; }"#;
    let pieces =
        ["a", "b", " ", "  ", "\t", "\n", "'", "\"", "\\", "é", "x y", "\\'", "\\\"", "#", "=", "\r"];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let lines: Vec<String> =
        (0..3000).map(|_| (0..rng.below(9)).map(|_| pieces[rng.below(pieces.len())]).collect()).collect();
    let mut child = Command::new("perl")
        .args(["-e", SPLIT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = lines.iter().map(|l| format!("{l}\x1e")).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<Vec<String>> =
        out.split('\x1e').map(|b| b.split('\x1f').skip(1).map(String::from).collect()).collect();
    assert_eq!(theirs.len(), lines.len() + 1);
    for (line, want) in lines.iter().zip(&theirs) {
        let got = super::shellwords::split(line).unwrap_or_default();
        assert_eq!(&got, want, "{line:?}");
    }
}

/// For csh (tcsh) and fish, GNU quotes inserted values as `template::quote` says it does: the
/// real program's `--dry-run` under `$PARALLEL_SHELL`, for ASCII values of every byte but NUL.
#[test]
fn values_are_quoted_for_each_shell_as_gnu_quotes_them() {
    use crate::template::quote::{quote, quote_csh, quote_fish};
    let Some(gnu) = gnu_parallel() else { return };
    let mut rng = Rng(0xd1b5_4a32_d192_ed03);
    let ascii: Vec<char> = (1u8..=127).map(char::from).filter(|c| *c != '@').collect();
    let mut values: Vec<String> =
        ["", "a b", "it's", "x!y", "l1\nl2", "\\", "a\\", "a\\'b", "%x", "-n"].map(String::from).into();
    values.extend(
        (0..400).map(|_| (0..rng.below(8)).map(|_| ascii[rng.below(ascii.len())]).collect::<String>()),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values");
    std::fs::write(&file, values.iter().map(|v| format!("{v}\0")).collect::<String>()).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for shell in ["tcsh", "fish"] {
        let Some(sh) = std::env::split_paths(&path).map(|d| d.join(shell)).find(|p| p.is_file()) else {
            assert!(std::env::var_os("CI").is_none(), "{shell} must be installed in CI");
            eprintln!("skipped: {shell} is not installed");
            continue;
        };
        let out = Command::new(&gnu)
            .args(["--will-cite", "-j1", "-k", "-0", "--dry-run", "-a"])
            .arg(&file)
            .args(["echo", "@@{}@@"])
            .env("PARALLEL_SHELL", &sh)
            .env("PARALLEL_HOME", dir.path())
            .env_remove("PARALLEL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let body = text.strip_prefix("echo @@").and_then(|t| t.strip_suffix("@@\n")).unwrap_or_default();
        let theirs: Vec<&str> = body.split("@@\necho @@").collect();
        assert_eq!(theirs.len(), values.len(), "{shell}: one command per value");
        for (v, gnus) in values.iter().zip(theirs) {
            if shell == "tcsh" {
                assert_eq!(quote_csh(v), gnus, "{shell}: {v:?}");
            } else {
                // GNU quotes for fish as for sh; ours differs only where a backslash is.
                assert_eq!(quote(v), gnus, "{shell}: {v:?}");
                assert_eq!(quote_fish(v) == gnus, !v.contains('\\'), "{shell}: {v:?}");
            }
        }
    }
}
