//! GNU parallel's command line as its option parser reads it: Perl's Getopt::Long 2.52,
//! configured as GNU parallel 20221122 configures it (`bundling`, `require_order`, and the
//! defaults: `auto_abbrev`, `ignore_case`, `getopt_compat`, no `pass_through`).
//!
//! - `--name`, `--name=value`, `--name value`; any unambiguous prefix of a name (`--res`), in
//!   any case (`--JOBS`); an exact name wins over longer ones (`--k`, `--j 4`).
//! - `-x` takes one letter, case-sensitive, and bundles: `-kj4` is `-k -j 4`; a value-taking
//!   letter takes the rest of the word (`-j=4` gives `=4`) or, at its end, the next word.
//! - `+name` is a long option too (Getopt::Long's `getopt_compat`), but without `=value`.
//! - A required value takes the next word whatever it is (`-j --` gives `--`); an optional one
//!   (`-i`, `-e`, `-l`) only a word that does not look like an option.
//! - Options end at `--` (dropped) or at the first word that is not an option: the command, or
//!   `:::` and its kin. A bad option is reported and parsing goes on, as Getopt::Long does.
//! - With `$POSIXLY_CORRECT` set, Getopt::Long takes no prefixes and no `+`.

use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::sync::OnceLock;

use super::options::{Answer, GnuOption, Kind, Takes};
use super::table::OPTIONS;

/// How Getopt::Long is configured besides GNU parallel's own settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// `$POSIXLY_CORRECT` is set: no abbreviations, no `+name`.
    pub posixly_correct: bool,
}

impl Mode {
    pub fn from_env() -> Mode {
        Mode { posixly_correct: std::env::var_os("POSIXLY_CORRECT").is_some() }
    }
}

/// Where an option came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A profile: `~/.parallel/config` and its kin, or `-J NAME`'s file.
    Profile,
    /// `$PARALLEL` (or `$PARALLEL_CSH`).
    Env,
    CommandLine,
}

/// One option as it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Given {
    pub option: &'static GnuOption,
    /// As written, without any value: `--res`, `-j` (from `-kj4`), `+k`, `--JOBS`.
    pub written: String,
    /// The value, or None for a flag and for an optional value left out (GNU then uses `''`,
    /// or 0 for `-l`). Integers as Perl reads them (`+0_5` is `5`); other kinds as written
    /// (real numbers without their `_`).
    pub value: Option<String>,
    pub origin: Origin,
}

impl Given {
    /// The line hrun refuses it with, naming it as written (and by its name when written as a
    /// prefix): `--pip (--pipe): hrun does not ...`. None when hrun takes it.
    pub fn refusal(&self) -> Option<String> {
        match self.option.answer {
            Answer::Refused(why) => Some(format!("{}: {why}", self.shown())),
            Answer::Retired(line) => Some(line.replace('\n', " ")),
            Answer::Accepted(_) | Answer::Ignored(_) => None,
        }
    }

    fn shown(&self) -> String {
        let bare = self.written.trim_start_matches(['-', '+']).to_ascii_lowercase();
        let exact =
            self.option.names.iter().any(|n| *n == bare || (n.len() == 1 && self.written.ends_with(n)));
        if exact {
            self.written.clone()
        } else {
            format!("{} ({})", self.written, GnuOption::dashed(self.option.name()))
        }
    }
}

/// A word the parser cannot take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Getopt::Long's own complaint, worded as GNU prints it ("Unknown option: foo"); GNU
    /// prints each one, then its usage on standard output, and exits 255.
    Gnu(String),
    /// An option or its value that is not UTF-8 (hrun's options are text).
    NotText(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Gnu(line) => f.write_str(line),
            Problem::NotText(word) => write!(f, "option or value {word:?} is not valid UTF-8"),
        }
    }
}

/// A command line, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Every option, in the order given (profiles, then `$PARALLEL`, then the command line).
    pub options: Vec<Given>,
    pub problems: Vec<Problem>,
    /// The words after the options: the command and its sources (`--` dropped).
    pub rest: Vec<OsString>,
}

impl Parsed {
    /// The one line to stop with, if any: the first option hrun refuses (or GNU has retired),
    /// else the first problem. A refusal comes first so that an option hrun refuses is
    /// named even when an unknown one follows it.
    pub fn first_error(&self) -> Option<String> {
        self.options.iter().find_map(Given::refusal).or_else(|| self.problems.first().map(|p| p.to_string()))
    }
}

