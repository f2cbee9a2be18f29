//! A command template and its replacement strings, rendered into a command line exactly as
//! GNU parallel 20221122 renders it.
//!
//! Replacement strings: `{}` (every argument of the job), `{.}` (without extension), `{/}`
//! (basename), `{//}` (dirname, as Perl's `File::Basename::dirname`), `{/.}` (basename
//! without extension), the same on one argument by position (`{2}`, `{2.}`, `{-1/}`, ...),
//! `{#}` (job number) and `{%}` (slot); with `--plus`, GNU's further strings ([`super::plus`]);
//! under other names with `-I`, `--er`, ... (found as [`super::keys`] says). Inserted arguments
//! are shell-quoted ([`super::quote::quote`]); the template's own text never is. A template
//! with no replacement string gets the job's arguments appended. Anything else in braces is text.

use std::borrow::Cow;

use super::keys::Renames;
use super::plus::Edit;
use super::quote::{ShellFamily, quote, quote_csh, quote_fish};

/// What a replacement string does to an argument (GNU's Perl expression for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transform {
    /// `{}`
    Whole,
    /// `{.}`: `s:\.[^/.]*$::`
    NoExt,
    /// `{/}`: `s:.*/::`
    Base,
    /// `{//}`: `File::Basename::dirname`
    Dir,
    /// `{/.}`: basename, then without extension
    BaseNoExt,
    /// A `--plus` string: `{+/}`, `{..}`, `{%.gz}`, ...
    Plus(Edit),
    /// `{choose_k}`, `{uniq}` (`--plus`): the value as it is, and the job is skipped when its
    /// values break the rule.
    Skip(Skip),
}

/// GNU's `--plus` strings that skip jobs: a skipped job runs nothing, is shown by `-v` and
/// counted as failed, with exit value -2 in the joblog (GNU's Perl: `skip()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// `{choose_k}`: only values in strictly increasing order (as strings, byte by byte:
    /// Perl's `ge`), so that `::: A B C ::: A B C` gives each 2-subset once.
    ChooseK,
    /// `{uniq}`: only values that are all different and not empty (GNU's `@arg` holds an
    /// undefined value before the first, which an empty value equals).
    Uniq,
}

impl Skip {
    /// True when a job with these values is skipped.
    pub fn skips(self, args: &[String]) -> bool {
        match self {
            Skip::ChooseK => args.windows(2).any(|w| w[0] >= w[1]),
            Skip::Uniq => {
                let mut seen = std::collections::HashSet::new();
                args.iter().any(|a| a.is_empty() || !seen.insert(a.as_str()))
            }
        }
    }
}

/// One replacement string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rep {
    /// Every argument of the job, each transformed and quoted, joined by spaces.
    All(Transform),
    /// Argument `n` (1-based; negative counts from the last), transformed and quoted; empty
    /// when the job has no such argument (a short `--colsep` line).
    Pos(i64, Transform),
    /// `{#}`: the job number.
    Seq,
    /// `{%}`: the slot.
    Slot,
    /// `{##}` (`--plus`): the number of jobs.
    Total,
    /// `{0#}` (`--plus`): the job number, zero-padded to the width of the number of jobs.
    SeqPadded,
    /// `{0%}` (`--plus`): the slot, zero-padded to the width of the number of slots.
    SlotPadded,
    /// `{slot}`, `{host}`... (`--plus`): `${VAR}`, unquoted, for the shell to expand.
    Var(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Text(String),
    Rep(Rep),
}

/// How an inserted value is written: quoted for the shell that runs the line, or as it is
/// (a tag, a file name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quoting {
    /// For sh, bash, dash, ksh, zsh and the other POSIX shells: GNU parallel's quoting.
    #[default]
    Posix,
    /// For csh and tcsh, as GNU parallel quotes for them.
    Csh,
    /// For fish, with fish's own rules.
    Fish,
    /// Not quoted: `--tagstring`, `--results` names.
    Raw,
}

impl Quoting {
    /// The quoting the shell at `path` needs; None for a shell whose rules hrun does not know.
    pub fn for_shell(path: &std::path::Path) -> Option<Quoting> {
        match ShellFamily::of(path) {
            ShellFamily::Posix => Some(Quoting::Posix),
            ShellFamily::Csh => Some(Quoting::Csh),
            ShellFamily::Fish => Some(Quoting::Fish),
            ShellFamily::Unknown => None,
        }
    }