/// Parses one list of words (a command line, a profile's words or `$PARALLEL`'s).
pub fn parse(words: &[OsString], mode: Mode) -> Parsed {
    Parser { mode, origin: Origin::CommandLine, prescan: false, out: Parsed::default() }.run(words)
}

/// What GNU reads from the command line before anything else: the profiles it names (`-J`,
/// `--profile`) and `--plain`, and the command line's own problems.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prescan {
    pub profiles: Vec<String>,
    pub plain: bool,
    pub problems: Vec<Problem>,
}

/// GNU's first pass over the command line (all options known, only `-J` and `--plain` kept).
pub fn prescan(argv: &[OsString], mode: Mode) -> Prescan {
    let parsed =
        Parser { mode, origin: Origin::CommandLine, prescan: true, out: Parsed::default() }.run(argv);
    let named = |n: &'static str| move |g: &&Given| g.option.name() == n;
    Prescan {
        profiles: parsed.options.iter().filter(named("profile")).filter_map(|g| g.value.clone()).collect(),
        plain: parsed.options.iter().any(|g| g.option.name() == "plain"),
        problems: parsed.problems,
    }
}

/// GNU's whole reading: the profiles' words, `$PARALLEL`'s and the command line's, each parsed
/// on its own (options stop at each one's first non-option); the words left of each, in that
/// order, make the command (so a profile may hold `nice -n 5`). Problems are those GNU reports:
/// the command line's (from its first pass), else the profiles', else `$PARALLEL`'s.
pub fn parse_layers(profile: &[String], env: &[String], argv: &[OsString], mode: Mode) -> Parsed {
    let layer = |words: Vec<OsString>, origin| {
        Parser { mode, origin, prescan: false, out: Parsed::default() }.run(&words)
    };
    let first = prescan(argv, mode).problems;
    let p = layer(profile.iter().map(OsString::from).collect(), Origin::Profile);
    let e = layer(env.iter().map(OsString::from).collect(), Origin::Env);
    let a = layer(argv.to_vec(), Origin::CommandLine);
    let problems =
        [first, p.problems, e.problems, a.problems].into_iter().find(|x| !x.is_empty()).unwrap_or_default();
    Parsed {
        options: [p.options, e.options, a.options].concat(),
        problems,
        rest: [p.rest, e.rest, a.rest].concat(),
    }
}

/// Getopt::Long's keys: names longer than one letter lowercased, one-letter names as written.
fn keys() -> &'static BTreeMap<String, &'static GnuOption> {
    static KEYS: OnceLock<BTreeMap<String, &'static GnuOption>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut m = BTreeMap::new();
        for o in OPTIONS {
            for n in o.names {
                m.insert(if n.len() == 1 { n.to_string() } else { n.to_ascii_lowercase() }, o);
            }
        }
        m
    })
}

struct Parser {
    mode: Mode,
    origin: Origin,
    /// GNU's first pass links every option but -J and --plain to a list, so `--template`'s
    /// KEY=VALUE is not checked there.
    prescan: bool,
    out: Parsed,
}

/// A word split into its option part.
struct Word {
    starter: &'static str,
    /// The option text after the starter (for `--`, before any `=`).
    opt: String,
    /// `--name=VALUE`'s value.
    optarg: Option<String>,
}

impl Parser {
    fn run(mut self, words: &[OsString]) -> Parsed {
        let mut queue: VecDeque<OsString> = words.iter().cloned().collect();
        while let Some(word) = queue.pop_front() {
            if word == "--" {
                break;
            }
            let Some(w) = self.split(&word) else {
                queue.push_front(word);
                break;
            };
            self.option(w, &mut queue);
        }
        self.out.rest = queue.into();
        self.out
    }