    pub(super) fn apply<'a>(self, v: &'a str) -> Cow<'a, str> {
        match self {
            Quoting::Posix => quote(v),
            Quoting::Csh => quote_csh(v),
            Quoting::Fish => quote_fish(v),
            Quoting::Raw => Cow::Borrowed(v),
        }
    }
}

/// How a job's command line is made from its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    mode: Mode,
    /// `-N`: GNU's context replace. A word (between blanks) holding `{}` (or `{.}`, ...) is
    /// repeated once per argument: `--in={}` with `a b` gives `--in=a --in=b`.
    context: bool,
    /// How values are quoted for the shell that runs the line.
    quoting: Quoting,
    /// GNU's `-q`/`--quote`: each command word on its own, its values filled in as they are,
    /// then the whole word quoted (so the line holds no shell syntax of the template's).
    quoted_words: Option<Vec<Template>>,
    /// GNU's `--shell-quote`, given this many times: the job prints its line quoted.
    shell_quote: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The template has replacement strings.
    Replace,
    /// None: the arguments are appended, quoted, as ` {}` would put them.
    Append,
    /// No command at all: the arguments are the command, joined by spaces, unquoted.
    Commands,
}

impl Template {
    /// Parses the command words (joined by spaces, never quoted, as GNU parallel joins them).
    /// An empty list means the values are the commands.
    pub fn parse(words: &[String]) -> Result<Template, String> {
        Template::parse_with(words, &[], false)
    }

    /// [`Template::parse`] with `--header :` column names (`{name}` is that column) and `-N`'s
    /// context replace.
    pub fn parse_with(words: &[String], names: &[String], context: bool) -> Result<Template, String> {
        Template::parse_in(words, &Syntax { names: names.to_vec(), context, ..Syntax::default() })
    }

    /// [`Template::parse`] under `syntax`: header names, context replace, `-I`'s string.
    pub fn parse_in(words: &[String], syntax: &Syntax) -> Result<Template, String> {
        let context = syntax.context;
        if words.is_empty() {
            return Ok(Template {
                pieces: Vec::new(),
                mode: Mode::Commands,
                context,
                quoting: syntax.quoting,
                quoted_words: None,
                shell_quote: syntax.shell_quote,
            });
        }
        let text = words.join(" ");
        for padded in ["{0#}", "{0%}", "{##}"] {
            if !syntax.plus && text.contains(padded) {
                return Err(format!(
                    "{padded} is one of GNU parallel's --plus replacement strings: add --plus"
                ));
            }
        }
        if let Some(start) = text.find("{=")
            && text[start + 2..].contains("=}")
        {
            return Err(format!(
                "{:?}: Perl expressions ({{= ... =}}) are not supported; compute the value in the \
                 input, or in shell code inside the command",
                cut(&text[start..])
            ));
        }
        let pieces = super::keys::parse(words, syntax)?;
        let mode =
            if pieces.iter().any(|p| matches!(p, Piece::Rep(_))) { Mode::Replace } else { Mode::Append };
        let quoted_words = match syntax.quote_words {
            false => None,
            true => {
                let one = Syntax { quote_words: false, quoting: Quoting::Raw, ..syntax.clone() };
                Some(
                    words
                        .iter()
                        .map(|w| Template::parse_in(std::slice::from_ref(w), &one))
                        .collect::<Result<_, _>>()?,
                )
            }
        };
        Ok(Template {
            pieces,
            mode,
            context,
            quoting: syntax.quoting,
            quoted_words,
            shell_quote: syntax.shell_quote,
        })
    }

    /// The template as GNU measures it for `-m`/`-X`: its pieces, and whether the values are
    /// appended (no replacement string) or are the commands (no template).
    pub(super) fn layout(&self) -> (&[Piece], bool, bool) {
        (&self.pieces, self.mode == Mode::Append, self.mode == Mode::Commands)
    }

    /// The highest argument position the template names (`{3}` -> 3, `{-2}` -> 2), for
    /// checking it against the sources.
    pub fn max_position(&self) -> Option<u64> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Rep(Rep::Pos(n, _)) => Some(n.unsigned_abs()),
                _ => None,
            })
            .max()
    }

    /// The template's own text (its replacement strings left out): what it runs, whatever
    /// the values are.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Text(t) => Some(t.as_str()),
                Piece::Rep(_) => None,
            })
            .collect();
        texts.join(" ")
    }

    /// The line a job runs for its rendered `line`: under `--shell-quote`, one that prints it
    /// quoted (see [`super::quote::printing_quoted`]).
    pub fn job_line(&self, line: String) -> String {
        match self.shell_quote {
            0 => line,
            n => super::quote::printing_quoted(&line, n, |v| self.quoting.apply(v).into_owned()),
        }
    }

    /// How values are quoted in [`Template::render`].
    pub fn quoting(&self) -> Quoting {
        self.quoting
    }

    /// True under `--quote` (each command word quoted whole).
    pub fn quotes_words(&self) -> bool {
        self.quoted_words.is_some()
    }

    /// True when the arguments are the commands (no template given).
    pub fn is_commands(&self) -> bool {
        self.mode == Mode::Commands
    }

    /// The command line for a job with `args`. `{#}` and `{%}` become `seq` and `slot`, or
    /// stay as written where those are `None` (the job's identity, as a task file holds it).
    pub fn render(&self, args: &[String], seq: Option<u64>, slot: Option<usize>) -> String {
        self.render_as(args, seq, slot, self.quoting)
    }

    /// [`Template::render`] with values written as `quoting` says.
    pub fn render_as(&self, args: &[String], seq: Option<u64>, slot: Option<usize>, q: Quoting) -> String {
        self.render_at(args, Numbers { seq, slot, ..Numbers::default() }, q)
    }

    /// The command line for a job with `args` and the numbers `n` (each `None` stays as written).
    /// The template as a tag (`--tagstring`): as [`Template::render_at`], but a tag with no
    /// replacement string is its text alone (GNU appends the values to a command, not to a tag).
    pub fn render_tag(&self, args: &[String], n: Numbers) -> String {
        match self.mode {
            Mode::Append if self.quoted_words.is_none() => self.text(),
            _ => self.render_at(args, n, Quoting::Raw),
        }
    }

    pub fn render_at(&self, args: &[String], n: Numbers, q: Quoting) -> String {
        if let Some(words) = &self.quoted_words {
            return self.render_quoted(words, args, n, q);
        }
        let mut out = String::with_capacity(64);
        match self.mode {
            Mode::Commands => return args.join(" "),
            Mode::Append => {
                for p in &self.pieces {
                    if let Piece::Text(t) = p {
                        out.push_str(t);
                    }
                }
                if !args.is_empty() {
                    out.push(' ');
                    push_all(&mut out, args, &Transform::Whole, q);
                }
                return out;
            }
            Mode::Replace => {}
        }
        if self.context {
            return self.render_context(args, n, q);
        }
        let at = Place { n, q };
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Rep(r) => push_rep(&mut out, r, args, None, at),
            }
        }
        out
    }

    /// True when a replacement string shows the number of jobs (`{##}`, `{0#}`).
    pub fn needs_total(&self) -> bool {
        self.reps().any(|r| matches!(r, Rep::Total | Rep::SeqPadded))
    }

    /// True when a replacement string shows the number of slots (`{0%}`).
    pub fn needs_slots(&self) -> bool {
        self.reps().any(|r| matches!(r, Rep::SlotPadded))
    }

    /// True when a job with `args` is skipped (`{choose_k}`, `{uniq}`): it runs nothing.
    pub fn skips(&self, args: &[String]) -> bool {
        self.reps().any(|r| match r {
            Rep::All(Transform::Skip(s)) | Rep::Pos(_, Transform::Skip(s)) => s.skips(args),
            _ => false,
        })
    }

    fn reps(&self) -> impl Iterator<Item = &Rep> {
        let words = self.quoted_words.iter().flatten().flat_map(|w| w.pieces.iter());
        self.pieces.iter().chain(words).filter_map(|p| match p {
            Piece::Rep(r) => Some(r),
            Piece::Text(_) => None,
        })
    }

    /// `--quote`: each word rendered with its values as they are, then quoted whole; values
    /// of a template without replacement strings are appended, each quoted (as GNU's `-q`).
    fn render_quoted(&self, words: &[Template], args: &[String], n: Numbers, q: Quoting) -> String {
        let rendered: Vec<String> = words
            .iter()
            .map(|w| match w.mode {
                // A word without replacement strings is text, whatever the values.
                Mode::Append => w.render_at(&[], n, Quoting::Raw),
                _ => w.render_at(args, n, Quoting::Raw),
            })
            .collect();
        let mut out = rendered.iter().map(|w| q.apply(w)).collect::<Vec<_>>().join(" ");
        if self.mode == Mode::Append && !args.is_empty() {
            out.push(' ');
            push_all(&mut out, args, &Transform::Whole, q);
        }
        out
    }

    /// GNU's context replace (`-N`): each blank-separated word holding an all-arguments
    /// replacement string is rendered once per argument, the copies joined by a space.
    fn render_context(&self, args: &[String], n: Numbers, q: Quoting) -> String {
        let at = Place { n, q };
        let mut out = String::with_capacity(64);
        let mut word: Vec<Seg<'_>> = Vec::new();
        let flush = |word: &mut Vec<Seg<'_>>, out: &mut String| {
            // With no values (`-N0`, `-L0`) the word stays once, its strings empty (as GNU).
            let repeat = !args.is_empty() && word.iter().any(|s| matches!(s, Seg::Rep(Rep::All(_))));
            let copies: Vec<Option<&String>> =
                if repeat { args.iter().map(Some).collect() } else { vec![None] };
            for (i, one) in copies.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                for seg in word.iter() {
                    match seg {
                        Seg::Text(t) => out.push_str(t),
                        Seg::Rep(r) => push_rep(out, r, args, one, at),
                    }
                }
            }
            word.clear();
        };
        for p in &self.pieces {
            match p {
                Piece::Rep(r) => word.push(Seg::Rep(r)),
                Piece::Text(t) => {
                    let mut rest = t.as_str();
                    while let Some(i) = rest.find(char::is_whitespace) {
                        if i > 0 {
                            word.push(Seg::Text(&rest[..i]));
                        }
                        flush(&mut word, &mut out);
                        let ws = rest[i..].chars().next().expect("found").len_utf8();
                        out.push_str(&rest[i..i + ws]);
                        rest = &rest[i + ws..];
                    }
                    if !rest.is_empty() {
                        word.push(Seg::Text(rest));
                    }
                }
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

/// A piece of one word, for context replace.
enum Seg<'a> {
    Text(&'a str),
    Rep(&'a Rep),
}

/// The numbers a job's replacement strings may show; `None`: written as the template has it
/// (a job's identity, which must not change when the count of jobs or slots does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Numbers {
    /// `{#}`: the job number.
    pub seq: Option<u64>,
    /// `{%}`: the slot (1-based).
    pub slot: Option<usize>,
    /// `{##}`: the number of jobs.
    pub total: Option<u64>,
    /// The number of slots (`{0%}`'s width).
    pub slots: Option<usize>,
}

/// Where a job is rendered: its numbers, and how values are written.
#[derive(Clone, Copy)]
struct Place {
    n: Numbers,
    q: Quoting,
}

/// GNU's width for `{0#}` and `{0%}`: `1+int(log(n)/log(10))`, in floating point as Perl
/// computes it (so 1000 is 3 wide, as in GNU).
pub fn padded_width(n: u64) -> usize {
    1 + ((n.max(1) as f64).ln() / 10f64.ln()) as usize
}

/// Writes one replacement string's value; `one`: the single argument an all-arguments string
/// stands for in a context-replaced word.
fn push_rep(out: &mut String, r: &Rep, args: &[String], one: Option<&String>, at: Place) {
    let Place { n, q } = at;
    let number = |out: &mut String, value: Option<String>, written: &str| match value {
        Some(v) => out.push_str(&v),
        None => out.push_str(written),
    };
    match r {
        Rep::All(t) => match one {
            Some(a) => out.push_str(&q.apply(&transform(a, t))),
            None => push_all(out, args, t, q),
        },
        Rep::Pos(p, t) => {
            let i = if *p > 0 {
                Some(*p as usize - 1)
            } else {
                args.len().checked_sub(p.unsigned_abs() as usize)
            };
            if let Some(a) = i.and_then(|i| args.get(i)) {
                out.push_str(&q.apply(&transform(a, t)));
            }
        }
        Rep::Seq => number(out, n.seq.map(|s| s.to_string()), "{#}"),
        Rep::Slot => number(out, n.slot.map(|s| s.to_string()), "{%}"),
        Rep::Total => number(out, n.total.map(|t| t.to_string()), "{##}"),
        Rep::SeqPadded => {
            let v = n.seq.zip(n.total).map(|(s, t)| format!("{s:0w$}", w = padded_width(t)));
            number(out, v, "{0#}")
        }
        Rep::SlotPadded => {
            let v = n.slot.zip(n.slots).map(|(s, k)| format!("{s:0w$}", w = padded_width(k as u64)));
            number(out, v, "{0%}")
        }
        Rep::Var(v) => {
            out.push_str("${");
            out.push_str(v);
            out.push('}');
        }
    }
}

fn push_all(out: &mut String, args: &[String], t: &Transform, q: Quoting) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&q.apply(&transform(a, t)));
    }
}