    /// The word as an option (`-` alone and words without a starter are not options).
    fn split(&mut self, word: &OsStr) -> Option<Word> {
        let starters: &[&'static str] =
            if self.mode.posixly_correct { &["--", "-"] } else { &["--", "-", "+"] };
        let bytes = word.as_encoded_bytes();
        let starter = *starters.iter().find(|s| bytes.starts_with(s.as_bytes()))?;
        if word == "-" {
            return None;
        }
        let text = match word.to_str() {
            Some(t) => t.to_string(),
            None => {
                self.out.problems.push(Problem::NotText(word.to_string_lossy().into_owned()));
                String::from_utf8_lossy(bytes).into_owned()
            }
        };
        let opt = text[starter.len()..].to_string();
        // Only `--name=value` carries its value (bundling keeps it from `-` and `+`), and only
        // from an `=` after the first character.
        if starter == "--"
            && let Some((at, _)) = opt.char_indices().skip(1).find(|(_, c)| *c == '=')
        {
            return Some(Word {
                starter,
                opt: opt[..at].to_string(),
                optarg: Some(opt[at + 1..].to_string()),
            });
        }
        Some(Word { starter, opt, optarg: None })
    }

    fn complain(&mut self, line: String) {
        self.out.problems.push(Problem::Gnu(line));
    }

    /// FindOption and the storing of its value.
    fn option(&mut self, w: Word, queue: &mut VecDeque<OsString>) {
        let mut rest = None;
        let (key, written) = if w.starter == "-" {
            let first = w.opt.chars().next().map_or(String::new(), String::from);
            let tail = &w.opt[first.len()..];
            rest = (!tail.is_empty()).then(|| tail.to_string());
            (Some(first.clone()), format!("-{first}"))
        } else {
            (self.long_key(&w.opt), format!("{}{}", w.starter, w.opt))
        };
        let Some(key) = key else { return };
        let Some(&option) = keys().get(&key) else {
            // Unknown: bundling reports one character and puts the rest of a `-` word back.
            let name = self.unknown_name(w.starter, &w.opt);
            if let Some(r) = rest {
                queue.push_front(format!("-{r}").into());
            }
            self.complain(if name.is_empty() {
                format!("Missing option after {}", w.starter)
            } else {
                format!("Unknown option: {name}")
            });
            return;
        };
        let value = match option.takes {
            Takes::Nothing => {
                if w.optarg.is_some() {
                    return self.complain(format!("Option {key} does not take an argument"));
                }
                if let Some(r) = rest {
                    queue.push_front(format!("-{r}").into());
                }
                None
            }
            Takes::Required(kind) | Takes::Optional(kind) => {
                let required = matches!(option.takes, Takes::Required(_));
                match self.value(&key, kind, required, w.starter, w.optarg, rest, queue) {
                    Ok(v) => v,
                    Err(()) => return,
                }
            }
        };
        self.out.options.push(Given { option, written, value, origin: self.origin });
    }

    /// The key a long option (`--` or `+`) names, or None after reporting it as ambiguous.
    fn long_key(&mut self, opt: &str) -> Option<String> {
        let opt = opt.to_ascii_lowercase();
        if self.mode.posixly_correct || opt.is_empty() {
            return Some(opt);
        }
        let hits: Vec<(&String, &&GnuOption)> =
            keys().range(opt.clone()..).take_while(|(k, _)| k.starts_with(&opt)).collect();
        if hits.len() <= 1 || hits.iter().any(|(k, _)| **k == opt) {
            return Some(hits.first().filter(|_| hits.len() == 1).map_or(opt, |(k, _)| k.to_string()));
        }
        let names: std::collections::BTreeSet<&str> = hits.iter().map(|(_, o)| o.name()).collect();
        if let [n] = names.into_iter().collect::<Vec<_>>()[..] {
            return Some(if n.len() == 1 { n.to_string() } else { n.to_ascii_lowercase() });
        }
        let all: Vec<&str> = hits.iter().map(|(k, _)| k.as_str()).collect();
        self.complain(format!("Option {opt} is ambiguous ({})", all.join(", ")));
        None
    }

    /// The name Getopt::Long reports an unknown option by: the first letter of a bundle as
    /// written; a long option lowercased (its abbreviation lookup lowercased it), or as written
    /// where there is none (`$POSIXLY_CORRECT`); after `+`, its first letter, lowercased.
    fn unknown_name(&self, starter: &str, opt: &str) -> String {
        let first = |t: &str| t.chars().next().map_or(String::new(), String::from);
        match starter {
            "-" => first(opt),
            "+" => first(&opt.to_ascii_lowercase()),
            _ if self.mode.posixly_correct => opt.to_string(),
            _ => opt.to_ascii_lowercase(),
        }
    }

    /// Takes an option's value: from `=value`, the rest of a bundle, or the next word.
    /// Err after a complaint.
    #[allow(clippy::too_many_arguments)]
    fn value(
        &mut self,
        key: &str,
        kind: Kind,
        required: bool,
        starter: &str,
        optarg: Option<String>,
        rest: Option<String>,
        queue: &mut VecDeque<OsString>,
    ) -> Result<Option<String>, ()> {
        let available = match &optarg {
            Some(v) => !v.is_empty(),
            None => rest.is_some() || !queue.is_empty(),
        };
        let hash = kind == Kind::KeyValue && !self.prescan;
        if !available {
            if required || hash {
                self.complain(format!("Option {key} requires an argument"));
                return Err(());
            }
            return Ok(None);
        }
        let given_inline = optarg.is_some() || rest.is_some();
        let arg = match (rest.clone(), optarg.clone()) {
            (Some(r), _) => r,
            (None, Some(o)) => o,
            (None, None) => self.text(queue.pop_front().expect("a word is available")),
        };
        let push_rest = |queue: &mut VecDeque<OsString>, r: Option<String>| {
            if let Some(r) = r {
                queue.push_front(format!("{starter}{r}").into());
            }
        };
        match kind {
            Kind::KeyValue if hash && !arg.contains('=') => {
                self.complain(format!("Option {key}, key \"{arg}\", requires a value"));
                push_rest(queue, rest);
                Err(())
            }
            Kind::Text | Kind::KeyValue => {
                if required || given_inline || arg == "-" || !self.looks_like_option(&arg) {
                    return Ok(Some(arg));
                }
                queue.push_front(arg.into());
                Ok(None)
            }
            Kind::Int | Kind::Float => {
                let matched = if kind == Kind::Int { int_len(&arg) } else { float_len(&arg) };
                if rest.is_some()
                    && let Some(n) = matched.filter(|n| kind == Kind::Float || *n > 0)
                {
                    // A bundle: the number at the start of the rest; what follows is options.
                    push_rest(queue, Some(arg[n..].to_string()).filter(|r| !r.is_empty()));
                    return Ok(Some(number(kind, &arg[..n])));
                }
                if matched == Some(arg.len()) && !arg.is_empty() {
                    return Ok(Some(number(kind, &arg)));
                }
                if optarg.is_some() || required {
                    let what = if kind == Kind::Int { "number expected" } else { "real number expected" };
                    self.complain(format!("Value \"{arg}\" invalid for option {key} ({what})"));
                    push_rest(queue, rest);
                    return Err(());
                }
                // An optional number left out: the word goes back.
                match rest {
                    Some(r) => queue.push_front(format!("{starter}{r}").into()),
                    None => queue.push_front(arg.into()),
                }
                Ok(None)
            }
        }
    }

    /// Getopt::Long's test for "the next word is an option, not a value": `--`, or a starter
    /// followed by something.
    fn looks_like_option(&self, word: &str) -> bool {
        let starters: &[&str] = if self.mode.posixly_correct { &["--", "-"] } else { &["--", "-", "+"] };
        word == "--" || starters.iter().any(|s| word.len() > s.len() && word.starts_with(s))
    }

    fn text(&mut self, word: OsString) -> String {
        word.into_string().unwrap_or_else(|w| {
            let lossy = w.to_string_lossy().into_owned();
            self.out.problems.push(Problem::NotText(lossy.clone()));
            lossy
        })
    }
}

/// The length of `[-+]?_*[0-9][0-9_]*` at the start of `s` (Getopt::Long's integer), if any.
pub(super) fn int_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    while b.get(i) == Some(&b'_') {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    Some(i)
}

/// The length of Getopt::Long's real number at the start of `s`: `[-+]?(?=[0-9.])[0-9_]*`
/// `(\.[0-9_]+)?([eE][-+]?[0-9_]+)?`, None when it cannot start (it may match nothing: `.`).
pub(super) fn float_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
        i
    };
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    if !b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
        return None;
    }
    i = digits(i);
    if b.get(i) == Some(&b'.') && digits(i + 1) > i + 1 {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let j = i + 1 + usize::from(matches!(b.get(i + 1), Some(b'-' | b'+')));
        if digits(j) > j {
            i = digits(j);
        }
    }
    Some(i)
}

/// A number as GNU keeps it: an integer as Perl's `0+` prints it, a real number as written
/// without its `_` (GNU compares `-l`'s value with "-0" as text).
fn number(kind: Kind, text: &str) -> String {
    let t = text.replace('_', "");
    if kind == Kind::Int { t.parse::<i64>().map_or(t, |n| n.to_string()) } else { t }
}