/// A long value shortened for a message.
fn cut(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// How replacement strings are read, beyond GNU's fixed ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Syntax {
    /// `--header :`: each name is a replacement string for its column.
    pub names: Vec<String>,
    /// `-N`: context replace.
    pub context: bool,
    /// `-I STR` (`--replace`): STR stands for every argument; `{}` and `{n}` are then text.
    pub replace: Option<String>,
    /// How values are quoted: for the shell that runs the line.
    pub quoting: Quoting,
    /// GNU's `-q`/`--quote`: each command word is quoted whole, its values in it.
    pub quote_words: bool,
    /// GNU's `--shell-quote` (how many times given): jobs print their line quoted.
    pub shell_quote: u8,
    /// `--plus`: GNU's further replacement strings.
    pub plus: bool,
    /// Other names for `{.}`, `{/}`, `{//}`, `{/.}`, `{#}` and `{%}`.
    pub renames: Renames,
}

/// Applies a replacement string's transformation to one argument, as GNU parallel's Perl
/// expressions do (including their treatment of newlines inside a value).
pub fn transform<'a>(value: &'a str, t: &Transform) -> Cow<'a, str> {
    match t {
        Transform::Whole => Cow::Borrowed(value),
        Transform::NoExt => Cow::Borrowed(no_ext(value)),
        Transform::Base => base(value),
        Transform::BaseNoExt => match base(value) {
            Cow::Borrowed(b) => Cow::Borrowed(no_ext(b)),
            Cow::Owned(b) => Cow::Owned(no_ext(&b).to_string()),
        },
        Transform::Dir => Cow::Owned(dirname(value)),
        Transform::Plus(e) => Cow::Owned(e.apply(value)),
        Transform::Skip(_) => Cow::Borrowed(value),
    }
}

/// `s:\.[^/.]*$::`: cut at the last `.` that has no `/` after it.
fn no_ext(v: &str) -> &str {
    match v.rfind('.') {
        Some(i) if !v[i..].contains('/') => &v[..i],
        _ => v,
    }
}

/// `s:.*/::` (no `/s`: `.` stops at a newline): removes, in the first line that has a `/`,
/// everything up to its last `/`.
fn base(v: &str) -> Cow<'_, str> {
    let mut start = 0;
    for line in v.split('\n') {
        if let Some(last) = line.rfind('/') {
            if start == 0 {
                return Cow::Borrowed(&v[last + 1..]);
            }
            let mut out = String::with_capacity(v.len());
            out.push_str(&v[..start]);
            out.push_str(&v[start + last + 1..]);
            return Cow::Owned(out);
        }
        start += line.len() + 1;
    }
    Cow::Borrowed(v)
}

/// Perl's `File::Basename::dirname` on Unix.
fn dirname(path: &str) -> String {
    let (mut dir, base) = fileparse(path);
    strip_trailing_slashes(&mut dir);
    if base.is_empty() {
        let (d, _) = fileparse(&dir.clone());
        dir = d;
        strip_trailing_slashes(&mut dir);
    }
    dir
}

/// `m{^(.*/)?(.*)}s`, with `./` for an empty directory part: (directory, basename).
fn fileparse(path: &str) -> (String, &str) {
    match path.rfind('/') {
        Some(i) => (path[..=i].to_string(), &path[i + 1..]),
        None => ("./".to_string(), path),
    }
}

/// `s{(.)/*\z}{$1}s`: trailing slashes removed, but never the first character.
fn strip_trailing_slashes(dir: &mut String) {
    let keep = dir.trim_end_matches('/').len().max(dir.chars().next().map_or(0, char::len_utf8));
    dir.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    fn render(template: &str, args: &[&str]) -> String {
        let t = Template::parse(&words(template)).unwrap();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        t.render(&args, Some(7), Some(3))
    }

    #[test]
    fn path_transformations_match_gnu_parallel() {
        // `parallel --dry-run echo {} {.} {/} {//} {/.} ::: VALUE`, 20221122.
        for (v, dot, base, dir, base_dot) in [
            ("a/b.c/d.e", "a/b.c/d", "d.e", "a/b.c", "d"),
            (".hidden", "", ".hidden", ".", ""),
            ("dir/", "dir/", "", ".", ""),
            ("dir/sub/", "dir/sub/", "", "dir", ""),
            ("/", "/", "", "/", ""),
            ("", "", "", ".", ""),
            ("a", "a", "a", ".", "a"),
            ("a.b/", "a.b/", "", ".", ""),
            ("/a", "/a", "a", "/", "a"),
            ("//a", "//a", "a", "/", "a"),
            ("a//b", "a//b", "b", "a", "b"),
            ("x.tar.gz", "x.tar", "x.tar.gz", ".", "x.tar"),
            (".a.b", ".a", ".a.b", ".", ".a"),
        ] {
            assert_eq!(transform(v, &Transform::NoExt), dot, "{{.}} of {v:?}");
            assert_eq!(transform(v, &Transform::Base), base, "{{/}} of {v:?}");
            assert_eq!(transform(v, &Transform::Dir), dir, "{{//}} of {v:?}");
            assert_eq!(transform(v, &Transform::BaseNoExt), base_dot, "{{/.}} of {v:?}");
        }
    }

    #[test]
    fn basename_stops_at_newlines_as_perl_does() {
        assert_eq!(transform("a/b\nc/d", &Transform::Base), "b\nc/d");
        assert_eq!(transform("ab\nc/d", &Transform::Base), "ab\nd");
        assert_eq!(transform("a.b\n", &Transform::NoExt), "a");
    }

    #[test]
    fn rendering_matches_gnu_parallel() {
        assert_eq!(render("echo {}", &["a b"]), "echo 'a b'");
        assert_eq!(render("echo x{}y", &["a", "b c"]), "echo xa 'b c'y");
        assert_eq!(render("echo", &["a", "b c"]), "echo a 'b c'");
        assert_eq!(render("echo {#}", &["a"]), "echo 7");
        assert_eq!(render("echo {#}{%}{}", &["a"]), "echo 73a");
        assert_eq!(render("echo {1} {}", &["a", "b"]), "echo a a b");
        assert_eq!(render("echo {-1} {1.} {2/}", &["a.x", "d/e"]), "echo d/e a e");
        assert_eq!(render("echo {1} {2} {3} {4} X", &["1", "", "3"]), "echo 1 '' 3  X");
        assert_eq!(render("echo {foo} {}", &["a"]), "echo {foo} a");
        assert_eq!(render("echo {} >{.}.out", &["a b.c"]), "echo 'a b.c' >'a b'.out");
        assert_eq!(render("{{}}", &["a"]), "{a}");
        let commands = Template::parse(&[]).unwrap();
        assert_eq!(commands.render(&["echo {#}".into(), "x".into()], Some(1), Some(1)), "echo {#} x");
    }

    #[test]
    fn context_replace_repeats_words_as_gnu_parallel_with_max_args() {
        let render = |template: &str, args: &[&str]| {
            let t = Template::parse_with(&words(template), &[], true).unwrap();
            t.render(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>(), Some(1), Some(1))
        };
        // `parallel -N2 --dry-run TEMPLATE ::: ...`, 20221122.
        assert_eq!(render("echo x{}y", &["1", "2"]), "echo x1y x2y");
        assert_eq!(render("echo {}-{1}", &["1", "2"]), "echo 1-1 2-1");
        assert_eq!(render("echo a{}b c{.}d", &["1.x", "2.y"]), "echo a1.xb a2.yb c1d c2d");
        assert_eq!(render("echo {#}{}", &["a", "b"]), "echo 1a 1b");
        assert_eq!(render("echo x{}y;echo", &["a", "b"]), "echo xay;echo xby;echo");
        assert_eq!(render("echo \"x {} y\"", &["a", "b"]), "echo \"x a b y\"");
        assert_eq!(render("echo", &["a", "b c"]), "echo a 'b c'");
    }

    #[test]
    fn header_names_are_replacement_strings() {
        let names = vec!["alpha".to_string(), "b".to_string()];
        let t = Template::parse_with(&words("run {b} {alpha} {c} {alpha.}"), &names, false).unwrap();
        assert_eq!(t.render(&["1.x".into(), "2".into()], None, None), "run 2 1.x {c} 1");
    }

    /// GNU's `1+int(log(n)/log(10))`: `parallel --plus -j1000 --dry-run echo {0%} ::: a`
    /// gives `echo 001` (20221122).
    #[test]
    fn padded_widths_are_gnus_floating_point_ones() {
        let widths: Vec<usize> = [1, 9, 10, 99, 100, 999, 1000, 10_000].map(padded_width).to_vec();
        assert_eq!(widths, [1, 1, 2, 2, 3, 3, 3, 5]);
    }

    #[test]
    fn identity_keeps_seq_and_slot_as_written() {
        let t = Template::parse(&words("sim --seed {#} --slot {%} {}")).unwrap();
        assert_eq!(t.render(&["v".into()], None, None), "sim --seed {#} --slot {%} v");
    }

    #[test]
    fn positions_and_perl_expressions() {
        assert_eq!(Template::parse(&words("echo {3} {-2.}")).unwrap().max_position(), Some(3));
        assert_eq!(Template::parse(&words("echo {}")).unwrap().max_position(), None);
        assert!(Template::parse(&words("echo {0}")).unwrap_err().contains("start at 1"));
        assert!(Template::parse(&words("echo {= s/a/b/ =}")).unwrap_err().contains("Perl expressions"));
        assert!(Template::parse(&words("echo {=}")).is_ok(), "text, as in GNU parallel");
        assert!(Template::parse(&words("out_{0#}.txt")).unwrap_err().contains("add --plus"));
        // Not replacement strings: left as text, and the arguments are appended.
        assert_eq!(render("echo {1x} {.x} { }", &["a"]), "echo {1x} {.x} { } a");
    }

    /// As GNU parallel 20221122: `parallel -I @@ --dry-run echo @@ {.} {} {1} ::: a.x` gives
    /// `echo a.x a {} {1}`.
    #[test]
    fn another_replacement_string_with_dash_i() {
        let syntax = Syntax { replace: Some("@@".into()), ..Syntax::default() };
        let t = Template::parse_in(&words("echo @@ {.} {} {1} x@@y"), &syntax).unwrap();
        assert_eq!(t.render(&["a.x".into()], None, None), "echo a.x a {} {1} xa.xy");
    }

    /// As GNU parallel 20221122: `parallel --dry-run 'echo {1. } {-1 } {1/ } { 1 } {1  } {1 .}
    /// {1<newline>}' ::: a/b.x` gives `echo {1. } a/b.x {1/ } { 1 } a/b.x a/b a/b.x`.
    #[test]
    fn blanks_before_a_suffix_are_allowed_as_gnu_allows_them() {
        let t = Template::parse(&["echo {1. } {-1 } {1/ } { 1 } {1  } {1 .} {1\n}".to_string()]).unwrap();
        assert_eq!(t.render(&["a/b.x".into()], None, None), "echo {1. } a/b.x {1/ } { 1 } a/b.x a/b a/b.x");
    }
}
